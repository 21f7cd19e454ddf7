using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Orchestrator.Shared.Platform;

namespace Orchestrator.Shared.Agents.Git;

/// <summary>Name and e-mail written as author and committer of the orchestrator's commits.</summary>
/// <param name="Name">e.g. <c>Orchestrator</c>.</param>
/// <param name="Email">e.g. <c>orchestrator@example.com</c>.</param>
public sealed record GitIdentity(string Name, string Email);

/// <summary>A git worktree prepared for one agent run.</summary>
/// <param name="Repo">Repository full name, <c>owner/name</c>.</param>
/// <param name="Path">Absolute path of the worktree (under <c>ROOT/worktrees/</c>).</param>
/// <param name="Branch">The branch checked out, e.g. <c>orch/WEB-1-add-login</c>.</param>
/// <param name="BaseBranch">The branch the work targets (the pull request base): the requested one or the remote's default branch.</param>
/// <param name="BaseSha">
/// The commit the worktree started from: the tip of <paramref name="BaseBranch"/>, or — when
/// <see cref="StartedFromRemoteBranch"/> — the tip of the pushed <paramref name="Branch"/> of an earlier
/// round. Commits after it are this round's work.
/// </param>
public sealed record AgentWorktree(string Repo, string Path, string Branch, string BaseBranch, string BaseSha)
{
    /// <summary>
    /// Whether <see cref="AgentWorktree.Branch"/> already existed on the remote when the worktree was
    /// made (a later round continuing earlier work). The push lease expects the remote branch at
    /// <see cref="AgentWorktree.BaseSha"/> if so, and expects it absent otherwise.
    /// </summary>
    public bool StartedFromRemoteBranch { get; init; }
}

/// <summary>The state of a worktree after <see cref="GitWorkspaces.CommitAllAsync"/>.</summary>
/// <param name="HasChanges">Whether HEAD is ahead of <see cref="AgentWorktree.BaseSha"/> (our commit or the agent's own).</param>
/// <param name="HeadSha">The HEAD commit (40 hex digits).</param>
/// <param name="CommitsAhead">Commits in <c>BaseSha..HEAD</c>.</param>
/// <param name="ChangedFiles">Paths (relative to the repository root) differing between <c>BaseSha</c> and HEAD, in git's order.</param>
public sealed record CommitOutcome(bool HasChanges, string HeadSha, int CommitsAhead, IReadOnlyList<string> ChangedFiles);

/// <summary>
/// Git mirrors and per-run worktrees on local disk, through the git CLI. One bare mirror per repository
/// at <c>ROOT/mirrors/OWNER/NAME.git</c>; worktrees at <c>ROOT/worktrees/OWNER/NAME/ID</c>. Design and
/// choices: <c>README.md</c> beside this file.
/// </summary>
/// <remarks>
/// Auth: a token travels only in the environment of the git calls that reach the remote, as
/// <c>http.extraHeader: Authorization: Basic base64(x-access-token:TOKEN)</c> via <c>GIT_CONFIG_COUNT</c>
/// — never in a command line, a remote URL or a config file. Errors are <see cref="GitCommandException"/>
/// with git's stderr, the token masked. Calls touching one mirror are serialised within this instance
/// (not across processes: give each host its own root).
/// </remarks>
public sealed class GitWorkspaces
{
    private const string RemoteTracking = "refs/remotes/origin/";

    private readonly OutboundPolicy? _outbound;

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    /// <summary>Creates the service; <paramref name="rootDirectory"/> is created when first needed.</summary>
    /// <param name="rootDirectory">Where mirrors and worktrees live; made absolute.</param>
    /// <param name="author">Author and committer of <see cref="CommitAllAsync"/> (and the default identity in mirrors).</param>
    /// <param name="outbound">Checks and pins every remote before git reaches it (<see cref="OutboundPolicy.CheckGitRemoteAsync"/>); <c>null</c> = no check (tests of this class only).</param>
    /// <exception cref="ArgumentException">An empty root, name or e-mail.</exception>
    public GitWorkspaces(string rootDirectory, GitIdentity author, OutboundPolicy? outbound = null)
    {
        _outbound = outbound;
        ArgumentException.ThrowIfNullOrEmpty(rootDirectory);
        ArgumentNullException.ThrowIfNull(author);
        ArgumentException.ThrowIfNullOrWhiteSpace(author.Name);
        ArgumentException.ThrowIfNullOrWhiteSpace(author.Email);
        RootDirectory = Path.GetFullPath(rootDirectory);
        Author = author;
    }

    /// <summary>Absolute root directory.</summary>
    public string RootDirectory { get; }

    /// <summary>Author and committer of our commits.</summary>
    public GitIdentity Author { get; }

    /// <summary>The mirror's path for a repository: <c>ROOT/mirrors/OWNER/NAME.git</c>.</summary>
    /// <param name="repoFullName"><c>owner/name</c>: letters, digits, <c>.</c>, <c>_</c>, <c>-</c>; not <c>.</c> or <c>..</c>.</param>
    /// <exception cref="ArgumentException">Not a valid <c>owner/name</c>.</exception>
    public string MirrorPath(string repoFullName)
    {
        var (owner, name) = SplitRepo(repoFullName);
        return Path.Combine(RootDirectory, "mirrors", owner, name + ".git");
    }

    /// <summary>
    /// Creates the bare mirror of <paramref name="repoFullName"/> on first use, then fetches every
    /// remote branch (<c>git fetch --prune origin +refs/heads/*:refs/remotes/origin/*</c>) and records
    /// the remote's default branch as <c>refs/remotes/origin/HEAD</c>.
    /// </summary>
    /// <param name="repoFullName"><c>owner/name</c>.</param>
    /// <param name="remoteUrl">Clone URL without credentials (<c>https://…</c>, or a local path in tests); it replaces the stored one.</param>
    /// <param name="token">Access token for HTTPS, or <c>null</c>.</param>
    /// <param name="cancellationToken">Cancels (kills the running git).</param>
    /// <returns>The mirror's absolute path.</returns>
    /// <exception cref="ArgumentException">Invalid repository name or URL.</exception>
    /// <exception cref="GitCommandException">git failed (unreachable remote, bad credentials …).</exception>
    public async Task<string> EnsureMirrorAsync(string repoFullName, string remoteUrl, string? token, CancellationToken cancellationToken)
    {
        var mirror = MirrorPath(repoFullName);
        ValidateUrl(remoteUrl);
        var gate = Gate(mirror);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureMirrorLockedAsync(mirror, remoteUrl, token, cancellationToken).ConfigureAwait(false);
            return mirror;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Fetches, then adds a worktree on <paramref name="branch"/>
    /// (<c>git worktree add --no-track -B BRANCH PATH START</c>). START is the remote's
    /// <paramref name="branch"/> when it exists (a later round continues the earlier work), else the tip of
    /// the base branch. A local branch of that name left by an earlier round is reset to START.
    /// </summary>
    /// <param name="repoFullName"><c>owner/name</c>.</param>
    /// <param name="remoteUrl">Clone URL without credentials.</param>
    /// <param name="token">Access token for HTTPS, or <c>null</c>.</param>
    /// <param name="branch">Branch to work on, e.g. from <see cref="BranchName"/>.</param>
    /// <param name="baseBranch">Branch the work targets; <c>null</c> = the remote's default branch.</param>
    /// <param name="cancellationToken">Cancels (kills the running git).</param>
    /// <returns>The worktree.</returns>
    /// <exception cref="ArgumentException">Invalid repository name, URL or branch name.</exception>
    /// <exception cref="InvalidOperationException">The base branch does not exist on the remote, or the remote is empty.</exception>
    /// <exception cref="GitCommandException">git failed (e.g. the branch is checked out in another live worktree).</exception>
    public async Task<AgentWorktree> CreateWorktreeAsync(
        string repoFullName,
        string remoteUrl,
        string? token,
        string branch,
        string? baseBranch,
        CancellationToken cancellationToken)
    {
        var mirror = MirrorPath(repoFullName);
        var (owner, name) = SplitRepo(repoFullName);
        ValidateUrl(remoteUrl);
        ValidateBranch(branch, nameof(branch));
        if (baseBranch is not null)
        {
            ValidateBranch(baseBranch, nameof(baseBranch));
        }

        var gate = Gate(mirror);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureMirrorLockedAsync(mirror, remoteUrl, token, cancellationToken).ConfigureAwait(false);
            await CheckRefFormatAsync(mirror, branch, cancellationToken).ConfigureAwait(false);

            var target = baseBranch ?? await DefaultBranchAsync(mirror, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The remote of {repoFullName} has no default branch (is it empty?).");
            var baseSha = await ResolveAsync(mirror, RemoteTracking + target, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Base branch '{target}' does not exist on the remote of {repoFullName}.");
            var continued = await ResolveAsync(mirror, RemoteTracking + branch, cancellationToken).ConfigureAwait(false);
            var start = continued ?? baseSha;

            var path = Path.Combine(RootDirectory, "worktrees", owner, name, Guid.NewGuid().ToString("N")[..12]);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await GitAsync(mirror, ["worktree", "add", "--quiet", "--no-track", "-B", branch, path, start], null, cancellationToken).ConfigureAwait(false);

            return new AgentWorktree(repoFullName, path, branch, target, start) { StartedFromRemoteBranch = continued is not null };
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Stages everything (<c>git add -A</c>) and, when anything is staged, commits it as
    /// <see cref="Author"/> (hooks off); then reports the commits since <see cref="AgentWorktree.BaseSha"/>
    /// — the agent may have committed on its own.
    /// </summary>
    /// <param name="worktree">From <see cref="CreateWorktreeAsync"/>.</param>
    /// <param name="message">Commit message (not empty).</param>
    /// <param name="cancellationToken">Cancels (kills the running git).</param>
    /// <returns>Changes since the start of the round.</returns>
    /// <exception cref="ArgumentException">An empty message.</exception>
    /// <exception cref="GitCommandException">git failed (e.g. the agent left a merge in progress).</exception>
    public async Task<CommitOutcome> CommitAllAsync(AgentWorktree worktree, string message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(worktree);
        ArgumentException.ThrowIfNullOrWhiteSpace(message);
        var path = worktree.Path;

        await GitAsync(path, ["add", "--all"], null, cancellationToken).ConfigureAwait(false);
        var staged = await GitCli.RunAsync(path, ["diff", "--cached", "--quiet"], null, check: false, cancellationToken).ConfigureAwait(false);
        if (staged.ExitCode == 1)
        {
            await GitAsync(
                path,
                [
                    "-c", "user.name=" + Author.Name, "-c", "user.email=" + Author.Email, "-c", "commit.gpgSign=false",
                    "commit", "--quiet", "--no-verify", "-m", message,
                ],
                null,
                cancellationToken).ConfigureAwait(false);
        }
        else if (staged.ExitCode != 0)
        {
            throw new GitCommandException("git diff --cached --quiet", staged.ExitCode, staged.Stderr);
        }

        var head = (await GitAsync(path, ["rev-parse", "HEAD"], null, cancellationToken).ConfigureAwait(false)).Stdout.Trim();
        var ahead = int.Parse(
            (await GitAsync(path, ["rev-list", "--count", worktree.BaseSha + "..HEAD"], null, cancellationToken).ConfigureAwait(false)).Stdout.Trim(),
            CultureInfo.InvariantCulture);
        var files = (await GitAsync(path, ["diff", "--name-only", "-z", worktree.BaseSha, "HEAD"], null, cancellationToken).ConfigureAwait(false)).Stdout
            .Split('\0', StringSplitOptions.RemoveEmptyEntries);
        return new CommitOutcome(ahead > 0, head, ahead, files);
    }

    /// <summary>
    /// Pushes the worktree's HEAD to <c>refs/heads/BRANCH</c> on the remote with a lease: the remote branch
    /// must still be where the round started (<see cref="AgentWorktree.BaseSha"/>) or, for a new branch,
    /// absent — so a rewrite by the agent goes through, someone else's push to the branch is never lost.
    /// The mirror's <c>refs/remotes/origin/BRANCH</c> is updated by the same push.
    /// </summary>
    /// <param name="worktree">From <see cref="CreateWorktreeAsync"/>.</param>
    /// <param name="remoteUrl">Clone URL without credentials; it replaces the stored one.</param>
    /// <param name="token">Access token for HTTPS, or <c>null</c>.</param>
    /// <param name="cancellationToken">Cancels (kills the running git).</param>
    /// <exception cref="ArgumentException">Invalid URL.</exception>
    /// <exception cref="GitCommandException">git failed (rejected: stale lease, protected branch, bad credentials …).</exception>
    public async Task PushAsync(AgentWorktree worktree, string remoteUrl, string? token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(worktree);
        ValidateUrl(remoteUrl);
        var mirror = MirrorPath(worktree.Repo);
        var gate = Gate(mirror);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await SetRemoteUrlAsync(mirror, remoteUrl, cancellationToken).ConfigureAwait(false);
            var remoteRef = "refs/heads/" + worktree.Branch;
            var expected = worktree.StartedFromRemoteBranch ? worktree.BaseSha : string.Empty;
            await GitAsync(
                worktree.Path,
                ["push", "--quiet", $"--force-with-lease={remoteRef}:{expected}", "origin", "HEAD:" + remoteRef],
                token,
                cancellationToken,
                await GuardAsync(remoteUrl, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// A file's text at <paramref name="revision"/> in the repository's mirror (<c>git show rev:path</c>),
    /// or <c>null</c> when it does not exist there. Commits pushed from worktrees are in the mirror.
    /// </summary>
    public async Task<string?> ReadFileAsync(string repoFullName, string revision, string path, CancellationToken cancellationToken)
    {
        var result = await GitCli.RunAsync(MirrorPath(repoFullName), ["show", $"{revision}:{path.TrimStart('/')}"], null, check: false, cancellationToken).ConfigureAwait(false);
        return result.ExitCode == 0 ? result.Stdout : null;
    }

    /// <summary>Paths of the files under <paramref name="directory"/> at <paramref name="revision"/> (<c>git ls-tree -r --name-only</c>).</summary>
    public async Task<IReadOnlyList<string>> ListFilesAsync(string repoFullName, string revision, string directory, CancellationToken cancellationToken)
    {
        var result = await GitCli.RunAsync(MirrorPath(repoFullName), ["ls-tree", "-r", "--name-only", revision, "--", directory.TrimStart('/')], null, check: false, cancellationToken).ConfigureAwait(false);
        return result.ExitCode == 0 ? result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [];
    }

    /// <summary>
    /// Removes the worktree (<c>git worktree remove --force --force</c>, then deletes what is left and
    /// runs <c>git worktree prune</c>). The local branch stays in the mirror (it holds unpushed commits if
    /// the push failed); the next round resets it. Does nothing for a worktree or mirror already gone.
    /// </summary>
    /// <param name="worktree">From <see cref="CreateWorktreeAsync"/>.</param>
    /// <exception cref="GitCommandException"><c>git worktree prune</c> failed on an existing mirror.</exception>
    /// <exception cref="IOException">The directory could not be deleted.</exception>
    public async Task RemoveWorktreeAsync(AgentWorktree worktree)
    {
        ArgumentNullException.ThrowIfNull(worktree);
        var mirror = MirrorPath(worktree.Repo);
        var gate = Gate(mirror);
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var hasMirror = File.Exists(Path.Combine(mirror, "HEAD"));
            if (hasMirror && Directory.Exists(worktree.Path))
            {
                // Exit code ignored: "not a working tree" is fine, the directory is deleted below anyway.
                await GitCli.RunAsync(mirror, ["worktree", "remove", "--force", "--force", worktree.Path], null, check: false, CancellationToken.None).ConfigureAwait(false);
            }

            if (Directory.Exists(worktree.Path))
            {
                Directory.Delete(worktree.Path, recursive: true);
            }

            if (hasMirror)
            {
                await GitAsync(mirror, ["worktree", "prune"], null, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// The branch for a task: <c>orch/KEY-slug</c>. KEY is <paramref name="taskKey"/> upper-cased with
    /// every run of characters other than ASCII letters and digits replaced by one <c>-</c>; slug is
    /// <paramref name="title"/> lower-cased the same way, at most 40 characters, no leading or trailing
    /// <c>-</c> (omitted with its separator when empty). The result passes <c>git check-ref-format --branch</c>.
    /// </summary>
    /// <param name="taskKey">e.g. <c>WEB-1</c>; must hold at least one ASCII letter or digit.</param>
    /// <param name="title">e.g. <c>Add a login page</c>; may be empty.</param>
    /// <returns>e.g. <c>orch/WEB-1-add-a-login-page</c>.</returns>
    /// <exception cref="ArgumentException"><paramref name="taskKey"/> has no ASCII letter or digit.</exception>
    public static string BranchName(string taskKey, string title)
    {
        ArgumentNullException.ThrowIfNull(taskKey);
        var key = Slug(taskKey.ToUpperInvariant(), int.MaxValue);
        if (key.Length == 0)
        {
            throw new ArgumentException($"Task key '{taskKey}' has no ASCII letter or digit.", nameof(taskKey));
        }

        var slug = Slug((title ?? string.Empty).ToLowerInvariant(), 40);
        return slug.Length == 0 ? $"orch/{key}" : $"orch/{key}-{slug}";
    }

    private static string Slug(string text, int maxLength)
    {
        var builder = new StringBuilder();
        foreach (var c in text)
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                builder.Append(c);
            }
            else if (builder.Length > 0 && builder[^1] != '-')
            {
                builder.Append('-');
            }
        }

        var slug = builder.ToString();
        if (slug.Length > maxLength)
        {
            slug = slug[..maxLength];
        }

        return slug.TrimEnd('-');
    }

    private async Task EnsureMirrorLockedAsync(string mirror, string remoteUrl, string? token, CancellationToken cancellationToken)
    {
        if (!File.Exists(Path.Combine(mirror, "HEAD")))
        {
            await CreateMirrorAsync(mirror, remoteUrl, cancellationToken).ConfigureAwait(false);
        }

        await SetRemoteUrlAsync(mirror, remoteUrl, cancellationToken).ConfigureAwait(false);
        await GitAsync(mirror, ["config", "user.name", Author.Name], null, cancellationToken).ConfigureAwait(false);
        await GitAsync(mirror, ["config", "user.email", Author.Email], null, cancellationToken).ConfigureAwait(false);
        var pin = await GuardAsync(remoteUrl, cancellationToken).ConfigureAwait(false);
        await GitAsync(mirror, ["fetch", "--quiet", "--prune", "origin", "+refs/heads/*:refs/remotes/origin/*"], token, cancellationToken, pin).ConfigureAwait(false);

        // git 2.39's fetch does not update the remote's HEAD; ask for it: "ref: refs/heads/main\tHEAD".
        var symref = await GitAsync(mirror, ["ls-remote", "--symref", "origin", "HEAD"], token, cancellationToken, pin).ConfigureAwait(false);
        var head = symref.Stdout.Split('\n')
            .Select(line => line.Split('\t'))
            .Where(parts => parts.Length == 2 && parts[1] == "HEAD" && parts[0].StartsWith("ref: refs/heads/", StringComparison.Ordinal))
            .Select(parts => parts[0]["ref: refs/heads/".Length..])
            .FirstOrDefault();
        if (head is not null)
        {
            await GitAsync(mirror, ["symbolic-ref", RemoteTracking + "HEAD", RemoteTracking + head], null, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await GitCli.RunAsync(mirror, ["symbolic-ref", "--delete", RemoteTracking + "HEAD"], null, check: false, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// <c>git init --bare</c> + <c>git remote add origin</c> in a temporary directory, moved into place
    /// so that a crash never leaves a half-made mirror. (Not <c>clone --bare</c>/<c>--mirror</c>: those put
    /// the remote's branches in <c>refs/heads/</c>, where worktree branches live and where fetch refuses
    /// to update a branch checked out in any worktree.)
    /// </summary>
    private static async Task CreateMirrorAsync(string mirror, string remoteUrl, CancellationToken cancellationToken)
    {
        var parent = Path.GetDirectoryName(mirror)!;
        Directory.CreateDirectory(parent);
        if (Directory.Exists(mirror))
        {
            // A directory without HEAD is not a repository we made: a leftover of a manual repair.
            Directory.Delete(mirror, recursive: true);
        }

        var temporary = Path.Combine(parent, $".{Path.GetFileName(mirror)}.tmp-{Guid.NewGuid():N}");
        try
        {
            await GitAsync(null, ["init", "--quiet", "--bare", temporary], null, cancellationToken).ConfigureAwait(false);
            await GitAsync(temporary, ["remote", "add", "origin", remoteUrl], null, cancellationToken).ConfigureAwait(false);
            Directory.Move(temporary, mirror);
        }
        finally
        {
            if (Directory.Exists(temporary))
            {
                Directory.Delete(temporary, recursive: true);
            }
        }
    }

    private static async Task SetRemoteUrlAsync(string mirror, string remoteUrl, CancellationToken cancellationToken)
    {
        var current = await GitCli.RunAsync(mirror, ["config", "--get", "remote.origin.url"], null, check: false, cancellationToken).ConfigureAwait(false);
        if (current.Stdout.Trim() != remoteUrl)
        {
            await GitAsync(mirror, ["config", "remote.origin.url", remoteUrl], null, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<string?> DefaultBranchAsync(string mirror, CancellationToken cancellationToken)
    {
        var result = await GitCli.RunAsync(mirror, ["symbolic-ref", "--quiet", RemoteTracking + "HEAD"], null, check: false, cancellationToken).ConfigureAwait(false);
        var target = result.Stdout.Trim();
        return result.ExitCode == 0 && target.StartsWith(RemoteTracking, StringComparison.Ordinal) ? target[RemoteTracking.Length..] : null;
    }

    /// <summary>The commit a ref points to, or <c>null</c> when the ref does not exist.</summary>
    private static async Task<string?> ResolveAsync(string mirror, string reference, CancellationToken cancellationToken)
    {
        var result = await GitCli.RunAsync(mirror, ["rev-parse", "--verify", "--quiet", reference + "^{commit}"], null, check: false, cancellationToken).ConfigureAwait(false);
        return result.ExitCode == 0 ? result.Stdout.Trim() : null;
    }

    private static async Task CheckRefFormatAsync(string mirror, string branch, CancellationToken cancellationToken)
    {
        var result = await GitCli.RunAsync(mirror, ["check-ref-format", "--branch", branch], null, check: false, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new ArgumentException($"'{branch}' is not a valid branch name (git check-ref-format).", nameof(branch));
        }
    }

    private static Task<GitResult> GitAsync(
        string? directory, IReadOnlyList<string> arguments, string? token, CancellationToken cancellationToken, IReadOnlyList<(string Key, string Value)>? extraConfig = null) =>
        GitCli.RunAsync(directory, arguments, token, check: true, cancellationToken, extraConfig);

    /// <summary>The outbound policy's verdict on a remote, right before git reaches it: the pin to pass to git, or <see cref="OutboundRefusedException"/>.</summary>
    private async Task<IReadOnlyList<(string Key, string Value)>> GuardAsync(string remoteUrl, CancellationToken cancellationToken) =>
        _outbound is null ? [] : await _outbound.CheckGitRemoteAsync(remoteUrl, cancellationToken).ConfigureAwait(false);

    private SemaphoreSlim Gate(string mirror) => _locks.GetOrAdd(mirror, _ => new SemaphoreSlim(1, 1));

    private static (string Owner, string Name) SplitRepo(string repoFullName)
    {
        ArgumentException.ThrowIfNullOrEmpty(repoFullName);
        var parts = repoFullName.Split('/');
        if (parts.Length != 2 || !parts.All(IsSafeSegment))
        {
            throw new ArgumentException($"'{repoFullName}' is not a repository full name 'owner/name'.", nameof(repoFullName));
        }

        return (parts[0], parts[1]);
    }

    private static bool IsSafeSegment(string segment) =>
        segment.Length > 0 && segment != "." && segment != ".." && !segment.StartsWith('-')
        && segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private static void ValidateUrl(string remoteUrl)
    {
        ArgumentException.ThrowIfNullOrEmpty(remoteUrl);

        // A leading '-' would be read as an option (CVE-2017-1000117 style); credentials belong in the token.
        if (remoteUrl.StartsWith('-') || remoteUrl.Any(char.IsControl))
        {
            throw new ArgumentException("The remote URL must not start with '-' or hold control characters.", nameof(remoteUrl));
        }

        if (Uri.TryCreate(remoteUrl, UriKind.Absolute, out var uri) && !uri.IsFile && uri.UserInfo.Length > 0)
        {
            throw new ArgumentException("The remote URL must not carry credentials; pass the token instead.", nameof(remoteUrl));
        }
    }

    private static void ValidateBranch(string branch, string parameter)
    {
        ArgumentException.ThrowIfNullOrEmpty(branch, parameter);
        if (branch.StartsWith('-') || branch.Any(char.IsControl))
        {
            throw new ArgumentException($"'{branch}' is not a valid branch name.", parameter);
        }
    }
}

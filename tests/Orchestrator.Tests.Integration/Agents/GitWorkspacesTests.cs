using System.Runtime.Versioning;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Orchestrator.Shared.Agents.Git;
using Orchestrator.Shared.Agents.Processes;
using Orchestrator.Simulators;
using static Orchestrator.Tests.Integration.Agents.AgentTestSupport;

namespace Orchestrator.Tests.Integration.Agents;

/// <summary>
/// <see cref="GitWorkspaces"/> with the real git CLI against a bare "remote" repository in a temp dir
/// (its path is the remote URL), and the fake agent doing the work in the worktree.
/// </summary>
[SupportedOSPlatform("linux")] // signals, process groups and /proc: the service runs on Linux
public sealed class GitWorkspacesTests : IDisposable
{
    private const string Repo = "acme/web";
    private static readonly GitIdentity Bot = new("Orchestrator Bot", "bot@orchestrator.test");

    private readonly TempDirectory _temp = new();
    private readonly string _remote;
    private readonly string _seed;
    private readonly GitWorkspaces _workspaces;
    private readonly AgentProcessRunner _runner = new(killGrace: TimeSpan.FromMilliseconds(500));

    public GitWorkspacesTests()
    {
        // The remote: default branch "trunk" (not main/master, so the default is really looked up) and "develop".
        _remote = _temp.Sub("remote", "acme", "web.git");
        _seed = _temp.Sub("seed");
        Directory.CreateDirectory(_remote);
        Directory.CreateDirectory(_seed);
        Git(_remote, "init", "--quiet", "--bare", "--initial-branch=trunk");
        Git(_seed, "init", "--quiet", "--initial-branch=trunk");
        File.WriteAllText(Path.Combine(_seed, "README.md"), "# web\n");
        Git(_seed, "add", "README.md");
        Git(_seed, "commit", "--quiet", "-m", "initial");
        Git(_seed, "checkout", "--quiet", "-b", "develop");
        File.WriteAllText(Path.Combine(_seed, "DEVELOP.md"), "develop only\n");
        Git(_seed, "add", "DEVELOP.md");
        Git(_seed, "commit", "--quiet", "-m", "develop");
        Git(_seed, "push", "--quiet", _remote, "trunk", "develop");
        _workspaces = new GitWorkspaces(_temp.Sub("ws"), Bot);
    }

    public void Dispose() => _temp.Dispose();

    private string RemoteSha(string branch) => Git(_remote, "rev-parse", "refs/heads/" + branch);

    private Task<AgentWorktree> CreateAsync(string branch, string? baseBranch = null) =>
        _workspaces.CreateWorktreeAsync(Repo, _remote, null, branch, baseBranch, Ct);

    private async Task AgentWritesAsync(AgentWorktree worktree, string file, string content)
    {
        var request = new Shared.Agents.AgentRunRequest("p", worktree.Path, _temp.Sub("home-" + Guid.NewGuid().ToString("N")), _temp.Sub("logs", Guid.NewGuid().ToString("N") + ".log"));
        var outcome = await _runner.RunAsync(Invocation("write", file, content), request, Settings(), Ct);
        Assert.Equal(0, outcome.ExitCode);
    }

    [Fact]
    public async Task Git_remotes_obey_the_outbound_policy_before_git_reaches_them()
    {
        // Issue #8 item 2: a local path is a loopback remote; refused unless loopback is allowed, and nothing is fetched.
        var guarded = new GitWorkspaces(_temp.Sub("ws-guarded"), Bot, Shared.Platform.OutboundPolicy.Parse("external"));
        var refused = await Assert.ThrowsAsync<Shared.Platform.OutboundRefusedException>(() => guarded.EnsureMirrorAsync(Repo, _remote, null, Ct));
        Assert.Contains("loopback", refused.Message);
        Assert.False(File.Exists(Path.Combine(guarded.MirrorPath(Repo), "refs", "remotes", "origin", "trunk")));
        await Assert.ThrowsAsync<Shared.Platform.OutboundRefusedException>(() => guarded.EnsureMirrorAsync(Repo, "https://127.0.0.1:1/acme/web.git", null, Ct));
        await Assert.ThrowsAsync<Shared.Platform.OutboundRefusedException>(() => guarded.EnsureMirrorAsync(Repo, "ssh://github.com/acme/web.git", null, Ct));

        var allowed = new GitWorkspaces(_temp.Sub("ws-allowed"), Bot, Shared.Platform.OutboundPolicy.Parse("loopback"));
        await allowed.EnsureMirrorAsync(Repo, _remote, null, Ct);
        Assert.Equal(RemoteSha("trunk"), Git(allowed.MirrorPath(Repo), "rev-parse", "refs/remotes/origin/trunk"));
    }

    [Fact]
    public void Git_calls_carry_the_transport_hardening_and_the_policy_pin()
    {
        var environment = GitCli.Environment("tok", [("http.curloptResolve", "git.example:443:203.0.113.7")]);
        var config = Enumerable.Range(0, int.Parse(environment["GIT_CONFIG_COUNT"], System.Globalization.CultureInfo.InvariantCulture))
            .ToDictionary(i => environment[$"GIT_CONFIG_KEY_{i}"], i => environment[$"GIT_CONFIG_VALUE_{i}"]);
        Assert.Equal("never", config["protocol.allow"]);
        Assert.Equal("false", config["http.followRedirects"]);
        Assert.Equal("git.example:443:203.0.113.7", config["http.curloptResolve"]);
    }

    [Fact]
    public async Task Worktree_is_on_the_task_branch_from_the_remote_default_branch()
    {
        var branch = GitWorkspaces.BranchName("WEB-1", "Add a login page");

        var worktree = await CreateAsync(branch);

        Assert.Equal("orch/WEB-1-add-a-login-page", worktree.Branch);
        Assert.Equal("trunk", worktree.BaseBranch);
        Assert.Equal(RemoteSha("trunk"), worktree.BaseSha);
        Assert.False(worktree.StartedFromRemoteBranch);
        Assert.StartsWith(Path.Combine(_workspaces.RootDirectory, "worktrees", "acme", "web") + "/", worktree.Path, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(worktree.Path, "README.md")));
        Assert.False(File.Exists(Path.Combine(worktree.Path, "DEVELOP.md")));
        Assert.Equal(branch, Git(worktree.Path, "rev-parse", "--abbrev-ref", "HEAD"));
        Assert.Equal(Path.Combine(_workspaces.RootDirectory, "mirrors", "acme", "web.git"), _workspaces.MirrorPath(Repo));
        Assert.Equal("true", Git(_workspaces.MirrorPath(Repo), "rev-parse", "--is-bare-repository"));
    }

    [Fact]
    public async Task The_agent_change_is_committed_and_pushed_with_our_author()
    {
        var branch = GitWorkspaces.BranchName("WEB-1", "Add a login page");
        var worktree = await CreateAsync(branch);
        await AgentWritesAsync(worktree, "login.html", "<form></form>");

        var commit = await _workspaces.CommitAllAsync(worktree, "WEB-1: add a login page", Ct);
        await _workspaces.PushAsync(worktree, _remote, null, Ct);

        Assert.True(commit.HasChanges);
        Assert.Equal(1, commit.CommitsAhead);
        Assert.Equal(new[] { "login.html" }, commit.ChangedFiles);
        Assert.Equal(commit.HeadSha, RemoteSha(branch));
        Assert.Equal("<form></form>", Git(_remote, "show", $"{branch}:login.html"));
        Assert.Equal(
            "Orchestrator Bot <bot@orchestrator.test>|Orchestrator Bot <bot@orchestrator.test>|WEB-1: add a login page",
            Git(_remote, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", branch));
        Assert.Equal(RemoteSha("trunk"), Git(_remote, "rev-parse", branch + "~1"));

        // The push also moved the mirror's view of the remote branch.
        Assert.Equal(commit.HeadSha, Git(_workspaces.MirrorPath(Repo), "rev-parse", "refs/remotes/origin/" + branch));
    }

    [Fact]
    public async Task Nothing_changed_means_no_commit()
    {
        var worktree = await CreateAsync(GitWorkspaces.BranchName("WEB-2", "Nothing to do"));

        var commit = await _workspaces.CommitAllAsync(worktree, "WEB-2: nothing", Ct);

        Assert.False(commit.HasChanges);
        Assert.Equal(0, commit.CommitsAhead);
        Assert.Empty(commit.ChangedFiles);
        Assert.Equal(worktree.BaseSha, commit.HeadSha);
    }

    [Fact]
    public async Task Commits_the_agent_made_itself_count_as_changes()
    {
        var worktree = await CreateAsync(GitWorkspaces.BranchName("WEB-3", "Self committing agent"));
        File.WriteAllText(Path.Combine(worktree.Path, "one.txt"), "1\n");
        Git(worktree.Path, "add", "one.txt");
        Git(worktree.Path, "commit", "--quiet", "-m", "agent's own commit");
        File.WriteAllText(Path.Combine(worktree.Path, "two.txt"), "2\n");

        var commit = await _workspaces.CommitAllAsync(worktree, "WEB-3: rest", Ct);

        Assert.True(commit.HasChanges);
        Assert.Equal(2, commit.CommitsAhead);
        Assert.Equal(new[] { "one.txt", "two.txt" }, commit.ChangedFiles);
        Assert.Equal("Orchestrator Bot|WEB-3: rest", Git(worktree.Path, "log", "-1", "--format=%an|%s"));
    }

    [Fact]
    public async Task Hooks_planted_in_the_repository_do_not_run_in_our_git_calls()
    {
        var worktree = await CreateAsync(GitWorkspaces.BranchName("WEB-12", "Hooked"));
        var marker = _temp.Sub("hook-ran");
        var hooks = Path.Combine(_workspaces.MirrorPath(Repo), "hooks");
        foreach (var hook in new[] { "pre-commit", "commit-msg", "post-commit", "pre-push", "reference-transaction" })
        {
            var script = Path.Combine(hooks, hook);
            File.WriteAllText(script, $"#!/bin/sh\necho {hook} >> '{marker}'\nexit 1\n");
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        await AgentWritesAsync(worktree, "a.txt", "x");
        var commit = await _workspaces.CommitAllAsync(worktree, "WEB-12", Ct);
        await _workspaces.PushAsync(worktree, _remote, null, Ct);

        Assert.True(commit.HasChanges);
        Assert.Equal(commit.HeadSha, RemoteSha(worktree.Branch));
        Assert.False(File.Exists(marker), File.Exists(marker) ? File.ReadAllText(marker) : null);
    }

    [Fact]
    public async Task A_second_round_continues_from_the_pushed_branch()
    {
        var branch = GitWorkspaces.BranchName("WEB-4", "Two rounds");
        var first = await CreateAsync(branch);
        await AgentWritesAsync(first, "a.txt", "round one");
        var firstCommit = await _workspaces.CommitAllAsync(first, "WEB-4: round one", Ct);
        await _workspaces.PushAsync(first, _remote, null, Ct);
        await _workspaces.RemoveWorktreeAsync(first);

        var second = await CreateAsync(branch);
        await AgentWritesAsync(second, "b.txt", "round two");
        var secondCommit = await _workspaces.CommitAllAsync(second, "WEB-4: round two", Ct);
        await _workspaces.PushAsync(second, _remote, null, Ct);

        Assert.True(second.StartedFromRemoteBranch);
        Assert.Equal(firstCommit.HeadSha, second.BaseSha);
        Assert.Equal("trunk", second.BaseBranch);
        Assert.True(File.Exists(Path.Combine(second.Path, "a.txt")));
        Assert.Equal(1, secondCommit.CommitsAhead);
        Assert.Equal(new[] { "b.txt" }, secondCommit.ChangedFiles);
        Assert.Equal(secondCommit.HeadSha, RemoteSha(branch));
        Assert.Equal("2", Git(_remote, "rev-list", "--count", "trunk.." + branch));
    }

    [Fact]
    public async Task A_push_never_overwrites_someone_elses_push_to_the_branch()
    {
        var branch = GitWorkspaces.BranchName("WEB-5", "Contended");
        var first = await CreateAsync(branch);
        await AgentWritesAsync(first, "a.txt", "ours");
        await _workspaces.CommitAllAsync(first, "WEB-5: ours", Ct);
        await _workspaces.PushAsync(first, _remote, null, Ct);
        await _workspaces.RemoveWorktreeAsync(first);
        var second = await CreateAsync(branch);

        // A human pushes to the branch while the second round runs.
        Git(_seed, "fetch", "--quiet", _remote, branch);
        Git(_seed, "checkout", "--quiet", "FETCH_HEAD");
        File.WriteAllText(Path.Combine(_seed, "human.txt"), "mine\n");
        Git(_seed, "add", "human.txt");
        Git(_seed, "commit", "--quiet", "-m", "human fix");
        Git(_seed, "push", "--quiet", _remote, "HEAD:refs/heads/" + branch);
        var human = RemoteSha(branch);

        await AgentWritesAsync(second, "b.txt", "ours again");
        await _workspaces.CommitAllAsync(second, "WEB-5: ours again", Ct);
        var error = await Assert.ThrowsAsync<GitCommandException>(() => _workspaces.PushAsync(second, _remote, null, Ct));

        Assert.Equal(human, RemoteSha(branch));
        Assert.Contains("stale info", error.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_new_branch_push_fails_if_the_branch_appeared_meanwhile()
    {
        var branch = GitWorkspaces.BranchName("WEB-6", "Raced");
        var worktree = await CreateAsync(branch);
        Git(_seed, "push", "--quiet", _remote, "develop:refs/heads/" + branch);
        await AgentWritesAsync(worktree, "a.txt", "ours");
        await _workspaces.CommitAllAsync(worktree, "WEB-6", Ct);

        await Assert.ThrowsAsync<GitCommandException>(() => _workspaces.PushAsync(worktree, _remote, null, Ct));

        Assert.Equal(RemoteSha("develop"), RemoteSha(branch));
    }

    [Fact]
    public async Task Fetching_works_while_a_pushed_branch_is_checked_out_and_prunes_deleted_branches()
    {
        var branch = GitWorkspaces.BranchName("WEB-7", "Busy");
        var busy = await CreateAsync(branch);
        await AgentWritesAsync(busy, "a.txt", "x");
        await _workspaces.CommitAllAsync(busy, "WEB-7", Ct);
        await _workspaces.PushAsync(busy, _remote, null, Ct);
        Git(_seed, "push", "--quiet", _remote, "trunk:refs/heads/feature/new");
        Git(_seed, "push", "--quiet", _remote, ":refs/heads/develop");

        var mirror = await _workspaces.EnsureMirrorAsync(Repo, _remote, null, Ct);
        var other = await CreateAsync(GitWorkspaces.BranchName("WEB-8", "Alongside"), "feature/new");

        var refs = Git(mirror, "for-each-ref", "--format=%(refname)", "refs/remotes/origin/").Split('\n');
        Assert.Contains("refs/remotes/origin/feature/new", refs);
        Assert.Contains("refs/remotes/origin/" + branch, refs);
        Assert.DoesNotContain("refs/remotes/origin/develop", refs);
        Assert.Equal(RemoteSha("trunk"), other.BaseSha);
        Assert.Equal(branch, Git(busy.Path, "rev-parse", "--abbrev-ref", "HEAD"));
    }

    [Fact]
    public async Task Concurrent_calls_for_one_repository_are_serialised()
    {
        var mirrors = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => _workspaces.EnsureMirrorAsync(Repo, _remote, null, Ct)));
        var worktrees = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => CreateAsync(GitWorkspaces.BranchName("WEB-1" + i, "parallel"))));

        Assert.Single(mirrors.Distinct());
        Assert.Equal(3, worktrees.Select(w => w.Path).Distinct().Count());
        Assert.All(worktrees, w => Assert.Equal(RemoteSha("trunk"), w.BaseSha));
        Assert.Equal(RemoteSha("trunk"), Git(mirrors[0], "rev-parse", "refs/remotes/origin/HEAD"));
    }

    [Fact]
    public async Task An_explicit_base_branch_is_used_and_a_missing_one_is_an_error()
    {
        var worktree = await CreateAsync(GitWorkspaces.BranchName("WEB-9", "On develop"), "develop");

        Assert.Equal("develop", worktree.BaseBranch);
        Assert.Equal(RemoteSha("develop"), worktree.BaseSha);
        Assert.True(File.Exists(Path.Combine(worktree.Path, "DEVELOP.md")));
        await Assert.ThrowsAsync<InvalidOperationException>(() => CreateAsync(GitWorkspaces.BranchName("WEB-9", "x"), "no-such-branch"));
        await Assert.ThrowsAsync<ArgumentException>(() => CreateAsync("orch/bad..name"));
        await Assert.ThrowsAsync<ArgumentException>(() => _workspaces.EnsureMirrorAsync("../escape", _remote, null, Ct));
    }

    [Fact]
    public async Task Removing_a_worktree_is_idempotent()
    {
        var worktree = await CreateAsync(GitWorkspaces.BranchName("WEB-10", "Remove me"));
        var other = await CreateAsync(GitWorkspaces.BranchName("WEB-11", "Deleted by hand"));
        Directory.Delete(other.Path, recursive: true);

        await _workspaces.RemoveWorktreeAsync(worktree);
        await _workspaces.RemoveWorktreeAsync(worktree);
        await _workspaces.RemoveWorktreeAsync(other);

        Assert.False(Directory.Exists(worktree.Path));
        var listed = Git(_workspaces.MirrorPath(Repo), "worktree", "list", "--porcelain");
        Assert.DoesNotContain(worktree.Path, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(other.Path, listed, StringComparison.Ordinal);
        await new GitWorkspaces(_temp.Sub("never-used"), Bot).RemoveWorktreeAsync(worktree);
    }

    [Theory]
    [InlineData("WEB-1", "Add a login page", "orch/WEB-1-add-a-login-page")]
    [InlineData("web-1", "  Fix: crash on ünïcode…  input!! ", "orch/WEB-1-fix-crash-on-n-code-input")]
    [InlineData("WEB-2", "", "orch/WEB-2")]
    [InlineData("WEB-3", "!!!", "orch/WEB-3")]
    [InlineData("WEB-4", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b", "orch/WEB-4-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("PROJ_7", "Refactor the user-profile service so it streams responses", "orch/PROJ-7-refactor-the-user-profile-service-so-it")]
    [InlineData("..lock", "a.lock @{x} ~^:?*[\\", "orch/LOCK-a-lock-x")]
    public void Branch_names_are_slugged_and_valid_for_git(string key, string title, string expected)
    {
        var branch = GitWorkspaces.BranchName(key, title);

        Assert.Equal(expected, branch);
        Assert.Equal(branch, Git(_temp.Path, "check-ref-format", "--branch", branch));
    }

    [Fact]
    public void A_task_key_without_letters_or_digits_is_refused() =>
        Assert.Throws<ArgumentException>(() => GitWorkspaces.BranchName("--", "title"));

    [Fact]
    public async Task The_token_travels_only_as_an_http_header_and_never_shows_in_errors()
    {
        const string token = "ghs_TestInstallationToken0000000001";
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("x-access-token:" + token));
        await using var server = await SimulatorHost.StartAsync(
            "git-http",
            (app, _) => app.MapGet("/acme/web.git/info/refs", () => Results.StatusCode(StatusCodes.Status403Forbidden)),
            _ => null);
        var url = new Uri(server.BaseUrl, "acme/web.git").ToString();

        var error = await Assert.ThrowsAsync<GitCommandException>(() => _workspaces.EnsureMirrorAsync(Repo, url, token, Ct));

        var request = Assert.Single(server.Requests);
        Assert.Equal("Basic " + basic, request.Headers["Authorization"]);
        Assert.DoesNotContain(token, request.PathAndQuery, StringComparison.Ordinal);
        Assert.Contains("403", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(token, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(basic, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(token, File.ReadAllText(Path.Combine(_workspaces.MirrorPath(Repo), "config")), StringComparison.Ordinal);
        Assert.Empty(server.UnexpectedRequests);
    }

    [Fact]
    public void Git_gets_an_allow_listed_environment_with_no_prompt_and_the_header_in_config_variables()
    {
        const string canary = "ORCH_CANARY_GIT_SECRET";
        var previous = Environment.GetEnvironmentVariable(canary);
        Environment.SetEnvironmentVariable(canary, "do-not-leak");
        try
        {
            var env = GitCli.Environment("tok");

            Assert.DoesNotContain(canary, env.Keys);
            Assert.DoesNotContain("do-not-leak", env.Values);
            Assert.Equal("0", env["GIT_TERMINAL_PROMPT"]);
            var pairs = Enumerable.Range(0, int.Parse(env["GIT_CONFIG_COUNT"], System.Globalization.CultureInfo.InvariantCulture))
                .ToDictionary(i => env[$"GIT_CONFIG_KEY_{i}"], i => env[$"GIT_CONFIG_VALUE_{i}"]);
            Assert.Equal("Authorization: Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("x-access-token:tok")), pairs["http.extraHeader"]);
            Assert.Equal("/dev/null", pairs["core.hooksPath"]);
            Assert.DoesNotContain("http.extraHeader", GitCli.Environment(null).Values);
            Assert.Equal("fatal: *** and ***", GitCli.Mask("fatal: tok and " + GitCli.BasicCredential("tok"), "tok"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(canary, previous);
        }
    }
}

namespace Orchestrator.Shared.GitHub;

/// <summary>A repository as <c>owner/name</c>.</summary>
/// <param name="Owner">Account or organisation login.</param>
/// <param name="Name">Repository name.</param>
public sealed record RepoRef(string Owner, string Name)
{
    /// <summary><c>owner/name</c>.</summary>
    public string FullName => $"{Owner}/{Name}";

    /// <summary>Parses <c>owner/name</c>.</summary>
    /// <exception cref="FormatException">The text is not exactly two non-empty segments.</exception>
    public static RepoRef Parse(string fullName)
    {
        var parts = fullName.Split('/');
        if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
        {
            throw new FormatException($"'{fullName}' is not a repository in the form owner/name.");
        }

        return new RepoRef(parts[0], parts[1]);
    }

    /// <inheritdoc />
    public override string ToString() => FullName;
}

/// <summary>An issue (not a pull request) as returned by the GitHub REST API.</summary>
/// <param name="Number">Issue number within the repository.</param>
/// <param name="Title">Title.</param>
/// <param name="Body">Markdown body, or <c>null</c>.</param>
/// <param name="State"><c>open</c> or <c>closed</c>.</param>
/// <param name="HtmlUrl">Web link.</param>
public sealed record GitHubIssue(int Number, string Title, string? Body, string State, string HtmlUrl);

/// <summary>An issue or pull-request comment.</summary>
/// <param name="Id">Comment id.</param>
/// <param name="Body">Markdown body.</param>
/// <param name="HtmlUrl">Web link.</param>
public sealed record GitHubComment(long Id, string Body, string HtmlUrl);

/// <summary>A pull request.</summary>
/// <param name="Number">PR number.</param>
/// <param name="Title">Title.</param>
/// <param name="Body">Markdown body, or <c>null</c>.</param>
/// <param name="State"><c>open</c> or <c>closed</c>.</param>
/// <param name="Merged">Whether it was merged (<c>merged_at</c> set).</param>
/// <param name="MergeCommitSha">The merge commit SHA once merged; GitHub also fills a test-merge SHA while open, so only trust it when <paramref name="Merged"/>.</param>
/// <param name="HtmlUrl">Web link.</param>
/// <param name="HeadRef">Branch the PR comes from (<c>head.ref</c>), when the answer carried it.</param>
public sealed record GitHubPullRequest(int Number, string Title, string? Body, string State, bool Merged, string? MergeCommitSha, string HtmlUrl, string? HeadRef = null);

/// <summary>A check suite of a commit (<c>GET /repos/{owner}/{repo}/commits/{ref}/check-suites</c>).</summary>
/// <param name="Id">Suite id.</param>
/// <param name="Status"><c>queued</c>, <c>in_progress</c>, <c>completed</c>, … .</param>
/// <param name="Conclusion"><c>success</c>, <c>failure</c>, <c>neutral</c>, <c>cancelled</c>, <c>skipped</c>, <c>timed_out</c>, <c>action_required</c>, <c>stale</c>, <c>startup_failure</c>, or <c>null</c> while not completed.</param>
/// <param name="AppSlug">Slug of the GitHub App that owns the suite, e.g. <c>github-actions</c>.</param>
/// <param name="LatestCheckRunsCount">Number of check runs; GitHub creates empty suites for every app with checks permission, and those stay <c>queued</c> forever.</param>
public sealed record GitHubCheckSuite(long Id, string Status, string? Conclusion, string? AppSlug, int LatestCheckRunsCount);

/// <summary>A GitHub Actions workflow run (<c>GET /repos/{owner}/{repo}/actions/runs?head_sha=</c>).</summary>
/// <param name="Id">Run id.</param>
/// <param name="Name">Workflow name.</param>
/// <param name="Status"><c>queued</c>, <c>in_progress</c>, <c>completed</c>, … .</param>
/// <param name="Conclusion">As for check suites; <c>null</c> while not completed.</param>
/// <param name="HtmlUrl">Web link.</param>
public sealed record GitHubWorkflowRun(long Id, string? Name, string Status, string? Conclusion, string HtmlUrl);

/// <summary>
/// The GitHub REST calls the orchestrator makes (https://docs.github.com/en/rest, API version
/// <c>2022-11-28</c>). Every method throws <see cref="Platform.PlatformApiException"/> on a non-2xx
/// answer or a network failure.
/// </summary>
public interface IGitHubClient
{
    /// <summary><c>POST /repos/{owner}/{repo}/issues</c>.</summary>
    Task<GitHubIssue> CreateIssueAsync(RepoRef repo, string title, string body, CancellationToken cancellationToken);

    /// <summary>
    /// The most recently created issues, newest first, open and closed, pull requests left out
    /// (<c>GET /repos/{owner}/{repo}/issues?state=all&amp;sort=created&amp;direction=desc</c>, paged
    /// until <paramref name="max"/> issues were read).
    /// </summary>
    Task<IReadOnlyList<GitHubIssue>> ListRecentIssuesAsync(RepoRef repo, int max, CancellationToken cancellationToken);

    /// <summary>All comments of an issue or PR, oldest first (<c>GET /repos/{owner}/{repo}/issues/{n}/comments</c>, every page).</summary>
    Task<IReadOnlyList<GitHubComment>> ListIssueCommentsAsync(RepoRef repo, int issueNumber, CancellationToken cancellationToken);

    /// <summary><c>POST /repos/{owner}/{repo}/issues/{n}/comments</c>.</summary>
    Task<GitHubComment> CreateIssueCommentAsync(RepoRef repo, int issueNumber, string body, CancellationToken cancellationToken);

    /// <summary>
    /// Recently updated pull requests, newest first, open and closed
    /// (<c>GET /repos/{owner}/{repo}/pulls?state=all&amp;sort=updated&amp;direction=desc</c>), up to <paramref name="max"/>.
    /// List items carry no <c>merged</c> flag; it is derived from <c>merged_at</c>.
    /// </summary>
    Task<IReadOnlyList<GitHubPullRequest>> ListRecentPullRequestsAsync(RepoRef repo, int max, CancellationToken cancellationToken);

    /// <summary>
    /// <c>POST /repos/{owner}/{repo}/pulls</c> with <c>{title, body, head, base}</c>
    /// (https://docs.github.com/en/rest/pulls/pulls#create-a-pull-request). A second open PR from the same
    /// head answers 422; use <see cref="FindPullRequestByHeadAsync"/> first.
    /// </summary>
    Task<GitHubPullRequest> CreatePullRequestAsync(RepoRef repo, string head, string @base, string title, string body, CancellationToken cancellationToken);

    /// <summary>
    /// The newest PR (open or closed) whose head is <paramref name="branch"/> of the repository's owner
    /// (<c>GET /repos/{owner}/{repo}/pulls?head={owner}:{branch}&amp;state=all</c>), or <c>null</c>.
    /// </summary>
    Task<GitHubPullRequest?> FindPullRequestByHeadAsync(RepoRef repo, string branch, CancellationToken cancellationToken);

    /// <summary><c>GET /repos/{owner}/{repo}/pulls/{n}</c>; <c>null</c> on 404.</summary>
    Task<GitHubPullRequest?> GetPullRequestAsync(RepoRef repo, int number, CancellationToken cancellationToken);

    /// <summary>All check suites of a commit (<c>GET /repos/{owner}/{repo}/commits/{sha}/check-suites</c>, every page).</summary>
    Task<IReadOnlyList<GitHubCheckSuite>> ListCheckSuitesAsync(RepoRef repo, string sha, CancellationToken cancellationToken);

    /// <summary>All Actions workflow runs of a commit (<c>GET /repos/{owner}/{repo}/actions/runs?head_sha={sha}</c>, every page).</summary>
    Task<IReadOnlyList<GitHubWorkflowRun>> ListWorkflowRunsAsync(RepoRef repo, string sha, CancellationToken cancellationToken);

    /// <summary>
    /// Closes an issue as "not planned": <c>PATCH /repos/{owner}/{repo}/issues/{n}</c> with
    /// <c>{"state":"closed","state_reason":"not_planned"}</c>
    /// (https://docs.github.com/en/rest/issues/issues#update-an-issue). Closing a closed issue succeeds.
    /// Forges without a close reason (Gitea) just close the issue.
    /// </summary>
    /// <param name="repo">Repository.</param>
    /// <param name="number">Issue number.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The issue as the forge answered it (<see cref="GitHubIssue.State"/> <c>closed</c>).</returns>
    Task<GitHubIssue> CloseIssueAsNotPlannedAsync(RepoRef repo, int number, CancellationToken cancellationToken);

    /// <summary>
    /// Puts the label <paramref name="labelName"/> on an issue or PR, creating the repository label when it
    /// does not exist; the issue's other labels stay. GitHub:
    /// <c>POST /repos/{owner}/{repo}/issues/{n}/labels</c> with <c>{"labels":["name"]}</c>
    /// (https://docs.github.com/en/rest/issues/labels#add-labels-to-an-issue). Adding a label the issue already
    /// carries is a no-op.
    /// </summary>
    /// <param name="repo">Repository.</param>
    /// <param name="number">Issue or PR number.</param>
    /// <param name="labelName">Label name.</param>
    /// <param name="cancellationToken">Cancels the call(s).</param>
    /// <returns>The id of the label (GitHub: the <c>id</c> of that label in the answered array).</returns>
    Task<long> AddLabelAsync(RepoRef repo, int number, string labelName, CancellationToken cancellationToken);

    /// <summary>
    /// Takes the label <paramref name="labelName"/> off an issue or PR. GitHub:
    /// <c>DELETE /repos/{owner}/{repo}/issues/{n}/labels/{name}</c>, the name URL-escaped
    /// (https://docs.github.com/en/rest/issues/labels#remove-a-label-from-an-issue).
    /// </summary>
    /// <param name="repo">Repository.</param>
    /// <param name="number">Issue or PR number.</param>
    /// <param name="labelName">Label name.</param>
    /// <param name="cancellationToken">Cancels the call(s).</param>
    /// <returns>
    /// <c>false</c> when there was nothing to remove (GitHub answered 404: the issue does not carry the label, or
    /// the issue does not exist; Gitea: the repository has no label of that name), else <c>true</c>.
    /// </returns>
    Task<bool> RemoveLabelAsync(RepoRef repo, int number, string labelName, CancellationToken cancellationToken);
}

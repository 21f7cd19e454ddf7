using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Platform;

namespace Orchestrator.Shared.Gitea;

/// <summary>
/// <see cref="IGitHubClient"/> over the Gitea REST API (<c>/api/v1</c>, checked against the swagger of Gitea
/// 1.25.3; reference: https://docs.gitea.com/api/1.25/), so the pipeline written for GitHub runs unchanged
/// against a Gitea server, including <see cref="CloseIssueAsNotPlannedAsync"/>, <see cref="AddLabelAsync"/> and
/// <see cref="RemoveLabelAsync"/>, which Gitea does its own way (no close reason; labels by id).
/// </summary>
/// <remarks>
/// <para>
/// Every request carries <c>Authorization: token &lt;token&gt;</c> and <c>Accept: application/json</c>.
/// Lists are read with <c>limit</c>/<c>page</c> (1-based) and follow Gitea's
/// <c>Link: &lt;…&gt;; rel="next"</c> header (Gitea also sends <c>X-Total-Count</c>); a next link is only
/// followed on the same scheme, host and port as <see cref="GiteaClientSettings.BaseUrl"/>. Page size is at most
/// 50, Gitea's default <c>[api] MAX_RESPONSE_ITEMS</c>
/// (https://docs.gitea.com/administration/config-cheat-sheet#api-api): a larger <c>limit</c> is silently cut.
/// </para>
/// <para>
/// Mapping to the GitHub-shaped records: issue and PR fields have the same names in Gitea. Gitea has no check
/// suites: <see cref="ListCheckSuitesAsync"/> maps the combined commit status
/// (https://docs.gitea.com/api/1.25/#tag/repository/operation/repoGetCombinedStatusByRef) to one
/// <see cref="GitHubCheckSuite"/> per status context. <see cref="ListWorkflowRunsAsync"/> reads Gitea Actions
/// runs (https://docs.gitea.com/api/1.25/#tag/repository/operation/getWorkflowRuns), whose <c>status</c> and
/// <c>conclusion</c> already use GitHub's words.
/// </para>
/// <para>
/// Failures become <see cref="PlatformApiException"/> (platform <c>Gitea</c>, operation such as
/// <c>POST /repos/o/r/issues</c>): network failures, timeouts, 408, 429 and 5xx are transient; 401, 403, 404,
/// 409, 422 and the other 4xx are permanent. <see cref="PlatformApiException.RetryAfter"/> comes from
/// <c>Retry-After</c> (seconds or an HTTP date) on transient answers. Gitea's error body is
/// <c>{"message":…,"url":…}</c> (the swagger's <c>APIError</c>). A 2xx whose body is not the documented shape is a
/// permanent failure. Cancelling throws <see cref="OperationCanceledException"/>. Nothing is logged.
/// </para>
/// <para>
/// Requests go through <see cref="PlatformHttp"/>: each first awaits <see cref="RateLimiter.WaitAsync"/> under
/// <see cref="CredentialKey"/>, and each response is passed to <see cref="RateLimiter.Observe"/>, so after a 429 (or
/// 403/503) with <c>Retry-After</c>, or <c>X-RateLimit-Remaining: 0</c> with <c>X-RateLimit-Reset</c>, nothing is sent
/// with this token before the time the server named. Gitea itself has no API rate limit; a reverse proxy in front
/// of it may answer 429 with <c>Retry-After</c>.
/// </para>
/// </remarks>
public sealed partial class GiteaClient : IGitHubClient
{
    private const string PlatformName = "Gitea";
    private const int MaxPerPage = 50;
    private const int MaxPages = 10_000;

    /// <summary>Colour of labels this client creates (<c>CreateLabelOption.color</c> is required).</summary>
    private const string NewLabelColor = "#ededed";

    private readonly Uri _apiUrl;
    private readonly TimeProvider _time;
    private readonly PlatformHttp _core;

    /// <summary>Creates the client.</summary>
    /// <param name="httpClient">Transport; its <see cref="HttpClient.Timeout"/> bounds each request (a timeout is transient).</param>
    /// <param name="settings">Server root and token.</param>
    /// <param name="timeProvider">Clock for <c>Retry-After</c> dates and rate-limit waits; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <param name="rateLimiter">
    /// Limiter consulted before every request under <see cref="CredentialKey"/>; defaults to <see cref="RateLimiter.For"/>
    /// <paramref name="timeProvider"/> (the process-wide limiter on the system clock).
    /// </param>
    /// <exception cref="ArgumentNullException">An argument is <c>null</c>.</exception>
    /// <exception cref="ArgumentException">The base URL is not an absolute http(s) URL, or the token is empty.</exception>
    public GiteaClient(HttpClient httpClient, GiteaClientSettings settings, TimeProvider? timeProvider = null, RateLimiter? rateLimiter = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(settings.BaseUrl);
        if (!settings.BaseUrl.IsAbsoluteUri || (settings.BaseUrl.Scheme != Uri.UriSchemeHttps && settings.BaseUrl.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException("The Gitea base URL must be an absolute http(s) URL.", nameof(settings));
        }

        if (string.IsNullOrWhiteSpace(settings.Token))
        {
            throw new ArgumentException("The Gitea token is empty.", nameof(settings));
        }

        _time = timeProvider ?? TimeProvider.System;
        var root = settings.BaseUrl.GetLeftPart(UriPartial.Path);
        _apiUrl = new Uri((root.EndsWith('/') ? root : root + "/") + "api/v1/", UriKind.Absolute);
        _core = new PlatformHttp(
            httpClient,
            PlatformHttpOptions.ForStaticToken(PlatformName, settings.BaseUrl, settings.Token, AddHeaders, ToException),
            rateLimiter ?? RateLimiter.For(_time));
    }

    private static void AddHeaders(HttpRequestMessage request, string token)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("token", token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("orchestrator", null));
    }

    /// <summary>The <see cref="RateLimiter"/> key of this client's token: <c>gitea:{BaseUrl}:{SHA-256 prefix of the token}</c>.</summary>
    public string CredentialKey => _core.CredentialKey;

    /// <inheritdoc />
    /// <remarks>
    /// <c>POST /repos/{owner}/{repo}/issues</c> with <c>{"title","body"}</c> (<c>CreateIssueOption</c>), 201 with an
    /// <c>Issue</c> (https://docs.gitea.com/api/1.25/#tag/issue/operation/issueCreateIssue). 423 when archived (permanent).
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<GitHubIssue> CreateIssueAsync(RepoRef repo, string title, string body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(body);
        var payload = new JsonObject { ["title"] = title, ["body"] = body };
        return await SendAsync(HttpMethod.Post, RepoPath(repo, "issues"), payload, ReadIssue, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /repos/{owner}/{repo}/issues?state=all&amp;type=issues&amp;limit=min(max,50)&amp;page=1</c>, then the
    /// <c>Link</c> pages (https://docs.gitea.com/api/1.25/#tag/issue/operation/issueListIssues). Gitea has no
    /// <c>sort</c> parameter here; its default order is newest created first. <c>type=issues</c> leaves pull
    /// requests out on the server; items with a non-null <c>pull_request</c> are dropped as well.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="max"/> is less than 1.</exception>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<IReadOnlyList<GitHubIssue>> ListRecentIssuesAsync(RepoRef repo, int max, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        var path = RepoPath(repo, "issues") + $"?state=all&type=issues&limit={PageSize(max)}&page=1";
        return await GetPagesAsync(
            path,
            page => ReadArray(page).Where(i => !i.TryGetProperty("pull_request", out var pr) || pr.ValueKind == JsonValueKind.Null).Select(ReadIssue),
            max,
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /repos/{owner}/{repo}/issues/{index}/comments</c>
    /// (https://docs.gitea.com/api/1.25/#tag/issue/operation/issueGetComments): the endpoint takes no
    /// <c>page</c>/<c>limit</c> and answers every comment in one array, oldest first. Works for PRs too.
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer (404 for a missing issue), network failure or unexpected body.</exception>
    public async Task<IReadOnlyList<GitHubComment>> ListIssueCommentsAsync(RepoRef repo, int issueNumber, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var path = RepoPath(repo, $"issues/{Num(issueNumber)}/comments");
        return await SendAsync(HttpMethod.Get, path, null, page => (IReadOnlyList<GitHubComment>)ReadArray(page).Select(ReadComment).ToList(), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>POST /repos/{owner}/{repo}/issues/{index}/comments</c> with <c>{"body"}</c>, 201 with a <c>Comment</c>
    /// (https://docs.gitea.com/api/1.25/#tag/issue/operation/issueCreateComment).
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<GitHubComment> CreateIssueCommentAsync(RepoRef repo, int issueNumber, string body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(body);
        var payload = new JsonObject { ["body"] = body };
        return await SendAsync(HttpMethod.Post, RepoPath(repo, $"issues/{Num(issueNumber)}/comments"), payload, ReadComment, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /repos/{owner}/{repo}/pulls?state=all&amp;sort=recentupdate&amp;limit=min(max,50)&amp;page=1</c>, then the
    /// <c>Link</c> pages (https://docs.gitea.com/api/1.25/#tag/repository/operation/repoListPullRequests).
    /// Gitea's list items carry <c>merged</c>.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="max"/> is less than 1.</exception>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<IReadOnlyList<GitHubPullRequest>> ListRecentPullRequestsAsync(RepoRef repo, int max, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        var path = RepoPath(repo, "pulls") + $"?state=all&sort=recentupdate&limit={PageSize(max)}&page=1";
        return await GetPagesAsync(path, page => ReadArray(page).Select(ReadPullRequest), max, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>POST /repos/{owner}/{repo}/pulls</c> with <c>{"title","body","head","base"}</c> (<c>CreatePullRequestOption</c>),
    /// 201 with a <c>PullRequest</c> (https://docs.gitea.com/api/1.25/#tag/repository/operation/repoCreatePullRequest).
    /// Where GitHub answers 422 for a second open PR from the same head, Gitea answers 409 (permanent).
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<GitHubPullRequest> CreatePullRequestAsync(RepoRef repo, string head, string @base, string title, string body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(head);
        ArgumentException.ThrowIfNullOrWhiteSpace(@base);
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(body);
        var payload = new JsonObject { ["title"] = title, ["body"] = body, ["head"] = head, ["base"] = @base };
        return await SendAsync(HttpMethod.Post, RepoPath(repo, "pulls"), payload, ReadPullRequest, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Gitea's PR list has no <c>head</c> filter (swagger 1.25.3: only <c>base_branch</c>, <c>state</c>, <c>sort</c>,
    /// <c>milestone</c>, <c>labels</c>, <c>poster</c>, <c>page</c>, <c>limit</c>), so this reads
    /// <c>GET /repos/{owner}/{repo}/pulls?state=all&amp;sort=recentupdate&amp;limit=50&amp;page=…</c> page by page and returns
    /// the first PR whose <c>head.ref</c> is <paramref name="branch"/> and whose head repository is this one
    /// (<c>head.repo_id == base.repo_id</c> when both are present), i.e. the most recently updated one.
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<GitHubPullRequest?> FindPullRequestByHeadAsync(RepoRef repo, string branch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(branch);
        var path = RepoPath(repo, "pulls") + $"?state=all&sort=recentupdate&limit={MaxPerPage}&page=1";
        var found = await GetPagesAsync(
            path,
            page => ReadArray(page).Where(pr => IsOwnHead(pr, branch)).Select(ReadPullRequest),
            1,
            cancellationToken).ConfigureAwait(false);
        return found.Count > 0 ? found[0] : null;
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /repos/{owner}/{repo}/pulls/{index}</c> (https://docs.gitea.com/api/1.25/#tag/repository/operation/repoGetPullRequest);
    /// 404 (missing number or repository) gives <c>null</c>.
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer other than 404, network failure or unexpected body.</exception>
    public async Task<GitHubPullRequest?> GetPullRequestAsync(RepoRef repo, int number, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        return await SendAsync<GitHubPullRequest?>(HttpMethod.Get, RepoPath(repo, $"pulls/{Num(number)}"), null, ReadPullRequest, cancellationToken, nullOn404: true).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <para>
    /// Gitea has no check suites. This reads the combined status
    /// <c>GET /repos/{owner}/{repo}/commits/{sha}/status?limit=50&amp;page=…</c>
    /// (https://docs.gitea.com/api/1.25/#tag/repository/operation/repoGetCombinedStatusByRef), whose
    /// <c>statuses[]</c> hold the latest status per <c>context</c>, and returns one suite per status:
    /// <see cref="GitHubCheckSuite.Id"/> = status <c>id</c>, <see cref="GitHubCheckSuite.AppSlug"/> = <c>context</c>,
    /// <see cref="GitHubCheckSuite.LatestCheckRunsCount"/> = 1.
    /// </para>
    /// <para>
    /// State (the swagger's enum: pending, success, error, failure, warning, skipped): <c>pending</c> →
    /// status <c>in_progress</c>, conclusion <c>null</c>; otherwise status <c>completed</c> and conclusion
    /// <c>success</c>; <c>failure</c> for <c>failure</c> and <c>error</c>; <c>neutral</c> for <c>warning</c>;
    /// <c>skipped</c> for <c>skipped</c>. An unknown state is kept as the conclusion.
    /// </para>
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<IReadOnlyList<GitHubCheckSuite>> ListCheckSuitesAsync(RepoRef repo, string sha, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(sha);
        var path = RepoPath(repo, $"commits/{Uri.EscapeDataString(sha)}/status") + $"?limit={MaxPerPage}&page=1";
        return await GetPagesAsync(path, page => ReadArray(page, "statuses").Select(ReadStatusAsSuite), int.MaxValue, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /repos/{owner}/{repo}/actions/runs?head_sha={sha}&amp;limit=50&amp;page=…</c> (present in the 1.25.3
    /// swagger, https://docs.gitea.com/api/1.25/#tag/repository/operation/getWorkflowRuns); body
    /// <c>{"total_count","workflow_runs":[ActionWorkflowRun]}</c>. <c>ActionWorkflowRun</c> has no <c>name</c>:
    /// <see cref="GitHubWorkflowRun.Name"/> is <c>display_title</c>, else <c>path</c>. A server without Actions
    /// (older than 1.25 or the unit disabled) answers 404, reported as a permanent failure.
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<IReadOnlyList<GitHubWorkflowRun>> ListWorkflowRunsAsync(RepoRef repo, string sha, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(sha);
        var path = RepoPath(repo, "actions/runs") + $"?head_sha={Uri.EscapeDataString(sha)}&limit={MaxPerPage}&page=1";
        return await GetPagesAsync(path, page => ReadArray(page, "workflow_runs").Select(ReadWorkflowRun), int.MaxValue, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Closes an issue: <c>PATCH /repos/{owner}/{repo}/issues/{index}</c> with <c>{"state":"closed"}</c>
    /// (<c>EditIssueOption</c>, https://docs.gitea.com/api/1.25/#tag/issue/operation/issueEditIssue; Gitea answers 201).
    /// </summary>
    /// <remarks>
    /// Gitea has no <c>state_reason</c> (GitHub's <c>not_planned</c>): the 1.25.3 <c>EditIssueOption</c> has only
    /// assignee(s), body, due_date, milestone, ref, state, title and unset_due_date. The issue is simply closed;
    /// callers that need the reason visible should say so in a comment. Closing a closed issue succeeds.
    /// </remarks>
    /// <param name="repo">Repository.</param>
    /// <param name="number">Issue number.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The issue as Gitea answered it.</returns>
    /// <exception cref="PlatformApiException">Non-2xx answer (404 for a missing issue), network failure or unexpected body.</exception>
    public async Task<GitHubIssue> CloseIssueAsNotPlannedAsync(RepoRef repo, int number, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var payload = new JsonObject { ["state"] = "closed" };
        return await SendAsync(HttpMethod.Patch, RepoPath(repo, $"issues/{Num(number)}"), payload, ReadIssue, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Puts the repository label <paramref name="labelName"/> on an issue or PR, creating the label first when the
    /// repository has none of that name.
    /// </summary>
    /// <remarks>
    /// Gitea adds labels by id: <c>GET /repos/{owner}/{repo}/labels?limit=50&amp;page=…</c>
    /// (https://docs.gitea.com/api/1.25/#tag/issue/operation/issueListLabels), matched by exact name; if none,
    /// <c>POST /repos/{owner}/{repo}/labels</c> with <c>{"name","color":"#ededed"}</c>
    /// (https://docs.gitea.com/api/1.25/#tag/issue/operation/issueCreateLabel); then
    /// <c>POST /repos/{owner}/{repo}/issues/{index}/labels</c> with <c>{"labels":[id]}</c>
    /// (https://docs.gitea.com/api/1.25/#tag/issue/operation/issueAddLabel), which keeps the other labels and is a
    /// no-op when the label is already there. Organisation labels are not looked at.
    /// </remarks>
    /// <param name="repo">Repository.</param>
    /// <param name="number">Issue or PR number.</param>
    /// <param name="labelName">Label name, compared ordinally.</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    /// <returns>The label id used.</returns>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<long> AddLabelAsync(RepoRef repo, int number, string labelName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(labelName);
        var id = await FindLabelIdAsync(repo, labelName, cancellationToken).ConfigureAwait(false);
        if (id is null)
        {
            var create = new JsonObject { ["name"] = labelName, ["color"] = NewLabelColor };
            id = await SendAsync(HttpMethod.Post, RepoPath(repo, "labels"), create, e => e.GetProperty("id").GetInt64(), cancellationToken).ConfigureAwait(false);
        }

        var add = new JsonObject { ["labels"] = new JsonArray(id.Value) };
        await SendAsync(HttpMethod.Post, RepoPath(repo, $"issues/{Num(number)}/labels"), add, ReadArray, cancellationToken).ConfigureAwait(false);
        return id.Value;
    }

    /// <summary>Takes the repository label <paramref name="labelName"/> off an issue or PR; nothing happens when the repository has no such label.</summary>
    /// <remarks>
    /// Looks the id up as <see cref="AddLabelAsync"/> does, then
    /// <c>DELETE /repos/{owner}/{repo}/issues/{index}/labels/{id}</c>, 204
    /// (https://docs.gitea.com/api/1.25/#tag/issue/operation/issueRemoveLabel). Removing a label the issue does not
    /// carry also answers 204.
    /// </remarks>
    /// <param name="repo">Repository.</param>
    /// <param name="number">Issue or PR number.</param>
    /// <param name="labelName">Label name, compared ordinally.</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    /// <returns>Whether a label of that name existed (and a DELETE was sent).</returns>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<bool> RemoveLabelAsync(RepoRef repo, int number, string labelName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(labelName);
        var id = await FindLabelIdAsync(repo, labelName, cancellationToken).ConfigureAwait(false);
        if (id is null)
        {
            return false;
        }

        var path = RepoPath(repo, $"issues/{Num(number)}/labels/{id.Value.ToString(CultureInfo.InvariantCulture)}");
        await SendAsync(HttpMethod.Delete, path, null, _ => true, cancellationToken).ConfigureAwait(false);
        return true;
    }

    private async Task<long?> FindLabelIdAsync(RepoRef repo, string labelName, CancellationToken cancellationToken)
    {
        var path = RepoPath(repo, "labels") + $"?limit={MaxPerPage}&page=1";
        var found = await GetPagesAsync(
            path,
            page => ReadArray(page).Where(l => OptionalString(l, "name") == labelName).Select(l => l.GetProperty("id").GetInt64()),
            1,
            cancellationToken).ConfigureAwait(false);
        return found.Count > 0 ? found[0] : null;
    }

    private static bool IsOwnHead(JsonElement pr, string branch)
    {
        if (!pr.TryGetProperty("head", out var head) || head.ValueKind != JsonValueKind.Object || OptionalString(head, "ref") != branch)
        {
            return false;
        }

        // A fork's branch of the same name is not ours.
        return !(pr.TryGetProperty("base", out var @base) && @base.ValueKind == JsonValueKind.Object
            && head.TryGetProperty("repo_id", out var headRepo) && headRepo.ValueKind == JsonValueKind.Number
            && @base.TryGetProperty("repo_id", out var baseRepo) && baseRepo.ValueKind == JsonValueKind.Number
            && headRepo.GetInt64() != baseRepo.GetInt64());
    }

    private static string Num(int number) => number.ToString(CultureInfo.InvariantCulture);

    private static string RepoPath(RepoRef repo, string rest) =>
        $"repos/{Uri.EscapeDataString(repo.Owner)}/{Uri.EscapeDataString(repo.Name)}/{rest}";

    private static int PageSize(int max) => Math.Min(max, MaxPerPage);

    private static string Operation(HttpMethod method, string relativePath)
    {
        var query = relativePath.IndexOf('?', StringComparison.Ordinal);
        return $"{method.Method} /{(query < 0 ? relativePath : relativePath[..query])}";
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string relativePath, JsonObject? payload, Func<JsonElement, T> read, CancellationToken cancellationToken, bool nullOn404 = false)
    {
        var operation = Operation(method, relativePath);
        var (status, _, root) = await ExchangeAsync(method, new Uri(_apiUrl, relativePath), payload, operation, nullOn404, cancellationToken).ConfigureAwait(false);
        if (status == HttpStatusCode.NotFound && nullOn404)
        {
            return default!;
        }

        return Read(root, read, operation);
    }

    private async Task<IReadOnlyList<T>> GetPagesAsync<T>(string relativePath, Func<JsonElement, IEnumerable<T>> readPage, int max, CancellationToken cancellationToken)
    {
        var operation = Operation(HttpMethod.Get, relativePath);
        var items = new List<T>();
        Uri? next = new Uri(_apiUrl, relativePath);
        var visited = new HashSet<Uri>();
        while (next is not null && items.Count < max)
        {
            PlatformHttp.CheckNextPage(visited, next, MaxPages, PlatformName, operation);

            var (_, nextLink, root) = await ExchangeAsync(HttpMethod.Get, next, null, operation, allow404: false, cancellationToken).ConfigureAwait(false);
            items.AddRange(Read(root, page => readPage(page).ToList(), operation));
            next = nextLink is null ? null : ResolveNext(nextLink, operation);
        }

        return items.Count > max ? items.GetRange(0, max) : items;
    }

    private Uri ResolveNext(string link, string operation) => PlatformHttp.ResolveNextPage(_apiUrl, link, PlatformName, operation, "the Gitea host");

    private static T Read<T>(JsonElement root, Func<JsonElement, T> read, string operation) => PlatformHttp.ReadDocumented(PlatformName, root, read, operation);

    private async Task<(HttpStatusCode Status, string? Next, JsonElement Body)> ExchangeAsync(
        HttpMethod method, Uri url, JsonObject? payload, string operation, bool allow404, CancellationToken cancellationToken)
    {
        using var response = await _core.SendAsync(method, url, operation, payload, cancellationToken, allow404 ? HttpStatusCode.NotFound : null).ConfigureAwait(false);
        if (response.Status == HttpStatusCode.NotFound)
        {
            return (response.Status, null, default);
        }

        var next = response.Links.Count > 0 ? GitHubLinkHeader.Find(response.Links, "next") : null;

        // No body (204 from DELETE): nothing to parse.
        return (response.Status, next, response.Json is null ? default : response.Json.RootElement.Clone());
    }

    private PlatformApiException ToException(PlatformFailure failure) =>
        PlatformHttp.Classify(PlatformName, failure, failure.Redact(ErrorMessage(failure.Body) ?? failure.StatusLine), _time.GetUtcNow());

    /// <summary>Gitea's <c>APIError</c> / <c>APIValidationError</c>: <c>{"message":…,"url":…}</c>; some handlers add <c>"errors":[…]</c> strings.</summary>
    private static string? ErrorMessage(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            var text = message.GetString()!;
            if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
            {
                var details = errors.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).Where(s => s.Length > 0).ToList();
                if (details.Count > 0)
                {
                    text += " (" + string.Join("; ", details) + ")";
                }
            }

            return text;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static IEnumerable<JsonElement> ReadArray(JsonElement page)
    {
        if (page.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidOperationException($"expected a JSON array, got {page.ValueKind}");
        }

        return page.EnumerateArray();
    }

    private static IEnumerable<JsonElement> ReadArray(JsonElement page, string property)
    {
        // Gitea serialises an empty Go slice as null in some versions.
        var value = page.GetProperty(property);
        return value.ValueKind == JsonValueKind.Null ? [] : ReadArray(value);
    }

    private static GitHubIssue ReadIssue(JsonElement e) =>
        new(e.GetProperty("number").GetInt32(), RequiredString(e, "title"), OptionalString(e, "body"), RequiredString(e, "state"), RequiredString(e, "html_url"));

    private static GitHubComment ReadComment(JsonElement e) =>
        new(e.GetProperty("id").GetInt64(), OptionalString(e, "body") ?? "", RequiredString(e, "html_url"));

    private static GitHubPullRequest ReadPullRequest(JsonElement e)
    {
        var merged = e.TryGetProperty("merged", out var flag) && flag.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? flag.GetBoolean()
            : OptionalString(e, "merged_at") is not null;
        return new GitHubPullRequest(
            e.GetProperty("number").GetInt32(),
            RequiredString(e, "title"),
            OptionalString(e, "body"),
            RequiredString(e, "state"),
            merged,
            OptionalString(e, "merge_commit_sha"),
            RequiredString(e, "html_url"),
            e.TryGetProperty("head", out var head) && head.ValueKind == JsonValueKind.Object ? OptionalString(head, "ref") : null);
    }

    private static GitHubCheckSuite ReadStatusAsSuite(JsonElement e)
    {
        // CommitStatus.status holds the state (the swagger names the field "status", the webhook "state").
        var state = RequiredString(e, "status");
        var (status, conclusion) = MapCommitState(state);
        return new GitHubCheckSuite(e.GetProperty("id").GetInt64(), status, conclusion, OptionalString(e, "context"), 1);
    }

    /// <summary>A Gitea commit status state as a GitHub check (status, conclusion); see <see cref="ListCheckSuitesAsync"/>.</summary>
    internal static (string Status, string? Conclusion) MapCommitState(string state) => state switch
    {
        "pending" => ("in_progress", null),
        "success" => ("completed", "success"),
        "failure" or "error" => ("completed", "failure"),
        "warning" => ("completed", "neutral"),
        "skipped" => ("completed", "skipped"),
        _ => ("completed", state),
    };

    private static GitHubWorkflowRun ReadWorkflowRun(JsonElement e) =>
        new(e.GetProperty("id").GetInt64(), OptionalString(e, "display_title") ?? OptionalString(e, "path"), RequiredString(e, "status"), NullIfEmpty(OptionalString(e, "conclusion")), RequiredString(e, "html_url"));

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static string RequiredString(JsonElement e, string name) =>
        OptionalString(e, name) ?? throw new InvalidOperationException($"'{name}' is missing or null");

    private static string? OptionalString(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.GetString() : null;
}

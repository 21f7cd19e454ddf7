using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Shared.Platform;

namespace Orchestrator.Shared.GitHub;

/// <summary>
/// <see cref="IGitHubClient"/> over the GitHub REST API, version <c>2022-11-28</c>
/// (https://docs.github.com/en/rest/about-the-rest-api/api-versions).
/// </summary>
/// <remarks>
/// <para>
/// Every request carries <c>Authorization: Bearer &lt;token&gt;</c> (the token comes from an
/// <see cref="IGitHubTokenSource"/>: a static token or a GitHub App installation token), <c>Accept: application/vnd.github+json</c>,
/// <c>X-GitHub-Api-Version: 2022-11-28</c> and <c>User-Agent: orchestrator</c> (GitHub rejects requests
/// without a user agent). Lists follow the <c>Link: &lt;…&gt;; rel="next"</c> header
/// (https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api) with
/// <c>per_page=100</c>, or fewer when fewer items are wanted; a next link is only followed when it points at
/// the same scheme, host and port as <see cref="GitHubClientSettings.ApiBaseUrl"/>, so the token never
/// leaves for another origin.
/// </para>
/// <para>
/// Failures become <see cref="PlatformApiException"/> (platform <c>GitHub</c>, operation such as
/// <c>POST /repos/o/r/issues</c>), classified as GitHub documents
/// (https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api and
/// https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api):
/// network failures, timeouts, 408, 429, 5xx and a 403 that is a rate limit (<c>Retry-After</c> present,
/// <c>x-ratelimit-remaining: 0</c>, or a "secondary rate limit" message) are transient; 401, any other 403,
/// 404, 422 and the other 4xx are permanent. <see cref="PlatformApiException.RetryAfter"/> comes from
/// <c>Retry-After</c> (seconds or an HTTP date), else — only when <c>x-ratelimit-remaining</c> is 0 — from
/// <c>x-ratelimit-reset</c> (UTC epoch seconds) minus the <see cref="TimeProvider"/>'s now, else one minute
/// for a secondary rate limit without headers. A 2xx whose body is not the documented shape is a
/// permanent failure. Cancelling the <see cref="CancellationToken"/> throws
/// <see cref="OperationCanceledException"/>, not <see cref="PlatformApiException"/>. Nothing is logged.
/// </para>
/// <para>
/// Every request first awaits <see cref="RateLimiter.WaitAsync"/> under the token source's
/// <see cref="IGitHubTokenSource.CredentialKey"/> and every response is passed to
/// <see cref="RateLimiter.Observe"/>, so an exhausted budget, a <c>Retry-After</c> or a secondary rate limit
/// holds back this client's next requests (and those of every other client sharing the limiter and the
/// credential) until the time GitHub named. The exception of the limited request itself is still thrown.
/// </para>
/// </remarks>
public sealed partial class GitHubClient : IGitHubClient, IGitHubHookDeliveries
{
    private const string PlatformName = "GitHub";
    private const int MaxPerPage = 100;

    /// <summary>Guard against a server whose <c>Link</c> never ends (10 000 pages = 1 000 000 items).</summary>
    private const int MaxPages = 10_000;

    private static readonly TimeSpan SecondaryRateLimitDefaultWait = TimeSpan.FromMinutes(1);

    private readonly Uri _baseUrl;
    private readonly TimeProvider _time;
    private readonly PlatformHttp _core;

    /// <summary>Creates the client.</summary>
    /// <param name="httpClient">
    /// Transport; its <see cref="HttpClient.Timeout"/> bounds each request (a timeout is a transient failure).
    /// Its <see cref="HttpClient.BaseAddress"/> and default headers are not relied on.
    /// </param>
    /// <param name="settings">API root and token.</param>
    /// <param name="timeProvider">Clock used to turn <c>x-ratelimit-reset</c> into a wait; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <param name="rateLimiter">
    /// Limiter consulted before every request; defaults to <see cref="RateLimiter.Shared"/> when the clock is the
    /// system clock, else to a limiter of this client's own on <paramref name="timeProvider"/>.
    /// </param>
    /// <exception cref="ArgumentNullException">An argument is <c>null</c>.</exception>
    /// <exception cref="ArgumentException">The base URL is not an absolute http(s) URL, or the token is empty.</exception>
    /// <remarks>
    /// The constructor dependency injection uses (<c>AddHttpClient&lt;IGitHubClient, GitHubClient&gt;</c>), so the
    /// token-source constructor does not make activation ambiguous.
    /// </remarks>
    [ActivatorUtilitiesConstructor]
    public GitHubClient(HttpClient httpClient, GitHubClientSettings settings, TimeProvider? timeProvider = null, RateLimiter? rateLimiter = null)
        : this(httpClient, settings?.ApiBaseUrl!, StaticSource(settings), timeProvider, rateLimiter)
    {
    }

    /// <summary>Creates the client with a token source, e.g. a <see cref="GitHubAppInstallationTokenSource"/>.</summary>
    /// <param name="httpClient">Transport, as for the other constructor.</param>
    /// <param name="apiBaseUrl">API root, as <see cref="GitHubClientSettings.ApiBaseUrl"/>.</param>
    /// <param name="tokenSource">Supplies the bearer token of every request and the rate-limit key.</param>
    /// <param name="timeProvider">Clock; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <param name="rateLimiter">Limiter; default as for the other constructor.</param>
    /// <exception cref="ArgumentNullException">An argument is <c>null</c>.</exception>
    /// <exception cref="ArgumentException">The base URL is not an absolute http(s) URL.</exception>
    public GitHubClient(HttpClient httpClient, Uri apiBaseUrl, IGitHubTokenSource tokenSource, TimeProvider? timeProvider = null, RateLimiter? rateLimiter = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(tokenSource);
        _time = timeProvider ?? TimeProvider.System;
        _baseUrl = NormalizeBase(apiBaseUrl);
        _core = new PlatformHttp(
            httpClient,
            new PlatformHttpOptions
            {
                Platform = PlatformName,
                CredentialKey = tokenSource.CredentialKey,
                GetSecretAsync = tokenSource.GetTokenAsync,
                Authorize = static (request, token) =>
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                    request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.github+json"));
                    request.Headers.TryAddWithoutValidation("X-GitHub-Api-Version", "2022-11-28");
                    request.Headers.UserAgent.Add(new ProductInfoHeaderValue("orchestrator", null));
                },
                ToException = failure => ToException(failure.Response, failure.Body, failure.Operation, _time.GetUtcNow(), failure.Redact),
            },
            rateLimiter ?? RateLimiter.For(_time));
    }

    /// <summary>
    /// "https://ghe.example/api/v3" + "repos/…" must give ".../api/v3/repos/…", which <see cref="Uri"/> only
    /// does when the base ends with '/'. Query and fragment of the base are dropped.
    /// </summary>
    internal static Uri NormalizeBase(Uri apiBaseUrl)
    {
        ArgumentNullException.ThrowIfNull(apiBaseUrl);
        if (!apiBaseUrl.IsAbsoluteUri || (apiBaseUrl.Scheme != Uri.UriSchemeHttps && apiBaseUrl.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException("The GitHub API base URL must be an absolute http(s) URL.", nameof(apiBaseUrl));
        }

        var root = apiBaseUrl.GetLeftPart(UriPartial.Path);
        return new Uri(root.EndsWith('/') ? root : root + "/", UriKind.Absolute);
    }

    private static StaticGitHubTokenSource StaticSource(GitHubClientSettings? settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(settings.ApiBaseUrl);
        if (!settings.ApiBaseUrl.IsAbsoluteUri || (settings.ApiBaseUrl.Scheme != Uri.UriSchemeHttps && settings.ApiBaseUrl.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException("The GitHub API base URL must be an absolute http(s) URL.", nameof(settings));
        }

        if (string.IsNullOrWhiteSpace(settings.Token))
        {
            throw new ArgumentException("The GitHub token is empty.", nameof(settings));
        }

        return new StaticGitHubTokenSource(settings.Token);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Sends <c>{"title":…,"body":…}</c> and expects 201 with an issue object
    /// (https://docs.github.com/en/rest/issues/issues#create-an-issue). A missing repository or one the
    /// token cannot write answers 404 (permanent); issues disabled answers 410 (permanent).
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<GitHubIssue> CreateIssueAsync(RepoRef repo, string title, string body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(body);
        var path = RepoPath(repo, "issues");
        var payload = new JsonObject { ["title"] = title, ["body"] = body };
        return await SendAsync(HttpMethod.Post, path, payload, ReadIssue, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /repos/{owner}/{repo}/issues?state=all&amp;sort=created&amp;direction=desc&amp;per_page=min(max,100)</c>
    /// (https://docs.github.com/en/rest/issues/issues#list-repository-issues). The endpoint also returns
    /// pull requests; items with a <c>pull_request</c> key are dropped and do not count towards
    /// <paramref name="max"/>, so more pages may be read than <paramref name="max"/>/100.
    /// </remarks>
    /// <param name="repo">Repository.</param>
    /// <param name="max">Upper bound on returned issues; at least 1.</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="max"/> is less than 1.</exception>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<IReadOnlyList<GitHubIssue>> ListRecentIssuesAsync(RepoRef repo, int max, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        var path = RepoPath(repo, "issues") + $"?state=all&sort=created&direction=desc&per_page={PageSize(max)}";
        return await GetPagesAsync(
            path,
            page => ReadArray(page).Where(item => !item.TryGetProperty("pull_request", out _)).Select(ReadIssue),
            max,
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /repos/{owner}/{repo}/issues/{n}/comments?per_page=100</c>, every page
    /// (https://docs.github.com/en/rest/issues/comments#list-issue-comments). Works for pull requests too
    /// (their conversation comments). 404 when the issue does not exist (permanent).
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<IReadOnlyList<GitHubComment>> ListIssueCommentsAsync(RepoRef repo, int issueNumber, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var path = RepoPath(repo, $"issues/{issueNumber.ToString(CultureInfo.InvariantCulture)}/comments") + $"?per_page={MaxPerPage}";
        return await GetPagesAsync(path, page => ReadArray(page).Select(ReadComment), int.MaxValue, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Sends <c>{"body":…}</c> and expects 201 with a comment object
    /// (https://docs.github.com/en/rest/issues/comments#create-an-issue-comment).
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<GitHubComment> CreateIssueCommentAsync(RepoRef repo, int issueNumber, string body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(body);
        var path = RepoPath(repo, $"issues/{issueNumber.ToString(CultureInfo.InvariantCulture)}/comments");
        var payload = new JsonObject { ["body"] = body };
        return await SendAsync(HttpMethod.Post, path, payload, ReadComment, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /repos/{owner}/{repo}/pulls?state=all&amp;sort=updated&amp;direction=desc&amp;per_page=min(max,100)</c>
    /// (https://docs.github.com/en/rest/pulls/pulls#list-pull-requests).
    /// </remarks>
    /// <param name="repo">Repository.</param>
    /// <param name="max">Upper bound on returned pull requests; at least 1.</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="max"/> is less than 1.</exception>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<IReadOnlyList<GitHubPullRequest>> ListRecentPullRequestsAsync(RepoRef repo, int max, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        var path = RepoPath(repo, "pulls") + $"?state=all&sort=updated&direction=desc&per_page={PageSize(max)}";
        return await GetPagesAsync(path, page => ReadArray(page).Select(ReadPullRequest), max, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="PlatformApiException">Non-2xx answer (422 when a PR from that head exists), network failure or unexpected body.</exception>
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
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<GitHubPullRequest?> FindPullRequestByHeadAsync(RepoRef repo, string branch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(branch);
        var path = RepoPath(repo, "pulls") + $"?state=all&head={Uri.EscapeDataString(repo.Owner + ":" + branch)}&per_page=1";
        var found = await GetPagesAsync(path, page => ReadArray(page).Select(ReadPullRequest), 1, cancellationToken).ConfigureAwait(false);
        return found.Count > 0 ? found[0] : null;
    }

    /// <inheritdoc />
    /// <remarks>
    /// https://docs.github.com/en/rest/pulls/pulls#get-a-pull-request. The single-PR object has a
    /// <c>merged</c> flag; <c>merged_at</c> is used when it is absent. GitHub answers 404 both for a missing
    /// number and for a repository the token cannot see, and both give <c>null</c>.
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer other than 404, network failure or unexpected body.</exception>
    public async Task<GitHubPullRequest?> GetPullRequestAsync(RepoRef repo, int number, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var path = RepoPath(repo, $"pulls/{number.ToString(CultureInfo.InvariantCulture)}");
        return await SendAsync<GitHubPullRequest?>(HttpMethod.Get, path, null, ReadPullRequest, cancellationToken, nullOn404: true).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /repos/{owner}/{repo}/commits/{sha}/check-suites?per_page=100</c>, every page; the body is
    /// <c>{"total_count":n,"check_suites":[…]}</c>
    /// (https://docs.github.com/en/rest/checks/suites#list-check-suites-for-a-git-reference).
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer (422 for an unknown SHA), network failure or unexpected body.</exception>
    public async Task<IReadOnlyList<GitHubCheckSuite>> ListCheckSuitesAsync(RepoRef repo, string sha, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(sha);
        var path = RepoPath(repo, $"commits/{Uri.EscapeDataString(sha)}/check-suites") + $"?per_page={MaxPerPage}";
        return await GetPagesAsync(path, page => ReadArray(page, "check_suites").Select(ReadCheckSuite), int.MaxValue, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /repos/{owner}/{repo}/actions/runs?head_sha={sha}&amp;per_page=100</c>, every page; the body is
    /// <c>{"total_count":n,"workflow_runs":[…]}</c>
    /// (https://docs.github.com/en/rest/actions/workflow-runs#list-workflow-runs-for-a-repository).
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<IReadOnlyList<GitHubWorkflowRun>> ListWorkflowRunsAsync(RepoRef repo, string sha, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(sha);
        var path = RepoPath(repo, "actions/runs") + $"?head_sha={Uri.EscapeDataString(sha)}&per_page={MaxPerPage}";
        return await GetPagesAsync(path, page => ReadArray(page, "workflow_runs").Select(ReadWorkflowRun), int.MaxValue, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>PATCH /repos/{owner}/{repo}/issues/{n}</c> with <c>{"state":"closed","state_reason":"not_planned"}</c>,
    /// 200 with the issue (https://docs.github.com/en/rest/issues/issues#update-an-issue).
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer (404 for a missing issue, 410 when issues are disabled), network failure or unexpected body.</exception>
    public async Task<GitHubIssue> CloseIssueAsNotPlannedAsync(RepoRef repo, int number, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var payload = new JsonObject { ["state"] = "closed", ["state_reason"] = "not_planned" };
        var path = RepoPath(repo, $"issues/{number.ToString(CultureInfo.InvariantCulture)}");
        return await SendAsync(HttpMethod.Patch, path, payload, ReadIssue, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>POST /repos/{owner}/{repo}/issues/{n}/labels</c> with <c>{"labels":["name"]}</c>; GitHub creates a missing
    /// repository label and answers 200 with every label now on the issue
    /// (https://docs.github.com/en/rest/issues/labels#add-labels-to-an-issue). The id returned is that of the
    /// element named <paramref name="labelName"/> (GitHub matches names case-insensitively, so an existing
    /// <c>Bug</c> answers for <c>bug</c>).
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer (404 missing issue, 422 invalid name), network failure, or an answer without the label.</exception>
    public async Task<long> AddLabelAsync(RepoRef repo, int number, string labelName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(labelName);
        var payload = new JsonObject { ["labels"] = new JsonArray(labelName) };
        var path = RepoPath(repo, $"issues/{number.ToString(CultureInfo.InvariantCulture)}/labels");
        return await SendAsync(HttpMethod.Post, path, payload, page => LabelId(page, labelName), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>DELETE /repos/{owner}/{repo}/issues/{n}/labels/{name}</c> with the name escaped as one path segment;
    /// 200 with the remaining labels, or 404 <c>Label does not exist</c> when the issue does not carry it
    /// (https://docs.github.com/en/rest/issues/labels#remove-a-label-from-an-issue), which gives <c>false</c>.
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer other than 404, network failure.</exception>
    public async Task<bool> RemoveLabelAsync(RepoRef repo, int number, string labelName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(labelName);
        var path = RepoPath(repo, $"issues/{number.ToString(CultureInfo.InvariantCulture)}/labels/{Uri.EscapeDataString(labelName)}");
        return await SendAsync(HttpMethod.Delete, path, null, _ => true, cancellationToken, nullOn404: true).ConfigureAwait(false);
    }

    private static long LabelId(JsonElement labels, string name)
    {
        var all = ReadArray(labels).ToList();
        var match = all.FindIndex(l => OptionalString(l, "name") == name);
        if (match < 0)
        {
            match = all.FindIndex(l => string.Equals(OptionalString(l, "name"), name, StringComparison.OrdinalIgnoreCase));
        }

        return match >= 0 ? all[match].GetProperty("id").GetInt64() : throw new InvalidOperationException($"the answer does not list the label '{name}'");
    }

    private static string RepoPath(RepoRef repo, string rest) =>
        $"repos/{Uri.EscapeDataString(repo.Owner)}/{Uri.EscapeDataString(repo.Name)}/{rest}";

    private static int PageSize(int max) => Math.Min(max, MaxPerPage);

    /// <summary>"GET /repos/o/r/issues": method and path relative to the API root, no query.</summary>
    private static string Operation(HttpMethod method, string relativePath)
    {
        var query = relativePath.IndexOf('?', StringComparison.Ordinal);
        return $"{method.Method} /{(query < 0 ? relativePath : relativePath[..query])}";
    }

    private async Task<T> SendAsync<T>(
        HttpMethod method,
        string relativePath,
        JsonObject? payload,
        Func<JsonElement, T> read,
        CancellationToken cancellationToken,
        bool nullOn404 = false)
    {
        var operation = Operation(method, relativePath);
        var (status, _, root) = await ExchangeAsync(method, new Uri(_baseUrl, relativePath), payload, operation, nullOn404, cancellationToken).ConfigureAwait(false);
        if (status == HttpStatusCode.NotFound && nullOn404)
        {
            return default!;
        }

        return Read(root, read, operation);
    }

    private async Task<IReadOnlyList<T>> GetPagesAsync<T>(
        string relativePath,
        Func<JsonElement, IEnumerable<T>> readPage,
        int max,
        CancellationToken cancellationToken,
        Func<T, bool>? stopAt = null)
    {
        var operation = Operation(HttpMethod.Get, relativePath);
        var items = new List<T>();
        Uri? next = new Uri(_baseUrl, relativePath);
        var visited = new HashSet<Uri>();
        while (next is not null && items.Count < max)
        {
            PlatformHttp.CheckNextPage(visited, next, MaxPages, PlatformName, operation);

            var (_, nextLink, root) = await ExchangeAsync(HttpMethod.Get, next, null, operation, allow404: false, cancellationToken).ConfigureAwait(false);
            var pageItems = Read(root, page => readPage(page).ToList(), operation);
            var stop = stopAt is null ? -1 : pageItems.FindIndex(item => stopAt(item));
            if (stop >= 0)
            {
                // Lists are newest first: everything from here on is older than wanted.
                items.AddRange(pageItems.GetRange(0, stop));
                break;
            }

            items.AddRange(pageItems);
            next = nextLink is null ? null : ResolveNext(nextLink, operation);
        }

        return items.Count > max ? items.GetRange(0, max) : items;
    }

    private Uri ResolveNext(string link, string operation) => PlatformHttp.ResolveNextPage(_baseUrl, link, PlatformName, operation, "the API host");

    private static T Read<T>(JsonElement root, Func<JsonElement, T> read, string operation) => PlatformHttp.ReadDocumented(PlatformName, root, read, operation);

    /// <summary>
    /// Sends one request through <see cref="PlatformHttp"/> and returns the status, the <c>rel="next"</c> link and the
    /// parsed JSON body (a clone, so the document can be disposed). Throws <see cref="PlatformApiException"/> for
    /// everything but 2xx (and 404 when <paramref name="allow404"/>).
    /// </summary>
    private async Task<(HttpStatusCode Status, string? Next, JsonElement Body)> ExchangeAsync(
        HttpMethod method,
        Uri url,
        JsonObject? payload,
        string operation,
        bool allow404,
        CancellationToken cancellationToken)
    {
        using var response = await _core.SendAsync(method, url, operation, payload, cancellationToken, allow404 ? HttpStatusCode.NotFound : null).ConfigureAwait(false);
        if (response.Status == HttpStatusCode.NotFound)
        {
            return (response.Status, null, default);
        }

        var next = response.Links.Count > 0 ? GitHubLinkHeader.Find(response.Links, "next") : null;
        if (response.Json is null)
        {
            // 202/204 may carry no body; readers of such answers ignore it. Any other empty 2xx is not JSON.
            return response.Status is HttpStatusCode.Accepted or HttpStatusCode.NoContent
                ? (response.Status, next, default)
                : throw new PlatformApiException(PlatformName, operation, response.Status, "the response body is not JSON", isTransient: false);
        }

        return (response.Status, next, response.Json.RootElement.Clone());
    }

    /// <summary>Classifies a non-2xx answer (see the class remarks); shared with <see cref="GitHubAppInstallationTokenSource"/>.</summary>
    internal static PlatformApiException ToException(HttpResponseMessage response, string body, string operation, DateTimeOffset now, Func<string, string> redact)
    {
        var status = response.StatusCode;
        var message = redact(ErrorMessage(body) ?? $"{(int)status} {response.ReasonPhrase}".Trim());
        var hasRetryAfter = response.Headers.NonValidated.Contains("Retry-After");
        var rateLimitExhausted = Header(response, "x-ratelimit-remaining") == "0";
        var secondaryRateLimit = message.Contains("rate limit", StringComparison.OrdinalIgnoreCase);

        var transient = PlatformHttp.IsTransientStatus(status)
            || (status == HttpStatusCode.Forbidden && (hasRetryAfter || rateLimitExhausted || secondaryRateLimit));

        TimeSpan? retryAfter = null;
        if (response.Headers.RetryAfter is not null)
        {
            retryAfter = PlatformHttp.RetryAfter(response, now);
        }
        else if (rateLimitExhausted && long.TryParse(Header(response, "x-ratelimit-reset"), NumberStyles.None, CultureInfo.InvariantCulture, out var reset))
        {
            retryAfter = DateTimeOffset.FromUnixTimeSeconds(reset) - now;
        }
        else if (status == HttpStatusCode.Forbidden && secondaryRateLimit)
        {
            // "If the retry-after header is not present … wait for at least one minute before retrying."
            retryAfter = SecondaryRateLimitDefaultWait;
        }

        if (retryAfter < TimeSpan.Zero)
        {
            retryAfter = TimeSpan.Zero;
        }

        return new PlatformApiException(PlatformName, operation, status, message, transient, transient ? retryAfter : null);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.NonValidated.TryGetValues(name, out var values) ? values.ToString().Trim() : null;

    /// <summary>
    /// GitHub's error body is <c>{"message":…,"documentation_url":…,"errors":[{"resource","field","code","message"?}]}</c>
    /// (https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api); the validation
    /// errors are appended to the message so a 422 says what was wrong.
    /// </summary>
    private static string? ErrorMessage(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("message", out var message)
                || message.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            var text = message.GetString()!;
            if (document.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
            {
                var details = errors.EnumerateArray().Select(DescribeValidationError).Where(d => d.Length > 0).ToList();
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

    private static string DescribeValidationError(JsonElement error)
    {
        if (error.ValueKind == JsonValueKind.String)
        {
            return error.GetString()!;
        }

        if (error.ValueKind != JsonValueKind.Object)
        {
            return "";
        }

        string? Get(string name) => error.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var where = string.Join('.', new[] { Get("resource"), Get("field") }.Where(s => !string.IsNullOrEmpty(s)));
        var what = Get("message") ?? Get("code") ?? "";
        return where.Length == 0 ? what : $"{where}: {what}";
    }

    private static IEnumerable<JsonElement> ReadArray(JsonElement page)
    {
        if (page.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidOperationException($"expected a JSON array, got {page.ValueKind}");
        }

        return page.EnumerateArray();
    }

    private static IEnumerable<JsonElement> ReadArray(JsonElement page, string property) => ReadArray(page.GetProperty(property));

    private static GitHubIssue ReadIssue(JsonElement e) =>
        new(e.GetProperty("number").GetInt32(), RequiredString(e, "title"), OptionalString(e, "body"), RequiredString(e, "state"), RequiredString(e, "html_url"));

    private static GitHubComment ReadComment(JsonElement e) =>
        new(e.GetProperty("id").GetInt64(), OptionalString(e, "body") ?? "", RequiredString(e, "html_url"));

    private static GitHubPullRequest ReadPullRequest(JsonElement e)
    {
        // List items have no "merged"; the single-PR object has both.
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

    private static GitHubCheckSuite ReadCheckSuite(JsonElement e)
    {
        var app = e.TryGetProperty("app", out var a) && a.ValueKind == JsonValueKind.Object ? OptionalString(a, "slug") : null;
        var runs = e.TryGetProperty("latest_check_runs_count", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt32() : 0;
        return new GitHubCheckSuite(e.GetProperty("id").GetInt64(), RequiredString(e, "status"), OptionalString(e, "conclusion"), app, runs);
    }

    private static GitHubWorkflowRun ReadWorkflowRun(JsonElement e) =>
        new(e.GetProperty("id").GetInt64(), OptionalString(e, "name"), RequiredString(e, "status"), OptionalString(e, "conclusion"), RequiredString(e, "html_url"));

    private static string RequiredString(JsonElement e, string name) =>
        OptionalString(e, name) ?? throw new InvalidOperationException($"'{name}' is missing or null");

    private static string? OptionalString(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.GetString() : null;
}

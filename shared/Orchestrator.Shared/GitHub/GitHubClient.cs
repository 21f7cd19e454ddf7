using System.Globalization;
using System.Net;
using Orchestrator.Shared.Platform;
using Octo = Octokit;

namespace Orchestrator.Shared.GitHub;

/// <summary>
/// <see cref="IGitHubClient"/> over the GitHub REST API, version <c>2022-11-28</c>
/// (https://docs.github.com/en/rest/about-the-rest-api/api-versions), on Octokit 14
/// (https://github.com/octokit/octokit.net): its <see cref="Octo.GitHubClient"/> methods where it has one, its
/// <see cref="Octo.IConnection"/> with its <see cref="Octo.ApiUrls"/> for the rest (lists, check suites, hooks, deliveries).
/// </summary>
/// <remarks>
/// <para>
/// Octokit sends to <see cref="GitHubApiBase.Resolve"/> of the configured URL: <c>https://api.github.com/</c>, or
/// <c>{host}/api/v3/</c> for GitHub Enterprise Server. Its <see cref="Octo.Internal.HttpClientAdapter"/> sends through
/// the <see cref="HttpMessageHandler"/> this client is given (the one <c>IHttpClientFactory</c> builds for the GitHub
/// client, whose <c>ConnectCallback</c> applies the outbound policy to the real host). Every request carries
/// <c>Authorization: Bearer &lt;token&gt;</c> (from an <see cref="IGitHubTokenSource"/>),
/// <c>Accept: application/vnd.github+json</c>, <c>X-GitHub-Api-Version: 2022-11-28</c> and Octokit's
/// <c>User-Agent: orchestrator (…; Octokit.net 14.0.0)</c>.
/// </para>
/// <para>
/// Lists are walked here rather than by Octokit's <c>GetAll</c>: they stop after the items wanted, and a
/// <c>Link: rel="next"</c> (https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api) is only
/// followed on the API's own scheme, host and port, so the token never leaves for another origin (Octokit would follow it).
/// </para>
/// <para>
/// Failures become <see cref="PlatformApiException"/> (platform <c>GitHub</c>, operation such as
/// <c>POST /repos/o/r/issues</c>), classified as GitHub documents
/// (https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api,
/// https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api): network failures, timeouts, 408,
/// 429, 5xx and a 403 that is a rate limit (Octokit's <see cref="Octo.RateLimitExceededException"/>,
/// <see cref="Octo.SecondaryRateLimitExceededException"/> or <see cref="Octo.AbuseException"/>, or a 403 with
/// <c>Retry-After</c> or <c>x-ratelimit-remaining: 0</c>) are transient; 401, any other 403, 404, 422 and the other 4xx
/// are permanent, with GitHub's message and validation errors. <see cref="PlatformApiException.RetryAfter"/> comes from
/// <c>Retry-After</c> (seconds or an HTTP date), else from the rate limit's reset minus the <see cref="TimeProvider"/>'s
/// now, else one minute for a secondary rate limit without headers. A 2xx whose body is not the documented shape is a
/// permanent failure. Cancelling the <see cref="CancellationToken"/> throws <see cref="OperationCanceledException"/>.
/// The token is replaced by <c>***</c> in every message and no Octokit exception (whose text may quote it) is kept as
/// the inner exception. Nothing is logged.
/// </para>
/// <para>
/// Every request first awaits <see cref="RateLimiter.WaitAsync"/> under <see cref="IGitHubTokenSource.CredentialKey"/>;
/// after it, Octokit's <see cref="Octo.ApiInfo.RateLimit"/> (remaining 0 → nothing before the reset) and the rate-limit
/// exceptions' waits feed <see cref="RateLimiter.Block"/>, so this client's next requests (and those of every client
/// sharing the limiter and the credential) wait until the time GitHub named. Each request is counted in
/// <c>OrchestratorMeter</c>'s platform requests.
/// </para>
/// </remarks>
public sealed partial class GitHubClient : IGitHubClient, IGitHubHookDeliveries
{
    /// <summary>Bound on one request (body included) when the constructor is given none.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private const int MaxPerPage = 100;

    /// <summary>Guard against a server whose <c>Link</c> never ends (10 000 pages = 1 000 000 items).</summary>
    private const int MaxPages = 10_000;

    private readonly Uri _apiBase;
    private readonly IGitHubTokenSource _tokens;
    private readonly Octo.IConnection _connection;
    private readonly Octo.GitHubClient _octokit;
    private readonly GitHubCalls _calls;

    /// <summary>Creates the client with a fixed token.</summary>
    /// <param name="handler">
    /// Transport under Octokit's <see cref="Octo.Internal.HttpClientAdapter"/>: in the host, the handler
    /// <c>IHttpMessageHandlerFactory.CreateHandler</c> gives (see <see cref="GitHubServiceCollectionExtensions.AddGitHubClient"/>). Not disposed here.
    /// </param>
    /// <param name="settings">Configured URL and token.</param>
    /// <param name="timeProvider">Clock used to turn a rate limit's reset into a wait; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <param name="rateLimiter">
    /// Limiter consulted before every request; defaults to <see cref="RateLimiter.Shared"/> when the clock is the
    /// system clock, else to a limiter of this client's own on <paramref name="timeProvider"/>.
    /// </param>
    /// <param name="timeout">Bound on each request, body included; default <see cref="DefaultTimeout"/>. Its expiry is a transient failure.</param>
    /// <exception cref="ArgumentNullException">An argument is <c>null</c>.</exception>
    /// <exception cref="ArgumentException">The base URL is not an absolute http(s) URL, or the token is empty.</exception>
    public GitHubClient(HttpMessageHandler handler, GitHubClientSettings settings, TimeProvider? timeProvider = null, RateLimiter? rateLimiter = null, TimeSpan? timeout = null)
        : this(handler, settings?.ApiBaseUrl!, StaticSource(settings), timeProvider, rateLimiter, timeout)
    {
    }

    /// <summary>Creates the client with a token source, e.g. a <see cref="GitHubAppInstallationTokenSource"/>.</summary>
    /// <param name="handler">Transport, as for the other constructor.</param>
    /// <param name="apiBaseUrl">Configured URL, as <see cref="GitHubClientSettings.ApiBaseUrl"/>.</param>
    /// <param name="tokenSource">Supplies the bearer token of every request and the rate-limit key.</param>
    /// <param name="timeProvider">Clock; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <param name="rateLimiter">Limiter; default as for the other constructor.</param>
    /// <param name="timeout">Bound on each request; default <see cref="DefaultTimeout"/>.</param>
    /// <exception cref="ArgumentNullException">An argument is <c>null</c>.</exception>
    /// <exception cref="ArgumentException">The base URL is not an absolute http(s) URL.</exception>
    public GitHubClient(HttpMessageHandler handler, Uri apiBaseUrl, IGitHubTokenSource tokenSource, TimeProvider? timeProvider = null, RateLimiter? rateLimiter = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(tokenSource);
        var time = timeProvider ?? TimeProvider.System;
        _apiBase = GitHubApiBase.Resolve(apiBaseUrl);
        _tokens = tokenSource;
        var callToken = () => GitHubOctokit.Current.Value?.CancellationToken ?? CancellationToken.None;
        _connection = GitHubOctokit.Connect(handler, _apiBase, () => tokenSource.GetTokenAsync(callToken()), timeout ?? DefaultTimeout);
        _octokit = new Octo.GitHubClient(_connection);
        _calls = new GitHubCalls(_connection, tokenSource.CredentialKey, rateLimiter ?? RateLimiter.For(time), time);
    }

    private static StaticGitHubTokenSource StaticSource(GitHubClientSettings? settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(settings.ApiBaseUrl);
        GitHubApiBase.Resolve(settings.ApiBaseUrl);
        if (string.IsNullOrWhiteSpace(settings.Token))
        {
            throw new ArgumentException("The GitHub token is empty.", nameof(settings));
        }

        return new StaticGitHubTokenSource(settings.Token);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Octokit's <c>Issue.Create</c>: <c>{"title","body","assignees":[],"labels":[]}</c>, 201 with an issue object
    /// (https://docs.github.com/en/rest/issues/issues#create-an-issue). A missing repository or one the token cannot write
    /// answers 404 (permanent); issues disabled answers 410 (permanent).
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<GitHubIssue> CreateIssueAsync(RepoRef repo, string title, string body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(body);
        return await CallAsync(
            Operation("POST", Octo.ApiUrls.Issues(repo.Owner, repo.Name)),
            async () => ToIssue(await _octokit.Issue.Create(repo.Owner, repo.Name, new Octo.NewIssue(title) { Body = body }).ConfigureAwait(false)),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /repos/{owner}/{repo}/issues?state=all&amp;sort=created&amp;direction=desc&amp;per_page=min(max,100)</c>
    /// (https://docs.github.com/en/rest/issues/issues#list-repository-issues). The endpoint also returns pull requests;
    /// items with a <c>pull_request</c> key are dropped and do not count towards <paramref name="max"/>.
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
        return await GetPagesAsync<List<Octo.Issue>, GitHubIssue>(
            Octo.ApiUrls.Issues(repo.Owner, repo.Name),
            $"state=all&sort=created&direction=desc&per_page={PageSize(max)}",
            page => page.Where(i => i.PullRequest is null).Select(ToIssue),
            max,
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /repos/{owner}/{repo}/issues/{n}/comments?per_page=100</c>, every page
    /// (https://docs.github.com/en/rest/issues/comments#list-issue-comments). 404 when the issue does not exist (permanent).
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<IReadOnlyList<GitHubComment>> ListIssueCommentsAsync(RepoRef repo, int issueNumber, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        return await GetPagesAsync<List<Octo.IssueComment>, GitHubComment>(
            Octo.ApiUrls.IssueComments(repo.Owner, repo.Name, issueNumber),
            $"per_page={MaxPerPage}",
            page => page.Select(ToComment),
            int.MaxValue,
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Octokit's <c>Issue.Comment.Create</c>: <c>{"body":…}</c>, 201 (https://docs.github.com/en/rest/issues/comments#create-an-issue-comment).</remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<GitHubComment> CreateIssueCommentAsync(RepoRef repo, int issueNumber, string body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(body);
        return await CallAsync(
            Operation("POST", Octo.ApiUrls.IssueComments(repo.Owner, repo.Name, issueNumber)),
            async () => ToComment(await _octokit.Issue.Comment.Create(repo.Owner, repo.Name, issueNumber, body).ConfigureAwait(false)),
            cancellationToken).ConfigureAwait(false);
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
        return await GetPagesAsync<List<Octo.PullRequest>, GitHubPullRequest>(
            Octo.ApiUrls.PullRequests(repo.Owner, repo.Name),
            $"state=all&sort=updated&direction=desc&per_page={PageSize(max)}",
            page => page.Select(ToPullRequest),
            max,
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Octokit's <c>PullRequest.Create</c>: <c>{"title","head","base","body"}</c>, 201 (https://docs.github.com/en/rest/pulls/pulls#create-a-pull-request).</remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer (422 when a PR from that head exists), network failure or unexpected body.</exception>
    public async Task<GitHubPullRequest> CreatePullRequestAsync(RepoRef repo, string head, string @base, string title, string body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(head);
        ArgumentException.ThrowIfNullOrWhiteSpace(@base);
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(body);
        return await CallAsync(
            Operation("POST", Octo.ApiUrls.PullRequests(repo.Owner, repo.Name)),
            async () => ToPullRequest(await _octokit.PullRequest.Create(repo.Owner, repo.Name, new Octo.NewPullRequest(title, head, @base) { Body = body }).ConfigureAwait(false)),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<GitHubPullRequest?> FindPullRequestByHeadAsync(RepoRef repo, string branch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(branch);
        var found = await GetPagesAsync<List<Octo.PullRequest>, GitHubPullRequest>(
            Octo.ApiUrls.PullRequests(repo.Owner, repo.Name),
            $"state=all&head={Uri.EscapeDataString(repo.Owner + ":" + branch)}&per_page=1",
            page => page.Select(ToPullRequest),
            1,
            cancellationToken).ConfigureAwait(false);
        return found.Count > 0 ? found[0] : null;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Octokit's <c>PullRequest.Get</c> (https://docs.github.com/en/rest/pulls/pulls#get-a-pull-request). GitHub answers 404
    /// both for a missing number and for a repository the token cannot see, and both give <c>null</c>.
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer other than 404, network failure or unexpected body.</exception>
    public async Task<GitHubPullRequest?> GetPullRequestAsync(RepoRef repo, int number, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        return await CallAsync<GitHubPullRequest?>(
            Operation("GET", Octo.ApiUrls.PullRequest(repo.Owner, repo.Name, number)),
            async () => ToPullRequest(await _octokit.PullRequest.Get(repo.Owner, repo.Name, number).ConfigureAwait(false)),
            cancellationToken,
            onNotFound: () => null).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /repos/{owner}/{repo}/commits/{sha}/check-suites?per_page=100</c>, every page; the body is
    /// <c>{"total_count":n,"check_suites":[…]}</c> (https://docs.github.com/en/rest/checks/suites#list-check-suites-for-a-git-reference).
    /// Read into <see cref="CheckSuitesPage"/>: Octokit's <c>CheckSuite</c> has no <c>latest_check_runs_count</c>.
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer (422 for an unknown SHA), network failure or unexpected body.</exception>
    public async Task<IReadOnlyList<GitHubCheckSuite>> ListCheckSuitesAsync(RepoRef repo, string sha, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(sha);
        return await GetPagesAsync<CheckSuitesPage, GitHubCheckSuite>(
            Octo.ApiUrls.CheckSuitesForReference(repo.Owner, repo.Name, Uri.EscapeDataString(sha)),
            $"per_page={MaxPerPage}",
            page => Required(page.CheckSuites, "check_suites").Select(s => new GitHubCheckSuite(s.Id, Required(s.Status, "status"), s.Conclusion, s.App?.Slug, s.LatestCheckRunsCount)),
            int.MaxValue,
            cancellationToken,
            shape: '{').ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /repos/{owner}/{repo}/actions/runs?head_sha={sha}&amp;per_page=100</c>, every page; the body is Octokit's
    /// <see cref="Octo.WorkflowRunsResponse"/> (https://docs.github.com/en/rest/actions/workflow-runs#list-workflow-runs-for-a-repository).
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure or unexpected body.</exception>
    public async Task<IReadOnlyList<GitHubWorkflowRun>> ListWorkflowRunsAsync(RepoRef repo, string sha, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(sha);
        return await GetPagesAsync<Octo.WorkflowRunsResponse, GitHubWorkflowRun>(
            Octo.ApiUrls.ActionsWorkflowRuns(repo.Owner, repo.Name),
            $"head_sha={Uri.EscapeDataString(sha)}&per_page={MaxPerPage}",
            page => Required(page.WorkflowRuns, "workflow_runs").Select(r => new GitHubWorkflowRun(
                r.Id, r.Name, Required(r.Status.StringValue, "status"), r.Conclusion?.StringValue, Required(r.HtmlUrl, "html_url"))),
            int.MaxValue,
            cancellationToken,
            shape: '{').ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>PATCH /repos/{owner}/{repo}/issues/{n}</c> with <c>{"state":"closed","state_reason":"not_planned"}</c>, 200 with the
    /// issue (https://docs.github.com/en/rest/issues/issues#update-an-issue), through <see cref="Octo.IConnection"/>: Octokit's
    /// <c>IssueUpdate</c> always sends <c>"milestone":null</c>, which would take the issue off its milestone.
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer (404 for a missing issue, 410 when issues are disabled), network failure or unexpected body.</exception>
    public async Task<GitHubIssue> CloseIssueAsNotPlannedAsync(RepoRef repo, int number, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var path = Octo.ApiUrls.Issue(repo.Owner, repo.Name, number);
        return await CallAsync(
            Operation("PATCH", path),
            async () => ToIssue(Required((await _connection.Patch<Octo.Issue>(path, new CloseAsNotPlanned(), GitHubOctokit.MediaType).ConfigureAwait(false)).Body, "body")),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Octokit's <c>Issue.Labels.AddToIssue</c>: <c>POST /repos/{owner}/{repo}/issues/{n}/labels</c> with <c>["name"]</c>;
    /// GitHub creates a missing repository label and answers 200 with every label now on the issue
    /// (https://docs.github.com/en/rest/issues/labels#add-labels-to-an-issue). The id returned is that of the element named
    /// <paramref name="labelName"/> (GitHub matches names case-insensitively, so an existing <c>Bug</c> answers for <c>bug</c>).
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer (404 missing issue, 422 invalid name), network failure, or an answer without the label.</exception>
    public async Task<long> AddLabelAsync(RepoRef repo, int number, string labelName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(labelName);
        return await CallAsync(
            Operation("POST", Octo.ApiUrls.IssueLabels(repo.Owner, repo.Name, number)),
            async () => LabelId(await _octokit.Issue.Labels.AddToIssue(repo.Owner, repo.Name, number, [labelName]).ConfigureAwait(false), labelName),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>DELETE /repos/{owner}/{repo}/issues/{n}/labels/{name}</c> (Octokit.s <c>ApiUrls.IssueLabel</c>) with the
    /// name escaped as one path segment; 200 with the remaining labels, or 404 when the issue does not carry it
    /// (https://docs.github.com/en/rest/issues/labels#remove-a-label-from-an-issue), which gives <c>false</c>.
    /// </remarks>
    /// <exception cref="PlatformApiException">Non-2xx answer other than 404, network failure.</exception>
    public async Task<bool> RemoveLabelAsync(RepoRef repo, int number, string labelName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentException.ThrowIfNullOrWhiteSpace(labelName);
        var escaped = Uri.EscapeDataString(labelName);
        return await CallAsync(
            Operation("DELETE", Octo.ApiUrls.IssueLabel(repo.Owner, repo.Name, number, escaped)),
            async () =>
            {
                // IConnection.Delete, not Issue.Labels.RemoveFromIssue: that one sends a "{}" body a DELETE does not take.
                await _connection.Delete(Octo.ApiUrls.IssueLabel(repo.Owner, repo.Name, number, escaped)).ConfigureAwait(false);
                return true;
            },
            cancellationToken,
            onNotFound: () => false).ConfigureAwait(false);
    }

    private static long LabelId(IReadOnlyList<Octo.Label>? answer, string name)
    {
        var labels = Required(answer, "body");
        var match = labels.FirstOrDefault(l => l.Name == name) ?? labels.FirstOrDefault(l => string.Equals(l.Name, name, StringComparison.OrdinalIgnoreCase));
        return match?.Id ?? throw new InvalidOperationException($"the answer does not list the label '{name}'");
    }

    private static int PageSize(int max) => Math.Min(max, MaxPerPage);

    /// <summary>"GET /repos/o/r/issues": method and path relative to the API root.</summary>
    private static string Operation(string method, Uri relative) => $"{method} /{relative.OriginalString.TrimStart('/')}";

    private Task<T> CallAsync<T>(string operation, Func<Task<T>> call, CancellationToken cancellationToken, Func<T>? onNotFound = null) =>
        _calls.CallAsync(operation, call, cancellationToken, async ct => await _tokens.GetTokenAsync(ct).ConfigureAwait(false), onNotFound);

    /// <summary>
    /// Walks <c>Link: rel="next"</c> from <paramref name="relative"/>?<paramref name="query"/> through
    /// <see cref="Octo.IConnection.Get{T}(Uri, IDictionary{string, string}, string, CancellationToken, Func{object, object})"/>,
    /// each page a call of its own (limiter, metrics), until <paramref name="max"/> items, the last page, or an item
    /// <paramref name="stopAt"/> accepts (lists are newest first: everything from there on is older than wanted).
    /// </summary>
    private async Task<IReadOnlyList<TItem>> GetPagesAsync<TPage, TItem>(
        Uri relative,
        string query,
        Func<TPage, IEnumerable<TItem>> readPage,
        int max,
        CancellationToken cancellationToken,
        Func<TItem, bool>? stopAt = null,
        char shape = '[')
    {
        var operation = Operation("GET", relative);
        var items = new List<TItem>();
        Uri? next = new(new Uri(_apiBase, relative).AbsoluteUri + "?" + query);
        var visited = new HashSet<Uri>();
        while (next is not null && items.Count < max)
        {
            PlatformHttp.CheckNextPage(visited, next, MaxPages, GitHubCalls.PlatformName, operation);
            var url = next;
            var (pageItems, nextLink) = await CallAsync<(List<TItem> Items, Uri? Next)>(
                operation,
                async () =>
                {
                    var response = await _connection.Get<TPage>(url, null, GitHubOctokit.MediaType, GitHubOctokit.Current.Value!.CancellationToken, body => CheckShape(body, shape)).ConfigureAwait(false);
                    return (readPage(Required(response.Body, "body")).ToList(), response.HttpResponse.ApiInfo is { } info ? Octo.ApiInfoExtensions.GetNextPageUrl(info) : null);
                },
                cancellationToken).ConfigureAwait(false);
            var stop = stopAt is null ? -1 : pageItems.FindIndex(item => stopAt(item));
            if (stop >= 0)
            {
                items.AddRange(pageItems.GetRange(0, stop));
                break;
            }

            items.AddRange(pageItems);
            next = nextLink is null ? null : PlatformHttp.ResolveNextPage(_apiBase, nextLink.OriginalString, GitHubCalls.PlatformName, operation, "the API host");
        }

        return items.Count > max ? items.GetRange(0, max) : items;
    }

    /// <summary>Refuses a 2xx body that is not JSON of the expected kind before Octokit's serializer guesses at it (error bodies go to Octokit's exceptions).</summary>
    private static object CheckShape(object body, char shape)
    {
        var success = GitHubOctokit.Current.Value?.Status is >= 200 and < 300;
        if (success && (body is not string text || !text.AsSpan().TrimStart().StartsWith([shape])))
        {
            throw new InvalidOperationException(shape == '[' ? "expected a JSON array" : "expected a JSON object");
        }

        return body;
    }

    private static T Required<T>(T? value, string name) => value ?? throw new InvalidOperationException($"'{name}' is missing or null");

    // Octokit hands back null when a 2xx body is not JSON: the mappers turn that into a shape failure.
    private static GitHubIssue ToIssue(Octo.Issue? answer)
    {
        var issue = Required(answer, "body");
        return new(issue.Number, Required(issue.Title, "title"), issue.Body, Required(issue.State.StringValue, "state"), Required(issue.HtmlUrl, "html_url"));
    }

    private static GitHubComment ToComment(Octo.IssueComment? answer)
    {
        var comment = Required(answer, "body");
        return new(comment.Id, comment.Body ?? "", Required(comment.HtmlUrl, "html_url"));
    }

    private static GitHubPullRequest ToPullRequest(Octo.PullRequest? answer)
    {
        var pr = Required(answer, "body");

        // List items have no "merged"; merged_at says it for them.
        return new(
            pr.Number,
            Required(pr.Title, "title"),
            pr.Body,
            Required(pr.State.StringValue, "state"),
            pr.Merged || pr.MergedAt is not null,
            pr.MergeCommitSha,
            Required(pr.HtmlUrl, "html_url"),
            pr.Head?.Ref);
    }

    /// <summary>The body that closes an issue as not planned.</summary>
    internal sealed class CloseAsNotPlanned
    {
        /// <summary><c>state</c>.</summary>
        public string State { get; } = "closed";

        /// <summary><c>state_reason</c>.</summary>
        public string StateReason { get; } = "not_planned";
    }

    /// <summary>The check-suite list as GitHub sends it (Octokit's <c>CheckSuite</c> lacks <c>latest_check_runs_count</c>).</summary>
    internal sealed class CheckSuitesPage
    {
        /// <summary><c>total_count</c>.</summary>
        public int TotalCount { get; set; }

        /// <summary><c>check_suites</c>.</summary>
        public List<CheckSuiteItem>? CheckSuites { get; set; }
    }

    /// <summary>One element of <c>check_suites</c>.</summary>
    internal sealed class CheckSuiteItem
    {
        /// <summary><c>id</c>.</summary>
        public long Id { get; set; }

        /// <summary><c>status</c>.</summary>
        public string? Status { get; set; }

        /// <summary><c>conclusion</c>.</summary>
        public string? Conclusion { get; set; }

        /// <summary><c>app</c>.</summary>
        public AppItem? App { get; set; }

        /// <summary><c>latest_check_runs_count</c>.</summary>
        public int LatestCheckRunsCount { get; set; }
    }

    /// <summary>The <c>app</c> of a check suite.</summary>
    internal sealed class AppItem
    {
        /// <summary><c>slug</c>.</summary>
        public string? Slug { get; set; }
    }
}

/// <summary>
/// One Octokit call made the orchestrator's way: rate-limiter wait, the caller's cancellation, metrics, Octokit's
/// <see cref="Octo.ApiInfo"/> and exceptions fed back to the limiter, and every failure as a <see cref="PlatformApiException"/>
/// (see <see cref="GitHubClient"/>'s remarks). Shared by <see cref="GitHubClient"/> and <see cref="GitHubAppInstallationTokenSource"/>.
/// </summary>
/// <param name="connection">The Octokit connection whose <see cref="Octo.IApiInfoProvider.GetLastApiInfo"/> is read after a success.</param>
/// <param name="credentialKey">Rate-limit key of the credential.</param>
/// <param name="limiter">The limiter.</param>
/// <param name="time">Clock for waits.</param>
internal sealed class GitHubCalls(Octo.IConnection connection, string credentialKey, RateLimiter limiter, TimeProvider time)
{
    /// <summary>Platform name in exceptions and metrics.</summary>
    public const string PlatformName = "GitHub";

    private static readonly TimeSpan SecondaryRateLimitDefaultWait = TimeSpan.FromMinutes(1);

    /// <summary>Runs <paramref name="call"/>; see the class summary.</summary>
    /// <typeparam name="T">Result.</typeparam>
    /// <param name="operation">Method and path for messages.</param>
    /// <param name="call">The Octokit call (and the reading of its answer).</param>
    /// <param name="cancellationToken">The caller's token.</param>
    /// <param name="secret">The secret the call authenticates with, to redact (fetching it may throw, e.g. a failed mint).</param>
    /// <param name="onNotFound">The result for a 404, or <c>null</c> when a 404 is a failure.</param>
    /// <returns>What <paramref name="call"/> returned.</returns>
    /// <exception cref="PlatformApiException">The call failed.</exception>
    public async Task<T> CallAsync<T>(string operation, Func<Task<T>> call, CancellationToken cancellationToken, Func<CancellationToken, Task<string>> secret, Func<T>? onNotFound = null)
    {
        await limiter.WaitAsync(credentialKey, cancellationToken).ConfigureAwait(false);
        var token = await secret(cancellationToken).ConfigureAwait(false);
        string Redact(string text) => PlatformHttp.RedactSecret(text, token);

        var current = new GitHubOctokit.Call(cancellationToken);
        GitHubOctokit.Current.Value = current;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var outcome = "network";
        var failed = true;
        try
        {
            var result = await call().ConfigureAwait(false);
            failed = false;
            outcome = Status(current, "200");
            if (connection.GetLastApiInfo()?.RateLimit is { Limit: > 0, Remaining: 0 } exhausted)
            {
                limiter.Block(credentialKey, exhausted.Reset);
            }

            return result;
        }
        catch (Octo.NotFoundException) when (onNotFound is not null)
        {
            failed = false;
            outcome = "404";
            return onNotFound();
        }
        catch (Octo.ApiException e)
        {
            outcome = ((int)e.StatusCode).ToString(CultureInfo.InvariantCulture);
            var exception = ToException(e, operation, time.GetUtcNow(), Redact);
            if (exception.RetryAfter is { } wait)
            {
                limiter.Block(credentialKey, time.GetUtcNow() + wait);
            }
            else if (e.HttpResponse?.ApiInfo?.RateLimit is { Limit: > 0, Remaining: 0 } exhausted)
            {
                limiter.Block(credentialKey, exhausted.Reset);
            }

            throw exception;
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // The request timeout surfaces as a TaskCanceledException the caller did not ask for.
            outcome = "timeout";
            throw new PlatformApiException(PlatformName, operation, null, "the request timed out", isTransient: true, inner: e);
        }
        catch (HttpRequestException e) when (e.InnerException is OutboundRefusedException refused)
        {
            // The outbound policy refused the target: retrying cannot help, and the message names the rule.
            outcome = "refused";
            throw new PlatformApiException(PlatformName, operation, null, refused.Message, isTransient: false, inner: refused);
        }
        catch (HttpRequestException e)
        {
            throw new PlatformApiException(PlatformName, operation, null, Redact($"network error ({e.HttpRequestError}): {e.Message}"), isTransient: true, inner: e);
        }
        catch (IOException e)
        {
            throw new PlatformApiException(PlatformName, operation, null, Redact($"connection failed while reading the response: {e.Message}"), isTransient: true, inner: e);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or InvalidCastException or ArgumentException or KeyNotFoundException or OverflowException or System.Runtime.Serialization.SerializationException)
        {
            outcome = Status(current, "200");
            throw new PlatformApiException(PlatformName, operation, current.Status is { } s ? (HttpStatusCode)s : null, "the response is not in the documented shape", isTransient: false, inner: e);
        }
        finally
        {
            // A call the caller cancelled is neither an answer nor a platform failure.
            if (!cancellationToken.IsCancellationRequested)
            {
                Observability.OrchestratorMeter.PlatformRequest(PlatformName, outcome, failed, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            }
        }
    }

    private static string Status(GitHubOctokit.Call call, string fallback) =>
        call.Status is { } status ? status.ToString(CultureInfo.InvariantCulture) : fallback;

    /// <summary>Classifies Octokit's exception for a non-2xx answer (see <see cref="GitHubClient"/>'s remarks).</summary>
    /// <param name="e">Octokit's exception.</param>
    /// <param name="operation">Method and path.</param>
    /// <param name="now">The client's clock.</param>
    /// <param name="redact">Hides the secret.</param>
    /// <returns>The exception to throw; it does not keep <paramref name="e"/>, whose text may quote the secret.</returns>
    public static PlatformApiException ToException(Octo.ApiException e, string operation, DateTimeOffset now, Func<string, string> redact)
    {
        var status = e.StatusCode;
        var headers = e.HttpResponse?.Headers ?? new Dictionary<string, string>();
        // Octokit turns a body that is not JSON (a proxy's HTML page) into an ApiError whose message is the whole body.
        var json = e.HttpResponse?.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) ?? false;
        var message = redact((json ? ErrorMessage(e.ApiError) : null) ?? $"{(int)status} {Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase((int)status)}".Trim());
        var retryAfterHeader = Header(headers, "Retry-After");
        var rateLimit = e.HttpResponse?.ApiInfo?.RateLimit;
        var exhausted = rateLimit is { Limit: > 0, Remaining: 0 } || e is Octo.RateLimitExceededException;
        var secondary = e is Octo.SecondaryRateLimitExceededException or Octo.AbuseException
            || message.Contains("rate limit", StringComparison.OrdinalIgnoreCase);

        var transient = PlatformHttp.IsTransientStatus(status)
            || (status == HttpStatusCode.Forbidden && (retryAfterHeader is not null || exhausted || secondary));

        TimeSpan? retryAfter = null;
        if (e is Octo.AbuseException { RetryAfterSeconds: { } seconds })
        {
            retryAfter = TimeSpan.FromSeconds(seconds);
        }
        else if (retryAfterHeader is not null)
        {
            retryAfter = RetryAfter(retryAfterHeader, now);
        }
        else if (exhausted)
        {
            var reset = e is Octo.RateLimitExceededException limited ? limited.Reset : rateLimit!.Reset;
            retryAfter = reset - now;
        }
        else if (status == HttpStatusCode.Forbidden && secondary)
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

    private static string? Header(IReadOnlyDictionary<string, string> headers, string name) =>
        headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.Trim();

    /// <summary><c>Retry-After</c>: delta seconds or an HTTP date (RFC 9110 §10.2.3).</summary>
    private static TimeSpan? RetryAfter(string value, DateTimeOffset now)
    {
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) ? date - now : null;
    }

    /// <summary>
    /// GitHub's error body <c>{"message":…,"errors":[{"resource","field","code","message"?}]}</c> as Octokit parsed it
    /// (https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api); the validation errors are appended
    /// so a 422 says what was wrong.
    /// </summary>
    private static string? ErrorMessage(Octo.ApiError? error)
    {
        if (error?.Message is not { } text)
        {
            return null;
        }

        var details = (error.Errors ?? []).Select(Describe).Where(d => d.Length > 0).ToList();
        return details.Count > 0 ? text + " (" + string.Join("; ", details) + ")" : text;
    }

    private static string Describe(Octo.ApiErrorDetail detail)
    {
        var where = string.Join('.', new[] { detail.Resource, detail.Field }.Where(s => !string.IsNullOrEmpty(s)));
        var what = detail.Message ?? detail.Code ?? "";
        return where.Length == 0 ? what : $"{where}: {what}";
    }
}

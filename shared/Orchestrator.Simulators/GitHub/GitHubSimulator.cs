using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Orchestrator.Simulators.GitHub;

/// <summary>
/// An in-memory GitHub on 127.0.0.1: the REST endpoints the orchestrator calls (API version
/// <c>2022-11-28</c>, https://docs.github.com/en/rest) and a webhook sender that signs deliveries like
/// GitHub (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
/// </summary>
/// <remarks>
/// <para>
/// Every JSON object is built from one of GitHub's own payloads (<c>Payloads/github/</c>, see its
/// PROVENANCE.md) with the state-carrying fields replaced and every URL moved onto <see cref="BaseUrl"/>, as a GitHub
/// Enterprise Server lays them out: API URLs are <c>{BaseUrl}api/v3/repos/{owner}/{repo}/…</c> (<see cref="ApiUrl"/>),
/// web links <c>{BaseUrl}{owner}/{repo}/issues/{n}</c>.
/// </para>
/// <para>
/// Routes, all under <see cref="ApiPrefix"/> <c>/api/v3</c> (each also reachable as <c>/repositories/{id}/…</c>, the form
/// GitHub uses in <c>Link</c> headers):
/// <c>POST|GET /repos/{o}/{r}/issues</c>, <c>GET|PATCH /repos/{o}/{r}/issues/{n}</c> (state and
/// <c>state_reason</c>, title, body), <c>POST /repos/{o}/{r}/issues/{n}/labels</c>,
/// <c>DELETE /repos/{o}/{r}/issues/{n}/labels/{name}</c>, <c>GET|POST /repos/{o}/{r}/issues/{n}/comments</c>,
/// <c>GET /repos/{o}/{r}/pulls</c>, <c>GET /repos/{o}/{r}/pulls/{n}</c>,
/// <c>GET /repos/{o}/{r}/commits/{sha}/check-suites</c>, <c>GET /repos/{o}/{r}/actions/runs</c>, the hook routes
/// (<c>GET|POST /repos/{o}/{r}/hooks</c>, <c>PATCH …/hooks/{id}</c>, deliveries and redelivery). Lists take
/// <c>per_page</c> (default 30, capped at 100) and <c>page</c> and answer a <c>Link</c> header with
/// <c>first</c>/<c>prev</c>/<c>next</c>/<c>last</c> as GitHub does.
/// </para>
/// <para>
/// Strictness (each case lands in <see cref="SimulatorHost.UnexpectedRequests"/>): no
/// <c>Authorization: Bearer|token &lt;token&gt;</c> → 401; no <c>User-Agent</c> → 403 (GitHub's answer);
/// <c>X-GitHub-Api-Version</c> not <c>2022-11-28</c> → 400; unknown repository → 404
/// <c>{"message":"Not Found",…}</c>; a query parameter or body field the simulator does not implement,
/// an invalid enum value or bad JSON → recorded (invalid values and bad JSON also answer 422/400).
/// A missing issue or PR number answers 404 without being recorded, since asking is legitimate.
/// </para>
/// </remarks>
public sealed partial class GitHubSimulator : IAsyncDisposable
{
    private const string ApiVersion = "2022-11-28";
    private const int DefaultPerPage = 30;
    private const int MaxPerPage = 100;

    private static readonly string[] Conclusions =
        ["success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required", "stale", "startup_failure"];

    private readonly Lock _gate = new();
    private readonly Dictionary<string, SimRepoState> _repos = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, long> _userIds = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<SimulatedDelivery> _deliveries = [];
    private readonly List<SimDeliveryAttempt> _attempts = [];
    private readonly HttpClient _webhookClient = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly GitHubPayloads _payloads;
    private TimeProvider _time = TimeProvider.System;
    private long _nextId = 1_000_000;
    private long _updateSequence;
    private int _runNumber;
    private (Uri Target, string Secret)? _webhook;
    private SimulatorHost? _host;

    private GitHubSimulator()
    {
        _payloads = new GitHubPayloads(() => BaseUrl, "orchestrator-bot", UserId);
    }

    /// <summary>
    /// Path prefix of every REST route: the simulator is a GitHub Enterprise Server, which serves its REST API under
    /// <c>/api/v3/</c> (https://docs.github.com/en/enterprise-server@latest/rest/quickstart), the form Octokit uses for any
    /// base URL that is not github.com.
    /// </summary>
    public const string ApiPrefix = "/api/v3";

    /// <summary>
    /// The server's root, e.g. <c>http://127.0.0.1:41234/</c>: what a client is configured with (the project's forge
    /// <c>base_url</c>, <c>ORCH_GITHUB_API_URL</c>), the web links and git smart-HTTP live here; REST is under <see cref="ApiUrl"/>.
    /// </summary>
    public Uri BaseUrl => Host.BaseUrl;

    /// <summary>The REST API root, <c>{BaseUrl}api/v3/</c> (see <see cref="ApiPrefix"/>).</summary>
    public Uri ApiUrl => new(Host.BaseUrl, ApiPrefix.TrimStart('/') + "/");

    /// <summary>The underlying host: <see cref="SimulatorHost.Requests"/> and <see cref="SimulatorHost.UnexpectedRequests"/>.</summary>
    public SimulatorHost Host => _host ?? throw new InvalidOperationException("The simulator has not started.");

    /// <summary>
    /// Login of the account the token belongs to (default <c>orchestrator-bot</c>): author of issues,
    /// comments and PRs, merger, and webhook <c>sender</c>.
    /// </summary>
    public string ActorLogin
    {
        get => _payloads.ActorLogin;
        set => _payloads.ActorLogin = value;
    }

    /// <summary>
    /// Awaited after <c>POST /issues</c> stored the issue and before the 201 is written, with the repository
    /// (<c>owner/name</c>) and the new number. Crash tests use it to kill the caller, so the issue exists but
    /// the caller never hears of it. An exception it throws becomes a 500.
    /// </summary>
    public Func<string, int, Task>? AfterIssueCreated { get; set; }

    /// <summary>Every delivery built by a state change with <c>deliver: true</c>, in order (redeliveries are in <see cref="DeliveryAttempts"/>).</summary>
    public IReadOnlyList<SimulatedDelivery> Deliveries
    {
        get
        {
            lock (_gate)
            {
                return _deliveries.ToArray();
            }
        }
    }

    /// <summary>Every POST to the webhook target, redeliveries included, with what the target answered.</summary>
    public IReadOnlyList<SimDeliveryAttempt> DeliveryAttempts
    {
        get
        {
            lock (_gate)
            {
                return _attempts.ToArray();
            }
        }
    }

    /// <summary>Starts the simulator on 127.0.0.1.</summary>
    /// <param name="token">The only token accepted (as <c>Bearer</c> or <c>token</c>).</param>
    /// <param name="port">TCP port; 0 picks a free one.</param>
    /// <param name="cancellationToken">Cancels start-up.</param>
    /// <returns>The running simulator; dispose it to stop.</returns>
    public static async Task<GitHubSimulator> StartAsync(string token, int port = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(token);
        var simulator = new GitHubSimulator();
        simulator._host = await SimulatorHost.StartAsync(
            "github",
            (app, host) => simulator.Map(app, host),
            context => simulator.Authorize(context, token),
            port,
            cancellationToken).ConfigureAwait(false);
        return simulator;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync().ConfigureAwait(false);
        }

        _webhookClient.Dispose();
        lock (_gate)
        {
            foreach (var (key, _) in _apps.Values)
            {
                key.Dispose();
            }
        }
    }

    /// <summary>Creates an empty repository (idempotent); requests for any other repository answer 404.</summary>
    /// <param name="fullName"><c>owner/name</c>.</param>
    /// <exception cref="ArgumentException">Not of the form <c>owner/name</c>.</exception>
    public void AddRepository(string fullName)
    {
        var (owner, name) = SplitRepo(fullName);
        lock (_gate)
        {
            if (!_repos.ContainsKey(fullName))
            {
                _repos[fullName] = new SimRepoState(owner, name, NextId(), Sha.New());
            }
        }
    }

    /// <summary>The issues of <paramref name="repo"/> (not pull requests), by number.</summary>
    /// <exception cref="ArgumentException">Unknown repository.</exception>
    public IReadOnlyList<SimIssue> Issues(string repo)
    {
        lock (_gate)
        {
            var r = Repo(repo);
            return r.Items.Where(i => !i.IsPullRequest)
                .Select(i => new SimIssue(i.Number, i.Title, i.Body, i.State, _payloads.IssueHtmlUrl(r, i), i.CreatedAt, GitHubPayloads.StateReason(i), i.Labels.Select(l => l.Name).ToArray()))
                .ToArray();
        }
    }

    /// <summary>The pull requests of <paramref name="repo"/>, by number.</summary>
    /// <exception cref="ArgumentException">Unknown repository.</exception>
    public IReadOnlyList<SimPullRequest> PullRequests(string repo)
    {
        lock (_gate)
        {
            var r = Repo(repo);
            return r.Items.Where(i => i.IsPullRequest).Select(i => ToSim(r, i)).ToArray();
        }
    }

    /// <summary>The comments of issue or PR <paramref name="number"/>, oldest first (empty when it does not exist).</summary>
    /// <exception cref="ArgumentException">Unknown repository.</exception>
    public IReadOnlyList<SimComment> Comments(string repo, int number)
    {
        lock (_gate)
        {
            var r = Repo(repo);
            var item = r.Find(number);
            return item is null
                ? []
                : item.Comments.Select(c => new SimComment(c.Id, c.Body, _payloads.CommentHtmlUrl(r, item, c.Id), c.Author, c.CreatedAt)).ToArray();
        }
    }

    /// <summary>The CI state of <paramref name="sha"/>, or <c>null</c> when none was started.</summary>
    /// <exception cref="ArgumentException">Unknown repository.</exception>
    public SimCiRun? CiRun(string repo, string sha)
    {
        lock (_gate)
        {
            return Repo(repo).Ci.TryGetValue(sha, out var ci) ? ToSim(ci) : null;
        }
    }

    /// <summary>Where deliveries go and the secret that signs them (<c>X-Hub-Signature-256</c>).</summary>
    /// <param name="target">Absolute URL of the receiver.</param>
    /// <param name="secret">Webhook secret; HMAC-SHA256 key as UTF-8.</param>
    public void ConfigureWebhook(Uri target, string secret)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentException.ThrowIfNullOrEmpty(secret);
        if (!target.IsAbsoluteUri)
        {
            throw new ArgumentException("The webhook target must be an absolute URL.", nameof(target));
        }

        lock (_gate)
        {
            _webhook = (target, secret);
        }
    }

    /// <summary>
    /// Opens a PR from a new branch <c>sim/pr-{n}</c> with a fresh head SHA into <c>main</c>, taking the next
    /// number, and sends <c>pull_request</c> <c>opened</c> (from the captured <c>opened</c> delivery).
    /// </summary>
    /// <param name="repo"><c>owner/name</c> of a repository added with <see cref="AddRepository"/>.</param>
    /// <param name="title">PR title.</param>
    /// <param name="body">PR body (markdown), or <c>null</c>.</param>
    /// <param name="deliver"><c>false</c> changes the state but sends nothing (a dropped webhook).</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>The PR number.</returns>
    /// <exception cref="ArgumentException">Unknown repository.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="deliver"/> is true but no webhook is configured.</exception>
    public async Task<int> OpenPullRequestAsync(string repo, string title, string? body, bool deliver = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(title);
        JsonObject payload;
        int number;
        lock (_gate)
        {
            EnsureWebhook(deliver);
            var r = Repo(repo);
            var now = _time.GetUtcNow();
            number = ++r.LastNumber;
            var item = new SimItemState
            {
                Number = number,
                Id = NextId(),
                IsPullRequest = true,
                Title = title,
                Body = body,
                Author = ActorLogin,
                CreatedAt = now,
                UpdatedAt = now,
                UpdateSequence = ++_updateSequence,
                HeadRef = $"sim/pr-{number}",
                HeadSha = Sha.New(),
                BaseSha = r.DefaultBranchSha,
                TestMergeSha = Sha.New(),
            };
            r.Items.Add(item);
            r.Commits.Add(item.HeadSha);
            payload = _payloads.PullRequestEvent("opened", r, item);
        }

        if (deliver)
        {
            await DeliverAsync("pull_request", payload, cancellationToken).ConfigureAwait(false);
        }

        return number;
    }

    /// <summary>Replaces a PR's body and sends <c>pull_request</c> <c>edited</c> with <c>changes.body.from</c>.</summary>
    /// <param name="repo"><c>owner/name</c>.</param>
    /// <param name="number">PR number.</param>
    /// <param name="body">New body, or <c>null</c>.</param>
    /// <param name="deliver"><c>false</c> changes the state but sends nothing.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <exception cref="ArgumentException">Unknown repository or PR.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="deliver"/> is true but no webhook is configured.</exception>
    public async Task EditPullRequestBodyAsync(string repo, int number, string? body, bool deliver = true, CancellationToken cancellationToken = default)
    {
        JsonObject payload;
        lock (_gate)
        {
            EnsureWebhook(deliver);
            var (r, item) = PullRequest(repo, number);
            var previous = item.Body;
            item.Body = body;
            Touch(item);
            payload = _payloads.PullRequestEvent("edited", r, item, previous);
        }

        if (deliver)
        {
            await DeliverAsync("pull_request", payload, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Closes an open PR without merging and sends <c>pull_request</c> <c>closed</c> with <c>merged: false</c>.</summary>
    /// <param name="repo"><c>owner/name</c>.</param>
    /// <param name="number">PR number.</param>
    /// <param name="deliver"><c>false</c> changes the state but sends nothing.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <exception cref="ArgumentException">Unknown repository or PR.</exception>
    /// <exception cref="InvalidOperationException">The PR is not open, or <paramref name="deliver"/> is true but no webhook is configured.</exception>
    public async Task ClosePullRequestAsync(string repo, int number, bool deliver = true, CancellationToken cancellationToken = default)
    {
        JsonObject payload;
        lock (_gate)
        {
            EnsureWebhook(deliver);
            var (r, item) = OpenPullRequest(repo, number);
            item.State = "closed";
            item.ClosedAt = _time.GetUtcNow();
            Touch(item);
            payload = _payloads.PullRequestEvent("closed", r, item);
        }

        if (deliver)
        {
            await DeliverAsync("pull_request", payload, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Merges an open PR (new merge commit on <c>main</c>) and sends <c>pull_request</c> <c>closed</c> with
    /// <c>merged: true</c> (from the captured merged delivery).
    /// </summary>
    /// <param name="repo"><c>owner/name</c>.</param>
    /// <param name="number">PR number.</param>
    /// <param name="deliver"><c>false</c> changes the state but sends nothing.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>The merge commit SHA (40 lower-case hex digits).</returns>
    /// <exception cref="ArgumentException">Unknown repository or PR.</exception>
    /// <exception cref="InvalidOperationException">The PR is not open, or <paramref name="deliver"/> is true but no webhook is configured.</exception>
    public async Task<string> MergePullRequestAsync(string repo, int number, bool deliver = true, CancellationToken cancellationToken = default)
    {
        JsonObject payload;
        string mergeSha;
        lock (_gate)
        {
            EnsureWebhook(deliver);
            var (r, item) = OpenPullRequest(repo, number);
            var now = _time.GetUtcNow();
            mergeSha = Sha.New();
            item.State = "closed";
            item.Merged = true;
            item.MergedAt = now;
            item.ClosedAt = now;
            item.MergeCommitSha = mergeSha;
            Touch(item);
            r.Commits.Add(mergeSha);
            r.DefaultBranchSha = mergeSha;
            payload = _payloads.PullRequestEvent("closed", r, item);
        }

        if (deliver)
        {
            await DeliverAsync("pull_request", payload, cancellationToken).ConfigureAwait(false);
        }

        return mergeSha;
    }

    /// <summary>
    /// Starts CI on <paramref name="sha"/>: an <c>in_progress</c> <c>github-actions</c> check suite with one
    /// check run and an <c>in_progress</c> workflow run named <c>CI</c>. Called again after completion it is a
    /// re-run (same ids, <c>run_attempt</c> + 1). Sends no webhook.
    /// </summary>
    /// <param name="repo"><c>owner/name</c>.</param>
    /// <param name="sha">Commit SHA, usually a PR's <see cref="SimPullRequest.HeadSha"/>.</param>
    /// <exception cref="ArgumentException">Unknown repository.</exception>
    public void StartCi(string repo, string sha)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sha);
        lock (_gate)
        {
            var r = Repo(repo);
            if (r.Ci.TryGetValue(sha, out var ci))
            {
                ci.RunAttempt++;
                ci.Status = "in_progress";
                ci.Conclusion = null;
                ci.UpdatedAt = _time.GetUtcNow();
            }
            else
            {
                NewCi(r, sha);
            }
        }
    }

    /// <summary>
    /// Completes CI on <paramref name="sha"/> with <paramref name="conclusion"/> (creating the suite and run if
    /// <see cref="StartCi"/> was not called) and sends <c>workflow_run</c> <c>completed</c>, then
    /// <c>check_suite</c> <c>completed</c>.
    /// </summary>
    /// <param name="repo"><c>owner/name</c>.</param>
    /// <param name="sha">Commit SHA.</param>
    /// <param name="conclusion"><c>success</c>, <c>failure</c>, <c>neutral</c>, <c>cancelled</c>, <c>skipped</c>, <c>timed_out</c>, <c>action_required</c>, <c>stale</c> or <c>startup_failure</c>.</param>
    /// <param name="deliver"><c>false</c> changes the state but sends nothing.</param>
    /// <param name="cancellationToken">Cancels the deliveries.</param>
    /// <returns>The completed CI state.</returns>
    /// <exception cref="ArgumentException">Unknown repository or conclusion.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="deliver"/> is true but no webhook is configured.</exception>
    public async Task<SimCiRun> CompleteCiAsync(string repo, string sha, string conclusion, bool deliver = true, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sha);
        if (!Conclusions.Contains(conclusion, StringComparer.Ordinal))
        {
            throw new ArgumentException($"'{conclusion}' is not a check conclusion ({string.Join(", ", Conclusions)}).", nameof(conclusion));
        }

        JsonObject runPayload;
        JsonObject suitePayload;
        SimCiRun result;
        lock (_gate)
        {
            EnsureWebhook(deliver);
            var r = Repo(repo);
            var ci = r.Ci.TryGetValue(sha, out var existing) ? existing : NewCi(r, sha);
            ci.Status = "completed";
            ci.Conclusion = conclusion;
            ci.UpdatedAt = _time.GetUtcNow();
            runPayload = _payloads.WorkflowRunCompletedEvent(r, ci);
            suitePayload = _payloads.CheckSuiteCompletedEvent(r, ci);
            result = ToSim(ci);
        }

        if (deliver)
        {
            await DeliverAsync("workflow_run", runPayload, cancellationToken).ConfigureAwait(false);
            await DeliverAsync("check_suite", suitePayload, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    /// <summary>
    /// Sends <paramref name="delivery"/>'s exact bytes and headers again to the configured target, as
    /// GitHub's "Redeliver" does (which keeps the <c>X-GitHub-Delivery</c> id), or with a fresh id.
    /// </summary>
    /// <param name="delivery">A delivery from <see cref="Deliveries"/>.</param>
    /// <param name="newDeliveryId">Whether to send a new GUID as <c>X-GitHub-Delivery</c>.</param>
    /// <param name="cancellationToken">Cancels the POST.</param>
    /// <returns>The status the target answered.</returns>
    /// <exception cref="InvalidOperationException">No webhook is configured.</exception>
    /// <exception cref="HttpRequestException">The target did not answer (the attempt is still recorded).</exception>
    public async Task<HttpStatusCode> ResendAsync(SimulatedDelivery delivery, bool newDeliveryId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        lock (_gate)
        {
            EnsureWebhook(true);
        }

        var copy = delivery;
        if (newDeliveryId)
        {
            var id = Guid.NewGuid().ToString();
            var headers = new Dictionary<string, string>(delivery.Headers, StringComparer.OrdinalIgnoreCase) { ["X-GitHub-Delivery"] = id };
            copy = new SimulatedDelivery(delivery.Event, id, delivery.Body, headers);
        }

        var attempt = await PostAsync(copy, isRedelivery: true, cancellationToken).ConfigureAwait(false);
        return attempt.Status ?? throw new HttpRequestException($"Webhook redelivery got no answer: {attempt.Error}");
    }

    // ---------------------------------------------------------------- webhook sending

    private async Task DeliverAsync(string eventName, JsonObject payload, CancellationToken cancellationToken)
    {
        string secret;
        lock (_gate)
        {
            secret = _webhook!.Value.Secret;
        }

        var body = JsonTemplate.ToBytes(payload);
        var id = Guid.NewGuid().ToString();
        var (sha1, sha256) = WebhookPoster.HubSignatures(secret, body);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["User-Agent"] = "GitHub-Hookshot/simulator",
            ["X-GitHub-Event"] = eventName,
            ["X-GitHub-Delivery"] = id,
            ["X-GitHub-Hook-ID"] = "1",
            ["X-GitHub-Hook-Installation-Target-ID"] = payload["repository"]?["id"]?.ToJsonString() ?? "0",
            ["X-GitHub-Hook-Installation-Target-Type"] = "repository",
            // GitHub still sends the legacy SHA-1 signature next to SHA-256; receivers must ignore it.
            ["X-Hub-Signature"] = sha1,
            ["X-Hub-Signature-256"] = sha256,
            ["Content-Type"] = "application/json",
        };
        var delivery = new SimulatedDelivery(eventName, id, body, headers);
        lock (_gate)
        {
            _deliveries.Add(delivery);
        }

        await PostAsync(delivery, isRedelivery: false, cancellationToken).ConfigureAwait(false);
    }

    private async Task<SimDeliveryAttempt> PostAsync(SimulatedDelivery delivery, bool isRedelivery, CancellationToken cancellationToken)
    {
        Uri target;
        lock (_gate)
        {
            target = _webhook!.Value.Target;
        }

        // GitHub records a failed delivery and moves on; the state change stands.
        var (status, error) = await WebhookPoster.TryPostAsync(_webhookClient, target, delivery.Body, delivery.Headers, cancellationToken).ConfigureAwait(false);
        var attempt = new SimDeliveryAttempt(delivery, status, error, isRedelivery);

        lock (_gate)
        {
            _attempts.Add(attempt);
            RecordHookDelivery(attempt);
        }

        return attempt;
    }

    // ---------------------------------------------------------------- REST routes

    private void Map(IEndpointRouteBuilder app, SimulatorHost host)
    {
        MapRepo(app, host, "GET", "issues", ListIssuesAsync);
        MapRepo(app, host, "POST", "issues", CreateIssueAsync);
        MapRepo(app, host, "GET", "issues/{number:int}", GetIssueAsync);
        MapRepo(app, host, "PATCH", "issues/{number:int}", UpdateIssueAsync);
        MapRepo(app, host, "POST", "issues/{number:int}/labels", AddLabelsAsync);
        MapRepo(app, host, "DELETE", "issues/{number:int}/labels/{name}", RemoveLabelAsync);
        MapRepo(app, host, "GET", "issues/{number:int}/comments", ListCommentsAsync);
        MapRepo(app, host, "POST", "issues/{number:int}/comments", CreateCommentAsync);
        MapRepo(app, host, "GET", "pulls", ListPullsAsync);
        MapRepo(app, host, "POST", "pulls", CreatePullAsync);
        MapRepo(app, host, "GET", "pulls/{number:int}", GetPullAsync);
        MapRepo(app, host, "GET", "commits/{sha}/check-suites", ListCheckSuitesAsync);
        MapRepo(app, host, "GET", "actions/runs", ListRunsAsync);
        MapRepo(app, host, "GET", "hooks/{hookId:long}/deliveries", ListHookDeliveriesAsync);
        MapRepo(app, host, "POST", "hooks/{hookId:long}/deliveries/{deliveryId:long}/attempts", RedeliverAsync);
        MapRepositoryHooks(app, host);
        MapApp(app, host);
    }

    private void MapRepo(IEndpointRouteBuilder app, SimulatorHost host, string method, string suffix, Func<Call, Task> handler)
    {
        Task Handle(HttpContext context) => DispatchAsync(context, host, handler);
        app.MapMethods(ApiPrefix + "/repos/{owner}/{repo}/" + suffix, [method], Handle);
        app.MapMethods(ApiPrefix + "/repositories/{repositoryId:long}/" + suffix, [method], Handle);
    }

    /// <summary>One request being answered: the context, the host for recording, the repository and the parsed query.</summary>
    private sealed record Call(HttpContext Context, SimulatorHost Host, SimRepoState Repo)
    {
        public string Describe => $"github: {Context.Request.Method} {Context.Request.Path}{Context.Request.QueryString}";

        public void Unexpected(string why) => Host.RecordUnexpected($"{Describe}: {why}");
    }

    private async Task DispatchAsync(HttpContext context, SimulatorHost host, Func<Call, Task> handler)
    {
        var request = context.Request;
        var describe = $"github: {request.Method} {request.Path}{request.QueryString}";
        if (string.IsNullOrWhiteSpace(request.Headers.UserAgent))
        {
            host.RecordUnexpected($"{describe}: no User-Agent header");
            await ErrorAsync(
                context,
                StatusCodes.Status403Forbidden,
                "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.").ConfigureAwait(false);
            return;
        }

        var version = request.Headers["X-GitHub-Api-Version"].ToString();
        if (version != ApiVersion)
        {
            host.RecordUnexpected($"{describe}: X-GitHub-Api-Version is '{version}', expected {ApiVersion}");
            await ErrorAsync(context, StatusCodes.Status400BadRequest, $"Invalid API version '{version}'. Supported versions: {ApiVersion}", "https://docs.github.com/rest/about-the-rest-api/api-versions").ConfigureAwait(false);
            return;
        }

        if (!await AdmitAsync(context, host).ConfigureAwait(false))
        {
            return;
        }

        SimRepoState? repo;
        lock (_gate)
        {
            repo = context.GetRouteValue("repositoryId") is string id
                ? _repos.Values.FirstOrDefault(r => r.Id.ToString(CultureInfo.InvariantCulture) == id)
                : _repos.GetValueOrDefault($"{context.GetRouteValue("owner")}/{context.GetRouteValue("repo")}");
        }

        if (repo is null)
        {
            host.RecordUnexpected($"{describe}: unknown repository");
            await ErrorAsync(context, StatusCodes.Status404NotFound, "Not Found").ConfigureAwait(false);
            return;
        }

        await handler(new Call(context, host, repo)).ConfigureAwait(false);
    }

    private async Task CreateIssueAsync(Call call)
    {
        // Octokit's NewIssue always sends "assignees":[] and "labels":[]; GitHub accepts them, and only empty ones are simulated.
        var body = await ReadBodyAsync(call, ["title", "body", "assignees", "labels"]).ConfigureAwait(false);
        if (body is null)
        {
            return;
        }

        foreach (var list in new[] { "assignees", "labels" })
        {
            if (body[list] is { } given && given is not JsonArray { Count: 0 })
            {
                call.Unexpected($"body field '{list}' is only simulated as an empty array");
            }
        }

        if (!TryGetString(body, "title", out var title) || string.IsNullOrEmpty(title))
        {
            call.Unexpected("title missing");
            await ValidationFailedAsync(call.Context, "Issue", "title", "missing_field").ConfigureAwait(false);
            return;
        }

        if (!TryGetString(body, "body", out var text))
        {
            call.Unexpected("body is not a string");
            await ValidationFailedAsync(call.Context, "Issue", "body", "invalid").ConfigureAwait(false);
            return;
        }

        SimItemState item;
        JsonObject json;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            item = new SimItemState
            {
                Number = ++call.Repo.LastNumber,
                Id = NextId(),
                IsPullRequest = false,
                Title = title,
                Body = text,
                Author = ActorLogin,
                CreatedAt = now,
                UpdatedAt = now,
                UpdateSequence = ++_updateSequence,
            };
            call.Repo.Items.Add(item);
            json = _payloads.Issue(call.Repo, item);
        }

        if (AfterIssueCreated is { } hook)
        {
            await hook(call.Repo.FullName, item.Number).ConfigureAwait(false);
        }

        call.Context.Response.Headers.Location = json["url"]!.GetValue<string>();
        await WriteAsync(call.Context, StatusCodes.Status201Created, json).ConfigureAwait(false);
    }

    private async Task ListIssuesAsync(Call call)
    {
        var query = ReadQuery(call, ["state", "sort", "direction", "per_page", "page"]);
        var state = Choice(call, query, "state", "open", "open", "closed", "all");
        var sort = Choice(call, query, "sort", "created", "created", "updated", "comments");
        var direction = Choice(call, query, "direction", "desc", "asc", "desc");
        if (state is null || sort is null || direction is null || !TryPaging(call, query, out var perPage, out var page))
        {
            await ValidationFailedAsync(call.Context, "Issue", "query", "invalid").ConfigureAwait(false);
            return;
        }

        JsonArray items;
        string? link;
        lock (_gate)
        {
            var selected = Order(call.Repo.Items.Where(i => state == "all" || i.State == state), sort, direction);
            (items, link) = Page(call, selected, perPage, page, i => _payloads.Issue(call.Repo, i));
        }

        await WriteAsync(call.Context, StatusCodes.Status200OK, items, link).ConfigureAwait(false);
    }

    private async Task ListCommentsAsync(Call call)
    {
        var query = ReadQuery(call, ["per_page", "page"]);
        if (!TryPaging(call, query, out var perPage, out var page))
        {
            await ValidationFailedAsync(call.Context, "IssueComment", "query", "invalid").ConfigureAwait(false);
            return;
        }

        JsonArray? items = null;
        string? link = null;
        lock (_gate)
        {
            var item = call.Repo.Find(RouteNumber(call));
            if (item is not null)
            {
                (items, link) = Page(call, item.Comments, perPage, page, c => _payloads.Comment(call.Repo, item, c));
            }
        }

        if (items is null)
        {
            await ErrorAsync(call.Context, StatusCodes.Status404NotFound, "Not Found").ConfigureAwait(false);
            return;
        }

        await WriteAsync(call.Context, StatusCodes.Status200OK, items, link).ConfigureAwait(false);
    }

    private async Task CreateCommentAsync(Call call)
    {
        var body = await ReadBodyAsync(call, ["body"]).ConfigureAwait(false);
        if (body is null)
        {
            return;
        }

        if (!TryGetString(body, "body", out var text) || string.IsNullOrEmpty(text))
        {
            call.Unexpected("body missing");
            await ValidationFailedAsync(call.Context, "IssueComment", "body", "missing_field").ConfigureAwait(false);
            return;
        }

        JsonObject? json = null;
        lock (_gate)
        {
            var item = call.Repo.Find(RouteNumber(call));
            if (item is not null)
            {
                var comment = new SimCommentState(NextId(), text, ActorLogin, _time.GetUtcNow());
                item.Comments.Add(comment);
                Touch(item);
                json = _payloads.Comment(call.Repo, item, comment);
            }
        }

        if (json is null)
        {
            await ErrorAsync(call.Context, StatusCodes.Status404NotFound, "Not Found").ConfigureAwait(false);
            return;
        }

        call.Context.Response.Headers.Location = json["url"]!.GetValue<string>();
        await WriteAsync(call.Context, StatusCodes.Status201Created, json).ConfigureAwait(false);
    }

    private async Task CreatePullAsync(Call call)
    {
        // https://docs.github.com/en/rest/pulls/pulls#create-a-pull-request
        var body = await ReadBodyAsync(call, ["title", "body", "head", "base", "draft", "maintainer_can_modify"]).ConfigureAwait(false);
        if (body is null)
        {
            return;
        }

        if (!TryGetString(body, "title", out var title) || string.IsNullOrEmpty(title)
            || !TryGetString(body, "head", out var head) || string.IsNullOrEmpty(head)
            || !TryGetString(body, "base", out var @base) || string.IsNullOrEmpty(@base))
        {
            call.Unexpected("title, head and base are required");
            await ValidationFailedAsync(call.Context, "PullRequest", "head", "missing_field").ConfigureAwait(false);
            return;
        }

        TryGetString(body, "body", out var text);
        var headRef = head!.Contains(':', StringComparison.Ordinal) ? head[(head.IndexOf(':', StringComparison.Ordinal) + 1)..] : head;
        SimItemState item;
        JsonObject json;
        JsonObject payload;
        lock (_gate)
        {
            if (call.Repo.Items.Any(i => i.IsPullRequest && i.State == "open" && i.HeadRef == headRef))
            {
                // GitHub's answer for a second PR from the same branch.
                json = new JsonObject
                {
                    ["message"] = "Validation Failed",
                    ["errors"] = new JsonArray(new JsonObject { ["resource"] = "PullRequest", ["code"] = "custom", ["message"] = $"A pull request already exists for {call.Repo.FullName.Split('/')[0]}:{headRef}." }),
                    ["documentation_url"] = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
                    ["status"] = "422",
                };
                item = null!;
                payload = null!;
            }
            else
            {
                var now = _time.GetUtcNow();
                item = new SimItemState
                {
                    Number = ++call.Repo.LastNumber,
                    Id = NextId(),
                    IsPullRequest = true,
                    Title = title!,
                    Body = text,
                    Author = ActorLogin,
                    CreatedAt = now,
                    UpdatedAt = now,
                    UpdateSequence = ++_updateSequence,
                    HeadRef = headRef,
                    HeadSha = Sha.New(),
                    BaseSha = call.Repo.DefaultBranchSha,
                    TestMergeSha = Sha.New(),
                };
                call.Repo.Items.Add(item);
                call.Repo.Commits.Add(item.HeadSha);
                json = _payloads.PullRequest(call.Repo, item, listItem: false);
                payload = _payloads.PullRequestEvent("opened", call.Repo, item);
            }
        }

        if (item is null)
        {
            await WriteAsync(call.Context, StatusCodes.Status422UnprocessableEntity, json).ConfigureAwait(false);
            return;
        }

        call.Context.Response.Headers.Location = json["url"]!.GetValue<string>();
        await WriteAsync(call.Context, StatusCodes.Status201Created, json).ConfigureAwait(false);
        if (_webhook is not null)
        {
            // GitHub sends pull_request "opened" for PRs created through the API too.
            _ = Task.Run(() => DeliverAsync("pull_request", payload, CancellationToken.None));
        }
    }

    private async Task ListPullsAsync(Call call)
    {
        var query = ReadQuery(call, ["state", "sort", "direction", "per_page", "page", "head"]);
        var headFilter = query.TryGetValue("head", out var h) ? (h.Contains(':', StringComparison.Ordinal) ? h[(h.IndexOf(':', StringComparison.Ordinal) + 1)..] : h) : null;
        var state = Choice(call, query, "state", "open", "open", "closed", "all");
        var sort = Choice(call, query, "sort", "created", "created", "updated");

        // "Default: desc when sort is created or sort is not specified, otherwise asc."
        var direction = Choice(call, query, "direction", sort == "created" ? "desc" : "asc", "asc", "desc");
        if (state is null || sort is null || direction is null || !TryPaging(call, query, out var perPage, out var page))
        {
            await ValidationFailedAsync(call.Context, "PullRequest", "query", "invalid").ConfigureAwait(false);
            return;
        }

        JsonArray items;
        string? link;
        lock (_gate)
        {
            var selected = Order(call.Repo.Items.Where(i => i.IsPullRequest && (state == "all" || i.State == state) && (headFilter is null || i.HeadRef == headFilter)), sort, direction);
            (items, link) = Page(call, selected, perPage, page, i => _payloads.PullRequest(call.Repo, i, listItem: true));
        }

        await WriteAsync(call.Context, StatusCodes.Status200OK, items, link).ConfigureAwait(false);
    }

    private async Task GetPullAsync(Call call)
    {
        ReadQuery(call, []);
        JsonObject? json;
        lock (_gate)
        {
            var item = call.Repo.Find(RouteNumber(call));
            json = item is { IsPullRequest: true } ? _payloads.PullRequest(call.Repo, item, listItem: false) : null;
        }

        if (json is null)
        {
            await ErrorAsync(call.Context, StatusCodes.Status404NotFound, "Not Found", "https://docs.github.com/rest/pulls/pulls#get-a-pull-request").ConfigureAwait(false);
            return;
        }

        await WriteAsync(call.Context, StatusCodes.Status200OK, json).ConfigureAwait(false);
    }

    private async Task ListCheckSuitesAsync(Call call)
    {
        var query = ReadQuery(call, ["per_page", "page"]);
        if (!TryPaging(call, query, out var perPage, out var page))
        {
            await ValidationFailedAsync(call.Context, "CheckSuite", "query", "invalid").ConfigureAwait(false);
            return;
        }

        var sha = (string)call.Context.GetRouteValue("sha")!;
        JsonObject? json = null;
        string? link = null;
        lock (_gate)
        {
            if (call.Repo.Commits.Contains(sha))
            {
                SimCiState[] suites = call.Repo.Ci.TryGetValue(sha, out var ci) ? [ci] : [];
                (var items, link) = Page(call, suites, perPage, page, c => _payloads.CheckSuite(call.Repo, c));
                json = new JsonObject { ["total_count"] = suites.Length, ["check_suites"] = items };
            }
        }

        if (json is null)
        {
            // GitHub answers an unknown ref with 422.
            await ErrorAsync(call.Context, StatusCodes.Status422UnprocessableEntity, $"No commit found for SHA: {sha}", "https://docs.github.com/rest/checks/suites#list-check-suites-for-a-git-reference").ConfigureAwait(false);
            return;
        }

        await WriteAsync(call.Context, StatusCodes.Status200OK, json, link).ConfigureAwait(false);
    }

    private async Task ListRunsAsync(Call call)
    {
        var query = ReadQuery(call, ["head_sha", "per_page", "page"]);
        if (!TryPaging(call, query, out var perPage, out var page))
        {
            await ValidationFailedAsync(call.Context, "WorkflowRun", "query", "invalid").ConfigureAwait(false);
            return;
        }

        var headSha = query.GetValueOrDefault("head_sha");
        JsonObject json;
        string? link;
        lock (_gate)
        {
            var runs = call.Repo.Ci.Values
                .Where(c => headSha is null || string.Equals(c.Sha, headSha, StringComparison.OrdinalIgnoreCase))
                .OrderByDescending(c => c.RunId)
                .ToList();
            (var items, link) = Page(call, runs, perPage, page, c => _payloads.WorkflowRun(call.Repo, c));
            json = new JsonObject { ["total_count"] = runs.Count, ["workflow_runs"] = items };
        }

        await WriteAsync(call.Context, StatusCodes.Status200OK, json, link).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- request helpers

    private static bool IsAuthorized(HttpContext context, string token)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var space = header.IndexOf(' ', StringComparison.Ordinal);
        if (space < 0)
        {
            return false;
        }

        var scheme = header[..space];
        var presented = header[(space + 1)..].Trim();
        return (scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase) || scheme.Equals("token", StringComparison.OrdinalIgnoreCase))
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(token));
    }

    private static int RouteNumber(Call call) =>
        int.Parse((string)call.Context.GetRouteValue("number")!, CultureInfo.InvariantCulture);

    private static Dictionary<string, string> ReadQuery(Call call, string[] supported)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in call.Context.Request.Query)
        {
            if (!supported.Contains(key, StringComparer.Ordinal))
            {
                call.Unexpected($"query parameter '{key}' is not simulated");
                continue;
            }

            result[key] = value.ToString();
        }

        return result;
    }

    private static string? Choice(Call call, Dictionary<string, string> query, string name, string fallback, params string[] allowed)
    {
        if (!query.TryGetValue(name, out var value))
        {
            return fallback;
        }

        if (allowed.Contains(value, StringComparer.Ordinal))
        {
            return value;
        }

        call.Unexpected($"{name}='{value}' is not one of {string.Join("|", allowed)}");
        return null;
    }

    private static bool TryPaging(Call call, Dictionary<string, string> query, out int perPage, out int page)
    {
        perPage = DefaultPerPage;
        page = 1;
        if (query.TryGetValue("per_page", out var p))
        {
            if (!int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out perPage) || perPage < 1)
            {
                call.Unexpected($"per_page='{p}'");
                return false;
            }

            // GitHub silently caps per_page at 100.
            perPage = Math.Min(perPage, MaxPerPage);
        }

        if (query.TryGetValue("page", out var n) && (!int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out page) || page < 1))
        {
            call.Unexpected($"page='{n}'");
            return false;
        }

        return true;
    }

    private static IEnumerable<SimItemState> Order(IEnumerable<SimItemState> items, string sort, string direction)
    {
        Func<SimItemState, long> key = sort switch
        {
            "updated" => i => i.UpdateSequence,
            "comments" => i => ((long)i.Comments.Count << 32) + i.Number,
            _ => i => i.Number,
        };
        return direction == "asc" ? items.OrderBy(key) : items.OrderByDescending(key);
    }

    /// <summary>
    /// One page plus GitHub's <c>Link</c> header. Like GitHub, the links address the repository by id
    /// (<c>/repositories/{id}/…</c>), keep the other query parameters and change only <c>page</c>.
    /// </summary>
    private (JsonArray Items, string? Link) Page<T>(Call call, IEnumerable<T> all, int perPage, int page, Func<T, JsonNode> render)
    {
        var list = all.ToList();
        var items = new JsonArray(list.Skip((page - 1) * perPage).Take(perPage).Select(render).ToArray());
        var last = Math.Max(1, (list.Count + perPage - 1) / perPage);
        var path = call.Context.Request.Path.Value!;
        var segments = path[ApiPrefix.Length..].Split('/', StringSplitOptions.RemoveEmptyEntries);
        var rest = string.Join('/', segments.Skip(segments[0] == "repos" ? 3 : 2));
        var parameters = (call.Context.Request.QueryString.Value ?? "").TrimStart('?')
            .Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !p.StartsWith("page=", StringComparison.Ordinal))
            .ToList();
        string Url(int n) => $"{ApiUrl}repositories/{call.Repo.Id}/{rest}?{string.Join('&', parameters.Append($"page={n}"))}";

        var links = new List<string>();
        if (page > 1)
        {
            links.Add($"<{Url(Math.Min(page - 1, last))}>; rel=\"prev\"");
        }

        if (page < last)
        {
            links.Add($"<{Url(page + 1)}>; rel=\"next\"");
            links.Add($"<{Url(last)}>; rel=\"last\"");
        }

        if (page > 1)
        {
            links.Add($"<{Url(1)}>; rel=\"first\"");
        }

        return (items, links.Count == 0 ? null : string.Join(", ", links));
    }

    private static async Task<JsonObject?> ReadBodyAsync(Call call, string[] supported, string? bareArrayField = null)
    {
        JsonNode? node;
        try
        {
            node = await JsonNode.ParseAsync(call.Context.Request.Body, cancellationToken: call.Context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            node = null;
        }

        if (bareArrayField is not null && node is JsonArray bare)
        {
            // Where GitHub also takes the array itself as the body (e.g. ["bug"] for add-labels, as Octokit sends it).
            node = new JsonObject { [bareArrayField] = bare };
        }

        if (node is not JsonObject body)
        {
            call.Unexpected("body is not a JSON object");
            await ErrorAsync(call.Context, StatusCodes.Status400BadRequest, "Problems parsing JSON").ConfigureAwait(false);
            return null;
        }

        foreach (var key in body.Select(p => p.Key).Where(k => !supported.Contains(k, StringComparer.Ordinal)))
        {
            call.Unexpected($"body field '{key}' is not simulated");
        }

        return body;
    }

    /// <summary>A string or null value (absent counts as null); false for any other JSON type.</summary>
    private static bool TryGetString(JsonObject body, string name, out string? value)
    {
        value = null;
        var node = body[name];
        if (node is null)
        {
            return true;
        }

        return node is JsonValue v && v.TryGetValue(out value);
    }

    private static Task ValidationFailedAsync(HttpContext context, string resource, string field, string code) =>
        WriteAsync(context, StatusCodes.Status422UnprocessableEntity, new JsonObject
        {
            ["message"] = "Validation Failed",
            ["errors"] = new JsonArray(new JsonObject { ["resource"] = resource, ["code"] = code, ["field"] = field }),
            ["documentation_url"] = "https://docs.github.com/rest",
            ["status"] = "422",
        });

    private static Task ErrorAsync(HttpContext context, int status, string message, string documentation = "https://docs.github.com/rest") =>
        WriteAsync(context, status, new JsonObject
        {
            ["message"] = message,
            ["documentation_url"] = documentation,
            ["status"] = status.ToString(CultureInfo.InvariantCulture),
        });

    private static async Task WriteAsync(HttpContext context, int status, JsonNode body, string? link = null)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json; charset=utf-8";
        response.Headers["X-GitHub-Api-Version-Selected"] = ApiVersion;
        response.Headers["X-GitHub-Media-Type"] = "github.v3; format=json";
        response.Headers["X-GitHub-Request-Id"] = Guid.NewGuid().ToString("N")[..16].ToUpperInvariant();
        if (link is not null)
        {
            response.Headers.Link = link;
        }

        var bytes = JsonTemplate.ToBytes(body);
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- state helpers

    private long NextId() => ++_nextId;

    private long UserId(string login)
    {
        lock (_gate)
        {
            if (!_userIds.TryGetValue(login, out var id))
            {
                id = 9_000_000 + _userIds.Count + 1;
                _userIds[login] = id;
            }

            return id;
        }
    }

    private void Touch(SimItemState item)
    {
        item.UpdatedAt = _time.GetUtcNow();
        item.UpdateSequence = ++_updateSequence;
    }

    private SimCiState NewCi(SimRepoState repo, string sha)
    {
        var now = _time.GetUtcNow();
        var ci = new SimCiState
        {
            Sha = sha,
            SuiteId = NextId(),
            RunId = NextId(),
            RunNumber = ++_runNumber,
            Event = repo.Items.Any(i => i.IsPullRequest && i.State == "open" && string.Equals(i.HeadSha, sha, StringComparison.OrdinalIgnoreCase)) ? "pull_request" : "push",
            BeforeSha = repo.DefaultBranchSha,
            CreatedAt = now,
            UpdatedAt = now,
        };
        repo.Ci[sha] = ci;
        repo.Commits.Add(sha);
        return ci;
    }

    private void EnsureWebhook(bool deliver)
    {
        if (deliver && _webhook is null)
        {
            throw new InvalidOperationException("No webhook is configured: call ConfigureWebhook first, or pass deliver: false.");
        }
    }

    private SimRepoState Repo(string fullName) =>
        _repos.GetValueOrDefault(fullName) ?? throw new ArgumentException($"Repository '{fullName}' was not added to the simulator.", nameof(fullName));

    private (SimRepoState Repo, SimItemState Item) PullRequest(string repo, int number)
    {
        var r = Repo(repo);
        var item = r.Find(number);
        return item is { IsPullRequest: true } ? (r, item) : throw new ArgumentException($"{repo} has no pull request #{number}.", nameof(number));
    }

    private (SimRepoState Repo, SimItemState Item) OpenPullRequest(string repo, int number)
    {
        var (r, item) = PullRequest(repo, number);
        return item.State == "open" ? (r, item) : throw new InvalidOperationException($"{repo}#{number} is {item.State}{(item.Merged ? " (merged)" : "")}.");
    }

    private SimPullRequest ToSim(SimRepoState repo, SimItemState i) =>
        new(i.Number, i.Title, i.Body, i.State, i.Merged, i.HeadRef, i.HeadSha, i.CurrentMergeCommitSha, _payloads.IssueHtmlUrl(repo, i));

    private static SimCiRun ToSim(SimCiState ci) => new(ci.Sha, ci.SuiteId, ci.RunId, ci.Status, ci.Conclusion);

    private static (string Owner, string Name) SplitRepo(string fullName)
    {
        ArgumentNullException.ThrowIfNull(fullName);
        var parts = fullName.Split('/');
        if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
        {
            throw new ArgumentException($"'{fullName}' is not a repository in the form owner/name.", nameof(fullName));
        }

        return (parts[0], parts[1]);
    }
}

using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Simulators.GitHub;

namespace Orchestrator.Simulators.Gitea;

/// <summary>An issue or pull request held by <see cref="GiteaSimulator"/>.</summary>
/// <param name="Number">Index; issues and PRs share the repository's counter, as in Gitea.</param>
/// <param name="Title">Title.</param>
/// <param name="Body">Body (Gitea stores "" for none).</param>
/// <param name="State"><c>open</c> or <c>closed</c>.</param>
/// <param name="IsPull">Whether it is a pull request.</param>
/// <param name="HeadRef">PR head branch, else <c>null</c>.</param>
/// <param name="HeadSha">PR head commit, else <c>null</c>.</param>
/// <param name="Merged">Whether the PR was merged.</param>
/// <param name="MergeCommitSha">The merge commit once merged, else <c>null</c>.</param>
/// <param name="HtmlUrl">Web link: <c>{BaseUrl}{o}/{r}/issues/{n}</c> or <c>…/pulls/{n}</c>.</param>
/// <param name="Labels">Names of the labels on it.</param>
public sealed record GiteaSimItem(int Number, string Title, string Body, string State, bool IsPull, string? HeadRef, string? HeadSha, bool Merged, string? MergeCommitSha, string HtmlUrl, IReadOnlyList<string> Labels);

/// <summary>
/// An in-memory Gitea (1.25 API, https://docs.gitea.com/api/1.25/) on 127.0.0.1: the REST routes
/// <c>Orchestrator.Shared.Gitea.GiteaClient</c> calls, and a webhook sender that signs deliveries as Gitea does.
/// </summary>
/// <remarks>
/// <para>
/// Routes, under <c>/api/v1/repos/{owner}/{repo}/</c>: <c>GET|POST issues</c>, <c>PATCH issues/{n}</c>,
/// <c>GET|POST issues/{n}/comments</c>, <c>POST issues/{n}/labels</c>, <c>DELETE issues/{n}/labels/{id}</c>,
/// <c>GET|POST labels</c>, <c>GET|POST pulls</c>, <c>GET pulls/{n}</c>, <c>GET commits/{ref}/status</c>,
/// <c>GET actions/runs</c>, <c>GET|POST hooks</c>, <c>PATCH hooks/{id}</c>. Lists take <c>limit</c> (default 30, cut at 50 like Gitea's
/// <c>MAX_RESPONSE_ITEMS</c>) and <c>page</c> and answer <c>X-Total-Count</c> and a <c>Link</c> header
/// (<c>next</c>, <c>last</c>, <c>first</c>, <c>prev</c>).
/// </para>
/// <para>
/// Strict (each lands in <see cref="SimulatorHost.UnexpectedRequests"/>): an <c>Authorization</c> other than
/// <c>token &lt;token&gt;</c> → 401; unknown route → 501; unknown repository → 404; a query parameter the route does
/// not take (per the 1.25.3 swagger), an invalid enum value or an unknown body field → recorded (bad values also
/// answer 422). A missing issue/PR number answers 404 without being recorded.
/// </para>
/// <para>
/// Webhooks carry <c>X-Gitea-Event</c>, <c>X-Gitea-Event-Type</c>, <c>X-Gitea-Delivery</c> (UUID),
/// <c>X-Gitea-Signature</c> (hex HMAC-SHA256 of the body), Gogs/GitHub-named copies and
/// <c>X-Hub-Signature-256</c>, with an indented JSON body as Gitea's <c>json.MarshalIndent</c> writes it.
/// </para>
/// </remarks>
public sealed partial class GiteaSimulator : IAsyncDisposable
{
    private const int DefaultLimit = 30;
    private const int MaxLimit = 50;
    private const string Template = "HookPullRequestMerged.json";
    private static readonly string[] CommitStates = ["pending", "success", "error", "failure", "warning", "skipped"];

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Lock _gate = new();
    private readonly Dictionary<string, RepoState> _repos = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<SimulatedDelivery> _deliveries = [];
    private readonly List<SimDeliveryAttempt> _attempts = [];
    private readonly HttpClient _webhookClient = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly JsonObject _template = LoadTemplate();
    private long _nextId = 5_000;
    private (Uri Target, string Secret)? _webhook;
    private SimulatorHost? _host;

    private GiteaSimulator()
    {
    }

    /// <summary>Server root to use as <c>GiteaClientSettings.BaseUrl</c>, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseUrl => Host.BaseUrl;

    /// <summary>The underlying host: requests received and unexpected ones.</summary>
    public SimulatorHost Host => _host ?? throw new InvalidOperationException("The simulator has not started.");

    /// <summary>Login of the token's user: author of what the API creates, merger, webhook <c>sender</c>.</summary>
    public string ActorLogin { get; set; } = "orchestrator-bot";

    /// <summary>Every delivery built with <c>deliver: true</c>, in order.</summary>
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

    /// <summary>Every POST to the webhook target, redeliveries included.</summary>
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
    /// <param name="token">The only token accepted, as <c>Authorization: token &lt;token&gt;</c>.</param>
    /// <param name="port">TCP port; 0 picks a free one.</param>
    /// <param name="cancellationToken">Cancels start-up.</param>
    /// <returns>The running simulator; dispose it to stop.</returns>
    public static async Task<GiteaSimulator> StartAsync(string token, int port = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(token);
        var simulator = new GiteaSimulator();
        simulator._host = await SimulatorHost.StartAsync(
            "gitea",
            (app, host) => simulator.Map(app, host),
            context => context.Request.Headers.Authorization.ToString() == "token " + token ? null : StatusCodes.Status401Unauthorized,
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
    }

    /// <summary>Creates an empty repository (idempotent); any other repository answers 404.</summary>
    /// <param name="fullName"><c>owner/name</c>.</param>
    public void AddRepository(string fullName)
    {
        var parts = fullName.Split('/');
        if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
        {
            throw new ArgumentException($"'{fullName}' is not owner/name.", nameof(fullName));
        }

        lock (_gate)
        {
            _repos.TryAdd(fullName, new RepoState(parts[0], parts[1], NextId(), NewSha()));
        }
    }

    /// <summary>Issues and PRs of <paramref name="repo"/>, by number.</summary>
    public IReadOnlyList<GiteaSimItem> Items(string repo)
    {
        lock (_gate)
        {
            var r = Repo(repo);
            return r.Items.Select(i => ToSim(r, i)).ToArray();
        }
    }

    /// <summary>Comment bodies of an issue or PR, oldest first.</summary>
    public IReadOnlyList<string> Comments(string repo, int number)
    {
        lock (_gate)
        {
            return Repo(repo).Items.Single(i => i.Number == number).Comments.Select(c => c.Body).ToArray();
        }
    }

    /// <summary>Label names defined in the repository.</summary>
    public IReadOnlyList<string> Labels(string repo)
    {
        lock (_gate)
        {
            return Repo(repo).Labels.Select(l => l.Name).ToArray();
        }
    }

    /// <summary>Defines a label directly (as if made in the web UI); returns its id.</summary>
    public long AddLabel(string repo, string name)
    {
        lock (_gate)
        {
            var label = new LabelState(NextId(), name, "#00aabb");
            Repo(repo).Labels.Add(label);
            return label.Id;
        }
    }

    /// <summary>Records a Gitea Actions run for <paramref name="sha"/> (served by <c>GET actions/runs</c>).</summary>
    /// <param name="repo"><c>owner/name</c>.</param>
    /// <param name="sha">Head SHA.</param>
    /// <param name="title"><c>display_title</c>.</param>
    /// <param name="status"><c>queued</c>, <c>in_progress</c>, <c>waiting</c> or <c>completed</c> (Gitea's GitHub-style words).</param>
    /// <param name="conclusion"><c>success</c>, <c>failure</c>, <c>cancelled</c>, <c>skipped</c>, or <c>null</c> while running.</param>
    /// <returns>The run id.</returns>
    public long AddActionRun(string repo, string sha, string title, string status, string? conclusion)
    {
        lock (_gate)
        {
            var r = Repo(repo);
            var run = new RunState(NextId(), r.Runs.Count + 1, sha, title, status, conclusion);
            r.Runs.Add(run);
            return run.Id;
        }
    }

    /// <summary>Where deliveries go and the secret that signs them.</summary>
    public void ConfigureWebhook(Uri target, string secret)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentException.ThrowIfNullOrEmpty(secret);
        lock (_gate)
        {
            _webhook = (target, secret);
        }
    }

    /// <summary>Opens a PR from a new branch <c>sim/pr-{n}</c> into <c>main</c> and sends <c>pull_request</c> <c>opened</c>.</summary>
    /// <param name="repo"><c>owner/name</c>.</param>
    /// <param name="title">Title.</param>
    /// <param name="body">Body, or <c>null</c> (stored as "").</param>
    /// <param name="deliver"><c>false</c> changes the state but sends nothing (a dropped webhook).</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>The PR number.</returns>
    public async Task<int> OpenPullRequestAsync(string repo, string title, string? body, bool deliver = true, CancellationToken cancellationToken = default)
    {
        JsonObject payload;
        int number;
        lock (_gate)
        {
            EnsureWebhook(deliver);
            var r = Repo(repo);
            number = r.Items.Count + 1;
            var item = NewItem(r, number, title, body ?? "", isPull: true, $"sim/pr-{number}", "main");
            payload = PullPayload(r, item, "opened");
        }

        await MaybeDeliverAsync(deliver, "pull_request", "pull_request", payload, cancellationToken).ConfigureAwait(false);
        return number;
    }

    /// <summary>Closes a PR unmerged and sends <c>pull_request</c> <c>closed</c> with <c>merged: false</c>.</summary>
    public async Task ClosePullRequestAsync(string repo, int number, bool deliver = true, CancellationToken cancellationToken = default)
    {
        JsonObject payload;
        lock (_gate)
        {
            EnsureWebhook(deliver);
            var r = Repo(repo);
            var item = Pull(r, number);
            item.State = "closed";
            item.ClosedAt = item.UpdatedAt = DateTimeOffset.UtcNow;
            payload = PullPayload(r, item, "closed");
        }

        await MaybeDeliverAsync(deliver, "pull_request", "pull_request", payload, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Merges a PR (a new merge commit on the base) and sends <c>pull_request</c> <c>closed</c> with
    /// <c>merged: true</c> and <c>merge_commit_sha</c>, as Gitea does (there is no <c>merged</c> action).
    /// </summary>
    /// <returns>The merge commit SHA.</returns>
    public async Task<string> MergePullRequestAsync(string repo, int number, bool deliver = true, CancellationToken cancellationToken = default)
    {
        JsonObject payload;
        string sha;
        lock (_gate)
        {
            EnsureWebhook(deliver);
            var r = Repo(repo);
            var item = Pull(r, number);
            sha = NewSha();
            item.State = "closed";
            item.Merged = true;
            item.MergeCommitSha = sha;
            item.ClosedAt = item.UpdatedAt = DateTimeOffset.UtcNow;
            r.MainSha = sha;
            payload = PullPayload(r, item, "closed");
        }

        await MaybeDeliverAsync(deliver, "pull_request", "pull_request", payload, cancellationToken).ConfigureAwait(false);
        return sha;
    }

    /// <summary>
    /// Sets the commit status of <paramref name="context"/> on <paramref name="sha"/> (replacing that context's latest)
    /// and sends a <c>status</c> delivery (<c>X-Gitea-Event: status</c>).
    /// </summary>
    /// <param name="repo"><c>owner/name</c>.</param>
    /// <param name="sha">Commit.</param>
    /// <param name="context">Status context, e.g. <c>ci/build</c>.</param>
    /// <param name="state">pending, success, error, failure, warning or skipped.</param>
    /// <param name="deliver"><c>false</c> sends nothing.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>The status id.</returns>
    public async Task<long> SetCommitStatusAsync(string repo, string sha, string context, string state, bool deliver = true, CancellationToken cancellationToken = default)
    {
        if (!CommitStates.Contains(state))
        {
            throw new ArgumentException($"'{state}' is not a Gitea commit status state.", nameof(state));
        }

        JsonObject payload;
        long id;
        lock (_gate)
        {
            EnsureWebhook(deliver);
            var r = Repo(repo);
            var status = new StatusState(NextId(), sha, context, state, $"{BaseUrl}{r.FullName}/actions/runs/1", DateTimeOffset.UtcNow);
            r.Statuses.Add(status);
            id = status.Id;
            payload = new JsonObject
            {
                ["commit"] = new JsonObject
                {
                    ["id"] = sha,
                    ["message"] = "Simulated commit\n",
                    ["url"] = $"{BaseUrl}{r.FullName}/commit/{sha}",
                    ["author"] = new JsonObject { ["name"] = ActorLogin, ["email"] = $"{ActorLogin}@noreply.localhost", ["username"] = ActorLogin },
                    ["committer"] = new JsonObject { ["name"] = ActorLogin, ["email"] = $"{ActorLogin}@noreply.localhost", ["username"] = ActorLogin },
                    ["verification"] = null,
                    ["timestamp"] = Time(status.CreatedAt),
                    ["added"] = null,
                    ["removed"] = null,
                    ["modified"] = null,
                },
                ["context"] = context,
                ["created_at"] = Time(status.CreatedAt),
                ["description"] = "",
                ["id"] = id,
                ["repository"] = RepoJson(r),
                ["sender"] = UserJson(ActorLogin),
                ["sha"] = sha,
                ["state"] = state,
                ["target_url"] = status.TargetUrl,
                ["updated_at"] = Time(status.CreatedAt),
            };
        }

        await MaybeDeliverAsync(deliver, "status", "status", payload, cancellationToken).ConfigureAwait(false);
        return id;
    }

    /// <summary>Sends a delivery's exact bytes and headers again (Gitea's "Test delivery"/redelivery keeps the UUID), or with a new UUID.</summary>
    /// <returns>The status the target answered.</returns>
    /// <exception cref="HttpRequestException">The target did not answer.</exception>
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
            var headers = new Dictionary<string, string>(delivery.Headers, StringComparer.OrdinalIgnoreCase)
            {
                ["X-Gitea-Delivery"] = id,
                ["X-Gogs-Delivery"] = id,
                ["X-GitHub-Delivery"] = id,
            };
            copy = new SimulatedDelivery(delivery.Event, id, delivery.Body, headers);
        }

        var attempt = await PostAsync(copy, isRedelivery: true, cancellationToken).ConfigureAwait(false);
        return attempt.Status ?? throw new HttpRequestException($"Webhook redelivery got no answer: {attempt.Error}");
    }

    // ---------------------------------------------------------------- webhooks

    private void EnsureWebhook(bool deliver)
    {
        if (deliver && _webhook is null)
        {
            throw new InvalidOperationException("No webhook is configured; call ConfigureWebhook or pass deliver: false.");
        }
    }

    private async Task MaybeDeliverAsync(bool deliver, string eventName, string eventType, JsonObject payload, CancellationToken cancellationToken)
    {
        if (!deliver)
        {
            return;
        }

        string secret;
        lock (_gate)
        {
            secret = _webhook!.Value.Secret;
        }

        var body = Encoding.UTF8.GetBytes(payload.ToJsonString(Indented));
        var id = Guid.NewGuid().ToString();
        var signature = SimulatorHost.HmacHex(secret, body);
        var (sha1, sha256) = WebhookPoster.HubSignatures(secret, body);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Content-Type"] = "application/json",
            ["User-Agent"] = "Go-http-client/1.1",
            ["X-Gitea-Delivery"] = id,
            ["X-Gitea-Event"] = eventName,
            ["X-Gitea-Event-Type"] = eventType,
            ["X-Gitea-Signature"] = signature,
            ["X-Gogs-Delivery"] = id,
            ["X-Gogs-Event"] = eventName,
            ["X-Gogs-Event-Type"] = eventType,
            ["X-Gogs-Signature"] = signature,
            ["X-GitHub-Delivery"] = id,
            ["X-GitHub-Event"] = eventName,
            ["X-GitHub-Event-Type"] = eventType,
            ["X-Hub-Signature-256"] = sha256,

            // Gitea sends the legacy SHA-1 signature too; receivers must ignore it.
            ["X-Hub-Signature"] = sha1,
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

        var (status, error) = await WebhookPoster.TryPostAsync(_webhookClient, target, delivery.Body, delivery.Headers, cancellationToken).ConfigureAwait(false);
        var attempt = new SimDeliveryAttempt(delivery, status, error, isRedelivery);

        lock (_gate)
        {
            _attempts.Add(attempt);
        }

        return attempt;
    }

    // ---------------------------------------------------------------- REST

    private void Map(IEndpointRouteBuilder app, SimulatorHost host)
    {
        void Route(string method, string suffix, Func<Call, Task> handler) =>
            app.MapMethods("/api/v1/repos/{owner}/{repo}/" + suffix, [method], context => DispatchAsync(context, host, handler));

        Route("GET", "issues", ListIssuesAsync);
        Route("POST", "issues", CreateIssueAsync);
        Route("PATCH", "issues/{number:int}", EditIssueAsync);
        Route("GET", "issues/{number:int}/comments", ListCommentsAsync);
        Route("POST", "issues/{number:int}/comments", CreateCommentAsync);
        Route("POST", "issues/{number:int}/labels", AddIssueLabelsAsync);
        Route("DELETE", "issues/{number:int}/labels/{id:long}", RemoveIssueLabelAsync);
        Route("GET", "labels", ListLabelsAsync);
        Route("POST", "labels", CreateLabelAsync);
        Route("GET", "pulls", ListPullsAsync);
        Route("POST", "pulls", CreatePullAsync);
        Route("GET", "pulls/{number:int}", GetPullAsync);
        Route("GET", "commits/{ref}/status", CombinedStatusAsync);
        Route("GET", "actions/runs", ListRunsAsync);
        MapRepositoryHooks(Route);
    }

    private sealed record Call(HttpContext Context, SimulatorHost Host, RepoState Repo)
    {
        public void Unexpected(string why) =>
            Host.RecordUnexpected($"gitea: {Context.Request.Method} {Context.Request.Path}{Context.Request.QueryString}: {why}");

        public int Number => int.Parse((string)Context.GetRouteValue("number")!, CultureInfo.InvariantCulture);
    }

    private async Task DispatchAsync(HttpContext context, SimulatorHost host, Func<Call, Task> handler)
    {
        RepoState? repo;
        lock (_gate)
        {
            repo = _repos.GetValueOrDefault($"{context.GetRouteValue("owner")}/{context.GetRouteValue("repo")}");
        }

        if (repo is null)
        {
            host.RecordUnexpected($"gitea: {context.Request.Method} {context.Request.Path}: unknown repository");
            await NotFoundAsync(context).ConfigureAwait(false);
            return;
        }

        await handler(new Call(context, host, repo)).ConfigureAwait(false);
    }

    private async Task ListIssuesAsync(Call call)
    {
        var q = Query(call, "state", "type", "limit", "page");
        var state = Enum(call, q, "state", "open", "open", "closed", "all");
        var type = Enum(call, q, "type", "", "", "issues", "pulls");
        if (state is null || type is null || !Paging(call, q, out var limit, out var page))
        {
            await ValidationAsync(call.Context, "invalid query").ConfigureAwait(false);
            return;
        }

        List<JsonNode> items;
        lock (_gate)
        {
            items = call.Repo.Items
                .Where(i => state == "all" || i.State == state)
                .Where(i => type == "" || (type == "pulls") == i.IsPull)
                .OrderByDescending(i => i.Number)
                .Select(i => (JsonNode)IssueJson(call.Repo, i))
                .ToList();
        }

        await PageAsync(call, items, limit, page).ConfigureAwait(false);
    }

    private async Task CreateIssueAsync(Call call)
    {
        var body = await BodyAsync(call, "title", "body").ConfigureAwait(false);
        if (body?["title"]?.GetValue<string>() is not { Length: > 0 } title)
        {
            call.Unexpected("no title");
            await ValidationAsync(call.Context, "[Title]: Required").ConfigureAwait(false);
            return;
        }

        JsonNode json;
        lock (_gate)
        {
            var item = NewItem(call.Repo, call.Repo.Items.Count + 1, title, body["body"]?.GetValue<string>() ?? "", isPull: false, null, null);
            json = IssueJson(call.Repo, item);
        }

        await WriteAsync(call.Context, 201, json).ConfigureAwait(false);
    }

    private async Task EditIssueAsync(Call call)
    {
        var body = await BodyAsync(call, "state", "title", "body").ConfigureAwait(false);
        var state = body?["state"]?.GetValue<string>();
        if (body is null || (state is not null && state is not ("open" or "closed")))
        {
            call.Unexpected("bad body");
            await ValidationAsync(call.Context, "invalid state").ConfigureAwait(false);
            return;
        }

        JsonNode? json = null;
        lock (_gate)
        {
            if (Find(call.Repo, call.Number) is { } item)
            {
                if (state is not null && state != item.State)
                {
                    item.State = state;
                    item.ClosedAt = state == "closed" ? DateTimeOffset.UtcNow : null;
                }

                item.Title = body["title"]?.GetValue<string>() ?? item.Title;
                item.Body = body["body"]?.GetValue<string>() ?? item.Body;
                item.UpdatedAt = DateTimeOffset.UtcNow;
                json = IssueJson(call.Repo, item);
            }
        }

        await (json is null ? NotFoundAsync(call.Context) : WriteAsync(call.Context, 201, json)).ConfigureAwait(false);
    }

    private async Task ListCommentsAsync(Call call)
    {
        // The swagger gives this route since/before only; no paging.
        Query(call);
        JsonNode? json = null;
        lock (_gate)
        {
            if (Find(call.Repo, call.Number) is { } item)
            {
                json = new JsonArray(item.Comments.Select(c => (JsonNode)CommentJson(call.Repo, item, c)).ToArray());
            }
        }

        await (json is null ? NotFoundAsync(call.Context) : WriteAsync(call.Context, 200, json)).ConfigureAwait(false);
    }

    private async Task CreateCommentAsync(Call call)
    {
        var body = await BodyAsync(call, "body").ConfigureAwait(false);
        if (body?["body"]?.GetValue<string>() is not { } text)
        {
            call.Unexpected("no body");
            await ValidationAsync(call.Context, "[Body]: Required").ConfigureAwait(false);
            return;
        }

        JsonNode? json = null;
        lock (_gate)
        {
            if (Find(call.Repo, call.Number) is { } item)
            {
                var comment = new CommentState(NextId(), text, ActorLogin, DateTimeOffset.UtcNow);
                item.Comments.Add(comment);
                json = CommentJson(call.Repo, item, comment);
            }
        }

        await (json is null ? NotFoundAsync(call.Context) : WriteAsync(call.Context, 201, json)).ConfigureAwait(false);
    }

    private async Task ListLabelsAsync(Call call)
    {
        var q = Query(call, "limit", "page");
        if (!Paging(call, q, out var limit, out var page))
        {
            await ValidationAsync(call.Context, "invalid paging").ConfigureAwait(false);
            return;
        }

        List<JsonNode> items;
        lock (_gate)
        {
            items = call.Repo.Labels.Select(l => (JsonNode)LabelJson(call.Repo, l)).ToList();
        }

        await PageAsync(call, items, limit, page).ConfigureAwait(false);
    }

    private async Task CreateLabelAsync(Call call)
    {
        var body = await BodyAsync(call, "name", "color", "description", "exclusive", "is_archived").ConfigureAwait(false);
        var name = body?["name"]?.GetValue<string>();
        var color = body?["color"]?.GetValue<string>();
        if (string.IsNullOrEmpty(name) || color is null || !System.Text.RegularExpressions.Regex.IsMatch(color, "^#?[0-9a-fA-F]{6}$"))
        {
            call.Unexpected("label needs name and a #rrggbb color");
            await ValidationAsync(call.Context, "[Color]: Required").ConfigureAwait(false);
            return;
        }

        JsonNode json;
        lock (_gate)
        {
            var label = new LabelState(NextId(), name, color.StartsWith('#') ? color : "#" + color);
            call.Repo.Labels.Add(label);
            json = LabelJson(call.Repo, label);
        }

        await WriteAsync(call.Context, 201, json).ConfigureAwait(false);
    }

    private async Task AddIssueLabelsAsync(Call call)
    {
        var body = await BodyAsync(call, "labels").ConfigureAwait(false);
        if (body?["labels"] is not JsonArray ids || ids.Any(i => i?.GetValueKind() != JsonValueKind.Number))
        {
            call.Unexpected("labels must be an array of ids");
            await ValidationAsync(call.Context, "invalid labels").ConfigureAwait(false);
            return;
        }

        JsonNode? json = null;
        lock (_gate)
        {
            if (Find(call.Repo, call.Number) is { } item)
            {
                foreach (var id in ids.Select(i => i!.GetValue<long>()))
                {
                    if (call.Repo.Labels.FirstOrDefault(l => l.Id == id) is { } label)
                    {
                        item.LabelIds.Add(label.Id);
                    }
                    else
                    {
                        call.Unexpected($"label id {id} does not exist");
                    }
                }

                json = new JsonArray(call.Repo.Labels.Where(l => item.LabelIds.Contains(l.Id)).Select(l => (JsonNode)LabelJson(call.Repo, l)).ToArray());
            }
        }

        await (json is null ? NotFoundAsync(call.Context) : WriteAsync(call.Context, 200, json)).ConfigureAwait(false);
    }

    private async Task RemoveIssueLabelAsync(Call call)
    {
        var id = long.Parse((string)call.Context.GetRouteValue("id")!, CultureInfo.InvariantCulture);
        bool found;
        bool labelExists;
        lock (_gate)
        {
            var item = Find(call.Repo, call.Number);
            found = item is not null;
            labelExists = call.Repo.Labels.Any(l => l.Id == id);
            item?.LabelIds.Remove(id);
        }

        if (!found)
        {
            await NotFoundAsync(call.Context).ConfigureAwait(false);
        }
        else if (!labelExists)
        {
            call.Unexpected($"label id {id} does not exist");
            await ValidationAsync(call.Context, "label does not exist").ConfigureAwait(false);
        }
        else
        {
            call.Context.Response.StatusCode = 204;
        }
    }

    private async Task ListPullsAsync(Call call)
    {
        var q = Query(call, "state", "sort", "limit", "page");
        var state = Enum(call, q, "state", "open", "open", "closed", "all");
        var sort = Enum(call, q, "sort", "recentupdate", "oldest", "recentupdate", "recentclose", "leastupdate", "mostcomment", "leastcomment", "priority");
        if (state is null || sort is null || !Paging(call, q, out var limit, out var page))
        {
            await ValidationAsync(call.Context, "invalid query").ConfigureAwait(false);
            return;
        }

        if (sort is not ("recentupdate" or "oldest"))
        {
            call.Unexpected($"sort={sort} is not simulated");
        }

        List<JsonNode> items;
        lock (_gate)
        {
            var pulls = call.Repo.Items.Where(i => i.IsPull && (state == "all" || i.State == state));
            pulls = sort == "oldest" ? pulls.OrderBy(i => i.Number) : pulls.OrderByDescending(i => i.UpdatedAt).ThenByDescending(i => i.Number);
            items = pulls.Select(i => (JsonNode)PullJson(call.Repo, i)).ToList();
        }

        await PageAsync(call, items, limit, page).ConfigureAwait(false);
    }

    private async Task CreatePullAsync(Call call)
    {
        var body = await BodyAsync(call, "title", "body", "head", "base").ConfigureAwait(false);
        string? Str(string name) => body?[name]?.GetValue<string>();
        if (Str("title") is not { Length: > 0 } title || Str("head") is not { Length: > 0 } head || Str("base") is not { Length: > 0 } @base)
        {
            call.Unexpected("title, head and base are required");
            await ValidationAsync(call.Context, "[Title] [Head] [Base]: Required").ConfigureAwait(false);
            return;
        }

        JsonNode? json = null;
        lock (_gate)
        {
            if (!call.Repo.Items.Any(i => i.IsPull && i.State == "open" && i.HeadRef == head && i.BaseRef == @base))
            {
                var item = NewItem(call.Repo, call.Repo.Items.Count + 1, title, Str("body") ?? "", isPull: true, head, @base);
                json = PullJson(call.Repo, item);
            }
        }

        if (json is null)
        {
            // Gitea: 409 "pull request already exists for these targets".
            await ErrorAsync(call.Context, 409, $"pull request already exists for these targets [head: {head}, base: {@base}]").ConfigureAwait(false);
            return;
        }

        await WriteAsync(call.Context, 201, json).ConfigureAwait(false);
    }

    private async Task GetPullAsync(Call call)
    {
        Query(call);
        JsonNode? json = null;
        lock (_gate)
        {
            if (Find(call.Repo, call.Number) is { IsPull: true } item)
            {
                json = PullJson(call.Repo, item);
            }
        }

        await (json is null ? NotFoundAsync(call.Context) : WriteAsync(call.Context, 200, json)).ConfigureAwait(false);
    }

    private async Task CombinedStatusAsync(Call call)
    {
        var q = Query(call, "limit", "page");
        if (!Paging(call, q, out var limit, out var page))
        {
            await ValidationAsync(call.Context, "invalid paging").ConfigureAwait(false);
            return;
        }

        var sha = (string)call.Context.GetRouteValue("ref")!;
        JsonObject json;
        int total;
        lock (_gate)
        {
            // Latest status per context, as Gitea's GetLatestCommitStatus.
            var latest = call.Repo.Statuses.Where(s => s.Sha == sha).GroupBy(s => s.Context).Select(g => g.Last()).OrderBy(s => s.Id).ToList();
            total = latest.Count;
            var pageItems = latest.Skip((page - 1) * limit).Take(limit).ToList();
            json = new JsonObject
            {
                ["state"] = CombinedState(latest.Select(s => s.State)),
                ["sha"] = sha,
                ["total_count"] = total,
                ["statuses"] = new JsonArray(pageItems.Select(s => (JsonNode)StatusJson(call.Repo, s)).ToArray()),
                ["repository"] = RepoJson(call.Repo),
                ["commit_url"] = $"{Api(call.Repo)}/git/commits/{sha}",
                ["url"] = $"{Api(call.Repo)}/commits/{sha}/status",
            };
        }

        await WriteAsync(call.Context, 200, json, Links(call, total, limit, page)).ConfigureAwait(false);
    }

    private async Task ListRunsAsync(Call call)
    {
        var q = Query(call, "head_sha", "limit", "page");
        if (!Paging(call, q, out var limit, out var page))
        {
            await ValidationAsync(call.Context, "invalid paging").ConfigureAwait(false);
            return;
        }

        JsonObject json;
        int total;
        lock (_gate)
        {
            var runs = call.Repo.Runs.Where(r => !q.TryGetValue("head_sha", out var sha) || r.Sha == sha).OrderByDescending(r => r.Id).ToList();
            total = runs.Count;
            json = new JsonObject
            {
                ["total_count"] = total,
                ["workflow_runs"] = new JsonArray(runs.Skip((page - 1) * limit).Take(limit).Select(r => (JsonNode)RunJson(call.Repo, r)).ToArray()),
            };
        }

        await WriteAsync(call.Context, 200, json, Links(call, total, limit, page)).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- request helpers

    private static Dictionary<string, string> Query(Call call, params string[] supported)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in call.Context.Request.Query)
        {
            if (!supported.Contains(key))
            {
                call.Unexpected($"query parameter '{key}' is not supported here");
                continue;
            }

            result[key] = value.ToString();
        }

        return result;
    }

    private static string? Enum(Call call, Dictionary<string, string> q, string name, string fallback, params string[] allowed)
    {
        if (!q.TryGetValue(name, out var value))
        {
            return fallback;
        }

        if (allowed.Contains(value))
        {
            return value;
        }

        call.Unexpected($"{name}={value} is not one of {string.Join(", ", allowed)}");
        return null;
    }

    private static bool Paging(Call call, Dictionary<string, string> q, out int limit, out int page)
    {
        limit = DefaultLimit;
        page = 1;
        if (q.TryGetValue("limit", out var l) && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1))
        {
            call.Unexpected($"limit={l} is not a positive integer");
            return false;
        }

        if (q.TryGetValue("page", out var p) && (!int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out page) || page < 1))
        {
            call.Unexpected($"page={p} is not a positive integer");
            return false;
        }

        limit = Math.Min(limit, MaxLimit);
        return true;
    }

    private static async Task<JsonObject?> BodyAsync(Call call, params string[] supported)
    {
        Query(call);
        JsonNode? node;
        try
        {
            node = await JsonNode.ParseAsync(call.Context.Request.Body, cancellationToken: call.Context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            call.Unexpected($"body is not JSON: {e.Message}");
            return null;
        }

        if (node is not JsonObject body)
        {
            call.Unexpected("body is not a JSON object");
            return null;
        }

        foreach (var key in body.Select(p => p.Key).Where(k => !supported.Contains(k)))
        {
            call.Unexpected($"body field '{key}' is not simulated");
        }

        return body;
    }

    private async Task PageAsync(Call call, List<JsonNode> items, int limit, int page) =>
        await WriteAsync(call.Context, 200, new JsonArray(items.Skip((page - 1) * limit).Take(limit).ToArray()), Links(call, items.Count, limit, page)).ConfigureAwait(false);

    /// <summary>Gitea's <c>SetLinkHeader</c>: next/last when not on the last page, first/prev when past the first; and X-Total-Count.</summary>
    private (string? Link, int Total) Links(Call call, int total, int limit, int page)
    {
        var last = Math.Max(1, (total + limit - 1) / limit);
        var request = call.Context.Request;
        string Url(int p)
        {
            var query = request.Query.Where(kv => kv.Key != "page").Select(kv => $"{kv.Key}={Uri.EscapeDataString(kv.Value.ToString())}").Append($"page={p}");
            return $"<{BaseUrl.GetLeftPart(UriPartial.Authority)}{request.Path}?{string.Join('&', query)}>";
        }

        var links = new List<string>();
        if (page < last)
        {
            links.Add($"{Url(page + 1)}; rel=\"next\"");
            links.Add($"{Url(last)}; rel=\"last\"");
        }

        if (page > 1)
        {
            links.Add($"{Url(1)}; rel=\"first\"");
            links.Add($"{Url(page - 1)}; rel=\"prev\"");
        }

        return (links.Count == 0 ? null : string.Join(',', links), total);
    }

    private static Task WriteAsync(HttpContext context, int status, JsonNode body, (string? Link, int Total)? paging = null)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json;charset=utf-8";
        if (paging is { } p)
        {
            context.Response.Headers["X-Total-Count"] = p.Total.ToString(CultureInfo.InvariantCulture);
            if (p.Link is not null)
            {
                context.Response.Headers["Link"] = p.Link;
            }
        }

        return context.Response.WriteAsync(body.ToJsonString(Compact) + "\n", context.RequestAborted);
    }

    private static Task ErrorAsync(HttpContext context, int status, string message) =>
        WriteAsync(context, status, new JsonObject { ["message"] = message, ["url"] = "https://docs.gitea.com/api/1.25/" });

    private static Task ValidationAsync(HttpContext context, string message) => ErrorAsync(context, 422, message);

    private static Task NotFoundAsync(HttpContext context) =>
        WriteAsync(context, 404, new JsonObject { ["errors"] = new JsonArray(), ["message"] = "The target couldn't be found.", ["url"] = "https://docs.gitea.com/api/1.25/" });

    // ---------------------------------------------------------------- JSON shapes

    private static JsonObject LoadTemplate()
    {
        var assembly = typeof(GiteaSimulator).Assembly;
        var name = assembly.GetManifestResourceNames().Single(n => n.EndsWith(Template, StringComparison.Ordinal) && n.Contains("gitea", StringComparison.Ordinal));
        using var stream = assembly.GetManifestResourceStream(name)!;
        return (JsonObject)JsonNode.Parse(stream)!;
    }

    private string Api(RepoState r) => $"{BaseUrl}api/v1/repos/{r.FullName}";

    /// <summary>Clones a template object and moves every gitea.com URL and the template repository onto this simulator.</summary>
    private JsonObject Rewrite(JsonNode node, RepoState r)
    {
        var host = BaseUrl.Authority;
        var text = node.ToJsonString()
            .Replace("https://gitea.com/", BaseUrl.ToString(), StringComparison.Ordinal)
            .Replace("git@gitea.com:", $"git@{BaseUrl.Host}:", StringComparison.Ordinal)
            .Replace("anbraten/test-repo", r.FullName, StringComparison.Ordinal)
            .Replace("gitea.com", host, StringComparison.Ordinal);
        return (JsonObject)JsonNode.Parse(text)!;
    }

    private JsonObject UserJson(string login)
    {
        var user = (JsonObject)_template["sender"]!.DeepClone();
        user["id"] = StableId(login);
        user["login"] = login;
        user["username"] = login;
        user["email"] = $"{login}@noreply.localhost";
        user["avatar_url"] = $"{BaseUrl}avatars/{login}";
        return user;
    }

    private JsonObject RepoJson(RepoState r)
    {
        var repo = Rewrite(_template["repository"]!, r);
        repo["id"] = r.Id;
        repo["name"] = r.Name;
        repo["full_name"] = r.FullName;
        repo["owner"] = UserJson(r.Owner);
        repo["open_issues_count"] = r.Items.Count(i => !i.IsPull && i.State == "open");
        repo["open_pr_counter"] = r.Items.Count(i => i.IsPull && i.State == "open");
        return repo;
    }

    private JsonObject IssueJson(RepoState r, ItemState i) => new()
    {
        ["id"] = i.Id,
        ["url"] = $"{Api(r)}/issues/{i.Number}",
        ["html_url"] = HtmlUrl(r, i),
        ["number"] = i.Number,
        ["user"] = UserJson(i.Author),
        ["original_author"] = "",
        ["original_author_id"] = 0,
        ["title"] = i.Title,
        ["body"] = i.Body,
        ["ref"] = "",
        ["assets"] = new JsonArray(),
        ["labels"] = new JsonArray(r.Labels.Where(l => i.LabelIds.Contains(l.Id)).Select(l => (JsonNode)LabelJson(r, l)).ToArray()),
        ["milestone"] = null,
        ["assignee"] = null,
        ["assignees"] = null,
        ["state"] = i.State,
        ["is_locked"] = false,
        ["comments"] = i.Comments.Count,
        ["created_at"] = Time(i.CreatedAt),
        ["updated_at"] = Time(i.UpdatedAt),
        ["closed_at"] = i.ClosedAt is { } c ? Time(c) : null,
        ["due_date"] = null,
        ["time_estimate"] = 0,
        ["pull_request"] = i.IsPull
            ? new JsonObject { ["merged"] = i.Merged, ["merged_at"] = i.Merged ? Time(i.UpdatedAt) : null, ["draft"] = false, ["html_url"] = HtmlUrl(r, i) }
            : null,
        ["repository"] = new JsonObject { ["id"] = r.Id, ["name"] = r.Name, ["owner"] = r.Owner, ["full_name"] = r.FullName },
        ["pin_order"] = 0,
    };

    private JsonObject PullJson(RepoState r, ItemState i)
    {
        var pr = Rewrite(_template["pull_request"]!, r);
        var url = HtmlUrl(r, i);
        pr["id"] = i.Id;
        pr["url"] = url;
        pr["number"] = i.Number;
        pr["user"] = UserJson(i.Author);
        pr["title"] = i.Title;
        pr["body"] = i.Body;
        pr["labels"] = new JsonArray(r.Labels.Where(l => i.LabelIds.Contains(l.Id)).Select(l => (JsonNode)LabelJson(r, l)).ToArray());
        pr["state"] = i.State;
        pr["comments"] = i.Comments.Count;
        pr["html_url"] = url;
        pr["diff_url"] = url + ".diff";
        pr["patch_url"] = url + ".patch";
        pr["mergeable"] = i.State == "open";
        pr["merged"] = i.Merged;
        pr["merged_at"] = i.Merged ? Time(i.UpdatedAt) : null;
        pr["merge_commit_sha"] = i.MergeCommitSha;
        pr["merged_by"] = i.Merged ? UserJson(ActorLogin) : null;
        pr["merge_base"] = r.MainSha;
        pr["created_at"] = Time(i.CreatedAt);
        pr["updated_at"] = Time(i.UpdatedAt);
        pr["closed_at"] = i.ClosedAt is { } c ? Time(c) : null;
        foreach (var (side, @ref, sha) in new[] { ("head", i.HeadRef!, i.HeadSha!), ("base", i.BaseRef!, r.MainSha) })
        {
            var branch = (JsonObject)pr[side]!;
            branch["label"] = @ref;
            branch["ref"] = @ref;
            branch["sha"] = sha;
            branch["repo_id"] = r.Id;
            branch["repo"] = RepoJson(r);
        }

        return pr;
    }

    private JsonObject PullPayload(RepoState r, ItemState i, string action)
    {
        var payload = (JsonObject)_template.DeepClone();
        payload["action"] = action;
        payload["number"] = i.Number;
        payload["pull_request"] = PullJson(r, i);
        payload["requested_reviewer"] = null;
        payload["repository"] = RepoJson(r);
        payload["sender"] = UserJson(ActorLogin);
        payload["commit_id"] = "";
        payload["review"] = null;
        return payload;
    }

    private JsonObject CommentJson(RepoState r, ItemState i, CommentState c) => new()
    {
        ["id"] = c.Id,
        ["html_url"] = $"{HtmlUrl(r, i)}#issuecomment-{c.Id}",
        ["pull_request_url"] = i.IsPull ? HtmlUrl(r, i) : "",
        ["issue_url"] = i.IsPull ? "" : HtmlUrl(r, i),
        ["user"] = UserJson(c.Author),
        ["original_author"] = "",
        ["original_author_id"] = 0,
        ["body"] = c.Body,
        ["assets"] = new JsonArray(),
        ["created_at"] = Time(c.CreatedAt),
        ["updated_at"] = Time(c.CreatedAt),
    };

    private JsonObject LabelJson(RepoState r, LabelState l) => new()
    {
        ["id"] = l.Id,
        ["name"] = l.Name,
        ["exclusive"] = false,
        ["is_archived"] = false,
        ["color"] = l.Color.TrimStart('#'),
        ["description"] = "",
        ["url"] = $"{Api(r)}/labels/{l.Id}",
    };

    private JsonObject StatusJson(RepoState r, StatusState s) => new()
    {
        ["id"] = s.Id,
        ["status"] = s.State,
        ["target_url"] = s.TargetUrl,
        ["description"] = "",
        ["url"] = $"{Api(r)}/statuses/{s.Sha}",
        ["context"] = s.Context,
        ["creator"] = UserJson(ActorLogin),
        ["created_at"] = Time(s.CreatedAt),
        ["updated_at"] = Time(s.CreatedAt),
    };

    private JsonObject RunJson(RepoState r, RunState run) => new()
    {
        ["id"] = run.Id,
        ["url"] = $"{Api(r)}/actions/runs/{run.Id}",
        ["html_url"] = $"{BaseUrl}{r.FullName}/actions/runs/{run.Number}",
        ["display_title"] = run.Title,
        ["path"] = "ci.yml@refs/heads/main",
        ["event"] = "push",
        ["run_attempt"] = 1,
        ["run_number"] = run.Number,
        ["repository_id"] = r.Id,
        ["head_sha"] = run.Sha,
        ["head_branch"] = "main",
        ["status"] = run.Status,
        ["conclusion"] = run.Conclusion ?? "",
        ["actor"] = UserJson(ActorLogin),
        ["trigger_actor"] = UserJson(ActorLogin),
        ["repository"] = RepoJson(r),
        ["head_repository"] = RepoJson(r),
        ["started_at"] = Time(DateTimeOffset.UtcNow),
        ["completed_at"] = run.Status == "completed" ? Time(DateTimeOffset.UtcNow) : "0001-01-01T00:00:00Z",
    };

    /// <summary>Gitea's combined state: any pending → pending; else any error/failure → failure…; else success (an approximation of <c>CalcCommitStatus</c>).</summary>
    private static string CombinedState(IEnumerable<string> states)
    {
        var all = states.ToList();
        return all.Count == 0 ? "pending"
            : all.Contains("error") ? "error"
            : all.Contains("failure") ? "failure"
            : all.Contains("pending") ? "pending"
            : all.Contains("warning") ? "warning"
            : "success";
    }

    private string HtmlUrl(RepoState r, ItemState i) => $"{BaseUrl}{r.FullName}/{(i.IsPull ? "pulls" : "issues")}/{i.Number}";

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static long StableId(string login) => 1 + (Math.Abs(login.GetHashCode(StringComparison.OrdinalIgnoreCase)) % 100_000);

    // ---------------------------------------------------------------- state

    private RepoState Repo(string fullName) =>
        _repos.GetValueOrDefault(fullName) ?? throw new ArgumentException($"Unknown repository '{fullName}'.", nameof(fullName));

    private static ItemState? Find(RepoState r, int number) => r.Items.FirstOrDefault(i => i.Number == number);

    private static ItemState Pull(RepoState r, int number) =>
        Find(r, number) is { IsPull: true } item ? item : throw new ArgumentException($"#{number} is not a pull request of {r.FullName}.", nameof(number));

    private ItemState NewItem(RepoState r, int number, string title, string body, bool isPull, string? head, string? @base)
    {
        var now = DateTimeOffset.UtcNow;
        var item = new ItemState(NextId(), number, isPull, ActorLogin, now)
        {
            Title = title,
            Body = body,
            HeadRef = head,
            BaseRef = @base,
            HeadSha = isPull ? NewSha() : null,
            UpdatedAt = now,
        };
        r.Items.Add(item);
        return item;
    }

    private long NextId() => Interlocked.Increment(ref _nextId);

    private static string NewSha() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));

    private GiteaSimItem ToSim(RepoState r, ItemState i) =>
        new(i.Number, i.Title, i.Body, i.State, i.IsPull, i.HeadRef, i.HeadSha, i.Merged, i.MergeCommitSha, HtmlUrl(r, i),
            r.Labels.Where(l => i.LabelIds.Contains(l.Id)).Select(l => l.Name).ToArray());

    private sealed record RepoState(string Owner, string Name, long Id, string InitialSha)
    {
        public string FullName => $"{Owner}/{Name}";

        public string MainSha { get; set; } = InitialSha;

        public List<ItemState> Items { get; } = [];

        public List<LabelState> Labels { get; } = [];

        public List<StatusState> Statuses { get; } = [];

        public List<RunState> Runs { get; } = [];
    }

    private sealed class ItemState(long id, int number, bool isPull, string author, DateTimeOffset createdAt)
    {
        public long Id { get; } = id;

        public int Number { get; } = number;

        public bool IsPull { get; } = isPull;

        public string Author { get; } = author;

        public DateTimeOffset CreatedAt { get; } = createdAt;

        public required string Title { get; set; }

        public required string Body { get; set; }

        public string State { get; set; } = "open";

        public string? HeadRef { get; init; }

        public string? BaseRef { get; init; }

        public string? HeadSha { get; init; }

        public bool Merged { get; set; }

        public string? MergeCommitSha { get; set; }

        public DateTimeOffset UpdatedAt { get; set; }

        public DateTimeOffset? ClosedAt { get; set; }

        public List<CommentState> Comments { get; } = [];

        public HashSet<long> LabelIds { get; } = [];
    }

    private sealed record CommentState(long Id, string Body, string Author, DateTimeOffset CreatedAt);

    private sealed record LabelState(long Id, string Name, string Color);

    private sealed record StatusState(long Id, string Sha, string Context, string State, string TargetUrl, DateTimeOffset CreatedAt);

    private sealed record RunState(long Id, int Number, string Sha, string Title, string Status, string? Conclusion);
}

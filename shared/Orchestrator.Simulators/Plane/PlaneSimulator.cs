using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Orchestrator.Simulators.Plane;

/// <summary>
/// An in-memory Plane (Community Edition, API v1) on loopback: the REST endpoints the orchestrator
/// calls and a webhook sender that produces Plane's v1 deliveries byte-for-byte.
/// </summary>
/// <remarks>
/// <para>
/// Modelled on <c>makeplane/plane</c> @ <c>4ca6d6c7b807ad09bb571af2c43e85bf47c3ec6b</c> (2026-05-19):
/// routes from <c>apps/api/plane/api/urls/work_item.py</c> and <c>urls/state.py</c>, views from
/// <c>api/views/issue.py</c> and <c>views/state.py</c>, shapes from <c>api/serializers/issue.py</c> and
/// <c>serializers/state.py</c>, pagination from <c>utils/paginator.py</c>, errors from
/// <c>api/views/base.py</c> and <c>authentication/adapter/exception.py</c>, webhooks from
/// <c>bgtasks/webhook_task.py</c>. API reference: https://developers.plane.so/api-reference/introduction.
/// </para>
/// <para>Routes (all under <c>/api/v1/workspaces/{slug}/projects/{project_id}/</c>, trailing slash required,
/// <c>issues/</c> accepted as the deprecated alias of <c>work-items/</c>):</para>
/// <list type="bullet">
/// <item><c>GET work-items/</c> (paginated, live items, <c>order_by</c> <c>[-]created_at|updated_at|sequence_id</c>, default
/// <c>-created_at</c>, same <c>expand</c> as below).</item>
/// <item><c>GET work-items/{id}/</c> with optional <c>?expand=labels,state,assignees</c> (200; labels become
/// full label objects, state a <c>{id,name,color,group}</c> object; otherwise UUIDs).</item>
/// <item><c>PATCH work-items/{id}/</c> with any of <c>state</c>, <c>name</c>, <c>description_html</c> (200, unexpanded work item).</item>
/// <item><c>GET work-items/{id}/comments/</c> (paginated, newest first), <c>GET …/comments/{comment_id}/</c>,
/// <c>POST work-items/{id}/comments/</c> (201; 409 with <c>{"error","id"}</c> when <c>external_source</c> +
/// <c>external_id</c> already exist in the project).</item>
/// <item><c>GET states/</c> (paginated, ordered by <c>sequence</c>).</item>
/// </list>
/// <para>
/// Errors use Plane's real status codes, and every one of them is also recorded with
/// <see cref="SimulatorHost.RecordUnexpected"/> so a test that provokes one by mistake fails:
/// missing <c>X-Api-Key</c> → 401 <c>{"detail": "Authentication credentials were not provided."}</c>;
/// wrong key → 403 <c>{"detail": "Given API token is not valid"}</c> (DRF turns <c>AuthenticationFailed</c>
/// into 403 because <c>APIKeyAuthentication</c> sends no <c>WWW-Authenticate</c>; Plane's handler only
/// rewrites <c>NotAuthenticated</c> to 401); unknown workspace or project → 403 (the project-member
/// permission check fails before any lookup); unknown work item → 404
/// <c>{"error": "The requested resource does not exist."}</c>. Faults queued with
/// <see cref="InjectFault"/> are deliberate and not recorded.
/// </para>
/// </remarks>
public sealed partial class PlaneSimulator : IAsyncDisposable
{
    private static readonly string[] LabelColors = ["#5e6ad2", "#26b5ce", "#f2c94c", "#eb5757", "#6fcf97", "#bb87fc"];

    private readonly object _gate = new();
    private readonly string _apiKey;
    private readonly Dictionary<string, ProjectData> _projects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WorkItemData> _workItems = new(StringComparer.Ordinal);
    private readonly List<CommentData> _comments = [];
    private readonly ConcurrentQueue<SimulatedDelivery> _deliveries = new();
    private readonly ConcurrentQueue<(HttpStatusCode Status, TimeSpan? RetryAfter)> _faults = new();
    private readonly ConcurrentBag<Task> _echoes = [];
    private readonly HttpClient _webhookClient = new(new SocketsHttpHandler { AllowAutoRedirect = false })
    {
        // Plane's requests.post(..., timeout=30).
        Timeout = TimeSpan.FromSeconds(30),
    };

    private Uri? _webhookTarget;
    private string? _webhookSecret;
    private long _commentCounter;

    private PlaneSimulator(string apiKey, string workspaceSlug)
    {
        _apiKey = apiKey;
        WorkspaceSlug = workspaceSlug;
        var actor = PlaneWire.Template("issue.created.json")["activity"]!["actor"]!;
        HumanUserId = actor["id"]!.GetValue<string>();
    }

    /// <summary>Root URL of the simulated server, e.g. <c>http://127.0.0.1:41234/</c> (the client's <c>ApiBaseUrl</c>).</summary>
    public Uri BaseUrl => Host.BaseUrl;

    /// <summary>The underlying host: every request received and the unexpected-request list.</summary>
    public SimulatorHost Host { get; private set; } = null!;

    /// <summary>The workspace slug the API answers for (any other slug gets 403).</summary>
    public string WorkspaceSlug { get; }

    /// <summary>Workspace UUID (the <c>workspace</c> field of objects and <c>workspace_id</c> of webhooks).</summary>
    public string WorkspaceId { get; } = NewId();

    /// <summary>UUID of the user that owns the API key (author of comments created through the API).</summary>
    public string ApiUserId { get; } = NewId();

    /// <summary>UUID of the human user who makes the web-app changes (the webhook templates' actor).</summary>
    public string HumanUserId { get; }

    /// <summary>UUID of the configured webhook (<c>webhook_id</c> of deliveries).</summary>
    public string WebhookId { get; } = NewId();

    /// <summary>Clock for <c>created_at</c>/<c>updated_at</c>; defaults to the system clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// When <c>true</c>, changes made through the REST API also produce webhooks, as real Plane does
    /// (<c>model_activity</c>): one <c>issue</c>/<c>updated</c> delivery per changed key of a PATCH body
    /// (<c>activity.field</c> = the key as sent, e.g. <c>state</c>) and an <c>issue_comment</c>/<c>created</c>
    /// delivery per created comment. Sent in the background after the response, like Plane's Celery task;
    /// awaited by <see cref="DisposeAsync"/>. Defaults to <c>false</c>.
    /// </summary>
    public bool EchoApiChangesAsWebhooks { get; set; }

    /// <summary>Every webhook delivery sent (including re-sends), in sending order.</summary>
    public IReadOnlyList<SimulatedDelivery> Deliveries => _deliveries.ToArray();

    /// <summary>Starts the simulator on 127.0.0.1.</summary>
    /// <param name="apiKey">The only <c>X-Api-Key</c> value accepted.</param>
    /// <param name="workspaceSlug">The workspace slug of the URLs, e.g. <c>my-team</c>.</param>
    /// <param name="port">TCP port; 0 picks a free one.</param>
    /// <param name="cancellationToken">Cancels the start-up.</param>
    /// <returns>The running simulator; dispose it to stop.</returns>
    public static async Task<PlaneSimulator> StartAsync(string apiKey, string workspaceSlug, int port = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(apiKey);
        ArgumentException.ThrowIfNullOrEmpty(workspaceSlug);
        var simulator = new PlaneSimulator(apiKey, workspaceSlug);
        simulator.Host = await SimulatorHost.StartAsync("plane", simulator.Map, _ => null, port, cancellationToken);
        return simulator;
    }

    /// <summary>
    /// Creates a project with Plane's default workflow (<c>DEFAULT_STATES</c> of
    /// <c>db/models/state.py</c>): Backlog (backlog, default), Todo (unstarted), In Progress (started),
    /// Done (completed), Cancelled (cancelled), each with a fresh UUID. (Plane also creates a hidden
    /// triage state; the API never lists it, so neither does the simulator.)
    /// </summary>
    /// <param name="projectId">Project UUID.</param>
    /// <param name="identifier">Project key, e.g. <c>PROJ</c>.</param>
    /// <returns>The project.</returns>
    /// <exception cref="ArgumentException">The id is not a UUID or the project exists.</exception>
    public SimProject AddProject(string projectId, string identifier)
    {
        var id = NormalizeUuid(projectId, nameof(projectId));
        ArgumentException.ThrowIfNullOrEmpty(identifier);
        var now = Now();
        var project = new ProjectData(new SimProject(id, identifier), now);
        project.States.AddRange(
        [
            new SimState(NewId(), "Backlog", "#60646C", "backlog", 15000, true),
            new SimState(NewId(), "Todo", "#60646C", "unstarted", 25000, false),
            new SimState(NewId(), "In Progress", "#F59E0B", "started", 35000, false),
            new SimState(NewId(), "Done", "#46A758", "completed", 45000, false),
            new SimState(NewId(), "Cancelled", "#9AA4BC", "cancelled", 55000, false),
        ]);
        lock (_gate)
        {
            if (!_projects.TryAdd(id, project))
            {
                throw new ArgumentException($"Project {id} already exists.", nameof(projectId));
            }
        }

        return project.Project;
    }

    /// <summary>Adds a custom state (e.g. <c>Approved</c> in the <c>started</c> group), as a Plane admin would.</summary>
    /// <param name="projectId">Project UUID.</param>
    /// <param name="name">State name.</param>
    /// <param name="group">State group: backlog, unstarted, started, completed or cancelled.</param>
    /// <returns>The new state.</returns>
    public SimState AddState(string projectId, string name, string group)
    {
        lock (_gate)
        {
            var project = Project(projectId);
            var state = new SimState(NewId(), name, "#888888", group, project.States.Max(x => x.Sequence) + 1000, false);
            project.States.Add(state);
            return state;
        }
    }

    /// <summary>The project's states, ordered by <c>sequence</c> as the API lists them.</summary>
    /// <param name="projectId">Project UUID.</param>
    /// <exception cref="KeyNotFoundException">Unknown project.</exception>
    public IReadOnlyList<SimState> States(string projectId)
    {
        lock (_gate)
        {
            return [.. Project(projectId).States.OrderBy(s => s.Sequence)];
        }
    }

    /// <summary>The project's state with this name, e.g. <c>Done</c>.</summary>
    /// <param name="projectId">Project UUID.</param>
    /// <param name="name">State name (ordinal comparison).</param>
    /// <exception cref="KeyNotFoundException">Unknown project or state.</exception>
    public SimState State(string projectId, string name) =>
        States(projectId).FirstOrDefault(s => s.Name == name)
        ?? throw new KeyNotFoundException($"Project {projectId} has no state named {name}.");

    /// <summary>Returns the UUID of the project's label with this name, creating the label if needed.</summary>
    /// <param name="projectId">Project UUID.</param>
    /// <param name="name">Label name (unique per project, ordinal comparison), e.g. <c>agent:opencode</c>.</param>
    /// <returns>Label UUID.</returns>
    /// <exception cref="KeyNotFoundException">Unknown project.</exception>
    public string EnsureLabel(string projectId, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        lock (_gate)
        {
            return EnsureLabelLocked(Project(projectId), name).Id;
        }
    }

    /// <summary>The project's labels, in creation order.</summary>
    /// <param name="projectId">Project UUID.</param>
    /// <exception cref="KeyNotFoundException">Unknown project.</exception>
    public IReadOnlyList<SimLabel> Labels(string projectId)
    {
        lock (_gate)
        {
            return [.. Project(projectId).Labels.Select(l => l.ToSim())];
        }
    }

    /// <summary>A snapshot of a work item (deleted ones included, with <see cref="SimWorkItem.IsDeleted"/>).</summary>
    /// <param name="id">Work item UUID.</param>
    /// <exception cref="KeyNotFoundException">Unknown work item.</exception>
    public SimWorkItem WorkItem(string id)
    {
        lock (_gate)
        {
            return WorkItemLocked(id).ToSim();
        }
    }

    /// <summary>Sets a work item's <c>updated_at</c> (to test a sync window); sends nothing.</summary>
    /// <param name="workItemId">Work item UUID.</param>
    /// <param name="updatedAt">New time.</param>
    public void SetUpdatedAt(string workItemId, DateTimeOffset updatedAt)
    {
        lock (_gate)
        {
            LiveWorkItem(workItemId).UpdatedAt = updatedAt;
        }
    }

    /// <summary>The work item's comments, oldest first (the API lists them newest first).</summary>
    /// <param name="workItemId">Work item UUID.</param>
    public IReadOnlyList<SimComment> Comments(string workItemId)
    {
        lock (_gate)
        {
            return [.. _comments.Where(c => c.Comment.WorkItemId == workItemId).Select(c => c.Comment)];
        }
    }

    /// <summary>
    /// Sets where webhooks go and the secret they are signed with (Plane's <c>Webhook.url</c> and
    /// <c>secret_key</c>; real secrets look like <c>plane_wh_</c> + 32 hex digits).
    /// </summary>
    /// <param name="target">Absolute URL of the receiver.</param>
    /// <param name="secret">HMAC-SHA256 key (UTF-8).</param>
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
            _webhookTarget = target;
            _webhookSecret = secret;
        }
    }

    /// <summary>
    /// Makes the next authenticated API request (after the key and project checks) fail with
    /// <paramref name="status"/>; queue several to fail several. A 429 answers like Plane's throttle
    /// (<c>{"error_code": 5900, "error_message": "RATE_LIMIT_EXCEEDED"}</c>), anything else with
    /// <c>{"error": "Something went wrong please try again later"}</c>.
    /// </summary>
    /// <param name="status">Status to answer, e.g. 429 or 503.</param>
    /// <param name="retryAfter">Sent as <c>Retry-After</c> in whole seconds when given.</param>
    public void InjectFault(HttpStatusCode status, TimeSpan? retryAfter = null) => _faults.Enqueue((status, retryAfter));

    /// <summary>
    /// A user creates a work item in the web app: stored in the project's default state (or
    /// <paramref name="stateName"/>), with the next sequence id (1, 2, … per project) and the named labels
    /// (created when missing); then an <c>issue</c>/<c>created</c> webhook is sent.
    /// </summary>
    /// <param name="projectId">Project UUID.</param>
    /// <param name="name">Title.</param>
    /// <param name="descriptionHtml">Description HTML, e.g. <c>&lt;p&gt;Add /healthz&lt;/p&gt;</c>.</param>
    /// <param name="labelNames">Label names to attach.</param>
    /// <param name="deliver"><c>false</c> changes the state but sends nothing (a dropped webhook).</param>
    /// <param name="stateName">Initial state name; <c>null</c> = the project's default state (Backlog).</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>The work item, and the delivery with the receiver's status (both <c>null</c> when not delivered).</returns>
    /// <exception cref="InvalidOperationException">Delivering without <see cref="ConfigureWebhook"/>.</exception>
    /// <exception cref="HttpRequestException">The receiver could not be reached (the delivery is still recorded).</exception>
    public async Task<(SimWorkItem WorkItem, SimulatedDelivery? Delivery, HttpStatusCode? Status)> CreateWorkItemAsync(
        string projectId,
        string name,
        string descriptionHtml,
        IEnumerable<string> labelNames,
        bool deliver = true,
        string? stateName = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(labelNames);
        JsonObject payload;
        SimWorkItem snapshot;
        lock (_gate)
        {
            var project = Project(projectId);
            var state = stateName is null
                ? project.States.First(s => s.IsDefault)
                : project.States.FirstOrDefault(s => s.Name == stateName)
                  ?? throw new KeyNotFoundException($"Project {projectId} has no state named {stateName}.");
            var now = Now();
            var item = new WorkItemData(NewId(), project.Project.Id, ++project.LastSequenceId, now)
            {
                Name = name,
                DescriptionHtml = descriptionHtml ?? "",
                StateId = state.Id,
                UpdatedAt = now,
                CreatedBy = HumanUserId,
                UpdatedBy = HumanUserId,
                CompletedAt = state.Group == "completed" ? now : null,
            };
            foreach (var labelName in labelNames.Distinct(StringComparer.Ordinal))
            {
                item.LabelIds.Add(EnsureLabelLocked(project, labelName).Id);
            }

            _workItems.Add(item.Id, item);
            snapshot = item.ToSim();
            payload = IssueEnvelope("issue.created.json", item, null, null, null, HumanActor());
        }

        var (delivery, status) = await MaybeDeliverAsync(deliver, "issue", payload, cancellationToken);
        return (snapshot, delivery, status);
    }

    /// <summary>
    /// A user adds a label in the web app; sends <c>issue</c>/<c>updated</c> with
    /// <c>activity.field = "label_ids"</c> and the label UUID lists before and after.
    /// </summary>
    /// <param name="workItemId">Work item UUID.</param>
    /// <param name="labelName">Label name (created in the project when missing).</param>
    /// <param name="deliver"><c>false</c> changes the state but sends nothing.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>The delivery and the receiver's status, or nulls when not delivered.</returns>
    public async Task<(SimulatedDelivery? Delivery, HttpStatusCode? Status)> AddLabelAsync(
        string workItemId, string labelName, bool deliver = true, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(labelName);
        JsonObject payload;
        lock (_gate)
        {
            var item = LiveWorkItem(workItemId);
            var project = Project(item.ProjectId);
            var before = new JsonArray([.. item.LabelIds.Select(id => (JsonNode)JsonValue.Create(id))]);
            var label = EnsureLabelLocked(project, labelName);
            if (!item.LabelIds.Contains(label.Id))
            {
                item.LabelIds.Add(label.Id);
            }

            Touch(item, HumanUserId);
            var after = new JsonArray([.. item.LabelIds.Select(id => (JsonNode)JsonValue.Create(id))]);
            payload = IssueEnvelope("issue.updated.labels.json", item, "label_ids", after, before, HumanActor());
        }

        return await MaybeDeliverAsync(deliver, "issue", payload, cancellationToken);
    }

    /// <summary>
    /// A user removes a label in the web app; sends <c>issue</c>/<c>updated</c> with
    /// <c>activity.field = "label_ids"</c> and the label UUID lists before and after.
    /// </summary>
    /// <param name="workItemId">Work item UUID.</param>
    /// <param name="labelName">Label name; removing a label the item does not carry changes nothing but still delivers.</param>
    /// <param name="deliver"><c>false</c> changes the state but sends nothing.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>The delivery and the receiver's status, or nulls when not delivered.</returns>
    public async Task<(SimulatedDelivery? Delivery, HttpStatusCode? Status)> RemoveLabelAsync(
        string workItemId, string labelName, bool deliver = true, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(labelName);
        JsonObject payload;
        lock (_gate)
        {
            var item = LiveWorkItem(workItemId);
            var project = Project(item.ProjectId);
            var before = new JsonArray([.. item.LabelIds.Select(id => (JsonNode)JsonValue.Create(id))]);
            if (project.Labels.FirstOrDefault(l => l.Name == labelName) is { } label)
            {
                item.LabelIds.Remove(label.Id);
            }

            Touch(item, HumanUserId);
            var after = new JsonArray([.. item.LabelIds.Select(id => (JsonNode)JsonValue.Create(id))]);
            payload = IssueEnvelope("issue.updated.labels.json", item, "label_ids", after, before, HumanActor());
        }

        return await MaybeDeliverAsync(deliver, "issue", payload, cancellationToken);
    }

    /// <summary>A user edits the description; sends <c>issue</c>/<c>updated</c> with <c>activity.field = "description_html"</c>.</summary>
    /// <param name="workItemId">Work item UUID.</param>
    /// <param name="html">New description HTML.</param>
    /// <param name="deliver"><c>false</c> changes the state but sends nothing.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>The delivery and the receiver's status, or nulls when not delivered.</returns>
    public async Task<(SimulatedDelivery? Delivery, HttpStatusCode? Status)> UpdateDescriptionAsync(
        string workItemId, string html, bool deliver = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(html);
        JsonObject payload;
        lock (_gate)
        {
            var item = LiveWorkItem(workItemId);
            var before = item.DescriptionHtml;
            item.DescriptionHtml = html;
            Touch(item, HumanUserId);
            payload = IssueEnvelope("issue.updated.labels.json", item, "description_html", html, before, HumanActor());
        }

        return await MaybeDeliverAsync(deliver, "issue", payload, cancellationToken);
    }

    /// <summary>A user moves the work item to another state; sends <c>issue</c>/<c>updated</c> with <c>activity.field = "state_id"</c>.</summary>
    /// <param name="workItemId">Work item UUID.</param>
    /// <param name="stateName">Target state name, e.g. <c>Cancelled</c>.</param>
    /// <param name="deliver"><c>false</c> changes the state but sends nothing.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>The delivery and the receiver's status, or nulls when not delivered.</returns>
    public async Task<(SimulatedDelivery? Delivery, HttpStatusCode? Status)> MoveToStateAsync(
        string workItemId, string stateName, bool deliver = true, CancellationToken cancellationToken = default)
    {
        JsonObject payload;
        lock (_gate)
        {
            var item = LiveWorkItem(workItemId);
            var state = Project(item.ProjectId).States.FirstOrDefault(s => s.Name == stateName)
                ?? throw new KeyNotFoundException($"No state named {stateName}.");
            var before = item.StateId;
            SetState(item, state);
            Touch(item, HumanUserId);
            payload = IssueEnvelope("issue.updated.state_id.json", item, "state_id", state.Id, before, HumanActor());
        }

        return await MaybeDeliverAsync(deliver, "issue", payload, cancellationToken);
    }

    /// <summary>A user deletes the work item; sends <c>issue</c>/<c>deleted</c> whose <c>data</c> is only <c>{"id"}</c>.</summary>
    /// <param name="workItemId">Work item UUID.</param>
    /// <param name="deliver"><c>false</c> changes the state but sends nothing.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>The delivery and the receiver's status, or nulls when not delivered.</returns>
    public async Task<(SimulatedDelivery? Delivery, HttpStatusCode? Status)> DeleteWorkItemAsync(
        string workItemId, bool deliver = true, CancellationToken cancellationToken = default)
    {
        JsonObject payload;
        lock (_gate)
        {
            var item = LiveWorkItem(workItemId);
            item.DeletedAt = Now();
            payload = PlaneWire.Template("issue.deleted.json");
            payload["webhook_id"] = WebhookId;
            payload["workspace_id"] = WorkspaceId;
            payload["data"] = new JsonObject { ["id"] = item.Id };
            payload["activity"]!["actor"] = HumanActor();
        }

        return await MaybeDeliverAsync(deliver, "issue", payload, cancellationToken);
    }

    /// <summary>A user comments in the web app; sends <c>issue_comment</c>/<c>created</c>.</summary>
    /// <param name="workItemId">Work item UUID.</param>
    /// <param name="commentHtml">Comment HTML, e.g. <c>&lt;p&gt;/agent opencode&lt;/p&gt;</c>.</param>
    /// <param name="deliver"><c>false</c> stores the comment but sends nothing.</param>
    /// <param name="cancellationToken">Cancels the delivery.</param>
    /// <returns>The comment, and the delivery with the receiver's status (nulls when not delivered).</returns>
    public async Task<(SimComment Comment, SimulatedDelivery? Delivery, HttpStatusCode? Status)> AddCommentAsync(
        string workItemId, string commentHtml, bool deliver = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commentHtml);
        JsonObject payload;
        SimComment comment;
        lock (_gate)
        {
            var item = LiveWorkItem(workItemId);
            var data = AddCommentLocked(item, commentHtml, null, null, HumanUserId);
            comment = data.Comment;
            payload = CommentEnvelope(data, item, HumanActor());
        }

        var (delivery, status) = await MaybeDeliverAsync(deliver, "issue_comment", payload, cancellationToken);
        return (comment, delivery, status);
    }

    /// <summary>
    /// Sends a recorded delivery's exact body again to the configured target, as Plane's Celery retry
    /// does (<c>autoretry_for=RequestException</c>, a new <c>X-Plane-Delivery</c> uuid4 on every attempt).
    /// The re-send is recorded in <see cref="Deliveries"/> too.
    /// </summary>
    /// <param name="delivery">A delivery from <see cref="Deliveries"/>.</param>
    /// <param name="newDeliveryId"><c>true</c> = a fresh <c>X-Plane-Delivery</c> (what Plane does); <c>false</c> = the same one.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The receiver's HTTP status.</returns>
    public async Task<HttpStatusCode> ResendAsync(SimulatedDelivery delivery, bool newDeliveryId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var headers = new Dictionary<string, string>(delivery.Headers, StringComparer.OrdinalIgnoreCase);
        var deliveryId = newDeliveryId ? NewId() : delivery.DeliveryId;
        headers["X-Plane-Delivery"] = deliveryId;
        var again = new SimulatedDelivery(delivery.Event, deliveryId, delivery.Body, headers);
        _deliveries.Enqueue(again);
        return await PostAsync(again, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            await Task.WhenAll(_echoes);
        }
        catch (Exception)
        {
            // Background echoes report nothing to anyone; a dead receiver must not break disposal.
        }

        _webhookClient.Dispose();
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }
    }

    // ---------------------------------------------------------------- webhooks

    private async Task<(SimulatedDelivery? Delivery, HttpStatusCode? Status)> MaybeDeliverAsync(
        bool deliver, string @event, JsonObject payload, CancellationToken cancellationToken)
    {
        if (!deliver)
        {
            return (null, null);
        }

        var delivery = BuildDelivery(@event, payload);
        _deliveries.Enqueue(delivery);
        return (delivery, await PostAsync(delivery, cancellationToken));
    }

    private SimulatedDelivery BuildDelivery(string @event, JsonObject payload)
    {
        string secret;
        lock (_gate)
        {
            secret = _webhookSecret ?? throw new InvalidOperationException("Call ConfigureWebhook before delivering webhooks (or pass deliver: false).");
        }

        // webhook_send_task: body = json.dumps(payload) (also what requests.post(json=payload) sends).
        var body = Encoding.UTF8.GetBytes(PythonJson.DumpsDefault(payload));
        var deliveryId = NewId();
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Content-Type"] = "application/json",
            ["User-Agent"] = "Autopilot",
            ["X-Plane-Delivery"] = deliveryId,
            ["X-Plane-Event"] = @event,
            ["X-Plane-Signature"] = SimulatorHost.HmacHex(secret, body),
        };
        return new SimulatedDelivery(@event, deliveryId, body, headers);
    }

    private async Task<HttpStatusCode> PostAsync(SimulatedDelivery delivery, CancellationToken cancellationToken)
    {
        Uri target;
        lock (_gate)
        {
            target = _webhookTarget ?? throw new InvalidOperationException("Call ConfigureWebhook before delivering webhooks.");
        }

        return await WebhookPoster.PostAsync(_webhookClient, target, delivery.Body, delivery.Headers, cancellationToken, HttpCompletionOption.ResponseHeadersRead);
    }

    private void Echo(string @event, JsonObject payload)
    {
        // Plane's model_activity → webhook_activity → webhook_send_task run in Celery after the
        // response; the simulator sends after the handler returned, off the request thread.
        // Without a configured webhook Plane has nobody to send to, and neither has the simulator.
        lock (_gate)
        {
            if (_webhookTarget is null)
            {
                return;
            }
        }

        var delivery = BuildDelivery(@event, payload);
        _deliveries.Enqueue(delivery);
        _echoes.Add(Task.Run(() => PostAsync(delivery, CancellationToken.None)));
    }

    private JsonObject IssueEnvelope(string template, WorkItemData item, string? field, JsonNode? newValue, JsonNode? oldValue, JsonObject actor)
    {
        var payload = PlaneWire.Template(template);
        payload["webhook_id"] = WebhookId;
        payload["workspace_id"] = WorkspaceId;
        payload["data"] = IssueWebhookData(item);
        var activity = payload["activity"]!.AsObject();
        activity["field"] = field;
        activity["new_value"] = newValue;
        activity["old_value"] = oldValue;
        activity["actor"] = actor;
        return payload;
    }

    /// <summary><c>IssueExpandSerializer</c> with <c>expand=["labels","assignees"]</c>, on the template's key order.</summary>
    private JsonObject IssueWebhookData(WorkItemData item)
    {
        var project = _projects[item.ProjectId];
        var state = project.States.First(s => s.Id == item.StateId);
        var data = PlaneWire.Template("issue.created.json")["data"]!.DeepClone().AsObject();
        data["id"] = item.Id;
        data["labels"] = new JsonArray([.. item.LabelIds.Select(id => (JsonNode)LabelLite(project.LabelById(id)))]);
        data["assignees"] = new JsonArray();
        data["state"] = StateLite(state);
        data["created_at"] = PlaneWire.Timestamp(item.CreatedAt);
        data["updated_at"] = PlaneWire.Timestamp(item.UpdatedAt);
        data["name"] = item.Name;
        data["description_html"] = item.DescriptionHtml;
        data["description_stripped"] = PlaneWire.StripTags(item.DescriptionHtml);
        data["priority"] = item.Priority;
        data["sequence_id"] = item.SequenceId;
        data["completed_at"] = item.CompletedAt is { } done ? PlaneWire.Timestamp(done) : null;
        data["created_by"] = item.CreatedBy;
        data["updated_by"] = item.UpdatedBy;
        data["project"] = item.ProjectId;
        data["workspace"] = WorkspaceId;
        return data;
    }

    private JsonObject CommentEnvelope(CommentData comment, WorkItemData item, JsonObject actor)
    {
        var payload = PlaneWire.Template("issue_comment.created.json");
        payload["webhook_id"] = WebhookId;
        payload["workspace_id"] = WorkspaceId;
        var data = payload["data"]!.AsObject();
        data["id"] = comment.Comment.Id;
        data["created_at"] = PlaneWire.Timestamp(comment.Comment.CreatedAt);
        data["updated_at"] = PlaneWire.Timestamp(comment.Comment.CreatedAt);
        data["comment_html"] = comment.Comment.CommentHtml;
        data["external_source"] = comment.Comment.ExternalSource;
        data["external_id"] = comment.Comment.ExternalId;
        data["created_by"] = comment.Comment.ActorId;
        data["updated_by"] = null;
        data["project"] = item.ProjectId;
        data["workspace"] = WorkspaceId;
        data["issue"] = item.Id;
        data["actor"] = comment.Comment.ActorId;
        data["description"] = comment.DescriptionId;
        payload["activity"]!["actor"] = actor;
        return payload;
    }

    private static JsonObject HumanActor() =>
        PlaneWire.Template("issue.created.json")["activity"]!["actor"]!.DeepClone().AsObject();

    private JsonObject ApiActor()
    {
        var actor = HumanActor();
        actor["id"] = ApiUserId;
        actor["first_name"] = "Orchestrator";
        actor["last_name"] = "Bot";
        actor["email"] = "orchestrator-bot@example.com";
        actor["display_name"] = "orchestrator-bot";
        return actor;
    }

    // ---------------------------------------------------------------- state helpers (callers hold _gate)

    private ProjectData Project(string projectId) =>
        _projects.TryGetValue(projectId, out var project) ? project : throw new KeyNotFoundException($"Unknown project {projectId}.");

    private WorkItemData WorkItemLocked(string id) =>
        _workItems.TryGetValue(id, out var item) ? item : throw new KeyNotFoundException($"Unknown work item {id}.");

    private WorkItemData LiveWorkItem(string id)
    {
        var item = WorkItemLocked(id);
        return item.DeletedAt is null ? item : throw new InvalidOperationException($"Work item {id} is deleted.");
    }

    private WorkItemData? FindLiveWorkItem(string projectId, string workItemId) =>
        _workItems.TryGetValue(workItemId, out var item) && item.ProjectId == projectId && item.DeletedAt is null ? item : null;

    private LabelData EnsureLabelLocked(ProjectData project, string name)
    {
        var label = project.Labels.FirstOrDefault(l => l.Name == name);
        if (label is null)
        {
            // Label.save: sort_order = max + 10000 (65535 for the first).
            var sortOrder = project.Labels.Count == 0 ? 65535.0 : project.Labels.Max(l => l.SortOrder) + 10000;
            label = new LabelData(NewId(), name, LabelColors[project.Labels.Count % LabelColors.Length], sortOrder, Now());
            project.Labels.Add(label);
        }

        return label;
    }

    private CommentData AddCommentLocked(WorkItemData item, string html, string? externalSource, string? externalId, string actorId)
    {
        var comment = new SimComment(NewId(), item.Id, html, externalSource, externalId, actorId, Now());
        var data = new CommentData(comment, item.ProjectId, NewId(), Interlocked.Increment(ref _commentCounter));
        _comments.Add(data);
        return data;
    }

    private void Touch(WorkItemData item, string userId)
    {
        item.UpdatedAt = Now();
        item.UpdatedBy = userId;
    }

    private void SetState(WorkItemData item, SimState state)
    {
        item.StateId = state.Id;
        item.CompletedAt = state.Group == "completed" ? Now() : null;
    }

    private DateTimeOffset Now() => PlaneWire.Truncate(TimeProvider.GetUtcNow());

    private static string NewId() => Guid.NewGuid().ToString("D");

    private static string NormalizeUuid(string value, string parameter) =>
        Guid.TryParse(value, out var guid) ? guid.ToString("D") : throw new ArgumentException($"'{value}' is not a UUID.", parameter);

    private static string[] ParseList(string? value) =>
        (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string? OptionalString(JsonObject body, string key) =>
        body[key] is JsonValue value && value.TryGetValue<string>(out var s) ? s : null;

    private sealed class ProjectData(SimProject project, DateTimeOffset createdAt)
    {
        public SimProject Project { get; } = project;

        public DateTimeOffset CreatedAt { get; } = createdAt;

        public List<SimState> States { get; } = [];

        public List<LabelData> Labels { get; } = [];

        public int LastSequenceId { get; set; }

        public LabelData LabelById(string id) => Labels.First(l => l.Id == id);
    }

    private sealed record LabelData(string Id, string Name, string Color, double SortOrder, DateTimeOffset CreatedAt)
    {
        public SimLabel ToSim() => new(Id, Name, Color);
    }

    private sealed record CommentData(SimComment Comment, string ProjectId, string DescriptionId, long Order);

    private sealed class WorkItemData(string id, string projectId, int sequenceId, DateTimeOffset createdAt)
    {
        public string Id { get; } = id;

        public string ProjectId { get; } = projectId;

        public int SequenceId { get; } = sequenceId;

        public DateTimeOffset CreatedAt { get; } = createdAt;

        public required string Name { get; set; }

        public required string DescriptionHtml { get; set; }

        public required string StateId { get; set; }

        public required string CreatedBy { get; init; }

        public required string UpdatedBy { get; set; }

        public DateTimeOffset UpdatedAt { get; set; }

        public DateTimeOffset? CompletedAt { get; set; }

        public DateTimeOffset? DeletedAt { get; set; }

        public string Priority { get; } = "none";

        public List<string> LabelIds { get; } = [];

        public string? ExternalSource { get; init; }

        public string? ExternalId { get; init; }

        public SimWorkItem ToSim() =>
            new(Id, ProjectId, SequenceId, Name, DescriptionHtml, StateId, [.. LabelIds], CreatedAt, UpdatedAt, DeletedAt is not null);
    }
}

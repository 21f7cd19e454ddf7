using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Orchestrator.Simulators.Asana;

/// <summary>
/// An in-memory Asana (REST API 1.0) on loopback: the endpoints the orchestrator calls, and webhooks with
/// Asana's handshake and <c>X-Hook-Signature</c> signing.
/// </summary>
/// <remarks>
/// <para>
/// Shapes and routes follow Asana's OpenAPI description (<c>Asana/openapi</c> @ fc9f8dcf, <c>defs/asana_oas.yaml</c>;
/// https://developers.asana.com/reference/rest-api-reference): full objects are built from the schemas' official
/// <c>example</c> values (<c>Payloads/asana/*.from-oas-field-examples.json</c>) with our values put in, then cut to
/// <c>gid</c> plus the requested <c>opt_fields</c> paths. Routes (under <c>/api/1.0</c>):
/// <c>GET|PUT /tasks/{gid}</c>, <c>GET /tasks?project=…&amp;modified_since=…</c>, <c>GET|POST /tasks/{gid}/stories</c>,
/// <c>GET|POST /webhooks</c>, <c>DELETE /webhooks/{gid}</c>, <c>GET /projects/{gid}/custom_field_settings</c> and
/// <c>POST /custom_fields/{gid}/enum_options</c>. Lists page with <c>limit</c> and an opaque <c>offset</c>
/// and answer <c>next_page</c> only when <c>limit</c> was given (as the <c>NextPage</c> schema says).
/// </para>
/// <para>
/// Strict: an unknown route, an unknown query parameter or <c>opt_fields</c> path, a missing or wrong bearer token
/// and an unknown gid are answered as Asana would (<c>{"errors":[{"message":…}]}</c> with 400/401/404) and recorded with
/// <see cref="SimulatorHost.RecordUnexpected"/>. Faults queued with <see cref="InjectFault"/> are deliberate and not recorded.
/// </para>
/// <para>
/// <c>POST /webhooks</c> performs the handshake while the create call is open: it POSTs to the target with
/// <c>X-Hook-Secret</c> and answers 201 (with the secret in the body's <c>X-Hook-Secret</c>) only when the target
/// answered 200/204 echoing that header; otherwise 400 and no webhook. Unlike Asana, loopback targets are allowed.
/// Changes made "as a person" (<see cref="SetEnumCustomFieldAsync"/>, <see cref="AddTagAsync"/>, …) send compact
/// events (ids only) to every active webhook on the task or its project; REST calls made through the API do not, except
/// <c>POST /tasks</c>, whose task's <c>added</c> event reaches the project's webhooks as Asana sends it.
/// Also simulated: <c>POST /tasks</c>, <c>GET|POST /workspaces/{gid}/tags</c>.
/// </para>
/// </remarks>
public sealed class AsanaSimulator : IAsyncDisposable
{
    /// <summary>API path prefix.</summary>
    public const string ApiPrefix = "/api/1.0";

    /// <summary>The handshake header (request and expected echo).</summary>
    public const string HookSecretHeader = "X-Hook-Secret";

    /// <summary>The delivery signature header: lower-case hex HMAC-SHA256 of the body under the handshake secret.</summary>
    public const string SignatureHeader = "X-Hook-Signature";

    private static readonly Lazy<IReadOnlyDictionary<string, JsonObject>> Templates = new(LoadTemplates);

    private readonly object _gate = new();
    private readonly string _token;
    private readonly Dictionary<string, string> _projects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Gid, string Name)> _sections = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SimAsanaEnumField> _fields = new(StringComparer.Ordinal);
    private readonly List<SimAsanaFieldSetting> _fieldSettings = [];
    private readonly Dictionary<string, string> _tags = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskData> _tasks = new(StringComparer.Ordinal);
    private readonly List<SimAsanaStory> _stories = [];
    private readonly Dictionary<string, DateTimeOffset> _storyTimes = new(StringComparer.Ordinal);
    private readonly List<SimAsanaWebhook> _webhooks = [];
    private readonly ConcurrentQueue<AsanaSimDelivery> _deliveries = new();
    private readonly ConcurrentQueue<AsanaSimHandshake> _handshakes = new();
    private readonly ConcurrentQueue<(HttpStatusCode Status, TimeSpan? RetryAfter)> _faults = new();
    private readonly ConcurrentBag<Task> _background = [];
    private readonly HttpClient _outbound = new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(10) };
    private long _nextGid = 1_200_000_000_000_000;

    private AsanaSimulator(string token)
    {
        _token = token;
        WorkspaceGid = NewGid();
        HumanUserGid = NewGid();
        ApiUserGid = NewGid();
    }

    /// <summary>Host root, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseUrl => Host.BaseUrl;

    /// <summary>The client's <c>BaseUrl</c>: <see cref="BaseUrl"/> + <c>api/1.0</c>.</summary>
    public Uri ApiBaseUrl => new(Host.BaseUrl, "api/1.0");

    /// <summary>Every request received and the unexpected-request list.</summary>
    public SimulatorHost Host { get; private set; } = null!;

    /// <summary>The workspace gid.</summary>
    public string WorkspaceGid { get; }

    /// <summary>The person who makes changes in the web app (the <c>user</c> of events).</summary>
    public string HumanUserGid { get; }

    /// <summary>The token's user (author of stories created through the API).</summary>
    public string ApiUserGid { get; }

    /// <summary>Clock for timestamps; the system clock by default.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Every delivery sent (including re-sends), in order.</summary>
    public IReadOnlyList<AsanaSimDelivery> Deliveries => _deliveries.ToArray();

    /// <summary>Every handshake attempted, in order.</summary>
    public IReadOnlyList<AsanaSimHandshake> Handshakes => _handshakes.ToArray();

    /// <summary>The webhooks that exist.</summary>
    public IReadOnlyList<SimAsanaWebhook> Webhooks
    {
        get
        {
            lock (_gate)
            {
                return [.. _webhooks];
            }
        }
    }

    /// <summary>Starts the simulator on 127.0.0.1.</summary>
    /// <param name="token">The only bearer token accepted.</param>
    /// <param name="port">TCP port; 0 picks a free one.</param>
    /// <param name="cancellationToken">Cancels the start-up.</param>
    /// <returns>The running simulator.</returns>
    public static async Task<AsanaSimulator> StartAsync(string token, int port = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        var simulator = new AsanaSimulator(token);
        simulator.Host = await SimulatorHost.StartAsync("asana", simulator.Map, _ => null, port, cancellationToken);
        return simulator;
    }

    /// <summary>Creates a project with one section, <c>Untitled section</c>.</summary>
    /// <param name="name">Project name.</param>
    /// <returns>Project gid.</returns>
    public string AddProject(string name)
    {
        lock (_gate)
        {
            var gid = NewGid();
            _projects[gid] = name;
            _sections[gid] = (NewGid(), "Untitled section");
            return gid;
        }
    }

    /// <summary>Creates an enum custom field with these options.</summary>
    /// <param name="name">Field name, e.g. <c>Agent</c>.</param>
    /// <param name="options">Option names.</param>
    /// <returns>The field.</returns>
    public SimAsanaEnumField AddEnumField(string name, params string[] options)
    {
        lock (_gate)
        {
            var field = new SimAsanaEnumField(NewGid(), name, [.. options.Select(o => new SimAsanaEnumOption(NewGid(), o))]);
            _fields[field.Gid] = field;
            return field;
        }
    }

    /// <summary>Attaches a custom field to a project (what "Add field" in a project does), so the project lists it.</summary>
    /// <param name="projectGid">Project gid.</param>
    /// <param name="field">The field.</param>
    /// <param name="isImportant">Shown in the project's list view.</param>
    /// <returns>The setting.</returns>
    public SimAsanaFieldSetting AddCustomFieldSetting(string projectGid, SimAsanaEnumField field, bool isImportant = true)
    {
        lock (_gate)
        {
            if (!_projects.ContainsKey(projectGid))
            {
                throw new KeyNotFoundException($"No project {projectGid}.");
            }

            var setting = new SimAsanaFieldSetting(NewGid(), projectGid, field.Gid, isImportant);
            _fieldSettings.Add(setting);
            return setting;
        }
    }

    /// <summary>The field as it is now (options added through the API included).</summary>
    /// <param name="fieldGid">Field gid.</param>
    /// <returns>A snapshot.</returns>
    public SimAsanaEnumField Field(string fieldGid)
    {
        lock (_gate)
        {
            return _fields.GetValueOrDefault(fieldGid) ?? throw new KeyNotFoundException($"No field {fieldGid}.");
        }
    }

    /// <summary>A person trashes (disables) an option in the web app's "Edit fields" dialog, or restores it.</summary>
    /// <param name="fieldGid">Field gid.</param>
    /// <param name="optionName">Option name.</param>
    /// <param name="enabled">Whether it is selectable.</param>
    public void SetEnumOptionEnabled(string fieldGid, string optionName, bool enabled)
    {
        lock (_gate)
        {
            var field = _fields.GetValueOrDefault(fieldGid) ?? throw new KeyNotFoundException($"No field {fieldGid}.");
            var option = field.Option(optionName);
            _fields[fieldGid] = field with { Options = [.. field.Options.Select(o => o.Gid == option.Gid ? o with { Enabled = enabled } : o)] };
        }
    }

    /// <summary>Returns the gid of the tag with this name, creating it when needed.</summary>
    /// <param name="name">Tag name.</param>
    /// <returns>Tag gid.</returns>
    public string EnsureTag(string name)
    {
        lock (_gate)
        {
            var existing = _tags.FirstOrDefault(t => t.Value == name).Key;
            if (existing is not null)
            {
                return existing;
            }

            var gid = NewGid();
            _tags[gid] = name;
            return gid;
        }
    }

    /// <summary>Creates a task (no events), with every given enum field attached and unset.</summary>
    /// <param name="projectGid">Project gid.</param>
    /// <param name="name">Title.</param>
    /// <param name="notes">Plain-text description.</param>
    /// <param name="fields">Enum fields to attach.</param>
    /// <returns>The task.</returns>
    public SimAsanaTask CreateTask(string projectGid, string name, string notes = "", params SimAsanaEnumField[] fields)
    {
        lock (_gate)
        {
            if (!_projects.ContainsKey(projectGid))
            {
                throw new KeyNotFoundException($"No project {projectGid}.");
            }

            var now = Now();
            var task = new TaskData(NewGid(), projectGid, now) { Name = name, Notes = notes, ModifiedAt = now };
            foreach (var field in fields)
            {
                task.EnumValues[field.Gid] = null;
            }

            _tasks[task.Gid] = task;
            return task.Snapshot();
        }
    }

    /// <summary>Sets the modification time of a task (to test <c>modified_since</c>).</summary>
    /// <param name="taskGid">Task gid.</param>
    /// <param name="modifiedAt">New time.</param>
    public void SetModifiedAt(string taskGid, DateTimeOffset modifiedAt)
    {
        lock (_gate)
        {
            Task(taskGid).ModifiedAt = modifiedAt;
        }
    }

    /// <summary>The current state of a task.</summary>
    /// <param name="taskGid">Task gid.</param>
    /// <returns>A snapshot.</returns>
    public SimAsanaTask GetTask(string taskGid)
    {
        lock (_gate)
        {
            return Task(taskGid).Snapshot();
        }
    }

    /// <summary>The stories of a task, oldest first.</summary>
    /// <param name="taskGid">Task gid.</param>
    /// <returns>Stories.</returns>
    public IReadOnlyList<SimAsanaStory> Stories(string taskGid)
    {
        lock (_gate)
        {
            return [.. _stories.Where(s => s.TaskGid == taskGid)];
        }
    }

    /// <summary>Answers the next API request (after authentication) with this status instead, e.g. 429 with <c>Retry-After</c>.</summary>
    /// <param name="status">Status to answer.</param>
    /// <param name="retryAfter">Sent as <c>Retry-After</c> in whole seconds, if given.</param>
    public void InjectFault(HttpStatusCode status, TimeSpan? retryAfter = null) => _faults.Enqueue((status, retryAfter));

    /// <summary>A person selects an option of an enum custom field (or clears it with <c>null</c>).</summary>
    /// <param name="taskGid">Task gid.</param>
    /// <param name="fieldGid">Enum custom field gid (attached to the task).</param>
    /// <param name="optionGid">Option gid, or <c>null</c> to clear.</param>
    /// <param name="deliver"><c>false</c> builds the deliveries without sending them (a dropped webhook).</param>
    /// <param name="cancellationToken">Cancels the sending.</param>
    /// <returns>One delivery per matching webhook.</returns>
    public Task<IReadOnlyList<AsanaSimDelivery>> SetEnumCustomFieldAsync(string taskGid, string fieldGid, string? optionGid, bool deliver = true, CancellationToken cancellationToken = default)
    {
        JsonObject change;
        lock (_gate)
        {
            var task = Task(taskGid);
            var field = _fields.GetValueOrDefault(fieldGid) ?? throw new KeyNotFoundException($"No field {fieldGid}.");
            if (!task.EnumValues.ContainsKey(fieldGid))
            {
                throw new InvalidOperationException($"Field {fieldGid} is not on task {taskGid}.");
            }

            if (optionGid is not null && field.Options.All(o => o.Gid != optionGid))
            {
                throw new KeyNotFoundException($"No option {optionGid} in field {fieldGid}.");
            }

            task.EnumValues[fieldGid] = optionGid;
            task.ModifiedAt = Now();

            // Compact, ids only, as webhook events carry them (EventResponse.change.new_value).
            change = new JsonObject
            {
                ["field"] = "custom_fields",
                ["action"] = "changed",
                ["new_value"] = new JsonObject
                {
                    ["gid"] = fieldGid,
                    ["resource_type"] = "custom_field",
                    ["resource_subtype"] = "enum",
                    ["enum_value"] = optionGid is null ? null : new JsonObject { ["gid"] = optionGid, ["resource_type"] = "enum_option" },
                },
            };
        }

        return SendEventAsync(taskGid, TaskChanged(taskGid, change), deliver, cancellationToken);
    }

    /// <summary>A person adds a tag (created if needed) to a task.</summary>
    /// <param name="taskGid">Task gid.</param>
    /// <param name="tagName">Tag name.</param>
    /// <param name="deliver"><c>false</c> builds the deliveries without sending them.</param>
    /// <param name="cancellationToken">Cancels the sending.</param>
    /// <returns>One delivery per matching webhook.</returns>
    public Task<IReadOnlyList<AsanaSimDelivery>> AddTagAsync(string taskGid, string tagName, bool deliver = true, CancellationToken cancellationToken = default)
    {
        var tagGid = EnsureTag(tagName);
        lock (_gate)
        {
            var task = Task(taskGid);
            if (!task.Tags.Contains(tagGid))
            {
                task.Tags.Add(tagGid);
            }

            task.ModifiedAt = Now();
        }

        var change = new JsonObject { ["field"] = "tags", ["action"] = "added", ["added_value"] = new JsonObject { ["gid"] = tagGid, ["resource_type"] = "tag" } };
        return SendEventAsync(taskGid, TaskChanged(taskGid, change), deliver, cancellationToken);
    }

    /// <summary>A person removes a tag from a task.</summary>
    /// <param name="taskGid">Task gid.</param>
    /// <param name="tagName">Tag name.</param>
    /// <param name="deliver"><c>false</c> builds the deliveries without sending them.</param>
    /// <param name="cancellationToken">Cancels the sending.</param>
    /// <returns>One delivery per matching webhook.</returns>
    public Task<IReadOnlyList<AsanaSimDelivery>> RemoveTagAsync(string taskGid, string tagName, bool deliver = true, CancellationToken cancellationToken = default)
    {
        var tagGid = EnsureTag(tagName);
        lock (_gate)
        {
            var task = Task(taskGid);
            task.Tags.Remove(tagGid);
            task.ModifiedAt = Now();
        }

        var change = new JsonObject { ["field"] = "tags", ["action"] = "removed", ["removed_value"] = new JsonObject { ["gid"] = tagGid, ["resource_type"] = "tag" } };
        return SendEventAsync(taskGid, TaskChanged(taskGid, change), deliver, cancellationToken);
    }

    /// <summary>A person completes (or reopens) a task.</summary>
    /// <param name="taskGid">Task gid.</param>
    /// <param name="completed">New state.</param>
    /// <param name="deliver"><c>false</c> builds the deliveries without sending them.</param>
    /// <param name="cancellationToken">Cancels the sending.</param>
    /// <returns>One delivery per matching webhook.</returns>
    public Task<IReadOnlyList<AsanaSimDelivery>> CompleteAsync(string taskGid, bool completed = true, bool deliver = true, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var task = Task(taskGid);
            task.Completed = completed;
            task.ModifiedAt = Now();
            AddSystemStoryLocked(taskGid, completed, HumanUserGid);
        }

        var change = new JsonObject { ["field"] = "completed", ["action"] = "changed" };
        return SendEventAsync(taskGid, TaskChanged(taskGid, change), deliver, cancellationToken);
    }

    /// <summary>A person edits the title and/or the description; one event per changed field.</summary>
    /// <param name="taskGid">Task gid.</param>
    /// <param name="name">New title, or <c>null</c> to keep.</param>
    /// <param name="notes">New description, or <c>null</c> to keep.</param>
    /// <param name="deliver"><c>false</c> builds the deliveries without sending them.</param>
    /// <param name="cancellationToken">Cancels the sending.</param>
    /// <returns>The deliveries (one per webhook, each carrying the events).</returns>
    public Task<IReadOnlyList<AsanaSimDelivery>> EditAsync(string taskGid, string? name, string? notes, bool deliver = true, CancellationToken cancellationToken = default)
    {
        var events = new List<JsonObject>();
        lock (_gate)
        {
            var task = Task(taskGid);
            if (name is not null)
            {
                task.Name = name;
            }

            if (notes is not null)
            {
                task.Notes = notes;
            }

            task.ModifiedAt = Now();
        }

        if (name is not null)
        {
            events.Add(TaskChanged(taskGid, new JsonObject { ["field"] = "name", ["action"] = "changed" }));
        }

        if (notes is not null)
        {
            events.Add(TaskChanged(taskGid, new JsonObject { ["field"] = "notes", ["action"] = "changed" }));
        }

        return SendEventsAsync(taskGid, events, deliver, cancellationToken);
    }

    /// <summary>A person comments on a task (event: story <c>added</c> with the task as parent).</summary>
    /// <param name="taskGid">Task gid.</param>
    /// <param name="text">Comment text.</param>
    /// <param name="deliver"><c>false</c> builds the deliveries without sending them.</param>
    /// <param name="cancellationToken">Cancels the sending.</param>
    /// <returns>One delivery per matching webhook.</returns>
    public Task<IReadOnlyList<AsanaSimDelivery>> CommentAsync(string taskGid, string text, bool deliver = true, CancellationToken cancellationToken = default)
    {
        SimAsanaStory story;
        lock (_gate)
        {
            var task = Task(taskGid);
            story = AddStoryLocked(taskGid, text, $"<body>{WebUtility.HtmlEncode(text)}</body>", HumanUserGid);
            task.ModifiedAt = Now();
        }

        var e = EventBase("added", new JsonObject { ["gid"] = story.Gid, ["resource_type"] = "story", ["resource_subtype"] = "comment_added" });
        e["parent"] = new JsonObject { ["gid"] = taskGid, ["resource_type"] = "task", ["resource_subtype"] = "default_task" };
        return SendEventAsync(taskGid, e, deliver, cancellationToken);
    }

    /// <summary>Sends a heartbeat, <c>{"events":[]}</c> signed, to every active webhook.</summary>
    /// <param name="cancellationToken">Cancels the sending.</param>
    /// <returns>The deliveries.</returns>
    public async Task<IReadOnlyList<AsanaSimDelivery>> SendHeartbeatAsync(CancellationToken cancellationToken = default)
    {
        var result = new List<AsanaSimDelivery>();
        foreach (var hook in Webhooks.Where(w => w.Active))
        {
            result.Add(await PostAsync(Build(hook, []), cancellationToken));
        }

        return result;
    }

    /// <summary>Sends a delivery again (or for the first time, when it was built with <c>deliver: false</c>), same bytes and headers.</summary>
    /// <param name="delivery">A delivery returned earlier.</param>
    /// <param name="cancellationToken">Cancels the sending.</param>
    /// <returns>The new delivery record.</returns>
    public Task<AsanaSimDelivery> ResendAsync(AsanaSimDelivery delivery, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        return PostAsync(delivery with { Answer = null }, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            await System.Threading.Tasks.Task.WhenAll(_background);
        }
        catch (Exception)
        {
            // Background events report to nobody; a receiver that went away must not break disposal.
        }

        _outbound.Dispose();
        await Host.DisposeAsync();
    }

    // ---------------------------------------------------------------- events

    private JsonObject EventBase(string action, JsonObject resource) => new()
    {
        ["user"] = new JsonObject { ["gid"] = HumanUserGid, ["resource_type"] = "user" },
        ["created_at"] = Timestamp(Now()),
        ["action"] = action,
        ["resource"] = resource,
        ["parent"] = null,
    };

    private JsonObject TaskChanged(string taskGid, JsonObject change)
    {
        var e = EventBase("changed", new JsonObject { ["gid"] = taskGid, ["resource_type"] = "task", ["resource_subtype"] = "default_task" });
        e["change"] = change;
        return e;
    }

    private Task<IReadOnlyList<AsanaSimDelivery>> SendEventAsync(string taskGid, JsonObject e, bool deliver, CancellationToken cancellationToken) =>
        SendEventsAsync(taskGid, [e], deliver, cancellationToken);

    private async Task<IReadOnlyList<AsanaSimDelivery>> SendEventsAsync(string taskGid, IReadOnlyList<JsonObject> events, bool deliver, CancellationToken cancellationToken)
    {
        List<SimAsanaWebhook> hooks;
        lock (_gate)
        {
            var project = Task(taskGid).ProjectGid;
            hooks = [.. _webhooks.Where(w => w.Active && (w.ResourceGid == taskGid || w.ResourceGid == project))];
        }

        var result = new List<AsanaSimDelivery>();
        foreach (var hook in hooks)
        {
            var passing = events.Where(e => PassesFilters(hook, e)).Select(e => e.DeepClone().AsObject()).ToList();
            if (passing.Count == 0)
            {
                continue;
            }

            var delivery = Build(hook, passing);
            result.Add(deliver ? await PostAsync(delivery, cancellationToken) : delivery);
        }

        return result;
    }

    private static bool PassesFilters(SimAsanaWebhook hook, JsonObject e)
    {
        if (hook.FiltersJson is null)
        {
            return true;
        }

        var filters = JsonNode.Parse(hook.FiltersJson)!.AsArray();
        return filters.Count == 0 || filters.Any(f =>
            (f?["resource_type"] is null || f["resource_type"]!.GetValue<string>() == e["resource"]!["resource_type"]!.GetValue<string>())
            && (f?["action"] is null || f["action"]!.GetValue<string>() == e["action"]!.GetValue<string>())
            && (f?["fields"] is not JsonArray fields || fields.Any(x => x?.GetValue<string>() == e["change"]?["field"]?.GetValue<string>())));
    }

    private static AsanaSimDelivery Build(SimAsanaWebhook hook, IReadOnlyList<JsonObject> events)
    {
        var body = Encoding.UTF8.GetBytes(new JsonObject { ["events"] = new JsonArray([.. events]) }.ToJsonString());
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Content-Type"] = "application/json; charset=utf-8",
            [SignatureHeader] = SimulatorHost.HmacHex(hook.Secret, body),
        };
        return new AsanaSimDelivery(hook.Gid, hook.Target, body, headers, null);
    }

    private async Task<AsanaSimDelivery> PostAsync(AsanaSimDelivery delivery, CancellationToken cancellationToken)
    {
        HttpStatusCode? answer = null;
        try
        {
            answer = await WebhookPoster.PostAsync(_outbound, delivery.Target, delivery.Body, delivery.Headers, cancellationToken);
        }
        catch (HttpRequestException)
        {
            // Asana retries later; the test sees Answer = null.
        }

        var sent = delivery with { Answer = answer };
        _deliveries.Enqueue(sent);
        return sent;
    }

    // ---------------------------------------------------------------- REST

    private void Map(IEndpointRouteBuilder endpoints, SimulatorHost host)
    {
        endpoints.MapGet(ApiPrefix + "/tasks/{gid}", Handle(["opt_fields", "opt_pretty"], GetTask));
        endpoints.MapPut(ApiPrefix + "/tasks/{gid}", Handle(["opt_fields", "opt_pretty"], UpdateTask));
        endpoints.MapPost(ApiPrefix + "/tasks", Handle(["opt_fields", "opt_pretty"], CreateTaskApi));
        endpoints.MapGet(ApiPrefix + "/workspaces/{gid}/tags", Handle(["opt_fields", "opt_pretty", "limit", "offset"], ListTags));
        endpoints.MapPost(ApiPrefix + "/workspaces/{gid}/tags", Handle(["opt_fields", "opt_pretty"], CreateTagApi));
        endpoints.MapGet(ApiPrefix + "/tasks", Handle(["opt_fields", "opt_pretty", "limit", "offset", "project", "modified_since", "completed_since"], ListTasks));
        endpoints.MapGet(ApiPrefix + "/tasks/{gid}/stories", Handle(["opt_fields", "opt_pretty", "limit", "offset"], ListStories));
        endpoints.MapPost(ApiPrefix + "/tasks/{gid}/stories", Handle(["opt_fields", "opt_pretty"], CreateStory));
        endpoints.MapPost(ApiPrefix + "/webhooks", Handle(["opt_fields", "opt_pretty"], CreateWebhookAsync));
        endpoints.MapGet(ApiPrefix + "/webhooks", Handle(["opt_fields", "opt_pretty", "limit", "offset", "workspace", "resource"], ListWebhooks));
        endpoints.MapDelete(ApiPrefix + "/webhooks/{gid}", Handle(["opt_pretty"], DeleteWebhook));
        endpoints.MapGet(ApiPrefix + "/projects/{gid}/custom_field_settings", Handle(["opt_fields", "opt_pretty", "limit", "offset"], ListCustomFieldSettings));
        endpoints.MapPost(ApiPrefix + "/custom_fields/{gid}/enum_options", Handle(["opt_fields", "opt_pretty"], CreateEnumOption));
    }

    private sealed record Answer(int Status, JsonNode? Body, string? RetryAfter = null);

    private sealed class BadRequest(int status, string message) : Exception(message)
    {
        public int Status { get; } = status;
    }

    private RequestDelegate Handle(string[] allowed, Func<HttpContext, Answer> handler) =>
        Handle(allowed, context => System.Threading.Tasks.Task.FromResult(handler(context)));

    private RequestDelegate Handle(string[] allowed, Func<HttpContext, Task<Answer>> handler) => async context =>
    {
        var request = context.Request;
        var what = $"{request.Method} {request.Path}{request.QueryString}";
        Answer answer;
        var auth = request.Headers.Authorization.ToString();
        var expected = "Bearer " + _token;
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(auth), Encoding.UTF8.GetBytes(expected)))
        {
            Host.RecordUnexpected($"asana: {what} with a missing or wrong bearer token → 401");
            answer = Error(401, "Not Authorized");
        }
        else if (request.Query.Keys.FirstOrDefault(k => !allowed.Contains(k)) is { } unknown)
        {
            Host.RecordUnexpected($"asana: {what} has the unknown parameter {unknown} → 400");
            answer = Error(400, $"{unknown}: Unknown parameter");
        }
        else if (_faults.TryDequeue(out var fault))
        {
            answer = Error((int)fault.Status, fault.Status == HttpStatusCode.TooManyRequests ? "You have made too many requests recently. Please, be chill." : "Server Error")
                with { RetryAfter = fault.RetryAfter is { } w ? ((long)Math.Ceiling(w.TotalSeconds)).ToString(CultureInfo.InvariantCulture) : null };
        }
        else
        {
            try
            {
                answer = await handler(context);
            }
            catch (BadRequest e)
            {
                Host.RecordUnexpected($"asana: {what} → {e.Status} {e.Message}");
                answer = Error(e.Status, e.Message);
            }
        }

        context.Response.StatusCode = answer.Status;
        if (answer.RetryAfter is not null)
        {
            context.Response.Headers.RetryAfter = answer.RetryAfter;
        }

        if (answer.Body is not null)
        {
            context.Response.ContentType = "application/json; charset=UTF-8";
            await context.Response.WriteAsync(answer.Body.ToJsonString(), context.RequestAborted);
        }
    };

    private static Answer Error(int status, string message) => new(status, new JsonObject
    {
        ["errors"] = new JsonArray(new JsonObject
        {
            ["message"] = message,
            ["help"] = "For more information on API status codes and how to handle them, read the docs on errors: https://developers.asana.com/docs/errors",
        }),
    });

    private Answer GetTask(HttpContext context)
    {
        var gid = (string)context.Request.RouteValues["gid"]!;
        lock (_gate)
        {
            var task = FindTask(gid);
            return new Answer(200, new JsonObject { ["data"] = Select(TaskJson(task), OptFields(context, TaskJson(task))) });
        }
    }

    private Answer UpdateTask(HttpContext context)
    {
        var gid = (string)context.Request.RouteValues["gid"]!;
        var data = Data(context);
        lock (_gate)
        {
            var task = FindTask(gid);
            foreach (var (key, value) in data)
            {
                switch (key)
                {
                    case "completed" when value?.GetValueKind() is JsonValueKind.True or JsonValueKind.False:
                        if (task.Completed != value.GetValue<bool>())
                        {
                            AddSystemStoryLocked(gid, value.GetValue<bool>(), ApiUserGid);
                        }

                        task.Completed = value.GetValue<bool>();
                        break;
                    case "name" when value?.GetValueKind() == JsonValueKind.String:
                        task.Name = value.GetValue<string>();
                        break;
                    case "notes" when value?.GetValueKind() == JsonValueKind.String:
                        task.Notes = value.GetValue<string>();
                        break;
                    case "custom_fields" when value is JsonObject fields:
                        // updateTask: enum fields by gid → option gid (null clears); the field must be on the task's
                        // project and the option one of its enabled options, else Asana answers 400.
                        foreach (var (fieldGid, option) in fields)
                        {
                            if (!task.EnumValues.ContainsKey(fieldGid) || !_fields.TryGetValue(fieldGid, out var field))
                            {
                                throw new BadRequest(400, $"custom_fields: Custom field with ID {fieldGid} is not on given object");
                            }

                            var optionGid = option is JsonValue ov && ov.TryGetValue<string>(out var o) ? o : null;
                            if (option is not null && (optionGid is null || field.Options.All(x => x.Gid != optionGid || !x.Enabled)))
                            {
                                throw new BadRequest(400, $"custom_fields: enum_value: Unknown object: {option.ToJsonString()}");
                            }

                            task.EnumValues[fieldGid] = optionGid;
                        }

                        break;
                    default:
                        throw new BadRequest(400, $"{key}: not simulated or invalid");
                }
            }

            task.ModifiedAt = Now();
            return new Answer(200, new JsonObject { ["data"] = Select(TaskJson(task), OptFields(context, TaskJson(task))) });
        }
    }

    /// <summary>
    /// <c>POST /tasks</c> (createTask): <c>name</c>, <c>notes</c>, exactly one known project in <c>projects</c>, known tag gids in
    /// <c>tags</c>, and <c>custom_fields</c> mapping enum fields attached to that project to one of their enabled options.
    /// The task gets every field of the project (unset unless given); 201; then the project's webhooks get an
    /// <c>added</c> event for it (sent after the answer, as Asana delivers events later).
    /// </summary>
    private Answer CreateTaskApi(HttpContext context)
    {
        var data = Data(context);
        TaskData task;
        JsonObject json;
        lock (_gate)
        {
            if (data.FirstOrDefault(p => p.Key is not ("name" or "notes" or "projects" or "tags" or "custom_fields")) is { Key: { } unknown })
            {
                throw new BadRequest(400, $"{unknown}: not simulated for task creation");
            }

            var projects = data["projects"] as JsonArray;
            var projectGid = projects is { Count: 1 } && projects[0] is JsonValue pv && pv.TryGetValue<string>(out var g) ? g : null;
            if (projectGid is null || !_projects.ContainsKey(projectGid))
            {
                throw new BadRequest(projectGid is null ? 400 : 404, projectGid is null ? "projects: exactly one project gid is simulated" : $"projects: Unknown object: {projectGid}");
            }

            var now = Now();
            task = new TaskData(NewGid(), projectGid, now)
            {
                Name = data["name"]?.GetValue<string>() ?? "",
                Notes = data["notes"]?.GetValue<string>() ?? "",
                ModifiedAt = now,
            };
            foreach (var setting in _fieldSettings.Where(f => f.ProjectGid == projectGid))
            {
                task.EnumValues[setting.FieldGid] = null;
            }

            foreach (var tag in data["tags"] as JsonArray ?? [])
            {
                var tagGid = tag?.GetValue<string>() ?? "";
                if (!_tags.ContainsKey(tagGid))
                {
                    throw new BadRequest(404, $"tags: Unknown object: {tagGid}");
                }

                task.Tags.Add(tagGid);
            }

            foreach (var (fieldGid, value) in data["custom_fields"] as JsonObject ?? [])
            {
                if (!task.EnumValues.ContainsKey(fieldGid) || !_fields.TryGetValue(fieldGid, out var field))
                {
                    throw new BadRequest(400, $"custom_fields: Custom field with ID {fieldGid} is not on given object");
                }

                var optionGid = value is JsonValue ov && ov.TryGetValue<string>(out var o) ? o : null;
                if (field.Options.FirstOrDefault(x => x.Gid == optionGid) is not { Enabled: true } option)
                {
                    throw new BadRequest(400, $"custom_fields: enum_value {optionGid} is not an enabled option of {field.Name}");
                }

                task.EnumValues[fieldGid] = option.Gid;
            }

            _tasks[task.Gid] = task;
            json = TaskJson(task);
        }

        var added = EventBase("added", new JsonObject { ["gid"] = task.Gid, ["resource_type"] = "task", ["resource_subtype"] = "default_task" });
        added["user"] = new JsonObject { ["gid"] = ApiUserGid, ["resource_type"] = "user" };
        added["parent"] = new JsonObject { ["gid"] = task.ProjectGid, ["resource_type"] = "project" };
        _background.Add(System.Threading.Tasks.Task.Run(() => SendEventAsync(task.Gid, added, deliver: true, CancellationToken.None)));
        return new Answer(201, new JsonObject { ["data"] = Select(json, OptFields(context, json)) });
    }

    /// <summary><c>GET /workspaces/{gid}/tags</c> (getTagsForWorkspace): the workspace's tags, compact (<c>name</c>) unless <c>opt_fields</c> says.</summary>
    private Answer ListTags(HttpContext context)
    {
        var workspace = (string)context.Request.RouteValues["gid"]!;
        lock (_gate)
        {
            if (workspace != WorkspaceGid)
            {
                throw new BadRequest(404, $"workspace: Unknown object: {workspace}");
            }

            var tags = _tags.Select(t => (JsonNode?)TagJson(t.Key, t.Value)).ToList();
            var fields = OptFields(context, TagJson("0", ""));
            return Page(context, $"/workspaces/{workspace}/tags", [.. tags.Select(t => fields is null ? t : Select(t, fields))]);
        }
    }

    /// <summary><c>POST /workspaces/{gid}/tags</c> (createTagForWorkspace) with <c>name</c>: 201 with the tag (Asana allows repeated names).</summary>
    private Answer CreateTagApi(HttpContext context)
    {
        var workspace = (string)context.Request.RouteValues["gid"]!;
        var data = Data(context);
        lock (_gate)
        {
            if (workspace != WorkspaceGid)
            {
                throw new BadRequest(404, $"workspace: Unknown object: {workspace}");
            }

            var name = data["name"]?.GetValue<string>();
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new BadRequest(400, "name: Missing input");
            }

            var gid = NewGid();
            _tags[gid] = name;
            var json = TagJson(gid, name);
            return new Answer(201, new JsonObject { ["data"] = Select(json, OptFields(context, json)) });
        }
    }

    private JsonObject TagJson(string gid, string name) => new()
    {
        ["gid"] = gid,
        ["resource_type"] = "tag",
        ["name"] = name,
        ["color"] = "light-green",
        ["notes"] = "",
        ["workspace"] = new JsonObject { ["gid"] = WorkspaceGid, ["resource_type"] = "workspace" },
    };

    private Answer ListTasks(HttpContext context)
    {
        var query = context.Request.Query;
        var project = query["project"].ToString();
        lock (_gate)
        {
            if (project.Length == 0)
            {
                throw new BadRequest(400, "Must specify exactly one of project, tag, section, user task list, or assignee + workspace");
            }

            if (!_projects.ContainsKey(project))
            {
                throw new BadRequest(404, $"project: Unknown object: {project}");
            }

            DateTimeOffset? since = null;
            if (query["modified_since"].ToString() is { Length: > 0 } text)
            {
                since = DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                    ? t
                    : throw new BadRequest(400, "modified_since: Not a valid date-time");
            }

            var tasks = _tasks.Values.Where(t => t.ProjectGid == project && (since is null || t.ModifiedAt >= since)).ToList();
            var template = tasks.Count > 0 ? TaskJson(tasks[0]) : TaskJson(new TaskData("0", project, Now()));
            var fields = OptFields(context, template);
            return Page(context, "/tasks", tasks.Select(t => fields is null ? Compact(TaskJson(t), "name", "resource_subtype", "created_by") : Select(TaskJson(t), fields)).ToList());
        }
    }

    private Answer ListStories(HttpContext context)
    {
        var gid = (string)context.Request.RouteValues["gid"]!;
        lock (_gate)
        {
            FindTask(gid);
            var stories = _stories.Where(s => s.TaskGid == gid).Select(StoryJson).ToList();
            var fields = OptFields(context, StoryJson(new SimAsanaStory("0", gid, "comment_added", "", "", ApiUserGid)));
            return Page(context, $"/tasks/{gid}/stories", stories.Select(s => fields is null ? Compact(s, "created_at", "created_by", "resource_subtype", "text", "type") : Select(s, fields)).ToList());
        }
    }

    private Answer CreateStory(HttpContext context)
    {
        var gid = (string)context.Request.RouteValues["gid"]!;
        var data = Data(context);
        lock (_gate)
        {
            var task = FindTask(gid);
            var text = data["text"]?.GetValue<string>();
            var html = data["html_text"]?.GetValue<string>();
            if (data.Any(p => p.Key is not ("text" or "html_text")))
            {
                throw new BadRequest(400, "Only text and html_text are simulated for stories.");
            }

            if ((text is null) == (html is null))
            {
                throw new BadRequest(400, "text or html_text: Missing input");
            }

            if (html is not null && !(html.StartsWith("<body>", StringComparison.Ordinal) && html.EndsWith("</body>", StringComparison.Ordinal)))
            {
                throw new BadRequest(400, "html_text: XML is invalid");
            }

            text ??= WebUtility.HtmlDecode(System.Text.RegularExpressions.Regex.Replace(html!, "<[^>]*>", ""));
            html ??= $"<body>{WebUtility.HtmlEncode(text)}</body>";
            var story = AddStoryLocked(gid, text, html, ApiUserGid);
            task.ModifiedAt = Now();
            var json = StoryJson(story);
            return new Answer(201, new JsonObject { ["data"] = Select(json, OptFields(context, json)) });
        }
    }

    private async Task<Answer> CreateWebhookAsync(HttpContext context)
    {
        var data = Data(context);
        var resource = data["resource"]?.GetValue<string>() ?? throw new BadRequest(400, "resource: Missing input");
        var targetText = data["target"]?.GetValue<string>() ?? throw new BadRequest(400, "target: Missing input");
        if (!Uri.TryCreate(targetText, UriKind.Absolute, out var target) || target.Scheme is not ("http" or "https"))
        {
            throw new BadRequest(400, "target: Invalid URL");
        }

        var unknown = data.Select(p => p.Key).FirstOrDefault(k => k is not ("resource" or "target" or "filters"));
        if (unknown is not null)
        {
            throw new BadRequest(400, $"{unknown}: Unknown field");
        }

        lock (_gate)
        {
            if (!_projects.ContainsKey(resource) && !_tasks.ContainsKey(resource))
            {
                throw new BadRequest(404, $"resource: Unknown object: {resource}");
            }
        }

        // The handshake happens while this request is open (createWebhook in asana_oas.yaml).
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        HttpStatusCode? status = null;
        string? echoed = null;
        try
        {
            using var handshake = new HttpRequestMessage(HttpMethod.Post, target) { Content = new ByteArrayContent([]) };
            handshake.Headers.TryAddWithoutValidation(HookSecretHeader, secret);
            using var response = await _outbound.SendAsync(handshake, context.RequestAborted);
            status = response.StatusCode;
            echoed = response.Headers.TryGetValues(HookSecretHeader, out var values) ? values.FirstOrDefault() : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            // Unreachable target: the create call fails below.
        }

        var accepted = status is HttpStatusCode.OK or HttpStatusCode.NoContent && echoed == secret;
        _handshakes.Enqueue(new AsanaSimHandshake(target, secret, status, echoed, accepted));
        if (!accepted)
        {
            return Error(400, "The remote server did not confirm the handshake: it must answer 200 or 204 with the X-Hook-Secret header it received.");
        }

        SimAsanaWebhook hook;
        lock (_gate)
        {
            hook = new SimAsanaWebhook(NewGid(), resource, target, secret, true, data["filters"]?.ToJsonString());
            _webhooks.Add(hook);
        }

        var json = WebhookJson(hook);
        return new Answer(201, new JsonObject { ["data"] = Select(json, OptFields(context, json)), [HookSecretHeader] = secret });
    }

    private Answer ListWebhooks(HttpContext context)
    {
        var query = context.Request.Query;
        if (query["workspace"].ToString() != WorkspaceGid)
        {
            throw new BadRequest(query["workspace"].Count == 0 ? 400 : 404, "workspace: Missing input or unknown workspace");
        }

        var resource = query["resource"].ToString();
        var hooks = Webhooks.Where(w => resource.Length == 0 || w.ResourceGid == resource).Select(WebhookJson).ToList();
        var fields = OptFields(context, hooks.FirstOrDefault() ?? WebhookJson(new SimAsanaWebhook("0", "0", new Uri("https://x/"), "x", true, null)));
        return Page(context, "/webhooks", hooks.Select(h => fields is null ? Compact(h, "active", "resource", "target") : Select(h, fields)).ToList());
    }

    private Answer DeleteWebhook(HttpContext context)
    {
        var gid = (string)context.Request.RouteValues["gid"]!;
        lock (_gate)
        {
            if (_webhooks.RemoveAll(w => w.Gid == gid) == 0)
            {
                throw new BadRequest(404, $"webhook: Unknown object: {gid}");
            }
        }

        return new Answer(200, new JsonObject { ["data"] = new JsonObject() });
    }

    private Answer ListCustomFieldSettings(HttpContext context)
    {
        var gid = (string)context.Request.RouteValues["gid"]!;
        lock (_gate)
        {
            if (!_projects.ContainsKey(gid))
            {
                throw new BadRequest(404, $"project: Unknown object: {gid}");
            }

            var settings = _fieldSettings.Where(s => s.ProjectGid == gid).Select(FieldSettingJson).ToList();
            var fields = OptFields(context, settings.FirstOrDefault()
                ?? FieldSettingJson(new SimAsanaFieldSetting("0", gid, "0", false), new SimAsanaEnumField("0", "", [new SimAsanaEnumOption("0", "")])));

            // The compact form of a custom field setting is gid and resource_type only (CustomFieldSettingCompact).
            return Page(context, $"/projects/{gid}/custom_field_settings", settings.Select(s => fields is null ? Compact(s) : Select(s, fields)).ToList());
        }
    }

    private Answer CreateEnumOption(HttpContext context)
    {
        var gid = (string)context.Request.RouteValues["gid"]!;
        var data = Data(context);
        lock (_gate)
        {
            var field = _fields.GetValueOrDefault(gid) ?? throw new BadRequest(404, $"custom_field: Unknown object: {gid}");
            if (data.Select(p => p.Key).FirstOrDefault(k => k is not ("name" or "enabled" or "color" or "insert_before" or "insert_after")) is { } unknown)
            {
                throw new BadRequest(400, $"{unknown}: Unknown field");
            }

            var name = data["name"]?.GetValueKind() == JsonValueKind.String ? data["name"]!.GetValue<string>() : null;
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new BadRequest(400, "name: Missing input");
            }

            if (data.ContainsKey("insert_before") && data.ContainsKey("insert_after"))
            {
                throw new BadRequest(400, "insert_before and insert_after cannot both be given");
            }

            // "A custom field can have at most 500 enum options (including disabled options)" (createEnumOptionForCustomField).
            if (field.Options.Count >= 500)
            {
                throw new BadRequest(400, "enum_options: A custom field can have at most 500 enum options");
            }

            var anchor = data["insert_before"] ?? data["insert_after"];
            var options = field.Options.ToList();
            var at = options.Count;
            if (anchor is not null)
            {
                var anchorGid = anchor.GetValueKind() == JsonValueKind.String ? anchor.GetValue<string>() : "";
                var index = options.FindIndex(o => o.Gid == anchorGid);
                if (index < 0)
                {
                    throw new BadRequest(400, $"{(data.ContainsKey("insert_before") ? "insert_before" : "insert_after")}: Unknown enum option: {anchorGid}");
                }

                at = data.ContainsKey("insert_before") ? index : index + 1;
            }

            // Created options are always enabled (updateEnumOption: "On creation of an enum option, enabled is always set to true").
            var option = new SimAsanaEnumOption(NewGid(), name);
            options.Insert(at, option);
            _fields[gid] = field with { Options = options };
            var json = EnumOptionJson(option);
            return new Answer(201, new JsonObject { ["data"] = Select(json, OptFields(context, json)) });
        }
    }

    // ---------------------------------------------------------------- shapes

    private JsonObject FieldSettingJson(SimAsanaFieldSetting setting) => FieldSettingJson(setting, _fields[setting.FieldGid]);

    /// <summary>A <c>CustomFieldSettingResponse</c>: the setting's own properties, the project (as <c>project</c> and <c>parent</c>) and the full field.</summary>
    private JsonObject FieldSettingJson(SimAsanaFieldSetting setting, SimAsanaEnumField field)
    {
        var project = new JsonObject { ["gid"] = setting.ProjectGid, ["resource_type"] = "project", ["name"] = _projects.GetValueOrDefault(setting.ProjectGid, "") };
        return new JsonObject
        {
            ["gid"] = setting.Gid,
            ["resource_type"] = "custom_field_setting",
            ["project"] = project,
            ["is_important"] = setting.IsImportant,
            ["parent"] = project.DeepClone(),
            ["custom_field"] = CustomFieldJson(field, option: null),
        };
    }

    /// <summary>A custom field (built from the template's <c>custom_fields[0]</c>) with its options and, on a task, the selected one.</summary>
    private static JsonObject CustomFieldJson(SimAsanaEnumField field, SimAsanaEnumOption? option)
    {
        var f = Template("TaskResponse")["custom_fields"]![0]!.DeepClone().AsObject();
        f["gid"] = field.Gid;
        f["name"] = field.Name;
        f["type"] = "enum";
        f["resource_subtype"] = "enum";
        f["representation_type"] = "enum";
        f["enum_options"] = new JsonArray([.. field.Options.Select(o => (JsonNode)EnumOptionJson(o))]);
        f["enum_value"] = option is null ? null : EnumOptionJson(option);
        f["display_value"] = option?.Name;
        foreach (var unused in new[] { "number_value", "text_value", "date_value", "html_text_value", "precision", "format", "currency_code", "custom_label", "custom_label_position", "asana_created_field" })
        {
            f[unused] = null;
        }

        f["people_value"] = new JsonArray();
        f["reference_value"] = new JsonArray();
        return f;
    }

    private JsonObject TaskJson(TaskData task)
    {
        var json = Template("TaskResponse");
        var projectName = _projects.GetValueOrDefault(task.ProjectGid, "");
        (string Gid, string Name) section = _sections.TryGetValue(task.ProjectGid, out var s) ? s : ("0", "");
        json["gid"] = task.Gid;
        json["name"] = task.Name;
        json["notes"] = task.Notes;
        json["html_notes"] = $"<body>{WebUtility.HtmlEncode(task.Notes)}</body>";
        json["completed"] = task.Completed;
        json["completed_at"] = task.Completed ? Timestamp(task.ModifiedAt) : null;
        json["completed_by"] = task.Completed ? new JsonObject { ["gid"] = HumanUserGid, ["resource_type"] = "user", ["name"] = "Greg Sanchez" } : null;
        json["created_at"] = Timestamp(task.CreatedAt);
        json["modified_at"] = Timestamp(task.ModifiedAt);
        json["created_by"] = new JsonObject { ["gid"] = HumanUserGid, ["resource_type"] = "user" };
        json["permalink_url"] = $"https://app.asana.com/1/{WorkspaceGid}/project/{task.ProjectGid}/task/{task.Gid}";
        json["memberships"] = new JsonArray(new JsonObject
        {
            ["project"] = new JsonObject { ["gid"] = task.ProjectGid, ["resource_type"] = "project", ["name"] = projectName },
            ["section"] = new JsonObject { ["gid"] = section.Gid, ["resource_type"] = "section", ["name"] = section.Name },
        });
        json["projects"] = new JsonArray(new JsonObject { ["gid"] = task.ProjectGid, ["resource_type"] = "project", ["name"] = projectName });
        json["tags"] = new JsonArray([.. task.Tags.Select(t => (JsonNode)new JsonObject { ["gid"] = t, ["name"] = _tags[t] })]);
        json["workspace"] = new JsonObject { ["gid"] = WorkspaceGid, ["resource_type"] = "workspace", ["name"] = "My Company Workspace" };
        json["parent"] = null;
        json["assignee"] = null;
        json["custom_fields"] = new JsonArray([.. task.EnumValues.Select(p =>
        {
            var field = _fields[p.Key];
            return (JsonNode)CustomFieldJson(field, field.Options.FirstOrDefault(o => o.Gid == p.Value));
        })]);
        return json;
    }

    private static JsonObject EnumOptionJson(SimAsanaEnumOption option)
    {
        var json = Template("EnumOption");
        json["gid"] = option.Gid;
        json["name"] = option.Name;
        json["enabled"] = option.Enabled;
        return json;
    }

    private JsonObject StoryJson(SimAsanaStory story)
    {
        var json = new JsonObject();
        var template = Template("StoryResponse");
        // A comment story carries only the comment fields; the other StoryResponse properties belong to other subtypes.
        foreach (var key in new[] { "gid", "resource_type", "created_at", "resource_subtype", "text", "html_text", "is_pinned", "created_by", "type", "is_editable", "is_edited", "hearted", "hearts", "num_hearts", "liked", "likes", "num_likes", "reaction_summary", "previews", "source", "target" })
        {
            json[key] = template[key]?.DeepClone();
        }

        json["gid"] = story.Gid;
        json["created_at"] = Timestamp(_storyTimes.GetValueOrDefault(story.Gid, Now()));
        json["resource_subtype"] = story.ResourceSubtype;
        json["text"] = story.Text;
        json["html_text"] = story.HtmlText;
        json["created_by"] = new JsonObject { ["gid"] = story.CreatedByGid, ["resource_type"] = "user", ["name"] = story.CreatedByGid == ApiUserGid ? "Orchestrator" : "Greg Sanchez" };
        json["type"] = "comment";
        json["is_editable"] = true;
        json["hearts"] = new JsonArray();
        json["likes"] = new JsonArray();
        json["num_hearts"] = 0;
        json["num_likes"] = 0;
        json["reaction_summary"] = new JsonArray();
        json["previews"] = new JsonArray();
        json["source"] = story.CreatedByGid == ApiUserGid ? "api" : "web";
        json["target"] = new JsonObject { ["gid"] = story.TaskGid, ["resource_type"] = "task", ["name"] = _tasks.GetValueOrDefault(story.TaskGid)?.Name ?? "", ["resource_subtype"] = "default_task" };
        return json;
    }

    private JsonObject WebhookJson(SimAsanaWebhook hook)
    {
        var json = Template("WebhookResponse");
        json["gid"] = hook.Gid;
        json["active"] = hook.Active;
        var type = _tasks.ContainsKey(hook.ResourceGid) ? "task" : "project";
        json["resource"] = new JsonObject
        {
            ["gid"] = hook.ResourceGid,
            ["resource_type"] = type,
            ["name"] = type == "task" ? _tasks[hook.ResourceGid].Name : _projects.GetValueOrDefault(hook.ResourceGid, ""),
        };
        json["target"] = hook.Target.AbsoluteUri;
        json["created_at"] = Timestamp(Now());
        json["last_failure_at"] = null;
        json["last_failure_content"] = "";
        json["last_success_at"] = null;
        json["delivery_retry_count"] = 0;
        json["next_attempt_after"] = null;
        json["failure_deletion_timestamp"] = null;
        json["filters"] = hook.FiltersJson is null ? new JsonArray() : JsonNode.Parse(hook.FiltersJson);
        return json;
    }

    /// <summary><c>gid</c> (and <c>resource_type</c>) plus the listed keys: a default compact representation.</summary>
    private static JsonObject Compact(JsonObject full, params string[] keys)
    {
        var json = new JsonObject { ["gid"] = full["gid"]?.DeepClone(), ["resource_type"] = full["resource_type"]?.DeepClone() };
        foreach (var key in keys)
        {
            json[key] = full[key]?.DeepClone();
        }

        return json;
    }

    /// <summary>Parses <c>opt_fields</c>; each path must exist in <paramref name="sample"/> (else 400, recorded). <c>null</c> when absent.</summary>
    private static string[]? OptFields(HttpContext context, JsonObject sample)
    {
        if (!context.Request.Query.TryGetValue("opt_fields", out var raw))
        {
            return null;
        }

        var fields = raw.ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var field in fields)
        {
            if (!Resolves(sample, field.Split('.')))
            {
                throw new BadRequest(400, $"opt_fields: Unrecognized field: {field}");
            }
        }

        return fields;
    }

    private static bool Resolves(JsonNode? node, ReadOnlySpan<string> path)
    {
        if (path.IsEmpty)
        {
            return true;
        }

        return node switch
        {
            JsonObject o => o.TryGetPropertyValue(path[0], out var child) && Resolves(child, path[1..]),
            JsonArray a => a.Count == 0 || Resolves(a[0], path),
            null => true, // e.g. custom_fields.enum_value.name with enum_value null
            _ => false,
        };
    }

    /// <summary>Asana's opt_fields projection: <c>gid</c> of every object plus the requested paths.</summary>
    private static JsonNode? Select(JsonNode? node, IEnumerable<string>? fields)
    {
        if (fields is null)
        {
            return node?.DeepClone();
        }

        var tree = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var field in fields)
        {
            var dot = field.IndexOf('.');
            var head = dot < 0 ? field : field[..dot];
            var list = tree.TryGetValue(head, out var l) ? l : tree[head] = [];
            if (dot >= 0)
            {
                list.Add(field[(dot + 1)..]);
            }
        }

        return Apply(node, tree);

        static JsonNode? Apply(JsonNode? node, Dictionary<string, List<string>> tree) => node switch
        {
            JsonArray a => new JsonArray([.. a.Select(x => Apply(x, tree))]),
            JsonObject o => Project(o, tree),
            _ => node?.DeepClone(),
        };

        static JsonObject Project(JsonObject o, Dictionary<string, List<string>> tree)
        {
            var result = new JsonObject();
            if (o.TryGetPropertyValue("gid", out var gid))
            {
                result["gid"] = gid?.DeepClone();
            }

            foreach (var (key, rest) in tree)
            {
                if (key == "gid" || !o.TryGetPropertyValue(key, out var value))
                {
                    continue;
                }

                result[key] = rest.Count == 0
                    ? (value is JsonObject or JsonArray ? Select(value, ["gid"]) : value?.DeepClone())
                    : Select(value, rest);
            }

            return result;
        }
    }

    private Answer Page(HttpContext context, string path, IReadOnlyList<JsonNode?> items)
    {
        var query = context.Request.Query;
        if (!query.ContainsKey("limit"))
        {
            if (query.ContainsKey("offset"))
            {
                throw new BadRequest(400, "offset: requires limit");
            }

            return new Answer(200, new JsonObject { ["data"] = new JsonArray([.. items]) });
        }

        if (!int.TryParse(query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit is < 1 or > 100)
        {
            throw new BadRequest(400, "limit: Must be between 1 and 100");
        }

        var start = 0;
        if (query["offset"].ToString() is { Length: > 0 } offset)
        {
            try
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(offset));
                start = decoded.StartsWith("sim:", StringComparison.Ordinal) ? int.Parse(decoded[4..], CultureInfo.InvariantCulture) : throw new FormatException();
            }
            catch (FormatException)
            {
                throw new BadRequest(400, "offset: Your pagination token is invalid.");
            }
        }

        var page = items.Skip(start).Take(limit).ToList();
        JsonNode? next = null;
        if (start + limit < items.Count)
        {
            var token = Convert.ToBase64String(Encoding.UTF8.GetBytes($"sim:{start + limit}"));
            var pathQuery = $"{path}?limit={limit}&offset={Uri.EscapeDataString(token)}";
            next = new JsonObject { ["offset"] = token, ["path"] = pathQuery, ["uri"] = new Uri(ApiBaseUrl + pathQuery).AbsoluteUri };
        }

        return new Answer(200, new JsonObject { ["data"] = new JsonArray([.. page]), ["next_page"] = next });
    }

    private static JsonObject Data(HttpContext context)
    {
        context.Request.Body.Position = 0;
        JsonNode? body;
        try
        {
            body = JsonNode.Parse(context.Request.Body);
        }
        catch (JsonException)
        {
            throw new BadRequest(400, "Could not parse request data, invalid JSON");
        }

        return body?["data"] as JsonObject ?? throw new BadRequest(400, "data: Missing input");
    }

    // ---------------------------------------------------------------- state

    private SimAsanaStory AddStoryLocked(string taskGid, string text, string html, string author)
    {
        var story = new SimAsanaStory(NewGid(), taskGid, "comment_added", text, html, author);
        _stories.Add(story);
        _storyTimes[story.Gid] = Now();
        return story;
    }

    /// <summary>The system story Asana adds when a task is completed or reopened (<c>marked_complete</c> / <c>marked_incomplete</c>), by its actor.</summary>
    private void AddSystemStoryLocked(string taskGid, bool completed, string author)
    {
        var text = completed ? "completed this task" : "marked incomplete";
        var story = new SimAsanaStory(NewGid(), taskGid, completed ? "marked_complete" : "marked_incomplete", text, $"<body>{text}</body>", author);
        _stories.Add(story);
        _storyTimes[story.Gid] = Now();
    }

    private TaskData Task(string gid) => _tasks.GetValueOrDefault(gid) ?? throw new KeyNotFoundException($"No task {gid}.");

    private TaskData FindTask(string gid) => _tasks.GetValueOrDefault(gid) ?? throw new BadRequest(404, $"task: Unknown object: {gid}");

    private string NewGid() => Interlocked.Increment(ref _nextGid).ToString(CultureInfo.InvariantCulture);

    private DateTimeOffset Now() => TimeProvider.GetUtcNow();

    private static string Timestamp(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static JsonObject Template(string name) =>
        Templates.Value.TryGetValue(name, out var t) ? t.DeepClone().AsObject() : throw new InvalidOperationException($"Asana template {name} is not embedded.");

    private static Dictionary<string, JsonObject> LoadTemplates()
    {
        var assembly = typeof(AsanaSimulator).Assembly;
        var result = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        const string prefix = "Payloads.asana/";
        const string suffix = ".from-oas-field-examples.json";
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var normalized = resource.Replace('\\', '/');
            if (!normalized.StartsWith(prefix, StringComparison.Ordinal) || !normalized.EndsWith(suffix, StringComparison.Ordinal))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resource) ?? throw new InvalidOperationException($"Resource {resource} vanished.");
            result[normalized[prefix.Length..^suffix.Length]] = JsonNode.Parse(stream)!.AsObject();
        }

        return result;
    }

    private sealed class TaskData(string gid, string projectGid, DateTimeOffset createdAt)
    {
        public string Gid { get; } = gid;

        public string ProjectGid { get; } = projectGid;

        public DateTimeOffset CreatedAt { get; } = createdAt;

        public string Name { get; set; } = "";

        public string Notes { get; set; } = "";

        public bool Completed { get; set; }

        public DateTimeOffset ModifiedAt { get; set; } = createdAt;

        public List<string> Tags { get; } = [];

        public Dictionary<string, string?> EnumValues { get; } = new(StringComparer.Ordinal);

        public SimAsanaTask Snapshot() => new(Gid, ProjectGid, Name, Notes, Completed, [.. Tags], new Dictionary<string, string?>(EnumValues), ModifiedAt);
    }
}

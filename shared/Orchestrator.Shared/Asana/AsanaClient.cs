using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Shared.Platform;

namespace Orchestrator.Shared.Asana;

/// <summary>
/// <see cref="IAsanaClient"/> over Asana's REST API 1.0 (https://developers.asana.com/reference/rest-api-reference),
/// as described by Asana's OpenAPI document (<c>Asana/openapi</c> @ fc9f8dcf, <c>defs/asana_oas.yaml</c>).
/// </summary>
/// <remarks>
/// <para>
/// Every request goes to <c>{BaseUrl}/…</c> with <c>Authorization: Bearer {token}</c> and
/// <c>Accept: application/json</c>; request bodies are <c>{"data": {…}}</c> and every answer wraps its object
/// or list in <c>data</c>. Lists are paged with <c>limit</c> (1–100) and the opaque <c>offset</c> token of
/// <c>next_page.offset</c> (https://developers.asana.com/docs/pagination); the client follows them until
/// <c>next_page</c> is null and drops repeats by gid. Gids are numeric strings; anything else is rejected
/// with <see cref="ArgumentException"/> before a request is made.
/// </para>
/// <para>
/// Failures throw <see cref="PlatformApiException"/> (platform <c>Asana</c>, operation = method and path without
/// query). The message is the first <c>errors[].message</c> of the <c>ErrorResponse</c> body
/// (https://developers.asana.com/docs/errors). Transient: network errors, timeouts, 408, 429 (Asana's rate limits
/// answer 429 with <c>Retry-After</c> in seconds, https://developers.asana.com/docs/rate-limits) and 5xx;
/// <see cref="PlatformApiException.RetryAfter"/> comes from <c>Retry-After</c>. Permanent: every other 4xx —
/// 400 bad parameter or failed webhook handshake, 401 bad token, 402 premium only, 403 no access, 404 unknown
/// object — and a 2xx body that is not the documented JSON. No retries here: the durable engine retries.
/// </para>
/// <para>
/// Requests go through <see cref="PlatformHttp"/>: each first awaits <see cref="RateLimiter.WaitAsync"/> under
/// <see cref="CredentialKey"/>, and each response is passed to <see cref="RateLimiter.Observe"/>, so after a 429 with
/// <c>Retry-After</c> (seconds) nothing is sent with this token before that time
/// (https://developers.asana.com/docs/rate-limits).
/// </para>
/// </remarks>
public sealed class AsanaClient : IAsanaClient
{
    /// <summary>
    /// The <c>opt_fields</c> sent for tasks: exactly what <see cref="AsanaTask"/> holds
    /// (https://developers.asana.com/docs/inputoutput-options). Asana then returns <c>gid</c> plus these paths.
    /// </summary>
    public const string TaskOptFields =
        "name,notes,html_notes,completed,permalink_url,custom_fields.name,custom_fields.gid,custom_fields.enum_value.name," +
        "custom_fields.enum_value.gid,custom_fields.resource_subtype,tags.name,memberships.project.gid,memberships.section.name,modified_at";

    /// <summary>The <c>opt_fields</c> sent when listing stories: what <see cref="AsanaStory"/> holds.</summary>
    public const string StoryOptFields = "resource_subtype,text,html_text,created_at,created_by";

    /// <summary>The <c>opt_fields</c> sent for webhooks: what <see cref="AsanaWebhook"/> holds.</summary>
    public const string WebhookOptFields = "resource,target,active";

    /// <summary>
    /// The <c>opt_fields</c> sent when listing a project's custom field settings: what <see cref="AsanaCustomFieldSetting"/>
    /// holds (the paths are from the endpoint's <c>opt_fields</c> enum in Asana's OpenAPI description).
    /// </summary>
    public const string CustomFieldSettingOptFields =
        "is_important,custom_field.name,custom_field.resource_subtype,custom_field.enum_options.name,custom_field.enum_options.enabled";

    /// <summary>The <c>opt_fields</c> sent when creating an enum option: what <see cref="AsanaFieldOption"/> holds.</summary>
    public const string EnumOptionOptFields = "name,enabled";

    private const string PlatformName = "Asana";
    private const int MaxErrorBodyChars = 16 * 1024;
    private const int MaxMessageChars = 300;
    private const int MaxPages = 10_000;

    private readonly AsanaClientSettings _settings;
    private readonly TimeProvider _time;
    private readonly Uri _root;
    private readonly PlatformHttp _core;

    /// <summary>Creates the client.</summary>
    /// <param name="httpClient">Transport; its base address and default headers are not used. Its timeout must allow for the webhook handshake.</param>
    /// <param name="settings">API root and token.</param>
    /// <param name="timeProvider">Clock for HTTP-date <c>Retry-After</c> values and rate-limit waits; <see cref="TimeProvider.System"/> when <c>null</c>.</param>
    /// <param name="rateLimiter">
    /// Limiter consulted before every request under <see cref="CredentialKey"/>; defaults to <see cref="RateLimiter.For"/>
    /// <paramref name="timeProvider"/> (the process-wide limiter on the system clock).
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="httpClient"/> or <paramref name="settings"/> is null.</exception>
    /// <exception cref="ArgumentException">Relative base URL, empty token, or a page size outside 1–100.</exception>
    public AsanaClient(HttpClient httpClient, AsanaClientSettings settings, TimeProvider? timeProvider = null, RateLimiter? rateLimiter = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(settings.BaseUrl, nameof(settings));
        if (!settings.BaseUrl.IsAbsoluteUri)
        {
            throw new ArgumentException("BaseUrl must be absolute, e.g. https://app.asana.com/api/1.0.", nameof(settings));
        }

        if (string.IsNullOrWhiteSpace(settings.Token))
        {
            throw new ArgumentException("Token is empty.", nameof(settings));
        }

        if (settings.PageSize is < 1 or > 100)
        {
            throw new ArgumentException("PageSize must be between 1 and 100.", nameof(settings));
        }

        _settings = settings;
        _time = timeProvider ?? TimeProvider.System;
        var root = settings.BaseUrl.GetLeftPart(UriPartial.Path);
        _root = new Uri(root.EndsWith('/') ? root : root + "/");
        _core = new PlatformHttp(
            httpClient,
            PlatformHttpOptions.ForStaticToken(PlatformName, settings.BaseUrl, settings.Token, AddHeaders, ToException) with
            {
                TimeoutMessage = "timed out",
                NotJsonMessage = "the response is not JSON",
                MaxMessageChars = MaxMessageChars,
            },
            rateLimiter ?? RateLimiter.For(_time));
    }

    private static void AddHeaders(HttpRequestMessage request, string token)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
    }

    /// <summary>The <see cref="RateLimiter"/> key of this client's token: <c>asana:{BaseUrl}:{SHA-256 prefix of the token}</c>.</summary>
    public string CredentialKey => _core.CredentialKey;

    /// <summary>
    /// <c>GET /tasks/{task_gid}?opt_fields=</c><see cref="TaskOptFields"/> (https://developers.asana.com/reference/gettask).
    /// </summary>
    /// <param name="taskGid">Task gid.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The task.</returns>
    /// <exception cref="PlatformApiException">Non-2xx (404 unknown task, 403 no access), network failure or an unexpected body.</exception>
    public async Task<AsanaTask> GetTaskAsync(string taskGid, CancellationToken cancellationToken)
    {
        var path = "tasks/" + Gid(taskGid, nameof(taskGid));
        using var response = await SendAsync(HttpMethod.Get, path, "opt_fields=" + TaskOptFields, null, cancellationToken);
        return Parse(response, data => AsanaJson.ParseTask(data));
    }

    /// <summary>
    /// Marks a task complete: <c>PUT /tasks/{task_gid}</c> with <c>{"data":{"completed":true}}</c>
    /// (https://developers.asana.com/reference/updatetask). Idempotent.
    /// </summary>
    /// <param name="taskGid">Task gid.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="PlatformApiException">Non-2xx or network failure.</exception>
    public Task CompleteTaskAsync(string taskGid, CancellationToken cancellationToken) =>
        SetCompletedAsync(taskGid, true, cancellationToken);

    /// <summary>
    /// Selects an option of an enum custom field on a task: <c>PUT /tasks/{task_gid}</c> with
    /// <c>{"data":{"custom_fields":{"&lt;field gid&gt;": "&lt;option gid&gt;"}}}</c> (https://developers.asana.com/reference/updatetask;
    /// a <c>null</c> option clears the field). Idempotent. Asana answers 400 when the field is not on the task's projects or
    /// the option is not one of the field's enabled options.
    /// </summary>
    /// <param name="taskGid">Task gid.</param>
    /// <param name="fieldGid">Enum custom field gid.</param>
    /// <param name="optionGid">Enum option gid, or <c>null</c> to clear.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="PlatformApiException">Non-2xx or network failure.</exception>
    public async Task SetEnumFieldAsync(string taskGid, string fieldGid, string? optionGid, CancellationToken cancellationToken)
    {
        var path = "tasks/" + Gid(taskGid, nameof(taskGid));
        var fields = new JsonObject { [Gid(fieldGid, nameof(fieldGid))] = optionGid is null ? null : Gid(optionGid, nameof(optionGid)) };
        using var response = await SendAsync(HttpMethod.Put, path, "opt_fields=custom_fields.gid", new JsonObject { ["custom_fields"] = fields }, cancellationToken);
    }

    /// <summary>
    /// Reopens a task: <c>PUT /tasks/{task_gid}</c> with <c>{"data":{"completed":false}}</c>
    /// (https://developers.asana.com/reference/updatetask). Idempotent.
    /// </summary>
    /// <param name="taskGid">Task gid.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="PlatformApiException">Non-2xx or network failure.</exception>
    public Task ReopenTaskAsync(string taskGid, CancellationToken cancellationToken) =>
        SetCompletedAsync(taskGid, false, cancellationToken);

    /// <summary>
    /// Adds a plain-text comment: <c>POST /tasks/{task_gid}/stories</c> with <c>{"data":{"text": …}}</c>
    /// (https://developers.asana.com/reference/createstoryfortask); Asana answers 201 with the story.
    /// Not idempotent — see <see cref="EnsureCommentAsync"/>.
    /// </summary>
    /// <param name="taskGid">Task gid.</param>
    /// <param name="text">Comment text.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The created story (<c>resource_subtype</c> <c>comment_added</c>).</returns>
    /// <exception cref="PlatformApiException">Non-2xx or network failure.</exception>
    public Task<AsanaStory> AddCommentAsync(string taskGid, string text, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        return CreateStoryAsync(taskGid, new JsonObject { ["text"] = text }, cancellationToken);
    }

    /// <summary>
    /// Adds a rich-text comment: <c>POST /tasks/{task_gid}/stories</c> with <c>{"data":{"html_text": …}}</c>
    /// (https://developers.asana.com/reference/createstoryfortask). The body must be Asana rich text wrapped in
    /// <c>&lt;body&gt;</c> (https://developers.asana.com/docs/rich-text); Asana answers 400 otherwise.
    /// </summary>
    /// <param name="taskGid">Task gid.</param>
    /// <param name="htmlText">E.g. <c>&lt;body&gt;PR opened: &lt;a href="…"&gt;#12&lt;/a&gt;&lt;/body&gt;</c>.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The created story.</returns>
    /// <exception cref="PlatformApiException">Non-2xx or network failure.</exception>
    public Task<AsanaStory> AddHtmlCommentAsync(string taskGid, string htmlText, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(htmlText);
        return CreateStoryAsync(taskGid, new JsonObject { ["html_text"] = htmlText }, cancellationToken);
    }

    /// <summary>
    /// Every story of a task: <c>GET /tasks/{task_gid}/stories?limit=N&amp;opt_fields=</c><see cref="StoryOptFields"/>
    /// <c>[&amp;offset=…]</c> (https://developers.asana.com/reference/getstoriesfortask), all pages, oldest first.
    /// </summary>
    /// <param name="taskGid">Task gid.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    /// <returns>Comments and system stories.</returns>
    /// <exception cref="PlatformApiException">Any page fails, or the pages do not advance.</exception>
    public Task<IReadOnlyList<AsanaStory>> ListStoriesAsync(string taskGid, CancellationToken cancellationToken) =>
        ListAllAsync($"tasks/{Gid(taskGid, nameof(taskGid))}/stories", "opt_fields=" + StoryOptFields, AsanaJson.ParseStory, s => s.Gid, cancellationToken);

    /// <summary>
    /// Idempotent comment (Renovate's <c>ensureComment</c>): lists the stories and returns the first
    /// <c>comment_added</c> story whose <c>text</c> or <c>html_text</c> contains <paramref name="marker"/>; otherwise
    /// adds <paramref name="htmlText"/> with <see cref="AddHtmlCommentAsync"/>.
    /// </summary>
    /// <remarks>
    /// Asana has no hidden metadata or external id on stories, and its rich text drops unknown markup such as
    /// HTML comments, so the marker must be visible text (e.g. <c>[orchestrator:run-42]</c>).
    /// Two concurrent calls can still both create; callers serialise per task (the durable engine does).
    /// </remarks>
    /// <param name="taskGid">Task gid.</param>
    /// <param name="marker">A unique visible token; must occur in <paramref name="htmlText"/>.</param>
    /// <param name="htmlText">Rich-text body wrapped in <c>&lt;body&gt;</c>.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    /// <returns>The existing or the created story.</returns>
    /// <exception cref="ArgumentException"><paramref name="htmlText"/> does not contain <paramref name="marker"/>.</exception>
    /// <exception cref="PlatformApiException">Non-2xx or network failure.</exception>
    public async Task<AsanaStory> EnsureCommentAsync(string taskGid, string marker, string htmlText, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(marker);
        ArgumentException.ThrowIfNullOrEmpty(htmlText);
        if (!htmlText.Contains(marker, StringComparison.Ordinal))
        {
            throw new ArgumentException("The comment must contain its marker, or it could never be found again.", nameof(htmlText));
        }

        var stories = await ListStoriesAsync(taskGid, cancellationToken);
        var existing = stories.FirstOrDefault(s =>
            s.ResourceSubtype == "comment_added"
            && ((s.Text?.Contains(marker, StringComparison.Ordinal) ?? false) || (s.HtmlText?.Contains(marker, StringComparison.Ordinal) ?? false)));
        return existing ?? await AddHtmlCommentAsync(taskGid, htmlText, cancellationToken);
    }

    /// <summary>
    /// <c>POST /webhooks?opt_fields=</c><see cref="WebhookOptFields"/> with
    /// <c>{"data":{"resource": …, "target": …, "filters": [...]}}</c> (https://developers.asana.com/reference/createwebhook).
    /// </summary>
    /// <remarks>
    /// While this request is open Asana POSTs a handshake with <c>X-Hook-Secret</c> to <paramref name="target"/>;
    /// the receiver must answer 200 (or 204) echoing that header (see <see cref="AsanaWebhooks.TryGetHandshakeSecret"/>),
    /// otherwise Asana fails this call (a 4xx, permanent). So the receiver must already be reachable and must not
    /// be the thread awaiting this call. The 201 answer repeats the secret in its <c>X-Hook-Secret</c> property.
    /// </remarks>
    /// <param name="resourceGid">Resource to watch, usually a project gid (higher-level resources require filters).</param>
    /// <param name="target">Absolute HTTPS URL receiving the handshake and the events.</param>
    /// <param name="filters">Optional whitelist of events; <c>null</c> or empty sends none.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The webhook and the secret.</returns>
    /// <exception cref="PlatformApiException">Non-2xx (400 when the handshake failed) or network failure.</exception>
    public async Task<AsanaCreatedWebhook> CreateWebhookAsync(string resourceGid, Uri target, IReadOnlyList<AsanaWebhookFilter>? filters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (!target.IsAbsoluteUri)
        {
            throw new ArgumentException("The webhook target must be an absolute URL.", nameof(target));
        }

        var data = new JsonObject
        {
            ["resource"] = Gid(resourceGid, nameof(resourceGid)),
            ["target"] = target.AbsoluteUri,
        };
        if (filters is { Count: > 0 })
        {
            data["filters"] = new JsonArray([.. filters.Select(FilterJson)]);
        }

        using var response = await SendAsync(HttpMethod.Post, "webhooks", "opt_fields=" + WebhookOptFields, data, cancellationToken);
        return Parse(response, _ =>
        {
            var root = response.Json!.RootElement;
            var secret = root.TryGetProperty("X-Hook-Secret", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            return new AsanaCreatedWebhook(AsanaJson.ParseWebhook(root.GetProperty("data")), secret);
        });
    }

    /// <summary>
    /// Every webhook the token's app registered in a workspace:
    /// <c>GET /webhooks?workspace=…[&amp;resource=…]&amp;limit=N&amp;opt_fields=</c><see cref="WebhookOptFields"/>
    /// (https://developers.asana.com/reference/getwebhooks; <c>workspace</c> is required), all pages.
    /// </summary>
    /// <param name="workspaceGid">Workspace gid.</param>
    /// <param name="resourceGid">Only webhooks on this resource, or <c>null</c> for all.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    /// <returns>The webhooks.</returns>
    /// <exception cref="PlatformApiException">Any page fails.</exception>
    public Task<IReadOnlyList<AsanaWebhook>> ListWebhooksAsync(string workspaceGid, string? resourceGid, CancellationToken cancellationToken)
    {
        var query = "workspace=" + Gid(workspaceGid, nameof(workspaceGid))
            + (resourceGid is null ? "" : "&resource=" + Gid(resourceGid, nameof(resourceGid)))
            + "&opt_fields=" + WebhookOptFields;
        return ListAllAsync("webhooks", query, AsanaJson.ParseWebhook, w => w.Gid, cancellationToken);
    }

    /// <summary>
    /// <c>DELETE /webhooks/{webhook_gid}</c> (https://developers.asana.com/reference/deletewebhook); Asana answers
    /// 200 <c>{"data":{}}</c>. Events already in flight may still arrive.
    /// </summary>
    /// <param name="webhookGid">Webhook gid.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="PlatformApiException">Non-2xx (404 when already deleted) or network failure.</exception>
    public async Task DeleteWebhookAsync(string webhookGid, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Delete, "webhooks/" + Gid(webhookGid, nameof(webhookGid)), null, null, cancellationToken);
    }

    /// <summary>
    /// Tasks of a project modified at or after <paramref name="modifiedSince"/>, for an import or a
    /// reconciliation sweep: <c>GET /tasks?project=…&amp;modified_since=…&amp;limit=N&amp;opt_fields=</c><see cref="TaskOptFields"/>
    /// (https://developers.asana.com/reference/gettasks), all pages.
    /// </summary>
    /// <remarks>
    /// Asana's OpenAPI description gives <c>modified_since</c> only to <c>GET /tasks</c> (with <c>project</c>);
    /// <c>GET /projects/{project_gid}/tasks</c> takes only <c>completed_since</c>, so that route is not used.
    /// "Modified" includes new stories, so our own comments make a task count as modified.
    /// </remarks>
    /// <param name="projectGid">Project gid.</param>
    /// <param name="modifiedSince">Lower bound, sent in UTC as <c>yyyy-MM-ddTHH:mm:ss.fffZ</c>.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    /// <returns>The tasks in the server's order.</returns>
    /// <exception cref="PlatformApiException">Any page fails.</exception>
    public Task<IReadOnlyList<AsanaTask>> ListProjectTasksModifiedSinceAsync(string projectGid, DateTimeOffset modifiedSince, CancellationToken cancellationToken)
    {
        var since = modifiedSince.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var query = "project=" + Gid(projectGid, nameof(projectGid)) + "&modified_since=" + Uri.EscapeDataString(since) + "&opt_fields=" + TaskOptFields;
        return ListAllAsync("tasks", query, AsanaJson.ParseTask, t => t.Gid, cancellationToken);
    }

    /// <summary>
    /// The custom fields of a project:
    /// <c>GET /projects/{project_gid}/custom_field_settings?limit=N&amp;opt_fields=</c><see cref="CustomFieldSettingOptFields"/>
    /// (https://developers.asana.com/reference/getcustomfieldsettingsforproject; scope <c>projects:read</c>), all pages, in
    /// Asana's order.
    /// </summary>
    /// <param name="projectGid">Project gid.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    /// <returns>The settings, each with its field and (for enum fields) the field's options.</returns>
    /// <exception cref="PlatformApiException">Any page fails (404 unknown project, 403 no access).</exception>
    public Task<IReadOnlyList<AsanaCustomFieldSetting>> ListProjectCustomFieldSettingsAsync(string projectGid, CancellationToken cancellationToken) =>
        ListAllAsync($"projects/{Gid(projectGid, nameof(projectGid))}/custom_field_settings", "opt_fields=" + CustomFieldSettingOptFields,
            AsanaJson.ParseCustomFieldSetting, s => s.Gid, cancellationToken);

    /// <summary>
    /// Adds an option at the end of an enum custom field:
    /// <c>POST /custom_fields/{custom_field_gid}/enum_options?opt_fields=</c><see cref="EnumOptionOptFields"/> with
    /// <c>{"data":{"name": …}}</c> (https://developers.asana.com/reference/createenumoptionforcustomfield; scope
    /// <c>custom_fields:write</c>); Asana answers 201 with the option, created enabled. Not idempotent: Asana documents
    /// no refusal of a second option with the same name, so callers check the field's options first.
    /// </summary>
    /// <param name="customFieldGid">The enum field's gid.</param>
    /// <param name="name">Option name.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The new option.</returns>
    /// <exception cref="PlatformApiException">Non-2xx (400 at the 500-option limit, 403 for a field locked by someone else, 404 unknown field) or network failure.</exception>
    public async Task<AsanaFieldOption> CreateEnumOptionAsync(string customFieldGid, string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var path = $"custom_fields/{Gid(customFieldGid, nameof(customFieldGid))}/enum_options";
        using var response = await SendAsync(HttpMethod.Post, path, "opt_fields=" + EnumOptionOptFields, new JsonObject { ["name"] = name }, cancellationToken);
        return Parse(response, AsanaJson.ParseFieldOption);
    }

    /// <summary>
    /// Creates a task: <c>POST /tasks?opt_fields=</c><see cref="TaskOptFields"/> with <c>{"data": {"name", "notes", "projects":
    /// [gid], "tags": [gid], "custom_fields": {field gid: option gid}}}</c> (https://developers.asana.com/reference/createtask);
    /// Asana answers 201 with the task. Not idempotent (Asana has no idempotency key for tasks): callers guard against a repeat.
    /// Asana then sends the project's webhooks an <c>added</c> event for the task.
    /// </summary>
    /// <param name="task">What to create.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The created task.</returns>
    /// <exception cref="PlatformApiException">Non-2xx (400 for an option of another field, 403 no access) or network failure.</exception>
    public async Task<AsanaTask> CreateTaskAsync(AsanaNewTask task, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentException.ThrowIfNullOrWhiteSpace(task.Name);
        var data = new JsonObject
        {
            ["name"] = task.Name,
            ["notes"] = task.Notes,
            ["projects"] = new JsonArray(Gid(task.ProjectGid, nameof(task))),
        };
        if (task.TagGids.Count > 0)
        {
            data["tags"] = new JsonArray([.. task.TagGids.Select(g => (JsonNode?)JsonValue.Create(Gid(g, nameof(task))))]);
        }

        if (task.EnumFields.Count > 0)
        {
            var fields = new JsonObject();
            foreach (var (field, option) in task.EnumFields)
            {
                fields[Gid(field, nameof(task))] = Gid(option, nameof(task));
            }

            data["custom_fields"] = fields;
        }

        using var response = await SendAsync(HttpMethod.Post, "tasks", "opt_fields=" + TaskOptFields, data, cancellationToken);
        return Parse(response, created => AsanaJson.ParseTask(created));
    }

    /// <summary>
    /// Every tag of a workspace: <c>GET /workspaces/{workspace_gid}/tags?limit=N&amp;opt_fields=name[&amp;offset=…]</c>
    /// (https://developers.asana.com/reference/gettagsforworkspace), all pages.
    /// </summary>
    /// <param name="workspaceGid">Workspace gid.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    /// <returns>The tags.</returns>
    /// <exception cref="PlatformApiException">Any page fails.</exception>
    public Task<IReadOnlyList<AsanaTag>> ListWorkspaceTagsAsync(string workspaceGid, CancellationToken cancellationToken) =>
        ListAllAsync($"workspaces/{Gid(workspaceGid, nameof(workspaceGid))}/tags", "opt_fields=name", AsanaJson.ParseTag, t => t.Gid, cancellationToken);

    /// <summary>
    /// Creates a tag: <c>POST /workspaces/{workspace_gid}/tags?opt_fields=name</c> with <c>{"data":{"name": …}}</c>
    /// (https://developers.asana.com/reference/createtagforworkspace); 201 with the tag. Asana allows several tags of one
    /// name, so callers look for an existing one first.
    /// </summary>
    /// <param name="workspaceGid">Workspace gid.</param>
    /// <param name="name">Tag name.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The tag.</returns>
    /// <exception cref="PlatformApiException">Non-2xx or network failure.</exception>
    public async Task<AsanaTag> CreateTagAsync(string workspaceGid, string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        using var response = await SendAsync(HttpMethod.Post, $"workspaces/{Gid(workspaceGid, nameof(workspaceGid))}/tags", "opt_fields=name", new JsonObject { ["name"] = name }, cancellationToken);
        return Parse(response, AsanaJson.ParseTag);
    }

    private async Task SetCompletedAsync(string taskGid, bool completed, CancellationToken cancellationToken)
    {
        var path = "tasks/" + Gid(taskGid, nameof(taskGid));
        using var response = await SendAsync(HttpMethod.Put, path, "opt_fields=completed", new JsonObject { ["completed"] = completed }, cancellationToken);
    }

    private async Task<AsanaStory> CreateStoryAsync(string taskGid, JsonObject data, CancellationToken cancellationToken)
    {
        var path = $"tasks/{Gid(taskGid, nameof(taskGid))}/stories";
        using var response = await SendAsync(HttpMethod.Post, path, "opt_fields=" + StoryOptFields, data, cancellationToken);
        return Parse(response, AsanaJson.ParseStory);
    }

    private static JsonObject FilterJson(AsanaWebhookFilter filter)
    {
        var json = new JsonObject();
        if (filter.ResourceType is not null)
        {
            json["resource_type"] = filter.ResourceType;
        }

        if (filter.ResourceSubtype is not null)
        {
            json["resource_subtype"] = filter.ResourceSubtype;
        }

        if (filter.Action is not null)
        {
            json["action"] = filter.Action;
        }

        if (filter.Fields is { Count: > 0 } fields)
        {
            json["fields"] = new JsonArray([.. fields.Select(f => (JsonNode?)JsonValue.Create(f))]);
        }

        return json;
    }

    private async Task<IReadOnlyList<T>> ListAllAsync<T>(
        string path, string query, Func<JsonElement, T> parse, Func<T, string> idOf, CancellationToken cancellationToken)
    {
        var items = new List<T>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var offsets = new HashSet<string>(StringComparer.Ordinal);
        string? offset = null;
        for (var page = 0; page < MaxPages; page++)
        {
            var pageQuery = $"limit={_settings.PageSize}&{query}" + (offset is null ? "" : "&offset=" + Uri.EscapeDataString(offset));
            using var response = await SendAsync(HttpMethod.Get, path, pageQuery, null, cancellationToken);
            var next = Parse(response, data =>
            {
                if (data.ValueKind != JsonValueKind.Array)
                {
                    throw new FormatException("data is not an array.");
                }

                foreach (var element in data.EnumerateArray())
                {
                    var item = parse(element);
                    if (seen.Add(idOf(item)))
                    {
                        items.Add(item);
                    }
                }

                var root = response.Json!.RootElement;
                return root.TryGetProperty("next_page", out var np) && np.ValueKind == JsonValueKind.Object
                    && np.TryGetProperty("offset", out var o) && o.ValueKind == JsonValueKind.String
                    ? o.GetString()
                    : null;
            });
            if (next is null)
            {
                return items;
            }

            if (!offsets.Add(next))
            {
                throw new PlatformApiException(PlatformName, $"GET /{path}", HttpStatusCode.OK, "next_page.offset repeats an earlier offset", isTransient: false);
            }

            offset = next;
        }

        throw new PlatformApiException(PlatformName, $"GET /{path}", HttpStatusCode.OK, $"more than {MaxPages} pages", isTransient: false);
    }

    private Task<PlatformResponse> SendAsync(HttpMethod method, string path, string? query, JsonObject? data, CancellationToken cancellationToken) =>
        _core.SendAsync(
            method,
            new Uri(_root, query is null ? path : path + "?" + query),
            $"{method.Method} /{path}",
            data is null ? null : new JsonObject { ["data"] = data },
            cancellationToken);

    private PlatformApiException ToException(PlatformFailure failure)
    {
        var text = failure.Body.Length > MaxErrorBodyChars ? failure.Body[..MaxErrorBodyChars] : failure.Body;
        string? message = null;
        try
        {
            using var json = JsonDocument.Parse(text);
            if (json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array
                && errors.GetArrayLength() > 0 && errors[0].ValueKind == JsonValueKind.Object
                && errors[0].TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
            {
                message = m.GetString();
                if (errors[0].TryGetProperty("phrase", out var phrase) && phrase.ValueKind == JsonValueKind.String)
                {
                    message += $" (phrase: {phrase.GetString()})";
                }
            }
        }
        catch (JsonException)
        {
            // Load balancers answer HTML for some 5xx.
        }

        message ??= failure.ReasonOrStatus;
        return PlatformHttp.Classify(PlatformName, failure, failure.Redact(message), _time.GetUtcNow(), retryAfterOnPermanent: true);
    }

    private static T Parse<T>(PlatformResponse response, Func<JsonElement, T> parse)
    {
        try
        {
            if (response.Json?.RootElement is not { ValueKind: JsonValueKind.Object } root || !root.TryGetProperty("data", out var data))
            {
                throw new FormatException("The body has no data property.");
            }

            return parse(data);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or KeyNotFoundException)
        {
            throw new PlatformApiException(PlatformName, response.Operation, response.Status, $"unexpected response: {e.Message}", isTransient: false, inner: e);
        }
    }

    private static string Gid(string value, string parameter)
    {
        ArgumentException.ThrowIfNullOrEmpty(value, parameter);
        return value.All(char.IsAsciiDigit)
            ? value
            : throw new ArgumentException($"'{value}' is not an Asana gid (a string of digits).", parameter);
    }

}

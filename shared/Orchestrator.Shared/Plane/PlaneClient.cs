using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Shared.Platform;

namespace Orchestrator.Shared.Plane;

/// <summary>
/// <see cref="IPlaneClient"/> over Plane's REST API v1 (https://developers.plane.so/api-reference/introduction),
/// as implemented by Plane Community Edition (makeplane/plane @ 4ca6d6c7, <c>apps/api/plane/api/</c>).
/// </summary>
/// <remarks>
/// <para>
/// Every request goes to <c>{ApiBaseUrl}/api/v1/workspaces/{slug}/projects/{project_id}/…/</c> (Plane's
/// routes all end in <c>/</c>) with the token in <c>X-Api-Key</c> and <c>Accept: application/json</c>.
/// Ids are UUID strings; a value that is not a UUID is rejected with <see cref="ArgumentException"/>
/// before any request (Plane's <c>&lt;uuid:…&gt;</c> routes would only answer an HTML 404).
/// Timestamps are parsed with their offset (Plane renders them in the token owner's time zone).
/// </para>
/// <para>
/// Failures throw <see cref="PlatformApiException"/> (platform <c>Plane</c>, operation = method and path,
/// never the query or the token). The message is the body's <c>error</c>, <c>detail</c> or
/// <c>error_message</c> field (Plane uses all three), else the first field error. Transient: network
/// errors, timeouts, 408, 429 (Plane throttles API keys at 60 requests/minute by default and answers
/// 429 with <c>Retry-After</c> in seconds) and 5xx; <see cref="PlatformApiException.RetryAfter"/> comes from
/// <c>Retry-After</c> (delta seconds, or an HTTP date measured against the <see cref="TimeProvider"/>).
/// Permanent: every other 4xx — 400 validation, 401 missing key, 403 invalid key or not a project
/// member, 404 unknown work item — and a 2xx body that is not the documented JSON.
/// Cancelling the <see cref="CancellationToken"/> throws <see cref="OperationCanceledException"/>.
/// No retries and no logging here: the durable engine retries transient failures.
/// </para>
/// <para>
/// Requests go through <see cref="PlatformHttp"/>: each first awaits <see cref="RateLimiter.WaitAsync"/> under
/// <see cref="CredentialKey"/>, and each response is passed to <see cref="RateLimiter.Observe"/>. Plane's API-key
/// throttle (<c>apps/api/plane/api/rate_limit.py</c>, 60 requests/minute unless <c>API_KEY_RATE_LIMIT</c> says
/// otherwise) reports <c>X-RateLimit-Remaining</c> and <c>X-RateLimit-Reset</c> (UTC epoch seconds); a refused request
/// is a 429, with Django REST framework's <c>Retry-After</c>. So once the remaining budget is 0, or after a 429, nothing
/// is sent with this token before the reset (<c>Retry-After</c> wins when both are present).
/// </para>
/// </remarks>
public sealed class PlaneClient : IPlaneClient
{
    /// <summary>The <c>external_source</c> written on comments this client creates.</summary>
    public const string ExternalSource = "orchestrator";

    private const string Platform = "Plane";
    private const int MaxErrorBodyChars = 16 * 1024;
    private const int MaxMessageChars = 300;
    private const int MaxPages = 10_000;

    private readonly PlaneClientSettings _settings;
    private readonly TimeProvider _time;
    private readonly Uri _root;
    private readonly PlatformHttp _core;

    /// <summary>Creates the client.</summary>
    /// <param name="httpClient">Transport (e.g. from <c>IHttpClientFactory</c>); its default headers and base address are not used.</param>
    /// <param name="settings">Server, token and workspace.</param>
    /// <param name="timeProvider">Clock for HTTP-date <c>Retry-After</c> values and rate-limit waits; <see cref="TimeProvider.System"/> when <c>null</c>.</param>
    /// <param name="rateLimiter">
    /// Limiter consulted before every request under <see cref="CredentialKey"/>; defaults to <see cref="RateLimiter.For"/>
    /// <paramref name="timeProvider"/> (the process-wide limiter on the system clock).
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="httpClient"/> or <paramref name="settings"/> is null.</exception>
    /// <exception cref="ArgumentException">Relative base URL, empty token or slug, or <see cref="PlaneClientSettings.PageSize"/> outside 1–100.</exception>
    public PlaneClient(HttpClient httpClient, PlaneClientSettings settings, TimeProvider? timeProvider = null, RateLimiter? rateLimiter = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(settings.ApiBaseUrl, nameof(settings));
        if (!settings.ApiBaseUrl.IsAbsoluteUri)
        {
            throw new ArgumentException("ApiBaseUrl must be an absolute URL such as https://plane.example.com.", nameof(settings));
        }

        if (string.IsNullOrWhiteSpace(settings.ApiToken))
        {
            throw new ArgumentException("ApiToken is empty.", nameof(settings));
        }

        if (string.IsNullOrWhiteSpace(settings.WorkspaceSlug))
        {
            throw new ArgumentException("WorkspaceSlug is empty.", nameof(settings));
        }

        if (settings.PageSize is < 1 or > 100)
        {
            throw new ArgumentException("PageSize must be between 1 and 100.", nameof(settings));
        }

        _settings = settings;
        _time = timeProvider ?? TimeProvider.System;
        var root = settings.ApiBaseUrl.GetLeftPart(UriPartial.Path);
        _root = new Uri(root.EndsWith('/') ? root : root + "/");
        _core = new PlatformHttp(
            httpClient,
            PlatformHttpOptions.ForStaticToken(Platform, settings.ApiBaseUrl, settings.ApiToken, AddHeaders, ToException) with
            {
                TimeoutMessage = "timed out",
                NotJsonMessage = "the response is not JSON",
                MaxMessageChars = MaxMessageChars,
            },
            rateLimiter ?? RateLimiter.For(_time));
    }

    private static void AddHeaders(HttpRequestMessage request, string token)
    {
        request.Headers.TryAddWithoutValidation("X-Api-Key", token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
    }

    /// <summary>The <see cref="RateLimiter"/> key of this client's token: <c>plane:{ApiBaseUrl}:{SHA-256 prefix of the token}</c>.</summary>
    public string CredentialKey => _core.CredentialKey;

    /// <summary>
    /// <c>GET …/projects/{project_id}/work-items/{work_item_id}/?expand=labels,state</c>
    /// (https://developers.plane.so/api-reference/issue/get-issue-detail).
    /// </summary>
    /// <remarks>
    /// With the expansion Plane returns <c>labels</c> as full label objects (<c>id</c>, <c>name</c>,
    /// <c>color</c>, …) and <c>state</c> as <c>{id, name, color, group}</c>. A server that ignores
    /// <c>expand</c> returns bare UUIDs; they are accepted, and then <see cref="PlaneLabel.Name"/>,
    /// <see cref="PlaneState.Name"/> and <see cref="PlaneState.Group"/> are empty strings.
    /// </remarks>
    /// <param name="projectId">Project UUID.</param>
    /// <param name="workItemId">Work item UUID.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The work item.</returns>
    /// <exception cref="PlatformApiException">Non-2xx (404 for an unknown or deleted work item), network failure or an unexpected body.</exception>
    public async Task<PlaneWorkItem> GetWorkItemAsync(string projectId, string workItemId, CancellationToken cancellationToken)
    {
        var path = WorkItemPath(projectId, workItemId);
        using var response = await SendAsync(HttpMethod.Get, path, "expand=labels,state", body: null, acceptConflict: false, cancellationToken);
        return Parse(response, root => PlaneJson.ParseWorkItem(root, projectId));
    }

    /// <summary>
    /// The project's work items changed at or after <paramref name="since"/>:
    /// <c>GET …/projects/{project_id}/work-items/?expand=labels,state&amp;order_by=-updated_at&amp;per_page=N[&amp;cursor=…]</c>
    /// (https://developers.plane.so/api-reference/issue/list-issues), newest change first, page after page until an
    /// item older than <paramref name="since"/> (it and the rest are left out).
    /// </summary>
    /// <remarks>Plane pages by offset: an item changed while paging can move up and repeat (dropped) or be missed (the next sync sees it).</remarks>
    /// <param name="projectId">Project UUID.</param>
    /// <param name="since">Oldest <c>updated_at</c> wanted.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    /// <returns>The work items, newest change first.</returns>
    /// <exception cref="PlatformApiException">Any page fails, or the pages do not advance.</exception>
    public async Task<IReadOnlyList<PlaneWorkItem>> ListWorkItemsUpdatedSinceAsync(string projectId, DateTimeOffset since, CancellationToken cancellationToken) =>
        await ListAllAsync(
            ProjectPath(projectId) + "work-items/",
            root => PlaneJson.ParseWorkItem(root, projectId),
            w => w.Id,
            cancellationToken,
            extraQuery: "expand=labels,state&order_by=-updated_at",
            older: w => w.UpdatedAt is { } at && at < since);


    /// <summary>
    /// Every state of the project: <c>GET …/projects/{project_id}/states/?per_page=N[&amp;cursor=…]</c>,
    /// following <c>next_cursor</c> while <c>next_page_results</c> is true
    /// (https://developers.plane.so/api-reference/state/list-states). Plane orders states by <c>sequence</c>
    /// and leaves out triage states.
    /// </summary>
    /// <param name="projectId">Project UUID.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    /// <returns>The states in the server's order.</returns>
    /// <exception cref="PlatformApiException">Any page fails, or the pages do not advance.</exception>
    public async Task<IReadOnlyList<PlaneState>> ListStatesAsync(string projectId, CancellationToken cancellationToken) =>
        await ListAllAsync(ProjectPath(projectId) + "states/", PlaneJson.ParseState, s => s.Id, cancellationToken);

    /// <summary>
    /// <c>PATCH …/projects/{project_id}/work-items/{work_item_id}/</c> with body <c>{"state": "&lt;uuid&gt;"}</c>
    /// (https://developers.plane.so/api-reference/issue/update-issue-detail). Plane answers 200 with the work
    /// item; a state of another project is a 400.
    /// </summary>
    /// <param name="projectId">Project UUID.</param>
    /// <param name="workItemId">Work item UUID.</param>
    /// <param name="stateId">Target state UUID (from <see cref="ListStatesAsync"/>).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="PlatformApiException">Non-2xx or network failure.</exception>
    public async Task UpdateWorkItemStateAsync(string projectId, string workItemId, string stateId, CancellationToken cancellationToken)
    {
        var path = WorkItemPath(projectId, workItemId);
        var body = new JsonObject { ["state"] = Uuid(stateId, nameof(stateId)) };
        using var response = await SendAsync(HttpMethod.Patch, path, query: null, body, acceptConflict: false, cancellationToken);
    }

    /// <summary>
    /// Every comment of the work item: <c>GET …/work-items/{work_item_id}/comments/?per_page=N[&amp;cursor=…]</c>
    /// (https://developers.plane.so/api-reference/issue-comment/list-issue-comments), all pages.
    /// </summary>
    /// <remarks>
    /// Plane orders comments newest first and pages by offset, so a comment added while paging can
    /// repeat across pages; repeats (same id) are dropped. Plane answers an empty list, not 404, for a
    /// work item that does not exist.
    /// </remarks>
    /// <param name="projectId">Project UUID.</param>
    /// <param name="workItemId">Work item UUID.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    /// <returns>The comments, newest first.</returns>
    /// <exception cref="PlatformApiException">Any page fails, or the pages do not advance.</exception>
    public async Task<IReadOnlyList<PlaneComment>> ListCommentsAsync(string projectId, string workItemId, CancellationToken cancellationToken) =>
        await ListAllAsync(WorkItemPath(projectId, workItemId) + "comments/", PlaneJson.ParseComment, c => c.Id, cancellationToken);

    /// <summary>
    /// <c>POST …/work-items/{work_item_id}/comments/</c> with
    /// <c>{"comment_html": …, "external_source": "orchestrator", "external_id": …}</c>
    /// (https://developers.plane.so/api-reference/issue-comment/add-issue-comment); Plane answers 201 with the comment.
    /// </summary>
    /// <remarks>
    /// Idempotent on <paramref name="externalId"/>: Plane refuses a second comment with the same
    /// <c>external_source</c> and <c>external_id</c> anywhere in the project (409 with
    /// <c>{"error": …, "id": "&lt;existing comment&gt;"}</c>); the client then fetches and returns that
    /// comment (<c>GET …/comments/{id}/</c>). If it belongs to another work item that GET is a 404 and
    /// the call fails permanently — idempotency keys must be unique per project.
    /// </remarks>
    /// <param name="projectId">Project UUID.</param>
    /// <param name="workItemId">Work item UUID.</param>
    /// <param name="commentHtml">Body as HTML, e.g. <c>&lt;p&gt;Done&lt;/p&gt;</c>.</param>
    /// <param name="externalId">Our idempotency key, at most 255 characters (Plane's column size).</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    /// <returns>The created comment, or the one created earlier with the same key.</returns>
    /// <exception cref="PlatformApiException">Non-2xx (other than the handled 409) or network failure.</exception>
    public async Task<PlaneComment> CreateCommentAsync(string projectId, string workItemId, string commentHtml, string externalId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(commentHtml);
        ArgumentException.ThrowIfNullOrEmpty(externalId);
        if (externalId.Length > 255)
        {
            throw new ArgumentException("Plane stores external_id in 255 characters.", nameof(externalId));
        }

        var path = WorkItemPath(projectId, workItemId) + "comments/";
        var body = new JsonObject
        {
            ["comment_html"] = commentHtml,
            ["external_source"] = ExternalSource,
            ["external_id"] = externalId,
        };
        using var response = await SendAsync(HttpMethod.Post, path, query: null, body, acceptConflict: true, cancellationToken);
        if (response.Status != HttpStatusCode.Conflict)
        {
            return Parse(response, PlaneJson.ParseComment);
        }

        var existingId = response.Json?.RootElement is { ValueKind: JsonValueKind.Object } root
            && root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
            && Guid.TryParse(id.GetString(), out var guid)
                ? guid.ToString("D")
                : throw new PlatformApiException(Platform, response.Operation, HttpStatusCode.Conflict, ErrorMessage(response.Json) ?? "conflict without the existing comment's id", isTransient: false);
        var existingPath = path + existingId + "/";
        try
        {
            using var existing = await SendAsync(HttpMethod.Get, existingPath, query: null, body: null, acceptConflict: false, cancellationToken);
            return Parse(existing, PlaneJson.ParseComment);
        }
        catch (PlatformApiException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new PlatformApiException(
                Platform,
                response.Operation,
                HttpStatusCode.Conflict,
                $"external_id '{externalId}' already belongs to comment {existingId}, which is not on work item {workItemId}",
                isTransient: false,
                inner: e);
        }
    }

    /// <summary>
    /// Every label of the project: <c>GET …/projects/{project_id}/labels/</c>, all pages
    /// (https://developers.plane.so/api-reference/label/list-labels).
    /// </summary>
    /// <param name="projectId">Project UUID.</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    /// <returns>The labels.</returns>
    /// <exception cref="PlatformApiException">Any page fails.</exception>
    public async Task<IReadOnlyList<PlaneLabel>> ListLabelsAsync(string projectId, CancellationToken cancellationToken) =>
        await ListAllAsync(ProjectPath(projectId) + "labels/", l => new PlaneLabel(l.GetProperty("id").GetString()!, l.TryGetProperty("name", out var n) ? n.GetString() ?? "" : ""), l => l.Id, cancellationToken);

    /// <summary>
    /// <c>POST …/projects/{project_id}/labels/</c> with <c>{"name": …}</c> (https://developers.plane.so/api-reference/label/add-label);
    /// Plane answers 201 with the label.
    /// </summary>
    /// <param name="projectId">Project UUID.</param>
    /// <param name="name">Label name.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The label.</returns>
    /// <exception cref="PlatformApiException">Non-2xx or network failure.</exception>
    public async Task<PlaneLabel> CreateLabelAsync(string projectId, string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        using var response = await SendAsync(HttpMethod.Post, ProjectPath(projectId) + "labels/", query: null, new JsonObject { ["name"] = name }, acceptConflict: false, cancellationToken);
        return Parse(response, l => new PlaneLabel(l.GetProperty("id").GetString()!, l.TryGetProperty("name", out var n) ? n.GetString() ?? name : name));
    }

    /// <summary>
    /// <c>POST …/projects/{project_id}/work-items/</c> with <c>{"name", "description_html", "labels": [uuid],
    /// "external_source": "orchestrator", "external_id"}</c> (https://developers.plane.so/api-reference/issue/add-issue). Plane
    /// refuses a second item with the same external source and id in the project (409 with <c>{"error", "id"}</c>); the client
    /// then returns that item, so a retried create never makes two.
    /// </summary>
    /// <param name="projectId">Project UUID.</param>
    /// <param name="name">Title.</param>
    /// <param name="descriptionHtml">Description HTML (may be empty).</param>
    /// <param name="labelIds">Label UUIDs to attach.</param>
    /// <param name="externalId">Our idempotency key (at most 255 characters).</param>
    /// <param name="cancellationToken">Cancels the requests.</param>
    /// <returns>The work item (expanded labels and state).</returns>
    /// <exception cref="PlatformApiException">Non-2xx (other than the handled 409) or network failure.</exception>
    public async Task<PlaneWorkItem> CreateWorkItemAsync(string projectId, string name, string descriptionHtml, IReadOnlyList<string> labelIds, string externalId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(externalId);
        var body = new JsonObject
        {
            ["name"] = name,
            ["description_html"] = string.IsNullOrEmpty(descriptionHtml) ? "<p></p>" : descriptionHtml,
            ["labels"] = new JsonArray([.. labelIds.Select(id => (JsonNode)JsonValue.Create(Uuid(id, nameof(labelIds))))]),
            ["external_source"] = ExternalSource,
            ["external_id"] = externalId,
        };
        string id;
        using (var response = await SendAsync(HttpMethod.Post, ProjectPath(projectId) + "work-items/", query: null, body, acceptConflict: true, cancellationToken))
        {
            id = response.Status == HttpStatusCode.Conflict
                ? response.Json?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("id", out var existing) && existing.ValueKind == JsonValueKind.String
                    ? existing.GetString()!
                    : throw new PlatformApiException(Platform, response.Operation, HttpStatusCode.Conflict, ErrorMessage(response.Json) ?? "conflict without the existing work item's id", isTransient: false)
                : Parse(response, item => PlaneJson.ParseWorkItem(item, projectId)).Id;
        }

        return await GetWorkItemAsync(projectId, id, cancellationToken);
    }

    /// <summary>Every page of a Plane list (cursor pagination).</summary>
    /// <param name="path">List path.</param>
    /// <param name="parse">Parses one element.</param>
    /// <param name="idOf">Its id (repeats across pages are dropped).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <param name="extraQuery">More query parameters, e.g. <c>order_by=-updated_at</c>.</param>
    /// <param name="older">For a list ordered newest first: an item past the wanted range; it and everything after it are left out and no
    /// further page is read.</param>
    private async Task<List<T>> ListAllAsync<T>(
        string path, Func<JsonElement, T> parse, Func<T, string> idOf, CancellationToken cancellationToken, string? extraQuery = null, Func<T, bool>? older = null)
    {
        var reachedOlder = false;
        var items = new List<T>();
        var seenIds = new HashSet<string>(StringComparer.Ordinal);
        var seenCursors = new HashSet<string>(StringComparer.Ordinal);
        string? cursor = null;
        for (var page = 0; page < MaxPages; page++)
        {
            // per_page stays the same on every page: Plane computes the offset as page × per_page.
            var query = (extraQuery is null ? "" : extraQuery + "&") + $"per_page={_settings.PageSize}" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            using var response = await SendAsync(HttpMethod.Get, path, query, body: null, acceptConflict: false, cancellationToken);
            var next = Parse(response, root =>
            {
                if (root.ValueKind == JsonValueKind.Array)
                {
                    // Unpaginated list (older servers): everything at once.
                    AddAll(root);
                    return null;
                }

                if (root.ValueKind != JsonValueKind.Object
                    || !root.TryGetProperty("results", out var results)
                    || results.ValueKind != JsonValueKind.Array)
                {
                    throw new FormatException("The page has no 'results' array.");
                }

                AddAll(results);
                var hasNext = root.TryGetProperty("next_page_results", out var more) && more.ValueKind == JsonValueKind.True;
                if (!hasNext || reachedOlder)
                {
                    return null;
                }

                var nextCursor = root.TryGetProperty("next_cursor", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                return string.IsNullOrEmpty(nextCursor) || !seenCursors.Add(nextCursor)
                    ? throw new FormatException("next_page_results is true but next_cursor is missing or repeats.")
                    : nextCursor;
            });
            if (next is null)
            {
                return items;
            }

            cursor = next;
        }

        throw new PlatformApiException(Platform, $"GET /{path}", HttpStatusCode.OK, $"more than {MaxPages} pages", isTransient: false);

        void AddAll(JsonElement array)
        {
            foreach (var element in array.EnumerateArray())
            {
                var item = parse(element);
                if (older?.Invoke(item) == true)
                {
                    reachedOlder = true;
                    return;
                }

                if (seenIds.Add(idOf(item)))
                {
                    items.Add(item);
                }
            }
        }
    }

    private Task<PlatformResponse> SendAsync(
        HttpMethod method, string path, string? query, JsonObject? body, bool acceptConflict, CancellationToken cancellationToken) =>
        _core.SendAsync(
            method,
            new Uri(_root, query is null ? path : path + "?" + query),
            $"{method.Method} /{path}",
            body,
            cancellationToken,
            acceptConflict ? HttpStatusCode.Conflict : null);

    private PlatformApiException ToException(PlatformFailure failure)
    {
        var text = failure.Body.Length > MaxErrorBodyChars ? failure.Body[..MaxErrorBodyChars] : failure.Body;
        JsonDocument? json = null;
        try
        {
            json = JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            // Proxies and Django's own 404/500 pages answer HTML.
        }

        using (json)
        {
            var message = ErrorMessage(json) ?? failure.ReasonOrStatus;
            return PlatformHttp.Classify(Platform, failure, message, _time.GetUtcNow(), retryAfterOnPermanent: true);
        }
    }

    /// <summary>Plane's error fields: <c>error</c> (views), <c>detail</c> (DRF), <c>error_message</c> (throttle), else the first field error.</summary>
    private string? ErrorMessage(JsonDocument? json)
    {
        if (json?.RootElement is not { ValueKind: JsonValueKind.Object } root)
        {
            return null;
        }

        foreach (var name in new[] { "error", "detail", "error_message", "message" })
        {
            if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
            {
                return Redact(value.GetString()!);
            }
        }

        foreach (var property in root.EnumerateObject())
        {
            var first = property.Value.ValueKind switch
            {
                JsonValueKind.String => property.Value.GetString(),
                JsonValueKind.Array when property.Value.GetArrayLength() > 0 && property.Value[0].ValueKind == JsonValueKind.String => property.Value[0].GetString(),
                _ => null,
            };
            if (first is not null)
            {
                return Redact($"{property.Name}: {first}");
            }
        }

        return null;
    }

    private static T Parse<T>(PlatformResponse response, Func<JsonElement, T> parse)
    {
        try
        {
            if (response.Json is null)
            {
                throw new FormatException("The body is empty.");
            }

            return parse(response.Json.RootElement);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or KeyNotFoundException)
        {
            throw new PlatformApiException(Platform, response.Operation, response.Status, $"unexpected response: {e.Message}", isTransient: false, inner: e);
        }
    }

    private string Redact(string message) => PlatformHttp.RedactSecret(message, _settings.ApiToken, MaxMessageChars);

    private string ProjectPath(string projectId) =>
        $"api/v1/workspaces/{Uri.EscapeDataString(_settings.WorkspaceSlug)}/projects/{Uuid(projectId, nameof(projectId))}/";

    private string WorkItemPath(string projectId, string workItemId) =>
        ProjectPath(projectId) + $"work-items/{Uuid(workItemId, nameof(workItemId))}/";

    private static string Uuid(string value, string parameter)
    {
        ArgumentException.ThrowIfNullOrEmpty(value, parameter);
        return Guid.TryParse(value, out var guid)
            ? guid.ToString("D")
            : throw new ArgumentException($"'{value}' is not a UUID; Plane ids are UUIDs.", parameter);
    }

}

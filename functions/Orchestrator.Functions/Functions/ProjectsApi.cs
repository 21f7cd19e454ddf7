using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Functions;

/// <summary>
/// Project management: <c>GET /api/projects</c> (<c>{"projects": [...]}</c>, by slug), <c>GET /api/projects/{slug}</c>,
/// <c>POST /api/projects</c> (201 + <c>Location</c>), <c>PUT /api/projects/{slug}</c> (full definition; optional
/// <c>"version"</c> → 409 when stale) and <c>DELETE /api/projects/{slug}</c> (204 / 404).
/// <para>
/// Request body: the <see cref="ProjectDefinition"/> JSON plus <c>"secrets": {name: value | null}</c> (absent = keep,
/// <c>null</c>/<c>""</c> = remove, a masked <c>"••••…"</c> value = keep) and <c>"version"</c>. Response: the definition plus
/// <c>"secrets"</c> (set ones only, masked by <see cref="SecretProtector.Mask"/>), <c>"version"</c>, <c>"created_at"</c>,
/// <c>"updated_at"</c> and <c>"webhooks"</c> (the per-project endpoint paths and the Asana webhook rows). A response
/// can be sent back as a PUT body unchanged. Errors are RFC 7807 problem details (400 with every validation error
/// in <c>"errors"</c>, 401, 404, 409, 422 for a URL the outbound policy refuses or a changed URL whose token was not given
/// again). Mapped under <c>/api</c>, which <see cref="ApiAuth"/> guards.
/// </para>
/// </summary>
public static class ProjectsApi
{
    /// <summary>Maps the endpoints.</summary>
    /// <param name="app">The app.</param>
    /// <returns><paramref name="app"/>.</returns>
    public static IEndpointRouteBuilder MapProjectsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/projects");
        group.MapGet("/", ListAsync);
        group.MapGet("/{slug}", GetAsync);
        group.MapPost("/", CreateAsync);
        group.MapPut("/{slug}", UpdateAsync);
        group.MapDelete("/{slug}", DeleteAsync);
        return app;
    }

    private static async Task<IResult> ListAsync(HttpContext http, ProjectStore store, Web.Auth.ProjectAccess access, CancellationToken ct)
    {
        var projects = new JsonArray();
        foreach (var (project, _) in await access.VisibleAsync(ApiAuth.CallerOf(http), ct))
        {
            projects.Add(await ToResponseAsync(project, store, ct));
        }

        return Json(new JsonObject { ["projects"] = projects }, StatusCodes.Status200OK);
    }

    private static async Task<IResult> GetAsync(HttpContext http, ProjectStore store, string slug, CancellationToken ct)
    {
        var (access, refusal) = await ApiAuth.ProjectAsync(http, slug, ProjectRole.Viewer);
        return refusal ?? Json(await ToResponseAsync(access.Project!, store, ct), StatusCodes.Status200OK);
    }

    private static async Task<IResult> CreateAsync(HttpContext http, ProjectStore store, CancellationToken ct)
    {
        if (ApiAuth.RequireHostAdmin(http) is { } refused)
        {
            return refused;
        }

        var request = await ReadAsync(http.Request, ct);
        var created = await store.CreateAsync(request.Definition, request.Secrets ?? new Dictionary<string, string?>(), ct);
        http.Response.Headers.Location = $"/api/projects/{Uri.EscapeDataString(created.Slug)}";
        return Json(await ToResponseAsync(created, store, ct), StatusCodes.Status201Created);
    }

    private static async Task<IResult> UpdateAsync(HttpContext http, ProjectStore store, string slug, CancellationToken ct)
    {
        if ((await ApiAuth.ProjectAsync(http, slug, ProjectRole.Admin)).Refusal is { } refused)
        {
            return refused;
        }

        var request = await ReadAsync(http.Request, ct);
        return await store.UpdateAsync(slug, request.Definition, request.Secrets, request.Version, ct) is { } updated
            ? Json(await ToResponseAsync(updated, store, ct), StatusCodes.Status200OK)
            : NotFound(slug);
    }

    private static async Task<IResult> DeleteAsync(HttpContext http, ProjectStore store, string slug, CancellationToken ct)
    {
        // A project the caller cannot see is 404 as if it did not exist; a visible one needs a host admin to delete.
        if ((await ApiAuth.ProjectAsync(http, slug, ProjectRole.Viewer)).Refusal is { } hidden)
        {
            return hidden;
        }

        return ApiAuth.RequireHostAdmin(http) ?? (await store.DeleteAsync(slug, ct) ? TypedResults.NoContent() : NotFound(slug));
    }

    private static async Task<ProjectRequest> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(request.Body, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true }, cancellationToken: ct);
        }
        catch (JsonException ex)
        {
            // The parser's message names the position, not the content.
            throw new ProjectValidationException([$"the body is not valid JSON: {ex.Message}"]);
        }

        return ProjectJson.ParseRequest(body);
    }

    /// <summary>The response shape of one project (see the class summary).</summary>
    /// <param name="project">The project.</param>
    /// <param name="store">For the Asana webhook rows.</param>
    /// <param name="ct">Cancellation.</param>
    /// <returns>The JSON object.</returns>
    internal static async Task<JsonObject> ToResponseAsync(StoredProject project, ProjectStore store, CancellationToken ct)
    {
        var node = ProjectJson.ToNode(project.Definition);
        var secrets = new JsonObject();
        foreach (var (name, masked) in project.MaskedSecrets)
        {
            secrets[name] = masked;
        }

        node["secrets"] = secrets;
        node["version"] = project.Version;
        node["created_at"] = project.CreatedAt;
        node["updated_at"] = project.UpdatedAt;
        var asana = new JsonArray();
        foreach (var hook in await store.ListAsanaWebhooksAsync(project.Slug, ct))
        {
            asana.Add(new JsonObject
            {
                ["resource_gid"] = hook.ResourceGid,
                ["webhook_gid"] = hook.WebhookGid,
                ["handshake_done"] = hook.HasSecret,
                ["handshake_until"] = hook.HandshakeUntil,
                ["created_at"] = hook.CreatedAt,
                ["last_event_at"] = hook.LastEventAt,
                ["last_heartbeat_at"] = hook.LastHeartbeatAt,
            });
        }

        var slug = Uri.EscapeDataString(project.Slug);
        node["webhooks"] = new JsonObject
        {
            ["tracker"] = $"/webhooks/{project.Definition.Tracker.Kind}/{slug}",
            ["forge"] = $"/webhooks/{project.Definition.Forge.Kind}/{slug}",
            ["asana"] = asana,
        };
        return node;
    }

    private static IResult Json(JsonNode node, int status) =>
        Results.Text(node.ToJsonString(ProjectJson.Options), "application/json; charset=utf-8", Encoding.UTF8, status);

    private static IResult NotFound(string slug) =>
        TypedResults.Problem($"No project '{slug}'.", statusCode: StatusCodes.Status404NotFound, title: "Not Found");
}

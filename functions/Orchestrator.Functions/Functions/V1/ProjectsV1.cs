using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Orchestrator.Functions.Web.Auth;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Functions.V1;

/// <summary>A project as <c>/api/v1</c> shows it.</summary>
/// <param name="Project">The definition (non-secret settings).</param>
/// <param name="Secrets">The set secrets, masked (<c>••••</c> + the last 4 characters of secrets of 16 or more); write-only.</param>
/// <param name="Version">Row version (also the <c>ETag</c>).</param>
/// <param name="CreatedAt">Created.</param>
/// <param name="UpdatedAt">Last changed.</param>
/// <param name="Webhooks">The per-project webhook paths to give the tracker and forge.</param>
public sealed record ProjectResource(
    [property: JsonPropertyName("project")] ProjectDefinition Project,
    [property: JsonPropertyName("secrets")] IReadOnlyDictionary<string, string> Secrets,
    [property: JsonPropertyName("version")] long Version,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("updated_at")] DateTimeOffset UpdatedAt,
    [property: JsonPropertyName("webhooks")] ProjectWebhookPaths Webhooks)
{
    /// <summary>The resource of a stored project.</summary>
    public static ProjectResource Of(StoredProject p) => new(p.Definition, p.MaskedSecrets, p.Version, p.CreatedAt, p.UpdatedAt,
        new ProjectWebhookPaths($"/webhooks/{p.Definition.Tracker.Kind}/{Uri.EscapeDataString(p.Slug)}", $"/webhooks/{p.Definition.Forge.Kind}/{Uri.EscapeDataString(p.Slug)}"));
}

/// <summary>The webhook paths of a project.</summary>
/// <param name="Tracker">Path the tracker posts to.</param>
/// <param name="Forge">Path the forge posts to.</param>
public sealed record ProjectWebhookPaths([property: JsonPropertyName("tracker")] string Tracker, [property: JsonPropertyName("forge")] string Forge);

/// <summary>The body of a project create or replace.</summary>
/// <param name="Project">The whole definition (its slug must match the path on replace).</param>
/// <param name="Secrets">Secret changes: name → value (set), <c>null</c>/<c>""</c> (remove); names left out are kept. Names: tracker_token, forge_token, tracker_webhook_secret, forge_webhook_secret, github_app_private_key.</param>
public sealed record ProjectWrite(
    [property: JsonPropertyName("project")] ProjectDefinition Project,
    [property: JsonPropertyName("secrets"), Description("Secret changes (write-only).")] IReadOnlyDictionary<string, string?>? Secrets);

/// <summary>The project's repositories.</summary>
/// <param name="Repos">Repositories <c>owner/name</c> (1–10).</param>
/// <param name="DefaultRepo">The one used when the tracker names none (one of <paramref name="Repos"/>), or <c>null</c>.</param>
public sealed record RepositoriesResource([property: JsonPropertyName("repos")] IReadOnlyList<string> Repos, [property: JsonPropertyName("default_repo")] string? DefaultRepo);

/// <summary>A page of projects.</summary>
/// <param name="Projects">The projects the caller may see, by slug.</param>
public sealed record ProjectList([property: JsonPropertyName("projects")] IReadOnlyList<ProjectResource> Projects);

/// <summary>
/// <c>/api/v1/projects</c>: list (the caller's projects), create (host admin), get (viewer), replace (admin, <c>If-Match</c>),
/// delete (host admin), and the repositories sub-resource (get; replace by an admin). Secrets are write-only.
/// </summary>
public static class ProjectsV1
{
    /// <summary>Maps the endpoints.</summary>
    /// <param name="v1">The <c>/api/v1</c> group.</param>
    public static void MapProjectsV1(this RouteGroupBuilder v1)
    {
        var projects = v1.MapGroup("/projects").WithTags("Projects");
        projects.MapGet("/", ListAsync).Doc("List the projects you can see").Produces<ProjectList>();
        projects.MapPost("/", CreateAsync).Idempotent().Doc("Create a project", "Host admins only. The body is the whole definition plus secrets. Honours `Idempotency-Key`.", 400, 403)
            .Accepts<ProjectWrite>("application/json").Produces<ProjectResource>(StatusCodes.Status201Created);
        projects.MapGet("/{slug}", GetAsync).Doc("Get a project", "The `ETag` header carries the version for `If-Match`.", 404).Produces<ProjectResource>();
        projects.MapPut("/{slug}", ReplaceAsync).TakesIfMatch().Doc("Replace a project", "Project admins. `If-Match` with the ETag read; 412 when stale.", 400, 403, 404, 409, 422)
            .Accepts<ProjectWrite>("application/json").Produces<ProjectResource>();
        projects.MapDelete("/{slug}", DeleteAsync).Doc("Delete a project", "Host admins only.", 403, 404).Produces(StatusCodes.Status204NoContent);
        projects.MapGet("/{slug}/repositories", GetRepositoriesAsync).Doc("Get the project's repositories", null, 404).Produces<RepositoriesResource>();
        projects.MapPut("/{slug}/repositories", ReplaceRepositoriesAsync).TakesIfMatch().Doc("Replace the project's repositories", "Project admins. `If-Match` with the project's ETag.", 400, 403, 404)
            .Accepts<RepositoriesResource>("application/json").Produces<RepositoriesResource>();
    }

    private static async Task<IResult> ListAsync(HttpContext http, ProjectAccess access, CancellationToken ct) =>
        TypedResults.Ok(new ProjectList((await access.VisibleAsync(ApiAuth.CallerOf(http), ct)).Select(v => ProjectResource.Of(v.Project)).ToList()));

    private static async Task<IResult> GetAsync(HttpContext http, string slug)
    {
        var (access, refusal) = await ApiV1.ProjectAsync(http, slug, ProjectRole.Viewer);
        if (refusal is not null)
        {
            return refusal;
        }

        http.Response.Headers.ETag = ApiV1.ETagOf(access.Project!.Version);
        return TypedResults.Ok(ProjectResource.Of(access.Project));
    }

    private static async Task<IResult> CreateAsync(HttpContext http, ProjectStore store, CancellationToken ct)
    {
        if (ApiAuth.RequireHostAdmin(http) is { } refused)
        {
            return refused;
        }

        var request = await ReadAsync(http.Request, ct);
        var created = await store.CreateAsync(request.Definition, request.Secrets ?? new Dictionary<string, string?>(), ct);
        http.Response.Headers.ETag = ApiV1.ETagOf(created.Version);
        return TypedResults.Created($"/api/v1/projects/{Uri.EscapeDataString(created.Slug)}", ProjectResource.Of(created));
    }

    private static async Task<IResult> ReplaceAsync(HttpContext http, ProjectStore store, string slug, CancellationToken ct)
    {
        if ((await ApiV1.ProjectAsync(http, slug, ProjectRole.Admin)).Refusal is { } refusal)
        {
            return refusal;
        }

        var (expected, badTag) = ApiV1.IfMatch(http.Request);
        if (badTag is not null)
        {
            return badTag;
        }

        var request = await ReadAsync(http.Request, ct);
        try
        {
            var updated = await store.UpdateAsync(slug, request.Definition, request.Secrets, expected, ct);
            if (updated is null)
            {
                return ApiV1.NotFound($"project '{slug}'");
            }

            http.Response.Headers.ETag = ApiV1.ETagOf(updated.Version);
            return TypedResults.Ok(ProjectResource.Of(updated));
        }
        catch (ProjectConflictException) when (expected is not null)
        {
            // A stale If-Match is 412; any other conflict (a tracker project of another project) stays 409.
            if ((await store.GetAsync(slug, ct))?.Version is { } now && now != expected)
            {
                return ApiV1.Stale($"Project '{slug}'", ApiV1.ETagOf(now));
            }

            throw;
        }
    }

    private static async Task<IResult> DeleteAsync(HttpContext http, ProjectStore store, string slug, CancellationToken ct)
    {
        if ((await ApiV1.ProjectAsync(http, slug, ProjectRole.Viewer)).Refusal is { } hidden)
        {
            return hidden;
        }

        return ApiAuth.RequireHostAdmin(http) ?? (await store.DeleteAsync(slug, ct) ? TypedResults.NoContent() : ApiV1.NotFound($"project '{slug}'"));
    }

    private static async Task<IResult> GetRepositoriesAsync(HttpContext http, string slug)
    {
        var (access, refusal) = await ApiV1.ProjectAsync(http, slug, ProjectRole.Viewer);
        if (refusal is not null)
        {
            return refusal;
        }

        http.Response.Headers.ETag = ApiV1.ETagOf(access.Project!.Version);
        return TypedResults.Ok(new RepositoriesResource(access.Project.Definition.Forge.Repos, access.Project.Definition.Forge.DefaultRepo));
    }

    private static async Task<IResult> ReplaceRepositoriesAsync(HttpContext http, ProjectStore store, string slug, CancellationToken ct)
    {
        var (access, refusal) = await ApiV1.ProjectAsync(http, slug, ProjectRole.Admin);
        if (refusal is not null)
        {
            return refusal;
        }

        var (expected, badTag) = ApiV1.IfMatch(http.Request);
        if (badTag is not null)
        {
            return badTag;
        }

        RepositoriesResource? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<RepositoriesResource>(http.Request.Body, ProjectJson.Options, ct);
        }
        catch (JsonException ex)
        {
            throw new ProjectValidationException([$"the body is not {{\"repos\": [...], \"default_repo\": …}}: {ex.Message}"]);
        }

        if (body?.Repos is null)
        {
            throw new ProjectValidationException(["repos is required"]);
        }

        var current = access.Project!;
        if (expected is not null && expected != current.Version)
        {
            return ApiV1.Stale($"Project '{slug}'", ApiV1.ETagOf(current.Version));
        }

        var definition = current.Definition with { Forge = current.Definition.Forge with { Repos = body.Repos, DefaultRepo = body.DefaultRepo } };
        try
        {
            var updated = await store.UpdateAsync(slug, definition, null, current.Version, ct);
            http.Response.Headers.ETag = ApiV1.ETagOf(updated!.Version);
            return TypedResults.Ok(new RepositoriesResource(updated.Definition.Forge.Repos, updated.Definition.Forge.DefaultRepo));
        }
        catch (ProjectConflictException)
        {
            if ((await store.GetAsync(slug, ct))?.Version is { } now && now != current.Version)
            {
                return ApiV1.Stale($"Project '{slug}'", ApiV1.ETagOf(now));
            }

            throw;
        }
    }

    /// <summary>Reads a <see cref="ProjectWrite"/> body with the definition's strict rules (unknown members refused; a masked secret value means keep).</summary>
    private static async Task<ProjectRequest> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(request.Body, cancellationToken: ct);
        }
        catch (JsonException ex)
        {
            throw new ProjectValidationException([$"the body is not valid JSON: {ex.Message}"]);
        }

        if (body is not JsonObject root || root["project"] is not JsonObject project)
        {
            throw new ProjectValidationException(["the body must be {\"project\": {…}, \"secrets\": {…}}"]);
        }

        foreach (var (name, _) in root)
        {
            if (name is not ("project" or "secrets"))
            {
                throw new ProjectValidationException([$"'{name}' is not a member of the body (use project and secrets)"]);
            }
        }

        var merged = (JsonObject)project.DeepClone();
        merged.Remove("version");
        if (root["secrets"] is { } secrets)
        {
            merged["secrets"] = secrets.DeepClone();
        }

        return ProjectJson.ParseRequest(merged);
    }
}

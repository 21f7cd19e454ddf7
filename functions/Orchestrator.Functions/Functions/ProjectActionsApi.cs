using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Functions.Platforms;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Functions;

/// <summary>
/// Actions on projects and tasks beyond CRUD:
/// <c>POST /api/projects/{slug}/asana/webhooks</c> (create the Asana webhooks, one per Asana project, handshake
/// included), <c>POST /api/projects/{slug}/sync</c> (import the Asana tasks or Plane work items changed in the last 90 days) and
/// <c>POST /api/tasks/{id}/repo</c> ("set repo and create issue" for a task in <c>NEEDS_REPO</c>).
/// Mapped under <c>/api</c> (<see cref="ApiAuth"/>). A platform that fails during an action answers 502/504 naming it, a
/// URL the outbound policy refuses 422 (<see cref="ApiExceptionHandler"/>).
/// </summary>
public static class ProjectActionsApi
{
    /// <summary>How far back <c>sync</c> looks.</summary>
    public static readonly TimeSpan SyncWindow = TimeSpan.FromDays(90);

    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapProjectActionsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/projects/{slug}/asana/webhooks", CreateAsanaWebhooksAsync);
        app.MapPost("/projects/{slug}/sync", SyncAsync);
        app.MapPost("/tasks/{id}/repo", SetRepoAsync);
        return app;
    }

    private static async Task<IResult> CreateAsanaWebhooksAsync(
        string slug, HttpRequest request, OrchestratorSettings settings, AsanaWebhookSetup setup, CancellationToken ct)
    {
        var (access, refusal) = await ApiAuth.ProjectAsync(request.HttpContext, slug, ProjectRole.Admin);
        if (refusal is not null)
        {
            return refusal;
        }

        var stored = access.Project!;

        if (stored.Definition.Tracker.Kind != TrackerConfig.Asana)
        {
            return TypedResults.Problem($"Project '{slug}' does not use Asana.", statusCode: StatusCodes.Status400BadRequest);
        }

        var body = await ReadAsync<CreateAsanaWebhooksRequest>(request, ct);
        if (body is null)
        {
            return TypedResults.Problem("The body must be empty or a JSON object like {\"public_url\": \"https://orchestrator.example.com\"}.", statusCode: StatusCodes.Status400BadRequest);
        }

        var publicUrl = body.PublicUrl ?? settings.PublicUrl;
        if (publicUrl is null || !publicUrl.IsAbsoluteUri)
        {
            return TypedResults.Problem(await setup.TargetRefusalAsync(null, ct), statusCode: StatusCodes.Status400BadRequest);
        }

        if (await setup.TargetRefusalAsync(publicUrl, ct) is { } outboundRefusal)
        {
            return TypedResults.Problem(outboundRefusal, statusCode: StatusCodes.Status422UnprocessableEntity, title: "Outbound connection refused");
        }

        return TypedResults.Ok(new AsanaWebhooksResponse(await setup.EnsureAsync(stored, publicUrl, ct)));
    }

    private static async Task<IResult> SyncAsync(HttpContext http, string slug, PlatformRegistry platforms, Routing.DeliveryRouter router, TimeProvider clock, CancellationToken ct)
    {
        var (access, refusal) = await ApiAuth.ProjectAsync(http, slug, ProjectRole.Editor);
        if (refusal is not null)
        {
            return refusal;
        }

        var stored = access.Project!;
        var tracker = platforms.For(stored).Tracker;
        var since = clock.GetUtcNow() - SyncWindow;
        var origin = EventOrigin.FromApi(ApiActor.Of(http));
        int started = 0, updated = 0, skipped = 0, seen = 0;
        var done = new HashSet<string>(StringComparer.Ordinal);
        void Count(Routing.TaskRouting result) => _ = result switch
        {
            Routing.TaskRouting.Started => started++,
            Routing.TaskRouting.Updated => updated++,
            _ => skipped++,
        };

        foreach (var trackerProjectId in stored.Definition.Tracker.ProjectIds)
        {
            if (tracker is PlaneTracker plane)
            {
                foreach (var item in await plane.Client.ListWorkItemsUpdatedSinceAsync(trackerProjectId, since, ct))
                {
                    seen++;
                    Count((await router.ApplyPlaneItemAsync(stored, item, $"sync:{item.UpdatedAt?.UtcTicks ?? 0}", "sync", origin, ct)).Result);
                }

                continue;
            }

            foreach (var task in await ((AsanaTracker)tracker).Client.ListProjectTasksModifiedSinceAsync(trackerProjectId, since, ct))
            {
                if (!done.Add(task.Gid))
                {
                    continue; // A task in two of the project's Asana projects is imported once.
                }

                seen++;
                Count((await router.ApplyAsanaTaskAsync(stored, task, $"sync:{task.ModifiedAt?.UtcTicks ?? 0}", "sync", origin, ct)).Result);
            }
        }

        return TypedResults.Ok(new SyncResponse(seen, started, updated, skipped, since));
    }

    private static async Task<IResult> SetRepoAsync(string id, HttpRequest request, TaskQueries queries, Web.TaskActions actions, CancellationToken ct)
    {
        var body = await ReadAsync<SetRepoRequest>(request, ct);
        if (body?.Repo is not { Length: > 0 } repo)
        {
            return TypedResults.Problem("The body must be {\"repo\": \"owner/name\"}.", statusCode: StatusCodes.Status400BadRequest);
        }

        var (detail, refusal) = await TasksApi.VisibleTaskAsync(request.HttpContext, queries, id, ProjectRole.Editor);
        if (detail is null || refusal is not null)
        {
            return refusal!;
        }

        // The rules (NEEDS_REPO only, one of the project's repos, key repo:{round}:{repo}) are TaskActions'.
        var result = await actions.ChangeRepoAsync(detail.Id, repo, EventOrigin.FromApi(ApiActor.Of(request.HttpContext)), ct);
        if (!result.Succeeded)
        {
            return TypedResults.Problem(result.Message, statusCode: result.HttpStatus);
        }

        var canonical = (detail.Sync?.Repos ?? []).FirstOrDefault(r => string.Equals(r, repo.Trim(), StringComparison.OrdinalIgnoreCase)) ?? repo.Trim();
        return TypedResults.Accepted($"/api/tasks/{detail.Id}", new RepoAccepted(detail.Id, canonical));
    }

    private static async Task<T?> ReadAsync<T>(HttpRequest request, CancellationToken ct)
        where T : class, new()
    {
        if (request.ContentLength is 0 || (request.ContentLength is null && !request.HasJsonContentType()))
        {
            return new T();
        }

        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, cancellationToken: ct) ?? new T();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>Body of <c>POST /api/projects/{slug}/asana/webhooks</c> (optional).</summary>
public sealed class CreateAsanaWebhooksRequest
{
    /// <summary>Base URL Asana reaches this host at; default <c>ORCH_PUBLIC_URL</c>.</summary>
    [JsonPropertyName("public_url")]
    public Uri? PublicUrl { get; init; }
}

/// <summary>One Asana project's webhook.</summary>
/// <param name="Resource">Asana project gid.</param>
/// <param name="WebhookGid">Webhook gid, when it exists.</param>
/// <param name="Status"><c>created</c>, <c>exists</c> or <c>failed: …</c>.</param>
/// <param name="Replaced">The gid of the webhook we had created for this resource before (e.g. under an older public URL), deleted once
/// the new one existed; <c>null</c> when there was none.</param>
public sealed record AsanaWebhookResult(
    [property: JsonPropertyName("resource")] string Resource,
    [property: JsonPropertyName("webhook_gid")] string? WebhookGid,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("replaced"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Replaced = null);

/// <summary>Answer of <c>POST /api/projects/{slug}/asana/webhooks</c>.</summary>
/// <param name="Webhooks">One entry per Asana project.</param>
public sealed record AsanaWebhooksResponse([property: JsonPropertyName("webhooks")] IReadOnlyList<AsanaWebhookResult> Webhooks);

/// <summary>Answer of <c>POST /api/projects/{slug}/sync</c>.</summary>
/// <param name="Seen">Tracker items (Asana tasks, Plane work items) changed in the window.</param>
/// <param name="Started">Items with AutoTask on (tag, field or trigger label) that had no task yet.</param>
/// <param name="Updated">Existing tasks brought up to date (links kept).</param>
/// <param name="Skipped">Items that start nothing (AutoTask off, or cancelled or completed before a task existed), or unchanged since the last sync.</param>
/// <param name="Since">Start of the window.</param>
public sealed record SyncResponse(
    [property: JsonPropertyName("seen")] int Seen,
    [property: JsonPropertyName("started")] int Started,
    [property: JsonPropertyName("updated")] int Updated,
    [property: JsonPropertyName("skipped")] int Skipped,
    [property: JsonPropertyName("since")] DateTimeOffset Since);

/// <summary>Body of <c>POST /api/tasks/{id}/repo</c>.</summary>
public sealed class SetRepoRequest
{
    /// <summary><c>owner/name</c>, one of the project's repos.</summary>
    [JsonPropertyName("repo")]
    public string? Repo { get; init; }
}

/// <summary>Answer of <c>POST /api/tasks/{id}/repo</c>.</summary>
/// <param name="Id">Instance id.</param>
/// <param name="Repo">The repo the issue will be created in.</param>
public sealed record RepoAccepted([property: JsonPropertyName("id")] string Id, [property: JsonPropertyName("repo")] string Repo);

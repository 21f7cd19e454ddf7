using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Functions.Platforms;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.Projects;
using Orchestrator.Shared.ReadModel;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

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
        string slug, HttpRequest request, OrchestratorSettings settings, ProjectStore projects, PlatformRegistry platforms, OutboundPolicy outbound, ILoggerFactory logs, CancellationToken ct)
    {
        var log = logs.CreateLogger("Projects.AsanaWebhooks");
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
            return TypedResults.Problem("Set ORCH_PUBLIC_URL (or send {\"public_url\": …}): Asana must be able to reach this host.", statusCode: StatusCodes.Status400BadRequest);
        }

        // A webhook target is a URL we make a platform call: it obeys the same outbound policy as our own calls.
        if (await outbound.CheckUrlAsync(publicUrl, ct) is { } outboundRefusal)
        {
            return TypedResults.Problem($"public_url: {outboundRefusal}", statusCode: StatusCodes.Status422UnprocessableEntity, title: "Outbound connection refused");
        }

        var asana = ((AsanaTracker)platforms.For(stored).Tracker).Client;
        var results = new List<AsanaWebhookResult>();
        foreach (var resource in stored.Definition.Tracker.ProjectIds)
        {
            var target = new Uri($"{publicUrl.AbsoluteUri.TrimEnd('/')}/webhooks/asana/{Uri.EscapeDataString(slug)}?{WebhookFunctions.AsanaResourceParameter}={Uri.EscapeDataString(resource)}");
            var existing = (await asana.ListWebhooksAsync(stored.Definition.Tracker.Workspace!, resource, ct))
                .FirstOrDefault(w => w.Active && string.Equals(w.Target, target.AbsoluteUri, StringComparison.Ordinal));
            if (existing is not null && await projects.GetAsanaWebhookSecretAsync(slug, resource, ct) is not null)
            {
                results.Add(new AsanaWebhookResult(resource, existing.Gid, "exists"));
                continue;
            }

            if (existing is not null)
            {
                // A webhook whose secret we do not hold cannot be verified: replace it.
                await asana.DeleteWebhookAsync(existing.Gid, ct);
            }

            // The webhook we created for this resource before (e.g. under an older public URL): replaced below once
            // the new one exists. Only a gid we stored is deleted, never another deployment's webhook on the resource.
            var previous = (await projects.ListAsanaWebhooksAsync(slug, ct)).FirstOrDefault(r => r.ResourceGid == resource)?.WebhookGid;

            // The handshake reaches /webhooks/asana/{slug} while CreateWebhookAsync is still waiting for its answer.
            await projects.BeginAsanaHandshakeAsync(slug, resource, WebhookFunctions.AsanaHandshakeWindow, ct);
            var done = false;
            try
            {
                var created = await asana.CreateWebhookAsync(resource, target, [new AsanaWebhookFilter("task")], ct);
                await projects.SetAsanaWebhookGidAsync(slug, resource, created.Webhook.Gid, ct);
                done = true;
                var replaced = previous is not null && previous != created.Webhook.Gid && previous != existing?.Gid
                    ? await DeletePreviousAsanaWebhookAsync(asana, previous, resource, log, ct)
                    : null;
                results.Add(new AsanaWebhookResult(resource, created.Webhook.Gid, "created", replaced));
                log.LogInformation("Asana webhook {Webhook} created for resource {Resource}", created.Webhook.Gid, resource);
            }
            catch (PlatformApiException ex)
            {
                log.LogWarning("Asana webhook for resource {Resource} not created: {Status} {Reason}", resource, (int?)ex.StatusCode, ex.Message);
                results.Add(new AsanaWebhookResult(resource, null, $"failed: {ex.Message}"));
            }
            finally
            {
                if (!done)
                {
                    // No webhook: close the window now, or any handshake in the next minutes would be accepted.
                    await projects.BeginAsanaHandshakeAsync(slug, resource, TimeSpan.Zero, CancellationToken.None);
                }
            }
        }

        return TypedResults.Ok(new AsanaWebhooksResponse(results));
    }

    /// <summary>Deletes our earlier webhook of a resource; one already gone (404) counts as deleted.</summary>
    /// <returns>The deleted gid, or <c>null</c> when Asana refused (logged; the old webhook then fails its signature checks).</returns>
    private static async Task<string?> DeletePreviousAsanaWebhookAsync(IAsanaClient asana, string previous, string resource, ILogger log, CancellationToken ct)
    {
        try
        {
            await asana.DeleteWebhookAsync(previous, ct);
        }
        catch (PlatformApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            // Asana already removed it (e.g. after 24 h of failed deliveries).
        }
        catch (PlatformApiException ex)
        {
            log.LogWarning("Earlier Asana webhook {Webhook} of resource {Resource} not deleted: {Status} {Reason}", previous, resource, (int?)ex.StatusCode, ex.Message);
            return null;
        }

        log.LogInformation("Earlier Asana webhook {Webhook} of resource {Resource} deleted", previous, resource);
        return previous;
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

    private static async Task<IResult> SetRepoAsync(
        string id, HttpRequest request, TaskQueries queries, PlatformRegistry platforms, DurableEngine engine, TimeProvider clock, CancellationToken ct)
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

        var task = await platforms.TaskStateAsync(detail.Id, ct);
        if (task.Status != TaskStatus.NEEDS_REPO)
        {
            return TypedResults.Problem($"Task '{id}' is {detail.Status}; the repo can only be set while it is NEEDS_REPO.", statusCode: StatusCodes.Status409Conflict);
        }

        var repos = task.Project.Repos ?? [task.Project.Repo];
        var canonical = repos.FirstOrDefault(r => string.Equals(r, repo.Trim(), StringComparison.OrdinalIgnoreCase));
        if (canonical is null)
        {
            return TypedResults.Problem($"'{repo}' is not one of the project's repos: {string.Join(", ", repos)}.", statusCode: StatusCodes.Status400BadRequest);
        }

        // The manual action is recorded with the event it raises, in one transaction.
        var action = TaskProjection.ManualAction(detail.Id, "set_repo", EventOrigin.FromApi(ApiActor.Of(request.HttpContext)),
            new Dictionary<string, object> { ["repo"] = canonical }, clock.GetUtcNow());
        await engine.RaiseEventAsync(detail.Id, new RepoAssigned(canonical), $"repo:{task.Round}:{canonical}", ReadModelWriter.RaisingManualAction(action), ct);
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

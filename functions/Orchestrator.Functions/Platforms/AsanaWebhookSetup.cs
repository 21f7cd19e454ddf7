using Orchestrator.Functions.Functions;
using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Platforms;

/// <summary>
/// Creates a project's Asana webhooks, one per Asana project, with the handshake
/// (https://developers.asana.com/docs/webhooks-guide): used by <c>POST /api/projects/{slug}/asana/webhooks</c> and the
/// webhooks page's "Set up Asana webhooks". An active webhook at our target whose secret we hold is left alone
/// (<c>exists</c>); one whose secret we do not hold is replaced; the webhook we created before under another target
/// (e.g. an older public URL) is deleted once the new one exists — only a gid we stored, never another deployment's.
/// </summary>
public sealed class AsanaWebhookSetup(ProjectStore projects, PlatformRegistry platforms, OutboundPolicy outbound, ILogger<AsanaWebhookSetup> log)
{
    /// <summary>The webhook target of one Asana project: <c>{publicUrl}/webhooks/asana/{slug}?resource={gid}</c>.</summary>
    /// <param name="publicUrl">Base URL Asana reaches this host at (a path prefix is kept).</param>
    /// <param name="slug">Project slug.</param>
    /// <param name="resource">Asana project gid.</param>
    /// <returns>The absolute target.</returns>
    public static Uri TargetFor(Uri publicUrl, string slug, string resource) =>
        new($"{publicUrl.AbsoluteUri.TrimEnd('/')}/webhooks/asana/{Uri.EscapeDataString(slug)}?{WebhookFunctions.AsanaResourceParameter}={Uri.EscapeDataString(resource)}");

    /// <summary>Why webhooks cannot be registered at <paramref name="publicUrl"/>, or <c>null</c> when they can.</summary>
    /// <param name="publicUrl">The base URL, or <c>null</c> when none is known.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A message naming what to fix (no public URL, not absolute, refused by the outbound policy), or <c>null</c>.</returns>
    public async Task<string?> TargetRefusalAsync(Uri? publicUrl, CancellationToken cancellationToken)
    {
        if (publicUrl is null || !publicUrl.IsAbsoluteUri)
        {
            return "Set ORCH_PUBLIC_URL (or send {\"public_url\": …}): Asana must be able to reach this host.";
        }

        // A webhook target is a URL we make a platform call: it obeys the same outbound policy as our own calls.
        return await outbound.CheckUrlAsync(publicUrl, cancellationToken) is { } refusal ? $"public_url: {refusal}" : null;
    }

    /// <summary>Creates the webhooks of every Asana project of <paramref name="project"/> that lacks one at its target.</summary>
    /// <param name="project">An Asana project (<see cref="TrackerConfig.Asana"/>).</param>
    /// <param name="publicUrl">Base URL Asana reaches this host at; check it first with <see cref="TargetRefusalAsync"/>.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>One result per Asana project, in <c>tracker.project_ids</c> order: <c>created</c>, <c>exists</c> or <c>failed: …</c>.</returns>
    /// <exception cref="ArgumentException">The project does not use Asana.</exception>
    /// <exception cref="PlatformApiException">Listing a resource's webhooks failed (a failed creation is a result, not an exception).</exception>
    /// <exception cref="Orchestrator.Shared.Engine.PermanentActivityException">The project cannot reach Asana as configured (no tracker token).</exception>
    public async Task<IReadOnlyList<AsanaWebhookResult>> EnsureAsync(StoredProject project, Uri publicUrl, CancellationToken cancellationToken)
    {
        if (project.Definition.Tracker.Kind != TrackerConfig.Asana)
        {
            throw new ArgumentException($"Project '{project.Slug}' does not use Asana.", nameof(project));
        }

        var slug = project.Slug;
        var asana = ((AsanaTracker)platforms.For(project).Tracker).Client;
        var results = new List<AsanaWebhookResult>();
        foreach (var resource in project.Definition.Tracker.ProjectIds)
        {
            var target = TargetFor(publicUrl, slug, resource);
            var existing = (await asana.ListWebhooksAsync(project.Definition.Tracker.Workspace!, resource, cancellationToken))
                .FirstOrDefault(w => w.Active && string.Equals(w.Target, target.AbsoluteUri, StringComparison.Ordinal));
            if (existing is not null && await projects.GetAsanaWebhookSecretAsync(slug, resource, cancellationToken) is not null)
            {
                results.Add(new AsanaWebhookResult(resource, existing.Gid, "exists"));
                continue;
            }

            if (existing is not null)
            {
                // A webhook whose secret we do not hold cannot be verified: replace it.
                await asana.DeleteWebhookAsync(existing.Gid, cancellationToken);
            }

            // The webhook we created for this resource before (e.g. under an older public URL): replaced below once
            // the new one exists. Only a gid we stored is deleted, never another deployment's webhook on the resource.
            var previous = (await projects.ListAsanaWebhooksAsync(slug, cancellationToken)).FirstOrDefault(r => r.ResourceGid == resource)?.WebhookGid;

            // The handshake reaches /webhooks/asana/{slug} while CreateWebhookAsync is still waiting for its answer.
            await projects.BeginAsanaHandshakeAsync(slug, resource, WebhookFunctions.AsanaHandshakeWindow, cancellationToken);
            var done = false;
            try
            {
                var created = await asana.CreateWebhookAsync(resource, target, [new AsanaWebhookFilter("task")], cancellationToken);
                await projects.SetAsanaWebhookGidAsync(slug, resource, created.Webhook.Gid, cancellationToken);
                done = true;
                var replaced = previous is not null && previous != created.Webhook.Gid && previous != existing?.Gid
                    ? await DeletePreviousAsync(asana, previous, resource, cancellationToken)
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

        return results;
    }

    /// <summary>Deletes our earlier webhook of a resource; one already gone (404) counts as deleted.</summary>
    /// <returns>The deleted gid, or <c>null</c> when Asana refused (logged; the old webhook then fails its signature checks).</returns>
    private async Task<string?> DeletePreviousAsync(IAsanaClient asana, string previous, string resource, CancellationToken cancellationToken)
    {
        try
        {
            await asana.DeleteWebhookAsync(previous, cancellationToken);
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
}

using Npgsql;
using Orchestrator.Shared.Projects;
using Orchestrator.Shared.Webhooks;

namespace Orchestrator.Functions.Web;

/// <summary>How one source's webhooks of a project are doing.</summary>
/// <param name="Source"><c>plane</c>, <c>asana</c>, <c>github</c> or <c>gitea</c>.</param>
/// <param name="LastDeliveryAt">The newest delivery stored from it for the project (inbox), or <c>null</c>.</param>
/// <param name="Accepted">Deliveries stored in the last 24 hours (statistics).</param>
/// <param name="Duplicates">Repeated deliveries in the last 24 hours.</param>
/// <param name="Refused">Refused signatures in the last 24 hours.</param>
/// <param name="Failed">Failed requests (malformed, too large, busy, our errors) in the last 24 hours.</param>
/// <param name="LastHeartbeatAt">Asana only: the newest heartbeat of any of the project's Asana webhooks, else <c>null</c>.</param>
public sealed record SourceHealth(string Source, DateTimeOffset? LastDeliveryAt, long Accepted, long Duplicates, long Refused, long Failed, DateTimeOffset? LastHeartbeatAt);

/// <summary>
/// The webhooks page's health table: per source of a project, the last delivery (inbox, per-project endpoints), the
/// counts of the last 24 hours (<see cref="WebhookStats"/>) and Asana's last heartbeat (<c>asana_webhooks</c>).
/// Deliveries to the host-wide endpoints are not attributed to a project here (their project is known only after routing).
/// </summary>
public sealed class WebhookHealth(NpgsqlDataSource db, WebhookStats stats, ProjectStore projects, TimeProvider clock)
{
    /// <summary>The project's two sources (tracker, forge), in that order.</summary>
    /// <param name="project">The project.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>One row per source.</returns>
    public async Task<IReadOnlyList<SourceHealth>> ForAsync(StoredProject project, CancellationToken cancellationToken)
    {
        var since = clock.GetUtcNow().AddDays(-1);
        var totals = await stats.TotalsAsync(project.Slug, since, cancellationToken);
        var last = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        await using (var command = db.CreateCommand("SELECT source, max(received_at) FROM inbox WHERE project_slug = @slug GROUP BY source"))
        {
            command.Parameters.AddWithValue("slug", project.Slug);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                last[reader.GetString(0)] = reader.GetFieldValue<DateTimeOffset>(1);
            }
        }

        DateTimeOffset? heartbeat = null;
        if (project.Definition.Tracker.Kind == TrackerConfig.Asana)
        {
            heartbeat = (await projects.ListAsanaWebhooksAsync(project.Slug, cancellationToken)).Max(w => w.LastHeartbeatAt);
        }

        return [.. new[] { project.Definition.Tracker.Kind, project.Definition.Forge.Kind }.Select(source =>
        {
            var t = totals.GetValueOrDefault(source);
            return new SourceHealth(
                source,
                last.TryGetValue(source, out var at) ? at : null,
                t?.Accepted ?? 0,
                t?.Duplicate ?? 0,
                t?.Refused ?? 0,
                t?.Failed ?? 0,
                source == TrackerConfig.Asana ? heartbeat : null);
        })];
    }
}

using Npgsql;

namespace Orchestrator.Functions.Web;

/// <summary>Per-project numbers for the projects screen, from the read model and the inbox.</summary>
/// <param name="CountsByStatus">Tasks per user-facing status.</param>
/// <param name="LastDeliveryAt">The newest webhook delivery stored for the project, or <c>null</c>.</param>
/// <param name="DeliveriesLastDay">Deliveries stored for the project in the last 24 hours.</param>
public sealed record ProjectNumbers(IReadOnlyDictionary<string, long> CountsByStatus, DateTimeOffset? LastDeliveryAt, long DeliveriesLastDay)
{
    /// <summary>All tasks.</summary>
    public long Total => CountsByStatus.Values.Sum();
}

/// <summary>Reads <see cref="ProjectNumbers"/> for many projects in two queries.</summary>
/// <param name="db">The orchestrator database.</param>
/// <param name="clock">"Now".</param>
public sealed class ProjectOverview(NpgsqlDataSource db, TimeProvider clock)
{
    /// <summary>The numbers of each project in <paramref name="slugs"/> (projects without tasks or deliveries included).</summary>
    /// <param name="slugs">Project slugs.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Slug → numbers.</returns>
    public async Task<IReadOnlyDictionary<string, ProjectNumbers>> ForAsync(IReadOnlyCollection<string> slugs, CancellationToken cancellationToken)
    {
        var counts = slugs.ToDictionary(s => s, _ => new Dictionary<string, long>(StringComparer.Ordinal), StringComparer.Ordinal);
        var deliveries = new Dictionary<string, (DateTimeOffset? Last, long Day)>(StringComparer.Ordinal);
        await using (var command = db.CreateCommand("SELECT project_slug, status, count(*) FROM tasks WHERE project_slug = ANY (@slugs) GROUP BY project_slug, status"))
        {
            command.Parameters.AddWithValue("slugs", slugs.ToArray());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                counts[reader.GetString(0)][reader.GetString(1)] = reader.GetInt64(2);
            }
        }

        await using (var command = db.CreateCommand("""
            SELECT project_slug, max(received_at), count(*) FILTER (WHERE received_at > @since)
            FROM inbox WHERE project_slug = ANY (@slugs) GROUP BY project_slug
            """))
        {
            command.Parameters.AddWithValue("slugs", slugs.ToArray());
            command.Parameters.AddWithValue("since", clock.GetUtcNow().AddDays(-1));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                deliveries[reader.GetString(0)] = (reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1), reader.GetInt64(2));
            }
        }

        return slugs.ToDictionary(
            s => s,
            s => new ProjectNumbers(counts[s], deliveries.GetValueOrDefault(s).Last, deliveries.GetValueOrDefault(s).Day),
            StringComparer.Ordinal);
    }
}

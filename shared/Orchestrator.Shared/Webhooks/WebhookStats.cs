using Npgsql;
using NpgsqlTypes;

namespace Orchestrator.Shared.Webhooks;

/// <summary>What became of one webhook request, as <see cref="WebhookStats"/> counts it.</summary>
public enum WebhookOutcome
{
    /// <summary>Verified and stored in the inbox.</summary>
    Accepted,

    /// <summary>Verified; the inbox already held it (a retry or redelivery).</summary>
    Duplicate,

    /// <summary>Missing or wrong signature (401), or a stray Asana handshake (403).</summary>
    Refused,

    /// <summary>Answered 400, 408, 413, 415, 422, 429 or 5xx.</summary>
    Failed,
}

/// <summary>The counts of one source over a period.</summary>
/// <param name="Source"><c>plane</c>, <c>github</c>, <c>gitea</c> or <c>asana</c>.</param>
/// <param name="Accepted">Deliveries stored.</param>
/// <param name="Duplicate">Deliveries already stored.</param>
/// <param name="Refused">Refused signatures.</param>
/// <param name="Failed">Failures (bad input, too large, busy, our errors).</param>
/// <param name="LastSeenHour">Start of the newest hour with any count, or <c>null</c>.</param>
public sealed record WebhookSourceTotals(string Source, long Accepted, long Duplicate, long Refused, long Failed, DateTimeOffset? LastSeenHour);

/// <summary>One bucket of a series: the counts of a source in one hour (or day).</summary>
/// <param name="Start">Start of the hour or day (UTC).</param>
/// <param name="Source">The source.</param>
/// <param name="Accepted">Deliveries stored.</param>
/// <param name="Duplicate">Deliveries already stored.</param>
/// <param name="Refused">Refused signatures.</param>
/// <param name="Failed">Failures.</param>
public sealed record WebhookStatsBucket(DateTimeOffset Start, string Source, long Accepted, long Duplicate, long Refused, long Failed);

/// <summary>
/// Webhook statistics in PostgreSQL (table <c>webhook_stats</c>, migration 0009): hourly buckets per project and
/// source counting accepted, duplicate, refused and failed requests. <see cref="RecordAsync"/> is one small upsert per
/// request; a per-project count is written only when the project exists and has that source as its tracker or forge, so
/// requests for unknown slugs (or sides a project does not have) write nothing and the table stays bounded.
/// </summary>
public sealed class WebhookStats(NpgsqlDataSource db)
{
    /// <summary>The sources the table accepts.</summary>
    public static readonly IReadOnlyList<string> Sources = ["plane", "github", "gitea", "asana"];

    /// <summary>Start of the UTC hour <paramref name="at"/> falls in.</summary>
    /// <param name="at">A time.</param>
    /// <returns>The hour, offset zero.</returns>
    public static DateTimeOffset HourOf(DateTimeOffset at)
    {
        var utc = at.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    /// <summary>Adds one to the bucket of (<paramref name="projectSlug"/>, <paramref name="source"/>, hour of <paramref name="at"/>).</summary>
    /// <param name="projectSlug">The project of a per-project endpoint; <c>null</c> for the host-wide endpoints.</param>
    /// <param name="source">One of <see cref="Sources"/>.</param>
    /// <param name="outcome">What became of the request.</param>
    /// <param name="at">When it was answered.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>true</c> when a count was written; <c>false</c> when the project does not exist or lacks that source.</returns>
    /// <exception cref="ArgumentException"><paramref name="source"/> is not one of <see cref="Sources"/>.</exception>
    public async Task<bool> RecordAsync(string? projectSlug, string source, WebhookOutcome outcome, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        if (!Sources.Contains(source, StringComparer.Ordinal))
        {
            throw new ArgumentException($"'{source}' is not a webhook source.", nameof(source));
        }

        // The project test is part of the one statement: no extra round trip, and an unknown slug inserts nothing.
        await using var command = db.CreateCommand("""
            INSERT INTO webhook_stats AS s (project_slug, source, hour, accepted, duplicate, refused, failed)
            SELECT @slug, @source, @hour, @a, @d, @r, @f
            WHERE @slug IS NULL OR EXISTS (
                SELECT 1 FROM projects p WHERE p.slug = @slug
                  AND (p.definition -> 'tracker' ->> 'kind' = @source OR p.definition -> 'forge' ->> 'kind' = @source))
            ON CONFLICT ((COALESCE(project_slug, '')), source, hour) DO UPDATE SET
                accepted = s.accepted + EXCLUDED.accepted,
                duplicate = s.duplicate + EXCLUDED.duplicate,
                refused = s.refused + EXCLUDED.refused,
                failed = s.failed + EXCLUDED.failed
            """);
        command.Parameters.Add(new NpgsqlParameter("slug", NpgsqlDbType.Text) { Value = (object?)projectSlug ?? DBNull.Value });
        command.Parameters.AddWithValue("source", source);
        command.Parameters.AddWithValue("hour", HourOf(at));
        command.Parameters.AddWithValue("a", outcome == WebhookOutcome.Accepted ? 1 : 0);
        command.Parameters.AddWithValue("d", outcome == WebhookOutcome.Duplicate ? 1 : 0);
        command.Parameters.AddWithValue("r", outcome == WebhookOutcome.Refused ? 1 : 0);
        command.Parameters.AddWithValue("f", outcome == WebhookOutcome.Failed ? 1 : 0);
        try
        {
            return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            return false; // The project was deleted between the test and the insert.
        }
    }

    /// <summary>A project's totals per source for the hours starting at or after <paramref name="since"/> (hour-aligned down).</summary>
    /// <param name="projectSlug">The project; <c>null</c> for the host-wide endpoints.</param>
    /// <param name="since">Start of the period.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Source → totals, only sources with a row.</returns>
    public async Task<IReadOnlyDictionary<string, WebhookSourceTotals>> TotalsAsync(string? projectSlug, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        await using var command = db.CreateCommand("""
            SELECT source, sum(accepted), sum(duplicate), sum(refused), sum(failed), max(hour)
            FROM webhook_stats
            WHERE COALESCE(project_slug, '') = COALESCE(@slug, '') AND hour >= @since
            GROUP BY source
            """);
        command.Parameters.Add(new NpgsqlParameter("slug", NpgsqlDbType.Text) { Value = (object?)projectSlug ?? DBNull.Value });
        command.Parameters.AddWithValue("since", HourOf(since));
        var totals = new Dictionary<string, WebhookSourceTotals>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var source = reader.GetString(0);
            totals[source] = new WebhookSourceTotals(source, reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetFieldValue<DateTimeOffset>(5));
        }

        return totals;
    }

    /// <summary>
    /// A project's buckets from <paramref name="since"/> (inclusive) to <paramref name="until"/> (exclusive), per hour or
    /// per UTC day, oldest first; hours without requests are absent (the analytics API fills gaps if it wants them).
    /// </summary>
    /// <param name="projectSlug">The project; <c>null</c> for the host-wide endpoints.</param>
    /// <param name="since">Start (aligned down to the hour or day).</param>
    /// <param name="until">End.</param>
    /// <param name="perDay">Sum the hours of each UTC day.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The buckets.</returns>
    public async Task<IReadOnlyList<WebhookStatsBucket>> SeriesAsync(string? projectSlug, DateTimeOffset since, DateTimeOffset until, bool perDay, CancellationToken cancellationToken = default)
    {
        // AT TIME ZONE 'UTC' both ways: days are UTC days whatever the session's TimeZone is.
        await using var command = db.CreateCommand($"""
            SELECT {(perDay ? "date_trunc('day', hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'" : "hour")} AS start, source,
                   sum(accepted), sum(duplicate), sum(refused), sum(failed)
            FROM webhook_stats
            WHERE COALESCE(project_slug, '') = COALESCE(@slug, '') AND hour >= @since AND hour < @until
            GROUP BY 1, 2 ORDER BY 1, 2
            """);
        command.Parameters.Add(new NpgsqlParameter("slug", NpgsqlDbType.Text) { Value = (object?)projectSlug ?? DBNull.Value });
        var start = HourOf(since);
        command.Parameters.AddWithValue("since", perDay ? new DateTimeOffset(start.Year, start.Month, start.Day, 0, 0, 0, TimeSpan.Zero) : start);
        command.Parameters.AddWithValue("until", until.ToUniversalTime());
        var buckets = new List<WebhookStatsBucket>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            buckets.Add(new WebhookStatsBucket(reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)));
        }

        return buckets;
    }
}

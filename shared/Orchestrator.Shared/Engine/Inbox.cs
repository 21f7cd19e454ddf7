using System.Security.Cryptography;
using Npgsql;

namespace Orchestrator.Shared.Engine;

/// <summary>A webhook delivery as stored in the inbox.</summary>
/// <param name="Id">Inbox row id.</param>
/// <param name="Source"><c>plane</c>, <c>github</c>, <c>gitea</c> or <c>asana</c>.</param>
/// <param name="DeliveryId">Delivery id header value.</param>
/// <param name="EventType">Event header value.</param>
/// <param name="Body">Exact raw body.</param>
/// <param name="ReceivedAt">When it was accepted.</param>
/// <param name="ProjectSlug">Project of the per-project endpoint it came through, or <c>null</c> for a global endpoint.</param>
public sealed record InboxDelivery(long Id, string Source, string DeliveryId, string EventType, byte[] Body, DateTimeOffset ReceivedAt, string? ProjectSlug = null);

/// <summary>
/// The webhook inbox. Accepting a delivery inserts the inbox row and its routing work item in one
/// statement (one transaction); a duplicate — same (source, delivery id) or same (source, body
/// SHA-256) — inserts nothing.
/// </summary>
public sealed class InboxStore(NpgsqlDataSource dataSource, TimeProvider clock, WorkSignal signal)
{
    /// <summary>Name of the system activity that routes an accepted delivery.</summary>
    public const string RouteActivity = "RouteDelivery";

    /// <summary>Stores a verified delivery and queues its routing.</summary>
    /// <returns><c>true</c> when stored; <c>false</c> for a duplicate.</returns>
    public async Task<bool> AcceptAsync(string source, string deliveryId, string eventType, ReadOnlyMemory<byte> body, CancellationToken cancellationToken) =>
        await AcceptAsync(source, deliveryId, eventType, body, projectSlug: null, cancellationToken);

    /// <summary>As <see cref="AcceptAsync(string, string, string, ReadOnlyMemory{byte}, CancellationToken)"/>, for a per-project endpoint.</summary>
    /// <param name="source"><c>plane</c>, <c>github</c>, <c>gitea</c> or <c>asana</c>.</param>
    /// <param name="deliveryId">Platform delivery id, or <c>sha256:&lt;hex&gt;</c> of the body when the platform sends none.</param>
    /// <param name="eventType">Event name.</param>
    /// <param name="body">Raw verified body (e.g. a pooled buffer: it is only read until this returns).</param>
    /// <param name="projectSlug">Project of the endpoint, or <c>null</c> for the global endpoints.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>true</c> when stored; <c>false</c> for a duplicate.</returns>
    public async Task<bool> AcceptAsync(string source, string deliveryId, string eventType, ReadOnlyMemory<byte> body, string? projectSlug, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var command = dataSource.CreateCommand("""
            WITH ins AS (
                INSERT INTO inbox (source, delivery_id, event_type, body_sha256, body, received_at, project_slug)
                VALUES (@source, @delivery, @event, @sha, @body, @now, @project)
                ON CONFLICT DO NOTHING
                RETURNING id),
            work AS (
                INSERT INTO work_items (kind, instance_id, name, payload, unique_key, due_at, max_attempts,
                                        retry_first_ms, retry_coefficient, retry_max_ms, created_at, updated_at)
                SELECT 'activity', NULL, @activity, jsonb_build_object('inboxId', id), 'sys|activity|route:' || id, @now, 8,
                       2000, 2.0, 300000, @now, @now
                FROM ins
                RETURNING id)
            SELECT count(*) FROM work
            """);
        command.Parameters.AddWithValue("source", source);
        command.Parameters.AddWithValue("delivery", deliveryId);
        command.Parameters.AddWithValue("event", eventType);
        command.Parameters.AddWithValue("sha", SHA256.HashData(body.Span));
        command.Parameters.AddWithValue("body", body);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("activity", RouteActivity);
        command.Parameters.AddWithValue("project", (object?)projectSlug ?? DBNull.Value);
        var stored = (long)(await command.ExecuteScalarAsync(cancellationToken))! == 1;
        if (stored)
        {
            signal.Notify();
        }

        return stored;
    }

    /// <summary>Loads a delivery, or <c>null</c>.</summary>
    public async Task<InboxDelivery?> GetAsync(long id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT id, source, delivery_id, event_type, body, received_at, project_slug FROM inbox WHERE id = @id");
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new InboxDelivery(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
            (byte[])reader[4], reader.GetFieldValue<DateTimeOffset>(5), reader.IsDBNull(6) ? null : reader.GetString(6));
    }

    /// <summary>Records what routing did with a delivery (e.g. <c>started plane-…</c>, <c>ignored: unknown project</c>).</summary>
    public async Task MarkProcessedAsync(long id, string outcome, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("UPDATE inbox SET processed_at = @now, outcome = @outcome WHERE id = @id");
        command.Parameters.AddWithValue("now", clock.GetUtcNow());
        command.Parameters.AddWithValue("outcome", outcome.Length > 500 ? outcome[..500] : outcome);
        command.Parameters.AddWithValue("id", id);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

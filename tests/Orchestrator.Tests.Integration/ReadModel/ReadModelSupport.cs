using System.Text.Json;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Tests.Integration.ReadModel;

/// <summary>One <c>task_events</c> row as a test reads it.</summary>
public sealed record StoredEvent(long Id, string Type, string Source, string? Actor, string? DeliveryId, JsonElement Summary, DateTimeOffset At)
{
    public string? Field(string name) => Summary.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText() : null;
}

public static class ReadModelSupport
{
    /// <summary>A task's events, oldest first.</summary>
    public static async Task<IReadOnlyList<StoredEvent>> EventsAsync(this TestDatabase db, string taskId)
    {
        await using var command = db.DataSource.CreateCommand(
            "SELECT id, event_type, source, actor, delivery_id, summary::text, created_at FROM task_events WHERE task_id = @id ORDER BY id");
        command.Parameters.AddWithValue("id", taskId);
        var events = new List<StoredEvent>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            using var summary = JsonDocument.Parse(reader.GetString(5));
            events.Add(new StoredEvent(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), summary.RootElement.Clone(), reader.GetFieldValue<DateTimeOffset>(6)));
        }

        return events;
    }

    /// <summary>The <c>to</c> of every status change, in order.</summary>
    public static string[] StatusPath(this IEnumerable<StoredEvent> events) =>
        [.. events.Where(e => e.Type == "status_changed").Select(e => e.Field("to")!)];
}

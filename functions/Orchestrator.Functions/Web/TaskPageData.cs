using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Shared.ReadModel;

namespace Orchestrator.Functions.Web;

/// <summary>One agent run of a task's role pipeline, as <c>agent_runs</c> holds it.</summary>
/// <param name="Stage">Stage (<c>analysis</c>, <c>development</c>, …).</param>
/// <param name="Round">Developer round.</param>
/// <param name="Agent">Agent name (from <c>ORCH_AGENTS_JSON</c>).</param>
/// <param name="Kind">Agent kind (<c>ClaudeCode</c>, <c>Codex</c>, …).</param>
/// <param name="Model">Model, when the agent named one.</param>
/// <param name="StartedAt">Start.</param>
/// <param name="FinishedAt">End, or <c>null</c> while it runs.</param>
/// <param name="Succeeded">Exit 0 without an error, or <c>null</c> while it runs.</param>
/// <param name="FailureReason">Why it failed, if it did.</param>
/// <param name="TokensIn">Input tokens, when reported.</param>
/// <param name="TokensOut">Output tokens, when reported.</param>
/// <param name="CostUsd">Cost, when reported.</param>
/// <param name="Duration">Run time, once finished.</param>
public sealed record AgentRunView(
    string Stage, int Round, string Agent, string Kind, string? Model, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, bool? Succeeded,
    string? FailureReason, long? TokensIn, long? TokensOut, decimal? CostUsd, TimeSpan? Duration);

/// <summary>What the task page reads besides the read model: the agent runs of its role pipeline.</summary>
/// <param name="db">The orchestrator database.</param>
public sealed class TaskPageData(NpgsqlDataSource db)
{
    /// <summary>Most runs shown.</summary>
    public const int MaxRuns = 200;

    /// <summary>The agent runs recorded for the task or its role pipeline, oldest first.</summary>
    /// <param name="instanceIds">The task's instance id and its role pipeline's.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The runs.</returns>
    public async Task<IReadOnlyList<AgentRunView>> AgentRunsAsync(IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            SELECT stage, round, agent, kind, model, started_at, finished_at, exit_code, is_error, failure_reason, tokens_in, tokens_out, cost_usd, duration_ms
            FROM agent_runs WHERE instance_id = ANY (@ids) ORDER BY id LIMIT @limit
            """);
        command.Parameters.AddWithValue("ids", instanceIds.ToArray());
        command.Parameters.AddWithValue("limit", MaxRuns);
        var runs = new List<AgentRunView>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var finished = reader.IsDBNull(6) ? (DateTimeOffset?)null : reader.GetFieldValue<DateTimeOffset>(6);
            bool? succeeded = finished is null ? null : !reader.IsDBNull(7) && reader.GetInt32(7) == 0 && !(reader.IsDBNull(8) ? false : reader.GetBoolean(8));
            runs.Add(new AgentRunView(
                reader.GetString(0), reader.GetInt32(1), reader.GetString(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
                reader.GetFieldValue<DateTimeOffset>(5), finished, succeeded, reader.IsDBNull(9) ? null : reader.GetString(9),
                reader.IsDBNull(10) ? null : reader.GetInt64(10), reader.IsDBNull(11) ? null : reader.GetInt64(11), reader.IsDBNull(12) ? null : reader.GetDecimal(12),
                reader.IsDBNull(13) ? null : TimeSpan.FromMilliseconds(reader.GetInt64(13))));
        }

        return runs;
    }
}

/// <summary>A value on a timeline entry to copy (delivery id, instance id, SHA).</summary>
/// <param name="Label">What it is.</param>
/// <param name="Value">The full value.</param>
public sealed record CopyableValue(string Label, string Value)
{
    /// <summary>How it is shown: SHAs cut to 12 characters, the rest whole.</summary>
    public string Shown => Label == "sha" && Value.Length > 12 ? Value[..12] : Value;
}

/// <summary>A timeline entry as the task page shows it.</summary>
/// <param name="Title">What happened, in a few words.</param>
/// <param name="Text">Details, or <c>""</c>.</param>
/// <param name="LinkUrl">An http(s) link (issue, PR, CI run), or <c>null</c>.</param>
/// <param name="LinkText">Its text.</param>
/// <param name="Copy">Values to copy.</param>
public sealed record TimelineLine(string Title, string Text, string? LinkUrl, string? LinkText, IReadOnlyList<CopyableValue> Copy);

/// <summary>Turns <c>task_events</c> rows into sentences for the task page (fields per type: <see cref="TaskEventTypes"/>).</summary>
public static partial class TimelineText
{
    /// <summary>The entry for one event.</summary>
    /// <param name="e">The event.</param>
    /// <param name="tracker">Tracker name (<c>Plane</c>, <c>Asana</c>).</param>
    /// <returns>The line.</returns>
    public static TimelineLine Describe(TaskEventView e, string tracker)
    {
        ArgumentNullException.ThrowIfNull(e);
        var s = e.Summary;
        var copy = new List<CopyableValue>();
        if (Str(s, "sha") is { Length: > 0 } sha)
        {
            copy.Add(new("sha", sha));
        }

        if (e.DeliveryId is { Length: > 0 } delivery)
        {
            copy.Add(new("delivery", delivery));
        }

        string? url = Str(s, "url") is { } u && IsHttp(u) ? u : null;
        string Join(params string?[] parts) => string.Join(" · ", parts.Where(p => !string.IsNullOrWhiteSpace(p)));
        var (title, text, linkText) = e.EventType switch
        {
            TaskEventTypes.WebhookReceived => ("Webhook received", Str(s, "event") ?? "", (string?)null),
            TaskEventTypes.StatusChanged => ($"{Str(s, "from") ?? "start"} → {Str(s, "to")}", Join(Str(s, "reason"),
                Str(s, "step_to") is { } step && step != Str(s, "to") ? $"step {step}" : null), null),
            TaskEventTypes.RepoMissing => ("Repository needed", "one of " + string.Join(", ", Strings(s, "allowed")), null),
            TaskEventTypes.RepoResolved => ("Repository set", Join(Str(s, "repo"), Str(s, "previous") is { } p ? $"was {p}" : null), null),
            TaskEventTypes.IssueCreated => ("Issue " + (Bool(s, "created") == false ? "found" : "created"), Join($"#{Num(s, "number")}", Str(s, "repo")), $"#{Num(s, "number")}"),
            TaskEventTypes.IssueClosed => ("Issue closed", $"#{Num(s, "number")} closed as not planned", null),
            TaskEventTypes.PrLinked => ("Pull request linked", $"{Str(s, "repo")}#{Num(s, "number")}", $"#{Num(s, "number")}"),
            TaskEventTypes.PrClosed => ("Pull request closed", $"{Str(s, "repo")}#{Num(s, "number")} closed without merge", null),
            TaskEventTypes.PrMerged => ("Pull request merged", $"#{Num(s, "number")}", $"#{Num(s, "number")}"),
            TaskEventTypes.CiUpdated => ($"CI {Str(s, "result")}", Join(Str(s, "via") is { } via ? $"via {via}" : null, Str(s, "detail")), "run"),
            TaskEventTypes.TrackerCompleted => ($"{tracker} item completed", Join(Str(s, "state"), Bool(s, "by_us") == false ? "by a person" : null), null),
            TaskEventTypes.TrackerReopened => ($"{tracker} item reopened", Str(s, "state") ?? "", null),
            TaskEventTypes.ManualAction => (ActionTitle(Str(s, "action")), ActionText(s), null),
            TaskEventTypes.Error => ($"Error in {Str(s, "activity")}", Join(Str(s, "error"), Num(s, "attempts") is { } a ? $"after {a} attempt{(a == "1" ? "" : "s")}" : null), null),
            TaskEventTypes.StageStarted => ($"Stage {Str(s, "stage")} started", Join(Str(s, "agent"), Num(s, "round") is { } r ? $"round {r}" : null), null),
            TaskEventTypes.StageFinished => ($"Stage {Str(s, "stage")} {Str(s, "outcome")}", Join(Str(s, "verdict") is { } v ? $"verdict {v}" : null, Str(s, "reason")), null),
            TaskEventTypes.AgentRun => ($"Agent run: {Str(s, "agent")} on {Str(s, "stage")}", Join(
                Bool(s, "succeeded") switch { true => "succeeded", false => "failed", _ => null },
                Num(s, "tokens_in") is { } tin ? $"{tin} tokens in" : null,
                Num(s, "tokens_out") is { } tout ? $"{tout} out" : null,
                Dec(s, "cost_usd") is { } cost ? "$" + cost.ToString("0.####", CultureInfo.InvariantCulture) : null,
                Num(s, "duration_ms") is { } ms && long.TryParse(ms, CultureInfo.InvariantCulture, out var millis) ? Orchestrations.Tasks.TaskPipelineOrchestration.Format(TimeSpan.FromMilliseconds(millis)) : null,
                Str(s, "failure")), null),
            _ => (e.EventType.Replace('_', ' '), s.ValueKind == JsonValueKind.Object ? s.GetRawText() : "", null),
        };
        return new TimelineLine(title, text, url, url is null ? null : linkText ?? "link", copy);
    }

    /// <summary>The TaskSpec versions the history names (<c>TaskSpec vN created for KEY</c>), oldest first.</summary>
    /// <param name="timeline">The task's history lines.</param>
    /// <returns>Version and time.</returns>
    public static IReadOnlyList<(int Version, DateTimeOffset At)> TaskSpecVersions(IEnumerable<Functions.TimelineEntry> timeline)
    {
        ArgumentNullException.ThrowIfNull(timeline);
        return [.. timeline
            .Select(t => (Match: SpecLine().Match(t.Summary), t.At))
            .Where(x => x.Match.Success)
            .Select(x => (int.Parse(x.Match.Groups[1].Value, CultureInfo.InvariantCulture), x.At))];
    }

    private static string ActionTitle(string? action) => action switch
    {
        "retry" => "Retry requested",
        "resync" => "Re-synced from the tracker",
        "link_pr" => "Pull request linked by hand",
        "set_repo" => "Repository chosen",
        "note" => "Note",
        "cancel" => "Cancelled by hand",
        null => "Manual action",
        _ => action.Replace('_', ' '),
    };

    private static string ActionText(JsonElement s) => Str(s, "action") switch
    {
        "retry" => Str(s, "resumes_at") is { } at ? $"resumes at {at}" : "",
        "resync" => Str(s, "found") == "deleted" ? "the item no longer exists" : Str(s, "title") is { } t ? $"title: {t}" : "",
        "link_pr" => $"{Str(s, "repo")}#{Num(s, "number")} ({Str(s, "state")})",
        "set_repo" => Str(s, "repo") ?? "",
        "note" => Str(s, "text") ?? "",
        "cancel" => Str(s, "reason") ?? "",
        _ => "",
    };

    private static bool IsHttp(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https";

    private static string? Str(JsonElement s, string name) =>
        s.ValueKind == JsonValueKind.Object && s.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string? Num(JsonElement s, string name) =>
        s.ValueKind == JsonValueKind.Object && s.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetRawText() : null;

    private static decimal? Dec(JsonElement s, string name) =>
        s.ValueKind == JsonValueKind.Object && s.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDecimal(out var d) ? d : null;

    private static bool? Bool(JsonElement s, string name) =>
        s.ValueKind == JsonValueKind.Object && s.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    private static IEnumerable<string> Strings(JsonElement s, string name) =>
        s.ValueKind == JsonValueKind.Object && s.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!)
            : [];

    [GeneratedRegex(@"^TaskSpec v(\d+) created")]
    private static partial Regex SpecLine();
}

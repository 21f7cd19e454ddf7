using System.Text.Json;
using Npgsql;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Functions.Functions;

/// <summary>One line of <c>GET /api/tasks</c>.</summary>
/// <param name="Id">Instance id.</param>
/// <param name="TaskKey"><c>PREFIX-N</c>.</param>
/// <param name="Title">Title.</param>
/// <param name="Status">User-facing status.</param>
/// <param name="Repo">Repository.</param>
/// <param name="IssueUrl">Forge issue link.</param>
/// <param name="PrUrl">PR link.</param>
/// <param name="CreatedAt">When the pipeline started.</param>
/// <param name="UpdatedAt">Last change.</param>
public sealed record TaskSummary(string Id, string? TaskKey, string? Title, string Status, string? Repo, string? IssueUrl, string? PrUrl, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>A page of tasks.</summary>
/// <param name="Items">Tasks, newest first.</param>
/// <param name="Page">1-based page.</param>
/// <param name="PageSize">Page size.</param>
/// <param name="Total">Tasks matching the filter.</param>
public sealed record TaskPage(IReadOnlyList<TaskSummary> Items, int Page, int PageSize, long Total);

/// <summary>One timeline entry.</summary>
/// <param name="At">When.</param>
/// <param name="Event">Event name.</param>
/// <param name="Status">Status after the event.</param>
/// <param name="Summary">What happened.</param>
public sealed record TimelineEntry(DateTimeOffset At, string Event, string Status, string Summary);

/// <summary>Links of a task.</summary>
/// <param name="Issue">Forge issue.</param>
/// <param name="PullRequest">PR.</param>
/// <param name="MergeCommit">Merge SHA.</param>
/// <param name="Ci">CI run.</param>
public sealed record TaskLinks(string? Issue, string? PullRequest, string? MergeCommit, string? Ci);

/// <summary><c>GET /api/tasks/{id}</c>.</summary>
/// <param name="Id">Instance id.</param>
/// <param name="TaskKey"><c>PREFIX-N</c>.</param>
/// <param name="Title">Title.</param>
/// <param name="Status">User-facing status.</param>
/// <param name="RuntimeStatus">Engine status.</param>
/// <param name="Repo">Repository.</param>
/// <param name="TrackerWorkItemId">Plane work item UUID.</param>
/// <param name="TaskSpec">Current TaskSpec Markdown.</param>
/// <param name="TaskSpecVersion">Its version.</param>
/// <param name="Links">Links.</param>
/// <param name="FailedStep">Where a retry resumes, when FAILED.</param>
/// <param name="FailureReason">Why it failed.</param>
/// <param name="Warnings">Non-fatal problems.</param>
/// <param name="CreatedAt">Start.</param>
/// <param name="UpdatedAt">Last change.</param>
/// <param name="Timeline">History, oldest first.</param>
/// <param name="Agents">The role pipeline (mode <c>run</c>): stage, rounds, runs with cost, gate results; <c>null</c> in dispatch mode.</param>
/// <param name="Sync">Tracker/forge sync facts (project, overlay flags, allowed repos).</param>
public sealed record TaskDetail(
    string Id,
    string? TaskKey,
    string? Title,
    string Status,
    string RuntimeStatus,
    string? Repo,
    string? TrackerWorkItemId,
    string? TaskSpec,
    int TaskSpecVersion,
    TaskLinks Links,
    string? FailedStep,
    string? FailureReason,
    IReadOnlyList<string> Warnings,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    IReadOnlyList<TimelineEntry> Timeline,
    RolePipelineView? Agents = null,
    TaskSync? Sync = null);

/// <summary>Tracker↔forge sync facts of a task (issue #4).</summary>
/// <param name="Project">Project slug, when the task belongs to a database project.</param>
/// <param name="Tracker"><c>plane</c> or <c>asana</c>.</param>
/// <param name="Forge"><c>github</c> or <c>gitea</c>.</param>
/// <param name="Step">The pipeline step under an AUTO_DISABLED / BLOCKED overlay (equals the status otherwise).</param>
/// <param name="AutoDisabled">AutoTask was turned off: syncing is stopped.</param>
/// <param name="Blocked">The tracker marks the task blocked.</param>
/// <param name="Repos">Repos a NEEDS_REPO task may be given (<c>POST /api/tasks/{id}/repo</c>).</param>
/// <param name="TrackerUrl">Link to the tracker item, when known.</param>
/// <param name="CompletedByUs">Whether we completed the tracker item (only those are reopened when CI fails later).</param>
public sealed record TaskSync(string? Project, string Tracker, string Forge, string Step, bool AutoDisabled, bool Blocked, IReadOnlyList<string> Repos, string? TrackerUrl, bool? CompletedByUs);

/// <summary>The role pipeline on the task page.</summary>
/// <param name="Id">Role pipeline instance id.</param>
/// <param name="Status">Its custom status (stage in capitals, <c>WAITING_APPROVAL</c>, <c>DEPLOYED</c>, <c>FAILED</c>).</param>
/// <param name="Stage">Current stage.</param>
/// <param name="Phase">Running agent, checking gate, waiting for CI or approval, done, failed.</param>
/// <param name="Round">Developer round.</param>
/// <param name="SpentUsd">Cost of its runs so far.</param>
/// <param name="TokensIn">Input tokens of all runs.</param>
/// <param name="TokensOut">Output tokens of all runs.</param>
/// <param name="Runs">Agent runs (stage, round, agent, outcome, tokens, cost, duration).</param>
/// <param name="Gates">Gate results (stage, outcome, verdict, reason).</param>
/// <param name="FailureReason">Why it failed, if it did.</param>
public sealed record RolePipelineView(
    string Id,
    string Status,
    string Stage,
    string Phase,
    int Round,
    decimal SpentUsd,
    long TokensIn,
    long TokensOut,
    IReadOnlyList<JsonElement> Runs,
    IReadOnlyList<JsonElement> Gates,
    string? FailureReason);

/// <summary>Read side of the task API, straight from the engine's tables.</summary>
public sealed class TaskQueries(NpgsqlDataSource dataSource)
{
    /// <summary>Tasks, newest first, optionally with one status.</summary>
    public async Task<TaskPage> ListAsync(string? status, int page, int pageSize, CancellationToken cancellationToken, IReadOnlyCollection<string>? projects = null)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT id, custom_status, state::text, created_at, updated_at, count(*) OVER () AS total
            FROM instances
            WHERE orchestration = @o AND state IS NOT NULL AND (@status::text IS NULL OR custom_status = @status)
              AND (@projects::text[] IS NULL OR state -> 'project' ->> 'projectSlug' = ANY (@projects))
            ORDER BY created_at DESC, id
            LIMIT @limit OFFSET @offset
            """);
        command.Parameters.AddWithValue("o", TaskPipelineOrchestration.OrchestrationName);
        command.Parameters.Add(new NpgsqlParameter("status", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)status ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("projects", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)projects?.ToArray() ?? DBNull.Value });
        command.Parameters.AddWithValue("limit", pageSize);
        command.Parameters.AddWithValue("offset", (page - 1) * pageSize);
        var items = new List<TaskSummary>();
        long total = 0;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var state = JsonSerializer.Deserialize<TaskState>(reader.GetString(2), EngineJson.Options)!;
            total = reader.GetInt64(5);
            items.Add(new TaskSummary(reader.GetString(0), state.TaskKey, state.Title, reader.GetString(1), state.Project.Repo, state.IssueUrl, state.PrUrl,
                reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4)));
        }

        if (items.Count == 0 && page > 1)
        {
            await using var count = dataSource.CreateCommand(
                "SELECT count(*) FROM instances WHERE orchestration = @o AND state IS NOT NULL AND (@status::text IS NULL OR custom_status = @status) AND (@projects::text[] IS NULL OR state -> 'project' ->> 'projectSlug' = ANY (@projects))");
            count.Parameters.AddWithValue("o", TaskPipelineOrchestration.OrchestrationName);
            count.Parameters.Add(new NpgsqlParameter("status", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)status ?? DBNull.Value });
            count.Parameters.Add(new NpgsqlParameter("projects", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)projects?.ToArray() ?? DBNull.Value });
            await reader.DisposeAsync();
            total = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        }

        return new TaskPage(items, page, pageSize, total);
    }

    /// <summary>A task by instance id or by <c>PREFIX-N</c>; <c>null</c> when unknown.</summary>
    public async Task<TaskDetail?> GetAsync(string idOrKey, CancellationToken cancellationToken)
    {
        string id;
        string status;
        string runtime;
        TaskState state;
        DateTimeOffset created;
        DateTimeOffset updated;
        await using (var command = dataSource.CreateCommand("""
            SELECT id, custom_status, runtime_status, state::text, created_at, updated_at FROM instances
            WHERE orchestration = @o AND state IS NOT NULL AND (id = @key OR state->>'taskKey' = @key)
            ORDER BY (id = @key) DESC, created_at DESC LIMIT 1
            """))
        {
            command.Parameters.AddWithValue("o", TaskPipelineOrchestration.OrchestrationName);
            command.Parameters.AddWithValue("key", idOrKey);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            id = reader.GetString(0);
            status = reader.GetString(1);
            runtime = reader.GetString(2);
            state = JsonSerializer.Deserialize<TaskState>(reader.GetString(3), EngineJson.Options)!;
            created = reader.GetFieldValue<DateTimeOffset>(4);
            updated = reader.GetFieldValue<DateTimeOffset>(5);
        }

        var timeline = new List<TimelineEntry>();
        await using (var history = dataSource.CreateCommand(
            "SELECT occurred_at, event_type, custom_status, summary FROM history WHERE instance_id = @id AND summary IS NOT NULL ORDER BY version"))
        {
            history.Parameters.AddWithValue("id", id);
            await using var reader = await history.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                timeline.Add(new TimelineEntry(reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
            }
        }

        var sync = new TaskSync(state.Project.ProjectSlug, state.Project.Tracker, state.Project.Forge, state.Status.ToString(), state.Disabled, state.Blocked,
            state.Project.Repos ?? [state.Project.Repo], state.Item.Url, state.CompletedByUs);
        return new TaskDetail(id, state.TaskKey, state.Title, status, runtime, state.Repo ?? state.Project.Repo, state.WorkItemId, state.TaskSpec, state.TaskSpecVersion,
            new TaskLinks(state.IssueUrl, state.PrUrl, state.MergeSha, state.CiUrl), state.FailedStep?.ToString(), state.FailureReason, state.Warnings,
            created, updated, timeline, state.RolePipelineId is { } child ? await RolePipelineAsync(child, cancellationToken) : null, sync);
    }

    private async Task<RolePipelineView?> RolePipelineAsync(string childId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT i.custom_status, i.state::text,
                   COALESCE((SELECT sum(tokens_in) FROM agent_runs WHERE instance_id = i.id), 0)::bigint,
                   COALESCE((SELECT sum(tokens_out) FROM agent_runs WHERE instance_id = i.id), 0)::bigint
            FROM instances i WHERE i.id = @id AND i.state IS NOT NULL
            """);
        command.Parameters.AddWithValue("id", childId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        using var doc = JsonDocument.Parse(reader.GetString(1));
        var root = doc.RootElement;
        string Str(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
        IReadOnlyList<JsonElement> List(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Select(e => e.Clone()).ToArray()
            : [];
        return new RolePipelineView(
            childId,
            reader.GetString(0),
            Str("stage"),
            Str("phase"),
            root.TryGetProperty("round", out var round) ? round.GetInt32() : 0,
            root.TryGetProperty("spentUsd", out var spent) ? spent.GetDecimal() : 0,
            reader.GetInt64(2),
            reader.GetInt64(3),
            List("runs"),
            List("gates"),
            root.TryGetProperty("failureReason", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null);
    }

    /// <summary>Status and version of an instance, or <c>null</c>.</summary>
    public async Task<(string Status, long Version)?> StatusAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT custom_status, version FROM instances WHERE id = @id AND orchestration = @o");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("o", TaskPipelineOrchestration.OrchestrationName);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetString(0), reader.GetInt64(1)) : null;
    }
}

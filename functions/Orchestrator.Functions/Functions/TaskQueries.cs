using System.Text.Json;
using Npgsql;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.ReadModel;

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

/// <summary>
/// Read side of the task API. The list and the lookup by id or key read the read model (<c>tasks</c>, migration 0007),
/// which is written in the same transaction as every step; the task page adds what only the instance state holds
/// (TaskSpec, warnings, the project's repositories, the role pipeline) and the timeline lines of <c>history</c>, so
/// the responses are the ones this API gave before the read model existed.
/// </summary>
public sealed class TaskQueries(NpgsqlDataSource dataSource, ReadModelQueries readModel)
{
    /// <summary>Tasks, newest first, optionally with one status (the status users see, overlays included), optionally only those of <paramref name="projects"/>.</summary>
    public async Task<TaskPage> ListAsync(string? status, int page, int pageSize, CancellationToken cancellationToken, IReadOnlyCollection<string>? projects = null)
    {
        var conditions = new List<string>();
        if (status is not null)
        {
            conditions.Add("status = @status");
        }

        if (projects is not null)
        {
            conditions.Add("project_slug = ANY (@projects)");
        }

        var where = conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions);
        await using var batch = dataSource.CreateBatch();
        var count = new NpgsqlBatchCommand($"SELECT count(*) FROM tasks {where}");
        var rows = new NpgsqlBatchCommand($"""
            SELECT id, task_key, title, status, repo, issue_url, pr_url, created_at, updated_at FROM tasks {where}
            ORDER BY created_at DESC, id LIMIT @limit OFFSET @offset
            """);
        if (status is not null)
        {
            count.Parameters.AddWithValue("status", status);
            rows.Parameters.AddWithValue("status", status);
        }

        if (projects is not null)
        {
            count.Parameters.AddWithValue("projects", projects.ToArray());
            rows.Parameters.AddWithValue("projects", projects.ToArray());
        }

        rows.Parameters.AddWithValue("limit", pageSize);
        rows.Parameters.AddWithValue("offset", (long)(page - 1) * pageSize);
        batch.BatchCommands.Add(count);
        batch.BatchCommands.Add(rows);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var total = reader.GetInt64(0);
        await reader.NextResultAsync(cancellationToken);
        var items = new List<TaskSummary>();
        while (await reader.ReadAsync(cancellationToken))
        {
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            items.Add(new TaskSummary(reader.GetString(0), Text(1), Text(2), reader.GetString(3), Text(4), Text(5), Text(6),
                reader.GetFieldValue<DateTimeOffset>(7), reader.GetFieldValue<DateTimeOffset>(8)));
        }

        return new TaskPage(items, page, pageSize, total);
    }

    /// <summary>A task by instance id or by <c>PREFIX-N</c> (case-insensitive); <c>null</c> when unknown.</summary>
    public async Task<TaskDetail?> GetAsync(string idOrKey, CancellationToken cancellationToken)
    {
        if (await readModel.FindAsync(idOrKey, cancellationToken) is not { } row)
        {
            return null;
        }

        string runtime;
        TaskState state;
        await using (var command = dataSource.CreateCommand("SELECT runtime_status, state::text FROM instances WHERE id = @id AND state IS NOT NULL"))
        {
            command.Parameters.AddWithValue("id", row.Id);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            runtime = reader.GetString(0);
            state = JsonSerializer.Deserialize<TaskState>(reader.GetString(1), EngineJson.Options)!;
        }

        var timeline = new List<TimelineEntry>();
        await using (var history = dataSource.CreateCommand(
            "SELECT occurred_at, event_type, custom_status, summary FROM history WHERE instance_id = @id AND summary IS NOT NULL ORDER BY version"))
        {
            history.Parameters.AddWithValue("id", row.Id);
            await using var reader = await history.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                timeline.Add(new TimelineEntry(reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
            }
        }

        var sync = new TaskSync(row.ProjectSlug ?? state.Project.ProjectSlug, row.TrackerKind, row.ForgeKind, row.Step, row.AutoDisabled, state.Blocked,
            state.Project.Repos ?? [state.Project.Repo], row.TrackerUrl, state.CompletedByUs);
        return new TaskDetail(row.Id, row.TaskKey, row.Title, row.Status, runtime, row.Repo ?? state.Project.Repo, row.TrackerItemId, state.TaskSpec, state.TaskSpecVersion,
            new TaskLinks(row.IssueUrl, row.PrUrl, row.MergeSha, row.CiUrl), state.FailedStep?.ToString(), state.FailureReason, state.Warnings,
            row.CreatedAt, row.UpdatedAt, timeline, state.RolePipelineId is { } child ? await RolePipelineAsync(child, cancellationToken) : null, sync);
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

using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Shared.ReadModel;

/// <summary>
/// SQL for the read model (<c>tasks</c>, <c>task_events</c>, migration 0007): the row upsert and the event insert as
/// batch commands, to run inside a caller's transaction (a step's, or an API action's).
/// </summary>
public static class ReadModelWriter
{
    /// <summary>
    /// Inserts or replaces a task's row; <c>created_at</c> is kept from the first insert. A row without a project slug
    /// (a task started before projects had slugs) takes the slug of the project that owns its tracker project.
    /// </summary>
    /// <param name="row">The row.</param>
    /// <returns>The command.</returns>
    public static NpgsqlBatchCommand Upsert(TaskRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var command = new NpgsqlBatchCommand("""
            INSERT INTO tasks (id, project_slug, task_key, title, status, step, blocked, auto_disabled, tracker_kind, tracker_project_id,
                               tracker_item_id, tracker_url, forge_kind, repo, issue_number, issue_url, pr_number, pr_url, merge_sha,
                               ci_state, ci_url, failed_step, failure_reason, created_at, updated_at, deployed_at)
            VALUES (@id,
                    COALESCE(@project, (SELECT p.slug FROM projects p WHERE p.definition -> 'tracker' -> 'project_ids' ? @tracker_project ORDER BY p.slug LIMIT 1)),
                    @key, @title, @status, @step, @blocked, @disabled, @tracker, @tracker_project, @tracker_item, @tracker_url, @forge, @repo,
                    @issue, @issue_url, @pr, @pr_url, @sha, @ci, @ci_url, @failed_step, @failure, @created, @updated, @deployed)
            ON CONFLICT (id) DO UPDATE SET
                project_slug = EXCLUDED.project_slug, task_key = EXCLUDED.task_key, title = EXCLUDED.title, status = EXCLUDED.status,
                step = EXCLUDED.step, blocked = EXCLUDED.blocked, auto_disabled = EXCLUDED.auto_disabled, tracker_kind = EXCLUDED.tracker_kind,
                tracker_project_id = EXCLUDED.tracker_project_id, tracker_item_id = EXCLUDED.tracker_item_id, tracker_url = EXCLUDED.tracker_url,
                forge_kind = EXCLUDED.forge_kind, repo = EXCLUDED.repo, issue_number = EXCLUDED.issue_number, issue_url = EXCLUDED.issue_url,
                pr_number = EXCLUDED.pr_number, pr_url = EXCLUDED.pr_url, merge_sha = EXCLUDED.merge_sha, ci_state = EXCLUDED.ci_state,
                ci_url = EXCLUDED.ci_url, failed_step = EXCLUDED.failed_step, failure_reason = EXCLUDED.failure_reason,
                updated_at = EXCLUDED.updated_at, deployed_at = EXCLUDED.deployed_at
            """);
        var p = command.Parameters;
        p.AddWithValue("id", row.Id);
        Text(p, "project", row.ProjectSlug);
        Text(p, "key", row.TaskKey);
        Text(p, "title", row.Title);
        p.AddWithValue("status", row.Status);
        p.AddWithValue("step", row.Step);
        p.AddWithValue("blocked", row.Blocked);
        p.AddWithValue("disabled", row.AutoDisabled);
        p.AddWithValue("tracker", row.TrackerKind);
        p.AddWithValue("tracker_project", row.TrackerProjectId);
        p.AddWithValue("tracker_item", row.TrackerItemId);
        Text(p, "tracker_url", row.TrackerUrl);
        p.AddWithValue("forge", row.ForgeKind);
        Text(p, "repo", row.Repo);
        Int(p, "issue", row.IssueNumber);
        Text(p, "issue_url", row.IssueUrl);
        Int(p, "pr", row.PrNumber);
        Text(p, "pr_url", row.PrUrl);
        Text(p, "sha", row.MergeSha);
        Text(p, "ci", row.CiState);
        Text(p, "ci_url", row.CiUrl);
        Text(p, "failed_step", row.FailedStep);
        Text(p, "failure", row.FailureReason);
        p.AddWithValue("created", row.CreatedAt);
        p.AddWithValue("updated", row.UpdatedAt);
        p.Add(new NpgsqlParameter("deployed", NpgsqlDbType.TimestampTz) { Value = row.DeployedAt is { } d ? d : DBNull.Value });
        return command;
    }

    /// <summary>Appends one event; without a project slug it takes the task row's (which must exist: foreign key).</summary>
    /// <param name="e">The event.</param>
    /// <returns>The command.</returns>
    public static NpgsqlBatchCommand Append(TaskEventRecord e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var command = new NpgsqlBatchCommand("""
            INSERT INTO task_events (task_id, project_slug, source, event_type, actor, summary, delivery_id, created_at)
            VALUES (@task, COALESCE(@project, (SELECT project_slug FROM tasks WHERE id = @task)), @source, @type, @actor, @summary::jsonb, @delivery, @at)
            """);
        var p = command.Parameters;
        p.AddWithValue("task", e.TaskId);
        Text(p, "project", e.ProjectSlug);
        p.AddWithValue("source", e.Source);
        p.AddWithValue("type", e.EventType);
        Text(p, "actor", e.Actor);
        p.AddWithValue("summary", JsonSerializer.Serialize(e.Summary, EngineJson.Options));
        Text(p, "delivery", e.DeliveryId);
        p.AddWithValue("at", e.CreatedAt);
        return command;
    }

    /// <summary>Appends events inside an open transaction (e.g. <see cref="RaiseOptions.InSameTransaction"/>).</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="transaction">Its transaction.</param>
    /// <param name="events">The events, in order.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>When written.</returns>
    public static async Task AppendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IEnumerable<TaskEventRecord> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        await using var batch = new NpgsqlBatch(connection, transaction);
        foreach (var e in events)
        {
            batch.BatchCommands.Add(Append(e));
        }

        if (batch.BatchCommands.Count > 0)
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>
    /// How an API action raises its event: with the caller as origin (so the step it causes names them), and its
    /// <see cref="Orchestrations.ReadModel.TaskEventTypes.ManualAction"/> row committed in the same transaction as the queued event — both or
    /// neither; a duplicate raise (same event key) writes neither.
    /// </summary>
    /// <param name="action">The manual action event (<see cref="TaskProjection.ManualAction"/>).</param>
    /// <returns>The raise options.</returns>
    public static RaiseOptions RaisingManualAction(TaskEventRecord action)
    {
        ArgumentNullException.ThrowIfNull(action);
        return new RaiseOptions
        {
            Origin = new Orchestrations.Abstractions.EventOrigin(action.Source, action.Actor, action.DeliveryId),
            InSameTransaction = (connection, tx, ct) => AppendAsync(connection, tx, [action], ct),
        };
    }

    private static void Text(NpgsqlParameterCollection p, string name, string? value) =>
        p.Add(new NpgsqlParameter(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value });

    private static void Int(NpgsqlParameterCollection p, string name, int? value) =>
        p.Add(new NpgsqlParameter(name, NpgsqlDbType.Integer) { Value = value is { } v ? v : DBNull.Value });
}

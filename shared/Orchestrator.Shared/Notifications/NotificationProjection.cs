using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Shared.Notifications;

/// <summary>Input of <see cref="NotificationActivities.NotifyTask"/>: bring the task's live message up to date.</summary>
/// <param name="TaskId">Task instance id.</param>
public sealed record NotifyTaskInput(string TaskId);

/// <summary>Input of <see cref="NotificationActivities.NotifyAlert"/>: send alert <paramref name="AlertKey"/> of the task once.</summary>
/// <param name="TaskId">Task instance id.</param>
/// <param name="AlertKey">The alert's key (<c>telegram_alerts.alert_key</c>).</param>
public sealed record NotifyAlertInput(string TaskId, string AlertKey);

/// <summary>Input of <see cref="NotificationActivities.NotifyApprovalDecided"/>: show the gate's outcome on its approval message.</summary>
/// <param name="TaskId">Task instance id.</param>
/// <param name="RolesId">Role pipeline instance.</param>
/// <param name="Execution">The execution that waited at the gate.</param>
public sealed record NotifyApprovalDecidedInput(string TaskId, string RolesId, int Execution);

/// <summary>Names and retry policies of the notification activities (system activities: their results go nowhere).</summary>
public static class NotificationActivities
{
    /// <summary>Sends or edits the task's live message (<see cref="IChatNotifier.SyncTaskAsync"/>).</summary>
    public const string NotifyTask = "NotifyTask";

    /// <summary>Sends one alert (<see cref="IChatNotifier.SendAlertAsync"/>).</summary>
    public const string NotifyAlert = "NotifyAlert";

    /// <summary>Edits the approval message after the gate was left (<see cref="IChatNotifier.ApprovalDecidedAsync"/>).</summary>
    public const string NotifyApprovalDecided = "NotifyApprovalDecided";

    /// <summary>
    /// Chat calls: 10 attempts from 2 s doubling to at most 5 min (about 20 minutes in all); a 429's <c>retry_after</c>
    /// wins when longer. Rate slots not free yet defer without spending an attempt.
    /// </summary>
    public static RetryPolicy Retry { get; } = new(10, TimeSpan.FromSeconds(2), 2.0, TimeSpan.FromMinutes(5));
}

/// <summary>
/// Tells a chat about tasks, whatever the chat platform (Telegram implements it). Every call is idempotent: it reads what
/// was already sent from PostgreSQL and sends at most what is missing.
/// </summary>
public interface IChatNotifier
{
    /// <summary>Sends the task's live message the first time, edits it afterwards (nothing when the text did not change).</summary>
    /// <param name="taskId">Task instance id.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    Task SyncTaskAsync(string taskId, CancellationToken cancellationToken);

    /// <summary>Sends a stored alert once.</summary>
    /// <param name="taskId">Task instance id.</param>
    /// <param name="alertKey">Its key.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    Task SendAlertAsync(string taskId, string alertKey, CancellationToken cancellationToken);

    /// <summary>Shows on the approval message how the gate was decided, and removes its buttons.</summary>
    /// <param name="input">Which gate.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    Task ApprovalDecidedAsync(NotifyApprovalDecidedInput input, CancellationToken cancellationToken);
}

/// <summary>
/// Wraps a step projection (the read model) and adds, in the same step transaction, what the chats must learn of the step:
/// a keyed <see cref="NotificationActivities.NotifyTask"/> per applied step (so no transition can be missed: the activity
/// renders the task as it is when it runs, and an unchanged rendering costs nothing), the step's alerts
/// (<see cref="NotificationRules"/>, a row per task and key plus a keyed activity), and the approval gate's requests and
/// outcomes. Rows are written only for projects that have a chat configured; a rolled-back step writes none of it.
/// </summary>
/// <param name="inner">The read-model projection of the same orchestration.</param>
public sealed class NotificationProjection(IStepProjection inner) : IStepProjection
{
    private const string HasChat = """
        EXISTS (SELECT 1 FROM tasks t JOIN projects p ON p.slug = t.project_slug
                WHERE t.id = @task AND jsonb_typeof(p.definition -> 'telegram') = 'object')
        """;

    /// <inheritdoc />
    public IEnumerable<NpgsqlBatchCommand> Project(StepContext step)
    {
        ArgumentNullException.ThrowIfNull(step);
        foreach (var command in inner.Project(step))
        {
            yield return command;
        }

        var taskId = step.StateAfter is TaskState ? step.InstanceId : step.ParentId;
        if (taskId is null)
        {
            yield break;
        }

        yield return DurableEngine.SystemActivityInsert(NotificationActivities.NotifyTask, new NotifyTaskInput(taskId),
            $"notify:{step.InstanceId}:{step.Version}", NotificationActivities.Retry, step.Now);

        IReadOnlyList<AlertRequest> alerts = [];
        ApprovalLeft? left = null;
        switch (step.StateAfter)
        {
            case TaskState after:
                alerts = NotificationRules.ForTask(step.StateBefore as TaskState, after);
                break;
            case RolePipelineState after:
                alerts = NotificationRules.ForRoles(step.StateBefore as RolePipelineState, after);
                left = NotificationRules.LeftApproval(step.StateBefore as RolePipelineState, after);
                break;
        }

        foreach (var alert in alerts)
        {
            if (alert.Kind == NotificationKinds.Approval && alert.Execution is { } execution)
            {
                yield return ApprovalInsert(taskId, step.InstanceId, execution, alert.Stage ?? "", step.Now);
            }

            yield return AlertInsert(taskId, alert, step.Now);
            yield return DurableEngine.SystemActivityInsert(NotificationActivities.NotifyAlert, new NotifyAlertInput(taskId, alert.Key),
                $"alert:{taskId}:{alert.Key}", NotificationActivities.Retry, step.Now);
        }

        if (left is not null)
        {
            yield return ApprovalOutcome(step.InstanceId, left, step.Now);
            yield return DurableEngine.SystemActivityInsert(NotificationActivities.NotifyApprovalDecided,
                new NotifyApprovalDecidedInput(taskId, step.InstanceId, left.Execution),
                $"approval-decided:{step.InstanceId}:{left.Execution}", NotificationActivities.Retry, step.Now);
        }
    }

    private static NpgsqlBatchCommand AlertInsert(string taskId, AlertRequest alert, DateTimeOffset now)
    {
        var command = new NpgsqlBatchCommand($"""
            INSERT INTO telegram_alerts (task_id, alert_key, kind, payload, created_at)
            SELECT @task, @key, @kind, @payload::jsonb, @now WHERE {HasChat}
            ON CONFLICT (task_id, alert_key) DO NOTHING
            """);
        command.Parameters.AddWithValue("task", taskId);
        command.Parameters.AddWithValue("key", alert.Key);
        command.Parameters.AddWithValue("kind", alert.Kind);
        command.Parameters.AddWithValue("payload", JsonSerializer.Serialize(alert, EngineJson.Options));
        command.Parameters.AddWithValue("now", now);
        return command;
    }

    private static NpgsqlBatchCommand ApprovalInsert(string taskId, string rolesId, int execution, string stage, DateTimeOffset now)
    {
        var command = new NpgsqlBatchCommand($"""
            INSERT INTO telegram_approvals (task_id, roles_id, execution, stage, requested_at)
            SELECT @task, @roles, @execution, @stage, @now WHERE {HasChat}
            ON CONFLICT (roles_id, execution) DO NOTHING
            """);
        command.Parameters.AddWithValue("task", taskId);
        command.Parameters.AddWithValue("roles", rolesId);
        command.Parameters.AddWithValue("execution", execution);
        command.Parameters.AddWithValue("stage", stage);
        command.Parameters.AddWithValue("now", now);
        return command;
    }

    /// <summary>
    /// Records how the gate was left. A decision made in the chat already set the row; when the pipeline saw another
    /// outcome (the tracker won a race), the tracker's outcome replaces it — the chat always ends up showing what happened.
    /// </summary>
    private static NpgsqlBatchCommand ApprovalOutcome(string rolesId, ApprovalLeft left, DateTimeOffset now)
    {
        var command = new NpgsqlBatchCommand("""
            UPDATE telegram_approvals SET
                decided_via     = CASE WHEN status = @outcome THEN decided_via ELSE 'tracker' END,
                decided_by_id   = CASE WHEN status = @outcome THEN decided_by_id END,
                decided_by_name = CASE WHEN status = @outcome THEN decided_by_name END,
                reason          = CASE WHEN status = @outcome THEN reason ELSE @reason END,
                decided_at      = COALESCE(CASE WHEN status = @outcome THEN decided_at END, @now),
                status          = @outcome
            WHERE roles_id = @roles AND execution = @execution
            """);
        command.Parameters.AddWithValue("outcome", left.Outcome);
        command.Parameters.Add(new NpgsqlParameter("reason", NpgsqlDbType.Text) { Value = (object?)left.Reason ?? DBNull.Value });
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("roles", rolesId);
        command.Parameters.AddWithValue("execution", left.Execution);
        return command;
    }
}

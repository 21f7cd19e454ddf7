using System.Globalization;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Orchestrations.Tasks;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Shared.Notifications;

/// <summary>
/// An alert a step raised. <see cref="Key"/> is unique per task and event (an incident is one alert: a retried step, a
/// resumed host or the parent step of the same failure make the same key, or none).
/// </summary>
/// <param name="Kind">A <see cref="NotificationKinds"/> alert kind.</param>
/// <param name="Key">Idempotency key within the task, e.g. <c>agent_failed:7:0</c>.</param>
/// <param name="Reason">One line: what happened (clipped).</param>
/// <param name="Stage">The stage it concerns, or <c>null</c>.</param>
/// <param name="Agent">The agent concerned, or <c>null</c>.</param>
/// <param name="Artifacts">Documents under review (approval), possibly empty.</param>
/// <param name="ApprovedState">Tracker state that approves (approval).</param>
/// <param name="RejectedState">Tracker state that rejects (approval).</param>
/// <param name="Execution">The role pipeline execution (approval: which gate the buttons decide), or <c>null</c>.</param>
public sealed record AlertRequest(
    string Kind,
    string Key,
    string Reason,
    string? Stage = null,
    string? Agent = null,
    IReadOnlyList<ArtifactLink>? Artifacts = null,
    string? ApprovedState = null,
    string? RejectedState = null,
    int? Execution = null);

/// <summary>The role pipeline left the approval gate of <paramref name="Execution"/>: how.</summary>
/// <param name="Execution">The execution that waited.</param>
/// <param name="Outcome"><c>approved</c>, <c>rejected</c> or <c>closed</c> (cancelled, taken over).</param>
/// <param name="Reason">The rejection reason, if any.</param>
public sealed record ApprovalLeft(int Execution, string Outcome, string? Reason);

/// <summary>
/// Which alerts a step raises, as pure functions of the states before and after it (no clock, no I/O). One incident is
/// one alert: when the role pipeline fails (agent, budget, gate), its own step alerts and the parent task's FAILED step
/// (failed step <c>Agents</c>) does not; a CI failure after the merge alerts once as <see cref="NotificationKinds.CiFailed"/>,
/// never also as a failed task.
/// </summary>
public static class NotificationRules
{
    /// <summary>Longest reason an alert carries.</summary>
    public const int MaxReasonLength = 500;

    /// <summary>The alerts of a task pipeline step.</summary>
    /// <param name="before">State before; <c>null</c> for the first step.</param>
    /// <param name="after">State after.</param>
    /// <returns>Alerts (at most one).</returns>
    public static IReadOnlyList<AlertRequest> ForTask(TaskState? before, TaskState after)
    {
        ArgumentNullException.ThrowIfNull(after);
        if (after.Status != TaskStatus.FAILED || before?.Status == TaskStatus.FAILED)
        {
            return [];
        }

        var reason = Clip(after.FailureReason ?? "no reason recorded");
        return after.FailedStep switch
        {
            FailedStep.Agents => [], // the role pipeline's own step alerted for this incident
            FailedStep.Ci => [new AlertRequest(NotificationKinds.CiFailed, Key("ci_failed", after.Round, after.MergeSha ?? "-"), reason)],
            var step => [new AlertRequest(NotificationKinds.TaskFailed, Key("task_failed", after.Round, step?.ToString() ?? "-"), reason)],
        };
    }

    /// <summary>The alerts of a role pipeline step.</summary>
    /// <param name="before">State before; <c>null</c> for the first step.</param>
    /// <param name="after">State after.</param>
    /// <returns>Alerts (at most one).</returns>
    public static IReadOnlyList<AlertRequest> ForRoles(RolePipelineState? before, RolePipelineState after)
    {
        ArgumentNullException.ThrowIfNull(after);
        if (after.Phase == PipelinePhase.WaitingApproval && before?.Phase != PipelinePhase.WaitingApproval && after.Definition.Approval is { } gate)
        {
            var artifacts = after.Gates.LastOrDefault(g => g.Stage == after.Stage && g.Artifacts.Count > 0)?.Artifacts ?? after.StageArtifacts;
            return
            [
                new AlertRequest(NotificationKinds.Approval, Key("approval", after.Execution), $"{after.Stage} passed; waiting for approval",
                    after.Stage, null, artifacts, gate.ApprovedState, gate.RejectedState, after.Execution),
            ];
        }

        if (after.Phase != PipelinePhase.Failed || before?.Phase == PipelinePhase.Failed)
        {
            return [];
        }

        var reason = Clip(after.FailureReason ?? "no reason recorded");
        var run = after.Runs.LastOrDefault(r => r.Execution == after.Execution);
        if (after.FailureReason == RolePipelineOrchestration.BudgetExceeded)
        {
            var spent = StageComments.FormatCost(after.SpentUsd);
            var detail = after.TaskBudgetUsd is { } budget && after.SpentUsd >= budget
                ? $"the task spent {spent} of its {StageComments.FormatCost(budget)} budget"
                : "the project budget is used up";
            return [new AlertRequest(NotificationKinds.BudgetExceeded, Key("budget", after.Execution, after.Retries), $"{detail}; no new agent run starts ({after.Stage} was next)", after.Stage)];
        }

        if (after.Feedback is { FromStage: "approval" } && after.FeedbackStage == after.Stage && after.FailureReason?.StartsWith("rejected at approval", StringComparison.Ordinal) == true)
        {
            return []; // a person decided; the approval message shows it
        }

        if (run is { Succeeded: false } && run.Stage == after.Stage && before?.Runs.FirstOrDefault(r => r.Execution == run.Execution)?.Succeeded is null)
        {
            return [new AlertRequest(NotificationKinds.AgentFailed, Key("agent_failed", after.Execution, after.Retries), reason, after.Stage, run.Agent)];
        }

        return [new AlertRequest(NotificationKinds.TaskFailed, Key("stage_failed", after.Execution, after.Retries), reason, after.Stage)];
    }

    /// <summary>Whether a role pipeline step left the approval gate, and how.</summary>
    /// <param name="before">State before.</param>
    /// <param name="after">State after.</param>
    /// <returns>The departure, or <c>null</c>.</returns>
    public static ApprovalLeft? LeftApproval(RolePipelineState? before, RolePipelineState after)
    {
        ArgumentNullException.ThrowIfNull(after);
        if (before is not { Phase: PipelinePhase.WaitingApproval } || after.Phase == PipelinePhase.WaitingApproval)
        {
            return null;
        }

        return after.Phase switch
        {
            PipelinePhase.Failed when after.Feedback is { FromStage: "approval" } f => new ApprovalLeft(before.Execution, "rejected", Clip(f.Text)),
            PipelinePhase.Cancelled or PipelinePhase.TakenOver or PipelinePhase.Failed => new ApprovalLeft(before.Execution, "closed", null),
            _ => new ApprovalLeft(before.Execution, "approved", null),
        };
    }

    private static string Key(string kind, params object[] parts) =>
        kind + ":" + string.Join(':', parts.Select(p => Convert.ToString(p, CultureInfo.InvariantCulture)));

    private static string Clip(string text)
    {
        var line = text.ReplaceLineEndings(" ").Trim();
        return line.Length <= MaxReasonLength ? line : string.Concat(line.AsSpan(0, MaxReasonLength - 1), "…");
    }
}

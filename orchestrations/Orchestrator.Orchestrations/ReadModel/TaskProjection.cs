using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Tasks;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Orchestrations.ReadModel;

/// <summary>
/// The read model of a task pipeline step, as a pure function: (state before, state after, the event applied, its
/// origin, now) → the task's row and the events to append. No clock, no I/O, no engine types, so any runtime that
/// runs <see cref="TaskPipelineOrchestration"/> (our engine's step hook, the Durable Task worker of issue #10) writes
/// the same rows. Facts are read from the difference between the two states; the event only names the cause (and
/// carries what the state does not keep, such as a CI conclusion).
/// </summary>
public static class TaskProjection
{
    /// <summary>Longest text kept in a summary field (reasons, errors); longer ones are cut with an ellipsis.</summary>
    public const int MaxTextLength = 300;

    /// <summary>Projects one applied step.</summary>
    /// <param name="before">State before the step; <c>null</c> for the step that created the task.</param>
    /// <param name="after">State after the step.</param>
    /// <param name="cause">The event the step applied.</param>
    /// <param name="eventType">Its type name (the <c>$type</c> discriminator, e.g. <c>PullRequestMerged</c>).</param>
    /// <param name="origin">Who raised it (webhook, API, system).</param>
    /// <param name="now">The step's time.</param>
    /// <returns>The row to upsert and the events to append, in order.</returns>
    public static TaskProjectionResult Project(TaskState? before, TaskState after, TaskEvent cause, string eventType, EventOrigin origin, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(after);
        ArgumentNullException.ThrowIfNull(cause);
        ArgumentNullException.ThrowIfNull(origin);
        var events = new EventList(after.InstanceId, after.Project.ProjectSlug, origin, now);
        if (origin.Source is EventSources.Tracker or EventSources.Forge)
        {
            events.Add(TaskEventTypes.WebhookReceived, ("event", eventType));
        }

        Facts(events, before, after, cause);
        Status(events, before, after, cause);
        return new TaskProjectionResult(RowOf(after, now), events.Items);
    }

    /// <summary>The <c>tasks</c> row of a state (also what the migration's back-fill computes in SQL).</summary>
    /// <param name="state">The task.</param>
    /// <param name="updatedAt">The time of the step that produced <paramref name="state"/>.</param>
    /// <returns>The row.</returns>
    public static TaskRow RowOf(TaskState state, DateTimeOffset updatedAt)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new TaskRow(
            state.InstanceId,
            state.Project.ProjectSlug,
            state.TaskKey,
            state.Title,
            TaskPipelineOrchestration.CustomStatusFor(state),
            state.Status.ToString(),
            IsBlocked(state),
            state.Disabled,
            state.Project.Tracker,
            state.Project.TrackerProjectId,
            state.WorkItemId,
            state.Item.Url,
            state.Project.Forge,
            // A project that takes the repository from the tracker has none until the item names one.
            state.Repo ?? (state.Project.RepoFromTracker || string.IsNullOrEmpty(state.Project.Repo) ? null : state.Project.Repo),
            state.IssueNumber,
            state.IssueUrl,
            state.PrNumber,
            state.PrUrl,
            state.MergeSha,
            CiStateOf(state),
            state.CiUrl,
            state.Status == TaskStatus.FAILED ? state.FailedStep?.ToString() : null,
            state.Status == TaskStatus.FAILED ? state.FailureReason : null,
            state.ReceivedAt == default ? updatedAt : state.ReceivedAt,
            updatedAt,
            state.DeployedAt);
    }

    /// <summary>
    /// CI on the merge commit as the state shows it: <c>null</c> before the merge, <see cref="CiStates.Pending"/> while
    /// waiting, <see cref="CiStates.Success"/> (or <see cref="CiStates.NotRequired"/>) once deployed,
    /// <see cref="CiStates.Failure"/> when the task failed at CI; <c>null</c> otherwise (e.g. cancelled while waiting).
    /// </summary>
    /// <param name="state">The task.</param>
    /// <returns>The CI state.</returns>
    public static string? CiStateOf(TaskState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.MergeSha is null)
        {
            return null;
        }

        return state.Status switch
        {
            TaskStatus.WAITING_CI => CiStates.Pending,
            TaskStatus.DEPLOYED => state.Project.RequireCi ? CiStates.Success : CiStates.NotRequired,
            TaskStatus.FAILED when state.FailedStep == FailedStep.Ci => CiStates.Failure,
            _ => null,
        };
    }

    /// <summary>
    /// The <see cref="TaskEventTypes.ManualAction"/> event of an API action, written in the transaction that raises the
    /// action's event (<c>DurableEngine.RaiseEventAsync</c> with <c>RaiseOptions.InSameTransaction</c>).
    /// </summary>
    /// <param name="taskId">Task instance id.</param>
    /// <param name="action">What was done, e.g. <c>retry</c>, <c>set_repo</c>.</param>
    /// <param name="origin">Who did it (source <see cref="EventSources.Api"/> or <see cref="EventSources.User"/>, with the actor).</param>
    /// <param name="details">Extra summary fields (small values only), or <c>null</c>.</param>
    /// <param name="now">When.</param>
    /// <returns>The event (project slug taken from the task row by the writer).</returns>
    public static TaskEventRecord ManualAction(string taskId, string action, EventOrigin origin, IReadOnlyDictionary<string, object>? details, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(taskId);
        ArgumentException.ThrowIfNullOrEmpty(action);
        ArgumentNullException.ThrowIfNull(origin);
        var summary = new Dictionary<string, object>(StringComparer.Ordinal) { ["action"] = action };
        foreach (var (key, value) in details ?? new Dictionary<string, object>())
        {
            summary[key] = value is string text ? Clip(text) : value;
        }

        return new TaskEventRecord(taskId, null, origin.Source, TaskEventTypes.ManualAction, origin.Actor, summary, origin.DeliveryId, now);
    }

    /// <summary>Cuts <paramref name="text"/> to <see cref="MaxTextLength"/> characters (an ellipsis marks the cut).</summary>
    /// <param name="text">Any text.</param>
    /// <returns>The clipped text.</returns>
    public static string Clip(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length <= MaxTextLength ? text : string.Concat(text.AsSpan(0, MaxTextLength - 1), "…");
    }

    private static bool IsBlocked(TaskState s) =>
        s.Blocked && s.Status is not (TaskStatus.DEPLOYED or TaskStatus.CANCELLED or TaskStatus.FAILED);

    private static void Facts(EventList events, TaskState? before, TaskState after, TaskEvent cause)
    {
        if (after.Repo is { } repo && !string.Equals(before?.Repo, repo, StringComparison.Ordinal))
        {
            events.Add(TaskEventTypes.RepoResolved, ("repo", repo), ("previous", before?.Repo));
        }

        if (after.Status == TaskStatus.NEEDS_REPO && before?.Status != TaskStatus.NEEDS_REPO)
        {
            events.Add(TaskEventTypes.RepoMissing, ("allowed", after.Project.AllowedRepos.ToArray()));
        }

        if (after.IssueNumber is { } issue && before?.IssueNumber is null)
        {
            events.Add(TaskEventTypes.IssueCreated, ("number", issue), ("url", after.IssueUrl), ("repo", after.Repo ?? after.Project.Repo),
                ("created", cause is IssueEnsured ensured ? ensured.Created : null));
        }

        if (after.PrNumber is { } pr && (before is null || before.PrNumber != pr || !string.Equals(before.PrRepo, after.PrRepo, StringComparison.OrdinalIgnoreCase)))
        {
            events.Add(TaskEventTypes.PrLinked, ("number", pr), ("url", after.PrUrl), ("repo", after.PrRepo));
        }

        if (before?.PrNumber is { } closed && after.PrNumber is null)
        {
            events.Add(TaskEventTypes.PrClosed, ("number", closed), ("repo", before.PrRepo));
        }

        if (after.MergeSha is { } sha && !string.Equals(before?.MergeSha, sha, StringComparison.OrdinalIgnoreCase))
        {
            events.Add(TaskEventTypes.PrMerged, ("number", after.PrNumber), ("url", after.PrUrl), ("sha", sha));
        }

        foreach (var c in Causes(cause))
        {
            switch (c)
            {
                case CiCompleted ci when ShaMatches(after.MergeSha, ci.Sha) && (cause is not Reconciled || !IsPending(ci.Conclusion)):
                    events.Add(TaskEventTypes.CiUpdated, ("sha", ci.Sha), ("result", ci.Conclusion), ("url", ci.Url), ("via", ci.Source));
                    break;
                case CiChecked r when ShaMatches(after.MergeSha, r.Sha) && (cause is not Reconciled || r.Outcome != CiOutcome.Pending):
                    events.Add(TaskEventTypes.CiUpdated, ("sha", r.Sha), ("result", r.Outcome.ToString().ToLowerInvariant()), ("url", r.Url),
                        ("via", "check"), ("detail", r.Detail));
                    break;
                case ForgeIssueClosed f:
                    events.Add(TaskEventTypes.IssueClosed, ("number", f.Number));
                    break;
                case TrackerCompleted t:
                    events.Add(TaskEventTypes.TrackerCompleted, ("state", t.StateName), ("by_us", t.CompletedByUs));
                    break;
                case TrackerReopened t:
                    events.Add(TaskEventTypes.TrackerReopened, ("state", t.StateName));
                    break;
                case TaskActivityFailed f:
                    events.Add(TaskEventTypes.Error, ("activity", f.Activity), ("attempts", f.Attempts), ("error", f.Error));
                    break;
            }
        }

        // The CI deadline passed: nothing reported, but the outcome is a CI result all the same.
        if (cause is TaskTimerFired && before?.Status == TaskStatus.WAITING_CI && after.Status == TaskStatus.FAILED && after.MergeSha is { } waited)
        {
            events.Add(TaskEventTypes.CiUpdated, ("sha", waited), ("result", "timed_out"), ("url", after.CiUrl), ("via", "deadline"));
        }
    }

    private static void Status(EventList events, TaskState? before, TaskState after, TaskEvent cause)
    {
        var from = before is null ? null : TaskPipelineOrchestration.CustomStatusFor(before);
        var to = TaskPipelineOrchestration.CustomStatusFor(after);
        var stepFrom = before?.Status.ToString();
        var stepTo = after.Status.ToString();
        if (from == to && stepFrom == stepTo)
        {
            return;
        }

        // The step is named only where an overlay (BLOCKED, AUTO_DISABLED) hides it; otherwise it is the status.
        var overlay = (from is not null && from != stepFrom) || to != stepTo;
        events.Add(TaskEventTypes.StatusChanged, ("from", from), ("to", to), ("reason", Reason(before, after, cause, to)),
            ("step_from", overlay ? stepFrom : null), ("step_to", overlay ? stepTo : null));
    }

    private static string Reason(TaskState? before, TaskState after, TaskEvent cause, string to)
    {
        var tracker = after.Project.TrackerName;
        var forge = after.Project.ForgeName;
        if (after.Status == TaskStatus.FAILED && after.FailureReason is { } failure && before?.Status != TaskStatus.FAILED)
        {
            return failure;
        }

        if (to == nameof(TaskStatus.AUTO_DISABLED))
        {
            return $"AutoTask turned off in {tracker}";
        }

        if (before is not null && before.Disabled && !after.Disabled && after.Status != TaskStatus.CANCELLED)
        {
            return $"AutoTask turned on again in {tracker}";
        }

        if (after.Status == TaskStatus.CANCELLED)
        {
            return cause switch
            {
                WorkItemDeleted => $"deleted in {tracker}",
                CancelRequested c => string.IsNullOrWhiteSpace(c.Reason) ? $"cancelled by {c.Actor} in Orchestrator" : $"cancelled by {c.Actor} in Orchestrator: {c.Reason.Trim()}",
                _ => $"cancelled in {tracker}",
            };
        }

        if (IsBlocked(after) && (before is null || !IsBlocked(before)))
        {
            return $"blocked in {tracker}";
        }

        if (before is not null && IsBlocked(before) && !IsBlocked(after) && before.Status == after.Status)
        {
            return $"no longer blocked in {tracker}";
        }

        return cause switch
        {
            TaskReceived => $"received from {tracker}",
            TaskSpecBuilt when after.Status == TaskStatus.NEEDS_REPO => "no repository chosen",
            TaskSpecBuilt => $"TaskSpec v{after.TaskSpecVersion} built",
            IssueEnsured i => $"{forge} issue #{i.Number} {(i.Created ? "created" : "found")}",
            PullRequestLinked p => $"pull request #{p.Number} linked",
            PullRequestClosed p => $"pull request #{p.Number} closed without merge",
            PullRequestMerged p when after.Status == TaskStatus.DEPLOYED => $"pull request #{p.Number} merged; CI not required",
            PullRequestMerged p => $"pull request #{p.Number} merged; waiting for CI",
            CiChecked or CiCompleted when after.Status == TaskStatus.DEPLOYED => "CI passed",
            CiCompleted => "CI reported",
            RetryRequested => $"retry requested; resuming at {before?.FailedStep}",
            RepoAssigned a => $"repository set to {a.Repo}",
            WorkItemUpdated when after.Status == TaskStatus.RECEIVED && before?.Status == TaskStatus.FAILED => "work item updated; rebuilding the TaskSpec",
            WorkItemUpdated when before?.Status == TaskStatus.NEEDS_REPO => $"repository set in {tracker}",
            WorkItemUpdated => $"{tracker} work item updated",
            Reconciled => "reconciliation found what webhooks missed",
            RolePipelineFinished r => $"role pipeline {r.Status}",
            _ => cause.GetType().Name,
        };
    }

    /// <summary>The events a step applied: a reconciliation applies its findings one by one.</summary>
    private static IEnumerable<TaskEvent> Causes(TaskEvent cause) => cause is Reconciled r ? r.Findings : [cause];

    private static bool ShaMatches(string? mergeSha, string sha) => string.Equals(mergeSha, sha, StringComparison.OrdinalIgnoreCase);

    private static bool IsPending(string conclusion) => !CiConclusions.IsFailure(conclusion) && !CiConclusions.IsSuccess(conclusion);

    /// <summary>Collects a step's events with the origin they all share.</summary>
    private sealed class EventList(string taskId, string? projectSlug, EventOrigin origin, DateTimeOffset now)
    {
        public List<TaskEventRecord> Items { get; } = [];

        public void Add(string type, params (string Key, object? Value)[] fields)
        {
            var summary = new Dictionary<string, object>(StringComparer.Ordinal);
            foreach (var (key, value) in fields)
            {
                if (value is not null)
                {
                    summary[key] = value is string text ? Clip(text) : value;
                }
            }

            Items.Add(new TaskEventRecord(taskId, projectSlug, origin.Source, type, origin.Actor, summary, origin.DeliveryId, now));
        }
    }
}

using System.Globalization;
using System.Net;
using Orchestrator.Orchestrations.Abstractions;

namespace Orchestrator.Orchestrations.Tasks;

/// <summary>Timing of the CI wait (the Monitor pattern: bounded polls, then a typed timeout).</summary>
/// <param name="CiPollInterval">Delay between CI polls (<c>ORCH_CI_POLL_INTERVAL</c>, default 30 s).</param>
/// <param name="CiTimeout">Longest wait for CI after the merge (<c>ORCH_CI_TIMEOUT</c>, default 2 h).</param>
public sealed record TaskPipelineSettings(TimeSpan CiPollInterval, TimeSpan CiTimeout);

/// <summary>
/// The task pipeline: tracker item → TaskSpec → forge issue → PR → merge → CI → DEPLOYED, as a
/// pure decider. See <c>orchestrations/README.md</c> for the state diagram.
/// </summary>
public sealed class TaskPipelineOrchestration(TaskPipelineSettings settings) : IOrchestration<TaskState, TaskEvent>, IParentOrchestration<TaskEvent>
{
    /// <summary>Name stored on instances.</summary>
    public const string OrchestrationName = "TaskPipeline";

    /// <summary>Name of the CI poll timer.</summary>
    public const string CiPollTimer = "ci-poll";

    /// <inheritdoc />
    public string Name => OrchestrationName;

    /// <summary>Instance id for a Plane work item: <c>plane-&lt;uuid&gt;</c> (work item UUIDs are globally unique).</summary>
    public static string InstanceIdFor(string workItemId) => InstanceIdFor(TaskProject.PlaneTracker, workItemId);

    /// <summary>Instance id for a tracker item: <c>{tracker}-{workItemId}</c>, e.g. <c>asana-1209876543210</c>.</summary>
    /// <param name="tracker">Tracker kind (<c>plane</c>, <c>asana</c>).</param>
    /// <param name="workItemId">The tracker's item id.</param>
    public static string InstanceIdFor(string tracker, string workItemId) => $"{tracker}-{workItemId}";

    /// <summary>
    /// The status users see: <c>AUTO_DISABLED</c> while syncing is off, <c>BLOCKED</c> while the tracker
    /// marks an unfinished task blocked, otherwise <see cref="TaskState.Status"/>.
    /// </summary>
    /// <param name="state">The task.</param>
    public static string CustomStatusFor(TaskState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Disabled)
        {
            return nameof(TaskStatus.AUTO_DISABLED);
        }

        return state.Blocked && state.Status is not (TaskStatus.DEPLOYED or TaskStatus.CANCELLED or TaskStatus.FAILED)
            ? nameof(TaskStatus.BLOCKED)
            : state.Status.ToString();
    }

    /// <inheritdoc />
    public TaskEvent ActivityFailed(string activity, string key, string error, int attempts) =>
        new TaskActivityFailed(activity, key, error, attempts);

    /// <inheritdoc />
    public TaskEvent TimerFired(string name, string key) => new TaskTimerFired(name, key);

    /// <inheritdoc />
    public TaskEvent ChildFinished(string childId, string childOrchestration, string customStatus, RuntimeStatus runtimeStatus, string? summary) =>
        new RolePipelineFinished(childId, customStatus, runtimeStatus == RuntimeStatus.Failed, summary);

    /// <summary>Instance id of a task's role pipeline.</summary>
    public static string RolePipelineIdFor(string taskInstanceId) => $"roles-{taskInstanceId}";

    /// <inheritdoc />
    public Decision<TaskState> Decide(TaskState? state, TaskEvent @event, DateTimeOffset now)
    {
        if (state is null)
        {
            if (@event is not TaskReceived received)
            {
                throw new InvalidOperationException($"A task pipeline starts with {nameof(TaskReceived)}, not {@event.GetType().Name}.");
            }

            var started = new TaskState
            {
                InstanceId = InstanceIdFor(received.Project.Tracker, received.Item.WorkItemId),
                Project = received.Project,
                WorkItemId = received.Item.WorkItemId,
                Item = received.Item,
                Status = TaskStatus.RECEIVED,
                Title = received.Item.Name,
                TaskKey = received.Item.SequenceId is { } seq ? $"{received.Project.WorkItemPrefix}-{seq}" : null,
                ReceivedAt = now,
            };
            return new Step(started)
                .Do(PrepareSpec(started))
                .Say($"Received from Plane ({Describe(received.Item)})")
                .Build();
        }

        return Apply(new Step(state), @event, now).Build();
    }

    private Step Apply(Step step, TaskEvent @event, DateTimeOffset now)
    {
        var s = step.State;
        switch (@event)
        {
            case TaskReceived r:
                return Apply(step, new WorkItemUpdated(r.Item), now);

            case WorkItemUpdated u:
            {
                step.State = s with { Item = Merge(s.Item, u.Item) };
                if (s.Status == TaskStatus.FAILED && s.FailedStep == FailedStep.TaskSpec)
                {
                    // The user fixed the work item (e.g. filled in the description): try again.
                    return Restart(step, FailedStep.TaskSpec, now, "Work item updated; rebuilding the TaskSpec");
                }

                return step;
            }

            case WorkItemDeleted:
                if (s.Status is TaskStatus.DEPLOYED or TaskStatus.CANCELLED)
                {
                    return step;
                }

                step.State = s with { Status = TaskStatus.CANCELLED };
                return step.Say("Work item deleted in Plane; task cancelled");

            case TaskSpecBuilt b when s.Status == TaskStatus.RECEIVED:
            {
                var next = s with
                {
                    Status = TaskStatus.TASKSPEC_CREATED,
                    Item = b.Item,
                    TaskKey = b.TaskKey,
                    Title = b.Title,
                    TaskSpec = b.Markdown,
                    TaskSpecVersion = s.TaskSpecVersion + 1,
                };
                step.State = next;
                return step
                    .Do(new ScheduleActivity(
                        TaskActivities.EnsureForgeIssue,
                        new EnsureForgeIssueInput(s.Project.Repo, $"[{b.TaskKey}] {b.Title}", b.Markdown, s.Project.RunsAgents ? null : s.Project.AgentCommand),
                        $"issue:{s.Round}",
                        RetryPolicy.ExternalApi))
                    .Say($"TaskSpec v{next.TaskSpecVersion} created for {b.TaskKey}");
            }

            case TaskSpecRejected r when s.Status == TaskStatus.RECEIVED:
            {
                var missing = string.Join(" and ", r.Missing);
                step.State = s with { Item = r.Item, TaskKey = r.TaskKey };
                return Fail(step, FailedStep.TaskSpec, $"The work item has no {missing}", now)
                    .Do(PlaneComment(step.State, $"spec-missing:{s.Round}",
                        $"<p>Orchestrator cannot start {Html(r.TaskKey)}: the work item has no {Html(missing)}. " +
                        "Fill it in and the task will start again.</p>"));
            }

            case IssueEnsured i when s.Status == TaskStatus.TASKSPEC_CREATED:
            {
                step.State = s with { Status = TaskStatus.ISSUE_CREATED, IssueNumber = i.Number, IssueUrl = i.Url };
                if (s.Project.RunsAgents)
                {
                    step.Do(StartRoles(step.State));
                }

                return step
                    .Key(CorrelationKeys.Issue(s.Project.Repo, i.Number))
                    .Do(PlaneComment(step.State, "issue-link",
                        $"<p>GitHub issue created: <a href=\"{Html(i.Url)}\">{Html(s.Project.Repo)}#{i.Number}</a></p>"))
                    .Say(i.Created ? $"GitHub issue #{i.Number} created" : $"GitHub issue #{i.Number} found (created before a restart)");
            }

            case CommentEnsured c:
                return step.Say(c.Created ? $"Comment posted on {c.Target} ({c.Key})" : $"Comment already on {c.Target} ({c.Key})");

            case PullRequestLinked p when s.Status is TaskStatus.ISSUE_CREATED or TaskStatus.PR_CREATED:
            {
                if (s.Status == TaskStatus.PR_CREATED && s.PrNumber == p.Number && SameRepo(s.PrRepo, p.Repo))
                {
                    return step;
                }

                step.State = s with { Status = TaskStatus.PR_CREATED, PrNumber = p.Number, PrUrl = p.Url, PrRepo = p.Repo };
                return step
                    .Key(CorrelationKeys.PullRequest(p.Repo, p.Number))
                    .Do(PlaneComment(step.State, $"pr-link:{p.Repo}#{p.Number}",
                        $"<p>Pull request opened: <a href=\"{Html(p.Url)}\">{Html(p.Repo)}#{p.Number}</a></p>"))
                    .Say($"Pull request #{p.Number} links the issue");
            }

            case PullRequestClosed c when s.Status == TaskStatus.PR_CREATED && s.PrNumber == c.Number && SameRepo(s.PrRepo, c.Repo):
                step.State = s with { Status = TaskStatus.ISSUE_CREATED, PrNumber = null, PrUrl = null, PrRepo = null };
                return step.Say($"Pull request #{c.Number} closed without merge; waiting for another PR");

            case PullRequestMerged m when s.Status is TaskStatus.ISSUE_CREATED or TaskStatus.PR_CREATED:
            {
                var firstSight = s.PrNumber != m.Number || !SameRepo(s.PrRepo, m.Repo);
                step.State = s with { PrNumber = m.Number, PrUrl = m.Url, PrRepo = m.Repo, MergeSha = m.MergeSha };
                step.Key(CorrelationKeys.PullRequest(m.Repo, m.Number));
                if (firstSight)
                {
                    step.Do(PlaneComment(step.State, $"pr-link:{m.Repo}#{m.Number}",
                        $"<p>Pull request merged: <a href=\"{Html(m.Url)}\">{Html(m.Repo)}#{m.Number}</a></p>"));
                }

                if (!s.Project.RequireCi)
                {
                    step.Say($"Pull request #{m.Number} merged as {Short(m.MergeSha)}; CI not required");
                    return Deploy(step, now);
                }

                step.State = step.State with
                {
                    Status = TaskStatus.WAITING_CI,
                    CiDeadline = now + settings.CiTimeout,
                    CiPolls = 0,
                };
                return step
                    .Key(CorrelationKeys.Commit(m.Repo, m.MergeSha))
                    .Do(NextPoll(step.State, now))
                    .Say($"Pull request #{m.Number} merged as {Short(m.MergeSha)}; waiting for CI");
            }

            case CiCompleted ci when s.Status == TaskStatus.WAITING_CI && ShaMatches(s.MergeSha, ci.Sha):
            {
                if (CiConclusions.IsFailure(ci.Conclusion))
                {
                    step.State = s with { CiUrl = ci.Url ?? s.CiUrl };
                    return FailCi(step, $"CI failed on {Short(ci.Sha)} ({ci.Source}: {ci.Conclusion})", now);
                }

                // One green workflow is not the whole picture: confirm across every suite and run.
                step.State = s with { CiPolls = s.CiPolls + 1 };
                return step
                    .Do(CheckCi(s, $"ci-check:{s.Round}:{s.CiPolls}"))
                    .Say($"CI reported {ci.Conclusion} ({ci.Source}); confirming all checks");
            }

            case CiChecked r when s.Status == TaskStatus.WAITING_CI && ShaMatches(s.MergeSha, r.Sha):
                switch (r.Outcome)
                {
                    case CiOutcome.Success:
                        step.State = s with { CiUrl = r.Url ?? s.CiUrl };
                        step.Say($"CI passed on {Short(r.Sha)} ({r.Detail})");
                        return Deploy(step, now);
                    case CiOutcome.Failure:
                        step.State = s with { CiUrl = r.Url ?? s.CiUrl };
                        return FailCi(step, $"CI failed on {Short(r.Sha)} ({r.Detail})", now);
                    default:
                        return step;
                }

            case TaskTimerFired t when t.Name == CiPollTimer && s.Status == TaskStatus.WAITING_CI:
            {
                if (s.CiDeadline is { } deadline && now >= deadline)
                {
                    return FailCi(step, $"CI did not finish within {Format(settings.CiTimeout)} of the merge", now);
                }

                step.State = s with { CiPolls = s.CiPolls + 1 };
                return step
                    .Do(CheckCi(s, $"ci-check:{s.Round}:{s.CiPolls}"))
                    .Do(NextPoll(step.State, now));
            }

            case TrackerCompleted t:
                return step.Say($"Plane work item moved to '{t.StateName}'");

            case RolePipelineStartedForTask r:
                step.State = s with { RolePipelineId = r.ChildId };
                return step.Say($"Role pipeline started ({r.Source})");

            case RolePipelineFinished r when r.Failed && s.Status is TaskStatus.ISSUE_CREATED or TaskStatus.PR_CREATED:
                return Fail(step, FailedStep.Agents, $"Role pipeline {r.Status}: {r.Summary}", now);

            case RolePipelineFinished r:
                return step.Say($"Role pipeline finished: {r.Status}");

            case ReconcileRequested when IsLiveOnForge(s.Status) && !s.ReconcileInFlight && s.IssueNumber is { } issue:
                step.State = s with { ReconcileInFlight = true, Reconciliations = s.Reconciliations + 1 };
                return step.Do(new ScheduleActivity(
                    TaskActivities.ReconcileTask,
                    new ReconcileTaskInput(s.Project.Repo, issue, s.Status, s.PrRepo, s.PrNumber, s.MergeSha),
                    $"reconcile:{s.Reconciliations}",
                    RetryPolicy.None));

            case Reconciled r:
            {
                step.State = s with { ReconcileInFlight = false };
                var before = step.State.Status;
                foreach (var finding in r.Findings)
                {
                    step = Apply(step, finding, now);
                }

                if (step.State.Status != before)
                {
                    step.Say($"Reconciliation found what webhooks missed: {before} → {step.State.Status}");
                }

                return step;
            }

            case RetryRequested when s.Status == TaskStatus.FAILED && s.FailedStep is { } failed:
                return Restart(step, failed, now, $"Retry requested; resuming at {failed}");

            case TaskActivityFailed f:
                return OnActivityFailed(step, f, now);

            default:
                // Late, duplicate or irrelevant events change nothing (e.g. a PR webhook after DEPLOYED).
                return step;
        }
    }

    private Step OnActivityFailed(Step step, TaskActivityFailed f, DateTimeOffset now)
    {
        var s = step.State;
        var reason = $"{f.Activity} failed after {f.Attempts} attempt(s): {f.Error}";
        switch (f.Activity)
        {
            case TaskActivities.PrepareTaskSpec when s.Status == TaskStatus.RECEIVED:
                return Fail(step, FailedStep.TaskSpec, reason, now);
            case TaskActivities.StartRolePipeline when s.Status is TaskStatus.ISSUE_CREATED or TaskStatus.PR_CREATED:
                return Fail(step, FailedStep.Agents, reason, now);
            case TaskActivities.EnsureForgeIssue when s.Status == TaskStatus.TASKSPEC_CREATED:
                return Fail(step, FailedStep.Issue, reason, now)
                    .Do(PlaneComment(step.State, $"issue-failed:{s.Round}",
                        $"<p>Orchestrator could not create the GitHub issue in {Html(s.Project.Repo)}: {Html(f.Error)}</p>"));
            case TaskActivities.ReconcileTask:
                step.State = s with { ReconcileInFlight = false };
                return step;
            case TaskActivities.CheckCi:
                // The poll timer keeps going; the CI deadline bounds the wait.
                return step.Say($"CI check failed ({f.Error}); will poll again");
            default:
                step.State = s with { Warnings = [.. s.Warnings, reason] };
                return step.Say($"Warning: {reason}");
        }
    }

    private Step Restart(Step step, FailedStep from, DateTimeOffset now, string summary)
    {
        var s = step.State;
        var round = s.Round + 1;
        switch (from)
        {
            case FailedStep.TaskSpec:
                step.State = s with { Round = round, Status = TaskStatus.RECEIVED, FailedStep = null, FailureReason = null };
                return step.Do(PrepareSpec(step.State)).Say(summary);
            case FailedStep.Issue:
                step.State = s with { Round = round, Status = TaskStatus.TASKSPEC_CREATED, FailedStep = null, FailureReason = null };
                return step
                    .Do(new ScheduleActivity(
                        TaskActivities.EnsureForgeIssue,
                        new EnsureForgeIssueInput(s.Project.Repo, $"[{s.TaskKey}] {s.Title}", s.TaskSpec ?? "", s.Project.RunsAgents ? null : s.Project.AgentCommand),
                        $"issue:{round}",
                        RetryPolicy.ExternalApi))
                    .Say(summary);
            case FailedStep.Agents:
                step.State = s with
                {
                    Round = round,
                    Status = s.PrNumber is null ? TaskStatus.ISSUE_CREATED : TaskStatus.PR_CREATED,
                    FailedStep = null,
                    FailureReason = null,
                };
                return step
                    .Do(s.RolePipelineId is { } child
                        ? new ScheduleActivity(TaskActivities.RetryRolePipeline, new RetryRolePipelineInput(child, round), $"roles-retry:{round}", RetryPolicy.ExternalApi)
                        : StartRoles(step.State))
                    .Say(summary);
            default:
                step.State = s with
                {
                    Round = round,
                    Status = TaskStatus.WAITING_CI,
                    FailedStep = null,
                    FailureReason = null,
                    CiDeadline = now + settings.CiTimeout,
                    CiPolls = 1,
                };
                return step
                    .Do(CheckCi(step.State, $"ci-check:{round}:0"))
                    .Do(NextPoll(step.State, now))
                    .Say(summary);
        }
    }

    private static Step Fail(Step step, FailedStep failedStep, string reason, DateTimeOffset now)
    {
        _ = now;
        step.State = step.State with { Status = TaskStatus.FAILED, FailedStep = failedStep, FailureReason = reason };
        return step.Say($"Failed: {reason}");
    }

    private static Step FailCi(Step step, string reason, DateTimeOffset now)
    {
        Fail(step, FailedStep.Ci, reason, now);
        var s = step.State;
        var link = s.CiUrl is { } url ? $" Details: {url}" : "";
        step.Do(new ScheduleActivity(
            TaskActivities.EnsureForgeComment,
            new EnsureForgeCommentInput(s.Project.Repo, s.IssueNumber ?? 0, $"ci-failed:{s.Round}",
                $"**Orchestrator:** {reason} after PR #{s.PrNumber} was merged.{link}"),
            $"gh-comment:ci-failed:{s.Round}",
            RetryPolicy.ExternalApi));
        step.Do(PlaneComment(s, $"ci-failed:{s.Round}",
            $"<p>{Html(reason)} after <a href=\"{Html(s.PrUrl ?? "")}\">PR #{s.PrNumber}</a> was merged." +
            (s.CiUrl is { } u ? $" <a href=\"{Html(u)}\">CI run</a>" : "") + "</p>"));
        return step;
    }

    private static Step Deploy(Step step, DateTimeOffset now)
    {
        var s = step.State with { Status = TaskStatus.DEPLOYED, DeployedAt = now };
        step.State = s;
        var lead = Format(now - s.ReceivedAt);
        var links = new List<string>();
        if (s.IssueUrl is { } issue)
        {
            links.Add($"issue <a href=\"{Html(issue)}\">#{s.IssueNumber}</a>");
        }

        if (s.PrUrl is { } pr)
        {
            links.Add($"PR <a href=\"{Html(pr)}\">#{s.PrNumber}</a>");
        }

        if (s.MergeSha is { } sha)
        {
            links.Add($"merge commit <code>{Short(sha)}</code>");
        }

        if (s.CiUrl is { } ci)
        {
            links.Add($"<a href=\"{Html(ci)}\">CI run</a>");
        }

        return step
            .Do(new ScheduleActivity(
                TaskActivities.CompleteTrackerItem,
                new CompleteTrackerItemInput(s.Project.TrackerProjectId, s.WorkItemId),
                $"complete:{s.Round}",
                RetryPolicy.ExternalApi))
            .Do(PlaneComment(s, $"deployed:{s.Round}",
                $"<p>Deployed: {string.Join(", ", links)}. Lead time {lead}.</p>"))
            .Say($"DEPLOYED (lead time {lead})");
    }

    private static ScheduleActivity StartRoles(TaskState s) =>
        new(TaskActivities.StartRolePipeline,
            new StartRolePipelineInput(s.Project, s.TaskKey ?? s.WorkItemId, s.Title ?? "", s.TaskSpec ?? "", s.WorkItemId, s.IssueNumber ?? 0),
            $"roles:{s.Round}",
            RetryPolicy.ExternalApi);

    private static ScheduleActivity PrepareSpec(TaskState s) =>
        new(TaskActivities.PrepareTaskSpec, new PrepareTaskSpecInput(s.Project, s.Item), $"spec:{s.Round}", RetryPolicy.ExternalApi);

    private static ScheduleActivity CheckCi(TaskState s, string key) =>
        new(TaskActivities.CheckCi, new CheckCiInput(s.PrRepo ?? s.Project.Repo, s.MergeSha!), key, RetryPolicy.ExternalApi with { MaxAttempts = 3 });

    private StartTimer NextPoll(TaskState s, DateTimeOffset now)
    {
        var due = now + settings.CiPollInterval;
        if (s.CiDeadline is { } deadline && due > deadline)
        {
            due = deadline;
        }

        return new StartTimer(CiPollTimer, due, $"ci-poll:{s.Round}:{s.CiPolls}");
    }

    private static ScheduleActivity PlaneComment(TaskState s, string key, string html) =>
        new(TaskActivities.EnsureTrackerComment, new EnsureTrackerCommentInput(s.Project.TrackerProjectId, s.WorkItemId, key, html), $"plane-comment:{key}", RetryPolicy.ExternalApi);

    private static WorkItemSnapshot Merge(WorkItemSnapshot old, WorkItemSnapshot @new) => new(
        old.WorkItemId,
        @new.SequenceId ?? old.SequenceId,
        @new.Name ?? old.Name,
        @new.DescriptionHtml ?? old.DescriptionHtml,
        @new.Labels ?? old.Labels,
        @new.StateGroup ?? old.StateGroup);

    private static bool IsLiveOnForge(TaskStatus status) =>
        status is TaskStatus.ISSUE_CREATED or TaskStatus.PR_CREATED or TaskStatus.WAITING_CI;

    private static bool SameRepo(string? a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    private static bool ShaMatches(string? mergeSha, string sha) => string.Equals(mergeSha, sha, StringComparison.OrdinalIgnoreCase);

    private static string Short(string sha) => sha.Length > 7 ? sha[..7] : sha;

    private static string Html(string text) => WebUtility.HtmlEncode(text);

    private static string Describe(WorkItemSnapshot item) =>
        item.SequenceId is { } seq ? $"item {seq}: {item.Name}" : $"item {item.WorkItemId}";

    /// <summary>Formats a duration as <c>12s</c>, <c>4m 12s</c> or <c>1h 03m</c>.</summary>
    public static string Format(TimeSpan d)
    {
        if (d < TimeSpan.Zero)
        {
            d = TimeSpan.Zero;
        }

        if (d.TotalHours >= 1)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalHours}h {d.Minutes:00}m");
        }

        return d.TotalMinutes >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalMinutes}m {d.Seconds}s")
            : string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalSeconds}s");
    }

    /// <summary>Accumulates one decision.</summary>
    private sealed class Step(TaskState state)
    {
        private readonly List<OrchestrationCommand> _commands = [];
        private readonly List<string> _keys = [];
        private readonly List<string> _summaries = [];

        public TaskState State { get; set; } = state;

        public Step Do(OrchestrationCommand command)
        {
            _commands.Add(command);
            return this;
        }

        public Step Key(string key)
        {
            _keys.Add(key);
            return this;
        }

        public Step Say(string summary)
        {
            _summaries.Add(summary);
            return this;
        }

        public Decision<TaskState> Build() => new(
            State,
            _commands,
            CustomStatusFor(State),
            State.Status switch
            {
                TaskStatus.DEPLOYED or TaskStatus.CANCELLED => RuntimeStatus.Completed,
                TaskStatus.FAILED => RuntimeStatus.Failed,
                _ => RuntimeStatus.Running,
            },
            _summaries.Count == 0 ? null : string.Join("; ", _summaries),
            _keys);
    }
}

/// <summary>GitHub check conclusions grouped by meaning (https://docs.github.com/en/rest/checks/suites).</summary>
public static class CiConclusions
{
    /// <summary>Conclusions that make CI red.</summary>
    public static bool IsFailure(string? conclusion) =>
        conclusion is "failure" or "timed_out" or "cancelled" or "action_required" or "startup_failure";

    /// <summary>Conclusions that count as passed.</summary>
    public static bool IsSuccess(string? conclusion) =>
        conclusion is "success" or "neutral" or "skipped";
}

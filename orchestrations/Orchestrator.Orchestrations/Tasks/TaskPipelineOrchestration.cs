using System.Globalization;
using System.Net;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Pipelines;

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

    /// <summary>Forge label marking an issue whose task has syncing turned off.</summary>
    public const string AutoDisabledLabel = "auto-disabled";

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
                Repo = received.Project.ResolveRepo(received.Item),
                Blocked = IsLifecycle(received.Item, WorkItemLifecycle.Blocked),
            };
            var start = new Step(started)
                .Do(PrepareSpec(started))
                .Say($"Received from {received.Project.TrackerName} ({Describe(received.Item)})");
            if (started.Blocked)
            {
                start.Say($"Marked blocked in {received.Project.TrackerName}");
            }

            return start.Build();
        }

        return Apply(new Step(state), @event, now).Build();
    }

    /// <summary>Whether an event is handled while syncing is disabled (all others are ignored).</summary>
    private static bool HandledWhileDisabled(TaskEvent @event) => @event is TaskReceived or WorkItemUpdated or WorkItemDeleted
        or CommentEnsured or ForgeLabelSet or TaskActivityFailed

        // Bookkeeping of the child instance only; neither schedules anything.
        or RolePipelineStartedForTask or RolePipelineFinished

        // A person's actions apply whatever the tracker says (issue #9).
        or CancelRequested or NoteAdded;

    private Step Apply(Step step, TaskEvent @event, DateTimeOffset now)
    {
        var s = step.State;
        if (s.Disabled && !HandledWhileDisabled(@event))
        {
            // Syncing is off: PR, CI, timers, reconciliation and late activity results change nothing
            // (the activities are idempotent and resuming reconciles). A reconciliation result still
            // clears its flag so that the next one can run.
            if (@event is Reconciled)
            {
                step.State = s with { ReconcileInFlight = false };
            }

            return step;
        }

        switch (@event)
        {
            case TaskReceived r:
                return OnItemUpdated(step, r.Item, now);

            case WorkItemUpdated u:
                return OnItemUpdated(step, u.Item, now);

            case WorkItemDeleted:
                if (s.Status is TaskStatus.DEPLOYED or TaskStatus.CANCELLED)
                {
                    return step;
                }

                return Cancel(step, "deleted");

            case RepoAssigned a:
                return OnRepoAssigned(step, a, now);

            case TaskSpecBuilt b when s.Status == TaskStatus.RECEIVED:
            {
                var item = Merge(s.Item, b.Item);
                var repo = s.Repo ?? s.Project.ResolveRepo(item);
                var next = s with
                {
                    Status = repo is null ? TaskStatus.NEEDS_REPO : TaskStatus.TASKSPEC_CREATED,
                    Item = item,
                    Repo = repo,
                    TaskKey = b.TaskKey,
                    Title = b.Title,
                    TaskSpec = b.Markdown,
                    TaskSpecVersion = s.TaskSpecVersion + 1,
                };
                step.State = next;
                step.Say($"TaskSpec v{next.TaskSpecVersion} created for {b.TaskKey}");
                if (repo is null)
                {
                    var choices = string.Join(", ", s.Project.AllowedRepos.Select(r => $"<code>{Html(r)}</code>"));
                    return step
                        .Do(TrackerComment(next, $"needs-repo:{s.Round}",
                            $"<p>Orchestrator needs a repository for {Html(b.TaskKey)} before it can create the {Html(s.Project.ForgeName)} issue. " +
                            $"Set the repository field in {Html(s.Project.TrackerName)} to one of {choices}, " +
                            $"or use \u201cset repo and create issue\u201d (<code>POST /api/tasks/{Html(s.InstanceId)}/repo</code>).</p>"))
                        .Say("No repository chosen; waiting for one (NEEDS_REPO)");
                }

                return step.Do(EnsureIssue(next, $"issue:{s.Round}"));
            }

            case TaskSpecRejected r when s.Status == TaskStatus.RECEIVED:
            {
                var missing = string.Join(" and ", r.Missing);
                step.State = s with { Item = Merge(s.Item, r.Item), TaskKey = r.TaskKey };
                return Fail(step, FailedStep.TaskSpec, $"The work item has no {missing}", now)
                    .Do(TrackerComment(step.State, $"spec-missing:{s.Round}",
                        $"<p>Orchestrator cannot start {Html(r.TaskKey)}: the work item has no {Html(missing)}. " +
                        "Fill it in and the task will start again.</p>"));
            }

            case IssueEnsured i when s.Status == TaskStatus.TASKSPEC_CREATED:
            {
                var repo = RepoOf(s);
                var forge = s.Project.ForgeName;
                step.State = s with { Status = TaskStatus.ISSUE_CREATED, IssueNumber = i.Number, IssueUrl = i.Url, Repo = repo };
                if (s.Project.RunsAgents)
                {
                    step.Do(StartRoles(step.State));
                }

                return step
                    .Key(CorrelationKeys.Issue(repo, i.Number))
                    .Do(TrackerComment(step.State, "issue-link",
                        $"<p>{Html(forge)} issue created: <a href=\"{Html(i.Url)}\">{Html(repo)}#{i.Number}</a></p>"))
                    .Say(i.Created ? $"{forge} issue #{i.Number} created" : $"{forge} issue #{i.Number} found (created before a restart)");
            }

            case CommentEnsured c:
                return step.Say(c.ItemGone ? $"Comment not posted on {c.Target} ({c.Key}): the {s.Project.TrackerName} item no longer exists"
                    : c.Created ? $"Comment posted on {c.Target} ({c.Key})" : $"Comment already on {c.Target} ({c.Key})");

            case ForgeLabelSet l:
                return step.Say(l.Present
                    ? $"Label '{l.Label}' added to the {s.Project.ForgeName} issue"
                    : $"Label '{l.Label}' removed from the {s.Project.ForgeName} issue");

            case ForgeIssueClosed c:
                return step.Say($"{s.Project.ForgeName} issue #{c.Number} closed as not planned");

            case TrackerReopened r:
                return step.Say($"{s.Project.TrackerName} work item reopened (moved to '{r.StateName}')");

            case PullRequestLinked p when s.Status is TaskStatus.ISSUE_CREATED or TaskStatus.PR_CREATED:
            {
                if (s.Status == TaskStatus.PR_CREATED && s.PrNumber == p.Number && SameRepo(s.PrRepo, p.Repo))
                {
                    return step;
                }

                step.State = s with { Status = TaskStatus.PR_CREATED, PrNumber = p.Number, PrUrl = p.Url, PrRepo = p.Repo };
                return step
                    .Key(CorrelationKeys.PullRequest(p.Repo, p.Number))
                    .Do(TrackerComment(step.State, $"pr-link:{p.Repo}#{p.Number}",
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
                    step.Do(TrackerComment(step.State, $"pr-link:{m.Repo}#{m.Number}",
                        $"<p>Pull request merged: <a href=\"{Html(m.Url)}\">{Html(m.Repo)}#{m.Number}</a></p>"));
                }

                // The pipeline never merges: a merge while its agents still work means a person took over. The
                // remaining stages must not run (nor push, nor open another PR); the merge → CI path below decides.
                StopRolesIfRunning(step);

                if (!s.Project.RequireCi)
                {
                    // CI on the merge commit is not awaited, but a red run after the deploy still fails the task.
                    step.Key(CorrelationKeys.Commit(m.Repo, m.MergeSha));
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

            case CiCompleted ci when s.Status == TaskStatus.DEPLOYED && ShaMatches(s.MergeSha, ci.Sha) && CiConclusions.IsFailure(ci.Conclusion):
                step.State = s with { CiUrl = ci.Url ?? s.CiUrl };
                return FailAfterDeploy(step, $"CI failed on {Short(ci.Sha)} after the deploy ({ci.Source}: {ci.Conclusion})", now);

            case CiChecked r when s.Status == TaskStatus.DEPLOYED && ShaMatches(s.MergeSha, r.Sha) && r.Outcome == CiOutcome.Failure:
                step.State = s with { CiUrl = r.Url ?? s.CiUrl };
                return FailAfterDeploy(step, $"CI failed on {Short(r.Sha)} after the deploy ({r.Detail})", now);

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

            case TaskTimerFired t when t.Name == CiPollTimer && s.Status == TaskStatus.WAITING_CI && !IsStalePoll(t.Key, s.Round):
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
                step.State = s with { CompletedByUs = t.CompletedByUs };
                return step.Say(t.CompletedByUs
                    ? $"{s.Project.TrackerName} work item moved to '{t.StateName}'"
                    : $"{s.Project.TrackerName} work item was already completed by a person ('{t.StateName}')");

            case RolePipelineStartedForTask r:
                step.State = s with { RolePipelineId = r.ChildId, RolePipelineDone = false };
                step.Say($"Role pipeline started ({r.Source})");

                // A PR (opened by a person) was merged before the child even started: it must not run either.
                return StopRolesIfRunning(step);

            case RolePipelineFinished r when r.Failed && s.Status is TaskStatus.ISSUE_CREATED or TaskStatus.PR_CREATED:
                step.State = s with { RolePipelineDone = true };
                return Fail(step, FailedStep.Agents, $"Role pipeline {r.Status}: {r.Summary}", now);

            case RolePipelineFinished r:
                step.State = s with { RolePipelineDone = true };
                return step.Say(r.Status == RolePipelineOrchestration.TakenOverStatus
                    ? $"Role pipeline stopped: the pull request was merged before it finished ({r.Summary})"
                    : $"Role pipeline finished: {r.Status}");

            case ReconcileRequested when IsLiveOnForge(s.Status) && !s.ReconcileInFlight && s.IssueNumber is not null:
                return Reconcile(step);

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

            case CancelRequested c when s.Status is not (TaskStatus.DEPLOYED or TaskStatus.CANCELLED):
            {
                var why = string.IsNullOrWhiteSpace(c.Reason) ? "" : $" ({c.Reason.Trim()})";
                Cancel(step, $"cancelled by {c.Actor} in Orchestrator{why}", inTracker: false);
                return step.Do(TrackerComment(step.State, $"cancelled:{s.Round}",
                    $"<p>{Html(c.Actor)} cancelled {Html(s.TaskKey ?? "this task")} in Orchestrator{Html(why)}; its {Html(s.Project.ForgeName)} issue is closed as not planned.</p>"));
            }

            case NoteAdded n:
                return step
                    .Do(TrackerComment(s, $"note:{n.NoteId}", $"<p><strong>Note from {Html(n.Actor)}</strong> (via Orchestrator):</p><p>{Html(n.Text).Replace("\n", "<br>", StringComparison.Ordinal)}</p>"))
                    .Say($"Note by {n.Actor}: {(n.Text.Length <= 200 ? n.Text : n.Text[..200] + "…")}");

            case TaskActivityFailed f:
                return OnActivityFailed(step, f, now);

            default:
                // Late, duplicate or irrelevant events change nothing (e.g. a PR webhook after DEPLOYED).
                return step;
        }
    }

    /// <summary>
    /// A tracker delivery for the item: merge it, then apply the sync rules in order — cancelled,
    /// AutoTask off/on, blocked/active, repository — and finally the TaskSpec retry of a FAILED task.
    /// </summary>
    private Step OnItemUpdated(Step step, WorkItemSnapshot item, DateTimeOffset now)
    {
        var s = step.State;
        var tracker = s.Project.TrackerName;
        var previousItemRepo = s.Item.Repo;
        step.State = s with { Item = Merge(s.Item, item) };
        var finished = s.Status is TaskStatus.DEPLOYED or TaskStatus.CANCELLED;

        // The title people see follows the tracker item (a re-sync or a rename); the TaskSpec and the forge issue keep
        // the title they were built with.
        if (!finished && item.Name is { Length: > 0 } name && s.Title is not null && !string.Equals(name, s.Title, StringComparison.Ordinal))
        {
            step.State = step.State with { Title = name };
            step.Say($"Title changed in {tracker}: {name}");
        }

        if (!finished && IsLifecycle(item, WorkItemLifecycle.Cancelled))
        {
            return Cancel(step, "cancelled");
        }

        if (!finished && item.Triggered == false && !s.Disabled)
        {
            Disable(step);
        }
        else if (item.Triggered == true && s.Disabled)
        {
            Enable(step, now);
        }

        if (!finished && IsLifecycle(item, WorkItemLifecycle.Blocked) && !step.State.Blocked)
        {
            step.State = step.State with { Blocked = true };
            step.Say($"Marked blocked in {tracker}");
        }
        else if (IsLifecycle(item, WorkItemLifecycle.Active) && step.State.Blocked)
        {
            step.State = step.State with { Blocked = false };
            step.Say($"No longer blocked in {tracker}");
        }

        if (!finished && step.State.IssueNumber is null)
        {
            UpdateRepo(step, item, previousItemRepo, now);
        }

        if (!step.State.Disabled && step.State.Status == TaskStatus.FAILED && step.State.FailedStep == FailedStep.TaskSpec)
        {
            // The user fixed the work item (e.g. filled in the description): try again.
            return Restart(step, FailedStep.TaskSpec, now, "Work item updated; rebuilding the TaskSpec");
        }

        return step;
    }

    /// <summary>Until the issue exists the repository follows the tracker item; in NEEDS_REPO a repository lets the task go on.</summary>
    private static void UpdateRepo(Step step, WorkItemSnapshot delivered, string? previousItemRepo, DateTimeOffset now)
    {
        var s = step.State;
        if (s.Project.RepoFromTracker && delivered.Repo is { } wanted && !string.IsNullOrWhiteSpace(wanted))
        {
            if (s.Project.FindAllowedRepo(wanted) is { } allowed)
            {
                if (!string.Equals(allowed, s.Repo, StringComparison.Ordinal))
                {
                    step.State = s with { Repo = allowed };
                    step.Say($"Repository set to {allowed} in {s.Project.TrackerName}");
                }
            }
            else if (!string.Equals(wanted, previousItemRepo, StringComparison.OrdinalIgnoreCase))
            {
                step.Say($"Repository '{wanted}' from {s.Project.TrackerName} is not one of the project's repositories ({string.Join(", ", s.Project.AllowedRepos)}); ignored");
            }
        }
        else if (s.Repo is null && s.Project.ResolveRepo(s.Item) is { } resolved)
        {
            step.State = s with { Repo = resolved };
        }

        if (step.State.Status == TaskStatus.NEEDS_REPO && !step.State.Disabled && step.State.Repo is not null)
        {
            ProceedWithRepo(step, now);
        }
    }

    private static Step OnRepoAssigned(Step step, RepoAssigned a, DateTimeOffset now)
    {
        var s = step.State;
        if (s.Status is not (TaskStatus.NEEDS_REPO or TaskStatus.RECEIVED) || s.IssueNumber is not null)
        {
            return step.Say($"Repository {a.Repo} not assigned: the task is {s.Status} and its repository is fixed");
        }

        if (s.Project.FindAllowedRepo(a.Repo) is not { } allowed)
        {
            return step.Say($"Repository {a.Repo} is not one of the project's repositories ({string.Join(", ", s.Project.AllowedRepos)}); ignored");
        }

        step.State = s with { Repo = allowed };
        step.Say($"Repository set to {allowed}");
        return s.Status == TaskStatus.NEEDS_REPO ? ProceedWithRepo(step, now) : step;
    }

    /// <summary>NEEDS_REPO → TASKSPEC_CREATED in a new round: create the issue in the chosen repository.</summary>
    private static Step ProceedWithRepo(Step step, DateTimeOffset now)
    {
        _ = now;
        var round = step.State.Round + 1;
        step.State = step.State with { Round = round, Status = TaskStatus.TASKSPEC_CREATED };
        return step.Do(EnsureIssue(step.State, $"issue:{round}"));
    }

    /// <summary>AutoTask off: stop syncing, mark the forge issue.</summary>
    private static void Disable(Step step)
    {
        var s = step.State;
        var count = s.DisableCount + 1;
        step.State = s with { Disabled = true, DisableCount = count };
        if (s.IssueNumber is { } issue)
        {
            var repo = RepoOf(s);
            step.Do(new ScheduleActivity(
                    TaskActivities.SetForgeLabel,
                    new SetForgeLabelInput(repo, issue, AutoDisabledLabel, Present: true),
                    $"label:{AutoDisabledLabel}:on:{count}",
                    RetryPolicy.ExternalApi))
                .Do(ForgeComment(step.State, $"auto-disabled:{count}",
                    $"**Orchestrator:** AutoTask was turned off in {s.Project.TrackerName}, so syncing with this issue stopped. " +
                    $"Turn AutoTask on again in {s.Project.TrackerName} to resume."));
        }

        step.Say($"AutoTask turned off in {s.Project.TrackerName}; syncing stopped (AUTO_DISABLED)");
    }

    /// <summary>AutoTask on again: unmark the forge issue and resume where the task stood.</summary>
    private void Enable(Step step, DateTimeOffset now)
    {
        var s = step.State with { Disabled = false };
        step.State = s;
        if (s.IssueNumber is { } issue)
        {
            step.Do(new ScheduleActivity(
                TaskActivities.SetForgeLabel,
                new SetForgeLabelInput(RepoOf(s), issue, AutoDisabledLabel, Present: false),
                $"label:{AutoDisabledLabel}:off:{s.DisableCount}",
                RetryPolicy.ExternalApi));
        }

        step.Say($"AutoTask turned on again in {s.Project.TrackerName}; syncing resumed at {s.Status}");
        switch (s.Status)
        {
            case TaskStatus.RECEIVED:
                step.State = s with { Round = s.Round + 1 };
                step.Do(PrepareSpec(step.State));
                break;
            case TaskStatus.TASKSPEC_CREATED:
                step.State = s with { Round = s.Round + 1 };
                step.Do(EnsureIssue(step.State, $"issue:{step.State.Round}"));
                break;
            case TaskStatus.ISSUE_CREATED or TaskStatus.PR_CREATED:
                Reconcile(step);
                break;
            case TaskStatus.WAITING_CI:
                // A new round gives the poll timer a fresh key (timers of the old round are ignored) and
                // the time spent disabled does not count against the CI deadline.
                step.State = s with { Round = s.Round + 1, CiPolls = 0, CiDeadline = now + settings.CiTimeout };
                Reconcile(step);
                step.Do(NextPoll(step.State, now));
                break;
            default:
                // NEEDS_REPO is re-checked by the repository rule of the same update; FAILED waits for a retry.
                break;
        }
    }

    /// <summary>Cancelled or deleted in the tracker: the task ends; an existing forge issue is closed as not planned.</summary>
    /// <summary>Cancels the task; the forge issue (if any) is closed as not planned with a comment saying why.</summary>
    /// <param name="step">The step.</param>
    /// <param name="how">What happened: <c>cancelled</c>/<c>deleted</c> (in the tracker), or a whole phrase when <paramref name="inTracker"/> is <c>false</c>.</param>
    /// <param name="inTracker">Whether it happened to the tracker item (the default) rather than in Orchestrator.</param>
    private static Step Cancel(Step step, string how, bool inTracker = true)
    {
        var s = step.State;
        var tracker = s.Project.TrackerName;
        var what = inTracker ? $"The work item was {how} in {tracker}" : $"The task was {how}";
        step.State = s with { Status = TaskStatus.CANCELLED, Disabled = false, ReconcileInFlight = false };
        if (s.IssueNumber is { } issue)
        {
            step.Do(new ScheduleActivity(
                    TaskActivities.CloseForgeIssue,
                    new CloseForgeIssueInput(RepoOf(s), issue),
                    $"close-issue:{issue}",
                    RetryPolicy.ExternalApi))
                .Do(ForgeComment(step.State, "cancelled",
                    $"**Orchestrator:** {what}; closing this issue as not planned."));
        }

        return step.Say(inTracker ? $"Work item {how} in {tracker}; task cancelled" : $"Task {how}");
    }

    private static Step Reconcile(Step step)
    {
        var s = step.State;
        step.State = s with { ReconcileInFlight = true, Reconciliations = s.Reconciliations + 1 };
        return step.Do(new ScheduleActivity(
            TaskActivities.ReconcileTask,
            new ReconcileTaskInput(RepoOf(s), s.IssueNumber ?? 0, s.Status, s.PrRepo, s.PrNumber, s.MergeSha),
            $"reconcile:{s.Reconciliations}",
            RetryPolicy.None));
    }

    /// <summary>CI on the merge commit went red after DEPLOYED: fail on both sides and reopen the tracker item if we completed it.</summary>
    private static Step FailAfterDeploy(Step step, string reason, DateTimeOffset now)
    {
        Fail(step, FailedStep.Ci, reason, now);
        var s = step.State;
        var tracker = s.Project.TrackerName;
        var reopen = s.CompletedByUs == true;
        var link = s.CiUrl is { } url ? $" Details: {url}" : "";
        step.Do(ForgeComment(s, $"ci-failed:{s.Round}",
            $"**Orchestrator:** {reason}; PR #{s.PrNumber} was merged and the task had been marked deployed.{link}"));
        step.Do(TrackerComment(s, $"ci-failed:{s.Round}",
            $"<p>{Html(reason)}; <a href=\"{Html(s.PrUrl ?? "")}\">PR #{s.PrNumber}</a> was merged and the task had been marked deployed." +
            (s.CiUrl is { } u ? $" <a href=\"{Html(u)}\">CI run</a>." : "") +
            (reopen
                ? $" The {Html(tracker)} item was reopened."
                : $" The {Html(tracker)} item stays completed because a person completed it.") +
            "</p>"));
        if (reopen)
        {
            step.Do(new ScheduleActivity(
                TaskActivities.ReopenTrackerItem,
                new ReopenTrackerItemInput(s.Project.TrackerProjectId, s.WorkItemId),
                $"reopen:{s.Round}",
                RetryPolicy.ExternalApi));
        }

        return step;
    }

    private Step OnActivityFailed(Step step, TaskActivityFailed f, DateTimeOffset now)
    {
        var s = step.State;
        var reason = $"{f.Activity} failed after {f.Attempts} attempt(s): {f.Error}";
        if (s.Disabled && f.Activity != TaskActivities.ReconcileTask)
        {
            // Nothing fails while syncing is off; resuming re-runs the step in a new round.
            step.State = s with { Warnings = [.. s.Warnings, reason] };
            return step.Say($"Warning: {reason}");
        }

        switch (f.Activity)
        {
            case TaskActivities.PrepareTaskSpec when s.Status == TaskStatus.RECEIVED:
                return Fail(step, FailedStep.TaskSpec, reason, now);
            case TaskActivities.StartRolePipeline when s.Status is TaskStatus.ISSUE_CREATED or TaskStatus.PR_CREATED:
                return Fail(step, FailedStep.Agents, reason, now);
            case TaskActivities.EnsureForgeIssue when s.Status == TaskStatus.TASKSPEC_CREATED:
                return Fail(step, FailedStep.Issue, reason, now)
                    .Do(TrackerComment(step.State, $"issue-failed:{s.Round}",
                        $"<p>Orchestrator could not create the {Html(s.Project.ForgeName)} issue in {Html(RepoOf(s))}: {Html(f.Error)}</p>"));
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
                    .Do(EnsureIssue(step.State, $"issue:{round}"))
                    .Say(summary);
            case FailedStep.Agents:
                step.State = s with
                {
                    Round = round,
                    Status = s.PrNumber is null ? TaskStatus.ISSUE_CREATED : TaskStatus.PR_CREATED,
                    FailedStep = null,
                    FailureReason = null,
                    RolePipelineDone = false,
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
        step.Do(ForgeComment(s, $"ci-failed:{s.Round}", $"**Orchestrator:** {reason} after PR #{s.PrNumber} was merged.{link}"));
        step.Do(TrackerComment(s, $"ci-failed:{s.Round}",
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
            .Do(TrackerComment(s, $"deployed:{s.Round}",
                $"<p>Deployed: {string.Join(", ", links)}. Lead time {lead}.</p>"))
            .Say($"DEPLOYED (lead time {lead})");
    }

    /// <summary>
    /// Once the PR is merged (<see cref="TaskState.MergeSha"/>) in mode <c>run</c> with the role pipeline not known
    /// to be finished: ask it to stop (<see cref="TaskActivities.StopRolePipeline"/>, keyed by the PR, so at most once
    /// per PR). The child decides what is left to skip and posts the one comment; a child that finished meanwhile
    /// ignores the request.
    /// </summary>
    private static Step StopRolesIfRunning(Step step)
    {
        var s = step.State;
        if (!s.Project.RunsAgents || s.RolePipelineDone || s.MergeSha is not { } sha || s.PrNumber is not { } pr)
        {
            return step;
        }

        // The child's id is fixed by the task's, so a merge seen before RolePipelineStartedForTask still finds it.
        var child = s.RolePipelineId ?? RolePipelineIdFor(s.InstanceId);
        return step
            .Do(new ScheduleActivity(
                TaskActivities.StopRolePipeline,
                new StopRolePipelineInput(child, pr, s.PrUrl ?? "", sha),
                $"roles-stop:{s.PrRepo ?? RepoOf(s)}#{pr}",
                RetryPolicy.ExternalApi))
            .Say($"Pull request #{pr} merged before the role pipeline finished; stopping its remaining stages");
    }

    private static ScheduleActivity StartRoles(TaskState s) =>
        new(TaskActivities.StartRolePipeline,
            new StartRolePipelineInput(s.Project, s.TaskKey ?? s.WorkItemId, s.Title ?? "", s.TaskSpec ?? "", s.WorkItemId, s.IssueNumber ?? 0, RepoOf(s)),
            $"roles:{s.Round}",
            RetryPolicy.ExternalApi);

    private static ScheduleActivity PrepareSpec(TaskState s) =>
        new(TaskActivities.PrepareTaskSpec, new PrepareTaskSpecInput(s.Project, s.Item), $"spec:{s.Round}", RetryPolicy.ExternalApi);

    private static ScheduleActivity CheckCi(TaskState s, string key) =>
        new(TaskActivities.CheckCi, new CheckCiInput(s.PrRepo ?? RepoOf(s), s.MergeSha!), key, RetryPolicy.ExternalApi with { MaxAttempts = 3 });

    private StartTimer NextPoll(TaskState s, DateTimeOffset now)
    {
        var due = now + settings.CiPollInterval;
        if (s.CiDeadline is { } deadline && due > deadline)
        {
            due = deadline;
        }

        return new StartTimer(CiPollTimer, due, $"ci-poll:{s.Round}:{s.CiPolls}");
    }

    private static ScheduleActivity EnsureIssue(TaskState s, string key) =>
        new(TaskActivities.EnsureForgeIssue,
            new EnsureForgeIssueInput(RepoOf(s), $"[{s.TaskKey}] {s.Title}", s.TaskSpec ?? "", s.Project.RunsAgents ? null : s.Project.AgentCommand),
            key,
            RetryPolicy.ExternalApi);

    private static ScheduleActivity ForgeComment(TaskState s, string key, string markdown) =>
        new(TaskActivities.EnsureForgeComment, new EnsureForgeCommentInput(RepoOf(s), s.IssueNumber ?? 0, key, markdown), $"gh-comment:{key}", RetryPolicy.ExternalApi);

    /// <summary>The task's repository: the resolved one, else the project's (states saved before repositories were resolved).</summary>
    private static string RepoOf(TaskState s) => s.Repo ?? s.Project.Repo;

    private static bool IsLifecycle(WorkItemSnapshot item, string lifecycle) =>
        string.Equals(item.Lifecycle, lifecycle, StringComparison.OrdinalIgnoreCase);

    /// <summary>A poll timer keyed <c>ci-poll:{round}:{n}</c> from an earlier round (before a retry or a resume).</summary>
    private static bool IsStalePoll(string key, int round)
    {
        var parts = key.Split(':');
        return parts.Length == 3 && parts[0] == CiPollTimer
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var keyRound)
            && keyRound != round;
    }

    private static ScheduleActivity TrackerComment(TaskState s, string key, string html) =>
        new(TaskActivities.EnsureTrackerComment, new EnsureTrackerCommentInput(s.Project.TrackerProjectId, s.WorkItemId, key, html), $"plane-comment:{key}", RetryPolicy.ExternalApi);

    private static WorkItemSnapshot Merge(WorkItemSnapshot old, WorkItemSnapshot @new) => new(
        old.WorkItemId,
        @new.SequenceId ?? old.SequenceId,
        @new.Name ?? old.Name,
        @new.DescriptionHtml ?? old.DescriptionHtml,
        @new.Labels ?? old.Labels,
        @new.StateGroup ?? old.StateGroup,
        @new.Triggered ?? old.Triggered,
        @new.Repo ?? old.Repo,
        @new.Lifecycle ?? old.Lifecycle,
        @new.Completed ?? old.Completed,
        @new.Url ?? old.Url);

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

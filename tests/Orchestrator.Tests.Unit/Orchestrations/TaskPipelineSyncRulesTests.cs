using System.Text.Json;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Unit.Orchestrations;

/// <summary>
/// The tracker ↔ forge sync rules of the task pipeline: AutoTask off/on, NEEDS_REPO, cancel, blocked,
/// CI failure after the deploy, tracker and forge wording, and JSON compatibility.
/// </summary>
public sealed class TaskPipelineSyncRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 9, 0, 0, TimeSpan.Zero);
    private static readonly TaskPipelineSettings Settings = new(TimeSpan.FromSeconds(30), TimeSpan.FromHours(2));
    private static readonly TaskProject Project = new("proj-1", "acme/web", "WEB", "/opencode implement", RequireCi: true);
    private static readonly TaskProject MultiRepo = Project with { Repos = ["acme/web", "Acme/Api"], RepoFromTracker = true };
    private static readonly TaskProject AsanaGitea = Project with { Tracker = TaskProject.AsanaTracker, Forge = TaskProject.GiteaForge };
    private static readonly WorkItemSnapshot Item = new("wi-1", 42, "Add a health endpoint", "<p>Please add GET /healthz</p>", null, "unstarted", Triggered: true);
    private const string Sha = "18cc785ed89e9653ea48823eb5320ab0b691d7da";

    private readonly TaskPipelineOrchestration _decider = new(Settings);

    private static TaskState At(TaskStatus status, TaskProject? project = null, Func<TaskState, TaskState>? more = null)
    {
        var s = new TaskState
        {
            InstanceId = "plane-wi-1",
            Project = project ?? Project,
            WorkItemId = "wi-1",
            Item = Item,
            Status = status,
            TaskKey = "WEB-42",
            Title = "Add a health endpoint",
            ReceivedAt = T0,
            Repo = status == TaskStatus.NEEDS_REPO ? null : (project ?? Project).Repo,
        };
        if (status is not TaskStatus.RECEIVED)
        {
            s = s with { TaskSpec = "# spec", TaskSpecVersion = 1 };
        }

        if (status is TaskStatus.ISSUE_CREATED or TaskStatus.PR_CREATED or TaskStatus.WAITING_CI or TaskStatus.DEPLOYED)
        {
            s = s with { IssueNumber = 7, IssueUrl = "https://forge.test/acme/web/issues/7" };
        }

        if (status is TaskStatus.PR_CREATED or TaskStatus.WAITING_CI or TaskStatus.DEPLOYED)
        {
            s = s with { PrNumber = 8, PrUrl = "https://forge.test/acme/web/pull/8", PrRepo = "acme/web" };
        }

        if (status is TaskStatus.WAITING_CI or TaskStatus.DEPLOYED)
        {
            s = s with { MergeSha = Sha, CiDeadline = T0.AddHours(2) };
        }

        return more is null ? s : more(s);
    }

    private static TaskState Disabled(TaskStatus status, TaskProject? project = null) =>
        At(status, project, s => s with { Disabled = true, DisableCount = 1 });

    private static WorkItemUpdated Update(bool? triggered = null, string? lifecycle = null, string? repo = null) =>
        new(new WorkItemSnapshot("wi-1", null, null, null, null, null, triggered, repo, lifecycle));

    private static ScheduleActivity[] Activities(Decision<TaskState> d) => [.. d.Commands.OfType<ScheduleActivity>()];

    private static string[] ActivityNames(Decision<TaskState> d) => [.. Activities(d).Select(a => a.Activity)];

    private static T Input<T>(Decision<TaskState> d) => Activities(d).Select(a => a.Input).OfType<T>().Single();

    // ---------------------------------------------------------------- AutoTask off / on

    [Theory]
    [InlineData(TaskStatus.RECEIVED, false)]
    [InlineData(TaskStatus.TASKSPEC_CREATED, false)]
    [InlineData(TaskStatus.NEEDS_REPO, false)]
    [InlineData(TaskStatus.ISSUE_CREATED, true)]
    [InlineData(TaskStatus.PR_CREATED, true)]
    [InlineData(TaskStatus.WAITING_CI, true)]
    [InlineData(TaskStatus.FAILED, false)]
    public void AutoTask_off_disables_syncing_and_marks_an_existing_issue(TaskStatus status, bool hasIssue)
    {
        var d = _decider.Decide(At(status), Update(triggered: false), T0);

        Assert.True(d.State.Disabled);
        Assert.Equal(1, d.State.DisableCount);
        Assert.Equal(status, d.State.Status);
        Assert.Equal("AUTO_DISABLED", d.CustomStatus);
        Assert.Equal(status == TaskStatus.FAILED ? RuntimeStatus.Failed : RuntimeStatus.Running, d.RuntimeStatus);
        Assert.Contains("AutoTask turned off in Plane", d.Summary, StringComparison.Ordinal);
        if (hasIssue)
        {
            Assert.Equal([TaskActivities.SetForgeLabel, TaskActivities.EnsureForgeComment], ActivityNames(d));
            Assert.Equal(new SetForgeLabelInput("acme/web", 7, "auto-disabled", true), Input<SetForgeLabelInput>(d));
            var comment = Input<EnsureForgeCommentInput>(d);
            Assert.Equal(7, comment.IssueNumber);
            Assert.Contains("AutoTask was turned off in Plane", comment.Markdown, StringComparison.Ordinal);
            Assert.Contains("Turn AutoTask on again", comment.Markdown, StringComparison.Ordinal);
        }
        else
        {
            Assert.Empty(d.Commands);
        }
    }

    [Fact]
    public void TaskReceived_on_a_live_instance_with_AutoTask_off_also_disables()
    {
        var d = _decider.Decide(At(TaskStatus.ISSUE_CREATED), new TaskReceived(Project, Item with { Triggered = false }), T0);
        Assert.True(d.State.Disabled);
        Assert.Equal([TaskActivities.SetForgeLabel, TaskActivities.EnsureForgeComment], ActivityNames(d));
    }

    [Theory]
    [InlineData(TaskStatus.DEPLOYED)]
    [InlineData(TaskStatus.CANCELLED)]
    public void AutoTask_off_after_the_task_finished_changes_nothing(TaskStatus status)
    {
        var d = _decider.Decide(At(status), Update(triggered: false), T0);
        Assert.False(d.State.Disabled);
        Assert.Empty(d.Commands);
        Assert.Equal(status.ToString(), d.CustomStatus);
    }

    [Fact]
    public void AutoTask_off_twice_or_unknown_does_nothing_more()
    {
        var again = _decider.Decide(Disabled(TaskStatus.ISSUE_CREATED), Update(triggered: false), T0);
        Assert.Equal(1, again.State.DisableCount);
        Assert.Empty(again.Commands);

        var unknown = _decider.Decide(At(TaskStatus.ISSUE_CREATED), Update(triggered: null), T0);
        Assert.False(unknown.State.Disabled);
        Assert.Empty(unknown.Commands);
    }

    [Fact]
    public void Toggling_AutoTask_off_on_off_on_uses_fresh_activity_keys_each_time()
    {
        var state = At(TaskStatus.ISSUE_CREATED);
        var keys = new List<string>();
        foreach (var triggered in new[] { false, true, false, true })
        {
            var d = _decider.Decide(state, Update(triggered: triggered), T0);
            keys.AddRange(Activities(d).Select(a => a.Key));
            state = d.State;
        }

        Assert.False(state.Disabled);
        Assert.Equal(2, state.DisableCount);
        Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(2, keys.Count(k => k.StartsWith("label:auto-disabled:on:", StringComparison.Ordinal)));
        Assert.Equal(2, keys.Count(k => k.StartsWith("label:auto-disabled:off:", StringComparison.Ordinal)));
    }

    public static TheoryData<string, TaskStatus> IgnoredWhileDisabled => new()
    {
        { "linked", TaskStatus.ISSUE_CREATED },
        { "merged", TaskStatus.PR_CREATED },
        { "closed", TaskStatus.PR_CREATED },
        { "ci-failure", TaskStatus.WAITING_CI },
        { "ci-checked", TaskStatus.WAITING_CI },
        { "timer", TaskStatus.WAITING_CI },
        { "reconcile", TaskStatus.ISSUE_CREATED },
        { "spec-built", TaskStatus.RECEIVED },
        { "spec-rejected", TaskStatus.RECEIVED },
        { "issue-ensured", TaskStatus.TASKSPEC_CREATED },
        { "retry", TaskStatus.FAILED },
        { "repo-assigned", TaskStatus.NEEDS_REPO },
        { "tracker-completed", TaskStatus.WAITING_CI },
    };

    private static TaskEvent Named(string name) => name switch
    {
        "linked" => new PullRequestLinked("acme/web", 8, "u"),
        "merged" => new PullRequestMerged("acme/web", 8, "u", Sha),
        "closed" => new PullRequestClosed("acme/web", 8),
        "ci-failure" => new CiCompleted(Sha, "failure", "workflow_run", null),
        "ci-checked" => new CiChecked(Sha, CiOutcome.Success, "1 of 1", null),
        "timer" => new TaskTimerFired(TaskPipelineOrchestration.CiPollTimer, "ci-poll:0:0"),
        "reconcile" => new ReconcileRequested(),
        "spec-built" => new TaskSpecBuilt("WEB-42", "t", "m", Item),
        "spec-rejected" => new TaskSpecRejected("WEB-42", ["description"], Item),
        "issue-ensured" => new IssueEnsured(7, "u", true),
        "retry" => new RetryRequested(),
        "repo-assigned" => new RepoAssigned("acme/web"),
        "tracker-completed" => new TrackerCompleted("Done"),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(IgnoredWhileDisabled))]
    public void While_disabled_forge_events_timers_and_activity_results_are_ignored(string name, TaskStatus status)
    {
        var state = Disabled(status) with { FailedStep = status == TaskStatus.FAILED ? FailedStep.Issue : null };
        var d = _decider.Decide(state, Named(name), T0);

        Assert.Equal(state, d.State);
        Assert.Empty(d.Commands);
        Assert.Empty(d.CorrelationKeys);
        Assert.Null(d.Summary);
        Assert.Equal("AUTO_DISABLED", d.CustomStatus);
    }

    [Fact]
    public void While_disabled_a_reconciliation_result_only_clears_its_flag()
    {
        var state = Disabled(TaskStatus.ISSUE_CREATED) with { ReconcileInFlight = true };
        var d = _decider.Decide(state, new Reconciled([new PullRequestMerged("acme/web", 8, "u", Sha)]), T0);

        Assert.Equal(TaskStatus.ISSUE_CREATED, d.State.Status);
        Assert.False(d.State.ReconcileInFlight);
        Assert.Empty(d.Commands);
    }

    [Fact]
    public void While_disabled_comments_and_labels_are_recorded_and_failures_are_warnings()
    {
        var state = Disabled(TaskStatus.TASKSPEC_CREATED);

        Assert.NotNull(_decider.Decide(state, new CommentEnsured("github", "auto-disabled:1", true), T0).Summary);
        Assert.Contains("Label 'auto-disabled' added", _decider.Decide(state, new ForgeLabelSet("auto-disabled", true), T0).Summary, StringComparison.Ordinal);

        var failed = _decider.Decide(state, new TaskActivityFailed(TaskActivities.EnsureForgeIssue, "issue:0", "HTTP 500", 6), T0);
        Assert.Equal(TaskStatus.TASKSPEC_CREATED, failed.State.Status);
        Assert.Single(failed.State.Warnings);
        Assert.Empty(failed.Commands);
    }

    [Fact]
    public void While_disabled_an_item_update_is_merged()
    {
        var d = _decider.Decide(Disabled(TaskStatus.ISSUE_CREATED), new WorkItemUpdated(Item with { Name = "Renamed", Triggered = null }), T0);
        Assert.Equal("Renamed", d.State.Item.Name);
        Assert.True(d.State.Disabled);
        Assert.Empty(d.Commands);
    }

    [Theory]
    [InlineData(TaskStatus.RECEIVED, new[] { TaskActivities.PrepareTaskSpec }, "spec:1", 1)]
    [InlineData(TaskStatus.TASKSPEC_CREATED, new[] { TaskActivities.EnsureForgeIssue }, "issue:1", 1)]
    [InlineData(TaskStatus.NEEDS_REPO, new string[0], null, 0)]
    [InlineData(TaskStatus.ISSUE_CREATED, new[] { TaskActivities.SetForgeLabel, TaskActivities.ReconcileTask }, "reconcile:0", 0)]
    [InlineData(TaskStatus.PR_CREATED, new[] { TaskActivities.SetForgeLabel, TaskActivities.ReconcileTask }, "reconcile:0", 0)]
    [InlineData(TaskStatus.WAITING_CI, new[] { TaskActivities.SetForgeLabel, TaskActivities.ReconcileTask }, "reconcile:0", 1)]
    [InlineData(TaskStatus.FAILED, new string[0], null, 0)]
    public void AutoTask_on_again_resumes_by_status(TaskStatus status, string[] activities, string? lastKey, int round)
    {
        var d = _decider.Decide(Disabled(status, status == TaskStatus.NEEDS_REPO ? MultiRepo : null), Update(triggered: true), T0.AddHours(3));

        Assert.False(d.State.Disabled);
        Assert.Equal(status, d.State.Status);
        Assert.Equal(status.ToString(), d.CustomStatus);
        Assert.Equal(round, d.State.Round);
        Assert.Equal(activities, ActivityNames(d));
        Assert.Contains("AutoTask turned on again in Plane", d.Summary, StringComparison.Ordinal);
        if (lastKey is not null)
        {
            Assert.Equal(lastKey, Activities(d).Last().Key);
        }

        if (activities.Contains(TaskActivities.SetForgeLabel))
        {
            Assert.Equal(new SetForgeLabelInput("acme/web", 7, "auto-disabled", false), Input<SetForgeLabelInput>(d));
            Assert.True(d.State.ReconcileInFlight);
        }

        var timer = d.Commands.OfType<StartTimer>().SingleOrDefault();
        if (status == TaskStatus.WAITING_CI)
        {
            Assert.NotNull(timer);
            Assert.Equal("ci-poll:1:0", timer.Key);
            Assert.Equal(T0.AddHours(3).AddSeconds(30), timer.DueAt);
            Assert.Equal(T0.AddHours(5), d.State.CiDeadline);
        }
        else
        {
            Assert.Null(timer);
        }
    }

    [Fact]
    public void After_resuming_CI_polling_a_timer_of_the_old_round_is_ignored()
    {
        var resumed = _decider.Decide(Disabled(TaskStatus.WAITING_CI), Update(triggered: true), T0).State;

        var stale = _decider.Decide(resumed, new TaskTimerFired(TaskPipelineOrchestration.CiPollTimer, "ci-poll:0:4"), T0.AddSeconds(30));
        Assert.Empty(stale.Commands);

        var current = _decider.Decide(resumed, new TaskTimerFired(TaskPipelineOrchestration.CiPollTimer, "ci-poll:1:0"), T0.AddSeconds(30));
        Assert.Equal([TaskActivities.CheckCi], ActivityNames(current));
        Assert.Equal("ci-poll:1:1", Assert.Single(current.Commands.OfType<StartTimer>()).Key);
    }

    [Fact]
    public void AutoTask_on_while_not_disabled_does_nothing()
    {
        var d = _decider.Decide(At(TaskStatus.ISSUE_CREATED), Update(triggered: true), T0);
        Assert.Empty(d.Commands);
        Assert.Null(d.Summary);
    }

    // ---------------------------------------------------------------- Repository / NEEDS_REPO

    [Fact]
    public void The_repo_is_resolved_at_start_from_the_tracker_item_in_its_canonical_spelling()
    {
        var d = _decider.Decide(null, new TaskReceived(MultiRepo, Item with { Repo = "ACME/API" }), T0);
        Assert.Equal("Acme/Api", d.State.Repo);

        var single = _decider.Decide(null, new TaskReceived(Project, Item with { Repo = "other/repo" }), T0);
        Assert.Equal("acme/web", single.State.Repo);
    }

    [Fact]
    public void TaskSpecBuilt_without_a_repo_waits_in_NEEDS_REPO_and_asks_on_the_tracker()
    {
        var state = At(TaskStatus.RECEIVED, MultiRepo, s => s with { Repo = null });
        var d = _decider.Decide(state, new TaskSpecBuilt("WEB-42", "Add a health endpoint", "# TaskSpec", Item), T0);

        Assert.Equal(TaskStatus.NEEDS_REPO, d.State.Status);
        Assert.Equal("NEEDS_REPO", d.CustomStatus);
        Assert.Equal(RuntimeStatus.Running, d.RuntimeStatus);
        Assert.Equal("# TaskSpec", d.State.TaskSpec);
        Assert.Equal(1, d.State.TaskSpecVersion);
        Assert.Null(d.State.Repo);
        var comment = Assert.Single(Activities(d));
        Assert.Equal(TaskActivities.EnsureTrackerComment, comment.Activity);
        var input = (EnsureTrackerCommentInput)comment.Input;
        Assert.Equal("needs-repo:0", input.Key);
        Assert.Contains("acme/web", input.Html, StringComparison.Ordinal);
        Assert.Contains("Acme/Api", input.Html, StringComparison.Ordinal);
        Assert.Contains("set repo and create issue", input.Html, StringComparison.Ordinal);
        Assert.Contains("POST /api/tasks/plane-wi-1/repo", input.Html, StringComparison.Ordinal);
    }

    [Fact]
    public void TaskSpecBuilt_uses_the_repo_of_the_fetched_item()
    {
        var state = At(TaskStatus.RECEIVED, MultiRepo, s => s with { Repo = null });
        var d = _decider.Decide(state, new TaskSpecBuilt("WEB-42", "Add a health endpoint", "# TaskSpec", Item with { Repo = "acme/api" }), T0);

        Assert.Equal(TaskStatus.TASKSPEC_CREATED, d.State.Status);
        Assert.Equal("Acme/Api", d.State.Repo);
        Assert.Equal("Acme/Api", Input<EnsureForgeIssueInput>(d).Repo);
    }

    public static TheoryData<string> RepoArrivals => new() { "update", "assigned" };

    [Theory]
    [MemberData(nameof(RepoArrivals))]
    public void From_NEEDS_REPO_a_repo_in_the_list_creates_the_issue_in_a_new_round(string how)
    {
        var state = At(TaskStatus.NEEDS_REPO, MultiRepo);
        TaskEvent e = how == "update" ? Update(repo: "acme/API") : new RepoAssigned("ACME/api");
        var d = _decider.Decide(state, e, T0);

        Assert.Equal(TaskStatus.TASKSPEC_CREATED, d.State.Status);
        Assert.Equal("Acme/Api", d.State.Repo);
        Assert.Equal(1, d.State.Round);
        var issue = Assert.Single(Activities(d));
        Assert.Equal(TaskActivities.EnsureForgeIssue, issue.Activity);
        Assert.Equal("issue:1", issue.Key);
        Assert.Equal(new EnsureForgeIssueInput("Acme/Api", "[WEB-42] Add a health endpoint", "# spec", "/opencode implement"), issue.Input);
    }

    [Theory]
    [MemberData(nameof(RepoArrivals))]
    public void A_repo_outside_the_projects_list_is_ignored_with_a_timeline_line(string how)
    {
        var state = At(TaskStatus.NEEDS_REPO, MultiRepo);
        TaskEvent e = how == "update" ? Update(repo: "evil/repo") : new RepoAssigned("evil/repo");
        var d = _decider.Decide(state, e, T0);

        Assert.Equal(TaskStatus.NEEDS_REPO, d.State.Status);
        Assert.Null(d.State.Repo);
        Assert.Empty(d.Commands);
        Assert.Contains("evil/repo", d.Summary, StringComparison.Ordinal);
        Assert.Contains("not one of the project's repositories", d.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void RepoAssigned_while_RECEIVED_sets_the_repo_for_the_coming_TaskSpec()
    {
        var state = At(TaskStatus.RECEIVED, MultiRepo, s => s with { Repo = null });
        var d = _decider.Decide(state, new RepoAssigned("acme/api"), T0);
        Assert.Equal("Acme/Api", d.State.Repo);
        Assert.Empty(d.Commands);

        var built = _decider.Decide(d.State, new TaskSpecBuilt("WEB-42", "t", "m", Item), T0);
        Assert.Equal(TaskStatus.TASKSPEC_CREATED, built.State.Status);
        Assert.Equal("Acme/Api", Input<EnsureForgeIssueInput>(built).Repo);
    }

    [Fact]
    public void Once_the_issue_exists_the_repo_never_changes()
    {
        var state = At(TaskStatus.ISSUE_CREATED, MultiRepo);

        var updated = _decider.Decide(state, Update(repo: "acme/api"), T0);
        Assert.Equal("acme/web", updated.State.Repo);
        Assert.Empty(updated.Commands);

        var assigned = _decider.Decide(state, new RepoAssigned("acme/api"), T0);
        Assert.Equal("acme/web", assigned.State.Repo);
        Assert.Contains("not assigned", assigned.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_repo_change_before_the_issue_exists_is_followed()
    {
        var state = At(TaskStatus.RECEIVED, MultiRepo);
        var d = _decider.Decide(state, Update(repo: "acme/api"), T0);
        Assert.Equal("Acme/Api", d.State.Repo);
        Assert.Contains("Repository set to Acme/Api", d.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_NEEDS_REPO_task_disabled_and_given_a_repo_waits_until_AutoTask_is_on_again()
    {
        var state = Disabled(TaskStatus.NEEDS_REPO, MultiRepo);
        var withRepo = _decider.Decide(state, Update(repo: "acme/api"), T0);
        Assert.Equal(TaskStatus.NEEDS_REPO, withRepo.State.Status);
        Assert.Equal("Acme/Api", withRepo.State.Repo);
        Assert.Empty(withRepo.Commands);

        var on = _decider.Decide(withRepo.State, Update(triggered: true), T0);
        Assert.Equal(TaskStatus.TASKSPEC_CREATED, on.State.Status);
        Assert.Equal([TaskActivities.EnsureForgeIssue], ActivityNames(on));
    }

    [Fact]
    public void The_resolved_repo_is_used_for_keys_inputs_and_comments()
    {
        var project = MultiRepo;
        var state = At(TaskStatus.TASKSPEC_CREATED, project, s => s with { Repo = "Acme/Api" });

        var issue = _decider.Decide(state, new IssueEnsured(7, "https://forge.test/acme/api/issues/7", true), T0);
        Assert.Equal(["github-issue:acme/api#7"], issue.CorrelationKeys);
        Assert.Contains("Acme/Api#7", Input<EnsureTrackerCommentInput>(issue).Html, StringComparison.Ordinal);

        var run = _decider.Decide(state with { Project = project with { Mode = TaskProject.RunMode } }, new IssueEnsured(7, "u", true), T0);
        Assert.Equal("Acme/Api", Input<StartRolePipelineInput>(run).Repo);

        var live = issue.State;
        Assert.Equal("Acme/Api", Input<ReconcileTaskInput>(_decider.Decide(live, new ReconcileRequested(), T0)).Repo);

        var waiting = live with { Status = TaskStatus.WAITING_CI, MergeSha = Sha, PrNumber = 8, CiDeadline = T0.AddHours(2) };
        Assert.Equal(new CheckCiInput("Acme/Api", Sha), Input<CheckCiInput>(_decider.Decide(waiting, new CiCompleted(Sha, "success", "check_suite", null), T0)));
        Assert.Equal("Acme/Api", Input<EnsureForgeCommentInput>(_decider.Decide(waiting, new CiCompleted(Sha, "failure", "check_suite", null), T0)).Repo);
    }

    // ---------------------------------------------------------------- Lifecycle: cancelled, deleted, blocked

    public static TheoryData<string, TaskStatus, bool> Cancellations => new()
    {
        { "cancelled", TaskStatus.RECEIVED, false },
        { "cancelled", TaskStatus.NEEDS_REPO, false },
        { "cancelled", TaskStatus.ISSUE_CREATED, true },
        { "cancelled", TaskStatus.WAITING_CI, true },
        { "deleted", TaskStatus.TASKSPEC_CREATED, false },
        { "deleted", TaskStatus.PR_CREATED, true },
    };

    [Theory]
    [MemberData(nameof(Cancellations))]
    public void Cancelling_or_deleting_the_item_cancels_and_closes_an_existing_issue(string how, TaskStatus status, bool hasIssue)
    {
        TaskEvent e = how == "deleted" ? new WorkItemDeleted() : Update(lifecycle: WorkItemLifecycle.Cancelled);
        var d = _decider.Decide(At(status), e, T0);

        Assert.Equal(TaskStatus.CANCELLED, d.State.Status);
        Assert.Equal("CANCELLED", d.CustomStatus);
        Assert.Equal(RuntimeStatus.Completed, d.RuntimeStatus);
        Assert.Contains($"Work item {how} in Plane; task cancelled", d.Summary, StringComparison.Ordinal);
        if (hasIssue)
        {
            Assert.Equal([TaskActivities.CloseForgeIssue, TaskActivities.EnsureForgeComment], ActivityNames(d));
            Assert.Equal(new CloseForgeIssueInput("acme/web", 7), Input<CloseForgeIssueInput>(d));
            var markdown = Input<EnsureForgeCommentInput>(d).Markdown;
            Assert.Contains($"{how} in Plane", markdown, StringComparison.Ordinal);
            Assert.Contains("not planned", markdown, StringComparison.Ordinal);
        }
        else
        {
            Assert.Empty(d.Commands);
        }
    }

    [Theory]
    [InlineData(TaskStatus.DEPLOYED)]
    [InlineData(TaskStatus.CANCELLED)]
    public void Cancelling_a_finished_task_changes_nothing(TaskStatus status)
    {
        var d = _decider.Decide(At(status), Update(lifecycle: WorkItemLifecycle.Cancelled), T0);
        Assert.Equal(status, d.State.Status);
        Assert.Empty(d.Commands);
    }

    [Fact]
    public void Cancelling_wins_over_AutoTask_off_in_the_same_update_and_clears_disabled()
    {
        var d = _decider.Decide(At(TaskStatus.ISSUE_CREATED), Update(triggered: false, lifecycle: WorkItemLifecycle.Cancelled), T0);
        Assert.Equal(TaskStatus.CANCELLED, d.State.Status);
        Assert.False(d.State.Disabled);
        Assert.Equal([TaskActivities.CloseForgeIssue, TaskActivities.EnsureForgeComment], ActivityNames(d));

        var whileDisabled = _decider.Decide(Disabled(TaskStatus.ISSUE_CREATED), new WorkItemDeleted(), T0);
        Assert.Equal("CANCELLED", whileDisabled.CustomStatus);
        Assert.False(whileDisabled.State.Disabled);
    }

    [Fact]
    public void Blocked_marks_the_task_and_the_pipeline_keeps_going_until_active_again()
    {
        var blocked = _decider.Decide(At(TaskStatus.ISSUE_CREATED), Update(lifecycle: WorkItemLifecycle.Blocked), T0);
        Assert.True(blocked.State.Blocked);
        Assert.Equal(TaskStatus.ISSUE_CREATED, blocked.State.Status);
        Assert.Equal("BLOCKED", blocked.CustomStatus);
        Assert.Equal(RuntimeStatus.Running, blocked.RuntimeStatus);
        Assert.Empty(blocked.Commands);
        Assert.Equal("Marked blocked in Plane", blocked.Summary);

        var again = _decider.Decide(blocked.State, Update(lifecycle: WorkItemLifecycle.Blocked), T0);
        Assert.Null(again.Summary);

        var pr = _decider.Decide(blocked.State, new PullRequestLinked("acme/web", 8, "u"), T0);
        Assert.Equal(TaskStatus.PR_CREATED, pr.State.Status);
        Assert.Equal("BLOCKED", pr.CustomStatus);

        var active = _decider.Decide(pr.State, Update(lifecycle: WorkItemLifecycle.Active), T0);
        Assert.False(active.State.Blocked);
        Assert.Equal("PR_CREATED", active.CustomStatus);
        Assert.Equal("No longer blocked in Plane", active.Summary);
    }

    [Fact]
    public void Active_when_not_blocked_changes_nothing()
    {
        var d = _decider.Decide(At(TaskStatus.ISSUE_CREATED), Update(lifecycle: WorkItemLifecycle.Active), T0);
        Assert.False(d.State.Blocked);
        Assert.Null(d.Summary);
    }

    [Fact]
    public void A_task_received_blocked_starts_blocked()
    {
        var d = _decider.Decide(null, new TaskReceived(Project, Item with { Lifecycle = WorkItemLifecycle.Blocked }), T0);
        Assert.True(d.State.Blocked);
        Assert.Equal("BLOCKED", d.CustomStatus);
        Assert.Equal([TaskActivities.PrepareTaskSpec], ActivityNames(d));
    }

    [Fact]
    public void AutoTask_off_and_blocked_in_one_update_set_both()
    {
        var d = _decider.Decide(At(TaskStatus.ISSUE_CREATED), Update(triggered: false, lifecycle: WorkItemLifecycle.Blocked), T0);
        Assert.True(d.State.Disabled);
        Assert.True(d.State.Blocked);
        Assert.Equal("AUTO_DISABLED", d.CustomStatus);
    }

    [Theory]
    [InlineData(TaskStatus.ISSUE_CREATED, false, false, "ISSUE_CREATED")]
    [InlineData(TaskStatus.ISSUE_CREATED, false, true, "BLOCKED")]
    [InlineData(TaskStatus.NEEDS_REPO, false, true, "BLOCKED")]
    [InlineData(TaskStatus.WAITING_CI, true, false, "AUTO_DISABLED")]
    [InlineData(TaskStatus.WAITING_CI, true, true, "AUTO_DISABLED")]
    [InlineData(TaskStatus.FAILED, true, true, "AUTO_DISABLED")]
    [InlineData(TaskStatus.DEPLOYED, false, true, "DEPLOYED")]
    [InlineData(TaskStatus.CANCELLED, false, true, "CANCELLED")]
    [InlineData(TaskStatus.FAILED, false, true, "FAILED")]
    public void The_custom_status_overlays_disabled_then_blocked(TaskStatus status, bool disabled, bool blocked, string expected)
    {
        var state = At(status, more: s => s with { Disabled = disabled, Blocked = blocked });
        Assert.Equal(expected, TaskPipelineOrchestration.CustomStatusFor(state));

        // Every decision reports the overlay (an event that changes nothing still reports it).
        Assert.Equal(expected, _decider.Decide(state, new CommentEnsured("plane", "k", false), T0).CustomStatus);
    }

    [Fact]
    public void A_comment_whose_item_is_gone_is_recorded_without_a_warning_or_a_retry()
    {
        var state = At(TaskStatus.PR_CREATED);

        var d = _decider.Decide(state, new CommentEnsured("plane", "pr-link:acme/web#7", Created: false, ItemGone: true), T0);

        Assert.Equal(TaskStatus.PR_CREATED, d.State.Status);
        Assert.Empty(d.State.Warnings);
        Assert.Empty(d.Commands);
        Assert.Contains("pr-link:acme/web#7", d.Summary, StringComparison.Ordinal);
        Assert.Contains("no longer exists", d.Summary, StringComparison.Ordinal);
        Assert.Contains("already on", _decider.Decide(state, new CommentEnsured("plane", "k", Created: false), T0).Summary, StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- Completion / reopen

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TrackerCompleted_records_who_completed_the_item(bool byUs)
    {
        var d = _decider.Decide(At(TaskStatus.DEPLOYED), new TrackerCompleted("Done", byUs), T0);
        Assert.Equal(byUs, d.State.CompletedByUs);
        Assert.Contains(byUs ? "Plane work item moved to 'Done'" : "already completed by a person", d.Summary, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ci-completed", true)]
    [InlineData("ci-completed", false)]
    [InlineData("ci-completed", null)]
    [InlineData("ci-checked", true)]
    [InlineData("ci-checked", false)]
    public void A_red_CI_after_DEPLOYED_fails_on_both_sides_and_reopens_only_what_we_completed(string how, bool? completedByUs)
    {
        var state = At(TaskStatus.DEPLOYED, more: s => s with { CompletedByUs = completedByUs, DeployedAt = T0.AddHours(1) });
        TaskEvent e = how == "ci-completed"
            ? new CiCompleted(Sha.ToUpperInvariant(), "failure", "workflow_run", "https://forge.test/run/9")
            : new CiChecked(Sha, CiOutcome.Failure, "build: failure", "https://forge.test/run/9");
        var d = _decider.Decide(state, e, T0.AddHours(2));

        Assert.Equal(TaskStatus.FAILED, d.State.Status);
        Assert.Equal(FailedStep.Ci, d.State.FailedStep);
        Assert.Equal(RuntimeStatus.Failed, d.RuntimeStatus);
        Assert.Contains("after the deploy", d.State.FailureReason, StringComparison.Ordinal);
        Assert.Equal("https://forge.test/run/9", d.State.CiUrl);

        string[] expected = completedByUs == true
            ? [TaskActivities.EnsureForgeComment, TaskActivities.EnsureTrackerComment, TaskActivities.ReopenTrackerItem]
            : [TaskActivities.EnsureForgeComment, TaskActivities.EnsureTrackerComment];
        Assert.Equal(expected, ActivityNames(d));
        Assert.Equal(7, Input<EnsureForgeCommentInput>(d).IssueNumber);
        var html = Input<EnsureTrackerCommentInput>(d).Html;
        if (completedByUs == true)
        {
            Assert.Equal(new ReopenTrackerItemInput("proj-1", "wi-1"), Input<ReopenTrackerItemInput>(d));
            Assert.Contains("The Plane item was reopened", html, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("stays completed because a person completed it", html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_late_success_or_pending_after_DEPLOYED_changes_nothing()
    {
        var state = At(TaskStatus.DEPLOYED, more: s => s with { CompletedByUs = true });
        foreach (var e in new TaskEvent[]
        {
            new CiCompleted(Sha, "success", "workflow_run", null),
            new CiChecked(Sha, CiOutcome.Success, "3 of 3", null),
            new CiChecked(Sha, CiOutcome.Pending, "1 of 3", null),
            new CiCompleted("0000000000000000000000000000000000000000", "failure", "workflow_run", null),
        })
        {
            var d = _decider.Decide(state, e, T0);
            Assert.Equal(TaskStatus.DEPLOYED, d.State.Status);
            Assert.Empty(d.Commands);
            Assert.Null(d.Summary);
        }
    }

    [Fact]
    public void A_merge_without_required_CI_registers_the_commit_so_a_later_red_CI_finds_the_task()
    {
        var state = At(TaskStatus.PR_CREATED, Project with { RequireCi = false });
        var merged = _decider.Decide(state, new PullRequestMerged("acme/web", 8, "https://forge.test/acme/web/pull/8", Sha), T0);

        Assert.Equal(TaskStatus.DEPLOYED, merged.State.Status);
        Assert.Contains($"github-sha:acme/web@{Sha}", merged.CorrelationKeys);

        var completed = _decider.Decide(merged.State, new TrackerCompleted("Done"), T0);
        var red = _decider.Decide(completed.State, new CiCompleted(Sha, "failure", "check_suite", null), T0.AddMinutes(5));
        Assert.Equal(TaskStatus.FAILED, red.State.Status);
        Assert.Contains(TaskActivities.ReopenTrackerItem, ActivityNames(red));
    }

    [Fact]
    public void Retry_after_a_post_deploy_failure_waits_for_CI_and_completes_the_item_again_in_a_new_round()
    {
        var state = At(TaskStatus.DEPLOYED, more: s => s with { CompletedByUs = true });
        var failed = _decider.Decide(state, new CiCompleted(Sha, "failure", "workflow_run", null), T0).State;

        var retried = _decider.Decide(failed, new RetryRequested(), T0.AddMinutes(10));
        Assert.Equal(TaskStatus.WAITING_CI, retried.State.Status);
        Assert.Equal(1, retried.State.Round);
        Assert.Equal("ci-check:1:0", Assert.Single(Activities(retried)).Key);

        var green = _decider.Decide(retried.State, new CiChecked(Sha, CiOutcome.Success, "2 of 2", null), T0.AddMinutes(15));
        Assert.Equal(TaskStatus.DEPLOYED, green.State.Status);
        Assert.Equal(["complete:1", "plane-comment:deployed:1"], Activities(green).Select(a => a.Key));
    }

    // ---------------------------------------------------------------- Tracker and forge names

    [Fact]
    public void Asana_and_Gitea_are_named_in_the_timeline_and_comments()
    {
        var start = _decider.Decide(null, new TaskReceived(AsanaGitea, Item), T0);
        Assert.Equal("asana-wi-1", start.State.InstanceId);
        Assert.StartsWith("Received from Asana", start.Summary, StringComparison.Ordinal);

        var specced = _decider.Decide(start.State, new TaskSpecBuilt("WEB-42", "t", "m", Item), T0).State;
        var issue = _decider.Decide(specced, new IssueEnsured(7, "https://gitea.test/acme/web/issues/7", true), T0);
        Assert.Equal("Gitea issue #7 created", issue.Summary);
        Assert.StartsWith("<p>Gitea issue created", Input<EnsureTrackerCommentInput>(issue).Html, StringComparison.Ordinal);

        var off = _decider.Decide(issue.State, Update(triggered: false), T0);
        Assert.Contains("turned off in Asana", Input<EnsureForgeCommentInput>(off).Markdown, StringComparison.Ordinal);
        Assert.Contains("Label 'auto-disabled' added to the Gitea issue", _decider.Decide(off.State, new ForgeLabelSet("auto-disabled", true), T0).Summary, StringComparison.Ordinal);

        var deleted = _decider.Decide(issue.State, new WorkItemDeleted(), T0);
        Assert.Contains("deleted in Asana", deleted.Summary, StringComparison.Ordinal);
        Assert.Contains("Gitea issue #7 closed", _decider.Decide(deleted.State, new ForgeIssueClosed(7), T0).Summary, StringComparison.Ordinal);

        Assert.Equal("Asana work item moved to 'Done'", _decider.Decide(issue.State, new TrackerCompleted("Done"), T0).Summary);
        Assert.Equal("Asana work item reopened (moved to 'In progress')", _decider.Decide(issue.State, new TrackerReopened("In progress"), T0).Summary);

        var issueFailed = _decider.Decide(specced, new TaskActivityFailed(TaskActivities.EnsureForgeIssue, "issue:0", "Not Found", 1), T0);
        Assert.Contains("create the Gitea issue", Input<EnsureTrackerCommentInput>(issueFailed).Html, StringComparison.Ordinal);

        var needsRepo = At(TaskStatus.RECEIVED, AsanaGitea with { Repos = ["acme/web", "acme/api"], RepoFromTracker = true }, s => s with { Repo = null });
        var html = Input<EnsureTrackerCommentInput>(_decider.Decide(needsRepo, new TaskSpecBuilt("WEB-42", "t", "m", Item), T0)).Html;
        Assert.Contains("Gitea issue", html, StringComparison.Ordinal);
        Assert.Contains("repository field in Asana", html, StringComparison.Ordinal);

        var deployed = At(TaskStatus.DEPLOYED, AsanaGitea, s => s with { CompletedByUs = true });
        var red = _decider.Decide(deployed, new CiCompleted(Sha, "failure", "workflow_run", null), T0);
        Assert.Contains("The Asana item was reopened", Input<EnsureTrackerCommentInput>(red).Html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("plane", "Plane", "github", "GitHub")]
    [InlineData("asana", "Asana", "gitea", "Gitea")]
    [InlineData("Asana", "Asana", "GITEA", "Gitea")]
    public void Tracker_and_forge_have_names_for_people(string tracker, string trackerName, string forge, string forgeName)
    {
        var project = Project with { Tracker = tracker, Forge = forge };
        Assert.Equal(trackerName, project.TrackerName);
        Assert.Equal(forgeName, project.ForgeName);
    }

    [Fact]
    public void Instance_ids_carry_the_tracker()
    {
        Assert.Equal("asana-1209", TaskPipelineOrchestration.InstanceIdFor("asana", "1209"));
        Assert.Equal("plane-wi-1", TaskPipelineOrchestration.InstanceIdFor("wi-1"));
        Assert.Equal("plane-wi-1", _decider.Decide(null, new TaskReceived(Project, Item), T0).State.InstanceId);
    }

    [Fact]
    public void Allowed_repos_default_to_the_project_repo_and_match_case_insensitively()
    {
        Assert.Equal(["acme/web"], Project.AllowedRepos);
        Assert.Equal("acme/web", Project.FindAllowedRepo("ACME/WEB"));
        Assert.Null(Project.FindAllowedRepo("acme/api"));
        Assert.Null(Project.FindAllowedRepo(null));
        Assert.Equal("Acme/Api", MultiRepo.FindAllowedRepo(" acme/api "));
        Assert.Null(MultiRepo.ResolveRepo(Item));
        Assert.Equal("acme/web", Project.ResolveRepo(Item));
    }

    [Fact]
    public void Merge_keeps_old_values_when_the_delivery_lacks_them()
    {
        var full = Item with { Repo = "acme/api", Lifecycle = WorkItemLifecycle.Active, Completed = false, Url = "https://tracker.test/wi-1" };
        var state = At(TaskStatus.ISSUE_CREATED, more: s => s with { Item = full });
        var d = _decider.Decide(state, new WorkItemUpdated(new WorkItemSnapshot("wi-1", null, null, null, null, null)), T0);

        Assert.Equal(full, d.State.Item);
    }

    // ---------------------------------------------------------------- JSON

    public static TheoryData<string> NewEvents => new()
    {
        """{"$type":"RepoAssigned","repo":"acme/api"}""",
        """{"$type":"ForgeLabelSet","label":"auto-disabled","present":true}""",
        """{"$type":"ForgeIssueClosed","number":7}""",
        """{"$type":"TrackerReopened","stateName":"Todo"}""",
        """{"$type":"TrackerCompleted","stateName":"Done","completedByUs":false}""",
        """{"$type":"WorkItemUpdated","item":{"workItemId":"wi-1","triggered":false,"repo":"acme/api","lifecycle":"BLOCKED","completed":true,"url":"https://t/1"}}""",
    };

    [Theory]
    [MemberData(nameof(NewEvents))]
    public void New_events_round_trip_through_the_engine_json(string json)
    {
        var e = JsonSerializer.Deserialize<TaskEvent>(json, EngineJson.Options)!;
        var again = JsonSerializer.Serialize(e, EngineJson.Options);
        Assert.Equal(json, again);
        Assert.Equal(again, JsonSerializer.Serialize(JsonSerializer.Deserialize<TaskEvent>(again, EngineJson.Options), EngineJson.Options));
    }

    [Fact]
    public void An_old_TrackerCompleted_means_completed_by_us()
    {
        var e = Assert.IsType<TrackerCompleted>(JsonSerializer.Deserialize<TaskEvent>("""{"$type":"TrackerCompleted","stateName":"Done"}""", EngineJson.Options));
        Assert.True(e.CompletedByUs);
    }

    [Fact]
    public void A_state_saved_before_the_sync_fields_existed_still_loads_and_runs()
    {
        const string old = """
            {"item":{"name":"Add a health endpoint","labels":["AutoTask"],"sequenceId":42,"stateGroup":"unstarted","workItemId":"wi-1","descriptionHtml":"<p>x</p>"},
             "round":0,"title":"Add a health endpoint","status":"TASKSPEC_CREATED","project":{"mode":"dispatch","repo":"acme/web","requireCi":true,"agentCommand":"/opencode implement","workItemPrefix":"WEB","trackerProjectId":"proj-1"},
             "taskKey":"WEB-42","taskSpec":"# spec","ciPolls":0,"warnings":[],"instanceId":"plane-wi-1","receivedAt":"2026-11-21T09:00:00+00:00","workItemId":"wi-1",
             "reconcileInFlight":false,"reconciliations":0,"taskSpecVersion":1}
            """;
        var state = JsonSerializer.Deserialize<TaskState>(old, EngineJson.Options)!;

        Assert.Null(state.Repo);
        Assert.False(state.Disabled);
        Assert.False(state.Blocked);
        Assert.Null(state.CompletedByUs);
        Assert.Equal(0, state.DisableCount);
        Assert.Equal("plane", state.Project.Tracker);
        Assert.Equal("github", state.Project.Forge);
        Assert.False(state.Project.RepoFromTracker);
        Assert.Null(state.Item.Triggered);

        var d = _decider.Decide(state, new IssueEnsured(7, "https://github.test/acme/web/issues/7", true), T0);
        Assert.Equal(TaskStatus.ISSUE_CREATED, d.State.Status);
        Assert.Equal("acme/web", d.State.Repo);
        Assert.Equal(["github-issue:acme/web#7"], d.CorrelationKeys);
        Assert.Equal("GitHub issue #7 created", d.Summary);

        var json = JsonSerializer.Serialize(d.State, EngineJson.Options);
        Assert.DoesNotContain("trackerName", json, StringComparison.Ordinal);
        Assert.Equal(json, JsonSerializer.Serialize(JsonSerializer.Deserialize<TaskState>(json, EngineJson.Options), EngineJson.Options));
    }
}

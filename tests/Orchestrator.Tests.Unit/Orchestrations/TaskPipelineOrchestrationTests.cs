using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Tasks;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Unit.Orchestrations;

/// <summary>Every edge of the task pipeline decider, without I/O or mocks.</summary>
public sealed class TaskPipelineOrchestrationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 9, 0, 0, TimeSpan.Zero);
    private static readonly TaskPipelineSettings Settings = new(TimeSpan.FromSeconds(30), TimeSpan.FromHours(2));
    private static readonly TaskProject Project = new("proj-1", "acme/web", "WEB", "/opencode implement", RequireCi: true);
    private static readonly WorkItemSnapshot Item = new("wi-1", 42, "Add a health endpoint", "<p>Please add GET /healthz</p>", ["AutoTask"], "unstarted");
    private const string Sha = "18cc785ed89e9653ea48823eb5320ab0b691d7da";

    private readonly TaskPipelineOrchestration _decider = new(Settings);

    private static TaskState At(TaskStatus status, Action<TaskStateBuilder>? more = null)
    {
        var b = new TaskStateBuilder(new TaskState
        {
            InstanceId = "plane-wi-1",
            Project = Project,
            WorkItemId = "wi-1",
            Item = Item,
            Status = status,
            TaskKey = "WEB-42",
            Title = "Add a health endpoint",
            ReceivedAt = T0,
        });
        if (status >= TaskStatus.TASKSPEC_CREATED && status != TaskStatus.NEEDS_REPO)
        {
            b.State = b.State with { TaskSpec = "# spec", TaskSpecVersion = 1 };
        }

        if (status is TaskStatus.ISSUE_CREATED or TaskStatus.PR_CREATED or TaskStatus.WAITING_CI or TaskStatus.DEPLOYED)
        {
            b.State = b.State with { IssueNumber = 7, IssueUrl = "https://github.test/acme/web/issues/7" };
        }

        if (status is TaskStatus.PR_CREATED or TaskStatus.WAITING_CI or TaskStatus.DEPLOYED)
        {
            b.State = b.State with { PrNumber = 8, PrUrl = "https://github.test/acme/web/pull/8", PrRepo = "acme/web" };
        }

        if (status is TaskStatus.WAITING_CI)
        {
            b.State = b.State with { MergeSha = Sha, CiDeadline = T0.AddHours(2) };
        }

        more?.Invoke(b);
        return b.State;
    }

    private sealed class TaskStateBuilder(TaskState state)
    {
        public TaskState State { get; set; } = state;
    }

    private static IEnumerable<ScheduleActivity> Activities(Decision<TaskState> d) => d.Commands.OfType<ScheduleActivity>();

    private static string[] ActivityNames(Decision<TaskState> d) => [.. Activities(d).Select(a => a.Activity)];

    [Fact]
    public void TaskReceived_starts_in_RECEIVED_and_prepares_the_TaskSpec()
    {
        var d = _decider.Decide(null, new TaskReceived(Project, Item), T0);

        Assert.Equal(TaskStatus.RECEIVED, d.State.Status);
        Assert.Equal("RECEIVED", d.CustomStatus);
        Assert.Equal(RuntimeStatus.Running, d.RuntimeStatus);
        Assert.Equal("WEB-42", d.State.TaskKey);
        Assert.Equal(T0, d.State.ReceivedAt);
        var prepare = Assert.Single(Activities(d));
        Assert.Equal(TaskActivities.PrepareTaskSpec, prepare.Activity);
        Assert.Equal("spec:0", prepare.Key);
        Assert.Equal(new PrepareTaskSpecInput(Project, Item), prepare.Input);
    }

    [Fact]
    public void Only_TaskReceived_can_start_an_instance() =>
        Assert.Throws<InvalidOperationException>(() => _decider.Decide(null, new ReconcileRequested(), T0));

    [Fact]
    public void TaskSpecBuilt_stores_the_spec_and_ensures_the_issue()
    {
        var d = _decider.Decide(At(TaskStatus.RECEIVED), new TaskSpecBuilt("WEB-42", "Add a health endpoint", "# TaskSpec", Item), T0);

        Assert.Equal(TaskStatus.TASKSPEC_CREATED, d.State.Status);
        Assert.Equal("# TaskSpec", d.State.TaskSpec);
        Assert.Equal(1, d.State.TaskSpecVersion);
        var issue = Assert.Single(Activities(d));
        Assert.Equal(TaskActivities.EnsureForgeIssue, issue.Activity);
        Assert.Equal(new EnsureForgeIssueInput("acme/web", "[WEB-42] Add a health endpoint", "# TaskSpec", "/opencode implement"), issue.Input);
    }

    [Fact]
    public void TaskSpecRejected_fails_and_says_what_is_missing_on_the_work_item()
    {
        var d = _decider.Decide(At(TaskStatus.RECEIVED), new TaskSpecRejected("WEB-42", ["title", "description"], Item), T0);

        Assert.Equal(TaskStatus.FAILED, d.State.Status);
        Assert.Equal(RuntimeStatus.Failed, d.RuntimeStatus);
        Assert.Equal(FailedStep.TaskSpec, d.State.FailedStep);
        var comment = Assert.Single(Activities(d));
        Assert.Equal(TaskActivities.EnsureTrackerComment, comment.Activity);
        Assert.Contains("no title and description", ((EnsureTrackerCommentInput)comment.Input).Html, StringComparison.Ordinal);
    }

    [Fact]
    public void A_work_item_update_after_a_TaskSpec_failure_rebuilds_it_in_a_new_round()
    {
        var failed = At(TaskStatus.FAILED, b => b.State = b.State with { FailedStep = FailedStep.TaskSpec, FailureReason = "no description" });
        var d = _decider.Decide(failed, new WorkItemUpdated(Item with { DescriptionHtml = "<p>now filled</p>" }), T0);

        Assert.Equal(TaskStatus.RECEIVED, d.State.Status);
        Assert.Equal(1, d.State.Round);
        Assert.Null(d.State.FailedStep);
        Assert.Equal("spec:1", Assert.Single(Activities(d)).Key);
        Assert.Equal("<p>now filled</p>", d.State.Item.DescriptionHtml);
    }

    [Fact]
    public void A_work_item_update_in_a_healthy_state_only_refreshes_the_snapshot()
    {
        var d = _decider.Decide(At(TaskStatus.ISSUE_CREATED), new WorkItemUpdated(Item with { Name = "Renamed", Labels = null }), T0);

        Assert.Equal(TaskStatus.ISSUE_CREATED, d.State.Status);
        Assert.Empty(d.Commands);
        Assert.Equal("Renamed", d.State.Item.Name);
        Assert.Equal(Item.Labels, d.State.Item.Labels);
    }

    [Fact]
    public void IssueEnsured_records_the_issue_its_correlation_key_and_comments_the_link()
    {
        var d = _decider.Decide(At(TaskStatus.TASKSPEC_CREATED), new IssueEnsured(7, "https://github.test/acme/web/issues/7", Created: true), T0);

        Assert.Equal(TaskStatus.ISSUE_CREATED, d.State.Status);
        Assert.Equal(7, d.State.IssueNumber);
        Assert.Equal(["github-issue:acme/web#7"], d.CorrelationKeys);
        var comment = Assert.Single(Activities(d));
        Assert.Equal("plane-comment:issue-link", comment.Key);
        Assert.Contains("https://github.test/acme/web/issues/7", ((EnsureTrackerCommentInput)comment.Input).Html, StringComparison.Ordinal);
    }

    [Fact]
    public void PullRequestLinked_moves_to_PR_CREATED_once()
    {
        var d = _decider.Decide(At(TaskStatus.ISSUE_CREATED), new PullRequestLinked("acme/web", 8, "https://github.test/acme/web/pull/8"), T0);
        Assert.Equal(TaskStatus.PR_CREATED, d.State.Status);
        Assert.Equal(["github-pr:acme/web#8"], d.CorrelationKeys);
        Assert.Equal("plane-comment:pr-link:acme/web#8", Assert.Single(Activities(d)).Key);

        var again = _decider.Decide(d.State, new PullRequestLinked("acme/web", 8, "https://github.test/acme/web/pull/8"), T0);
        Assert.Empty(again.Commands);
        Assert.Null(again.Summary);
    }

    [Fact]
    public void A_PR_closed_without_merge_returns_the_task_to_ISSUE_CREATED()
    {
        var d = _decider.Decide(At(TaskStatus.PR_CREATED), new PullRequestClosed("acme/web", 8), T0);

        Assert.Equal(TaskStatus.ISSUE_CREATED, d.State.Status);
        Assert.Null(d.State.PrNumber);
    }

    [Fact]
    public void Closing_some_other_PR_changes_nothing()
    {
        var d = _decider.Decide(At(TaskStatus.PR_CREATED), new PullRequestClosed("acme/web", 99), T0);
        Assert.Equal(TaskStatus.PR_CREATED, d.State.Status);
        Assert.Null(d.Summary);
    }

    [Fact]
    public void A_merge_waits_for_CI_with_a_poll_timer_and_a_deadline()
    {
        var d = _decider.Decide(At(TaskStatus.PR_CREATED), new PullRequestMerged("acme/web", 8, "https://github.test/acme/web/pull/8", Sha), T0);

        Assert.Equal(TaskStatus.WAITING_CI, d.State.Status);
        Assert.Equal(Sha, d.State.MergeSha);
        Assert.Equal(T0.AddHours(2), d.State.CiDeadline);
        Assert.Contains($"github-sha:acme/web@{Sha}", d.CorrelationKeys);
        var timer = Assert.Single(d.Commands.OfType<StartTimer>());
        Assert.Equal(T0.AddSeconds(30), timer.DueAt);
        Assert.Empty(Activities(d)); // the PR link was commented when it was opened
    }

    [Fact]
    public void A_merge_seen_without_the_opened_webhook_also_comments_the_PR_link()
    {
        var d = _decider.Decide(At(TaskStatus.ISSUE_CREATED), new PullRequestMerged("acme/web", 8, "https://github.test/acme/web/pull/8", Sha), T0);
        Assert.Equal(TaskStatus.WAITING_CI, d.State.Status);
        Assert.Equal(["plane-comment:pr-link:acme/web#8"], Activities(d).Select(a => a.Key));
    }

    [Fact]
    public void A_merge_without_required_CI_deploys_at_once()
    {
        var state = At(TaskStatus.PR_CREATED, b => b.State = b.State with { Project = Project with { RequireCi = false } });
        var d = _decider.Decide(state, new PullRequestMerged("acme/web", 8, "https://github.test/acme/web/pull/8", Sha), T0.AddMinutes(4).AddSeconds(12));

        Assert.Equal(TaskStatus.DEPLOYED, d.State.Status);
        Assert.Equal(RuntimeStatus.Completed, d.RuntimeStatus);
        Assert.Equal([TaskActivities.CompleteTrackerItem, TaskActivities.EnsureTrackerComment], ActivityNames(d));
        Assert.Contains("Lead time 4m 12s", ((EnsureTrackerCommentInput)Activities(d).Last().Input).Html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("failure")]
    [InlineData("timed_out")]
    [InlineData("cancelled")]
    [InlineData("action_required")]
    [InlineData("startup_failure")]
    public void A_red_CI_webhook_on_the_merge_commit_fails_and_comments_on_both_sides(string conclusion)
    {
        var d = _decider.Decide(At(TaskStatus.WAITING_CI), new CiCompleted(Sha, conclusion, "workflow_run", "https://github.test/run/1"), T0);

        Assert.Equal(TaskStatus.FAILED, d.State.Status);
        Assert.Equal(FailedStep.Ci, d.State.FailedStep);
        Assert.Contains(conclusion, d.State.FailureReason, StringComparison.Ordinal);
        Assert.Equal([TaskActivities.EnsureForgeComment, TaskActivities.EnsureTrackerComment], ActivityNames(d));
        Assert.Equal(7, ((EnsureForgeCommentInput)Activities(d).First().Input).IssueNumber);
    }

    [Theory]
    [InlineData("success")]
    [InlineData("neutral")]
    [InlineData("skipped")]
    public void A_green_CI_webhook_is_confirmed_across_all_checks_before_deploying(string conclusion)
    {
        var d = _decider.Decide(At(TaskStatus.WAITING_CI), new CiCompleted(Sha.ToUpperInvariant(), conclusion, "check_suite", null), T0);

        Assert.Equal(TaskStatus.WAITING_CI, d.State.Status);
        var check = Assert.Single(Activities(d));
        Assert.Equal(TaskActivities.CheckCi, check.Activity);
        Assert.Equal(new CheckCiInput("acme/web", Sha), check.Input);
    }

    [Fact]
    public void CI_for_another_commit_is_ignored()
    {
        var d = _decider.Decide(At(TaskStatus.WAITING_CI), new CiCompleted("0000000000000000000000000000000000000000", "failure", "workflow_run", null), T0);
        Assert.Equal(TaskStatus.WAITING_CI, d.State.Status);
        Assert.Empty(d.Commands);
    }

    [Theory]
    [InlineData(CiOutcome.Success, TaskStatus.DEPLOYED)]
    [InlineData(CiOutcome.Failure, TaskStatus.FAILED)]
    [InlineData(CiOutcome.Pending, TaskStatus.WAITING_CI)]
    public void CiChecked_decides_by_the_aggregate_outcome(CiOutcome outcome, TaskStatus expected)
    {
        var d = _decider.Decide(At(TaskStatus.WAITING_CI), new CiChecked(Sha, outcome, "detail", "https://github.test/run/2"), T0.AddMinutes(5));
        Assert.Equal(expected, d.State.Status);
    }

    [Fact]
    public void DEPLOYED_moves_the_tracker_item_and_comments_links_and_lead_time()
    {
        var d = _decider.Decide(At(TaskStatus.WAITING_CI), new CiChecked(Sha, CiOutcome.Success, "2 of 2", "https://github.test/run/2"), T0.AddHours(1).AddMinutes(3));

        Assert.Equal(TaskStatus.DEPLOYED, d.State.Status);
        Assert.Equal(T0.AddHours(1).AddMinutes(3), d.State.DeployedAt);
        var complete = Activities(d).First();
        Assert.Equal(new CompleteTrackerItemInput("proj-1", "wi-1"), complete.Input);
        var html = ((EnsureTrackerCommentInput)Activities(d).Last().Input).Html;
        Assert.Contains("issues/7", html, StringComparison.Ordinal);
        Assert.Contains("pull/8", html, StringComparison.Ordinal);
        Assert.Contains("18cc785", html, StringComparison.Ordinal);
        Assert.Contains("Lead time 1h 03m", html, StringComparison.Ordinal);
    }

    [Fact]
    public void The_poll_timer_checks_CI_and_schedules_the_next_poll()
    {
        var now = T0.AddSeconds(30);
        var d = _decider.Decide(At(TaskStatus.WAITING_CI), new TaskTimerFired(TaskPipelineOrchestration.CiPollTimer, "ci-poll:0:0"), now);

        Assert.Equal(TaskStatus.WAITING_CI, d.State.Status);
        Assert.Equal([TaskActivities.CheckCi], ActivityNames(d));
        var next = Assert.Single(d.Commands.OfType<StartTimer>());
        Assert.Equal(now.AddSeconds(30), next.DueAt);
        Assert.Equal("ci-poll:0:1", next.Key);
    }

    [Fact]
    public void The_last_poll_is_clamped_to_the_deadline()
    {
        var state = At(TaskStatus.WAITING_CI, b => b.State = b.State with { CiDeadline = T0.AddSeconds(40) });
        var d = _decider.Decide(state, new TaskTimerFired(TaskPipelineOrchestration.CiPollTimer, "k"), T0.AddSeconds(30));
        Assert.Equal(T0.AddSeconds(40), Assert.Single(d.Commands.OfType<StartTimer>()).DueAt);
    }

    [Fact]
    public void The_poll_timer_at_the_deadline_fails_with_CI_did_not_finish()
    {
        var d = _decider.Decide(At(TaskStatus.WAITING_CI), new TaskTimerFired(TaskPipelineOrchestration.CiPollTimer, "k"), T0.AddHours(2));

        Assert.Equal(TaskStatus.FAILED, d.State.Status);
        Assert.Contains("CI did not finish", d.State.FailureReason, StringComparison.Ordinal);
        Assert.Equal([TaskActivities.EnsureForgeComment, TaskActivities.EnsureTrackerComment], ActivityNames(d));
    }

    [Fact]
    public void A_poll_timer_after_the_task_left_WAITING_CI_does_nothing()
    {
        var d = _decider.Decide(At(TaskStatus.DEPLOYED), new TaskTimerFired(TaskPipelineOrchestration.CiPollTimer, "k"), T0);
        Assert.Empty(d.Commands);
        Assert.Null(d.Summary);
    }

    [Theory]
    [InlineData(TaskStatus.ISSUE_CREATED, true)]
    [InlineData(TaskStatus.PR_CREATED, true)]
    [InlineData(TaskStatus.WAITING_CI, true)]
    [InlineData(TaskStatus.DEPLOYED, false)]
    [InlineData(TaskStatus.FAILED, false)]
    public void Reconciliation_runs_only_for_instances_live_on_the_forge(TaskStatus status, bool runs)
    {
        var state = At(status, b => b.State = b.State with { IssueNumber = 7 });
        var d = _decider.Decide(state, new ReconcileRequested(), T0);
        Assert.Equal(runs ? [TaskActivities.ReconcileTask] : [], ActivityNames(d));
        Assert.Equal(runs, d.State.ReconcileInFlight);
    }

    [Fact]
    public void Reconciliation_does_not_overlap()
    {
        var state = At(TaskStatus.ISSUE_CREATED, b => b.State = b.State with { ReconcileInFlight = true });
        Assert.Empty(_decider.Decide(state, new ReconcileRequested(), T0).Commands);
    }

    [Fact]
    public void Reconciled_findings_apply_in_order_and_heal_a_missed_merge()
    {
        var d = _decider.Decide(
            At(TaskStatus.ISSUE_CREATED, b => b.State = b.State with { ReconcileInFlight = true }),
            new Reconciled([new PullRequestMerged("acme/web", 8, "https://github.test/acme/web/pull/8", Sha)]),
            T0);

        Assert.Equal(TaskStatus.WAITING_CI, d.State.Status);
        Assert.False(d.State.ReconcileInFlight);
        Assert.Contains("Reconciliation found", d.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Reconciled_with_nothing_new_only_clears_the_flag()
    {
        var d = _decider.Decide(At(TaskStatus.ISSUE_CREATED, b => b.State = b.State with { ReconcileInFlight = true }), new Reconciled([]), T0);
        Assert.Equal(TaskStatus.ISSUE_CREATED, d.State.Status);
        Assert.False(d.State.ReconcileInFlight);
        Assert.Null(d.Summary);
    }

    [Theory]
    [InlineData(FailedStep.TaskSpec, TaskStatus.RECEIVED, TaskActivities.PrepareTaskSpec, "spec:1")]
    [InlineData(FailedStep.Issue, TaskStatus.TASKSPEC_CREATED, TaskActivities.EnsureForgeIssue, "issue:1")]
    [InlineData(FailedStep.Ci, TaskStatus.WAITING_CI, TaskActivities.CheckCi, "ci-check:1:0")]
    public void Retry_resumes_at_the_failed_step(FailedStep step, TaskStatus resumed, string activity, string key)
    {
        var failed = At(TaskStatus.FAILED, b => b.State = b.State with
        {
            FailedStep = step,
            FailureReason = "x",
            IssueNumber = 7,
            MergeSha = Sha,
            PrNumber = 8,
        });
        var d = _decider.Decide(failed, new RetryRequested(), T0);

        Assert.Equal(resumed, d.State.Status);
        Assert.Equal(1, d.State.Round);
        var a = Assert.Single(Activities(d));
        Assert.Equal(activity, a.Activity);
        Assert.Equal(key, a.Key);
        if (step == FailedStep.Ci)
        {
            Assert.Equal(T0.AddHours(2), d.State.CiDeadline);
            Assert.Single(d.Commands.OfType<StartTimer>());
        }
    }

    [Fact]
    public void Retry_of_a_task_that_is_not_FAILED_does_nothing()
    {
        var d = _decider.Decide(At(TaskStatus.PR_CREATED), new RetryRequested(), T0);
        Assert.Equal(TaskStatus.PR_CREATED, d.State.Status);
        Assert.Empty(d.Commands);
    }

    [Theory]
    [InlineData(TaskActivities.PrepareTaskSpec, TaskStatus.RECEIVED, TaskStatus.FAILED)]
    [InlineData(TaskActivities.EnsureForgeIssue, TaskStatus.TASKSPEC_CREATED, TaskStatus.FAILED)]
    [InlineData(TaskActivities.EnsureTrackerComment, TaskStatus.ISSUE_CREATED, TaskStatus.ISSUE_CREATED)]
    [InlineData(TaskActivities.CheckCi, TaskStatus.WAITING_CI, TaskStatus.WAITING_CI)]
    [InlineData(TaskActivities.CompleteTrackerItem, TaskStatus.DEPLOYED, TaskStatus.DEPLOYED)]
    public void ActivityFailed_fails_only_critical_steps(string activity, TaskStatus from, TaskStatus to)
    {
        var d = _decider.Decide(At(from), new TaskActivityFailed(activity, "k", "HTTP 500", 6), T0);

        Assert.Equal(to, d.State.Status);
        if (to == TaskStatus.FAILED)
        {
            Assert.Contains("HTTP 500", d.State.FailureReason, StringComparison.Ordinal);
        }
        else if (activity != TaskActivities.CheckCi)
        {
            Assert.Contains(d.State.Warnings, w => w.Contains(activity, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void A_failed_issue_creation_is_reported_on_the_work_item()
    {
        var d = _decider.Decide(At(TaskStatus.TASKSPEC_CREATED), new TaskActivityFailed(TaskActivities.EnsureForgeIssue, "issue:0", "Not Found", 1), T0);
        Assert.Equal(FailedStep.Issue, d.State.FailedStep);
        Assert.Contains("Not Found", ((EnsureTrackerCommentInput)Assert.Single(Activities(d)).Input).Html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(TaskStatus.ISSUE_CREATED, TaskStatus.CANCELLED)]
    [InlineData(TaskStatus.WAITING_CI, TaskStatus.CANCELLED)]
    [InlineData(TaskStatus.DEPLOYED, TaskStatus.DEPLOYED)]
    public void Deleting_the_work_item_cancels_unfinished_tasks(TaskStatus from, TaskStatus to) =>
        Assert.Equal(to, _decider.Decide(At(from), new WorkItemDeleted(), T0).State.Status);

    [Fact]
    public void Late_PR_events_after_DEPLOYED_change_nothing()
    {
        var deployed = At(TaskStatus.DEPLOYED);
        foreach (var e in new TaskEvent[]
        {
            new PullRequestLinked("acme/web", 9, "u"), new PullRequestMerged("acme/web", 9, "u", Sha), new PullRequestClosed("acme/web", 8),
            new CiCompleted(Sha, "failure", "workflow_run", null), new IssueEnsured(7, "u", false), new TaskSpecBuilt("WEB-42", "t", "m", Item),
        })
        {
            var d = _decider.Decide(deployed, e, T0);
            Assert.Equal(TaskStatus.DEPLOYED, d.State.Status);
            Assert.Empty(d.Commands);
        }
    }

    [Theory]
    [InlineData(12, "12s")]
    [InlineData(252, "4m 12s")]
    [InlineData(3780, "1h 03m")]
    [InlineData(0, "0s")]
    public void Durations_are_formatted_for_people(int seconds, string expected) =>
        Assert.Equal(expected, TaskPipelineOrchestration.Format(TimeSpan.FromSeconds(seconds)));
}

using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Tasks;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Unit.Orchestrations;

/// <summary>
/// The task pipeline and its role pipeline child (mode <c>run</c>): the PR is what moves the task, and a PR merged
/// while the child's agents still work stops the child (issue #8 item 10).
/// </summary>
public sealed class TaskPipelineRolePipelineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 9, 0, 0, TimeSpan.Zero);
    private static readonly TaskPipelineSettings Settings = new(TimeSpan.FromSeconds(30), TimeSpan.FromHours(2));
    private static readonly TaskProject RunProject = new("proj-1", "acme/web", "WEB", "/opencode implement", RequireCi: true, Mode: TaskProject.RunMode);
    private static readonly WorkItemSnapshot Item = new("wi-1", 42, "Add a health endpoint", "<p>Please add GET /healthz</p>", ["AutoTask"], "unstarted");
    private const string Sha = "18cc785ed89e9653ea48823eb5320ab0b691d7da";
    private const string PrUrl = "https://github.test/acme/web/pull/8";
    private const string Child = "roles-plane-wi-1";

    private readonly TaskPipelineOrchestration _decider = new(Settings);

    private static TaskState At(TaskStatus status, TaskProject? project = null, bool childStarted = true)
    {
        var s = new TaskState
        {
            InstanceId = "plane-wi-1",
            Project = project ?? RunProject,
            WorkItemId = "wi-1",
            Item = Item,
            Status = status,
            TaskKey = "WEB-42",
            Title = "Add a health endpoint",
            TaskSpec = "# spec",
            TaskSpecVersion = 1,
            ReceivedAt = T0,
            Repo = "acme/web",
            IssueNumber = 7,
            IssueUrl = "https://github.test/acme/web/issues/7",
            RolePipelineId = childStarted ? Child : null,
        };
        return status == TaskStatus.PR_CREATED ? s with { PrNumber = 8, PrUrl = PrUrl, PrRepo = "acme/web" } : s;
    }

    private static ScheduleActivity[] Activities(Decision<TaskState> d) => [.. d.Commands.OfType<ScheduleActivity>()];

    private static ScheduleActivity[] Stops(Decision<TaskState> d) => [.. Activities(d).Where(a => a.Activity == TaskActivities.StopRolePipeline)];

    private static PullRequestMerged Merged => new("acme/web", 8, PrUrl, Sha);

    [Fact]
    public void Merging_the_PR_before_the_pipeline_finished_stops_the_remaining_stages()
    {
        var d = _decider.Decide(At(TaskStatus.PR_CREATED), Merged, T0);

        // The usual merge path: CI on the merge commit decides.
        Assert.Equal(TaskStatus.WAITING_CI, d.State.Status);
        Assert.Equal(Sha, d.State.MergeSha);
        Assert.Single(d.Commands.OfType<StartTimer>());
        Assert.Contains($"github-sha:acme/web@{Sha}", d.CorrelationKeys);

        // …and the child is told once; it names the skipped stages in its one comment, so the task posts none.
        var stop = Assert.Single(Activities(d));
        Assert.Equal(TaskActivities.StopRolePipeline, stop.Activity);
        Assert.Equal("roles-stop:acme/web#8", stop.Key);
        Assert.Equal(new StopRolePipelineInput(Child, 8, PrUrl, Sha), stop.Input);
        Assert.Contains("merged before the role pipeline finished", d.Summary, StringComparison.Ordinal);

        // The child finishes as TAKEN_OVER: not a failure; CI on the merge commit still decides.
        var finished = _decider.Decide(d.State, new RolePipelineFinished(Child, "TAKEN_OVER", false, "Taken over: PR #8 was merged"), T0.AddSeconds(5));
        Assert.Equal(TaskStatus.WAITING_CI, finished.State.Status);
        Assert.True(finished.State.RolePipelineDone);
        Assert.Empty(finished.Commands);
        Assert.Contains("Role pipeline stopped", finished.Summary, StringComparison.Ordinal);

        var green = _decider.Decide(finished.State, new CiChecked(Sha, CiOutcome.Success, "2 of 2 passed", null), T0.AddMinutes(3));
        Assert.Equal(TaskStatus.DEPLOYED, green.State.Status);

        // A duplicate merge webhook after that asks nothing again.
        Assert.Empty(Stops(_decider.Decide(finished.State, Merged, T0.AddMinutes(1))));
    }

    [Fact]
    public void A_merge_the_task_sees_first_through_reconciliation_stops_the_child_too()
    {
        var d = _decider.Decide(At(TaskStatus.PR_CREATED) with { ReconcileInFlight = true }, new Reconciled([Merged]), T0);

        Assert.Equal(TaskStatus.WAITING_CI, d.State.Status);
        Assert.Single(Stops(d));
    }

    [Fact]
    public void A_merge_without_required_CI_deploys_and_still_stops_the_child()
    {
        var d = _decider.Decide(At(TaskStatus.PR_CREATED, RunProject with { RequireCi = false }), Merged, T0);

        Assert.Equal(TaskStatus.DEPLOYED, d.State.Status);
        Assert.Single(Stops(d));
    }

    [Fact]
    public void A_merge_after_the_role_pipeline_finished_or_in_dispatch_mode_stops_nothing()
    {
        var done = _decider.Decide(At(TaskStatus.PR_CREATED), new RolePipelineFinished(Child, "DEPLOYED", false, "DEPLOYED: every stage passed"), T0);
        Assert.True(done.State.RolePipelineDone);
        var merged = _decider.Decide(done.State, Merged, T0);
        Assert.Equal(TaskStatus.WAITING_CI, merged.State.Status);
        Assert.Empty(Stops(merged));

        var dispatch = _decider.Decide(At(TaskStatus.PR_CREATED, RunProject with { Mode = TaskProject.DispatchMode }, childStarted: false), Merged, T0);
        Assert.Equal(TaskStatus.WAITING_CI, dispatch.State.Status);
        Assert.Empty(Stops(dispatch));
    }

    [Fact]
    public void A_merge_before_the_child_was_recorded_stops_it_by_its_fixed_id_and_once_it_starts()
    {
        // A person's own PR merged before StartRolePipeline reported back: the child's id is known anyway.
        var merged = _decider.Decide(At(TaskStatus.ISSUE_CREATED, childStarted: false), Merged, T0);
        Assert.Equal(TaskStatus.WAITING_CI, merged.State.Status);
        Assert.Equal(Child, ((StopRolePipelineInput)Assert.Single(Stops(merged)).Input).ChildId);

        // The start result arrives after the merge: the stop is asked for (again; the key makes it one).
        var started = _decider.Decide(merged.State, new RolePipelineStartedForTask(Child, "built-in default"), T0.AddSeconds(1));
        Assert.Equal(Child, started.State.RolePipelineId);
        Assert.Equal("roles-stop:acme/web#8", Assert.Single(Stops(started)).Key);

        // Without a merge the start changes nothing else.
        var plain = _decider.Decide(At(TaskStatus.ISSUE_CREATED, childStarted: false), new RolePipelineStartedForTask(Child, "built-in default"), T0);
        Assert.Empty(plain.Commands);
        Assert.Equal(TaskStatus.ISSUE_CREATED, plain.State.Status);
    }

    [Fact]
    public void Role_pipeline_opens_no_PR_before_development()
    {
        // The task moves to PR_CREATED only when a PR that closes the issue is reported (webhook or reconciliation);
        // the child's own progress — documents pushed to the branch — never moves it.
        var s = At(TaskStatus.ISSUE_CREATED);
        foreach (var e in new TaskEvent[]
        {
            new RolePipelineStartedForTask(Child, ".orchestrator/pipeline.yml"),
            new Reconciled([]),
        })
        {
            s = _decider.Decide(s, e, T0).State;
            Assert.Equal(TaskStatus.ISSUE_CREATED, s.Status);
        }

        var linked = _decider.Decide(s, new PullRequestLinked("acme/web", 8, PrUrl), T0);
        Assert.Equal(TaskStatus.PR_CREATED, linked.State.Status);
    }

    [Fact]
    public void A_failed_child_fails_the_task_and_a_retry_resumes_it_so_a_later_merge_stops_it_again()
    {
        var failed = _decider.Decide(At(TaskStatus.PR_CREATED), new RolePipelineFinished(Child, "FAILED", true, "Failed: review gate failed"), T0);
        Assert.Equal(TaskStatus.FAILED, failed.State.Status);
        Assert.True(failed.State.RolePipelineDone);

        var retry = _decider.Decide(failed.State, new RetryRequested(), T0.AddMinutes(1));
        Assert.Equal(TaskStatus.PR_CREATED, retry.State.Status);
        Assert.False(retry.State.RolePipelineDone);
        Assert.Equal([TaskActivities.RetryRolePipeline], Activities(retry).Select(a => a.Activity));

        Assert.Single(Stops(_decider.Decide(retry.State, Merged, T0.AddMinutes(2))));
    }
}

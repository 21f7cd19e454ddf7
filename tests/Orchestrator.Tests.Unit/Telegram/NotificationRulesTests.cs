using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Notifications;
using Orchestrator.Shared.Telegram;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Unit.Telegram;

/// <summary>Issue #12 §3: which step alerts, with which key — one incident, one alert.</summary>
public sealed class NotificationRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 5, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly PipelineTask Task = new("plane-wi-1", "WEB-42", "Add <b>health</b> & more", "# TaskSpec", "acme/web", "proj-1", "wi-1");

    private static TaskState TaskAt(TaskStatus status, FailedStep? step = null, string? reason = null) => new()
    {
        InstanceId = "plane-wi-1",
        Project = new TaskProject("proj-1", "acme/web", "WEB", "/opencode implement", true),
        WorkItemId = "wi-1",
        Item = new WorkItemSnapshot("wi-1", 42, "Add health", null, ["AutoTask"], "started"),
        Status = status,
        TaskKey = "WEB-42",
        Title = "Add health",
        FailedStep = step,
        FailureReason = reason,
        MergeSha = "abc1234",
        ReceivedAt = T0,
    };

    private sealed class Flow
    {
        private readonly RolePipelineOrchestration _decider = new();

        public Flow(PipelineDefinition definition)
        {
            Now = T0;
            State = _decider.Decide(null, new RolePipelineStarted(definition, Task, null), Now).State;
        }

        public RolePipelineState State { get; private set; }

        public DateTimeOffset Now { get; private set; }

        public (RolePipelineState Before, RolePipelineState After) On(RolePipelineEvent e, TimeSpan? after = null)
        {
            Now += after ?? TimeSpan.FromMinutes(1);
            var before = State;
            State = _decider.Decide(State, e, Now).State;
            return (before, State);
        }

        public (RolePipelineState Before, RolePipelineState After) Ran(bool ok = true, string? failure = null) =>
            On(new StageRunCompleted(State.Execution, State.Stage, ok, failure, 1200, 300, 0.12m, TimeSpan.FromMinutes(2), "orch/WEB-42", "sha1", null, null, "done"));

        public (RolePipelineState Before, RolePipelineState After) Gate() =>
            On(new GateChecked(State.Execution, State.Stage, GateOutcome.Passed, null, "all artifacts present", null,
                [new ArtifactLink("docs/work-items/WEB-42/01-brd.md", "https://git.example.com/acme/web/src/branch/orch/WEB-42/docs/work-items/WEB-42/01-brd.md")]));
    }

    private static PipelineDefinition WithApproval() =>
        PipelineDefinition.Default with { Approval = new ApprovalGate(PipelineStages.Analysis, "Approved", "Rejected", TimeSpan.FromHours(1)) };

    [Fact]
    public void A_CI_failure_after_merge_is_one_CI_alert_and_never_also_a_failed_task()
    {
        var alerts = NotificationRules.ForTask(TaskAt(TaskStatus.DEPLOYED), TaskAt(TaskStatus.FAILED, FailedStep.Ci, "CI failed on abc1234"));
        var alert = Assert.Single(alerts);
        Assert.Equal(NotificationKinds.CiFailed, alert.Kind);
        Assert.Equal("ci_failed:0:abc1234", alert.Key);

        // The same state again (a later step of the failed task) raises nothing.
        Assert.Empty(NotificationRules.ForTask(TaskAt(TaskStatus.FAILED, FailedStep.Ci), TaskAt(TaskStatus.FAILED, FailedStep.Ci)));
    }

    [Fact]
    public void A_failed_role_pipeline_alerts_from_its_own_step_and_the_parent_task_stays_silent()
    {
        var flow = new Flow(PipelineDefinition.Default);
        var (before, after) = flow.Ran(ok: false, failure: "the model refused");
        var alert = Assert.Single(NotificationRules.ForRoles(before, after));
        Assert.Equal(NotificationKinds.AgentFailed, alert.Kind);
        Assert.Equal("analysis", alert.Stage);
        Assert.StartsWith("agent_failed:1:", alert.Key, StringComparison.Ordinal);
        Assert.Empty(NotificationRules.ForTask(TaskAt(TaskStatus.ISSUE_CREATED), TaskAt(TaskStatus.FAILED, FailedStep.Agents, "role pipeline FAILED")));
        Assert.Single(NotificationRules.ForTask(TaskAt(TaskStatus.RECEIVED), TaskAt(TaskStatus.FAILED, FailedStep.Issue, "GitHub said 422")), a => a.Kind == NotificationKinds.TaskFailed);
    }

    [Fact]
    public void The_approval_gate_raises_one_request_with_the_documents_and_a_rejection_by_a_person_raises_no_failure_alert()
    {
        var flow = new Flow(WithApproval());
        flow.Ran();
        var (before, after) = flow.Gate();
        var request = Assert.Single(NotificationRules.ForRoles(before, after));
        Assert.Equal(NotificationKinds.Approval, request.Kind);
        Assert.Equal($"approval:{after.Execution}", request.Key);
        Assert.Equal("Approved", request.ApprovedState);
        Assert.Contains(request.Artifacts!, a => a.Path.EndsWith("01-brd.md", StringComparison.Ordinal));

        var (waiting, rejected) = flow.On(new ApprovalChanged(ApprovalDecision.Rejected, "wrong scope"), TimeSpan.FromMinutes(7));
        Assert.Empty(NotificationRules.ForRoles(waiting, rejected));
        var left = NotificationRules.LeftApproval(waiting, rejected)!;
        Assert.Equal(("rejected", "wrong scope", after.Execution), (left.Outcome, left.Reason, left.Execution));

        // The live message counts the 7 minutes the person took.
        var snapshot = TaskSnapshot.From(TaskAt(TaskStatus.FAILED, FailedStep.Agents, "rejected at approval: wrong scope"), null, rejected, new Dictionary<string, string>());
        Assert.Equal(TimeSpan.FromMinutes(7), snapshot.ApprovalTime);
        Assert.Contains("👤 approval: 7m", TelegramMessages.LiveMessage(snapshot), StringComparison.Ordinal);
    }

    [Fact]
    public void A_spent_budget_is_its_own_alert()
    {
        var definition = PipelineDefinition.Default with { TaskBudgetUsd = 0.10m };
        var flow = new Flow(definition);
        flow.Ran();
        var (before, after) = flow.Gate();
        var alert = Assert.Single(NotificationRules.ForRoles(before, after));
        Assert.Equal(NotificationKinds.BudgetExceeded, alert.Kind);
        Assert.Contains("$0.12 of its $0.10 budget", alert.Reason, StringComparison.Ordinal);
    }
}

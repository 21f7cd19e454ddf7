using System.Text.Json;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Pipelines;

namespace Orchestrator.Tests.Unit.Pipelines;

/// <summary>Every transition of the role pipeline decider, without I/O or mocks.</summary>
public sealed class RolePipelineOrchestrationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 9, 0, 0, TimeSpan.Zero);
    private const string Sha = "18cc785ed89e9653ea48823eb5320ab0b691d7da";
    private const string PrUrl = "https://github.test/acme/web/pull/8";
    private const string Dir = "docs/work-items/WEB-42";
    private static readonly PipelineTask Task = new("plane-wi-1", "WEB-42", "Add a health endpoint", "# TaskSpec: WEB-42\n\nAdd GET /healthz.", "acme/web", "proj-1", "wi-1");

    private const string ReviewFindings = """
        # Review of WEB-42

        1. `src/Health.cs:12` — returns 500 when the database is down; return 503 with `{"status":"degraded"}`.
        2. `tests/HealthTests.cs` — no test covers the degraded case.
        """;

    /// <summary>Drives one instance through scripted results, as the engine would deliver them.</summary>
    private sealed class Flow
    {
        private readonly RolePipelineOrchestration _decider = new();

        public Flow(PipelineDefinition? definition = null, decimal? projectRemaining = null)
        {
            Now = T0;
            Last = _decider.Decide(null, new RolePipelineStarted(definition ?? PipelineDefinition.Default, Task, projectRemaining), Now);
            State = Last.State;
            All.Add(Last);
        }

        public RolePipelineState State { get; private set; }

        public Decision<RolePipelineState> Last { get; private set; }

        public DateTimeOffset Now { get; private set; }

        public List<Decision<RolePipelineState>> All { get; } = [];

        public Decision<RolePipelineState> On(RolePipelineEvent e, TimeSpan? after = null)
        {
            Now += after ?? TimeSpan.Zero;
            Last = _decider.Decide(State, e, Now);
            State = Last.State;
            All.Add(Last);
            return Last;
        }

        public Decision<RolePipelineState> Ran(decimal? cost = 0.10m, string? summary = null, TimeSpan? took = null, long? tokensIn = 1000, long? tokensOut = 200) =>
            On(new StageRunCompleted(State.Execution, State.Stage, true, null, tokensIn, tokensOut, cost, took ?? TimeSpan.FromMinutes(1),
                "orchestrator/WEB-42", Sha, 8, PrUrl, summary ?? $"{State.Stage} done"), took);

        public Decision<RolePipelineState> Gate(GateOutcome outcome = GateOutcome.Passed, string? verdict = null, string? findings = null,
            string reason = "all artifacts present", TimeSpan? after = null) =>
            On(new GateChecked(State.Execution, State.Stage, outcome, verdict ?? PassVerdict(State.Stage, outcome), reason, findings, LinksFor(State)), after);

        public Decision<RolePipelineState> Ci(CiOutcome outcome = CiOutcome.Success, string detail = "3 of 3 passed", TimeSpan? after = null) =>
            On(new StageCiChecked(State.Execution, Sha, outcome, detail, "https://ci.test/run/1"), after);

        public void PassStage()
        {
            Ran();
            Gate();
            if (State.Phase == PipelinePhase.WaitingCi)
            {
                Ci();
            }
        }

        public void PassUntil(string stage)
        {
            for (var guard = 0; State.Stage != stage; guard++)
            {
                Assert.True(guard < 20, $"never reached {stage}");
                Assert.Equal(PipelinePhase.RunningAgent, State.Phase);
                PassStage();
            }
        }
    }

    private static string? PassVerdict(string stage, GateOutcome outcome) => outcome != GateOutcome.Passed ? null : stage switch
    {
        "review" => "APPROVE",
        "testing" => "PASS",
        "deploy" => "SUCCESS",
        _ => null,
    };

    private static IReadOnlyList<ArtifactLink> LinksFor(RolePipelineState s) =>
        [.. s.Definition.Find(s.Stage)!.Artifacts.Select(a => new ArtifactLink($"{Dir}/{a}", $"https://github.test/acme/web/blob/orchestrator/WEB-42/{Dir}/{a}"))];

    private static ScheduleActivity[] Activities(Decision<RolePipelineState> d) => [.. d.Commands.OfType<ScheduleActivity>()];

    private static string[] Names(Decision<RolePipelineState> d) => [.. Activities(d).Select(a => a.Activity)];

    private static T Input<T>(Decision<RolePipelineState> d, string activity) =>
        (T)Assert.Single(Activities(d), a => a.Activity == activity).Input;

    private static PipelineDefinition With(Func<PipelineDefinition, PipelineDefinition> change) => change(PipelineDefinition.Default);

    // ----- start ------------------------------------------------------------------------------------

    [Fact]
    public void Start_runs_the_analyst_with_everything_it_needs()
    {
        var f = new Flow();
        var d = f.Last;

        Assert.Equal("ANALYSIS", d.CustomStatus);
        Assert.Equal(RuntimeStatus.Running, d.RuntimeStatus);
        Assert.Equal(PipelinePhase.RunningAgent, d.State.Phase);
        Assert.Equal(1, d.State.Execution);
        Assert.Equal(0, d.State.Round);
        Assert.Equal("orchestrator/WEB-42", d.State.Branch);
        var run = Assert.Single(Activities(d));
        Assert.Equal(RolePipelineActivities.RunStageAgent, run.Activity);
        Assert.Equal("run:1", run.Key);
        Assert.Equal(RolePipelineOrchestration.AgentRetry, run.Retry);
        Assert.True(run.Retry.MaxAttempts > 1, "transient agent failures are retried by the engine");
        var input = (RunStageAgentInput)run.Input;
        Assert.Equal(("plane-wi-1", 1, "WEB-42", "Add a health endpoint", Task.TaskSpec), (input.InstanceId, input.Execution, input.TaskKey, input.Title, input.TaskSpec));
        Assert.Equal(("acme/web", "orchestrator/WEB-42", "analysis", "analyst", "opencode"), (input.Repo, input.Branch, input.Stage, input.Role, input.Agent));
        Assert.Equal(".orchestrator/agents/analyst.md", input.PromptPath);
        Assert.Equal(Dir, input.WorkItemDirectory);
        Assert.Equal([$"{Dir}/01-brd.md", $"{Dir}/03-acceptance-criteria.md"], input.Artifacts);
        Assert.Empty(input.InputArtifacts);
        Assert.Null(input.VerdictArtifact);
        Assert.Null(input.Feedback);
        Assert.Empty(input.History);
        Assert.Equal(3, input.MaxRounds);
        Assert.Contains("analysis → architecture → development → review → testing → deploy → done", d.Summary, StringComparison.Ordinal);
        Assert.Empty(d.CorrelationKeys);
    }

    [Fact]
    public void A_branch_given_by_the_host_is_kept()
    {
        var f = new RolePipelineOrchestration().Decide(null, new RolePipelineStarted(PipelineDefinition.Default, Task with { Branch = "feature/web-42" }, null), T0);

        Assert.Equal("feature/web-42", ((RunStageAgentInput)Assert.Single(Activities(f)).Input).Branch);
    }

    [Fact]
    public void A_stage_comment_whose_tracker_item_is_gone_changes_nothing_but_the_timeline()
    {
        var f = new Flow();
        var before = f.State;

        var d = f.On(new PipelineCommentPosted("stage:analysis:1", Created: false, ItemGone: true));

        Assert.Equal(before.Phase, d.State.Phase);
        Assert.Empty(d.Commands);
        Assert.Contains("no longer exists", d.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_RolePipelineStarted_can_start_an_instance() =>
        Assert.Throws<InvalidOperationException>(() => new RolePipelineOrchestration().Decide(null, new PipelineRetryRequested(), T0));

    // ----- every stage transition ------------------------------------------------------------------------

    public static TheoryData<string, string, bool, string, string?> Transitions => new()
    {
        // stage, next, requires CI, custom status, verdict artifact
        { "analysis", "architecture", false, "ANALYSIS", null },
        { "architecture", "development", false, "ARCHITECTURE", null },
        { "development", "review", true, "DEVELOPMENT", null },
        { "review", "testing", false, "REVIEW", "12-review.md" },
        { "testing", "deploy", true, "TESTING", "13-test-report.md" },
        { "deploy", "done", false, "DEPLOY", "14-deploy-log.md" },
    };

    [Theory]
    [MemberData(nameof(Transitions))]
    public void Each_stage_runs_its_agent_then_its_gate_then_CI_if_required_then_hands_over(
        string stage, string next, bool requiresCi, string status, string? verdictArtifact)
    {
        var f = new Flow();
        f.PassUntil(stage);
        Assert.Equal(status, f.Last.CustomStatus);
        var execution = f.State.Execution;
        var definition = PipelineDefinition.Default.Find(stage)!;

        // Agent finished → the gate is checked on the run's head.
        var ran = f.Ran(cost: 0.25m);
        Assert.Equal(PipelinePhase.CheckingGate, ran.State.Phase);
        Assert.Equal(status, ran.CustomStatus);
        var gate = Assert.Single(Activities(ran));
        Assert.Equal(RolePipelineActivities.CheckStageGate, gate.Activity);
        Assert.Equal($"gate:{execution}:0", gate.Key);
        Assert.Equal(
            new CheckStageGateInput(execution, "acme/web", "orchestrator/WEB-42", Sha, stage, definition.Gate, ((CheckStageGateInput)gate.Input).Artifacts,
                verdictArtifact is null ? null : $"{Dir}/{verdictArtifact}"),
            gate.Input);
        Assert.Equal(definition.Artifacts.Select(a => $"{Dir}/{a}"), ((CheckStageGateInput)gate.Input).Artifacts);

        // Gate passed → CI (development, testing) or the next stage.
        var passed = f.Gate();
        if (requiresCi)
        {
            Assert.Equal(PipelinePhase.WaitingCi, passed.State.Phase);
            var ci = Assert.Single(Activities(passed));
            Assert.Equal(RolePipelineActivities.CheckStageCi, ci.Activity);
            Assert.Equal(new CheckStageCiInput(execution, "acme/web", "orchestrator/WEB-42", Sha), ci.Input);
            Assert.Equal(f.Now + TimeSpan.FromHours(1), passed.State.CiDeadline);
            passed = f.Ci();
        }

        var comment = Input<PostStageCommentInput>(passed, RolePipelineActivities.PostStageComment);
        Assert.Equal(stage, comment.Report.Stage);
        Assert.Equal(definition.Role, comment.Report.Role);
        Assert.Equal(0.25m, comment.Report.CostUsd);
        Assert.Equal(("proj-1", "wi-1"), (comment.TrackerProjectId, comment.WorkItemId));
        Assert.Equal(1, f.All.SelectMany(Activities).Count(a => a.Activity == RolePipelineActivities.PostStageComment && ((PostStageCommentInput)a.Input).Report.Stage == stage));

        if (next == "done")
        {
            Assert.Equal(PipelinePhase.Done, passed.State.Phase);
            Assert.Equal("done", passed.State.Stage);
            Assert.Equal("DEPLOYED", passed.CustomStatus);
            Assert.Equal(RuntimeStatus.Completed, passed.RuntimeStatus);
            Assert.DoesNotContain(RolePipelineActivities.RunStageAgent, Names(passed));
            Assert.StartsWith("deploy: gate passed", passed.Summary, StringComparison.Ordinal);
            Assert.Contains("DEPLOYED: every stage passed", passed.Summary, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(next, passed.State.Stage);
            Assert.Equal(PipelinePhase.RunningAgent, passed.State.Phase);
            Assert.Equal(execution + 1, passed.State.Execution);
            Assert.Equal(next.ToUpperInvariant(), passed.CustomStatus);
            var nextRun = Input<RunStageAgentInput>(passed, RolePipelineActivities.RunStageAgent);
            Assert.Equal(next, nextRun.Stage);
            Assert.All(definition.Artifacts, a => Assert.Contains($"{Dir}/{a}", nextRun.InputArtifacts));
        }
    }

    [Fact]
    public void The_happy_path_posts_one_comment_per_stage_and_records_runs_gates_and_cost()
    {
        var f = new Flow();
        f.PassUntil("done");

        Assert.Equal("DEPLOYED", f.Last.CustomStatus);
        Assert.Equal(["analysis", "architecture", "development", "review", "testing", "deploy"],
            f.All.SelectMany(Activities).Where(a => a.Activity == RolePipelineActivities.PostStageComment).Select(a => ((PostStageCommentInput)a.Input).Report.Stage));
        Assert.Equal(6, f.State.Runs.Count);
        Assert.All(f.State.Runs, r => Assert.True(r.Succeeded));
        Assert.Equal(0.60m, f.State.SpentUsd);
        Assert.Equal(8, f.Last.State.Gates.Count); // six gates plus two CI results
        Assert.Equal(1, f.State.Round);
        Assert.Equal(8, f.State.PrNumber);
        Assert.Equal(PrUrl, f.State.PrUrl);
        Assert.Equal(T0, f.State.FinishedAt);
        Assert.DoesNotContain(f.All.SelectMany(Activities), a => a.Activity == RolePipelineActivities.PostEscalationComment);
    }

    [Fact]
    public void The_developer_round_is_1_and_the_round_shows_from_development_on()
    {
        var f = new Flow();
        f.PassUntil("development");
        var dev = Input<RunStageAgentInput>(f.Last, RolePipelineActivities.RunStageAgent);

        Assert.Equal(1, dev.Round);
        Assert.Equal(1, f.State.Round);
        Assert.Contains("(round 1 of 3)", f.Last.Summary, StringComparison.Ordinal);
        Assert.Equal([$"{Dir}/01-brd.md", $"{Dir}/03-acceptance-criteria.md", $"{Dir}/02-trz.md", $"{Dir}/04-test-plan.yaml", $"{Dir}/06-adr/"], dev.InputArtifacts);
    }

    // ----- rollbacks -------------------------------------------------------------------------------------

    [Fact]
    public void Review_rejects_then_development_gets_the_full_findings_then_review_approves()
    {
        var f = new Flow();
        f.PassUntil("development");
        f.Ran(summary: "Added GET /healthz returning 200 and a unit test.");
        f.Gate();
        f.Ci();
        f.Ran();
        var rejected = f.Gate(GateOutcome.Rejected, "REQUEST_CHANGES", ReviewFindings, "verdict: REQUEST_CHANGES");

        // Back to development, round 2, with the full text and the history.
        Assert.Equal("development", rejected.State.Stage);
        Assert.Equal(2, rejected.State.Round);
        Assert.Equal("DEVELOPMENT", rejected.CustomStatus);
        var dev = Input<RunStageAgentInput>(rejected, RolePipelineActivities.RunStageAgent);
        Assert.Equal(2, dev.Round);
        Assert.Equal(new StageFeedback("review", "REQUEST_CHANGES", ReviewFindings.Trim()), dev.Feedback);
        var earlier = Assert.Single(dev.History);
        Assert.Equal(1, earlier.Round);
        Assert.Equal("Added GET /healthz returning 200 and a unit test.", earlier.Tried);
        Assert.Equal(("review", "REQUEST_CHANGES"), (earlier.RejectedBy, earlier.Verdict));
        Assert.StartsWith("# Review of WEB-42 1. `src/Health.cs:12`", earlier.Gist, StringComparison.Ordinal);
        Assert.Contains($"{Dir}/12-review.md", dev.InputArtifacts);
        Assert.Contains("returns 500 when the database is down; return 503", RolePrompts.Compose(dev), StringComparison.Ordinal);
        Assert.Contains("## Earlier rounds", RolePrompts.Compose(dev), StringComparison.Ordinal);

        // One comment for the finished review, saying what happens next.
        var comment = Input<PostStageCommentInput>(rejected, RolePipelineActivities.PostStageComment);
        Assert.Equal("changes requested; back to development (round 2 of 3)", comment.Report.Outcome);
        Assert.Equal("REQUEST_CHANGES", comment.Report.Verdict);
        Assert.Equal(1, comment.Report.Round); // the review of round 1
        var round = Assert.Single(rejected.State.Rounds);
        Assert.Equal(ReviewFindings.Trim(), round.Findings);

        // Development passes again; the reviewer reviews afresh (no findings addressed to it) and approves.
        f.Ran(summary: "Return 503 when degraded; test added.");
        f.Gate();
        var review = f.Ci();
        Assert.Equal("review", review.State.Stage);
        Assert.Null(Input<RunStageAgentInput>(review, RolePipelineActivities.RunStageAgent).Feedback);
        Assert.Null(review.State.Feedback);
        f.Ran();
        var approved = f.Gate(verdict: "APPROVE");
        Assert.Equal("testing", approved.State.Stage);
        Assert.Equal(2, approved.State.Round);
    }

    public static TheoryData<string, string, string> Rejections => new()
    {
        { "review", "REQUEST_CHANGES", "changes requested" },
        { "testing", "FAIL", "tests failed" },
        { "deploy", "FAILED", "deploy failed" },
    };

    [Theory]
    [MemberData(nameof(Rejections))]
    public void A_negative_verdict_rolls_back_to_development_with_rounds_counted(string stage, string verdict, string outcome)
    {
        var f = new Flow();
        f.PassUntil(stage);
        f.Ran();
        var d = f.Gate(GateOutcome.Rejected, verdict, $"{stage} findings: step 3 fails", $"verdict: {verdict}");

        Assert.Equal("development", d.State.Stage);
        Assert.Equal(2, d.State.Round);
        Assert.Equal(GateOutcome.Rejected, d.State.Gates[^1].Outcome);
        Assert.Equal(verdict, d.State.Gates[^1].Verdict);
        Assert.Equal(new StageFeedback(stage, verdict, $"{stage} findings: step 3 fails"), Input<RunStageAgentInput>(d, RolePipelineActivities.RunStageAgent).Feedback);
        Assert.StartsWith($"{outcome}; back to development (round 2 of 3)", Input<PostStageCommentInput>(d, RolePipelineActivities.PostStageComment).Report.Outcome, StringComparison.Ordinal);
        Assert.Contains("rolling back to development", d.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_findings_text_the_gate_reason_is_the_feedback()
    {
        var f = new Flow();
        f.PassUntil("testing");
        f.Ran();
        var d = f.Gate(GateOutcome.Rejected, "FAIL", findings: "  ", reason: "status: FAIL");

        Assert.Equal("status: FAIL", Input<RunStageAgentInput>(d, RolePipelineActivities.RunStageAgent).Feedback!.Text);
    }

    [Fact]
    public void The_round_limit_fails_the_task_with_an_escalation_carrying_the_findings()
    {
        var f = new Flow(With(d => d with { MaxDeveloperRounds = 2 }));
        f.PassUntil("review");
        f.Ran();
        f.Gate(GateOutcome.Rejected, "REQUEST_CHANGES", "Round one findings.");
        f.PassUntil("review");
        f.Ran();
        var d = f.Gate(GateOutcome.Rejected, "REQUEST_CHANGES", ReviewFindings);

        Assert.Equal(PipelinePhase.Failed, d.State.Phase);
        Assert.Equal("FAILED", d.CustomStatus);
        Assert.Equal(RuntimeStatus.Failed, d.RuntimeStatus);
        Assert.Equal("development", d.State.Stage);
        Assert.Equal(RetryPoint.NewRound, d.State.RetryFrom);
        Assert.Equal("developer round limit reached (2): review changes requested", d.State.FailureReason);
        Assert.DoesNotContain(RolePipelineActivities.RunStageAgent, Names(d));
        Assert.Equal("changes requested; developer round limit reached", Input<PostStageCommentInput>(d, RolePipelineActivities.PostStageComment).Report.Outcome);
        var escalation = Input<PostEscalationCommentInput>(d, RolePipelineActivities.PostEscalationComment);
        Assert.Equal("developer round limit reached", escalation.Reason);
        Assert.Equal("escalation:1", escalation.Key);
        Assert.Contains("WEB-42 stopped: developer round limit reached.", escalation.Html, StringComparison.Ordinal);
        Assert.Contains("2 developer round(s) did not get past review", escalation.Html, StringComparison.Ordinal);
        Assert.Contains("Round 1: rejected by review (<code>REQUEST_CHANGES</code>) — Round one findings.", escalation.Html, StringComparison.Ordinal);
        Assert.Contains("returns 500 when the database is down; return 503 with `{&quot;status&quot;:&quot;degraded&quot;}`", escalation.Html, StringComparison.Ordinal);
        Assert.Equal(2, d.State.Rounds.Count);

        // A human's retry allows one more round, with the last findings.
        var retry = f.On(new PipelineRetryRequested());
        Assert.Equal(3, retry.State.Round);
        var dev = Input<RunStageAgentInput>(retry, RolePipelineActivities.RunStageAgent);
        Assert.Equal(ReviewFindings.Trim(), dev.Feedback!.Text);
        Assert.Equal(2, dev.History.Count);

        // …and a fourth rejection escalates again at once.
        f.PassUntil("review");
        f.Ran();
        var again = f.Gate(GateOutcome.Rejected, "REQUEST_CHANGES", "Still wrong.");
        Assert.Equal(PipelinePhase.Failed, again.State.Phase);
        Assert.Equal("escalation:2", Input<PostEscalationCommentInput>(again, RolePipelineActivities.PostEscalationComment).Key);
    }

    [Fact]
    public void A_rejection_from_an_artifacts_only_gate_fails_instead_of_rolling_back()
    {
        var f = new Flow();
        f.Ran();
        var d = f.Gate(GateOutcome.Rejected, "REQUEST_CHANGES", reason: "odd");

        Assert.Equal(PipelinePhase.Failed, d.State.Phase);
        Assert.Equal(GateOutcome.Failed, d.State.Gates[^1].Outcome);
    }

    // ----- gate failures ---------------------------------------------------------------------------------

    [Fact]
    public void A_failed_gate_fails_the_task_and_a_retry_reruns_the_stage_with_the_reason()
    {
        var f = new Flow();
        f.PassUntil("architecture");
        f.Ran();
        var d = f.Gate(GateOutcome.Failed, reason: "missing: 02-trz.md, 06-adr/ (empty)");

        Assert.Equal(PipelinePhase.Failed, d.State.Phase);
        Assert.Equal("architecture", d.State.Stage);
        Assert.Equal("architecture gate failed: missing: 02-trz.md, 06-adr/ (empty)", d.State.FailureReason);
        Assert.Equal(RetryPoint.Stage, d.State.RetryFrom);
        Assert.Equal("gate failed: architecture gate failed: missing: 02-trz.md, 06-adr/ (empty)",
            Input<PostStageCommentInput>(d, RolePipelineActivities.PostStageComment).Report.Outcome);

        var retry = f.On(new PipelineRetryRequested());
        Assert.Equal(PipelinePhase.RunningAgent, retry.State.Phase);
        var run = Assert.Single(Activities(retry));
        Assert.Equal("run:3", run.Key);
        Assert.Equal(new StageFeedback("architecture", null, "missing: 02-trz.md, 06-adr/ (empty)"), ((RunStageAgentInput)run.Input).Feedback);
        Assert.Null(retry.State.FailureReason);

        // Once the architecture passes, its feedback is gone.
        f.Ran();
        Assert.Null(f.Gate().State.Feedback);
    }

    [Fact]
    public void Unreadable_front_matter_fails_the_gate_with_the_reason()
    {
        var f = new Flow();
        f.PassUntil("review");
        f.Ran();
        var d = f.Gate(GateOutcome.Failed, reason: "12-review.md: front matter unreadable: unterminated front matter: no closing '---' line");

        Assert.Equal("review gate failed: 12-review.md: front matter unreadable: unterminated front matter: no closing '---' line", d.State.FailureReason);
        Assert.Equal(1, d.State.Round);
    }

    // ----- CI --------------------------------------------------------------------------------------------

    private static Flow AtDevelopmentCi()
    {
        var f = new Flow();
        f.PassUntil("development");
        f.Ran();
        f.Gate();
        Assert.Equal(PipelinePhase.WaitingCi, f.State.Phase);
        return f;
    }

    [Fact]
    public void Pending_CI_polls_with_one_timer_at_a_time_until_green()
    {
        var f = AtDevelopmentCi();
        var exec = f.State.Execution;

        var pending = f.Ci(CiOutcome.Pending, "1 of 3 completed");
        var timer = Assert.IsType<StartTimer>(Assert.Single(pending.Commands));
        Assert.Equal(RolePipelineOrchestration.CiPollTimer, timer.Name);
        Assert.Equal(f.Now + TimeSpan.FromSeconds(30), timer.DueAt);
        Assert.Equal($"ci-poll:{exec}:0:1", timer.Key);
        Assert.Equal("DEVELOPMENT", pending.CustomStatus);

        Assert.Empty(f.Ci(CiOutcome.Pending).Commands); // a second pending result does not add a timer
        Assert.Empty(f.On(new PipelineTimerFired(RolePipelineOrchestration.CiPollTimer, "ci-poll:0:0:9")).Commands); // stale timer

        var fired = f.On(new PipelineTimerFired(RolePipelineOrchestration.CiPollTimer, timer.Key), TimeSpan.FromSeconds(30));
        var check = Assert.Single(Activities(fired));
        Assert.Equal(RolePipelineActivities.CheckStageCi, check.Activity);
        Assert.Equal($"ci:{exec}:0:2", check.Key);

        var green = f.Ci(CiOutcome.Success);
        Assert.Equal("review", green.State.Stage);
        Assert.Equal("CI green on 18cc785: 3 of 3 passed", green.State.Gates[^1].Reason);
    }

    [Fact]
    public void Red_CI_fails_at_once_and_a_retry_reruns_the_developer_with_the_failure()
    {
        var f = AtDevelopmentCi();

        var red = f.Ci(CiOutcome.Failure, "build: failure");

        Assert.Equal(PipelinePhase.Failed, red.State.Phase);
        Assert.Equal("development gate failed: CI failed on 18cc785: build: failure", red.State.FailureReason);
        Assert.Equal("https://ci.test/run/1", red.State.CiUrl);
        Assert.Equal("CI failed: development gate failed: CI failed on 18cc785: build: failure",
            Input<PostStageCommentInput>(red, RolePipelineActivities.PostStageComment).Report.Outcome);

        var retry = f.On(new PipelineRetryRequested());
        var dev = Input<RunStageAgentInput>(retry, RolePipelineActivities.RunStageAgent);
        Assert.Equal("CI failed on 18cc785: build: failure\nRun: https://ci.test/run/1", dev.Feedback!.Text);
        Assert.Equal(1, dev.Round); // a failure is not a rejected round
    }

    [Fact]
    public void CI_that_never_finishes_times_out_with_the_reason_and_a_retry_waits_again()
    {
        var f = AtDevelopmentCi();
        var timer = (StartTimer)Assert.Single(f.Ci(CiOutcome.Pending).Commands);

        var late = f.On(new PipelineTimerFired(RolePipelineOrchestration.CiPollTimer, timer.Key), TimeSpan.FromHours(1));

        Assert.Equal(PipelinePhase.Failed, late.State.Phase);
        Assert.Equal("development gate failed: CI did not finish within 1h 00m on 18cc785", late.State.FailureReason);
        Assert.Equal(RetryPoint.Ci, late.State.RetryFrom);

        var retry = f.On(new PipelineRetryRequested());
        Assert.Equal(PipelinePhase.WaitingCi, retry.State.Phase);
        var check = Assert.Single(Activities(retry));
        Assert.Equal(RolePipelineActivities.CheckStageCi, check.Activity);
        Assert.Equal($"ci:{f.State.Execution}:1:1", check.Key);
        Assert.Equal(f.Now + TimeSpan.FromHours(1), retry.State.CiDeadline);
    }

    [Fact]
    public void A_pending_result_after_the_deadline_times_out()
    {
        var f = AtDevelopmentCi();

        var d = f.Ci(CiOutcome.Pending, after: TimeSpan.FromHours(2));

        Assert.Equal(PipelinePhase.Failed, d.State.Phase);
        Assert.Contains("CI did not finish within 1h 00m", d.State.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_CI_check_that_errors_keeps_polling()
    {
        var f = AtDevelopmentCi();

        var d = f.On(new PipelineActivityFailed(RolePipelineActivities.CheckStageCi, $"ci:{f.State.Execution}:0:1", "502 Bad Gateway", 3));

        Assert.Equal(PipelinePhase.WaitingCi, d.State.Phase);
        Assert.IsType<StartTimer>(Assert.Single(d.Commands));
        Assert.Contains("CheckStageCi failed after 3 attempt(s): 502 Bad Gateway", d.State.Warnings);
    }

    [Fact]
    public void The_poll_timer_never_goes_past_the_deadline()
    {
        var f = new Flow(With(d => d with { Ci = new CiPolicy(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(15)) }));
        f.PassUntil("development");
        f.Ran();
        f.Gate();
        var deadline = f.State.CiDeadline!.Value;

        var timer = (StartTimer)Assert.Single(f.Ci(CiOutcome.Pending, after: TimeSpan.FromMinutes(10)).Commands);

        Assert.Equal(deadline, timer.DueAt);
    }

    // ----- approval gate -----------------------------------------------------------------------------------

    private static PipelineDefinition WithApproval() =>
        With(d => d with { Approval = new ApprovalGate("analysis", "Approved", "Rejected", TimeSpan.FromMinutes(5)) });

    [Fact]
    public void After_analysis_the_pipeline_waits_for_approval_then_goes_on_when_approved()
    {
        var f = new Flow(WithApproval());
        f.Ran();
        var waiting = f.Gate();

        Assert.Equal(PipelinePhase.WaitingApproval, waiting.State.Phase);
        Assert.Equal("WAITING_APPROVAL", waiting.CustomStatus);
        Assert.Equal(RuntimeStatus.Running, waiting.RuntimeStatus);
        Assert.DoesNotContain(RolePipelineActivities.RunStageAgent, Names(waiting));
        var timer = Assert.Single(waiting.Commands.OfType<StartTimer>());
        Assert.Equal(RolePipelineOrchestration.ApprovalPollTimer, timer.Name);
        Assert.Equal(f.Now + TimeSpan.FromMinutes(5), timer.DueAt);
        Assert.Equal("passed; waiting for approval: move the item to 'Approved' or 'Rejected'",
            Input<PostStageCommentInput>(waiting, RolePipelineActivities.PostStageComment).Report.Outcome);

        // The poll asks the tracker; still pending → next poll.
        var poll = f.On(new PipelineTimerFired(RolePipelineOrchestration.ApprovalPollTimer, timer.Key), TimeSpan.FromMinutes(5));
        Assert.Equal(new CheckApprovalInput("proj-1", "wi-1", "Approved", "Rejected"), Input<CheckApprovalInput>(poll, RolePipelineActivities.CheckApproval));
        var pending = f.On(new ApprovalChanged(ApprovalDecision.Pending, null));
        var next = Assert.IsType<StartTimer>(Assert.Single(pending.Commands));
        Assert.NotEqual(timer.Key, next.Key);

        var approved = f.On(new ApprovalChanged(ApprovalDecision.Approved, null));
        Assert.Equal("architecture", approved.State.Stage);
        Assert.Equal("ARCHITECTURE", approved.CustomStatus);
        Assert.Equal("architecture", Input<RunStageAgentInput>(approved, RolePipelineActivities.RunStageAgent).Stage);

        // The superseded poll timer and late approval events change nothing.
        Assert.Empty(f.On(new PipelineTimerFired(RolePipelineOrchestration.ApprovalPollTimer, next.Key)).Commands);
        Assert.Empty(f.On(new ApprovalChanged(ApprovalDecision.Rejected, "late")).Commands);
        Assert.Equal(PipelinePhase.RunningAgent, f.State.Phase);
    }

    [Fact]
    public void Rejection_fails_with_the_latest_comment_as_reason_and_a_retry_redoes_the_analysis_with_it()
    {
        var f = new Flow(WithApproval());
        f.Ran();
        f.Gate();

        var rejected = f.On(new ApprovalChanged(ApprovalDecision.Rejected, "  Scope is too broad: drop the admin UI.  "));

        Assert.Equal(PipelinePhase.Failed, rejected.State.Phase);
        Assert.Equal("FAILED", rejected.CustomStatus);
        Assert.Equal("analysis", rejected.State.Stage);
        Assert.Equal("rejected at approval: Scope is too broad: drop the admin UI.", rejected.State.FailureReason);
        var escalation = Input<PostEscalationCommentInput>(rejected, RolePipelineActivities.PostEscalationComment);
        Assert.Equal("analysis rejected", escalation.Reason);
        Assert.Contains("Reason: Scope is too broad: drop the admin UI.", escalation.Html, StringComparison.Ordinal);
        Assert.DoesNotContain(RolePipelineActivities.RunStageAgent, Names(rejected));

        var retry = f.On(new PipelineRetryRequested());
        var analysis = Input<RunStageAgentInput>(retry, RolePipelineActivities.RunStageAgent);
        Assert.Equal("analysis", analysis.Stage);
        Assert.Equal(new StageFeedback("approval", "REJECTED", "Scope is too broad: drop the admin UI."), analysis.Feedback);
    }

    [Fact]
    public void A_rejection_without_a_comment_says_so()
    {
        var f = new Flow(WithApproval());
        f.Ran();
        f.Gate();

        Assert.Equal("rejected at approval: no reason given", f.On(new ApprovalChanged(ApprovalDecision.Rejected, null)).State.FailureReason);
    }

    [Fact]
    public void Approval_events_outside_the_gate_are_ignored()
    {
        var f = new Flow(WithApproval());
        var d = f.On(new ApprovalChanged(ApprovalDecision.Approved, null));

        Assert.Empty(d.Commands);
        Assert.Null(d.Summary);
        Assert.Equal(PipelinePhase.RunningAgent, d.State.Phase);
    }

    // ----- budget ------------------------------------------------------------------------------------------

    [Fact]
    public void A_spent_task_budget_stops_before_the_next_run_with_a_comment()
    {
        var f = new Flow(With(d => d with { TaskBudgetUsd = 1.00m }));
        f.Ran(cost: 0.60m);
        var second = f.Gate();
        Assert.Equal("architecture", second.State.Stage); // $0.60 < $1.00: runs
        f.Ran(cost: 0.60m);

        var d = f.Gate();

        Assert.Equal(PipelinePhase.Failed, d.State.Phase);
        Assert.Equal("budget exceeded", d.State.FailureReason);
        Assert.Equal("development", d.State.Stage);
        Assert.Equal(0, d.State.Round);
        Assert.Equal("FAILED", d.CustomStatus);
        Assert.DoesNotContain(RolePipelineActivities.RunStageAgent, Names(d));
        Assert.Equal("architecture", Input<PostStageCommentInput>(d, RolePipelineActivities.PostStageComment).Report.Stage);
        var escalation = Input<PostEscalationCommentInput>(d, RolePipelineActivities.PostEscalationComment);
        Assert.Equal("budget exceeded", escalation.Reason);
        Assert.Contains("stopped: budget exceeded. The task spent $1.20 of its $1.00 budget. No new agent run will start (development was next).", escalation.Html, StringComparison.Ordinal);
        Assert.Equal(2, d.State.Runs.Count);

        // Raising the budget and retrying resumes development.
        f.On(new BudgetUpdated(5.00m, null));
        var retry = f.On(new PipelineRetryRequested());
        Assert.Equal(1, Input<RunStageAgentInput>(retry, RolePipelineActivities.RunStageAgent).Round);
        Assert.Equal("DEVELOPMENT", retry.CustomStatus);
    }

    [Fact]
    public void A_project_with_nothing_left_runs_no_agent_at_all()
    {
        var f = new Flow(projectRemaining: 0m);

        Assert.Equal(PipelinePhase.Failed, f.State.Phase);
        Assert.Equal("budget exceeded", f.State.FailureReason);
        Assert.Equal(["PostEscalationComment"], Names(f.Last));
        Assert.Contains("The project budget is used up.", Input<PostEscalationCommentInput>(f.Last, RolePipelineActivities.PostEscalationComment).Html, StringComparison.Ordinal);
        Assert.Equal(0, f.State.Execution);
    }

    [Fact]
    public void This_tasks_spending_counts_against_the_project_remaining_amount_until_refreshed()
    {
        var f = new Flow(projectRemaining: 0.50m);
        f.Ran(cost: 0.60m);

        var d = f.Gate();

        Assert.Equal("budget exceeded", d.State.FailureReason);
        Assert.Equal(-0.10m, d.State.ProjectRemainingNowUsd);

        var retry = f.On(new PipelineRetryRequested(ProjectBudgetRemainingUsd: 10m));
        Assert.Equal(PipelinePhase.RunningAgent, retry.State.Phase);
        Assert.Equal(10m, retry.State.ProjectRemainingNowUsd);
        f.Ran(cost: 1m);
        Assert.Equal(9m, f.State.ProjectRemainingNowUsd);
    }

    [Fact]
    public void A_budget_stop_on_a_rollback_retries_as_a_new_round()
    {
        var f = new Flow(With(d => d with { TaskBudgetUsd = 0.40m }));
        f.PassUntil("review"); // 3 runs x $0.10 = $0.30, under the budget; the review makes it $0.40
        f.Ran(cost: 0.10m);
        var d = f.Gate(GateOutcome.Rejected, "REQUEST_CHANGES", "fix it");

        Assert.Equal("budget exceeded", d.State.FailureReason);
        Assert.Equal(RetryPoint.NewRound, d.State.RetryFrom);

        f.On(new BudgetUpdated(10m, null));
        var retry = f.On(new PipelineRetryRequested());
        var dev = Input<RunStageAgentInput>(retry, RolePipelineActivities.RunStageAgent);
        Assert.Equal(2, dev.Round);
        Assert.Equal("fix it", dev.Feedback!.Text);
    }

    // ----- agent failures ----------------------------------------------------------------------------------

    [Fact]
    public void A_permanent_agent_failure_fails_the_task_with_the_reason_and_counts_its_cost()
    {
        var f = new Flow();
        var d = f.On(new StageRunCompleted(1, "analysis", false, "401 Unauthorized: check ANTHROPIC_API_KEY", 10, 0, 0.01m,
            TimeSpan.FromSeconds(3), null, null, null, null, null));

        Assert.Equal(PipelinePhase.Failed, d.State.Phase);
        Assert.Equal("analysis agent failed: 401 Unauthorized: check ANTHROPIC_API_KEY", d.State.FailureReason);
        Assert.Equal(0.01m, d.State.SpentUsd);
        Assert.False(d.State.Runs[0].Succeeded);
        Assert.Equal("agent run failed: analysis agent failed: 401 Unauthorized: check ANTHROPIC_API_KEY",
            Input<PostStageCommentInput>(d, RolePipelineActivities.PostStageComment).Report.Outcome);
        Assert.DoesNotContain(RolePipelineActivities.CheckStageGate, Names(d));
    }

    [Fact]
    public void Retries_exhausted_fail_the_task_and_a_retry_runs_the_stage_again()
    {
        var f = new Flow();
        var d = f.On(new PipelineActivityFailed(RolePipelineActivities.RunStageAgent, "run:1", "529 overloaded", 3));

        Assert.Equal("analysis agent failed after 3 attempt(s): 529 overloaded", d.State.FailureReason);
        Assert.Equal(RetryPoint.Stage, d.State.RetryFrom);
        Assert.False(d.State.Runs[0].Succeeded);

        var retry = f.On(new PipelineRetryRequested());
        Assert.Equal("run:2", Assert.Single(Activities(retry)).Key);
        Assert.Equal(2, retry.State.Runs.Count);
    }

    [Fact]
    public void A_gate_check_that_errors_is_retried_at_the_gate_without_rerunning_the_agent()
    {
        var f = new Flow();
        f.Ran();
        var d = f.On(new PipelineActivityFailed(RolePipelineActivities.CheckStageGate, "gate:1:0", "GitHub 503", 3));

        Assert.Equal(RetryPoint.Gate, d.State.RetryFrom);
        Assert.Equal("analysis gate check failed after 3 attempt(s): GitHub 503", d.State.FailureReason);

        var retry = f.On(new PipelineRetryRequested());
        var gate = Assert.Single(Activities(retry));
        Assert.Equal(RolePipelineActivities.CheckStageGate, gate.Activity);
        Assert.Equal("gate:1:1", gate.Key);
        Assert.Equal(PipelinePhase.CheckingGate, retry.State.Phase);
        Assert.Equal("architecture", f.Gate().State.Stage);
    }

    [Fact]
    public void A_comment_that_cannot_be_posted_is_a_warning()
    {
        var f = new Flow();
        var d = f.On(new PipelineActivityFailed(RolePipelineActivities.PostStageComment, "comment:stage:1:0", "Plane 500", 6));

        Assert.Equal(PipelinePhase.RunningAgent, d.State.Phase);
        Assert.Equal(["PostStageComment failed after 6 attempt(s): Plane 500"], d.State.Warnings);
    }

    // ----- the pull request, and a person's merge (issue #8 item 10) ------------------------------------------

    private static bool[] OpensPrOfEveryRun(Flow f) =>
        [.. f.All.SelectMany(Activities).Where(a => a.Activity == RolePipelineActivities.RunStageAgent).Select(a => ((RunStageAgentInput)a.Input).OpensPr)];

    [Fact]
    public void Role_pipeline_opens_no_PR_before_development()
    {
        var f = new Flow();
        f.PassUntil("review");
        f.Ran();
        f.Gate(GateOutcome.Rejected, "REQUEST_CHANGES", ReviewFindings);
        f.PassUntil("done");

        // analysis and architecture push their documents to the branch only; development (every round) and the
        // stages after it ensure the PR.
        Assert.Equal(
            ["analysis", "architecture", "development", "review", "development", "review", "testing", "deploy"],
            f.All.SelectMany(Activities).Where(a => a.Activity == RolePipelineActivities.RunStageAgent).Select(a => ((RunStageAgentInput)a.Input).Stage));
        Assert.Equal([false, false, true, true, true, true, true, true], OpensPrOfEveryRun(f));
    }

    [Fact]
    public void A_stage_may_open_the_PR_earlier_or_later_and_every_stage_after_the_opener_keeps_it()
    {
        static PipelineDefinition Set(string stage, bool opens) => With(d => d with
        {
            Stages = [.. d.Stages.Select(x => x.Name == stage ? x with { OpensPr = opens } : x)],
        });

        var early = new Flow(Set("analysis", true));
        early.PassUntil("done");
        Assert.Equal([true, true, true, true, true, true], OpensPrOfEveryRun(early));

        var late = new Flow(Set("development", false));
        late.PassUntil("done");
        Assert.Equal([false, false, false, true, true, true], OpensPrOfEveryRun(late));

        // Once opened, a later "false" cannot close it again (the loader reports it as an error).
        var sticky = Set("review", false);
        Assert.True(sticky.OpensPr("review"));
        Assert.False(sticky.OpensPr("no-such-stage"));
    }

    [Fact]
    public void Merging_the_PR_before_the_pipeline_finished_stops_the_remaining_stages()
    {
        var f = new Flow();
        f.PassUntil("review");
        var reviewExecution = f.State.Execution;
        var spent = f.State.SpentUsd;

        // The reviewer's agent is running when the task pipeline reports the merge.
        var d = f.On(new PipelineTakenOver(8, PrUrl, "abcdef1234567890abcdef1234567890abcdef12"), TimeSpan.FromMinutes(2));

        Assert.Equal(PipelinePhase.TakenOver, d.State.Phase);
        Assert.Equal("TAKEN_OVER", d.CustomStatus);
        Assert.Equal(RuntimeStatus.Completed, d.RuntimeStatus);
        Assert.Equal("review", d.State.Stage);
        Assert.Equal(f.Now, d.State.FinishedAt);
        Assert.Null(d.State.TimerKey);
        Assert.Null(d.State.RetryFrom);
        Assert.Empty(d.Commands.OfType<StartTimer>());
        var comment = Assert.Single(Activities(d));
        Assert.Equal(RolePipelineActivities.PostEscalationComment, comment.Activity);
        Assert.Equal("comment:taken-over", comment.Key);
        var input = (PostEscalationCommentInput)comment.Input;
        Assert.Equal(("proj-1", "wi-1", "taken-over"), (input.TrackerProjectId, input.WorkItemId, input.Key));
        Assert.Equal(
            "<p><strong>Orchestrator</strong>: <a href=\"https://github.test/acme/web/pull/8\">PR #8</a> of WEB-42 was merged by a person " +
            "before the role pipeline finished. The remaining stages were skipped: review, testing, deploy.</p>" +
            "<p>The review agent that was already running may finish, but nothing it does is pushed. " +
            "The merge and CI on the merge commit decide the task's status from here.</p>",
            input.Html);
        Assert.Contains("skipped review, testing, deploy", d.Summary, StringComparison.Ordinal);
        var stopped = d.State.Runs[^1];
        Assert.Equal(("review", reviewExecution, false), (stopped.Stage, stopped.Execution, stopped.Succeeded));
        Assert.Contains("merged", stopped.FailureReason, StringComparison.Ordinal);

        // The running agent finishes (or reports the merge itself); nothing starts, nothing is posted again.
        var stateAfter = d.State;
        foreach (var late in new RolePipelineEvent[]
        {
            new StageRunCompleted(reviewExecution, "review", true, null, 10, 10, 0.2m, TimeSpan.FromMinutes(3), "orchestrator/WEB-42", Sha, 8, PrUrl, "reviewed"),
            new PipelineTakenOver(8, PrUrl, "abcdef1234567890abcdef1234567890abcdef12"),
            new GateChecked(reviewExecution, "review", GateOutcome.Passed, "APPROVE", "ok", null, []),
            new StageCiChecked(reviewExecution, Sha, CiOutcome.Success, "green", null),
            new PipelineRetryRequested(),
            new PipelineCancelled("work item deleted"),
            new PipelineActivityFailed(RolePipelineActivities.RunStageAgent, $"run:{reviewExecution}", "boom", 3),
        })
        {
            var after = f.On(late);
            Assert.Same(stateAfter, after.State);
            Assert.Empty(after.Commands);
            Assert.Equal("TAKEN_OVER", after.CustomStatus);
        }

        Assert.Equal(spent, f.State.SpentUsd);
        Assert.Equal(1, f.All.SelectMany(Activities).Count(a => a.Key == "comment:taken-over"));
    }

    /// <summary>Where the merge finds the pipeline, and which stages it skips.</summary>
    public static TheoryData<string, string[]> TakeoverPoints => new()
    {
        { "checking the architecture gate", ["architecture", "development", "review", "testing", "deploy"] },
        { "waiting for development CI", ["development", "review", "testing", "deploy"] },
        { "waiting for approval after analysis", ["architecture", "development", "review", "testing", "deploy"] },
        { "failed at the testing gate", ["testing", "deploy"] },
        { "deploying", ["deploy"] },
    };

    [Theory]
    [MemberData(nameof(TakeoverPoints))]
    public void A_merge_in_any_unfinished_phase_stops_the_pipeline_and_names_the_skipped_stages(string point, string[] skipped)
    {
        var f = new Flow(point.Contains("approval", StringComparison.Ordinal) ? WithApproval() : null);
        switch (point)
        {
            case "checking the architecture gate":
                f.PassUntil("architecture");
                f.Ran();
                break;
            case "waiting for development CI":
                f.PassUntil("development");
                f.Ran();
                f.Gate();
                Assert.Equal(PipelinePhase.WaitingCi, f.State.Phase);
                break;
            case "waiting for approval after analysis":
                f.Ran();
                f.Gate();
                Assert.Equal(PipelinePhase.WaitingApproval, f.State.Phase);
                break;
            case "failed at the testing gate":
                f.PassUntil("testing");
                f.Ran();
                f.Gate(GateOutcome.Failed, reason: "missing: 13-test-report.md");
                Assert.Equal(PipelinePhase.Failed, f.State.Phase);
                break;
            default:
                f.PassUntil("deploy");
                break;
        }

        var timer = f.State.TimerKey;
        var d = f.On(new PipelineTakenOver(8, null, null));

        Assert.Equal(PipelinePhase.TakenOver, d.State.Phase);
        Assert.Equal(RuntimeStatus.Completed, d.RuntimeStatus);
        var comment = Input<PostEscalationCommentInput>(d, RolePipelineActivities.PostEscalationComment);
        Assert.Contains($"The remaining stages were skipped: {string.Join(", ", skipped)}.", comment.Html, StringComparison.Ordinal);
        Assert.Equal(point == "deploying", comment.Html.Contains("agent that was already running", StringComparison.Ordinal));
        Assert.Contains($"<a href=\"{PrUrl}\">PR #8</a> of WEB-42", comment.Html, StringComparison.Ordinal); // the PR link the pipeline knew
        Assert.Equal([RolePipelineActivities.PostEscalationComment], Names(d));

        // Whatever was outstanding comes back to a finished pipeline.
        Assert.Empty(f.On(new PipelineTimerFired(RolePipelineOrchestration.CiPollTimer, timer ?? "none")).Commands);
        Assert.Empty(f.On(new PipelineTimerFired(RolePipelineOrchestration.ApprovalPollTimer, timer ?? "none")).Commands);
        Assert.Empty(f.On(new ApprovalChanged(ApprovalDecision.Approved, null)).Commands);
        Assert.Empty(f.On(new GateChecked(f.State.Execution, f.State.Stage, GateOutcome.Passed, "PASS", "ok", null, [])).Commands);
        Assert.Empty(f.On(new StageCiChecked(f.State.Execution, Sha, CiOutcome.Success, "green", null)).Commands);
        Assert.Empty(f.On(new PipelineRetryRequested()).Commands);
        Assert.Equal(PipelinePhase.TakenOver, f.State.Phase);
    }

    [Fact]
    public void A_merge_after_the_pipeline_finished_or_was_cancelled_changes_nothing()
    {
        var done = new Flow();
        done.PassUntil("done");
        Assert.Same(done.State, done.On(new PipelineTakenOver(8, PrUrl, Sha)).State);
        Assert.Empty(done.Last.Commands);
        Assert.Equal("DEPLOYED", done.Last.CustomStatus);

        var cancelled = new Flow();
        cancelled.On(new PipelineCancelled("deleted"));
        Assert.Same(cancelled.State, cancelled.On(new PipelineTakenOver(8, PrUrl, Sha)).State);
        Assert.Equal("CANCELLED", cancelled.Last.CustomStatus);
    }

    // ----- stale and duplicate events ------------------------------------------------------------------------

    [Fact]
    public void Results_of_an_earlier_execution_and_duplicates_change_nothing()
    {
        var f = new Flow();
        f.Ran();
        var before = f.State;

        Assert.Same(before, f.On(new StageRunCompleted(1, "analysis", true, null, 1, 1, 5m, TimeSpan.Zero, null, null, null, null, null)).State);
        Assert.Same(before, f.On(new GateChecked(0, "analysis", GateOutcome.Passed, null, "old", null, [])).State);
        Assert.Same(before, f.On(new StageCiChecked(1, Sha, CiOutcome.Success, "", null)).State);
        Assert.Same(before, f.On(new PipelineRetryRequested()).State);
        Assert.Same(before, f.On(new PipelineActivityFailed(RolePipelineActivities.RunStageAgent, "run:0", "old", 1)).State);
        Assert.Null(f.Last.Summary);
    }

    [Fact]
    public void Cancelling_stops_the_pipeline()
    {
        var f = new Flow();
        var d = f.On(new PipelineCancelled("work item deleted"));

        Assert.Equal(PipelinePhase.Cancelled, d.State.Phase);
        Assert.Equal("CANCELLED", d.CustomStatus);
        Assert.Equal(RuntimeStatus.Completed, d.RuntimeStatus);
        Assert.Same(d.State, f.Ran().State);
    }

    // ----- comments --------------------------------------------------------------------------------------------

    [Fact]
    public void The_stage_comment_has_role_outcome_verdict_duration_tokens_cost_artifact_and_PR_links()
    {
        var f = new Flow();
        f.PassUntil("review");
        f.Ran(cost: 0.42m, took: TimeSpan.FromMinutes(4), tokensIn: 12345, tokensOut: 2345);
        var d = f.Gate(GateOutcome.Rejected, "REQUEST_CHANGES", ReviewFindings, after: TimeSpan.FromSeconds(12));

        var comment = Input<PostStageCommentInput>(d, RolePipelineActivities.PostStageComment);
        Assert.Equal($"stage:{d.State.Execution - 1}:0", comment.Key);
        Assert.Equal(
            "<p><strong>Reviewer</strong> · review (round 1): changes requested; back to development (round 2 of 3)</p><ul>" +
            "<li>Verdict: <code>REQUEST_CHANGES</code></li>" +
            "<li>Duration: 4m 12s</li>" +
            "<li>Tokens: 12,345 in / 2,345 out</li>" +
            "<li>Cost: $0.42</li>" +
            "<li>Artifacts: <a href=\"https://github.test/acme/web/blob/orchestrator/WEB-42/docs/work-items/WEB-42/12-review.md\">12-review.md</a></li>" +
            "<li>PR: <a href=\"https://github.test/acme/web/pull/8\">#8</a></li></ul>",
            comment.Html);
        Assert.Equal(comment.Html, StageComments.Render(comment.Report));
    }

    [Fact]
    public void The_first_stage_comment_omits_what_is_not_known()
    {
        var f = new Flow();
        f.On(new StageRunCompleted(1, "analysis", true, null, null, null, null, TimeSpan.FromSeconds(12), null, null, null, null, null), TimeSpan.FromSeconds(12));
        var d = f.On(new GateChecked(1, "analysis", GateOutcome.Passed, null, "ok", null, []));

        Assert.Equal("<p><strong>Analyst</strong> · analysis: passed; next: architecture</p><ul><li>Duration: 12s</li></ul>",
            Input<PostStageCommentInput>(d, RolePipelineActivities.PostStageComment).Html);
    }

    [Theory]
    [InlineData(12, "12s")]
    [InlineData(0, "0s")]
    [InlineData(252, "4m 12s")]
    [InlineData(3780, "1h 03m")]
    [InlineData(90000, "25h 00m")]
    public void Durations_read_like_12s_4m_12s_1h_03m(int seconds, string text) =>
        Assert.Equal(text, StageComments.FormatDuration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void Comment_pieces_format_and_omit()
    {
        Assert.Equal("$0.42", StageComments.FormatCost(0.42m));
        Assert.Equal("$12.00", StageComments.FormatCost(12m));
        Assert.Equal("<$0.01", StageComments.FormatCost(0.004m));
        Assert.Equal("$0.00", StageComments.FormatCost(0m));
        Assert.Equal("1,000 in", StageComments.FormatTokens(1000, null));
        Assert.Equal("7 out", StageComments.FormatTokens(null, 7));
        Assert.Null(StageComments.FormatTokens(null, null));

        var bare = StageComments.Render(new StageReport("deploy", "deployer", null, "deployed", null, null, null, null, null, [], null, null));
        Assert.Equal("<p><strong>Deployer</strong> · deploy: deployed</p>", bare);

        var cheap = StageComments.Render(new StageReport("testing", "tester", 2, "tests passed", "PASS", TimeSpan.FromHours(1.05), null, 5, 0.001m,
            [new ArtifactLink("docs/work-items/WEB-42/06-adr/", "https://x/adr")], 8, null));
        Assert.Contains("<li>Cost: &lt;$0.01</li>", cheap, StringComparison.Ordinal);
        Assert.Contains("<li>Duration: 1h 03m</li>", cheap, StringComparison.Ordinal);
        Assert.Contains("<li>Tokens: 5 out</li>", cheap, StringComparison.Ordinal);
        Assert.Contains("<a href=\"https://x/adr\">06-adr/</a>", cheap, StringComparison.Ordinal);
        Assert.Contains("<li>PR: #8</li>", cheap, StringComparison.Ordinal);
        Assert.Contains("(round 2)", cheap, StringComparison.Ordinal);
    }

    [Fact]
    public void Comment_text_is_HTML_escaped()
    {
        var html = StageComments.Render(new StageReport("review", "reviewer", 1, "failed: <script>", null, null, null, null, null, [], null, null));

        Assert.Contains("failed: &lt;script&gt;", html, StringComparison.Ordinal);
    }

    // ----- persistence -----------------------------------------------------------------------------------------

    [Fact]
    public void State_and_events_survive_the_engine_JSON_round_trip()
    {
        var f = new Flow(WithApproval() with { TaskBudgetUsd = 3m });
        f.Ran(cost: 0.30m);
        f.Gate();
        f.On(new ApprovalChanged(ApprovalDecision.Approved, null));
        f.PassUntil("review");
        f.Ran();
        f.Gate(GateOutcome.Rejected, "REQUEST_CHANGES", ReviewFindings);

        var json = JsonSerializer.Serialize(f.State, EngineJson.Options);
        var back = JsonSerializer.Deserialize<RolePipelineState>(json, EngineJson.Options)!;
        Assert.Equal(json, JsonSerializer.Serialize(back, EngineJson.Options));

        RolePipelineEvent e = new GateChecked(back.Execution, "development", GateOutcome.Passed, null, "ok", null, [new ArtifactLink("a", "b")]);
        var eventJson = JsonSerializer.Serialize(e, EngineJson.Options);
        Assert.Contains("\"$type\":\"GateChecked\"", eventJson, StringComparison.Ordinal);
        var again = Assert.IsType<GateChecked>(JsonSerializer.Deserialize<RolePipelineEvent>(eventJson, EngineJson.Options));

        var d = new RolePipelineOrchestration().Decide(back, new StageRunCompleted(back.Execution, "development", true, null, 1, 1, 0.1m, TimeSpan.FromMinutes(1), null, Sha, null, null, "fixed"), T0);
        Assert.Equal(PipelinePhase.CheckingGate, d.State.Phase);
        Assert.Equal(PipelinePhase.WaitingCi, new RolePipelineOrchestration().Decide(d.State, again, T0).State.Phase);
    }

    [Fact]
    public void The_takeover_event_and_state_survive_the_engine_JSON_round_trip()
    {
        RolePipelineEvent e = new PipelineTakenOver(8, PrUrl, Sha);
        var eventJson = JsonSerializer.Serialize(e, EngineJson.Options);
        Assert.Contains("\"$type\":\"PipelineTakenOver\"", eventJson, StringComparison.Ordinal);
        Assert.Equal(e, JsonSerializer.Deserialize<RolePipelineEvent>(eventJson, EngineJson.Options));

        var f = new Flow();
        f.On(e);
        var json = JsonSerializer.Serialize(f.State, EngineJson.Options);
        Assert.Contains("\"phase\":\"TakenOver\"", json, StringComparison.Ordinal);
        var back = JsonSerializer.Deserialize<RolePipelineState>(json, EngineJson.Options)!;
        Assert.Equal(PipelinePhase.TakenOver, back.Phase);
        Assert.Equal("TAKEN_OVER", RolePipelineOrchestration.CustomStatusOf(back));
    }

    [Fact]
    public void A_run_input_queued_before_opens_pr_existed_pushes_to_the_branch_only()
    {
        var input = Input<RunStageAgentInput>(new Flow().Last, RolePipelineActivities.RunStageAgent) with { OpensPr = true };
        var json = JsonSerializer.Serialize(input, EngineJson.Options).Replace(",\"opensPr\":true", "", StringComparison.Ordinal);
        Assert.DoesNotContain("opensPr", json, StringComparison.Ordinal);

        Assert.False(JsonSerializer.Deserialize<RunStageAgentInput>(json, EngineJson.Options)!.OpensPr);

        // A definition stored before opens_pr existed (no such key) keeps the default: from development on.
        var definition = JsonSerializer.Deserialize<PipelineDefinition>(JsonSerializer.Serialize(PipelineDefinition.Default, EngineJson.Options), EngineJson.Options)!;
        Assert.All(definition.Stages, s => Assert.Null(s.OpensPr));
        Assert.Equal([false, false, true, true, true, true], definition.Stages.Select(s => definition.OpensPr(s.Name)));
    }
}

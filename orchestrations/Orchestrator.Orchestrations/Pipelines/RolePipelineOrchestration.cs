using System.Globalization;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Tasks;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Orchestrations.Pipelines;

/// <summary>
/// The role pipeline: analysis → architecture → development → review → testing → deploy → done, each
/// stage run by a role agent and closed by a gate (artifacts, front-matter verdict, CI), with rollbacks
/// to development, a developer round limit, an optional human approval gate, budgets and one tracker
/// comment per finished stage — as a pure decider. See <c>Pipelines/README.md</c> for the diagram.
/// </summary>
/// <remarks>
/// <see cref="Decision{TState}.CustomStatus"/> shows the current stage upper-cased while it runs, gates
/// or waits for CI (<c>ANALYSIS</c>, <c>ARCHITECTURE</c>, <c>DEVELOPMENT</c>, <c>REVIEW</c>,
/// <c>TESTING</c>, <c>DEPLOY</c>), <c>WAITING_APPROVAL</c> at the human gate, the task statuses
/// <c>DEPLOYED</c> (done), <c>FAILED</c> and <c>CANCELLED</c>, and <c>TAKEN_OVER</c> when a person merged the PR
/// before the pipeline finished.
/// </remarks>
public sealed class RolePipelineOrchestration : IOrchestration<RolePipelineState, RolePipelineEvent>
{
    /// <summary>Name stored on instances.</summary>
    public const string OrchestrationName = "RolePipeline";

    /// <summary>Name of the CI poll timer.</summary>
    public const string CiPollTimer = "ci-poll";

    /// <summary>Name of the approval poll timer.</summary>
    public const string ApprovalPollTimer = "approval-poll";

    /// <summary>Custom status after a person merged the PR before the pipeline finished (<see cref="PipelineTakenOver"/>).</summary>
    public const string TakenOverStatus = "TAKEN_OVER";

    /// <summary>Key of the one comment posted when the pipeline is taken over.</summary>
    public const string TakenOverCommentKey = "taken-over";

    /// <summary>The failure reason when a budget is spent.</summary>
    public const string BudgetExceeded = "budget exceeded";

    /// <summary>Custom status while waiting at the approval gate.</summary>
    public const string WaitingApprovalStatus = "WAITING_APPROVAL";

    /// <summary>
    /// Retry of an agent run: 3 attempts, 1 min then 2 min (capped at 15 min), for transient failures
    /// (429, overloaded, 5xx, connection); the engine honours a longer <c>Retry-After</c>.
    /// </summary>
    public static RetryPolicy AgentRetry { get; } = new(3, TimeSpan.FromMinutes(1), 2.0, TimeSpan.FromMinutes(15));

    /// <summary>Retry of gate, CI and approval reads (the platform APIs).</summary>
    public static RetryPolicy ReadRetry { get; } = RetryPolicy.ExternalApi with { MaxAttempts = 3 };

    /// <inheritdoc />
    public string Name => OrchestrationName;

    /// <inheritdoc />
    public RolePipelineEvent ActivityFailed(string activity, string key, string error, int attempts) =>
        new PipelineActivityFailed(activity, key, error, attempts);

    /// <inheritdoc />
    public RolePipelineEvent TimerFired(string name, string key) => new PipelineTimerFired(name, key);

    /// <inheritdoc />
    public Decision<RolePipelineState> Decide(RolePipelineState? state, RolePipelineEvent @event, DateTimeOffset now)
    {
        if (state is null)
        {
            if (@event is not RolePipelineStarted started)
            {
                throw new InvalidOperationException($"A role pipeline starts with {nameof(RolePipelineStarted)}, not {@event.GetType().Name}.");
            }

            return Start(started, now).Build();
        }

        return Apply(new Step(state), @event, now).Build();
    }

    private static Step Start(RolePipelineStarted e, DateTimeOffset now)
    {
        var def = e.Definition;
        var s = new RolePipelineState
        {
            Task = e.Task,
            Definition = def,
            Branch = string.IsNullOrWhiteSpace(e.Task.Branch) ? $"orchestrator/{e.Task.TaskKey}" : e.Task.Branch,
            Stage = def.Stages.Count > 0 ? def.Stages[0].Name : PipelineStages.Done,
            Phase = PipelinePhase.RunningAgent,
            TaskBudgetUsd = def.TaskBudgetUsd,
            ProjectRemainingUsd = e.ProjectBudgetRemainingUsd,
            StartedAt = now,
            StageStartedAt = now,
        };
        var step = new Step(s).Say($"Role pipeline started for {e.Task.TaskKey}: {string.Join(" → ", def.Stages.Select(x => x.Name))} → done");
        return def.Stages.Count == 0 ? Complete(step, now) : BeginStage(step, def.Stages[0], newRound: false, now);
    }

    private static Step Apply(Step step, RolePipelineEvent @event, DateTimeOffset now)
    {
        var s = step.State;
        switch (@event)
        {
            case StageRunCompleted r when r.Execution == s.Execution && s.Phase == PipelinePhase.RunningAgent && r.Stage == s.Stage:
                return OnRunCompleted(step, r, now);

            case GateChecked g when g.Execution == s.Execution && s.Phase == PipelinePhase.CheckingGate && g.Stage == s.Stage:
                return OnGateChecked(step, g, now);

            case StageCiChecked c when c.Execution == s.Execution && s.Phase == PipelinePhase.WaitingCi:
                return OnCiChecked(step, c, now);

            case PipelineTimerFired t when t.Name == CiPollTimer && t.Key == s.TimerKey && s.Phase == PipelinePhase.WaitingCi:
            {
                step.State = s with { TimerKey = null };
                if (s.CiDeadline is { } deadline && now >= deadline)
                {
                    return CiTimedOut(step, now);
                }

                step.State = step.State with { CiPolls = s.CiPolls + 1 };
                return step.Do(CheckCi(step.State));
            }

            case ApprovalChanged a when s.Phase == PipelinePhase.WaitingApproval:
                return OnApproval(step, a, now);

            case PipelineTimerFired t when t.Name == ApprovalPollTimer && t.Key == s.TimerKey && s.Phase == PipelinePhase.WaitingApproval:
            {
                var approval = s.Definition.Approval!;
                step.State = s with { TimerKey = null, ApprovalPolls = s.ApprovalPolls + 1 };
                return step.Do(new ScheduleActivity(
                    RolePipelineActivities.CheckApproval,
                    new CheckApprovalInput(s.Task.TrackerProjectId, s.Task.WorkItemId, approval.ApprovedState, approval.RejectedState),
                    $"approval:{s.Execution}:{step.State.ApprovalPolls}",
                    ReadRetry));
            }

            case BudgetUpdated b:
            {
                step.State = s with
                {
                    TaskBudgetUsd = b.TaskBudgetUsd ?? s.TaskBudgetUsd,
                    ProjectRemainingUsd = b.ProjectBudgetRemainingUsd ?? s.ProjectRemainingUsd,
                    SpentAtProjectSnapshot = b.ProjectBudgetRemainingUsd is null ? s.SpentAtProjectSnapshot : s.SpentUsd,
                };
                return step.Say(
                    $"Budget updated: task {Usd(step.State.TaskBudgetUsd)}, project remaining {Usd(step.State.ProjectRemainingNowUsd)}");
            }

            case PipelineRetryRequested r when s.Phase == PipelinePhase.Failed && s.RetryFrom is { } from:
                return Retry(step, r, from, now);

            case PipelineTakenOver t when !IsFinished(s.Phase):
                return TakeOver(step, t, now);

            case PipelineCancelled c when !IsFinished(s.Phase):
                step.State = s with { Phase = PipelinePhase.Cancelled, TimerKey = null, FinishedAt = now };
                return step.Say($"Cancelled: {c.Reason}");

            case PipelineCommentPosted c:
                return step.Say(c.ItemGone ? $"Comment not posted ({c.Key}): the tracker item no longer exists"
                    : c.Created ? $"Comment posted ({c.Key})" : $"Comment already posted ({c.Key})");

            case PipelineActivityFailed f:
                return OnActivityFailed(step, f, now);

            default:
                // Late, duplicate or stale events (an older execution's result, a timer that was superseded) change nothing.
                return step;
        }
    }

    // ----- stage start -------------------------------------------------------------------------

    private static Step BeginStage(Step step, StageDefinition stage, bool newRound, DateTimeOffset now)
    {
        var s = step.State;

        // Budget check before every run (issue: "when spent, no new agent run starts").
        if (BudgetProblem(s) is { } detail)
        {
            step.State = s with
            {
                Stage = stage.Name,
                Phase = PipelinePhase.Failed,
                FailureReason = BudgetExceeded,
                RetryFrom = newRound ? RetryPoint.NewRound : RetryPoint.Stage,
                TimerKey = null,
                FinishedAt = now,
            };
            return Escalate(step, BudgetExceeded, $"{detail} No new agent run will start ({stage.Name} was next).",
                    "Raise the budget and retry the task.")
                .Say($"Failed: {BudgetExceeded} before {stage.Name} ({detail})");
        }

        var round = stage.Name == PipelineStages.Development && (newRound || s.Round == 0) ? s.Round + 1 : s.Round;
        var execution = s.Execution + 1;
        step.State = s with
        {
            Stage = stage.Name,
            Phase = PipelinePhase.RunningAgent,
            Execution = execution,
            Round = round,
            StageStartedAt = now,
            StageArtifacts = [],
            StageVerdict = null,
            CiDeadline = null,
            CiPolls = 0,
            CiUrl = null,
            TimerKey = null,
            FailureReason = null,
            RetryFrom = null,
            FinishedAt = null,
            Runs = [.. s.Runs, new StageRun(execution, stage.Name, round, stage.Agent, now)],
        };

        var roundText = stage.Name == PipelineStages.Development
            ? string.Create(CultureInfo.InvariantCulture, $" (round {round} of {s.Definition.MaxDeveloperRounds})")
            : "";
        return step
            .Do(new ScheduleActivity(RolePipelineActivities.RunStageAgent, RunInput(step.State, stage), $"run:{execution}", AgentRetry))
            .Say($"{stage.Name}: {stage.Agent} started{roundText}");
    }

    private static RunStageAgentInput RunInput(RolePipelineState s, StageDefinition stage)
    {
        var def = s.Definition;
        var dir = def.WorkItemDirectory(s.Task.TaskKey);
        var earlier = s.Runs
            .Where(r => r.Succeeded == true && r.Stage != stage.Name)
            .Select(r => r.Stage)
            .Distinct()
            .Select(def.Find)
            .OfType<StageDefinition>()
            .OrderBy(x => PipelineStages.IndexOf(x.Name))
            .SelectMany(x => x.Artifacts)
            .Select(a => $"{dir}/{a}")
            .ToList();
        var history = stage.Name == PipelineStages.Development
            ? s.Rounds.Select(r => new RoundSummary(
                r.Round,
                string.IsNullOrWhiteSpace(r.Tried) ? null : StageComments.Gist(r.Tried, 300),
                r.RejectedBy,
                r.Verdict,
                StageComments.Gist(r.Findings, 300))).ToList()
            : [];

        return new RunStageAgentInput(
            s.Task.InstanceId,
            s.Execution,
            s.Task.TaskKey,
            s.Task.Title,
            s.Task.TaskSpec,
            s.Task.Repo,
            s.Branch,
            stage.Name,
            stage.Role,
            stage.Agent,
            stage.PromptPath,
            dir,
            [.. stage.Artifacts.Select(a => $"{dir}/{a}")],
            earlier,
            stage.VerdictArtifact is { } v ? $"{dir}/{v}" : null,
            s.Round,
            def.MaxDeveloperRounds,
            s.FeedbackStage == stage.Name ? s.Feedback : null,
            history,
            def.OpensPr(stage.Name));
    }

    private static string? BudgetProblem(RolePipelineState s)
    {
        if (s.TaskBudgetUsd is { } task && s.SpentUsd >= task)
        {
            return $"The task spent {StageComments.FormatCost(s.SpentUsd)} of its {StageComments.FormatCost(task)} budget.";
        }

        if (s.ProjectRemainingNowUsd is { } project && project <= 0)
        {
            return "The project budget is used up.";
        }

        return null;
    }

    // ----- run, gate, CI -------------------------------------------------------------------------

    private static Step OnRunCompleted(Step step, StageRunCompleted r, DateTimeOffset now)
    {
        var s = step.State;
        var stage = CurrentStage(s);
        step.State = s with
        {
            Runs = [.. s.Runs.Select(x => x.Execution == r.Execution && x.FinishedAt is null
                ? x with
                {
                    FinishedAt = now,
                    Succeeded = r.Succeeded,
                    FailureReason = r.Succeeded ? null : r.FailureReason,
                    TokensIn = r.TokensIn,
                    TokensOut = r.TokensOut,
                    CostUsd = r.CostUsd,
                    Duration = r.Duration,
                    HeadSha = r.HeadSha,
                    Summary = r.Summary,
                }
                : x)],
            SpentUsd = s.SpentUsd + (r.CostUsd ?? 0m),
            Branch = string.IsNullOrWhiteSpace(r.Branch) ? s.Branch : r.Branch,
            HeadSha = r.HeadSha ?? s.HeadSha,
            PrNumber = r.PrNumber ?? s.PrNumber,
            PrUrl = r.PrUrl ?? s.PrUrl,
        };

        if (!r.Succeeded)
        {
            var reason = $"{stage.Name} agent failed: {(string.IsNullOrWhiteSpace(r.FailureReason) ? "no reason given" : r.FailureReason)}";
            return FailStage(step, reason, RetryPoint.Stage, "agent run failed", feedback: null, now);
        }

        step.State = step.State with { Phase = PipelinePhase.CheckingGate };
        return step
            .Do(CheckGate(step.State, stage))
            .Say($"{stage.Name}: agent finished in {StageComments.FormatDuration(r.Duration)}" +
                 (r.CostUsd is { } c ? $" ({StageComments.FormatCost(c)})" : "") + "; checking the gate");
    }

    private static Step OnGateChecked(Step step, GateChecked g, DateTimeOffset now)
    {
        var s = step.State;
        var stage = CurrentStage(s);
        var outcome = g.Outcome == GateOutcome.Rejected && stage.Gate == GateKind.Artifacts ? GateOutcome.Failed : g.Outcome;
        step.State = s with
        {
            Gates = [.. s.Gates, new StageGateResult(s.Execution, stage.Name, s.Round, outcome, g.Verdict, g.Reason, now, g.Artifacts)],
            StageArtifacts = g.Artifacts,
            StageVerdict = g.Verdict,
        };

        switch (outcome)
        {
            case GateOutcome.Passed when stage.RequiresCi:
                step.State = step.State with
                {
                    Phase = PipelinePhase.WaitingCi,
                    CiDeadline = now + s.Definition.Ci.Timeout,
                    CiPolls = 1,
                    TimerKey = null,
                };
                return step.Do(CheckCi(step.State)).Say($"{stage.Name}: gate passed ({g.Reason}); waiting for CI");
            case GateOutcome.Passed:
                return StagePassed(step.Say($"{stage.Name}: gate passed ({g.Reason})"), now);
            case GateOutcome.Rejected:
                return Rollback(step, stage, g, now);
            default:
                var findings = string.IsNullOrWhiteSpace(g.Findings) ? g.Reason : $"{g.Reason}\n\n{g.Findings}";
                return FailStage(step, $"{stage.Name} gate failed: {g.Reason}", RetryPoint.Stage, "gate failed",
                    new StageFeedback(stage.Name, g.Verdict, findings), now);
        }
    }

    private static Step OnCiChecked(Step step, StageCiChecked c, DateTimeOffset now)
    {
        var s = step.State;
        var stage = CurrentStage(s);
        switch (c.Outcome)
        {
            case CiOutcome.Success:
                step.State = s with
                {
                    CiUrl = c.Url ?? s.CiUrl,
                    Gates = [.. s.Gates, new StageGateResult(s.Execution, stage.Name, s.Round, GateOutcome.Passed, null, $"CI green on {Short(c.Sha)}: {c.Detail}", now, [])],
                };
                return StagePassed(step.Say($"{stage.Name}: CI green on {Short(c.Sha)} ({c.Detail})"), now);
            case CiOutcome.Failure:
            {
                var reason = $"CI failed on {Short(c.Sha)}: {c.Detail}";
                step.State = s with
                {
                    CiUrl = c.Url ?? s.CiUrl,
                    Gates = [.. s.Gates, new StageGateResult(s.Execution, stage.Name, s.Round, GateOutcome.Failed, null, reason, now, [])],
                };
                var text = c.Url is { } url ? $"{reason}\nRun: {url}" : reason;
                return FailStage(step, $"{stage.Name} gate failed: {reason}", RetryPoint.Stage, "CI failed",
                    new StageFeedback(stage.Name, null, text), now);
            }

            default:
                return CiPending(step, now);
        }
    }

    private static Step CiPending(Step step, DateTimeOffset now)
    {
        var s = step.State;
        if (s.CiDeadline is { } deadline && now >= deadline)
        {
            return CiTimedOut(step, now);
        }

        if (s.TimerKey is not null)
        {
            return step;
        }

        var due = now + s.Definition.Ci.PollInterval;
        if (s.CiDeadline is { } d && due > d)
        {
            due = d;
        }

        var key = $"ci-poll:{s.Execution}:{s.Retries}:{s.CiPolls}";
        step.State = s with { TimerKey = key };
        return step.Do(new StartTimer(CiPollTimer, due, key));
    }

    private static Step CiTimedOut(Step step, DateTimeOffset now)
    {
        var s = step.State;
        var stage = CurrentStage(s);
        var reason = $"CI did not finish within {StageComments.FormatDuration(s.Definition.Ci.Timeout)}" +
                     (s.HeadSha is { } sha ? $" on {Short(sha)}" : "");
        step.State = s with
        {
            TimerKey = null,
            Gates = [.. s.Gates, new StageGateResult(s.Execution, stage.Name, s.Round, GateOutcome.Failed, null, reason, now, [])],
        };
        return FailStage(step, $"{stage.Name} gate failed: {reason}", RetryPoint.Ci, "CI timed out", feedback: null, now);
    }

    // ----- stage end -----------------------------------------------------------------------------

    private static Step StagePassed(Step step, DateTimeOffset now)
    {
        var s = step.State;
        var stage = CurrentStage(s);
        if (s.FeedbackStage == stage.Name)
        {
            step.State = s = s with { Feedback = null, FeedbackStage = null };
        }

        var outcome = stage.Gate switch
        {
            GateKind.Review => "approved",
            GateKind.Test => "tests passed",
            GateKind.Deploy => "deployed",
            _ => "passed",
        };

        if (s.Definition.Approval is { } approval && approval.AfterStage == stage.Name)
        {
            var key = $"approval-poll:{s.Execution}:{s.ApprovalPolls}";
            StageComment(step, $"{outcome}; waiting for approval: move the item to '{approval.ApprovedState}' or '{approval.RejectedState}'", now);
            step.State = step.State with { Phase = PipelinePhase.WaitingApproval, TimerKey = key };
            return step
                .Do(new StartTimer(ApprovalPollTimer, now + approval.PollInterval, key))
                .Say($"{stage.Name} passed; waiting for approval ('{approval.ApprovedState}' or '{approval.RejectedState}')");
        }

        var next = s.Definition.After(stage.Name);
        StageComment(step, next is null ? outcome : $"{outcome}; next: {next.Name}", now);
        return next is null ? Complete(step, now) : BeginStage(step, next, newRound: false, now);
    }

    private static Step Rollback(Step step, StageDefinition stage, GateChecked g, DateTimeOffset now)
    {
        var s = step.State;
        var def = s.Definition;
        var findings = string.IsNullOrWhiteSpace(g.Findings) ? g.Reason : g.Findings.Trim();
        var tried = s.Runs.LastOrDefault(r => r.Stage == PipelineStages.Development && r.Succeeded == true)?.Summary;
        var what = stage.Gate switch
        {
            GateKind.Review => "changes requested",
            GateKind.Test => "tests failed",
            _ => "deploy failed",
        };
        step.State = s with
        {
            Rounds = [.. s.Rounds, new DeveloperRound(s.Round, tried, stage.Name, g.Verdict, findings)],
            Feedback = new StageFeedback(stage.Name, g.Verdict, findings),
            FeedbackStage = PipelineStages.Development,
        };

        if (def.Find(PipelineStages.Development) is not { } development)
        {
            return FailStage(step, $"{stage.Name}: {what}, and the pipeline has no development stage to roll back to",
                RetryPoint.Stage, what, feedback: null, now);
        }

        if (s.Round >= def.MaxDeveloperRounds)
        {
            var reason = string.Create(CultureInfo.InvariantCulture,
                $"developer round limit reached ({def.MaxDeveloperRounds}): {stage.Name} {what}");
            StageComment(step, $"{what}; developer round limit reached", now);
            step.State = step.State with
            {
                Stage = PipelineStages.Development,
                Phase = PipelinePhase.Failed,
                FailureReason = reason,
                RetryFrom = RetryPoint.NewRound,
                FinishedAt = now,
            };
            return Escalate(step, "developer round limit reached",
                    string.Create(CultureInfo.InvariantCulture, $"{def.MaxDeveloperRounds} developer round(s) did not get past {stage.Name}; a human needs to look."),
                    "Retry the task to allow one more developer round, or take over the branch.")
                .Say($"Failed: {reason}");
        }

        StageComment(step, string.Create(CultureInfo.InvariantCulture, $"{what}; back to development (round {s.Round + 1} of {def.MaxDeveloperRounds})"), now);
        step.Say($"{stage.Name}: {what} ({g.Verdict ?? g.Reason}); rolling back to development");
        return BeginStage(step, development, newRound: true, now);
    }

    private static Step OnApproval(Step step, ApprovalChanged a, DateTimeOffset now)
    {
        var s = step.State;
        var stage = CurrentStage(s);
        switch (a.Decision)
        {
            case ApprovalDecision.Approved:
            {
                step.State = s with { TimerKey = null };
                step.Say($"{stage.Name} approved");
                var next = s.Definition.After(stage.Name);
                return next is null ? Complete(step, now) : BeginStage(step, next, newRound: false, now);
            }

            case ApprovalDecision.Rejected:
            {
                var reason = string.IsNullOrWhiteSpace(a.Reason) ? "no reason given" : a.Reason.Trim();
                var failure = $"rejected at approval: {StageComments.Gist(reason, 200)}";
                step.State = s with
                {
                    Phase = PipelinePhase.Failed,
                    TimerKey = null,
                    FailureReason = failure,
                    RetryFrom = RetryPoint.Stage,
                    FinishedAt = now,
                    Feedback = new StageFeedback("approval", "REJECTED", reason),
                    FeedbackStage = stage.Name,
                };
                return Escalate(step, $"{stage.Name} rejected", $"Reason: {reason}",
                        $"Retry the task to run {stage.Name} again with this feedback.")
                    .Say($"Failed: {failure}");
            }

            default:
                return ApprovalPending(step, now);
        }
    }

    private static Step ApprovalPending(Step step, DateTimeOffset now)
    {
        var s = step.State;
        if (s.TimerKey is not null)
        {
            return step;
        }

        var key = $"approval-poll:{s.Execution}:{s.ApprovalPolls}";
        step.State = s with { TimerKey = key };
        return step.Do(new StartTimer(ApprovalPollTimer, now + s.Definition.Approval!.PollInterval, key));
    }

    /// <summary>
    /// A person merged the task's PR before the last stage passed: stop for good — no stage starts again, and the
    /// results still on their way (the running agent, a gate, CI, timers) no longer match the phase and are ignored —
    /// and post one comment naming the skipped stages. The task pipeline's merge → CI path decides from here.
    /// </summary>
    private static Step TakeOver(Step step, PipelineTakenOver t, DateTimeOffset now)
    {
        var s = step.State;
        var def = s.Definition;

        // At the approval gate the current stage already passed; otherwise it is skipped with everything after it.
        var first = s.Phase == PipelinePhase.WaitingApproval ? def.After(s.Stage)?.Name : s.Stage;
        IReadOnlyList<string> skipped = first is null ? [] : [.. def.Stages.SkipWhile(x => x.Name != first).Select(x => x.Name)];
        var running = s.Phase == PipelinePhase.RunningAgent ? s.Stage : null;
        var prUrl = t.PrUrl ?? (t.PrNumber == s.PrNumber ? s.PrUrl : null);
        step.State = s with
        {
            Phase = PipelinePhase.TakenOver,
            TimerKey = null,
            FinishedAt = now,
            FailureReason = null,
            RetryFrom = null,
            PrNumber = t.PrNumber,
            PrUrl = prUrl,
            Runs = [.. s.Runs.Select(x => x.Execution == s.Execution && x.FinishedAt is null
                ? x with { FinishedAt = now, Succeeded = false, FailureReason = "stopped: the pull request was merged before the stage finished" }
                : x)],
        };

        var html = StageComments.TakenOver(s.Task.TaskKey, t.PrNumber, prUrl, skipped, running);
        return step
            .Do(new ScheduleActivity(
                RolePipelineActivities.PostEscalationComment,
                new PostEscalationCommentInput(s.Task.TrackerProjectId, s.Task.WorkItemId, TakenOverCommentKey, html, "pull request merged before the pipeline finished"),
                $"comment:{TakenOverCommentKey}",
                RetryPolicy.ExternalApi))
            .Say(string.Create(CultureInfo.InvariantCulture,
                $"Taken over: PR #{t.PrNumber} was merged before the pipeline finished; ") +
                (skipped.Count == 0 ? "no stage was left" : $"skipped {string.Join(", ", skipped)}"));
    }

    private static bool IsFinished(PipelinePhase phase) => phase is PipelinePhase.Done or PipelinePhase.Cancelled or PipelinePhase.TakenOver;

    private static Step Complete(Step step, DateTimeOffset now)
    {
        var s = step.State;
        step.State = s with { Stage = PipelineStages.Done, Phase = PipelinePhase.Done, TimerKey = null, FinishedAt = now };
        var rounds = s.Round > 0 ? string.Create(CultureInfo.InvariantCulture, $", {s.Round} developer round(s)") : "";
        return step.Say($"DEPLOYED: every stage passed in {StageComments.FormatDuration(now - s.StartedAt)}{rounds}, {StageComments.FormatCost(s.SpentUsd)} spent");
    }

    private static Step FailStage(Step step, string reason, RetryPoint retry, string outcome, StageFeedback? feedback, DateTimeOffset now)
    {
        StageComment(step, $"{outcome}: {reason}", now);
        var s = step.State;
        step.State = s with
        {
            Phase = PipelinePhase.Failed,
            FailureReason = reason,
            RetryFrom = retry,
            TimerKey = null,
            FinishedAt = now,
            Feedback = feedback ?? s.Feedback,
            FeedbackStage = feedback is null ? s.FeedbackStage : s.Stage,
        };
        return step.Say($"Failed: {reason}");
    }

    private static Step Retry(Step step, PipelineRetryRequested r, RetryPoint from, DateTimeOffset now)
    {
        var s = step.State with { Retries = step.State.Retries + 1, FailureReason = null, FinishedAt = null };
        if (r.ProjectBudgetRemainingUsd is { } remaining)
        {
            s = s with { ProjectRemainingUsd = remaining, SpentAtProjectSnapshot = s.SpentUsd };
        }

        step.State = s;
        var stage = CurrentStage(s);
        step.Say($"Retry requested; resuming {stage.Name} at {from}");
        switch (from)
        {
            case RetryPoint.Gate:
                step.State = s with { Phase = PipelinePhase.CheckingGate, RetryFrom = null, StageStartedAt = now };
                return step.Do(CheckGate(step.State, stage));
            case RetryPoint.Ci:
                step.State = s with
                {
                    Phase = PipelinePhase.WaitingCi,
                    RetryFrom = null,
                    CiDeadline = now + s.Definition.Ci.Timeout,
                    CiPolls = 1,
                    TimerKey = null,
                    StageStartedAt = now,
                };
                return step.Do(CheckCi(step.State));
            case RetryPoint.NewRound:
                return BeginStage(step, s.Definition.Find(PipelineStages.Development) ?? stage, newRound: true, now);
            default:
                return BeginStage(step, stage, newRound: false, now);
        }
    }

    private static Step OnActivityFailed(Step step, PipelineActivityFailed f, DateTimeOffset now)
    {
        var s = step.State;
        var reason = $"{f.Activity} failed after {f.Attempts} attempt(s): {f.Error}";
        switch (f.Activity)
        {
            case RolePipelineActivities.RunStageAgent when s.Phase == PipelinePhase.RunningAgent && f.Key == $"run:{s.Execution}":
                step.State = s with
                {
                    Runs = [.. s.Runs.Select(x => x.Execution == s.Execution && x.FinishedAt is null
                        ? x with { FinishedAt = now, Succeeded = false, FailureReason = f.Error }
                        : x)],
                };
                return FailStage(step, $"{s.Stage} agent failed after {f.Attempts} attempt(s): {f.Error}", RetryPoint.Stage,
                    "agent run failed", feedback: null, now);
            case RolePipelineActivities.CheckStageGate when s.Phase == PipelinePhase.CheckingGate && f.Key == GateKey(s):
                return FailStage(step, $"{s.Stage} gate check failed after {f.Attempts} attempt(s): {f.Error}", RetryPoint.Gate,
                    "gate check failed", feedback: null, now);
            case RolePipelineActivities.CheckStageCi when s.Phase == PipelinePhase.WaitingCi && f.Key == CiKey(s):
                // The poll timer keeps going; the CI deadline bounds the wait.
                step.State = s with { Warnings = [.. s.Warnings, reason] };
                return CiPending(step.Say($"CI check failed ({f.Error}); will poll again"), now);
            case RolePipelineActivities.CheckApproval when s.Phase == PipelinePhase.WaitingApproval:
                step.State = s with { Warnings = [.. s.Warnings, reason] };
                return ApprovalPending(step.Say($"Approval check failed ({f.Error}); will poll again"), now);
            case RolePipelineActivities.RunStageAgent or RolePipelineActivities.CheckStageGate or RolePipelineActivities.CheckStageCi
                or RolePipelineActivities.CheckApproval:
                return step; // stale: an earlier execution's call
            default:
                step.State = s with { Warnings = [.. s.Warnings, reason] };
                return step.Say($"Warning: {reason}");
        }
    }

    // ----- comments and commands -------------------------------------------------------------------

    private static void StageComment(Step step, string outcome, DateTimeOffset now)
    {
        var s = step.State;
        var stage = CurrentStage(s);
        var run = s.Runs.LastOrDefault(r => r.Execution == s.Execution);
        var showRound = PipelineStages.IndexOf(stage.Name) >= PipelineStages.IndexOf(PipelineStages.Development) && s.Round > 0;
        var report = new StageReport(
            stage.Name,
            stage.Role,
            showRound ? s.Round : null,
            outcome,
            s.StageVerdict,
            now - s.StageStartedAt,
            run?.TokensIn,
            run?.TokensOut,
            run?.CostUsd,
            s.StageArtifacts,
            s.PrNumber,
            s.PrUrl);
        var key = $"stage:{s.Execution}:{s.Retries}";
        step.Do(new ScheduleActivity(
            RolePipelineActivities.PostStageComment,
            new PostStageCommentInput(s.Task.TrackerProjectId, s.Task.WorkItemId, key, StageComments.Render(report), report),
            $"comment:{key}",
            RetryPolicy.ExternalApi));
    }

    private static Step Escalate(Step step, string reason, string? detail, string hint)
    {
        var s = step.State with { Escalations = step.State.Escalations + 1 };
        step.State = s;
        var key = $"escalation:{s.Escalations}";
        var html = StageComments.Escalation(s.Task.TaskKey, reason, detail, s.SpentUsd, s.Feedback, s.Rounds, hint);
        return step.Do(new ScheduleActivity(
            RolePipelineActivities.PostEscalationComment,
            new PostEscalationCommentInput(s.Task.TrackerProjectId, s.Task.WorkItemId, key, html, reason),
            $"comment:{key}",
            RetryPolicy.ExternalApi));
    }

    private static ScheduleActivity CheckGate(RolePipelineState s, StageDefinition stage)
    {
        var dir = s.Definition.WorkItemDirectory(s.Task.TaskKey);
        return new ScheduleActivity(
            RolePipelineActivities.CheckStageGate,
            new CheckStageGateInput(
                s.Execution,
                s.Task.Repo,
                s.Branch,
                s.HeadSha,
                stage.Name,
                stage.Gate,
                [.. stage.Artifacts.Select(a => $"{dir}/{a}")],
                stage.VerdictArtifact is { } v ? $"{dir}/{v}" : null),
            GateKey(s),
            ReadRetry);
    }

    private static ScheduleActivity CheckCi(RolePipelineState s) => new(
        RolePipelineActivities.CheckStageCi,
        new CheckStageCiInput(s.Execution, s.Task.Repo, s.Branch, s.HeadSha),
        CiKey(s),
        ReadRetry);

    private static string GateKey(RolePipelineState s) => $"gate:{s.Execution}:{s.Retries}";

    private static string CiKey(RolePipelineState s) => $"ci:{s.Execution}:{s.Retries}:{s.CiPolls}";

    private static StageDefinition CurrentStage(RolePipelineState s) =>
        s.Definition.Find(s.Stage) ?? throw new InvalidOperationException($"Stage '{s.Stage}' is not in the pipeline definition.");

    private static string Short(string sha) => sha.Length > 7 ? sha[..7] : sha;

    private static string Usd(decimal? usd) => usd is { } v ? StageComments.FormatCost(v) : "unlimited";

    /// <summary>Accumulates one decision.</summary>
    private sealed class Step(RolePipelineState state)
    {
        private readonly List<OrchestrationCommand> _commands = [];
        private readonly List<string> _summaries = [];

        public RolePipelineState State { get; set; } = state;

        public Step Do(OrchestrationCommand command)
        {
            _commands.Add(command);
            return this;
        }

        public Step Say(string summary)
        {
            _summaries.Add(summary);
            return this;
        }

        public Decision<RolePipelineState> Build() => new(
            State,
            _commands,
            CustomStatusOf(State),
            State.Phase switch
            {
                PipelinePhase.Done or PipelinePhase.Cancelled or PipelinePhase.TakenOver => RuntimeStatus.Completed,
                PipelinePhase.Failed => RuntimeStatus.Failed,
                _ => RuntimeStatus.Running,
            },
            _summaries.Count == 0 ? null : string.Join("; ", _summaries),
            []);
    }

    /// <summary>The user-facing status of a state (see the class remarks).</summary>
    public static string CustomStatusOf(RolePipelineState state) => state.Phase switch
    {
        PipelinePhase.Done => nameof(TaskStatus.DEPLOYED),
        PipelinePhase.Failed => nameof(TaskStatus.FAILED),
        PipelinePhase.Cancelled => nameof(TaskStatus.CANCELLED),
        PipelinePhase.WaitingApproval => WaitingApprovalStatus,
        PipelinePhase.TakenOver => TakenOverStatus,
        _ => state.Stage.ToUpperInvariant(),
    };
}

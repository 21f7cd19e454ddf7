namespace Orchestrator.Orchestrations.Pipelines;

/// <summary>Where a role pipeline instance is within its current stage.</summary>
public enum PipelinePhase
{
    /// <summary>The stage's agent is running (<see cref="RolePipelineActivities.RunStageAgent"/>).</summary>
    RunningAgent,

    /// <summary>Artifacts and verdict are being read (<see cref="RolePipelineActivities.CheckStageGate"/>).</summary>
    CheckingGate,

    /// <summary>Waiting for CI on the branch head (polls bounded by <see cref="CiPolicy.Timeout"/>).</summary>
    WaitingCi,

    /// <summary>Waiting for a human to move the tracker item to the approved or rejected state.</summary>
    WaitingApproval,

    /// <summary>Every stage passed.</summary>
    Done,

    /// <summary>Stopped with <see cref="RolePipelineState.FailureReason"/>; a retry resumes at <see cref="RolePipelineState.RetryFrom"/>.</summary>
    Failed,

    /// <summary>The tracker item was cancelled.</summary>
    Cancelled,

    /// <summary>
    /// The task's PR was merged before the last stage passed (<see cref="PipelineTakenOver"/>): a person took over,
    /// the remaining stages were skipped, and the task pipeline's merge → CI path decides the task.
    /// </summary>
    TakenOver,
}

/// <summary>Where <see cref="PipelineRetryRequested"/> resumes a failed task.</summary>
public enum RetryPoint
{
    /// <summary>Run the failed stage's agent again (with the failure as feedback).</summary>
    Stage,

    /// <summary>Check the gate again (the gate check itself failed, not the agent's work).</summary>
    Gate,

    /// <summary>Wait for CI again (CI did not finish in time).</summary>
    Ci,

    /// <summary>Start one more developer round (after the round limit was reached: the retry is a human's permission for one more).</summary>
    NewRound,
}

/// <summary>One agent run (shown on the task page).</summary>
/// <param name="Execution">Stage execution number.</param>
/// <param name="Stage">Stage name.</param>
/// <param name="Round">Developer round at the time (0 before development).</param>
/// <param name="Agent">Agent name.</param>
/// <param name="StartedAt">When it was scheduled.</param>
/// <param name="FinishedAt">When its result arrived, or <c>null</c> while running.</param>
/// <param name="Succeeded">Whether it succeeded (<c>null</c> while running).</param>
/// <param name="FailureReason">Why it failed.</param>
/// <param name="TokensIn">Input tokens.</param>
/// <param name="TokensOut">Output tokens.</param>
/// <param name="CostUsd">Cost in USD.</param>
/// <param name="Duration">Agent wall-clock time.</param>
/// <param name="HeadSha">Branch head after the run.</param>
/// <param name="Summary">The agent's final message.</param>
public sealed record StageRun(
    int Execution,
    string Stage,
    int Round,
    string Agent,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt = null,
    bool? Succeeded = null,
    string? FailureReason = null,
    long? TokensIn = null,
    long? TokensOut = null,
    decimal? CostUsd = null,
    TimeSpan? Duration = null,
    string? HeadSha = null,
    string? Summary = null);

/// <summary>One gate decision (shown on the task page); CI results are recorded as gate results too.</summary>
/// <param name="Execution">Stage execution number.</param>
/// <param name="Stage">Stage name.</param>
/// <param name="Round">Developer round at the time.</param>
/// <param name="Outcome">Passed, rejected or failed.</param>
/// <param name="Verdict">Canonical verdict, if any.</param>
/// <param name="Reason">Why.</param>
/// <param name="CheckedAt">When.</param>
/// <param name="Artifacts">Artifact links.</param>
public sealed record StageGateResult(
    int Execution,
    string Stage,
    int Round,
    GateOutcome Outcome,
    string? Verdict,
    string Reason,
    DateTimeOffset CheckedAt,
    IReadOnlyList<ArtifactLink> Artifacts);

/// <summary>A developer round that a later stage rejected (full findings kept).</summary>
/// <param name="Round">Round number.</param>
/// <param name="Tried">The developer's final message of that round.</param>
/// <param name="RejectedBy">Stage that rejected it.</param>
/// <param name="Verdict">Its verdict.</param>
/// <param name="Findings">Full findings text.</param>
public sealed record DeveloperRound(int Round, string? Tried, string RejectedBy, string? Verdict, string Findings);

/// <summary>
/// Durable state of one role pipeline instance (JSON in <c>instances.state</c>); everything the task
/// page shows: current stage and phase, developer round, runs with cost, gate results, rounds.
/// </summary>
public sealed record RolePipelineState
{
    /// <summary>The task.</summary>
    public required PipelineTask Task { get; init; }

    /// <summary>The pipeline captured at start.</summary>
    public required PipelineDefinition Definition { get; init; }

    /// <summary>Branch every stage works on.</summary>
    public required string Branch { get; init; }

    /// <summary>Current stage name (<c>done</c> once finished); the failed stage when failed.</summary>
    public required string Stage { get; init; }

    /// <summary>Phase within the stage.</summary>
    public PipelinePhase Phase { get; init; }

    /// <summary>
    /// Stage execution counter: +1 each time a stage (re)starts. Part of every activity and timer key, and
    /// echoed by activity results, so a late result of an earlier execution is ignored.
    /// </summary>
    public int Execution { get; init; }

    /// <summary>Developer round: 0 before development, 1 for the first development run, +1 per rollback.</summary>
    public int Round { get; init; }

    /// <summary>When the current stage execution started.</summary>
    public DateTimeOffset StageStartedAt { get; init; }

    /// <summary>Every agent run, oldest first.</summary>
    public IReadOnlyList<StageRun> Runs { get; init; } = [];

    /// <summary>Every gate decision, oldest first.</summary>
    public IReadOnlyList<StageGateResult> Gates { get; init; } = [];

    /// <summary>Rejected developer rounds, oldest first.</summary>
    public IReadOnlyList<DeveloperRound> Rounds { get; init; } = [];

    /// <summary>Findings the next run of <see cref="FeedbackStage"/> must address (the last rejection or failure); cleared when that stage passes its gate.</summary>
    public StageFeedback? Feedback { get; init; }

    /// <summary>The stage whose prompt carries <see cref="Feedback"/> (development after a rollback; the failed stage after a failure).</summary>
    public string? FeedbackStage { get; init; }

    /// <summary>Artifact links found by the current stage's gate (for its comment).</summary>
    public IReadOnlyList<ArtifactLink> StageArtifacts { get; init; } = [];

    /// <summary>Verdict of the current stage's gate.</summary>
    public string? StageVerdict { get; init; }

    /// <summary>Total USD spent by this task's agent runs.</summary>
    public decimal SpentUsd { get; init; }

    /// <summary>Per-task budget (from the definition, or <see cref="BudgetUpdated"/>); <c>null</c> = unlimited.</summary>
    public decimal? TaskBudgetUsd { get; init; }

    /// <summary>Project remaining amount as last measured by the host; <c>null</c> = unlimited.</summary>
    public decimal? ProjectRemainingUsd { get; init; }

    /// <summary><see cref="SpentUsd"/> when <see cref="ProjectRemainingUsd"/> was measured (this task's later spending is subtracted from it).</summary>
    public decimal SpentAtProjectSnapshot { get; init; }

    /// <summary>Latest branch head reported by a run.</summary>
    public string? HeadSha { get; init; }

    /// <summary>Pull request number, once known.</summary>
    public int? PrNumber { get; init; }

    /// <summary>Pull request link.</summary>
    public string? PrUrl { get; init; }

    /// <summary>Deadline of the current CI wait.</summary>
    public DateTimeOffset? CiDeadline { get; init; }

    /// <summary>CI polls in the current execution.</summary>
    public int CiPolls { get; init; }

    /// <summary>Link to the CI run that decided, if any.</summary>
    public string? CiUrl { get; init; }

    /// <summary>Key of the one outstanding timer (CI or approval poll), or <c>null</c>; a timer with another key is stale.</summary>
    public string? TimerKey { get; init; }

    /// <summary>Approval polls so far.</summary>
    public int ApprovalPolls { get; init; }

    /// <summary>Why the task failed.</summary>
    public string? FailureReason { get; init; }

    /// <summary>Where a retry resumes (with <see cref="Stage"/>).</summary>
    public RetryPoint? RetryFrom { get; init; }

    /// <summary>Retries requested so far; part of gate, CI and comment keys so a retried step gets fresh keys.</summary>
    public int Retries { get; init; }

    /// <summary>Escalation comments posted; part of their keys.</summary>
    public int Escalations { get; init; }

    /// <summary>When the pipeline started.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>When it reached done, failed or was cancelled.</summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Non-fatal problems (a comment that could not be posted, a CI check that errored).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>What the project may still spend now, or <c>null</c> when unlimited.</summary>
    public decimal? ProjectRemainingNowUsd => ProjectRemainingUsd - (SpentUsd - SpentAtProjectSnapshot);
}

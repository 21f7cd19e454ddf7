using System.Text.Json.Serialization;
using Orchestrator.Orchestrations.Tasks;

namespace Orchestrator.Orchestrations.Pipelines;

/// <summary>
/// Every event the role pipeline accepts: the start, activity results, external signals (approval,
/// budget, retry, cancel), failures and timers. Serialised polymorphically with a <c>"$type"</c>
/// discriminator (the event name), which is also the event name in the timeline.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(RolePipelineStarted), nameof(RolePipelineStarted))]
[JsonDerivedType(typeof(StageRunCompleted), nameof(StageRunCompleted))]
[JsonDerivedType(typeof(GateChecked), nameof(GateChecked))]
[JsonDerivedType(typeof(StageCiChecked), nameof(StageCiChecked))]
[JsonDerivedType(typeof(ApprovalChanged), nameof(ApprovalChanged))]
[JsonDerivedType(typeof(BudgetUpdated), nameof(BudgetUpdated))]
[JsonDerivedType(typeof(PipelineRetryRequested), nameof(PipelineRetryRequested))]
[JsonDerivedType(typeof(PipelineCancelled), nameof(PipelineCancelled))]
[JsonDerivedType(typeof(PipelineTakenOver), nameof(PipelineTakenOver))]
[JsonDerivedType(typeof(PipelineCommentPosted), nameof(PipelineCommentPosted))]
[JsonDerivedType(typeof(PipelineActivityFailed), nameof(PipelineActivityFailed))]
[JsonDerivedType(typeof(PipelineTimerFired), nameof(PipelineTimerFired))]
public abstract record RolePipelineEvent;

/// <summary>The task a role pipeline works on.</summary>
/// <param name="InstanceId">Instance id chosen by the host (stable per tracker item).</param>
/// <param name="TaskKey"><c>PREFIX-N</c>; names the work-item directory.</param>
/// <param name="Title">Work item title.</param>
/// <param name="TaskSpec">TaskSpec Markdown (given to every agent in full).</param>
/// <param name="Repo">Forge repository <c>owner/name</c>.</param>
/// <param name="TrackerProjectId">Tracker project id (comments, approval).</param>
/// <param name="WorkItemId">Tracker work item id.</param>
/// <param name="Branch">Branch every stage works on; <c>null</c> = <c>orchestrator/&lt;PREFIX-N&gt;</c>.</param>
public sealed record PipelineTask(
    string InstanceId,
    string TaskKey,
    string Title,
    string TaskSpec,
    string Repo,
    string TrackerProjectId,
    string WorkItemId,
    string? Branch = null);

/// <summary>Starts an instance: the first stage runs at once (after the budget check).</summary>
/// <param name="Definition">The project's pipeline (from <c>.orchestrator/pipeline.yml</c> or the default), captured for the task's lifetime.</param>
/// <param name="Task">The task.</param>
/// <param name="ProjectBudgetRemainingUsd">What the project may still spend (its budget minus what all its tasks spent), or <c>null</c> when unlimited.</param>
public sealed record RolePipelineStarted(PipelineDefinition Definition, PipelineTask Task, decimal? ProjectBudgetRemainingUsd) : RolePipelineEvent;

/// <summary>
/// Result of <see cref="RolePipelineActivities.RunStageAgent"/>: one agent run finished. Transient
/// failures (429, overloaded, 5xx) are thrown by the activity so the engine retries them; a result with
/// <paramref name="Succeeded"/> <c>false</c> is a permanent failure.
/// </summary>
/// <param name="Execution">The <see cref="RunStageAgentInput.Execution"/> it answers (older ones are ignored).</param>
/// <param name="Stage">Stage name.</param>
/// <param name="Succeeded">Whether the agent finished without error.</param>
/// <param name="FailureReason">What went wrong and what to fix, when it failed.</param>
/// <param name="TokensIn">Input tokens, if reported.</param>
/// <param name="TokensOut">Output tokens, if reported.</param>
/// <param name="CostUsd">Cost in USD, if reported (counted against the budgets even for a failed run).</param>
/// <param name="Duration">Agent wall-clock time.</param>
/// <param name="Branch">Branch pushed, if any.</param>
/// <param name="HeadSha">Branch head after the run, if pushed.</param>
/// <param name="PrNumber">Pull request number, if one exists for the branch.</param>
/// <param name="PrUrl">Pull request link.</param>
/// <param name="Summary">The agent's final message (what it did), kept short in the round history.</param>
public sealed record StageRunCompleted(
    int Execution,
    string Stage,
    bool Succeeded,
    string? FailureReason,
    long? TokensIn,
    long? TokensOut,
    decimal? CostUsd,
    TimeSpan Duration,
    string? Branch,
    string? HeadSha,
    int? PrNumber,
    string? PrUrl,
    string? Summary) : RolePipelineEvent;

/// <summary>What a stage's gate concluded.</summary>
public enum GateOutcome
{
    /// <summary>Artifacts present and the verdict (if any) positive.</summary>
    Passed,

    /// <summary>A negative verdict (<c>REQUEST_CHANGES</c>, <c>FAIL</c>, <c>FAILED</c>): roll back to development.</summary>
    Rejected,

    /// <summary>The gate could not pass: missing artifacts, unreadable front matter, missing or unrecognised verdict. The task fails with the reason.</summary>
    Failed,
}

/// <summary>A link to an artifact on the forge.</summary>
/// <param name="Path">Repository path, e.g. <c>docs/work-items/WEB-42/12-review.md</c>.</param>
/// <param name="Url">Link to it on the branch.</param>
public sealed record ArtifactLink(string Path, string Url);

/// <summary>Result of <see cref="RolePipelineActivities.CheckStageGate"/>.</summary>
/// <param name="Execution">The execution it answers.</param>
/// <param name="Stage">Stage name.</param>
/// <param name="Outcome">Passed, rejected (roll back) or failed.</param>
/// <param name="Verdict">Canonical verdict read from front matter (<c>APPROVE</c>, <c>REQUEST_CHANGES</c>, <c>PASS</c>, <c>FAIL</c>, <c>SUCCESS</c>, <c>FAILED</c>), or <c>null</c>.</param>
/// <param name="Reason">One line: why it passed or not (e.g. <c>missing: 02-trz.md</c>).</param>
/// <param name="Findings">Full text of the verdict artifact after its front matter (what the developer must address), or <c>null</c>.</param>
/// <param name="Artifacts">Links to the artifacts found.</param>
public sealed record GateChecked(
    int Execution,
    string Stage,
    GateOutcome Outcome,
    string? Verdict,
    string Reason,
    string? Findings,
    IReadOnlyList<ArtifactLink> Artifacts) : RolePipelineEvent;

/// <summary>Result of <see cref="RolePipelineActivities.CheckStageCi"/>: aggregate CI of the branch head.</summary>
/// <param name="Execution">The execution it answers.</param>
/// <param name="Sha">Commit checked.</param>
/// <param name="Outcome">Pending, success or failure.</param>
/// <param name="Detail">Human-readable summary (e.g. <c>build: failure</c>).</param>
/// <param name="Url">Link to a failing or representative run.</param>
public sealed record StageCiChecked(int Execution, string Sha, CiOutcome Outcome, string Detail, string? Url) : RolePipelineEvent;

/// <summary>What the tracker says about the approval gate.</summary>
public enum ApprovalDecision
{
    /// <summary>Neither approved nor rejected yet.</summary>
    Pending,

    /// <summary>Moved to the approved state.</summary>
    Approved,

    /// <summary>Moved to the rejected state.</summary>
    Rejected,
}

/// <summary>
/// The approval gate's state: result of <see cref="RolePipelineActivities.CheckApproval"/>, or raised by
/// the host from a tracker webhook (state change of the item).
/// </summary>
/// <param name="Decision">Approved, rejected or still pending.</param>
/// <param name="Reason">On rejection the text of the item's latest comment; otherwise ignored.</param>
public sealed record ApprovalChanged(ApprovalDecision Decision, string? Reason) : RolePipelineEvent;

/// <summary>New budget figures; <c>null</c> leaves a figure unchanged.</summary>
/// <param name="TaskBudgetUsd">New per-task budget.</param>
/// <param name="ProjectBudgetRemainingUsd">What the project may still spend now (measured by the host).</param>
public sealed record BudgetUpdated(decimal? TaskBudgetUsd, decimal? ProjectBudgetRemainingUsd) : RolePipelineEvent;

/// <summary><c>POST /api/tasks/{id}/retry</c> on a FAILED task: resumes where it failed (see the README).</summary>
/// <param name="ProjectBudgetRemainingUsd">A fresh project remaining amount, or <c>null</c> to keep the last one.</param>
public sealed record PipelineRetryRequested(decimal? ProjectBudgetRemainingUsd = null) : RolePipelineEvent;

/// <summary>The tracker item was cancelled or deleted: the task stops.</summary>
/// <param name="Reason">Why.</param>
public sealed record PipelineCancelled(string Reason) : RolePipelineEvent;

/// <summary>
/// The task's pull request was merged before the pipeline finished: a person took over (the pipeline never merges),
/// so no further stage starts and nothing more is pushed. Raised by the task pipeline when it sees the merge
/// (<c>StopRolePipeline</c>), or returned by <see cref="RolePipelineActivities.RunStageAgent"/> when it finds the
/// merge itself before it would push. A fact about the PR, not an answer to one execution: accepted in every
/// phase but the terminal ones, and only the first one counts.
/// </summary>
/// <param name="PrNumber">The merged pull request.</param>
/// <param name="PrUrl">Its link, if known.</param>
/// <param name="MergeSha">The merge commit, if known.</param>
public sealed record PipelineTakenOver(int PrNumber, string? PrUrl, string? MergeSha) : RolePipelineEvent;

/// <summary>Result of a comment activity.</summary>
/// <param name="Key">The comment's idempotency key.</param>
/// <param name="Created"><c>false</c> when it already existed, or when <paramref name="ItemGone"/>.</param>
/// <param name="ItemGone"><c>true</c> when the tracker item no longer exists (deleted meanwhile): nothing was posted.</param>
public sealed record PipelineCommentPosted(string Key, bool Created, bool ItemGone = false) : RolePipelineEvent;

/// <summary>An activity failed for good (retries exhausted or a permanent error).</summary>
/// <param name="Activity">Activity name.</param>
/// <param name="Key">Its command key.</param>
/// <param name="Error">The last error.</param>
/// <param name="Attempts">Attempts made.</param>
public sealed record PipelineActivityFailed(string Activity, string Key, string Error, int Attempts) : RolePipelineEvent;

/// <summary>A durable timer fired.</summary>
/// <param name="Name">Timer name (<see cref="RolePipelineOrchestration.CiPollTimer"/> or <see cref="RolePipelineOrchestration.ApprovalPollTimer"/>).</param>
/// <param name="Key">Timer key.</param>
public sealed record PipelineTimerFired(string Name, string Key) : RolePipelineEvent;

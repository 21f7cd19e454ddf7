namespace Orchestrator.Orchestrations.Pipelines;

/// <summary>
/// Names, inputs and results of the activities the role pipeline schedules; the host registers one
/// implementation per name. Every activity is retried by the engine per the policy on its command,
/// so each must be idempotent (comments: find by key, then create).
/// </summary>
public static class RolePipelineActivities
{
    /// <summary>
    /// Runs the stage's agent on the task branch: compose the prompt with
    /// <c>Orchestrator.Shared.Pipelines.RolePrompts.Compose</c> (repo override at
    /// <see cref="RunStageAgentInput.PromptPath"/> if the file exists), run the agent, commit and push, and —
    /// only when <see cref="RunStageAgentInput.OpensPr"/> — ensure the PR → <see cref="StageRunCompleted"/>.
    /// When the task's PR was merged (by a person: the pipeline never merges) before the run started or before
    /// its push, nothing is pushed and no PR is opened → <see cref="PipelineTakenOver"/>. Throw for transient
    /// failures (the engine retries with <see cref="RolePipelineOrchestration.AgentRetry"/>); return
    /// <c>Succeeded = false</c> (or throw a permanent error) when a retry cannot help.
    /// </summary>
    public const string RunStageAgent = "RunStageAgent";

    /// <summary>
    /// Reads the stage's artifacts on the branch head; for verdict stages reads the verdict artifact's
    /// front matter with <c>Orchestrator.Shared.Pipelines.FrontMatter.Read</c> and
    /// <c>Gates.Evaluate</c> → <see cref="GateChecked"/>.
    /// </summary>
    public const string CheckStageGate = "CheckStageGate";

    /// <summary>Reads check suites and workflow runs of the branch head → <see cref="StageCiChecked"/>.</summary>
    public const string CheckStageCi = "CheckStageCi";

    /// <summary>Posts (or finds by key) the one status comment of a finished stage on the tracker item → <see cref="PipelineCommentPosted"/>.</summary>
    public const string PostStageComment = "PostStageComment";

    /// <summary>Posts (or finds by key) a comment asking a human to step in (max rounds, budget, failure) → <see cref="PipelineCommentPosted"/>.</summary>
    public const string PostEscalationComment = "PostEscalationComment";

    /// <summary>Reads the tracker item's state (and on rejection its latest comment) → <see cref="ApprovalChanged"/>.</summary>
    public const string CheckApproval = "CheckApproval";
}

/// <summary>The full findings of the last rejection (or failure) the agent must address.</summary>
/// <param name="FromStage">Stage that rejected (<c>review</c>, <c>testing</c>, <c>deploy</c>) or failed, or <c>approval</c>.</param>
/// <param name="Verdict">Canonical verdict, if any.</param>
/// <param name="Text">The full findings text (e.g. the review body), never a link only.</param>
public sealed record StageFeedback(string FromStage, string? Verdict, string Text);

/// <summary>One earlier developer round, shortened for the prompt.</summary>
/// <param name="Round">Round number (1-based).</param>
/// <param name="Tried">What the developer reported doing (its final message, shortened), or <c>null</c>.</param>
/// <param name="RejectedBy">Stage that rejected the round.</param>
/// <param name="Verdict">Its verdict.</param>
/// <param name="Gist">The first lines of the findings.</param>
public sealed record RoundSummary(int Round, string? Tried, string RejectedBy, string? Verdict, string Gist);

/// <summary>Input of <see cref="RolePipelineActivities.RunStageAgent"/>.</summary>
/// <param name="InstanceId">Instance id (log scope, run records).</param>
/// <param name="Execution">Stage execution number; echo it in <see cref="StageRunCompleted.Execution"/>.</param>
/// <param name="TaskKey"><c>PREFIX-N</c>.</param>
/// <param name="Title">Work item title.</param>
/// <param name="TaskSpec">TaskSpec Markdown.</param>
/// <param name="Repo"><c>owner/name</c>.</param>
/// <param name="Branch">Branch to check out, commit to and push.</param>
/// <param name="Stage">Stage name.</param>
/// <param name="Role">Role name (default prompt <c>Pipelines/Defaults/agents/&lt;role&gt;.md</c>).</param>
/// <param name="Agent">Configured agent name to run.</param>
/// <param name="PromptPath">Repository path of the role prompt override.</param>
/// <param name="WorkItemDirectory">Repository folder of the task's artifacts (<c>docs/work-items/PREFIX-N</c>).</param>
/// <param name="Artifacts">Repository paths the agent must write (a trailing <c>/</c> is a directory).</param>
/// <param name="InputArtifacts">Repository paths written by earlier stages, for the agent to read.</param>
/// <param name="VerdictArtifact">Repository path of the file whose front matter holds the verdict, or <c>null</c>.</param>
/// <param name="Round">Developer round (0 before development, then 1, 2, …).</param>
/// <param name="MaxRounds">Developer round limit.</param>
/// <param name="Feedback">Full findings of the last rejection or failure to address, or <c>null</c>.</param>
/// <param name="History">Short history of earlier developer rounds (oldest first); empty in round 1.</param>
/// <param name="OpensPr">
/// Whether to ensure the task's PR after the push (<see cref="PipelineDefinition.OpensPr"/>); <c>false</c>: push to
/// the branch only. Inputs queued before the setting existed read <c>false</c>, so they never open a PR early; the
/// next stage that opens the PR opens it.
/// </param>
public sealed record RunStageAgentInput(
    string InstanceId,
    int Execution,
    string TaskKey,
    string Title,
    string TaskSpec,
    string Repo,
    string Branch,
    string Stage,
    string Role,
    string Agent,
    string PromptPath,
    string WorkItemDirectory,
    IReadOnlyList<string> Artifacts,
    IReadOnlyList<string> InputArtifacts,
    string? VerdictArtifact,
    int Round,
    int MaxRounds,
    StageFeedback? Feedback,
    IReadOnlyList<RoundSummary> History,
    bool OpensPr = false);

/// <summary>Input of <see cref="RolePipelineActivities.CheckStageGate"/>.</summary>
/// <param name="Execution">Echo in <see cref="GateChecked.Execution"/>.</param>
/// <param name="Repo"><c>owner/name</c>.</param>
/// <param name="Branch">Branch to read.</param>
/// <param name="HeadSha">Commit to read (the run's head), or <c>null</c> for the branch head.</param>
/// <param name="Stage">Stage name.</param>
/// <param name="Gate">Which verdict to read.</param>
/// <param name="Artifacts">Repository paths that must exist (a trailing <c>/</c>: a directory with at least one file).</param>
/// <param name="VerdictArtifact">Repository path of the verdict file, or <c>null</c>.</param>
public sealed record CheckStageGateInput(
    int Execution,
    string Repo,
    string Branch,
    string? HeadSha,
    string Stage,
    GateKind Gate,
    IReadOnlyList<string> Artifacts,
    string? VerdictArtifact);

/// <summary>Input of <see cref="RolePipelineActivities.CheckStageCi"/>.</summary>
/// <param name="Execution">Echo in <see cref="StageCiChecked.Execution"/>.</param>
/// <param name="Repo"><c>owner/name</c>.</param>
/// <param name="Branch">Branch.</param>
/// <param name="Sha">Commit to check, or <c>null</c> for the branch head.</param>
public sealed record CheckStageCiInput(int Execution, string Repo, string Branch, string? Sha);

/// <summary>The facts of one finished stage, as shown in its status comment; <c>null</c> pieces are omitted.</summary>
/// <param name="Stage">Stage name.</param>
/// <param name="Role">Role name.</param>
/// <param name="Round">Developer round for development and later stages, else <c>null</c>.</param>
/// <param name="Outcome">One line, e.g. <c>passed</c>, <c>changes requested; back to development</c>.</param>
/// <param name="Verdict">Canonical verdict, if any.</param>
/// <param name="Duration">Stage wall-clock time (agent run, gate and CI).</param>
/// <param name="TokensIn">Input tokens of the stage's run.</param>
/// <param name="TokensOut">Output tokens.</param>
/// <param name="CostUsd">Cost in USD.</param>
/// <param name="Artifacts">Artifact links.</param>
/// <param name="PrNumber">Pull request number.</param>
/// <param name="PrUrl">Pull request link.</param>
public sealed record StageReport(
    string Stage,
    string Role,
    int? Round,
    string Outcome,
    string? Verdict,
    TimeSpan? Duration,
    long? TokensIn,
    long? TokensOut,
    decimal? CostUsd,
    IReadOnlyList<ArtifactLink> Artifacts,
    int? PrNumber,
    string? PrUrl);

/// <summary>Input of <see cref="RolePipelineActivities.PostStageComment"/>.</summary>
/// <param name="TrackerProjectId">Tracker project.</param>
/// <param name="WorkItemId">Tracker item.</param>
/// <param name="Key">Idempotency key within the instance (one comment per key).</param>
/// <param name="Html">Comment HTML, rendered by <see cref="StageComments.Render"/>.</param>
/// <param name="Report">The same facts, structured, for trackers that format their own.</param>
public sealed record PostStageCommentInput(string TrackerProjectId, string WorkItemId, string Key, string Html, StageReport Report);

/// <summary>Input of <see cref="RolePipelineActivities.PostEscalationComment"/>.</summary>
/// <param name="TrackerProjectId">Tracker project.</param>
/// <param name="WorkItemId">Tracker item.</param>
/// <param name="Key">Idempotency key within the instance.</param>
/// <param name="Html">Comment HTML.</param>
/// <param name="Reason">The one-line failure reason (<c>budget exceeded</c>, …).</param>
public sealed record PostEscalationCommentInput(string TrackerProjectId, string WorkItemId, string Key, string Html, string Reason);

/// <summary>Input of <see cref="RolePipelineActivities.CheckApproval"/>.</summary>
/// <param name="TrackerProjectId">Tracker project.</param>
/// <param name="WorkItemId">Tracker item.</param>
/// <param name="ApprovedState">State name meaning approved (case-insensitive).</param>
/// <param name="RejectedState">State name meaning rejected (case-insensitive); then the latest comment is the reason.</param>
public sealed record CheckApprovalInput(string TrackerProjectId, string WorkItemId, string ApprovedState, string RejectedState);

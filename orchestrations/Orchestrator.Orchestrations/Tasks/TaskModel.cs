namespace Orchestrator.Orchestrations.Tasks;

/// <summary>Per-project settings captured when a task starts (from <c>ORCH_PROJECTS_JSON</c>).</summary>
/// <param name="TrackerProjectId">Plane project UUID.</param>
/// <param name="Repo">Forge repository <c>owner/name</c>.</param>
/// <param name="WorkItemPrefix">Prefix of task ids, e.g. <c>WEB</c> in <c>WEB-42</c>.</param>
/// <param name="AgentCommand">Line appended to the forge issue, e.g. <c>/opencode implement</c>.</param>
/// <param name="RequireCi">Whether a merged PR waits for green CI before <c>DEPLOYED</c>.</param>
/// <param name="Mode"><c>dispatch</c> (write the agent command into the issue; an agent in the forge's CI does the work) or <c>run</c> (the orchestrator runs the role pipeline's agents itself).</param>
public sealed record TaskProject(string TrackerProjectId, string Repo, string WorkItemPrefix, string AgentCommand, bool RequireCi, string Mode = TaskProject.DispatchMode)
{
    /// <summary>Mode: the agent runs in the forge's CI.</summary>
    public const string DispatchMode = "dispatch";

    /// <summary>Mode: the orchestrator runs the agents.</summary>
    public const string RunMode = "run";

    /// <summary>Whether the orchestrator runs the agents.</summary>
    public bool RunsAgents => string.Equals(Mode, RunMode, StringComparison.OrdinalIgnoreCase);
}

/// <summary>What a webhook (or the tracker API) told us about a tracker work item.</summary>
/// <param name="WorkItemId">Work item UUID.</param>
/// <param name="SequenceId">Per-project sequence number, or <c>null</c> if the delivery lacked it.</param>
/// <param name="Name">Title, or <c>null</c> if absent.</param>
/// <param name="DescriptionHtml">Description HTML, or <c>null</c> if the delivery lacked it (to be fetched).</param>
/// <param name="Labels">Label names, or <c>null</c> if the delivery lacked them.</param>
/// <param name="StateGroup">State group (<c>completed</c>, <c>cancelled</c>, …), or <c>null</c>.</param>
public sealed record WorkItemSnapshot(
    string WorkItemId,
    int? SequenceId,
    string? Name,
    string? DescriptionHtml,
    IReadOnlyList<string>? Labels,
    string? StateGroup);

/// <summary>Which step a <see cref="TaskStatus.FAILED"/> task failed in, i.e. where a retry resumes.</summary>
public enum FailedStep
{
    /// <summary>Building the TaskSpec (missing fields or tracker API failure).</summary>
    TaskSpec,

    /// <summary>Creating the forge issue.</summary>
    Issue,

    /// <summary>CI on the merge commit failed or did not finish.</summary>
    Ci,

    /// <summary>The role pipeline (server-run agents) failed; a retry resumes it.</summary>
    Agents,
}

/// <summary>Aggregate CI result for one commit.</summary>
public enum CiOutcome
{
    /// <summary>Something is still queued or running, or nothing has reported yet.</summary>
    Pending,

    /// <summary>Everything completed and nothing failed.</summary>
    Success,

    /// <summary>At least one suite or run failed, timed out or was cancelled.</summary>
    Failure,
}

/// <summary>
/// Durable state of one task pipeline instance (persisted as JSON in <c>instances.state</c>).
/// </summary>
public sealed record TaskState
{
    /// <summary>Instance id, e.g. <c>plane-&lt;work item uuid&gt;</c>.</summary>
    public required string InstanceId { get; init; }

    /// <summary>Project settings captured at start.</summary>
    public required TaskProject Project { get; init; }

    /// <summary>Tracker work item UUID.</summary>
    public required string WorkItemId { get; init; }

    /// <summary>Latest known tracker snapshot.</summary>
    public required WorkItemSnapshot Item { get; init; }

    /// <summary>User-facing status.</summary>
    public TaskStatus Status { get; init; } = TaskStatus.RECEIVED;

    /// <summary><c>PREFIX-N</c> once the sequence id is known.</summary>
    public string? TaskKey { get; init; }

    /// <summary>Title used for the forge issue.</summary>
    public string? Title { get; init; }

    /// <summary>Current TaskSpec Markdown.</summary>
    public string? TaskSpec { get; init; }

    /// <summary>TaskSpec version, 1 for the first; every version is kept in the history.</summary>
    public int TaskSpecVersion { get; init; }

    /// <summary>Forge issue number.</summary>
    public int? IssueNumber { get; init; }

    /// <summary>Forge issue link.</summary>
    public string? IssueUrl { get; init; }

    /// <summary>Linked pull request number.</summary>
    public int? PrNumber { get; init; }

    /// <summary>Linked pull request link.</summary>
    public string? PrUrl { get; init; }

    /// <summary>Repository of the linked PR (<c>owner/name</c>).</summary>
    public string? PrRepo { get; init; }

    /// <summary>Merge commit SHA once merged.</summary>
    public string? MergeSha { get; init; }

    /// <summary>Link to the CI run that decided the outcome, if known.</summary>
    public string? CiUrl { get; init; }

    /// <summary>When CI waiting gives up.</summary>
    public DateTimeOffset? CiDeadline { get; init; }

    /// <summary>Number of CI polls so far in this round.</summary>
    public int CiPolls { get; init; }

    /// <summary>Step to resume from when <see cref="Status"/> is FAILED.</summary>
    public FailedStep? FailedStep { get; init; }

    /// <summary>Why the task failed.</summary>
    public string? FailureReason { get; init; }

    /// <summary>Retry round; part of every activity key so a retry re-runs the step.</summary>
    public int Round { get; init; }

    /// <summary>Number of reconciliation checks requested.</summary>
    public int Reconciliations { get; init; }

    /// <summary>Whether a reconciliation check is running.</summary>
    public bool ReconcileInFlight { get; init; }

    /// <summary>When the pipeline started.</summary>
    public DateTimeOffset ReceivedAt { get; init; }

    /// <summary>When the task reached DEPLOYED.</summary>
    public DateTimeOffset? DeployedAt { get; init; }

    /// <summary>The role pipeline instance (mode <c>run</c>), once started.</summary>
    public string? RolePipelineId { get; init; }

    /// <summary>Non-fatal problems (e.g. a tracker comment that could not be posted).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

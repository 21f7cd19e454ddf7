namespace Orchestrator.Orchestrations.Tasks;

/// <summary>
/// Names and inputs of the activities the task pipeline schedules; the host registers one
/// implementation per name (<c>functions/Orchestrator.Functions/Activities</c>).
/// </summary>
public static class TaskActivities
{
    /// <summary>Fetches missing work-item fields from the tracker and builds the TaskSpec → <see cref="TaskSpecBuilt"/> or <see cref="TaskSpecRejected"/>.</summary>
    public const string PrepareTaskSpec = "PrepareTaskSpec";

    /// <summary>Finds (by hidden marker) or creates the forge issue → <see cref="IssueEnsured"/>.</summary>
    public const string EnsureForgeIssue = "EnsureForgeIssue";

    /// <summary>Finds (by external id) or posts a tracker comment → <see cref="CommentEnsured"/>.</summary>
    public const string EnsureTrackerComment = "EnsureTrackerComment";

    /// <summary>Finds (by hidden marker) or posts a forge issue comment → <see cref="CommentEnsured"/>.</summary>
    public const string EnsureForgeComment = "EnsureForgeComment";

    /// <summary>Reads check suites and workflow runs of a commit → <see cref="CiChecked"/>.</summary>
    public const string CheckCi = "CheckCi";

    /// <summary>Moves the tracker item to the project's completed state → <see cref="TrackerCompleted"/>.</summary>
    public const string CompleteTrackerItem = "CompleteTrackerItem";

    /// <summary>Compares the instance with the forge → <see cref="Reconciled"/>.</summary>
    public const string ReconcileTask = "ReconcileTask";

    /// <summary>Loads the project's pipeline definition and starts the role pipeline as a child → <see cref="RolePipelineStartedForTask"/>.</summary>
    public const string StartRolePipeline = "StartRolePipeline";

    /// <summary>Asks a failed role pipeline to resume (raises its retry event) → nothing.</summary>
    public const string RetryRolePipeline = "RetryRolePipeline";

    /// <summary>
    /// Tells a running role pipeline that the task's PR was merged before it finished (raises its
    /// <c>PipelineTakenOver</c> event, keyed by the PR, so it is raised once) → nothing. The child stops, posts the one
    /// comment naming the skipped stages and finishes as <c>TAKEN_OVER</c>; an already finished child ignores it.
    /// </summary>
    public const string StopRolePipeline = "StopRolePipeline";

    /// <summary>Adds or removes a label on the forge issue → <see cref="ForgeLabelSet"/>.</summary>
    public const string SetForgeLabel = "SetForgeLabel";

    /// <summary>Closes the forge issue as not planned → <see cref="ForgeIssueClosed"/>.</summary>
    public const string CloseForgeIssue = "CloseForgeIssue";

    /// <summary>Moves a completed tracker item back to an open state → <see cref="TrackerReopened"/>.</summary>
    public const string ReopenTrackerItem = "ReopenTrackerItem";
}

/// <summary>Input of <see cref="TaskActivities.SetForgeLabel"/>.</summary>
/// <param name="Repo"><c>owner/name</c>.</param>
/// <param name="IssueNumber">Issue number.</param>
/// <param name="Label">Label name, e.g. <c>auto-disabled</c>.</param>
/// <param name="Present"><c>true</c> adds the label (creating it in the repository if needed), <c>false</c> removes it.</param>
public sealed record SetForgeLabelInput(string Repo, int IssueNumber, string Label, bool Present);

/// <summary>Input of <see cref="TaskActivities.CloseForgeIssue"/>.</summary>
/// <param name="Repo"><c>owner/name</c>.</param>
/// <param name="IssueNumber">Issue number.</param>
public sealed record CloseForgeIssueInput(string Repo, int IssueNumber);

/// <summary>Input of <see cref="TaskActivities.ReopenTrackerItem"/>.</summary>
/// <param name="ProjectId">Tracker project.</param>
/// <param name="WorkItemId">Tracker item.</param>
public sealed record ReopenTrackerItemInput(string ProjectId, string WorkItemId);

/// <summary>Input of <see cref="TaskActivities.StartRolePipeline"/>.</summary>
/// <param name="Project">Project settings.</param>
/// <param name="TaskKey"><c>PREFIX-N</c>.</param>
/// <param name="Title">Title.</param>
/// <param name="TaskSpec">TaskSpec Markdown.</param>
/// <param name="WorkItemId">Tracker item.</param>
/// <param name="IssueNumber">Forge issue the PR must close.</param>
/// <param name="Repo">The task's resolved repository (<c>owner/name</c>); <c>null</c> means <see cref="TaskProject.Repo"/>.</param>
public sealed record StartRolePipelineInput(TaskProject Project, string TaskKey, string Title, string TaskSpec, string WorkItemId, int IssueNumber, string? Repo = null);

/// <summary>Input of <see cref="TaskActivities.RetryRolePipeline"/>.</summary>
/// <param name="ChildId">Role pipeline instance.</param>
/// <param name="Round">Retry round (makes the event key unique).</param>
public sealed record RetryRolePipelineInput(string ChildId, int Round);

/// <summary>Input of <see cref="TaskActivities.StopRolePipeline"/>.</summary>
/// <param name="ChildId">Role pipeline instance.</param>
/// <param name="PrNumber">The merged pull request.</param>
/// <param name="PrUrl">Its link.</param>
/// <param name="MergeSha">The merge commit.</param>
public sealed record StopRolePipelineInput(string ChildId, int PrNumber, string PrUrl, string MergeSha);

/// <summary>Input of <see cref="TaskActivities.PrepareTaskSpec"/>.</summary>
/// <param name="Project">Project settings.</param>
/// <param name="Item">What the webhook carried; missing fields are fetched.</param>
public sealed record PrepareTaskSpecInput(TaskProject Project, WorkItemSnapshot Item);

/// <summary>Input of <see cref="TaskActivities.EnsureForgeIssue"/>.</summary>
/// <param name="Repo"><c>owner/name</c>.</param>
/// <param name="Title">Issue title, <c>[PREFIX-N] Title</c>.</param>
/// <param name="TaskSpec">TaskSpec Markdown (the body).</param>
/// <param name="AgentCommand">Last line of the body; <c>null</c> when the orchestrator runs the agents itself (mode <c>run</c>).</param>
public sealed record EnsureForgeIssueInput(string Repo, string Title, string TaskSpec, string? AgentCommand);

/// <summary>Input of <see cref="TaskActivities.EnsureTrackerComment"/>.</summary>
/// <param name="ProjectId">Tracker project.</param>
/// <param name="WorkItemId">Tracker item.</param>
/// <param name="Key">Idempotency key within the instance.</param>
/// <param name="Html">Comment HTML.</param>
public sealed record EnsureTrackerCommentInput(string ProjectId, string WorkItemId, string Key, string Html);

/// <summary>Input of <see cref="TaskActivities.EnsureForgeComment"/>.</summary>
/// <param name="Repo"><c>owner/name</c>.</param>
/// <param name="IssueNumber">Issue or PR number.</param>
/// <param name="Key">Idempotency key within the instance.</param>
/// <param name="Markdown">Comment body; the activity appends the hidden marker.</param>
public sealed record EnsureForgeCommentInput(string Repo, int IssueNumber, string Key, string Markdown);

/// <summary>Input of <see cref="TaskActivities.CheckCi"/>.</summary>
/// <param name="Repo"><c>owner/name</c>.</param>
/// <param name="Sha">Commit SHA.</param>
public sealed record CheckCiInput(string Repo, string Sha);

/// <summary>Input of <see cref="TaskActivities.CompleteTrackerItem"/>.</summary>
/// <param name="ProjectId">Tracker project.</param>
/// <param name="WorkItemId">Tracker item.</param>
public sealed record CompleteTrackerItemInput(string ProjectId, string WorkItemId);

/// <summary>Input of <see cref="TaskActivities.ReconcileTask"/>.</summary>
/// <param name="Repo">Issue repository.</param>
/// <param name="IssueNumber">Issue number.</param>
/// <param name="Status">Status when the check was requested.</param>
/// <param name="PrRepo">Linked PR repository, if any.</param>
/// <param name="PrNumber">Linked PR number, if any.</param>
/// <param name="MergeSha">Merge SHA when waiting for CI.</param>
public sealed record ReconcileTaskInput(string Repo, int IssueNumber, TaskStatus Status, string? PrRepo, int? PrNumber, string? MergeSha);

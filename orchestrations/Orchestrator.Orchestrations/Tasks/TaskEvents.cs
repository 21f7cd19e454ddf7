using System.Text.Json.Serialization;

namespace Orchestrator.Orchestrations.Tasks;

/// <summary>
/// Every event the task pipeline orchestration accepts: external events (webhooks, API), activity
/// results, timers. Serialised polymorphically with a <c>"$type"</c> discriminator (the event name),
/// which is also the event name shown in the timeline.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(TaskReceived), nameof(TaskReceived))]
[JsonDerivedType(typeof(WorkItemUpdated), nameof(WorkItemUpdated))]
[JsonDerivedType(typeof(WorkItemDeleted), nameof(WorkItemDeleted))]
[JsonDerivedType(typeof(TaskSpecBuilt), nameof(TaskSpecBuilt))]
[JsonDerivedType(typeof(TaskSpecRejected), nameof(TaskSpecRejected))]
[JsonDerivedType(typeof(IssueEnsured), nameof(IssueEnsured))]
[JsonDerivedType(typeof(CommentEnsured), nameof(CommentEnsured))]
[JsonDerivedType(typeof(PullRequestLinked), nameof(PullRequestLinked))]
[JsonDerivedType(typeof(PullRequestClosed), nameof(PullRequestClosed))]
[JsonDerivedType(typeof(PullRequestMerged), nameof(PullRequestMerged))]
[JsonDerivedType(typeof(CiCompleted), nameof(CiCompleted))]
[JsonDerivedType(typeof(CiChecked), nameof(CiChecked))]
[JsonDerivedType(typeof(TrackerCompleted), nameof(TrackerCompleted))]
[JsonDerivedType(typeof(ReconcileRequested), nameof(ReconcileRequested))]
[JsonDerivedType(typeof(Reconciled), nameof(Reconciled))]
[JsonDerivedType(typeof(RetryRequested), nameof(RetryRequested))]
[JsonDerivedType(typeof(TaskActivityFailed), nameof(TaskActivityFailed))]
[JsonDerivedType(typeof(TaskTimerFired), nameof(TaskTimerFired))]
[JsonDerivedType(typeof(RolePipelineStartedForTask), nameof(RolePipelineStartedForTask))]
[JsonDerivedType(typeof(RolePipelineFinished), nameof(RolePipelineFinished))]
[JsonDerivedType(typeof(RepoAssigned), nameof(RepoAssigned))]
[JsonDerivedType(typeof(ForgeLabelSet), nameof(ForgeLabelSet))]
[JsonDerivedType(typeof(ForgeIssueClosed), nameof(ForgeIssueClosed))]
[JsonDerivedType(typeof(TrackerReopened), nameof(TrackerReopened))]
[JsonDerivedType(typeof(CancelRequested), nameof(CancelRequested))]
[JsonDerivedType(typeof(NoteAdded), nameof(NoteAdded))]
public abstract record TaskEvent;

/// <summary>A tracker delivery for an item carrying the trigger label: starts the instance.</summary>
/// <param name="Project">Project settings at start.</param>
/// <param name="Item">The item as delivered.</param>
public sealed record TaskReceived(TaskProject Project, WorkItemSnapshot Item) : TaskEvent;

/// <summary>A later tracker delivery for the same item.</summary>
/// <param name="Item">The item as delivered.</param>
public sealed record WorkItemUpdated(WorkItemSnapshot Item) : TaskEvent;

/// <summary>The tracker item was deleted.</summary>
public sealed record WorkItemDeleted : TaskEvent;

/// <summary>Result of <see cref="TaskActivities.PrepareTaskSpec"/>: the TaskSpec is ready.</summary>
/// <param name="TaskKey"><c>PREFIX-N</c>.</param>
/// <param name="Title">Work item title.</param>
/// <param name="Markdown">TaskSpec Markdown.</param>
/// <param name="Item">The complete work item as fetched.</param>
public sealed record TaskSpecBuilt(string TaskKey, string Title, string Markdown, WorkItemSnapshot Item) : TaskEvent;

/// <summary>Result of <see cref="TaskActivities.PrepareTaskSpec"/>: required fields are missing.</summary>
/// <param name="TaskKey"><c>PREFIX-N</c>.</param>
/// <param name="Missing">Missing field names (<c>title</c>, <c>description</c>).</param>
/// <param name="Item">The complete work item as fetched.</param>
public sealed record TaskSpecRejected(string TaskKey, IReadOnlyList<string> Missing, WorkItemSnapshot Item) : TaskEvent;

/// <summary>Result of <see cref="TaskActivities.EnsureForgeIssue"/>.</summary>
/// <param name="Number">Issue number.</param>
/// <param name="Url">Issue link.</param>
/// <param name="Created"><c>false</c> when an issue with our marker already existed (resume after a crash).</param>
public sealed record IssueEnsured(int Number, string Url, bool Created) : TaskEvent;

/// <summary>Result of a comment activity.</summary>
/// <param name="Target">Where it was posted: the tracker or forge kind (<c>plane</c>, <c>asana</c>, <c>github</c>, <c>gitea</c>).</param>
/// <param name="Key">The comment's idempotency key.</param>
/// <param name="Created"><c>false</c> when it already existed, or when <paramref name="ItemGone"/>.</param>
/// <param name="ItemGone"><c>true</c> when the tracker item no longer exists (deleted meanwhile): nothing was posted and nothing will be.</param>
public sealed record CommentEnsured(string Target, string Key, bool Created, bool ItemGone = false) : TaskEvent;

/// <summary>A pull request whose body closes the task's issue is open (opened / edited / reopened).</summary>
/// <param name="Repo">PR repository <c>owner/name</c>.</param>
/// <param name="Number">PR number.</param>
/// <param name="Url">PR link.</param>
public sealed record PullRequestLinked(string Repo, int Number, string Url) : TaskEvent;

/// <summary>A pull request was closed without being merged.</summary>
/// <param name="Repo">PR repository.</param>
/// <param name="Number">PR number.</param>
public sealed record PullRequestClosed(string Repo, int Number) : TaskEvent;

/// <summary>A pull request that closes the task's issue was merged.</summary>
/// <param name="Repo">PR repository.</param>
/// <param name="Number">PR number.</param>
/// <param name="Url">PR link.</param>
/// <param name="MergeSha">Merge commit SHA (40 hex).</param>
public sealed record PullRequestMerged(string Repo, int Number, string Url, string MergeSha) : TaskEvent;

/// <summary>A CI webhook (<c>workflow_run</c> or <c>check_suite</c> <c>completed</c>) for a commit.</summary>
/// <param name="Sha">Head SHA the run was for.</param>
/// <param name="Conclusion">GitHub conclusion (<c>success</c>, <c>failure</c>, …).</param>
/// <param name="Source"><c>workflow_run</c> or <c>check_suite</c>.</param>
/// <param name="Url">Link to the run, if any.</param>
public sealed record CiCompleted(string Sha, string Conclusion, string Source, string? Url) : TaskEvent;

/// <summary>Result of <see cref="TaskActivities.CheckCi"/>: aggregate CI state of a commit.</summary>
/// <param name="Sha">The commit.</param>
/// <param name="Outcome">Aggregate outcome.</param>
/// <param name="Detail">Human-readable summary (e.g. <c>2 of 3 completed</c>, <c>build: failure</c>).</param>
/// <param name="Url">Link to a failing or representative run, if any.</param>
public sealed record CiChecked(string Sha, CiOutcome Outcome, string Detail, string? Url) : TaskEvent;

/// <summary>Result of <see cref="TaskActivities.CompleteTrackerItem"/>.</summary>
/// <param name="StateName">Name of the state the item was moved to.</param>
/// <param name="CompletedByUs"><c>true</c> when the activity completed the item; <c>false</c> when a person had already completed it.</param>
public sealed record TrackerCompleted(string StateName, bool CompletedByUs = true) : TaskEvent;

/// <summary>Raised by the reconciliation sweep on every live instance.</summary>
public sealed record ReconcileRequested : TaskEvent;

/// <summary>Result of <see cref="TaskActivities.ReconcileTask"/>: what the forge shows, as events to apply in order.</summary>
/// <param name="Findings">Events describing the forge's state; empty when nothing was found.</param>
public sealed record Reconciled(IReadOnlyList<TaskEvent> Findings) : TaskEvent;

/// <summary><c>POST /api/tasks/{id}/retry</c>.</summary>
public sealed record RetryRequested : TaskEvent;

/// <summary>An activity failed for good.</summary>
/// <param name="Activity">Activity name.</param>
/// <param name="Key">Its key.</param>
/// <param name="Error">The last error message.</param>
/// <param name="Attempts">Attempts made.</param>
public sealed record TaskActivityFailed(string Activity, string Key, string Error, int Attempts) : TaskEvent;

/// <summary>A durable timer fired.</summary>
/// <param name="Name">Timer name.</param>
/// <param name="Key">Timer key.</param>
public sealed record TaskTimerFired(string Name, string Key) : TaskEvent;

/// <summary>Result of <see cref="TaskActivities.StartRolePipeline"/>: the child instance runs.</summary>
/// <param name="ChildId">Role pipeline instance id.</param>
/// <param name="Source">Where the pipeline definition came from (<c>.orchestrator/pipeline.yml</c> or <c>built-in default</c>).</param>
public sealed record RolePipelineStartedForTask(string ChildId, string Source) : TaskEvent;

/// <summary>The role pipeline instance finished (delivered by the engine).</summary>
/// <param name="ChildId">Its instance id.</param>
/// <param name="Status">Its final custom status (<c>DEPLOYED</c>, <c>FAILED</c>, <c>CANCELLED</c>).</param>
/// <param name="Failed">Whether it failed.</param>
/// <param name="Summary">Its last timeline line (the reason when failed).</param>
public sealed record RolePipelineFinished(string ChildId, string Status, bool Failed, string? Summary) : TaskEvent;

/// <summary>A person cancels the task from the web tool or the API (issue #9 task actions): like a cancelled tracker item, the forge issue is closed as not planned.</summary>
/// <param name="Actor">Who cancelled it (user name, <c>token:&lt;name&gt;</c> or <c>admin-token</c>).</param>
/// <param name="Reason">Why, as they wrote it (optional, plain text).</param>
public sealed record CancelRequested(string Actor, string? Reason) : TaskEvent;

/// <summary>A person adds a note to the task: it goes to the timeline and is posted once as a tracker comment.</summary>
/// <param name="NoteId">Unique id of the note (the comment's idempotency key).</param>
/// <param name="Actor">Who wrote it.</param>
/// <param name="Text">The note, plain text (at most 4,000 characters; HTML-escaped when posted).</param>
public sealed record NoteAdded(string NoteId, string Actor, string Text) : TaskEvent;

/// <summary><c>POST /api/tasks/{id}/repo</c>: set the repository of a task waiting in <c>NEEDS_REPO</c> and create the issue.</summary>
/// <param name="Repo"><c>owner/name</c>; must be one of the project's repositories.</param>
public sealed record RepoAssigned(string Repo) : TaskEvent;

/// <summary>Result of <see cref="TaskActivities.SetForgeLabel"/>.</summary>
/// <param name="Label">Label name.</param>
/// <param name="Present">Whether the label is now on the issue.</param>
public sealed record ForgeLabelSet(string Label, bool Present) : TaskEvent;

/// <summary>Result of <see cref="TaskActivities.CloseForgeIssue"/>.</summary>
/// <param name="Number">The closed issue.</param>
public sealed record ForgeIssueClosed(int Number) : TaskEvent;

/// <summary>Result of <see cref="TaskActivities.ReopenTrackerItem"/>.</summary>
/// <param name="StateName">Name of the state the item was moved back to.</param>
public sealed record TrackerReopened(string StateName) : TaskEvent;

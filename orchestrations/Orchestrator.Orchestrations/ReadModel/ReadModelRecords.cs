namespace Orchestrator.Orchestrations.ReadModel;

/// <summary>
/// One row of the <c>tasks</c> table (migration 0007): what a screen shows of a task, written in the same
/// transaction as the step that changed it. Column names are the snake_case of these names.
/// </summary>
/// <param name="Id">Task instance id, e.g. <c>plane-&lt;uuid&gt;</c>.</param>
/// <param name="ProjectSlug">Project slug; <c>null</c> for tasks started before projects had slugs (the writer then looks it up by tracker project).</param>
/// <param name="TaskKey"><c>PREFIX-N</c>, once known.</param>
/// <param name="Title">Title.</param>
/// <param name="Status">The status users see, overlays applied (<c>BLOCKED</c>, <c>AUTO_DISABLED</c>): what <c>GET /api/tasks</c> shows.</param>
/// <param name="Step">The pipeline step under any overlay (a <c>TaskStatus</c> name); equals <paramref name="Status"/> without an overlay.</param>
/// <param name="Blocked">The tracker marks the unfinished task blocked (the <c>BLOCKED</c> overlay).</param>
/// <param name="AutoDisabled">AutoTask was turned off: syncing stopped (the <c>AUTO_DISABLED</c> overlay).</param>
/// <param name="TrackerKind"><c>plane</c> or <c>asana</c>.</param>
/// <param name="TrackerProjectId">Tracker project id.</param>
/// <param name="TrackerItemId">Tracker item id.</param>
/// <param name="TrackerUrl">Tracker permalink, when known.</param>
/// <param name="ForgeKind"><c>github</c> or <c>gitea</c>.</param>
/// <param name="Repo">Repository <c>owner/name</c>, once resolved.</param>
/// <param name="IssueNumber">Forge issue number.</param>
/// <param name="IssueUrl">Forge issue link.</param>
/// <param name="PrNumber">Linked pull request number.</param>
/// <param name="PrUrl">Linked pull request link.</param>
/// <param name="MergeSha">Merge commit SHA.</param>
/// <param name="CiState">One of <see cref="CiStates"/>, or <c>null</c> before the merge.</param>
/// <param name="CiUrl">Link to the CI run that decided, if known.</param>
/// <param name="FailedStep">Where a retry resumes (<c>TaskSpec</c>, <c>Issue</c>, <c>Ci</c>, <c>Agents</c>) while <c>FAILED</c>.</param>
/// <param name="FailureReason">Why it failed, while <c>FAILED</c>.</param>
/// <param name="CreatedAt">When the pipeline started.</param>
/// <param name="UpdatedAt">When the last step changed the task.</param>
/// <param name="DeployedAt">When it reached <c>DEPLOYED</c>.</param>
public sealed record TaskRow(
    string Id,
    string? ProjectSlug,
    string? TaskKey,
    string? Title,
    string Status,
    string Step,
    bool Blocked,
    bool AutoDisabled,
    string TrackerKind,
    string TrackerProjectId,
    string TrackerItemId,
    string? TrackerUrl,
    string ForgeKind,
    string? Repo,
    int? IssueNumber,
    string? IssueUrl,
    int? PrNumber,
    string? PrUrl,
    string? MergeSha,
    string? CiState,
    string? CiUrl,
    string? FailedStep,
    string? FailureReason,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? DeployedAt);

/// <summary>
/// One row to append to <c>task_events</c>: a fact about a task, with where it came from. The summary is small and
/// made of chosen fields (numbers, links, statuses, clipped reasons), never a webhook body, a TaskSpec or an agent's
/// output.
/// </summary>
/// <param name="TaskId">Task instance id.</param>
/// <param name="ProjectSlug">Project slug, or <c>null</c> to take the task row's.</param>
/// <param name="Source">One of <see cref="Abstractions.EventSources"/>.</param>
/// <param name="EventType">One of <see cref="TaskEventTypes"/>.</param>
/// <param name="Actor">Who acted, or <c>null</c>.</param>
/// <param name="Summary">Small JSON object: string keys, values of type string, number, bool, or a list of strings; <c>null</c> values are left out.</param>
/// <param name="DeliveryId">Webhook delivery id, or <c>null</c>.</param>
/// <param name="CreatedAt">When (the step's time).</param>
public sealed record TaskEventRecord(
    string TaskId,
    string? ProjectSlug,
    string Source,
    string EventType,
    string? Actor,
    IReadOnlyDictionary<string, object> Summary,
    string? DeliveryId,
    DateTimeOffset CreatedAt);

/// <summary>What one step of a task writes to the read model.</summary>
/// <param name="Row">The task's row after the step (upserted).</param>
/// <param name="Events">Events to append, in order.</param>
public sealed record TaskProjectionResult(TaskRow Row, IReadOnlyList<TaskEventRecord> Events);

/// <summary>Values of <see cref="TaskEventRecord.EventType"/> (<c>task_events.event_type</c>) and what their summary holds.</summary>
public static class TaskEventTypes
{
    /// <summary>A tracker or forge delivery changed the task. <c>{event}</c> (the applied event's name); the delivery id is in its column.</summary>
    public const string WebhookReceived = "webhook_received";

    /// <summary>The status users see or the step under it changed. <c>{from, to, reason}</c>, plus <c>{step_from, step_to}</c> when an overlay hides the step on either side.</summary>
    public const string StatusChanged = "status_changed";

    /// <summary>The task entered <c>NEEDS_REPO</c>. <c>{allowed}</c> (the project's repositories).</summary>
    public const string RepoMissing = "repo_missing";

    /// <summary>The task's repository was set or changed. <c>{repo, previous}</c>.</summary>
    public const string RepoResolved = "repo_resolved";

    /// <summary>The forge issue exists. <c>{number, url, repo, created}</c> (<c>created</c> false: found after a restart).</summary>
    public const string IssueCreated = "issue_created";

    /// <summary>The forge issue was closed as not planned (task cancelled). <c>{number}</c>.</summary>
    public const string IssueClosed = "issue_closed";

    /// <summary>A pull request that closes the issue is linked. <c>{number, url, repo}</c>.</summary>
    public const string PrLinked = "pr_linked";

    /// <summary>The linked pull request was closed without merge. <c>{number, repo}</c>.</summary>
    public const string PrClosed = "pr_closed";

    /// <summary>The pull request was merged. <c>{number, url, sha}</c>.</summary>
    public const string PrMerged = "pr_merged";

    /// <summary>CI reported on the merge commit. <c>{sha, result, url, via, detail}</c> (<c>result</c>: a conclusion such as <c>success</c> / <c>failure</c>, or <c>timed_out</c>).</summary>
    public const string CiUpdated = "ci_updated";

    /// <summary>The tracker item is completed. <c>{state, by_us}</c> (<c>by_us</c> false: a person completed it first).</summary>
    public const string TrackerCompleted = "tracker_completed";

    /// <summary>The tracker item was reopened (red CI after the deploy). <c>{state}</c>.</summary>
    public const string TrackerReopened = "tracker_reopened";

    /// <summary>A person or API client acted on the task. <c>{action, …}</c> (e.g. <c>retry</c>, <c>set_repo</c> with <c>repo</c>).</summary>
    public const string ManualAction = "manual_action";

    /// <summary>An activity failed for good (the task failed, or kept a warning). <c>{activity, attempts, error}</c>.</summary>
    public const string Error = "error";

    /// <summary>Role pipeline (mode <c>run</c>): a stage's agent started. <c>{stage, agent, round, execution}</c>.</summary>
    public const string StageStarted = "stage_started";

    /// <summary>Role pipeline: a stage's gate (or its CI) decided. <c>{stage, outcome, verdict, reason, round}</c>.</summary>
    public const string StageFinished = "stage_finished";

    /// <summary>Role pipeline: an agent run finished. <c>{stage, agent, round, succeeded, tokens_in, tokens_out, cost_usd, duration_ms, failure}</c>.</summary>
    public const string AgentRun = "agent_run";
}

/// <summary>Values of <see cref="TaskRow.CiState"/> (<c>tasks.ci_state</c>).</summary>
public static class CiStates
{
    /// <summary>Merged; waiting for CI on the merge commit.</summary>
    public const string Pending = "pending";

    /// <summary>CI passed on the merge commit.</summary>
    public const string Success = "success";

    /// <summary>CI failed (or did not finish in time) on the merge commit.</summary>
    public const string Failure = "failure";

    /// <summary>Merged and deployed without waiting for CI (<c>require_ci: false</c>).</summary>
    public const string NotRequired = "not_required";
}

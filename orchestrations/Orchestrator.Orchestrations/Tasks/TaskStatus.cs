namespace Orchestrator.Orchestrations.Tasks;

/// <summary>
/// The pipeline statuses users see, in the words of the product (API, timeline, comments).
/// Serialised by name, e.g. <c>"WAITING_CI"</c>.
/// </summary>
#pragma warning disable CA1707 // The names are the user-facing words, underscores included.
public enum TaskStatus
{
    /// <summary>A tracker item carrying the trigger label started the pipeline.</summary>
    RECEIVED,

    /// <summary>The TaskSpec Markdown was built and stored.</summary>
    TASKSPEC_CREATED,

    /// <summary>The forge issue carrying the TaskSpec and the agent command exists.</summary>
    ISSUE_CREATED,

    /// <summary>A pull request that closes the issue is open.</summary>
    PR_CREATED,

    /// <summary>The PR was merged; waiting for CI on the merge commit.</summary>
    WAITING_CI,

    /// <summary>CI on the merge commit passed (or CI is not required); the tracker item is done.</summary>
    DEPLOYED,

    /// <summary>A step failed; <c>POST /api/tasks/{id}/retry</c> re-runs it.</summary>
    FAILED,

    /// <summary>The task has no repository to work in (used by multi-repo projects).</summary>
    NEEDS_REPO,

    /// <summary>The trigger marker was removed; syncing stopped.</summary>
    AUTO_DISABLED,

    /// <summary>The tracker marks the task blocked.</summary>
    BLOCKED,

    /// <summary>The tracker item was cancelled or deleted.</summary>
    CANCELLED,
}
#pragma warning restore CA1707

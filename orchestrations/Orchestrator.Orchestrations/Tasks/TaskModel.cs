using System.Text.Json.Serialization;

namespace Orchestrator.Orchestrations.Tasks;

/// <summary>Per-project settings captured when a task starts (from <c>ORCH_PROJECTS_JSON</c>).</summary>
/// <param name="TrackerProjectId">Tracker project id (Plane project UUID, Asana project gid).</param>
/// <param name="Repo">Forge repository <c>owner/name</c> (the default, and the only one when <paramref name="RepoFromTracker"/> is false).</param>
/// <param name="WorkItemPrefix">Prefix of task ids, e.g. <c>WEB</c> in <c>WEB-42</c>.</param>
/// <param name="AgentCommand">Line appended to the forge issue, e.g. <c>/opencode implement</c>.</param>
/// <param name="RequireCi">Whether a merged PR waits for green CI before <c>DEPLOYED</c>.</param>
/// <param name="Mode"><c>dispatch</c> (write the agent command into the issue; an agent in the forge's CI does the work) or <c>run</c> (the orchestrator runs the role pipeline's agents itself).</param>
/// <param name="Tracker">Tracker kind: <c>plane</c> or <c>asana</c>.</param>
/// <param name="Forge">Forge kind: <c>github</c> or <c>gitea</c>.</param>
/// <param name="ProjectSlug">Project slug used in links and ids, if any.</param>
/// <param name="Repos">The project's allowed repositories; <c>null</c> means just <paramref name="Repo"/>.</param>
/// <param name="RepoFromTracker"><c>true</c>: the repository comes from the tracker item's <see cref="WorkItemSnapshot.Repo"/>, which must be one of <see cref="AllowedRepos"/>; <c>false</c>: <paramref name="Repo"/> is the repository.</param>
public sealed record TaskProject(
    string TrackerProjectId,
    string Repo,
    string WorkItemPrefix,
    string AgentCommand,
    bool RequireCi,
    string Mode = TaskProject.DispatchMode,
    string Tracker = TaskProject.PlaneTracker,
    string Forge = TaskProject.GitHubForge,
    string? ProjectSlug = null,
    IReadOnlyList<string>? Repos = null,
    bool RepoFromTracker = false)
{
    /// <summary>Tracker kind: Plane.</summary>
    public const string PlaneTracker = "plane";

    /// <summary>Tracker kind: Asana.</summary>
    public const string AsanaTracker = "asana";

    /// <summary>Forge kind: GitHub.</summary>
    public const string GitHubForge = "github";

    /// <summary>Forge kind: Gitea.</summary>
    public const string GiteaForge = "gitea";

    /// <summary>Mode: the agent runs in the forge's CI.</summary>
    public const string DispatchMode = "dispatch";

    /// <summary>Mode: the orchestrator runs the agents.</summary>
    public const string RunMode = "run";

    /// <summary>Whether the orchestrator runs the agents.</summary>
    public bool RunsAgents => string.Equals(Mode, RunMode, StringComparison.OrdinalIgnoreCase);

    /// <summary>The tracker's name for people (timeline, comments): <c>Plane</c> or <c>Asana</c>.</summary>
    [JsonIgnore]
    public string TrackerName => TrackerDisplayName(Tracker);

    /// <summary>The forge's name for people (timeline, comments): <c>GitHub</c> or <c>Gitea</c>.</summary>
    [JsonIgnore]
    public string ForgeName => ForgeDisplayName(Forge);

    /// <summary>The repositories a task of this project may use: <see cref="Repos"/>, or just <see cref="Repo"/>.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> AllowedRepos => Repos is { Count: > 0 } repos ? repos : [Repo];

    /// <summary><c>Plane</c>, <c>Asana</c>, or the kind as given.</summary>
    /// <param name="tracker">Tracker kind.</param>
    public static string TrackerDisplayName(string? tracker) => tracker?.ToLowerInvariant() switch
    {
        null or "" or PlaneTracker => "Plane",
        AsanaTracker => "Asana",
        _ => tracker,
    };

    /// <summary><c>GitHub</c>, <c>Gitea</c>, or the kind as given.</summary>
    /// <param name="forge">Forge kind.</param>
    public static string ForgeDisplayName(string? forge) => forge?.ToLowerInvariant() switch
    {
        null or "" or GitHubForge => "GitHub",
        GiteaForge => "Gitea",
        _ => forge,
    };

    /// <summary>
    /// The allowed repository matching <paramref name="repo"/> case-insensitively, in its canonical
    /// spelling from <see cref="AllowedRepos"/>; <c>null</c> when it is not allowed (or null).
    /// </summary>
    /// <param name="repo"><c>owner/name</c>.</param>
    public string? FindAllowedRepo(string? repo)
    {
        if (string.IsNullOrWhiteSpace(repo))
        {
            return null;
        }

        var wanted = repo.Trim();
        foreach (var allowed in AllowedRepos)
        {
            if (string.Equals(allowed, wanted, StringComparison.OrdinalIgnoreCase))
            {
                return allowed;
            }
        }

        return null;
    }

    /// <summary>
    /// The repository a task uses for <paramref name="item"/>: with <see cref="RepoFromTracker"/>, the
    /// item's repository if allowed (else <c>null</c>); otherwise <see cref="Repo"/>.
    /// </summary>
    /// <param name="item">The tracker item.</param>
    public string? ResolveRepo(WorkItemSnapshot item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return RepoFromTracker ? FindAllowedRepo(item.Repo) : Repo;
    }
}

/// <summary>Values of <see cref="WorkItemSnapshot.Lifecycle"/>.</summary>
public static class WorkItemLifecycle
{
    /// <summary>The item is being worked on (or waiting to be).</summary>
    public const string Active = "ACTIVE";

    /// <summary>The tracker marks the item blocked.</summary>
    public const string Blocked = "BLOCKED";

    /// <summary>The item was cancelled in the tracker.</summary>
    public const string Cancelled = "CANCELLED";
}

/// <summary>What a webhook (or the tracker API) told us about a tracker work item.</summary>
/// <param name="WorkItemId">Work item UUID.</param>
/// <param name="SequenceId">Per-project sequence number, or <c>null</c> if the delivery lacked it.</param>
/// <param name="Name">Title, or <c>null</c> if absent.</param>
/// <param name="DescriptionHtml">Description HTML, or <c>null</c> if the delivery lacked it (to be fetched).</param>
/// <param name="Labels">Label names, or <c>null</c> if the delivery lacked them.</param>
/// <param name="StateGroup">State group (<c>completed</c>, <c>cancelled</c>, …), or <c>null</c>.</param>
/// <param name="Triggered">Whether the trigger marker (Plane label, Asana AutoTask field or tag) is on; <c>null</c> if unknown.</param>
/// <param name="Repo">Repository chosen in the tracker (<c>owner/name</c>, resolved by the host), or <c>null</c>.</param>
/// <param name="Lifecycle"><see cref="WorkItemLifecycle.Active"/>, <see cref="WorkItemLifecycle.Blocked"/>, <see cref="WorkItemLifecycle.Cancelled"/>, or <c>null</c> if unknown.</param>
/// <param name="Completed">Whether the tracker item is completed; <c>null</c> if unknown.</param>
/// <param name="Url">Tracker permalink, or <c>null</c>.</param>
public sealed record WorkItemSnapshot(
    string WorkItemId,
    int? SequenceId,
    string? Name,
    string? DescriptionHtml,
    IReadOnlyList<string>? Labels,
    string? StateGroup,
    bool? Triggered = null,
    string? Repo = null,
    string? Lifecycle = null,
    bool? Completed = null,
    string? Url = null);

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

    /// <summary>
    /// Whether the role pipeline finished (<c>RolePipelineFinished</c>: done, failed, cancelled or taken over) and has
    /// not been resumed by a retry since. While it has not, a merge of the PR stops it (<c>StopRolePipeline</c>).
    /// </summary>
    public bool RolePipelineDone { get; init; }

    /// <summary>Non-fatal problems (e.g. a tracker comment that could not be posted).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>The resolved repository (<c>owner/name</c>); <c>null</c> before it is known (or in states saved before it existed, which use <see cref="TaskProject.Repo"/>). Fixed once the issue exists.</summary>
    public string? Repo { get; init; }

    /// <summary>The trigger marker was turned off in the tracker: syncing stopped (status <c>AUTO_DISABLED</c>).</summary>
    public bool Disabled { get; init; }

    /// <summary>The tracker marks the item blocked (status <c>BLOCKED</c>; the pipeline keeps going).</summary>
    public bool Blocked { get; init; }

    /// <summary>Whether the orchestrator completed the tracker item (<c>true</c>) or found it completed by a person (<c>false</c>); <c>null</c> before completion.</summary>
    public bool? CompletedByUs { get; init; }

    /// <summary>How many times syncing was disabled; part of the keys of the toggle's activities.</summary>
    public int DisableCount { get; init; }
}

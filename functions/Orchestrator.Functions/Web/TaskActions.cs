using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Orchestrator.Functions.Platforms;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.ReadModel;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Functions.Web;

/// <summary>What became of a task action.</summary>
public enum TaskActionOutcome
{
    /// <summary>The event was raised (the pipeline applies it shortly).</summary>
    Accepted,

    /// <summary>The same action with the same input was already raised (a double submit): nothing new was raised.</summary>
    AlreadyRequested,

    /// <summary>The input is wrong (empty, too long, not one of the project's repos, no such pull request): nothing was raised.</summary>
    Invalid,

    /// <summary>The action does not apply to the task as it stands (e.g. retry of a task that is not FAILED): nothing was raised.</summary>
    NotApplicable,

    /// <summary>There is no such task.</summary>
    NotFound,
}

/// <summary>The answer of a task action.</summary>
/// <param name="Outcome">What became of it.</param>
/// <param name="Message">A sentence for people: what was done, or why not.</param>
/// <param name="Field">For <see cref="TaskActionOutcome.Invalid"/>: the input that is wrong (<c>repo</c>, <c>pr</c>, <c>text</c>, <c>reason</c>), else <c>null</c>.</param>
/// <param name="Action">The action's name as recorded (<c>retry</c>, <c>resync</c>, <c>link_pr</c>, <c>set_repo</c>, <c>note</c>, <c>cancel</c>).</param>
public sealed record TaskActionResult(TaskActionOutcome Outcome, string Message, string? Field = null, string Action = "")
{
    /// <summary>Whether the action stands (raised now or before).</summary>
    public bool Succeeded => Outcome is TaskActionOutcome.Accepted or TaskActionOutcome.AlreadyRequested;

    /// <summary>The HTTP status of the JSON API: 202, 400, 409 or 404.</summary>
    public int HttpStatus => Outcome switch
    {
        TaskActionOutcome.Accepted or TaskActionOutcome.AlreadyRequested => StatusCodes.Status202Accepted,
        TaskActionOutcome.Invalid => StatusCodes.Status400BadRequest,
        TaskActionOutcome.NotApplicable => StatusCodes.Status409Conflict,
        _ => StatusCodes.Status404NotFound,
    };
}

/// <summary>
/// The actions a person (task page) or a script (<c>/api/tasks/{id}/actions/…</c>) takes on a task (issue #9 §2), with
/// their rules in one place: retry, re-sync from the tracker, force-link a pull request, change the repository, add a
/// note, cancel. Each one checks that it applies to the task as it stands and that its input is valid — otherwise it
/// raises nothing and says why — and raises one pipeline event whose key is derived from the task's round or version and
/// the input, so a double submit raises it once. The event's <c>manual_action</c> read-model row (with the actor) is
/// written in the transaction that queues the event (<see cref="ReadModelWriter.RaisingManualAction"/>): both or neither.
/// Callers check the caller's role and that the task belongs to a project they may see; tracker and forge failures
/// (other than "the item is gone") surface as <see cref="PlatformApiException"/>.
/// </summary>
public sealed partial class TaskActions(NpgsqlDataSource db, DurableEngine engine, PlatformRegistry platforms, TimeProvider clock, ILogger<TaskActions> logger)
{
    /// <summary>Longest note (characters), as the decider's <see cref="NoteAdded"/> expects.</summary>
    public const int MaxNoteLength = 4000;

    /// <summary>Longest cancel reason (characters).</summary>
    public const int MaxReasonLength = 500;

    /// <summary>Longest pull request reference accepted (characters).</summary>
    public const int MaxPullRequestReference = 500;

    /// <summary>Re-runs a <c>FAILED</c> task from the step that failed (<see cref="RetryRequested"/>, key <c>retry:{version}</c>).</summary>
    /// <param name="taskId">Task instance id.</param>
    /// <param name="by">Who asks (source and actor).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The result.</returns>
    public async Task<TaskActionResult> RetryAsync(string taskId, EventOrigin by, CancellationToken cancellationToken)
    {
        const string action = "retry";
        if (await LoadAsync(taskId, cancellationToken) is not { } task)
        {
            return NotFound(taskId, action);
        }

        if (task.State.Status != TaskStatus.FAILED || task.State.FailedStep is not { } step)
        {
            return new(TaskActionOutcome.NotApplicable, $"{task.Name} is {task.Status}; only FAILED tasks can be retried.", Action: action);
        }

        return await RaiseAsync(task, action, new RetryRequested(), $"retry:{task.Version}", by,
            new Dictionary<string, object> { ["resumes_at"] = step.ToString() },
            $"Retry requested: {task.Name} resumes at {step}.", cancellationToken);
    }

    /// <summary>
    /// Reads the item from the tracker now and hands it to the task (<see cref="WorkItemUpdated"/>, key from the round and
    /// the item as read); a tracker answering 404/410 means the item is gone (<see cref="WorkItemDeleted"/>).
    /// </summary>
    /// <param name="taskId">Task instance id.</param>
    /// <param name="by">Who asks.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The result.</returns>
    /// <exception cref="PlatformApiException">The tracker failed otherwise.</exception>
    public async Task<TaskActionResult> ResyncAsync(string taskId, EventOrigin by, CancellationToken cancellationToken)
    {
        const string action = "resync";
        if (await LoadAsync(taskId, cancellationToken) is not { } task)
        {
            return NotFound(taskId, action);
        }

        var s = task.State;
        var tracker = await platforms.ForTaskAsync(s.Project, cancellationToken);
        WorkItemSnapshot item;
        try
        {
            item = await tracker.Tracker.GetItemAsync(s.Project.TrackerProjectId, s.WorkItemId, cancellationToken);
        }
        catch (PlatformApiException gone) when (gone.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
        {
            if (s.Status is TaskStatus.DEPLOYED or TaskStatus.CANCELLED)
            {
                return new(TaskActionOutcome.NotApplicable, $"The {s.Project.TrackerName} item of {task.Name} no longer exists, and the task is {task.Status} already.", Action: action);
            }

            return await RaiseAsync(task, action, new WorkItemDeleted(), "resync:deleted", by,
                new Dictionary<string, object> { ["found"] = "deleted" },
                $"The {s.Project.TrackerName} item of {task.Name} no longer exists: the task is cancelled.", cancellationToken);
        }

        var digest = Digest(JsonSerializer.Serialize(item, EngineJson.Options));
        var details = new Dictionary<string, object> { ["tracker"] = s.Project.Tracker };
        if (item.Name is { Length: > 0 } name)
        {
            details["title"] = name;
        }

        return await RaiseAsync(task, action, new WorkItemUpdated(item), $"resync:{s.Round}:{digest}", by, details,
            $"Re-synced {task.Name} from {s.Project.TrackerName}.", cancellationToken, duplicate: $"{task.Name} was already re-synced with the item as {s.Project.TrackerName} has it now.");
    }

    /// <summary>
    /// Links a pull request by hand (<c>owner/repo#N</c> or its URL), one of the project's repos, while the task waits for
    /// one (<c>ISSUE_CREATED</c>, <c>PR_CREATED</c>): the forge is asked for it — merged → <see cref="PullRequestMerged"/>
    /// with its merge SHA, open → <see cref="PullRequestLinked"/>, closed without merge → refused.
    /// </summary>
    /// <param name="taskId">Task instance id.</param>
    /// <param name="reference">The pull request.</param>
    /// <param name="by">Who asks.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The result.</returns>
    /// <exception cref="PlatformApiException">The forge failed.</exception>
    public async Task<TaskActionResult> LinkPullRequestAsync(string taskId, string? reference, EventOrigin by, CancellationToken cancellationToken)
    {
        const string action = "link_pr";
        if (string.IsNullOrWhiteSpace(reference))
        {
            return Invalid("pr", "Enter the pull request as owner/repo#12 or its URL.", action);
        }

        if (reference.Length > MaxPullRequestReference || ParsePullRequest(reference) is not { } parsed)
        {
            return Invalid("pr", $"'{Clip(reference.Trim(), 80)}' is not a pull request: enter owner/repo#12 or the pull request's URL.", action);
        }

        if (await LoadAsync(taskId, cancellationToken) is not { } task)
        {
            return NotFound(taskId, action);
        }

        var s = task.State;
        if (s.Disabled)
        {
            return new(TaskActionOutcome.NotApplicable, $"{task.Name} is AUTO_DISABLED: syncing is off, so a pull request cannot be linked. Turn AutoTask on in {s.Project.TrackerName} first.", Action: action);
        }

        if (s.Status is not (TaskStatus.ISSUE_CREATED or TaskStatus.PR_CREATED))
        {
            return new(TaskActionOutcome.NotApplicable, $"{task.Name} is {task.Status}; a pull request can be linked only while the task is ISSUE_CREATED or PR_CREATED.", Action: action);
        }

        if (s.Project.FindAllowedRepo(parsed.Repo) is not { } repo)
        {
            return Invalid("pr", $"{parsed.Repo} is not one of the project's repositories ({string.Join(", ", s.Project.AllowedRepos)}).", action);
        }

        var forge = await platforms.ForTaskAsync(s.Project, cancellationToken);
        var pr = await forge.Forge.GetPullRequestAsync(RepoRef.Parse(repo), parsed.Number, cancellationToken);
        if (pr is null)
        {
            return Invalid("pr", $"{forge.ForgeName} has no pull request {repo}#{parsed.Number}.", action);
        }

        var details = new Dictionary<string, object> { ["repo"] = repo, ["number"] = pr.Number };
        if (s.PrNumber == pr.Number && string.Equals(s.PrRepo, repo, StringComparison.OrdinalIgnoreCase) && !pr.Merged && s.Status == TaskStatus.PR_CREATED)
        {
            return new(TaskActionOutcome.AlreadyRequested, $"{repo}#{pr.Number} is already the linked pull request of {task.Name}.", Action: action);
        }

        if (pr.Merged)
        {
            if (pr.MergeCommitSha is not { Length: > 0 } sha)
            {
                return new(TaskActionOutcome.NotApplicable, $"{forge.ForgeName} reports {repo}#{pr.Number} as merged but gives no merge commit; try again shortly.", Action: action);
            }

            details["state"] = "merged";
            details["sha"] = sha;
            return await RaiseAsync(task, action, new PullRequestMerged(repo, pr.Number, pr.HtmlUrl, sha), $"link-pr:{s.Round}:{repo}#{pr.Number}:merged:{sha}", by, details,
                $"Linked the merged pull request {repo}#{pr.Number} to {task.Name}; {(s.Project.RequireCi ? "waiting for CI on its merge commit" : "CI is not required")}.", cancellationToken);
        }

        if (!string.Equals(pr.State, "open", StringComparison.OrdinalIgnoreCase))
        {
            return new(TaskActionOutcome.NotApplicable, $"{repo}#{pr.Number} was closed without being merged; only an open or merged pull request can be linked.", Action: action);
        }

        details["state"] = "open";
        return await RaiseAsync(task, action, new PullRequestLinked(repo, pr.Number, pr.HtmlUrl), $"link-pr:{s.Round}:{repo}#{pr.Number}:open", by, details,
            $"Linked the open pull request {repo}#{pr.Number} to {task.Name}.", cancellationToken);
    }

    /// <summary>Gives a <c>NEEDS_REPO</c> task its repository, one of the project's (<see cref="RepoAssigned"/>, key <c>repo:{round}:{repo}</c>); the issue is then created there.</summary>
    /// <param name="taskId">Task instance id.</param>
    /// <param name="repo"><c>owner/name</c>.</param>
    /// <param name="by">Who asks.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The result.</returns>
    public async Task<TaskActionResult> ChangeRepoAsync(string taskId, string? repo, EventOrigin by, CancellationToken cancellationToken)
    {
        const string action = "set_repo";
        if (string.IsNullOrWhiteSpace(repo))
        {
            return Invalid("repo", "Choose one of the project's repositories.", action);
        }

        if (await LoadAsync(taskId, cancellationToken) is not { } task)
        {
            return NotFound(taskId, action);
        }

        var s = task.State;
        if (s.Status != TaskStatus.NEEDS_REPO)
        {
            var why = s.IssueNumber is { } issue
                ? $"its {s.Project.ForgeName} issue #{issue} exists in {s.Repo ?? s.Project.Repo}, and an issue does not move"
                : $"it is {task.Status}, and the repo can only be set while it is NEEDS_REPO";
            return new(TaskActionOutcome.NotApplicable, $"The repository of {task.Name} cannot be changed: {why}.", Action: action);
        }

        if (s.Project.FindAllowedRepo(repo) is not { } canonical)
        {
            return Invalid("repo", $"'{Clip(repo.Trim(), 80)}' is not one of the project's repos: {string.Join(", ", s.Project.AllowedRepos)}.", action);
        }

        return await RaiseAsync(task, action, new RepoAssigned(canonical), $"repo:{s.Round}:{canonical}", by,
            new Dictionary<string, object> { ["repo"] = canonical },
            $"Repository of {task.Name} set to {canonical}; the {s.Project.ForgeName} issue is created there.", cancellationToken);
    }

    /// <summary>
    /// Adds a note (<see cref="NoteAdded"/>): it shows in the timeline and is posted once as a tracker comment. The key is
    /// <paramref name="noteId"/> when given (the form's one-time id, so a double submit posts once), else derived from the
    /// actor, the text and the task's version.
    /// </summary>
    /// <param name="taskId">Task instance id.</param>
    /// <param name="text">Plain text, at most <see cref="MaxNoteLength"/> characters.</param>
    /// <param name="noteId">Optional idempotency id (letters, digits, <c>-</c>, <c>_</c>; at most 64).</param>
    /// <param name="by">Who writes it.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The result.</returns>
    public async Task<TaskActionResult> AddNoteAsync(string taskId, string? text, string? noteId, EventOrigin by, CancellationToken cancellationToken)
    {
        const string action = "note";
        var note = (text ?? "").Replace("\r\n", "\n", StringComparison.Ordinal).Trim();
        if (note.Length == 0)
        {
            return Invalid("text", "Write the note.", action);
        }

        if (note.Length > MaxNoteLength)
        {
            return Invalid("text", $"At most {MaxNoteLength.ToString("N0", CultureInfo.InvariantCulture)} characters (this note has {note.Length.ToString("N0", CultureInfo.InvariantCulture)}).", action);
        }

        if (noteId is { Length: > 0 } && !NoteIdPattern().IsMatch(noteId))
        {
            return Invalid("id", "The note id may hold only letters, digits, '-' and '_' (at most 64).", action);
        }

        if (await LoadAsync(taskId, cancellationToken) is not { } task)
        {
            return NotFound(taskId, action);
        }

        var actor = by.Actor ?? "unknown";
        var id = noteId is { Length: > 0 } given ? given : Digest($"{actor}\n{note}\n{task.Version}");
        return await RaiseAsync(task, action, new NoteAdded(id, actor, note), $"note:{id}", by,
            new Dictionary<string, object> { ["note_id"] = id, ["text"] = note },
            $"Note added to {task.Name}; it is posted to {task.State.Project.TrackerName} as a comment.", cancellationToken,
            duplicate: $"That note was already added to {task.Name}.");
    }

    /// <summary>Cancels an unfinished task (<see cref="CancelRequested"/>, key <c>cancel:{round}</c>): the forge issue is closed as not planned and the tracker told.</summary>
    /// <param name="taskId">Task instance id.</param>
    /// <param name="reason">Optional reason, at most <see cref="MaxReasonLength"/> characters.</param>
    /// <param name="by">Who cancels.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The result.</returns>
    public async Task<TaskActionResult> CancelAsync(string taskId, string? reason, EventOrigin by, CancellationToken cancellationToken)
    {
        const string action = "cancel";
        var why = string.IsNullOrWhiteSpace(reason) ? null : string.Join(' ', reason.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (why is { Length: > MaxReasonLength })
        {
            return Invalid("reason", $"At most {MaxReasonLength} characters.", action);
        }

        if (await LoadAsync(taskId, cancellationToken) is not { } task)
        {
            return NotFound(taskId, action);
        }

        var s = task.State;
        if (s.Status is TaskStatus.DEPLOYED or TaskStatus.CANCELLED)
        {
            return new(TaskActionOutcome.NotApplicable, $"{task.Name} is {s.Status} already; only an unfinished task can be cancelled.", Action: action);
        }

        var details = new Dictionary<string, object>();
        if (why is not null)
        {
            details["reason"] = why;
        }

        return await RaiseAsync(task, action, new CancelRequested(by.Actor ?? "unknown", why), $"cancel:{s.Round}", by, details,
            s.IssueNumber is { } issue
                ? $"{task.Name} is cancelled; its {s.Project.ForgeName} issue #{issue} is closed as not planned."
                : $"{task.Name} is cancelled.",
            cancellationToken, duplicate: $"{task.Name} was already cancelled.");
    }

    /// <summary>A pull request reference: <c>owner/repo#12</c>, or a pull request URL (<c>…/owner/repo/pull/12</c> on GitHub, <c>…/pulls/12</c> on Gitea and in API URLs).</summary>
    /// <param name="reference">What the user typed.</param>
    /// <returns>Repository and number, or <c>null</c>.</returns>
    public static (string Repo, int Number)? ParsePullRequest(string reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var text = reference.Trim();
        if (ShortReference().Match(text) is { Success: true } m && int.TryParse(m.Groups[3].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            return ($"{m.Groups[1].Value}/{m.Groups[2].Value}", n);
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            return null;
        }

        var segments = url.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length >= 4 && segments[^2] is "pull" or "pulls"
            && int.TryParse(segments[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0
            && RepoPart().IsMatch(segments[^4]) && RepoPart().IsMatch(segments[^3]))
        {
            return ($"{Uri.UnescapeDataString(segments[^4])}/{Uri.UnescapeDataString(segments[^3])}", number);
        }

        return null;
    }

    private async Task<TaskActionResult> RaiseAsync(
        LoadedTask task, string action, TaskEvent @event, string eventKey, EventOrigin by, IReadOnlyDictionary<string, object> details, string accepted,
        CancellationToken cancellationToken, string? duplicate = null)
    {
        // The manual action is recorded with the event it raises, in one transaction; a repeated key writes neither.
        var record = TaskProjection.ManualAction(task.State.InstanceId, action, by, details, clock.GetUtcNow());
        var queued = await engine.RaiseEventAsync(task.State.InstanceId, @event, eventKey, ReadModelWriter.RaisingManualAction(record), cancellationToken);
        if (!queued)
        {
            return new(TaskActionOutcome.AlreadyRequested, duplicate ?? $"That was already requested for {task.Name}; it is not raised twice.", Action: action);
        }

        logger.LogInformation("Task {TaskId}: {Action} by {Actor} ({Source})", task.State.InstanceId, action, by.Actor, by.Source);
        return new(TaskActionOutcome.Accepted, accepted, Action: action);
    }

    private async Task<LoadedTask?> LoadAsync(string taskId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT state::text, version, custom_status FROM instances WHERE id = @id AND orchestration = @o AND state IS NOT NULL");
        command.Parameters.AddWithValue("id", taskId);
        command.Parameters.AddWithValue("o", TaskPipelineOrchestration.OrchestrationName);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var state = JsonSerializer.Deserialize<TaskState>(reader.GetString(0), EngineJson.Options)!;
        return new LoadedTask(state, reader.GetInt64(1), reader.GetString(2));
    }

    private static TaskActionResult NotFound(string taskId, string action) => new(TaskActionOutcome.NotFound, $"No task '{taskId}'.", Action: action);

    private static TaskActionResult Invalid(string field, string message, string action) => new(TaskActionOutcome.Invalid, message, field, action);

    private static string Digest(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..24];

    private static string Clip(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    [GeneratedRegex(@"^([A-Za-z0-9][A-Za-z0-9._-]*)/([A-Za-z0-9._-]+)#(\d{1,9})$")]
    private static partial Regex ShortReference();

    [GeneratedRegex(@"^[A-Za-z0-9._%-]+$")]
    private static partial Regex RepoPart();

    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex NoteIdPattern();

    /// <summary>A task as stored: state, instance version and the status users see.</summary>
    private sealed record LoadedTask(TaskState State, long Version, string Status)
    {
        /// <summary>How messages name it: its key, else its instance id.</summary>
        public string Name => State.TaskKey ?? State.InstanceId;
    }
}

using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Orchestrator.Functions.Functions;
using Orchestrator.Functions.Web;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Tasks;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.ReadModel;

namespace Orchestrator.Functions.Pages.Projects;

/// <summary>
/// <c>/p/{slug}/t/{id}</c> (issue #9 §2.2): one task of the project, by key (<c>WEB-42</c>) or instance id; another project's
/// task is 404. Viewers read the status, links, the TaskSpec (Markdown without raw HTML) and its version, the role
/// pipeline's gates and agent runs, and the timeline from <c>task_events</c> (newest first, paged). Editors also get the
/// actions at the top — retry, re-sync, force link PR, change repo, add note, cancel — whose rules are
/// <see cref="TaskActions"/>' (the JSON API uses the same); each posts, and answers with a redirect back here and a
/// message, or with the form's error next to its field when the input is invalid.
/// </summary>
public sealed class TaskPageModel(ReadModelQueries readModel, TaskQueries queries, TaskPageData pageData, TaskActions actions) : ProjectPageModel
{
    /// <summary>Timeline entries per page.</summary>
    public const int EventsPerPage = 50;

    /// <summary>The task's key or instance id, from the route.</summary>
    [BindProperty(SupportsGet = true)]
    public string Id { get; set; } = "";

    /// <summary>Show events older than this event id (<c>?before=</c>), or <c>null</c> for the newest.</summary>
    [BindProperty(SupportsGet = true, Name = "before")]
    public long? Before { get; set; }

    /// <summary>The read model's row and events.</summary>
    public TaskPageView View { get; private set; } = null!;

    /// <summary>What only the instance holds (TaskSpec, warnings, role pipeline), or <c>null</c> when the instance is gone.</summary>
    public TaskDetail? Detail { get; private set; }

    /// <summary>The role pipeline's agent runs (mode <c>run</c>), oldest first.</summary>
    public IReadOnlyList<AgentRunView> Runs { get; private set; } = [];

    /// <summary>The TaskSpec versions built so far (from the history), oldest first.</summary>
    public IReadOnlyList<(int Version, DateTimeOffset At)> SpecVersions { get; private set; } = [];

    /// <summary>The TaskSpec as HTML (safe Markdown), or <c>null</c> before it exists.</summary>
    public string? TaskSpecHtml { get; private set; }

    /// <summary>The form whose input was refused (<c>link_pr</c>, <c>set_repo</c>, <c>note</c>, <c>cancel</c>), or <c>null</c>.</summary>
    public string? ErrorForm { get; private set; }

    /// <summary>The refused input's field.</summary>
    public string? ErrorField { get; private set; }

    /// <summary>Why it was refused.</summary>
    public string? ErrorMessage { get; private set; }

    /// <summary>The values posted with the refused form, to show them again.</summary>
    public Dictionary<string, string> Posted { get; } = new(StringComparer.Ordinal);

    /// <summary>A fresh one-time id for the note form (a double submit posts the note once).</summary>
    public string NewNoteId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>The tracker's name (<c>Plane</c>, <c>Asana</c>).</summary>
    public string TrackerName => TaskProject.TrackerDisplayName(View.Task.TrackerKind);

    /// <summary>The forge's name (<c>GitHub</c>, <c>Gitea</c>).</summary>
    public string ForgeName => TaskProject.ForgeDisplayName(View.Task.ForgeKind);

    /// <summary>How the page names the task: its key, else its instance id.</summary>
    public string Name => View.Task.TaskKey ?? View.Task.Id;

    /// <summary>The step under any overlay.</summary>
    public string Step => View.Task.Step;

    /// <summary>Whether a pull request can be linked now.</summary>
    public bool CanLinkPr => !View.Task.AutoDisabled && Step is nameof(TaskStatus.ISSUE_CREATED) or nameof(TaskStatus.PR_CREATED);

    /// <summary>Whether the task is unfinished.</summary>
    public bool CanCancel => Step is not (nameof(TaskStatus.DEPLOYED) or nameof(TaskStatus.CANCELLED));

    /// <inheritdoc />
    protected override string Section => "dashboard";

    /// <summary>The task page link of a task.</summary>
    /// <param name="slug">Project slug.</param>
    /// <param name="keyOrId">Key or instance id.</param>
    /// <returns>A local URL.</returns>
    public static string LinkTo(string slug, string keyOrId) => $"/p/{Uri.EscapeDataString(slug)}/t/{Uri.EscapeDataString(keyOrId)}";

    /// <summary>Shows the task.</summary>
    /// <returns>The page, or 404.</returns>
    public async Task<IActionResult> OnGetAsync() => await LoadAsync() ? Page() : NotFound();

    /// <summary>Retry (FAILED only).</summary>
    public Task<IActionResult> OnPostRetryAsync() => ActAsync(null, (id, by) => actions.RetryAsync(id, by, HttpContext.RequestAborted));

    /// <summary>Re-sync from the tracker.</summary>
    public Task<IActionResult> OnPostResyncAsync() => ActAsync(null, (id, by) => actions.ResyncAsync(id, by, HttpContext.RequestAborted));

    /// <summary>Force link a pull request.</summary>
    /// <param name="pr"><c>owner/repo#N</c> or a URL.</param>
    public Task<IActionResult> OnPostLinkPrAsync([FromForm] string? pr) =>
        ActAsync(new() { ["pr"] = pr ?? "" }, (id, by) => actions.LinkPullRequestAsync(id, pr, by, HttpContext.RequestAborted));

    /// <summary>Change the repository (NEEDS_REPO only).</summary>
    /// <param name="repo">One of the project's repositories.</param>
    public Task<IActionResult> OnPostRepoAsync([FromForm] string? repo) =>
        ActAsync(new() { ["repo"] = repo ?? "" }, (id, by) => actions.ChangeRepoAsync(id, repo, by, HttpContext.RequestAborted));

    /// <summary>Add a note.</summary>
    /// <param name="text">The note.</param>
    /// <param name="noteId">The form's one-time id.</param>
    public Task<IActionResult> OnPostNoteAsync([FromForm] string? text, [FromForm] string? noteId) =>
        ActAsync(new() { ["text"] = text ?? "" }, (id, by) => actions.AddNoteAsync(id, text, noteId, by, HttpContext.RequestAborted));

    /// <summary>Cancel the task.</summary>
    /// <param name="reason">Optional reason.</param>
    public Task<IActionResult> OnPostCancelAsync([FromForm] string? reason) =>
        ActAsync(new() { ["reason"] = reason ?? "" }, (id, by) => actions.CancelAsync(id, reason, by, HttpContext.RequestAborted));

    /// <summary>The refused value of <paramref name="field"/> when <paramref name="form"/> failed, else <c>null</c>.</summary>
    /// <param name="form">Action name.</param>
    /// <param name="field">Field.</param>
    /// <returns>The value.</returns>
    public string? PostedValue(string form, string field) => ErrorForm == form && Posted.TryGetValue(field, out var v) ? v : null;

    /// <summary>The error of <paramref name="field"/> in <paramref name="form"/>, or <c>null</c>.</summary>
    /// <param name="form">Action name.</param>
    /// <param name="field">Field.</param>
    /// <returns>The message.</returns>
    public string? FieldError(string form, string field) => ErrorForm == form && ErrorField == field ? ErrorMessage : null;

    /// <summary>Formats a cost.</summary>
    /// <param name="usd">Dollars.</param>
    /// <returns>E.g. <c>$0.0123</c>, or <c>—</c>.</returns>
    public static string Usd(decimal? usd) => usd is { } d ? "$" + d.ToString("0.00##", CultureInfo.InvariantCulture) : "—";

    /// <summary>Formats a number of tokens.</summary>
    /// <param name="tokens">Tokens.</param>
    /// <returns>E.g. <c>12,400</c>, or <c>—</c>.</returns>
    public static string Tokens(long? tokens) => tokens is { } t ? t.ToString("N0", CultureInfo.InvariantCulture) : "—";

    /// <summary>Formats a time for the page (UTC).</summary>
    /// <param name="at">The time.</param>
    /// <returns>E.g. <c>2026-12-02 09:00:13</c>.</returns>
    public static string When(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private async Task<IActionResult> ActAsync(Dictionary<string, string>? posted, Func<string, EventOrigin, Task<TaskActionResult>> act)
    {
        var row = await readModel.TaskAsync(Id, Project.Slug, 1, null, HttpContext.RequestAborted);
        if (row is null)
        {
            return NotFound();
        }

        TaskActionResult result;
        try
        {
            result = await act(row.Task.Id, new EventOrigin(EventSources.User, Me.Name));
        }
        catch (PlatformApiException ex)
        {
            // The tracker or forge failed (not "the item is gone", which the action handles): nothing was raised.
            TempData["Refused"] = $"{ex.Platform} failed, so nothing was done: {ex.Message}";
            return Back(row.Task.TaskKey ?? row.Task.Id);
        }

        if (result.Outcome == TaskActionOutcome.NotFound)
        {
            return NotFound();
        }

        if (result.Outcome == TaskActionOutcome.Invalid)
        {
            ErrorForm = result.Action;
            ErrorField = result.Field;
            ErrorMessage = result.Message;
            foreach (var (key, value) in posted ?? [])
            {
                Posted[key] = value;
            }

            await LoadAsync();
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }

        TempData[result.Succeeded ? "Flash" : "Refused"] = result.Message;
        return Back(row.Task.TaskKey ?? row.Task.Id);
    }

    private LocalRedirectResult Back(string keyOrId) => LocalRedirect(LinkTo(Project.Slug, keyOrId));

    private async Task<bool> LoadAsync()
    {
        var ct = HttpContext.RequestAborted;
        if (await readModel.TaskAsync(Id, Project.Slug, EventsPerPage, Before, ct) is not { } view)
        {
            return false;
        }

        View = view;
        Detail = await queries.GetAsync(view.Task.Id, ct);
        if (Detail is not null)
        {
            TaskSpecHtml = Detail.TaskSpec is { Length: > 0 } spec ? SafeMarkdown.ToHtml(spec) : null;
            SpecVersions = TimelineText.TaskSpecVersions(Detail.Timeline);
            var ids = new List<string> { view.Task.Id };
            if (Detail.Agents?.Id is { } child)
            {
                ids.Add(child);
            }

            Runs = await pageData.AgentRunsAsync(ids, ct);
        }

        ViewData["Title"] = Name;
        return true;
    }
}

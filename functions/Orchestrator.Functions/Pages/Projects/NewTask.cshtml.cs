using Microsoft.AspNetCore.Mvc;
using Orchestrator.Functions.Web;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Pages.Projects;

/// <summary>
/// <c>/p/{slug}/new</c> (issue #9 §2.3): editors create a task — title, description and (where the tracker carries it)
/// the repository. The item is created in the project's tracker with the AutoTask marker on (<see cref="TaskCreation"/>),
/// and the usual webhook path starts it; the page then says where it was created and links the task page as soon as the
/// read model has the task (htmx polls <c>?handler=Created</c>; without JavaScript a link to the dashboard). Invalid input
/// is answered 400 with the message next to its field and nothing created.
/// </summary>
public sealed class NewTaskModel(TaskCreation creation, ILogger<NewTaskModel> logger) : ProjectPageModel
{
    /// <summary>The form.</summary>
    [BindProperty]
    public NewTaskForm Input { get; set; } = new();

    /// <summary>Field → message (<c>""</c>: not tied to a field).</summary>
    public IReadOnlyDictionary<string, string> Errors { get; private set; } = new Dictionary<string, string>();

    /// <summary>The item just created (<c>?created=</c>), or <c>null</c>.</summary>
    public string? CreatedItem { get; private set; }

    /// <summary>The key the created item's task gets (<c>?key=</c>, Plane), or <c>null</c>.</summary>
    public string? CreatedKey { get; private set; }

    /// <summary>The task of <see cref="CreatedItem"/> once it exists (instance id, key).</summary>
    public (string Id, string? Key)? CreatedTask { get; private set; }

    /// <summary>The tracker's name.</summary>
    public string TrackerName => TaskProject.TrackerDisplayName(Project.Definition.Tracker.Kind);

    /// <summary>Whether the form offers the repository (the tracker item names it).</summary>
    public bool ChoosesRepo => TaskCreation.TrackerCarriesRepo(Project.Definition);

    /// <summary>The repository every task of the project uses when the tracker names none, or <c>null</c>.</summary>
    public string? DefaultRepo => Project.Definition.Forge.EffectiveDefaultRepo;

    /// <inheritdoc />
    protected override ProjectRole ReadRole => ProjectRole.Editor;

    /// <inheritdoc />
    protected override string Section => "new";

    /// <summary>Shows the form, or what was just created.</summary>
    /// <param name="created">The item created by the previous post.</param>
    /// <param name="key">Its task key, when known.</param>
    public async Task OnGetAsync(string? created, string? key)
    {
        Input.RequestId = Guid.NewGuid().ToString("N");
        if (TaskCreation.IsItemId(created))
        {
            CreatedItem = created;
            CreatedKey = key is { Length: <= 64 } && TaskCreation.IsItemId(key) ? key : null;
            CreatedTask = await creation.FindTaskAsync(Project.Slug, created!, HttpContext.RequestAborted);
        }
    }

    /// <summary>The "created" fragment: a link to the task once it exists, else itself polling again.</summary>
    /// <param name="created">The tracker item.</param>
    /// <returns>The partial.</returns>
    public async Task<IActionResult> OnGetCreatedAsync(string? created)
    {
        if (!TaskCreation.IsItemId(created))
        {
            return BadRequest();
        }

        CreatedItem = created;
        CreatedTask = await creation.FindTaskAsync(Project.Slug, created!, HttpContext.RequestAborted);
        return Partial("_CreatedTask", this);
    }

    /// <summary>Creates the item in the tracker.</summary>
    public async Task<IActionResult> OnPostAsync()
    {
        var input = new NewTaskInput(Input.Title, Input.Description, Input.Repo, Input.TrackerProject, Input.RequestId);
        try
        {
            var item = await creation.CreateAsync(Project, input, Me.Name, HttpContext.RequestAborted);
            TempData["Flash"] = $"Created in {TrackerName}{(item.Key is { } k ? $" as {k}" : "")}; the task starts when {TrackerName}'s webhook arrives.";
            // Only the item id and key travel in the link (no tracker URL: the task page links the tracker once the task exists).
            var query = $"created={Uri.EscapeDataString(item.ItemId)}" + (item.Key is { } key ? $"&key={Uri.EscapeDataString(key)}" : "");
            return LocalRedirect($"/p/{Uri.EscapeDataString(Project.Slug)}/new?{query}");
        }
        catch (NewTaskRefusedException ex)
        {
            Errors = ex.Errors;
            Response.StatusCode = StatusCodes.Status400BadRequest;
        }
        catch (PlatformApiException ex)
        {
            logger.LogWarning("Project {Project}: creating a {Tracker} item failed: {Status}", Project.Slug, ex.Platform, (int?)ex.StatusCode);
            Errors = new Dictionary<string, string> { [""] = $"{ex.Platform} refused or failed, so nothing was created: {ex.Message}" };
            Response.StatusCode = StatusCodes.Status502BadGateway;
        }

        return Page();
    }

    /// <summary>The error of <paramref name="field"/>, or <c>null</c>.</summary>
    /// <param name="field">Field.</param>
    /// <returns>The message.</returns>
    public string? Error(string field) => Errors.TryGetValue(field, out var e) ? e : null;

    /// <summary>The form's fields.</summary>
    public sealed class NewTaskForm
    {
        /// <summary>Title.</summary>
        public string? Title { get; set; }

        /// <summary>Description (Markdown).</summary>
        public string? Description { get; set; }

        /// <summary>Repository (where the tracker carries it).</summary>
        public string? Repo { get; set; }

        /// <summary>Tracker project (when the project has several).</summary>
        public string? TrackerProject { get; set; }

        /// <summary>One-time id of this form.</summary>
        public string? RequestId { get; set; }
    }
}

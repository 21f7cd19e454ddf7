using Microsoft.AspNetCore.Mvc;
using Orchestrator.Functions.Web;
using Orchestrator.Shared.Knowledge;

namespace Orchestrator.Functions.Pages.Projects;

/// <summary>
/// <c>/p/{slug}/knowledge</c> (issue #9 §2.3): the project's links, contacts and Markdown notes, which every TaskSpec of the
/// project carries as its "Project context". Viewers read (notes rendered by <see cref="SafeMarkdown"/>: no raw HTML, only
/// http(s) and relative links); editors add, change and delete. Invalid input is answered 400 with the message next to its
/// field and nothing written.
/// </summary>
[RequestSizeLimit(256 * 1024)]
public sealed class KnowledgeModel(KnowledgeStore knowledge, ILogger<KnowledgeModel> logger) : ProjectPageModel
{
    /// <summary>The form posted (one of the add or edit forms).</summary>
    [BindProperty]
    public KnowledgeInput Input { get; set; } = new();

    /// <summary>The project's knowledge.</summary>
    public ProjectKnowledge Items { get; private set; } = new([], [], []);

    /// <summary>Each note's HTML, by id.</summary>
    public IReadOnlyDictionary<long, string> NoteHtml { get; private set; } = new Dictionary<long, string>();

    /// <summary>Which form the errors belong to (<c>link-new</c>, <c>link-{id}</c>, <c>contact-…</c>, <c>note-…</c>), or <c>null</c>.</summary>
    public string? ErrorForm { get; private set; }

    /// <summary>Field → message of <see cref="ErrorForm"/> (<c>""</c>: the whole item).</summary>
    public IReadOnlyDictionary<string, string> Errors { get; private set; } = new Dictionary<string, string>();

    /// <inheritdoc />
    protected override string Section => "knowledge";

    /// <summary>Shows the page.</summary>
    public async Task OnGetAsync() => await LoadAsync();

    /// <summary>Adds a link (no id) or changes one.</summary>
    public Task<IActionResult> OnPostLinkAsync() => SaveAsync("link", id => id is { } existing
        ? knowledge.UpdateLinkAsync(Project.Slug, existing, Input.Title, Input.Url, HttpContext.RequestAborted)
        : Added(knowledge.AddLinkAsync(Project.Slug, Input.Title, Input.Url, HttpContext.RequestAborted)));

    /// <summary>Adds a contact (no id) or changes one.</summary>
    public Task<IActionResult> OnPostContactAsync() => SaveAsync("contact", id => id is { } existing
        ? knowledge.UpdateContactAsync(Project.Slug, existing, Input.Name, Input.Role, Input.Reach, HttpContext.RequestAborted)
        : Added(knowledge.AddContactAsync(Project.Slug, Input.Name, Input.Role, Input.Reach, HttpContext.RequestAborted)));

    /// <summary>Adds a note (no id) or changes one.</summary>
    public Task<IActionResult> OnPostNoteAsync() => SaveAsync("note", id => id is { } existing
        ? knowledge.UpdateNoteAsync(Project.Slug, existing, Input.Title, Input.Body, HttpContext.RequestAborted)
        : Added(knowledge.AddNoteAsync(Project.Slug, Input.Title, Input.Body, HttpContext.RequestAborted)));

    /// <summary>Deletes a link.</summary>
    public Task<IActionResult> OnPostDeleteLinkAsync(long id) => DeleteAsync("link", knowledge.DeleteLinkAsync(Project.Slug, id, HttpContext.RequestAborted));

    /// <summary>Deletes a contact.</summary>
    public Task<IActionResult> OnPostDeleteContactAsync(long id) => DeleteAsync("contact", knowledge.DeleteContactAsync(Project.Slug, id, HttpContext.RequestAborted));

    /// <summary>Deletes a note.</summary>
    public Task<IActionResult> OnPostDeleteNoteAsync(long id) => DeleteAsync("note", knowledge.DeleteNoteAsync(Project.Slug, id, HttpContext.RequestAborted));

    private static async Task<bool> Added(Task<long> insert)
    {
        await insert;
        return true;
    }

    private async Task<IActionResult> SaveAsync(string kind, Func<long?, Task<bool>> save)
    {
        var id = Input.Id is > 0 ? Input.Id : null;
        try
        {
            if (!await save(id))
            {
                TempData["Flash"] = $"That {kind} no longer exists.";
                return Back();
            }
        }
        catch (KnowledgeValidationException ex)
        {
            ErrorForm = $"{kind}-{(id is { } i ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : "new")}";
            Errors = ex.Errors;
            Response.StatusCode = StatusCodes.Status400BadRequest;
            await LoadAsync();
            return Page();
        }

        logger.LogInformation("Project {Project}: {Kind} {Change} by {User}", Project.Slug, kind, id is null ? "added" : $"{id} changed", Me.Name);
        TempData["Flash"] = id is null ? $"The {kind} was added." : $"The {kind} was saved.";
        return Back();
    }

    private async Task<IActionResult> DeleteAsync(string kind, Task<bool> delete)
    {
        var deleted = await delete;
        if (deleted)
        {
            logger.LogInformation("Project {Project}: a {Kind} deleted by {User}", Project.Slug, kind, Me.Name);
        }

        TempData["Flash"] = deleted ? $"The {kind} was deleted." : $"That {kind} no longer exists.";
        return Back();
    }

    private LocalRedirectResult Back() => LocalRedirect($"/p/{Uri.EscapeDataString(Project.Slug)}/knowledge");

    private async Task LoadAsync()
    {
        Items = await knowledge.GetAsync(Project.Slug, HttpContext.RequestAborted);
        NoteHtml = Items.Notes.ToDictionary(n => n.Id, n => SafeMarkdown.ToHtml(n.Body));
    }

    /// <summary>The fields of the add and edit forms (each form posts the ones of its kind).</summary>
    public sealed class KnowledgeInput
    {
        /// <summary>The item to change; absent or 0 adds one.</summary>
        public long? Id { get; set; }

        /// <summary>Link or note title.</summary>
        public string? Title { get; set; }

        /// <summary>Link URL.</summary>
        public string? Url { get; set; }

        /// <summary>Contact name.</summary>
        public string? Name { get; set; }

        /// <summary>Contact role.</summary>
        public string? Role { get; set; }

        /// <summary>How to reach the contact.</summary>
        public string? Reach { get; set; }

        /// <summary>Note Markdown.</summary>
        public string? Body { get; set; }
    }
}

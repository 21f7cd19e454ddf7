using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Orchestrator.Functions.Web;
using Orchestrator.Functions.Web.Auth;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Pages.App;

/// <summary><c>/app/new</c>: create a project (host admins only). Every problem is reported next to its field; nothing is written unless all is valid.</summary>
public sealed class NewModel(ProjectStore projects, ILogger<NewModel> logger) : PageModel
{
    /// <summary>The form.</summary>
    [BindProperty]
    public ProjectForm Input { get; set; } = new();

    /// <summary>Field → message (<c>""</c>: not tied to a field).</summary>
    public Dictionary<string, string> Errors { get; private set; } = new(StringComparer.Ordinal);

    /// <summary>Shows the form.</summary>
    public IActionResult OnGet() => Caller.From(User)?.IsHostAdmin == true ? Page() : StatusCode(StatusCodes.Status403Forbidden);

    /// <summary>Creates the project.</summary>
    public async Task<IActionResult> OnPostAsync()
    {
        if (Caller.From(User)?.IsHostAdmin != true)
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        try
        {
            var created = await projects.CreateAsync(Input.ToDefinition(), Input.SecretChanges(), HttpContext.RequestAborted);
            logger.LogInformation("Project {Slug} created from the web tool by {User}", created.Slug, Caller.From(User)!.Name);
            TempData["Flash"] = $"Project {created.Slug} created. Paste these webhook URLs into {TaskProject.TrackerDisplayName(created.Definition.Tracker.Kind)} and {TaskProject.ForgeDisplayName(created.Definition.Forge.Kind)}.";
            return LocalRedirect($"/p/{Uri.EscapeDataString(created.Slug)}/webhooks");
        }
        catch (ProjectValidationException ex)
        {
            Errors = ProjectForm.FieldErrors(ex.Errors);
        }
        catch (ProjectRuleException ex)
        {
            Errors = ProjectForm.FieldErrors(ex.Errors);
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        catch (ProjectConflictException ex)
        {
            Errors = new Dictionary<string, string>(StringComparer.Ordinal) { [""] = ex.Message };
            Response.StatusCode = StatusCodes.Status409Conflict;
            return Page();
        }

        Response.StatusCode = StatusCodes.Status400BadRequest;
        return Page();
    }
}

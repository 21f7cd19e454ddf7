using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Orchestrator.Functions.Web.Auth;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Web;

/// <summary>
/// Base of every <c>/p/{slug}/…</c> page: before any handler runs, the caller's role in the project is checked —
/// 404 when the project does not exist or the caller is not a member (the two look the same), 403 when the role is below
/// <see cref="ReadRole"/> (GET) or <see cref="WriteRole"/> (POST and other unsafe handlers). The layout's project tabs read
/// <c>ViewData["ProjectSlug"]</c>, <c>["ProjectName"]</c> and <c>["Section"]</c>.
/// </summary>
public abstract class ProjectPageModel : PageModel
{
    /// <summary>The project slug from the route.</summary>
    [BindProperty(SupportsGet = true)]
    public string Slug { get; set; } = "";

    /// <summary>The project (set before handlers run).</summary>
    public StoredProject Project { get; private set; } = null!;

    /// <summary>The caller's role in it.</summary>
    public ProjectRole Role { get; private set; }

    /// <summary>The caller.</summary>
    public Caller Me { get; private set; } = null!;

    /// <summary>Lowest role that may view the page (default viewer).</summary>
    protected virtual ProjectRole ReadRole => ProjectRole.Viewer;

    /// <summary>Lowest role that may post its forms (default editor).</summary>
    protected virtual ProjectRole WriteRole => ProjectRole.Editor;

    /// <summary>The tab the layout highlights.</summary>
    protected abstract string Section { get; }

    /// <summary>Whether the caller may post this page's forms (the page hides what they may not use).</summary>
    public bool CanWrite => Role >= WriteRole;

    /// <summary>Whether the caller is an admin of the project.</summary>
    public bool IsAdmin => Role >= ProjectRole.Admin;

    /// <summary>Whether the caller is at least an editor.</summary>
    public bool IsEditor => Role >= ProjectRole.Editor;

    /// <inheritdoc />
    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var unsafeMethod = !HttpMethods.IsGet(Request.Method) && !HttpMethods.IsHead(Request.Method);
        var access = await HttpContext.RequestServices.GetRequiredService<ProjectAccess>()
            .CheckAsync(Caller.From(User), Slug, unsafeMethod ? WriteRole : ReadRole, HttpContext.RequestAborted);
        if (access.Status == StatusCodes.Status404NotFound)
        {
            context.Result = NotFound();
            return;
        }

        if (access.Status == StatusCodes.Status403Forbidden)
        {
            context.Result = StatusCode(StatusCodes.Status403Forbidden);
            return;
        }

        Project = access.Project!;
        Role = access.Role!.Value;
        Me = Caller.From(User)!;
        ViewData["ProjectSlug"] = Project.Slug;
        ViewData["ProjectName"] = string.IsNullOrWhiteSpace(Project.Definition.Name) ? Project.Slug : Project.Definition.Name;
        ViewData["Section"] = Section;
        ViewData["ProjectRole"] = Role;
        await next();
    }
}

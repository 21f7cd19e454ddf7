using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Orchestrator.Functions.Web;
using Orchestrator.Functions.Web.Auth;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Pages.App;

/// <summary><c>/app</c>: the projects the caller can see, each with task counts by status, its last webhook delivery and (loaded after the page) whether its tracker and forge answer.</summary>
public sealed class IndexModel(ProjectAccess access, ProjectOverview overview, ConnectionProbe probe) : PageModel
{
    /// <summary>The caller.</summary>
    public Caller Me { get; private set; } = null!;

    /// <summary>The visible projects with the caller's role.</summary>
    public IReadOnlyList<(StoredProject Project, ProjectRole Role)> Projects { get; private set; } = [];

    /// <summary>Their numbers.</summary>
    public IReadOnlyDictionary<string, ProjectNumbers> Numbers { get; private set; } = new Dictionary<string, ProjectNumbers>();

    /// <summary>The connection check of one project (the htmx fragment).</summary>
    public ConnectionStatus? Status { get; private set; }

    /// <summary>Shows the projects.</summary>
    public async Task OnGetAsync()
    {
        Me = Caller.From(User)!;
        ViewData["Section"] = "app";
        Projects = await access.VisibleAsync(Me, HttpContext.RequestAborted);
        Numbers = await overview.ForAsync(Projects.Select(p => p.Project.Slug).ToList(), HttpContext.RequestAborted);
    }

    /// <summary>The connection status fragment of one project (<c>/app?handler=Status&amp;slug=…</c>, loaded by htmx).</summary>
    public async Task<IActionResult> OnGetStatusAsync(string slug)
    {
        var checkedAccess = await access.CheckAsync(Caller.From(User), slug ?? "", ProjectRole.Viewer, HttpContext.RequestAborted);
        if (!checkedAccess.Allowed)
        {
            return NotFound();
        }

        Status = await probe.CheckAsync(checkedAccess.Project!, HttpContext.RequestAborted);
        return Partial("_ConnectionStatus", Status);
    }
}

using Orchestrator.Functions.Web.Auth;
using Orchestrator.Shared.Accounts;

namespace Orchestrator.Functions.Functions;

/// <summary>
/// Authorization checks of the JSON API. Authentication is the host's (a session, a project API token or
/// <c>ORCH_ADMIN_TOKEN</c>; every endpoint needs one unless it is on the allow-list); these helpers turn a project or
/// host-wide requirement into the answer: 404 for a project the caller cannot see (the same as one that does not exist),
/// 403 for a role that is too low.
/// </summary>
public static class ApiAuth
{
    /// <summary>The caller of an authenticated request.</summary>
    /// <param name="context">The request.</param>
    /// <returns>The caller.</returns>
    /// <exception cref="InvalidOperationException">The request is anonymous (the fallback policy lets none through).</exception>
    public static Caller CallerOf(HttpContext context) =>
        Caller.From(context.User) ?? throw new InvalidOperationException("An API endpoint ran for an anonymous request.");

    /// <summary>Checks the caller's role in a project.</summary>
    /// <param name="context">The request.</param>
    /// <param name="projectSlug">The project.</param>
    /// <param name="needed">The lowest role allowed.</param>
    /// <returns>The access (project and role) and, when refused, the answer to give.</returns>
    public static async Task<(AccessResult Access, IResult? Refusal)> ProjectAsync(HttpContext context, string projectSlug, ProjectRole needed)
    {
        var access = await context.RequestServices.GetRequiredService<ProjectAccess>().CheckAsync(Caller.From(context.User), projectSlug, needed, context.RequestAborted);
        return (access, access.Status switch
        {
            StatusCodes.Status200OK => null,
            StatusCodes.Status403Forbidden => TypedResults.Problem(
                $"Your role in project '{projectSlug}' is {access.Role?.Name()}; this needs {needed.Name()}.", statusCode: StatusCodes.Status403Forbidden, title: "Forbidden"),
            _ => TypedResults.Problem($"No project '{projectSlug}'.", statusCode: StatusCodes.Status404NotFound, title: "Not Found"),
        });
    }

    /// <summary>Host-wide endpoints (the queue, creating and deleting projects): host admins and <c>ORCH_ADMIN_TOKEN</c> only.</summary>
    /// <param name="context">The request.</param>
    /// <returns><c>null</c> when allowed, else a 403 answer.</returns>
    public static IResult? RequireHostAdmin(HttpContext context) =>
        Caller.From(context.User)?.IsHostAdmin == true
            ? null
            : TypedResults.Problem("Only a host admin (or ORCH_ADMIN_TOKEN) may do this.", statusCode: StatusCodes.Status403Forbidden, title: "Forbidden");
}

using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Web.Auth;

/// <summary>The outcome of <see cref="ProjectAccess.CheckAsync"/>.</summary>
/// <param name="Project">The project, when the caller may see it.</param>
/// <param name="Role">The caller's role in it.</param>
/// <param name="Status">200 when allowed; 404 when the project does not exist or the caller may not see it (the two look the same); 403 when the role is too low.</param>
public sealed record AccessResult(StoredProject? Project, ProjectRole? Role, int Status)
{
    /// <summary>Whether the caller may go on.</summary>
    public bool Allowed => Status == StatusCodes.Status200OK;
}

/// <summary>
/// Who may do what in a project (issue #9): host admins and <c>ORCH_ADMIN_TOKEN</c> are admins of every project; a user has
/// the role of their membership; an API token reaches its own project only, with its role. Viewers read, editors also act
/// on tasks, admins also change settings, secrets, tokens and memberships. A project the caller cannot see is answered
/// exactly like one that does not exist (404), so nobody learns which projects exist.
/// </summary>
public sealed class ProjectAccess(ProjectStore projects, AccountStore accounts)
{
    /// <summary>The caller's role in a project, or <c>null</c> when they may not see it.</summary>
    /// <param name="caller">The caller.</param>
    /// <param name="projectSlug">The project.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The role.</returns>
    public async Task<ProjectRole?> RoleAsync(Caller caller, string projectSlug, CancellationToken cancellationToken)
    {
        switch (caller.Kind)
        {
            case CallerKind.AdminToken:
                return ProjectRole.Admin;
            case CallerKind.ApiToken:
                return string.Equals(caller.TokenProject, projectSlug, StringComparison.Ordinal) ? caller.TokenRole : null;
            default:
                if (caller.IsHostAdmin)
                {
                    return ProjectRole.Admin;
                }

                var user = caller.UserId is { } id ? await accounts.GetUserAsync(id, cancellationToken) : null;
                return user is null ? null : await accounts.RoleAsync(user, projectSlug, cancellationToken);
        }
    }

    /// <summary>Checks that the caller has at least <paramref name="needed"/> in the project.</summary>
    /// <param name="caller">The caller (<c>null</c>: anonymous, always 404).</param>
    /// <param name="projectSlug">The project.</param>
    /// <param name="needed">The lowest role allowed.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The project and role, or the status to answer.</returns>
    public async Task<AccessResult> CheckAsync(Caller? caller, string projectSlug, ProjectRole needed, CancellationToken cancellationToken)
    {
        if (caller is null)
        {
            return new AccessResult(null, null, StatusCodes.Status404NotFound);
        }

        var role = await RoleAsync(caller, projectSlug, cancellationToken);
        var project = role is null ? null : await projects.GetAsync(projectSlug, cancellationToken);
        if (role is null || project is null)
        {
            return new AccessResult(null, null, StatusCodes.Status404NotFound);
        }

        return new AccessResult(project, role, role >= needed ? StatusCodes.Status200OK : StatusCodes.Status403Forbidden);
    }

    /// <summary>The projects the caller may see, with their role, by slug.</summary>
    /// <param name="caller">The caller.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The visible projects.</returns>
    public async Task<IReadOnlyList<(StoredProject Project, ProjectRole Role)>> VisibleAsync(Caller caller, CancellationToken cancellationToken)
    {
        var all = await projects.ListAsync(cancellationToken);
        if (caller.Kind == CallerKind.AdminToken || caller.IsHostAdmin)
        {
            return all.Select(p => (p, ProjectRole.Admin)).ToList();
        }

        if (caller.Kind == CallerKind.ApiToken)
        {
            return all.Where(p => p.Slug == caller.TokenProject).Select(p => (p, caller.TokenRole ?? ProjectRole.Viewer)).ToList();
        }

        var memberships = caller.UserId is { } id ? await accounts.MembershipsOfAsync(id, cancellationToken) : new Dictionary<string, ProjectRole>();
        return all.Where(p => memberships.ContainsKey(p.Slug)).Select(p => (p, memberships[p.Slug])).ToList();
    }
}

using System.Security.Claims;
using Orchestrator.Shared.Accounts;

namespace Orchestrator.Functions.Web.Auth;

/// <summary>How a request authenticated.</summary>
public enum CallerKind
{
    /// <summary>A person with a session cookie.</summary>
    User,

    /// <summary>A project API token (<c>Authorization: Bearer orch_…</c>): that project only.</summary>
    ApiToken,

    /// <summary><c>ORCH_ADMIN_TOKEN</c>: host-wide admin.</summary>
    AdminToken,
}

/// <summary>
/// The authenticated caller of a request, read from the claims the authentication handlers set
/// (<see cref="SessionAuthenticationHandler"/>, <see cref="BearerAuthenticationHandler"/>).
/// </summary>
/// <param name="Kind">How they authenticated.</param>
/// <param name="UserId">The user id (users only).</param>
/// <param name="Name">Who they are in timelines: the username, <c>token:&lt;name&gt;</c> or <c>admin-token</c>.</param>
/// <param name="IsHostAdmin">Host admins (and the admin token) administer every project and may create projects.</param>
/// <param name="TokenProject">The only project an API token may reach.</param>
/// <param name="TokenRole">An API token's role in that project.</param>
/// <param name="SessionId">The session's short id (users only), to mark "this session" on the account page.</param>
public sealed record Caller(CallerKind Kind, long? UserId, string Name, bool IsHostAdmin, string? TokenProject, ProjectRole? TokenRole, string? SessionId)
{
    /// <summary>Claim: <c>user</c>, <c>token</c> or <c>admin</c>.</summary>
    public const string KindClaim = "orch:kind";

    /// <summary>Claim: <c>true</c> for host admins.</summary>
    public const string HostAdminClaim = "orch:host-admin";

    /// <summary>Claim: the API token's project.</summary>
    public const string ProjectClaim = "orch:project";

    /// <summary>Claim: the API token's role.</summary>
    public const string RoleClaim = "orch:role";

    /// <summary>Claim: the session's short id.</summary>
    public const string SessionClaim = "orch:session";

    /// <summary>The caller of an authenticated principal, or <c>null</c> for an anonymous one.</summary>
    /// <param name="principal">The request's user.</param>
    /// <returns>The caller.</returns>
    public static Caller? From(ClaimsPrincipal principal)
    {
        if (principal.Identity?.IsAuthenticated != true)
        {
            return null;
        }

        var kind = principal.FindFirstValue(KindClaim) switch
        {
            "user" => CallerKind.User,
            "token" => CallerKind.ApiToken,
            "admin" => CallerKind.AdminToken,
            _ => (CallerKind?)null,
        };
        if (kind is null)
        {
            return null;
        }

        return new Caller(
            kind.Value,
            kind == CallerKind.User && long.TryParse(principal.FindFirstValue(ClaimTypes.NameIdentifier), out var id) ? id : null,
            principal.FindFirstValue(ClaimTypes.Name) ?? "unknown",
            principal.FindFirstValue(HostAdminClaim) == "true",
            principal.FindFirstValue(ProjectClaim),
            ProjectRoles.TryParse(principal.FindFirstValue(RoleClaim), out var role) ? role : null,
            principal.FindFirstValue(SessionClaim));
    }

    /// <summary>The principal of a signed-in user.</summary>
    /// <param name="user">The user.</param>
    /// <param name="session">Their session.</param>
    /// <param name="scheme">The authentication scheme.</param>
    /// <returns>The principal.</returns>
    public static ClaimsPrincipal ForUser(UserAccount user, SessionInfo session, string scheme) => new(new ClaimsIdentity(
    [
        new Claim(KindClaim, "user"),
        new Claim(ClaimTypes.NameIdentifier, user.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new Claim(ClaimTypes.Name, user.Username),
        new Claim(HostAdminClaim, user.IsHostAdmin ? "true" : "false"),
        new Claim(SessionClaim, session.Id),
    ], scheme));

    /// <summary>The principal of a project API token.</summary>
    /// <param name="token">The token.</param>
    /// <param name="scheme">The authentication scheme.</param>
    /// <returns>The principal.</returns>
    public static ClaimsPrincipal ForApiToken(ApiTokenInfo token, string scheme) => new(new ClaimsIdentity(
    [
        new Claim(KindClaim, "token"),
        new Claim(ClaimTypes.NameIdentifier, token.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new Claim(ClaimTypes.Name, $"token:{token.Name}"),
        new Claim(HostAdminClaim, "false"),
        new Claim(ProjectClaim, token.ProjectSlug),
        new Claim(RoleClaim, token.Role.Name()),
    ], scheme));

    /// <summary>The principal of <c>ORCH_ADMIN_TOKEN</c>.</summary>
    /// <param name="scheme">The authentication scheme.</param>
    /// <returns>The principal.</returns>
    public static ClaimsPrincipal ForAdminToken(string scheme) => new(new ClaimsIdentity(
    [
        new Claim(KindClaim, "admin"),
        new Claim(ClaimTypes.Name, "admin-token"),
        new Claim(HostAdminClaim, "true"),
    ], scheme));
}

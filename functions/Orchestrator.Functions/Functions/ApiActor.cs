using Orchestrator.Functions.Web.Auth;

namespace Orchestrator.Functions.Functions;

/// <summary>Who acted, for the <c>actor</c> of the read model's manual-action events.</summary>
public static class ApiActor
{
    /// <summary>A caller that presented <c>ORCH_ADMIN_TOKEN</c>.</summary>
    public const string AdminToken = "admin-token";

    /// <summary>The actor of an authenticated request: the user name, <c>token:&lt;name&gt;</c> or <see cref="AdminToken"/>; never a secret.</summary>
    /// <param name="context">The request.</param>
    /// <returns>The actor (<c>unknown</c> for an anonymous request, which the fallback policy lets through only on the allow-list).</returns>
    public static string Of(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Caller.From(context.User)?.Name ?? "unknown";
    }
}

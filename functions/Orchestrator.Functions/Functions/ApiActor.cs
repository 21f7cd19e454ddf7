using Orchestrator.Shared.Configuration;

namespace Orchestrator.Functions.Functions;

/// <summary>
/// Who is calling the API, as the read model records it (<c>task_events.actor</c> of manual actions, and of the steps
/// their events cause). The API knows one credential today, <c>ORCH_ADMIN_TOKEN</c>: a request it let through is
/// <see cref="AdminToken"/>, and without a configured token (loopback, or <c>ORCH_ALLOW_UNAUTHENTICATED</c>) the caller
/// is <see cref="Anonymous"/>. Whatever authenticates people later (the web tool, issue #9) stores their name under
/// <see cref="ItemKey"/> and it wins.
/// </summary>
public static class ApiActor
{
    /// <summary>A caller that presented <c>ORCH_ADMIN_TOKEN</c>.</summary>
    public const string AdminToken = "admin-token";

    /// <summary>A caller of an API served without a token.</summary>
    public const string Anonymous = "anonymous";

    /// <summary>The <see cref="HttpContext.Items"/> key of an authenticated person's name.</summary>
    public const string ItemKey = "orchestrator.actor";

    /// <summary>The actor of a request.</summary>
    /// <param name="context">The request (already through <see cref="ApiAuth.RequireAdminTokenAsync"/>).</param>
    /// <returns>A user name, <see cref="AdminToken"/> or <see cref="Anonymous"/>; never a secret.</returns>
    public static string Of(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Items.TryGetValue(ItemKey, out var name) && name is string { Length: > 0 } person)
        {
            return person;
        }

        return context.RequestServices.GetRequiredService<OrchestratorSettings>().AdminToken is null ? Anonymous : AdminToken;
    }
}

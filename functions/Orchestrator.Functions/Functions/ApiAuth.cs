using System.Net;
using System.Security.Cryptography;
using System.Text;
using Orchestrator.Shared.Configuration;

namespace Orchestrator.Functions.Functions;

/// <summary>
/// Authentication of <c>/api/…</c> (issue #8): with <c>ORCH_ADMIN_TOKEN</c> set, every API route needs
/// <c>Authorization: Bearer &lt;token&gt;</c> (401 with <c>WWW-Authenticate: Bearer</c> otherwise). Without it the host
/// only starts on loopback (<see cref="CheckListenSafety"/>) or with an explicit <c>ORCH_ALLOW_UNAUTHENTICATED=true</c>.
/// </summary>
public static class ApiAuth
{
    /// <summary>The endpoint filter of the <c>/api</c> group.</summary>
    /// <param name="context">The invocation.</param>
    /// <param name="next">The endpoint.</param>
    /// <returns>401 or the endpoint's result.</returns>
    public static async ValueTask<object?> RequireAdminTokenAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var settings = context.HttpContext.RequestServices.GetRequiredService<OrchestratorSettings>();
        if (settings.AdminToken is { } expected && !IsAdminToken(context.HttpContext.Request, expected, out var given))
        {
            context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
            return TypedResults.Problem(
                given.Length == 0 ? "This API needs Authorization: Bearer <ORCH_ADMIN_TOKEN>." : "The bearer token is not ORCH_ADMIN_TOKEN.",
                statusCode: StatusCodes.Status401Unauthorized,
                title: "Unauthorized");
        }

        return await next(context);
    }

    /// <summary>Whether the request carries <paramref name="expected"/> as its bearer token (compared in constant time).</summary>
    /// <param name="request">The request.</param>
    /// <param name="expected">The admin token.</param>
    /// <param name="given">The bearer token sent, or <c>""</c>.</param>
    /// <returns><c>true</c> when it matches.</returns>
    public static bool IsAdminToken(HttpRequest request, string expected, out string given)
    {
        var header = request.Headers.Authorization.ToString();
        given = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : "";

        // Fixed-length digests compared in constant time: neither content nor length leaks through timing.
        return given.Length > 0 && CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
    }

    /// <summary>
    /// Refuses to start a host that would serve its API unauthenticated beyond this machine: a listen URL that is not
    /// loopback (<c>0.0.0.0</c>, <c>*</c>, <c>+</c>, <c>[::]</c>, a host name or a non-loopback address) without
    /// <c>ORCH_ADMIN_TOKEN</c>, unless <c>ORCH_ALLOW_UNAUTHENTICATED=true</c>.
    /// </summary>
    /// <param name="settings">Host settings.</param>
    /// <returns>The non-loopback URLs served without authentication (empty unless explicitly allowed), for the loud warning.</returns>
    /// <exception cref="SettingsException">The start is refused; the message says what to set.</exception>
    public static IReadOnlyList<string> CheckListenSafety(OrchestratorSettings settings)
    {
        if (settings.AdminToken is not null)
        {
            return [];
        }

        var open = settings.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(url => !IsLoopbackUrl(url))
            .ToList();
        if (open.Count > 0 && !settings.AllowUnauthenticated)
        {
            throw new SettingsException(
                $"ORCH_URLS listens on {string.Join(", ", open)}, beyond this machine, but ORCH_ADMIN_TOKEN is not set: anyone who can reach " +
                "the host could read and change projects and their secrets. Set ORCH_ADMIN_TOKEN (e.g. `openssl rand -base64 32`), " +
                "or listen on 127.0.0.1 only, or — if you really want an open API — set ORCH_ALLOW_UNAUTHENTICATED=true.");
        }

        return open;
    }

    /// <summary>Whether a Kestrel listen URL binds loopback only (<c>localhost</c>, <c>127.x</c>, <c>[::1]</c>).</summary>
    /// <param name="url">A URL such as <c>http://127.0.0.1:8500</c> or <c>http://*:80</c>.</param>
    /// <returns><c>true</c> for loopback.</returns>
    public static bool IsLoopbackUrl(string url)
    {
        var rest = url.Contains("://", StringComparison.Ordinal) ? url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..] : url;
        var host = rest.StartsWith('[') ? rest[1..Math.Max(1, rest.IndexOf(']', StringComparison.Ordinal))] : rest.Split(':', '/')[0];
        return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }
}

using Orchestrator.Shared.Accounts;

namespace Orchestrator.Functions.Web.Auth;

/// <summary>Starting and ending a browser session.</summary>
public static class BrowserSessions
{
    /// <summary>The client address used for throttling and the session list (after trusted-proxy forwarding).</summary>
    /// <param name="context">The request.</param>
    /// <returns>The address, or <c>unknown</c>.</returns>
    public static string ClientIp(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    /// <summary>Creates a session for <paramref name="user"/> and sets its cookie.</summary>
    /// <param name="context">The request.</param>
    /// <param name="accounts">The store.</param>
    /// <param name="user">The user.</param>
    /// <returns>The session.</returns>
    public static async Task<SessionInfo> StartAsync(HttpContext context, AccountStore accounts, UserAccount user)
    {
        var (token, session) = await accounts.CreateSessionAsync(user.Id, context.Request.Headers.UserAgent.ToString(), ClientIp(context), context.RequestAborted);
        WebAuthDefaults.SetSessionCookie(context, token, session.ExpiresAt);
        return session;
    }

    /// <summary>Ends the request's session (if any) and clears its cookie.</summary>
    /// <param name="context">The request.</param>
    /// <param name="accounts">The store.</param>
    /// <returns>A task.</returns>
    public static async Task EndAsync(HttpContext context, AccountStore accounts)
    {
        if (context.Request.Cookies.TryGetValue(WebAuthDefaults.CookieName, out var token) && !string.IsNullOrEmpty(token))
        {
            await accounts.RevokeSessionAsync(token, context.RequestAborted);
        }

        WebAuthDefaults.ClearSessionCookie(context);
    }

    /// <summary><paramref name="returnUrl"/> when it is a local path (no open redirects), else <paramref name="fallback"/>.</summary>
    /// <param name="returnUrl">The requested target.</param>
    /// <param name="fallback">Where to go otherwise.</param>
    /// <returns>A local URL.</returns>
    public static string LocalOr(string? returnUrl, string fallback) =>
        returnUrl is { Length: > 1 } url && url[0] == '/' && url[1] != '/' && url[1] != '\\' && !url.Contains("://", StringComparison.Ordinal) ? url : fallback;
}

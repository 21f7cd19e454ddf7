using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Configuration;

namespace Orchestrator.Functions.Web.Auth;

/// <summary>Scheme names and the cookie.</summary>
public static class WebAuthDefaults
{
    /// <summary>The policy scheme every endpoint uses: Bearer when an <c>Authorization: Bearer</c> header is sent, else the session cookie.</summary>
    public const string Scheme = "Orchestrator";

    /// <summary>Session cookie scheme.</summary>
    public const string SessionScheme = "Session";

    /// <summary>Bearer scheme (project API tokens and <c>ORCH_ADMIN_TOKEN</c>).</summary>
    public const string BearerScheme = "Bearer";

    /// <summary>The session cookie: a random 256-bit id, HttpOnly, SameSite=Lax, Secure on HTTPS.</summary>
    public const string CookieName = "orch_session";

    /// <summary>Whether a request wants an API answer (JSON problem details, no redirects) rather than a page.</summary>
    /// <param name="request">The request.</param>
    /// <returns><c>true</c> for <c>/api</c>, <c>/openapi</c>, bearer-authenticated or non-HTML requests.</returns>
    public static bool WantsApiAnswer(HttpRequest request) =>
        request.Path.StartsWithSegments("/api") || request.Path.StartsWithSegments("/openapi") || request.Path.StartsWithSegments("/metrics")
        || request.Headers.Authorization.Count > 0
        || !request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);

    /// <summary>Sets the session cookie (HttpOnly, SameSite=Lax, Secure when the request is HTTPS, expires with the session).</summary>
    /// <param name="context">The response's context.</param>
    /// <param name="token">The session id.</param>
    /// <param name="expires">The session's absolute expiry.</param>
    public static void SetSessionCookie(HttpContext context, string token, DateTimeOffset expires) =>
        context.Response.Cookies.Append(CookieName, token, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Lax,
            Secure = context.Request.IsHttps,
            Path = "/",
            Expires = expires,
            IsEssential = true,
        });

    /// <summary>Deletes the session cookie.</summary>
    /// <param name="context">The response's context.</param>
    public static void ClearSessionCookie(HttpContext context) =>
        context.Response.Cookies.Delete(CookieName, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Lax, Secure = context.Request.IsHttps, Path = "/" });

    /// <summary>Writes a 401/403 problem (API callers) — the body never says more than what is missing.</summary>
    internal static Task ProblemAsync(HttpContext context, int status, string detail)
    {
        context.Response.StatusCode = status;
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }

        return TypedResults.Problem(detail, statusCode: status, title: status == 401 ? "Unauthorized" : "Forbidden").ExecuteAsync(context);
    }
}

/// <summary>
/// Authenticates the session cookie against the <c>sessions</c> table (<see cref="AccountStore.GetSessionAsync"/>: idle and
/// absolute expiry, disabled users). Challenge: pages redirect to <c>/login?returnUrl=…</c>; API callers get 401. Forbid:
/// 403.
/// </summary>
public sealed class SessionAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AccountStore accounts)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <inheritdoc />
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Cookies.TryGetValue(WebAuthDefaults.CookieName, out var token) || string.IsNullOrEmpty(token))
        {
            return AuthenticateResult.NoResult();
        }

        var found = await accounts.GetSessionAsync(token, Context.RequestAborted);
        if (found is not { } session)
        {
            WebAuthDefaults.ClearSessionCookie(Context);
            return AuthenticateResult.Fail("The session expired or was revoked.");
        }

        return AuthenticateResult.Success(new AuthenticationTicket(Caller.ForUser(session.User, session.Session, Scheme.Name), Scheme.Name));
    }

    /// <inheritdoc />
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var returnUrl = Request.PathBase + Request.Path + Request.QueryString;
        if (Request.Headers.ContainsKey("HX-Request"))
        {
            // An htmx refresh of a page whose session ended: send the whole page to the sign-in form.
            Response.Headers["HX-Redirect"] = "/login?returnUrl=" + Uri.EscapeDataString(Request.Headers["HX-Current-URL"].ToString() is { Length: > 0 } current && Uri.TryCreate(current, UriKind.Absolute, out var page) ? page.PathAndQuery : returnUrl);
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Task.CompletedTask;
        }

        if (WebAuthDefaults.WantsApiAnswer(Request))
        {
            return WebAuthDefaults.ProblemAsync(Context, StatusCodes.Status401Unauthorized, "Sign in, or send Authorization: Bearer <project API token or ORCH_ADMIN_TOKEN>.");
        }

        Response.Redirect("/login?returnUrl=" + Uri.EscapeDataString(returnUrl));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WebAuthDefaults.ProblemAsync(Context, StatusCodes.Status403Forbidden, "Your role does not allow this.");
}

/// <summary>
/// Authenticates <c>Authorization: Bearer &lt;token&gt;</c>: <c>ORCH_ADMIN_TOKEN</c> (compared as SHA-256 digests in constant
/// time) is a host admin; an <c>orch_…</c> project API token (<see cref="AccountStore.AuthenticateApiTokenAsync"/>) reaches its
/// project only. Anything else is 401.
/// </summary>
public sealed class BearerAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, AccountStore accounts, OrchestratorSettings settings)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <inheritdoc />
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header.Length == 0 ? AuthenticateResult.NoResult() : AuthenticateResult.Fail("Only Bearer authorization is accepted.");
        }

        var given = header[7..].Trim();
        if (given.Length == 0 || given.Length > 512)
        {
            return AuthenticateResult.Fail("Empty or oversized bearer token.");
        }

        if (settings.AdminToken is { } admin && CryptographicOperations.FixedTimeEquals(
                SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(admin))))
        {
            return AuthenticateResult.Success(new AuthenticationTicket(Caller.ForAdminToken(Scheme.Name), Scheme.Name));
        }

        // A token is looked up by its SHA-256: comparing digests of random 200-bit tokens leaks nothing useful by timing.
        return await accounts.AuthenticateApiTokenAsync(given, Context.RequestAborted) is { } token
            ? AuthenticateResult.Success(new AuthenticationTicket(Caller.ForApiToken(token, Scheme.Name), Scheme.Name))
            : AuthenticateResult.Fail("Unknown or revoked bearer token.");
    }

    /// <inheritdoc />
    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        WebAuthDefaults.ProblemAsync(Context, StatusCodes.Status401Unauthorized, Request.Headers.Authorization.Count == 0
            ? "Send Authorization: Bearer <project API token or ORCH_ADMIN_TOKEN>, or sign in."
            : "The bearer token is not ORCH_ADMIN_TOKEN or a working project API token.");

    /// <inheritdoc />
    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WebAuthDefaults.ProblemAsync(Context, StatusCodes.Status403Forbidden, "This token's role does not allow this.");
}

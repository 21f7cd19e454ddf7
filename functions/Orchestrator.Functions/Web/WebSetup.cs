using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.FileProviders;
using Orchestrator.Functions.Web.Auth;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Configuration;

namespace Orchestrator.Functions.Web;

/// <summary>
/// The web tool's plumbing (issue #9): accounts, the two authentication schemes behind one policy scheme, a fallback
/// authorization policy that makes every endpoint need a caller unless it is explicitly <c>AllowAnonymous</c>, Razor Pages,
/// antiforgery (pages validate their forms; cookie-authenticated unsafe API requests need the <c>X-CSRF-TOKEN</c> header),
/// security headers, trusted-proxy forwarded headers and the embedded static assets.
/// </summary>
public static class WebSetup
{
    /// <summary>The antiforgery header for cookie-authenticated API and htmx requests.</summary>
    public const string AntiforgeryHeader = "X-CSRF-TOKEN";

    /// <summary>Content-Security-Policy of every answer: only our own scripts, styles and images; no framing.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

    /// <summary>Registers the web tool's services.</summary>
    /// <param name="services">The container.</param>
    /// <param name="settings">Host settings.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddWebTool(this IServiceCollection services, OrchestratorSettings settings)
    {
        services.AddSingleton(sp => new AccountStore(
            sp.GetRequiredService<Npgsql.NpgsqlDataSource>(),
            sp.GetRequiredService<TimeProvider>(),
            new AccountOptions { SessionIdleTimeout = settings.SessionIdleTimeout, SessionLifetime = settings.SessionLifetime },
            sp.GetRequiredService<ILogger<AccountStore>>()));
        services.AddSingleton<ProjectAccess>();
        services.AddSingleton<ConnectionProbe>();
        services.AddSingleton<ProjectOverview>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<AsanaFields>();
        services.AddSingleton<WebhookHealth>();
        services.AddSingleton<ForgeWebhookSetup>();
        services.AddSingleton<TaskActions>();
        services.AddSingleton<TaskPageData>();
        services.AddSingleton<TaskCreation>();
        services.AddPostgresDataProtection();
        services.AddAuthentication(WebAuthDefaults.Scheme)
            .AddPolicyScheme(WebAuthDefaults.Scheme, "Session cookie or bearer token", o => o.ForwardDefaultSelector = context =>
                context.Request.Headers.Authorization.Count > 0 ? WebAuthDefaults.BearerScheme : WebAuthDefaults.SessionScheme)
            .AddScheme<AuthenticationSchemeOptions, SessionAuthenticationHandler>(WebAuthDefaults.SessionScheme, null)
            .AddScheme<AuthenticationSchemeOptions, BearerAuthenticationHandler>(WebAuthDefaults.BearerScheme, null);

        // Every endpoint needs a caller unless it says AllowAnonymous (the allow-list in OrchestratorApp.Build).
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder(WebAuthDefaults.Scheme).RequireAuthenticatedUser().Build())
            .SetDefaultPolicy(new AuthorizationPolicyBuilder(WebAuthDefaults.Scheme).RequireAuthenticatedUser().Build());
        services.AddAntiforgery(o =>
        {
            o.HeaderName = AntiforgeryHeader;
            o.Cookie.Name = "orch_csrf";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        services.AddRazorPages(o =>
        {
            o.Conventions.AllowAnonymousToPage("/Account/Login");
            o.Conventions.AllowAnonymousToPage("/Account/Init");
            o.Conventions.AllowAnonymousToPage("/Account/Invite");
            o.Conventions.AllowAnonymousToPage("/Account/SignInLink");
            o.Conventions.AllowAnonymousToPage("/Error");
        });
        return services;
    }

    /// <summary>The middleware before routing and endpoints: forwarded headers (trusted proxies only), security headers, static assets, authentication, antiforgery for API requests, authorization.</summary>
    /// <param name="app">The app.</param>
    /// <param name="settings">Host settings.</param>
    public static void UseWebTool(this WebApplication app, OrchestratorSettings settings)
    {
        if (settings.TrustedProxies.Count > 0)
        {
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto, ForwardLimit = 1 };

            // The defaults trust loopback; only the configured proxies may speak for the client.
            forwarded.KnownIPNetworks.Clear();
            forwarded.KnownProxies.Clear();
            foreach (var network in settings.TrustedProxies)
            {
                forwarded.KnownIPNetworks.Add(network);
            }

            app.UseForwardedHeaders(forwarded);
        }

        app.Use(static (context, next) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "same-origin";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";
            return next(context);
        });
        // Pages get a page for an empty 4xx/5xx answer; API callers keep their problem details.
        app.UseWhen(c => !WebAuthDefaults.WantsApiAnswer(c.Request), b => b.UseStatusCodePagesWithReExecute("/error/{0}"));
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = StaticAssets,
            OnPrepareResponse = c => c.Context.Response.Headers.CacheControl = "public, max-age=3600",
        });
        app.UseRouting();
        app.UseRateLimiter(); // webhook admission (WebhookLimits): after routing, so it sees the endpoint's policy
        app.UseAuthentication();
        app.Use(ValidateApiAntiforgeryAsync);
        app.UseAuthorization();
        app.UseMiddleware<Functions.V1.IdempotencyMiddleware>();
    }

    /// <summary>The embedded <c>wwwroot</c> (CSS, JavaScript, htmx), served at the root (<c>/css/app.css</c>, <c>/lib/htmx/htmx.min.js</c>).</summary>
    public static IFileProvider StaticAssets { get; } = new EmbeddedFileProvider(typeof(WebSetup).Assembly, "Orchestrator.Functions.wwwroot");

    /// <summary>
    /// Cookie-authenticated unsafe requests to non-page endpoints (the JSON API, htmx posts) must carry the antiforgery
    /// token in <see cref="AntiforgeryHeader"/> (400 otherwise); Razor Pages validate their own forms. Bearer requests
    /// carry no ambient credential, so they need none.
    /// </summary>
    private static async Task ValidateApiAntiforgeryAsync(HttpContext context, RequestDelegate next)
    {
        var method = context.Request.Method;
        var unsafeMethod = !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method));
        var isPage = context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Mvc.RazorPages.CompiledPageActionDescriptor>() is not null
            || context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Mvc.Abstractions.ActionDescriptor>() is not null;
        if (unsafeMethod && !isPage && context.User.Identity?.AuthenticationType == WebAuthDefaults.SessionScheme)
        {
            try
            {
                await context.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(context);
            }
            catch (AntiforgeryValidationException)
            {
                await TypedResults.Problem(
                    $"A request made with a session cookie must carry the antiforgery token in the {AntiforgeryHeader} header.",
                    statusCode: StatusCodes.Status400BadRequest, title: "Missing or invalid antiforgery token").ExecuteAsync(context);
                return;
            }
        }

        await next(context);
    }
}

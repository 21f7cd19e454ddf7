using System.Security.Cryptography;
using System.Text;
using Orchestrator.Shared.Configuration;
using Prometheus;

namespace Orchestrator.Functions.Observability;

/// <summary>
/// Where <c>GET /metrics</c> (Prometheus text format, prometheus-net's exporter over <see cref="OrchestratorMetrics.Registry"/>)
/// is served — never publicly by default:
/// <list type="bullet">
/// <item><c>ORCH_METRICS_URLS</c> set: on a separate server listening there (<see cref="MetricsServer"/>) that serves
/// nothing else (everything else is 404), so the main listen URLs have no <c>/metrics</c>; with <c>ORCH_METRICS_TOKEN</c>
/// also set the token is required there too;</item>
/// <item>only <c>ORCH_METRICS_TOKEN</c> set: on the main listen URLs, answering only <c>Authorization: Bearer &lt;token&gt;</c>
/// (compared as SHA-256 digests in constant time; 401 otherwise);</item>
/// <item>neither: not served at all (404).</item>
/// </list>
/// The endpoint bypasses the session / API-token schemes (a scrape credential is not a user), so the token gate is the
/// endpoint's own; it never reaches another endpoint.
/// </summary>
public static class MetricsEndpoint
{
    /// <summary>The path.</summary>
    public const string Path = "/metrics";

    /// <summary>Maps <c>/metrics</c> on the main app when only a token is configured (see the class remarks).</summary>
    /// <param name="app">The main app.</param>
    /// <param name="settings">Settings.</param>
    /// <returns>Whether it was mapped.</returns>
    public static bool MapOnMainApp(WebApplication app, OrchestratorSettings settings)
    {
        if (settings.MetricsUrls is not null || settings.MetricsToken is null)
        {
            return false;
        }

        Map(app, app.Services.GetRequiredService<OrchestratorMetrics>(), settings.MetricsToken).AllowAnonymous();
        return true;
    }

    /// <summary>Maps the exporter at <see cref="Path"/>, behind the token when one is given.</summary>
    /// <param name="endpoints">Where.</param>
    /// <param name="metrics">The registry's owner.</param>
    /// <param name="token">The bearer token to require, or <c>null</c>.</param>
    /// <returns>The endpoint.</returns>
    internal static IEndpointConventionBuilder Map(IEndpointRouteBuilder endpoints, OrchestratorMetrics metrics, string? token)
    {
        var builder = endpoints.MapMetrics(s => s.Registry = metrics.Registry, Path);
        if (token is not null)
        {
            var expected = SHA256.HashData(Encoding.UTF8.GetBytes(token));
            builder.Add(endpoint =>
            {
                var export = endpoint.RequestDelegate!;
                endpoint.RequestDelegate = context => Authorized(context, expected) ? export(context) : RefuseAsync(context);
            });
        }

        return builder;
    }

    private static bool Authorized(HttpContext context, byte[] expected)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length > 600)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(header[7..].Trim())), expected);
    }

    private static Task RefuseAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return TypedResults.Problem("Send Authorization: Bearer <ORCH_METRICS_TOKEN>.", statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized").ExecuteAsync(context);
    }
}

/// <summary>
/// The separate metrics server of <c>ORCH_METRICS_URLS</c>: a minimal Kestrel app in the host's process serving only
/// <c>GET /metrics</c>, started and stopped with the host.
/// </summary>
public sealed class MetricsServer(OrchestratorSettings settings, OrchestratorMetrics metrics, ILogger<MetricsServer> logger) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    /// <summary>The addresses it listens on once started (ports resolved), else empty.</summary>
    public IReadOnlyList<string> Urls => _app is null ? [] : [.. _app.Urls];

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(); // none of the host's settings: this server has nothing to configure
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(settings.MetricsUrls!.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 1024);
        var app = builder.Build();
        MetricsEndpoint.Map(app, metrics, settings.MetricsToken);
        app.MapFallback(context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        await app.StartAsync(cancellationToken);
        _app = app;
        logger.LogInformation("Metrics served at {Urls}{Path}{Token}", string.Join(", ", app.Urls), MetricsEndpoint.Path,
            settings.MetricsToken is null ? "" : " (bearer token required)");
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
            _app = null;
        }
    }
}

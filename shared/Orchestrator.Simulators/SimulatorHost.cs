using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Simulators;

/// <summary>One request a simulator received.</summary>
/// <param name="Method">HTTP method.</param>
/// <param name="PathAndQuery">Path with query string.</param>
/// <param name="Body">Request body as UTF-8 text (empty when none).</param>
/// <param name="Headers">Request headers (last value wins).</param>
public sealed record SimulatedRequest(string Method, string PathAndQuery, string Body, IReadOnlyDictionary<string, string> Headers);

/// <summary>One webhook delivery a simulator sent (or can send again).</summary>
/// <param name="Event">Event name header value, e.g. <c>pull_request</c>.</param>
/// <param name="DeliveryId">Delivery id header value.</param>
/// <param name="Body">Exact body bytes that were signed.</param>
/// <param name="Headers">Every header sent, signature included.</param>
public sealed record SimulatedDelivery(string Event, string DeliveryId, byte[] Body, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// Kestrel on 127.0.0.1 (port 0 = any free port) hosting a simulator's routes, with a log of every
/// request and a list of requests the simulator did not expect. Tests assert that list is empty —
/// the "fail on any unexpected request" rule of our HTTP fakes.
/// </summary>
public sealed class SimulatorHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<SimulatedRequest> _requests = new();
    private readonly ConcurrentQueue<string> _unexpected = new();

    private SimulatorHost(WebApplication app) => _app = app;

    /// <summary>Root URL, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>Every request received, in arrival order.</summary>
    public IReadOnlyList<SimulatedRequest> Requests => _requests.ToArray();

    /// <summary>Descriptions of requests that matched no route, failed authentication or were otherwise wrong.</summary>
    public IReadOnlyList<string> UnexpectedRequests => _unexpected.ToArray();

    /// <summary>Records an unexpected request (called by routes that reject input).</summary>
    public void RecordUnexpected(string description) => _unexpected.Enqueue(description);

    /// <summary>
    /// Builds and starts the host. <paramref name="map"/> adds the routes; <paramref name="authorize"/>
    /// returns <c>null</c> for an authorised request or the status code to answer otherwise.
    /// </summary>
    public static async Task<SimulatorHost> StartAsync(
        string name,
        Action<IEndpointRouteBuilder, SimulatorHost> map,
        Func<HttpContext, int?> authorize,
        int port = 0,
        CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var host = new SimulatorHost(app);
        app.Use(async (context, next) =>
        {
            context.Request.EnableBuffering();
            string body;
            using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8, leaveOpen: true))
            {
                body = await reader.ReadToEndAsync(context.RequestAborted);
            }

            context.Request.Body.Position = 0;
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            host._requests.Enqueue(new SimulatedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, body, headers));
            var denied = authorize(context);
            if (denied is { } status)
            {
                host.RecordUnexpected($"{name}: {context.Request.Method} {context.Request.Path} rejected with {status} (authentication)");
                context.Response.StatusCode = status;
                await context.Response.WriteAsJsonAsync(new { message = "Bad credentials" }, context.RequestAborted);
                return;
            }

            await next(context);
        });
        map(app, host);
        app.MapFallback(async context =>
        {
            host.RecordUnexpected($"{name}: no route for {context.Request.Method} {context.Request.Path}{context.Request.QueryString}");
            context.Response.StatusCode = StatusCodes.Status501NotImplemented;
            await context.Response.WriteAsJsonAsync(new { message = "not simulated" }, context.RequestAborted);
        });
        await app.StartAsync(cancellationToken);
        var address = app.Urls.First();
        host.BaseUrl = new Uri(address.EndsWith('/') ? address : address + "/");
        return host;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Lower-case hex HMAC-SHA256 of <paramref name="body"/> under <paramref name="secret"/>.</summary>
    public static string HmacHex(string secret, byte[] body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
}

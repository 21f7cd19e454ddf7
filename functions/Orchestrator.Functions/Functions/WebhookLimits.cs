using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Orchestrator.Shared.Configuration;

namespace Orchestrator.Functions.Functions;

/// <summary>
/// Admission control of the webhook endpoints, on ASP.NET Core's rate limiting middleware
/// (https://learn.microsoft.com/aspnet/core/performance/rate-limit). Both limits answer 429 with
/// <c>Retry-After</c> and a problem-details body before the endpoint runs, so before a byte of the refused
/// request's body is read:
/// <list type="bullet">
/// <item><description><see cref="BodiesPolicy"/>: at most <see cref="OrchestratorSettings.WebhookMaxConcurrentBodies"/>
/// webhook requests in progress (each buffers its body until answered); no queue.</description></item>
/// <item><description><see cref="RefusedSignatureLimiter"/> (the global limiter, active on webhook endpoints only): a client
/// address that caused <see cref="OrchestratorSettings.WebhookRefusedPerMinute"/> signature refusals in the current
/// one-minute window is refused until the window ends.</description></item>
/// </list>
/// The middleware runs the global limiter first, so a blocked address never takes one of the body slots.
/// </summary>
public static class WebhookLimits
{
    /// <summary>Name of the concurrency policy on the webhook endpoints.</summary>
    public const string BodiesPolicy = "webhook-bodies";

    /// <summary><c>Retry-After</c> for a request refused because too many bodies were in progress: they finish in milliseconds.</summary>
    public static readonly TimeSpan BusyRetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>Registers the limits (<c>AddRateLimiter</c>) and the <see cref="RefusedSignatureLimiter"/>.</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="settings">Supplies the two limits.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddWebhookLimits(this IServiceCollection services, OrchestratorSettings settings)
    {
        services.AddSingleton(sp => new RefusedSignatureLimiter(settings.WebhookRefusedPerMinute, sp.GetRequiredService<ILogger<RefusedSignatureLimiter>>()));
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.AddConcurrencyLimiter(BodiesPolicy, o =>
            {
                o.PermitLimit = settings.WebhookMaxConcurrentBodies;
                o.QueueLimit = 0;
            });
            options.OnRejected = OnRejectedAsync;
        });
        services.AddOptions<RateLimiterOptions>().Configure<RefusedSignatureLimiter>((options, refusals) => options.GlobalLimiter = refusals);
        return services;
    }

    /// <summary>Puts the webhook endpoints under both limits.</summary>
    /// <param name="group">The <c>/webhooks</c> group.</param>
    /// <returns><paramref name="group"/>.</returns>
    public static RouteGroupBuilder WithWebhookLimits(this RouteGroupBuilder group) =>
        group.WithMetadata(WebhookEndpointMetadata.Instance).RequireRateLimiting(BodiesPolicy);

    private static async ValueTask OnRejectedAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        // Only the refused-signature window carries a retry time; the concurrency limiter's leases have none.
        var blocked = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var window);
        var seconds = (int)Math.Max(1, Math.Ceiling((blocked ? window : BusyRetryAfter).TotalSeconds));
        var http = context.HttpContext;
        http.RequestServices.GetRequiredService<WebhookStatsFilter>().Observe(http); // a 429 counts as a failed delivery in webhook_stats
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Webhooks")
            .LogDebug("Webhook request answered 429 before its body was read: {Reason}", blocked ? "refused-signature limit of the client address" : "too many bodies in progress");
        await TypedResults.Problem(
            blocked
                ? $"Too many requests with invalid signatures from this address; retry after {seconds} s."
                : "Too many webhook deliveries are being received at once; retry shortly.",
            statusCode: StatusCodes.Status429TooManyRequests).ExecuteAsync(http);
    }
}

/// <summary>Marks the webhook endpoints for <see cref="RefusedSignatureLimiter"/>.</summary>
public sealed class WebhookEndpointMetadata
{
    /// <summary>The marker.</summary>
    public static readonly WebhookEndpointMetadata Instance = new();

    private WebhookEndpointMetadata()
    {
    }
}

/// <summary>
/// Counts signature refusals per client address in fixed one-minute windows (<see cref="FixedWindowRateLimiter"/>
/// partitions) and, as the middleware's global limiter, refuses webhook requests from an address whose window is used
/// up. Acquiring from it only looks (a zero-permit request); <see cref="RecordRefusal"/> spends a permit.
/// </summary>
/// <remarks>
/// The key is the connection's remote address (an IPv6 address by its /64, which one client usually controls);
/// behind a reverse proxy that is the proxy's, so there set <c>ORCH_WEBHOOK_REFUSED_PER_MINUTE=0</c>.
/// </remarks>
public sealed class RefusedSignatureLimiter : PartitionedRateLimiter<HttpContext>
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly PartitionedRateLimiter<string>? _windows;
    private readonly int _perWindow;
    private readonly ILogger _log;

    /// <summary>Creates the limiter.</summary>
    /// <param name="perMinute">Refusals allowed per address and window; <c>0</c> = no limit.</param>
    /// <param name="log">Says when an address gets blocked.</param>
    public RefusedSignatureLimiter(int perMinute, ILogger<RefusedSignatureLimiter> log)
    {
        _perWindow = perMinute;
        _log = log;
        _windows = perMinute <= 0 ? null : PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(key, _ =>
            new FixedWindowRateLimiterOptions { PermitLimit = perMinute, Window = Window, QueueLimit = 0, AutoReplenishment = true }));
    }

    /// <summary>Counts one signature refusal against the request's client address.</summary>
    /// <param name="context">The refused request.</param>
    public void RecordRefusal(HttpContext context)
    {
        if (_windows is null)
        {
            return;
        }

        var key = ClientKey(context);
        using var lease = _windows.AttemptAcquire(key);
        if (lease.IsAcquired && _windows.GetStatistics(key)?.CurrentAvailablePermits == 0)
        {
            _log.LogWarning("Client {Address} caused {Count} signature refusals within a minute: its webhook requests get 429 until the window ends", key, _perWindow);
        }
    }

    /// <inheritdoc/>
    public override RateLimiterStatistics? GetStatistics(HttpContext resource) =>
        _windows is not null && IsWebhook(resource) ? _windows.GetStatistics(ClientKey(resource)) : null;

    /// <inheritdoc/>
    protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount) =>
        _windows is not null && IsWebhook(resource) ? _windows.AttemptAcquire(ClientKey(resource), 0) : AllowedLease.Instance;

    /// <inheritdoc/>
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(resource, permitCount));

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _windows?.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc/>
    protected override async ValueTask DisposeAsyncCore()
    {
        if (_windows is not null)
        {
            await _windows.DisposeAsync();
        }

        await base.DisposeAsyncCore();
    }

    private static bool IsWebhook(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<WebhookEndpointMetadata>() is not null;

    /// <summary>The partition key of a request: its IPv4 address, or the /64 of its IPv6 address.</summary>
    internal static string ClientKey(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress;
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }

    private sealed class AllowedLease : RateLimitLease
    {
        public static readonly AllowedLease Instance = new();

        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}

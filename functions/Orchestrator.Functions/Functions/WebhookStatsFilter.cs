using Orchestrator.Shared.Webhooks;

namespace Orchestrator.Functions.Functions;

/// <summary>
/// Counts every webhook request into <see cref="WebhookStats"/> (issue #9 §2): an endpoint filter on the webhook group
/// (<see cref="OrchestratorApp.Build"/>). The source comes from the path (<c>/webhooks/{source}[/{slug}]</c>), the project
/// from the <c>slug</c> route value (none: the host-wide endpoints, counted under project <c>null</c>); the outcome from the
/// status finally written and the <see cref="WebhookAck.Status"/> of a 2xx answer (<see cref="Classify"/>).
/// </summary>
/// <remarks>
/// The count is written after the answer went out (<see cref="HttpResponse.OnCompleted(Func{Task})"/>), so the sender
/// never waits for it, and it sees the status an exception turned into (503 while the database is down — when the count
/// cannot be written either, which is logged at debug level and dropped: statistics never fail a delivery). Requests a
/// middleware answers before the endpoint runs (a rate limiter's 429) do not reach endpoint filters; such a middleware
/// can count them with <see cref="Observe"/>. Nothing from the request body or headers is logged.
/// </remarks>
public sealed class WebhookStatsFilter(WebhookStats stats, TimeProvider clock, ILogger<WebhookStatsFilter> logger, Observability.OrchestratorMetrics? metrics = null) : IEndpointFilter
{
    /// <summary><see cref="HttpContext.Items"/> key under which the filter leaves the ack status for <see cref="Observe"/>.</summary>
    private static readonly object AckKey = new();

    /// <inheritdoc />
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        Observe(http);
        var result = await next(context);
        if (result is IValueHttpResult { Value: WebhookAck ack })
        {
            http.Items[AckKey] = ack.Status;
        }

        return result;
    }

    /// <summary>
    /// Arranges for the request to be counted once its answer is complete. Idempotent per request, so a middleware that
    /// answers webhook requests itself (a rate limiter) may call it too.
    /// </summary>
    /// <param name="http">A request to <c>/webhooks/…</c>.</param>
    public void Observe(HttpContext http)
    {
        if (!http.Items.TryAdd(typeof(WebhookStatsFilter), true) || SourceOf(http.Request.Path) is not { } source)
        {
            return;
        }

        var slug = http.GetRouteValue("slug") as string;
        http.Response.OnCompleted(async () =>
        {
            var outcome = Classify(http.Response.StatusCode, http.Items.TryGetValue(AckKey, out var ack) ? ack as string : null);
            if (outcome is null)
            {
                return;
            }

            // The Prometheus counter counts every answer, also those whose project row is not written (host-wide, unknown slug).
            metrics?.WebhookAnswered(source, outcome.Value);

            try
            {
                // The request is over: its token is no use; a stuck database must not hold the callback forever.
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await stats.RecordAsync(slug, source, outcome.Value, clock.GetUtcNow(), timeout.Token);
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or OperationCanceledException or InvalidOperationException or TimeoutException)
            {
                logger.LogDebug("Webhook statistics not recorded ({Source}, {Outcome}): {Reason}", source, outcome.Value, ex.GetType().Name);
            }
        });
    }

    /// <summary>How a webhook answer counts.</summary>
    /// <param name="status">The HTTP status written.</param>
    /// <param name="ack">The <see cref="WebhookAck.Status"/> of a 2xx answer (<c>accepted</c>, <c>duplicate</c>, <c>heartbeat</c>), or <c>null</c>.</param>
    /// <returns>The outcome, or <c>null</c> when the request is not counted (heartbeats, handshakes, 404, 405).</returns>
    public static WebhookOutcome? Classify(int status, string? ack) => status switch
    {
        >= 200 and < 300 => ack switch
        {
            "accepted" => WebhookOutcome.Accepted,
            "duplicate" => WebhookOutcome.Duplicate,
            _ => null,
        },
        StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden => WebhookOutcome.Refused,
        StatusCodes.Status400BadRequest or StatusCodes.Status408RequestTimeout or StatusCodes.Status413PayloadTooLarge
            or StatusCodes.Status415UnsupportedMediaType or StatusCodes.Status422UnprocessableEntity or StatusCodes.Status429TooManyRequests => WebhookOutcome.Failed,
        >= 500 => WebhookOutcome.Failed,
        _ => null,
    };

    /// <summary>The source segment of <c>/webhooks/{source}[/…]</c> when it is one of <see cref="WebhookStats.Sources"/>.</summary>
    private static string? SourceOf(PathString path)
    {
        if (!path.StartsWithSegments("/webhooks", StringComparison.OrdinalIgnoreCase, out var rest) || rest.Value is not { Length: > 1 } tail)
        {
            return null;
        }

        var end = tail.IndexOf('/', 1);
        var segment = end < 0 ? tail[1..] : tail[1..end];
        return WebhookStats.Sources.FirstOrDefault(s => s == segment);
    }
}

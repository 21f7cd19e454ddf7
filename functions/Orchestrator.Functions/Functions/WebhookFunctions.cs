using System.Security.Cryptography;
using System.Text.Json;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Webhooks;

namespace Orchestrator.Functions.Functions;

/// <summary>
/// The HTTP-triggered webhook functions: <c>POST /webhooks/plane</c> and <c>POST /webhooks/github</c>.
/// Raw body (size-capped) → HMAC-SHA256 check over the raw bytes → JSON check → inbox row + routing
/// work in one transaction → 202. Bodies and secrets are never logged.
/// </summary>
public static class WebhookFunctions
{
    /// <summary>Maps the webhook endpoints.</summary>
    public static IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/webhooks");
        group.MapPost("/plane", (HttpContext context, OrchestratorSettings settings, InboxStore inbox, ILoggerFactory logs) =>
            ReceiveAsync(context, new Source("plane", "X-Plane-Signature", "X-Plane-Delivery", "X-Plane-Event", settings.PlaneWebhookSecret, WebhookSignature.VerifyHex), settings, inbox, logs));
        group.MapPost("/github", (HttpContext context, OrchestratorSettings settings, InboxStore inbox, ILoggerFactory logs) =>
            ReceiveAsync(context, new Source("github", "X-Hub-Signature-256", "X-GitHub-Delivery", "X-GitHub-Event", settings.GitHubWebhookSecret, WebhookSignature.VerifyGitHub), settings, inbox, logs));
        return app;
    }

    private delegate bool Verifier(ReadOnlySpan<byte> body, string? header, string? secret);

    private sealed record Source(string Name, string SignatureHeader, string DeliveryHeader, string EventHeader, string? Secret, Verifier Verify);

    private static async Task<IResult> ReceiveAsync(HttpContext context, Source source, OrchestratorSettings settings, InboxStore inbox, ILoggerFactory logs)
    {
        var log = logs.CreateLogger("Webhooks." + source.Name);
        var deliveryHeader = context.Request.Headers[source.DeliveryHeader].ToString();
        using var scope = log.BeginScope("{Source} delivery {DeliveryId}", source.Name, deliveryHeader);

        var body = await ReadCappedAsync(context.Request, settings.WebhookMaxBytes, context.RequestAborted);
        if (body is null)
        {
            log.LogWarning("Delivery refused: body larger than {Max} bytes", settings.WebhookMaxBytes);
            return TypedResults.Problem($"Body exceeds {settings.WebhookMaxBytes} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge);
        }

        if (source.Secret is null)
        {
            log.LogWarning("Delivery refused: no webhook secret is configured for {Source}", source.Name);
            return TypedResults.Problem("No webhook secret is configured; deliveries cannot be verified.", statusCode: StatusCodes.Status401Unauthorized);
        }

        if (!source.Verify(body, context.Request.Headers[source.SignatureHeader].ToString(), source.Secret))
        {
            log.LogWarning("Delivery refused: missing or wrong {Header}", source.SignatureHeader);
            return TypedResults.Problem($"Missing or invalid {source.SignatureHeader}.", statusCode: StatusCodes.Status401Unauthorized);
        }

        string eventType;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return TypedResults.Problem("The body must be a JSON object.", statusCode: StatusCodes.Status400BadRequest);
            }

            eventType = context.Request.Headers[source.EventHeader].ToString() is { Length: > 0 } header
                ? header
                : doc.RootElement.TryGetProperty("event", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString()! : "unknown";
        }
        catch (JsonException ex)
        {
            log.LogWarning("Delivery refused: malformed JSON at byte {Position}", ex.BytePositionInLine);
            return TypedResults.Problem("The body is not valid JSON.", statusCode: StatusCodes.Status400BadRequest);
        }

        // A delivery without an id still dedupes: fall back to the body hash.
        var deliveryId = deliveryHeader.Length is > 0 and <= 200 ? deliveryHeader : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
        var stored = await inbox.AcceptAsync(source.Name, deliveryId, eventType, body, context.RequestAborted);
        log.LogInformation("{Event} delivery {Outcome}", eventType, stored ? "accepted" : "was a duplicate");
        return TypedResults.Accepted((string?)null, new WebhookAck(stored ? "accepted" : "duplicate", deliveryId, eventType));
    }

    private static async Task<byte[]?> ReadCappedAsync(HttpRequest request, long max, CancellationToken cancellationToken)
    {
        if (request.ContentLength is { } length && length > max)
        {
            return null;
        }

        using var buffer = new MemoryStream(request.ContentLength is { } l ? (int)Math.Min(l, max) : 4096);
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > max)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}

/// <summary>Body of a 202 answer to a webhook.</summary>
/// <param name="Status"><c>accepted</c> or <c>duplicate</c>.</param>
/// <param name="DeliveryId">The delivery id we stored it under.</param>
/// <param name="Event">The event name.</param>
public sealed record WebhookAck(string Status, string DeliveryId, string Event);

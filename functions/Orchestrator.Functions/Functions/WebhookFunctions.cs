using System.Security.Cryptography;
using System.Text.Json;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Gitea;
using Orchestrator.Shared.Projects;
using Orchestrator.Shared.Webhooks;

namespace Orchestrator.Functions.Functions;

/// <summary>
/// The HTTP-triggered webhook functions. Global endpoints (issue #2, host-wide secrets):
/// <c>POST /webhooks/plane</c>, <c>POST /webhooks/github</c>. Per-project endpoints (issue #4, the project's own
/// secrets): <c>POST /webhooks/{plane|github|gitea|asana}/{projectSlug}</c>.
/// Raw body (size-capped) → HMAC-SHA256 check over the raw bytes → JSON check → inbox row + routing
/// work in one transaction → 202 (Asana: 200). Bodies and secrets are never logged.
/// </summary>
/// <remarks>
/// Signatures: Plane <c>X-Plane-Signature</c> (hex), GitHub <c>X-Hub-Signature-256</c> (<c>sha256=</c>hex,
/// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries), Gitea <c>X-Gitea-Signature</c>
/// (hex, https://docs.gitea.com/usage/webhooks), Asana <c>X-Hook-Signature</c> (hex) with the secret of the
/// handshake (https://developers.asana.com/docs/webhooks-guide). Asana sends no delivery id: the inbox dedupes on
/// the body hash, routing on a per-event key.
/// </remarks>
public static class WebhookFunctions
{
    /// <summary>Query parameter on an Asana webhook's target naming the Asana resource (project gid) it watches.</summary>
    public const string AsanaResourceParameter = "resource";

    /// <summary>How long after <c>POST /webhooks</c> starts a handshake for it is accepted.</summary>
    public static readonly TimeSpan AsanaHandshakeWindow = TimeSpan.FromMinutes(2);

    /// <summary>Maps the webhook endpoints.</summary>
    public static IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/webhooks");
        group.MapPost("/plane", (HttpContext context, OrchestratorSettings settings, InboxStore inbox, ILoggerFactory logs) =>
            ReceiveAsync(context, Plane(settings.PlaneWebhookSecret), projectSlug: null, settings, inbox, logs));
        group.MapPost("/github", (HttpContext context, OrchestratorSettings settings, InboxStore inbox, ILoggerFactory logs) =>
            ReceiveAsync(context, GitHub(settings.GitHubWebhookSecret), projectSlug: null, settings, inbox, logs));
        group.MapPost("/asana/{slug}", AsanaAsync);
        group.MapPost("/{kind}/{slug}", async (string kind, string slug, HttpContext context, OrchestratorSettings settings, ProjectStore projects, InboxStore inbox, ILoggerFactory logs) =>
        {
            var project = await projects.GetAsync(slug, context.RequestAborted);
            var definition = project?.Definition;
            Source? source = kind switch
            {
                "plane" when definition?.Tracker.Kind == TrackerConfig.Plane =>
                    Plane(project!.Secret(ProjectSecretNames.TrackerWebhookSecret) ?? (definition.Tracker.BaseUrl is null ? settings.PlaneWebhookSecret : null)),
                "github" when definition?.Forge.Kind == ForgeConfig.GitHub =>
                    GitHub(project!.Secret(ProjectSecretNames.ForgeWebhookSecret) ?? (definition.Forge.BaseUrl is null ? settings.GitHubWebhookSecret : null)),
                "gitea" when definition?.Forge.Kind == ForgeConfig.Gitea =>
                    new Source("gitea", GiteaWebhooks.SignatureHeader, GiteaWebhooks.DeliveryHeader, GiteaWebhooks.EventHeader, project!.Secret(ProjectSecretNames.ForgeWebhookSecret), GiteaWebhooks.Verify, GiteaWebhooks.EventTypeHeader),
                _ => null,
            };
            return source is null
                ? TypedResults.Problem($"No project '{slug}' with a {kind} side.", statusCode: StatusCodes.Status404NotFound)
                : await ReceiveAsync(context, source, slug, settings, inbox, logs);
        });
        return app;
    }

    private static Source Plane(string? secret) => new("plane", "X-Plane-Signature", "X-Plane-Delivery", "X-Plane-Event", secret, WebhookSignature.VerifyHex);

    private static Source GitHub(string? secret) => new("github", "X-Hub-Signature-256", "X-GitHub-Delivery", "X-GitHub-Event", secret, WebhookSignature.VerifyGitHub);

    private delegate bool Verifier(ReadOnlySpan<byte> body, string? header, string? secret);

    private sealed record Source(string Name, string SignatureHeader, string DeliveryHeader, string EventHeader, string? Secret, Verifier Verify, string? EventTypeHeader = null);

    /// <summary>
    /// <c>POST /webhooks/asana/{slug}?resource={gid}</c>: the handshake (a request carrying <c>X-Hook-Secret</c>,
    /// accepted only while our own create call for that resource is open, answered 200 echoing the header), then
    /// signed deliveries; an empty <c>events</c> list is a heartbeat, recorded for webhook health.
    /// </summary>
    private static async Task<IResult> AsanaAsync(string slug, HttpContext context, OrchestratorSettings settings, ProjectStore projects, InboxStore inbox, ILoggerFactory logs)
    {
        var log = logs.CreateLogger("Webhooks.asana");
        var resource = context.Request.Query[AsanaResourceParameter].ToString();
        using var scope = log.BeginScope("asana project {Project} resource {Resource}", slug, resource);
        var project = await projects.GetAsync(slug, context.RequestAborted);
        if (project?.Definition.Tracker.Kind != TrackerConfig.Asana || resource.Length == 0)
        {
            return TypedResults.Problem($"No Asana project '{slug}', or no ?{AsanaResourceParameter}= on the target.", statusCode: StatusCodes.Status404NotFound);
        }

        if (AsanaWebhooks.TryGetHandshakeSecret(context.Request.Headers[AsanaWebhooks.HookSecretHeader].ToString(), out var hookSecret))
        {
            if (!await projects.CompleteAsanaHandshakeAsync(slug, resource, hookSecret, context.RequestAborted))
            {
                log.LogWarning("Asana handshake refused: no webhook creation is in progress for this resource");
                return TypedResults.Problem("No webhook creation is in progress for this resource.", statusCode: StatusCodes.Status403Forbidden);
            }

            log.LogInformation("Asana handshake completed; secret stored");
            context.Response.Headers[AsanaWebhooks.HookSecretHeader] = hookSecret;
            return TypedResults.Ok();
        }

        var body = await ReadCappedAsync(context.Request, settings.WebhookMaxBytes, context.RequestAborted);
        if (body is null)
        {
            return TypedResults.Problem($"Body exceeds {settings.WebhookMaxBytes} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge);
        }

        var secret = await projects.GetAsanaWebhookSecretAsync(slug, resource, context.RequestAborted);
        if (secret is null || !AsanaWebhooks.VerifySignature(body, context.Request.Headers[AsanaWebhooks.SignatureHeader].ToString(), secret))
        {
            log.LogWarning("Delivery refused: missing or wrong {Header}", AsanaWebhooks.SignatureHeader);
            return TypedResults.Problem($"Missing or invalid {AsanaWebhooks.SignatureHeader}.", statusCode: StatusCodes.Status401Unauthorized);
        }

        IReadOnlyList<AsanaEvent> events;
        try
        {
            events = AsanaWebhooks.ParseEvents(body);
        }
        catch (FormatException ex)
        {
            log.LogWarning("Delivery refused: {Reason}", ex.Message);
            return TypedResults.Problem("The body is not a JSON object with an events array.", statusCode: StatusCodes.Status400BadRequest);
        }

        var heartbeat = AsanaWebhooks.IsHeartbeat(events);
        await projects.RecordAsanaDeliveryAsync(slug, resource, heartbeat, context.RequestAborted);
        if (heartbeat)
        {
            log.LogInformation("Asana heartbeat");
            return TypedResults.Ok(new WebhookAck("heartbeat", "", "heartbeat"));
        }

        var deliveryId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
        var stored = await inbox.AcceptAsync("asana", deliveryId, "events", body, slug, context.RequestAborted);
        log.LogInformation("Asana delivery with {Count} event(s) {Outcome}", events.Count, stored ? "accepted" : "was a duplicate");
        return TypedResults.Ok(new WebhookAck(stored ? "accepted" : "duplicate", deliveryId, "events"));
    }

    private static async Task<IResult> ReceiveAsync(HttpContext context, Source source, string? projectSlug, OrchestratorSettings settings, InboxStore inbox, ILoggerFactory logs)
    {
        var log = logs.CreateLogger("Webhooks." + source.Name);
        var deliveryHeader = context.Request.Headers[source.DeliveryHeader].ToString();
        using var scope = log.BeginScope("{Source} delivery {DeliveryId} project {Project}", source.Name, deliveryHeader, projectSlug ?? "-");

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
            if (source.EventTypeHeader is { } typeHeader && context.Request.Headers[typeHeader].ToString() is { Length: > 0 } subtype && subtype != eventType)
            {
                eventType += ":" + subtype; // Gitea: "issue_comment:pull_request_comment" tells a PR comment from an issue comment.
            }
        }
        catch (JsonException ex)
        {
            log.LogWarning("Delivery refused: malformed JSON at byte {Position}", ex.BytePositionInLine);
            return TypedResults.Problem("The body is not valid JSON.", statusCode: StatusCodes.Status400BadRequest);
        }

        // A delivery without an id still dedupes: fall back to the body hash.
        var deliveryId = deliveryHeader.Length is > 0 and <= 200 ? deliveryHeader : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
        var stored = await inbox.AcceptAsync(source.Name, deliveryId, eventType, body, projectSlug, context.RequestAborted);
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

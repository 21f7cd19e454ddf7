using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Unicode;
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
/// Admission (<see cref="WebhookLimits"/>: concurrent bodies, refused signatures per address; 429) → header checks
/// (400) → size cap from <c>Content-Length</c> (413) → signature header shape (401) → raw body into a pooled buffer,
/// capped (<see cref="WebhookBody"/>; 413) → HMAC-SHA256 over the raw bytes (401) → UTF-8 and JSON checks (400) →
/// inbox row + routing work in one transaction → 202 (Asana: 200). Bodies and secrets are never logged; before the
/// signature is verified nothing the client sent is logged (only the source, the size and the outcome).
/// </summary>
/// <remarks>
/// <para>
/// Signatures: Plane <c>X-Plane-Signature</c> (hex), GitHub <c>X-Hub-Signature-256</c> (<c>sha256=</c>hex,
/// https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries), Gitea <c>X-Gitea-Signature</c>
/// (hex, https://docs.gitea.com/usage/webhooks), Asana <c>X-Hook-Signature</c> (hex) with the secret of the
/// handshake (https://developers.asana.com/docs/webhooks-guide). Asana sends no delivery id: the inbox dedupes on
/// the body hash, routing on a per-event key.
/// </para>
/// <para>
/// Outsiders cannot tell which projects exist: an unknown slug, a project without that side or without a secret, and
/// a wrong signature all take the same path (the body is read and capped the same way) to the same 401
/// (<see cref="InvalidSignatureDetail"/>); on the Asana endpoint a handshake nobody started answers the same 403
/// for unknown and known projects. Body caps: <see cref="OrchestratorSettings.WebhookMaxBytesFor"/>.
/// </para>
/// </remarks>
public static class WebhookFunctions
{
    /// <summary>Query parameter on an Asana webhook's target naming the Asana resource (project gid) it watches.</summary>
    public const string AsanaResourceParameter = "resource";

    /// <summary>The detail of every 401 a webhook endpoint answers, whatever the reason (logged, not answered).</summary>
    public const string InvalidSignatureDetail = "Missing or invalid signature.";

    /// <summary>The detail of the 403 for an Asana handshake that no webhook creation of ours is waiting for.</summary>
    public const string StrayHandshakeDetail = "No webhook creation is in progress for this resource.";

    /// <summary>How long after <c>POST /webhooks</c> starts a handshake for it is accepted.</summary>
    public static readonly TimeSpan AsanaHandshakeWindow = TimeSpan.FromMinutes(2);

    /// <summary>Maps the webhook endpoints.</summary>
    public static IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/webhooks").WithWebhookLimits();
        group.MapPost("/plane", (HttpContext context, OrchestratorSettings settings, InboxStore inbox, RefusedSignatureLimiter refusals, ILoggerFactory logs) =>
            ReceiveAsync(context, Plane(settings.PlaneWebhookSecret), null, settings, inbox, refusals, logs));
        group.MapPost("/github", (HttpContext context, OrchestratorSettings settings, InboxStore inbox, RefusedSignatureLimiter refusals, ILoggerFactory logs) =>
            ReceiveAsync(context, GitHub(settings.GitHubWebhookSecret), null, settings, inbox, refusals, logs));
        group.MapPost("/asana/{slug}", AsanaAsync);
        group.MapPost("/{kind}/{slug}", async (string kind, string slug, HttpContext context, OrchestratorSettings settings, ProjectStore projects, InboxStore inbox, RefusedSignatureLimiter refusals, ILoggerFactory logs) =>
        {
            var project = await projects.GetAsync(slug, context.RequestAborted);
            var definition = project?.Definition;

            // An unknown project, or one without this side, gets the side's source without a secret: the same path
            // (body read and capped) and the same 401 as a wrong signature.
            var source = kind switch
            {
                "plane" => definition?.Tracker.Kind == TrackerConfig.Plane
                    ? Plane(project!.Secret(ProjectSecretNames.TrackerWebhookSecret) ?? (definition.Tracker.BaseUrl is null ? settings.PlaneWebhookSecret : null))
                    : Plane(null) with { Unknown = true },
                "github" => definition?.Forge.Kind == ForgeConfig.GitHub
                    ? GitHub(project!.Secret(ProjectSecretNames.ForgeWebhookSecret) ?? (definition.Forge.BaseUrl is null ? settings.GitHubWebhookSecret : null))
                    : GitHub(null) with { Unknown = true },
                "gitea" => Gitea(definition?.Forge.Kind == ForgeConfig.Gitea ? project!.Secret(ProjectSecretNames.ForgeWebhookSecret) : null) with { Unknown = definition?.Forge.Kind != ForgeConfig.Gitea },
                _ => null,
            };
            if (source is null)
            {
                // Not a platform we know: nothing about any project to hide, nothing to read.
                return Unauthorized(context, refusals, logs.CreateLogger("Webhooks"), "no such webhook kind", context.Request.ContentLength);
            }

            return await ReceiveAsync(context, source, source.Unknown ? null : definition!.Slug, settings, inbox, refusals, logs);
        });
        return app;
    }

    private static Source Plane(string? secret) =>
        new("plane", "X-Plane-Signature", "X-Plane-Delivery", "X-Plane-Event", secret, WebhookSignature.VerifyHex, WebhookSignature.IsWellFormedHex);

    private static Source GitHub(string? secret) =>
        new("github", "X-Hub-Signature-256", "X-GitHub-Delivery", "X-GitHub-Event", secret, WebhookSignature.VerifyGitHub, WebhookSignature.IsWellFormedGitHub);

    private static Source Gitea(string? secret) =>
        new("gitea", GiteaWebhooks.SignatureHeader, GiteaWebhooks.DeliveryHeader, GiteaWebhooks.EventHeader, secret, GiteaWebhooks.Verify, WebhookSignature.IsWellFormedHex, GiteaWebhooks.EventTypeHeader);

    private delegate bool Verifier(ReadOnlySpan<byte> body, string? header, string? secret);

    /// <summary>
    /// How one platform signs and names its deliveries, with the secret to check them against (<c>null</c>: every
    /// delivery is refused). <c>Unknown</c>: the per-project endpoint's project does not exist or has no such side
    /// (logged, never answered differently).
    /// </summary>
    private sealed record Source(
        string Name,
        string SignatureHeader,
        string DeliveryHeader,
        string EventHeader,
        string? Secret,
        Verifier Verify,
        Func<string?, bool> IsWellFormed,
        string? EventTypeHeader = null,
        bool Unknown = false);

    /// <summary>
    /// <c>POST /webhooks/asana/{slug}?resource={gid}</c>: the handshake (a request carrying <c>X-Hook-Secret</c>,
    /// accepted only while our own create call for that resource is open, answered 200 echoing the header), then
    /// signed deliveries; an empty <c>events</c> list is a heartbeat, recorded for webhook health.
    /// </summary>
    private static async Task<IResult> AsanaAsync(string slug, HttpContext context, OrchestratorSettings settings, ProjectStore projects, InboxStore inbox, RefusedSignatureLimiter refusals, ILoggerFactory logs)
    {
        var log = logs.CreateLogger("Webhooks.asana");
        var resource = context.Request.Query[AsanaResourceParameter].ToString();
        var project = await projects.GetAsync(slug, context.RequestAborted);
        var known = project?.Definition.Tracker.Kind == TrackerConfig.Asana && resource.Length > 0;

        // Until the signature is verified only our own names go into the scope (the stored slug of a known project).
        using var scope = log.BeginScope("asana webhook project {Project}", known ? project!.Slug : "-");

        if (AsanaWebhooks.TryGetHandshakeSecret(context.Request.Headers[AsanaWebhooks.HookSecretHeader].ToString(), out var hookSecret))
        {
            if (!known || !await projects.CompleteAsanaHandshakeAsync(slug, resource, hookSecret, context.RequestAborted))
            {
                refusals.RecordRefusal(context);
                log.LogWarning("Asana handshake refused ({Status}): {Reason}", StatusCodes.Status403Forbidden,
                    known ? "no webhook creation is in progress for this resource" : "no Asana project at this slug, or no resource");
                return TypedResults.Problem(StrayHandshakeDetail, statusCode: StatusCodes.Status403Forbidden);
            }

            log.LogInformation("Asana handshake completed; secret stored");
            context.Response.Headers[AsanaWebhooks.HookSecretHeader] = hookSecret;
            return TypedResults.Ok();
        }

        var max = settings.WebhookMaxBytesFor("asana");
        if (context.Request.ContentLength > max)
        {
            return TooLarge(log, max, context.Request.ContentLength);
        }

        var signature = context.Request.Headers[AsanaWebhooks.SignatureHeader].ToString();
        if (!WebhookSignature.IsWellFormedHex(signature))
        {
            return Unauthorized(context, refusals, log, $"no well-formed {AsanaWebhooks.SignatureHeader}", context.Request.ContentLength);
        }

        using var body = await WebhookBody.ReadAsync(context.Request, max, context.RequestAborted);
        if (body is null)
        {
            return TooLarge(log, max, context.Request.ContentLength);
        }

        // Looked up for unknown slugs too (no row, null), so they take the same database round trip; only a known project's counts.
        var storedSecret = resource.Length > 0 ? await projects.GetAsanaWebhookSecretAsync(slug, resource, context.RequestAborted) : null;
        var secret = known ? storedSecret : null;
        if (secret is null || !AsanaWebhooks.VerifySignature(body.Span, signature, secret))
        {
            return Unauthorized(context, refusals, log,
                !known ? "no Asana project at this slug, or no resource" : secret is null ? "no webhook secret for this resource" : $"wrong {AsanaWebhooks.SignatureHeader}",
                body.Length);
        }

        using var verified = log.BeginScope("resource {Resource}", LogSanitizer.Sanitize(resource));
        if (!Utf8.IsValid(body.Span))
        {
            return InvalidUtf8(log, body.Length);
        }

        IReadOnlyList<AsanaEvent> events;
        try
        {
            events = AsanaWebhooks.ParseEvents(body.Span);
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

        var deliveryId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body.Span));
        var stored = await inbox.AcceptAsync("asana", deliveryId, "events", body.Memory, slug, context.RequestAborted);
        log.LogInformation("Asana delivery with {Count} event(s) {Outcome}", events.Count, stored ? "accepted" : "was a duplicate");
        return TypedResults.Ok(new WebhookAck(stored ? "accepted" : "duplicate", deliveryId, "events"));
    }

    private static async Task<IResult> ReceiveAsync(HttpContext context, Source source, string? projectSlug, OrchestratorSettings settings, InboxStore inbox, RefusedSignatureLimiter refusals, ILoggerFactory logs)
    {
        var log = logs.CreateLogger("Webhooks." + source.Name);
        var request = context.Request;

        // Until the signature is verified only our own names go into the scope: the source and the stored slug of a known project.
        using var scope = log.BeginScope("{Source} webhook project {Project}", source.Name, projectSlug ?? "-");

        // Header checks first: they need no body, and nothing invalid is ever stored.
        var eventHeader = request.Headers[source.EventHeader].ToString();
        var subtype = source.EventTypeHeader is { } typeHeader ? request.Headers[typeHeader].ToString() : "";
        foreach (var (header, value) in new[] { (source.EventHeader, eventHeader), (source.EventTypeHeader, subtype) })
        {
            if (header is not null && value.Length > 0 && !WebhookHeaders.IsValidEvent(value))
            {
                log.LogWarning("Delivery refused (400): invalid {Header} header ({Length} characters); body {Bytes} bytes", header, value.Length, request.ContentLength);
                return TypedResults.Problem(
                    $"The {header} header must be 1 to {WebhookHeaders.MaxEventLength} characters of a-z, 0-9, '_' and '.'.",
                    statusCode: StatusCodes.Status400BadRequest,
                    title: $"Invalid {header} header",
                    extensions: new Dictionary<string, object?> { ["header"] = header });
            }
        }

        var max = settings.WebhookMaxBytesFor(source.Name);
        if (request.ContentLength > max)
        {
            return TooLarge(log, max, request.ContentLength);
        }

        var signature = request.Headers[source.SignatureHeader].ToString();
        if (!source.IsWellFormed(signature))
        {
            return Unauthorized(context, refusals, log, $"no well-formed {source.SignatureHeader}", request.ContentLength);
        }

        using var body = await WebhookBody.ReadAsync(request, max, context.RequestAborted);
        if (body is null)
        {
            return TooLarge(log, max, request.ContentLength);
        }

        if (source.Secret is null || !source.Verify(body.Span, signature, source.Secret))
        {
            return Unauthorized(context, refusals, log,
                source.Unknown ? $"no project with a {source.Name} side at this slug"
                : source.Secret is null ? $"no webhook secret is configured for {source.Name}"
                : $"wrong {source.SignatureHeader}",
                body.Length);
        }

        // Signed by the platform: from here on its delivery id may be logged (still sanitized) and used for dedupe.
        // A delivery without a usable id still dedupes: fall back to the body hash.
        var deliveryHeader = request.Headers[source.DeliveryHeader].ToString();
        var deliveryId = WebhookHeaders.IsUsableDeliveryId(deliveryHeader) ? deliveryHeader : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body.Span));
        using var delivery = log.BeginScope("{Source} delivery {DeliveryId}", source.Name, LogSanitizer.Sanitize(deliveryId));

        // System.Text.Json does not check the UTF-8 inside string values; a signed body with invalid UTF-8 is refused too.
        if (!Utf8.IsValid(body.Span))
        {
            return InvalidUtf8(log, body.Length);
        }

        string eventType;
        try
        {
            using var doc = JsonDocument.Parse(body.Memory);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return TypedResults.Problem("The body must be a JSON object.", statusCode: StatusCodes.Status400BadRequest);
            }

            // Without the header, Plane's body names the event; a value we would not accept in the header is stored as "unknown".
            eventType = eventHeader.Length > 0
                ? eventHeader
                : doc.RootElement.TryGetProperty("event", out var e) && e.ValueKind == JsonValueKind.String && WebhookHeaders.IsValidEvent(e.GetString()) ? e.GetString()! : "unknown";
            if (subtype.Length > 0 && subtype != eventType)
            {
                eventType += ":" + subtype; // Gitea: "issue_comment:pull_request_comment" tells a PR comment from an issue comment.
            }
        }
        catch (JsonException ex)
        {
            log.LogWarning("Delivery refused: malformed JSON at byte {Position}", ex.BytePositionInLine);
            return TypedResults.Problem("The body is not valid JSON.", statusCode: StatusCodes.Status400BadRequest);
        }

        var stored = await inbox.AcceptAsync(source.Name, deliveryId, eventType, body.Memory, projectSlug, context.RequestAborted);
        log.LogInformation("{Event} delivery {Outcome}", LogSanitizer.Sanitize(eventType), stored ? "accepted" : "was a duplicate");
        return TypedResults.Accepted((string?)null, new WebhookAck(stored ? "accepted" : "duplicate", deliveryId, eventType));
    }

    /// <summary>Every 401 of the webhook endpoints: counted against the client address, logged with its reason, answered the same.</summary>
    private static IResult Unauthorized(HttpContext context, RefusedSignatureLimiter refusals, ILogger log, string reason, long? bytes)
    {
        refusals.RecordRefusal(context);
        log.LogWarning("Delivery refused ({Status}): {Reason}; body {Bytes} bytes", StatusCodes.Status401Unauthorized, reason, bytes);
        return TypedResults.Problem(InvalidSignatureDetail, statusCode: StatusCodes.Status401Unauthorized);
    }

    private static IResult TooLarge(ILogger log, long max, long? announced)
    {
        log.LogWarning("Delivery refused ({Status}): body of {Bytes} bytes is larger than {Max} bytes", StatusCodes.Status413PayloadTooLarge, announced?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "more than that", max);
        return TypedResults.Problem($"Body exceeds {max} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge);
    }

    private static IResult InvalidUtf8(ILogger log, int bytes)
    {
        log.LogWarning("Delivery refused (400): the body of {Bytes} bytes is not valid UTF-8", bytes);
        return TypedResults.Problem("The body is not valid UTF-8.", statusCode: StatusCodes.Status400BadRequest);
    }
}

/// <summary>Body of a 202 answer to a webhook.</summary>
/// <param name="Status"><c>accepted</c> or <c>duplicate</c>.</param>
/// <param name="DeliveryId">The delivery id we stored it under.</param>
/// <param name="Event">The event name.</param>
public sealed record WebhookAck(string Status, string DeliveryId, string Event);

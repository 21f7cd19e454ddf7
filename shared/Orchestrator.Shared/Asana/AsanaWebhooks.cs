using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orchestrator.Shared.Webhooks;

namespace Orchestrator.Shared.Asana;

/// <summary>A reference to an Asana object as webhook events carry it (ids only, https://developers.asana.com/reference/events).</summary>
/// <param name="Gid">Object gid.</param>
/// <param name="ResourceType">E.g. <c>task</c>, <c>story</c>, <c>tag</c>, <c>custom_field</c>, <c>user</c>, or <c>null</c>.</param>
/// <param name="ResourceSubtype">E.g. <c>default_task</c>, <c>comment_added</c>, <c>enum</c>, or <c>null</c>.</param>
public sealed record AsanaResourceRef(string Gid, string? ResourceType, string? ResourceSubtype);

/// <summary>
/// What changed in a <c>changed</c> event (<c>EventResponse.change</c>).
/// </summary>
/// <param name="Field">The changed field, e.g. <c>completed</c>, <c>name</c>, <c>notes</c>, <c>tags</c>, <c>custom_fields</c>.</param>
/// <param name="Action"><c>changed</c>, <c>added</c> or <c>removed</c>.</param>
/// <param name="NewValue">For <c>changed</c> when the value is an object (e.g. the custom field), else <c>null</c>.</param>
/// <param name="NewEnumValue">For an enum custom field: <c>new_value.enum_value</c> (the selected option), else <c>null</c>.</param>
/// <param name="AddedValue">For <c>added</c> (e.g. the tag), else <c>null</c>.</param>
/// <param name="RemovedValue">For <c>removed</c>, else <c>null</c>.</param>
public sealed record AsanaEventChange(
    string? Field,
    string? Action,
    AsanaResourceRef? NewValue,
    AsanaResourceRef? NewEnumValue,
    AsanaResourceRef? AddedValue,
    AsanaResourceRef? RemovedValue);

/// <summary>One webhook event (<c>EventResponse</c> of https://developers.asana.com/reference/events, compact form).</summary>
/// <param name="Action">What happened to <paramref name="Resource"/>: <c>changed</c>, <c>added</c>, <c>removed</c>, <c>deleted</c>, <c>undeleted</c>.</param>
/// <param name="Resource">The object that changed.</param>
/// <param name="Parent">For <c>added</c>/<c>removed</c> the object it was added to or removed from (e.g. the task of a new comment), else <c>null</c>.</param>
/// <param name="Change">For <c>changed</c>: which field and how; <c>null</c> otherwise (and in old payloads).</param>
/// <param name="UserGid">Who did it; <c>null</c> for system events.</param>
/// <param name="CreatedAt">When it happened, as sent (kept verbatim for the dedupe key), or <c>null</c>.</param>
public sealed record AsanaEvent(
    string Action,
    AsanaResourceRef Resource,
    AsanaResourceRef? Parent,
    AsanaEventChange? Change,
    string? UserGid,
    string? CreatedAt)
{
    /// <summary>The task this event is about: the resource when it is a task, else a task parent (e.g. of a comment story), else <c>null</c>.</summary>
    public string? TaskGid =>
        Resource.ResourceType == "task" ? Resource.Gid
        : Parent?.ResourceType == "task" ? Parent.Gid
        : null;

    /// <summary>Stable identity of this event for the inbox (see <see cref="AsanaWebhooks.DedupeKey"/>).</summary>
    public string DedupeKey => AsanaWebhooks.DedupeKey(this);
}

/// <summary>
/// Asana's webhook protocol on the receiving side (https://developers.asana.com/docs/webhooks-guide):
/// the handshake, signature verification, heartbeats, event parsing and a dedupe key.
/// </summary>
/// <remarks>
/// <para>
/// <b>Handshake.</b> While our <c>POST /webhooks</c> call is still open, Asana POSTs to the target with an
/// <c>X-Hook-Secret</c> header. The receiver answers 200 with the same <c>X-Hook-Secret</c> header and stores
/// the secret for that webhook (per target URL); only then does Asana answer the create call. A POST with
/// <c>X-Hook-Secret</c> is always a handshake, never an event delivery.
/// </para>
/// <para>
/// <b>Deliveries.</b> <c>POST</c> with body <c>{"events": [...]}</c> and <c>X-Hook-Signature</c> = lower-case hex
/// HMAC-SHA256 of the raw body keyed with the stored secret. Verify over the raw bytes before parsing; no secret,
/// no header or a mismatch fails closed (<see cref="WebhookSignature.VerifyHex"/>). An empty <c>events</c> list is a
/// heartbeat (sent after the handshake and about every 8 hours) — answer 200, nothing to do.
/// </para>
/// <para>
/// <b>Events</b> are compact (gids and types only; fetch the task for its state) and Asana sends no delivery id, and
/// may deliver an event twice or out of order, so the inbox dedupes by <see cref="DedupeKey"/>.
/// </para>
/// </remarks>
public static class AsanaWebhooks
{
    /// <summary>Header carrying the handshake secret (request and our answer).</summary>
    public const string HookSecretHeader = "X-Hook-Secret";

    /// <summary>Header carrying the hex HMAC-SHA256 signature of a delivery.</summary>
    public const string SignatureHeader = "X-Hook-Signature";

    /// <summary>
    /// Whether a request is the creation handshake, and its secret. The endpoint then answers 200 with
    /// <c>X-Hook-Secret: {secret}</c> (and an empty body) and stores the secret for the target.
    /// </summary>
    /// <param name="hookSecretHeader">The request's <c>X-Hook-Secret</c> header, or <c>null</c> when absent.</param>
    /// <param name="secret">The secret to echo and store.</param>
    /// <returns><see langword="true"/> for a handshake (the header is present and not blank).</returns>
    public static bool TryGetHandshakeSecret(string? hookSecretHeader, out string secret)
    {
        secret = hookSecretHeader?.Trim() ?? "";
        return secret.Length > 0;
    }

    /// <summary>Checks <c>X-Hook-Signature</c> against the raw body (fails closed; never throws for bad input).</summary>
    /// <param name="rawBody">The request body exactly as received.</param>
    /// <param name="signatureHeader">The <c>X-Hook-Signature</c> value (64 hex digits), or <c>null</c> when absent.</param>
    /// <param name="secret">The secret stored at the handshake; <c>null</c> or empty fails.</param>
    /// <returns><see langword="true"/> only for a matching signature.</returns>
    public static bool VerifySignature(ReadOnlySpan<byte> rawBody, string? signatureHeader, string? secret) =>
        WebhookSignature.VerifyHex(rawBody, signatureHeader, secret);

    /// <summary>Computes the <c>X-Hook-Signature</c> Asana would send (for simulators and tests).</summary>
    /// <param name="rawBody">Body bytes.</param>
    /// <param name="secret">Webhook secret.</param>
    /// <returns>64 lower-case hex digits.</returns>
    public static string ComputeSignature(ReadOnlySpan<byte> rawBody, string secret) => WebhookSignature.ComputeHex(rawBody, secret);

    /// <summary>Whether a parsed delivery is a heartbeat (an empty <c>events</c> list).</summary>
    /// <param name="events">The parsed events.</param>
    /// <returns><see langword="true"/> when there are none.</returns>
    public static bool IsHeartbeat(IReadOnlyList<AsanaEvent> events) => events.Count == 0;

    /// <summary>Parses a delivery body <c>{"events": [...]}</c> (verify the signature first).</summary>
    /// <param name="rawBody">The body bytes.</param>
    /// <returns>The events in delivery order; empty for a heartbeat.</returns>
    /// <exception cref="FormatException">Not JSON, no <c>events</c> array, or an event without <c>action</c> or <c>resource.gid</c>.</exception>
    public static IReadOnlyList<AsanaEvent> ParseEvents(ReadOnlySpan<byte> rawBody)
    {
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(rawBody);
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new FormatException("The webhook body is not JSON.", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("events", out var events) || events.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("The webhook body has no events array.");
            }

            return [.. events.EnumerateArray().Select(ParseEvent)];
        }
    }

    /// <summary>
    /// A stable key per event, since Asana sends no delivery or event id: lower-case hex SHA-256 over
    /// (action, resource gid, parent gid, change field, change action, new/added/removed value gid, enum option gid,
    /// user gid, created_at as sent), each length-prefixed. The same event re-delivered gives the same key; events
    /// that differ in any of these give different keys.
    /// </summary>
    /// <param name="e">The event.</param>
    /// <returns><c>asana:</c> followed by 64 hex digits.</returns>
    public static string DedupeKey(AsanaEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        string?[] parts =
        [
            e.Action, e.Resource.Gid, e.Parent?.Gid, e.Change?.Field, e.Change?.Action,
            e.Change?.NewValue?.Gid, e.Change?.NewEnumValue?.Gid, e.Change?.AddedValue?.Gid, e.Change?.RemovedValue?.Gid,
            e.UserGid, e.CreatedAt,
        ];
        var text = new StringBuilder();
        foreach (var part in parts)
        {
            // Length-prefixed so ("1","23") and ("12","3") differ; -1 marks null.
            text.Append(part?.Length ?? -1).Append(':').Append(part).Append('|');
        }

        return "asana:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static AsanaEvent ParseEvent(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("An event is not an object.");
        }

        var change = AsanaJson.Object(element, "change") is { } c
            ? new AsanaEventChange(
                AsanaJson.String(c, "field"),
                AsanaJson.String(c, "action"),
                Ref(c, "new_value"),
                AsanaJson.Object(c, "new_value") is { } nv ? Ref(nv, "enum_value") : null,
                Ref(c, "added_value"),
                Ref(c, "removed_value"))
            : null;
        return new AsanaEvent(
            AsanaJson.RequiredString(element, "action"),
            Ref(element, "resource") ?? throw new FormatException("An event has no resource."),
            Ref(element, "parent"),
            change,
            AsanaJson.Object(element, "user") is { } u ? AsanaJson.String(u, "gid") : null,
            AsanaJson.String(element, "created_at"));
    }

    private static AsanaResourceRef? Ref(JsonElement owner, string name) =>
        AsanaJson.Object(owner, name) is { } r
            ? new AsanaResourceRef(AsanaJson.RequiredString(r, "gid"), AsanaJson.String(r, "resource_type"), AsanaJson.String(r, "resource_subtype"))
            : null;
}

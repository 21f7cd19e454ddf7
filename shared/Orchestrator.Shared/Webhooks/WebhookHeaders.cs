using System.Buffers;

namespace Orchestrator.Shared.Webhooks;

/// <summary>
/// What the webhook endpoints accept in the event and delivery-id headers before anything is stored
/// (<c>inbox.event_type</c>, <c>inbox.delivery_id</c>).
/// </summary>
/// <remarks>
/// Event names the platforms send are short lower-case identifiers: GitHub <c>X-GitHub-Event</c>
/// (<c>pull_request</c>, <c>check_suite</c>, <c>workflow_run</c>, <c>projects_v2_item</c>, …,
/// https://docs.github.com/en/webhooks/webhook-events-and-payloads), Plane <c>X-Plane-Event</c>
/// (<c>issue</c>, <c>issue_comment</c>, <c>project</c>, <c>cycle</c>, <c>module</c>, <c>cycle_issue</c>,
/// <c>module_issue</c>, <c>intake_issue</c>; <c>apps/api/plane/bgtasks/webhook_task.py</c> in makeplane/plane), Gitea
/// <c>X-Gitea-Event</c> and <c>X-Gitea-Event-Type</c> (<c>pull_request</c>, <c>pull_request_comment</c>,
/// <c>status</c>, <c>issue_comment</c>, …; <c>modules/webhook/type.go</c> in go-gitea/gitea). Digits are allowed
/// because GitHub's <c>projects_v2</c> events carry one; the dot leaves room for dotted names.
/// </remarks>
public static class WebhookHeaders
{
    /// <summary>The longest event name accepted (GitHub's longest is under 40 characters).</summary>
    public const int MaxEventLength = 64;

    /// <summary>The longest delivery id used as the dedupe key (the platforms send 36-character UUIDs).</summary>
    public const int MaxDeliveryIdLength = 128;

    private static readonly SearchValues<char> EventChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789_.");

    /// <summary>Whether <paramref name="value"/> is an acceptable event name: 1–<see cref="MaxEventLength"/> characters of <c>[a-z0-9_.]</c>.</summary>
    /// <param name="value">The header value.</param>
    /// <returns><see langword="true"/> when it may be stored as the event type.</returns>
    public static bool IsValidEvent(ReadOnlySpan<char> value) =>
        value.Length is > 0 and <= MaxEventLength && !value.ContainsAnyExcept(EventChars);

    /// <summary>
    /// Whether <paramref name="value"/> can serve as the delivery's dedupe key: 1–<see cref="MaxDeliveryIdLength"/>
    /// printable ASCII characters without spaces. Other values are not refused; the body hash is used instead.
    /// </summary>
    /// <param name="value">The delivery-id header value.</param>
    /// <returns><see langword="true"/> when it may be stored as the delivery id.</returns>
    public static bool IsUsableDeliveryId(ReadOnlySpan<char> value) =>
        value.Length is > 0 and <= MaxDeliveryIdLength && !value.ContainsAnyExceptInRange('!', '~');
}

using System.Text.Json.Serialization;
using Orchestrator.Shared.Notifications;

namespace Orchestrator.Shared.Telegram;

/// <summary>
/// A project's Telegram settings (<c>"telegram"</c> of the project definition; the bot itself is host-wide,
/// <c>ORCH_TELEGRAM_BOT_TOKEN</c>). User and chat ids are Telegram's numeric ids
/// (https://core.telegram.org/bots/api#chat, #user): a group's id is negative, a supergroup's starts with <c>-100</c>.
/// </summary>
public sealed record TelegramConfig
{
    /// <summary>The chat the project's messages go to (and where <c>/task</c> and <c>/status</c> are accepted).</summary>
    [JsonPropertyName("chat_id")]
    public long ChatId { get; init; }

    /// <summary>A forum topic of that chat (<c>message_thread_id</c>); <c>null</c> = the chat itself (the General topic).</summary>
    [JsonPropertyName("thread_id")]
    public int? ThreadId { get; init; }

    /// <summary>Which notifications go there (<see cref="NotificationKinds"/>); default all.</summary>
    [JsonPropertyName("notify")]
    public IReadOnlyList<string> Notify { get; init; } = NotificationKinds.All;

    /// <summary>Telegram user ids whose Approve / Reject presses count; empty = nobody approves from Telegram.</summary>
    [JsonPropertyName("approvers")]
    public IReadOnlyList<long> Approvers { get; init; } = [];

    /// <summary>Telegram user ids whose <c>/task</c> creates tracker items; empty = nobody.</summary>
    [JsonPropertyName("task_creators")]
    public IReadOnlyList<long> TaskCreators { get; init; } = [];

    /// <summary>Whether the project wants notifications of <paramref name="kind"/>.</summary>
    /// <param name="kind">A <see cref="NotificationKinds"/> value.</param>
    /// <returns><c>true</c> when listed.</returns>
    public bool Wants(string kind) => Notify.Contains(kind, StringComparer.Ordinal);

    /// <summary>Validation errors, relative to this object.</summary>
    /// <returns>Problems.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (ChatId == 0)
        {
            errors.Add("chat_id is required (the numeric id of the chat, e.g. -1001234567890)");
        }

        if (ThreadId is <= 0)
        {
            errors.Add("thread_id must be a positive topic id, or absent");
        }

        foreach (var kind in Notify.Where(k => !NotificationKinds.All.Contains(k, StringComparer.Ordinal)))
        {
            errors.Add($"notify: '{kind}' is not one of {string.Join(", ", NotificationKinds.All)}");
        }

        if (Approvers.Any(id => id <= 0) || TaskCreators.Any(id => id <= 0))
        {
            errors.Add("approvers and task_creators must be Telegram user ids (positive numbers)");
        }

        if (Approvers.Count > 100 || TaskCreators.Count > 100)
        {
            errors.Add("approvers and task_creators list at most 100 users each");
        }

        return errors;
    }
}

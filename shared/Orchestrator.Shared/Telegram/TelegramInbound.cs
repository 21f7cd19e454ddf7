using System.Globalization;
using System.Text.RegularExpressions;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;

namespace Orchestrator.Shared.Telegram;

/// <summary>
/// The part of a Telegram update (https://core.telegram.org/bots/api#update) the orchestrator acts on: a text message
/// (commands, the reply carrying a rejection reason) or a button press (<c>callback_query</c>). Only these fields are
/// kept in the queue; the raw update is neither stored nor logged.
/// </summary>
/// <param name="BotId">The bot that received it.</param>
/// <param name="UpdateId"><c>update_id</c>: increasing per bot; the dedup key.</param>
/// <param name="ChatId">The chat.</param>
/// <param name="ThreadId">The forum topic (<c>message_thread_id</c>), or <c>null</c>.</param>
/// <param name="FromId">The sender's user id.</param>
/// <param name="FromName">The sender's name for messages (<c>@username</c>, else first and last name).</param>
/// <param name="MessageId">The message (a text message, or the message carrying the pressed button).</param>
/// <param name="Text">The text of a message, or <c>null</c> for a button press.</param>
/// <param name="ReplyToMessageId">The message a text message replies to, or <c>null</c>.</param>
/// <param name="CallbackQueryId">The press to answer (<c>answerCallbackQuery</c>), or <c>null</c>.</param>
/// <param name="CallbackData">The button's <c>callback_data</c>, or <c>null</c>.</param>
public sealed record TelegramInbound(
    long BotId,
    long UpdateId,
    long ChatId,
    int? ThreadId,
    long FromId,
    string FromName,
    int MessageId,
    string? Text,
    int? ReplyToMessageId,
    string? CallbackQueryId,
    string? CallbackData)
{
    /// <summary>Longest text kept from a message (a <c>/task</c> description, a rejection reason).</summary>
    public const int MaxTextLength = 8000;

    /// <summary>Whether this is a button press.</summary>
    public bool IsCallback => CallbackQueryId is not null;

    /// <summary>
    /// What of <paramref name="update"/> we act on, or <c>null</c> for anything else (edited messages, channel posts,
    /// messages without text or sender, messages from bots).
    /// </summary>
    /// <param name="botId">The receiving bot.</param>
    /// <param name="update">The update.</param>
    /// <returns>The inbound, or <c>null</c>.</returns>
    public static TelegramInbound? From(long botId, Update update)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (update.Type == UpdateType.CallbackQuery && update.CallbackQuery is { From: { IsBot: false } from, Message: { } carrier } query)
        {
            return new TelegramInbound(botId, update.Id, carrier.Chat.Id, carrier.MessageThreadId, from.Id, NameOf(from), carrier.MessageId,
                null, null, query.Id, query.Data);
        }

        if (update.Type == UpdateType.Message && update.Message is { From: { IsBot: false } sender, Text: { } text } message)
        {
            return new TelegramInbound(botId, update.Id, message.Chat.Id, message.IsTopicMessage ? message.MessageThreadId : null, sender.Id, NameOf(sender),
                message.MessageId, text.Length > MaxTextLength ? text[..MaxTextLength] : text, message.ReplyToMessage?.MessageId, null, null);
        }

        return null;
    }

    private static string NameOf(User user) =>
        user.Username is { Length: > 0 } username ? "@" + username
        : string.Join(' ', new[] { user.FirstName, user.LastName }.Where(n => !string.IsNullOrWhiteSpace(n))) is { Length: > 0 } name ? name
        : string.Create(CultureInfo.InvariantCulture, $"user {user.Id}");
}

/// <summary>A command written in a chat.</summary>
/// <param name="Name"><c>task</c>, <c>status</c>, or another word (then the help text is the answer).</param>
/// <param name="Title"><c>/task</c>: the first line's rest; <c>/status</c>: the key.</param>
/// <param name="Description"><c>/task</c>: the following lines, without the <c>repo:</c> and <c>project:</c> lines.</param>
/// <param name="Repo">A <c>repo: owner/name</c> line, or <c>null</c>.</param>
/// <param name="Project">A <c>project: slug</c> line (when a chat serves several projects), or <c>null</c>.</param>
public sealed partial record ChatCommand(string Name, string Title, string Description, string? Repo, string? Project)
{
    /// <summary>
    /// Parses a message that starts with <c>/</c>: <c>/task Title</c> (or <c>/task@OurBot Title</c>) with the description on
    /// the following lines, optionally a line <c>repo: owner/name</c> and a line <c>project: slug</c>; <c>/status KEY</c>.
    /// </summary>
    /// <param name="text">The message text.</param>
    /// <returns>The command, or <c>null</c> when the text is not a command.</returns>
    public static ChatCommand? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || CommandPattern().Match(text) is not { Success: true } m)
        {
            return null;
        }

        var name = m.Groups["name"].Value.ToLowerInvariant();
        var rest = text[m.Length..];
        var lines = rest.ReplaceLineEndings("\n").Split('\n');
        var title = lines[0].Trim();
        string? repo = null;
        string? project = null;
        var description = new List<string>();
        foreach (var line in lines.Skip(1))
        {
            if (MetaPattern().Match(line) is { Success: true } meta)
            {
                var value = meta.Groups["value"].Value.Trim();
                if (meta.Groups["key"].Value.Equals("repo", StringComparison.OrdinalIgnoreCase))
                {
                    repo = value;
                }
                else
                {
                    project = value;
                }

                continue;
            }

            description.Add(line.TrimEnd());
        }

        return new ChatCommand(name, title, string.Join('\n', description).Trim('\n', ' '), repo, project);
    }

    [GeneratedRegex("^/(?<name>[A-Za-z_]+)(@[A-Za-z0-9_]+)?(?=\\s|$)")]
    private static partial Regex CommandPattern();

    [GeneratedRegex("^\\s*(?<key>repo|project)\\s*:\\s*(?<value>\\S.*)$", RegexOptions.IgnoreCase)]
    private static partial Regex MetaPattern();
}

using System.Globalization;
using Orchestrator.Shared.Notifications;
using Orchestrator.Shared.Projects;
using Orchestrator.Shared.Telegram;

namespace Orchestrator.Functions.Telegram;

/// <summary>
/// The Telegram section of the settings screen: the chat (and topic), which notifications go there, and who may approve
/// and create tasks from it. An empty chat id turns Telegram off for the project. Ids are one per line (or comma-separated).
/// </summary>
public sealed class TelegramSettingsForm
{
    /// <summary>Set (a hidden field) when the section was on the form; otherwise the stored settings are kept.</summary>
    public bool Section { get; set; }

    /// <summary>The chat id (e.g. <c>-1001234567890</c>); empty = no Telegram.</summary>
    public string? ChatId { get; set; }

    /// <summary>A forum topic id; empty = the chat itself.</summary>
    public string? ThreadId { get; set; }

    /// <summary>The notification kinds checked (<see cref="NotificationKinds"/>).</summary>
    public List<string> Notify { get; set; } = [];

    /// <summary>Telegram user ids allowed to approve, one per line.</summary>
    public string? Approvers { get; set; }

    /// <summary>Telegram user ids allowed to create tasks with <c>/task</c>, one per line.</summary>
    public string? TaskCreators { get; set; }

    /// <summary>The fields of a stored definition.</summary>
    /// <param name="definition">The project.</param>
    /// <returns>The form.</returns>
    public static TelegramSettingsForm From(ProjectDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var t = definition.Telegram;
        return new TelegramSettingsForm
        {
            Section = true,
            ChatId = t?.ChatId.ToString(CultureInfo.InvariantCulture),
            ThreadId = t?.ThreadId?.ToString(CultureInfo.InvariantCulture),
            Notify = [.. t?.Notify ?? NotificationKinds.All],
            Approvers = t is null ? null : string.Join("\n", t.Approvers),
            TaskCreators = t is null ? null : string.Join("\n", t.TaskCreators),
        };
    }

    /// <summary>Applies the fields; problems go into <paramref name="errors"/> under <c>Telegram.&lt;field&gt;</c>.</summary>
    /// <param name="definition">The definition so far.</param>
    /// <param name="errors">Field → message.</param>
    /// <returns>The definition with the Telegram settings applied.</returns>
    public ProjectDefinition Apply(ProjectDefinition definition, IDictionary<string, string> errors)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(errors);
        if (!Section)
        {
            return definition;
        }

        if (string.IsNullOrWhiteSpace(ChatId))
        {
            return definition with { Telegram = null };
        }

        if (!long.TryParse(ChatId.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var chat) || chat == 0)
        {
            errors["Telegram.ChatId"] = $"'{ChatId.Trim()}' is not a chat id: a number such as -1001234567890 (write /status in the chat to see it).";
        }

        int? thread = null;
        if (!string.IsNullOrWhiteSpace(ThreadId))
        {
            if (int.TryParse(ThreadId.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var t) && t > 0)
            {
                thread = t;
            }
            else
            {
                errors["Telegram.ThreadId"] = $"'{ThreadId.Trim()}' is not a topic id (a positive number), or leave it empty.";
            }
        }

        var unknown = Notify.Where(k => !NotificationKinds.All.Contains(k, StringComparer.Ordinal)).ToList();
        if (unknown.Count > 0)
        {
            errors["Telegram.Notify"] = $"Unknown notification kind(s): {string.Join(", ", unknown)}.";
        }

        return definition with
        {
            Telegram = new TelegramConfig
            {
                ChatId = chat,
                ThreadId = thread,
                Notify = [.. NotificationKinds.All.Where(k => Notify.Contains(k, StringComparer.Ordinal))],
                Approvers = Ids(Approvers, "Telegram.Approvers", errors),
                TaskCreators = Ids(TaskCreators, "Telegram.TaskCreators", errors),
            },
        };
    }

    private static List<long> Ids(string? text, string field, IDictionary<string, string> errors)
    {
        var ids = new List<long>();
        foreach (var entry in (text ?? "").Split(['\n', '\r', ',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (long.TryParse(entry, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0)
            {
                if (!ids.Contains(id))
                {
                    ids.Add(id);
                }
            }
            else
            {
                errors[field] = $"'{entry}' is not a Telegram user id (a positive number; the bot tells a person theirs when they try /task).";
            }
        }

        return ids;
    }
}

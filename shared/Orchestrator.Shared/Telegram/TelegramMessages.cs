using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Shared.Notifications;

namespace Orchestrator.Shared.Telegram;

/// <summary>How an approval request was decided, for its message.</summary>
/// <param name="Status"><c>pending</c>, <c>awaiting_reason</c>, <c>approved</c>, <c>rejected</c> or <c>closed</c>.</param>
/// <param name="Via"><c>telegram</c> or <c>tracker</c>, once decided.</param>
/// <param name="By">Who pressed (a Telegram name), or <c>null</c>.</param>
/// <param name="Reason">Rejection reason, or <c>null</c>.</param>
public sealed record ApprovalView(string Status, string? Via, string? By, string? Reason);

/// <summary>
/// The texts the bot sends, in Telegram's HTML subset (https://core.telegram.org/bots/api#html-style): every dynamic
/// value is escaped, and a link whose URL is empty or points at a loopback host is left out (it could only arrive broken).
/// Pure functions of a <see cref="TaskSnapshot"/>: the same task renders the same text, so an unchanged task costs no edit.
/// </summary>
public static partial class TelegramMessages
{
    /// <summary>
    /// The live tracker message of a task:
    /// <code>
    /// &lt;b&gt;WEB-12&lt;/b&gt; Add a health endpoint          (key linked to the tracker item)
    /// PR_CREATED · DEVELOPMENT · issue #3 · PR #4 · CI run
    /// ✅ analysis · fake · sonnet-4-5 · 1m 02s · 12.3k/1.2k tok · $0.12
    /// 🔄 development · fake · running since 10:42 UTC
    /// ▫️ review
    /// 👤 approval: 3m 10s
    /// Σ 2m 05s agent time · 24.6k/2.4k tok · $0.24
    /// </code>
    /// and, once finished, a final block (wall time, agent time, lead time, links).
    /// </summary>
    /// <param name="s">The task.</param>
    /// <returns>HTML, at most <see cref="TelegramApi.MaxTextLength"/> characters.</returns>
    public static string LiveMessage(TaskSnapshot s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var sb = new StringBuilder();
        sb.Append(Icon(s)).Append(' ').Append(Bold(Link(s.Key, s.TrackerUrl))).Append(' ').Append(Escape(Clip(s.Title, 200))).Append('\n');
        var head = new List<string> { Code(s.Status) };
        if (s.AgentsStatus is { } agents && agents != s.Status)
        {
            head.Add(Escape(agents));
        }

        head.AddRange(Links(s).Select(l => Link(l.Label, l.Url)));
        sb.Append(string.Join(" · ", head)).Append('\n');

        foreach (var line in s.Stages)
        {
            sb.Append(StageIcon(line.State)).Append(' ').Append(Escape(line.Stage));
            var parts = new List<string>();
            if (line.Agent is { } agent)
            {
                parts.Add(Escape(agent));
            }

            if (ShortModel(line.Model) is { } model)
            {
                parts.Add(Escape(model));
            }

            if (line.Runs > 1)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"{line.Runs} runs"));
            }

            if (line.Duration is { } d)
            {
                parts.Add(StageComments.FormatDuration(d));
            }

            if (Tokens(line.TokensIn, line.TokensOut) is { } tokens)
            {
                parts.Add(tokens);
            }

            if (line.CostUsd is { } cost)
            {
                parts.Add(Escape(StageComments.FormatCost(cost)));
            }

            if (line.RunningSince is { } since)
            {
                parts.Add("running since " + Time(since));
            }

            if (line.State == StageState.AwaitingApproval)
            {
                parts.Add("<b>awaiting approval</b>");
            }

            if (parts.Count > 0)
            {
                sb.Append(" · ").Append(string.Join(" · ", parts));
            }

            sb.Append('\n');
        }

        if (s.ApprovalTime > TimeSpan.Zero || s.AwaitingApprovalSince is not null)
        {
            sb.Append("👤 approval: ");
            var bits = new List<string>();
            if (s.ApprovalTime > TimeSpan.Zero)
            {
                bits.Add(StageComments.FormatDuration(s.ApprovalTime));
            }

            if (s.AwaitingApprovalSince is { } waiting)
            {
                bits.Add("waiting since " + Time(waiting));
            }

            sb.Append(string.Join(", ", bits)).Append('\n');
        }

        if (s.Stages.Count > 0)
        {
            sb.Append("Σ ").Append(StageComments.FormatDuration(s.AgentTime)).Append(" agent time");
            if (Tokens(s.TokensIn, s.TokensOut) is { } total)
            {
                sb.Append(" · ").Append(total);
            }

            if (s.CostUsd is { } cost)
            {
                sb.Append(" · ").Append(Escape(StageComments.FormatCost(cost)));
            }

            sb.Append('\n');
        }

        if (s.FailureReason is { } failure)
        {
            sb.Append("❌ ").Append(Escape(Clip(failure, 400))).Append('\n');
        }

        if (s.IsFinished)
        {
            sb.Append('\n').Append("<b>").Append(Escape(s.Status)).Append("</b>");
            var end = s.FinishedAt!.Value;
            sb.Append(" · wall ").Append(StageComments.FormatDuration(end - s.StartedAt));
            if (s.Stages.Count > 0)
            {
                sb.Append(" · agents ").Append(StageComments.FormatDuration(s.AgentTime));
            }

            if (s.DeployedAt is { } deployed)
            {
                sb.Append(" · lead time ").Append(StageComments.FormatDuration(deployed - s.CreatedAt));
            }

            var links = new List<string>();
            if (Usable(s.TrackerUrl))
            {
                links.Add(Link(s.TrackerName, s.TrackerUrl));
            }

            links.AddRange(Links(s).Select(l => Link(l.Label == "CI run" ? "CI" : $"{(l == s.Issue ? "issue" : "PR")} {l.Label}", l.Url)));
            if (links.Count > 0)
            {
                sb.Append('\n').Append(string.Join(" · ", links));
            }

            sb.Append('\n');
        }

        return Fit(sb.ToString().TrimEnd('\n'));
    }

    /// <summary>An alert: a separate, notifying message (approval requests have their own, <see cref="Approval"/>).</summary>
    /// <param name="alert">What happened.</param>
    /// <param name="s">The task as it is now (links, title).</param>
    /// <returns>HTML.</returns>
    public static string Alert(AlertRequest alert, TaskSnapshot s)
    {
        ArgumentNullException.ThrowIfNull(alert);
        ArgumentNullException.ThrowIfNull(s);
        var (icon, what) = alert.Kind switch
        {
            NotificationKinds.AgentFailed => ("🔴", "Agent failed"),
            NotificationKinds.CiFailed => ("🔴", "Deploy / CI failed after merge"),
            NotificationKinds.BudgetExceeded => ("💸", "Budget exceeded"),
            NotificationKinds.AccessLost => ("⚠️", "The bot lost access"),
            _ => ("🔴", "Task failed"),
        };
        var sb = new StringBuilder();
        sb.Append(icon).Append(" <b>").Append(what).Append("</b> · ").Append(Bold(Link(s.Key, s.TrackerUrl))).Append(' ').Append(Escape(Clip(s.Title, 200))).Append('\n');
        if (alert.Stage is { } stage)
        {
            sb.Append("Stage ").Append(Code(stage));
            if (alert.Agent is { } agent)
            {
                sb.Append(" · agent ").Append(Escape(agent));
            }

            sb.Append('\n');
        }

        sb.Append(Escape(alert.Reason)).Append('\n');
        var links = Links(s).Select(l => Link(l.Label, l.Url)).ToList();
        if (links.Count > 0)
        {
            sb.Append(string.Join(" · ", links)).Append('\n');
        }

        if (alert.Kind is not NotificationKinds.AccessLost)
        {
            sb.Append("<i>Retry from the task page or POST /api/tasks/").Append(Escape(s.TaskId)).Append("/retry</i>");
        }

        return Fit(sb.ToString().TrimEnd('\n'));
    }

    /// <summary>
    /// The approval request: the artefacts under review (on the forge's branch view), the tracker item, and what the
    /// buttons do; after the decision the same message says who decided how (and loses its buttons).
    /// </summary>
    /// <param name="alert">The request (stage, artefacts, tracker states).</param>
    /// <param name="s">The task.</param>
    /// <param name="view">How it stands.</param>
    /// <returns>HTML.</returns>
    public static string Approval(AlertRequest alert, TaskSnapshot s, ApprovalView view)
    {
        ArgumentNullException.ThrowIfNull(alert);
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(view);
        var sb = new StringBuilder();
        var decided = view.Status is "approved" or "rejected" or "closed";
        sb.Append(view.Status switch
        {
            "approved" => "✅ <b>Approved</b>",
            "rejected" => "❌ <b>Rejected</b>",
            "closed" => "⏹ <b>Approval no longer needed</b>",
            _ => "🙋 <b>Approval needed</b>",
        });
        sb.Append(" · ").Append(Bold(Link(s.Key, s.TrackerUrl))).Append(' ').Append(Escape(Clip(s.Title, 200))).Append('\n');
        sb.Append("Stage ").Append(Code(alert.Stage ?? "?")).Append(" passed its gate.");
        var docs = (alert.Artifacts ?? []).Where(a => Usable(a.Url)).Take(8).Select(a => Link(FileName(a.Path), a.Url)).ToList();
        if (docs.Count > 0)
        {
            sb.Append(" Review: ").Append(string.Join(", ", docs));
        }

        sb.Append('\n');
        if (Usable(s.TrackerUrl))
        {
            sb.Append(Link($"Open in {s.TrackerName}", s.TrackerUrl)).Append('\n');
        }

        if (!decided)
        {
            sb.Append("Approve or reject here, or move the item to ").Append(Code(alert.ApprovedState ?? "Approved"))
                .Append(" / ").Append(Code(alert.RejectedState ?? "Rejected")).Append(" in ").Append(Escape(s.TrackerName)).Append('.');
            if (view.Status == "awaiting_reason" && view.By is { } writer)
            {
                sb.Append("\n✍️ ").Append(Escape(writer)).Append(" is writing the reason for rejecting.");
            }
        }
        else if (view.Status != "closed")
        {
            sb.Append(view.Via == "telegram" && view.By is { } by ? $"By {Escape(by)} in Telegram" : $"In {Escape(s.TrackerName)}");
            if (view.Status == "rejected" && view.Reason is { } reason)
            {
                sb.Append(": ").Append(Escape(Clip(reason, 600)));
            }

            sb.Append('.');
        }

        return Fit(sb.ToString());
    }

    /// <summary>The buttons of a pending approval request: <c>ap:&lt;id&gt;:a</c> and <c>ap:&lt;id&gt;:r</c>.</summary>
    /// <param name="approvalId">The request's id.</param>
    /// <returns>One row, Approve then Reject.</returns>
    public static IReadOnlyList<IReadOnlyList<TelegramButton>> ApprovalButtons(long approvalId) =>
    [
        [
            new TelegramButton("✅ Approve", string.Create(CultureInfo.InvariantCulture, $"ap:{approvalId}:a")),
            new TelegramButton("❌ Reject", string.Create(CultureInfo.InvariantCulture, $"ap:{approvalId}:r")),
        ],
    ];

    /// <summary>The prompt the bot sends after Reject: the presser's reply to it is the reason.</summary>
    /// <param name="who">The presser's name.</param>
    /// <param name="key">Task key.</param>
    /// <returns>HTML.</returns>
    public static string RejectPrompt(string who, string key) =>
        $"{Escape(who)}, reply to this message with the reason for rejecting <b>{Escape(key)}</b>. It goes to the next run as the stage's findings.";

    /// <summary><c>/status KEY</c>'s answer: the key, title, status and the stage line of the live message.</summary>
    /// <param name="s">The task.</param>
    /// <returns>HTML.</returns>
    public static string StatusLine(TaskSnapshot s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var current = s.Stages.FirstOrDefault(l => l.State is StageState.Running or StageState.AwaitingApproval or StageState.Failed);
        var sb = new StringBuilder();
        sb.Append(Icon(s)).Append(' ').Append(Bold(Link(s.Key, s.TrackerUrl))).Append(' ').Append(Escape(Clip(s.Title, 200))).Append(" · ").Append(Code(s.Status));
        if (current is not null)
        {
            sb.Append(" · ").Append(StageIcon(current.State)).Append(' ').Append(Escape(current.Stage));
        }

        var links = Links(s).Select(l => Link(l.Label, l.Url)).ToList();
        if (links.Count > 0)
        {
            sb.Append(" · ").Append(string.Join(" · ", links));
        }

        return sb.ToString();
    }

    /// <summary>The help text for an unknown command.</summary>
    /// <returns>HTML.</returns>
    public static string Help() =>
        "I understand:\n" +
        "<code>/task Title</code> — the lines after it are the description; a line <code>repo: owner/name</code> picks the repository\n" +
        "<code>/status KEY</code> — where a task stands, e.g. <code>/status WEB-42</code>";

    /// <summary>Escapes text for Telegram HTML (<c>&amp;</c>, <c>&lt;</c>, <c>&gt;</c>, <c>"</c>).</summary>
    /// <param name="text">Any text.</param>
    /// <returns>Escaped text.</returns>
    public static string Escape(string? text) => text is null ? "" : text
        .Replace("&", "&amp;", StringComparison.Ordinal)
        .Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace(">", "&gt;", StringComparison.Ordinal)
        .Replace("\"", "&quot;", StringComparison.Ordinal);

    /// <summary>
    /// Whether <paramref name="url"/> can be a link in a chat: absolute http(s), and not to a loopback host (a link to
    /// <c>127.0.0.1</c> or <c>localhost</c> means nothing on a phone; Telegram may also refuse the message for it).
    /// </summary>
    /// <param name="url">Candidate.</param>
    /// <returns><c>true</c> when usable.</returns>
    public static bool Usable(string? url)
    {
        if (string.IsNullOrWhiteSpace(url) || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return false;
        }

        if (uri.IsLoopback || uri.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || uri.Host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return !(IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && (IPAddress.IsLoopback(ip) || ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)));
    }

    /// <summary>A short model name: the part after a vendor prefix, without a <c>claude-</c> prefix or a date suffix.</summary>
    /// <param name="model">Model as reported, e.g. <c>anthropic/claude-sonnet-4-5-20250929</c>.</param>
    /// <returns><c>sonnet-4-5</c>, or <c>null</c>.</returns>
    public static string? ShortModel(string? model)
    {
        if (string.IsNullOrWhiteSpace(model))
        {
            return null;
        }

        var name = model.Trim();
        name = name[(name.LastIndexOf('/') + 1)..];
        if (name.StartsWith("claude-", StringComparison.OrdinalIgnoreCase))
        {
            name = name["claude-".Length..];
        }

        name = DateSuffix().Replace(name, "");
        return name.Length == 0 ? null : Clip(name, 32);
    }

    private static IEnumerable<NotificationLink> Links(TaskSnapshot s) =>
        new[] { s.Issue, s.PullRequest, s.CiRun }.OfType<NotificationLink>().Where(l => Usable(l.Url));

    private static string Icon(TaskSnapshot s) => s.Status switch
    {
        "DEPLOYED" => "✅",
        "FAILED" => "❌",
        "CANCELLED" => "⏹",
        "BLOCKED" => "⛔",
        _ when s.AwaitingApprovalSince is not null => "🙋",
        _ => "🔄",
    };

    private static string StageIcon(StageState state) => state switch
    {
        StageState.Running => "🔄",
        StageState.AwaitingApproval => "⏳",
        StageState.Passed => "✅",
        StageState.Rejected => "↩️",
        StageState.Failed => "❌",
        StageState.Skipped => "⏭",
        _ => "▫️",
    };

    private static string? Tokens(long? tokensIn, long? tokensOut) =>
        tokensIn is null && tokensOut is null ? null : $"{Count(tokensIn)}/{Count(tokensOut)} tok";

    private static string Count(long? n) => n switch
    {
        null => "?",
        < 1000 => n.Value.ToString(CultureInfo.InvariantCulture),
        < 1_000_000 => (n.Value / 1000.0).ToString("0.#", CultureInfo.InvariantCulture) + "k",
        _ => (n.Value / 1_000_000.0).ToString("0.##", CultureInfo.InvariantCulture) + "M",
    };

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("HH:mm", CultureInfo.InvariantCulture) + " UTC";

    private static string Link(string text, string? url) =>
        Usable(url) ? $"<a href=\"{Escape(url)}\">{Escape(text)}</a>" : Escape(text);

    private static string Bold(string html) => $"<b>{html}</b>";

    private static string Code(string text) => $"<code>{Escape(text)}</code>";

    private static string FileName(string path) => path[(path.LastIndexOf('/') + 1)..];

    private static string Clip(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max - 1), "…");

    /// <summary>Keeps a message under Telegram's limit; the cut never splits a tag (only plain lines are dropped from the end).</summary>
    private static string Fit(string html)
    {
        if (html.Length <= TelegramApi.MaxTextLength)
        {
            return html;
        }

        var lines = html.Split('\n').ToList();
        while (lines.Count > 2 && string.Join('\n', lines).Length > TelegramApi.MaxTextLength - 2)
        {
            lines.RemoveAt(lines.Count - 2);
        }

        var text = string.Join('\n', lines);
        return text.Length <= TelegramApi.MaxTextLength ? text : Escape(Clip(WebUtility.HtmlDecode(Regex.Replace(text, "<[^>]+>", "")), TelegramApi.MaxTextLength - 400));
    }

    [GeneratedRegex("-20[0-9]{6}$")]
    private static partial Regex DateSuffix();
}

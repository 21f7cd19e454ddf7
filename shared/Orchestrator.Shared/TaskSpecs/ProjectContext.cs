using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.Shared.TaskSpecs;

/// <summary>A link of the project's knowledge (title and http(s) URL).</summary>
/// <param name="Title">One line.</param>
/// <param name="Url">An absolute http(s) URL.</param>
public sealed record ContextLink(string Title, string Url);

/// <summary>A contact of the project's knowledge.</summary>
/// <param name="Name">One line.</param>
/// <param name="Role">One line, possibly empty.</param>
/// <param name="Reach">How to reach them (e-mail, chat handle, phone), one line.</param>
public sealed record ContextContact(string Name, string Role, string Reach);

/// <summary>A Markdown note of the project's knowledge.</summary>
/// <param name="Title">One line.</param>
/// <param name="Markdown">The note as written (LF line ends).</param>
public sealed record ContextNote(string Title, string Markdown);

/// <summary>
/// What every TaskSpec of a project carries about the project (issue #9 §2.3): its links, contacts and notes, kept by the
/// web tool's knowledge page. <see cref="TaskSpecBuilder"/> renders it as the TaskSpec's "Project context" section.
/// </summary>
/// <param name="Links">Links, in the project's order.</param>
/// <param name="Contacts">Contacts, in the project's order.</param>
/// <param name="Notes">Notes, in the project's order.</param>
public sealed partial record ProjectContext(IReadOnlyList<ContextLink> Links, IReadOnlyList<ContextContact> Contacts, IReadOnlyList<ContextNote> Notes)
{
    /// <summary>The most characters the section may take (about 3 000 tokens): what does not fit is left out and said so.</summary>
    public const int MaxChars = 12_000;

    /// <summary>Written last when items were left out for size.</summary>
    public const string Truncated = "_More project context is kept on the project's knowledge page; the rest did not fit here._";

    /// <summary>Nothing to say.</summary>
    public static ProjectContext Empty { get; } = new([], [], []);

    /// <summary>Whether there are no links, contacts or notes.</summary>
    public bool IsEmpty => Links.Count == 0 && Contacts.Count == 0 && Notes.Count == 0;

    /// <summary>
    /// The section, starting with <c>## Project context</c>, deterministic, LF line ends, no trailing newline, at most
    /// <see cref="MaxChars"/> characters: links as <c>- [title](&lt;url&gt;)</c>, contacts as <c>- **name** (role): reach</c>,
    /// then each note under <c>### title</c> with its own headings moved below that level. Items are taken in order until
    /// the next one would not fit; a note too long for the rest is cut at a line end. <c>null</c> when empty.
    /// </summary>
    /// <returns>The Markdown, or <c>null</c>.</returns>
    public string? Render()
    {
        if (IsEmpty)
        {
            return null;
        }

        // Room for the truncation line is kept from the start, so adding it never overflows.
        var budget = MaxChars - Truncated.Length - 2;
        var sb = new StringBuilder("## Project context");
        var truncated = false;

        bool TryAppend(string text)
        {
            if (sb.Length + text.Length > budget)
            {
                truncated = true;
                return false;
            }

            sb.Append(text);
            return true;
        }

        if (Links.Count > 0 && TryAppend("\n\n**Links**\n"))
        {
            foreach (var link in Links)
            {
                if (!TryAppend($"\n- [{Inline(link.Title)}](<{link.Url.Replace("<", "%3C", StringComparison.Ordinal).Replace(">", "%3E", StringComparison.Ordinal)}>)"))
                {
                    break;
                }
            }
        }

        if (!truncated && Contacts.Count > 0 && TryAppend("\n\n**Contacts**\n"))
        {
            foreach (var contact in Contacts)
            {
                var role = string.IsNullOrWhiteSpace(contact.Role) ? "" : $" ({Inline(contact.Role)})";
                if (!TryAppend($"\n- **{Inline(contact.Name)}**{role}: {Inline(contact.Reach)}"))
                {
                    break;
                }
            }
        }

        if (!truncated && Notes.Count > 0)
        {
            foreach (var note in Notes)
            {
                var heading = $"\n\n### {HtmlToMarkdown.ProtectHeadingEnd(Inline(note.Title))}\n\n";
                var body = DemoteHeadings(note.Markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Trim());
                if (TryAppend(heading + body))
                {
                    continue;
                }

                // The first note that does not fit whole: as many of its lines as fit, if that says anything.
                // A few characters stay free for the fence CloseFence may add.
                var room = budget - sb.Length - heading.Length - 16;
                var cut = room > 200 ? body.LastIndexOf('\n', Math.Min(room, body.Length) - 1) : -1;
                if (cut > 0)
                {
                    sb.Append(heading).Append(CloseFence(body[..cut].TrimEnd()));
                }

                break;
            }
        }

        if (truncated)
        {
            sb.Append("\n\n").Append(Truncated);
        }

        return sb.ToString();
    }

    /// <summary>One line of text, Markdown-escaped, whitespace collapsed.</summary>
    private static string Inline(string text) => HtmlToMarkdown.EscapeInline(HtmlToMarkdown.CollapseWhitespace(text).Trim());

    /// <summary>
    /// Moves ATX headings of a note three levels down (<c>#</c> → <c>####</c>, capped at <c>######</c>), so a note's own
    /// outline stays inside its <c>###</c> heading; lines in fenced code blocks are left alone.
    /// </summary>
    private static string DemoteHeadings(string markdown)
    {
        var lines = markdown.Split('\n');
        string? fence = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var trimmed = lines[i].TrimStart(' ');
            var indent = lines[i].Length - trimmed.Length;
            if (indent <= 3 && FencePattern().Match(trimmed) is { Success: true } open)
            {
                var marker = open.Groups[1].Value;
                if (fence is null)
                {
                    fence = marker;
                }
                else if (marker[0] == fence[0] && marker.Length >= fence.Length && trimmed.Trim().Length == marker.Length)
                {
                    fence = null;
                }

                continue;
            }

            if (fence is null && indent <= 3 && HeadingPattern().Match(trimmed) is { Success: true } heading)
            {
                var level = Math.Min(heading.Groups[1].Length + 3, 6);
                lines[i] = new string('#', level) + trimmed[heading.Groups[1].Length..];
            }
        }

        return string.Join('\n', lines);
    }

    /// <summary>Closes a code fence a cut left open, so the rest of the issue is not swallowed into it.</summary>
    private static string CloseFence(string markdown)
    {
        string? fence = null;
        foreach (var line in markdown.Split('\n'))
        {
            var trimmed = line.TrimStart(' ');
            if (line.Length - trimmed.Length <= 3 && FencePattern().Match(trimmed) is { Success: true } m)
            {
                var marker = m.Groups[1].Value;
                fence = fence is null ? marker : marker[0] == fence[0] && marker.Length >= fence.Length && trimmed.Trim().Length == marker.Length ? null : fence;
            }
        }

        return fence is null ? markdown : markdown + "\n" + fence;
    }

    [GeneratedRegex("^(`{3,}|~{3,})")]
    private static partial Regex FencePattern();

    [GeneratedRegex("^(#{1,6})(?:[ \t]|$)")]
    private static partial Regex HeadingPattern();
}

using System.Globalization;
using System.Text;

namespace Orchestrator.Shared.Webhooks;

/// <summary>
/// Makes a value a client sent (a header, a path segment) safe to write into a log line: control and
/// formatting characters removed, at most <see cref="MaxLength"/> characters. The one place this is done;
/// every log statement or scope that carries request-supplied text goes through <see cref="Sanitize"/>.
/// </summary>
/// <remarks>
/// Removed: Unicode categories Cc (C0/C1 controls: ESC starts terminal escape sequences, CR/LF forge log lines),
/// Cf (format characters such as the bidirectional overrides U+202A–U+202E and U+2066–U+2069, which reorder what a
/// reader sees, and zero-width characters), Zl and Zp (U+2028/U+2029 line and paragraph separators). A longer
/// value keeps its first characters and ends in <see cref="Ellipsis"/>; surrogate pairs are never split.
/// </remarks>
public static class LogSanitizer
{
    /// <summary>The longest string <see cref="Sanitize"/> returns, in UTF-16 code units.</summary>
    public const int MaxLength = 128;

    /// <summary>What ends a value that was cut to <see cref="MaxLength"/>.</summary>
    public const string Ellipsis = "…";

    /// <summary>The value with control and formatting characters removed, cut to at most <see cref="MaxLength"/> characters.</summary>
    /// <param name="value">Client-supplied text, or <c>null</c>.</param>
    /// <returns><c>""</c> for <c>null</c> or empty; the value itself when it is already printable ASCII of at most <see cref="MaxLength"/> characters.</returns>
    public static string Sanitize(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        // The common case (a UUID, an event name) allocates nothing.
        if (value.Length <= MaxLength && !value.AsSpan().ContainsAnyExceptInRange(' ', '~'))
        {
            return value;
        }

        var kept = new StringBuilder(MaxLength + 2);
        var cut = false;
        foreach (var rune in value.EnumerateRunes())
        {
            if (IsRemoved(rune))
            {
                continue;
            }

            if (kept.Length + rune.Utf16SequenceLength > MaxLength)
            {
                cut = true;
                break;
            }

            kept.Append(rune.ToString());
        }

        if (!cut)
        {
            return kept.ToString();
        }

        // Make room for the ellipsis without splitting a surrogate pair.
        var length = kept.Length;
        while (length > MaxLength - Ellipsis.Length)
        {
            length -= length >= 2 && char.IsLowSurrogate(kept[length - 1]) && char.IsHighSurrogate(kept[length - 2]) ? 2 : 1;
        }

        return kept.ToString(0, length) + Ellipsis;
    }

    private static bool IsRemoved(Rune rune) => Rune.GetUnicodeCategory(rune) is
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.Shared.GitHub;

/// <summary>An issue named by a closing keyword in a pull-request description.</summary>
/// <param name="Repo">The repository of the issue; the pull request's own repository for <c>#N</c>.</param>
/// <param name="Number">The issue number, at least 1.</param>
public sealed record IssueReference(RepoRef Repo, int Number);

/// <summary>
/// Finds the issues a pull request will close when merged, the way GitHub reads closing keywords in a
/// pull-request description
/// (https://docs.github.com/en/issues/tracking-your-work-with-issues/using-issues/linking-a-pull-request-to-an-issue#linking-a-pull-request-to-an-issue-using-a-keyword).
/// </summary>
/// <remarks>
/// <para>
/// A link is one of the keywords <c>close</c>, <c>closes</c>, <c>closed</c>, <c>fix</c>, <c>fixes</c>,
/// <c>fixed</c>, <c>resolve</c>, <c>resolves</c>, <c>resolved</c> (any case, not glued to a preceding letter,
/// digit or underscore), optionally followed by a colon, then spaces or tabs, then exactly one reference:
/// <c>#N</c> (the pull request's repository), <c>owner/repo#N</c>, or an issue URL
/// <c>http(s)://host/owner/repo/issues/N</c> (any host, so GitHub Enterprise works; a trailing
/// <c>#issuecomment-…</c> fragment still names the issue, as on GitHub). Each reference needs its own
/// keyword: in <c>Fixes #1, #2</c> only #1 is linked, as the docs' "use full syntax for each issue" says.
/// </para>
/// <para>
/// Not links: a reference without a keyword, a number followed by a letter, digit or underscore
/// (<c>#12abc</c>), issue 0, numbers with a leading zero or beyond <see cref="int.MaxValue"/>, and anything
/// inside fenced code blocks, inline code spans or HTML comments (PR templates often explain the syntax in
/// an HTML comment; GitHub does not render it, so it cannot be meant as a link).
/// </para>
/// <para>
/// Known simplifications: an indented (four-space) code block is not recognised as code, and a code span is
/// assumed not to cross a blank line. Pull-request URLs (<c>/pull/N</c>) are not treated as issues.
/// </para>
/// </remarks>
public static partial class ClosingKeywords
{
    // Replaces code and comments, so that "fixes `x` #3" does not become "fixes   #3".
    private const char Removed = '\u0001';

    /// <summary>
    /// Parses the closing-keyword references in a pull-request description.
    /// </summary>
    /// <param name="body">The pull request's Markdown body; <see langword="null"/> or empty gives an empty list.</param>
    /// <param name="pullRequestRepo">The repository the pull request belongs to; <c>#N</c> references resolve to it.</param>
    /// <returns>
    /// The referenced issues in order of first appearance, without duplicates. Owner and repository names
    /// compare case-insensitively (as on GitHub); a reference to the pull request's own repository in any
    /// spelling is returned with <paramref name="pullRequestRepo"/>, other repositories keep the spelling of
    /// their first occurrence.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="pullRequestRepo"/> is null.</exception>
    public static IReadOnlyList<IssueReference> Parse(string? body, RepoRef pullRequestRepo)
    {
        ArgumentNullException.ThrowIfNull(pullRequestRepo);
        if (string.IsNullOrEmpty(body))
        {
            return [];
        }

        var text = RemoveCodeAndComments(body);
        var result = new List<IssueReference>();
        var seen = new HashSet<(string Owner, string Name, int Number)>(ReferenceKeyComparer.Instance);

        foreach (Match match in ReferencePattern().Matches(text))
        {
            var groups = match.Groups;
            var digits = groups["n"].Success ? groups["n"].Value : groups["un"].Value;
            if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                continue; // beyond int.MaxValue: cannot be an issue number
            }

            RepoRef repo;
            if (groups["un"].Success)
            {
                repo = new RepoRef(groups["uo"].Value, groups["ur"].Value);
            }
            else if (groups["o"].Success)
            {
                repo = new RepoRef(groups["o"].Value, groups["r"].Value);
            }
            else
            {
                repo = pullRequestRepo;
            }

            if (SameRepo(repo, pullRequestRepo))
            {
                repo = pullRequestRepo;
            }

            if (seen.Add((repo.Owner, repo.Name, number)))
            {
                result.Add(new IssueReference(repo, number));
            }
        }

        return result;
    }

    private static bool SameRepo(RepoRef a, RepoRef b) =>
        string.Equals(a.Owner, b.Owner, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.Name, b.Name, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Replaces fenced code blocks, inline code spans and HTML comments with <see cref="Removed"/>, scanning
    /// left to right so whichever construct opens first wins (as in CommonMark, where code spans and raw
    /// HTML have equal precedence).
    /// </summary>
    private static string RemoveCodeAndComments(string body)
    {
        var text = WithoutFencedCode(body.Replace("\r\n", "\n", StringComparison.Ordinal));
        var sb = new StringBuilder(text.Length);
        Dictionary<int, int>? unmatchedUntil = null;
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '\\' && i + 1 < text.Length && text[i + 1] == '`')
            {
                sb.Append(c).Append('`'); // an escaped backtick opens nothing
                i += 2;
            }
            else if (c == '<' && string.CompareOrdinal(text, i, "<!--", 0, 4) == 0)
            {
                var end = text.IndexOf("-->", i + 4, StringComparison.Ordinal);
                i = end < 0 ? text.Length : end + 3;
                sb.Append(Removed);
            }
            else if (c == '`')
            {
                var run = RunLength(text, i, '`');
                var close = -1;
                if (!(unmatchedUntil is not null && unmatchedUntil.TryGetValue(run, out var until) && i < until))
                {
                    close = FindClosingBackticks(text, i + run, run, out var stoppedAt);
                    if (close < 0)
                    {
                        // No run of this length closes before stoppedAt, so later runs of the same length
                        // before it need not search again (keeps hostile bodies linear).
                        (unmatchedUntil ??= [])[run] = stoppedAt;
                    }
                }

                if (close < 0)
                {
                    sb.Append('`', run); // no matching run: the backticks are literal text
                    i += run;
                }
                else
                {
                    sb.Append(Removed);
                    i = close + run;
                }
            }
            else
            {
                sb.Append(c);
                i++;
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// Blanks the lines of fenced code blocks (<c>```</c> or <c>~~~</c>, three or more, closed by a run of the
    /// same character at least as long; an unclosed fence runs to the end). Leading spaces and blockquote
    /// markers before a fence are allowed, so fences inside list items and quotes count too.
    /// </summary>
    private static string WithoutFencedCode(string text)
    {
        var lines = text.Split('\n');
        var sb = new StringBuilder(text.Length);
        var fenceChar = '\0';
        var fenceLength = 0;
        for (var n = 0; n < lines.Length; n++)
        {
            if (n > 0)
            {
                sb.Append('\n');
            }

            var line = lines[n];
            var start = 0;
            while (start < line.Length && (line[start] is ' ' or '\t' or '>'))
            {
                start++;
            }

            var ch = start < line.Length ? line[start] : '\0';
            var run = ch is '`' or '~' ? RunLength(line, start, ch) : 0;
            if (fenceLength == 0)
            {
                // A backtick fence's info string may not contain a backtick (CommonMark 4.5).
                if (run >= 3 && (ch == '~' || line.IndexOf('`', start + run) < 0))
                {
                    fenceChar = ch;
                    fenceLength = run;
                    sb.Append(Removed);
                }
                else
                {
                    sb.Append(line);
                }
            }
            else
            {
                if (ch == fenceChar && run >= fenceLength && line.AsSpan(start + run).IsWhiteSpace())
                {
                    fenceLength = 0;
                }

                sb.Append(Removed);
            }
        }

        return sb.ToString();
    }

    private static int RunLength(string text, int start, char c)
    {
        var end = start;
        while (end < text.Length && text[end] == c)
        {
            end++;
        }

        return end - start;
    }

    /// <summary>
    /// The index of the next run of exactly <paramref name="length"/> backticks before a blank line, or -1
    /// with <paramref name="stoppedAt"/> set to where the search gave up.
    /// </summary>
    private static int FindClosingBackticks(string text, int from, int length, out int stoppedAt)
    {
        stoppedAt = text.Length;
        var i = from;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '`')
            {
                var run = RunLength(text, i, '`');
                if (run == length)
                {
                    return i;
                }

                i += run;
            }
            else if (c == '\n' && IsBlankLineAfter(text, i))
            {
                stoppedAt = i;
                return -1;
            }
            else
            {
                i++;
            }
        }

        return -1;
    }

    private static bool IsBlankLineAfter(string text, int newline)
    {
        var i = newline + 1;
        while (i < text.Length && text[i] is ' ' or '\t')
        {
            i++;
        }

        return i >= text.Length || text[i] == '\n';
    }

    // Keyword: not preceded by a letter, digit or underscore. Then ":" (optional spaces around it) or spaces.
    // Reference: issue URL | [owner/repo]#N. The number must not run on into a word character.
    [GeneratedRegex(
        """
        (?<![\p{L}\p{N}_])
        (?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)
        (?:[\t\x20]*:[\t\x20]*|[\t\x20]+)
        (?:
            https?://[^\s/]+/(?<uo>[A-Za-z0-9-]+)/(?<ur>[A-Za-z0-9._-]+)/issues/(?<un>[1-9][0-9]*)
          | (?:(?<o>[A-Za-z0-9-]+)/(?<r>[A-Za-z0-9._-]+))?\#(?<n>[1-9][0-9]*)
        )
        (?![\p{L}\p{N}_])
        """,
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex ReferencePattern();

    private sealed class ReferenceKeyComparer : IEqualityComparer<(string Owner, string Name, int Number)>
    {
        public static readonly ReferenceKeyComparer Instance = new();

        public bool Equals((string Owner, string Name, int Number) x, (string Owner, string Name, int Number) y) =>
            x.Number == y.Number
            && string.Equals(x.Owner, y.Owner, StringComparison.OrdinalIgnoreCase)
            && string.Equals(x.Name, y.Name, StringComparison.OrdinalIgnoreCase);

        public int GetHashCode((string Owner, string Name, int Number) obj) =>
            HashCode.Combine(
                StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Owner),
                StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Name),
                obj.Number);
    }
}

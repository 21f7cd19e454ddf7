using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;

namespace Orchestrator.Shared.TaskSpecs;

/// <summary>
/// Converts rich-text HTML from a tracker (Plane stores work-item descriptions as TipTap HTML in
/// <c>description_html</c>) into GitHub Flavored Markdown (https://github.github.com/gfm/).
/// </summary>
/// <remarks>
/// <para>
/// The HTML is parsed with AngleSharp's HTML5 parser, so malformed markup is repaired the way a browser would.
/// Supported: <c>p</c>, <c>br</c> (a backslash hard break), <c>h1</c>–<c>h6</c> (ATX headings), <c>strong</c>/<c>b</c>
/// (<c>**</c>), <c>em</c>/<c>i</c> (<c>*</c>), <c>s</c>/<c>del</c>/<c>strike</c> (<c>~~</c>), <c>code</c> (code span),
/// <c>pre</c> (fenced block; language from a <c>language-x</c> or <c>lang-x</c> class on the <c>pre</c> or its
/// <c>code</c>), <c>a</c> (<c>[text](href)</c>, or the bare URL when the text is the URL), <c>ul</c>/<c>ol</c>/<c>li</c>
/// nested with indentation (<c>ol start</c> honoured), task lists (TipTap's
/// <c>&lt;ul data-type="taskList"&gt;&lt;li data-checked="true"&gt;</c> or a leading checkbox <c>input</c>) as
/// <c>- [x]</c>/<c>- [ ]</c>, <c>blockquote</c>, <c>hr</c>, <c>img</c> (<c>![alt](src)</c>), tables (GFM pipe tables; the
/// first row is the header; cells are flattened to one line with <c>&lt;br&gt;</c>; <c>colspan</c> padded with empty
/// cells), Plane's <c>&lt;mention-component&gt;</c> (its text, else its <c>label</c>/<c>data-label</c> attribute,
/// else its <c>entity_identifier</c> as a code span so that nothing turns into a GitHub @-mention) and
/// <c>&lt;image-component src&gt;</c> (as an image). Other elements contribute their text; scripts, styles, form
/// controls, embedded media and comments contribute nothing.
/// </para>
/// <para>
/// Whitespace collapses as in a browser (runs of HTML whitespace and no-break spaces become one space; space at
/// the start and end of a block and around line breaks disappears). Text is escaped where Markdown would
/// otherwise read it as syntax (backslash, backtick, <c>*</c>, <c>[</c>, <c>]</c>, <c>~</c>, <c>_</c> at a word
/// boundary, <c>&lt;</c> before a tag-like character, <c>&amp;</c> before an entity-like name, and list, heading,
/// quote and rule markers at the start of a line); code is never escaped. The result has no trailing spaces on
/// any line, blocks are separated by one blank line, and it is trimmed. An empty editor (<c>&lt;p&gt;&lt;/p&gt;</c>)
/// gives the empty string.
/// </para>
/// </remarks>
public static partial class HtmlToMarkdown
{
    // Stands for a hard line break inside inline content until the block is finished. The HTML parser
    // turns U+0000 in the input into U+FFFD, so it cannot come from the document itself.
    private const char Break = '\0';

    private static readonly FrozenSet<string> BlockElements = FrozenSet.ToFrozenSet(
    [
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "dir",
        "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hgroup", "hr", "html", "legend", "li", "main", "menu", "nav", "ol", "p", "pre", "search",
        "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    ], StringComparer.Ordinal);

    private static readonly FrozenSet<string> DroppedElements = FrozenSet.ToFrozenSet(
    [
        "audio", "base", "canvas", "embed", "head", "iframe", "input", "link", "map", "math", "meta", "noscript",
        "object", "option", "script", "select", "source", "style", "svg", "template", "textarea", "title", "track",
        "video",
    ], StringComparer.Ordinal);

    /// <summary>Converts an HTML fragment or document to Markdown.</summary>
    /// <param name="html">The HTML, e.g. Plane's <c>description_html</c>; <see langword="null"/> or blank gives <c>""</c>.</param>
    /// <returns>Trimmed GitHub Flavored Markdown with LF line endings; <c>""</c> when the HTML has no visible content.</returns>
    public static string Convert(string? html)
    {
        if (string.IsNullOrWhiteSpace(html))
        {
            return string.Empty;
        }

        return Render(ParseBody(html).ChildNodes, headingOffset: 0);
    }

    /// <summary>Parses HTML like a browser and returns its <c>body</c> (always present after parsing).</summary>
    internal static IElement ParseBody(string html)
    {
        var document = new HtmlParser().ParseDocument(html);
        return document.Body ?? throw new InvalidOperationException("The HTML parser produced no body element.");
    }

    /// <summary>
    /// Renders a sequence of sibling nodes; heading levels are shifted by <paramref name="headingOffset"/> and
    /// clamped to 1–6 (used to nest a description's headings under a document's own).
    /// </summary>
    internal static string Render(IEnumerable<INode> nodes, int headingOffset)
    {
        var blocks = new Renderer(headingOffset).Blocks(nodes);
        return Finish(JoinBlocks(blocks));
    }

    /// <summary>Collapses HTML whitespace (and no-break spaces) to single spaces and trims.</summary>
    internal static string CollapseWhitespace(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (IsCollapsible(c))
            {
                if (sb.Length > 0 && sb[^1] != ' ')
                {
                    sb.Append(' ');
                }
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString().TrimEnd(' ');
    }

    /// <summary>Escapes plain text for use inline (not at the start of a line) in Markdown.</summary>
    internal static string EscapeInline(string text)
    {
        var buffer = new InlineBuffer(startsAtLineStart: false);
        buffer.AppendText(text);
        return FinishInline(buffer.ToString(), BreakStyle.Space);
    }

    /// <summary>
    /// Escapes a trailing run of <c>#</c> that follows a space (or is the whole text), which an ATX heading
    /// would otherwise drop as its optional closing sequence.
    /// </summary>
    internal static string ProtectHeadingEnd(string text)
    {
        var hashes = text.Length;
        while (hashes > 0 && text[hashes - 1] == '#')
        {
            hashes--;
        }

        return hashes < text.Length && (hashes == 0 || text[hashes - 1] == ' ')
            ? text[..hashes] + "\\" + text[hashes..]
            : text;
    }

    /// <summary>
    /// A URL written as itself: bare when GFM's autolink extension would pick it up unchanged, as a
    /// <c>&lt;…&gt;</c> autolink when it is absolute but has characters Markdown would read, else as a link.
    /// </summary>
    internal static string UrlAsMarkdown(string url) => BareUrl(url);

    private static bool IsCollapsible(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\u00a0';

    private static string JoinBlocks(List<Block> blocks) => string.Join("\n\n", blocks.Select(b => b.Text));

    private static string Finish(string markdown)
    {
        var lines = markdown.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            lines[i] = lines[i].TrimEnd();
        }

        return string.Join('\n', lines).Trim();
    }

    /// <summary>Turns the raw inline buffer (with <see cref="Break"/> markers) into final text.</summary>
    private static string FinishInline(string raw, BreakStyle style)
    {
        var sb = new StringBuilder(raw.Length);
        foreach (var c in raw)
        {
            if (c == ' ')
            {
                if (sb.Length > 0 && sb[^1] != ' ' && sb[^1] != Break)
                {
                    sb.Append(' ');
                }
            }
            else if (c == Break)
            {
                while (sb.Length > 0 && sb[^1] == ' ')
                {
                    sb.Length--;
                }

                if (sb.Length > 0)
                {
                    sb.Append(Break);
                }
            }
            else
            {
                sb.Append(c);
            }
        }

        while (sb.Length > 0 && (sb[^1] == ' ' || sb[^1] == Break))
        {
            sb.Length--;
        }

        var breakText = style switch
        {
            BreakStyle.HardBreak => "\\\n",
            BreakStyle.TableCell => "<br>",
            _ => " ",
        };
        return sb.Replace(Break.ToString(), breakText).ToString();
    }

    /// <summary>Splits leading and trailing spaces/breaks off, so delimiters hug the content.</summary>
    private static (string Lead, string Core, string Trail) SplitEdges(string raw)
    {
        var start = 0;
        while (start < raw.Length && (raw[start] == ' ' || raw[start] == Break))
        {
            start++;
        }

        var end = raw.Length;
        while (end > start && (raw[end - 1] == ' ' || raw[end - 1] == Break))
        {
            end--;
        }

        return (raw[..start], raw[start..end], raw[end..]);
    }

    private static string CodeSpan(string content)
    {
        var longest = LongestRun(content, '`');
        var fence = new string('`', longest + 1);
        var pad = content.StartsWith('`') || content.EndsWith('`') ? " " : string.Empty;
        return fence + pad + content + pad + fence;
    }

    private static int LongestRun(string text, char c)
    {
        int longest = 0, current = 0;
        foreach (var ch in text)
        {
            current = ch == c ? current + 1 : 0;
            longest = Math.Max(longest, current);
        }

        return longest;
    }

    /// <summary>Makes a URL safe as a Markdown link destination without changing what it points to.</summary>
    private static string EncodeUrl(string url)
    {
        var sb = new StringBuilder(url.Length);
        foreach (var c in url)
        {
            switch (c)
            {
                case ' ': sb.Append("%20"); break;
                case '(': sb.Append("%28"); break;
                case ')': sb.Append("%29"); break;
                case '<': sb.Append("%3C"); break;
                case '>': sb.Append("%3E"); break;
                case '\\': sb.Append("%5C"); break;
                case '\t' or '\n' or '\r' or '\f': break;
                default: sb.Append(c); break;
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// A URL written as itself: bare when GFM's autolink extension would pick it up unchanged, as a
    /// <c>&lt;…&gt;</c> autolink when it is absolute but has characters Markdown would read, else as a link.
    /// </summary>
    private static string BareUrl(string url)
    {
        var isWeb = url.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
            || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        if (isWeb && url.All(IsBareUrlChar) && (char.IsAsciiLetterOrDigit(url[^1]) || url[^1] == '/'))
        {
            return url;
        }

        if (AbsoluteUrlPattern().IsMatch(url) && !url.Any(c => c is '<' or '>' || char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return "<" + url + ">";
        }

        return "[" + EscapeInline(url) + "](" + EncodeUrl(url) + ")";
    }

    private static bool IsBareUrlChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or ':' or '/' or '?' or '#' or '@' or '!' or '$' or '&' or '\'' or '+' or ',' or ';' or '=' or '%';

    // CommonMark autolink scheme: a letter, then 1–31 letters, digits, '+', '.', '-', then ':'.
    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9+.\-]{1,31}:", RegexOptions.CultureInvariant)]
    private static partial Regex AbsoluteUrlPattern();

    // Something CommonMark would read as an entity or numeric character reference.
    [GeneratedRegex(@"\G&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});", RegexOptions.CultureInvariant)]
    private static partial Regex EntityPattern();

    private enum BreakStyle
    {
        HardBreak,
        Space,
        TableCell,
    }

    private enum BlockKind
    {
        Paragraph,
        List,
        Other,
    }

    private readonly record struct Block(string Text, BlockKind Kind);

    /// <summary>Inline Markdown under construction: escaped text, markup, and <see cref="Break"/> markers.</summary>
    private sealed class InlineBuffer(bool startsAtLineStart)
    {
        private readonly StringBuilder _sb = new();

        public bool IsEmpty => _sb.Length == 0;

        public void AppendMarkup(string markup) => _sb.Append(markup);

        public void AppendBreak() => _sb.Append(Break);

        public void AppendSpace()
        {
            if (_sb.Length == 0 || _sb[^1] != ' ')
            {
                _sb.Append(' ');
            }
        }

        /// <summary>Appends text with whitespace collapsed and Markdown syntax escaped.</summary>
        public void AppendText(string text)
        {
            for (var k = 0; k < text.Length; k++)
            {
                var c = text[k];
                if (IsCollapsible(c))
                {
                    AppendSpace();
                    continue;
                }

                var prev = _sb.Length > 0 ? _sb[^1] : ' ';
                var next = k + 1 < text.Length ? text[k + 1] : ' ';
                if ((prev == ' ' || prev == Break || _sb.Length == 0) && AtLineStart() && EscapeLineStart(text, ref k))
                {
                    continue;
                }

                switch (c)
                {
                    case '\\' or '`' or '*' or '[' or ']' or '~':
                        _sb.Append('\\').Append(c);
                        break;
                    case '_' when !(char.IsLetterOrDigit(prev) && char.IsLetterOrDigit(next)):
                        _sb.Append("\\_");
                        break;
                    case '<' when char.IsAsciiLetter(next) || next is '/' or '!' or '?':
                        _sb.Append("\\<");
                        break;
                    case '&' when EntityPattern().IsMatch(text, k):
                        _sb.Append("\\&");
                        break;
                    default:
                        _sb.Append(c);
                        break;
                }
            }
        }

        public override string ToString() => _sb.ToString();

        private bool AtLineStart()
        {
            var j = _sb.Length - 1;
            while (j >= 0 && _sb[j] == ' ')
            {
                j--;
            }

            return j < 0 ? startsAtLineStart : _sb[j] == Break;
        }

        /// <summary>
        /// At the start of a line, escapes what would open a heading, quote, list item, thematic break or
        /// setext underline. Returns whether it consumed characters (advancing <paramref name="k"/> to the last).
        /// </summary>
        private bool EscapeLineStart(string text, ref int k)
        {
            var c = text[k];
            var next = k + 1 < text.Length ? text[k + 1] : ' ';
            switch (c)
            {
                case '#' when IsAtxOpener(text, k):
                case '>' or '=':
                case '-' or '+' when IsCollapsible(next) || next == '-':
                    _sb.Append('\\').Append(c);
                    return true;
                case >= '0' and <= '9' when OrderedMarkerEnd(text, k) is var end && end >= 0:
                    _sb.Append(text, k, end - k).Append('\\').Append(text[end]);
                    k = end;
                    return true;
                default:
                    return false;
            }
        }

        /// <summary>One to six <c>#</c> followed by whitespace or the end of the text.</summary>
        private static bool IsAtxOpener(string text, int k)
        {
            var end = k;
            while (end < text.Length && text[end] == '#')
            {
                end++;
            }

            return end - k <= 6 && (end == text.Length || IsCollapsible(text[end]));
        }

        /// <summary>
        /// For one to nine digits followed by <c>.</c> or <c>)</c> and then whitespace or the end of the text (an
        /// ordered-list marker), the index of that <c>.</c> or <c>)</c>; otherwise -1.
        /// </summary>
        private static int OrderedMarkerEnd(string text, int k)
        {
            var end = k;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            var followedBySpace = end + 1 >= text.Length || IsCollapsible(text[end + 1]);
            return end - k <= 9 && end < text.Length && text[end] is '.' or ')' && followedBySpace ? end : -1;
        }
    }

    private sealed class Renderer(int headingOffset)
    {
        private int _strongDepth;
        private int _emphasisDepth;
        private int _strikeDepth;
        private int _linkDepth;
        private BreakStyle _breakStyle = BreakStyle.HardBreak;

        public List<Block> Blocks(IEnumerable<INode> nodes)
        {
            var blocks = new List<Block>();
            var inline = new InlineBuffer(startsAtLineStart: true);
            foreach (var node in nodes)
            {
                if (node is IElement element && BlockElements.Contains(element.LocalName))
                {
                    FlushParagraph(ref inline, blocks);
                    RenderBlock(element, blocks);
                }
                else
                {
                    RenderInline(node, inline);
                }
            }

            FlushParagraph(ref inline, blocks);
            return blocks;
        }

        private void FlushParagraph(ref InlineBuffer inline, List<Block> blocks)
        {
            if (inline.IsEmpty)
            {
                return;
            }

            var text = FinishInline(inline.ToString(), _breakStyle);
            if (text.Length > 0)
            {
                blocks.Add(new Block(text, BlockKind.Paragraph));
            }

            inline = new InlineBuffer(startsAtLineStart: true);
        }

        private void RenderBlock(IElement element, List<Block> blocks)
        {
            switch (element.LocalName)
            {
                case "h1" or "h2" or "h3" or "h4" or "h5" or "h6":
                    RenderHeading(element, blocks);
                    break;
                case "ul" or "ol":
                    RenderList(element, blocks);
                    break;
                case "li":
                    RenderStrayListItem(element, blocks);
                    break;
                case "pre":
                    RenderCodeBlock(element, blocks);
                    break;
                case "blockquote":
                    RenderBlockquote(element, blocks);
                    break;
                case "hr":
                    blocks.Add(new Block("---", BlockKind.Other));
                    break;
                case "table":
                    RenderTable(element, blocks);
                    break;
                default:
                    blocks.AddRange(Blocks(element.ChildNodes));
                    break;
            }
        }

        private void RenderHeading(IElement heading, List<Block> blocks)
        {
            var inline = new InlineBuffer(startsAtLineStart: true);
            foreach (var child in heading.ChildNodes)
            {
                RenderInline(child, inline);
            }

            var text = FinishInline(inline.ToString(), BreakStyle.Space);
            if (text.Length == 0)
            {
                return;
            }

            text = ProtectHeadingEnd(text);
            if (_breakStyle == BreakStyle.TableCell)
            {
                blocks.Add(new Block("**" + text + "**", BlockKind.Paragraph));
                return;
            }

            var level = Math.Clamp(heading.LocalName[1] - '0' + headingOffset, 1, 6);
            blocks.Add(new Block(new string('#', level) + " " + text, BlockKind.Other));
        }

        private void RenderList(IElement list, List<Block> blocks)
        {
            var ordered = list.LocalName == "ol";
            var number = 1;
            if (ordered && int.TryParse(list.GetAttribute("start"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var start) && start is >= 0 and <= 999_999_999)
            {
                number = start;
            }

            var taskList = string.Equals(list.GetAttribute("data-type"), "taskList", StringComparison.OrdinalIgnoreCase);
            var items = new List<string>();
            var lastIndent = 2;
            foreach (var child in list.ChildNodes)
            {
                if (child is IElement { LocalName: "ul" or "ol" } nested && items.Count > 0)
                {
                    // <ul><li>a</li><ul>…</ul></ul>: old editors nest a list directly in a list; it belongs to the item before.
                    var inner = new List<Block>();
                    RenderList(nested, inner);
                    if (inner.Count > 0)
                    {
                        items[^1] = items[^1] + "\n" + Indent(inner[0].Text, lastIndent);
                    }

                    continue;
                }

                if (child is not IElement && string.IsNullOrWhiteSpace(child.TextContent))
                {
                    continue;
                }

                var marker = ordered ? number.ToString(CultureInfo.InvariantCulture) + ". " : "- ";
                number++;
                lastIndent = marker.Length;
                items.Add(RenderListItem(child, marker, taskList));
            }

            if (items.Count > 0)
            {
                blocks.Add(new Block(string.Join("\n", items), BlockKind.List));
            }
        }

        private void RenderStrayListItem(IElement item, List<Block> blocks) =>
            blocks.Add(new Block(RenderListItem(item, "- ", taskList: false), BlockKind.List));

        private string RenderListItem(INode item, string marker, bool taskList)
        {
            var indent = marker.Length;
            var check = TaskState(item, taskList);
            if (check is not null)
            {
                marker += check.Value ? "[x] " : "[ ] ";
            }

            var content = item is IElement { LocalName: "li" } li ? Blocks(li.ChildNodes) : Blocks([item]);
            if (content.Count == 0)
            {
                return marker.TrimEnd();
            }

            var sb = new StringBuilder();
            for (var i = 0; i < content.Count; i++)
            {
                if (i > 0)
                {
                    // A nested list can follow its paragraph directly; anything else needs a blank line so it is
                    // not read as a lazy continuation of the block before.
                    sb.Append(content[i].Kind == BlockKind.List ? "\n" : "\n\n");
                }

                sb.Append(content[i].Text);
            }

            return marker + Indent(sb.ToString(), indent)[indent..];
        }

        /// <summary>
        /// <see langword="true"/>/<see langword="false"/> for a checked/unchecked task item, <see langword="null"/>
        /// for an ordinary item. TipTap marks items with <c>data-checked</c>; GitHub-style HTML uses a leading
        /// checkbox.
        /// </summary>
        private static bool? TaskState(INode item, bool taskList)
        {
            if (item is not IElement element)
            {
                return null;
            }

            var dataChecked = element.GetAttribute("data-checked");
            if (dataChecked is not null)
            {
                return string.Equals(dataChecked, "true", StringComparison.OrdinalIgnoreCase);
            }

            var checkbox = LeadingCheckbox(element);
            if (checkbox is not null)
            {
                return checkbox.HasAttribute("checked");
            }

            return taskList || string.Equals(element.GetAttribute("data-type"), "taskItem", StringComparison.OrdinalIgnoreCase)
                ? false
                : null;
        }

        private static IElement? LeadingCheckbox(IElement element)
        {
            foreach (var child in element.ChildNodes)
            {
                switch (child)
                {
                    case IElement { LocalName: "input" } input:
                        return string.Equals(input.GetAttribute("type"), "checkbox", StringComparison.OrdinalIgnoreCase) ? input : null;
                    case IElement { LocalName: "label" or "p" or "span" } wrapper:
                        return LeadingCheckbox(wrapper);
                    case IElement:
                        return null;
                    default:
                        if (!string.IsNullOrWhiteSpace(child.TextContent))
                        {
                            return null;
                        }

                        break;
                }
            }

            return null;
        }

        private void RenderCodeBlock(IElement pre, List<Block> blocks)
        {
            var sb = new StringBuilder();
            AppendPreText(pre, sb);
            var code = sb.ToString().Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').TrimEnd('\n', ' ', '\t');
            if (string.IsNullOrWhiteSpace(code))
            {
                return;
            }

            if (_breakStyle == BreakStyle.TableCell)
            {
                blocks.Add(new Block(CodeSpan(CollapseWhitespace(code)), BlockKind.Paragraph));
                return;
            }

            var language = Language(pre);
            if (language is null && pre.QuerySelector("code") is { } codeElement)
            {
                language = Language(codeElement);
            }

            var fence = new string('`', Math.Max(3, LongestRun(code, '`') + 1));
            blocks.Add(new Block(fence + language + "\n" + code + "\n" + fence, BlockKind.Other));
        }

        private static void AppendPreText(INode node, StringBuilder sb)
        {
            foreach (var child in node.ChildNodes)
            {
                switch (child)
                {
                    case IText text:
                        sb.Append(text.Data);
                        break;
                    case IElement { LocalName: "br" }:
                        sb.Append('\n');
                        break;
                    case IElement element when !DroppedElements.Contains(element.LocalName):
                        AppendPreText(element, sb);
                        break;
                }
            }
        }

        private static string? Language(IElement element)
        {
            foreach (var token in element.ClassList)
            {
                var name = token.StartsWith("language-", StringComparison.OrdinalIgnoreCase) ? token["language-".Length..]
                    : token.StartsWith("lang-", StringComparison.OrdinalIgnoreCase) ? token["lang-".Length..]
                    : null;
                if (!string.IsNullOrEmpty(name) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '+' or '#' or '.'))
                {
                    return name;
                }
            }

            return null;
        }

        private void RenderBlockquote(IElement quote, List<Block> blocks)
        {
            var inner = Blocks(quote.ChildNodes);
            if (inner.Count == 0)
            {
                return;
            }

            if (_breakStyle == BreakStyle.TableCell)
            {
                blocks.AddRange(inner);
                return;
            }

            var lines = JoinBlocks(inner).Split('\n').Select(line => line.Length == 0 ? ">" : "> " + line);
            blocks.Add(new Block(string.Join("\n", lines), BlockKind.Other));
        }

        private void RenderTable(IElement table, List<Block> blocks)
        {
            var rows = new List<List<string>>();
            foreach (var child in table.Children)
            {
                switch (child.LocalName)
                {
                    case "caption":
                        blocks.AddRange(Blocks(child.ChildNodes));
                        break;
                    case "tr":
                        rows.Add(RenderRow(child));
                        break;
                    case "thead" or "tbody" or "tfoot":
                        rows.AddRange(child.Children.Where(r => r.LocalName == "tr").Select(RenderRow));
                        break;
                }
            }

            var columns = rows.Count == 0 ? 0 : rows.Max(r => r.Count);
            if (columns == 0)
            {
                return;
            }

            var sb = new StringBuilder();
            for (var r = 0; r < rows.Count; r++)
            {
                if (r > 0)
                {
                    sb.Append('\n');
                }

                var cells = rows[r].Concat(Enumerable.Repeat(string.Empty, columns - rows[r].Count));
                sb.Append("| ").AppendJoin(" | ", cells).Append(" |");
                if (r == 0)
                {
                    sb.Append('\n').Append('|').Append(string.Concat(Enumerable.Repeat("---|", columns)));
                }
            }

            blocks.Add(new Block(sb.ToString(), BlockKind.Other));
        }

        private List<string> RenderRow(IElement row)
        {
            var cells = new List<string>();
            foreach (var cell in row.Children.Where(c => c.LocalName is "td" or "th"))
            {
                cells.Add(RenderCell(cell));
                if (int.TryParse(cell.GetAttribute("colspan"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var span) && span > 1)
                {
                    cells.AddRange(Enumerable.Repeat(string.Empty, Math.Min(span, 100) - 1));
                }
            }

            return cells;
        }

        private string RenderCell(IElement cell)
        {
            var saved = _breakStyle;
            _breakStyle = BreakStyle.TableCell;
            try
            {
                var text = string.Join("<br>", Blocks(cell.ChildNodes).Select(b => b.Text));

                // GFM: a pipe inside a cell must be escaped, even inside a code span.
                return text.Replace("\n", "<br>", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal);
            }
            finally
            {
                _breakStyle = saved;
            }
        }

        private void RenderInline(INode node, InlineBuffer inline)
        {
            switch (node)
            {
                case IText text:
                    inline.AppendText(text.Data);
                    return;
                case IElement element:
                    RenderInlineElement(element, inline);
                    return;
                default:
                    return; // comments, processing instructions
            }
        }

        private void RenderInlineElement(IElement element, InlineBuffer inline)
        {
            var name = element.LocalName;
            if (DroppedElements.Contains(name))
            {
                return;
            }

            switch (name)
            {
                case "br":
                    inline.AppendBreak();
                    return;
                case "strong" or "b":
                    Wrap(element, inline, "**", ref _strongDepth);
                    return;
                case "em" or "i":
                    Wrap(element, inline, "*", ref _emphasisDepth);
                    return;
                case "s" or "del" or "strike":
                    Wrap(element, inline, "~~", ref _strikeDepth);
                    return;
                case "code" or "kbd" or "samp" or "tt":
                    RenderCodeSpan(element, inline);
                    return;
                case "a":
                    RenderLink(element, inline);
                    return;
                case "img" or "image-component":
                    RenderImage(element, inline);
                    return;
                case "mention-component":
                    RenderMention(element, inline);
                    return;
            }

            if (BlockElements.Contains(name))
            {
                // A block inside inline content (e.g. a div inside a link): keep its words apart.
                inline.AppendSpace();
                RenderChildrenInline(element, inline);
                inline.AppendSpace();
                return;
            }

            RenderChildrenInline(element, inline);
        }

        private void RenderChildrenInline(INode parent, InlineBuffer inline)
        {
            foreach (var child in parent.ChildNodes)
            {
                RenderInline(child, inline);
            }
        }

        private void Wrap(IElement element, InlineBuffer inline, string delimiter, ref int depth)
        {
            if (depth > 0)
            {
                // Already inside the same emphasis: doubling the delimiters would end it instead.
                RenderChildrenInline(element, inline);
                return;
            }

            var inner = new InlineBuffer(startsAtLineStart: false);
            depth++;
            try
            {
                RenderChildrenInline(element, inner);
            }
            finally
            {
                depth--;
            }

            var (lead, core, trail) = SplitEdges(inner.ToString());
            if (core.Length == 0)
            {
                inline.AppendMarkup(lead + trail);
                return;
            }

            inline.AppendMarkup(lead + delimiter + core + delimiter + trail);
        }

        private static void RenderCodeSpan(IElement element, InlineBuffer inline)
        {
            var text = element.TextContent;
            var content = CollapseWhitespace(text);
            if (text.Length > 0 && IsCollapsible(text[0]))
            {
                inline.AppendSpace();
            }

            content = content.TrimStart(' ');
            if (content.Length > 0)
            {
                inline.AppendMarkup(CodeSpan(content));
            }

            if (text.Length > 0 && IsCollapsible(text[^1]))
            {
                inline.AppendSpace();
            }
        }

        private void RenderLink(IElement link, InlineBuffer inline)
        {
            var href = link.GetAttribute("href")?.Trim();
            if (_linkDepth > 0 || string.IsNullOrEmpty(href))
            {
                RenderChildrenInline(link, inline);
                return;
            }

            var inner = new InlineBuffer(startsAtLineStart: false);
            _linkDepth++;
            try
            {
                RenderChildrenInline(link, inner);
            }
            finally
            {
                _linkDepth--;
            }

            var (lead, core, trail) = SplitEdges(inner.ToString());
            var plain = CollapseWhitespace(link.TextContent).Trim();
            var onlyText = !link.Children.Any(c => c.LocalName is "img" or "image-component");
            string markup;
            if (core.Length == 0 || (onlyText && (plain == href || "mailto:" + plain == href)))
            {
                markup = href.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase) && core.Length > 0 && MailAutolinkOk(plain)
                    ? "<" + plain + ">"
                    : BareUrl(href);
            }
            else
            {
                markup = "[" + core + "](" + EncodeUrl(href) + ")";
            }

            inline.AppendMarkup(lead + markup + trail);
        }

        private static bool MailAutolinkOk(string address) =>
            address.Contains('@') && !address.Any(c => c is '<' or '>' or '\\' || char.IsWhiteSpace(c));

        private static void RenderImage(IElement image, InlineBuffer inline)
        {
            var src = image.GetAttribute("src")?.Trim();
            var alt = CollapseWhitespace(image.GetAttribute("alt") ?? string.Empty).Trim();
            if (string.IsNullOrEmpty(src))
            {
                if (alt.Length > 0)
                {
                    inline.AppendText(alt);
                }

                return;
            }

            inline.AppendMarkup("![" + EscapeInline(alt) + "](" + EncodeUrl(src) + ")");
        }

        private void RenderMention(IElement mention, InlineBuffer inline)
        {
            if (!string.IsNullOrWhiteSpace(mention.TextContent))
            {
                RenderChildrenInline(mention, inline);
                return;
            }

            var label = mention.GetAttribute("label") ?? mention.GetAttribute("data-label");
            if (!string.IsNullOrWhiteSpace(label))
            {
                inline.AppendText(label.Trim());
                return;
            }

            // Plane's current editor stores only ids; without a lookup the id is all there is. A code span keeps
            // GitHub from reading it as an @-mention of some unrelated account.
            var id = mention.GetAttribute("entity_identifier") ?? mention.GetAttribute("id") ?? mention.GetAttribute("data-id");
            if (!string.IsNullOrWhiteSpace(id))
            {
                inline.AppendMarkup(CodeSpan("@" + CollapseWhitespace(id).Trim()));
            }
        }

        private static string Indent(string text, int width)
        {
            var pad = new string(' ', width);
            return string.Join("\n", text.Split('\n').Select(line => line.Length == 0 ? line : pad + line));
        }
    }
}

using Markdig;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace Orchestrator.Functions.Web;

/// <summary>
/// Renders user-written Markdown (knowledge notes) to HTML that is safe to put into a page: raw HTML is not rendered but
/// shown as text (Markdig's <c>DisableHtml</c>, https://github.com/xoofx/markdig), and link and image targets are kept only
/// when they are http(s) or relative — anything with another scheme (<c>javascript:</c>, <c>data:</c>, <c>vbscript:</c>, …,
/// also when hidden by whitespace or control characters a browser would drop) becomes <c>#</c>. Links get
/// <c>rel="nofollow noopener noreferrer"</c>. The page's CSP (no inline script) is the second line of defence.
/// </summary>
public static class SafeMarkdown
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder()
        .DisableHtml()
        .UsePipeTables()
        .UseAutoLinks()
        .UseReferralLinks("nofollow", "noopener", "noreferrer")
        .Build();

    /// <summary>The HTML of <paramref name="markdown"/>.</summary>
    /// <param name="markdown">Markdown as the user wrote it.</param>
    /// <returns>HTML without raw HTML from the input and without unsafe link targets.</returns>
    public static string ToHtml(string markdown)
    {
        var document = Markdown.Parse(markdown ?? "", Pipeline);
        foreach (var link in document.Descendants<LinkInline>())
        {
            if (!IsSafeTarget(link.Url))
            {
                link.Url = "#";
            }
        }

        foreach (var link in document.Descendants<AutolinkInline>())
        {
            if (!IsSafeTarget(link.Url))
            {
                link.Url = "#";
            }
        }

        return document.ToHtml(Pipeline);
    }

    /// <summary>
    /// Whether a link target is http(s) or relative. The scheme is read the way browsers read it: ASCII whitespace and
    /// control characters are ignored, so <c>java&#9;script:</c> counts as <c>javascript:</c>.
    /// </summary>
    /// <param name="url">The target, or <c>null</c>.</param>
    /// <returns><c>true</c> for http, https, a relative reference or no target.</returns>
    public static bool IsSafeTarget(string? url)
    {
        if (string.IsNullOrEmpty(url))
        {
            return true;
        }

        var cleaned = new string([.. url.Where(c => !char.IsControl(c) && !char.IsWhiteSpace(c))]);
        var end = cleaned.IndexOfAny([':', '/', '?', '#']);
        if (end < 0 || cleaned[end] != ':')
        {
            return true; // no scheme: relative
        }

        var scheme = cleaned[..end];
        return scheme.Equals("http", StringComparison.OrdinalIgnoreCase) || scheme.Equals("https", StringComparison.OrdinalIgnoreCase);
    }
}

using System.Text;
using AngleSharp.Dom;

namespace Orchestrator.Shared.TaskSpecs;

/// <summary>What a TaskSpec is built from: one tracker task.</summary>
/// <param name="TaskId">The tracker's id for the task (e.g. a Plane work-item id or <c>PROJ-12</c>); required.</param>
/// <param name="Title">The task title; <see langword="null"/> or blank makes the spec invalid (<c>"title"</c> missing).</param>
/// <param name="DescriptionHtml">
/// The description as rich-text HTML (Plane's <c>description_html</c>, TipTap markup); <see langword="null"/>, blank
/// or content-free HTML such as <c>&lt;p&gt;&lt;/p&gt;</c> makes the spec invalid (<c>"description"</c> missing).
/// </param>
/// <param name="SourceLink">A link back to the task in the tracker; the Source row is left out when null or blank.</param>
/// <param name="Context">
/// The project's links, contacts and notes (the web tool's knowledge page), written last as the "Project context"
/// section (<see cref="ProjectContext.Render"/>); <see langword="null"/> or empty leaves the section out.
/// </param>
public sealed record TaskSpecInput(string TaskId, string? Title, string? DescriptionHtml, string? SourceLink, ProjectContext? Context = null);

/// <summary>The outcome of <see cref="TaskSpecBuilder.Build"/>.</summary>
/// <param name="Markdown">The TaskSpec Markdown when valid; <see langword="null"/> when anything is missing.</param>
/// <param name="Missing">
/// What the task lacks, in this order: <see cref="TaskSpecBuilder.MissingTitle"/>,
/// <see cref="TaskSpecBuilder.MissingDescription"/>; empty when valid.
/// </param>
public sealed record TaskSpecResult(string? Markdown, IReadOnlyList<string> Missing)
{
    /// <summary>Whether nothing is missing (and so <see cref="Markdown"/> is set).</summary>
    public bool IsValid => Missing.Count == 0;
}

/// <summary>
/// Builds the TaskSpec: the Markdown body of the GitHub issue a coding agent works from, made from a tracker
/// task's title and rich-text description.
/// </summary>
/// <remarks>
/// <para>The output is deterministic (same input, same bytes), uses LF line endings and has no trailing newline:</para>
/// <code>
/// # TaskSpec: {TaskId} — {Title}
///
/// | Field | Value |
/// |---|---|
/// | Task ID | {TaskId} |
/// | Title | {Title} |
/// | Source | {SourceLink} |          (only when SourceLink is set)
///
/// ## Context
///
/// {the description, minus the sections below; "_See the sections below._" when nothing is left}
///
/// ## Requirements                   (each of these three only when the description has it,
/// ## Constraints                     always in this order; "_None given._" under a marker
/// ## Acceptance Criteria             with no content)
///
/// ## Project context                (only when the project has links, contacts or notes; see ProjectContext.Render)
/// </code>
/// <para>
/// A section starts at a top-level marker of the description (<see cref="HtmlToMarkdown"/> renders the rest):
/// a heading <c>h1</c>–<c>h6</c>, a paragraph that is only bold text, or a paragraph beginning with the name and a
/// colon (<c>&lt;p&gt;Requirements: must …&lt;/p&gt;</c>; the text after the colon opens the section). The name is
/// matched case-insensitively with any trailing colon ignored: Requirements / Requirement; Constraints /
/// Constraint / Limitations / Non-goals; Acceptance Criteria / Definition of Done / DoD. A heading section runs
/// until the next heading of the same or a higher level; a paragraph section until the next heading of any
/// level; both end at the next marker. Everything else stays in Context, in order. A section named twice
/// collects both parts. The description is first unwrapped from a single enclosing <c>div</c>/<c>section</c>/
/// <c>article</c>/<c>main</c>.
/// </para>
/// <para>
/// Headings kept from the description are shifted so that, within Context and within each section, the
/// highest one becomes <c>###</c>, below the TaskSpec's own <c>#</c>/<c>##</c> outline (clamped to <c>######</c>).
/// Title and task id are whitespace-collapsed and Markdown-escaped; in the table a <c>|</c> is escaped as
/// <c>\|</c>.
/// </para>
/// </remarks>
public static class TaskSpecBuilder
{
    /// <summary>Entry in <see cref="TaskSpecResult.Missing"/> when the title is null or blank.</summary>
    public const string MissingTitle = "title";

    /// <summary>Entry in <see cref="TaskSpecResult.Missing"/> when the description has no visible content.</summary>
    public const string MissingDescription = "description";

    /// <summary>Written as the Context when the description consists only of the extracted sections.</summary>
    public const string SeeSectionsBelow = "_See the sections below._";

    /// <summary>Written under a section marker that has no content of its own.</summary>
    public const string NoneGiven = "_None given._";

    private static readonly (Section Section, string Heading)[] SectionOrder =
    [
        (Section.Requirements, "Requirements"),
        (Section.Constraints, "Constraints"),
        (Section.AcceptanceCriteria, "Acceptance Criteria"),
    ];

    private static readonly Dictionary<string, Section> SectionNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Requirements"] = Section.Requirements,
        ["Requirement"] = Section.Requirements,
        ["Constraints"] = Section.Constraints,
        ["Constraint"] = Section.Constraints,
        ["Limitations"] = Section.Constraints,
        ["Non-goals"] = Section.Constraints,
        ["Acceptance Criteria"] = Section.AcceptanceCriteria,
        ["Definition of Done"] = Section.AcceptanceCriteria,
        ["DoD"] = Section.AcceptanceCriteria,
    };

    // Paragraph markers have no heading level; any heading ends their section.
    private const int ParagraphMarkerLevel = 7;

    private enum Section
    {
        Requirements,
        Constraints,
        AcceptanceCriteria,
    }

    /// <summary>Builds the TaskSpec for a task, or reports what the task is missing.</summary>
    /// <param name="input">The task.</param>
    /// <returns>
    /// The Markdown and an empty <see cref="TaskSpecResult.Missing"/>; or <see langword="null"/> Markdown and the
    /// missing parts (<c>"title"</c>, <c>"description"</c>).
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="input"/> is null.</exception>
    /// <exception cref="ArgumentException"><see cref="TaskSpecInput.TaskId"/> is null or blank.</exception>
    public static TaskSpecResult Build(TaskSpecInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentException.ThrowIfNullOrWhiteSpace(input.TaskId, nameof(input));

        var missing = new List<string>();
        if (string.IsNullOrWhiteSpace(input.Title))
        {
            missing.Add(MissingTitle);
        }

        var body = string.IsNullOrWhiteSpace(input.DescriptionHtml) ? null : HtmlToMarkdown.ParseBody(input.DescriptionHtml);
        if (body is null || HtmlToMarkdown.Render(body.ChildNodes, headingOffset: 0).Length == 0)
        {
            missing.Add(MissingDescription);
        }

        if (missing.Count > 0)
        {
            return new TaskSpecResult(null, missing);
        }

        return new TaskSpecResult(Compose(input, body!), []);
    }

    private static string Compose(TaskSpecInput input, IElement body)
    {
        var taskId = HtmlToMarkdown.EscapeInline(HtmlToMarkdown.CollapseWhitespace(input.TaskId).Trim());
        var title = HtmlToMarkdown.EscapeInline(HtmlToMarkdown.CollapseWhitespace(input.Title!).Trim());
        var (context, sections) = Split(TopLevelNodes(body));

        var sb = new StringBuilder();
        sb.Append("# TaskSpec: ").Append(HtmlToMarkdown.ProtectHeadingEnd(taskId + " — " + title)).Append("\n\n");
        sb.Append("| Field | Value |\n|---|---|\n");
        sb.Append("| Task ID | ").Append(Cell(taskId)).Append(" |\n");
        sb.Append("| Title | ").Append(Cell(title)).Append(" |\n");
        if (!string.IsNullOrWhiteSpace(input.SourceLink))
        {
            sb.Append("| Source | ").Append(Cell(HtmlToMarkdown.UrlAsMarkdown(input.SourceLink.Trim()))).Append(" |\n");
        }

        var contextMarkdown = RenderChunk(context);
        sb.Append("\n## Context\n\n").Append(contextMarkdown.Length > 0 ? contextMarkdown : SeeSectionsBelow);

        foreach (var (section, heading) in SectionOrder)
        {
            if (!sections.TryGetValue(section, out var chunks))
            {
                continue;
            }

            var text = string.Join("\n\n", chunks.Select(RenderChunk).Where(t => t.Length > 0));
            sb.Append("\n\n## ").Append(heading).Append("\n\n").Append(text.Length > 0 ? text : NoneGiven);
        }

        if (input.Context?.Render() is { } projectContext)
        {
            sb.Append("\n\n").Append(projectContext);
        }

        return sb.ToString();
    }

    private static string Cell(string markdown) => markdown.Replace("|", "\\|", StringComparison.Ordinal);

    /// <summary>The description's top-level nodes, looking through a single wrapping container.</summary>
    private static IReadOnlyList<INode> TopLevelNodes(IElement body)
    {
        IReadOnlyList<INode> nodes = body.ChildNodes.ToList();
        while (true)
        {
            var significant = nodes.Where(IsSignificant).ToList();
            if (significant is [IElement { LocalName: "div" or "section" or "article" or "main" } only])
            {
                nodes = only.ChildNodes.ToList();
                continue;
            }

            return nodes;
        }
    }

    private static bool IsSignificant(INode node) =>
        node is IElement || (node is IText text && !string.IsNullOrWhiteSpace(text.Data));

    private static (List<INode> Context, Dictionary<Section, List<List<INode>>> Sections) Split(IReadOnlyList<INode> nodes)
    {
        var context = new List<INode>();
        var sections = new Dictionary<Section, List<List<INode>>>();
        List<INode>? current = null;
        var currentLevel = 0;

        foreach (var node in nodes)
        {
            if (TryMarker(node, out var section, out var level, out var remainder))
            {
                current = [];
                currentLevel = level;
                if (!sections.TryGetValue(section, out var chunks))
                {
                    sections[section] = chunks = [];
                }

                chunks.Add(current);
                if (remainder is not null)
                {
                    current.Add(remainder);
                }

                continue;
            }

            if (current is not null && HeadingLevel(node) is { } headingLevel && headingLevel <= currentLevel)
            {
                current = null;
            }

            (current ?? context).Add(node);
        }

        return (context, sections);
    }

    /// <summary>
    /// Recognises a section marker. <paramref name="remainder"/> is the rest of a "Name: text" paragraph (a
    /// detached copy with everything up to the colon removed), or null.
    /// </summary>
    private static bool TryMarker(INode node, out Section section, out int level, out INode? remainder)
    {
        section = default;
        level = 0;
        remainder = null;
        if (node is not IElement element)
        {
            return false;
        }

        var text = HtmlToMarkdown.CollapseWhitespace(element.TextContent).Trim();
        if (HeadingLevel(element) is { } headingLevel)
        {
            level = headingLevel;
            return SectionNames.TryGetValue(WithoutTrailingColon(text), out section);
        }

        if (element.LocalName != "p")
        {
            return false;
        }

        level = ParagraphMarkerLevel;
        if (IsOnlyBold(element) && SectionNames.TryGetValue(WithoutTrailingColon(text), out section))
        {
            return true;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !SectionNames.TryGetValue(text[..colon].TrimEnd(), out section))
        {
            return false;
        }

        var copy = (IElement)element.Clone(deep: true);
        RemoveThroughFirstColon(copy);
        if (!string.IsNullOrWhiteSpace(copy.TextContent) || copy.QuerySelector("img, image-component, mention-component") is not null)
        {
            remainder = copy;
        }

        return true;
    }

    private static string WithoutTrailingColon(string text) => text.EndsWith(':') ? text[..^1].TrimEnd() : text;

    private static int? HeadingLevel(INode node) =>
        node is IElement { LocalName: "h1" or "h2" or "h3" or "h4" or "h5" or "h6" } heading ? heading.LocalName[1] - '0' : null;

    /// <summary>True for <c>&lt;p&gt;&lt;strong&gt;…&lt;/strong&gt;&lt;/p&gt;</c>: one bold element and no other text.</summary>
    private static bool IsOnlyBold(IElement paragraph) =>
        paragraph.ChildNodes.Where(IsSignificant).ToList() is [IElement { LocalName: "strong" or "b" }];

    private static bool RemoveThroughFirstColon(INode node)
    {
        foreach (var child in node.ChildNodes)
        {
            if (child is IText text)
            {
                var colon = text.Data.IndexOf(':', StringComparison.Ordinal);
                if (colon >= 0)
                {
                    text.Data = text.Data[(colon + 1)..];
                    return true;
                }

                text.Data = string.Empty;
            }
            else if (RemoveThroughFirstColon(child))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Renders nodes with their highest heading shifted to <c>###</c>.</summary>
    private static string RenderChunk(List<INode> nodes)
    {
        var highest = nodes
            .SelectMany(n => n is IElement e ? e.QuerySelectorAll("h1, h2, h3, h4, h5, h6").Prepend(e) : [])
            .Select(HeadingLevel)
            .Where(l => l is not null)
            .Min();
        return HtmlToMarkdown.Render(nodes, highest is { } level ? 3 - level : 0);
    }
}

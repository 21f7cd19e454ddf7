using Orchestrator.Shared.Knowledge;
using Orchestrator.Shared.TaskSpecs;

namespace Orchestrator.Tests.Unit.TaskSpecs;

/// <summary>The "Project context" section of a TaskSpec (issue #9 §2.3) and the rules its items are kept by.</summary>
public sealed class ProjectContextTests
{
    [Fact]
    public void The_section_comes_last_with_links_contacts_and_notes_compact_and_note_headings_below_its_own()
    {
        var context = new ProjectContext(
            [new ContextLink("Runbook", "https://wiki.example.com/runbook"), new ContextLink("Design *v2*", "https://figma.example.com/f?a=(1)")],
            [new ContextContact("Ada Lovelace", "Product owner", "ada@example.com"), new ContextContact("Ops", "", "#ops on chat")],
            [new ContextNote("Conventions", "# Style\nUse tabs.\n\n```md\n# not a heading\n```\n\n## Tests\nRun `make test`.")]);

        var markdown = TaskSpecBuilder.Build(new TaskSpecInput("WEB-1", "Add a health endpoint", "<p>Please add GET /healthz</p>", null, context)).Markdown;

        Assert.Equal(
            """
            # TaskSpec: WEB-1 — Add a health endpoint

            | Field | Value |
            |---|---|
            | Task ID | WEB-1 |
            | Title | Add a health endpoint |

            ## Context

            Please add GET /healthz

            ## Project context

            **Links**

            - [Runbook](<https://wiki.example.com/runbook>)
            - [Design \*v2\*](<https://figma.example.com/f?a=(1)>)

            **Contacts**

            - **Ada Lovelace** (Product owner): ada@example.com
            - **Ops**: #ops on chat

            ### Conventions

            #### Style
            Use tabs.

            ```md
            # not a heading
            ```

            ##### Tests
            Run `make test`.
            """,
            markdown);
    }

    [Fact]
    public void An_empty_context_adds_nothing_and_the_builder_stays_as_before()
    {
        var without = TaskSpecBuilder.Build(new TaskSpecInput("T-1", "Title", "<p>ctx</p>", null)).Markdown;
        Assert.Equal(without, TaskSpecBuilder.Build(new TaskSpecInput("T-1", "Title", "<p>ctx</p>", null, ProjectContext.Empty)).Markdown);
        Assert.DoesNotContain("Project context", without);
        Assert.Null(ProjectContext.Empty.Render());
    }

    [Fact]
    public void A_large_context_is_capped_cutting_the_first_note_that_does_not_fit_at_a_line_end_and_closing_its_fence()
    {
        var longNote = string.Join('\n', ["```", .. Enumerable.Range(0, 2000).Select(i => $"line {i} of a long code block"), "```"]);
        var context = new ProjectContext(
            [.. Enumerable.Range(0, 20).Select(i => new ContextLink($"Link {i}", $"https://example.com/{i}"))],
            [],
            [new ContextNote("Short", "Fits."), new ContextNote("Long", longNote), new ContextNote("Never", "Not reached.")]);

        var rendered = context.Render()!;

        Assert.True(rendered.Length <= ProjectContext.MaxChars, $"{rendered.Length} characters");
        Assert.EndsWith(ProjectContext.Truncated, rendered, StringComparison.Ordinal);
        Assert.Contains("### Short\n\nFits.", rendered, StringComparison.Ordinal);
        Assert.Contains("### Long", rendered, StringComparison.Ordinal);
        Assert.DoesNotContain("Never", rendered, StringComparison.Ordinal);
        Assert.Equal(0, rendered.Split('\n').Count(l => l == "```") % 2);
        Assert.Equal(rendered, context.Render()); // deterministic
    }

    [Fact]
    public void Knowledge_rules_refuse_bad_urls_credentials_long_or_multi_line_fields_and_normalise_note_line_ends()
    {
        Assert.Equal(("Runbook", "https://wiki.example.com/r"), KnowledgeRules.Link("  Runbook ", " https://wiki.example.com/r "));
        Assert.Equal("Enter an absolute http:// or https:// URL.", Assert.Throws<KnowledgeValidationException>(() => KnowledgeRules.Link("x", "javascript:alert(1)")).Errors["url"]);
        Assert.Equal("Enter an absolute http:// or https:// URL.", Assert.Throws<KnowledgeValidationException>(() => KnowledgeRules.Link("x", "/relative")).Errors["url"]);
        Assert.Contains("user name and password", Assert.Throws<KnowledgeValidationException>(() => KnowledgeRules.Link("x", "https://bob:hunter2@example.com/")).Errors["url"]);
        var both = Assert.Throws<KnowledgeValidationException>(() => KnowledgeRules.Link("", "ftp://example.com")).Errors;
        Assert.Equal(["title", "url"], both.Keys.Order());
        Assert.Contains("At most 200", Assert.Throws<KnowledgeValidationException>(() => KnowledgeRules.Link(new string('t', 201), "https://example.com")).Errors["title"]);
        Assert.Contains("One line", Assert.Throws<KnowledgeValidationException>(() => KnowledgeRules.Contact("Ada\nLovelace", null, "ada@example.com")).Errors["name"]);
        Assert.Equal(("Ada", "", "ada@example.com"), KnowledgeRules.Contact("Ada", null, "ada@example.com"));
        Assert.Equal("Required.", Assert.Throws<KnowledgeValidationException>(() => KnowledgeRules.Contact("Ada", "PO", " ")).Errors["reach"]);
        Assert.Equal(("T", "a\nb\n\nc"), KnowledgeRules.Note("T", "a\r\nb\r\n\r\nc\r\n"));
        Assert.Contains("20,000", Assert.Throws<KnowledgeValidationException>(() => KnowledgeRules.Note("T", new string('x', KnowledgeRules.MaxNoteBody + 1))).Errors["body"]);
        Assert.Contains("control characters", Assert.Throws<KnowledgeValidationException>(() => KnowledgeRules.Note("T", "bell\a")).Errors["body"]);
    }
}

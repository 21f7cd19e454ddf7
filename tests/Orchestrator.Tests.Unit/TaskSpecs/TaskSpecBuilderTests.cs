using System.Text.Json;
using Orchestrator.Shared.TaskSpecs;

namespace Orchestrator.Tests.Unit.TaskSpecs;

public sealed class TaskSpecBuilderTests
{
    private const string Source = "https://plane.example.com/acme/projects/22222222-2222-4222-8222-222222222222/issues/33333333-3333-4333-8333-333333333333";

    [Fact]
    public void Plane_fixture_task_gives_the_exact_spec()
    {
        // The reconstructed Plane issue.created delivery (Fixtures/plane, see PROVENANCE.md).
        using var delivery = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "plane", "issue.created.signed-body.json")));
        var data = delivery.RootElement.GetProperty("data");
        var input = new TaskSpecInput(
            data.GetProperty("id").GetString()!,
            data.GetProperty("name").GetString(),
            data.GetProperty("description_html").GetString(),
            Source);
        Assert.Equal("<p>Please add GET /healthz</p>", input.DescriptionHtml);

        var result = TaskSpecBuilder.Build(input);

        Assert.True(result.IsValid);
        Assert.Empty(result.Missing);
        Assert.Equal(
            """
            # TaskSpec: 33333333-3333-4333-8333-333333333333 — Add a health endpoint

            | Field | Value |
            |---|---|
            | Task ID | 33333333-3333-4333-8333-333333333333 |
            | Title | Add a health endpoint |
            | Source | https://plane.example.com/acme/projects/22222222-2222-4222-8222-222222222222/issues/33333333-3333-4333-8333-333333333333 |

            ## Context

            Please add GET /healthz
            """,
            result.Markdown);
    }

    [Fact]
    public void Sections_as_h2_headings_are_extracted_in_fixed_order()
    {
        const string html =
            "<h2>Background</h2><p>The load balancer needs a probe.</p>"
            + "<h2>Acceptance Criteria</h2><ul><li><p><code>GET /healthz</code> returns 200</p></li><li><p>Documented</p></li></ul>"
            + "<h2>Requirements</h2><p>Add the endpoint.</p><h3>Details</h3><p>No auth.</p>"
            + "<h2>Notes</h2><p>Back in context.</p>"
            + "<h2>Constraints:</h2><p>No new packages.</p>";

        var result = TaskSpecBuilder.Build(new TaskSpecInput("PROJ-42", "Add a health endpoint", html, null));

        Assert.True(result.IsValid);
        Assert.Equal(
            """
            # TaskSpec: PROJ-42 — Add a health endpoint

            | Field | Value |
            |---|---|
            | Task ID | PROJ-42 |
            | Title | Add a health endpoint |

            ## Context

            ### Background

            The load balancer needs a probe.

            ### Notes

            Back in context.

            ## Requirements

            Add the endpoint.

            ### Details

            No auth.

            ## Constraints

            No new packages.

            ## Acceptance Criteria

            - `GET /healthz` returns 200
            - Documented
            """,
            result.Markdown);
    }

    [Fact]
    public void Sections_as_bold_paragraphs_are_extracted()
    {
        const string html =
            "<p>Please add GET /healthz</p>"
            + "<p><strong>Requirements:</strong></p><ul><li><p>JSON body</p></li></ul>"
            + "<p><strong>Non-goals</strong></p><p>Metrics.</p>"
            + "<p><b>Definition of Done</b></p><ul data-type=\"taskList\"><li data-checked=\"false\"><p>Tests pass</p></li></ul>";

        var result = TaskSpecBuilder.Build(new TaskSpecInput("PROJ-7", "Health", html, Source));

        Assert.Equal(
            $"""
            # TaskSpec: PROJ-7 — Health

            | Field | Value |
            |---|---|
            | Task ID | PROJ-7 |
            | Title | Health |
            | Source | {Source} |

            ## Context

            Please add GET /healthz

            ## Requirements

            - JSON body

            ## Constraints

            Metrics.

            ## Acceptance Criteria

            - [ ] Tests pass
            """,
            result.Markdown);
    }

    [Fact]
    public void A_paragraph_starting_with_the_name_and_a_colon_opens_a_section_with_the_rest()
    {
        const string html =
            "<p>Intro.</p>"
            + "<p><strong>Acceptance criteria:</strong> returns <em>200</em> quickly</p>"
            + "<p>Constraint: no downtime</p>"
            + "<p>Requirements are below.</p>"; // no colon right after the name: stays where it is

        var markdown = TaskSpecBuilder.Build(new TaskSpecInput("T-1", "Title", html, null)).Markdown!;

        Assert.EndsWith(
            """
            ## Context

            Intro.

            ## Constraints

            no downtime

            Requirements are below.

            ## Acceptance Criteria

            returns *200* quickly
            """,
            markdown);
    }

    [Theory]
    [InlineData("<h1>requirements</h1>", "Requirements")]
    [InlineData("<h4>REQUIREMENT:</h4>", "Requirements")]
    [InlineData("<p><b>Limitations</b></p>", "Constraints")]
    [InlineData("<p>Non-goals: x</p>", "Constraints")]
    [InlineData("<h3>Definition  of done</h3>", "Acceptance Criteria")]
    [InlineData("<p><strong>DoD:</strong></p>", "Acceptance Criteria")]
    [InlineData("<h2>Acceptance criteria</h2>", "Acceptance Criteria")]
    public void Section_names_and_synonyms_are_recognised(string marker, string section)
    {
        var markdown = TaskSpecBuilder.Build(new TaskSpecInput("T-1", "Title", "<p>ctx</p>" + marker + "<p>body</p>", null)).Markdown!;

        Assert.Contains($"\n\n## {section}\n\n", markdown, StringComparison.Ordinal);
        Assert.Contains("## Context\n\nctx\n\n## ", markdown, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<p>Requirements</p><p>x</p>")] // plain paragraph without colon or bold
    [InlineData("<p><strong>Requirements</strong> and more</p>")] // bold is not the whole paragraph, no colon
    [InlineData("<h2>Requirements overview</h2>")]
    [InlineData("<ul><li><p>Requirements:</p></li></ul>")] // not top level
    public void Lookalikes_are_not_markers(string html)
    {
        var markdown = TaskSpecBuilder.Build(new TaskSpecInput("T-1", "Title", html, null)).Markdown!;

        Assert.DoesNotContain("\n## Requirements\n", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void A_heading_section_ends_at_a_heading_of_the_same_or_higher_level_only()
    {
        const string html = "<h2>Requirements</h2><p>a</p><h3>Sub</h3><p>b</p><h1>Top</h1><p>c</p>";

        var markdown = TaskSpecBuilder.Build(new TaskSpecInput("T-1", "Title", html, null)).Markdown!;

        Assert.EndsWith("## Context\n\n### Top\n\nc\n\n## Requirements\n\na\n\n### Sub\n\nb", markdown);
    }

    [Fact]
    public void A_bold_paragraph_section_ends_at_any_heading()
    {
        const string html = "<p><strong>Requirements</strong></p><p>a</p><h6>Aside</h6><p>b</p>";

        var markdown = TaskSpecBuilder.Build(new TaskSpecInput("T-1", "Title", html, null)).Markdown!;

        Assert.EndsWith("## Context\n\n### Aside\n\nb\n\n## Requirements\n\na", markdown);
    }

    [Fact]
    public void Only_sections_leaves_a_pointer_in_context_and_empty_sections_say_so()
    {
        const string html = "<h2>Requirements</h2><ul><li>x</li></ul><h2>Constraints</h2>";

        var markdown = TaskSpecBuilder.Build(new TaskSpecInput("T-1", "Title", html, null)).Markdown!;

        Assert.EndsWith("## Context\n\n_See the sections below._\n\n## Requirements\n\n- x\n\n## Constraints\n\n_None given._", markdown);
    }

    [Fact]
    public void A_section_named_twice_collects_both_parts_in_order()
    {
        const string html = "<h2>Requirements</h2><p>first</p><h2>Notes</h2><p>n</p><p><strong>Requirement:</strong></p><p>second</p>";

        var markdown = TaskSpecBuilder.Build(new TaskSpecInput("T-1", "Title", html, null)).Markdown!;

        Assert.EndsWith("## Context\n\n### Notes\n\nn\n\n## Requirements\n\nfirst\n\nsecond", markdown);
    }

    [Fact]
    public void A_single_wrapping_div_is_looked_through()
    {
        const string html = "<div><div><p>ctx</p><h2>Requirements</h2><p>r</p></div></div>";

        var markdown = TaskSpecBuilder.Build(new TaskSpecInput("T-1", "Title", html, null)).Markdown!;

        Assert.EndsWith("## Context\n\nctx\n\n## Requirements\n\nr", markdown);
    }

    [Fact]
    public void Context_headings_are_shifted_below_the_spec_outline()
    {
        const string html = "<h1>Big</h1><p>a</p><h2>Smaller</h2><p>b</p><h6>Tiny</h6>";

        var markdown = TaskSpecBuilder.Build(new TaskSpecInput("T-1", "Title", html, null)).Markdown!;

        Assert.EndsWith("## Context\n\n### Big\n\na\n\n#### Smaller\n\nb\n\n###### Tiny", markdown);
    }

    [Fact]
    public void Missing_title_is_reported()
    {
        var result = TaskSpecBuilder.Build(new TaskSpecInput("T-1", null, "<p>Please add GET /healthz</p>", null));

        Assert.False(result.IsValid);
        Assert.Null(result.Markdown);
        Assert.Equal(["title"], result.Missing);
    }

    [Theory]
    [InlineData("<p></p>")] // Plane's empty editor
    [InlineData(null)]
    [InlineData("")]
    [InlineData("<p> </p><p><br></p><p>&nbsp;</p>")]
    [InlineData("<script>x</script>")]
    public void Empty_description_is_reported(string? html)
    {
        var result = TaskSpecBuilder.Build(new TaskSpecInput("T-1", "Add a health endpoint", html, null));

        Assert.False(result.IsValid);
        Assert.Null(result.Markdown);
        Assert.Equal(["description"], result.Missing);
    }

    [Theory]
    [InlineData(" ")]
    [InlineData("\t\n")]
    [InlineData("")]
    public void Whitespace_title_and_empty_description_are_both_reported(string title)
    {
        var result = TaskSpecBuilder.Build(new TaskSpecInput("T-1", title, "<p></p>", null));

        Assert.False(result.IsValid);
        Assert.Equal(["title", "description"], result.Missing);
    }

    [Fact]
    public void Title_and_id_are_escaped_for_the_heading_and_the_table()
    {
        var result = TaskSpecBuilder.Build(new TaskSpecInput("T|1", "  Fix *all*   the |pipes| \n now #", "<p>x</p>", "https://e.com/a_b|c"));

        Assert.StartsWith(
            """
            # TaskSpec: T|1 — Fix \*all\* the |pipes| now \#

            | Field | Value |
            |---|---|
            | Task ID | T\|1 |
            | Title | Fix \*all\* the \|pipes\| now # |
            | Source | <https://e.com/a_b\|c> |
            """,
            result.Markdown);
    }

    [Fact]
    public void Blank_source_link_omits_the_row()
    {
        var markdown = TaskSpecBuilder.Build(new TaskSpecInput("T-1", "Title", "<p>x</p>", "  ")).Markdown!;

        Assert.DoesNotContain("Source", markdown, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void Blank_task_id_is_refused(string taskId)
    {
        Assert.ThrowsAny<ArgumentException>(() => TaskSpecBuilder.Build(new TaskSpecInput(taskId, "Title", "<p>x</p>", null)));
    }

    [Fact]
    public void Output_is_deterministic()
    {
        var input = new TaskSpecInput("T-1", "Title", "<h2>Requirements</h2><p>r</p><p>c</p><table><tr><td>a</td></tr></table>", Source);

        Assert.Equal(TaskSpecBuilder.Build(input).Markdown, TaskSpecBuilder.Build(input with { }).Markdown);
    }
}

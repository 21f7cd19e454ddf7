using Orchestrator.Functions.Platforms;
using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Tests.Integration.Platforms;

/// <summary>Our comment HTML as Asana rich text, and Asana tasks as snapshots.</summary>
public sealed class TrackerTextTests
{
    [Theory]
    [InlineData("<p>Deployed: PR <a href=\"https://x/1\">#1</a>.</p>", "Deployed: PR <a href=\"https://x/1\">#1</a>.")]
    [InlineData("<p>one</p><p>two <code>abc1234</code></p>", "one\ntwo <code>abc1234</code>")]
    [InlineData("<p>CI <strong>failed</strong> <span>here</span></p>", "CI <strong>failed</strong> here")]
    public void Comment_html_becomes_asana_rich_text_without_paragraphs(string html, string expected) =>
        Assert.Equal(expected, TrackerText.AsanaRichText(html));

    [Fact]
    public void The_asana_marker_is_stable_short_and_differs_per_comment()
    {
        var a = AsanaTracker.Marker("asana-1:deployed:0");
        Assert.Equal(a, AsanaTracker.Marker("asana-1:deployed:0"));
        Assert.NotEqual(a, AsanaTracker.Marker("asana-1:deployed:1"));
        Assert.Matches("^orchestrator ref [0-9a-f]{12}$", a);
    }

    [Fact]
    public void An_asana_task_snapshot_carries_rich_notes_and_the_rules()
    {
        var project = new ProjectDefinition
        {
            Slug = "shop",
            WorkItemPrefix = "SHOP",
            Tracker = new TrackerConfig { Kind = TrackerConfig.Asana, Workspace = "1", ProjectIds = ["2"], Trigger = new TriggerRule { Label = "AutoTask" } },
            Forge = new ForgeConfig { Repos = ["acme/web"] },
        };
        var task = new AsanaTask("77", "Add login", "Please add login", "<body>Please add <strong>login</strong></body>", false, "https://app.asana.com/0/2/77",
            [], [new AsanaTag("t", "AutoTask")], [], null);
        var snapshot = AsanaTracker.Snapshot(project, task, 5);
        Assert.Equal(5, snapshot.SequenceId);
        Assert.Equal("Please add <strong>login</strong>", snapshot.DescriptionHtml);
        Assert.True(snapshot.Triggered);
        Assert.Equal("acme/web", snapshot.Repo);
        Assert.Equal("https://app.asana.com/0/2/77", snapshot.Url);

        var plain = AsanaTracker.Snapshot(project, task with { HtmlNotes = "<body></body>", Notes = "a < b\nc" }, 6);
        Assert.Equal("<p>a &lt; b<br>c</p>", plain.DescriptionHtml);
    }
}

using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Projects;
using Xunit;

namespace Orchestrator.Tests.Unit.Projects;

public class TrackerRulesTests
{
    private static readonly ProjectDefinition AsanaProject = new()
    {
        Slug = "shop",
        WorkItemPrefix = "SHOP",
        Tracker = new TrackerConfig
        {
            Kind = TrackerConfig.Asana,
            Workspace = "1200",
            ProjectIds = ["1201"],
            Trigger = new TriggerRule { Label = "AutoTask", Field = "AutoTask", OnValues = ["Yes"] },
            RepoField = new RepoFieldRule { Field = "Repo", Options = new Dictionary<string, string> { ["Frontend"] = "acme/web" } },
            Status = new StatusRule { Field = "Status", Blocked = ["Blocked", "On hold"], Cancelled = ["Cancelled"] },
        },
        Forge = new ForgeConfig { Repos = ["acme/web", "acme/API"] },
    };

    private static AsanaTask Task(bool completed = false, IReadOnlyList<string>? tags = null, params (string Field, string? Value)[] fields) => new(
        "77", "Title", "", null, completed, null,
        fields.Select((f, i) => new AsanaCustomField($"f{i}", f.Field, "enum", f.Value is null ? null : new AsanaEnumOption($"o{i}", f.Value))).ToArray(),
        (tags ?? []).Select((t, i) => new AsanaTag($"t{i}", t)).ToArray(),
        [],
        null);

    [Theory]
    [InlineData("Yes", null, true)]
    [InlineData("yes", null, true)]
    [InlineData("No", null, false)]
    [InlineData(null, null, false)]
    [InlineData("No", "autotask", true)]
    [InlineData(null, "Other", false)]
    public void Asana_trigger_is_the_enum_field_or_the_tag(string? field, string? tag, bool expected)
    {
        var facts = TrackerRules.Evaluate(AsanaProject, Task(tags: tag is null ? [] : [tag], fields: ("AutoTask", field)));
        Assert.Equal(expected, facts.Triggered);
    }

    [Fact]
    public void Asana_trigger_field_matches_by_gid_too()
    {
        var project = AsanaProject with { Tracker = AsanaProject.Tracker with { Trigger = new TriggerRule { Label = null, Field = "f0" } } };
        Assert.True(TrackerRules.Evaluate(project, Task(fields: ("Automate", "Yes"))).Triggered);
    }

    [Theory]
    [InlineData("Frontend", "acme/web")]    // mapped option
    [InlineData("acme/api", "acme/API")]    // option named owner/repo, canonical spelling from the project
    [InlineData("acme/other", "acme/other")] // not one of the repos: raw value, the pipeline waits in NEEDS_REPO
    [InlineData(null, null)]                 // missing
    public void Asana_repo_comes_from_the_enum_field(string? option, string? expected) =>
        Assert.Equal(expected, TrackerRules.Evaluate(AsanaProject, Task(fields: ("Repo", option))).Repo);

    [Fact]
    public void Without_a_repo_field_the_default_repo_applies()
    {
        var project = AsanaProject with
        {
            Tracker = AsanaProject.Tracker with { RepoField = null },
            Forge = AsanaProject.Forge with { DefaultRepo = "acme/API" },
        };
        Assert.Equal("acme/API", TrackerRules.Evaluate(project, Task()).Repo);
        Assert.Null(TrackerRules.Evaluate(project with { Forge = project.Forge with { DefaultRepo = null } }, Task()).Repo);
    }

    [Theory]
    [InlineData("In progress", TrackerRules.Active)]
    [InlineData(null, TrackerRules.Active)]
    [InlineData("On hold", TrackerRules.Blocked)]
    [InlineData("blocked", TrackerRules.Blocked)]
    [InlineData("Cancelled", TrackerRules.Cancelled)]
    public void Asana_status_field_maps_to_lifecycle(string? status, string expected) =>
        Assert.Equal(expected, TrackerRules.Evaluate(AsanaProject, Task(fields: ("Status", status))).Lifecycle);

    [Fact]
    public void Asana_without_a_status_field_says_nothing_about_lifecycle_and_reports_completion()
    {
        var project = AsanaProject with { Tracker = AsanaProject.Tracker with { Status = new StatusRule() } };
        var facts = TrackerRules.Evaluate(project, Task(completed: true));
        Assert.Null(facts.Lifecycle);
        Assert.True(facts.Completed);
    }

    private static readonly ProjectDefinition PlaneProject = new()
    {
        Slug = "web",
        WorkItemPrefix = "WEB",
        Tracker = new TrackerConfig { ProjectIds = ["p1"] },
        Forge = new ForgeConfig { Repos = ["acme/web"] },
    };

    [Theory]
    [InlineData("Todo", "unstarted", TrackerRules.Active, false)]
    [InlineData("Blocked", "started", TrackerRules.Blocked, false)]
    [InlineData("Won't do", "cancelled", TrackerRules.Cancelled, false)]
    [InlineData("Done", "completed", TrackerRules.Active, true)]
    public void Plane_states_map_by_name_or_group(string name, string group, string lifecycle, bool completed)
    {
        var facts = TrackerRules.Evaluate(PlaneProject, ["AutoTask"], name, group);
        Assert.Equal(lifecycle, facts.Lifecycle);
        Assert.Equal(completed, facts.Completed);
        Assert.True(facts.Triggered);
        Assert.Equal("acme/web", facts.Repo);
    }

    [Fact]
    public void Plane_trigger_is_unknown_when_the_delivery_had_label_ids_only()
    {
        Assert.Null(TrackerRules.Evaluate(PlaneProject, null, null, null).Triggered);
        Assert.False(TrackerRules.Evaluate(PlaneProject, ["bug"], null, null).Triggered);
        Assert.Null(TrackerRules.Evaluate(PlaneProject, ["bug"], null, null).Lifecycle);
    }
}

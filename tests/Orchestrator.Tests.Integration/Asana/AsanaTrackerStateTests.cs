using Orchestrator.Functions.Platforms;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Tests.Integration.Asana;

/// <summary>
/// The approval gate's decision written back to Asana (issue #12 §4: "the other side is updated to match"):
/// <see cref="AsanaTracker.MoveToStateAsync"/> selects the status field's option by name, through <c>PUT /tasks/{gid}</c>
/// against the simulator, and <see cref="AsanaTracker.GetStateNameAsync"/> reads it back.
/// </summary>
public sealed class AsanaTrackerStateTests
{
    private static ProjectDefinition Project(string projectGid, string? statusField) => new()
    {
        Slug = "shop",
        WorkItemPrefix = "SHOP",
        Tracker = new TrackerConfig { Kind = TrackerConfig.Asana, Workspace = "1", ProjectIds = [projectGid], Status = new StatusRule { Field = statusField } },
        Forge = new ForgeConfig { Repos = ["acme/web"] },
    };

    [Fact]
    public async Task Moving_to_a_state_selects_the_status_fields_option_by_name_and_reads_back()
    {
        await using var kit = await AsanaTestKit.StartAsync();
        var status = kit.Simulator.AddEnumField("Stage", "In review", "Approved", "Rejected");
        kit.Simulator.AddCustomFieldSetting(kit.ProjectGid, status);
        var task = kit.Simulator.CreateTask(kit.ProjectGid, "Add login", "", status);
        var tracker = new AsanaTracker(kit.Client, Project(kit.ProjectGid, "stage"), store: null!); // the store is only used for sequence numbers

        await tracker.MoveToStateAsync(kit.ProjectGid, task.Gid, "approved", CancellationToken.None);
        var approved = status.Options.Single(o => o.Name == "Approved").Gid;
        Assert.Equal(approved, kit.Simulator.GetTask(task.Gid).EnumValues[status.Gid]);
        Assert.Equal("Approved", await tracker.GetStateNameAsync(kit.ProjectGid, task.Gid, CancellationToken.None));

        // Again (a retried activity): same answer, same value.
        await tracker.MoveToStateAsync(kit.ProjectGid, task.Gid, "Approved", CancellationToken.None);
        Assert.Equal(approved, kit.Simulator.GetTask(task.Gid).EnumValues[status.Gid]);

        // By the field's gid too, and to the other state.
        var byGid = new AsanaTracker(kit.Client, Project(kit.ProjectGid, status.Gid), store: null!);
        await byGid.MoveToStateAsync(kit.ProjectGid, task.Gid, "Rejected", CancellationToken.None);
        Assert.Equal("Rejected", await byGid.GetStateNameAsync(kit.ProjectGid, task.Gid, CancellationToken.None));
    }

    [Fact]
    public async Task A_missing_or_trashed_option_a_missing_field_and_a_sections_project_are_refused_and_change_nothing()
    {
        await using var kit = await AsanaTestKit.StartAsync();
        var status = kit.Simulator.AddEnumField("Stage", "In review", "Approved", "Rejected");
        kit.Simulator.AddCustomFieldSetting(kit.ProjectGid, status);
        var task = kit.Simulator.CreateTask(kit.ProjectGid, "Add login", "", status);
        var tracker = new AsanaTracker(kit.Client, Project(kit.ProjectGid, "Stage"), store: null!);

        var missing = await Assert.ThrowsAsync<PermanentActivityException>(() => tracker.MoveToStateAsync(kit.ProjectGid, task.Gid, "Shipped", CancellationToken.None));
        Assert.Contains("no option 'Shipped'", missing.Message, StringComparison.Ordinal);

        kit.Simulator.SetEnumOptionEnabled(status.Gid, "Approved", enabled: false);
        await Assert.ThrowsAsync<PermanentActivityException>(() => tracker.MoveToStateAsync(kit.ProjectGid, task.Gid, "Approved", CancellationToken.None));

        var noField = new AsanaTracker(kit.Client, Project(kit.ProjectGid, "Status"), store: null!);
        var field = await Assert.ThrowsAsync<PermanentActivityException>(() => noField.MoveToStateAsync(kit.ProjectGid, task.Gid, "Approved", CancellationToken.None));
        Assert.Contains("no custom field 'Status'", field.Message, StringComparison.Ordinal);

        var sections = new AsanaTracker(kit.Client, Project(kit.ProjectGid, null), store: null!);
        var bySections = await Assert.ThrowsAsync<PermanentActivityException>(() => sections.MoveToStateAsync(kit.ProjectGid, task.Gid, "Approved", CancellationToken.None));
        Assert.Contains("by hand", bySections.Message, StringComparison.Ordinal);

        Assert.Null(kit.Simulator.GetTask(task.Gid).EnumValues[status.Gid]);
    }

    [Fact]
    public async Task The_simulator_refuses_a_field_not_on_the_task_or_an_unknown_option_as_asana_does()
    {
        await using var kit = await AsanaTestKit.StartAsync();
        var status = kit.Simulator.AddEnumField("Stage", "Approved");
        var other = kit.Simulator.AddEnumField("Other", "X");
        kit.Simulator.AddCustomFieldSetting(kit.ProjectGid, status);
        var task = kit.Simulator.CreateTask(kit.ProjectGid, "Add login", "", status);

        var notOnTask = await Assert.ThrowsAsync<Orchestrator.Shared.Platform.PlatformApiException>(() => kit.Client.SetEnumFieldAsync(task.Gid, other.Gid, other.Options[0].Gid, CancellationToken.None));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, notOnTask.StatusCode);
        var unknown = await Assert.ThrowsAsync<Orchestrator.Shared.Platform.PlatformApiException>(() => kit.Client.SetEnumFieldAsync(task.Gid, status.Gid, other.Options[0].Gid, CancellationToken.None));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, unknown.StatusCode);

        await kit.Client.SetEnumFieldAsync(task.Gid, status.Gid, status.Options[0].Gid, CancellationToken.None);
        await kit.Client.SetEnumFieldAsync(task.Gid, status.Gid, null, CancellationToken.None);
        Assert.Null(kit.Simulator.GetTask(task.Gid).EnumValues[status.Gid]);
    }
}

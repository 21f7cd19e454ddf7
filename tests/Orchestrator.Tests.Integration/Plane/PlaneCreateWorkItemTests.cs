using Orchestrator.Shared.Plane;

namespace Orchestrator.Tests.Integration.Plane;

/// <summary>Creating work items and labels through <see cref="PlaneClient"/> (issue #9's "create task"), against the simulator's wire format.</summary>
public sealed class PlaneCreateWorkItemTests
{
    [Fact]
    public async Task A_work_item_is_created_once_per_external_id_with_its_label_and_a_label_name_is_created_once()
    {
        await using var kit = await PlaneTestKit.StartAsync();
        var projectId = kit.Project.Id;
        Assert.Empty(await kit.Client.ListLabelsAsync(projectId, CancellationToken.None));

        var label = await kit.Client.CreateLabelAsync(projectId, "AutoTask", CancellationToken.None);
        Assert.Equal(label, await kit.Client.CreateLabelAsync(projectId, "AutoTask", CancellationToken.None)); // 409 → the existing label
        Assert.Equal([label], await kit.Client.ListLabelsAsync(projectId, CancellationToken.None));

        var wanted = new PlaneNewWorkItem("Add a health endpoint", "<p>Please add <code>GET /healthz</code></p>", [label.Id], "orchestrator-new-0123456789abcdef");
        var item = await kit.Client.CreateWorkItemAsync(projectId, wanted, CancellationToken.None);
        Assert.Equal((1, "Add a health endpoint", projectId), (item.SequenceId, item.Name, item.ProjectId));
        Assert.Equal([label.Id], item.Labels.Select(l => l.Id));

        // The same external id again (a repeated form, another host): Plane answers 409 and the first item comes back, expanded.
        var again = await kit.Client.CreateWorkItemAsync(projectId, wanted with { Name = "Changed title" }, CancellationToken.None);
        Assert.Equal(item.Id, again.Id);
        Assert.Equal("AutoTask", Assert.Single(again.Labels).Name);
        var other = await kit.Client.CreateWorkItemAsync(projectId, wanted with { ExternalId = "orchestrator-new-fedcba9876543210" }, CancellationToken.None);
        Assert.Equal(2, other.SequenceId);

        var stored = kit.Simulator.WorkItem(item.Id);
        Assert.Equal(("Add a health endpoint", "<p>Please add <code>GET /healthz</code></p>"), (stored.Name, stored.DescriptionHtml));
        Assert.Empty(kit.Simulator.Host.UnexpectedRequests);
    }
}

namespace Orchestrator.Tests.Integration.Asana;

/// <summary>Creating tasks and tags through <see cref="Orchestrator.Shared.Asana.AsanaClient"/> (issue #9's "create task"), against the simulator.</summary>
public sealed class AsanaCreateTaskTests
{
    [Fact]
    public async Task A_task_is_created_in_the_project_with_its_enum_options_and_tag()
    {
        await using var kit = await AsanaTestKit.StartAsync();
        kit.Simulator.AddCustomFieldSetting(kit.ProjectGid, kit.Agent);
        var workspace = kit.Simulator.WorkspaceGid;
        Assert.Empty(await kit.Client.ListWorkspaceTagsAsync(workspace, CancellationToken.None));
        var tag = await kit.Client.CreateTagAsync(workspace, "AutoTask", CancellationToken.None);
        Assert.Equal([tag], await kit.Client.ListWorkspaceTagsAsync(workspace, CancellationToken.None));

        var option = kit.Agent.Option("codex");
        var task = await kit.Client.CreateTaskAsync(
            new(kit.ProjectGid, "Add a health endpoint", "Please add GET /healthz.", [tag.Gid], new Dictionary<string, string> { [kit.Agent.Gid] = option.Gid }),
            CancellationToken.None);
        Assert.Equal(("Add a health endpoint", "Please add GET /healthz."), (task.Name, task.Notes));
        Assert.Equal("AutoTask", Assert.Single(task.Tags).Name);
        Assert.Equal("codex", task.EnumValue("Agent")?.Name);
        Assert.Equal(kit.ProjectGid, Assert.Single(task.Memberships).ProjectGid);
        Assert.Equal("codex", (await kit.Client.GetTaskAsync(task.Gid, CancellationToken.None)).EnumValue("Agent")?.Name);
        Assert.Empty(kit.Simulator.Host.UnexpectedRequests);

        // An option of another field is refused by Asana, and nothing is created.
        var other = kit.Simulator.AddEnumField("Other", "x");
        var refused = await Assert.ThrowsAsync<Orchestrator.Shared.Platform.PlatformApiException>(() => kit.Client.CreateTaskAsync(
            new(kit.ProjectGid, "Nope", "", [], new Dictionary<string, string> { [other.Gid] = other.Option("x").Gid }), CancellationToken.None));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
    }
}

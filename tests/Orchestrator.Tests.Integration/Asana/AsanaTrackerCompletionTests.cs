using Orchestrator.Functions.Platforms;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Tests.Integration.Asana;

/// <summary>
/// Who completed an Asana task decides whether a later CI failure reopens it: <see cref="AsanaTracker.CompleteAsync"/>
/// against the simulator, including the retry after a crash that lost our own completion's answer.
/// </summary>
public sealed class AsanaTrackerCompletionTests
{
    private static readonly ProjectDefinition Project = new()
    {
        Slug = "shop",
        WorkItemPrefix = "SHOP",
        Tracker = new TrackerConfig { Kind = TrackerConfig.Asana, Workspace = "1", ProjectIds = ["2"] },
        Forge = new ForgeConfig { Repos = ["acme/web"] },
    };

    [Fact]
    public async Task We_complete_it_and_a_retry_still_knows_it_was_us()
    {
        await using var kit = await AsanaTestKit.StartAsync();
        var task = kit.Simulator.CreateTask(kit.ProjectGid, "Add login");
        var tracker = new AsanaTracker(kit.Client, Project, store: null!); // the store is only used for sequence numbers
        Assert.Equal(CommentOutcome.Created, await tracker.EnsureCommentAsync("2", task.Gid, "asana-x:issue-link", "<p>Issue created</p>", CancellationToken.None));

        Assert.Equal(("completed", true), await tracker.CompleteAsync("2", task.Gid, CancellationToken.None));
        Assert.True(kit.Simulator.GetTask(task.Gid).Completed);

        // The activity ran again (its first answer was lost): the task is completed, by the author of our comments.
        Assert.Equal(("completed", true), await tracker.CompleteAsync("2", task.Gid, CancellationToken.None));
        Assert.Equal(CommentOutcome.AlreadyThere, await tracker.EnsureCommentAsync("2", task.Gid, "asana-x:issue-link", "<p>Issue created</p>", CancellationToken.None));
    }

    [Fact]
    public async Task A_task_a_person_completed_is_not_ours()
    {
        await using var kit = await AsanaTestKit.StartAsync();
        var task = kit.Simulator.CreateTask(kit.ProjectGid, "Add login");
        var tracker = new AsanaTracker(kit.Client, Project, store: null!);
        await tracker.EnsureCommentAsync("2", task.Gid, "asana-x:issue-link", "<p>Issue created</p>", CancellationToken.None);
        await kit.Simulator.CompleteAsync(task.Gid, deliver: false);

        Assert.Equal(("completed", false), await tracker.CompleteAsync("2", task.Gid, CancellationToken.None));
        Assert.Equal("incomplete", await tracker.ReopenAsync("2", task.Gid, CancellationToken.None));
        Assert.False(kit.Simulator.GetTask(task.Gid).Completed);
    }
}

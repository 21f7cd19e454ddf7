using System.Net;
using Orchestrator.Functions.Platforms;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.Projects;
using Orchestrator.Tests.Integration.Plane;

namespace Orchestrator.Tests.Integration.Platforms;

/// <summary>
/// <see cref="ITracker.EnsureCommentAsync"/> when the item was deleted while a comment was on its way: Plane lists a
/// deleted item's comments as an empty page and refuses the insert with 400; the tracker then reads the item, and a 404
/// there means "gone" (no retry, no warning) while any other refusal still fails the call.
/// </summary>
public sealed class TrackerCommentTests
{
    private static PlaneTracker TrackerFor(PlaneTestKit kit) => new(kit.Client, new ProjectDefinition
    {
        Slug = "acme",
        WorkItemPrefix = "ACME",
        Tracker = new TrackerConfig { Kind = TrackerConfig.Plane, Workspace = PlaneTestKit.Slug, ProjectIds = [kit.Project.Id] },
        Forge = new ForgeConfig { Repos = ["acme/web"] },
    }, TimeProvider.System);

    [Fact]
    public async Task A_comment_on_a_deleted_Plane_item_is_reported_gone_after_one_attempt()
    {
        await using var kit = await PlaneTestKit.StartAsync();
        var (item, _, _) = await kit.Simulator.CreateWorkItemAsync(kit.Project.Id, "Add login", "<p>x</p>", [], deliver: false);
        var tracker = TrackerFor(kit);
        Assert.Equal(CommentOutcome.Created, await tracker.EnsureCommentAsync(kit.Project.Id, item.Id, "plane-1:issue-link", "<p>Issue</p>", CancellationToken.None));
        await kit.Simulator.DeleteWorkItemAsync(item.Id, deliver: false);

        Assert.Equal(CommentOutcome.ItemGone, await tracker.EnsureCommentAsync(kit.Project.Id, item.Id, "plane-1:pr-link", "<p>PR</p>", CancellationToken.None));

        // The first comment, then the refused one: nothing was retried. Then one read of the item (404).
        var posts = kit.Requests.Where(r => r.Method == "POST" && r.PathAndQuery.Contains("/comments/", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, posts.Count);
        Assert.Equal("GET", kit.Requests[^1].Method);
        Assert.StartsWith($"{kit.ProjectPath}work-items/{item.Id}/", kit.Requests[^1].PathAndQuery, StringComparison.Ordinal);
        Assert.Equal(["<p>Issue</p>"], kit.Simulator.Comments(item.Id).Select(c => c.CommentHtml));
        Assert.Equal(
            [$"plane: comments of unknown work item {item.Id} (Plane answers an empty page)", $"plane: POST comment on unknown work item {item.Id} → 400",
                $"plane: GET /api/v1/workspaces/acme/projects/{kit.Project.Id}/work-items/{item.Id}/ → 404 (no such work item or comment)"],
            kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task A_refusal_on_an_item_that_still_exists_is_still_an_error()
    {
        await using var kit = await PlaneTestKit.StartAsync();
        var (item, _, _) = await kit.Simulator.CreateWorkItemAsync(kit.Project.Id, "Add login", "<p>x</p>", [], deliver: false);
        kit.Simulator.InjectFault(HttpStatusCode.BadRequest);

        var error = await Assert.ThrowsAsync<PlatformApiException>(() =>
            TrackerFor(kit).EnsureCommentAsync(kit.Project.Id, item.Id, "plane-1:pr-link", "<p>PR</p>", CancellationToken.None));

        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Equal("GET", kit.Requests[^1].Method); // the item was read, it is there, so the refusal stands
        Assert.StartsWith($"{kit.ProjectPath}work-items/{item.Id}/", kit.Requests[^1].PathAndQuery, StringComparison.Ordinal);
        Assert.Empty(kit.Simulator.Comments(item.Id));
    }
}

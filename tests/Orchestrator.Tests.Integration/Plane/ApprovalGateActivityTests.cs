using Orchestrator.Functions.Activities;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Functions.Platforms;
using Orchestrator.Shared.Projects;
using Orchestrator.Shared.Plane;
using Orchestrator.Simulators.Plane;

namespace Orchestrator.Tests.Integration.Plane;

/// <summary>The human approval gate read from the Plane work item's state, against the simulator.</summary>
public sealed class ApprovalGateActivityTests
{
    [Fact]
    public async Task Pending_then_rejected_with_the_latest_human_comment_then_approved()
    {
        await using var plane = await PlaneSimulator.StartAsync("key", "acme");
        var projectId = Guid.NewGuid().ToString();
        plane.AddProject(projectId, "WEB");
        plane.AddState(projectId, "Approved", "started");
        plane.AddState(projectId, "Rejected", "cancelled");
        var (item, _, _) = await plane.CreateWorkItemAsync(projectId, "Task", "<p>x</p>", ["AutoTask"], deliver: false);
        using var http = new HttpClient();
        var client = new PlaneClient(http, new PlaneClientSettings(plane.BaseUrl, "key", "acme"));
        await client.CreateCommentAsync(projectId, item.Id, "<p>Stage analysis: done</p>", "roles-x:stage-analysis", CancellationToken.None);
        var tracker = new PlaneTracker(client, new ProjectDefinition { Slug = "web", WorkItemPrefix = "WEB" }, TimeProvider.System);
        var input = new CheckApprovalInput(projectId, item.Id, "Approved", "Rejected");

        Assert.Equal(new ApprovalChanged(ApprovalDecision.Pending, null), await CheckApprovalActivity.DecideAsync(tracker, input, CancellationToken.None));

        await plane.AddCommentAsync(item.Id, "<p>Scope is <b>too broad</b>; split it.</p>", deliver: false);
        await plane.MoveToStateAsync(item.Id, "Rejected", deliver: false);
        var rejected = Assert.IsType<ApprovalChanged>(await CheckApprovalActivity.DecideAsync(tracker, input, CancellationToken.None));
        Assert.Equal(ApprovalDecision.Rejected, rejected.Decision);
        Assert.Equal("Scope is too broad; split it.", rejected.Reason);

        await plane.MoveToStateAsync(item.Id, "Approved", deliver: false);
        Assert.Equal(new ApprovalChanged(ApprovalDecision.Approved, null), await CheckApprovalActivity.DecideAsync(tracker, input, CancellationToken.None));
        Assert.Empty(plane.Host.UnexpectedRequests);
    }
}

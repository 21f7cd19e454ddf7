using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Projects;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.EndToEnd;

/// <summary>
/// <c>POST /webhooks/{kind}/{slug}</c>: a database project's deliveries are verified with that project's own secret,
/// and only on the sides the project has.
/// </summary>
public sealed class PerProjectWebhookTests
{
    private const string ProjectSecret = "per-project-plane-secret-0123456789";

    [Fact]
    public async Task A_plane_delivery_to_the_project_endpoint_is_verified_with_the_project_secret_and_runs_the_pipeline()
    {
        await using var h = await Harness.StartAsync();
        var planeProjectId = Guid.NewGuid().ToString();
        h.Plane.AddProject(planeProjectId, "OPS");
        var store = h.App.Services.GetRequiredService<ProjectStore>();
        await store.CreateAsync(
            new ProjectDefinition
            {
                Slug = "ops",
                WorkItemPrefix = "OPS",
                Tracker = new TrackerConfig { ProjectIds = [planeProjectId] },
                Forge = new ForgeConfig { Repos = [Harness.Repo] },
                RequireCi = false,
            },
            new Dictionary<string, string?> { [ProjectSecretNames.TrackerWebhookSecret] = ProjectSecret });

        // Signed with the host-wide secret: the project endpoint refuses it and stores nothing.
        h.Plane.ConfigureWebhook(new Uri(h.HostUrl, "webhooks/plane/ops"), Harness.PlaneSecret);
        var (refused, _, refusedStatus) = await h.Plane.CreateWorkItemAsync(planeProjectId, "Refused", "<p>x</p>", ["AutoTask"]);
        Assert.Equal(HttpStatusCode.Unauthorized, refusedStatus);
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox"));

        h.Plane.ConfigureWebhook(new Uri(h.HostUrl, "webhooks/plane/ops"), ProjectSecret);
        var (item, _, status) = await h.Plane.CreateWorkItemAsync(planeProjectId, "Add a status page", "<p>Show uptime</p>", ["AutoTask"]);
        Assert.Equal(HttpStatusCode.Accepted, status);
        var id = TaskPipelineOrchestration.InstanceIdFor(TrackerConfig.Plane, item.Id);
        var detail = await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        Assert.Equal("ops", detail.Sync?.Project);
        Assert.StartsWith("OPS-", detail.TaskKey, StringComparison.Ordinal);
        Assert.Equal("ops", await h.Db.ScalarAsync<string>("SELECT project_slug FROM inbox WHERE outcome LIKE 'started%'"));
        Assert.Null(await h.GetTaskAsync(TaskPipelineOrchestration.InstanceIdFor(TrackerConfig.Plane, refused.Id)));

        // Sides the project does not have, and unknown projects, answer like a bad signature (issue #8 item 9b).
        using var gitea = await h.Api.PostAsync("webhooks/gitea/ops", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.Unauthorized, gitea.StatusCode);
        using var unknown = await h.Api.PostAsync("webhooks/plane/nope", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal(
            Support.ProblemBodies.WithoutTraceId(await gitea.Content.ReadAsStringAsync()),
            Support.ProblemBodies.WithoutTraceId(await unknown.Content.ReadAsStringAsync()));
        h.AssertNoUnexpectedRequests();
    }
}

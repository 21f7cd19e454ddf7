using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orchestrator.Functions.DurableTask;
using Orchestrator.Functions.Platforms;
using Orchestrator.Functions.Routing;
using Orchestrator.Orchestrations.DurableTask;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Projects;
using Orchestrator.Tests.Integration.EndToEnd;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.Durable;

/// <summary>
/// The task pipeline on the Durable Task worker (the SDK's in-process test host: real worker and client over gRPC,
/// in-memory backend) with the shared activity classes, the delivery router and the real PostgreSQL, against the same
/// loopback simulators as the end-to-end tests. The simulators' webhooks go to a relay that routes them with the
/// shared <see cref="DeliveryRouter"/> over <see cref="DurableTaskOrchestrationClient"/> (what the Functions app's HTTP
/// triggers will do after their signature check); the self-hosted host runs only as the container of the shared
/// services and receives no delivery.
/// </summary>
public sealed class TaskPipelineOnDurableTaskTests
{
    [Fact]
    public async Task A_Plane_AutoTask_reaches_DEPLOYED_on_the_Durable_Task_worker_with_each_side_effect_once()
    {
        await using var h = await Harness.StartAsync();
        var services = h.App.Services;
        var dataSource = services.GetRequiredService<NpgsqlDataSource>();
        var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning));
        await using var dt = await DurableTaskTestHost.StartAsync(registry => registry.AddOrchestrator(
            new TaskPipelineSettings(TimeSpan.FromSeconds(1), TimeSpan.FromHours(2)), TimeSpan.FromHours(1),
            services.GetServices<IActivity>(), dataSource), new DurableTaskTestHostOptions { LoggerFactory = loggers });
        var client = new DurableTaskOrchestrationClient(dt.Client, dataSource);
        var router = new DeliveryRouter(client, services.GetRequiredService<ProjectStore>(), services.GetRequiredService<PlatformRegistry>(),
            loggers.CreateLogger<DeliveryRouter>());
        await using var relay = await Relay.StartAsync(router);
        h.PointWebhooksAt(relay.Url);

        var (id, item) = await h.CreateTaskAsync();
        await WaitForStatusAsync(dt.Client, id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        Assert.Equal($"[WEB-{item.SequenceId}] Add a health endpoint", issue.Title);

        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Add /healthz", $"Implements the endpoint.\n\nCloses #{issue.Number}");
        await WaitForStatusAsync(dt.Client, id, TaskStatus.PR_CREATED);
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr);
        await WaitForStatusAsync(dt.Client, id, TaskStatus.WAITING_CI);
        h.GitHub.StartCi(Harness.Repo, sha);
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "success");
        await WaitForStatusAsync(dt.Client, id, TaskStatus.DEPLOYED);
        await WaitUntilAsync(() => h.Plane.Comments(item.Id).Count >= 3);
        await Task.Delay(1000); // Let any duplicate that would come show itself.

        var done = h.Plane.WorkItem(item.Id);
        Assert.Equal("completed", h.Plane.States(h.ProjectId).Single(s => s.Id == done.StateId).Group);
        var comments = h.Plane.Comments(item.Id);
        Assert.Equal(3, comments.Count);
        Assert.Equal(comments.Count, comments.Select(c => c.ExternalId).Distinct().Count());
        Assert.Single(h.GitHub.Issues(Harness.Repo));
        Assert.True(relay.Routed > 0);

        // The PostgreSQL copy the shared activities read follows the Durable Task instance.
        await using var command = dataSource.CreateCommand("SELECT custom_status FROM instances WHERE id = @id");
        command.Parameters.AddWithValue("id", id);
        Assert.Equal(nameof(TaskStatus.DEPLOYED), await command.ExecuteScalarAsync());
        h.AssertNoUnexpectedRequests();
    }

    private static async Task WaitForStatusAsync(DurableTaskClient client, string id, TaskStatus status, int seconds = 45)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        DurableStatus? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var metadata = await client.GetInstanceAsync(id, getInputsAndOutputs: true);
            Assert.False(metadata?.RuntimeStatus is OrchestrationRuntimeStatus.Failed, metadata?.FailureDetails?.ToString());
            last = metadata?.SerializedCustomStatus is null ? null : metadata.ReadCustomStatusAs<DurableStatus>();
            if (last?.Status == status.ToString())
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{id} did not reach {status}; last {last}");
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(100);
        }
    }

    /// <summary>A loopback receiver of the simulators' webhooks that hands each delivery to the router, 202.</summary>
    private sealed class Relay : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private long _next;
        private int _routed;

        private Relay(WebApplication app) => _app = app;

        public Uri Url => new(_app.Urls.First().TrimEnd('/') + "/");

        public int Routed => Volatile.Read(ref _routed);

        public static async Task<Relay> StartAsync(DeliveryRouter router)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            var app = builder.Build();
            var relay = new Relay(app);
            app.MapPost("/webhooks/{source}", async (string source, HttpContext context) =>
            {
                using var buffer = new MemoryStream();
                await context.Request.Body.CopyToAsync(buffer);
                var (deliveryHeader, eventHeader) = source == "github" ? ("X-GitHub-Delivery", "X-GitHub-Event") : ("X-Plane-Delivery", "X-Plane-Event");
                var delivery = new InboxDelivery(Interlocked.Increment(ref relay._next), source, context.Request.Headers[deliveryHeader].ToString(),
                    context.Request.Headers[eventHeader].ToString(), buffer.ToArray(), DateTimeOffset.UtcNow);
                await router.RouteAsync(delivery, context.RequestAborted);
                Interlocked.Increment(ref relay._routed);
                return Results.Accepted();
            });
            await app.StartAsync();
            return relay;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orchestrator.Functions.DurableTask;
using Orchestrator.Functions.Routing;
using Orchestrator.Orchestrations.DurableTask;
using Orchestrator.Orchestrations.Reconciliation;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;
using Orchestrator.Tests.Integration.EndToEnd;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.Durable;

/// <summary>
/// The Durable Task side of a <see cref="Harness"/>: the Azure Functions app's own service composition
/// (<see cref="DurableTaskServices.AddDurableTaskOrchestrator"/>: the shared activities, platform registry and
/// router) over the harness's PostgreSQL, run by the SDK's in-process test host (real worker and client over gRPC,
/// in-memory backend), with <see cref="DurableTaskOrchestrationClient"/> as the runtime client. The simulators' webhooks
/// go to a relay that routes each one with the shared <see cref="DeliveryRouter"/>; the harness's self-hosted host runs
/// on the same database for its project bootstrap only and receives no delivery.
/// </summary>
public sealed class DurableWorld : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly DurableTaskTestHost _host;
    private readonly WebApplication _relay;
    private int _routed;

    private DurableWorld(Harness harness, ServiceProvider services, DurableTaskTestHost host, WebApplication relay)
    {
        Harness = harness;
        _services = services;
        _host = host;
        _relay = relay;
    }

    public Harness Harness { get; }

    public DurableTaskClient Client => _host.Client;

    public IOrchestrationClient Orchestrations => _services.GetRequiredService<IOrchestrationClient>();

    public NpgsqlDataSource DataSource => _services.GetRequiredService<NpgsqlDataSource>();

    public int Routed => Volatile.Read(ref _routed);

    /// <param name="harness">The harness (simulators, database, settings).</param>
    /// <param name="reconcileInterval">When set, the reconciler decider runs as an eternal orchestration at this interval.</param>
    public static async Task<DurableWorld> StartAsync(Harness harness, TimeSpan? reconcileInterval = null)
    {
        var settings = OrchestratorSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(harness.Settings).Build());
        var collection = new ServiceCollection().AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        collection.AddDurableTaskOrchestrator(settings);
        DurableTaskTestHost? host = null;

        // The runtime client of the activities: the test host's client (in the app: the invocation's [DurableClient]).
        // Resolved per call: the activities are built while the test host starts, before its client exists.
        collection.AddSingleton<IOrchestrationClient>(sp => new LateClient(() => new DurableTaskOrchestrationClient(host!.Client, sp.GetRequiredService<NpgsqlDataSource>())));
        var services = collection.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning));
        host = await DurableTaskTestHost.StartAsync(registry => registry.AddOrchestrator(
            new TaskPipelineSettings(settings.CiPollInterval, settings.CiTimeout), reconcileInterval ?? TimeSpan.FromHours(1),
            services.GetServices<IActivity>(), services.GetRequiredService<NpgsqlDataSource>()), new DurableTaskTestHostOptions { LoggerFactory = loggers });

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var relay = builder.Build();
        var world = new DurableWorld(harness, services, host, relay);
        var router = services.GetRequiredService<DeliveryRouter>();
        long next = 0;
        relay.MapPost("/webhooks/{source}", async (string source, HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var (deliveryHeader, eventHeader) = source == "github" ? ("X-GitHub-Delivery", "X-GitHub-Event") : ("X-Plane-Delivery", "X-Plane-Event");
            var delivery = new InboxDelivery(Interlocked.Increment(ref next), source, context.Request.Headers[deliveryHeader].ToString(),
                context.Request.Headers[eventHeader].ToString(), buffer.ToArray(), DateTimeOffset.UtcNow);
            await router.RouteAsync(delivery, context.RequestAborted);
            Interlocked.Increment(ref world._routed);
            return Results.Accepted();
        });
        await relay.StartAsync();
        harness.PointWebhooksAt(new Uri(relay.Urls.First().TrimEnd('/') + "/"));
        if (reconcileInterval is not null)
        {
            await services.GetRequiredService<IOrchestrationClient>().StartAsync(ReconcilerOrchestration.OrchestrationName, ReconcilerOrchestration.InstanceId,
                new ReconcilerStarted(), "start", null, CancellationToken.None);
        }

        return world;
    }

    public async Task<DurableStatus> WaitForStatusAsync(string id, TaskStatus status, int seconds = 45)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        DurableStatus? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var metadata = await Client.GetInstanceAsync(id, getInputsAndOutputs: true);
            Assert.False(metadata?.RuntimeStatus is OrchestrationRuntimeStatus.Failed, metadata?.FailureDetails?.ToString());
            last = metadata?.SerializedCustomStatus is null ? null : metadata.ReadCustomStatusAs<DurableStatus>();
            if (last?.Status == status.ToString())
            {
                return last;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{id} did not reach {status}; last {last}");
    }

    public static async Task WaitUntilAsync(Func<bool> condition, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _relay.DisposeAsync();
        await _host.DisposeAsync();
        await _services.DisposeAsync();
    }

    private sealed class LateClient(Func<IOrchestrationClient> resolve) : IOrchestrationClient
    {
        private readonly Lazy<IOrchestrationClient> _client = new(resolve);

        public Task<bool> StartAsync(string orchestration, string instanceId, object startEvent, string eventKey, string? parentId, Orchestrator.Orchestrations.Abstractions.EventOrigin? origin, CancellationToken cancellationToken) =>
            _client.Value.StartAsync(orchestration, instanceId, startEvent, eventKey, parentId, origin, cancellationToken);

        public Task<bool> RaiseEventAsync(string instanceId, object @event, string eventKey, RaiseOptions raise, CancellationToken cancellationToken) =>
            _client.Value.RaiseEventAsync(instanceId, @event, eventKey, raise, cancellationToken);

        public Task<IReadOnlyList<string>> FindInstancesAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken) =>
            _client.Value.FindInstancesAsync(keys, cancellationToken);

        public Task<IReadOnlyList<string>> FindInstancesByStatusAsync(string orchestration, IReadOnlyCollection<string> statuses, CancellationToken cancellationToken) =>
            _client.Value.FindInstancesByStatusAsync(orchestration, statuses, cancellationToken);
    }
}

using Orchestrator.Shared.Engine;

namespace Orchestrator.Functions.Timers;

/// <summary>
/// Adds the DI-constructed activities to the registry before the workers start (activities depend on
/// the engine, the engine on the registry; registering here breaks that cycle).
/// </summary>
public sealed class ActivityRegistration(OrchestrationRegistry registry, IServiceProvider services) : IHostedService
{
    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var activity in services.GetServices<IActivity>())
        {
            registry.Add(activity);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

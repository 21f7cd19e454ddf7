using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Functions.DurableTask;

/// <summary>
/// The <see cref="IOrchestrationClient"/> registered in the Azure Functions app's services: the shared activities are
/// singletons built once, while a Durable Functions client is bound per invocation (<c>[DurableClient]</c>). Each
/// function sets the client of its invocation with <see cref="Use"/>; calls outside such a scope fail with a clear error.
/// </summary>
public sealed class AmbientOrchestrationClient : IOrchestrationClient
{
    private static readonly AsyncLocal<IOrchestrationClient?> Current = new();

    /// <summary>Makes <paramref name="client"/> the client of the current invocation until the returned scope is disposed.</summary>
    /// <param name="client">The invocation's client.</param>
    /// <returns>The scope.</returns>
    public static IDisposable Use(IOrchestrationClient client)
    {
        var previous = Current.Value;
        Current.Value = client;
        return new Scope(previous);
    }

    private static IOrchestrationClient Client =>
        Current.Value ?? throw new InvalidOperationException("No Durable Task client is bound to this invocation (AmbientOrchestrationClient.Use).");

    /// <inheritdoc />
    public Task<bool> StartAsync(string orchestration, string instanceId, object startEvent, string eventKey, string? parentId, EventOrigin? origin, CancellationToken cancellationToken) =>
        Client.StartAsync(orchestration, instanceId, startEvent, eventKey, parentId, origin, cancellationToken);

    /// <inheritdoc />
    public Task<bool> RaiseEventAsync(string instanceId, object @event, string eventKey, RaiseOptions raise, CancellationToken cancellationToken) =>
        Client.RaiseEventAsync(instanceId, @event, eventKey, raise, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> FindInstancesAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken) =>
        Client.FindInstancesAsync(keys, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> FindInstancesByStatusAsync(string orchestration, IReadOnlyCollection<string> statuses, CancellationToken cancellationToken) =>
        Client.FindInstancesByStatusAsync(orchestration, statuses, cancellationToken);

    private sealed class Scope(IOrchestrationClient? previous) : IDisposable
    {
        public void Dispose() => Current.Value = previous;
    }
}

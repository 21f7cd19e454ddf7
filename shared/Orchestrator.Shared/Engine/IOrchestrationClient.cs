using Orchestrator.Orchestrations.Abstractions;

namespace Orchestrator.Shared.Engine;

/// <summary>
/// What activities, webhook routing and the API need from the runtime that runs the deciders: start an instance,
/// deliver an event, find instances. Implemented by the PostgreSQL <see cref="DurableEngine"/> and by the Durable Task
/// client of the Azure Functions app, so the same activity classes run on both.
/// </summary>
public interface IOrchestrationClient
{
    /// <summary>
    /// Creates instance <paramref name="instanceId"/> of <paramref name="orchestration"/> unless it exists and delivers
    /// <paramref name="startEvent"/> to it; idempotent per (<paramref name="instanceId"/>, <paramref name="eventKey"/>).
    /// </summary>
    /// <param name="orchestration">Orchestration name.</param>
    /// <param name="instanceId">Instance id (e.g. <c>plane-&lt;uuid&gt;</c>).</param>
    /// <param name="startEvent">An event object of the orchestration.</param>
    /// <param name="eventKey">Its idempotency key.</param>
    /// <param name="parentId">Parent instance to tell when this one finishes, or <c>null</c>.</param>
    /// <param name="origin">Who raised the start event; <c>null</c> = the orchestrator itself.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>true</c> when this call created the instance.</returns>
    Task<bool> StartAsync(string orchestration, string instanceId, object startEvent, string eventKey, string? parentId, EventOrigin? origin, CancellationToken cancellationToken);

    /// <summary>
    /// Delivers <paramref name="event"/> to an existing instance; idempotent per (<paramref name="instanceId"/>,
    /// <paramref name="eventKey"/>); ignored when the instance does not exist.
    /// </summary>
    /// <param name="instanceId">Instance id.</param>
    /// <param name="event">An event object of the instance's orchestration.</param>
    /// <param name="eventKey">Its idempotency key.</param>
    /// <param name="raise">Origin, due time and (PostgreSQL engine only) work to commit with it.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>true</c> when a new delivery was queued.</returns>
    Task<bool> RaiseEventAsync(string instanceId, object @event, string eventKey, RaiseOptions raise, CancellationToken cancellationToken);

    /// <summary>Instances registered under any of <paramref name="keys"/> (correlation keys), distinct.</summary>
    /// <param name="keys">Correlation keys, e.g. <c>github-issue:owner/repo#12</c>.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Instance ids.</returns>
    Task<IReadOnlyList<string>> FindInstancesAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken);

    /// <summary>Ids of instances of <paramref name="orchestration"/> whose custom status is one of <paramref name="statuses"/>, oldest first.</summary>
    /// <param name="orchestration">Orchestration name.</param>
    /// <param name="statuses">Custom statuses.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Instance ids.</returns>
    Task<IReadOnlyList<string>> FindInstancesByStatusAsync(string orchestration, IReadOnlyCollection<string> statuses, CancellationToken cancellationToken);
}

/// <summary>The event-raising shorthands of <see cref="IOrchestrationClient"/>.</summary>
public static class OrchestrationClientExtensions
{
    /// <summary>Delivers <paramref name="event"/> now, raised by the orchestrator itself.</summary>
    /// <param name="client">The client.</param>
    /// <param name="instanceId">Instance id.</param>
    /// <param name="event">The event.</param>
    /// <param name="eventKey">Its idempotency key.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>true</c> when a new delivery was queued.</returns>
    public static Task<bool> RaiseEventAsync(this IOrchestrationClient client, string instanceId, object @event, string eventKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.RaiseEventAsync(instanceId, @event, eventKey, new RaiseOptions(), cancellationToken);
    }

    /// <summary>Starts an instance without a parent, raised by the orchestrator itself.</summary>
    /// <param name="client">The client.</param>
    /// <param name="orchestration">Orchestration name.</param>
    /// <param name="instanceId">Instance id.</param>
    /// <param name="startEvent">Start event.</param>
    /// <param name="eventKey">Its idempotency key.</param>
    /// <param name="parentId">Parent, or <c>null</c>.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>true</c> when this call created the instance.</returns>
    public static Task<bool> StartAsync(this IOrchestrationClient client, string orchestration, string instanceId, object startEvent, string eventKey, string? parentId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.StartAsync(orchestration, instanceId, startEvent, eventKey, parentId, null, cancellationToken);
    }
}

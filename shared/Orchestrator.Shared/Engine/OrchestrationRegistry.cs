using System.Text.Json;
using Orchestrator.Orchestrations.Abstractions;

namespace Orchestrator.Shared.Engine;

/// <summary>An orchestration decision with state and events in their stored (JSON) form.</summary>
/// <param name="StateJson">New state.</param>
/// <param name="Commands">Commands to enqueue.</param>
/// <param name="CustomStatus">User-facing status.</param>
/// <param name="RuntimeStatus">Engine status.</param>
/// <param name="Summary">Timeline line, or <c>null</c> to record nothing.</param>
/// <param name="CorrelationKeys">Keys to add.</param>
/// <param name="EventType">Name of the applied event (its type discriminator).</param>
/// <param name="EventJson">The applied event as JSON.</param>
public sealed record StoredDecision(
    string StateJson,
    IReadOnlyList<OrchestrationCommand> Commands,
    string CustomStatus,
    RuntimeStatus RuntimeStatus,
    string? Summary,
    IReadOnlyList<string> CorrelationKeys,
    string EventType,
    string EventJson)
{
    /// <summary>The state the decider was given (<c>null</c> for a new instance), as its typed object; for step projections.</summary>
    public object? StateBefore { get; init; }

    /// <summary>The new state as its typed object; for step projections.</summary>
    public object? StateAfter { get; init; }

    /// <summary>The applied event as its typed object; for step projections.</summary>
    public object? Event { get; init; }
}

/// <summary>Bridges a typed <see cref="IOrchestration{TState, TEvent}"/> to the engine's JSON storage.</summary>
public interface IOrchestrationAdapter
{
    /// <summary>Orchestration name.</summary>
    string Name { get; }

    /// <summary>Serialises an event object of this orchestration (its runtime type must derive from the event base).</summary>
    /// <exception cref="ArgumentException">The object is not an event of this orchestration.</exception>
    string SerializeEvent(object @event);

    /// <summary>Deserialises a stored event and applies it.</summary>
    StoredDecision Apply(string? stateJson, string eventJson, DateTimeOffset now);

    /// <summary>Applies an event object directly (activity results).</summary>
    StoredDecision Apply(string? stateJson, object @event, DateTimeOffset now);

    /// <summary>The failure event for an activity.</summary>
    object ActivityFailed(string activity, string key, string error, int attempts);

    /// <summary>The timer event.</summary>
    object TimerFired(string name, string key);

    /// <summary>The child-finished event, or <c>null</c> when this orchestration does not start children.</summary>
    object? ChildFinished(string childId, string childOrchestration, string customStatus, RuntimeStatus runtimeStatus, string? summary);
}

/// <summary>The adapter for one typed orchestration.</summary>
/// <typeparam name="TState">State type.</typeparam>
/// <typeparam name="TEvent">Event base type.</typeparam>
public sealed class OrchestrationAdapter<TState, TEvent>(IOrchestration<TState, TEvent> orchestration) : IOrchestrationAdapter
    where TState : class
    where TEvent : class
{
    /// <inheritdoc />
    public string Name => orchestration.Name;

    /// <inheritdoc />
    public string SerializeEvent(object @event) => @event is TEvent e
        ? JsonSerializer.Serialize(e, EngineJson.Options)
        : throw new ArgumentException($"{@event.GetType().Name} is not an event of {Name}.", nameof(@event));

    /// <inheritdoc />
    public StoredDecision Apply(string? stateJson, string eventJson, DateTimeOffset now) =>
        Apply(stateJson, JsonSerializer.Deserialize<TEvent>(eventJson, EngineJson.Options)!, now);

    /// <inheritdoc />
    public StoredDecision Apply(string? stateJson, object @event, DateTimeOffset now)
    {
        if (@event is not TEvent typed)
        {
            throw new ArgumentException($"{@event.GetType().Name} is not an event of {Name}.", nameof(@event));
        }

        var state = stateJson is null ? null : JsonSerializer.Deserialize<TState>(stateJson, EngineJson.Options);
        var decision = orchestration.Decide(state, typed, DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds()));
        return new StoredDecision(
            JsonSerializer.Serialize(decision.State, EngineJson.Options),
            decision.Commands,
            decision.CustomStatus,
            decision.RuntimeStatus,
            decision.Summary,
            decision.CorrelationKeys,
            typed.GetType().Name,
            JsonSerializer.Serialize(typed, EngineJson.Options))
        {
            StateBefore = state,
            StateAfter = decision.State,
            Event = typed,
        };
    }

    /// <inheritdoc />
    public object ActivityFailed(string activity, string key, string error, int attempts) => orchestration.ActivityFailed(activity, key, error, attempts);

    /// <inheritdoc />
    public object TimerFired(string name, string key) => orchestration.TimerFired(name, key);

    /// <inheritdoc />
    public object? ChildFinished(string childId, string childOrchestration, string customStatus, RuntimeStatus runtimeStatus, string? summary) =>
        orchestration is IParentOrchestration<TEvent> parent ? parent.ChildFinished(childId, childOrchestration, customStatus, runtimeStatus, summary) : null;
}

/// <summary>The orchestrations and activities an engine knows, by name.</summary>
public sealed class OrchestrationRegistry
{
    private readonly Dictionary<string, IOrchestrationAdapter> _orchestrations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IActivity> _activities = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IStepProjection> _projections = new(StringComparer.Ordinal);

    /// <summary>Registers an orchestration.</summary>
    public OrchestrationRegistry Add<TState, TEvent>(IOrchestration<TState, TEvent> orchestration)
        where TState : class
        where TEvent : class
    {
        _orchestrations[orchestration.Name] = new OrchestrationAdapter<TState, TEvent>(orchestration);
        return this;
    }

    /// <summary>Registers an activity.</summary>
    public OrchestrationRegistry Add(IActivity activity)
    {
        _activities[activity.Name] = activity;
        return this;
    }

    /// <summary>
    /// Registers the read-model projection of orchestration <paramref name="orchestration"/>: it is called in every
    /// applied step of its instances and its rows commit (or roll back) with the step. One per orchestration; a second
    /// registration replaces the first.
    /// </summary>
    /// <param name="orchestration">Orchestration name.</param>
    /// <param name="projection">The projection.</param>
    /// <returns>This registry.</returns>
    public OrchestrationRegistry AddProjection(string orchestration, IStepProjection projection)
    {
        ArgumentException.ThrowIfNullOrEmpty(orchestration);
        ArgumentNullException.ThrowIfNull(projection);
        _projections[orchestration] = projection;
        return this;
    }

    /// <summary>The projection registered for <paramref name="orchestration"/>, or <c>null</c>.</summary>
    /// <param name="orchestration">Orchestration name.</param>
    /// <returns>The projection.</returns>
    public IStepProjection? Projection(string orchestration) => _projections.GetValueOrDefault(orchestration);

    /// <summary>The orchestration called <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">Not registered.</exception>
    public IOrchestrationAdapter Orchestration(string name) =>
        _orchestrations.TryGetValue(name, out var o) ? o : throw new KeyNotFoundException($"Orchestration '{name}' is not registered.");

    /// <summary>The activity called <paramref name="name"/>, or <c>null</c>.</summary>
    public IActivity? Activity(string name) => _activities.GetValueOrDefault(name);
}

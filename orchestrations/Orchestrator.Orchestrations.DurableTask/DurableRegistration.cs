using Microsoft.DurableTask;
using Orchestrator.Orchestrations.Abstractions;

namespace Orchestrator.Orchestrations.DurableTask;

/// <summary>Registers deciders as Durable Task orchestrators and builds their start input.</summary>
public static class DurableRegistration
{
    /// <summary>Registers <paramref name="decider"/> under its <see cref="IOrchestration{TState, TEvent}.Name"/> as a <see cref="DurableOrchestrator{TState, TEvent}"/>.</summary>
    /// <typeparam name="TState">Decider state.</typeparam>
    /// <typeparam name="TEvent">Decider event base.</typeparam>
    /// <param name="registry">The worker's registry.</param>
    /// <param name="decider">The decider (stateless: one object serves every instance).</param>
    /// <param name="options">Loop options; defaults when <c>null</c>.</param>
    /// <returns>The registry.</returns>
    public static DurableTaskRegistry AddDecider<TState, TEvent>(this DurableTaskRegistry registry, IOrchestration<TState, TEvent> decider, DurableLoopOptions? options = null)
        where TState : class
        where TEvent : class
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(decider);
        var loop = options ?? new DurableLoopOptions();
        return registry.AddOrchestrator(decider.Name, () => new DurableOrchestrator<TState, TEvent>(decider, loop));
    }

    /// <summary>The input that starts an instance with <paramref name="startEvent"/>.</summary>
    /// <param name="startEvent">The decider's start event (e.g. <c>TaskReceived</c>).</param>
    /// <param name="key">Its idempotency key.</param>
    /// <param name="parentId">The parent to tell when the instance finishes, or <c>null</c>.</param>
    /// <param name="origin">Who raised the start event.</param>
    /// <returns>The input for <c>ScheduleNewOrchestrationInstanceAsync</c>.</returns>
    public static DurableInstanceInput StartInput(object startEvent, string key, string? parentId = null, EventOrigin? origin = null) =>
        new() { Start = EventEnvelope.For(startEvent, key, origin), ParentId = parentId };
}

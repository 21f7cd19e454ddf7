using Npgsql;
using Orchestrator.Orchestrations.Abstractions;

namespace Orchestrator.Shared.Engine;

/// <summary>One applied step, as a projection sees it.</summary>
/// <param name="InstanceId">The instance.</param>
/// <param name="Orchestration">Its orchestration name.</param>
/// <param name="ParentId">Its parent instance (a sub-orchestration's task), or <c>null</c>.</param>
/// <param name="StateBefore">Typed state before the step; <c>null</c> for the step that created the instance.</param>
/// <param name="StateAfter">Typed state after the step.</param>
/// <param name="Event">The typed event applied.</param>
/// <param name="EventType">Its type name (the <c>$type</c> discriminator).</param>
/// <param name="CustomStatus">User-facing status after the step.</param>
/// <param name="RuntimeStatus">Engine status after the step.</param>
/// <param name="Summary">The decider's timeline line, or <c>null</c>.</param>
/// <param name="Origin">Who raised the event: its <c>work_items.origin</c> for raised events, <see cref="EventOrigin.FromSystem"/> for activity results, timers and child-finished events.</param>
/// <param name="WorkKind">What caused the step: <see cref="WorkKinds.Event"/>, <see cref="WorkKinds.Activity"/> or <see cref="WorkKinds.Timer"/>.</param>
/// <param name="Now">The step's time (the engine clock).</param>
public sealed record StepContext(
    string InstanceId,
    string Orchestration,
    string? ParentId,
    object? StateBefore,
    object StateAfter,
    object Event,
    string EventType,
    string CustomStatus,
    RuntimeStatus RuntimeStatus,
    string? Summary,
    EventOrigin Origin,
    string WorkKind,
    DateTimeOffset Now)
{
    /// <summary>
    /// The instance's version after the step (its <c>history.version</c>): unique per applied step of an instance and the
    /// same when a rolled-back step is retried, so it makes idempotency keys for work a projection enqueues.
    /// </summary>
    public long Version { get; init; }
}

/// <summary>
/// Writes extra rows (a read model) inside a step's transaction. The engine calls it for every applied step of the
/// orchestration it is registered for (<see cref="OrchestrationRegistry.AddProjection"/>) — never for no-op steps,
/// which write nothing — and appends the returned commands to the step's batch after the instance update, history,
/// new work and keys. They commit with the step or roll back with it (a version conflict, a lost lease, a crash), so a
/// retried step never writes its rows twice.
/// </summary>
/// <remarks>
/// Commands rather than a connection: the step stays one round trip to PostgreSQL. A command that fails (or a
/// projection that throws) fails the step, which the engine retries like any other database error — a broken
/// projection stops its orchestration rather than let the read model drift from the state.
/// </remarks>
public interface IStepProjection
{
    /// <summary>The commands to run in the step's transaction (none is fine).</summary>
    /// <param name="step">The applied step.</param>
    /// <returns>Commands without a connection, in the order they must run.</returns>
    IEnumerable<NpgsqlBatchCommand> Project(StepContext step);
}

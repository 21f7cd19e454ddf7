using Orchestrator.Orchestrations.Abstractions;

namespace Orchestrator.Orchestrations.DurableTask;

/// <summary>Names shared by the Durable Task loop and the clients that start and signal its instances.</summary>
public static class DurableNames
{
    /// <summary>
    /// The one external event name every instance waits for; its payload is an <see cref="EventEnvelope"/>
    /// (<c>RaiseEventAsync(instanceId, EventName, envelope)</c>).
    /// </summary>
    public const string EventName = "orchestrator-event";
}

/// <summary>What an external event carries: one decider event, or the news that a child instance finished.</summary>
/// <param name="Key">Idempotency key of the delivery, unique within the instance (<c>null</c> for child news): a second envelope with the same key is ignored, as the PostgreSQL engine ignores a second event with the same key.</param>
/// <param name="EventJson">The decider event as JSON (<see cref="OrchestrationJson.SerializeEvent"/>, with its <c>"$type"</c>), or <c>null</c> for child news.</param>
/// <param name="Origin">Who raised it (carried for step records; deciders never see it).</param>
/// <param name="Child">Child news, or <c>null</c>.</param>
public sealed record EventEnvelope(string? Key, string? EventJson, EventOrigin? Origin = null, ChildNews? Child = null)
{
    /// <summary>An envelope for decider event <paramref name="event"/>.</summary>
    /// <param name="event">The event object (an event of the target's orchestration).</param>
    /// <param name="key">Its idempotency key.</param>
    /// <param name="origin">Who raised it.</param>
    /// <returns>The envelope.</returns>
    public static EventEnvelope For(object @event, string key, EventOrigin? origin = null) =>
        new(key, OrchestrationJson.SerializeEvent(@event), origin);
}

/// <summary>A child instance reached a final runtime status (what the engine's <c>parent_id</c> delivers).</summary>
/// <param name="ChildId">Child instance id.</param>
/// <param name="Orchestration">Child orchestration name.</param>
/// <param name="CustomStatus">Its final custom status.</param>
/// <param name="RuntimeStatus">Completed or Failed.</param>
/// <param name="Summary">Its last timeline line.</param>
/// <param name="Generation">How many times the child had reached a final status (makes the news' key unique).</param>
public sealed record ChildNews(string ChildId, string Orchestration, string CustomStatus, RuntimeStatus RuntimeStatus, string? Summary, int Generation);

/// <summary>The input of a Durable Task activity that runs one decider <see cref="ScheduleActivity"/> command.</summary>
/// <param name="InstanceId">The calling instance.</param>
/// <param name="Key">The command's idempotency key.</param>
/// <param name="InputJson">The command's input as JSON (<see cref="OrchestrationJson.Options"/>).</param>
public sealed record ActivityCall(string InstanceId, string Key, string InputJson);

/// <summary>
/// What an activity returns to the loop. Transient failures are thrown (Durable Task retries them by the command's
/// policy); a permanent one and a deferral are results, so no retry is spent on them.
/// </summary>
/// <param name="EventJson">The event to deliver to the instance (with its <c>"$type"</c>), or <c>null</c> for none.</param>
/// <param name="PermanentError">Set when no retry can help: the loop delivers the decider's activity-failed event at once.</param>
/// <param name="DeferMilliseconds">Set when the activity cannot start yet: the loop calls it again after this wait (a durable timer), without counting an attempt.</param>
public sealed record ActivityOutcome(string? EventJson, string? PermanentError = null, long? DeferMilliseconds = null);

/// <summary>The user-facing status of an instance (<c>SetCustomStatus</c>): what <c>GET /api/tasks/{id}</c> shows.</summary>
/// <param name="Status">The decider's custom status, e.g. <c>ISSUE_CREATED</c>.</param>
/// <param name="RuntimeStatus">The decider's runtime status (the Durable Task instance keeps running: it still accepts events).</param>
/// <param name="Summary">The last timeline line.</param>
public sealed record DurableStatus(string Status, RuntimeStatus RuntimeStatus, string? Summary);

/// <summary>A durable timer carried over <c>ContinueAsNew</c> (re-created in the next generation).</summary>
/// <param name="Name">Timer name (handed to the decider's timer-fired event).</param>
/// <param name="Key">Its idempotency key.</param>
/// <param name="DueAt">When it fires.</param>
/// <param name="Deferred">For a deferred activity: the call to repeat when it fires; <c>null</c> for a decider timer.</param>
public sealed record CarriedTimer(string Name, string Key, DateTimeOffset DueAt, DeferredCall? Deferred = null);

/// <summary>An activity call waiting out a deferral.</summary>
/// <param name="Activity">Activity name.</param>
/// <param name="Key">Command key.</param>
/// <param name="InputJson">Input JSON.</param>
/// <param name="Retry">Its retry policy.</param>
public sealed record DeferredCall(string Activity, string Key, string InputJson, RetryPolicy Retry);

/// <summary>
/// The input of every generation of an instance: the start event for the first, the decider state and what is
/// still pending for the ones after <c>ContinueAsNew</c>.
/// </summary>
public sealed record DurableInstanceInput
{
    /// <summary>The event that starts the instance (first generation only).</summary>
    public EventEnvelope? Start { get; init; }

    /// <summary>The parent instance to tell when this one reaches a final runtime status (a child), or <c>null</c>.</summary>
    public string? ParentId { get; init; }

    /// <summary>The decider state as JSON (<c>null</c> before the first event).</summary>
    public string? StateJson { get; init; }

    /// <summary>The decider's last custom status.</summary>
    public string CustomStatus { get; init; } = "";

    /// <summary>The decider's last runtime status.</summary>
    public RuntimeStatus RuntimeStatus { get; init; } = RuntimeStatus.Running;

    /// <summary>The last timeline line.</summary>
    public string? Summary { get; init; }

    /// <summary>How many times the instance reached a final runtime status (child news keys).</summary>
    public int FinalGenerations { get; init; }

    /// <summary>Timers still to fire.</summary>
    public IReadOnlyList<CarriedTimer> Timers { get; init; } = [];

    /// <summary>Command and event keys already seen (newest last, at most <see cref="DurableLoopOptions.MaxRememberedKeys"/>).</summary>
    public IReadOnlyList<string> SeenKeys { get; init; } = [];

    /// <summary>Correlation keys already recorded.</summary>
    public IReadOnlyList<string> CorrelationKeys { get; init; } = [];
}

/// <summary>One applied step, handed to the step-record activity (<see cref="DurableLoopOptions.StepActivity"/>) before the step's commands run, so a host can keep its copy of the instance (state, status, correlation keys) for its activities, routing and read model.</summary>
/// <param name="InstanceId">Instance id.</param>
/// <param name="Orchestration">Orchestration name.</param>
/// <param name="ParentId">Parent instance, if a child.</param>
/// <param name="EventType">The applied event's type name.</param>
/// <param name="CustomStatus">New custom status.</param>
/// <param name="RuntimeStatus">New runtime status.</param>
/// <param name="Summary">Timeline line, or <c>null</c>.</param>
/// <param name="NewCorrelationKeys">Correlation keys first added by this step.</param>
/// <param name="Origin">Who raised the event.</param>
/// <param name="OccurredAt">The step's orchestration time.</param>
public sealed record StepRecord(
    string InstanceId,
    string Orchestration,
    string? ParentId,
    string EventType,
    string CustomStatus,
    RuntimeStatus RuntimeStatus,
    string? Summary,
    IReadOnlyList<string> NewCorrelationKeys,
    EventOrigin Origin,
    DateTimeOffset OccurredAt)
{
    /// <summary>The decider state after the step, as JSON (<see cref="OrchestrationJson.Options"/>).</summary>
    public string StateJson { get; init; } = "{}";

    /// <summary>The applied event as JSON, with its <c>"$type"</c>.</summary>
    public string EventJson { get; init; } = "{}";
}

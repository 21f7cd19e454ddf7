using Npgsql;
using Orchestrator.Orchestrations.Abstractions;

namespace Orchestrator.Shared.Engine;

/// <summary>Kinds of queue rows.</summary>
public static class WorkKinds
{
    /// <summary>An activity call.</summary>
    public const string Activity = "activity";

    /// <summary>A durable timer.</summary>
    public const string Timer = "timer";

    /// <summary>An external event delivery.</summary>
    public const string Event = "event";
}

/// <summary>A queue row this worker holds a lease on.</summary>
/// <param name="Id">Row id.</param>
/// <param name="Kind">One of <see cref="WorkKinds"/>.</param>
/// <param name="InstanceId">Target instance, or <c>null</c> for system activities.</param>
/// <param name="Name">Activity, timer or event name.</param>
/// <param name="PayloadJson">Activity input, timer data or event JSON.</param>
/// <param name="Key">The command key (unique within the instance).</param>
/// <param name="Attempt">This attempt's number (1-based): the fencing token.</param>
/// <param name="Retry">Retry policy declared by the caller.</param>
/// <param name="Owner">Lease owner.</param>
/// <param name="Origin">Who raised it (events only; <c>work_items.origin</c>), or <c>null</c> for the orchestrator itself.</param>
public sealed record ClaimedWork(
    long Id,
    string Kind,
    string? InstanceId,
    string Name,
    string PayloadJson,
    string Key,
    int Attempt,
    RetryPolicy Retry,
    string Owner,
    EventOrigin? Origin = null);

/// <summary>How <see cref="DurableEngine.RaiseEventAsync(string, object, string, RaiseOptions, CancellationToken)"/> delivers an event.</summary>
public sealed record RaiseOptions
{
    /// <summary>Who raised it (stored with the queue row, handed to step projections); <c>null</c> = the orchestrator itself.</summary>
    public EventOrigin? Origin { get; init; }

    /// <summary>When to deliver it; <c>null</c> = now.</summary>
    public DateTimeOffset? DueAt { get; init; }

    /// <summary>
    /// Runs in the transaction that queues the event, only when it was queued (not for a duplicate key), before the
    /// commit: e.g. the <c>manual_action</c> row of an API action, so that the action is recorded exactly when its
    /// event is. An exception rolls the delivery back and reaches the caller.
    /// </summary>
    public Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task>? InSameTransaction { get; init; }
}

/// <summary>How processing a work item ended.</summary>
public enum WorkOutcome
{
    /// <summary>Done and recorded.</summary>
    Completed,

    /// <summary>Failed; scheduled again with backoff.</summary>
    Retrying,

    /// <summary>Failed for good; the instance got an ActivityFailed event.</summary>
    Failed,

    /// <summary>Not started yet (<see cref="ActivityDeferredException"/>); back in the queue without using an attempt.</summary>
    Deferred,

    /// <summary>The lease was lost (rescued and claimed by someone else): the result was discarded.</summary>
    Stale,
}

namespace Orchestrator.Orchestrations.Abstractions;

/// <summary>Lifecycle of an instance as the engine sees it (Durable Task's runtime status).</summary>
public enum RuntimeStatus
{
    /// <summary>Accepting events.</summary>
    Running,

    /// <summary>Finished successfully; still accepts events, which the decider may ignore.</summary>
    Completed,

    /// <summary>Finished unsuccessfully; still accepts events (retry, late webhooks).</summary>
    Failed,
}

/// <summary>
/// The result of one decide step: the new state, what to do next, and what the outside world sees.
/// </summary>
/// <typeparam name="TState">The orchestration's state type.</typeparam>
/// <param name="State">New state (persisted as JSON).</param>
/// <param name="Commands">Activities and timers to schedule, in order.</param>
/// <param name="CustomStatus">User-facing status word (e.g. <c>ISSUE_CREATED</c>).</param>
/// <param name="RuntimeStatus">Engine lifecycle status.</param>
/// <param name="Summary">One line for the timeline describing what this event did; <c>null</c> records nothing.</param>
/// <param name="CorrelationKeys">Keys under which external events find this instance (e.g. <c>github-issue:owner/repo#12</c>); added, never removed.</param>
public sealed record Decision<TState>(
    TState State,
    IReadOnlyList<OrchestrationCommand> Commands,
    string CustomStatus,
    RuntimeStatus RuntimeStatus,
    string? Summary,
    IReadOnlyList<string> CorrelationKeys);

/// <summary>
/// A pure orchestration: <c>Decide(state, event, now) → decision</c>. Implementations must be
/// deterministic — no clock, no random numbers, no environment, no I/O (Durable Task's
/// orchestrator contract); time comes in as <c>now</c>.
/// </summary>
/// <typeparam name="TState">State type, serialisable with System.Text.Json.</typeparam>
/// <typeparam name="TEvent">Event base type, polymorphic in System.Text.Json.</typeparam>
public interface IOrchestration<TState, TEvent>
    where TState : class
    where TEvent : class
{
    /// <summary>Stable name stored with each instance.</summary>
    string Name { get; }

    /// <summary>Applies one event. <paramref name="state"/> is <c>null</c> for a new instance.</summary>
    Decision<TState> Decide(TState? state, TEvent @event, DateTimeOffset now);

    /// <summary>The event delivered when an activity failed for good (retries exhausted or a permanent error).</summary>
    TEvent ActivityFailed(string activity, string key, string error, int attempts);

    /// <summary>The event delivered when a durable timer fires.</summary>
    TEvent TimerFired(string name, string key);
}

/// <summary>
/// An orchestration that starts child instances (sub-orchestrations) and wants to hear when they finish.
/// The engine calls <see cref="ChildFinished"/> when a child's runtime status becomes
/// <see cref="RuntimeStatus.Completed"/> or <see cref="RuntimeStatus.Failed"/> and delivers the event to
/// the parent in the same transaction as the child's last step.
/// </summary>
/// <typeparam name="TEvent">The parent's event base type.</typeparam>
public interface IParentOrchestration<out TEvent>
    where TEvent : class
{
    /// <summary>The event telling the parent a child finished.</summary>
    /// <param name="childId">Child instance id.</param>
    /// <param name="childOrchestration">Child orchestration name.</param>
    /// <param name="customStatus">The child's final custom status.</param>
    /// <param name="runtimeStatus">Completed or Failed.</param>
    /// <param name="summary">The child's last timeline line.</param>
    TEvent ChildFinished(string childId, string childOrchestration, string customStatus, RuntimeStatus runtimeStatus, string? summary);
}

namespace Orchestrator.Orchestrations.Abstractions;

/// <summary>Something an orchestration asks the engine to do once its decision is committed.</summary>
public abstract record OrchestrationCommand;

/// <summary>
/// Schedule an activity (one external action). The engine enqueues it in the same transaction as the
/// new state; its result comes back as an event of the orchestration (or <c>ActivityFailed</c> once
/// retries are exhausted).
/// </summary>
/// <param name="Activity">Registered activity name, e.g. <c>EnsureForgeIssue</c>.</param>
/// <param name="Input">Input object; serialised as JSON with its runtime type.</param>
/// <param name="Key">Idempotency key, unique within the instance: the engine ignores a second command with the same key.</param>
/// <param name="Retry">Retry policy for this call.</param>
public sealed record ScheduleActivity(string Activity, object Input, string Key, RetryPolicy Retry) : OrchestrationCommand;

/// <summary>A durable timer: the engine delivers a timer-fired event to the instance at <paramref name="DueAt"/>.</summary>
/// <param name="Name">Timer name handed back in the fired event.</param>
/// <param name="DueAt">When it fires (engine clock).</param>
/// <param name="Key">Idempotency key, unique within the instance.</param>
public sealed record StartTimer(string Name, DateTimeOffset DueAt, string Key) : OrchestrationCommand;

namespace Orchestrator.Shared.Engine;

/// <summary>Tuning of the durable engine.</summary>
public sealed record EngineOptions
{
    /// <summary>How long a claimed work item stays leased without a heartbeat (default 60 s). A crashed worker's items return to the queue after this.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Concurrent work items per host (<c>ORCH_WORKER_CONCURRENCY</c>, default 8).</summary>
    public int WorkerConcurrency { get; init; } = 8;

    /// <summary>Polling fallback when no notification arrives (default 1 s).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long completed and failed queue rows are kept (default 7 days).</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Retry policy for event deliveries whose application throws (a bug, not an outage): 5 attempts from 1 s, doubling, capped at 1 min.</summary>
    public Orchestrations.Abstractions.RetryPolicy EventRetry { get; init; } = new(5, TimeSpan.FromSeconds(1), 2.0, TimeSpan.FromMinutes(1));

    /// <summary>
    /// Names the task and project of an instance for the log scope of its work items (issue #11 §3: task id, project and
    /// delivery id as scopes), or <c>null</c> for none. Called once per processed item, so it should answer from memory
    /// after the first call for an instance; it must not throw.
    /// </summary>
    public Func<string, CancellationToken, ValueTask<(string? TaskId, string? Project)>>? InstanceContext { get; init; }

    /// <summary>Unique name of this host's workers, used as lease owner.</summary>
    public string OwnerId { get; init; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
}

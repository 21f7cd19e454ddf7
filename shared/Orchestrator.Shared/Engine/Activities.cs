using System.Text.Json;

namespace Orchestrator.Shared.Engine;

/// <summary>What an activity knows about the call it serves.</summary>
/// <param name="InstanceId">The orchestration instance, or <c>null</c> for system activities.</param>
/// <param name="Key">The command's idempotency key (unique within the instance).</param>
/// <param name="Attempt">1 for the first attempt.</param>
/// <param name="WorkItemId">Queue row id.</param>
public sealed record ActivityContext(string? InstanceId, string Key, int Attempt, long WorkItemId)
{
    /// <summary>A key unique across the database: <c>&lt;instance&gt;:&lt;key&gt;</c>; use it for markers on external systems.</summary>
    public string GlobalKey => InstanceId is null ? Key : $"{InstanceId}:{Key}";
}

/// <summary>
/// One external action. Activities are retried by the engine according to the calling command's
/// <see cref="Orchestrations.Abstractions.RetryPolicy"/>, so they must be idempotent: find first,
/// then create (the <c>Ensure…</c> pattern).
/// </summary>
public interface IActivity
{
    /// <summary>Registered name.</summary>
    string Name { get; }

    /// <summary>
    /// Runs the activity. Returns the event to deliver to the calling instance (an event object of its
    /// orchestration), or <c>null</c> for none. Throw <see cref="PermanentActivityException"/> when a
    /// retry cannot help; any other exception is retried (a
    /// <see cref="Platform.PlatformApiException"/> is retried only when transient).
    /// </summary>
    Task<object?> RunAsync(ActivityContext context, JsonElement input, CancellationToken cancellationToken);
}

/// <summary>Base for activities with a typed input.</summary>
/// <typeparam name="TInput">Input record (JSON in the queue).</typeparam>
public abstract class Activity<TInput> : IActivity
{
    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public Task<object?> RunAsync(ActivityContext context, JsonElement input, CancellationToken cancellationToken)
    {
        var typed = input.Deserialize<TInput>(EngineJson.Options)
            ?? throw new PermanentActivityException($"{Name}: input is missing.");
        return RunAsync(context, typed, cancellationToken);
    }

    /// <summary>Runs with the typed input.</summary>
    protected abstract Task<object?> RunAsync(ActivityContext context, TInput input, CancellationToken cancellationToken);
}

/// <summary>An activity failure that no retry can fix (bad configuration, 401, 404, invalid input).</summary>
/// <param name="message">What went wrong and what to fix.</param>
/// <param name="inner">The cause.</param>
public sealed class PermanentActivityException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The activity cannot start yet (e.g. every agent slot is taken): the engine puts it back in the queue
/// for <see cref="Delay"/> without counting an attempt — a durable wait, not a failure.
/// </summary>
/// <param name="delay">How long to wait before trying again.</param>
/// <param name="reason">Why (recorded as the row's last error).</param>
public sealed class ActivityDeferredException(TimeSpan delay, string reason) : Exception(reason)
{
    /// <summary>The wait.</summary>
    public TimeSpan Delay { get; } = delay;
}

/// <summary>A failure a retry can fix (the engine retries it by the call's policy), with an optional wait.</summary>
/// <param name="message">What went wrong.</param>
/// <param name="retryAfter">The wait the remote side asked for, if any.</param>
public sealed class RetryableActivityException(string message, TimeSpan? retryAfter = null) : Exception(message)
{
    /// <summary>The requested wait.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

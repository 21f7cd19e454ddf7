namespace Orchestrator.Orchestrations.Abstractions;

/// <summary>
/// How an activity is retried, declared by the orchestration at the call site
/// (the shape of Durable Task's <c>RetryPolicy</c>: attempts, first interval, backoff coefficient, cap).
/// </summary>
/// <param name="MaxAttempts">Total attempts including the first; at least 1.</param>
/// <param name="FirstRetryInterval">Delay before the second attempt.</param>
/// <param name="BackoffCoefficient">Multiplier applied per further attempt (exponential backoff); at least 1.</param>
/// <param name="MaxRetryInterval">Cap on any single delay.</param>
/// <remarks>The engine adds ±20 % jitter to each delay and honours a longer <c>Retry-After</c> from the platform.</remarks>
public sealed record RetryPolicy(int MaxAttempts, TimeSpan FirstRetryInterval, double BackoffCoefficient, TimeSpan MaxRetryInterval)
{
    /// <summary>Six attempts, 5 s first delay, doubling, capped at 5 minutes: for calls to external APIs.</summary>
    public static RetryPolicy ExternalApi { get; } = new(6, TimeSpan.FromSeconds(5), 2.0, TimeSpan.FromMinutes(5));

    /// <summary>A single attempt.</summary>
    public static RetryPolicy None { get; } = new(1, TimeSpan.Zero, 1.0, TimeSpan.Zero);

    /// <summary>
    /// The delay before attempt <paramref name="nextAttempt"/> (2 = first retry), before jitter:
    /// <c>min(MaxRetryInterval, FirstRetryInterval × BackoffCoefficient^(nextAttempt − 2))</c>.
    /// </summary>
    public TimeSpan DelayBefore(int nextAttempt)
    {
        if (nextAttempt <= 1)
        {
            return TimeSpan.Zero;
        }

        var ms = FirstRetryInterval.TotalMilliseconds * Math.Pow(Math.Max(1.0, BackoffCoefficient), nextAttempt - 2);
        return TimeSpan.FromMilliseconds(Math.Min(ms, MaxRetryInterval.TotalMilliseconds));
    }
}

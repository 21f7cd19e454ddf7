using Microsoft.DurableTask;
using OurRetryPolicy = Orchestrator.Orchestrations.Abstractions.RetryPolicy;

namespace Orchestrator.Orchestrations.DurableTask;

/// <summary>Maps the deciders' <see cref="OurRetryPolicy"/> to Durable Task's <see cref="Microsoft.DurableTask.RetryPolicy"/>.</summary>
public static class DurableRetry
{
    /// <summary>
    /// <see cref="TaskOptions"/> retrying by <paramref name="policy"/>: the same attempts, first interval, backoff
    /// coefficient and cap (Durable Task adds no jitter). A single-attempt policy (or a zero first interval, which
    /// Durable Task does not accept) gives <c>null</c>: no retry.
    /// </summary>
    /// <param name="policy">The declared policy.</param>
    /// <returns>The options, or <c>null</c> for a single attempt.</returns>
    public static TaskOptions? ToTaskOptions(OurRetryPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.MaxAttempts <= 1 || policy.FirstRetryInterval <= TimeSpan.Zero)
        {
            return null;
        }

        var cap = policy.MaxRetryInterval > TimeSpan.Zero ? policy.MaxRetryInterval : (TimeSpan?)null;
        return TaskOptions.FromRetryPolicy(new Microsoft.DurableTask.RetryPolicy(
            policy.MaxAttempts, policy.FirstRetryInterval, Math.Max(1.0, policy.BackoffCoefficient), cap));
    }
}

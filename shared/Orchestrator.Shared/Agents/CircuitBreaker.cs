namespace Orchestrator.Shared.Agents;

/// <summary>State of one agent's circuit breaker, as <c>GET /api/queue</c> shows it.</summary>
/// <param name="State"><c>closed</c> (launching), <c>open</c> (paused until <paramref name="OpenUntil"/>) or <c>half-open</c> (one trial run allowed).</param>
/// <param name="ConsecutiveTransientFailures">Transient failures in a row.</param>
/// <param name="OpenUntil">When launches resume, while open.</param>
/// <param name="LastFailure">The last failure's reason.</param>
public sealed record BreakerSnapshot(string State, int ConsecutiveTransientFailures, DateTimeOffset? OpenUntil, string? LastFailure);

/// <summary>
/// Pauses launches for an agent after <c>threshold</c> transient failures in a row (the model API is
/// down or rate-limiting): open for <c>cooldown</c>, then one trial run (half-open); a success closes
/// it, a failure opens it again. Thread-safe; per host process.
/// </summary>
/// <param name="threshold">Failures in a row that open the breaker (≥ 1).</param>
/// <param name="cooldown">How long it stays open.</param>
/// <param name="clock">Time source.</param>
public sealed class CircuitBreaker(int threshold, TimeSpan cooldown, TimeProvider clock)
{
    private readonly Lock _gate = new();
    private int _failures;
    private DateTimeOffset? _openUntil;
    private bool _trialInFlight;
    private string? _lastFailure;

    /// <summary>Whether a run may start now; in half-open state only one trial at a time.</summary>
    /// <param name="retryAt">When to try again if not.</param>
    public bool TryAcquire(out DateTimeOffset? retryAt)
    {
        lock (_gate)
        {
            retryAt = null;
            if (_openUntil is null)
            {
                return true;
            }

            var now = clock.GetUtcNow();
            if (now < _openUntil)
            {
                retryAt = _openUntil;
                return false;
            }

            if (_trialInFlight)
            {
                retryAt = now + cooldown;
                return false;
            }

            _trialInFlight = true;
            return true;
        }
    }

    /// <summary>Records a run's outcome.</summary>
    public void Record(AgentFailureKind failure, string? reason)
    {
        lock (_gate)
        {
            _trialInFlight = false;
            if (failure == AgentFailureKind.Transient)
            {
                _failures++;
                _lastFailure = reason;
                if (_failures >= threshold)
                {
                    _openUntil = clock.GetUtcNow() + cooldown;
                }

                return;
            }

            // Success (and permanent failures, which say nothing about the API's health) close it.
            _failures = 0;
            _openUntil = null;
            if (failure == AgentFailureKind.Permanent)
            {
                _lastFailure = reason;
            }
        }
    }

    /// <summary>The current state.</summary>
    public BreakerSnapshot Snapshot()
    {
        lock (_gate)
        {
            var state = _openUntil is null ? "closed" : clock.GetUtcNow() < _openUntil ? "open" : "half-open";
            return new BreakerSnapshot(state, _failures, _openUntil, _lastFailure);
        }
    }
}

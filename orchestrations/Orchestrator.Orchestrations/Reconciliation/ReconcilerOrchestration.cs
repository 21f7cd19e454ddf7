using System.Text.Json.Serialization;
using Orchestrator.Orchestrations.Abstractions;

namespace Orchestrator.Orchestrations.Reconciliation;

/// <summary>Events of the reconciler (the Eternal pattern: sweep, then schedule the next timer).</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(ReconcilerStarted), nameof(ReconcilerStarted))]
[JsonDerivedType(typeof(SweepCompleted), nameof(SweepCompleted))]
[JsonDerivedType(typeof(ReconcilerTimerFired), nameof(ReconcilerTimerFired))]
[JsonDerivedType(typeof(ReconcilerActivityFailed), nameof(ReconcilerActivityFailed))]
public abstract record ReconcilerEvent;

/// <summary>Starts the singleton (idempotent: the host raises it at every start).</summary>
public sealed record ReconcilerStarted : ReconcilerEvent;

/// <summary>Result of the sweep activity.</summary>
/// <param name="InstancesChecked">Live instances asked to reconcile.</param>
public sealed record SweepCompleted(int InstancesChecked) : ReconcilerEvent;

/// <summary>The tick timer fired.</summary>
/// <param name="Name">Timer name.</param>
/// <param name="Key">Timer key.</param>
public sealed record ReconcilerTimerFired(string Name, string Key) : ReconcilerEvent;

/// <summary>The sweep failed for good.</summary>
/// <param name="Activity">Activity name.</param>
/// <param name="Error">Last error.</param>
public sealed record ReconcilerActivityFailed(string Activity, string Error) : ReconcilerEvent;

/// <summary>Reconciler state.</summary>
/// <param name="Ticks">Timers fired so far; part of the next timer's key.</param>
/// <param name="LastSweepCount">Instances checked by the last sweep.</param>
public sealed record ReconcilerState(long Ticks, int LastSweepCount);

/// <summary>
/// The reconciliation timer: every <paramref name="interval"/> it runs the
/// <see cref="SweepActivity"/>, which asks each live task instance to compare itself with the forge,
/// so a missed webhook heals within one interval. One instance (<see cref="InstanceId"/>) per database.
/// </summary>
public sealed class ReconcilerOrchestration(TimeSpan interval) : IOrchestration<ReconcilerState, ReconcilerEvent>
{
    /// <summary>Orchestration name.</summary>
    public const string OrchestrationName = "Reconciler";

    /// <summary>The singleton instance id.</summary>
    public const string InstanceId = "reconciler";

    /// <summary>The sweep activity's name.</summary>
    public const string SweepActivity = "ReconcileSweep";

    /// <inheritdoc />
    public string Name => OrchestrationName;

    /// <inheritdoc />
    public ReconcilerEvent ActivityFailed(string activity, string key, string error, int attempts) => new ReconcilerActivityFailed(activity, error);

    /// <inheritdoc />
    public ReconcilerEvent TimerFired(string name, string key) => new ReconcilerTimerFired(name, key);

    /// <inheritdoc />
    public Decision<ReconcilerState> Decide(ReconcilerState? state, ReconcilerEvent @event, DateTimeOffset now)
    {
        var s = state ?? new ReconcilerState(0, 0);
        return @event switch
        {
            ReconcilerStarted when state is null => Next(s, [Tick(s, now)], "Reconciler started"),
            ReconcilerTimerFired => Next(
                s with { Ticks = s.Ticks + 1 },
                [new ScheduleActivity(SweepActivity, new SweepInput(s.Ticks), $"sweep:{s.Ticks}", RetryPolicy.None), Tick(s with { Ticks = s.Ticks + 1 }, now)],
                null),
            SweepCompleted c => Next(s with { LastSweepCount = c.InstancesChecked }, [], null),
            _ => Next(s, [], null),
        };
    }

    private StartTimer Tick(ReconcilerState s, DateTimeOffset now) => new("tick", now + interval, $"tick:{s.Ticks}");

    private static Decision<ReconcilerState> Next(ReconcilerState s, IReadOnlyList<OrchestrationCommand> commands, string? summary) =>
        new(s, commands, "RUNNING", RuntimeStatus.Running, summary, []);
}

/// <summary>Input of the sweep activity.</summary>
/// <param name="Tick">Tick number; makes each sweep's event keys unique.</param>
public sealed record SweepInput(long Tick);

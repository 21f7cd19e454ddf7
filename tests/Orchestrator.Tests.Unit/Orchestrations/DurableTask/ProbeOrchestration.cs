using System.Text.Json.Serialization;
using Orchestrator.Orchestrations.Abstractions;

namespace Orchestrator.Tests.Unit.Orchestrations.DurableTask;

// A small decider that exercises every command and event kind of the Durable Task loop.
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(Begin), nameof(Begin))]
[JsonDerivedType(typeof(Ping), nameof(Ping))]
[JsonDerivedType(typeof(Worked), nameof(Worked))]
[JsonDerivedType(typeof(ProbeFailed), nameof(ProbeFailed))]
[JsonDerivedType(typeof(Fired), nameof(Fired))]
[JsonDerivedType(typeof(ChildDone), nameof(ChildDone))]
public abstract record ProbeEvent;

public sealed record Begin(string Mode, int TimerSeconds = 0) : ProbeEvent;

public sealed record Ping(int N) : ProbeEvent;

public sealed record Worked(string Output) : ProbeEvent;

public sealed record ProbeFailed(string Activity, string Key, string Error, int Attempts) : ProbeEvent;

public sealed record Fired(string Name, string Key) : ProbeEvent;

public sealed record ChildDone(string ChildId, string Status, RuntimeStatus Runtime) : ProbeEvent;

public sealed record ProbeState(string Mode, int Pings, IReadOnlyList<string> Log, DateTimeOffset StartedAt);

public sealed record WorkInput(string Tag);

public sealed class ProbeOrchestration : IOrchestration<ProbeState, ProbeEvent>, IParentOrchestration<ProbeEvent>
{
    public const string OrchestrationName = "Probe";

    public static readonly RetryPolicy ThreeQuick = new(3, TimeSpan.FromMilliseconds(50), 1.0, TimeSpan.FromMilliseconds(50));

    public string Name => OrchestrationName;

    public ProbeEvent ActivityFailed(string activity, string key, string error, int attempts) => new ProbeFailed(activity, key, error, attempts);

    public ProbeEvent TimerFired(string name, string key) => new Fired(name, key);

    public ProbeEvent ChildFinished(string childId, string childOrchestration, string customStatus, RuntimeStatus runtimeStatus, string? summary) =>
        new ChildDone(childId, customStatus, runtimeStatus);

    public Decision<ProbeState> Decide(ProbeState? state, ProbeEvent @event, DateTimeOffset now)
    {
        var s = state ?? new ProbeState("", 0, [], now);
        var log = s.Log.Append(@event.GetType().Name).ToList();
        return @event switch
        {
            Begin b when b.Mode == "twice" => D(s with { Mode = b.Mode, Log = log }, "WORKING", RuntimeStatus.Running,
                new ScheduleActivity("Work", new WorkInput("a"), "work", ThreeQuick),
                new ScheduleActivity("Work", new WorkInput("a"), "work", ThreeQuick)),
            Begin b when b.Mode == "timer" => D(s with { Mode = b.Mode, Log = log }, "WAITING", RuntimeStatus.Running,
                new StartTimer("wake", now.AddSeconds(b.TimerSeconds), "wake")),
            Begin b when b.Mode == "pings" => D(s with { Mode = b.Mode, Log = log }, "PINGS:0", RuntimeStatus.Running,
                new StartTimer("wake", now.AddSeconds(b.TimerSeconds), "wake")),
            Begin b when b.Mode == "child" => D(s with { Mode = b.Mode, Log = log }, "SPAWNING", RuntimeStatus.Running,
                new ScheduleActivity("Spawn", new WorkInput("child"), "spawn", RetryPolicy.None)),
            Begin b => D(s with { Mode = b.Mode, Log = log }, "WORKING", RuntimeStatus.Running,
                new ScheduleActivity("Work", new WorkInput(b.Mode), "work", ThreeQuick)),
            Ping p => D(s with { Pings = s.Pings + 1, Log = log }, $"PINGS:{s.Pings + 1}", RuntimeStatus.Running,
                p.N == 0 ? [new ScheduleActivity("Work", new WorkInput("ping"), "work-again", ThreeQuick)] : []),
            Worked w => D(s with { Log = log }, "WORKED:" + w.Output, RuntimeStatus.Completed),
            ProbeFailed f => D(s with { Log = log }, $"FAILED:{f.Activity}:{f.Attempts}:{f.Error}", RuntimeStatus.Failed),
            Fired f => D(s with { Log = log }, $"FIRED:{f.Name}:{s.Pings}:{(now - s.StartedAt).TotalSeconds >= 2}", RuntimeStatus.Completed),
            ChildDone c => D(s with { Log = log }, $"CHILD:{c.ChildId}:{c.Status}:{c.Runtime}", RuntimeStatus.Completed),
            _ => D(s, "?", RuntimeStatus.Running),
        };
    }

    private static Decision<ProbeState> D(ProbeState state, string status, RuntimeStatus runtime, params OrchestrationCommand[] commands) =>
        new(state, commands, status, runtime, status, [$"probe:{status}"]);
}

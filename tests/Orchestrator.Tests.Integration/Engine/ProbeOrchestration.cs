using System.Collections.Concurrent;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Shared.Engine;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Tests.Integration.Engine;

[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(Begin), nameof(Begin))]
[JsonDerivedType(typeof(Done), nameof(Done))]
[JsonDerivedType(typeof(Failed), nameof(Failed))]
[JsonDerivedType(typeof(Fired), nameof(Fired))]
[JsonDerivedType(typeof(Poke), nameof(Poke))]
[JsonDerivedType(typeof(Finish), nameof(Finish))]
[JsonDerivedType(typeof(ChildDone), nameof(ChildDone))]
public abstract record ProbeEvent;

public sealed record Begin(int Activities, string Activity, int MaxAttempts, int FirstRetrySeconds, int RetryCapSeconds, int TimerSeconds) : ProbeEvent;

public sealed record Done(string Key) : ProbeEvent;

public sealed record Failed(string Activity, string Key, string Error, int Attempts) : ProbeEvent;

public sealed record Fired(string Name, string Key) : ProbeEvent;

public sealed record Poke(int N) : ProbeEvent;

public sealed record Finish : ProbeEvent;

public sealed record ChildDone(string ChildId, string Status) : ProbeEvent;

public sealed record ProbeState(IReadOnlyList<string> Log);

/// <summary>A small orchestration that exercises every engine feature.</summary>
public sealed class ProbeOrchestration : IOrchestration<ProbeState, ProbeEvent>, IParentOrchestration<ProbeEvent>
{
    public ProbeEvent ChildFinished(string childId, string childOrchestration, string customStatus, RuntimeStatus runtimeStatus, string? summary) =>
        new ChildDone(childId, runtimeStatus.ToString());

    public string Name => "Probe";

    public ProbeEvent ActivityFailed(string activity, string key, string error, int attempts) => new Failed(activity, key, error, attempts);

    public ProbeEvent TimerFired(string name, string key) => new Fired(name, key);

    public Decision<ProbeState> Decide(ProbeState? state, ProbeEvent @event, DateTimeOffset now)
    {
        var log = state?.Log ?? [];
        var commands = new List<OrchestrationCommand>();
        string entry;
        switch (@event)
        {
            case Begin b:
                var retry = new RetryPolicy(b.MaxAttempts, TimeSpan.FromSeconds(b.FirstRetrySeconds), 2.0, TimeSpan.FromSeconds(b.RetryCapSeconds));
                for (var i = 0; i < b.Activities; i++)
                {
                    commands.Add(new ScheduleActivity(b.Activity, new ProbeInput($"a{i}"), $"a{i}", retry));
                }

                if (b.TimerSeconds > 0)
                {
                    commands.Add(new StartTimer("t", now.AddSeconds(b.TimerSeconds), "t"));
                }

                entry = "begin";
                break;
            case Done d:
                entry = $"done:{d.Key}";
                break;
            case Failed f:
                entry = $"failed:{f.Key}:{f.Attempts}";
                break;
            case Fired t:
                entry = $"fired:{t.Name}@{now:HH:mm:ss}";
                break;
            case Poke p:
                entry = $"poke:{p.N}";
                break;
            case Finish:
                return new Decision<ProbeState>(new ProbeState([.. log, "finish"]), commands, "finish", RuntimeStatus.Completed, "finish", []);
            case ChildDone c:
                entry = $"child:{c.ChildId}:{c.Status}";
                break;
            default:
                throw new InvalidOperationException();
        }

        return new Decision<ProbeState>(new ProbeState([.. log, entry]), commands, entry, RuntimeStatus.Running, entry, []);
    }
}

public sealed record ProbeInput(string Tag);

/// <summary>Returns Done(key) and counts its executions.</summary>
public sealed class CountingActivity(string name) : Activity<ProbeInput>
{
    public ConcurrentDictionary<string, int> Runs { get; } = new();

    public override string Name => name;

    protected override Task<object?> RunAsync(ActivityContext context, ProbeInput input, CancellationToken cancellationToken)
    {
        Runs.AddOrUpdate(context.InstanceId + "/" + context.Key, 1, (_, n) => n + 1);
        return Task.FromResult<object?>(context.InstanceId is null ? null : new Done(context.Key));
    }
}

/// <summary>Always fails, transiently or permanently.</summary>
public sealed class FailingActivity(string name, bool permanent) : Activity<ProbeInput>
{
    public int Calls;

    public override string Name => name;

    protected override Task<object?> RunAsync(ActivityContext context, ProbeInput input, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Calls);
        if (permanent)
        {
            throw new PermanentActivityException("bad configuration");
        }

        throw new HttpRequestException("connection refused");
    }
}

/// <summary>Defers the first N calls, then succeeds.</summary>
public sealed class DeferringActivity(string name, int deferrals) : Activity<ProbeInput>
{
    public int Calls;

    public override string Name => name;

    protected override Task<object?> RunAsync(ActivityContext context, ProbeInput input, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref Calls) <= deferrals)
        {
            throw new ActivityDeferredException(TimeSpan.FromSeconds(10), "no slot free");
        }

        return Task.FromResult<object?>(new Done(context.Key + "@" + context.Attempt));
    }
}

public static class EngineFactory
{
    public static DurableEngine Create(TestDatabase db, TimeProvider clock, OrchestrationRegistry registry, string owner, TimeSpan? lease = null) =>
        new(db.DataSource, registry, clock, new EngineOptions { OwnerId = owner, LeaseDuration = lease ?? TimeSpan.FromSeconds(30) },
            new WorkSignal(null, null), NullLogger<DurableEngine>.Instance);
}

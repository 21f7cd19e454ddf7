using System.Text.Json.Serialization;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Benchmarks;

// A minimal orchestration for the engine figure, after tests/Orchestrator.Tests.Integration/Engine/ProbeOrchestration.cs
// (copied, not referenced: the benchmark does not depend on the test project).

[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(ChainStarted), nameof(ChainStarted))]
[JsonDerivedType(typeof(LinkDone), nameof(LinkDone))]
[JsonDerivedType(typeof(LinkFailed), nameof(LinkFailed))]
[JsonDerivedType(typeof(ChainTimerFired), nameof(ChainTimerFired))]
internal abstract record ChainEvent;

/// <summary>Starts the instance: run <paramref name="Links"/> no-op activities, one after the other.</summary>
internal sealed record ChainStarted(int Links) : ChainEvent;

internal sealed record LinkDone(string Key) : ChainEvent;

internal sealed record LinkFailed(string Activity, string Key, string Error, int Attempts) : ChainEvent;

internal sealed record ChainTimerFired(string Name, string Key) : ChainEvent;

internal sealed record ChainState(int Links, int Done);

internal sealed record LinkInput(int Index);

/// <summary>
/// Start → activity 0 → activity 1 → … → Completed. A chain, like the task pipeline: each instance has at
/// most one item in the queue, so the figure measures the engine, not version conflicts between siblings.
/// </summary>
internal sealed class ChainOrchestration : IOrchestration<ChainState, ChainEvent>
{
    public const string OrchestrationName = "BenchChain";

    public string Name => OrchestrationName;

    public ChainEvent ActivityFailed(string activity, string key, string error, int attempts) => new LinkFailed(activity, key, error, attempts);

    public ChainEvent TimerFired(string name, string key) => new ChainTimerFired(name, key);

    public Decision<ChainState> Decide(ChainState? state, ChainEvent @event, DateTimeOffset now) => (state, @event) switch
    {
        (null, ChainStarted s) => Next(new ChainState(s.Links, 0)),
        (not null, LinkDone) => Next(state with { Done = state.Done + 1 }),
        (_, LinkFailed f) => new Decision<ChainState>(state ?? new ChainState(0, 0), [], "FAILED", RuntimeStatus.Failed, $"link {f.Key} failed: {f.Error}", []),
        _ => new Decision<ChainState>(state ?? new ChainState(0, 0), [], "IGNORED", RuntimeStatus.Running, null, []),
    };

    private static Decision<ChainState> Next(ChainState state) => state.Done >= state.Links
        ? new Decision<ChainState>(state, [], "DONE", RuntimeStatus.Completed, "done", [])
        : new Decision<ChainState>(state, [new ScheduleActivity(NoopActivity.ActivityName, new LinkInput(state.Done), $"link{state.Done}", RetryPolicy.None)],
            "RUNNING", RuntimeStatus.Running, $"link {state.Done}", []);
}

/// <summary>Does nothing and reports success: the engine's own cost per step is all that remains.</summary>
internal sealed class NoopActivity : Activity<LinkInput>
{
    public const string ActivityName = "BenchNoop";

    public override string Name => ActivityName;

    protected override Task<object?> RunAsync(ActivityContext context, LinkInput input, CancellationToken cancellationToken) =>
        Task.FromResult<object?>(new LinkDone(context.Key));
}

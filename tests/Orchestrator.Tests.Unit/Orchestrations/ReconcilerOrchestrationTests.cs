using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Reconciliation;

namespace Orchestrator.Tests.Unit.Orchestrations;

public sealed class ReconcilerOrchestrationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 9, 0, 0, TimeSpan.Zero);
    private readonly ReconcilerOrchestration _decider = new(TimeSpan.FromMinutes(5));

    [Fact]
    public void Start_schedules_the_first_tick()
    {
        var d = _decider.Decide(null, new ReconcilerStarted(), T0);
        var timer = Assert.Single(d.Commands.OfType<StartTimer>());
        Assert.Equal(T0.AddMinutes(5), timer.DueAt);
        Assert.Equal("tick:0", timer.Key);
    }

    [Fact]
    public void A_repeated_start_does_not_add_a_second_timer_chain()
    {
        var started = _decider.Decide(null, new ReconcilerStarted(), T0).State;
        Assert.Empty(_decider.Decide(started, new ReconcilerStarted(), T0).Commands);
    }

    [Fact]
    public void Each_tick_sweeps_and_schedules_the_next_tick()
    {
        var s = new ReconcilerState(3, 0);
        var d = _decider.Decide(s, new ReconcilerTimerFired("tick", "tick:2"), T0);

        Assert.Equal(4, d.State.Ticks);
        var sweep = Assert.Single(d.Commands.OfType<ScheduleActivity>());
        Assert.Equal(ReconcilerOrchestration.SweepActivity, sweep.Activity);
        Assert.Equal("sweep:3", sweep.Key);
        var next = Assert.Single(d.Commands.OfType<StartTimer>());
        Assert.Equal("tick:4", next.Key);
        Assert.Equal(T0.AddMinutes(5), next.DueAt);
    }

    [Fact]
    public void A_failed_sweep_keeps_the_timer_chain_alive()
    {
        var d = _decider.Decide(new ReconcilerState(3, 0), new ReconcilerActivityFailed("ReconcileSweep", "db down"), T0);
        Assert.Equal(3, d.State.Ticks);
        Assert.Empty(d.Commands); // the next tick was scheduled together with the sweep
    }
}

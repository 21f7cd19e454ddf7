namespace Orchestrator.Tests.Integration.GitHub;

/// <summary>
/// A clock whose time and timers move only when the test calls <see cref="Advance"/>, so
/// <c>Task.Delay(delay, clock, ct)</c> completes exactly when the test says.
/// </summary>
internal sealed class FakeClock(DateTimeOffset start) : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<FakeTimer> _timers = [];
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    /// <summary>Timers that are armed and not yet due.</summary>
    public int PendingTimers
    {
        get
        {
            lock (_lock)
            {
                return _timers.Count(t => t.DueAt is not null);
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new FakeTimer(this, callback, state);
        lock (_lock)
        {
            _timers.Add(timer);
        }

        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves time forward and runs the callbacks of every timer that became due (one-shot timers only).</summary>
    public void Advance(TimeSpan by)
    {
        List<FakeTimer> due;
        lock (_lock)
        {
            _now += by;
            due = _timers.Where(t => t.DueAt is { } at && at <= _now).ToList();
            foreach (var t in due)
            {
                t.DueAt = null;
            }
        }

        foreach (var t in due)
        {
            t.Fire();
        }
    }

    /// <summary>Waits (real time, bounded) until <paramref name="count"/> timers are armed: a request is parked in the limiter.</summary>
    public async Task WaitForPendingTimersAsync(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (PendingTimers < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"expected {count} pending timer(s), have {PendingTimers}");
            await Task.Delay(5);
        }
    }

    private sealed class FakeTimer(FakeClock clock, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset? DueAt { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._lock)
            {
                DueAt = dueTime == Timeout.InfiniteTimeSpan ? null : clock._now + dueTime;
            }

            if (dueTime == TimeSpan.Zero)
            {
                clock.Advance(TimeSpan.Zero);
            }

            return true;
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (clock._lock)
            {
                DueAt = null;
                clock._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

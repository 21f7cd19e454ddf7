using System.Collections.Concurrent;
using System.Text.Json;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Shared.Engine;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Tests.Integration.Engine;

public sealed class DurableEngineTests
{
    private static async Task<IReadOnlyList<string>> LogOf(TestDatabase db, string instanceId)
    {
        var json = await db.ScalarAsync<string>("SELECT state::text FROM instances WHERE id = @id", ("id", instanceId));
        return JsonSerializer.Deserialize<ProbeState>(json, EngineJson.Options)!.Log;
    }

    private static async Task DrainAsync(DurableEngine engine, string owner = "w")
    {
        while (await engine.RunOnceAsync(owner, 16, CancellationToken.None) > 0)
        {
        }
    }

    [Fact]
    public async Task Start_runs_activities_and_records_history_in_order()
    {
        await using var db = await TestDatabase.CreateAsync();
        var clock = new ManualClock();
        var ok = new CountingActivity("ok");
        var engine = EngineFactory.Create(db, clock, new OrchestrationRegistry().Add(new ProbeOrchestration()).Add(ok), "w");

        Assert.True(await engine.StartAsync("Probe", "p1", new Begin(2, "ok", 3, 1, 10, 0), "start", CancellationToken.None));
        Assert.False(await engine.StartAsync("Probe", "p1", new Begin(2, "ok", 3, 1, 10, 0), "start", CancellationToken.None));
        await DrainAsync(engine);

        var log = await LogOf(db, "p1");
        Assert.Equal("begin", log[0]);
        Assert.Equal(["done:a0", "done:a1"], log.Skip(1).Order());
        Assert.Equal(3L, await db.ScalarAsync<long>("SELECT count(*) FROM history WHERE instance_id = 'p1'"));
        Assert.Equal(3L, await db.ScalarAsync<long>("SELECT version FROM instances WHERE id = 'p1'"));
        Assert.All(ok.Runs.Values, n => Assert.Equal(1, n));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM work_items WHERE status <> 'completed'"));
    }

    [Fact]
    public async Task Raised_events_are_delivered_once_per_key()
    {
        await using var db = await TestDatabase.CreateAsync();
        var engine = EngineFactory.Create(db, new ManualClock(), new OrchestrationRegistry().Add(new ProbeOrchestration()), "w");
        await engine.StartAsync("Probe", "p1", new Begin(0, "none", 1, 1, 1, 0), "start", CancellationToken.None);

        Assert.True(await engine.RaiseEventAsync("p1", new Poke(1), "poke-1", CancellationToken.None));
        Assert.False(await engine.RaiseEventAsync("p1", new Poke(1), "poke-1", CancellationToken.None));
        Assert.False(await engine.RaiseEventAsync("missing", new Poke(1), "poke-1", CancellationToken.None));
        await DrainAsync(engine);

        Assert.Equal(["begin", "poke:1"], await LogOf(db, "p1"));
    }

    [Fact]
    public async Task Bug_an_event_key_equal_to_an_activity_key_swallowed_the_activity()
    {
        // Found end to end: the reconciler raised ReconcileRequested with key "reconcile:0" and the task
        // scheduled its ReconcileTask activity with the same key, which the queue dropped as a duplicate.
        await using var db = await TestDatabase.CreateAsync();
        var ok = new CountingActivity("ok");
        var engine = EngineFactory.Create(db, new ManualClock(), new OrchestrationRegistry().Add(new ProbeOrchestration()).Add(ok), "w");
        await engine.StartAsync("Probe", "p1", new Begin(0, "none", 1, 1, 1, 0), "start", CancellationToken.None);
        await DrainAsync(engine);

        Assert.True(await engine.RaiseEventAsync("p1", new Begin(1, "ok", 1, 1, 1, 0), "a0", CancellationToken.None));
        await DrainAsync(engine);

        Assert.Equal(["begin", "begin", "done:a0"], await LogOf(db, "p1"));
    }

    [Fact]
    public async Task Concurrent_claimers_never_run_one_item_twice()
    {
        await using var db = await TestDatabase.CreateAsync();
        var clock = new ManualClock();
        var ok = new CountingActivity("ok");
        var registry = new OrchestrationRegistry().Add(new ProbeOrchestration()).Add(ok);
        const int instances = 40;
        const int perInstance = 10;
        var setup = EngineFactory.Create(db, clock, registry, "setup");
        for (var i = 0; i < instances; i++)
        {
            await setup.StartAsync("Probe", $"p{i}", new Begin(perInstance, "ok", 3, 1, 10, 0), "start", CancellationToken.None);
        }

        for (var i = 0; i < 200; i++)
        {
            await setup.EnqueueActivityAsync(null, "ok", new ProbeInput("sys"), $"sys{i}", RetryPolicy.None, null, CancellationToken.None);
        }

        // Four "hosts" with their own owner ids race over the same queue.
        var hosts = Enumerable.Range(0, 4).Select(h => EngineFactory.Create(db, clock, registry, $"host{h}")).ToArray();
        var processed = new ConcurrentBag<int>();
        await Task.WhenAll(hosts.Select((engine, h) => Task.Run(async () =>
        {
            var idle = 0;
            while (idle < 3)
            {
                var n = await engine.RunOnceAsync($"host{h}", 8, CancellationToken.None);
                processed.Add(n);
                idle = n == 0 ? idle + 1 : 0;
            }
        })));

        Assert.Equal(instances * perInstance + 200, ok.Runs.Count);
        Assert.All(ok.Runs, run => Assert.Equal(1, run.Value));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM work_items WHERE status <> 'completed' OR attempt <> 1"));
        for (var i = 0; i < instances; i++)
        {
            var log = await LogOf(db, $"p{i}");
            Assert.Equal(perInstance + 1, log.Count);
            Assert.Equal(perInstance, log.Distinct().Count(e => e.StartsWith("done:", StringComparison.Ordinal)));
        }

        // Version = number of applied events: no lost update under concurrent completions.
        Assert.Equal((long)instances * (perInstance + 1), await db.ScalarAsync<long>("SELECT sum(version)::bigint FROM instances"));
    }

    [Fact]
    public async Task An_expired_lease_is_rescued_and_the_stale_completion_is_refused()
    {
        await using var db = await TestDatabase.CreateAsync();
        var clock = new ManualClock();
        var ok = new CountingActivity("ok");
        var registry = new OrchestrationRegistry().Add(new ProbeOrchestration()).Add(ok);
        var a = EngineFactory.Create(db, clock, registry, "A", TimeSpan.FromSeconds(30));
        var b = EngineFactory.Create(db, clock, registry, "B", TimeSpan.FromSeconds(30));
        await a.StartAsync("Probe", "p1", new Begin(1, "ok", 3, 1, 10, 0), "start", CancellationToken.None);
        await a.RunOnceAsync("A", 1, CancellationToken.None); // applies Begin → schedules a0

        var claimedByA = Assert.Single(await a.ClaimAsync("A", 10, CancellationToken.None));
        Assert.Equal(1, claimedByA.Attempt);

        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(0, await b.RescueExpiredLeasesAsync(CancellationToken.None));
        Assert.Empty(await b.ClaimAsync("B", 10, CancellationToken.None));

        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, await b.RescueExpiredLeasesAsync(CancellationToken.None));
        var claimedByB = Assert.Single(await b.ClaimAsync("B", 10, CancellationToken.None));
        Assert.Equal(2, claimedByB.Attempt);

        // A wakes up and finishes: fenced out. B's completion counts.
        Assert.Equal(WorkOutcome.Stale, await a.ProcessAsync(claimedByA, CancellationToken.None));
        Assert.False(await a.HeartbeatAsync(claimedByA, CancellationToken.None));
        Assert.Equal(WorkOutcome.Completed, await b.ProcessAsync(claimedByB, CancellationToken.None));

        Assert.Equal(["begin", "done:a0"], await LogOf(db, "p1"));
    }

    [Fact]
    public async Task Timers_fire_at_their_due_time_under_a_fake_clock()
    {
        await using var db = await TestDatabase.CreateAsync();
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 21, 9, 0, 0, TimeSpan.Zero));
        var engine = EngineFactory.Create(db, clock, new OrchestrationRegistry().Add(new ProbeOrchestration()), "w");
        await engine.StartAsync("Probe", "p1", new Begin(0, "none", 1, 1, 1, 30), "start", CancellationToken.None);
        await DrainAsync(engine);

        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(0, await engine.RunOnceAsync("w", 10, CancellationToken.None));
        Assert.Equal(["begin"], await LogOf(db, "p1"));

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await engine.RunOnceAsync("w", 10, CancellationToken.None));
        Assert.Equal(["begin", "fired:t@09:00:30"], await LogOf(db, "p1"));
    }

    [Fact]
    public async Task Backoff_grows_is_capped_and_stops_at_max_attempts_with_ActivityFailed()
    {
        await using var db = await TestDatabase.CreateAsync();
        var clock = new ManualClock();
        var flaky = new FailingActivity("flaky", permanent: false);
        var engine = EngineFactory.Create(db, clock, new OrchestrationRegistry().Add(new ProbeOrchestration()).Add(flaky), "w");
        // 4 attempts; delays 10 s, 20 s, then capped at 25 s (each ±20 % jitter).
        await engine.StartAsync("Probe", "p1", new Begin(1, "flaky", 4, 10, 25, 0), "start", CancellationToken.None);
        await engine.RunOnceAsync("w", 1, CancellationToken.None);

        var expected = new[] { 10.0, 20.0, 25.0 };
        foreach (var seconds in expected)
        {
            Assert.Equal(1, await engine.RunOnceAsync("w", 1, CancellationToken.None));
            var delay = await db.ScalarAsync<double>(
                "SELECT EXTRACT(EPOCH FROM due_at - @now)::float8 FROM work_items WHERE name = 'flaky'", ("now", clock.GetUtcNow()));
            Assert.InRange(delay, seconds * 0.8 - 0.01, seconds * 1.2 + 0.01);
            Assert.Equal(0, await engine.RunOnceAsync("w", 1, CancellationToken.None)); // not due yet
            clock.Advance(TimeSpan.FromSeconds(seconds * 1.2 + 1));
        }

        Assert.Equal(1, await engine.RunOnceAsync("w", 1, CancellationToken.None)); // 4th and last attempt
        Assert.Equal(4, flaky.Calls);
        Assert.Equal("failed", await db.ScalarAsync<string>("SELECT status FROM work_items WHERE name = 'flaky'"));
        Assert.Equal(["begin", "failed:a0:4"], await LogOf(db, "p1"));
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, await engine.RunOnceAsync("w", 1, CancellationToken.None));
    }

    [Fact]
    public async Task A_deferred_activity_waits_durably_without_using_attempts()
    {
        await using var db = await TestDatabase.CreateAsync();
        var clock = new ManualClock();
        var deferring = new DeferringActivity("slots", deferrals: 3);
        var engine = EngineFactory.Create(db, clock, new OrchestrationRegistry().Add(new ProbeOrchestration()).Add(deferring), "w");
        await engine.StartAsync("Probe", "p1", new Begin(1, "slots", 1, 1, 1, 0), "start", CancellationToken.None);
        await engine.RunOnceAsync("w", 1, CancellationToken.None);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(1, await engine.RunOnceAsync("w", 1, CancellationToken.None));
            Assert.Equal(0, await engine.RunOnceAsync("w", 1, CancellationToken.None)); // waits 10 s
            Assert.Equal("no slot free", await db.ScalarAsync<string>("SELECT last_error FROM work_items WHERE name = 'slots'"));
            clock.Advance(TimeSpan.FromSeconds(10));
        }

        // Only one attempt is allowed, and the run after three deferrals is still attempt 1.
        Assert.Equal(1, await engine.RunOnceAsync("w", 1, CancellationToken.None));
        Assert.Equal(["begin", "done:a0@1"], await LogOf(db, "p1"));
    }

    [Fact]
    public async Task A_finished_child_tells_its_parent_once()
    {
        await using var db = await TestDatabase.CreateAsync();
        var engine = EngineFactory.Create(db, new ManualClock(), new OrchestrationRegistry().Add(new ProbeOrchestration()), "w");
        await engine.StartAsync("Probe", "parent", new Begin(0, "none", 1, 1, 1, 0), "start", CancellationToken.None);
        await engine.StartAsync("Probe", "child", new Begin(0, "none", 1, 1, 1, 0), "start", "parent", CancellationToken.None);
        await DrainAsync(engine);

        await engine.RaiseEventAsync("child", new Finish(), "finish", CancellationToken.None);
        await DrainAsync(engine);
        await engine.RaiseEventAsync("child", new Poke(1), "poke", CancellationToken.None); // still Completed: no second notice
        await DrainAsync(engine);

        Assert.Equal(["begin", "child:child:Completed"], await LogOf(db, "parent"));
    }

    [Fact]
    public async Task A_permanent_error_fails_at_once()
    {
        await using var db = await TestDatabase.CreateAsync();
        var fatal = new FailingActivity("fatal", permanent: true);
        var engine = EngineFactory.Create(db, new ManualClock(), new OrchestrationRegistry().Add(new ProbeOrchestration()).Add(fatal), "w");
        await engine.StartAsync("Probe", "p1", new Begin(1, "fatal", 5, 1, 10, 0), "start", CancellationToken.None);
        await DrainAsync(engine);

        Assert.Equal(1, fatal.Calls);
        Assert.Equal(["begin", "failed:a0:1"], await LogOf(db, "p1"));
        Assert.Equal("bad configuration", await db.ScalarAsync<string>("SELECT last_error FROM work_items WHERE name = 'fatal'"));
    }

    [Fact]
    public async Task A_lease_that_expires_on_the_last_attempt_delivers_ActivityFailed()
    {
        await using var db = await TestDatabase.CreateAsync();
        var clock = new ManualClock();
        var ok = new CountingActivity("ok");
        var engine = EngineFactory.Create(db, clock, new OrchestrationRegistry().Add(new ProbeOrchestration()).Add(ok), "w", TimeSpan.FromSeconds(10));
        await engine.StartAsync("Probe", "p1", new Begin(1, "ok", 1, 1, 1, 0), "start", CancellationToken.None);
        await engine.RunOnceAsync("w", 1, CancellationToken.None);
        Assert.Single(await engine.ClaimAsync("dead-host", 1, CancellationToken.None));

        clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(1, await engine.RescueExpiredLeasesAsync(CancellationToken.None));

        Assert.Equal(["begin", "failed:a0:1"], await LogOf(db, "p1"));
        Assert.Empty(ok.Runs);
    }

    [Fact]
    public async Task Migrations_run_once_when_hosts_start_together()
    {
        await using var db = await TestDatabase.CreateAsync(migrate: false);
        var runners = Enumerable.Range(0, 4)
            .Select(_ => new MigrationRunner(db.DataSource, Microsoft.Extensions.Logging.Abstractions.NullLogger<MigrationRunner>.Instance))
            .ToArray();
        var applied = await Task.WhenAll(runners.Select(r => r.MigrateAsync(CancellationToken.None)));

        Assert.Equal(1, applied.Count(a => a.Count > 0));
        Assert.Equal(MigrationRunner.LatestVersion, await MigrationRunner.AppliedVersionAsync(db.DataSource, CancellationToken.None));
    }
}

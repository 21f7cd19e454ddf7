using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Logging;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.DurableTask;
using Orchestrator.Orchestrations.Reconciliation;
using RetryPolicy = Orchestrator.Orchestrations.Abstractions.RetryPolicy;

namespace Orchestrator.Tests.Unit.Orchestrations.DurableTask;

/// <summary>The Durable Task loop (<see cref="DurableOrchestrator{TState, TEvent}"/>) on the SDK's in-process test host: a real worker and client over gRPC, in-memory backend.</summary>
public sealed class DurableLoopTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_transient_failure_is_retried_by_the_declared_policy_and_the_result_reaches_the_decider()
    {
        var work = new ScriptedActivity(_ => throw new InvalidOperationException("flaky"), _ => throw new InvalidOperationException("flaky"));
        await using var host = await StartAsync(work);
        await host.Client.ScheduleNewOrchestrationInstanceAsync(ProbeOrchestration.OrchestrationName,
            DurableRegistration.StartInput(new Begin("retry"), "start"), new StartOrchestrationOptions("probe-1"));

        var status = await WaitForStatusAsync(host.Client, "probe-1", s => s.Status.StartsWith("WORKED", StringComparison.Ordinal));

        Assert.Equal("WORKED:retry", status.Status);
        Assert.Equal(RuntimeStatus.Completed, status.RuntimeStatus);
        Assert.Equal(3, work.Calls.Count);
        Assert.All(work.Calls, c => Assert.Equal("probe-1", c.InstanceId));
        Assert.Equal("retry", JsonSerializer.Deserialize<WorkInput>(work.Calls[0].InputJson, OrchestrationJson.Options)!.Tag);
    }

    [Fact]
    public async Task Retries_exhausted_deliver_the_deciders_activity_failed_event_with_the_attempts()
    {
        var work = new ScriptedActivity(Enumerable.Repeat<Func<ActivityCall, ActivityOutcome>>(_ => throw new InvalidOperationException("still down"), 5).ToArray());
        await using var host = await StartAsync(work);
        await host.Client.ScheduleNewOrchestrationInstanceAsync(ProbeOrchestration.OrchestrationName,
            DurableRegistration.StartInput(new Begin("exhaust"), "start"), new StartOrchestrationOptions("probe-2"));

        var status = await WaitForStatusAsync(host.Client, "probe-2", s => s.Status.StartsWith("FAILED", StringComparison.Ordinal));

        Assert.Equal("FAILED:Work:3:still down", status.Status);
        Assert.Equal(RuntimeStatus.Failed, status.RuntimeStatus);
        Assert.Equal(3, work.Calls.Count);
    }

    [Fact]
    public async Task A_permanent_error_fails_at_once_and_a_deferral_waits_without_spending_an_attempt()
    {
        var permanent = new ScriptedActivity(_ => new ActivityOutcome(null, PermanentError: "401 bad token"));
        await using (var host = await StartAsync(permanent))
        {
            await host.Client.ScheduleNewOrchestrationInstanceAsync(ProbeOrchestration.OrchestrationName,
                DurableRegistration.StartInput(new Begin("perm"), "start"), new StartOrchestrationOptions("probe-3"));
            var failed = await WaitForStatusAsync(host.Client, "probe-3", s => s.Status.StartsWith("FAILED", StringComparison.Ordinal));
            Assert.Equal("FAILED:Work:1:401 bad token", failed.Status);
            Assert.Single(permanent.Calls);
        }

        var deferred = new ScriptedActivity(_ => new ActivityOutcome(null, DeferMilliseconds: 1500), _ => new ActivityOutcome(null, DeferMilliseconds: 1));
        await using (var host = await StartAsync(deferred))
        {
            await host.Client.ScheduleNewOrchestrationInstanceAsync(ProbeOrchestration.OrchestrationName,
                DurableRegistration.StartInput(new Begin("defer"), "start"), new StartOrchestrationOptions("probe-4"));
            var worked = await WaitForStatusAsync(host.Client, "probe-4", s => s.Status.StartsWith("WORKED", StringComparison.Ordinal));
            Assert.Equal("WORKED:defer", worked.Status);
            Assert.Equal(3, deferred.Calls.Count);
            Assert.True(deferred.CalledAt[1] - deferred.CalledAt[0] >= TimeSpan.FromSeconds(1.4), "the second call waited out the deferral on a durable timer");
        }
    }

    [Fact]
    public async Task A_command_key_runs_once_and_a_repeated_event_key_is_ignored()
    {
        var work = new ScriptedActivity();
        await using var host = await StartAsync(work);
        await host.Client.ScheduleNewOrchestrationInstanceAsync(ProbeOrchestration.OrchestrationName,
            DurableRegistration.StartInput(new Begin("twice"), "start"), new StartOrchestrationOptions("probe-5"));
        await WaitForStatusAsync(host.Client, "probe-5", s => s.Status == "WORKED:a");
        Assert.Single(work.Calls);

        // Ping 0 asks for "work-again" (a new key): one more call. The same delivery key twice is applied once.
        await host.Client.RaiseEventAsync("probe-5", DurableNames.EventName, EventEnvelope.For(new Ping(0), "delivery-1"));
        await host.Client.RaiseEventAsync("probe-5", DurableNames.EventName, EventEnvelope.For(new Ping(0), "delivery-1"));
        await WaitForStatusAsync(host.Client, "probe-5", s => s.Status == "WORKED:ping");
        await host.Client.RaiseEventAsync("probe-5", DurableNames.EventName, EventEnvelope.For(new Ping(1), "delivery-2"));
        var status = await WaitForStatusAsync(host.Client, "probe-5", s => s.Status.StartsWith("PINGS", StringComparison.Ordinal));
        Assert.Equal("PINGS:2", status.Status);
        Assert.Equal(2, work.Calls.Count);
        var metadata = await host.Client.GetInstanceAsync("probe-5", getInputsAndOutputs: true);
        Assert.Equal(OrchestrationRuntimeStatus.Running, metadata!.RuntimeStatus); // Completed in the decider once, still listening here.
    }

    [Fact]
    public async Task History_is_bounded_by_continue_as_new_carrying_state_and_the_pending_timer()
    {
        await using var host = await StartAsync(new ScriptedActivity(), new DurableLoopOptions { MaxEventsPerGeneration = 3 });
        await host.Client.ScheduleNewOrchestrationInstanceAsync(ProbeOrchestration.OrchestrationName,
            DurableRegistration.StartInput(new Begin("pings", TimerSeconds: 4), "start"), new StartOrchestrationOptions("probe-6"));
        await WaitForStatusAsync(host.Client, "probe-6", s => s.Status == "PINGS:0");
        for (var n = 1; n <= 10; n++)
        {
            await host.Client.RaiseEventAsync("probe-6", DurableNames.EventName, EventEnvelope.For(new Ping(n), $"ping-{n}"));
        }

        // The timer started in the first generation fires after its due time (three generations later), with every ping counted.
        var fired = await WaitForStatusAsync(host.Client, "probe-6", s => s.Status.StartsWith("FIRED", StringComparison.Ordinal));
        Assert.Equal("FIRED:wake:10:True", fired.Status);
        var metadata = await host.Client.GetInstanceAsync("probe-6", getInputsAndOutputs: true);
        var input = metadata!.ReadInputAs<DurableInstanceInput>()!;
        Assert.Null(input.Start); // A later generation: started from the carried state, not the start event.
        Assert.Contains("\"pings\":", input.StateJson);
        Assert.Contains("event|ping-1", input.SeenKeys);
    }

    [Fact]
    public async Task A_child_that_finishes_tells_its_parent()
    {
        var holder = new ClientHolder();
        var spawn = new ScriptedActivity(call =>
        {
            var child = call.InstanceId + ":child";
            holder.Client!.ScheduleNewOrchestrationInstanceAsync(ProbeOrchestration.OrchestrationName,
                DurableRegistration.StartInput(new Begin("kid"), "start", parentId: call.InstanceId), new StartOrchestrationOptions(child)).GetAwaiter().GetResult();
            return new ActivityOutcome(null);
        });
        await using var host = await StartAsync(new ScriptedActivity(), spawn: spawn);
        holder.Client = host.Client;
        await host.Client.ScheduleNewOrchestrationInstanceAsync(ProbeOrchestration.OrchestrationName,
            DurableRegistration.StartInput(new Begin("child"), "start"), new StartOrchestrationOptions("probe-7"));

        var status = await WaitForStatusAsync(host.Client, "probe-7", s => s.Status.StartsWith("CHILD", StringComparison.Ordinal));

        Assert.Equal("CHILD:probe-7:child:WORKED:kid:Completed", status.Status);
    }

    [Fact]
    public async Task Every_changed_step_reaches_the_step_activity_with_its_new_correlation_keys()
    {
        var steps = new ConcurrentQueue<StepRecord>();
        await using var host = await StartAsync(new ScriptedActivity(), new DurableLoopOptions { StepActivity = "RecordStep" },
            extra: r => r.AddActivityFunc<StepRecord>("RecordStep", (_, record) => steps.Enqueue(record)));
        await host.Client.ScheduleNewOrchestrationInstanceAsync(ProbeOrchestration.OrchestrationName,
            DurableRegistration.StartInput(new Begin("steps"), "start", origin: EventOrigin.FromWebhook(EventSources.Tracker, "d-1")), new StartOrchestrationOptions("probe-8"));
        await WaitForStatusAsync(host.Client, "probe-8", s => s.Status == "WORKED:steps");
        await WaitUntilAsync(() => steps.Count >= 2);

        var recorded = steps.ToArray();
        Assert.Equal(["Begin", "Worked"], recorded.Select(r => r.EventType));
        Assert.Equal(["probe:WORKING"], recorded[0].NewCorrelationKeys);
        Assert.Equal("d-1", recorded[0].Origin.DeliveryId);
        Assert.Equal(EventSources.System, recorded[1].Origin.Source);
        Assert.Equal(RuntimeStatus.Completed, recorded[1].RuntimeStatus);
    }

    [Fact]
    public async Task The_reconciler_decider_runs_as_an_eternal_orchestration_across_generations()
    {
        var sweeps = new ConcurrentQueue<long>();
        var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning));
        await using var host = await DurableTaskTestHost.StartAsync(registry =>
        {
            registry.AddDecider(new ReconcilerOrchestration(TimeSpan.FromMilliseconds(200)), new DurableLoopOptions { MaxEventsPerGeneration = 4 });
            registry.AddActivityFunc<ActivityCall, ActivityOutcome>(ReconcilerOrchestration.SweepActivity, (_, call) =>
            {
                var tick = JsonSerializer.Deserialize<SweepInput>(call.InputJson, OrchestrationJson.Options)!.Tick;
                sweeps.Enqueue(tick);
                return new ActivityOutcome(OrchestrationJson.SerializeEvent(new SweepCompleted((int)tick)));
            });
        }, new DurableTaskTestHostOptions { LoggerFactory = loggers });
        await host.Client.ScheduleNewOrchestrationInstanceAsync(ReconcilerOrchestration.OrchestrationName,
            DurableRegistration.StartInput(new ReconcilerStarted(), "start"), new StartOrchestrationOptions(ReconcilerOrchestration.InstanceId));

        await WaitUntilAsync(() => sweeps.Count >= 6);

        Assert.Equal([0L, 1, 2, 3, 4, 5], sweeps.Take(6)); // One sweep per tick, none repeated across ContinueAsNew.
        var input = (await host.Client.GetInstanceAsync(ReconcilerOrchestration.InstanceId, getInputsAndOutputs: true))!.ReadInputAs<DurableInstanceInput>()!;
        Assert.Null(input.Start);
        Assert.Single(input.Timers); // The next tick, carried into the new generation.
    }

    [Fact]
    public void Our_retry_policy_maps_to_durable_tasks_with_the_same_numbers()
    {
        var options = DurableRetry.ToTaskOptions(RetryPolicy.ExternalApi)!;
        var policy = options.Retry!.Policy!;
        Assert.Equal(6, policy.MaxNumberOfAttempts);
        Assert.Equal(TimeSpan.FromSeconds(5), policy.FirstRetryInterval);
        Assert.Equal(2.0, policy.BackoffCoefficient);
        Assert.Equal(TimeSpan.FromMinutes(5), policy.MaxRetryInterval);
        Assert.Null(DurableRetry.ToTaskOptions(RetryPolicy.None));
    }

    private static async Task<DurableTaskTestHost> StartAsync(ScriptedActivity work, DurableLoopOptions? options = null, ScriptedActivity? spawn = null, Action<DurableTaskRegistry>? extra = null)
    {
        var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning));
        return await DurableTaskTestHost.StartAsync(registry =>
        {
            registry.AddDecider(new ProbeOrchestration(), options);
            registry.AddActivity("Work", work);
            registry.AddActivity("Spawn", spawn ?? new ScriptedActivity());
            extra?.Invoke(registry);
        }, new DurableTaskTestHostOptions { LoggerFactory = loggers });
    }

    private static async Task<DurableStatus> WaitForStatusAsync(DurableTaskClient client, string instanceId, Func<DurableStatus, bool> done)
    {
        var deadline = DateTime.UtcNow + Patience;
        DurableStatus? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var metadata = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true);
            if (metadata?.SerializedCustomStatus is not null)
            {
                last = metadata.ReadCustomStatusAs<DurableStatus>();
                if (last is not null && done(last))
                {
                    return last;
                }
            }

            Assert.False(metadata?.RuntimeStatus is OrchestrationRuntimeStatus.Failed, metadata?.FailureDetails?.ToString());
            await Task.Delay(50);
        }

        throw new TimeoutException($"{instanceId} did not reach the expected status; last {last}");
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(50);
        }
    }

    private sealed class ClientHolder
    {
        public DurableTaskClient? Client { get; set; }
    }

    /// <summary>An activity whose calls follow a script (then succeed with <see cref="Worked"/> of the input's tag).</summary>
    private sealed class ScriptedActivity(params Func<ActivityCall, ActivityOutcome>[] script) : TaskActivity<ActivityCall, ActivityOutcome>
    {
        private readonly ConcurrentQueue<Func<ActivityCall, ActivityOutcome>> _script = new(script);
        private readonly Lock _lock = new();

        public List<ActivityCall> Calls { get; } = [];

        public List<DateTime> CalledAt { get; } = [];

        public override Task<ActivityOutcome> RunAsync(TaskActivityContext context, ActivityCall input)
        {
            lock (_lock)
            {
                Calls.Add(input);
                CalledAt.Add(DateTime.UtcNow);
            }

            if (_script.TryDequeue(out var step))
            {
                return Task.FromResult(step(input));
            }

            var tag = JsonSerializer.Deserialize<WorkInput>(input.InputJson, OrchestrationJson.Options)!.Tag;
            return Task.FromResult(new ActivityOutcome(OrchestrationJson.SerializeEvent(new Worked(tag))));
        }
    }
}

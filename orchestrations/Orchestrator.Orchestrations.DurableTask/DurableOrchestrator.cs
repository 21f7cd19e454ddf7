using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using Orchestrator.Orchestrations.Abstractions;

namespace Orchestrator.Orchestrations.DurableTask;

/// <summary>
/// One pure decider (<see cref="IOrchestration{TState, TEvent}"/>) as a Durable Task orchestrator: a loop that feeds
/// each event to <c>Decide(state, event, now)</c> and performs the decision's commands through the
/// <see cref="TaskOrchestrationContext"/> —
/// <list type="bullet">
/// <item><see cref="ScheduleActivity"/> → <c>CallActivityAsync</c> with an <see cref="ActivityCall"/> and the declared
/// retry policy (<see cref="DurableRetry"/>); the <see cref="ActivityOutcome"/>'s event goes back to the decider, a
/// failure for good becomes the decider's activity-failed event, a deferral a durable timer and a new call;</item>
/// <item><see cref="StartTimer"/> → <c>CreateTimer</c> (CI polling is the Monitor pattern: each check schedules the next timer);</item>
/// <item>webhook and API events → <c>WaitForExternalEvent</c> of <see cref="DurableNames.EventName"/> carrying an
/// <see cref="EventEnvelope"/>, de-duplicated by its key;</item>
/// <item>the custom status → <c>SetCustomStatus</c> (<see cref="DurableStatus"/>); a child reaching a final status →
/// <c>SendEvent</c> to its parent (<see cref="ChildNews"/>);</item>
/// <item>bounded history → <c>ContinueAsNew</c> carrying the decider state, timers and remembered keys.</item>
/// </list>
/// A decider's Completed or Failed status does not end the Durable Task instance: the deciders still accept events
/// (retries, late webhooks, red CI after a deploy), so the instance keeps waiting. Time is
/// <c>context.CurrentUtcDateTime</c> (whole milliseconds, as the PostgreSQL engine stores it); nothing here reads a
/// clock, the environment or does I/O (Microsoft.DurableTask.Analyzers checks this project).
/// </summary>
/// <typeparam name="TState">Decider state.</typeparam>
/// <typeparam name="TEvent">Decider event base type.</typeparam>
/// <param name="decider">The decider.</param>
/// <param name="options">Loop options.</param>
public sealed class DurableOrchestrator<TState, TEvent>(IOrchestration<TState, TEvent> decider, DurableLoopOptions options)
    : TaskOrchestrator<DurableInstanceInput?, string?>
    where TState : class
    where TEvent : class
{
    /// <inheritdoc />
    public override Task<string?> RunAsync(TaskOrchestrationContext context, DurableInstanceInput? input)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new Loop(context, decider, options, input ?? new DurableInstanceInput()).RunAsync();
    }

    private sealed class Loop
    {
        private readonly TaskOrchestrationContext _context;
        private readonly IOrchestration<TState, TEvent> _decider;
        private readonly DurableLoopOptions _options;
        private readonly string? _parentId;
        private readonly List<Pending> _pending = [];
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
        private readonly Queue<string> _seenOrder = new();
        private readonly HashSet<string> _correlation = new(StringComparer.Ordinal);
        private readonly List<string> _correlationOrder = [];
        private readonly EventEnvelope? _start;
        private readonly IReadOnlyList<CarriedTimer> _carriedTimers;
        private TState? _state;
        private string _customStatus;
        private RuntimeStatus _runtime;
        private string? _summary;
        private int _finalGenerations;
        private int _applied;

        public Loop(TaskOrchestrationContext context, IOrchestration<TState, TEvent> decider, DurableLoopOptions options, DurableInstanceInput input)
        {
            _context = context;
            _decider = decider;
            _options = options;
            _parentId = input.ParentId;
            _state = input.StateJson is null ? null : JsonSerializer.Deserialize<TState>(input.StateJson, OrchestrationJson.Options);
            _customStatus = input.CustomStatus;
            _runtime = input.RuntimeStatus;
            _summary = input.Summary;
            _finalGenerations = input.FinalGenerations;
            _start = input.Start;
            _carriedTimers = input.Timers;
            foreach (var key in input.SeenKeys)
            {
                Remember(key);
            }

            foreach (var key in input.CorrelationKeys)
            {
                if (_correlation.Add(key))
                {
                    _correlationOrder.Add(key);
                }
            }
        }

        public async Task<string?> RunAsync()
        {
            foreach (var timer in _carriedTimers)
            {
                AddTimer(timer);
            }

            if (_start is not null)
            {
                await HandleAsync(_start);
            }
            else if (_state is not null)
            {
                PublishStatus();
            }

            var external = _context.WaitForExternalEvent<EventEnvelope>(DurableNames.EventName);
            while (true)
            {
                if (_applied >= _options.MaxEventsPerGeneration && !external.IsCompleted
                    && _pending.TrueForAll(p => p is TimerItem && !p.Task.IsCompleted))
                {
                    _context.ContinueAsNew(NextInput(), preserveUnprocessedEvents: true);
                    return null;
                }

                var tasks = new List<Task>(_pending.Count + 1) { external };
                tasks.AddRange(_pending.Select(p => p.Task));
                var done = await Task.WhenAny(tasks);
                if (done == external)
                {
                    var envelope = await external;
                    external = _context.WaitForExternalEvent<EventEnvelope>(DurableNames.EventName);
                    await HandleAsync(envelope);
                    continue;
                }

                var item = _pending.First(p => p.Task == done);
                _pending.Remove(item);
                await CompleteAsync(item);
            }
        }

        private async Task HandleAsync(EventEnvelope envelope)
        {
            if (envelope.Child is { } child)
            {
                if (_decider is IParentOrchestration<TEvent> parent && Remember($"child|{child.ChildId}|{child.Generation}"))
                {
                    await ApplyAsync(parent.ChildFinished(child.ChildId, child.Orchestration, child.CustomStatus, child.RuntimeStatus, child.Summary), EventOrigin.FromSystem);
                }

                return;
            }

            if (envelope.EventJson is null || (envelope.Key is { } key && !Remember("event|" + key)))
            {
                return; // A repeated delivery: the first one was applied.
            }

            TEvent? @event;
            try
            {
                @event = JsonSerializer.Deserialize<TEvent>(envelope.EventJson, OrchestrationJson.Options);
            }
            catch (JsonException ex)
            {
                _context.CreateReplaySafeLogger(typeof(DurableOrchestrator<TState, TEvent>)).LogError("Instance {InstanceId}: an event that is not a {Orchestration} event was dropped ({Error})", _context.InstanceId, _decider.Name, ex.Message);
                return;
            }

            if (@event is not null)
            {
                await ApplyAsync(@event, envelope.Origin ?? EventOrigin.FromSystem);
            }
        }

        private async Task CompleteAsync(Pending item)
        {
            switch (item)
            {
                case ActivityItem activity:
                    ActivityOutcome outcome;
                    try
                    {
                        outcome = await activity.Outcome;
                    }
                    catch (TaskFailedException ex)
                    {
                        await ApplyAsync(_decider.ActivityFailed(activity.Call.Activity, activity.Call.Key, ex.FailureDetails.ErrorMessage, Math.Max(1, activity.Call.Retry.MaxAttempts)), EventOrigin.FromSystem);
                        return;
                    }

                    if (outcome.DeferMilliseconds is { } wait)
                    {
                        AddTimer(new CarriedTimer("defer:" + activity.Call.Activity, activity.Call.Key, Now().AddMilliseconds(Math.Max(0, wait)), activity.Call));
                    }
                    else if (outcome.PermanentError is { } error)
                    {
                        await ApplyAsync(_decider.ActivityFailed(activity.Call.Activity, activity.Call.Key, error, 1), EventOrigin.FromSystem);
                    }
                    else if (outcome.EventJson is { } json && JsonSerializer.Deserialize<TEvent>(json, OrchestrationJson.Options) is { } result)
                    {
                        await ApplyAsync(result, EventOrigin.FromSystem);
                    }

                    return;
                case TimerItem timer:
                    await timer.Task;
                    if (timer.Timer.Deferred is { } call)
                    {
                        CallActivity(call);
                    }
                    else
                    {
                        await ApplyAsync(_decider.TimerFired(timer.Timer.Name, timer.Timer.Key), EventOrigin.FromSystem);
                    }

                    return;
            }
        }

        private async Task ApplyAsync(TEvent @event, EventOrigin origin)
        {
            var now = Now();
            var runtimeBefore = _runtime;
            var statusBefore = _customStatus;
            var stateBefore = _state is null ? null : JsonSerializer.Serialize(_state, OrchestrationJson.Options);
            var decision = _decider.Decide(_state, @event, now);
            _state = decision.State;
            _applied++;
            var added = new List<string>();
            foreach (var key in decision.CorrelationKeys)
            {
                if (_correlation.Add(key))
                {
                    _correlationOrder.Add(key);
                    added.Add(key);
                }
            }

            _customStatus = decision.CustomStatus;
            _runtime = decision.RuntimeStatus;
            _summary = decision.Summary ?? _summary;
            PublishStatus();

            // The step is recorded before its commands run, as the engine commits a step before its work is claimed:
            // an activity that reads the instance's state or correlation keys from the host sees this step.
            var stateAfter = JsonSerializer.Serialize(_state, OrchestrationJson.Options);
            var changed = added.Count > 0 || decision.Summary is not null || statusBefore != _customStatus || runtimeBefore != _runtime || stateBefore != stateAfter;
            if (changed && _options.StepActivity is { } stepActivity)
            {
                var record = new StepRecord(_context.InstanceId, _decider.Name, _parentId, @event.GetType().Name, _customStatus, _runtime,
                    decision.Summary, added, origin, now)
                {
                    StateJson = stateAfter,
                    EventJson = OrchestrationJson.SerializeEvent(@event),
                };
                try
                {
                    await _context.CallActivityAsync(stepActivity, record, _options.StepRetry);
                }
                catch (TaskFailedException ex)
                {
                    // The step itself is durable here; only the host's copy of it failed. The commands still run.
                    _context.CreateReplaySafeLogger(typeof(DurableOrchestrator<TState, TEvent>)).LogWarning(
                        "Instance {InstanceId}: recording a step failed for good: {Error}", _context.InstanceId, ex.FailureDetails.ErrorMessage);
                }
            }

            foreach (var command in decision.Commands)
            {
                switch (command)
                {
                    case ScheduleActivity a when Remember("activity|" + a.Key):
                        CallActivity(new DeferredCall(a.Activity, a.Key, JsonSerializer.Serialize(a.Input, a.Input.GetType(), OrchestrationJson.Options), a.Retry));
                        break;
                    case StartTimer t when Remember("timer|" + t.Key):
                        AddTimer(new CarriedTimer(t.Name, t.Key, t.DueAt));
                        break;
                    case ScheduleActivity or StartTimer:
                        break; // The key was used before: the engine ignores such a command too.
                    default:
                        throw new NotSupportedException($"Unknown command {command.GetType().Name}.");
                }
            }

            var finished = _runtime is RuntimeStatus.Completed or RuntimeStatus.Failed;
            if (finished && runtimeBefore != _runtime)
            {
                _finalGenerations++;
                if (_parentId is not null)
                {
                    _context.SendEvent(_parentId, DurableNames.EventName,
                        new EventEnvelope(null, null, null, new ChildNews(_context.InstanceId, _decider.Name, _customStatus, _runtime, decision.Summary, _finalGenerations)));
                }
            }
        }

        private void PublishStatus() => _context.SetCustomStatus(new DurableStatus(_customStatus, _runtime, _summary));

        private void CallActivity(DeferredCall call)
        {
            var outcome = _context.CallActivityAsync<ActivityOutcome>(call.Activity, new ActivityCall(_context.InstanceId, call.Key, call.InputJson), DurableRetry.ToTaskOptions(call.Retry));
            _pending.Add(new ActivityItem(call, outcome));
        }

        private void AddTimer(CarriedTimer timer) =>
            _pending.Add(new TimerItem(timer, _context.CreateTimer(timer.DueAt.UtcDateTime, CancellationToken.None)));

        private DateTimeOffset Now()
        {
            var utc = DateTime.SpecifyKind(_context.CurrentUtcDateTime, DateTimeKind.Utc);
            return DateTimeOffset.FromUnixTimeMilliseconds(new DateTimeOffset(utc).ToUnixTimeMilliseconds());
        }

        private bool Remember(string key)
        {
            if (!_seen.Add(key))
            {
                return false;
            }

            _seenOrder.Enqueue(key);
            while (_seenOrder.Count > Math.Max(1, _options.MaxRememberedKeys))
            {
                _seen.Remove(_seenOrder.Dequeue());
            }

            return true;
        }

        private DurableInstanceInput NextInput() => new()
        {
            ParentId = _parentId,
            StateJson = _state is null ? null : JsonSerializer.Serialize(_state, OrchestrationJson.Options),
            CustomStatus = _customStatus,
            RuntimeStatus = _runtime,
            Summary = _summary,
            FinalGenerations = _finalGenerations,
            Timers = _pending.OfType<TimerItem>().Select(t => t.Timer).ToList(),
            SeenKeys = _seenOrder.ToList(),
            CorrelationKeys = _correlationOrder.ToList(),
        };
    }

    private abstract record Pending(Task Task);

    private sealed record ActivityItem(DeferredCall Call, Task<ActivityOutcome> Outcome) : Pending(Outcome);

    private sealed record TimerItem(CarriedTimer Timer, Task Timer2) : Pending(Timer2);

}

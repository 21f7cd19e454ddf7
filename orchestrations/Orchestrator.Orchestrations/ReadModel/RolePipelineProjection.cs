using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Pipelines;

namespace Orchestrator.Orchestrations.ReadModel;

/// <summary>
/// What a role pipeline step (the <c>roles-&lt;task&gt;</c> child of a task in mode <c>run</c>) tells its parent task's
/// timeline, as a pure function over the difference between two <see cref="RolePipelineState"/>s: a stage's agent
/// started, an agent run finished (outcome, tokens, cost, duration), a stage's gate decided, an activity failed. The
/// task's own status changes come from the parent's steps (<see cref="TaskProjection"/>). Agent output, prompts and
/// findings are never copied: only names, numbers and clipped one-line reasons.
/// </summary>
public static class RolePipelineProjection
{
    /// <summary>Projects one applied role pipeline step onto its task.</summary>
    /// <param name="taskId">The parent task's instance id.</param>
    /// <param name="before">State before the step; <c>null</c> for the first.</param>
    /// <param name="after">State after the step.</param>
    /// <param name="cause">The event the step applied.</param>
    /// <param name="origin">Who raised it.</param>
    /// <param name="now">The step's time.</param>
    /// <returns>Events to append to the task (project slug taken from the task row by the writer).</returns>
    public static IReadOnlyList<TaskEventRecord> Project(string taskId, RolePipelineState? before, RolePipelineState after, RolePipelineEvent cause, EventOrigin origin, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(taskId);
        ArgumentNullException.ThrowIfNull(after);
        ArgumentNullException.ThrowIfNull(cause);
        ArgumentNullException.ThrowIfNull(origin);
        var events = new List<TaskEventRecord>();
        void Add(string type, params (string Key, object? Value)[] fields)
        {
            var summary = new Dictionary<string, object>(StringComparer.Ordinal);
            foreach (var (key, value) in fields)
            {
                if (value is not null)
                {
                    summary[key] = value is string text ? TaskProjection.Clip(text) : value;
                }
            }

            events.Add(new TaskEventRecord(taskId, null, origin.Source, type, origin.Actor, summary, origin.DeliveryId, now));
        }

        // In the order things happened within the step: a run ended, its stage's gate decided, the next stage started.
        var runsBefore = before?.Runs ?? [];
        for (var i = 0; i < after.Runs.Count; i++)
        {
            var run = after.Runs[i];
            if (run.FinishedAt is not null && (i >= runsBefore.Count || runsBefore[i].FinishedAt is null))
            {
                Add(TaskEventTypes.AgentRun, ("stage", run.Stage), ("agent", run.Agent), ("round", run.Round), ("succeeded", run.Succeeded),
                    ("tokens_in", run.TokensIn), ("tokens_out", run.TokensOut), ("cost_usd", run.CostUsd),
                    ("duration_ms", run.Duration is { } d ? (long)d.TotalMilliseconds : null), ("failure", run.FailureReason));
            }
        }

        var gatesBefore = before?.Gates.Count ?? 0;
        foreach (var gate in after.Gates.Skip(gatesBefore))
        {
            Add(TaskEventTypes.StageFinished, ("stage", gate.Stage), ("outcome", gate.Outcome.ToString().ToLowerInvariant()),
                ("verdict", gate.Verdict), ("reason", gate.Reason), ("round", gate.Round));
        }

        foreach (var run in after.Runs.Skip(runsBefore.Count).Where(r => r.FinishedAt is null))
        {
            Add(TaskEventTypes.StageStarted, ("stage", run.Stage), ("agent", run.Agent), ("round", run.Round), ("execution", run.Execution));
        }

        if (cause is PipelineActivityFailed f)
        {
            Add(TaskEventTypes.Error, ("activity", f.Activity), ("attempts", f.Attempts), ("error", f.Error));
        }

        return events;
    }
}

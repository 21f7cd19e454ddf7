using Npgsql;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Shared.ReadModel;

/// <summary>
/// The engine hook of the task pipeline (<see cref="TaskPipelineOrchestration"/>): every applied step upserts the
/// task's <c>tasks</c> row and appends its <c>task_events</c> (<see cref="TaskProjection"/>), in the step's transaction.
/// </summary>
public sealed class TaskStepProjection : IStepProjection
{
    /// <inheritdoc />
    public IEnumerable<NpgsqlBatchCommand> Project(StepContext step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var result = TaskProjection.Project(step.StateBefore as TaskState, (TaskState)step.StateAfter, (TaskEvent)step.Event, step.EventType, step.Origin, step.Now);
        yield return ReadModelWriter.Upsert(result.Row);
        foreach (var e in result.Events)
        {
            yield return ReadModelWriter.Append(e);
        }
    }
}

/// <summary>
/// The engine hook of the role pipeline (<see cref="RolePipelineOrchestration"/>, the <c>roles-&lt;task&gt;</c> child of a
/// task in mode <c>run</c>): stage, agent-run and gate facts are appended to the parent task's <c>task_events</c>
/// (<see cref="RolePipelineProjection"/>). A child without a parent (never started that way) writes nothing.
/// </summary>
public sealed class RolePipelineStepProjection : IStepProjection
{
    /// <inheritdoc />
    public IEnumerable<NpgsqlBatchCommand> Project(StepContext step)
    {
        ArgumentNullException.ThrowIfNull(step);
        if (step.ParentId is not { } taskId)
        {
            return [];
        }

        return RolePipelineProjection
            .Project(taskId, step.StateBefore as RolePipelineState, (RolePipelineState)step.StateAfter, (RolePipelineEvent)step.Event, step.Origin, step.Now)
            .Select(ReadModelWriter.Append)
            .ToList();
    }
}

using Microsoft.DurableTask;
using Npgsql;
using Orchestrator.Orchestrations.DurableTask;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Orchestrations.Reconciliation;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Functions.DurableTask;

/// <summary>Registers the deciders and the shared activities with a Durable Task worker.</summary>
public static class DurableTaskSetup
{
    /// <summary>The loop options both the Functions app and the tests use: steps recorded by <see cref="RecordStepActivity"/>.</summary>
    public static DurableLoopOptions LoopOptions { get; } = new() { StepActivity = RecordStepActivity.ActivityName };

    /// <summary>
    /// Adds the task pipeline, the role pipeline and the reconciler as orchestrators, every activity of
    /// <paramref name="activities"/> as a <see cref="DurableTaskActivity"/> and the step recorder.
    /// </summary>
    /// <param name="registry">The worker's registry.</param>
    /// <param name="pipeline">Task pipeline settings (CI poll interval and timeout).</param>
    /// <param name="reconcileInterval">The reconciler's interval.</param>
    /// <param name="activities">The shared activities (resolved from the host's services).</param>
    /// <param name="dataSource">The orchestrator's database.</param>
    /// <param name="options">Loop options; <see cref="LoopOptions"/> when <c>null</c>.</param>
    /// <returns>The registry.</returns>
    public static DurableTaskRegistry AddOrchestrator(this DurableTaskRegistry registry, TaskPipelineSettings pipeline, TimeSpan reconcileInterval,
        IEnumerable<IActivity> activities, NpgsqlDataSource dataSource, DurableLoopOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(activities);
        var loop = options ?? LoopOptions;
        registry.AddDecider(new TaskPipelineOrchestration(pipeline), loop);
        registry.AddDecider(new RolePipelineOrchestration(), loop);
        registry.AddDecider(new ReconcilerOrchestration(reconcileInterval), loop);
        foreach (var activity in activities)
        {
            registry.AddActivity(activity.Name, new DurableTaskActivity(activity));
        }

        registry.AddActivity(RecordStepActivity.ActivityName, new RecordStepActivity(dataSource));
        return registry;
    }
}

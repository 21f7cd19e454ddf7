using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Npgsql;
using Orchestrator.Functions.DurableTask;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.DurableTask;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Orchestrations.Reconciliation;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;

namespace Orchestrator.AzureFunctions;

/// <summary>
/// The orchestration-trigger functions (each one decider in the <see cref="DurableOrchestrator{TState, TEvent}"/>
/// loop, with the step recorder) and the reconciliation timer.
/// </summary>
/// <param name="settings">The orchestrator's settings (CI poll interval and timeout).</param>
/// <param name="catalog">The shared activities.</param>
/// <param name="dataSource">The orchestrator's database.</param>
public sealed class OrchestrationFunctions(OrchestratorSettings settings, ActivityCatalog catalog, NpgsqlDataSource dataSource)
{
    /// <summary>The reconciliation schedule (NCRONTAB with seconds): every five minutes.</summary>
    public const string ReconcileSchedule = "0 */5 * * * *";

    /// <summary>The task pipeline.</summary>
    /// <param name="context">The orchestration context.</param>
    /// <returns>Nothing: the instance keeps listening, then continues as new.</returns>
    [Function(TaskPipelineOrchestration.OrchestrationName)]
    public Task<string?> TaskPipeline([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new DurableOrchestrator<TaskState, TaskEvent>(new TaskPipelineOrchestration(new TaskPipelineSettings(settings.CiPollInterval, settings.CiTimeout)), DurableTaskSetup.LoopOptions)
            .RunAsync(context, context.GetInput<DurableInstanceInput>());
    }

    /// <summary>The role pipeline (a child of a task).</summary>
    /// <param name="context">The orchestration context.</param>
    /// <returns>Nothing.</returns>
    [Function(RolePipelineOrchestration.OrchestrationName)]
    public Task<string?> RolePipeline([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new DurableOrchestrator<RolePipelineState, RolePipelineEvent>(new RolePipelineOrchestration(), DurableTaskSetup.LoopOptions)
            .RunAsync(context, context.GetInput<DurableInstanceInput>());
    }

    /// <summary>
    /// Every five minutes: asks each live task to compare itself with the forge (the reconciler's sweep activity, run
    /// here directly; the eternal <c>Reconciler</c> orchestration is not needed on Functions).
    /// </summary>
    /// <param name="timer">The timer.</param>
    /// <param name="client">The Durable Task client.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    [Function("ReconcileTimer")]
    public async Task ReconcileTimer([TimerTrigger(ReconcileSchedule)] TimerInfo timer, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken)
    {
        // The tick is the five-minute slot: a repeated firing in the same slot raises nothing new (event keys repeat).
        var tick = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 300;
        using var scope = AmbientOrchestrationClient.Use(new DurableTaskOrchestrationClient(client, dataSource));
        using var input = JsonDocument.Parse(JsonSerializer.Serialize(new SweepInput(tick), OrchestrationJson.Options));
        await catalog.Activity(ReconcilerOrchestration.SweepActivity).RunAsync(new ActivityContext(null, $"timer-sweep:{tick}", 1, 0), input.RootElement, cancellationToken);
    }
}

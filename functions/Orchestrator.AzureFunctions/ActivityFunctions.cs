using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Npgsql;
using Orchestrator.Functions.DurableTask;
using Orchestrator.Orchestrations.DurableTask;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Orchestrations.Reconciliation;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;

namespace Orchestrator.AzureFunctions;

/// <summary>
/// One activity-trigger function per shared activity, each delegating to the same <see cref="IActivity"/> object the
/// self-hosted host runs (through <see cref="DurableTaskActivity"/>), with the invocation's Durable Task client as the
/// <see cref="IOrchestrationClient"/> of activities that start or signal instances; and the step recorder.
/// </summary>
/// <param name="catalog">The shared activities by name.</param>
/// <param name="dataSource">The orchestrator's database.</param>
public sealed class ActivityFunctions(ActivityCatalog catalog, NpgsqlDataSource dataSource)
{
    /// <summary>Activity trigger of <c>PrepareTaskSpec</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(TaskActivities.PrepareTaskSpec)]
    public Task<ActivityOutcome> PrepareTaskSpec([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(TaskActivities.PrepareTaskSpec, call, client);

    /// <summary>Activity trigger of <c>EnsureForgeIssue</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(TaskActivities.EnsureForgeIssue)]
    public Task<ActivityOutcome> EnsureForgeIssue([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(TaskActivities.EnsureForgeIssue, call, client);

    /// <summary>Activity trigger of <c>EnsureTrackerComment</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(TaskActivities.EnsureTrackerComment)]
    public Task<ActivityOutcome> EnsureTrackerComment([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(TaskActivities.EnsureTrackerComment, call, client);

    /// <summary>Activity trigger of <c>EnsureForgeComment</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(TaskActivities.EnsureForgeComment)]
    public Task<ActivityOutcome> EnsureForgeComment([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(TaskActivities.EnsureForgeComment, call, client);

    /// <summary>Activity trigger of <c>CheckCi</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(TaskActivities.CheckCi)]
    public Task<ActivityOutcome> CheckCi([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(TaskActivities.CheckCi, call, client);

    /// <summary>Activity trigger of <c>CompleteTrackerItem</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(TaskActivities.CompleteTrackerItem)]
    public Task<ActivityOutcome> CompleteTrackerItem([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(TaskActivities.CompleteTrackerItem, call, client);

    /// <summary>Activity trigger of <c>ReconcileTask</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(TaskActivities.ReconcileTask)]
    public Task<ActivityOutcome> ReconcileTask([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(TaskActivities.ReconcileTask, call, client);

    /// <summary>Activity trigger of <c>StartRolePipeline</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(TaskActivities.StartRolePipeline)]
    public Task<ActivityOutcome> StartRolePipeline([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(TaskActivities.StartRolePipeline, call, client);

    /// <summary>Activity trigger of <c>RetryRolePipeline</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(TaskActivities.RetryRolePipeline)]
    public Task<ActivityOutcome> RetryRolePipeline([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(TaskActivities.RetryRolePipeline, call, client);

    /// <summary>Activity trigger of <c>StopRolePipeline</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(TaskActivities.StopRolePipeline)]
    public Task<ActivityOutcome> StopRolePipeline([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(TaskActivities.StopRolePipeline, call, client);

    /// <summary>Activity trigger of <c>SetForgeLabel</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(TaskActivities.SetForgeLabel)]
    public Task<ActivityOutcome> SetForgeLabel([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(TaskActivities.SetForgeLabel, call, client);

    /// <summary>Activity trigger of <c>CloseForgeIssue</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(TaskActivities.CloseForgeIssue)]
    public Task<ActivityOutcome> CloseForgeIssue([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(TaskActivities.CloseForgeIssue, call, client);

    /// <summary>Activity trigger of <c>ReopenTrackerItem</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(TaskActivities.ReopenTrackerItem)]
    public Task<ActivityOutcome> ReopenTrackerItem([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(TaskActivities.ReopenTrackerItem, call, client);

    /// <summary>Activity trigger of <c>RunStageAgent</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(RolePipelineActivities.RunStageAgent)]
    public Task<ActivityOutcome> RunStageAgent([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(RolePipelineActivities.RunStageAgent, call, client);

    /// <summary>Activity trigger of <c>CheckStageGate</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(RolePipelineActivities.CheckStageGate)]
    public Task<ActivityOutcome> CheckStageGate([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(RolePipelineActivities.CheckStageGate, call, client);

    /// <summary>Activity trigger of <c>CheckStageCi</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(RolePipelineActivities.CheckStageCi)]
    public Task<ActivityOutcome> CheckStageCi([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(RolePipelineActivities.CheckStageCi, call, client);

    /// <summary>Activity trigger of <c>PostStageComment</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(RolePipelineActivities.PostStageComment)]
    public Task<ActivityOutcome> PostStageComment([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(RolePipelineActivities.PostStageComment, call, client);

    /// <summary>Activity trigger of <c>PostEscalationComment</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(RolePipelineActivities.PostEscalationComment)]
    public Task<ActivityOutcome> PostEscalationComment([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(RolePipelineActivities.PostEscalationComment, call, client);

    /// <summary>Activity trigger of <c>CheckApproval</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(RolePipelineActivities.CheckApproval)]
    public Task<ActivityOutcome> CheckApproval([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(RolePipelineActivities.CheckApproval, call, client);

    /// <summary>Activity trigger of <c>ReconcileSweep</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(ReconcilerOrchestration.SweepActivity)]
    public Task<ActivityOutcome> ReconcileSweep([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(ReconcilerOrchestration.SweepActivity, call, client);

    /// <summary>Activity trigger of <c>RouteDelivery</c>.</summary>
    /// <param name="call">The loop's call.</param>
    /// <param name="client">The invocation's Durable Task client.</param>
    /// <returns>The outcome.</returns>
    [Function(InboxStore.RouteActivity)]
    public Task<ActivityOutcome> RouteDelivery([ActivityTrigger] ActivityCall call, [DurableClient] DurableTaskClient client) => RunAsync(InboxStore.RouteActivity, call, client);

    /// <summary>Activity trigger of the loop's step recorder (<see cref="RecordStepActivity"/>).</summary>
    /// <param name="step">The step.</param>
    /// <returns><c>true</c>.</returns>
    [Function(RecordStepActivity.ActivityName)]
    public Task<bool> RecordStep([ActivityTrigger] StepRecord step) => new RecordStepActivity(dataSource).RecordAsync(step);

    private async Task<ActivityOutcome> RunAsync(string name, ActivityCall call, DurableTaskClient client)
    {
        using var scope = AmbientOrchestrationClient.Use(new DurableTaskOrchestrationClient(client, dataSource));
        return await catalog.Get(name).RunAsync(call);
    }
}

/// <summary>The shared activities registered in the app's services, by name, each wrapped once in a <see cref="DurableTaskActivity"/>.</summary>
/// <param name="activities">Every registered <see cref="IActivity"/>.</param>
public sealed class ActivityCatalog(IEnumerable<IActivity> activities)
{
    private readonly Dictionary<string, IActivity> _byName = activities.ToDictionary(a => a.Name, StringComparer.Ordinal);

    /// <summary>The activity called <paramref name="name"/>.</summary>
    /// <param name="name">Activity name.</param>
    /// <returns>Its Durable Task adapter.</returns>
    /// <exception cref="KeyNotFoundException">No such activity is registered.</exception>
    public DurableTaskActivity Get(string name) => new(Activity(name));

    /// <summary>The shared activity called <paramref name="name"/>.</summary>
    /// <param name="name">Activity name.</param>
    /// <returns>The activity.</returns>
    /// <exception cref="KeyNotFoundException">No such activity is registered.</exception>
    public IActivity Activity(string name) =>
        _byName.TryGetValue(name, out var activity) ? activity : throw new KeyNotFoundException($"Activity '{name}' is not registered in this app.");
}

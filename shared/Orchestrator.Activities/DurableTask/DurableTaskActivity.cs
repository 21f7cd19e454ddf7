using System.Text.Json;
using Microsoft.DurableTask;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.DurableTask;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Functions.DurableTask;

/// <summary>
/// One shared <see cref="IActivity"/> as a Durable Task <see cref="TaskActivity{TInput, TOutput}"/>: the same class the
/// PostgreSQL engine runs. Its result event goes back as <see cref="ActivityOutcome.EventJson"/>; a failure that no
/// retry can fix (<see cref="DurableEngine.Classify"/> says permanent) and a deferral
/// (<see cref="ActivityDeferredException"/>) are outcomes, not exceptions, so Durable Task spends no retry on them;
/// every other exception is thrown and retried by the calling command's policy.
/// </summary>
/// <param name="activity">The shared activity.</param>
public sealed class DurableTaskActivity(IActivity activity) : TaskActivity<ActivityCall, ActivityOutcome>
{
    /// <summary>The activity's registered name.</summary>
    public string Name => activity.Name;

    /// <inheritdoc />
    public override Task<ActivityOutcome> RunAsync(TaskActivityContext context, ActivityCall input) => RunAsync(input);

    /// <summary>Runs the activity for one call (what an activity-trigger function delegates to).</summary>
    /// <param name="input">The call.</param>
    /// <returns>The outcome; a transient failure is thrown.</returns>
    public async Task<ActivityOutcome> RunAsync(ActivityCall input)
    {
        ArgumentNullException.ThrowIfNull(input);
        object? result;
        try
        {
            using var document = JsonDocument.Parse(input.InputJson);

            // Durable Task does not tell an activity its attempt number; 1 is what the engine passes on a first try.
            result = await activity.RunAsync(new ActivityContext(input.InstanceId, input.Key, 1, 0), document.RootElement, CancellationToken.None);
        }
        catch (ActivityDeferredException deferred)
        {
            return new ActivityOutcome(null, DeferMilliseconds: (long)Math.Max(0, deferred.Delay.TotalMilliseconds));
        }
        catch (Exception ex) when (!DurableEngine.Classify(ex).Transient)
        {
            return new ActivityOutcome(null, PermanentError: ex.Message);
        }

        return new ActivityOutcome(result is null ? null : OrchestrationJson.SerializeEvent(result));
    }
}

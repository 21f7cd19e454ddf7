using Microsoft.DurableTask;

namespace Orchestrator.Orchestrations.DurableTask;

/// <summary>How the Durable Task loop bounds its history and reports its steps.</summary>
public sealed record DurableLoopOptions
{
    /// <summary>
    /// Events applied in one generation before the loop calls <c>ContinueAsNew</c> carrying the decider state, once no
    /// activity is in flight (replay cost grows with history). Default 50.
    /// </summary>
    public int MaxEventsPerGeneration { get; init; } = 50;

    /// <summary>Command and event keys remembered for de-duplication (oldest dropped first). Default 1,000.</summary>
    public int MaxRememberedKeys { get; init; } = 1000;

    /// <summary>
    /// The activity called with a <see cref="StepRecord"/> after every step that changes the state, adds correlation
    /// keys, changes the status or writes a timeline line, awaited before the step's commands run (a host's copy of the
    /// instance for its activities, routing and read model); <c>null</c> for none.
    /// </summary>
    public string? StepActivity { get; init; }

    /// <summary>The retry policy of the step-record activity.</summary>
    public TaskOptions? StepRetry { get; init; } = DurableRetry.ToTaskOptions(Abstractions.RetryPolicy.ExternalApi);
}

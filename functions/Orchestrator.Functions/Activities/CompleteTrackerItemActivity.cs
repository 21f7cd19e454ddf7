using System.Collections.Concurrent;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Plane;

namespace Orchestrator.Functions.Activities;

/// <summary>Plane project states, cached for ten minutes per project (state ids are never hard-coded).</summary>
public sealed class PlaneStateCache(IPlaneClient plane, TimeProvider clock)
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(10);
    private readonly ConcurrentDictionary<string, (DateTimeOffset At, IReadOnlyList<PlaneState> States)> _cache = new();

    /// <summary>The project's states, from cache when fresh.</summary>
    public async Task<IReadOnlyList<PlaneState>> GetAsync(string projectId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (_cache.TryGetValue(projectId, out var hit) && now - hit.At < Ttl)
        {
            return hit.States;
        }

        var states = await plane.ListStatesAsync(projectId, cancellationToken);
        _cache[projectId] = (now, states);
        return states;
    }
}

/// <summary>Moves the Plane work item to the project's state whose group is <c>completed</c>.</summary>
public sealed class CompleteTrackerItemActivity(IPlaneClient plane, PlaneStateCache states) : Activity<CompleteTrackerItemInput>
{
    /// <inheritdoc />
    public override string Name => TaskActivities.CompleteTrackerItem;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, CompleteTrackerItemInput input, CancellationToken cancellationToken)
    {
        var done = (await states.GetAsync(input.ProjectId, cancellationToken)).FirstOrDefault(s => s.Group == "completed")
            ?? throw new PermanentActivityException($"Plane project {input.ProjectId} has no state in the 'completed' group; add one (e.g. 'Done').");
        await plane.UpdateWorkItemStateAsync(input.ProjectId, input.WorkItemId, done.Id, cancellationToken);
        return new TrackerCompleted(done.Name);
    }
}

using Orchestrator.Functions.Platforms;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.TaskSpecs;

namespace Orchestrator.Functions.Activities;

/// <summary>
/// Fetches the work item from the tracker when the delivery lacked fields (description, labels, state,
/// sequence id), then builds the TaskSpec → <see cref="TaskSpecBuilt"/> or <see cref="TaskSpecRejected"/>.
/// </summary>
public sealed class PrepareTaskSpecActivity(PlatformRegistry platforms) : Activity<PrepareTaskSpecInput>
{
    /// <inheritdoc />
    public override string Name => TaskActivities.PrepareTaskSpec;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, PrepareTaskSpecInput input, CancellationToken cancellationToken)
    {
        var item = input.Item;
        if (item.DescriptionHtml is null || item.Name is null || item.SequenceId is null || item.Labels is null || item.StateGroup is null
            || context.Key != "spec:0")
        {
            // Missing fields, or a rebuild (round > 0): read the item as it is now.
            var tracker = (await platforms.ForTaskAsync(input.Project, cancellationToken)).Tracker;
            item = await tracker.GetItemAsync(input.Project.TrackerProjectId, item.WorkItemId, cancellationToken);
        }

        var taskKey = $"{input.Project.WorkItemPrefix}-{item.SequenceId}";
        var spec = TaskSpecBuilder.Build(new TaskSpecInput(taskKey, item.Name, item.DescriptionHtml, null));
        return spec.IsValid
            ? new TaskSpecBuilt(taskKey, item.Name!.Trim(), spec.Markdown!, item)
            : new TaskSpecRejected(taskKey, spec.Missing, item);
    }
}

using Orchestrator.Functions.Platforms;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Knowledge;
using Orchestrator.Shared.Projects;
using Orchestrator.Shared.TaskSpecs;

namespace Orchestrator.Functions.Activities;

/// <summary>
/// Fetches the work item from the tracker when the delivery lacked fields (description, labels, state,
/// sequence id), then builds the TaskSpec → <see cref="TaskSpecBuilt"/> or <see cref="TaskSpecRejected"/>. The project's
/// links, contacts and notes (<see cref="KnowledgeStore"/>, the web tool's knowledge page) become its "Project context"
/// section, as they are when the TaskSpec is built.
/// </summary>
public sealed class PrepareTaskSpecActivity(PlatformRegistry platforms, ProjectStore projects, KnowledgeStore knowledge) : Activity<PrepareTaskSpecInput>
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
        var projectContext = await ProjectContextAsync(input.Project, cancellationToken);
        var spec = TaskSpecBuilder.Build(new TaskSpecInput(taskKey, item.Name, item.DescriptionHtml, null, projectContext));
        return spec.IsValid
            ? new TaskSpecBuilt(taskKey, item.Name!.Trim(), spec.Markdown!, item)
            : new TaskSpecRejected(taskKey, spec.Missing, item);
    }

    /// <summary>The knowledge of the task's project; none when the project is gone (tasks started before projects lived in the database carry only the tracker project id).</summary>
    private async Task<ProjectContext?> ProjectContextAsync(TaskProject project, CancellationToken cancellationToken)
    {
        var slug = project.ProjectSlug
            ?? (await projects.FindByTrackerProjectAsync(project.Tracker, project.TrackerProjectId, cancellationToken))?.Slug;
        return slug is null ? null : (await knowledge.GetAsync(slug, cancellationToken)).ToTaskSpecContext();
    }
}

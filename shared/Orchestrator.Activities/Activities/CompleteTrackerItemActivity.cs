using Orchestrator.Functions.Platforms;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.GitHub;

namespace Orchestrator.Functions.Activities;

/// <summary>
/// Completes the tracker item (Plane: the project's state of group <c>completed</c>; Asana: <c>completed: true</c>)
/// → <see cref="TrackerCompleted"/>, saying whether we completed it or a person already had.
/// </summary>
public sealed class CompleteTrackerItemActivity(PlatformRegistry platforms) : Activity<CompleteTrackerItemInput>
{
    /// <inheritdoc />
    public override string Name => TaskActivities.CompleteTrackerItem;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, CompleteTrackerItemInput input, CancellationToken cancellationToken)
    {
        var (_, project) = await platforms.ForInstanceAsync(context.InstanceId, cancellationToken);
        var (state, byUs) = await project.Tracker.CompleteAsync(input.ProjectId, input.WorkItemId, cancellationToken);
        return new TrackerCompleted(state, byUs);
    }
}

/// <summary>Reopens a tracker item we completed, after CI on the merge commit failed later → <see cref="TrackerReopened"/>.</summary>
public sealed class ReopenTrackerItemActivity(PlatformRegistry platforms) : Activity<ReopenTrackerItemInput>
{
    /// <inheritdoc />
    public override string Name => TaskActivities.ReopenTrackerItem;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, ReopenTrackerItemInput input, CancellationToken cancellationToken)
    {
        var (_, project) = await platforms.ForInstanceAsync(context.InstanceId, cancellationToken);
        return new TrackerReopened(await project.Tracker.ReopenAsync(input.ProjectId, input.WorkItemId, cancellationToken));
    }
}

/// <summary>Adds or removes a label on the forge issue (e.g. <c>auto-disabled</c>) → <see cref="ForgeLabelSet"/>. Idempotent on both forges.</summary>
public sealed class SetForgeLabelActivity(PlatformRegistry platforms) : Activity<SetForgeLabelInput>
{
    /// <inheritdoc />
    public override string Name => TaskActivities.SetForgeLabel;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, SetForgeLabelInput input, CancellationToken cancellationToken)
    {
        var (_, project) = await platforms.ForInstanceAsync(context.InstanceId, cancellationToken);
        var repo = RepoRef.Parse(input.Repo);
        if (input.Present)
        {
            await project.Forge.AddLabelAsync(repo, input.IssueNumber, input.Label, cancellationToken);
        }
        else
        {
            await project.Forge.RemoveLabelAsync(repo, input.IssueNumber, input.Label, cancellationToken);
        }

        return new ForgeLabelSet(input.Label, input.Present);
    }
}

/// <summary>Closes the forge issue as not planned (the tracker cancelled the task) → <see cref="ForgeIssueClosed"/>.</summary>
public sealed class CloseForgeIssueActivity(PlatformRegistry platforms) : Activity<CloseForgeIssueInput>
{
    /// <inheritdoc />
    public override string Name => TaskActivities.CloseForgeIssue;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, CloseForgeIssueInput input, CancellationToken cancellationToken)
    {
        var (_, project) = await platforms.ForInstanceAsync(context.InstanceId, cancellationToken);
        var issue = await project.Forge.CloseIssueAsNotPlannedAsync(RepoRef.Parse(input.Repo), input.IssueNumber, cancellationToken);
        return new ForgeIssueClosed(issue.Number);
    }
}

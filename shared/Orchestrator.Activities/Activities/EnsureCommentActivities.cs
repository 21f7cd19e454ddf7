using Orchestrator.Functions.Platforms;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.GitHub;

namespace Orchestrator.Functions.Activities;

/// <summary>
/// Posts a tracker comment once: Plane comments carry <c>external_id = &lt;instance&gt;:&lt;key&gt;</c>
/// (and <c>external_source = orchestrator</c>); Asana stories a short reference derived from it.
/// </summary>
public sealed class EnsureTrackerCommentActivity(PlatformRegistry platforms) : Activity<EnsureTrackerCommentInput>
{
    /// <inheritdoc />
    public override string Name => TaskActivities.EnsureTrackerComment;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, EnsureTrackerCommentInput input, CancellationToken cancellationToken)
    {
        var (_, project) = await platforms.ForInstanceAsync(context.InstanceId, cancellationToken);
        var outcome = await project.Tracker.EnsureCommentAsync(input.ProjectId, input.WorkItemId, $"{context.InstanceId}:{input.Key}", input.Html, cancellationToken);
        return new CommentEnsured(project.Tracker.Kind, input.Key, outcome == CommentOutcome.Created, outcome == CommentOutcome.ItemGone);
    }
}

/// <summary>Posts a forge issue comment once, found again by a hidden marker in its body.</summary>
public sealed class EnsureForgeCommentActivity(PlatformRegistry platforms) : Activity<EnsureForgeCommentInput>
{
    /// <inheritdoc />
    public override string Name => TaskActivities.EnsureForgeComment;

    /// <summary>The hidden marker of a comment.</summary>
    public static string Marker(string? instanceId, string key) => $"<!-- orchestrator:comment={instanceId}:{key} -->";

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, EnsureForgeCommentInput input, CancellationToken cancellationToken)
    {
        var (_, project) = await platforms.ForInstanceAsync(context.InstanceId, cancellationToken);
        var github = project.Forge;
        var repo = RepoRef.Parse(input.Repo);
        var marker = Marker(context.InstanceId, input.Key);
        var comments = await github.ListIssueCommentsAsync(repo, input.IssueNumber, cancellationToken);
        if (comments.Any(c => c.Body.Contains(marker, StringComparison.Ordinal)))
        {
            return new CommentEnsured(project.Project.Forge.Kind, input.Key, Created: false);
        }

        await github.CreateIssueCommentAsync(repo, input.IssueNumber, $"{input.Markdown}\n\n{marker}", cancellationToken);
        return new CommentEnsured(project.Project.Forge.Kind, input.Key, Created: true);
    }
}

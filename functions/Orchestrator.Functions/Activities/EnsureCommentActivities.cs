using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Plane;

namespace Orchestrator.Functions.Activities;

/// <summary>
/// Posts a Plane comment once: the comment carries <c>external_id = &lt;instance&gt;:&lt;key&gt;</c>
/// (and <c>external_source = orchestrator</c>), and is only created when no comment has that id.
/// </summary>
public sealed class EnsureTrackerCommentActivity(IPlaneClient plane) : Activity<EnsureTrackerCommentInput>
{
    /// <inheritdoc />
    public override string Name => TaskActivities.EnsureTrackerComment;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, EnsureTrackerCommentInput input, CancellationToken cancellationToken)
    {
        var externalId = $"{context.InstanceId}:{input.Key}";
        var comments = await plane.ListCommentsAsync(input.ProjectId, input.WorkItemId, cancellationToken);
        if (comments.Any(c => c.ExternalId == externalId))
        {
            return new CommentEnsured("plane", input.Key, Created: false);
        }

        await plane.CreateCommentAsync(input.ProjectId, input.WorkItemId, input.Html, externalId, cancellationToken);
        return new CommentEnsured("plane", input.Key, Created: true);
    }
}

/// <summary>Posts a GitHub issue comment once, found again by a hidden marker in its body.</summary>
public sealed class EnsureForgeCommentActivity(IGitHubClient github) : Activity<EnsureForgeCommentInput>
{
    /// <inheritdoc />
    public override string Name => TaskActivities.EnsureForgeComment;

    /// <summary>The hidden marker of a comment.</summary>
    public static string Marker(string? instanceId, string key) => $"<!-- orchestrator:comment={instanceId}:{key} -->";

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, EnsureForgeCommentInput input, CancellationToken cancellationToken)
    {
        var repo = RepoRef.Parse(input.Repo);
        var marker = Marker(context.InstanceId, input.Key);
        var comments = await github.ListIssueCommentsAsync(repo, input.IssueNumber, cancellationToken);
        if (comments.Any(c => c.Body.Contains(marker, StringComparison.Ordinal)))
        {
            return new CommentEnsured("github", input.Key, Created: false);
        }

        await github.CreateIssueCommentAsync(repo, input.IssueNumber, $"{input.Markdown}\n\n{marker}", cancellationToken);
        return new CommentEnsured("github", input.Key, Created: true);
    }
}

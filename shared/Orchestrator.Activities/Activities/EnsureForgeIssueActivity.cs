using Orchestrator.Functions.Platforms;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.GitHub;

namespace Orchestrator.Functions.Activities;

/// <summary>
/// Ensures the forge issue exists exactly once: looks for our hidden marker among the repository's
/// most recent issues (the search API lags, so it is not used), and creates the issue only when none
/// carries it. Body: TaskSpec, marker, then the agent command alone on the last line.
/// </summary>
public sealed class EnsureForgeIssueActivity(PlatformRegistry platforms) : Activity<EnsureForgeIssueInput>
{
    /// <summary>How many recent issues are searched for the marker.</summary>
    public const int RecentIssues = 100;

    /// <inheritdoc />
    public override string Name => TaskActivities.EnsureForgeIssue;

    /// <summary>The hidden marker for an instance.</summary>
    public static string Marker(string instanceId) => $"<!-- orchestrator:task={instanceId} -->";

    /// <summary>The issue body: TaskSpec, marker, then the agent command (if any) on its own last line.</summary>
    public static string Body(string taskSpec, string instanceId, string? agentCommand) =>
        string.IsNullOrWhiteSpace(agentCommand)
            ? $"{taskSpec.TrimEnd()}\n\n{Marker(instanceId)}"
            : $"{taskSpec.TrimEnd()}\n\n{Marker(instanceId)}\n\n{agentCommand.Trim()}";

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, EnsureForgeIssueInput input, CancellationToken cancellationToken)
    {
        var instanceId = context.InstanceId ?? throw new PermanentActivityException("EnsureForgeIssue needs an instance.");
        var (_, project) = await platforms.ForInstanceAsync(instanceId, cancellationToken);
        var github = project.Forge;
        var repo = RepoRef.Parse(input.Repo);
        var marker = Marker(instanceId);
        var existing = (await github.ListRecentIssuesAsync(repo, RecentIssues, cancellationToken))
            .FirstOrDefault(i => i.Body?.Contains(marker, StringComparison.Ordinal) == true);
        if (existing is not null)
        {
            return new IssueEnsured(existing.Number, existing.HtmlUrl, Created: false);
        }

        var created = await github.CreateIssueAsync(repo, input.Title, Body(input.TaskSpec, instanceId, input.AgentCommand), cancellationToken);
        return new IssueEnsured(created.Number, created.HtmlUrl, Created: true);
    }
}

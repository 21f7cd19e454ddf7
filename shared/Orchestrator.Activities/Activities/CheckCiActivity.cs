using Orchestrator.Functions.Platforms;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.GitHub;

namespace Orchestrator.Functions.Activities;

/// <summary>
/// Reads every check suite and Actions workflow run of a commit and reduces them to one outcome:
/// any failing conclusion → Failure; anything not completed, or nothing at all → Pending; else
/// Success. Check suites without check runs are skipped: GitHub creates one for every installed app
/// with checks permission and leaves it <c>queued</c> forever.
/// </summary>
public sealed class CheckCiActivity(PlatformRegistry platforms) : Activity<CheckCiInput>
{
    /// <inheritdoc />
    public override string Name => TaskActivities.CheckCi;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, CheckCiInput input, CancellationToken cancellationToken)
    {
        var (_, project) = await platforms.ForInstanceAsync(context.InstanceId, cancellationToken);
        return await CheckAsync(project.Forge, RepoRef.Parse(input.Repo), input.Sha, cancellationToken);
    }

    /// <summary>The aggregate check, shared with reconciliation.</summary>
    public static async Task<CiChecked> CheckAsync(IGitHubClient github, RepoRef repo, string sha, CancellationToken cancellationToken)
    {
        var suites = (await github.ListCheckSuitesAsync(repo, sha, cancellationToken)).Where(s => s.LatestCheckRunsCount > 0).ToArray();
        var runs = await github.ListWorkflowRunsAsync(repo, sha, cancellationToken);
        var checks = suites.Select(s => (Name: s.AppSlug ?? $"suite {s.Id}", s.Status, s.Conclusion, Url: (string?)null))
            .Concat(runs.Select(r => (Name: r.Name ?? $"run {r.Id}", r.Status, r.Conclusion, Url: (string?)r.HtmlUrl)))
            .ToArray();
        if (checks.Length == 0)
        {
            return new CiChecked(sha, CiOutcome.Pending, "no CI has reported for this commit yet", null);
        }

        var failed = checks.Where(c => c.Status == "completed" && CiConclusions.IsFailure(c.Conclusion)).ToArray();
        if (failed.Length > 0)
        {
            return new CiChecked(sha, CiOutcome.Failure, string.Join(", ", failed.Select(f => $"{f.Name}: {f.Conclusion}")),
                failed.Select(f => f.Url).FirstOrDefault(u => u is not null));
        }

        var done = checks.Count(c => c.Status == "completed" && CiConclusions.IsSuccess(c.Conclusion));
        return done == checks.Length
            ? new CiChecked(sha, CiOutcome.Success, $"{done} of {checks.Length} checks passed", runs.Select(r => r.HtmlUrl).FirstOrDefault())
            : new CiChecked(sha, CiOutcome.Pending, $"{done} of {checks.Length} checks finished", null);
    }
}

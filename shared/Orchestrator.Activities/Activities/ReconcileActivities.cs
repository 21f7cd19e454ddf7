using Orchestrator.Functions.Platforms;
using Orchestrator.Orchestrations.Reconciliation;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.GitHub;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Functions.Activities;

/// <summary>
/// Compares one task with GitHub and reports what it finds as events: a PR that closes the issue
/// (open → linked; merged → merged with its SHA; the linked PR closed unmerged → closed), and, while
/// waiting for CI, the aggregate CI result of the merge commit.
/// </summary>
public sealed class ReconcileTaskActivity(PlatformRegistry platforms) : Activity<ReconcileTaskInput>
{
    /// <summary>How many recently updated PRs are read.</summary>
    public const int RecentPullRequests = 100;

    /// <inheritdoc />
    public override string Name => TaskActivities.ReconcileTask;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, ReconcileTaskInput input, CancellationToken cancellationToken)
    {
        var (_, project) = await platforms.ForInstanceAsync(context.InstanceId, cancellationToken);
        var github = project.Forge;
        var repo = RepoRef.Parse(input.Repo);
        var findings = new List<TaskEvent>();
        if (input.Status == TaskStatus.WAITING_CI && input.MergeSha is { } sha)
        {
            findings.Add(await CheckCiActivity.CheckAsync(github, RepoRef.Parse(input.PrRepo ?? input.Repo), sha, cancellationToken));
            return new Reconciled(findings);
        }

        var prs = await github.ListRecentPullRequestsAsync(repo, RecentPullRequests, cancellationToken);
        var closing = prs.Where(pr => ClosingKeywords.Parse(pr.Body, repo)
            .Any(r => r.Number == input.IssueNumber && string.Equals(r.Repo.FullName, input.Repo, StringComparison.OrdinalIgnoreCase))).ToArray();

        if (input.PrNumber is { } current && closing.All(pr => pr.Number != current))
        {
            // The linked PR no longer references the issue in the recent list: read it directly.
            if (await github.GetPullRequestAsync(RepoRef.Parse(input.PrRepo ?? input.Repo), current, cancellationToken) is { } pr)
            {
                closing = [.. closing, pr];
            }
        }

        var merged = closing.FirstOrDefault(pr => pr.Merged && pr.MergeCommitSha is not null);
        if (merged is not null)
        {
            findings.Add(new PullRequestMerged(repo.FullName, merged.Number, merged.HtmlUrl, merged.MergeCommitSha!));
            return new Reconciled(findings);
        }

        var open = closing.FirstOrDefault(pr => pr.State == "open");
        if (input.PrNumber is { } linked && closing.Any(pr => pr.Number == linked && pr.State == "closed"))
        {
            findings.Add(new PullRequestClosed(input.PrRepo ?? repo.FullName, linked));
        }

        if (open is not null)
        {
            findings.Add(new PullRequestLinked(repo.FullName, open.Number, open.HtmlUrl));
        }

        return new Reconciled(findings);
    }
}

/// <summary>The reconciler's sweep: asks every live task instance to reconcile.</summary>
public sealed class ReconcileSweepActivity(IOrchestrationClient engine) : Activity<SweepInput>
{
    private static readonly string[] LiveStatuses = [nameof(TaskStatus.ISSUE_CREATED), nameof(TaskStatus.PR_CREATED), nameof(TaskStatus.WAITING_CI)];

    /// <inheritdoc />
    public override string Name => ReconcilerOrchestration.SweepActivity;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, SweepInput input, CancellationToken cancellationToken)
    {
        var ids = await engine.FindInstancesByStatusAsync(TaskPipelineOrchestration.OrchestrationName, LiveStatuses, cancellationToken);
        foreach (var id in ids)
        {
            await engine.RaiseEventAsync(id, new ReconcileRequested(), $"reconcile:{input.Tick}", cancellationToken);
        }

        return new SweepCompleted(ids.Count);
    }
}

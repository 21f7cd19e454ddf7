using System.Net;
using System.Text;
using Orchestrator.Functions.Activities;
using Orchestrator.Shared.Webhooks;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.EndToEnd;

/// <summary>
/// The pipeline of the first issue, unchanged, on Gitea: a database project (Plane → Gitea) through the real host,
/// real PostgreSQL, and the Plane and Gitea simulators delivering to the per-project webhook endpoints.
/// </summary>
public sealed class GiteaPipelineTests
{
    [Fact]
    public async Task A_Plane_AutoTask_goes_through_a_Gitea_issue_PR_merge_and_CI_to_DEPLOYED()
    {
        await using var g = await GiteaProject.StartAsync();
        var h = g.H;
        var (id, item) = await g.CreateTaskAsync();

        var task = await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = g.SingleIssue();
        Assert.Equal($"[{GiteaProject.Prefix}-{item.SequenceId}] Add a health endpoint", issue.Title);
        Assert.Equal("/opencode implement", issue.Body.Split('\n')[^1]);
        Assert.Contains(EnsureForgeIssueActivity.Marker(id), issue.Body, StringComparison.Ordinal);
        Assert.Contains($"# TaskSpec: {GiteaProject.Prefix}-{item.SequenceId}", issue.Body, StringComparison.Ordinal);
        Assert.Contains("## Acceptance Criteria", issue.Body, StringComparison.Ordinal);
        Assert.Equal(issue.HtmlUrl, task.Links.Issue);

        var pr = await g.Gitea.OpenPullRequestAsync(Harness.Repo, "Add /healthz", $"Implements the endpoint.\n\nFixes #{issue.Number}");
        task = await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        Assert.EndsWith($"/pulls/{pr}", task.Links.PullRequest, StringComparison.Ordinal);
        var sha = await g.Gitea.MergePullRequestAsync(Harness.Repo, pr);
        task = await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI);
        Assert.Equal(sha, task.Links.MergeCommit);

        // Two CI sources on the merge commit: a commit status (webhook) and an Actions run (API only).
        // The green status is confirmed by one CheckCi over both through the Gitea API.
        g.Gitea.AddActionRun(Harness.Repo, sha, "CI", "completed", "success");
        await g.Gitea.SetCommitStatusAsync(Harness.Repo, sha, "ci/build", "success");
        task = await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        await h.QuiesceAsync();

        var done = h.Plane.WorkItem(item.Id);
        Assert.Equal("completed", h.Plane.States(g.PlaneProjectId).Single(s => s.Id == done.StateId).Group);
        var comments = h.Plane.Comments(item.Id);
        Assert.Equal(3, comments.Count);
        Assert.Contains(comments, c => c.CommentHtml.Contains(issue.HtmlUrl, StringComparison.Ordinal));
        Assert.Contains(comments, c => c.CommentHtml.Contains($"/pulls/{pr}", StringComparison.Ordinal));
        Assert.Contains(comments, c => c.CommentHtml.Contains("Lead time", StringComparison.Ordinal));
        Assert.Equal(
            ["RECEIVED", "TASKSPEC_CREATED", "ISSUE_CREATED", "PR_CREATED", "WAITING_CI", "DEPLOYED"],
            (await h.GetTaskAsync(id))!.Timeline.Select(t => t.Status).Distinct());

        // Exactly one issue, one PR; nothing went to GitHub; the CI aggregate asked Gitea for statuses and runs.
        Assert.Single(g.Gitea.Items(Harness.Repo), i => !i.IsPull);
        Assert.Empty(h.GitHub.Issues(Harness.Repo));
        Assert.Contains(g.Gitea.Host.Requests, r => r.Method == "GET" && r.PathAndQuery.Contains($"/commits/{sha}/status", StringComparison.Ordinal));
        Assert.Contains(g.Gitea.Host.Requests, r => r.Method == "GET" && r.PathAndQuery.Contains($"/actions/runs?head_sha={sha}", StringComparison.Ordinal));
        Assert.Equal(3L, await h.Db.ScalarAsync<long>($"SELECT count(*) FROM inbox WHERE source = 'gitea' AND project_slug = '{GiteaProject.Slug}'"));
        g.AssertDeliveriesAccepted();
        g.AssertNoUnexpectedRequests();

        var logs = string.Join("\n", h.Logs.Lines);
        foreach (var secret in new[] { GiteaProject.Token, GiteaProject.WebhookSecret, "Implements the endpoint" })
        {
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }
    }
}

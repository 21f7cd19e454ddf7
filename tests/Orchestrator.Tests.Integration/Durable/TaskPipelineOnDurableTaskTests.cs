using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Tests.Integration.EndToEnd;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.Durable;

/// <summary>
/// Parity: end-to-end scenarios of <see cref="PipelineTests"/> on the Durable Task worker (<see cref="DurableWorld"/>),
/// with the same simulators, the same shared activities and the same assertions on what Plane and GitHub saw.
/// </summary>
public sealed class TaskPipelineOnDurableTaskTests
{
    [Fact]
    public async Task A_Plane_AutoTask_reaches_DEPLOYED_on_the_Durable_Task_worker_with_each_side_effect_once()
    {
        await using var h = await Harness.StartAsync();
        await using var w = await DurableWorld.StartAsync(h);

        var (id, item) = await h.CreateTaskAsync();
        await w.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        Assert.Equal($"[WEB-{item.SequenceId}] Add a health endpoint", issue.Title);

        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Add /healthz", $"Implements the endpoint.\n\nCloses #{issue.Number}");
        await w.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr);
        await w.WaitForStatusAsync(id, TaskStatus.WAITING_CI);
        h.GitHub.StartCi(Harness.Repo, sha);
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "success");
        await w.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        await DurableWorld.WaitUntilAsync(() => h.Plane.Comments(item.Id).Count >= 3);
        await Task.Delay(1000); // Let any duplicate that would come show itself.

        var done = h.Plane.WorkItem(item.Id);
        Assert.Equal("completed", h.Plane.States(h.ProjectId).Single(s => s.Id == done.StateId).Group);
        var comments = h.Plane.Comments(item.Id);
        Assert.Equal(3, comments.Count);
        Assert.Equal(comments.Count, comments.Select(c => c.ExternalId).Distinct().Count());
        Assert.Single(h.GitHub.Issues(Harness.Repo));
        Assert.True(w.Routed > 0);

        // The PostgreSQL copy the shared activities read follows the Durable Task instance.
        await using var command = w.DataSource.CreateCommand("SELECT custom_status FROM instances WHERE id = @id");
        command.Parameters.AddWithValue("id", id);
        Assert.Equal(nameof(TaskStatus.DEPLOYED), await command.ExecuteScalarAsync());
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Red_CI_fails_the_task_with_comments_on_both_sides_and_a_retry_resumes_at_CI()
    {
        await using var h = await Harness.StartAsync();
        await using var w = await DurableWorld.StartAsync(h);
        var (id, item) = await h.CreateTaskAsync();
        await w.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Fix", $"fixes #{issue.Number}");
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr);
        await w.WaitForStatusAsync(id, TaskStatus.WAITING_CI);

        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "failure");
        var failed = await w.WaitForStatusAsync(id, TaskStatus.FAILED);
        Assert.Equal(RuntimeStatus.Failed, failed.RuntimeStatus);
        await DurableWorld.WaitUntilAsync(() =>
            h.GitHub.Comments(Harness.Repo, issue.Number).Any(c => c.Body.Contains("CI failed", StringComparison.Ordinal))
            && h.Plane.Comments(item.Id).Any(c => c.CommentHtml.Contains("CI failed", StringComparison.Ordinal)));

        // CI re-run passes with no webhook reaching us; the retry (the API's event) polls and deploys.
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "success", deliver: false);
        Assert.True(await w.Orchestrations.RaiseEventAsync(id, new RetryRequested(), "retry:1", CancellationToken.None));
        await w.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        Assert.Single(h.GitHub.Comments(Harness.Repo, issue.Number), c => c.Body.Contains("CI failed", StringComparison.Ordinal));
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Webhooks_dropped_on_the_way_are_healed_by_the_reconciler_orchestration()
    {
        await using var h = await Harness.StartAsync();
        await using var w = await DurableWorld.StartAsync(h, reconcileInterval: TimeSpan.FromSeconds(1));
        var (id, _) = await h.CreateTaskAsync();
        await w.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));

        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Fix", $"Fixes #{issue.Number}", deliver: false);
        await w.WaitForStatusAsync(id, TaskStatus.PR_CREATED, seconds: 20);
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr, deliver: false);
        await w.WaitForStatusAsync(id, TaskStatus.WAITING_CI, seconds: 20);
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "success", deliver: false);
        var deployed = await w.WaitForStatusAsync(id, TaskStatus.DEPLOYED, seconds: 20);
        Assert.Equal(RuntimeStatus.Completed, deployed.RuntimeStatus);
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Cancelling_closes_the_forge_issue_as_not_planned_once()
    {
        await using var h = await Harness.StartAsync();
        await using var w = await DurableWorld.StartAsync(h);
        var (id, _) = await h.CreateTaskAsync();
        await w.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);

        Assert.True(await w.Orchestrations.RaiseEventAsync(id, new CancelRequested("admin-token", "not needed"), "cancel:1", CancellationToken.None));
        Assert.True(await w.Orchestrations.RaiseEventAsync(id, new CancelRequested("admin-token", "not needed"), "cancel:1", CancellationToken.None));
        await w.WaitForStatusAsync(id, TaskStatus.CANCELLED);
        await DurableWorld.WaitUntilAsync(() => h.GitHub.Issues(Harness.Repo).Single().State == "closed");
        Assert.Single(h.GitHub.Issues(Harness.Repo));
        h.AssertNoUnexpectedRequests();
    }
}

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

        // Three CI sources on the merge commit: two commit status contexts (webhooks) and an Actions run (API
        // only). A green context is confirmed by one CheckCi over all of them through the Gitea API, so the first
        // green one does not deploy while the other is still pending.
        g.Gitea.AddActionRun(Harness.Repo, sha, "CI", "completed", "success");
        await g.Gitea.SetCommitStatusAsync(Harness.Repo, sha, "ci/test", "pending");
        await g.Gitea.SetCommitStatusAsync(Harness.Repo, sha, "ci/build", "success");
        await Harness.EventuallyAsync(
            () => Task.FromResult(g.Gitea.Host.Requests.Any(r => r.PathAndQuery.Contains($"/commits/{sha}/status", StringComparison.Ordinal))),
            "CheckCi to ask Gitea for the combined status");
        await h.QuiesceAsync();
        Assert.Equal("WAITING_CI", (await h.GetTaskAsync(id))!.Status);
        await g.Gitea.SetCommitStatusAsync(Harness.Repo, sha, "ci/test", "success");
        task = await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        Assert.Contains(task.Timeline, t => t.Summary.Contains("3 of 3 checks passed", StringComparison.Ordinal));
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
        Assert.Equal(5L, await h.Db.ScalarAsync<long>($"SELECT count(*) FROM inbox WHERE source = 'gitea' AND project_slug = '{GiteaProject.Slug}'"));
        g.AssertDeliveriesAccepted();
        g.AssertNoUnexpectedRequests();

        var logs = string.Join("\n", h.Logs.Lines);
        foreach (var secret in new[] { GiteaProject.Token, GiteaProject.WebhookSecret, "Implements the endpoint" })
        {
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Red_CI_on_Gitea_fails_the_task_comments_on_both_sides_and_retry_deploys_after_a_green_status()
    {
        await using var g = await GiteaProject.StartAsync();
        var h = g.H;
        var (id, item) = await g.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = g.SingleIssue();
        var pr = await g.Gitea.OpenPullRequestAsync(Harness.Repo, "Fix", $"fixes #{issue.Number}");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        var sha = await g.Gitea.MergePullRequestAsync(Harness.Repo, pr);
        await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI);

        await g.Gitea.SetCommitStatusAsync(Harness.Repo, sha, "ci/build", "failure");
        var task = await h.WaitForStatusAsync(id, TaskStatus.FAILED);
        Assert.Equal("Ci", task.FailedStep);
        Assert.Contains("CI failed", task.FailureReason, StringComparison.Ordinal);
        await h.QuiesceAsync();
        Assert.Contains(g.Gitea.Comments(Harness.Repo, issue.Number), c => c.Contains("CI failed", StringComparison.Ordinal));
        Assert.Contains(h.Plane.Comments(item.Id), c => c.CommentHtml.Contains("CI failed", StringComparison.Ordinal));

        // CI is re-run and passes without a webhook reaching us; the retry asks Gitea and deploys.
        await g.Gitea.SetCommitStatusAsync(Harness.Repo, sha, "ci/build", "success", deliver: false);
        using var retry = await h.Api.PostAsync($"api/tasks/{id}/retry", null);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        await h.QuiesceAsync();
        Assert.Equal("completed", h.Plane.States(g.PlaneProjectId).Single(s => s.Id == h.Plane.WorkItem(item.Id).StateId).Group);
        g.AssertDeliveriesAccepted();
        g.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Cancelling_the_Plane_item_cancels_the_task_and_closes_the_Gitea_issue()
    {
        await using var g = await GiteaProject.StartAsync();
        var h = g.H;
        var (id, item) = await g.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = g.SingleIssue();
        Assert.Equal("open", issue.State);

        var cancelled = h.Plane.States(g.PlaneProjectId).Single(s => s.Group == "cancelled");
        var (_, status) = await h.Plane.MoveToStateAsync(item.Id, cancelled.Name);
        Assert.Equal(HttpStatusCode.Accepted, status);
        await h.WaitForStatusAsync(id, TaskStatus.CANCELLED);
        await h.QuiesceAsync();

        // Gitea has no close reason: the issue is closed with PATCH {"state":"closed"}, the comment says why.
        Assert.Equal("closed", g.SingleIssue().State);
        var close = Assert.Single(g.Gitea.Host.Requests, r => r.Method == "PATCH");
        Assert.EndsWith($"/api/v1/repos/{Harness.Repo}/issues/{issue.Number}", close.PathAndQuery, StringComparison.Ordinal);
        Assert.Equal("""{"state":"closed"}""", close.Body);
        Assert.Contains(g.Gitea.Comments(Harness.Repo, issue.Number), c => c.Contains("not planned", StringComparison.OrdinalIgnoreCase));
        g.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Removing_AutoTask_in_Plane_labels_the_Gitea_issue_auto_disabled_and_adding_it_again_resumes()
    {
        await using var g = await GiteaProject.StartAsync();
        var h = g.H;
        var (id, item) = await g.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = g.SingleIssue();
        var pr = await g.Gitea.OpenPullRequestAsync(Harness.Repo, "Fix", $"Closes #{issue.Number}");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        await h.QuiesceAsync();

        var (_, off) = await h.Plane.RemoveLabelAsync(item.Id, "AutoTask");
        Assert.Equal(HttpStatusCode.Accepted, off);
        await h.WaitForStatusAsync(id, TaskStatus.AUTO_DISABLED);
        await Harness.EventuallyAsync(() => Task.FromResult(g.SingleIssue().Labels.Contains("auto-disabled")), "the auto-disabled label on the Gitea issue");
        await h.QuiesceAsync();
        var comments = g.Gitea.Comments(Harness.Repo, issue.Number);
        Assert.Single(comments);
        Assert.Contains("AutoTask", comments[0], StringComparison.Ordinal);

        var (_, on) = await h.Plane.AddLabelAsync(item.Id, "AutoTask");
        Assert.Equal(HttpStatusCode.Accepted, on);
        var task = await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        await Harness.EventuallyAsync(() => Task.FromResult(!g.SingleIssue().Labels.Contains("auto-disabled")), "the auto-disabled label to go");
        await h.QuiesceAsync();
        Assert.EndsWith($"/pulls/{pr}", task.Links.PullRequest, StringComparison.Ordinal);
        Assert.Equal(["auto-disabled"], g.Gitea.Labels(Harness.Repo));

        // And the pipeline goes on from where it was.
        var sha = await g.Gitea.MergePullRequestAsync(Harness.Repo, pr);
        await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI);
        await g.Gitea.SetCommitStatusAsync(Harness.Repo, sha, "ci/build", "success");
        await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        g.AssertDeliveriesAccepted();
        g.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Gitea_deliveries_are_verified_with_the_project_secret_and_stored_once()
    {
        await using var g = await GiteaProject.StartAsync();
        var h = g.H;
        var body = Encoding.UTF8.GetBytes("""
            {
              "action": "opened",
              "number": 1,
              "repository": {
                "full_name": "acme/webshop"
              }
            }
            """);

        async Task<HttpStatusCode> PostAsync(string path, string signature, string delivery)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new("application/json");
            request.Headers.TryAddWithoutValidation("X-Gitea-Event", "pull_request");
            request.Headers.TryAddWithoutValidation("X-Gitea-Event-Type", "pull_request");
            request.Headers.TryAddWithoutValidation("X-Gitea-Delivery", delivery);
            request.Headers.TryAddWithoutValidation("X-Gitea-Signature", signature);
            using var response = await h.Api.SendAsync(request);
            return response.StatusCode;
        }

        // Wrong secret, the host-wide GitHub secret, GitHub's header format, no signature: all 401, nothing stored.
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync($"webhooks/gitea/{GiteaProject.Slug}", WebhookSignature.ComputeHex(body, "wrong secret"), "d1"));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync($"webhooks/gitea/{GiteaProject.Slug}", WebhookSignature.ComputeHex(body, Harness.GitHubSecret), "d2"));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync($"webhooks/gitea/{GiteaProject.Slug}", WebhookSignature.ComputeGitHubHeader(body, GiteaProject.WebhookSecret), "d3"));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync($"webhooks/gitea/{GiteaProject.Slug}", "", "d4"));

        // A Gitea delivery for a project that does not exist, or to the GitHub endpoint of a Gitea project: the same 401
        // as a wrong signature, so outsiders cannot tell which projects exist (issue #8 item 9b).
        var good = WebhookSignature.ComputeHex(body, GiteaProject.WebhookSecret);
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("webhooks/gitea/nope", good, "d5"));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync($"webhooks/github/{GiteaProject.Slug}", good, "d6"));
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox"));

        // Correctly signed: accepted; the same X-Gitea-Delivery again is a duplicate.
        Assert.Equal(HttpStatusCode.Accepted, await PostAsync($"webhooks/gitea/{GiteaProject.Slug}", good, "d7"));
        Assert.Equal(HttpStatusCode.Accepted, await PostAsync($"webhooks/gitea/{GiteaProject.Slug}", good, "d7"));
        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox WHERE source = 'gitea'"));

        // The simulator's own deliveries: a redelivery (same UUID) and a copy under a new UUID are stored once.
        var (id, item) = await g.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = g.SingleIssue();
        await g.Gitea.OpenPullRequestAsync(Harness.Repo, "Fix", $"Fixes #{issue.Number}");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        await h.QuiesceAsync();
        var delivery = Assert.Single(g.Gitea.Deliveries);
        Assert.Equal(HttpStatusCode.Accepted, await g.Gitea.ResendAsync(delivery, newDeliveryId: false));
        Assert.Equal(HttpStatusCode.Accepted, await g.Gitea.ResendAsync(delivery, newDeliveryId: true));
        await h.QuiesceAsync();
        Assert.Equal(2L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox WHERE source = 'gitea'"));
        Assert.Equal(1L, await h.Db.ScalarAsync<long>($"SELECT count(*) FROM inbox WHERE source = 'gitea' AND delivery_id = '{delivery.DeliveryId}'"));
        Assert.Equal("PR_CREATED", (await h.GetTaskAsync(id))!.Status);
        Assert.Single(h.Plane.Comments(item.Id), c => c.CommentHtml.Contains("/pulls/", StringComparison.Ordinal));
        g.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Dropped_Gitea_webhooks_are_healed_by_reconciliation()
    {
        await using var g = await GiteaProject.StartAsync(s => s["RECONCILE_INTERVAL"] = "1s");
        var h = g.H;
        var (id, _) = await g.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = g.SingleIssue();

        var pr = await g.Gitea.OpenPullRequestAsync(Harness.Repo, "Fix", $"Fixes #{issue.Number}", deliver: false);
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED, seconds: 15);
        var sha = await g.Gitea.MergePullRequestAsync(Harness.Repo, pr, deliver: false);
        var task = await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI, seconds: 15);
        Assert.Equal(sha, task.Links.MergeCommit);
        g.Gitea.AddActionRun(Harness.Repo, sha, "CI", "completed", "success");
        await g.Gitea.SetCommitStatusAsync(Harness.Repo, sha, "ci/build", "success", deliver: false);
        task = await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED, seconds: 15);

        Assert.Contains(task.Timeline, t => t.Summary.Contains("Reconciliation found", StringComparison.Ordinal));
        Assert.Empty(g.Gitea.Deliveries);
        g.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Red_CI_after_DEPLOYED_fails_the_task_and_reopens_the_Plane_item()
    {
        await using var g = await GiteaProject.StartAsync();
        var h = g.H;
        var (id, item) = await g.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = g.SingleIssue();
        var pr = await g.Gitea.OpenPullRequestAsync(Harness.Repo, "Fix", $"Resolves {Harness.Repo}#{issue.Number}");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        var sha = await g.Gitea.MergePullRequestAsync(Harness.Repo, pr);
        await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI);
        await g.Gitea.SetCommitStatusAsync(Harness.Repo, sha, "ci/build", "success");
        await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        await h.QuiesceAsync();

        // A later workflow on the merge commit errors (Gitea "error" = GitHub "failure").
        await g.Gitea.SetCommitStatusAsync(Harness.Repo, sha, "ci/e2e", "error");
        var task = await h.WaitForStatusAsync(id, TaskStatus.FAILED);
        Assert.Equal("Ci", task.FailedStep);
        await h.QuiesceAsync();
        Assert.NotEqual("completed", h.Plane.States(g.PlaneProjectId).Single(s => s.Id == h.Plane.WorkItem(item.Id).StateId).Group);
        Assert.Contains(g.Gitea.Comments(Harness.Repo, issue.Number), c => c.Contains("CI failed", StringComparison.Ordinal));
        g.AssertDeliveriesAccepted();
        g.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Deleting_the_Plane_item_cancels_the_task_and_closes_the_Gitea_issue()
    {
        await using var g = await GiteaProject.StartAsync();
        var h = g.H;
        var (id, item) = await g.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = g.SingleIssue();
        await g.Gitea.OpenPullRequestAsync(Harness.Repo, "Fix", $"Fixes #{issue.Number}");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        await h.QuiesceAsync(); // the PR link comment is posted before the item goes (the race is PipelineTests')

        var (_, status) = await h.Plane.DeleteWorkItemAsync(item.Id);
        Assert.Equal(HttpStatusCode.Accepted, status);
        await h.WaitForStatusAsync(id, TaskStatus.CANCELLED);
        await h.QuiesceAsync();
        Assert.Equal("closed", g.SingleIssue().State);
        Assert.Contains(g.Gitea.Comments(Harness.Repo, issue.Number), c => c.Contains("deleted", StringComparison.OrdinalIgnoreCase));
        g.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Through_the_global_Plane_endpoint_a_GitHub_project_and_a_Gitea_project_run_side_by_side()
    {
        await using var g = await GiteaProject.StartAsync();
        var h = g.H;
        h.PointWebhooksAt(h.HostUrl); // Plane → /webhooks/plane (host-wide secret); GitHub → /webhooks/github.

        var (githubTask, _) = await h.CreateTaskAsync(name: "On GitHub");
        var (giteaTask, _) = await g.CreateTaskAsync(name: "On Gitea");
        await h.WaitForStatusAsync(githubTask, TaskStatus.ISSUE_CREATED);
        await h.WaitForStatusAsync(giteaTask, TaskStatus.ISSUE_CREATED);
        Assert.Equal("[WEB-1] On GitHub", Assert.Single(h.GitHub.Issues(Harness.Repo)).Title);
        var issue = g.SingleIssue();
        Assert.Equal($"[{GiteaProject.Prefix}-1] On Gitea", issue.Title);

        // Same repository name on both forges, same issue number: each PR reaches only its own task.
        var githubIssue = h.GitHub.Issues(Harness.Repo)[0];
        Assert.Equal(githubIssue.Number, issue.Number);
        var pr = await g.Gitea.OpenPullRequestAsync(Harness.Repo, "Fix", $"Fixes #{issue.Number}");
        await h.WaitForStatusAsync(giteaTask, TaskStatus.PR_CREATED);
        await h.QuiesceAsync();
        Assert.Equal("ISSUE_CREATED", (await h.GetTaskAsync(githubTask))!.Status);
        var ghPr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Fix", $"Fixes #{githubIssue.Number}");
        await h.WaitForStatusAsync(githubTask, TaskStatus.PR_CREATED);
        Assert.EndsWith($"/pulls/{pr}", (await h.GetTaskAsync(giteaTask))!.Links.PullRequest, StringComparison.Ordinal);
        Assert.EndsWith($"/pull/{ghPr}", (await h.GetTaskAsync(githubTask))!.Links.PullRequest, StringComparison.Ordinal);
        g.AssertNoUnexpectedRequests();
    }
}

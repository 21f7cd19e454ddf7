using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Orchestrator.Functions;
using Orchestrator.Functions.Activities;
using Orchestrator.Functions.Functions;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Webhooks;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.EndToEnd;

/// <summary>The pipeline end to end through the real host, real PostgreSQL and the loopback simulators.</summary>
public sealed class PipelineTests
{
    [Fact]
    public async Task A_Plane_AutoTask_goes_through_issue_PR_merge_and_CI_to_DEPLOYED()
    {
        await using var h = await Harness.StartAsync();
        var (id, item) = await h.CreateTaskAsync();

        var task = await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        Assert.Equal($"[WEB-{item.SequenceId}] Add a health endpoint", issue.Title);
        var lines = issue.Body!.Split('\n');
        Assert.Equal("/opencode implement", lines[^1]);
        Assert.Contains(EnsureForgeIssueActivity.Marker(id), issue.Body, StringComparison.Ordinal);
        Assert.Contains($"# TaskSpec: WEB-{item.SequenceId}", issue.Body, StringComparison.Ordinal);
        Assert.Contains("## Acceptance Criteria", issue.Body, StringComparison.Ordinal);
        Assert.Contains("Please add GET /healthz", task.TaskSpec, StringComparison.Ordinal);
        Assert.Equal(1, task.TaskSpecVersion);

        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Add /healthz", $"Implements the endpoint.\n\nCloses #{issue.Number}");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr);
        task = await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI);
        Assert.Equal(sha, task.Links.MergeCommit);

        h.GitHub.StartCi(Harness.Repo, sha);
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "success");
        task = await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        await h.QuiesceAsync();

        // Plane shows it done, with one comment per step, each once.
        var done = h.Plane.WorkItem(item.Id);
        Assert.Equal("completed", h.Plane.States(h.ProjectId).Single(s => s.Id == done.StateId).Group);
        var comments = h.Plane.Comments(item.Id);
        Assert.Equal(3, comments.Count);
        Assert.Contains(comments, c => c.CommentHtml.Contains(issue.HtmlUrl, StringComparison.Ordinal));
        Assert.Contains(comments, c => c.CommentHtml.Contains($"/pull/{pr}", StringComparison.Ordinal));
        Assert.Contains(comments, c => c.CommentHtml.Contains("Lead time", StringComparison.Ordinal));
        Assert.Equal(comments.Count, comments.Select(c => c.ExternalId).Distinct().Count());

        Assert.Equal(
            ["RECEIVED", "TASKSPEC_CREATED", "ISSUE_CREATED", "PR_CREATED", "WAITING_CI", "DEPLOYED"],
            (await h.GetTaskAsync(id))!.Timeline.Select(t => t.Status).Distinct());
        h.AssertNoUnexpectedRequests();

        // Logs carry ids, never secrets or payloads.
        var logs = string.Join("\n", h.Logs.Lines);
        Assert.Contains($"Instance {id} EnsureForgeIssue", logs, StringComparison.Ordinal);
        Assert.Contains($"github delivery {h.GitHub.Deliveries[0].DeliveryId}", logs, StringComparison.Ordinal);
        foreach (var secret in new[] { Harness.GitHubToken, Harness.PlaneToken, Harness.GitHubSecret, Harness.PlaneSecret, "Please add GET /healthz", "Implements the endpoint" })
        {
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Two_hosts_on_one_database_share_the_work_and_do_nothing_twice()
    {
        await using var h = await Harness.StartAsync(s => s["WORKER_CONCURRENCY"] = "2");
        var second = Orchestrator.Functions.OrchestratorApp.Build([], h.Settings);
        await using (second)
        {
            await second.StartOrchestratorAsync();
            var ids = new List<string>();
            for (var i = 0; i < 6; i++)
            {
                ids.Add((await h.CreateTaskAsync(name: $"Task {i}")).InstanceId);
            }

            foreach (var id in ids)
            {
                await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
            }

            await h.QuiesceAsync();
            Assert.Equal(6, h.GitHub.Issues(Harness.Repo).Count);
            Assert.Equal(6, h.GitHub.Issues(Harness.Repo).Select(i => i.Title).Distinct().Count());
            Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM work_items WHERE attempt > 1"));
            await second.StopAsync();
        }

        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Red_CI_fails_the_task_comments_on_both_sides_and_retry_resumes_at_CI()
    {
        await using var h = await Harness.StartAsync();
        var (id, item) = await h.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Fix", $"fixes #{issue.Number}");
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr);
        await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI);

        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "failure");
        var task = await h.WaitForStatusAsync(id, TaskStatus.FAILED);
        Assert.Equal("Ci", task.FailedStep);
        Assert.Contains("CI failed", task.FailureReason, StringComparison.Ordinal);
        await h.QuiesceAsync();
        Assert.Contains(h.GitHub.Comments(Harness.Repo, issue.Number), c => c.Body.Contains("CI failed", StringComparison.Ordinal));
        Assert.Contains(h.Plane.Comments(item.Id), c => c.CommentHtml.Contains("CI failed", StringComparison.Ordinal));

        // Someone re-runs CI and it passes (no webhook reaches us); the retry polls and deploys.
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "success", deliver: false);
        using var retry = await h.Api.PostAsync($"api/tasks/{id}/retry", null);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task CI_that_never_finishes_fails_at_the_timeout()
    {
        await using var h = await Harness.StartAsync(s => s["CI_TIMEOUT"] = "3s");
        var (id, _) = await h.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Fix", $"Resolves {Harness.Repo}#{issue.Number}");
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr);
        h.GitHub.StartCi(Harness.Repo, sha);

        var task = await h.WaitForStatusAsync(id, TaskStatus.FAILED, seconds: 20);
        Assert.Contains("CI did not finish", task.FailureReason, StringComparison.Ordinal);
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Webhooks_dropped_on_the_way_are_healed_by_reconciliation()
    {
        await using var h = await Harness.StartAsync(s => s["RECONCILE_INTERVAL"] = "1s");
        var (id, _) = await h.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));

        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Fix", $"Fixes #{issue.Number}", deliver: false);
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED, seconds: 15);
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr, deliver: false);
        await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI, seconds: 15);
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "success", deliver: false);
        var task = await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED, seconds: 15);

        Assert.Contains(task.Timeline, t => t.Summary.Contains("Reconciliation found", StringComparison.Ordinal));
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task A_comment_due_on_an_item_deleted_meanwhile_is_dropped_after_one_attempt_without_a_warning()
    {
        await using var h = await Harness.StartAsync();
        var (id, item) = await h.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        await h.QuiesceAsync();
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));

        // Deleted in Plane, its webhook not yet here, when the PR link comment goes out.
        await h.Plane.DeleteWorkItemAsync(item.Id, deliver: false);
        await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Fix", $"Fixes #{issue.Number}");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        await h.QuiesceAsync();

        var task = (await h.GetTaskAsync(id))!;
        Assert.Contains(task.Timeline, t => t.Summary.Contains("(pr-link:", StringComparison.Ordinal) && t.Summary.Contains("no longer exists", StringComparison.Ordinal));
        Assert.Empty(task.Warnings);

        // Plane's answers to a deleted item, each seen once: the activity was not retried.
        Assert.Equal(
            [$"plane: comments of unknown work item {item.Id} (Plane answers an empty page)", $"plane: POST comment on unknown work item {item.Id} → 400",
                $"plane: GET /api/v1/workspaces/acme/projects/{h.ProjectId}/work-items/{item.Id}/ → 404 (no such work item or comment)"],
            h.Plane.Host.UnexpectedRequests);
        Assert.Empty(h.GitHub.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Sync_starts_Plane_items_whose_webhooks_never_arrived_once_and_leaves_the_rest()
    {
        await using var h = await Harness.StartAsync();
        var (recent, _) = await h.CreateTaskAsync(name: "Recent", deliver: false);
        var (old, oldItem) = await h.CreateTaskAsync(name: "Old", deliver: false);
        h.Plane.SetUpdatedAt(oldItem.Id, DateTimeOffset.UtcNow.AddDays(-91));
        var (cancelledItem, _, _) = await h.Plane.CreateWorkItemAsync(h.ProjectId, "Cancelled", "<p>No longer needed</p>", ["AutoTask"], deliver: false, stateName: "Cancelled");
        var cancelled = TaskPipelineOrchestration.InstanceIdFor(cancelledItem.Id);
        var (manual, _, _) = await h.Plane.CreateWorkItemAsync(h.ProjectId, "Manual", "<p>By hand</p>", [], deliver: false);

        async Task<JsonElement> SyncAsync()
        {
            using var response = await h.Api.PostAsync("api/projects/web/sync", null);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        }

        var first = await SyncAsync();
        Assert.Equal((3, 1, 0, 2), (first.GetProperty("seen").GetInt32(), first.GetProperty("started").GetInt32(), first.GetProperty("updated").GetInt32(), first.GetProperty("skipped").GetInt32()));
        var task = await h.WaitForStatusAsync(recent, TaskStatus.ISSUE_CREATED);
        await h.QuiesceAsync();
        Assert.Equal("[WEB-1] Recent", Assert.Single(h.GitHub.Issues(Harness.Repo)).Title);
        Assert.Null(await h.GetTaskAsync(old));
        Assert.Null(await h.GetTaskAsync(cancelled));
        Assert.Null(await h.GetTaskAsync(TaskPipelineOrchestration.InstanceIdFor(manual.Id)));

        // Again: nothing new starts; the running task is brought up to date and keeps its issue.
        var second = await SyncAsync();
        Assert.Equal((3, 0, 1), (second.GetProperty("seen").GetInt32(), second.GetProperty("started").GetInt32(), second.GetProperty("updated").GetInt32()));
        await h.QuiesceAsync();
        Assert.Single(h.GitHub.Issues(Harness.Repo));
        Assert.Equal(task.Links.Issue, (await h.GetTaskAsync(recent))!.Links.Issue);
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Every_delivery_sent_twice_gives_one_issue_and_one_comment_each()
    {
        await using var h = await Harness.StartAsync();
        var (id, item) = await h.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Fix", $"Fixes #{issue.Number}");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr);
        await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI);
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "success");
        await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED);

        // GitHub redelivers with the same id; Plane retries the same body with a new id. Both are duplicates.
        await h.QuiesceAsync();
        var originals = h.Plane.Deliveries.Count + h.GitHub.Deliveries.Count;
        Assert.Equal((long)originals, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox"));
        foreach (var delivery in h.Plane.Deliveries.ToArray())
        {
            Assert.Equal(HttpStatusCode.Accepted, await h.Plane.ResendAsync(delivery, newDeliveryId: true));
            Assert.Equal(HttpStatusCode.Accepted, await h.Plane.ResendAsync(delivery, newDeliveryId: false));
        }

        foreach (var delivery in h.GitHub.Deliveries.ToArray())
        {
            Assert.Equal(HttpStatusCode.Accepted, await h.GitHub.ResendAsync(delivery, newDeliveryId: false));
            Assert.Equal(HttpStatusCode.Accepted, await h.GitHub.ResendAsync(delivery, newDeliveryId: true));
        }

        await h.QuiesceAsync();
        Assert.Single(h.GitHub.Issues(Harness.Repo));
        Assert.Equal(3, h.Plane.Comments(item.Id).Count);
        Assert.Equal((long)originals, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox"));
        Assert.Equal("DEPLOYED", (await h.GetTaskAsync(id))!.Status);
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task A_work_item_without_description_fails_with_a_comment_and_starts_again_once_filled_in()
    {
        await using var h = await Harness.StartAsync();
        var (id, item) = await h.CreateTaskAsync(description: "<p></p>");

        var task = await h.WaitForStatusAsync(id, TaskStatus.FAILED);
        Assert.Equal("TaskSpec", task.FailedStep);
        await h.QuiesceAsync();
        var comment = Assert.Single(h.Plane.Comments(item.Id));
        Assert.Contains("no description", comment.CommentHtml, StringComparison.Ordinal);
        Assert.Empty(h.GitHub.Issues(Harness.Repo));

        await h.Plane.UpdateDescriptionAsync(item.Id, "<p>Now with a description</p>");
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        Assert.Contains("Now with a description", Assert.Single(h.GitHub.Issues(Harness.Repo)).Body, StringComparison.Ordinal);
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task A_PR_closed_without_merge_returns_the_task_to_ISSUE_CREATED()
    {
        await using var h = await Harness.StartAsync();
        var (id, _) = await h.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        var bare = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Mentions only", $"See #{issue.Number}");
        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Fix", $"fixed #{issue.Number}");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        Assert.EndsWith($"/pull/{pr}", (await h.GetTaskAsync(id))!.Links.PullRequest, StringComparison.Ordinal);

        await h.GitHub.ClosePullRequestAsync(Harness.Repo, pr);
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        Assert.NotEqual(bare, pr);
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Items_without_the_trigger_label_or_of_unknown_projects_are_stored_and_ignored()
    {
        await using var h = await Harness.StartAsync();
        var other = Guid.NewGuid().ToString();
        h.Plane.AddProject(other, "OTH");
        await h.Plane.CreateWorkItemAsync(h.ProjectId, "Not for robots", "<p>x</p>", ["bug"]);
        await h.Plane.CreateWorkItemAsync(other, "Other project", "<p>x</p>", ["AutoTask"]);
        await h.QuiesceAsync();

        Assert.Equal(2L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox WHERE outcome LIKE 'ignored:%'"));
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM instances WHERE orchestration = 'TaskPipeline'"));
        Assert.Empty(h.GitHub.Issues(Harness.Repo));
    }

    [Fact]
    public async Task Adding_the_trigger_label_later_starts_the_task()
    {
        await using var h = await Harness.StartAsync();
        var (item, _, _) = await h.Plane.CreateWorkItemAsync(h.ProjectId, "Later", "<p>Do it</p>", []);
        await h.Plane.AddLabelAsync(item.Id, "AutoTask");
        await h.WaitForStatusAsync(Orchestrator.Orchestrations.Tasks.TaskPipelineOrchestration.InstanceIdFor(item.Id), TaskStatus.ISSUE_CREATED);
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Bad_signatures_are_401_and_store_nothing_malformed_json_is_400()
    {
        await using var h = await Harness.StartAsync();
        var body = Encoding.UTF8.GetBytes("""{"action":"opened","repository":{"full_name":"acme/webshop"}}""");

        async Task<HttpStatusCode> PostAsync(string path, byte[] payload, params (string, string)[] headers)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(payload) };
            request.Content.Headers.ContentType = new("application/json");
            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await h.Api.SendAsync(request);
            return response.StatusCode;
        }

        var good = WebhookSignature.ComputeGitHubHeader(body, Harness.GitHubSecret);
        var tampered = body.ToArray();
        tampered[5] ^= 1;
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("webhooks/github", body, ("X-GitHub-Event", "pull_request"), ("X-GitHub-Delivery", "d1")));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("webhooks/github", body, ("X-GitHub-Event", "pull_request"), ("X-GitHub-Delivery", "d2"),
            ("X-Hub-Signature-256", WebhookSignature.ComputeGitHubHeader(body, "wrong secret"))));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("webhooks/github", tampered, ("X-GitHub-Event", "pull_request"), ("X-GitHub-Delivery", "d3"),
            ("X-Hub-Signature-256", good)));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync("webhooks/plane", body, ("X-Plane-Event", "issue"), ("X-Plane-Delivery", "d4"),
            ("X-Plane-Signature", WebhookSignature.ComputeHex(body, "wrong"))));

        var malformed = Encoding.UTF8.GetBytes("{\"action\": \"opened\", ");
        Assert.Equal(HttpStatusCode.BadRequest, await PostAsync("webhooks/github", malformed, ("X-GitHub-Event", "pull_request"), ("X-GitHub-Delivery", "d5"),
            ("X-Hub-Signature-256", WebhookSignature.ComputeGitHubHeader(malformed, Harness.GitHubSecret))));
        Assert.Equal(HttpStatusCode.BadRequest, await PostAsync("webhooks/plane", malformed, ("X-Plane-Event", "issue"), ("X-Plane-Delivery", "d6"),
            ("X-Plane-Signature", WebhookSignature.ComputeHex(malformed, Harness.PlaneSecret))));

        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox"));
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM work_items WHERE name = 'RouteDelivery'"));

        // The same body correctly signed is accepted, and an unknown event is stored and ignored.
        Assert.Equal(HttpStatusCode.Accepted, await PostAsync("webhooks/github", body, ("X-GitHub-Event", "pull_request"), ("X-GitHub-Delivery", "d7"), ("X-Hub-Signature-256", good)));
        var ping = Encoding.UTF8.GetBytes("""{"zen":"Keep it logically awesome.","hook_id":1,"repository":{"full_name":"acme/webshop"}}""");
        Assert.Equal(HttpStatusCode.Accepted, await PostAsync("webhooks/github", ping, ("X-GitHub-Event", "ping"), ("X-GitHub-Delivery", "d8"),
            ("X-Hub-Signature-256", WebhookSignature.ComputeGitHubHeader(ping, Harness.GitHubSecret))));
        await h.QuiesceAsync();
        Assert.Equal(2L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox WHERE outcome LIKE 'ignored:%'"));
    }

    [Fact]
    public async Task Without_a_configured_secret_every_delivery_is_refused()
    {
        await using var h = await Harness.StartAsync(s => s.Remove("PLANE_WEBHOOK_SECRET"));
        var (_, _, status) = await h.Plane.CreateWorkItemAsync(h.ProjectId, "x", "<p>y</p>", ["AutoTask"]);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox"));
    }

    [Fact]
    public async Task Oversized_bodies_are_refused_with_413()
    {
        await using var h = await Harness.StartAsync(s => s["WEBHOOK_MAX_BYTES"] = "2048");
        var body = Encoding.UTF8.GetBytes("{\"pad\":\"" + new string('x', 4096) + "\"}");
        using var request = new HttpRequestMessage(HttpMethod.Post, "webhooks/github") { Content = new ByteArrayContent(body) };
        request.Headers.Add("X-Hub-Signature-256", WebhookSignature.ComputeGitHubHeader(body, Harness.GitHubSecret));
        using var response = await h.Api.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox"));
    }

    [Fact]
    public async Task The_task_API_lists_filters_pages_and_guards_retry()
    {
        await using var h = await Harness.StartAsync();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await h.CreateTaskAsync(name: $"Task {i}")).InstanceId);
            await Harness.EventuallyAsync(async () => await h.GetTaskAsync(ids[^1]) is not null, "the task to start");
        }

        var (failedId, _) = await h.CreateTaskAsync(name: "Broken", description: "<p> </p>");
        foreach (var id in ids)
        {
            await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        }

        await h.WaitForStatusAsync(failedId, TaskStatus.FAILED);

        var all = await h.Api.GetFromJsonAsync<TaskPage>("api/tasks?pageSize=2", EngineJson.Options);
        Assert.Equal(4, all!.Total);
        Assert.Equal(2, all.Items.Count);
        Assert.Equal(failedId, all.Items[0].Id); // newest first
        var page2 = await h.Api.GetFromJsonAsync<TaskPage>("api/tasks?pageSize=2&page=2", EngineJson.Options);
        Assert.Equal(2, page2!.Items.Count);
        Assert.Empty(all.Items.Select(i => i.Id).Intersect(page2.Items.Select(i => i.Id)));
        var failed = await h.Api.GetFromJsonAsync<TaskPage>("api/tasks?status=failed", EngineJson.Options);
        Assert.Equal(failedId, Assert.Single(failed!.Items).Id);

        var byKey = await h.GetTaskAsync(all.Items[1].TaskKey!);
        Assert.Equal(all.Items[1].Id, byKey!.Id);

        Assert.Equal(HttpStatusCode.NotFound, (await h.Api.GetAsync("api/tasks/nope")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await h.Api.GetAsync("api/tasks?status=DONE")).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await h.Api.PostAsync($"api/tasks/{ids[0]}/retry", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await h.Api.PostAsync("api/tasks/nope/retry", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await h.Api.GetAsync("healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await h.Api.GetAsync("readyz")).StatusCode);
    }
}

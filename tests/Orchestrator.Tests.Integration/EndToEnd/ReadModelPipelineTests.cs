using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Functions.Functions;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.ReadModel;
using Orchestrator.Tests.Integration.ReadModel;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.EndToEnd;

/// <summary>The read model through the real host: what a pipeline run, the API actions and webhooks leave in <c>tasks</c> and <c>task_events</c>.</summary>
public sealed class ReadModelPipelineTests
{
    [Fact]
    public async Task A_pipeline_run_leaves_its_task_row_and_its_events_in_order_with_sources_and_delivery_ids()
    {
        await using var h = await Harness.StartAsync();
        var (id, item) = await h.CreateTaskAsync();
        var started = h.Plane.Deliveries[0].DeliveryId;
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Add /healthz", $"Implements the endpoint.\n\nCloses #{issue.Number}");
        var opened = h.GitHub.Deliveries[^1].DeliveryId;
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr);
        var merged = h.GitHub.Deliveries[^1].DeliveryId;
        await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI);
        var before = h.GitHub.Deliveries.Count;
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "success");
        var ci = h.GitHub.Deliveries.Skip(before).Select(d => d.DeliveryId).ToHashSet();
        await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        await h.QuiesceAsync();

        var events = await h.Db.EventsAsync(id);
        Assert.Equal(["RECEIVED", "TASKSPEC_CREATED", "ISSUE_CREATED", "PR_CREATED", "WAITING_CI", "DEPLOYED"], events.StatusPath());
        Assert.Equal(("webhook_received", "tracker", started), (events[0].Type, events[0].Source, events[0].DeliveryId));
        Assert.Equal(events.Select(e => e.Id).Order(), events.Select(e => e.Id));
        Assert.Equal(events.Select(e => e.At).Order(), events.Select(e => e.At));

        var issueCreated = Assert.Single(events, e => e.Type == "issue_created");
        Assert.Equal(("system", (string?)null, issue.Number.ToString(System.Globalization.CultureInfo.InvariantCulture), issue.HtmlUrl),
            (issueCreated.Source, issueCreated.DeliveryId, issueCreated.Field("number"), issueCreated.Field("url")));
        var linked = Assert.Single(events, e => e.Type == "pr_linked");
        Assert.Equal(("forge", opened), (linked.Source, linked.DeliveryId));
        var prMerged = Assert.Single(events, e => e.Type == "pr_merged");
        Assert.Equal(("forge", merged, sha), (prMerged.Source, prMerged.DeliveryId, prMerged.Field("sha")));
        Assert.Contains(events, e => e.Type == "ci_updated" && e.Source == "forge" && ci.Contains(e.DeliveryId!) && e.Field("result") == "success");
        Assert.Contains(events, e => e.Type == "ci_updated" && e.Source == "system" && e.Field("via") == "check" && e.Field("result") == "success");
        var deployed = events.Single(e => e.Type == "status_changed" && e.Field("to") == "DEPLOYED");
        Assert.Equal(("system", "CI passed"), (deployed.Source, deployed.Field("reason")));
        Assert.Contains(events, e => e.Type == "tracker_completed" && e.Field("by_us") == "true");

        // Every webhook-sourced event names a delivery the inbox holds; nothing else names one.
        Assert.All(events.Where(e => e.Source is "tracker" or "forge"), e => Assert.NotNull(e.DeliveryId));
        Assert.All(events.Where(e => e.Source is "system"), e => Assert.Null(e.DeliveryId));
        Assert.Equal(0L, await h.Db.ScalarAsync<long>(
            "SELECT count(*) FROM task_events e WHERE e.delivery_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM inbox i WHERE i.delivery_id = e.delivery_id)"));
        Assert.Equal(0L, await h.Db.ScalarAsync<long>(
            "SELECT count(*) FROM task_events WHERE summary::text LIKE '%Please add GET /healthz%' OR summary::text LIKE '%Implements the endpoint%' OR summary::text LIKE '%TaskSpec:%'"));

        // The row, through the dashboard's query and the task API.
        var queries = h.App.Services.GetRequiredService<ReadModelQueries>();
        var page = (await queries.TaskAsync($"web-{item.SequenceId}", "web", 50, null, CancellationToken.None))!;
        var row = page.Task;
        Assert.Equal((id, "web", $"WEB-{item.SequenceId}", "DEPLOYED", "DEPLOYED"), (row.Id, row.ProjectSlug, row.TaskKey, row.Status, row.Step));
        Assert.Equal((Harness.Repo, (int?)issue.Number, (int?)pr, sha, "success"), (row.Repo, row.IssueNumber, row.PrNumber, row.MergeSha, row.CiState));
        Assert.Equal(("plane", item.Id, "github"), (row.TrackerKind, row.TrackerItemId, row.ForgeKind));
        Assert.NotNull(row.DeployedAt);
        Assert.Equal(events.Select(e => e.Id).Reverse(), page.Events.Select(e => e.Id)); // newest first
        var list = await queries.ListAsync(new TaskListQuery("web"), CancellationToken.None);
        Assert.Equal((id, 1L, 1L), (Assert.Single(list.Items).Id, list.Total, list.Counts["DEPLOYED"]));

        var detail = (await h.GetTaskAsync(id))!;
        Assert.Equal((row.Status, row.CreatedAt, row.UpdatedAt), (detail.Status, detail.CreatedAt, detail.UpdatedAt));
        var api = (await h.Api.GetFromJsonAsync<TaskPage>("api/tasks", EngineJson.Options))!;
        Assert.Equal((id, "DEPLOYED", issue.HtmlUrl), (Assert.Single(api.Items).Id, api.Items[0].Status, api.Items[0].IssueUrl));
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Retry_is_a_manual_action_of_the_admin_token_written_with_the_event_it_raises()
    {
        const string token = "read-model-admin-token-0123456789abcdef";
        await using var h = await Harness.StartAsync(s => s["ADMIN_TOKEN"] = token);
        h.Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var (id, _) = await h.CreateTaskAsync(description: "<p></p>");
        await h.WaitForStatusAsync(id, TaskStatus.FAILED);
        await h.QuiesceAsync();

        using (var retry = await h.Api.PostAsync($"api/tasks/{id}/retry", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        }

        await Harness.EventuallyAsync(async () => (await h.Db.EventsAsync(id)).Count(e => e.Type == "status_changed" && e.Field("to") == "FAILED") == 2, "the retried task to fail again");
        var events = await h.Db.EventsAsync(id);
        var action = Assert.Single(events, e => e.Type == "manual_action");
        Assert.Equal(("api", ApiActor.AdminToken, "retry", "TaskSpec", (string?)null), (action.Source, action.Actor, action.Field("action"), action.Field("resumes_at"), action.DeliveryId));
        var resumed = events.Single(e => e.Type == "status_changed" && e.Field("from") == "FAILED");
        Assert.True(resumed.Id > action.Id);
        Assert.Equal(("api", ApiActor.AdminToken, "RECEIVED"), (resumed.Source, resumed.Actor, resumed.Field("to")));
        var failedAgain = events.Last(e => e.Type == "status_changed");
        Assert.Equal(("system", (string?)null, "FAILED"), (failedAgain.Source, failedAgain.Actor, failedAgain.Field("to")));
    }

    [Fact]
    public async Task Setting_the_repo_is_a_manual_action_and_Asana_events_carry_their_delivery()
    {
        await using var w = await AsanaWorld.StartAsync();
        var (id, _) = await w.CreateTaskAsync(repo: null);
        await w.H.WaitForStatusAsync(id, TaskStatus.NEEDS_REPO);
        await w.H.QuiesceAsync();

        var (status, _) = await w.PostJsonAsync($"api/tasks/{id}/repo", new { repo = "ACME/api" });
        Assert.Equal(HttpStatusCode.Accepted, status);
        await w.H.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        await w.H.QuiesceAsync();

        var events = await w.H.Db.EventsAsync(id);
        Assert.Equal(("webhook_received", "tracker"), (events[0].Type, events[0].Source));
        Assert.StartsWith("sha256:", events[0].DeliveryId, StringComparison.Ordinal); // Asana sends no id: the inbox keys it by the body's digest
        Assert.Equal(1L, await w.H.Db.ScalarAsync<long>("SELECT count(*) FROM inbox WHERE source = 'asana' AND delivery_id = @d", ("d", events[0].DeliveryId!)));
        Assert.Contains(events, e => e.Type == "repo_missing" && e.Field("allowed")!.Contains(AsanaWorld.ApiRepo, StringComparison.Ordinal));

        // The test harness calls the API with ORCH_ADMIN_TOKEN: the caller is the admin token.
        var action = Assert.Single(events, e => e.Type == "manual_action");
        Assert.Equal(("api", ApiActor.AdminToken, "set_repo", AsanaWorld.ApiRepo), (action.Source, action.Actor, action.Field("action"), action.Field("repo")));
        var after = events.SkipWhile(e => e.Id != action.Id).Skip(1).ToList();
        Assert.Equal(["repo_resolved", "status_changed"], after.Take(2).Select(e => e.Type));
        Assert.All(after.Take(2), e => Assert.Equal(("api", ApiActor.AdminToken), (e.Source, e.Actor)));
        Assert.Equal(("NEEDS_REPO", "TASKSPEC_CREATED"), (after[1].Field("from"), after[1].Field("to")));
        Assert.Contains(after, e => e.Type == "issue_created" && e.Field("repo") == AsanaWorld.ApiRepo);
        Assert.Equal(AsanaWorld.ApiRepo, await w.H.Db.ScalarAsync<string>("SELECT repo FROM tasks WHERE id = @id", ("id", id)));
        Assert.Equal(AsanaWorld.Slug, await w.H.Db.ScalarAsync<string>("SELECT project_slug FROM tasks WHERE id = @id", ("id", id)));
    }
}

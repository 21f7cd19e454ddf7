using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Functions.Activities;
using Orchestrator.Functions.Timers;
using Orchestrator.Shared.Asana;
using Orchestrator.Simulators;
using Orchestrator.Simulators.GitHub;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.EndToEnd;

/// <summary>
/// Asana → GitHub end to end through the real host: webhook handshake and signatures, the full pipeline, and every
/// gating rule of the project (AutoTask field, Repo field, Status field), sync and the GitHub redelivery sweeper.
/// </summary>
public sealed class AsanaPipelineTests
{
    private static readonly Dictionary<string, long> WebshopHook = new() { [AsanaWorld.Webshop] = GitHubSimulator.HookId };

    [Fact]
    public async Task Webhook_creation_handshakes_once_refuses_bad_signatures_and_stray_handshakes_and_records_heartbeats()
    {
        await using var w = await AsanaWorld.StartAsync(connectWebhook: false);
        var target = $"webhooks/asana/as?resource={w.ProjectGid}";
        async Task<HttpStatusCode> PostAsync(byte[] body, params (string, string)[] headers)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new("application/json");
            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await w.H.Api.SendAsync(request);
            return response.StatusCode;
        }

        // Asana cannot reach the public URL: the creation fails, and the handshake window it opened is closed again.
        var (failedStatus, failedBody) = await w.PostJsonAsync("api/projects/as/asana/webhooks", new { public_url = AsanaWorld.ClosedPortUrl("") });
        Assert.Equal(HttpStatusCode.OK, failedStatus);
        Assert.Contains("\"failed: ", failedBody, StringComparison.Ordinal);
        Assert.Empty(w.Asana.Webhooks);
        Assert.Equal(HttpStatusCode.Forbidden, await PostAsync([], (AsanaWebhooks.HookSecretHeader, "stray-secret-0123456789")));
        Assert.Null(await w.Store.GetAsanaWebhookSecretAsync(AsanaWorld.Slug, w.ProjectGid));

        Assert.Equal("created", await w.ConnectWebhookAsync());
        var handshake = w.Asana.Handshakes[^1];
        Assert.Equal(2, w.Asana.Handshakes.Count);
        Assert.True(handshake.Accepted);
        Assert.Equal(handshake.Secret, handshake.EchoedSecret);
        var hook = Assert.Single(w.Asana.Webhooks);
        Assert.Equal(w.ProjectGid, hook.ResourceGid);
        Assert.Equal($"/webhooks/asana/as?resource={w.ProjectGid}", hook.Target.PathAndQuery);
        var row = Assert.Single(await w.Store.ListAsanaWebhooksAsync(AsanaWorld.Slug));
        Assert.True(row.HasSecret);
        Assert.Equal(hook.Gid, row.WebhookGid);
        Assert.Null(row.HandshakeUntil);
        Assert.Equal(handshake.Secret, await w.Store.GetAsanaWebhookSecretAsync(AsanaWorld.Slug, w.ProjectGid));

        // Asked again: the webhook exists and we hold its secret.
        Assert.Equal("exists", await w.ConnectWebhookAsync());
        Assert.Equal(2, w.Asana.Handshakes.Count);
        Assert.Single(w.Asana.Webhooks);

        var events = Encoding.UTF8.GetBytes(
            $$$"""{"events":[{"user":{"gid":"1","resource_type":"user"},"created_at":"2025-01-01T00:00:00.000Z","action":"changed","resource":{"gid":"{{{w.ProjectGid}}}1","resource_type":"task"},"parent":null,"change":{"field":"name","action":"changed"}}]}""");
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(events, (AsanaWebhooks.SignatureHeader, SimulatorHost.HmacHex("not the secret", events))));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(events));
        Assert.Equal(0L, await w.H.Db.ScalarAsync<long>("SELECT count(*) FROM inbox"));

        // A handshake nobody started (a replay, or someone else's webhook) cannot replace the secret.
        Assert.Equal(HttpStatusCode.Forbidden, await PostAsync([], (AsanaWebhooks.HookSecretHeader, "forged-secret-0123456789")));
        Assert.Equal(handshake.Secret, await w.Store.GetAsanaWebhookSecretAsync(AsanaWorld.Slug, w.ProjectGid));
        // Without ?resource= (an unknown resource): the same 401 as a bad signature (issue #8 item 9b).
        Assert.Equal(HttpStatusCode.Unauthorized, (await w.H.Api.PostAsync("webhooks/asana/as", new ByteArrayContent(events))).StatusCode);

        var beat = Assert.Single(await w.Asana.SendHeartbeatAsync());
        Assert.Equal(HttpStatusCode.OK, beat.Answer);
        row = Assert.Single(await w.Store.ListAsanaWebhooksAsync(AsanaWorld.Slug));
        Assert.NotNull(row.LastHeartbeatAt);
        Assert.Null(row.LastEventAt);
        Assert.Equal(0L, await w.H.Db.ScalarAsync<long>("SELECT count(*) FROM inbox"));

        // The secret is lost (e.g. the row was deleted): the webhook is replaced through a new handshake.
        await w.H.Db.ExecuteAsync("DELETE FROM asana_webhooks");
        Assert.Equal("created", await w.ConnectWebhookAsync());
        Assert.Equal(3, w.Asana.Handshakes.Count);
        var replaced = Assert.Single(w.Asana.Webhooks);
        Assert.NotEqual(hook.Gid, replaced.Gid);
        Assert.Equal(replaced.Secret, await w.Store.GetAsanaWebhookSecretAsync(AsanaWorld.Slug, w.ProjectGid));
        Assert.Equal(HttpStatusCode.OK, Assert.Single(await w.Asana.SendHeartbeatAsync()).Answer);

        // The public URL changed (here: another name for the same host): the new webhook is created, then the one we
        // had created before is deleted, so Asana does not keep delivering to the old address.
        var moved = new Uri($"http://localhost:{w.H.HostUrl.Port}/");
        var (movedStatus, movedBody) = await w.PostJsonAsync($"api/projects/{AsanaWorld.Slug}/asana/webhooks", new { public_url = moved });
        Assert.Equal(HttpStatusCode.OK, movedStatus);
        var current = Assert.Single(w.Asana.Webhooks);
        Assert.Equal(moved.Host, current.Target.Host);
        Assert.NotEqual(replaced.Gid, current.Gid);
        using (var answer = JsonDocument.Parse(movedBody))
        {
            var entry = Assert.Single(answer.RootElement.GetProperty("webhooks").EnumerateArray().ToArray());
            Assert.Equal("created", entry.GetProperty("status").GetString());
            Assert.Equal(current.Gid, entry.GetProperty("webhook_gid").GetString());
            Assert.Equal(replaced.Gid, entry.GetProperty("replaced").GetString());
        }

        Assert.Equal(current.Gid, Assert.Single(await w.Store.ListAsanaWebhooksAsync(AsanaWorld.Slug)).WebhookGid);
        Assert.Equal(current.Secret, await w.Store.GetAsanaWebhookSecretAsync(AsanaWorld.Slug, w.ProjectGid));
        Assert.Equal(HttpStatusCode.OK, Assert.Single(await w.Asana.SendHeartbeatAsync()).Answer);

        await w.AssertCleanAsync();
        w.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task An_Asana_AutoTask_goes_through_issue_PR_merge_and_CI_to_DEPLOYED_and_is_completed_once()
    {
        await using var w = await AsanaWorld.StartAsync();
        var (id, gid) = await w.CreateTaskAsync();

        var task = await w.H.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(w.GitHub.Issues(AsanaWorld.Webshop));
        Assert.Empty(w.GitHub.Issues(AsanaWorld.ApiRepo));
        Assert.Equal("AS-1", task.TaskKey);
        Assert.Equal("[AS-1] Add a health endpoint", issue.Title);
        Assert.Contains("# TaskSpec: AS-1", issue.Body, StringComparison.Ordinal);
        Assert.Contains("Please add GET /healthz", issue.Body, StringComparison.Ordinal);
        Assert.Contains("It returns 200 with the build version.", issue.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("/healthz It returns", issue.Body, StringComparison.Ordinal); // Asana's line breaks are kept
        Assert.Contains(EnsureForgeIssueActivity.Marker(id), issue.Body, StringComparison.Ordinal);
        Assert.Equal("/opencode implement", issue.Body!.Split('\n')[^1]);

        // Asana delivers again, and batches the same events differently: nothing new happens.
        var hook = Assert.Single(w.Asana.Webhooks);
        foreach (var delivery in w.Asana.Deliveries.ToArray())
        {
            Assert.Equal(HttpStatusCode.OK, (await w.Asana.ResendAsync(delivery)).Answer);
        }

        var batch = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            events = w.Asana.Deliveries.SelectMany(d => JsonDocument.Parse(d.Body).RootElement.GetProperty("events").EnumerateArray().Select(e => e.Clone())).ToArray(),
        }));
        var rebatched = w.Asana.Deliveries[0] with { Body = batch, Headers = new Dictionary<string, string> { ["Content-Type"] = "application/json", [AsanaWebhooks.SignatureHeader] = SimulatorHost.HmacHex(hook.Secret, batch) } };
        Assert.Equal(HttpStatusCode.OK, (await w.Asana.ResendAsync(rebatched)).Answer);
        await w.H.QuiesceAsync();
        Assert.Single(w.GitHub.Issues(AsanaWorld.Webshop));

        var pr = await w.GitHub.OpenPullRequestAsync(AsanaWorld.Webshop, "Add /healthz", $"Implements it.\n\nFixes #{issue.Number}");
        await w.H.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        var sha = await w.GitHub.MergePullRequestAsync(AsanaWorld.Webshop, pr);
        task = await w.H.WaitForStatusAsync(id, TaskStatus.WAITING_CI);
        Assert.Equal(sha, task.Links.MergeCommit);
        w.GitHub.StartCi(AsanaWorld.Webshop, sha);
        await w.GitHub.CompleteCiAsync(AsanaWorld.Webshop, sha, "success");
        await w.H.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        await w.H.QuiesceAsync();

        Assert.True(w.Asana.GetTask(gid).Completed);
        Assert.Equal(1, w.CompletionCalls(gid));
        var stories = w.Stories(gid);
        Assert.Equal(3, stories.Count);
        Assert.All(stories, s => Assert.Contains("orchestrator ref ", s, StringComparison.Ordinal));
        Assert.Contains(stories, s => s.Contains($"#{issue.Number}", StringComparison.Ordinal));
        Assert.Contains(stories, s => s.Contains($"#{pr}", StringComparison.Ordinal));
        Assert.Contains(stories, s => s.Contains("Lead time", StringComparison.Ordinal));

        // Everything delivered once more after the deploy: still one issue, one completion, the same comments.
        foreach (var delivery in w.Asana.Deliveries.ToArray())
        {
            await w.Asana.ResendAsync(delivery);
        }

        foreach (var delivery in w.GitHub.Deliveries.ToArray())
        {
            Assert.Equal(HttpStatusCode.Accepted, await w.GitHub.ResendAsync(delivery, newDeliveryId: true));
        }

        await w.H.QuiesceAsync();
        Assert.Single(w.GitHub.Issues(AsanaWorld.Webshop));
        Assert.Equal(1, w.CompletionCalls(gid));
        Assert.Equal(3, w.Stories(gid).Count);
        Assert.Equal("DEPLOYED", (await w.H.GetTaskAsync(id))!.Status);
        Assert.Equal(
            ["RECEIVED", "TASKSPEC_CREATED", "ISSUE_CREATED", "PR_CREATED", "WAITING_CI", "DEPLOYED"],
            (await w.H.GetTaskAsync(id))!.Timeline.Select(t => t.Status).Distinct());
        await w.AssertCleanAsync();
        w.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task AutoTask_off_disables_syncing_with_a_label_and_comment_and_on_resumes()
    {
        await using var w = await AsanaWorld.StartAsync();
        var (id, gid) = await w.CreateTaskAsync();
        await w.H.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(w.GitHub.Issues(AsanaWorld.Webshop));

        await w.SetAsync(gid, w.AutoTask, "No");
        await w.H.WaitForStatusAsync(id, TaskStatus.AUTO_DISABLED);
        await w.H.QuiesceAsync();
        issue = Assert.Single(w.GitHub.Issues(AsanaWorld.Webshop));
        Assert.Contains(TaskPipelineLabel, issue.Labels);
        Assert.Contains(w.GitHub.Comments(AsanaWorld.Webshop, issue.Number), c => c.Body.Contains("AutoTask was turned off in Asana", StringComparison.Ordinal));

        await w.SetAsync(gid, w.AutoTask, "Yes");
        await w.H.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        await w.H.QuiesceAsync();
        issue = Assert.Single(w.GitHub.Issues(AsanaWorld.Webshop));
        Assert.DoesNotContain(TaskPipelineLabel, issue.Labels);

        // Clearing the field is "off" too.
        await w.SetAsync(gid, w.AutoTask, null);
        await w.H.WaitForStatusAsync(id, TaskStatus.AUTO_DISABLED);
        await w.H.QuiesceAsync();
        Assert.Contains(TaskPipelineLabel, Assert.Single(w.GitHub.Issues(AsanaWorld.Webshop)).Labels);
        Assert.Equal(2, w.GitHub.Comments(AsanaWorld.Webshop, issue.Number).Count(c => c.Body.Contains("AutoTask was turned off", StringComparison.Ordinal)));
        await w.AssertCleanAsync();
        w.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task Without_a_Repo_the_task_waits_in_NEEDS_REPO_until_the_API_assigns_one()
    {
        await using var w = await AsanaWorld.StartAsync();
        var (id, gid) = await w.CreateTaskAsync(repo: null);

        await w.H.WaitForStatusAsync(id, TaskStatus.NEEDS_REPO);
        await w.H.QuiesceAsync();
        Assert.Empty(w.GitHub.Issues(AsanaWorld.Webshop));
        Assert.Empty(w.GitHub.Issues(AsanaWorld.ApiRepo));
        var story = Assert.Single(w.Stories(gid));
        Assert.Contains("needs a repository", story, StringComparison.Ordinal);
        Assert.Contains(AsanaWorld.ApiRepo, story, StringComparison.Ordinal);
        Assert.Contains($"/api/tasks/{id}/repo", story, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.BadRequest, (await w.PostJsonAsync($"api/tasks/{id}/repo", new { repo = "acme/elsewhere" })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await w.PostJsonAsync($"api/tasks/{id}/repo", new { })).Status);
        var (status, _) = await w.PostJsonAsync($"api/tasks/{id}/repo", new { repo = "ACME/api" });
        Assert.Equal(HttpStatusCode.Accepted, status);
        var task = await w.H.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        Assert.Equal(AsanaWorld.ApiRepo, task.Repo);
        var issue = Assert.Single(w.GitHub.Issues(AsanaWorld.ApiRepo));
        Assert.Equal("[AS-1] Add a health endpoint", issue.Title);
        Assert.Empty(w.GitHub.Issues(AsanaWorld.Webshop));
        Assert.Equal(HttpStatusCode.Conflict, (await w.PostJsonAsync($"api/tasks/{id}/repo", new { repo = AsanaWorld.Webshop })).Status);
        await w.H.QuiesceAsync();
        Assert.Contains(w.Asana.Stories(gid), s => s.HtmlText.Contains($"<a href=\"{issue.HtmlUrl}\">", StringComparison.Ordinal));
        await w.AssertCleanAsync();
        w.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task A_Repo_that_is_not_the_projects_waits_in_NEEDS_REPO_until_Asana_names_one_that_is()
    {
        await using var w = await AsanaWorld.StartAsync();
        var (id, gid) = await w.CreateTaskAsync(repo: "acme/legacy");

        await w.H.WaitForStatusAsync(id, TaskStatus.NEEDS_REPO);
        await w.H.QuiesceAsync();
        Assert.Empty(w.GitHub.Issues(AsanaWorld.Webshop));
        Assert.Empty(w.GitHub.Issues(AsanaWorld.ApiRepo));
        Assert.Contains("needs a repository", Assert.Single(w.Stories(gid)), StringComparison.Ordinal);

        await w.SetAsync(gid, w.Repo, AsanaWorld.Webshop);
        var task = await w.H.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        Assert.Equal(AsanaWorld.Webshop, task.Repo);
        Assert.Single(w.GitHub.Issues(AsanaWorld.Webshop));
        Assert.Empty(w.GitHub.Issues(AsanaWorld.ApiRepo));

        // Once the issue exists the repository is fixed.
        await w.SetAsync(gid, w.Repo, AsanaWorld.ApiRepo);
        await w.H.QuiesceAsync();
        Assert.Equal(AsanaWorld.Webshop, (await w.H.GetTaskAsync(id))!.Repo);
        Assert.Empty(w.GitHub.Issues(AsanaWorld.ApiRepo));
        await w.AssertCleanAsync();
        w.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task Status_Cancelled_closes_the_issue_as_not_planned_and_a_cancelled_or_completed_task_never_starts()
    {
        await using var w = await AsanaWorld.StartAsync();
        foreach (var (name, cancelled) in new[] { ("Cancelled first", true), ("Done first", false) })
        {
            var (never, neverGid) = await w.CreateTaskAsync(name: name, autoTask: false);
            if (cancelled)
            {
                await w.SetAsync(neverGid, w.Status, "Cancelled");
            }
            else
            {
                await w.Asana.CompleteAsync(neverGid);
            }

            await w.SetAsync(neverGid, w.AutoTask, "Yes");
            await w.H.QuiesceAsync();
            Assert.Null(await w.H.GetTaskAsync(never));
        }

        Assert.Empty(w.GitHub.Issues(AsanaWorld.Webshop));
        var (id, gid) = await w.CreateTaskAsync();
        await w.H.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);

        await w.SetAsync(gid, w.Status, "Cancelled");
        await w.H.WaitForStatusAsync(id, TaskStatus.CANCELLED);
        await w.H.QuiesceAsync();
        var issue = Assert.Single(w.GitHub.Issues(AsanaWorld.Webshop));
        Assert.Equal("closed", issue.State);
        Assert.Equal("not_planned", issue.StateReason);
        Assert.Contains(w.GitHub.Comments(AsanaWorld.Webshop, issue.Number), c => c.Body.Contains("cancelled in Asana", StringComparison.Ordinal));
        await w.AssertCleanAsync();
        w.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task Status_Blocked_shows_BLOCKED_while_the_pipeline_goes_on_and_an_active_option_restores_the_status()
    {
        await using var w = await AsanaWorld.StartAsync();
        var (id, gid) = await w.CreateTaskAsync();
        await w.H.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(w.GitHub.Issues(AsanaWorld.Webshop));

        await w.SetAsync(gid, w.Status, "Blocked");
        await w.H.WaitForStatusAsync(id, TaskStatus.BLOCKED);

        // Blocked is a mark only: the PR still links.
        await w.GitHub.OpenPullRequestAsync(AsanaWorld.Webshop, "Fix", $"Closes #{issue.Number}");
        await Harness.EventuallyAsync(
            async () => (await w.H.GetTaskAsync(id))!.Timeline.Any(t => t.Summary.Contains("links the issue", StringComparison.Ordinal)),
            "the PR to link while blocked");
        Assert.Equal("BLOCKED", (await w.H.GetTaskAsync(id))!.Status);

        await w.SetAsync(gid, w.Status, "On track");
        await w.H.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        await w.AssertCleanAsync();
        w.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task Red_CI_after_the_deploy_reopens_only_what_we_completed()
    {
        await using var w = await AsanaWorld.StartAsync(requireCi: false);
        var (ours, oursGid) = await w.CreateTaskAsync(name: "Ours");
        await w.H.WaitForStatusAsync(ours, TaskStatus.ISSUE_CREATED);
        var (theirs, theirsGid) = await w.CreateTaskAsync(name: "Theirs");
        await w.H.WaitForStatusAsync(theirs, TaskStatus.ISSUE_CREATED);
        var issues = w.GitHub.Issues(AsanaWorld.Webshop);
        var oursIssue = issues.Single(i => i.Title == "[AS-1] Ours");
        var theirsIssue = issues.Single(i => i.Title == "[AS-2] Theirs");

        // A person completes "Theirs" in Asana before it is deployed.
        Assert.All(await w.Asana.CompleteAsync(theirsGid), d => Assert.Equal(HttpStatusCode.OK, d.Answer));

        var shas = new Dictionary<string, string>();
        foreach (var (id, issue) in new[] { (ours, oursIssue), (theirs, theirsIssue) })
        {
            var pr = await w.GitHub.OpenPullRequestAsync(AsanaWorld.Webshop, "Fix", $"Fixes #{issue.Number}");
            await w.H.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
            shas[id] = await w.GitHub.MergePullRequestAsync(AsanaWorld.Webshop, pr);
            await w.H.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        }

        await w.H.QuiesceAsync();
        Assert.True(w.Asana.GetTask(oursGid).Completed);
        Assert.Equal(1, w.CompletionCalls(oursGid));
        Assert.True(w.Asana.GetTask(theirsGid).Completed);
        Assert.Equal(0, w.CompletionCalls(theirsGid));

        foreach (var (id, issue) in new[] { (ours, oursIssue), (theirs, theirsIssue) })
        {
            await w.GitHub.CompleteCiAsync(AsanaWorld.Webshop, shas[id], "failure");
            var failed = await w.H.WaitForStatusAsync(id, TaskStatus.FAILED);
            Assert.Equal("Ci", failed.FailedStep);
            Assert.Contains("after the deploy", failed.FailureReason, StringComparison.Ordinal);
        }

        await w.H.QuiesceAsync();
        Assert.False(w.Asana.GetTask(oursGid).Completed);
        Assert.Equal(1, w.CompletionCalls(oursGid, completed: false));
        Assert.Contains(w.Stories(oursGid), s => s.Contains("was reopened", StringComparison.Ordinal));
        Assert.Contains(w.GitHub.Comments(AsanaWorld.Webshop, oursIssue.Number), c => c.Body.Contains("after the deploy", StringComparison.Ordinal));

        Assert.True(w.Asana.GetTask(theirsGid).Completed);
        Assert.Equal(0, w.CompletionCalls(theirsGid, completed: false));
        Assert.Contains(w.Stories(theirsGid), s => s.Contains("stays completed", StringComparison.Ordinal));
        Assert.Contains(w.GitHub.Comments(AsanaWorld.Webshop, theirsIssue.Number), c => c.Body.Contains("after the deploy", StringComparison.Ordinal));
        await w.AssertCleanAsync();
        w.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task Sync_imports_recent_AutoTask_tasks_once_and_ignores_older_ones()
    {
        await using var w = await AsanaWorld.StartAsync(connectWebhook: false);
        var (recent, _) = await w.CreateTaskAsync(name: "Recent");
        var (manual, _) = await w.CreateTaskAsync(name: "Manual", autoTask: false);
        var (old, oldGid) = await w.CreateTaskAsync(name: "Old");
        w.Asana.SetModifiedAt(oldGid, DateTimeOffset.UtcNow.AddDays(-91));

        // AutoTask on, but cancelled or already done: nothing to do.
        var (cancelled, cancelledGid) = await w.CreateTaskAsync(name: "Cancelled");
        await w.SetAsync(cancelledGid, w.Status, "Cancelled");
        var (done, doneGid) = await w.CreateTaskAsync(name: "Done");
        await w.Asana.CompleteAsync(doneGid);
        Assert.Empty(w.Asana.Deliveries);

        var (status, body) = await w.PostJsonAsync("api/projects/as/sync", null);
        Assert.Equal(HttpStatusCode.OK, status);
        using (var doc = JsonDocument.Parse(body))
        {
            Assert.Equal(4, doc.RootElement.GetProperty("seen").GetInt32());
            Assert.Equal(1, doc.RootElement.GetProperty("started").GetInt32());
        }

        var task = await w.H.WaitForStatusAsync(recent, TaskStatus.ISSUE_CREATED);
        await w.H.QuiesceAsync();
        var issue = Assert.Single(w.GitHub.Issues(AsanaWorld.Webshop));
        Assert.Equal("[AS-1] Recent", issue.Title);
        Assert.Null(await w.H.GetTaskAsync(manual));
        Assert.Null(await w.H.GetTaskAsync(old));
        Assert.Null(await w.H.GetTaskAsync(cancelled));
        Assert.Null(await w.H.GetTaskAsync(done));

        (status, body) = await w.PostJsonAsync("api/projects/as/sync", null);
        Assert.Equal(HttpStatusCode.OK, status);
        using (var doc = JsonDocument.Parse(body))
        {
            Assert.Equal(0, doc.RootElement.GetProperty("started").GetInt32());
        }

        await w.H.QuiesceAsync();
        Assert.Single(w.GitHub.Issues(AsanaWorld.Webshop));
        var after = await w.H.GetTaskAsync(recent);
        Assert.Equal("ISSUE_CREATED", after!.Status);
        Assert.Equal(task.Links.Issue, after.Links.Issue);
        Assert.Equal("AS-1", after.TaskKey);

        // Tasks that never started took no number: the next one is AS-2.
        var (next, _) = await w.CreateTaskAsync(name: "Next");
        Assert.Equal(HttpStatusCode.OK, (await w.PostJsonAsync("api/projects/as/sync", null)).Status);
        Assert.Equal("AS-2", (await w.H.WaitForStatusAsync(next, TaskStatus.ISSUE_CREATED)).TaskKey);
        Assert.Equal(2L, await w.H.Db.ScalarAsync<long>("SELECT count(*) FROM task_sequences"));
        await w.H.QuiesceAsync();

        await w.AssertCleanAsync();
        w.AssertNoSecretsLeaked();
    }

    [Fact]
    public async Task A_GitHub_delivery_that_never_arrived_is_redelivered_by_the_sweeper()
    {
        await using var w = await AsanaWorld.StartAsync(hookIds: WebshopHook);
        var (id, _) = await w.CreateTaskAsync();
        await w.H.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(w.GitHub.Issues(AsanaWorld.Webshop));

        // The host is unreachable when the PR is opened.
        w.GitHub.ConfigureWebhook(AsanaWorld.ClosedPortUrl("webhooks/github/as"), AsanaWorld.ForgeWebhookSecret);
        await w.GitHub.OpenPullRequestAsync(AsanaWorld.Webshop, "Fix", $"Fixes #{issue.Number}");
        var lost = w.GitHub.HookDeliveries[^1];
        Assert.Equal(0, lost.StatusCode);
        w.GitHub.ConfigureWebhook(w.GitHubTarget, AsanaWorld.ForgeWebhookSecret);
        await Task.Delay(300);
        Assert.Equal("ISSUE_CREATED", (await w.H.GetTaskAsync(id))!.Status);

        var sweeper = w.H.App.Services.GetRequiredService<RedeliverySweeperService>();
        Assert.Equal(1, await sweeper.SweepOnceAsync(CancellationToken.None));
        await w.H.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        Assert.Equal(1L, await w.H.Db.ScalarAsync<long>($"SELECT count(*) FROM inbox WHERE source = 'github' AND delivery_id = '{lost.Guid}'"));
        Assert.Contains(w.GitHub.HookDeliveries, d => d.Guid == lost.Guid && d.Redelivery && d.StatusCode == 202);

        // Nothing is left to redeliver.
        Assert.Equal(0, await sweeper.SweepOnceAsync(CancellationToken.None));
        await w.AssertCleanAsync();
        w.AssertNoSecretsLeaked();
    }

    private const string TaskPipelineLabel = Orchestrator.Orchestrations.Tasks.TaskPipelineOrchestration.AutoDisabledLabel;
}

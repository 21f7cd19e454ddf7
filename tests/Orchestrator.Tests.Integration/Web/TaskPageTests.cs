using System.Net;
using System.Runtime.Versioning;
using System.Text;
using System.Text.Json.Nodes;
using AngleSharp.Dom;
using Orchestrator.Tests.Integration.Agents;
using Orchestrator.Tests.Integration.EndToEnd;
using Orchestrator.Tests.Integration.ReadModel;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.Web;

/// <summary>Issue #9 §2.2: <c>/p/{slug}/t/{id}</c> — status, links, TaskSpec and version, timeline with sources, actors and ids, agent runs, and scoping to the project.</summary>
public sealed class TaskPageTests
{
    [Fact]
    public async Task The_task_page_shows_the_status_links_TaskSpec_and_the_timeline_with_sources_actors_and_ids()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var (id, item) = await h.CreateTaskAsync();
        var task = await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Add /healthz", $"Fixes #{issue.Number}");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        await h.QuiesceAsync();

        var (status, page, _) = await admin.GetAsync($"/p/web/t/{task.TaskKey}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("PR_CREATED", page.QuerySelector("h1 .badge")!.TextContent);
        Assert.Contains("Add a health endpoint", page.QuerySelector("h1")!.TextContent);
        Assert.Equal(issue.HtmlUrl, page.QuerySelector("a[data-link=issue]")!.GetAttribute("href"));
        Assert.Equal(h.GitHub.PullRequests(Harness.Repo).Single().HtmlUrl, page.QuerySelector("a[data-link=pr]")!.GetAttribute("href"));
        Assert.Equal(id, page.QuerySelector($"button[data-copy='{id}']")?.GetAttribute("data-copy"));

        // The TaskSpec, rendered from Markdown, with its version.
        Assert.Equal("1", page.QuerySelector(".taskspec [data-version]")!.GetAttribute("data-version"));
        var spec = page.QuerySelector(".taskspec .markdown")!;
        Assert.Contains("Acceptance Criteria", spec.TextContent);
        Assert.NotNull(spec.QuerySelector("h1, h2"));
        Assert.Contains("returns 200", spec.QuerySelector("li")!.TextContent);

        // The timeline, newest first, from task_events: every entry names its source; webhook entries carry the delivery id.
        var stored = await h.Db.EventsAsync(id);
        var entries = page.QuerySelectorAll("ol.task-timeline > li").ToList();
        Assert.Equal(stored.Select(e => e.Id.ToString()).Reverse(), entries.Select(e => e.GetAttribute("data-event")));
        Assert.All(entries, e => Assert.Equal(e.GetAttribute("data-source"), e.QuerySelector("[data-field=source]")!.TextContent));
        var received = stored.First(e => e.Type == "webhook_received" && e.Source == "tracker");
        var receivedEntry = Entry(page, received.Id);
        Assert.Equal(received.DeliveryId, receivedEntry.QuerySelector("button[data-copy]")!.GetAttribute("data-copy"));
        Assert.Equal(item.Id, h.Plane.WorkItem(item.Id).Id);
        var linked = stored.Single(e => e.Type == "pr_linked");
        Assert.Equal("forge", linked.Source);
        Assert.Contains($"{Harness.Repo}#{pr}", Entry(page, linked.Id).TextContent);
        var toPr = stored.Last(e => e.Type == "status_changed");
        Assert.Contains("ISSUE_CREATED → PR_CREATED", Entry(page, toPr.Id).QuerySelector("strong")!.TextContent);

        // Older events: everything before a given event.
        var before = stored[^3].Id;
        var (_, older, _) = await admin.GetAsync($"/p/web/t/{task.TaskKey}?before={before}");
        Assert.All(older.QuerySelectorAll("ol.task-timeline > li"), e => Assert.True(long.Parse(e.GetAttribute("data-event")!) < before));
        Assert.Equal(stored.Count - 3, older.QuerySelectorAll("ol.task-timeline > li").Length);
        Assert.NotNull(older.QuerySelector($"a[href='/p/web/t/{task.TaskKey}']"));

        // The same task by instance id and by a lower-case key.
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/p/web/t/{id}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/p/web/t/{task.TaskKey!.ToLowerInvariant()}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/p/web/t/WEB-999")).Status);
    }

    [Fact]
    public async Task Another_projects_task_is_404_under_this_project()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var otherPlane = Guid.NewGuid().ToString();
        h.Plane.AddProject(otherPlane, "OTH");
        h.GitHub.AddRepository("acme/other");
        using (var created = await h.Api.PostAsync("api/projects", new StringContent(new JsonObject
        {
            ["slug"] = "other", ["work_item_prefix"] = "OTH",
            ["tracker"] = new JsonObject { ["kind"] = "plane", ["project_ids"] = new JsonArray(otherPlane) },
            ["forge"] = new JsonObject { ["kind"] = "github", ["repos"] = new JsonArray("acme/other") },
        }.ToJsonString(), Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var (item, _, _) = await h.Plane.CreateWorkItemAsync(otherPlane, "Other project's work", "<p>Something else</p>", ["AutoTask"]);
        var id = Orchestrator.Orchestrations.Tasks.TaskPipelineOrchestration.InstanceIdFor(item.Id);
        var task = await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        Assert.Equal("OTH-1", task.TaskKey);

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/p/other/t/OTH-1")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/p/web/t/OTH-1")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/p/web/t/{id}")).Status);
        var (post, _, _) = await admin.PostAsync($"/p/web/t/{id}?handler=Cancel", new Dictionary<string, string> { ["__RequestVerificationToken"] = await admin.CsrfTokenAsync("/p/web") });
        Assert.Equal(HttpStatusCode.NotFound, post);
        Assert.Equal("ISSUE_CREATED", (await h.GetTaskAsync(id))!.Status);
        Assert.DoesNotContain(DashboardPageTests.Rows((await admin.GetAsync("/p/web")).Document), r => r.GetAttribute("data-task") == id);
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public async Task A_role_pipeline_task_shows_its_stages_verdicts_and_agent_runs()
    {
        using var dir = new TempDirectory();
        var (harness, _, prompts) = await RolePipelineTests.StartAsync(dir, budgetUsd: 10m, rejectOnce: false, hold: "development",
            tweak: s => s["INIT_ADMIN_TOKEN"] = WebAccessTests.InitToken);
        await using var h = harness;
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var (id, _) = await h.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        await Harness.EventuallyAsync(() => Task.FromResult(File.Exists(Path.Combine(prompts, "holding-development"))), "the development agent to start", 60);
        await Harness.EventuallyAsync(async () => await h.Db.ScalarAsync<long>("SELECT count(*) FROM agent_runs WHERE finished_at IS NOT NULL") == 2, "two finished runs");

        // The scripted agent reports no usage; a real adapter records tokens, cost and model on the same row.
        await h.Db.ScalarAsync<int>("UPDATE agent_runs SET tokens_in = 12400, tokens_out = 345, cost_usd = 0.0123, model = 'fake-model-1' WHERE stage = 'analysis' RETURNING 1");

        var (status, page, _) = await admin.GetAsync($"/p/web/t/{id}");
        Assert.Equal(HttpStatusCode.OK, status);
        var roles = page.QuerySelector("section.roles")!;
        Assert.Contains("DEVELOPMENT", roles.QuerySelector("dl")!.TextContent);
        var gates = roles.QuerySelectorAll("table.gates tbody tr").ToList();
        Assert.Equal(["analysis", "architecture"], gates.Select(g => Text(g, "Stage")));
        Assert.All(gates, g => Assert.Equal("Passed", Text(g, "Outcome")));

        var runs = roles.QuerySelectorAll("table.agent-runs tbody tr").ToList();
        Assert.Equal(["analysis", "architecture", "development"], runs.Select(r => Text(r, "Stage")));
        Assert.All(runs, r => Assert.StartsWith("fake", Text(r, "Agent"), StringComparison.Ordinal));
        var analysis = runs[0];
        Assert.Equal("fake-model-1", Text(analysis, "Model"));
        Assert.Equal("succeeded", Text(analysis, "Outcome"));
        Assert.Equal("12,400", Text(analysis, "Tokens in"));
        Assert.Equal("345", Text(analysis, "Tokens out"));
        Assert.Equal("$0.0123", Text(analysis, "Cost"));
        Assert.Matches(@"^\d+(ms|s|m)", Text(analysis, "Duration"));
        Assert.Equal("default", Text(runs[1], "Model"));
        Assert.Equal("—", Text(runs[1], "Tokens in"));
        Assert.Equal("running", Text(runs[2], "Outcome"));
        Assert.NotEmpty(page.QuerySelectorAll("ol.task-timeline > li[data-type=agent_run]"));

        await File.WriteAllTextAsync(Path.Combine(prompts, "release-development"), "");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED, 60);
    }

    private static IElement Entry(IDocument page, long eventId) =>
        page.QuerySelector($"ol.task-timeline > li[data-event='{eventId}']") ?? throw new InvalidOperationException($"no timeline entry {eventId}");

    private static string Text(IElement row, string label) => row.QuerySelector($"td[data-label='{label}']")!.TextContent.Trim();
}

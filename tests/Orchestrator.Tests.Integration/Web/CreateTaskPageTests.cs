using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Projects;
using Orchestrator.Tests.Integration.EndToEnd;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.Web;

/// <summary>
/// Issue #9 §2.3: <c>/p/{slug}/new</c> — an editor creates a task in the project's tracker with the AutoTask marker on; the
/// tracker's webhook starts it and the page links it once the read model has it (Plane and Asana, end to end to ISSUE_CREATED).
/// </summary>
public sealed class CreateTaskPageTests
{
    private const string Path = "/p/web/new";

    [Fact]
    public async Task A_task_created_on_Plane_gets_the_trigger_label_starts_through_the_webhook_and_reaches_ISSUE_CREATED()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);

        // Invalid input: 400, each message next to its field, the values kept, nothing created in Plane.
        var (bad, badPage, _) = await SettingsForms.SubmitAsync(admin, Path, "new-task", new Dictionary<string, string> { ["Input.Title"] = "  ", ["Input.Description"] = "Only words." });
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Equal("Give the task a title.", SettingsForms.ErrorNextTo(badPage, "new-title"));
        Assert.Equal("Only words.", SettingsForms.ValueOf(badPage, "new-description"));
        var (noDescription, noDescriptionPage, _) = await SettingsForms.SubmitAsync(admin, Path, "new-task", new Dictionary<string, string> { ["Input.Title"] = "Add a health endpoint" });
        Assert.Equal(HttpStatusCode.BadRequest, noDescription);
        Assert.StartsWith("Describe the task", SettingsForms.ErrorNextTo(noDescriptionPage, "new-description"), StringComparison.Ordinal);
        Assert.DoesNotContain(h.Plane.Host.Requests, r => r.Method == "POST");

        // The form, twice (a double click): one work item.
        var (_, page, _) = await admin.GetAsync(Path);
        Assert.Equal("page", page.QuerySelector("nav.tabs a[href='/p/web/new']")!.GetAttribute("aria-current"));
        Assert.Equal(Harness.Repo, page.GetElementById("new-repo-fixed")!.TextContent); // Plane items name no repository
        var fields = SettingsForms.FieldsOf(SettingsForms.Form(page, "new-task"));
        var input = new Dictionary<string, string>
        {
            ["Input.Title"] = "Add a health endpoint",
            ["Input.Description"] = "Please add `GET /healthz`.\n\n## Acceptance Criteria\n\n- returns 200\n- <b>raw html</b> stays text",
        };
        var (created, _, response) = await SettingsForms.PostAsync(admin, Path, fields, input);
        Assert.Equal(HttpStatusCode.Redirect, created);
        var (again, _, againResponse) = await SettingsForms.PostAsync(admin, Path, fields, input);
        Assert.Equal(HttpStatusCode.Redirect, again);
        Assert.Equal(response.Headers.Location, againResponse.Headers.Location);

        Assert.Single(h.Plane.Host.Requests, r => r.Method == "POST" && r.PathAndQuery.EndsWith("/work-items/", StringComparison.Ordinal));
        var item = h.Plane.WorkItem(ItemOf(response));
        Assert.Equal("Add a health endpoint", item.Name);
        var label = Assert.Single(h.Plane.Labels(h.ProjectId));
        Assert.Equal("AutoTask", label.Name);
        Assert.Equal([label.Id], item.LabelIds);
        Assert.Contains("<code>GET /healthz</code>", item.DescriptionHtml, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>", item.DescriptionHtml, StringComparison.Ordinal);
        Assert.Equal($"{Path}?created={item.Id}&key=WEB-1", response.Headers.Location!.OriginalString);

        // The page says where it was created and links the task once the webhook started it.
        var (_, after, _) = await admin.GetAsync(response.Headers.Location.OriginalString);
        Assert.Contains("Created in Plane as WEB-1", after.QuerySelector(".flash")!.TextContent);
        Assert.Contains("Created in Plane as WEB-1", after.QuerySelector("section.created h2")!.TextContent);
        var id = TaskPipelineOrchestration.InstanceIdFor(item.Id);
        var task = await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        Assert.Equal("WEB-1", task.TaskKey);
        Assert.Contains("returns 200", task.TaskSpec, StringComparison.Ordinal);
        var (fragmentStatus, fragment, _) = await admin.GetAsync($"{Path}?handler=Created&created={item.Id}");
        Assert.Equal(HttpStatusCode.OK, fragmentStatus);
        Assert.Equal(id, fragment.QuerySelector("#created-task")!.GetAttribute("data-task"));
        Assert.Null(fragment.QuerySelector("#created-task")!.GetAttribute("hx-trigger")); // done: it stops polling
        Assert.Equal("/p/web/t/WEB-1", fragment.QuerySelector("#created-task a")!.GetAttribute("href"));
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        Assert.Contains("GET /healthz", issue.Body, StringComparison.Ordinal);

        // A second task finds the label instead of creating another one.
        var (second, _, secondResponse) = await SettingsForms.SubmitAsync(admin, Path, "new-task", new Dictionary<string, string> { ["Input.Title"] = "Second", ["Input.Description"] = "More." });
        Assert.Equal(HttpStatusCode.Redirect, second);
        Assert.EndsWith("&key=WEB-2", secondResponse.Headers.Location!.OriginalString, StringComparison.Ordinal);
        Assert.Single(h.Plane.Labels(h.ProjectId));
        await h.WaitForStatusAsync(TaskPipelineOrchestration.InstanceIdFor(ItemOf(secondResponse)), TaskStatus.ISSUE_CREATED);
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Before_the_webhook_arrives_the_page_polls_for_the_task_and_viewers_may_not_create()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        var user = await accounts.CreateUserAsync("victor", "victor's long password");
        await accounts.SetMembershipAsync(user.Id, "web", ProjectRole.Viewer);
        using var viewer = await WebAccessTests.SignInAsync(h, "victor", "victor's long password");

        // Plane's webhook is lost: the page keeps polling, and links the dashboard meanwhile.
        h.Plane.EchoApiChangesAsWebhooks = false;
        var (_, _, response) = await SettingsForms.SubmitAsync(admin, Path, "new-task", new Dictionary<string, string> { ["Input.Title"] = "Lost webhook", ["Input.Description"] = "Something." });
        var itemId = ItemOf(response);
        var (_, waiting, _) = await admin.GetAsync(response.Headers.Location!.OriginalString);
        var poll = waiting.QuerySelector("#created-task[data-waiting]")!;
        Assert.Equal($"/p/web/new?handler=Created&created={itemId}", poll.GetAttribute("hx-get"));
        Assert.Equal("every 2s", poll.GetAttribute("hx-trigger"));
        Assert.NotNull(poll.QuerySelector("a[href='/p/web']"));
        var (_, stillWaiting, _) = await admin.GetAsync($"{Path}?handler=Created&created={itemId}");
        Assert.NotNull(stillWaiting.QuerySelector("#created-task[data-waiting][hx-trigger]"));
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync($"{Path}?handler=Created&created=not%20an%20id")).Status);

        // The project sync imports it; the next poll links the task.
        Assert.Equal(HttpStatusCode.OK, (await h.Api.PostAsync("api/projects/web/sync", null)).StatusCode);
        await h.WaitForStatusAsync(TaskPipelineOrchestration.InstanceIdFor(itemId), TaskStatus.ISSUE_CREATED);
        Assert.NotNull((await admin.GetAsync($"{Path}?handler=Created&created={itemId}")).Document.QuerySelector("#created-task[data-task] a"));

        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync(Path)).Status);
        var (post, _, _) = await viewer.PostAsync(Path, new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = await viewer.CsrfTokenAsync("/p/web"), ["Input.Title"] = "x", ["Input.Description"] = "y", ["Input.RequestId"] = Guid.NewGuid().ToString("N"),
        });
        Assert.Equal(HttpStatusCode.Forbidden, post);
        Assert.Single(h.Plane.Host.Requests, r => r.Method == "POST" && r.PathAndQuery.EndsWith("/work-items/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_task_created_on_Asana_gets_the_AutoTask_and_repo_options_starts_through_the_webhook_and_reaches_ISSUE_CREATED()
    {
        await using var w = await AsanaWorld.StartAsync();
        w.Asana.AddCustomFieldSetting(w.ProjectGid, w.AutoTask);
        w.Asana.AddCustomFieldSetting(w.ProjectGid, w.Repo);
        w.Asana.AddCustomFieldSetting(w.ProjectGid, w.Status);
        var accounts = w.H.App.Services.GetRequiredService<AccountStore>();
        var user = await accounts.CreateUserAsync("edith", "edith's long password");
        await accounts.SetMembershipAsync(user.Id, AsanaWorld.Slug, ProjectRole.Editor);
        using var editor = await WebAccessTests.SignInAsync(w.H, "edith", "edith's long password");
        const string path = "/p/as/new";

        var (_, page, _) = await editor.GetAsync(path);
        var options = page.QuerySelectorAll("#new-repo option").Select(o => o.GetAttribute("value") ?? "").ToArray();
        Assert.Equal(["", AsanaWorld.Webshop, AsanaWorld.ApiRepo], options);
        var (noRepo, noRepoPage, _) = await SettingsForms.SubmitAsync(editor, path, "new-task", new Dictionary<string, string> { ["Input.Title"] = "API health", ["Input.Description"] = "Add it.", ["Input.Repo"] = "" });
        Assert.Equal(HttpStatusCode.BadRequest, noRepo);
        Assert.Equal("Choose the repository.", SettingsForms.ErrorNextTo(noRepoPage, "new-repo"));

        var (created, _, response) = await SettingsForms.SubmitAsync(editor, path, "new-task", new Dictionary<string, string>
        {
            ["Input.Title"] = "API health endpoint", ["Input.Description"] = "Add GET /healthz to the API.\n\nIt returns 200.", ["Input.Repo"] = AsanaWorld.ApiRepo,
        });
        Assert.Equal(HttpStatusCode.Redirect, created);
        var gid = ItemOf(response);
        var task = w.Asana.GetTask(gid);
        Assert.Equal(("API health endpoint", w.ProjectGid), (task.Name, task.ProjectGid));
        Assert.Equal(w.AutoTask.Option("Yes").Gid, task.EnumValues[w.AutoTask.Gid]);
        Assert.Equal(w.Repo.Option(AsanaWorld.ApiRepo).Gid, task.EnumValues[w.Repo.Gid]);
        Assert.Contains("Created in Asana", (await editor.GetAsync(response.Headers.Location!.OriginalString)).Document.QuerySelector("section.created h2")!.TextContent);

        var id = TaskPipelineOrchestration.InstanceIdFor(TrackerConfig.Asana, gid);
        var started = await w.H.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        Assert.Equal("AS-1", started.TaskKey);
        Assert.Equal(AsanaWorld.ApiRepo, started.Repo);
        Assert.Single(w.GitHub.Issues(AsanaWorld.ApiRepo));
        Assert.Empty(w.GitHub.Issues(AsanaWorld.Webshop));
        Assert.Equal("/p/as/t/AS-1", (await editor.GetAsync($"{path}?handler=Created&created={gid}")).Document.QuerySelector("#created-task a")!.GetAttribute("href"));
        await w.H.QuiesceAsync();
        await w.AssertCleanAsync();
    }

    [Fact]
    public async Task An_Asana_project_triggered_by_a_tag_gets_the_tag_found_or_created_once()
    {
        await using var w = await AsanaWorld.StartAsync();
        w.Asana.AddCustomFieldSetting(w.ProjectGid, w.Repo);
        var stored = (await w.Store.GetAsync(AsanaWorld.Slug))!;
        var definition = stored.Definition with
        {
            Tracker = stored.Definition.Tracker with { Trigger = new TriggerRule { Label = "AutoTask", Field = null, OnValues = [] } },
        };
        Assert.NotNull(await w.Store.UpdateAsync(AsanaWorld.Slug, definition, null, stored.Version));
        var accounts = w.H.App.Services.GetRequiredService<AccountStore>();
        var user = await accounts.CreateUserAsync("edith", "edith's long password");
        await accounts.SetMembershipAsync(user.Id, AsanaWorld.Slug, ProjectRole.Editor);
        using var editor = await WebAccessTests.SignInAsync(w.H, "edith", "edith's long password");

        var gids = new List<string>();
        foreach (var title in new[] { "First by tag", "Second by tag" })
        {
            var (status, _, response) = await SettingsForms.SubmitAsync(editor, "/p/as/new", "new-task", new Dictionary<string, string>
            {
                ["Input.Title"] = title, ["Input.Description"] = "Tagged.", ["Input.Repo"] = AsanaWorld.Webshop,
            });
            Assert.Equal(HttpStatusCode.Redirect, status);
            gids.Add(ItemOf(response));
        }

        var tag = w.Asana.EnsureTag("AutoTask");
        Assert.All(gids, g => Assert.Equal([tag], w.Asana.GetTask(g).TagGids));
        Assert.Single(w.Asana.Host.Requests, r => r.Method == "POST" && r.PathAndQuery.Contains("/tags", StringComparison.Ordinal));
        foreach (var gid in gids)
        {
            await w.H.WaitForStatusAsync(TaskPipelineOrchestration.InstanceIdFor(TrackerConfig.Asana, gid), TaskStatus.ISSUE_CREATED);
        }
    }

    /// <summary>The item id of the redirect after a create (<c>?created=</c>).</summary>
    private static string ItemOf(HttpResponseMessage redirect)
    {
        var query = redirect.Headers.Location!.OriginalString.Split('?', 2)[1];
        return Uri.UnescapeDataString(query.Split('&').Single(p => p.StartsWith("created=", StringComparison.Ordinal))["created=".Length..]);
    }
}

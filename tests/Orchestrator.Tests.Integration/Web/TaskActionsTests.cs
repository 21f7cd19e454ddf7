using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using AngleSharp.Html.Dom;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Shared.Accounts;
using Orchestrator.Tests.Integration.EndToEnd;
using Orchestrator.Tests.Integration.ReadModel;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.Web;

/// <summary>
/// Issue #9 §2.2, the task page's actions (and the same rules through <c>/api/tasks/{id}/actions/…</c>): each applies where it
/// should with its effect visible on the tracker or forge, is refused with a message where it does not, raises once when
/// submitted twice, and is one <c>manual_action</c> event naming the user; viewers get no buttons and 403.
/// </summary>
public sealed class TaskActionsTests
{
    private const string EditorPassword = "edith's long password";

    [Fact]
    public async Task Add_note_posts_one_tracker_comment_and_one_manual_action_even_when_submitted_twice_and_refuses_bad_text()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var editor = await EditorAsync(h);
        var (id, item, key) = await StartedTaskAsync(h);
        var path = $"/p/web/t/{key}";

        var (_, form, _) = await editor.GetAsync(path);
        var fields = SettingsForms.FieldsOf(SettingsForms.Form(form, "handler=Note"));
        var note = new Dictionary<string, string> { ["text"] = "Please keep the JSON shape of /healthz stable.\nThanks <3" };
        var (first, _, firstResponse) = await SettingsForms.PostAsync(editor, $"{path}?handler=Note", fields, note);
        Assert.Equal(HttpStatusCode.Redirect, first);
        Assert.Equal(path, firstResponse.Headers.Location!.OriginalString);
        Assert.Contains("Note added", await FlashAsync(editor, firstResponse));
        var (second, _, secondResponse) = await SettingsForms.PostAsync(editor, $"{path}?handler=Note", fields, note); // the same form again
        Assert.Equal(HttpStatusCode.Redirect, second);
        Assert.Contains("already added", await FlashAsync(editor, secondResponse));

        await Harness.EventuallyAsync(() => Task.FromResult(h.Plane.Comments(item.Id).Any(c => c.CommentHtml.Contains("Note from edith", StringComparison.Ordinal))), "the note on Plane");
        await h.QuiesceAsync();
        var comment = Assert.Single(h.Plane.Comments(item.Id), c => c.CommentHtml.Contains("Note from edith", StringComparison.Ordinal));
        Assert.Contains("Thanks &lt;3", comment.CommentHtml, StringComparison.Ordinal);
        var action = Assert.Single(await ManualActionsAsync(h, id));
        Assert.Equal(("user", "edith", "note"), (action.Source, action.Actor, action.Field("action")));
        Assert.StartsWith("Please keep the JSON shape", action.Field("text"), StringComparison.Ordinal);
        var (_, page, _) = await editor.GetAsync(path);
        var entry = page.QuerySelector($"ol.task-timeline > li[data-event='{action.Id}']")!;
        Assert.Equal("edith", entry.QuerySelector("[data-field=actor]")!.TextContent);
        Assert.Contains("Please keep the JSON shape", entry.TextContent);

        // A new form (a new one-time id) with the same text is a second note; invalid text is refused next to the field.
        var (tooLong, tooLongPage, _) = await SettingsForms.SubmitAsync(editor, path, "handler=Note", new Dictionary<string, string> { ["text"] = new string('x', 4001) });
        Assert.Equal(HttpStatusCode.BadRequest, tooLong);
        Assert.Contains("At most 4,000 characters", SettingsForms.ErrorNextTo(tooLongPage, "note-text"));
        Assert.Equal(4001, ((IHtmlTextAreaElement)tooLongPage.GetElementById("note-text")!).Value.Length);
        Assert.NotNull(tooLongPage.QuerySelector("details[open] #note-text[aria-invalid=true]"));
        var (empty, emptyPage, _) = await SettingsForms.SubmitAsync(editor, path, "handler=Note", new Dictionary<string, string> { ["text"] = "   " });
        Assert.Equal(HttpStatusCode.BadRequest, empty);
        Assert.Equal("Write the note.", SettingsForms.ErrorNextTo(emptyPage, "note-text"));
        Assert.Single(await ManualActionsAsync(h, id));
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Cancel_closes_the_forge_issue_as_not_planned_once_and_is_refused_when_the_task_is_finished()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var editor = await EditorAsync(h);
        var (id, item, key) = await StartedTaskAsync(h);
        var path = $"/p/web/t/{key}";
        var (_, page, _) = await editor.GetAsync(path);
        var cancelForm = SettingsForms.Form(page, "handler=Cancel");
        Assert.StartsWith($"Cancel {key}? Its GitHub issue #1 is closed as not planned.", cancelForm.GetAttribute("data-confirm"), StringComparison.Ordinal);
        var fields = SettingsForms.FieldsOf(cancelForm);

        var reason = new Dictionary<string, string> { ["reason"] = "duplicate of WEB-7" };
        var (status, _, response) = await SettingsForms.PostAsync(editor, $"{path}?handler=Cancel", fields, reason);
        Assert.Equal(HttpStatusCode.Redirect, status);
        Assert.Contains("is cancelled; its GitHub issue #1 is closed as not planned", await FlashAsync(editor, response));
        var (again, _, againResponse) = await SettingsForms.PostAsync(editor, $"{path}?handler=Cancel", fields, reason);
        Assert.Equal(HttpStatusCode.Redirect, again);
        var repeat = await RefusalOrFlashAsync(editor, againResponse);
        Assert.True(repeat.Contains("already cancelled", StringComparison.Ordinal) || repeat.Contains("is CANCELLED already", StringComparison.Ordinal), repeat);

        await h.WaitForStatusAsync(id, TaskStatus.CANCELLED);
        await Harness.EventuallyAsync(() => Task.FromResult(h.GitHub.Issues(Harness.Repo).Single().State == "closed"), "the issue to close");
        await h.QuiesceAsync();
        var issue = h.GitHub.Issues(Harness.Repo).Single();
        Assert.Equal(("closed", "not_planned"), (issue.State, issue.StateReason));
        Assert.Contains(h.Plane.Comments(item.Id), c => c.CommentHtml.Contains("edith cancelled", StringComparison.Ordinal));
        var action = Assert.Single(await ManualActionsAsync(h, id));
        Assert.Equal(("user", "edith", "cancel", "duplicate of WEB-7"), (action.Source, action.Actor, action.Field("action"), action.Field("reason")));
        var change = (await h.Db.EventsAsync(id)).Last(e => e.Type == "status_changed");
        Assert.Equal(("CANCELLED", "cancelled by edith in Orchestrator: duplicate of WEB-7", "edith"), (change.Field("to"), change.Field("reason"), change.Actor));

        // Finished: no cancel button, and a stale form is refused with a message; nothing is written.
        var (_, after, _) = await editor.GetAsync(path);
        Assert.DoesNotContain(after.Forms, f => (f.GetAttribute("action") ?? "").Contains("handler=Cancel", StringComparison.Ordinal));
        var (late, _, lateResponse) = await SettingsForms.PostAsync(editor, $"{path}?handler=Cancel", fields);
        Assert.Equal(HttpStatusCode.Redirect, late);
        Assert.Contains("is CANCELLED already; only an unfinished task can be cancelled", await RefusalOrFlashAsync(editor, lateResponse));
        Assert.Single(await ManualActionsAsync(h, id));
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Force_link_PR_links_an_open_then_a_merged_pull_request_of_the_project_and_refuses_anything_else()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var editor = await EditorAsync(h);
        var (id, _, key) = await StartedTaskAsync(h);
        var path = $"/p/web/t/{key}";

        // A PR that does not say "Fixes #1": the webhook links nothing.
        var number = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Health endpoint", "Implements the endpoint.");
        await h.QuiesceAsync();
        Assert.Equal("ISSUE_CREATED", (await h.GetTaskAsync(id))!.Status);

        foreach (var (input, message) in new[]
        {
            ("", "Enter the pull request as owner/repo#12 or its URL."),
            ("the health PR", "is not a pull request: enter owner/repo#12 or the pull request's URL."),
            ("acme/elsewhere#3", "acme/elsewhere is not one of the project's repositories (acme/webshop)."),
            ($"{Harness.Repo}#999", $"GitHub has no pull request {Harness.Repo}#999."),
        })
        {
            var (bad, badPage, _) = await SettingsForms.SubmitAsync(editor, path, "handler=LinkPr", new Dictionary<string, string> { ["pr"] = input });
            Assert.Equal(HttpStatusCode.BadRequest, bad);
            Assert.EndsWith(message, SettingsForms.ErrorNextTo(badPage, "link-pr"), StringComparison.Ordinal);
            Assert.Equal(input, SettingsForms.ValueOf(badPage, "link-pr"));
        }

        Assert.Empty(await ManualActionsAsync(h, id));
        var (_, form, _) = await editor.GetAsync(path);
        var fields = SettingsForms.FieldsOf(SettingsForms.Form(form, "handler=LinkPr"));
        var (linked, _, linkedResponse) = await SettingsForms.PostAsync(editor, $"{path}?handler=LinkPr", fields, new Dictionary<string, string> { ["pr"] = $"{Harness.Repo}#{number}" });
        Assert.Equal(HttpStatusCode.Redirect, linked);
        Assert.Contains($"Linked the open pull request {Harness.Repo}#{number}", await FlashAsync(editor, linkedResponse));
        var (twice, _, twiceResponse) = await SettingsForms.PostAsync(editor, $"{path}?handler=LinkPr", fields, new Dictionary<string, string> { ["pr"] = $"{Harness.Repo}#{number}" });
        Assert.Equal(HttpStatusCode.Redirect, twice);
        var repeat = await RefusalOrFlashAsync(editor, twiceResponse);
        Assert.True(repeat.Contains("already", StringComparison.Ordinal), repeat);
        var task = await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        Assert.Equal(h.GitHub.PullRequests(Harness.Repo).Single().HtmlUrl, task.Links.PullRequest);

        // Merged while our webhook was lost: linking it by URL takes the task to CI on its merge commit.
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, number, deliver: false);
        var url = h.GitHub.PullRequests(Harness.Repo).Single().HtmlUrl;
        var (merged, _, mergedResponse) = await SettingsForms.SubmitAsync(editor, path, "handler=LinkPr", new Dictionary<string, string> { ["pr"] = url });
        Assert.Equal(HttpStatusCode.Redirect, merged);
        Assert.Contains("waiting for CI on its merge commit", await FlashAsync(editor, mergedResponse));
        Assert.Equal(sha, (await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI)).Links.MergeCommit);
        var actions = await ManualActionsAsync(h, id);
        Assert.Equal(2, actions.Count);
        Assert.All(actions, a => Assert.Equal(("user", "edith", "link_pr"), (a.Source, a.Actor, a.Field("action"))));
        Assert.Equal(("open", "merged", sha), (actions[0].Field("state"), actions[1].Field("state"), actions[1].Field("sha")));

        // No longer waiting for a PR: refused with the reason, nothing raised.
        var (late, _, lateResponse) = await SettingsForms.PostAsync(editor, $"{path}?handler=LinkPr", fields, new Dictionary<string, string> { ["pr"] = $"{Harness.Repo}#{number}" });
        Assert.Equal(HttpStatusCode.Redirect, late);
        Assert.Contains("is WAITING_CI; a pull request can be linked only while the task is ISSUE_CREATED or PR_CREATED", await RefusalOrFlashAsync(editor, lateResponse));
        Assert.Equal(2, (await ManualActionsAsync(h, id)).Count);
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "success");
        await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
    }

    [Fact]
    public async Task Resync_reads_the_item_from_the_tracker_once_per_change_and_a_deleted_item_cancels_the_task()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var editor = await EditorAsync(h);
        var (id, item, key) = await StartedTaskAsync(h);
        var path = $"/p/web/t/{key}";

        // Renamed in Plane, and the webhook never arrived.
        await h.Plane.RenameAsync(item.Id, "Add a /healthz endpoint with JSON", deliver: false);
        var (_, page, _) = await editor.GetAsync(path);
        Assert.DoesNotContain("with JSON", page.QuerySelector("h1")!.TextContent);
        var fields = SettingsForms.FieldsOf(SettingsForms.Form(page, "handler=Resync"));
        var (status, _, response) = await SettingsForms.PostAsync(editor, $"{path}?handler=Resync", fields);
        Assert.Equal(HttpStatusCode.Redirect, status);
        Assert.Contains("Re-synced", await FlashAsync(editor, response));
        await Harness.EventuallyAsync(async () => (await h.GetTaskAsync(id))!.Title == "Add a /healthz endpoint with JSON", "the new title");
        var (_, again, againResponse) = await SettingsForms.PostAsync(editor, $"{path}?handler=Resync", fields);
        Assert.Contains("already re-synced", await RefusalOrFlashAsync(editor, againResponse));
        await h.QuiesceAsync();
        Assert.Contains("with JSON", (await editor.GetAsync(path)).Document.QuerySelector("h1")!.TextContent);
        Assert.Contains("with JSON", DashboardPageTests.Cell(DashboardPageTests.Rows((await editor.GetAsync("/p/web")).Document).Single(), "Title").TextContent);
        var action = Assert.Single(await ManualActionsAsync(h, id));
        Assert.Equal(("user", "edith", "resync", "Add a /healthz endpoint with JSON"), (action.Source, action.Actor, action.Field("action"), action.Field("title")));

        // Deleted in Plane without a webhook: the re-sync finds it gone and the task is cancelled, its issue closed.
        await h.Plane.DeleteWorkItemAsync(item.Id, deliver: false);
        var (_, _, goneResponse) = await SettingsForms.SubmitAsync(editor, path, "handler=Resync");
        Assert.Contains("no longer exists: the task is cancelled", await FlashAsync(editor, goneResponse));
        await h.WaitForStatusAsync(id, TaskStatus.CANCELLED);
        await Harness.EventuallyAsync(() => Task.FromResult(h.GitHub.Issues(Harness.Repo).Single().StateReason == "not_planned"), "the issue closed as not planned");
        Assert.Equal("deleted", (await ManualActionsAsync(h, id))[^1].Field("found"));
        Assert.Equal("deleted in Plane", (await h.Db.EventsAsync(id)).Last(e => e.Type == "status_changed").Field("reason"));
    }

    [Fact]
    public async Task Retry_and_change_repo_are_refused_where_they_do_not_apply_and_retry_resumes_a_failed_task()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var editor = await EditorAsync(h);
        var (id, _, key) = await StartedTaskAsync(h);
        var path = $"/p/web/t/{key}";
        var (_, page, _) = await editor.GetAsync(path);
        Assert.DoesNotContain(page.Forms, f => (f.GetAttribute("action") ?? "").Contains("handler=Retry", StringComparison.Ordinal));
        Assert.DoesNotContain(page.Forms, f => (f.GetAttribute("action") ?? "").Contains("handler=Repo", StringComparison.Ordinal));

        var (_, _, retry) = await PostAsync(editor, path, "Retry");
        Assert.Contains($"{key} is ISSUE_CREATED; only FAILED tasks can be retried.", await RefusalOrFlashAsync(editor, retry));
        var (_, _, repo) = await PostAsync(editor, path, "Repo", new() { ["repo"] = Harness.Repo });
        Assert.Contains($"The repository of {key} cannot be changed: its GitHub issue #1 exists in {Harness.Repo}, and an issue does not move.", await RefusalOrFlashAsync(editor, repo));
        Assert.Empty(await ManualActionsAsync(h, id));

        // A failed task: the button is there, and a retry by the editor is recorded with the step it resumes at.
        var (failedId, _) = await h.CreateTaskAsync("No description", description: "<p></p>");
        var failed = await h.WaitForStatusAsync(failedId, TaskStatus.FAILED);
        await h.QuiesceAsync();
        var failedPath = $"/p/web/t/{failed.TaskKey}";
        var (_, failedPage, _) = await editor.GetAsync(failedPath);
        Assert.Contains("The work item has no description", failedPage.QuerySelector("[data-failure]")!.TextContent);
        var (status, _, response) = await SettingsForms.SubmitAsync(editor, failedPath, "handler=Retry");
        Assert.Equal(HttpStatusCode.Redirect, status);
        Assert.Contains($"Retry requested: {failed.TaskKey} resumes at TaskSpec.", await FlashAsync(editor, response));
        await Harness.EventuallyAsync(async () => (await h.Db.EventsAsync(failedId)).Count(e => e.Type == "status_changed" && e.Field("to") == "FAILED") == 2, "the retried task to fail again");
        var action = Assert.Single(await ManualActionsAsync(h, failedId));
        Assert.Equal(("user", "edith", "retry", "TaskSpec"), (action.Source, action.Actor, action.Field("action"), action.Field("resumes_at")));
    }

    [Fact]
    public async Task Change_repo_on_the_task_page_sets_the_repo_of_a_NEEDS_REPO_task_once_and_creates_the_issue_there()
    {
        await using var w = await AsanaWorld.StartAsync();
        var accounts = w.H.App.Services.GetRequiredService<AccountStore>();
        var user = await accounts.CreateUserAsync("edith", EditorPassword);
        await accounts.SetMembershipAsync(user.Id, AsanaWorld.Slug, ProjectRole.Editor);
        using var editor = await WebAccessTests.SignInAsync(w.H, "edith", EditorPassword);
        var (id, _) = await w.CreateTaskAsync(repo: null);
        await w.H.WaitForStatusAsync(id, TaskStatus.NEEDS_REPO);
        await w.H.QuiesceAsync();
        var path = $"/p/{AsanaWorld.Slug}/t/{id}";

        var (_, page, _) = await editor.GetAsync(path);
        var select = (IHtmlSelectElement)page.GetElementById("set-repo")!;
        Assert.Equal([AsanaWorld.Webshop, AsanaWorld.ApiRepo], select.Options.Select(o => o.Value));
        var fields = SettingsForms.FieldsOf(SettingsForms.Form(page, "handler=Repo"));
        var (bad, badPage, _) = await SettingsForms.PostAsync(editor, $"{path}?handler=Repo", fields, new Dictionary<string, string> { ["repo"] = "acme/legacy" });
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Contains("is not one of the project's repos", SettingsForms.ErrorNextTo(badPage, "set-repo"));

        var chosen = new Dictionary<string, string> { ["repo"] = AsanaWorld.ApiRepo };
        var (status, _, response) = await SettingsForms.PostAsync(editor, $"{path}?handler=Repo", fields, chosen);
        Assert.Equal(HttpStatusCode.Redirect, status);
        Assert.Contains($"set to {AsanaWorld.ApiRepo}", await FlashAsync(editor, response));
        var (twice, _, _) = await SettingsForms.PostAsync(editor, $"{path}?handler=Repo", fields, chosen);
        Assert.Equal(HttpStatusCode.Redirect, twice);
        await w.H.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        await w.H.QuiesceAsync();
        Assert.Single(w.GitHub.Issues(AsanaWorld.ApiRepo));
        Assert.Empty(w.GitHub.Issues(AsanaWorld.Webshop));
        var action = Assert.Single(await ManualActionsAsync(w.H, id));
        Assert.Equal(("user", "edith", "set_repo", AsanaWorld.ApiRepo), (action.Source, action.Actor, action.Field("action"), action.Field("repo")));
    }

    [Fact]
    public async Task Viewers_see_no_action_buttons_and_get_403_when_they_post()
    {
        await using var h = await WebAccessTests.StartAsync();
        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        var user = await accounts.CreateUserAsync("victor", "victor's long password");
        await accounts.SetMembershipAsync(user.Id, "web", ProjectRole.Viewer);
        using var viewer = await WebAccessTests.SignInAsync(h, "victor", "victor's long password");
        var (id, _, key) = await StartedTaskAsync(h);
        var path = $"/p/web/t/{key}";

        var (status, page, _) = await viewer.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Null(page.QuerySelector("section.task-actions"));
        Assert.DoesNotContain(page.Forms, f => (f.GetAttribute("action") ?? "").Contains("handler=", StringComparison.Ordinal));
        foreach (var handler in new[] { "Retry", "Resync", "LinkPr", "Repo", "Note", "Cancel" })
        {
            var (posted, _, _) = await PostAsync(viewer, path, handler, new() { ["text"] = "hi", ["pr"] = $"{Harness.Repo}#1", ["repo"] = Harness.Repo, ["reason"] = "no" });
            Assert.Equal(HttpStatusCode.Forbidden, posted);
        }

        await h.QuiesceAsync();
        Assert.Empty(await ManualActionsAsync(h, id));
        Assert.Equal("ISSUE_CREATED", (await h.GetTaskAsync(id))!.Status);
    }

    [Fact]
    public async Task The_json_api_applies_the_same_rules_with_202_400_404_and_409()
    {
        await using var h = await WebAccessTests.StartAsync();
        var (id, item, key) = await StartedTaskAsync(h);
        var number = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Abandoned attempt", "Nothing to do with it.");
        await h.GitHub.ClosePullRequestAsync(Harness.Repo, number, deliver: false);

        async Task<(HttpStatusCode Status, JsonElement Body)> PostJsonAsync(HttpClient client, string action, object? body)
        {
            using var response = body is null ? await client.PostAsync($"api/tasks/{key}/actions/{action}", null) : await client.PostAsJsonAsync($"api/tasks/{key}/actions/{action}", body);
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
        }

        var (noted, notedBody) = await PostJsonAsync(h.Api, "note", new { text = "From a script", id = "script-note-1" });
        Assert.Equal(HttpStatusCode.Accepted, noted);
        Assert.Equal(("note", "accepted"), (notedBody.GetProperty("action").GetString(), notedBody.GetProperty("status").GetString()));
        var (again, againBody) = await PostJsonAsync(h.Api, "note", new { text = "From a script", id = "script-note-1" });
        Assert.Equal((HttpStatusCode.Accepted, "already_requested"), (again, againBody.GetProperty("status").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, (await PostJsonAsync(h.Api, "note", new { text = "" })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostJsonAsync(h.Api, "note", new { text = new string('n', 4001) })).Status);
        var (closed, closedBody) = await PostJsonAsync(h.Api, "link-pr", new { pr = $"{Harness.Repo}#{number}" });
        Assert.Equal(HttpStatusCode.Conflict, closed);
        Assert.Contains("closed without being merged", closedBody.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var (badRepo, badRepoBody) = await PostJsonAsync(h.Api, "repo", new { repo = "acme/elsewhere" });
        Assert.Equal(HttpStatusCode.Conflict, badRepo); // the task has its issue: the repo cannot change, whatever the input
        Assert.Contains("cannot be changed", badRepoBody.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, (await PostJsonAsync(h.Api, "retry", null)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await h.Api.PostAsync($"api/tasks/{key}/actions/note", new StringContent("not json", System.Text.Encoding.UTF8, "application/json"))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await h.Api.PostAsJsonAsync("api/tasks/WEB-404/actions/note", new { text = "x" })).StatusCode);

        // A viewer's token may read but not act.
        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        var (viewerToken, _) = await accounts.CreateApiTokenAsync("web", "dashboard screen", ProjectRole.Viewer, null);
        using var viewer = new HttpClient { BaseAddress = h.HostUrl };
        viewer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", viewerToken);
        Assert.Equal(HttpStatusCode.Forbidden, (await PostJsonAsync(viewer, "cancel", new { reason = "no" })).Status);

        var (cancelled, cancelledBody) = await PostJsonAsync(h.Api, "cancel", new { reason = "replaced" });
        Assert.Equal(HttpStatusCode.Accepted, cancelled);
        Assert.Equal("cancel", cancelledBody.GetProperty("action").GetString());
        await h.WaitForStatusAsync(id, TaskStatus.CANCELLED);
        Assert.Equal(HttpStatusCode.Conflict, (await PostJsonAsync(h.Api, "cancel", null)).Status);
        await h.QuiesceAsync();
        Assert.Single(h.Plane.Comments(item.Id), c => c.CommentHtml.Contains("From a script", StringComparison.Ordinal));
        var actions = await ManualActionsAsync(h, id);
        Assert.Equal(["note", "cancel"], actions.Select(a => a.Field("action")));
        Assert.All(actions, a => Assert.Equal(("api", "admin-token"), (a.Source, a.Actor)));
    }

    /// <summary>The editor <c>edith</c> of project <c>web</c>, signed in.</summary>
    private static async Task<Browserless> EditorAsync(Harness h)
    {
        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        var user = await accounts.CreateUserAsync("edith", EditorPassword);
        await accounts.SetMembershipAsync(user.Id, "web", ProjectRole.Editor);
        return await WebAccessTests.SignInAsync(h, "edith", EditorPassword);
    }

    /// <summary>A task started by a signed Plane webhook, with its GitHub issue, everything applied.</summary>
    private static async Task<(string Id, Orchestrator.Simulators.Plane.SimWorkItem Item, string Key)> StartedTaskAsync(Harness h)
    {
        var (id, item) = await h.CreateTaskAsync();
        var task = await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        await h.QuiesceAsync();
        return (id, item, task.TaskKey!);
    }

    /// <summary>Posts a task page handler directly (as a stale or crafted form would), with the page's antiforgery token.</summary>
    private static async Task<(HttpStatusCode Status, IHtmlDocument Page, HttpResponseMessage Response)> PostAsync(Browserless browser, string path, string handler, Dictionary<string, string>? fields = null)
    {
        var values = new Dictionary<string, string>(fields ?? []) { ["__RequestVerificationToken"] = await browser.CsrfTokenAsync(path) };
        return await browser.PostAsync($"{path}?handler={handler}", values);
    }

    private static async Task<string> FlashAsync(Browserless browser, HttpResponseMessage redirect)
    {
        var (_, page, _) = await browser.GetAsync(redirect.Headers.Location!.OriginalString);
        return page.QuerySelector(".flash")?.TextContent ?? throw new InvalidOperationException("no flash: " + page.QuerySelector("[data-refused]")?.TextContent);
    }

    private static async Task<string> RefusalOrFlashAsync(Browserless browser, HttpResponseMessage redirect)
    {
        var (_, page, _) = await browser.GetAsync(redirect.Headers.Location!.OriginalString);
        return page.QuerySelector("[data-refused]")?.TextContent ?? page.QuerySelector(".flash")?.TextContent ?? "";
    }

    private static async Task<IReadOnlyList<StoredEvent>> ManualActionsAsync(Harness h, string id) =>
        [.. (await h.Db.EventsAsync(id)).Where(e => e.Type == "manual_action")];
}

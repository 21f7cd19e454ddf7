using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Shared.Accounts;
using Orchestrator.Tests.Integration.EndToEnd;
using Orchestrator.Tests.Integration.ReadModel;
using Orchestrator.Tests.Integration.Web;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.Api;

/// <summary>
/// Issue #11 §1, <c>POST /api/v1/projects/{slug}/tasks/{id}/actions/{action}</c>: the task page's actions with the screens' rules
/// (<c>TaskActions</c>), on real pipeline tasks — effects on the tracker and forge, 409 where an action does not apply, 400 for
/// bad input, <c>Idempotency-Key</c> replays, editors only (403) and that project only (404).
/// </summary>
public sealed class TaskActionsV1Tests
{
    private static StringContent Json(JsonNode node) => new(node.ToJsonString(), Encoding.UTF8, "application/json");

    private static async Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> ActAsync(
        HttpClient client, string key, string action, JsonNode? body = null, string? idempotencyKey = null, string slug = "web")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/v1/projects/{slug}/tasks/{key}/actions/{action}") { Content = body is null ? null : Json(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response);
    }

    private static async Task<IReadOnlyList<StoredEvent>> ManualActionsAsync(Harness h, string id) =>
        [.. (await h.Db.EventsAsync(id)).Where(e => e.Type == "manual_action")];

    private static async Task<(string Id, Orchestrator.Simulators.Plane.SimWorkItem Item, string Key)> StartedTaskAsync(Harness h, string title = "Add a health endpoint")
    {
        var (id, item) = await h.CreateTaskAsync(title);
        var task = await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        await h.QuiesceAsync();
        return (id, item, task.TaskKey!);
    }

    [Fact]
    public async Task Note_link_pr_resync_and_cancel_act_on_a_running_task_an_idempotent_note_is_posted_once_and_refusals_are_problems()
    {
        await using var h = await WebAccessTests.StartAsync();
        var (id, item, key) = await StartedTaskAsync(h);

        // note, twice with one Idempotency-Key: the first answer comes back, one note, one tracker comment.
        var note = new JsonObject { ["text"] = "Please keep the JSON shape of /healthz stable." };
        var (noted, notedBody, notedResponse) = await ActAsync(h.Api, key, "note", note, "note-key-1");
        Assert.Equal(HttpStatusCode.Accepted, noted);
        Assert.Equal(("note", "accepted", id), ((string?)notedBody!["action"], (string?)notedBody["status"], (string?)notedBody["id"]));
        Assert.Equal($"/api/v1/projects/web/tasks/{id}", notedResponse.Headers.Location?.OriginalString);
        var (replayed, replayedBody, replayedResponse) = await ActAsync(h.Api, key, "note", note, "note-key-1");
        Assert.Equal(HttpStatusCode.Accepted, replayed);
        Assert.Equal("true", replayedResponse.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(notedBody.ToJsonString(), replayedBody!.ToJsonString());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await ActAsync(h.Api, key, "note", new JsonObject { ["text"] = "Another note" }, "note-key-1")).Status);

        // Bad input writes nothing: empty text, too long, a member the body does not have, not JSON.
        Assert.Equal(HttpStatusCode.BadRequest, (await ActAsync(h.Api, key, "note", new JsonObject { ["text"] = " " })).Status);
        var (tooLong, tooLongBody, _) = await ActAsync(h.Api, key, "note", new JsonObject { ["text"] = new string('n', 4001) });
        Assert.Equal(HttpStatusCode.BadRequest, tooLong);
        Assert.Equal("text", (string?)tooLongBody!["field"]);
        var (unknown, unknownBody, unknownResponse) = await ActAsync(h.Api, key, "note", new JsonObject { ["txt"] = "typo" });
        Assert.Equal(HttpStatusCode.BadRequest, unknown);
        Assert.Equal("application/problem+json", unknownResponse.Content.Headers.ContentType?.MediaType);
        Assert.Contains("with no other members", (string?)unknownBody!["detail"], StringComparison.Ordinal);
        using (var notJson = await h.Api.PostAsync($"api/v1/projects/web/tasks/{key}/actions/note", new StringContent("not json", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await ActAsync(h.Api, key, "retry", new JsonObject { ["now"] = true })).Status); // retry takes no input

        // Actions that do not apply to an ISSUE_CREATED task: 409 with the service's reason.
        var (retry, retryBody, _) = await ActAsync(h.Api, key, "retry");
        Assert.Equal(HttpStatusCode.Conflict, retry);
        Assert.Equal($"{key} is ISSUE_CREATED; only FAILED tasks can be retried.", (string?)retryBody!["detail"]);
        var (repo, repoBody, _) = await ActAsync(h.Api, key, "repo", new JsonObject { ["repo"] = Harness.Repo });
        Assert.Equal(HttpStatusCode.Conflict, repo);
        Assert.Contains("cannot be changed", (string?)repoBody!["detail"], StringComparison.Ordinal);

        // link-pr: a PR that does not say "Fixes #1" is linked by hand; the task moves to PR_CREATED.
        var number = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Health endpoint", "Implements the endpoint.");
        await h.QuiesceAsync();
        Assert.Equal(HttpStatusCode.BadRequest, (await ActAsync(h.Api, key, "link-pr", new JsonObject { ["pr"] = "acme/elsewhere#3" })).Status);
        var (linked, linkedBody, _) = await ActAsync(h.Api, key, "link-pr", new JsonObject { ["pr"] = $"{Harness.Repo}#{number}" });
        Assert.Equal(HttpStatusCode.Accepted, linked);
        Assert.Equal("link_pr", (string?)linkedBody!["action"]);
        Assert.Equal(h.GitHub.PullRequests(Harness.Repo).Single().HtmlUrl, (await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED)).Links.PullRequest);

        // resync: renamed in Plane while the webhook was lost.
        await h.Plane.RenameAsync(item.Id, "Add a /healthz endpoint with JSON", deliver: false);
        var (resynced, resyncedBody, _) = await ActAsync(h.Api, key, "resync");
        Assert.Equal((HttpStatusCode.Accepted, "resync"), (resynced, (string?)resyncedBody!["action"]));
        await Harness.EventuallyAsync(async () => (await h.GetTaskAsync(id))!.Title == "Add a /healthz endpoint with JSON", "the new title");

        // cancel (the body is optional), then it no longer applies.
        var (cancelled, _, _) = await ActAsync(h.Api, key, "cancel", new JsonObject { ["reason"] = "replaced by WEB-7" });
        Assert.Equal(HttpStatusCode.Accepted, cancelled);
        await h.WaitForStatusAsync(id, TaskStatus.CANCELLED);
        Assert.Equal(HttpStatusCode.Conflict, (await ActAsync(h.Api, key, "cancel")).Status);

        await h.QuiesceAsync();
        Assert.Single(h.Plane.Comments(item.Id), c => c.CommentHtml.Contains("Please keep the JSON shape", StringComparison.Ordinal));
        var actions = await ManualActionsAsync(h, id);
        Assert.Equal(["note", "link_pr", "resync", "cancel"], actions.Select(a => a.Field("action")));
        Assert.All(actions, a => Assert.Equal(("api", "admin-token"), (a.Source, a.Actor)));
        Assert.Equal("replaced by WEB-7", actions[^1].Field("reason"));
    }

    [Fact]
    public async Task Retry_resumes_a_failed_task_viewers_get_403_and_another_projects_token_or_task_gets_404_writing_nothing()
    {
        await using var h = await WebAccessTests.StartAsync();
        var (runningId, _, runningKey) = await StartedTaskAsync(h, "A running task");
        var (failedId, _) = await h.CreateTaskAsync("No description", description: "<p></p>");
        var failed = await h.WaitForStatusAsync(failedId, TaskStatus.FAILED);
        await h.QuiesceAsync();

        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        var (viewerToken, _) = await accounts.CreateApiTokenAsync("web", "dashboard", ProjectRole.Viewer, null);
        using var viewer = new HttpClient { BaseAddress = h.HostUrl };
        viewer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", viewerToken);
        using (var other = await h.Api.PostAsync("api/v1/projects", Json(new JsonObject
        {
            ["project"] = new JsonObject
            {
                ["slug"] = "other", ["work_item_prefix"] = "OTH",
                ["tracker"] = new JsonObject { ["kind"] = "plane", ["project_ids"] = new JsonArray(Guid.NewGuid().ToString()) },
                ["forge"] = new JsonObject { ["kind"] = "github", ["repos"] = new JsonArray("acme/other") },
            },
        })))
        {
            Assert.Equal(HttpStatusCode.Created, other.StatusCode);
        }

        var (strangerToken, _) = await accounts.CreateApiTokenAsync("other", "other script", ProjectRole.Admin, null);
        using var stranger = new HttpClient { BaseAddress = h.HostUrl };
        stranger.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", strangerToken);

        var bodies = new Dictionary<string, JsonNode?>
        {
            ["retry"] = null, ["resync"] = null, ["link-pr"] = new JsonObject { ["pr"] = $"{Harness.Repo}#1" },
            ["repo"] = new JsonObject { ["repo"] = Harness.Repo }, ["note"] = new JsonObject { ["text"] = "hi" }, ["cancel"] = new JsonObject { ["reason"] = "no" },
        };
        foreach (var (action, body) in bodies)
        {
            var (refused, refusedBody, refusedResponse) = await ActAsync(viewer, runningKey, action, body?.DeepClone(), idempotencyKey: "viewer-" + action);
            Assert.Equal(HttpStatusCode.Forbidden, refused);
            Assert.Equal("application/problem+json", refusedResponse.Content.Headers.ContentType?.MediaType);
            Assert.Contains("this needs editor", (string?)refusedBody!["detail"], StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.NotFound, (await ActAsync(stranger, runningKey, action, body?.DeepClone())).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await ActAsync(stranger, runningId, action, body?.DeepClone(), slug: "other")).Status); // the task is not other's
            Assert.Equal(HttpStatusCode.NotFound, (await ActAsync(h.Api, "WEB-404", action, body?.DeepClone())).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await ActAsync(h.Anonymous, runningKey, action, body?.DeepClone())).Status);
        }

        await h.QuiesceAsync();
        Assert.Empty(await ManualActionsAsync(h, runningId));
        Assert.Equal("ISSUE_CREATED", (await h.GetTaskAsync(runningId))!.Status);

        // An editor's retry of the FAILED task resumes it at the step that failed (it fails there again: still no description).
        var (editorToken, _) = await accounts.CreateApiTokenAsync("web", "ops script", ProjectRole.Editor, null);
        using var editor = new HttpClient { BaseAddress = h.HostUrl };
        editor.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", editorToken);
        var (retried, retriedBody, _) = await ActAsync(editor, failed.TaskKey!.ToLowerInvariant(), "retry");
        Assert.Equal(HttpStatusCode.Accepted, retried);
        Assert.Equal(("retry", "accepted"), ((string?)retriedBody!["action"], (string?)retriedBody["status"]));
        Assert.Contains("resumes at TaskSpec", (string?)retriedBody["message"], StringComparison.Ordinal);
        await Harness.EventuallyAsync(async () => (await h.Db.EventsAsync(failedId)).Count(e => e.Type == "status_changed" && e.Field("to") == "FAILED") == 2, "the retried task to fail again");
        var recorded = Assert.Single(await ManualActionsAsync(h, failedId));
        Assert.Equal(("api", "token:ops script", "retry", "TaskSpec"), (recorded.Source, recorded.Actor, recorded.Field("action"), recorded.Field("resumes_at")));
    }

    [Fact]
    public async Task Repo_sets_the_repository_of_a_NEEDS_REPO_task_once_and_the_issue_is_created_there()
    {
        await using var w = await AsanaWorld.StartAsync();
        var (id, _) = await w.CreateTaskAsync(repo: null);
        await w.H.WaitForStatusAsync(id, TaskStatus.NEEDS_REPO);
        await w.H.QuiesceAsync();

        var (bad, badBody, _) = await ActAsync(w.H.Api, id, "repo", new JsonObject { ["repo"] = "acme/legacy" }, slug: AsanaWorld.Slug);
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Equal("repo", (string?)badBody!["field"]);
        var (set, setBody, _) = await ActAsync(w.H.Api, id, "repo", new JsonObject { ["repo"] = AsanaWorld.ApiRepo }, slug: AsanaWorld.Slug);
        Assert.Equal(HttpStatusCode.Accepted, set);
        Assert.Equal(("set_repo", "accepted"), ((string?)setBody!["action"], (string?)setBody["status"]));
        var (again, againBody, _) = await ActAsync(w.H.Api, id, "repo", new JsonObject { ["repo"] = AsanaWorld.ApiRepo }, slug: AsanaWorld.Slug);
        Assert.True(again is HttpStatusCode.Accepted or HttpStatusCode.Conflict, $"{again}");
        Assert.True(again == HttpStatusCode.Conflict || (string?)againBody!["status"] == "already_requested");
        await w.H.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        await w.H.QuiesceAsync();
        Assert.Single(w.GitHub.Issues(AsanaWorld.ApiRepo));
        Assert.Empty(w.GitHub.Issues(AsanaWorld.Webshop));
        var action = Assert.Single(await ManualActionsAsync(w.H, id));
        Assert.Equal(("api", "admin-token", "set_repo", AsanaWorld.ApiRepo), (action.Source, action.Actor, action.Field("action"), action.Field("repo")));
    }
}

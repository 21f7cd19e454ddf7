using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Platform;
using Orchestrator.Tests.Integration.Plane;

namespace Orchestrator.Tests.Integration.Asana;

/// <summary>AsanaClient against AsanaSimulator: every call, the exact requests, real-shaped answers.</summary>
public sealed class AsanaClientSimulatorTests : IAsyncLifetime
{
    private AsanaTestKit _kit = null!;

    public async Task InitializeAsync() => _kit = await AsanaTestKit.StartAsync();

    public async Task DisposeAsync() => await _kit.DisposeAsync();

    [Fact]
    public async Task GetTask_sends_opt_fields_and_bearer_and_parses_fields_tags_memberships()
    {
        var sim = _kit.Simulator;
        var task = sim.CreateTask(_kit.ProjectGid, "Add a health endpoint", "Please add GET /healthz", _kit.Agent);
        await sim.SetEnumCustomFieldAsync(task.Gid, _kit.Agent.Gid, _kit.Agent.Option("codex").Gid, deliver: false);
        await sim.AddTagAsync(task.Gid, "autotask", deliver: false);

        var result = await _kit.Client.GetTaskAsync(task.Gid, CancellationToken.None);

        Assert.Equal(task.Gid, result.Gid);
        Assert.Equal("Add a health endpoint", result.Name);
        Assert.Equal("Please add GET /healthz", result.Notes);
        Assert.Equal("<body>Please add GET /healthz</body>", result.HtmlNotes);
        Assert.False(result.Completed);
        Assert.Contains(task.Gid, result.PermalinkUrl);
        var field = Assert.Single(result.CustomFields);
        Assert.Equal(new AsanaCustomField(_kit.Agent.Gid, "Agent", "enum", new AsanaEnumOption(_kit.Agent.Option("codex").Gid, "codex")), field);
        Assert.Equal(new AsanaEnumOption(_kit.Agent.Option("codex").Gid, "codex"), result.EnumValue("Agent"));
        Assert.Equal([new AsanaTag(sim.EnsureTag("autotask"), "autotask")], result.Tags);
        var membership = Assert.Single(result.Memberships);
        Assert.Equal(_kit.ProjectGid, membership.ProjectGid);
        Assert.Equal("Untitled section", membership.SectionName);
        Assert.NotNull(membership.SectionGid);
        Assert.Equal(sim.GetTask(task.Gid).ModifiedAt.ToUnixTimeMilliseconds(), result.ModifiedAt!.Value.ToUnixTimeMilliseconds());

        var request = Assert.Single(_kit.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal($"/api/1.0/tasks/{task.Gid}", TestJson.Path(request.PathAndQuery));
        Assert.Equal(new Dictionary<string, string> { ["opt_fields"] = AsanaClient.TaskOptFields }, TestJson.Query(request.PathAndQuery));
        Assert.Equal($"Bearer {AsanaTestKit.Token}", request.Headers["Authorization"]);
        Assert.Equal("application/json", request.Headers["Accept"]);
        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task The_task_answer_is_cut_to_gid_and_the_requested_opt_fields()
    {
        var task = _kit.Simulator.CreateTask(_kit.ProjectGid, "x", "", _kit.Agent);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{_kit.Simulator.ApiBaseUrl}/tasks/{task.Gid}?opt_fields={AsanaClient.TaskOptFields}");
        request.Headers.Authorization = new("Bearer", AsanaTestKit.Token);
        using var response = await _kit.Http.SendAsync(request);
        var data = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["data"]!.AsObject();

        Assert.Equal(
            ["gid", "name", "notes", "html_notes", "completed", "permalink_url", "custom_fields", "tags", "memberships", "modified_at"],
            data.Select(p => p.Key).ToArray());
        var field = data["custom_fields"]![0]!.AsObject();
        Assert.Equal(["gid", "name", "enum_value", "resource_subtype"], field.Select(p => p.Key).ToArray());
        Assert.Null(field["enum_value"]);
        Assert.Equal(["project", "section"], data["memberships"]![0]!.AsObject().Select(p => p.Key).ToArray());
    }

    [Fact]
    public async Task Complete_and_reopen_PUT_completed()
    {
        var task = _kit.Simulator.CreateTask(_kit.ProjectGid, "x");

        await _kit.Client.CompleteTaskAsync(task.Gid, CancellationToken.None);
        Assert.True(_kit.Simulator.GetTask(task.Gid).Completed);
        await _kit.Client.ReopenTaskAsync(task.Gid, CancellationToken.None);
        Assert.False(_kit.Simulator.GetTask(task.Gid).Completed);

        Assert.Equal(2, _kit.Requests.Count);
        foreach (var (request, expected) in _kit.Requests.Zip([true, false]))
        {
            Assert.Equal("PUT", request.Method);
            Assert.Equal($"/api/1.0/tasks/{task.Gid}", TestJson.Path(request.PathAndQuery));
            Assert.Equal(new Dictionary<string, string> { ["opt_fields"] = "completed" }, TestJson.Query(request.PathAndQuery));
            Assert.Equal(new JsonObject { ["data"] = new JsonObject { ["completed"] = expected } }.ToJsonString(), request.Body);
            Assert.StartsWith("application/json", request.Headers["Content-Type"]);
        }

        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Comments_in_text_and_html_and_the_story_list()
    {
        var task = _kit.Simulator.CreateTask(_kit.ProjectGid, "x");

        var plain = await _kit.Client.AddCommentAsync(task.Gid, "Working on it", CancellationToken.None);
        var html = await _kit.Client.AddHtmlCommentAsync(task.Gid, "<body>PR: <a href=\"https://example.com/pr/1\">#1</a></body>", CancellationToken.None);
        var stories = await _kit.Client.ListStoriesAsync(task.Gid, CancellationToken.None);

        Assert.Equal("comment_added", plain.ResourceSubtype);
        Assert.Equal("Working on it", plain.Text);
        Assert.Equal(_kit.Simulator.ApiUserGid, plain.CreatedByGid);
        Assert.Equal("PR: #1", html.Text);
        Assert.Equal([plain.Gid, html.Gid], stories.Select(s => s.Gid));
        Assert.Equal(plain, stories[0]);

        var requests = _kit.Requests;
        Assert.Equal(("POST", $"/api/1.0/tasks/{task.Gid}/stories"), (requests[0].Method, TestJson.Path(requests[0].PathAndQuery)));
        Assert.Equal("""{"data":{"text":"Working on it"}}""", requests[0].Body);
        Assert.Equal("""{"data":{"html_text":"\u003Cbody\u003EPR: \u003Ca href=\u0022https://example.com/pr/1\u0022\u003E#1\u003C/a\u003E\u003C/body\u003E"}}""", requests[1].Body);
        Assert.Equal(AsanaClient.StoryOptFields, TestJson.Query(requests[0].PathAndQuery)["opt_fields"]);
        Assert.Equal(("GET", $"/api/1.0/tasks/{task.Gid}/stories"), (requests[2].Method, TestJson.Path(requests[2].PathAndQuery)));
        Assert.Equal(new Dictionary<string, string> { ["limit"] = "100", ["opt_fields"] = AsanaClient.StoryOptFields }, TestJson.Query(requests[2].PathAndQuery));
        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task EnsureComment_finds_its_marker_and_does_not_post_twice()
    {
        var task = _kit.Simulator.CreateTask(_kit.ProjectGid, "x");
        await _kit.Simulator.CommentAsync(task.Gid, "a person's comment", deliver: false);
        const string marker = "[orchestrator:run-42]";

        var first = await _kit.Client.EnsureCommentAsync(task.Gid, marker, $"<body>Started {marker}</body>", CancellationToken.None);
        var second = await _kit.Client.EnsureCommentAsync(task.Gid, marker, $"<body>Started {marker}</body>", CancellationToken.None);

        Assert.Equal(first.Gid, second.Gid);
        Assert.Equal(2, _kit.Simulator.Stories(task.Gid).Count);
        Assert.Equal(["GET", "POST", "GET"], _kit.Requests.Select(r => r.Method));
        await Assert.ThrowsAsync<ArgumentException>(() => _kit.Client.EnsureCommentAsync(task.Gid, marker, "<body>no marker</body>", CancellationToken.None));
        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Lists_page_with_limit_and_next_page_offset()
    {
        await using var kit = await AsanaTestKit.StartAsync(pageSize: 2);
        var task = kit.Simulator.CreateTask(kit.ProjectGid, "x");
        for (var i = 0; i < 5; i++)
        {
            await kit.Client.AddCommentAsync(task.Gid, $"c{i}", CancellationToken.None);
        }

        var stories = await kit.Client.ListStoriesAsync(task.Gid, CancellationToken.None);

        Assert.Equal(["c0", "c1", "c2", "c3", "c4"], stories.Select(s => s.Text));
        var gets = kit.Requests.Where(r => r.Method == "GET").Select(r => TestJson.Query(r.PathAndQuery)).ToList();
        Assert.Equal(3, gets.Count);
        Assert.False(gets[0].ContainsKey("offset"));
        Assert.All(gets, q => Assert.Equal("2", q["limit"]));
        Assert.NotEqual(gets[1]["offset"], gets[2]["offset"]);
        Assert.Empty(kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task ListProjectTasksModifiedSince_uses_GET_tasks_with_project_and_modified_since_over_pages()
    {
        await using var kit = await AsanaTestKit.StartAsync(pageSize: 2);
        var since = new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
        var old = kit.Simulator.CreateTask(kit.ProjectGid, "old");
        kit.Simulator.SetModifiedAt(old.Gid, since.AddMinutes(-1));
        var fresh = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var t = kit.Simulator.CreateTask(kit.ProjectGid, $"new{i}", "", kit.Agent);
            kit.Simulator.SetModifiedAt(t.Gid, since.AddMinutes(i));
            fresh.Add(t.Gid);
        }

        var other = kit.Simulator.AddProject("Other");
        kit.Simulator.CreateTask(other, "elsewhere");

        var tasks = await kit.Client.ListProjectTasksModifiedSinceAsync(kit.ProjectGid, since, CancellationToken.None);

        Assert.Equal(fresh, tasks.Select(t => t.Gid));
        Assert.Equal("Agent", tasks[0].CustomFields.Single().Name);
        var requests = kit.Requests;
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r => Assert.Equal(("GET", "/api/1.0/tasks"), (r.Method, TestJson.Path(r.PathAndQuery))));
        var q = TestJson.Query(requests[0].PathAndQuery);
        Assert.Equal(kit.ProjectGid, q["project"]);
        Assert.Equal("2026-06-01T12:00:00.000Z", q["modified_since"]);
        Assert.Equal(AsanaClient.TaskOptFields, q["opt_fields"]);
        Assert.Equal("2", q["limit"]);
        Assert.True(TestJson.Query(requests[1].PathAndQuery).ContainsKey("offset"));
        Assert.Empty(kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Webhooks_are_created_listed_and_deleted()
    {
        await using var receiver = await AsanaReceiver.StartAsync();
        var filters = new[] { new AsanaWebhookFilter("task", Action: "changed", Fields: ["custom_fields", "completed"]) };

        var created = await _kit.Client.CreateWebhookAsync(_kit.ProjectGid, receiver.Url, filters, CancellationToken.None);
        var listed = await _kit.Client.ListWebhooksAsync(_kit.Simulator.WorkspaceGid, _kit.ProjectGid, CancellationToken.None);
        await _kit.Client.DeleteWebhookAsync(created.Webhook.Gid, CancellationToken.None);
        var after = await _kit.Client.ListWebhooksAsync(_kit.Simulator.WorkspaceGid, null, CancellationToken.None);

        Assert.Equal(new AsanaWebhook(created.Webhook.Gid, _kit.ProjectGid, receiver.Url.AbsoluteUri, true), created.Webhook);
        Assert.Equal(receiver.Secret, created.HookSecret);
        Assert.Equal([created.Webhook], listed);
        Assert.Empty(after);
        Assert.Empty(_kit.Simulator.Webhooks);

        var requests = _kit.Requests;
        Assert.Equal(("POST", "/api/1.0/webhooks"), (requests[0].Method, TestJson.Path(requests[0].PathAndQuery)));
        Assert.Equal(AsanaClient.WebhookOptFields, TestJson.Query(requests[0].PathAndQuery)["opt_fields"]);
        Assert.Equal(
            new JsonObject
            {
                ["data"] = new JsonObject
                {
                    ["resource"] = _kit.ProjectGid,
                    ["target"] = receiver.Url.AbsoluteUri,
                    ["filters"] = new JsonArray(new JsonObject { ["resource_type"] = "task", ["action"] = "changed", ["fields"] = new JsonArray("custom_fields", "completed") }),
                },
            }.ToJsonString(),
            requests[0].Body);
        Assert.Equal(
            new Dictionary<string, string> { ["limit"] = "100", ["workspace"] = _kit.Simulator.WorkspaceGid, ["resource"] = _kit.ProjectGid, ["opt_fields"] = AsanaClient.WebhookOptFields },
            TestJson.Query(requests[1].PathAndQuery));
        Assert.Equal(("DELETE", $"/api/1.0/webhooks/{created.Webhook.Gid}"), (requests[2].Method, TestJson.Path(requests[2].PathAndQuery)));
        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task A_wrong_token_is_a_permanent_401_and_the_simulator_flags_it()
    {
        using var http = new HttpClient();
        var client = new AsanaClient(http, new AsanaClientSettings(_kit.Simulator.ApiBaseUrl, "wrong-token"));

        var error = await Assert.ThrowsAsync<PlatformApiException>(() => client.GetTaskAsync("123", CancellationToken.None));

        Assert.Equal((HttpStatusCode.Unauthorized, false), (error.StatusCode!.Value, error.IsTransient));
        Assert.EndsWith("Not Authorized", error.Message);
        Assert.DoesNotContain("wrong-token", error.Message);
        Assert.Single(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task An_unknown_task_is_a_permanent_404()
    {
        var error = await Assert.ThrowsAsync<PlatformApiException>(() => _kit.Client.GetTaskAsync("999", CancellationToken.None));

        Assert.Equal((HttpStatusCode.NotFound, false), (error.StatusCode!.Value, error.IsTransient));
        Assert.Equal("GET /tasks/999", error.Operation);
        Assert.Contains("Unknown object", error.Message);
    }

    [Fact]
    public async Task An_injected_429_is_transient_with_the_wait()
    {
        var task = _kit.Simulator.CreateTask(_kit.ProjectGid, "x");
        _kit.Simulator.InjectFault(HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(7));

        var error = await Assert.ThrowsAsync<PlatformApiException>(() => _kit.Client.GetTaskAsync(task.Gid, CancellationToken.None));

        Assert.True(error.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(7), error.RetryAfter);
        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Gids_that_are_not_digits_are_rejected_before_any_request()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _kit.Client.GetTaskAsync("../webhooks", CancellationToken.None));
        Assert.Empty(_kit.Requests);
        Assert.Equal(new Uri("https://app.asana.com/api/1.0"), new AsanaClientSettings("t").BaseUrl);
        Assert.DoesNotContain("secret", new AsanaClientSettings("secret").ToString());
    }
}

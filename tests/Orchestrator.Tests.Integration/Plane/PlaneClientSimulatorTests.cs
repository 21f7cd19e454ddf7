using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Shared.Plane;
using Orchestrator.Shared.Platform;

namespace Orchestrator.Tests.Integration.Plane;

/// <summary>PlaneClient against PlaneSimulator: every call, the exact requests, real-shaped answers.</summary>
public sealed class PlaneClientSimulatorTests : IAsyncLifetime
{
    private PlaneTestKit _kit = null!;

    public async Task InitializeAsync() => _kit = await PlaneTestKit.StartAsync();

    public async Task DisposeAsync() => await _kit.DisposeAsync();

    [Fact]
    public async Task GetWorkItem_sends_expand_and_parses_expanded_labels_and_state()
    {
        var (item, _, _) = await _kit.Simulator.CreateWorkItemAsync(
            _kit.Project.Id, "Add a health endpoint", "<p>Please add GET /healthz</p>", ["agent:opencode", "backend"], deliver: false);

        var workItem = await _kit.Client.GetWorkItemAsync(_kit.Project.Id, item.Id, CancellationToken.None);

        Assert.Equal(item.Id, workItem.Id);
        Assert.Equal(_kit.Project.Id, workItem.ProjectId);
        Assert.Equal(1, workItem.SequenceId);
        Assert.Equal("Add a health endpoint", workItem.Name);
        Assert.Equal("<p>Please add GET /healthz</p>", workItem.DescriptionHtml);
        Assert.Equal(
            [
                new PlaneLabel(_kit.Simulator.EnsureLabel(_kit.Project.Id, "agent:opencode"), "agent:opencode"),
                new PlaneLabel(_kit.Simulator.EnsureLabel(_kit.Project.Id, "backend"), "backend"),
            ],
            workItem.Labels);
        var backlog = _kit.Simulator.State(_kit.Project.Id, "Backlog");
        Assert.Equal(new PlaneState(backlog.Id, "Backlog", "backlog"), workItem.State);
        Assert.Equal(item.CreatedAt, workItem.CreatedAt);

        var request = Assert.Single(_kit.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal($"{_kit.ProjectPath}work-items/{item.Id}/", TestJson.Path(request.PathAndQuery));
        Assert.Equal(new Dictionary<string, string> { ["expand"] = "labels,state" }, TestJson.Query(request.PathAndQuery));
        Assert.Equal(PlaneTestKit.ApiKey, request.Headers["X-Api-Key"]);
        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Work_items_updated_since_are_listed_newest_first_and_paging_stops_at_the_first_older_one()
    {
        await using var kit = await PlaneTestKit.StartAsync(pageSize: 2);
        var now = DateTimeOffset.UtcNow;
        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var (item, _, _) = await kit.Simulator.CreateWorkItemAsync(kit.Project.Id, $"item {i}", "", ["AutoTask"], deliver: false);
            kit.Simulator.SetUpdatedAt(item.Id, now.AddDays(-10 * i)); // item 0 newest … item 5 oldest
            ids.Add(item.Id);
        }

        var listed = await kit.Client.ListWorkItemsUpdatedSinceAsync(kit.Project.Id, now.AddDays(-25), CancellationToken.None);

        Assert.Equal(ids.Take(3), listed.Select(w => w.Id)); // 0, -10, -20 days
        Assert.All(listed, w => Assert.Equal("AutoTask", Assert.Single(w.Labels).Name));
        Assert.All(listed, w => Assert.Equal("Backlog", w.State!.Name));
        Assert.Equal(now.AddDays(-20).ToUnixTimeMilliseconds() / 1000, listed[2].UpdatedAt!.Value.ToUnixTimeMilliseconds() / 1000);

        // Page 1 (items 0, 1), page 2 (items 2, 3: item 3 is older) — page 3 is never asked for.
        Assert.Equal(2, kit.Requests.Count);
        Assert.All(kit.Requests, r => Assert.Equal($"{kit.ProjectPath}work-items/", TestJson.Path(r.PathAndQuery)));
        Assert.Equal(
            new Dictionary<string, string> { ["expand"] = "labels,state", ["order_by"] = "-updated_at", ["per_page"] = "2" },
            TestJson.Query(kit.Requests[0].PathAndQuery));
        Assert.True(TestJson.Query(kit.Requests[1].PathAndQuery).ContainsKey("cursor"));
        Assert.Empty(kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Sequence_ids_count_up_per_project()
    {
        var first = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "one", "", [], deliver: false);
        var second = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "two", "", [], deliver: false);
        var other = _kit.Simulator.AddProject(Guid.NewGuid().ToString(), "OTHER");
        var third = await _kit.Simulator.CreateWorkItemAsync(other.Id, "three", "", [], deliver: false);

        Assert.Equal(1, first.WorkItem.SequenceId);
        Assert.Equal(2, second.WorkItem.SequenceId);
        Assert.Equal(1, third.WorkItem.SequenceId);
        Assert.Equal(2, (await _kit.Client.GetWorkItemAsync(_kit.Project.Id, second.WorkItem.Id, CancellationToken.None)).SequenceId);
    }

    [Fact]
    public async Task Work_item_shapes_with_and_without_expand_are_Planes_and_both_parse()
    {
        var (item, _, _) = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "x", "<p>d</p>", ["agent:codex"], deliver: false);
        var labelId = _kit.Simulator.EnsureLabel(_kit.Project.Id, "agent:codex");
        var backlog = _kit.Simulator.State(_kit.Project.Id, "Backlog");
        var url = new Uri(_kit.Simulator.BaseUrl, $"{_kit.ProjectPath.TrimStart('/')}work-items/{item.Id}/");

        using var bare = await GetJsonAsync(url);
        using var expanded = await GetJsonAsync(new Uri(url + "?expand=labels,state"));

        // Without expand: UUIDs (IssueSerializer.to_representation / PrimaryKeyRelatedField).
        Assert.Equal(labelId, bare.RootElement.GetProperty("labels")[0].GetString());
        Assert.Equal(backlog.Id, bare.RootElement.GetProperty("state").GetString());
        Assert.False(bare.RootElement.TryGetProperty("description_stripped", out _)); // excluded by IssueSerializer
        var fromBare = PlaneJson.ParseWorkItem(bare.RootElement, "unused");
        Assert.Equal([new PlaneLabel(labelId, "")], fromBare.Labels);
        Assert.Equal(new PlaneState(backlog.Id, "", ""), fromBare.State);
        Assert.Equal(_kit.Project.Id, fromBare.ProjectId);

        // With expand: label objects (LabelSerializer) and StateLite {id,name,color,group}.
        var label = expanded.RootElement.GetProperty("labels")[0];
        Assert.Equal("agent:codex", label.GetProperty("name").GetString());
        Assert.StartsWith("#", label.GetProperty("color").GetString());
        Assert.Equal(
            ["id", "name", "color", "group"],
            expanded.RootElement.GetProperty("state").EnumerateObject().Select(p => p.Name));
        var fromExpanded = PlaneJson.ParseWorkItem(expanded.RootElement, "unused");
        Assert.Equal([new PlaneLabel(labelId, "agent:codex")], fromExpanded.Labels);
        Assert.Equal(new PlaneState(backlog.Id, "Backlog", "backlog"), fromExpanded.State);
        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task ListStates_returns_Planes_default_workflow_in_sequence_order()
    {
        var states = await _kit.Client.ListStatesAsync(_kit.Project.Id, CancellationToken.None);

        Assert.Equal(
            [("Backlog", "backlog"), ("Todo", "unstarted"), ("In Progress", "started"), ("Done", "completed"), ("Cancelled", "cancelled")],
            states.Select(s => (s.Name, s.Group)));
        Assert.Equal(_kit.Simulator.States(_kit.Project.Id).Select(s => s.Id), states.Select(s => s.Id));
        var request = Assert.Single(_kit.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal($"{_kit.ProjectPath}states/", TestJson.Path(request.PathAndQuery));
        Assert.Equal(new Dictionary<string, string> { ["per_page"] = "100" }, TestJson.Query(request.PathAndQuery));
        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task ListStates_follows_next_cursor_over_several_pages()
    {
        await using var kit = await PlaneTestKit.StartAsync(pageSize: 2);

        var states = await kit.Client.ListStatesAsync(kit.Project.Id, CancellationToken.None);

        Assert.Equal(kit.Simulator.States(kit.Project.Id).Select(s => s.Id), states.Select(s => s.Id));
        Assert.Equal(
            [
                new Dictionary<string, string> { ["per_page"] = "2" },
                new Dictionary<string, string> { ["per_page"] = "2", ["cursor"] = "2:1:0" },
                new Dictionary<string, string> { ["per_page"] = "2", ["cursor"] = "2:2:0" },
            ],
            kit.Requests.Select(r => TestJson.Query(r.PathAndQuery)));
        Assert.Empty(kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task UpdateWorkItemState_patches_the_state_uuid()
    {
        var (item, _, _) = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "x", "", [], deliver: false);
        var done = _kit.Simulator.State(_kit.Project.Id, "Done");

        await _kit.Client.UpdateWorkItemStateAsync(_kit.Project.Id, item.Id, done.Id, CancellationToken.None);

        Assert.Equal(done.Id, _kit.Simulator.WorkItem(item.Id).StateId);
        var request = Assert.Single(_kit.Requests);
        Assert.Equal("PATCH", request.Method);
        Assert.Equal($"{_kit.ProjectPath}work-items/{item.Id}/", request.PathAndQuery);
        Assert.Equal(PlaneTestKit.ApiKey, request.Headers["X-Api-Key"]);
        Assert.StartsWith("application/json", request.Headers["Content-Type"]);
        Assert.True(JsonNode.DeepEquals(new JsonObject { ["state"] = done.Id }, JsonNode.Parse(request.Body)));
        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task UpdateWorkItemState_to_a_state_of_another_project_is_a_permanent_400()
    {
        var (item, _, _) = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "x", "", [], deliver: false);
        var other = _kit.Simulator.AddProject(Guid.NewGuid().ToString(), "OTHER");
        var foreignDone = _kit.Simulator.State(other.Id, "Done");

        var error = await Assert.ThrowsAsync<PlatformApiException>(() =>
            _kit.Client.UpdateWorkItemStateAsync(_kit.Project.Id, item.Id, foreignDone.Id, CancellationToken.None));

        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Contains("State is not valid", error.Message);
        Assert.Equal(_kit.Simulator.State(_kit.Project.Id, "Backlog").Id, _kit.Simulator.WorkItem(item.Id).StateId);
        Assert.Single(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task ListComments_reads_every_page_newest_first()
    {
        var (item, _, _) = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "x", "", [], deliver: false);
        for (var i = 0; i < 150; i++)
        {
            await _kit.Simulator.AddCommentAsync(item.Id, $"<p>comment {i}</p>", deliver: false);
        }

        var comments = await _kit.Client.ListCommentsAsync(_kit.Project.Id, item.Id, CancellationToken.None);

        Assert.Equal(150, comments.Count);
        Assert.Equal(_kit.Simulator.Comments(item.Id).Reverse().Select(c => c.Id), comments.Select(c => c.Id));
        Assert.Equal("<p>comment 149</p>", comments[0].CommentHtml);
        Assert.Equal(
            [
                new Dictionary<string, string> { ["per_page"] = "100" },
                new Dictionary<string, string> { ["per_page"] = "100", ["cursor"] = "100:1:0" },
            ],
            _kit.Requests.Select(r => TestJson.Query(r.PathAndQuery)));
        Assert.All(_kit.Requests, r => Assert.Equal($"{_kit.ProjectPath}work-items/{item.Id}/comments/", TestJson.Path(r.PathAndQuery)));
        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task CreateComment_posts_html_with_external_source_and_id()
    {
        var (item, _, _) = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "x", "", [], deliver: false);

        var comment = await _kit.Client.CreateCommentAsync(_kit.Project.Id, item.Id, "<p>Started</p>", "run-1:started", CancellationToken.None);

        Assert.Equal(new PlaneComment(comment.Id, "<p>Started</p>", "orchestrator", "run-1:started"), comment);
        var stored = Assert.Single(_kit.Simulator.Comments(item.Id));
        Assert.Equal((comment.Id, "orchestrator", "run-1:started", _kit.Simulator.ApiUserId), (stored.Id, stored.ExternalSource, stored.ExternalId, stored.ActorId));
        var request = Assert.Single(_kit.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal($"{_kit.ProjectPath}work-items/{item.Id}/comments/", request.PathAndQuery);
        Assert.True(JsonNode.DeepEquals(
            new JsonObject { ["comment_html"] = "<p>Started</p>", ["external_source"] = "orchestrator", ["external_id"] = "run-1:started" },
            JsonNode.Parse(request.Body)));

        var listed = Assert.Single(await _kit.Client.ListCommentsAsync(_kit.Project.Id, item.Id, CancellationToken.None));
        Assert.Equal(comment, listed);
        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task CreateComment_twice_with_the_same_key_returns_the_first_comment()
    {
        var (item, _, _) = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "x", "", [], deliver: false);

        var first = await _kit.Client.CreateCommentAsync(_kit.Project.Id, item.Id, "<p>Started</p>", "run-1:started", CancellationToken.None);
        var second = await _kit.Client.CreateCommentAsync(_kit.Project.Id, item.Id, "<p>Started</p>", "run-1:started", CancellationToken.None);

        Assert.Equal(first, second);
        Assert.Single(_kit.Simulator.Comments(item.Id));
        Assert.Equal(
            [
                ("POST", $"{_kit.ProjectPath}work-items/{item.Id}/comments/"),
                ("POST", $"{_kit.ProjectPath}work-items/{item.Id}/comments/"),
                ("GET", $"{_kit.ProjectPath}work-items/{item.Id}/comments/{first.Id}/"),
            ],
            _kit.Requests.Select(r => (r.Method, r.PathAndQuery)));
        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task CreateComment_with_a_key_used_on_another_work_item_fails_permanently()
    {
        var (first, _, _) = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "one", "", [], deliver: false);
        var (second, _, _) = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "two", "", [], deliver: false);
        await _kit.Client.CreateCommentAsync(_kit.Project.Id, first.Id, "<p>a</p>", "shared-key", CancellationToken.None);

        var error = await Assert.ThrowsAsync<PlatformApiException>(() =>
            _kit.Client.CreateCommentAsync(_kit.Project.Id, second.Id, "<p>b</p>", "shared-key", CancellationToken.None));

        Assert.Equal((HttpStatusCode.Conflict, false), (error.StatusCode!.Value, error.IsTransient));
        Assert.Contains("shared-key", error.Message);
        Assert.Empty(_kit.Simulator.Comments(second.Id));
    }

    [Fact]
    public async Task Simulator_requires_Planes_trailing_slash()
    {
        var url = new Uri(_kit.Simulator.BaseUrl, $"{_kit.ProjectPath.TrimStart('/')}states");
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("X-Api-Key", PlaneTestKit.ApiKey);
        using var noRedirects = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });

        using var response = await noRedirects.SendAsync(request);

        Assert.Equal(HttpStatusCode.MovedPermanently, response.StatusCode);
        Assert.Equal($"{_kit.ProjectPath}states/", response.Headers.Location?.OriginalString);
        Assert.Single(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Unknown_work_item_is_a_permanent_404_and_recorded_as_unexpected()
    {
        var error = await Assert.ThrowsAsync<PlatformApiException>(() =>
            _kit.Client.GetWorkItemAsync(_kit.Project.Id, Guid.NewGuid().ToString(), CancellationToken.None));

        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Contains("The requested resource does not exist.", error.Message);
        Assert.Single(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Deleted_work_item_answers_404()
    {
        var (item, _, _) = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "x", "", [], deliver: false);
        await _kit.Simulator.DeleteWorkItemAsync(item.Id, deliver: false);

        var error = await Assert.ThrowsAsync<PlatformApiException>(() =>
            _kit.Client.GetWorkItemAsync(_kit.Project.Id, item.Id, CancellationToken.None));

        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
        Assert.True(_kit.Simulator.WorkItem(item.Id).IsDeleted);
    }

    [Fact]
    public async Task Simulator_rejects_missing_and_wrong_keys_and_unknown_projects_like_Plane()
    {
        var (item, _, _) = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "x", "", [], deliver: false);
        var url = new Uri(_kit.Simulator.BaseUrl, $"{_kit.ProjectPath.TrimStart('/')}work-items/{item.Id}/");

        using var missing = await _kit.Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, url));
        using var wrongRequest = new HttpRequestMessage(HttpMethod.Get, url);
        wrongRequest.Headers.Add("X-Api-Key", "plane_api_wrong");
        using var wrong = await _kit.Http.SendAsync(wrongRequest);
        var wrongClient = new PlaneClient(_kit.Http, new PlaneClientSettings(_kit.Simulator.BaseUrl, "plane_api_wrong", PlaneTestKit.Slug));
        var wrongKeyError = await Assert.ThrowsAsync<PlatformApiException>(() =>
            wrongClient.GetWorkItemAsync(_kit.Project.Id, item.Id, CancellationToken.None));
        var otherWorkspace = new PlaneClient(_kit.Http, new PlaneClientSettings(_kit.Simulator.BaseUrl, PlaneTestKit.ApiKey, "other"));
        var workspaceError = await Assert.ThrowsAsync<PlatformApiException>(() =>
            otherWorkspace.GetWorkItemAsync(_kit.Project.Id, item.Id, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("Authentication credentials were not provided.", TestJson.Object(await missing.Content.ReadAsStringAsync())["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.Equal("Given API token is not valid", TestJson.Object(await wrong.Content.ReadAsStringAsync())["detail"]!.GetValue<string>());
        Assert.Equal((HttpStatusCode.Forbidden, false), (wrongKeyError.StatusCode!.Value, wrongKeyError.IsTransient));
        Assert.DoesNotContain("plane_api_wrong", wrongKeyError.Message);
        Assert.Equal(HttpStatusCode.Forbidden, workspaceError.StatusCode);
        Assert.Equal(4, _kit.Simulator.Host.UnexpectedRequests.Count);
    }

    [Fact]
    public async Task Throttled_request_is_transient_with_Planes_429_and_Retry_After()
    {
        _kit.Simulator.InjectFault(HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(7));

        var error = await Assert.ThrowsAsync<PlatformApiException>(() =>
            _kit.Client.ListStatesAsync(_kit.Project.Id, CancellationToken.None));
        var states = await _kit.Client.ListStatesAsync(_kit.Project.Id, CancellationToken.None);

        Assert.Equal(HttpStatusCode.TooManyRequests, error.StatusCode);
        Assert.True(error.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(7), error.RetryAfter);
        Assert.Contains("RATE_LIMIT_EXCEEDED", error.Message);
        Assert.Equal(5, states.Count);
        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Api_changes_echo_as_webhooks_when_enabled()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        _kit.Simulator.ConfigureWebhook(receiver.Url, "plane_wh_echo");
        _kit.Simulator.EchoApiChangesAsWebhooks = true;
        var (item, _, _) = await _kit.Simulator.CreateWorkItemAsync(_kit.Project.Id, "x", "", [], deliver: false);
        var backlog = _kit.Simulator.State(_kit.Project.Id, "Backlog");
        var started = _kit.Simulator.State(_kit.Project.Id, "In Progress");

        await _kit.Client.UpdateWorkItemStateAsync(_kit.Project.Id, item.Id, started.Id, CancellationToken.None);
        await receiver.WaitForAsync(1);
        await _kit.Client.CreateCommentAsync(_kit.Project.Id, item.Id, "<p>hi</p>", "k1", CancellationToken.None);
        await receiver.WaitForAsync(2);

        var update = TestJson.Object(System.Text.Encoding.UTF8.GetString(receiver.Received[0].Body));
        Assert.Equal(("issue", "updated", "state"), (update["event"]!.GetValue<string>(), update["action"]!.GetValue<string>(), update["activity"]!["field"]!.GetValue<string>()));
        Assert.Equal((started.Id, backlog.Id), (update["activity"]!["new_value"]!.GetValue<string>(), update["activity"]!["old_value"]!.GetValue<string>()));
        Assert.Equal("started", update["data"]!["state"]!["group"]!.GetValue<string>());
        Assert.Equal(_kit.Simulator.ApiUserId, update["activity"]!["actor"]!["id"]!.GetValue<string>());
        var comment = TestJson.Object(System.Text.Encoding.UTF8.GetString(receiver.Received[1].Body));
        Assert.Equal(("issue_comment", "created", "k1"), (comment["event"]!.GetValue<string>(), comment["action"]!.GetValue<string>(), comment["data"]!["external_id"]!.GetValue<string>()));
        Assert.Equal(item.Id, comment["data"]!["issue"]!.GetValue<string>());
        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    private async Task<JsonDocument> GetJsonAsync(Uri url)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("X-Api-Key", PlaneTestKit.ApiKey);
        using var response = await _kit.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }
}

using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Shared.Configuration;
using Orchestrator.Tests.Integration.EndToEnd;

namespace Orchestrator.Tests.Integration.Projects;

/// <summary>/api/projects through the real host on a private schema.</summary>
public sealed class ProjectsApiTests
{
    private const string ForgeToken = "ghp_DISTINCTIVE_forge_token_4f1b9c";
    private const string TrackerToken = "plane_DISTINCTIVE_tracker_token_77ae";
    private const string HookSecret = "DISTINCTIVE_webhook_secret_0x5eed";
    private const string NewForgeToken = "ghp_DISTINCTIVE_rotated_token_9d3e";

    internal static JsonObject Body(string slug = "shop", string trackerId = "aaaaaaaa-0000-0000-0000-000000000001", JsonObject? secrets = null)
    {
        var body = new JsonObject
        {
            ["slug"] = slug,
            ["name"] = "Shop",
            ["work_item_prefix"] = "SHOP",
            ["tracker"] = new JsonObject { ["kind"] = "plane", ["project_ids"] = new JsonArray(trackerId), ["trigger"] = new JsonObject { ["label"] = "AutoTask" } },
            ["forge"] = new JsonObject { ["kind"] = "github", ["repos"] = new JsonArray("acme/shop") },
        };
        if (secrets is not null)
        {
            body["secrets"] = secrets;
        }

        return body;
    }

    private static StringContent Content(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static async Task<(HttpStatusCode Status, JsonObject? Body, string Raw, HttpResponseMessage Response)> SendAsync(HttpClient api, HttpMethod method, string path, JsonNode? body = null, string? raw = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = Content(body);
        }
        else if (raw is not null)
        {
            request.Content = new StringContent(raw, Encoding.UTF8, "application/json");
        }

        var response = await api.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonNode.Parse(text) as JsonObject : null, text, response);
    }

    [Fact]
    public async Task Crud_with_secret_semantics_masking_and_errors()
    {
        await using var h = await Harness.StartAsync();
        var bodies = new List<string>();
        async Task<(HttpStatusCode Status, JsonObject? Body)> Call(HttpMethod method, string path, JsonNode? body = null, string? raw = null)
        {
            var (status, json, text, _) = await SendAsync(h.Api, method, path, body, raw);
            bodies.Add(text);
            return (status, json);
        }

        // Create: 201 + Location, secrets masked, null secrets not set.
        var (status, created, _, response) = await SendAsync(h.Api, HttpMethod.Post, "api/projects",
            Body(secrets: new JsonObject { ["forge_token"] = ForgeToken, ["tracker_token"] = TrackerToken, ["forge_webhook_secret"] = null }));
        bodies.Add(created!.ToJsonString());
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("/api/projects/shop", response.Headers.Location?.OriginalString);
        Assert.Equal(1, (long)created["version"]!);
        Assert.Equal("••••" + ForgeToken[^4..], (string)created["secrets"]!["forge_token"]!);
        Assert.Equal("••••" + TrackerToken[^4..], (string)created["secrets"]!["tracker_token"]!);
        Assert.Equal(2, created["secrets"]!.AsObject().Count);
        Assert.Equal("/webhooks/plane/shop", (string)created["webhooks"]!["tracker"]!);
        Assert.Equal("/webhooks/github/shop", (string)created["webhooks"]!["forge"]!);
        Assert.Empty(created["webhooks"]!["asana"]!.AsArray());
        Assert.NotNull(created["created_at"]);

        // The raw column never holds the plaintext.
        var raw = await h.Db.ScalarAsync<string>("SELECT secrets::text FROM projects WHERE slug = 'shop'");
        Assert.DoesNotContain(ForgeToken, raw, StringComparison.Ordinal);
        Assert.DoesNotContain(TrackerToken, raw, StringComparison.Ordinal);
        Assert.DoesNotContain("DISTINCTIVE", raw, StringComparison.Ordinal);

        // Get and list (the legacy ORCH_PROJECTS_JSON entry was bootstrapped as "web").
        var (getStatus, got) = await Call(HttpMethod.Get, "api/projects/shop");
        Assert.Equal(HttpStatusCode.OK, getStatus);
        Assert.Equal("Shop", (string)got!["name"]!);
        var (_, list) = await Call(HttpMethod.Get, "api/projects");
        Assert.Equal(["shop", "web"], list!["projects"]!.AsArray().Select(p => (string)p!["slug"]!));

        // Duplicate slug and a tracker project that belongs to another project: 409.
        var (dup, dupBody) = await Call(HttpMethod.Post, "api/projects", Body());
        Assert.Equal(HttpStatusCode.Conflict, dup);
        Assert.Contains("already exists", (string)dupBody!["detail"]!, StringComparison.Ordinal);
        var (taken, _) = await Call(HttpMethod.Post, "api/projects", Body("other", h.ProjectId));
        Assert.Equal(HttpStatusCode.Conflict, taken);

        // Update: absent secret kept, null removed, value set; version checked.
        var update = Body(secrets: new JsonObject { ["tracker_token"] = null, ["tracker_webhook_secret"] = HookSecret });
        update["name"] = "Shop 2";
        update["version"] = 1;
        var (put, updated) = await Call(HttpMethod.Put, "api/projects/shop", update);
        Assert.Equal(HttpStatusCode.OK, put);
        Assert.Equal(2, (long)updated!["version"]!);
        Assert.Equal("Shop 2", (string)updated["name"]!);
        Assert.Equal(["forge_token", "tracker_webhook_secret"], updated["secrets"]!.AsObject().Select(s => s.Key));
        var stored = await h.App.Services.GetRequiredService<Orchestrator.Shared.Projects.ProjectStore>().GetAsync("shop");
        Assert.Equal(ForgeToken, stored!.Secret("forge_token"));
        Assert.Equal(HookSecret, stored.Secret("tracker_webhook_secret"));
        Assert.Null(stored.Secret("tracker_token"));

        var (stale, staleBody) = await Call(HttpMethod.Put, "api/projects/shop", update);
        Assert.Equal(HttpStatusCode.Conflict, stale);
        Assert.Contains("version 2, not 1", (string)staleBody!["detail"]!, StringComparison.Ordinal);

        // A response sent back unchanged is a valid PUT that keeps the (masked) secrets; "" removes.
        var roundTrip = updated.DeepClone().AsObject();
        roundTrip["secrets"]!["forge_token"] = NewForgeToken;
        roundTrip["secrets"]!["tracker_webhook_secret"] = "";
        var (rt, afterRt) = await Call(HttpMethod.Put, "api/projects/shop", roundTrip);
        Assert.Equal(HttpStatusCode.OK, rt);
        Assert.Equal(3, (long)afterRt!["version"]!);
        Assert.Equal(["forge_token"], afterRt["secrets"]!.AsObject().Select(s => s.Key));
        var (rt2, afterRt2) = await Call(HttpMethod.Put, "api/projects/shop", afterRt);
        Assert.Equal(HttpStatusCode.OK, rt2);
        stored = await h.App.Services.GetRequiredService<Orchestrator.Shared.Projects.ProjectStore>().GetAsync("shop");
        Assert.Equal(NewForgeToken, stored!.Secret("forge_token"));
        Assert.Equal(4, (long)afterRt2!["version"]!);

        // Validation: every error listed, as problem details.
        var invalid = Body("Bad Slug", secrets: new JsonObject { ["password"] = "x" });
        invalid["mode"] = "yolo";
        invalid["forge"]!["repos"] = new JsonArray("not a repo");
        var (bad, badBody, badRaw, badResponse) = await SendAsync(h.Api, HttpMethod.Post, "api/projects", invalid);
        bodies.Add(badRaw);
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Equal("application/problem+json", badResponse.Content.Headers.ContentType?.MediaType);
        var errors = badBody!["errors"]!.AsArray().Select(e => (string)e!).ToList();
        Assert.Contains(errors, e => e.StartsWith("slug", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("mode", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("forge.repos", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("secrets.password", StringComparison.Ordinal));
        Assert.Equal(400, (int)badBody["status"]!);

        var (notJson, notJsonBody) = await Call(HttpMethod.Post, "api/projects", raw: "{\"slug\": ");
        Assert.Equal(HttpStatusCode.BadRequest, notJson);
        Assert.Contains("not valid JSON", (string)notJsonBody!["errors"]![0]!, StringComparison.Ordinal);
        var typo = Body("typo");
        typo["trackr"] = "x";
        var (typoStatus, typoBody) = await Call(HttpMethod.Post, "api/projects", typo);
        Assert.Equal(HttpStatusCode.BadRequest, typoStatus);
        Assert.Contains("trackr", (string)typoBody!["errors"]![0]!, StringComparison.Ordinal);
        var (arr, _) = await Call(HttpMethod.Post, "api/projects", raw: "[]");
        Assert.Equal(HttpStatusCode.BadRequest, arr);
        var (slugChange, slugChangeBody) = await Call(HttpMethod.Put, "api/projects/shop", Body("shop2"));
        Assert.Equal(HttpStatusCode.BadRequest, slugChange);
        Assert.Contains("cannot change", (string)slugChangeBody!["detail"]!, StringComparison.Ordinal);

        // 404s.
        Assert.Equal(HttpStatusCode.NotFound, (await Call(HttpMethod.Get, "api/projects/nope")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Call(HttpMethod.Put, "api/projects/nope", Body("nope"))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Call(HttpMethod.Delete, "api/projects/nope")).Status);

        // Delete: 204, then 404.
        Assert.Equal(HttpStatusCode.NoContent, (await Call(HttpMethod.Delete, "api/projects/shop")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Call(HttpMethod.Get, "api/projects/shop")).Status);

        // No response body and no log line ever carried a secret value.
        var lines = h.Logs.Lines;
        Assert.NotEmpty(lines);
        foreach (var secret in new[] { ForgeToken, TrackerToken, HookSecret, NewForgeToken, "DISTINCTIVE" })
        {
            Assert.All(bodies, b => Assert.DoesNotContain(secret, b, StringComparison.Ordinal));
            Assert.All(lines, l => Assert.DoesNotContain(secret, l, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Admin_token_guards_every_route()
    {
        const string token = "admin-token-0123456789abcdef";
        await using var h = await Harness.StartAsync(s => s["ADMIN_TOKEN"] = token);
        h.Api.DefaultRequestHeaders.Authorization = null;
        foreach (var (method, path) in new[] { (HttpMethod.Get, "api/projects"), (HttpMethod.Get, "api/projects/web"), (HttpMethod.Post, "api/projects"), (HttpMethod.Put, "api/projects/web"), (HttpMethod.Delete, "api/projects/web") })
        {
            var (none, noneBody, _, noneResponse) = await SendAsync(h.Api, method, path, method == HttpMethod.Get || method == HttpMethod.Delete ? null : Body());
            Assert.Equal(HttpStatusCode.Unauthorized, none);
            Assert.Equal(401, (int)noneBody!["status"]!);
            Assert.Equal("Bearer", noneResponse.Headers.WwwAuthenticate.ToString());

            h.Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token + "x");
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(h.Api, method, path)).Status);
            h.Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", token);
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(h.Api, method, path)).Status);
            h.Api.DefaultRequestHeaders.Authorization = null;
        }

        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM projects"));
        h.Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(h.Api, HttpMethod.Get, "api/projects/web")).Status);
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(h.Api, HttpMethod.Post, "api/projects", Body())).Status);

        // The task and queue API too (issue #8 item 4: they were open).
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(h.Api, HttpMethod.Get, "api/tasks")).Status);
        h.Api.DefaultRequestHeaders.Authorization = null;
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(h.Api, HttpMethod.Get, "api/tasks")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(h.Api, HttpMethod.Get, "api/queue")).Status);
        Assert.All(h.Logs.Lines, l => Assert.DoesNotContain(token, l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bootstrap_from_projects_json_creates_then_updates_on_restart()
    {
        var asanaEntry = new JsonObject
        {
            ["slug"] = "tasks",
            ["work_item_prefix"] = "TSK",
            ["tracker"] = new JsonObject { ["kind"] = "asana", ["workspace"] = "1200", ["project_ids"] = new JsonArray("1201"), ["trigger"] = new JsonObject { ["label"] = null, ["field"] = "AutoTask" } },
            ["forge"] = new JsonObject { ["kind"] = "gitea", ["base_url"] = "http://gitea.local", ["repos"] = new JsonArray("acme/tasks") },
            ["secrets"] = new JsonObject { ["tracker_token"] = TrackerToken, ["forge_token"] = ForgeToken },
        };
        string Json(string projectId, JsonObject entry, string legacyPrefix = "WEB") =>
            new JsonArray(
                new JsonObject { ["plane_project_id"] = projectId, ["repo"] = Harness.Repo, ["work_item_prefix"] = legacyPrefix, ["trigger_label"] = "Robot", ["require_ci"] = false, ["git_url"] = "file:///tmp/x.git" },
                entry.DeepClone()).ToJsonString();

        await using var h = await Harness.StartAsync(s => s["PROJECTS_JSON"] = Json(Guid.NewGuid().ToString(), asanaEntry), startHost: false);
        var projectId = JsonNode.Parse(h.Settings["PROJECTS_JSON"]!)![0]!["plane_project_id"]!.GetValue<string>();
        await h.StartHostAsync();

        var (_, web, _, _) = await SendAsync(h.Api, HttpMethod.Get, "api/projects/web");
        Assert.Equal(1, (long)web!["version"]!);
        Assert.Equal("WEB", (string)web["name"]!);
        Assert.Equal("WEB", (string)web["work_item_prefix"]!);
        Assert.Equal("plane", (string)web["tracker"]!["kind"]!);
        Assert.Equal(projectId, (string)web["tracker"]!["project_ids"]![0]!);
        Assert.Equal("Robot", (string)web["tracker"]!["trigger"]!["label"]!);
        Assert.Null(web["tracker"]!["base_url"]);
        Assert.Null(web["tracker"]!["workspace"]);
        Assert.Equal("github", (string)web["forge"]!["kind"]!);
        Assert.Equal(Harness.Repo, (string)web["forge"]!["repos"]![0]!);
        Assert.Equal("file:///tmp/x.git", (string)web["forge"]!["git_url"]!);
        Assert.False((bool)web["require_ci"]!);
        Assert.Empty(web["secrets"]!.AsObject());

        var (_, tasks, tasksRaw, _) = await SendAsync(h.Api, HttpMethod.Get, "api/projects/tasks");
        Assert.Equal(1, (long)tasks!["version"]!);
        Assert.Equal("/webhooks/asana/tasks", (string)tasks["webhooks"]!["tracker"]!);
        Assert.Equal("/webhooks/gitea/tasks", (string)tasks["webhooks"]!["forge"]!);
        Assert.Null(tasks["tracker"]!["trigger"]!["label"]);
        Assert.Equal("••••" + TrackerToken[^4..], (string)tasks["secrets"]!["tracker_token"]!);
        Assert.DoesNotContain(TrackerToken, tasksRaw, StringComparison.Ordinal);

        // A secret set through the API survives restarts whose entry does not mention it; an edit of the definition
        // survives restarts whose entry did not change.
        var put = tasks.DeepClone().AsObject();
        put["secrets"] = new JsonObject { ["forge_webhook_secret"] = HookSecret };
        put["name"] = "Tasks (edited in the UI)";
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(h.Api, HttpMethod.Put, "api/projects/tasks", put)).Status);

        // Restart unchanged: nothing is written.
        await h.StopHostAsync();
        await h.StartHostAsync();
        Assert.Equal(1, (long)(await SendAsync(h.Api, HttpMethod.Get, "api/projects/web")).Body!["version"]!);
        var kept = (await SendAsync(h.Api, HttpMethod.Get, "api/projects/tasks")).Body!;
        Assert.Equal(2, (long)kept["version"]!);
        Assert.Equal("Tasks (edited in the UI)", (string)kept["name"]!);

        // Restart with changed entries: both updated, unmentioned secrets kept.
        var changed = asanaEntry.DeepClone().AsObject();
        changed["require_ci"] = false;
        changed["secrets"] = new JsonObject { ["forge_token"] = NewForgeToken };
        await h.StopHostAsync();
        h.Settings["PROJECTS_JSON"] = Json(projectId, changed).Replace("Robot", "AutoTask", StringComparison.Ordinal);
        await h.StartHostAsync();
        web = (await SendAsync(h.Api, HttpMethod.Get, "api/projects/web")).Body!;
        Assert.Equal(2, (long)web["version"]!);
        Assert.Equal("AutoTask", (string)web["tracker"]!["trigger"]!["label"]!);
        tasks = (await SendAsync(h.Api, HttpMethod.Get, "api/projects/tasks")).Body!;
        Assert.Equal(3, (long)tasks["version"]!);
        Assert.False((bool)tasks["require_ci"]!);
        Assert.NotEqual("Tasks (edited in the UI)", (string?)tasks["name"]); // the changed entry is applied whole
        var stored = await h.App.Services.GetRequiredService<Orchestrator.Shared.Projects.ProjectStore>().GetAsync("tasks");
        Assert.Equal(NewForgeToken, stored!.Secret("forge_token"));
        Assert.Equal(TrackerToken, stored.Secret("tracker_token"));
        Assert.Equal(HookSecret, stored.Secret("forge_webhook_secret"));

        var lines = h.Logs.Lines;
        Assert.Contains(lines, l => l.Contains("project tasks updated (version 3)", StringComparison.Ordinal));
        foreach (var secret in new[] { ForgeToken, TrackerToken, HookSecret, NewForgeToken })
        {
            Assert.All(lines, l => Assert.DoesNotContain(secret, l, StringComparison.Ordinal));
        }

        // An invalid entry stops startup with a message naming it.
        await h.StopHostAsync();
        var invalid = asanaEntry.DeepClone().AsObject();
        invalid["tracker"]!["workspace"] = null;
        h.Settings["PROJECTS_JSON"] = Json(projectId, invalid);
        var ex = await Assert.ThrowsAsync<SettingsException>(h.StartHostAsync);
        Assert.Contains("ORCH_PROJECTS_JSON[1] (slug 'tasks'): tracker.workspace", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(TrackerToken, ex.Message, StringComparison.Ordinal);
        await h.StopHostAsync();

        h.Settings["PROJECTS_JSON"] = Json(projectId, asanaEntry, legacyPrefix: "9X");
        ex = await Assert.ThrowsAsync<SettingsException>(h.StartHostAsync);
        Assert.Contains("ORCH_PROJECTS_JSON entry '9X'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("work_item_prefix", ex.Message, StringComparison.Ordinal);
        await h.StopHostAsync();

        // A malformed new-shape entry is reported by the settings loader.
        var typo = asanaEntry.DeepClone().AsObject();
        typo["trackr"] = 1;
        h.Settings["PROJECTS_JSON"] = Json(projectId, typo);
        ex = await Assert.ThrowsAsync<SettingsException>(h.StartHostAsync);
        Assert.Contains("ORCH_PROJECTS_JSON[1]: trackr", ex.Message, StringComparison.Ordinal);
    }
}

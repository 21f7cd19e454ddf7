using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Shared.Accounts;
using Orchestrator.Tests.Integration.EndToEnd;

namespace Orchestrator.Tests.Integration.Api;

/// <summary>Issue #11 §1: <c>/api/v1</c> — resources, ETag/If-Match, token scope, and the OpenAPI document.</summary>
public sealed class ApiV1Tests
{
    private static StringContent Json(JsonNode node) => new(node.ToJsonString(), Encoding.UTF8, "application/json");

    [Fact]
    public async Task The_OpenAPI_document_is_valid_3_1_and_lists_every_mapped_v1_endpoint_with_a_summary_and_schemas()
    {
        await using var h = await Harness.StartAsync();
        using var response = await h.Api.GetAsync("openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text));
        var read = await Microsoft.OpenApi.OpenApiDocument.LoadAsync(stream, "json");
        Assert.Empty(read.Diagnostic?.Errors ?? []);
        var document = JsonNode.Parse(text)!;
        Assert.StartsWith("3.1", (string)document["openapi"]!, StringComparison.Ordinal);
        var paths = document["paths"]!.AsObject();

        var mapped = h.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/api/v1", StringComparison.Ordinal))
            .ToList();
        Assert.True(mapped.Count >= 20, $"only {mapped.Count} /api/v1 endpoints");
        foreach (var endpoint in mapped)
        {
            var path = "/" + string.Join("/", endpoint.RoutePattern.PathSegments.Select(s => string.Concat(s.Parts.Select(p => p switch
            {
                Microsoft.AspNetCore.Routing.Patterns.RoutePatternLiteralPart l => l.Content,
                Microsoft.AspNetCore.Routing.Patterns.RoutePatternParameterPart parameter => "{" + parameter.Name + "}",
                _ => "",
            }))));
            Assert.True(paths.ContainsKey(path), $"{path} ({endpoint.RoutePattern.RawText}) is not in the OpenAPI document");
            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods)
            {
                var operation = paths[path]![method.ToLowerInvariant()];
                Assert.True(operation is not null, $"{method} {path} is not in the OpenAPI document");
                Assert.False(string.IsNullOrWhiteSpace((string?)operation["summary"]), $"{method} {path} has no summary");
                var responses = operation["responses"]!.AsObject();
                Assert.True(responses.Count > 0, $"{method} {path} documents no response");
                foreach (var parameter in endpoint.RoutePattern.Parameters)
                {
                    Assert.Contains(operation["parameters"]!.AsArray(), p => (string?)p!["name"] == parameter.Name);
                }

                var parameters = operation["parameters"]?.AsArray() ?? [];
                bool HasHeader(string name) => parameters.Any(p => (string?)p!["in"] == "header" && (string?)p["name"] == name);
                Assert.True(endpoint.Metadata.GetMetadata<Orchestrator.Functions.Functions.V1.IfMatchAttribute>() is not null == HasHeader("If-Match"), $"{method} {path}: If-Match documented iff the endpoint reads it");
                Assert.True(endpoint.Metadata.GetMetadata<Orchestrator.Functions.Functions.V1.IdempotentAttribute>() is not null == HasHeader("Idempotency-Key"), $"{method} {path}: Idempotency-Key documented iff honoured");
                if (HasHeader("If-Match"))
                {
                    Assert.True(responses.ContainsKey("412"), $"{method} {path} takes If-Match but documents no 412");
                }

                if (endpoint.Metadata.GetMetadata<Orchestrator.Functions.Functions.V1.NoRequestBodyAttribute>() is not null)
                {
                    Assert.True(operation["requestBody"] is null, $"{method} {path} is marked as taking no body but documents one");
                }
                else if (method is "POST" or "PUT")
                {
                    Assert.True(operation["requestBody"]?["content"]?["application/json"]?["schema"] is not null, $"{method} {path} has no request schema");
                    Assert.True(operation["requestBody"]?["content"]?["application/json"]?["example"] is not null, $"{method} {path} has no request example");
                }

                var ok = responses.FirstOrDefault(r => r.Key.StartsWith('2'));
                if (ok.Key is not "204" and not null)
                {
                    Assert.True(ok.Value?["content"]?["application/json"]?["schema"] is not null, $"{method} {path} {ok.Key} has no response schema");
                    Assert.True(ok.Value?["content"]?["application/json"]?["example"] is not null, $"{method} {path} {ok.Key} has no example");
                }
            }
        }
    }

    [Fact]
    public async Task Every_v1_body_uses_snake_case_names_in_the_document_and_on_the_wire()
    {
        await using var h = await Harness.StartAsync();
        var document = JsonNode.Parse(await h.Api.GetStringAsync("openapi/v1.json"))!;
        var snake = new System.Text.RegularExpressions.Regex("^[a-z][a-z0-9]*(_[a-z0-9]+)*$");
        var schemas = document["components"]!["schemas"]!.AsObject();
        Assert.Contains("ProjectSummary", schemas.Select(s => s.Key));
        Assert.Contains("TaskActionAccepted", schemas.Select(s => s.Key));
        foreach (var (name, schema) in schemas)
        {
            foreach (var (property, _) in schema!["properties"]?.AsObject() ?? [])
            {
                Assert.True(snake.IsMatch(property), $"{name}.{property} is not snake_case");
            }
        }

        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                foreach (var parameter in operation!["parameters"]?.AsArray() ?? [])
                {
                    if ((string?)parameter!["in"] == "query")
                    {
                        Assert.True(snake.IsMatch((string)parameter["name"]!), $"{method} {path}: query parameter {parameter["name"]} is not snake_case");
                    }
                }
            }
        }

        // The wire matches: the summary as served uses the names the document lists.
        var summary = JsonNode.Parse(await h.Api.GetStringAsync("api/v1/projects/web/summary"))!.AsObject();
        Assert.Equal(schemas["ProjectSummary"]!["properties"]!.AsObject().Select(p => p.Key).Order(), summary.Select(p => p.Key).Order());
    }

    [Fact]
    public async Task The_interactive_reference_renders_in_chromium_from_the_apps_own_assets()
    {
        await using var h = await Web.WebAccessTests.StartAsync();
        using (await Web.WebAccessTests.InitAdminAsync(h))
        {
        }

        await using var chromium = await Browser.Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync();
        var requests = new List<string>();
        var errors = new List<string>();
        page.Request += (_, r) => requests.Add(r.Url);
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                errors.Add(m.Text);
            }
        };
        await page.GotoAsync(new Uri(h.HostUrl, "login").ToString());
        await page.FillAsync("#Input_Username", "admin");
        await page.FillAsync("#Input_Password", Web.WebAccessTests.AdminPassword);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync("**/app");
        await page.GotoAsync(new Uri(h.HostUrl, "api/docs").ToString());
        await page.GetByText("List the projects you can see").First.WaitForAsync(new() { Timeout = 30_000 });
        await Browser.Chromium.ScreenshotAsync(page, "api-docs");
        Assert.All(requests, r => Assert.StartsWith(h.HostUrl.GetLeftPart(UriPartial.Authority), r, StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase));
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = h.HostUrl };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("openapi/v1.json")).StatusCode);
    }

    [Fact]
    public async Task Projects_use_etags_and_a_stale_if_match_is_412_and_writes_nothing()
    {
        await using var h = await Harness.StartAsync();
        using var get = await h.Api.GetAsync("api/v1/projects/web");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        var etag = get.Headers.ETag!.ToString();
        var resource = JsonNode.Parse(await get.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal("web", (string)resource["project"]!["slug"]!);

        var body = new JsonObject { ["project"] = resource["project"]!.DeepClone() };
        body["project"]!["name"] = "Web shop";
        using var put = new HttpRequestMessage(HttpMethod.Put, "api/v1/projects/web") { Content = Json(body) };
        put.Headers.IfMatch.Add(EntityTagHeaderValue.Parse(etag));
        using var updated = await h.Api.SendAsync(put);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.NotEqual(etag, updated.Headers.ETag!.ToString());

        body["project"]!["name"] = "Stale write";
        using var stale = new HttpRequestMessage(HttpMethod.Put, "api/v1/projects/web") { Content = Json(body) };
        stale.Headers.IfMatch.Add(EntityTagHeaderValue.Parse(etag));
        using var refused = await h.Api.SendAsync(stale);
        Assert.Equal(HttpStatusCode.PreconditionFailed, refused.StatusCode);
        Assert.Equal("Web shop", await h.Db.ScalarAsync<string>("SELECT definition ->> 'name' FROM projects WHERE slug = 'web'"));

        // Repositories: the sub-resource takes the project's ETag too.
        using var repos = await h.Api.GetAsync("api/v1/projects/web/repositories");
        var reposTag = repos.Headers.ETag!.ToString();
        using var change = new HttpRequestMessage(HttpMethod.Put, "api/v1/projects/web/repositories")
        {
            Content = Json(new JsonObject { ["repos"] = new JsonArray(Harness.Repo, "acme/api"), ["default_repo"] = Harness.Repo }),
        };
        change.Headers.IfMatch.Add(EntityTagHeaderValue.Parse(reposTag));
        using var changed = await h.Api.SendAsync(change);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(2, JsonNode.Parse(await changed.Content.ReadAsStringAsync())!["repos"]!.AsArray().Count);
        using var invalid = await h.Api.PutAsync("api/v1/projects/web/repositories", Json(new JsonObject { ["repos"] = new JsonArray("not a repo") }));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal("application/problem+json", invalid.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Knowledge_items_have_crud_with_if_match_and_validation()
    {
        await using var h = await Harness.StartAsync();
        using var created = await h.Api.PostAsync("api/v1/projects/web/links", Json(new JsonObject { ["title"] = "Runbook", ["url"] = "https://wiki.example.com/runbook" }));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var link = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        var id = (long)link["id"]!;
        var etag = created.Headers.ETag!.ToString();

        using var put = new HttpRequestMessage(HttpMethod.Put, $"api/v1/projects/web/links/{id}") { Content = Json(new JsonObject { ["title"] = "Runbook v2", ["url"] = "https://wiki.example.com/runbook2" }) };
        put.Headers.IfMatch.Add(EntityTagHeaderValue.Parse(etag));
        using var replaced = await h.Api.SendAsync(put);
        Assert.Equal(HttpStatusCode.OK, replaced.StatusCode);

        using var stale = new HttpRequestMessage(HttpMethod.Put, $"api/v1/projects/web/links/{id}") { Content = Json(new JsonObject { ["title"] = "Lost update", ["url"] = "https://wiki.example.com/x" }) };
        stale.Headers.IfMatch.Add(EntityTagHeaderValue.Parse(etag));
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await h.Api.SendAsync(stale)).StatusCode);

        using var bad = await h.Api.PostAsync("api/v1/projects/web/links", Json(new JsonObject { ["title"] = "x", ["url"] = "javascript:alert(1)" }));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM project_links"));

        using var note = await h.Api.PostAsync("api/v1/projects/web/notes", Json(new JsonObject { ["title"] = "Deploys", ["body"] = "Deploys go out on **Tuesdays**." }));
        Assert.Equal(HttpStatusCode.Created, note.StatusCode);
        using var contact = await h.Api.PostAsync("api/v1/projects/web/contacts", Json(new JsonObject { ["name"] = "Ops", ["role"] = "on call", ["reach"] = "#ops" }));
        Assert.Equal(HttpStatusCode.Created, contact.StatusCode);
        var notes = JsonNode.Parse(await h.Api.GetStringAsync("api/v1/projects/web/notes"))!["items"]!.AsArray();
        Assert.Equal("Deploys", (string)notes.Single()!["title"]!);
        Assert.Equal(HttpStatusCode.NoContent, (await h.Api.DeleteAsync($"api/v1/projects/web/links/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await h.Api.DeleteAsync($"api/v1/projects/web/links/{id}")).StatusCode);
    }

    [Fact]
    public async Task Tasks_are_listed_with_filters_and_a_cursor_and_another_projects_token_sees_404()
    {
        await using var h = await Harness.StartAsync();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var (id, _) = await h.CreateTaskAsync($"Task number {i}");
            await h.WaitForStatusAsync(id, Orchestrator.Orchestrations.Tasks.TaskStatus.ISSUE_CREATED);
            ids.Add(id);
        }

        var first = JsonNode.Parse(await h.Api.GetStringAsync("api/v1/projects/web/tasks?page_size=2"))!;
        Assert.Equal(2, first["items"]!.AsArray().Count);
        var cursor = (string)first["next_cursor"]!;
        var second = JsonNode.Parse(await h.Api.GetStringAsync($"api/v1/projects/web/tasks?page_size=2&cursor={cursor}"))!;
        Assert.Single(second["items"]!.AsArray());
        Assert.Null(second["next_cursor"]);
        var all = first["items"]!.AsArray().Concat(second["items"]!.AsArray()).Select(t => (string)t!["id"]!).ToList();
        Assert.Equal(ids.OrderBy(x => x), all.OrderBy(x => x));

        var search = JsonNode.Parse(await h.Api.GetStringAsync("api/v1/projects/web/tasks?q=number%201"))!["items"]!.AsArray();
        Assert.Equal("Task number 1", (string)search.Single()!["title"]!);
        Assert.Empty(JsonNode.Parse(await h.Api.GetStringAsync("api/v1/projects/web/tasks?status=DEPLOYED"))!["items"]!.AsArray());
        Assert.Equal(3, JsonNode.Parse(await h.Api.GetStringAsync("api/v1/projects/web/tasks?status=issue_created&repo=ACME/webshop"))!["items"]!.AsArray().Count);
        Assert.Equal(HttpStatusCode.BadRequest, (await h.Api.GetAsync("api/v1/projects/web/tasks?status=NOPE&page_size=0&updated_since=yesterday")).StatusCode);

        var key = (string)search.Single()!["key"]!;
        var one = JsonNode.Parse(await h.Api.GetStringAsync($"api/v1/projects/web/tasks/{key.ToLowerInvariant()}"))!;
        Assert.Equal("ISSUE_CREATED", (string)one["status"]!);
        Assert.NotNull(one["issue"]!["url"]);

        // A token of another project sees none of this.
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

        var (token, _) = await h.App.Services.GetRequiredService<AccountStore>().CreateApiTokenAsync("other", "other script", ProjectRole.Admin, null);
        using var stranger = new HttpClient { BaseAddress = h.HostUrl };
        stranger.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync("api/v1/projects/web/tasks")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"api/v1/projects/web/tasks/{key}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync("api/v1/projects/web/links")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await stranger.GetAsync("api/v1/projects/other/tasks")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await h.Anonymous.GetAsync("api/v1/projects/web/tasks")).StatusCode);
    }

    [Fact]
    public async Task An_idempotency_key_replays_the_first_answer_and_refuses_a_different_request()
    {
        await using var h = await Harness.StartAsync();
        async Task<HttpResponseMessage> PostAsync(string title, string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/projects/web/links") { Content = Json(new JsonObject { ["title"] = title, ["url"] = "https://wiki.example.com/" + title }) };
            request.Headers.Add("Idempotency-Key", key);
            return await h.Api.SendAsync(request);
        }

        using var first = await PostAsync("Runbook", "key-1");
        using var again = await PostAsync("Runbook", "key-1");
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(await first.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
        Assert.Equal(first.Headers.Location, again.Headers.Location);
        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM project_links"));

        using var reused = await PostAsync("Other", "key-1");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
        using var fresh = await PostAsync("Other", "key-2");
        Assert.Equal(HttpStatusCode.Created, fresh.StatusCode);
        Assert.Equal(2L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM project_links"));
        using var bad = await PostAsync("Third", new string('x', 300));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

        // Without the header every POST runs.
        using var plain = await h.Api.PostAsync("api/v1/projects/web/links", Json(new JsonObject { ["title"] = "Plain", ["url"] = "https://wiki.example.com/plain" }));
        Assert.Equal(HttpStatusCode.Created, plain.StatusCode);
        Assert.Equal(3L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM project_links"));
    }
}

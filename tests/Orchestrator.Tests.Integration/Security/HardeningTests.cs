using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orchestrator.Functions;
using Orchestrator.Functions.Activities;
using Orchestrator.Functions.Functions;
using Orchestrator.Functions.Platforms;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.Projects;
using Orchestrator.Simulators.Plane;
using Orchestrator.Tests.Integration.EndToEnd;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Tests.Integration.Security;

/// <summary>
/// Regression tests of issue #8 (a security review of the landed host), items 1–6, each named after its defect.
/// Items 7–9 (webhook input) live with the webhook tests; item 10 with the role pipeline's.
/// </summary>
public sealed class HardeningTests
{
    private const string AdminToken = "hardening-admin-token-0123456789";

    private static StringContent Json(JsonNode node) => new(node.ToJsonString(), Encoding.UTF8, "application/json");

    private static JsonObject PlaneProject(string slug, Uri? baseUrl, string? workspace = null, JsonObject? secrets = null, string trackerId = "") => new()
    {
        ["slug"] = slug,
        ["work_item_prefix"] = slug.ToUpperInvariant().Replace("-", "", StringComparison.Ordinal),
        ["tracker"] = new JsonObject
        {
            ["kind"] = "plane",
            ["base_url"] = baseUrl?.ToString(),
            ["workspace"] = workspace,
            ["project_ids"] = new JsonArray(trackerId.Length > 0 ? trackerId : Guid.NewGuid().ToString()),
        },
        ["forge"] = new JsonObject { ["kind"] = "github", ["repos"] = new JsonArray(Harness.Repo) },
        ["secrets"] = secrets ?? new JsonObject(),
    };

    // ---- 1. Host-wide tokens go to project-chosen URLs ----

    [Fact]
    public async Task Host_wide_tokens_are_never_sent_to_a_project_chosen_url()
    {
        await using var h = await Harness.StartAsync();
        await using var elsewhere = await PlaneSimulator.StartAsync("a-key-the-host-does-not-have", Harness.Workspace);
        var trackerId = Guid.NewGuid().ToString();
        elsewhere.AddProject(trackerId, "EVIL");

        // Tracker: a base_url of its own and no tracker_token → /sync refuses (422, what to fix) and sends nothing.
        using var created = await h.Api.PostAsync("api/projects", Json(PlaneProject("evil", elsewhere.BaseUrl, "acme", trackerId: trackerId)));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var sync = await h.Api.PostAsync("api/projects/evil/sync", null);
        var problem = JsonNode.Parse(await sync.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.UnprocessableEntity, sync.StatusCode);
        Assert.Contains("ORCH_PLANE_API_TOKEN is only sent to ORCH_PLANE_API_URL", (string)problem["detail"]!);
        Assert.Empty(elsewhere.Host.Requests);

        // Forge: the same rule for ORCH_GITHUB_TOKEN.
        var store = h.App.Services.GetRequiredService<ProjectStore>();
        var registry = h.App.Services.GetRequiredService<PlatformRegistry>();
        var forgeElsewhere = await store.CreateAsync(
            new ProjectDefinition
            {
                Slug = "evil-forge", WorkItemPrefix = "EF",
                Tracker = new TrackerConfig { ProjectIds = [Guid.NewGuid().ToString()] },
                Forge = new ForgeConfig { BaseUrl = elsewhere.BaseUrl, Repos = [Harness.Repo] },
            },
            new Dictionary<string, string?>());
        var forgeRefusal = Assert.Throws<PermanentActivityException>(() => registry.For(forgeElsewhere));
        Assert.Contains("ORCH_GITHUB_TOKEN is only sent to ORCH_GITHUB_API_URL", forgeRefusal.Message);

        // Git: a project on the host-wide GitHub credentials pushing to a remote elsewhere gets no token.
        var gitElsewhere = await store.CreateAsync(
            new ProjectDefinition
            {
                Slug = "evil-git", WorkItemPrefix = "EG",
                Tracker = new TrackerConfig { ProjectIds = [Guid.NewGuid().ToString()] },
                Forge = new ForgeConfig { Repos = [Harness.Repo], GitUrl = "https://git.attacker.example/{repo}.git" },
            },
            new Dictionary<string, string?>());
        var context = h.App.Services.GetRequiredService<RolePipelineContext>();
        var platforms = registry.For(gitElsewhere);
        var remote = context.RemoteUrl(gitElsewhere.Definition, Harness.Repo);
        var gitRefusal = await Assert.ThrowsAsync<PermanentActivityException>(async () => await context.TokenAsync(platforms, remote, CancellationToken.None));
        Assert.Contains("ORCH_GITHUB_TOKEN is only sent to", gitRefusal.Message);

        // The host-wide URL itself, spelled explicitly, still gets the host-wide token (same endpoint).
        var sameId = Guid.NewGuid().ToString();
        h.Plane.AddProject(sameId, "SAME");
        using var same = await h.Api.PostAsync("api/projects", Json(PlaneProject("same", h.Plane.BaseUrl, "acme", trackerId: sameId)));
        Assert.Equal(HttpStatusCode.Created, same.StatusCode);
        using var sameSync = await h.Api.PostAsync("api/projects/same/sync", null);
        Assert.Equal(HttpStatusCode.OK, sameSync.StatusCode);

        Assert.DoesNotContain(elsewhere.Host.Requests, r => r.Headers.Values.Any(v => v.Contains(Harness.PlaneToken, StringComparison.Ordinal)));
        Assert.Empty(elsewhere.Host.Requests);
    }

    // ---- 2. No outbound guard (SSRF) ----

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data/", "metadata")]
    [InlineData("http://127.0.0.1:5432/", "loopback")]
    [InlineData("http://[::1]/", "loopback")]
    [InlineData("http://0x7f000001/", "loopback")]
    [InlineData("http://10.0.0.1/", "private")]
    [InlineData("http://metadata.google.internal/", "metadata")]
    public async Task Project_urls_that_reach_forbidden_addresses_are_refused_when_saved(string url, string rule)
    {
        await using var h = await Harness.StartAsync(s => s["OUTBOUND_ALLOWED_HOSTS"] = "external");
        var before = await h.Db.ScalarAsync<long>("SELECT count(*) FROM projects");
        using var tracker = await h.Api.PostAsync("api/projects", Json(PlaneProject("ssrf", new Uri(url), "acme", new JsonObject { ["tracker_token"] = "plane-token-of-the-project-1234" })));
        var body = JsonNode.Parse(await tracker.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.UnprocessableEntity, tracker.StatusCode);
        Assert.Contains("tracker.base_url", (string)body["detail"]!);
        Assert.Contains(rule, (string)body["detail"]!);
        Assert.Contains("ORCH_OUTBOUND_ALLOWED_HOSTS", (string)body["detail"]!);

        var forge = PlaneProject("ssrf", null);
        forge["forge"] = new JsonObject { ["kind"] = "gitea", ["base_url"] = url, ["repos"] = new JsonArray("acme/web") };
        forge["secrets"] = new JsonObject { ["forge_token"] = "gitea-token-of-the-project-1234" };
        using var gitea = await h.Api.PostAsync("api/projects", Json(forge));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, gitea.StatusCode);
        Assert.Contains("forge.base_url", await gitea.Content.ReadAsStringAsync());
        Assert.Equal(before, await h.Db.ScalarAsync<long>("SELECT count(*) FROM projects"));
    }

    [Fact]
    public async Task Outbound_policy_refuses_at_connect_time_on_the_resolved_address()
    {
        // A URL stored before the policy existed (or a name that resolved elsewhere when saved): the connection itself is refused.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var h = await Harness.StartAsync(s => s["OUTBOUND_ALLOWED_HOSTS"] = "external");
        var project = PlaneProject("stored-before", null, "acme", new JsonObject { ["tracker_token"] = "plane-token-of-the-project-1234" });
        using var created = await h.Api.PostAsync("api/projects", Json(project));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await h.Db.ExecuteAsync($"UPDATE projects SET definition = jsonb_set(definition, '{{tracker,base_url}}', '\"http://localhost:{port}/\"'), version = version + 1 WHERE slug = 'stored-before'");

        using var sync = await h.Api.PostAsync("api/projects/stored-before/sync", null);
        var body = await sync.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.UnprocessableEntity, sync.StatusCode);
        Assert.Contains("localhost", body);
        Assert.Contains("loopback", body);
        Assert.False(listener.Pending(), "the outbound policy let a connection reach the loopback listener");

        // The same handler every HttpClient of the host gets.
        var policy = h.App.Services.GetRequiredService<OutboundPolicy>();
        using var http = new HttpClient(policy.CreateHandler());
        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync($"http://localhost:{port}/"));
        Assert.IsType<OutboundRefusedException>(ex.InnerException);
        Assert.False(listener.Pending());

        // Loopback allowed explicitly: the same request connects.
        using var allowed = new HttpClient(OutboundPolicy.Parse("loopback").CreateHandler()) { Timeout = TimeSpan.FromSeconds(5) };
        var pending = allowed.GetAsync($"http://localhost:{port}/");
        using var accepted = await listener.AcceptTcpClientAsync();
        Assert.True(accepted.Connected);
    }

    [Fact]
    public async Task Outbound_allow_list_lets_a_self_hosted_plane_on_a_named_host_through()
    {
        // README's recipe for self-hosted platforms: name the host (or 'private', or a CIDR) in ORCH_OUTBOUND_ALLOWED_HOSTS.
        await using var own = await PlaneSimulator.StartAsync("own-plane-token-0123456789", "acme");
        var trackerId = Guid.NewGuid().ToString();
        own.AddProject(trackerId, "OWN");
        await using var h = await Harness.StartAsync(s => s["OUTBOUND_ALLOWED_HOSTS"] = "external,localhost");
        var url = new UriBuilder(own.BaseUrl) { Host = "localhost" }.Uri;
        using var created = await h.Api.PostAsync("api/projects", Json(PlaneProject("own", url, "acme", new JsonObject { ["tracker_token"] = "own-plane-token-0123456789" }, trackerId)));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var sync = await h.Api.PostAsync("api/projects/own/sync", null);
        Assert.Equal(HttpStatusCode.OK, sync.StatusCode);
        Assert.NotEmpty(own.Host.Requests);
    }

    [Fact]
    public async Task A_webhook_target_we_register_obeys_the_outbound_policy()
    {
        await using var h = await Harness.StartAsync();
        await h.App.Services.GetRequiredService<ProjectStore>().CreateAsync(
            new ProjectDefinition
            {
                Slug = "tasks", WorkItemPrefix = "TSK",
                Tracker = new TrackerConfig { Kind = TrackerConfig.Asana, Workspace = "1200", ProjectIds = ["1201"], Trigger = new TriggerRule { Label = "AutoTask" } },
                Forge = new ForgeConfig { Repos = [Harness.Repo] },
            },
            new Dictionary<string, string?> { [ProjectSecretNames.TrackerToken] = "asana-token-0123456789abcdef" });
        using var response = await h.Api.PostAsync("api/projects/tasks/asana/webhooks", Json(new JsonObject { ["public_url"] = "http://169.254.169.254/" }));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("metadata", await response.Content.ReadAsStringAsync());
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM asana_webhooks"));
    }

    // ---- 3. Changing a URL keeps the secrets ----

    [Fact]
    public async Task Changing_a_connection_url_without_giving_its_token_again_is_refused()
    {
        await using var h = await Harness.StartAsync();
        const string token = "plane-token-bound-to-its-url-0001";
        using var created = await h.Api.PostAsync("api/projects", Json(PlaneProject("bound", h.Plane.BaseUrl, "acme", new JsonObject { ["tracker_token"] = token, ["forge_token"] = "ghp_bound_forge_token_00000001" })));
        var stored = JsonNode.Parse(await created.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        // The response sent back with only the URL changed (masked secrets included): 422, nothing written.
        var moved = stored.DeepClone().AsObject();
        moved["tracker"]!["base_url"] = "http://127.0.0.1:9/";
        using var refused = await h.Api.PutAsync("api/projects/bound", Json(moved));
        var problem = await refused.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Contains("secrets.tracker_token", problem);
        Assert.Contains("re-enter the token for the new URL", problem);
        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT version FROM projects WHERE slug = 'bound'"));

        // The forge side: a git_url on another origin unbinds forge_token.
        var git = stored.DeepClone().AsObject();
        git["forge"]!["git_url"] = "https://git.elsewhere.example/{repo}.git";
        using var gitRefused = await h.Api.PutAsync("api/projects/bound", Json(git));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, gitRefused.StatusCode);
        Assert.Contains("secrets.forge_token", await gitRefused.Content.ReadAsStringAsync());

        // With the token given again (or removed), the move is accepted.
        moved["secrets"] = new JsonObject { ["tracker_token"] = "plane-token-for-the-new-url-0002" };
        using var accepted = await h.Api.PutAsync("api/projects/bound", Json(moved));
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        var project = await h.App.Services.GetRequiredService<ProjectStore>().GetAsync("bound");
        Assert.Equal("plane-token-for-the-new-url-0002", project!.Secret(ProjectSecretNames.TrackerToken));

        // Non-URL edits keep the stored token as before.
        var renamed = JsonNode.Parse(await accepted.Content.ReadAsStringAsync())!.AsObject();
        renamed["name"] = "Renamed";
        using var rename = await h.Api.PutAsync("api/projects/bound", Json(renamed));
        Assert.Equal(HttpStatusCode.OK, rename.StatusCode);
    }

    [Fact]
    public async Task A_seed_entry_that_moves_a_connection_drops_the_token_it_does_not_give_again()
    {
        await using var db = await TestDatabase.CreateAsync();
        var store = new ProjectStore(db.DataSource, new SecretProtector(Convert.FromBase64String(Harness.MasterKey)), TimeProvider.System, cacheDuration: TimeSpan.Zero);
        var definition = new ProjectDefinition
        {
            Slug = "seeded", WorkItemPrefix = "SEED",
            Tracker = new TrackerConfig { BaseUrl = new Uri("https://plane.one.example"), Workspace = "w", ProjectIds = ["p"] },
            Forge = new ForgeConfig { Repos = ["acme/web"] },
        };
        await store.UpsertAsync(definition, new Dictionary<string, string?> { ["tracker_token"] = "seeded-token-000000001", ["forge_token"] = "seeded-forge-0000000001" });
        var (moved, _) = await store.UpsertAsync(
            definition with { Tracker = definition.Tracker with { BaseUrl = new Uri("https://plane.two.example") } },
            new Dictionary<string, string?>());
        Assert.Null(moved.Secret(ProjectSecretNames.TrackerToken));
        Assert.Equal("seeded-forge-0000000001", moved.Secret(ProjectSecretNames.ForgeToken));
    }

    // ---- 4. The task and queue API is open even with ORCH_ADMIN_TOKEN set ----

    [Fact]
    public async Task Every_api_endpoint_refuses_an_anonymous_request_when_the_admin_token_is_set()
    {
        await using var h = await Harness.StartAsync(s => s["ADMIN_TOKEN"] = AdminToken);
        var endpoints = h.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/api", StringComparison.Ordinal))
            .ToList();
        Assert.Contains(endpoints, e => e.RoutePattern.RawText == "/api/tasks/");
        Assert.Contains(endpoints, e => e.RoutePattern.RawText == "/api/queue");
        Assert.True(endpoints.Count >= 12, $"only {endpoints.Count} /api endpoints found");
        const string Writes = "SELECT (SELECT count(*) FROM projects) + (SELECT count(*) FROM inbox) + (SELECT count(*) FROM work_items WHERE kind = 'event')";
        var before = await h.Db.ScalarAsync<long>(Writes);
        foreach (var endpoint in endpoints)
        {
            var path = string.Join("/", endpoint.RoutePattern.PathSegments.Select(s => string.Concat(s.Parts.Select(p => p switch
            {
                Microsoft.AspNetCore.Routing.Patterns.RoutePatternLiteralPart l => l.Content,
                Microsoft.AspNetCore.Routing.Patterns.RoutePatternParameterPart => "web",
                _ => "x",
            }))));
            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
            {
                foreach (var auth in new AuthenticationHeaderValue?[] { null, new("Bearer", AdminToken + "x"), new("Basic", AdminToken) })
                {
                    using var request = new HttpRequestMessage(new HttpMethod(method), "/" + path) { Content = method is "GET" or "DELETE" ? null : new StringContent("{}", Encoding.UTF8, "application/json") };
                    request.Headers.Authorization = auth;
                    using var response = await h.Anonymous.SendAsync(request);
                    Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} /{path} with {auth?.Scheme ?? "no"} auth answered {(int)response.StatusCode}");
                    Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
                }
            }
        }

        Assert.Equal(before, await h.Db.ScalarAsync<long>(Writes));
        Assert.Equal(HttpStatusCode.OK, (await h.Api.GetAsync("api/tasks")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await h.Api.GetAsync("api/queue")).StatusCode);
        Assert.All(h.Logs.Lines, l => Assert.DoesNotContain(AdminToken, l, StringComparison.Ordinal));
    }

    // ---- 5. Open by default ----

    [Fact]
    public async Task A_host_listening_beyond_loopback_without_an_admin_token_is_not_open()
    {
        // Issue #8 refused such a start; the web tool (issue #9) removed the open mode altogether: with or without
        // ORCH_ADMIN_TOKEN, on any address, every endpoint off the allow-list needs a session or a token.
        await using var h = await Harness.StartAsync(s =>
        {
            s["URLS"] = "http://0.0.0.0:0";
            s.Remove("ADMIN_TOKEN");
        });
        var port = new Uri(h.App.Urls.First().Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)).Port;
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        foreach (var path in new[] { "api/projects", "api/tasks", "api/queue", "app", "p/web" })
        {
            using var response = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("healthz")).StatusCode);
    }

    // ---- 6. 500 instead of 503 ----

    [Fact]
    public async Task While_PostgreSQL_is_down_webhooks_and_the_api_answer_503_with_retry_after_and_recover_when_it_returns()
    {
        var target = new NpgsqlConnectionStringBuilder(Database.ToConnectionString(TestDatabase.BaseUrl));
        await using var proxy = TcpProxy.Start(target.Host!, target.Port);
        await using var h = await Harness.StartAsync(startHost: false);
        h.Settings["DATABASE_URL"] = new NpgsqlConnectionStringBuilder(h.Db.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Timeout = 3 }.ConnectionString;
        await h.StartHostAsync();

        proxy.Down();
        var (_, delivery, webhookStatus) = await h.Plane.CreateWorkItemAsync(h.ProjectId, "While the database is down", "<p>x</p>", ["AutoTask"]);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, webhookStatus);
        using (var webhook = await PostDeliveryAsync(h, delivery!))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, webhook.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(ApiExceptionHandler.RetryAfterSeconds), webhook.Headers.RetryAfter?.Delta);
            Assert.Equal("application/problem+json", webhook.Content.Headers.ContentType?.MediaType);
            var problem = JsonNode.Parse(await webhook.Content.ReadAsStringAsync())!;
            Assert.Equal(503, (int)problem["status"]!);
            Assert.Contains("database", (string)problem["title"]!, StringComparison.OrdinalIgnoreCase);
        }

        using (var api = await h.Api.GetAsync("api/tasks"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, api.StatusCode);
            Assert.NotNull(api.Headers.RetryAfter);
        }

        // PostgreSQL returns: the sender's retry is accepted (within a second or two: the pool reconnects on demand).
        proxy.Up();
        var returned = DateTimeOffset.UtcNow;
        HttpStatusCode status;
        do
        {
            status = await h.Plane.ResendAsync(delivery!, newDeliveryId: false);
        }
        while (status != HttpStatusCode.Accepted && DateTimeOffset.UtcNow < returned.AddSeconds(10));
        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.True(DateTimeOffset.UtcNow - returned < TimeSpan.FromSeconds(5), $"recovery took {DateTimeOffset.UtcNow - returned}");
        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox"));
    }

    [Fact]
    public async Task A_platform_that_fails_during_an_api_action_answers_502_naming_it()
    {
        await using var h = await Harness.StartAsync();
        await h.Plane.DisposeAsync(); // Plane is gone: connection refused.
        using var sync = await h.Api.PostAsync("api/projects/web/sync", null);
        var problem = JsonNode.Parse(await sync.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.BadGateway, sync.StatusCode);
        Assert.Equal("Plane", (string)problem["platform"]!);
        Assert.Contains("Plane", (string)problem["title"]!);
    }

    [Fact]
    public void A_platform_call_that_timed_out_maps_to_504()
    {
        var timeout = new PlatformApiException("Asana", "GET /tasks", null, "the request timed out", isTransient: true, inner: new TaskCanceledException());
        var problem = ApiExceptionHandler.ToProblem(timeout, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance)!;
        Assert.Equal(StatusCodes.Status504GatewayTimeout, problem.Status);
        Assert.Equal("Asana", problem.Platform);
        var answered = new PlatformApiException("Gitea", "GET /repos", HttpStatusCode.Unauthorized, "bad token", isTransient: false);
        Assert.Equal(StatusCodes.Status502BadGateway, ApiExceptionHandler.ToProblem(answered, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance)!.Status);
        Assert.Null(ApiExceptionHandler.ToProblem(new PostgresException("syntax error", "ERROR", "ERROR", "42601"), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
        Assert.Equal(503, ApiExceptionHandler.ToProblem(new PostgresException("shutting down", "FATAL", "FATAL", "57P01"), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance)!.Status);
    }

    private static async Task<HttpResponseMessage> PostDeliveryAsync(Harness h, Orchestrator.Simulators.SimulatedDelivery delivery)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "webhooks/plane") { Content = new ByteArrayContent(delivery.Body) };
        foreach (var (name, value) in delivery.Headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return await h.Api.SendAsync(request);
    }
}

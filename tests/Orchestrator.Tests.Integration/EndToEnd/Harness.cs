using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using System.Text.Json;
using Orchestrator.Functions;
using Orchestrator.Functions.Functions;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Simulators.GitHub;
using Orchestrator.Simulators.Plane;
using Orchestrator.Tests.Integration.Support;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.EndToEnd;

/// <summary>
/// The real host (Kestrel on 127.0.0.1) on a private schema of the real PostgreSQL, with the Plane and
/// GitHub simulators on loopback as the only outside world. Simulators record any request they do not
/// expect; <see cref="DisposeAsync"/> callers assert there were none via <see cref="AssertNoUnexpectedRequests"/>.
/// </summary>
public sealed class Harness : IAsyncDisposable
{
    public const string Repo = "acme/webshop";
    public const string GitHubToken = "ghp_test_token_0123456789";
    public const string PlaneToken = "plane_api_test_token_0123456789";
    public const string Workspace = "acme";
    public const string GitHubSecret = "github-webhook-secret-for-tests";
    public const string PlaneSecret = "plane_wh_0123456789abcdef0123456789abcdef";
    public const string MasterKey = "b3JjaGVzdHJhdG9yLXRlc3QtbWFzdGVyLWtleS0zMmI="; // base64 of 32 bytes: tests never write a key file
    public const string AdminToken = "harness-admin-token-0123456789abcdef"; // every API call of Api carries it (issue #9: nothing is open)

    private WebApplication? _app;

    private Harness(TestDatabase db, GitHubSimulator github, PlaneSimulator plane, string projectId)
    {
        Db = db;
        GitHub = github;
        Plane = plane;
        ProjectId = projectId;
    }

    public TestDatabase Db { get; }

    public GitHubSimulator GitHub { get; }

    public PlaneSimulator Plane { get; }

    public string ProjectId { get; }

    /// <summary>A client of the host that sends <c>ORCH_ADMIN_TOKEN</c> (when the settings have one) with every request.</summary>
    public HttpClient Api { get; private set; } = null!;

    /// <summary>A client of the host that sends no credentials.</summary>
    public HttpClient Anonymous { get; private set; } = null!;

    public Uri HostUrl { get; private set; } = null!;

    public WebApplication App => _app!;

    public Dictionary<string, string?> Settings { get; } = new();

    /// <summary>Optional handler behind <see cref="Api"/> (set before <see cref="StartHostAsync"/>, e.g. to record every response).</summary>
    public HttpMessageHandler? ApiHandler { get; set; }

    /// <summary>Every log line the host wrote (all levels).</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    public static async Task<Harness> StartAsync(Action<Dictionary<string, string?>>? tweak = null, bool startHost = true)
    {
        var db = await TestDatabase.CreateAsync(migrate: false);
        var github = await GitHubSimulator.StartAsync(GitHubToken);
        var plane = await PlaneSimulator.StartAsync(PlaneToken, Workspace);
        github.AddRepository(Repo);
        var projectId = Guid.NewGuid().ToString();
        plane.AddProject(projectId, "WEB");

        // Like the real Plane, our own API changes (state moves, comments) come back as webhooks.
        plane.EchoApiChangesAsWebhooks = true;
        var harness = new Harness(db, github, plane, projectId);
        foreach (var (key, value) in new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = db.ConnectionString,
            ["URLS"] = "http://127.0.0.1:0",
            ["GITHUB_API_URL"] = github.BaseUrl.ToString(),
            ["GITHUB_TOKEN"] = GitHubToken,
            ["GITHUB_WEBHOOK_SECRET"] = GitHubSecret,
            ["PLANE_API_URL"] = plane.BaseUrl.ToString(),
            ["PLANE_API_TOKEN"] = PlaneToken,
            ["PLANE_WORKSPACE_SLUG"] = Workspace,
            ["PLANE_WEBHOOK_SECRET"] = PlaneSecret,
            ["MASTER_KEY"] = MasterKey,
            ["ADMIN_TOKEN"] = AdminToken,
            ["OUTBOUND_ALLOWED_HOSTS"] = "loopback", // the simulators live on 127.0.0.1 (issue #8: tests allow loopback explicitly)
            ["PROJECTS_JSON"] = ProjectsJson(projectId),
            ["CI_POLL_INTERVAL"] = "1s",
            ["CI_TIMEOUT"] = "2h",
            ["RECONCILE_INTERVAL"] = "1h",
            ["LEASE_DURATION"] = "6s",
            ["QUEUE_POLL_INTERVAL"] = "100ms",
            ["WORKER_CONCURRENCY"] = "4",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:Capture:LogLevel:Default"] = "Debug",
        })
        {
            harness.Settings[key] = value;
        }

        tweak?.Invoke(harness.Settings);
        if (startHost)
        {
            await harness.StartHostAsync();
        }

        return harness;
    }

    public static string ProjectsJson(string projectId, bool requireCi = true) => JsonSerializer.Serialize(new[]
    {
        new { plane_project_id = projectId, repo = Repo, work_item_prefix = "WEB", require_ci = requireCi },
    });

    public async Task StartHostAsync()
    {
        _app = OrchestratorApp.Build([], Settings, services => services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(Logs));
        await _app.StartOrchestratorAsync();
        HostUrl = new Uri(_app.Urls.First().TrimEnd('/') + "/");
        PointWebhooksAt(HostUrl);
        Api = ApiHandler is null ? new HttpClient { BaseAddress = HostUrl } : new HttpClient(ApiHandler, disposeHandler: false) { BaseAddress = HostUrl };
        if (Settings.GetValueOrDefault("ADMIN_TOKEN") is { Length: > 0 } admin)
        {
            Api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", admin);
        }

        Anonymous = new HttpClient { BaseAddress = HostUrl };
    }

    public void PointWebhooksAt(Uri host)
    {
        GitHub.ConfigureWebhook(new Uri(host, "webhooks/github"), GitHubSecret);
        Plane.ConfigureWebhook(new Uri(host, "webhooks/plane"), PlaneSecret);
    }

    /// <summary>Creates an AutoTask work item through the Plane simulator (signed webhook) and returns its instance id.</summary>
    public async Task<(string InstanceId, SimWorkItem Item)> CreateTaskAsync(
        string name = "Add a health endpoint",
        string description = "<p>Please add GET /healthz</p><h2>Acceptance Criteria</h2><ul><li>returns 200</li></ul>",
        bool deliver = true)
    {
        var (item, _, status) = await Plane.CreateWorkItemAsync(ProjectId, name, description, ["AutoTask"], deliver);
        if (deliver)
        {
            Assert.Equal(System.Net.HttpStatusCode.Accepted, status);
        }

        return (TaskPipelineOrchestration.InstanceIdFor(item.Id), item);
    }

    public async Task<TaskDetail?> GetTaskAsync(string id)
    {
        using var response = await Api.GetAsync($"api/tasks/{id}");
        return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<TaskDetail>(EngineJson.Options) : null;
    }

    /// <summary>Waits (deadline, not a fixed sleep) until the task has <paramref name="status"/>.</summary>
    public async Task<TaskDetail> WaitForStatusAsync(string id, TaskStatus status, int seconds = 30)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(seconds);
        TaskDetail? last = null;
        while (DateTimeOffset.UtcNow < deadline)
        {
            last = await GetTaskAsync(id);
            if (last?.Status == status.ToString())
            {
                return last;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"Task {id} did not reach {status} in {seconds}s; last: {last?.Status ?? "none"} {last?.FailureReason}\n" +
            string.Join("\n", last?.Timeline.Select(t => $"  {t.Status} {t.Summary}") ?? []));
        throw new InvalidOperationException();
    }

    /// <summary>Waits until <paramref name="condition"/> holds.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 30)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(seconds);
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"Timed out waiting for: {what}");
    }

    /// <summary>Waits until every queue row is finished (nothing pending or running due now).</summary>
    public Task QuiesceAsync() => EventuallyAsync(
        async () => await Db.ScalarAsync<long>("SELECT count(*) FROM work_items WHERE status IN ('pending','running') AND due_at <= now() + interval '500 milliseconds' AND kind <> 'timer'") == 0,
        "the work queue to drain");

    public void AssertNoUnexpectedRequests()
    {
        Assert.Empty(GitHub.Host.UnexpectedRequests);
        Assert.Empty(Plane.Host.UnexpectedRequests);
    }

    public async Task StopHostAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }

        Api?.Dispose();
        Anonymous?.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopHostAsync();
        await GitHub.DisposeAsync();
        await Plane.DisposeAsync();
        await Db.DisposeAsync();
    }
}

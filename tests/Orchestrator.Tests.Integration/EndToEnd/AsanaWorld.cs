using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Projects;
using Orchestrator.Simulators.Asana;
using Orchestrator.Simulators.GitHub;

namespace Orchestrator.Tests.Integration.EndToEnd;

/// <summary>
/// The <see cref="Harness"/> plus an <see cref="AsanaSimulator"/> and the project <c>as</c> (Asana → GitHub, two repos),
/// stored through <see cref="ProjectStore"/> with its own secrets. Every response the test reads through
/// <see cref="Harness.Api"/> is recorded for <see cref="AssertNoSecretsLeaked"/>.
/// </summary>
internal sealed class AsanaWorld : IAsyncDisposable
{
    public const string Slug = "as";
    public const string Prefix = "AS";
    public const string Webshop = Harness.Repo;
    public const string ApiRepo = "acme/api";
    public const string AsanaToken = "2/1209000000000001/1209000000000002:asana-e2e-token-0123456789abcdef";
    public const string ForgeWebhookSecret = "as-project-forge-webhook-secret-0123456789";

    private readonly RecordingHandler _recorder;

    private AsanaWorld(Harness harness, AsanaSimulator asana, RecordingHandler recorder, string projectGid, SimAsanaEnumField autoTask, SimAsanaEnumField repo, SimAsanaEnumField status)
    {
        H = harness;
        Asana = asana;
        _recorder = recorder;
        ProjectGid = projectGid;
        AutoTask = autoTask;
        Repo = repo;
        Status = status;
    }

    public Harness H { get; }

    public AsanaSimulator Asana { get; }

    public string ProjectGid { get; }

    public SimAsanaEnumField AutoTask { get; }

    public SimAsanaEnumField Repo { get; }

    public SimAsanaEnumField Status { get; }

    public GitHubSimulator GitHub => H.GitHub;

    public ProjectStore Store => H.App.Services.GetRequiredService<ProjectStore>();

    public Uri GitHubTarget => new(H.HostUrl, $"webhooks/github/{Slug}");

    /// <summary>Starts everything; with <paramref name="connectWebhook"/> the Asana webhook is created through our API.</summary>
    public static async Task<AsanaWorld> StartAsync(bool requireCi = true, IReadOnlyDictionary<string, long>? hookIds = null, bool connectWebhook = true)
    {
        var asana = await AsanaSimulator.StartAsync(AsanaToken);
        var projectGid = asana.AddProject("Webshop");
        var autoTask = asana.AddEnumField("AutoTask", "Yes", "No");
        var repo = asana.AddEnumField("Repo", Webshop, ApiRepo, "acme/legacy");
        var status = asana.AddEnumField("Status", "On track", "Blocked", "Cancelled");

        var harness = await Harness.StartAsync(startHost: false);
        var recorder = new RecordingHandler();
        harness.ApiHandler = recorder;
        await harness.StartHostAsync();
        harness.GitHub.AddRepository(ApiRepo);
        var world = new AsanaWorld(harness, asana, recorder, projectGid, autoTask, repo, status);
        harness.GitHub.ConfigureWebhook(world.GitHubTarget, ForgeWebhookSecret);

        var definition = new ProjectDefinition
        {
            Slug = Slug,
            Name = "Asana webshop",
            WorkItemPrefix = Prefix,
            RequireCi = requireCi,
            Tracker = new TrackerConfig
            {
                Kind = TrackerConfig.Asana,
                BaseUrl = asana.ApiBaseUrl,
                Workspace = asana.WorkspaceGid,
                ProjectIds = [projectGid],
                Trigger = new TriggerRule { Label = null, Field = "AutoTask", OnValues = ["Yes"] },
                RepoField = new RepoFieldRule { Field = "Repo" },
                Status = new StatusRule { Field = "Status" },
            },
            Forge = new ForgeConfig
            {
                Kind = ForgeConfig.GitHub,
                BaseUrl = harness.GitHub.BaseUrl,
                Repos = [Webshop, ApiRepo],
                HookIds = hookIds,
            },
        };
        await world.Store.CreateAsync(definition, new Dictionary<string, string?>
        {
            [ProjectSecretNames.TrackerToken] = AsanaToken,
            [ProjectSecretNames.ForgeToken] = Harness.GitHubToken,
            [ProjectSecretNames.ForgeWebhookSecret] = ForgeWebhookSecret,
        });

        if (connectWebhook)
        {
            Assert.Equal("created", await world.ConnectWebhookAsync());
        }

        return world;
    }

    /// <summary><c>POST /api/projects/as/asana/webhooks {"public_url": host}</c>; returns the one webhook's status.</summary>
    public async Task<string> ConnectWebhookAsync()
    {
        var (status, body) = await PostJsonAsync($"api/projects/{Slug}/asana/webhooks", new { public_url = H.HostUrl });
        Assert.Equal(HttpStatusCode.OK, status);
        using var doc = JsonDocument.Parse(body);
        var hook = Assert.Single(doc.RootElement.GetProperty("webhooks").EnumerateArray().ToArray());
        Assert.Equal(ProjectGid, hook.GetProperty("resource").GetString());
        return hook.GetProperty("status").GetString()!;
    }

    public async Task<(HttpStatusCode Status, string Body)> PostJsonAsync(string path, object? body)
    {
        using var response = body is null ? await H.Api.PostAsync(path, null) : await H.Api.PostAsJsonAsync(path, body);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A task in the Asana project; a person sets Repo (not delivered) and then AutoTask (delivered).</summary>
    public async Task<(string Id, string Gid)> CreateTaskAsync(
        string name = "Add a health endpoint",
        string notes = "Please add GET /healthz\nIt returns 200 with the build version.",
        string? repo = Webshop,
        bool autoTask = true,
        bool deliver = true)
    {
        var task = Asana.CreateTask(ProjectGid, name, notes, AutoTask, Repo, Status);
        if (repo is not null)
        {
            await SetAsync(task.Gid, Repo, repo, deliver: false);
        }

        await SetAsync(task.Gid, AutoTask, autoTask ? "Yes" : "No", deliver);
        return (TaskPipelineOrchestration.InstanceIdFor(TrackerConfig.Asana, task.Gid), task.Gid);
    }

    /// <summary>A person selects <paramref name="option"/> (or clears the field); delivered deliveries must be answered 200.</summary>
    public async Task SetAsync(string taskGid, SimAsanaEnumField field, string? option, bool deliver = true)
    {
        var deliveries = await Asana.SetEnumCustomFieldAsync(taskGid, field.Gid, option is null ? null : field.Option(option).Gid, deliver);
        if (deliver)
        {
            Assert.All(deliveries, d => Assert.Equal(HttpStatusCode.OK, d.Answer));
        }
    }

    /// <summary>Comment texts on the Asana task (ours carry the <c>orchestrator ref</c> marker).</summary>
    public IReadOnlyList<string> Stories(string taskGid) => Asana.Stories(taskGid).Where(s => s.ResourceSubtype == "comment_added").Select(s => s.Text).ToArray();

    /// <summary>How often the orchestrator set <c>completed</c> on the task through the API.</summary>
    public int CompletionCalls(string taskGid, bool completed = true) => Asana.Host.Requests.Count(r =>
        r.Method == "PUT" && r.PathAndQuery.StartsWith($"{AsanaSimulator.ApiPrefix}/tasks/{taskGid}?", StringComparison.Ordinal)
        && r.Body.Replace(" ", "", StringComparison.Ordinal).Contains($"\"completed\":{(completed ? "true" : "false")}", StringComparison.Ordinal));

    /// <summary>A loopback URL nothing listens on (a target whose deliveries fail to connect).</summary>
    public static Uri ClosedPortUrl(string path)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}/{path}");
    }

    /// <summary>No secret in any response the test read or in any log line.</summary>
    public void AssertNoSecretsLeaked()
    {
        var secrets = new List<string> { AsanaToken, Harness.GitHubToken, ForgeWebhookSecret, Harness.GitHubSecret, Harness.PlaneToken, Harness.PlaneSecret };
        secrets.AddRange(Asana.Handshakes.Select(h => h.Secret));
        secrets.AddRange(Asana.Webhooks.Select(h => h.Secret));
        var responses = _recorder.Bodies;
        Assert.NotEmpty(responses);
        var logs = H.Logs.Lines;
        Assert.NotEmpty(logs);
        foreach (var secret in secrets.Distinct())
        {
            Assert.DoesNotContain(responses, b => b.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(logs, l => l.Contains(secret, StringComparison.Ordinal));
        }
    }

    /// <summary>No simulator saw a request it did not expect, and no task carries a warning (a comment, label or tracker update that failed).</summary>
    public async Task AssertCleanAsync()
    {
        H.AssertNoUnexpectedRequests();
        Assert.Empty(Asana.Host.UnexpectedRequests);
        await using var command = H.Db.DataSource.CreateCommand("SELECT id FROM instances WHERE orchestration = 'TaskPipeline'");
        await using var reader = await command.ExecuteReaderAsync();
        var ids = new List<string>();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        foreach (var id in ids)
        {
            Assert.Empty((await H.GetTaskAsync(id))!.Warnings);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await H.DisposeAsync();
        await Asana.DisposeAsync();
        _recorder.Dispose();
    }

    /// <summary>Keeps the body of every response that passes through.</summary>
    private sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler())
    {
        private readonly ConcurrentQueue<string> _bodies = new();

        public IReadOnlyList<string> Bodies => _bodies.ToArray();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            _bodies.Enqueue(await response.Content.ReadAsStringAsync(cancellationToken));
            return response;
        }
    }
}

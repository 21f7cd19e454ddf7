using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Projects;
using Orchestrator.Simulators.Gitea;
using Orchestrator.Simulators.Plane;

namespace Orchestrator.Tests.Integration.EndToEnd;

/// <summary>
/// The <see cref="Harness"/> plus a <see cref="GiteaSimulator"/> and a database project <c>gt</c>: Plane (its own
/// Plane project, the host-wide Plane settings) wired to Gitea (the simulator, its own token and webhook secret).
/// Both simulators deliver to the per-project endpoints <c>/webhooks/{plane|gitea}/gt</c>.
/// </summary>
public sealed class GiteaProject : IAsyncDisposable
{
    public const string Slug = "gt";
    public const string Token = "gitea_token_0123456789abcdef";
    public const string WebhookSecret = "gitea-webhook-secret-for-tests";
    public const string Prefix = "GT";

    private GiteaProject(Harness harness, GiteaSimulator gitea, string planeProjectId)
    {
        H = harness;
        Gitea = gitea;
        PlaneProjectId = planeProjectId;
    }

    public Harness H { get; }

    public GiteaSimulator Gitea { get; }

    /// <summary>The Plane project of <see cref="Slug"/> (not the harness's ORCH_PROJECTS_JSON one).</summary>
    public string PlaneProjectId { get; }

    public PlaneSimulator Plane => H.Plane;

    public static async Task<GiteaProject> StartAsync(Action<Dictionary<string, string?>>? tweak = null)
    {
        var gitea = await GiteaSimulator.StartAsync(Token);
        gitea.AddRepository(Harness.Repo);
        Harness h;
        try
        {
            h = await Harness.StartAsync(tweak);
        }
        catch
        {
            await gitea.DisposeAsync();
            throw;
        }

        var planeProjectId = Guid.NewGuid().ToString();
        h.Plane.AddProject(planeProjectId, Prefix);
        var store = h.App.Services.GetRequiredService<ProjectStore>();
        await store.CreateAsync(
            new ProjectDefinition
            {
                Slug = Slug,
                Name = "Gitea webshop",
                WorkItemPrefix = Prefix,
                Tracker = new TrackerConfig { Kind = TrackerConfig.Plane, ProjectIds = [planeProjectId] },
                Forge = new ForgeConfig { Kind = ForgeConfig.Gitea, BaseUrl = gitea.BaseUrl, Repos = [Harness.Repo] },
            },
            new Dictionary<string, string?>
            {
                [ProjectSecretNames.ForgeToken] = Token,
                [ProjectSecretNames.ForgeWebhookSecret] = WebhookSecret,
            });

        gitea.ConfigureWebhook(new Uri(h.HostUrl, $"webhooks/gitea/{Slug}"), WebhookSecret);

        // No tracker_webhook_secret of its own and no tracker base_url: the host-wide Plane secret verifies it.
        h.Plane.ConfigureWebhook(new Uri(h.HostUrl, $"webhooks/plane/{Slug}"), Harness.PlaneSecret);
        return new GiteaProject(h, gitea, planeProjectId);
    }

    /// <summary>Creates an AutoTask work item in the project's Plane project (signed webhook) and returns its instance id.</summary>
    public async Task<(string InstanceId, SimWorkItem Item)> CreateTaskAsync(
        string name = "Add a health endpoint",
        string description = "<p>Please add GET /healthz</p><h2>Acceptance Criteria</h2><ul><li>returns 200</li></ul>")
    {
        var (item, _, status) = await Plane.CreateWorkItemAsync(PlaneProjectId, name, description, ["AutoTask"]);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, status);
        return (TaskPipelineOrchestration.InstanceIdFor(item.Id), item);
    }

    /// <summary>The only issue (not PR) of the repository.</summary>
    public GiteaSimItem SingleIssue() => Assert.Single(Gitea.Items(Harness.Repo), i => !i.IsPull);

    /// <summary>Every Gitea delivery so far was answered 202.</summary>
    public void AssertDeliveriesAccepted() =>
        Assert.All(Gitea.DeliveryAttempts, a => Assert.Equal(System.Net.HttpStatusCode.Accepted, a.Status));

    public void AssertNoUnexpectedRequests()
    {
        H.AssertNoUnexpectedRequests();
        Assert.Empty(Gitea.Host.UnexpectedRequests);
    }

    public async ValueTask DisposeAsync()
    {
        await H.DisposeAsync();
        await Gitea.DisposeAsync();
    }
}

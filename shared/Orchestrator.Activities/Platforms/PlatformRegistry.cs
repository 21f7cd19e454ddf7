using System.Collections.Concurrent;
using System.Text.Json;
using Npgsql;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Gitea;
using Orchestrator.Shared.Plane;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Platforms;

/// <summary>A project's forge and tracker clients, built from its definition and decrypted secrets.</summary>
/// <param name="Project">The project.</param>
/// <param name="Forge">GitHub or Gitea behind <see cref="IGitHubClient"/>.</param>
/// <param name="Tracker">Plane or Asana behind <see cref="ITracker"/>.</param>
/// <param name="GitToken">Token for HTTPS git remotes (a fresh installation token for GitHub Apps), or <c>null</c>.</param>
/// <param name="GitTokenScope">
/// Where <paramref name="GitToken"/> may be sent: <c>null</c> = the project's own remotes (its own credential), else only
/// remotes on this scheme, host and port (the host-wide <c>ORCH_GITHUB_TOKEN</c> goes to the host-wide git host only).
/// </param>
public sealed record ProjectPlatforms(ProjectDefinition Project, IGitHubClient Forge, ITracker Tracker, Func<CancellationToken, ValueTask<string?>> GitToken, Uri? GitTokenScope = null)
{
    /// <summary>Forge name for people: <c>GitHub</c> or <c>Gitea</c>.</summary>
    public string ForgeName => Project.Forge.Kind == ForgeConfig.Gitea ? "Gitea" : "GitHub";

    /// <summary>The <see cref="TaskProject"/> a task of this project starts with.</summary>
    /// <param name="trackerProjectId">The tracker project the item lives in.</param>
    /// <returns>The task's project settings.</returns>
    public TaskProject TaskProject(string trackerProjectId) => PlatformRegistry.ToTaskProject(Project, trackerProjectId);
}

/// <summary>
/// Builds and caches each project's clients (keyed by slug and version, so an edit through the API takes effect at
/// once). A project with no tracker/forge token of its own uses the host-wide credentials (<c>ORCH_PLANE_*</c>,
/// <c>ORCH_GITHUB_*</c>) — but only against the host-wide URL they were configured with: a project whose
/// <c>base_url</c> points anywhere else must bring its own token (issue #8: a host-wide credential is never sent to a
/// project-chosen URL). Every client shares one per-credential <see cref="RateLimiter"/>.
/// </summary>
public sealed class PlatformRegistry(
    ProjectStore store,
    OrchestratorSettings settings,
    IHttpClientFactory httpClients,
    IHttpMessageHandlerFactory httpHandlers,
    IGitHubClient? hostGitHub,
    IPlaneClient? hostPlane,
    NpgsqlDataSource dataSource,
    TimeProvider clock)
{
    /// <summary>Named HttpClient used for every platform call.</summary>
    public const string HttpClientName = "platforms";

    private readonly ConcurrentDictionary<string, (long Version, ProjectPlatforms Platforms)> _cache = new(StringComparer.Ordinal);
    private readonly RateLimiter _limiter = RateLimiter.For(clock);

    /// <summary>The project's clients.</summary>
    /// <param name="slug">Project slug.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The clients.</returns>
    /// <exception cref="PermanentActivityException">No such project (deleted?).</exception>
    public async Task<ProjectPlatforms> ForProjectAsync(string slug, CancellationToken cancellationToken)
    {
        var stored = await store.GetAsync(slug, cancellationToken)
            ?? throw new PermanentActivityException($"Project '{slug}' does not exist (deleted?).");
        return For(stored);
    }

    /// <summary>The clients of a stored project.</summary>
    /// <param name="stored">The project.</param>
    /// <returns>The clients.</returns>
    public ProjectPlatforms For(StoredProject stored)
    {
        var slug = stored.Definition.Slug;
        if (_cache.TryGetValue(slug, out var hit) && hit.Version == stored.Version)
        {
            return hit.Platforms;
        }

        var built = Build(stored);
        _cache[slug] = (stored.Version, built);
        return built;
    }

    /// <summary>The clients of the project a task started with (by slug; tasks started before projects lived in the database carry only the tracker project id).</summary>
    /// <param name="project">The task's project settings.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The clients.</returns>
    /// <exception cref="PermanentActivityException">The project no longer exists.</exception>
    public async Task<ProjectPlatforms> ForTaskAsync(TaskProject project, CancellationToken cancellationToken)
    {
        if (project.ProjectSlug is { } slug)
        {
            return await ForProjectAsync(slug, cancellationToken);
        }

        var stored = await store.FindByTrackerProjectAsync(project.Tracker, project.TrackerProjectId, cancellationToken)
            ?? throw new PermanentActivityException($"No project has {project.Tracker} project {project.TrackerProjectId}.");
        return For(stored);
    }

    /// <summary>The clients for the task behind an instance (a task pipeline <c>plane-…</c>/<c>asana-…</c>, or its role pipeline <c>roles-…</c>).</summary>
    /// <param name="instanceId">Instance id.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The task's state and its project's clients.</returns>
    /// <exception cref="PermanentActivityException">The instance or its project does not exist.</exception>
    public async Task<(TaskState Task, ProjectPlatforms Platforms)> ForInstanceAsync(string? instanceId, CancellationToken cancellationToken)
    {
        var task = await TaskStateAsync(instanceId ?? throw new PermanentActivityException("This activity needs an instance."), cancellationToken);
        return (task, await ForTaskAsync(task.Project, cancellationToken));
    }

    /// <summary>The task pipeline state behind an instance id (<c>roles-</c> prefix stripped).</summary>
    /// <param name="instanceId">Instance id.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The state.</returns>
    /// <exception cref="PermanentActivityException">No such task.</exception>
    public async Task<TaskState> TaskStateAsync(string instanceId, CancellationToken cancellationToken)
    {
        var taskId = instanceId.StartsWith("roles-", StringComparison.Ordinal) ? instanceId["roles-".Length..] : instanceId;
        await using var command = dataSource.CreateCommand("SELECT state::text FROM instances WHERE id = @id AND orchestration = @o");
        command.Parameters.AddWithValue("id", taskId);
        command.Parameters.AddWithValue("o", TaskPipelineOrchestration.OrchestrationName);
        var json = await command.ExecuteScalarAsync(cancellationToken) as string
            ?? throw new PermanentActivityException($"Task instance {taskId} does not exist.");
        return JsonSerializer.Deserialize<TaskState>(json, EngineJson.Options)!;
    }

    /// <summary>A task's project settings from a project definition.</summary>
    /// <param name="project">The project.</param>
    /// <param name="trackerProjectId">The tracker project the item lives in.</param>
    /// <returns>The settings the task pipeline captures at start.</returns>
    public static TaskProject ToTaskProject(ProjectDefinition project, string trackerProjectId) => new(
        trackerProjectId,
        project.Forge.EffectiveDefaultRepo ?? "",
        project.WorkItemPrefix,
        project.AgentCommand,
        project.RequireCi,
        project.Mode,
        project.Tracker.Kind,
        project.Forge.Kind,
        project.Slug,
        project.Forge.Repos,
        project.Tracker.RepoField is not null);

    /// <summary>HTTPS git URL of a repo: the project's <c>git_url</c> template, else derived from the forge.</summary>
    /// <param name="project">The project.</param>
    /// <param name="repo"><c>owner/name</c>.</param>
    /// <returns>The clone URL (or local path, when <c>git_url</c> says so).</returns>
    public string RemoteUrl(ProjectDefinition project, string repo)
    {
        if (project.Forge.GitUrl is { Length: > 0 } template)
        {
            return template.Replace("{repo}", repo, StringComparison.Ordinal);
        }

        if (project.Forge.Kind == ForgeConfig.Gitea && project.Forge.BaseUrl is { } gitea)
        {
            return $"{gitea.AbsoluteUri.TrimEnd('/')}/{repo}.git";
        }

        var api = project.Forge.BaseUrl ?? settings.GitHubApiUrl;
        var host = api.Host == "api.github.com" ? "github.com" : api.Authority;
        return $"{api.Scheme}://{host}/{repo}.git";
    }

    private ProjectPlatforms Build(StoredProject stored)
    {
        var project = stored.Definition;
        var http = httpClients.CreateClient(HttpClientName);
        var forgeToken = stored.Secret(ProjectSecretNames.ForgeToken);
        IGitHubClient forge;
        Func<CancellationToken, ValueTask<string?>> gitToken;
        Uri? gitScope = null;
        if (project.Forge.Kind == ForgeConfig.Gitea)
        {
            var token = forgeToken ?? throw new PermanentActivityException($"Project '{project.Slug}' has no forge_token for Gitea.");
            forge = new GiteaClient(http, new GiteaClientSettings(project.Forge.BaseUrl!, token), clock, _limiter);
            gitToken = _ => ValueTask.FromResult<string?>(token);
        }
        else if (project.Forge.App is { } app && stored.Secret(ProjectSecretNames.GitHubAppPrivateKey) is { } pem)
        {
            var api = project.Forge.BaseUrl ?? settings.GitHubApiUrl;
            var handler = httpHandlers.CreateHandler(HttpClientName);
            var source = new GitHubAppInstallationTokenSource(handler, api, new GitHubAppCredentials(app.AppId, pem, app.InstallationId), clock, _limiter);
            forge = new GitHubClient(handler, api, source, clock, _limiter);
            gitToken = async ct => await source.GetTokenAsync(ct);
        }
        else if (forgeToken is null)
        {
            if (project.Forge.BaseUrl is { } own && !Endpoints.Same(own, settings.GitHubApiUrl))
            {
                throw new PermanentActivityException(
                    $"Project '{project.Slug}' has a forge base_url of its own ({own.GetLeftPart(UriPartial.Path)}) and no forge_token: " +
                    "the host-wide ORCH_GITHUB_TOKEN is only sent to ORCH_GITHUB_API_URL. Give the project a forge_token.");
            }

            forge = hostGitHub ?? throw new PermanentActivityException($"Project '{project.Slug}' has no forge_token and ORCH_GITHUB_TOKEN is not set.");
            gitToken = _ => ValueTask.FromResult(settings.GitHubToken);
            gitScope = settings.HostWideGitUrl;
        }
        else
        {
            forge = new GitHubClient(httpHandlers.CreateHandler(HttpClientName), new GitHubClientSettings(project.Forge.BaseUrl ?? settings.GitHubApiUrl, forgeToken), clock, _limiter);
            gitToken = _ => ValueTask.FromResult<string?>(forgeToken);
        }

        var trackerToken = stored.Secret(ProjectSecretNames.TrackerToken);
        ITracker tracker;
        if (project.Tracker.Kind == TrackerConfig.Asana)
        {
            var token = trackerToken ?? throw new PermanentActivityException($"Project '{project.Slug}' has no tracker_token for Asana.");
            var asana = new AsanaClient(http, new AsanaClientSettings(project.Tracker.BaseUrl ?? AsanaClientSettings.DefaultBaseUrl, token), clock, _limiter);
            tracker = new AsanaTracker(asana, project, store);
        }
        else if (trackerToken is null && project.Tracker.BaseUrl is null && project.Tracker.Workspace is null)
        {
            tracker = new PlaneTracker(hostPlane ?? throw new PermanentActivityException($"Project '{project.Slug}' has no tracker settings of its own and ORCH_PLANE_* are not set."), project, clock);
        }
        else
        {
            var missing = $"Project '{project.Slug}' needs tracker base_url, workspace and tracker_token (or the host-wide ORCH_PLANE_* settings).";
            var url = project.Tracker.BaseUrl ?? settings.PlaneApiUrl ?? throw new PermanentActivityException(missing);
            if (trackerToken is null && (settings.PlaneApiUrl is not { } hostWide || !Endpoints.Same(url, hostWide)))
            {
                throw new PermanentActivityException(
                    $"Project '{project.Slug}' has a tracker base_url of its own ({url.GetLeftPart(UriPartial.Path)}) and no tracker_token: " +
                    "the host-wide ORCH_PLANE_API_TOKEN is only sent to ORCH_PLANE_API_URL. Give the project a tracker_token.");
            }

            var plane = new PlaneClient(http, new PlaneClientSettings(
                url,
                trackerToken ?? settings.PlaneApiToken ?? throw new PermanentActivityException(missing),
                project.Tracker.Workspace ?? settings.PlaneWorkspaceSlug ?? throw new PermanentActivityException(missing)), clock, _limiter);
            tracker = new PlaneTracker(plane, project, clock);
        }

        return new ProjectPlatforms(project, forge, tracker, gitToken, gitScope);
    }
}

using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Functions.Activities;
using Orchestrator.Functions.Platforms;
using Orchestrator.Functions.Routing;
using Orchestrator.Shared.Agents;
using Orchestrator.Shared.Agents.Adapters;
using Orchestrator.Shared.Agents.Git;
using Orchestrator.Shared.Agents.Processes;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Plane;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions;

/// <summary>
/// The registrations of the shared activities and what they need (platform clients, the platform registry, agents,
/// git workspaces, the delivery router), used by the self-hosted host and by the Durable Task worker alike, so both
/// run the same activity objects. The runtime client (<see cref="IOrchestrationClient"/>) is registered by the caller.
/// </summary>
public static class SharedActivityServices
{
    /// <summary>Registers the shared activities (each as an <see cref="IActivity"/>) and their dependencies.</summary>
    /// <param name="services">The service collection (with <see cref="ProjectStore"/>, the data source and a <see cref="TimeProvider"/> registered).</param>
    /// <param name="settings">The orchestrator's settings.</param>
    /// <param name="outbound">The outbound policy every git remote is checked against.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddSharedActivities(this IServiceCollection services, OrchestratorSettings settings, OutboundPolicy outbound)
    {
        ArgumentNullException.ThrowIfNull(settings);

        // Host-wide clients (ORCH_GITHUB_*, ORCH_PLANE_*) for projects without credentials of their own.
        if (settings.GitHubToken is { } gitHubToken)
        {
            services.AddGitHubClient(new GitHubClientSettings(settings.GitHubApiUrl, gitHubToken));
        }

        if (settings.HasHostPlane)
        {
            services.AddSingleton(new PlaneClientSettings(settings.PlaneApiUrl!, settings.PlaneApiToken!, settings.PlaneWorkspaceSlug!));
            services.AddHttpClient<IPlaneClient, PlaneClient>(http => http.Timeout = TimeSpan.FromSeconds(30));
        }

        services.AddHttpClient(PlatformRegistry.HttpClientName, http => http.Timeout = TimeSpan.FromSeconds(30));
        services.AddSingleton(sp => new PlatformRegistry(
            sp.GetRequiredService<ProjectStore>(),
            settings,
            sp.GetRequiredService<IHttpClientFactory>(),
            sp.GetRequiredService<IHttpMessageHandlerFactory>(),
            sp.GetService<IGitHubClient>(),
            sp.GetService<IPlaneClient>(),
            sp.GetRequiredService<Npgsql.NpgsqlDataSource>(),
            sp.GetRequiredService<TimeProvider>()));

        services.AddSingleton<IActivity, RouteDeliveryActivity>();
        services.AddSingleton<IActivity, PrepareTaskSpecActivity>();
        services.AddSingleton<IActivity, EnsureForgeIssueActivity>();
        services.AddSingleton<IActivity, EnsureTrackerCommentActivity>();
        services.AddSingleton<IActivity, EnsureForgeCommentActivity>();
        services.AddSingleton<IActivity, CheckCiActivity>();
        services.AddSingleton<IActivity, CompleteTrackerItemActivity>();
        services.AddSingleton<IActivity, ReconcileTaskActivity>();
        services.AddSingleton<IActivity, ReconcileSweepActivity>();
        services.AddSingleton<IActivity, ReopenTrackerItemActivity>();
        services.AddSingleton<IActivity, SetForgeLabelActivity>();
        services.AddSingleton<IActivity, CloseForgeIssueActivity>();

        // Server-run agents and the role pipeline (issue #3).
        services.AddSingleton(_ => new AgentAdapters());
        services.AddSingleton(_ => new AgentProcessRunner());
        services.AddSingleton(sp => new AgentRunner(
            sp.GetRequiredService<Npgsql.NpgsqlDataSource>(),
            sp.GetRequiredService<AgentAdapters>(),
            sp.GetRequiredService<AgentProcessRunner>(),
            new AgentRunnerOptions(Path.Combine(settings.DataDirectory, "agents"), settings.MaxAgentRuns, settings.MaxAgentRunsPerProject),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<AgentRunner>>()));
        services.AddSingleton<IAgentRunner>(sp => sp.GetRequiredService<AgentRunner>());
        services.AddSingleton(_ => new GitWorkspaces(Path.Combine(settings.DataDirectory, "git"), new GitIdentity(settings.GitAuthor.Name, settings.GitAuthor.Email), outbound));
        services.AddSingleton<RolePipelineContext>();
        services.AddSingleton<IActivity, StartRolePipelineActivity>();
        services.AddSingleton<IActivity, RetryRolePipelineActivity>();
        services.AddSingleton<IActivity, StopRolePipelineActivity>();
        services.AddSingleton<IActivity, RunStageAgentActivity>();
        services.AddSingleton<IActivity, CheckStageGateActivity>();
        services.AddSingleton<IActivity, CheckStageCiActivity>();
        services.AddSingleton<IActivity, PostStageCommentActivity>();
        services.AddSingleton<IActivity, PostEscalationCommentActivity>();
        services.AddSingleton<IActivity, CheckApprovalActivity>();
        services.AddSingleton<DeliveryRouter>();
        return services;
    }
}

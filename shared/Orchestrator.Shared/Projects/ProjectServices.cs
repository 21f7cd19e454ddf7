using Microsoft.Extensions.Logging;
using Npgsql;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Projects;

// In the DI namespace, like other AddXxx extensions, so hosts call services.AddProjects(settings) without a using.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registration of the project services.</summary>
public static class ProjectServices
{
    /// <summary>
    /// Registers <see cref="SecretProtector"/> (master key from <paramref name="settings"/>, loaded on first use),
    /// <see cref="ProjectStore"/> and <see cref="ProjectBootstrap"/> as singletons. Needs an
    /// <see cref="NpgsqlDataSource"/>, a <see cref="TimeProvider"/> and logging registered.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="settings">Host settings.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddProjects(this IServiceCollection services, OrchestratorSettings settings)
    {
        services.AddSingleton(sp => SecretProtector.FromSettings(settings, sp.GetRequiredService<ILoggerFactory>().CreateLogger<SecretProtector>()));
        services.AddSingleton(sp => new ProjectStore(
            sp.GetRequiredService<NpgsqlDataSource>(),
            sp.GetRequiredService<SecretProtector>(),
            sp.GetRequiredService<TimeProvider>(),
            settings.Agents.Names,
            sp.GetRequiredService<ILogger<ProjectStore>>(),
            outbound: sp.GetService<Orchestrator.Shared.Platform.OutboundPolicy>() ?? settings.CreateOutboundPolicy()));
        services.AddSingleton(sp => new ProjectBootstrap(settings, sp.GetRequiredService<ProjectStore>(), sp.GetRequiredService<ILogger<ProjectBootstrap>>()));
        return services;
    }
}

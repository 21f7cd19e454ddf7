using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Functions.DurableTask;

/// <summary>The Azure Functions app's registrations (also what the Durable tests compose): the shared activities over the invocation's Durable Task client (<see cref="AmbientOrchestrationClient"/>).</summary>
public static class DurableTaskServices
{
    /// <summary>Registers settings, the database, projects, the shared activities and the ambient orchestration client.</summary>
    /// <param name="services">The worker's services.</param>
    /// <param name="settings">The loaded settings.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddDurableTaskOrchestrator(this IServiceCollection services, OrchestratorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        services.AddSingleton(settings);
        services.AddSingleton(TimeProvider.System);
        var outbound = settings.CreateOutboundPolicy();
        services.AddSingleton(outbound);
        services.ConfigureHttpClientDefaults(http => http.ConfigurePrimaryHttpMessageHandler(outbound.CreateHandler));
        services.AddSingleton(_ => Database.CreateDataSource(Database.ToConnectionString(settings.DatabaseUrl)));
        services.AddProjects(settings);
        services.AddSingleton(sp => new WorkSignal(sp.GetRequiredService<Npgsql.NpgsqlDataSource>(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<WorkSignal>>()));
        services.AddSingleton<InboxStore>();
        services.AddSingleton<Orchestrator.Shared.Knowledge.KnowledgeStore>();
        services.AddSharedActivities(settings, outbound);
        services.AddSingleton<AmbientOrchestrationClient>();
        services.AddSingleton<IOrchestrationClient>(sp => sp.GetRequiredService<AmbientOrchestrationClient>());
        return services;
    }
}

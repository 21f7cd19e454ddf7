using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orchestrator.AzureFunctions;
using Orchestrator.Functions;
using Orchestrator.Functions.DurableTask;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;

// The isolated worker: `func start` (with Azurite for AzureWebJobsStorage) runs it locally; settings are the ORCH_*
// values of local.settings.json (copy local.settings.sample.json) or of the Function App's configuration.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Configuration.AddOrchestratorSettings([Directory.GetCurrentDirectory(), AppContext.BaseDirectory]);
var settings = OrchestratorSettings.Load(builder.Configuration);
builder.Services.AddAzureFunctionsOrchestrator(settings);
builder.Build().Run();

namespace Orchestrator.AzureFunctions
{
    /// <summary>The Functions app's registrations: the shared activities over the invocation's Durable Task client.</summary>
    public static class AzureFunctionsServices
    {
        /// <summary>Registers settings, the database, projects, the shared activities and the ambient orchestration client.</summary>
        /// <param name="services">The worker's services.</param>
        /// <param name="settings">The loaded settings.</param>
        /// <returns>The services.</returns>
        public static IServiceCollection AddAzureFunctionsOrchestrator(this IServiceCollection services, OrchestratorSettings settings)
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
            services.AddSingleton<ActivityCatalog>();
            return services;
        }
    }
}

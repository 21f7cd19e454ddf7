using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orchestrator.Functions.DurableTask;
using Orchestrator.Shared.Configuration;

// The isolated worker: `func start` (with Azurite for AzureWebJobsStorage) runs it locally; settings are the ORCH_*
// values of local.settings.json (copy local.settings.sample.json) or of the Function App's configuration.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Configuration.AddOrchestratorSettings([Directory.GetCurrentDirectory(), AppContext.BaseDirectory]);
var settings = OrchestratorSettings.Load(builder.Configuration);
builder.Services.AddDurableTaskOrchestrator(settings);
builder.Services.AddSingleton<Orchestrator.AzureFunctions.ActivityCatalog>();
builder.Build().Run();

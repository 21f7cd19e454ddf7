using Microsoft.Extensions.Options;
using Orchestrator.Functions.Activities;
using Orchestrator.Functions.Functions;
using Orchestrator.Functions.Platforms;
using Orchestrator.Functions.Routing;
using Orchestrator.Functions.Telegram;
using Orchestrator.Functions.Timers;
using Orchestrator.Functions.Functions.V1;
using Orchestrator.Functions.Web;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Orchestrations.Reconciliation;
using Orchestrator.Shared.Agents;
using Orchestrator.Shared.Agents.Adapters;
using Orchestrator.Shared.Agents.Git;
using Orchestrator.Shared.Agents.Processes;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Plane;
using Orchestrator.Shared.Projects;
using Orchestrator.Shared.ReadModel;

namespace Orchestrator.Functions;

/// <summary>Builds and starts the host: the card's "function app" on ASP.NET Core.</summary>
public static class OrchestratorApp
{
    /// <summary>
    /// Builds the web application. <paramref name="overrides"/> (tests, demo) win over every other source.
    /// </summary>
    /// <exception cref="SettingsException">A required setting is missing or invalid.</exception>
    public static WebApplication Build(string[] args, IDictionary<string, string?>? overrides = null, Action<IServiceCollection>? configureServices = null)
    {
        // ApplicationName: the Razor Pages of this assembly are found even when another assembly (a test host) is the entry point.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
            ApplicationName = typeof(OrchestratorApp).Assembly.GetName().Name,
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddOrchestratorSettings([Directory.GetCurrentDirectory(), AppContext.BaseDirectory]);
        if (overrides is not null)
        {
            builder.Configuration.AddInMemoryCollection(overrides);
        }

        var settings = OrchestratorSettings.Load(builder.Configuration);
        builder.WebHost.UseUrls(settings.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = settings.WebhookMaxBytesLargest + 1;

            // Kestrel reads ahead up to this much of a request body before the app asks for it (default 1 MiB per
            // connection). A delivery refused before its body is read (429, 401 on a bad header) would otherwise still
            // cost up to 1 MiB of buffer per connection: 100 such connections were ~80 MiB on a loaded machine (issue #8 9c).
            k.Limits.MaxRequestBufferSize = 64 * 1024;
        });
        if (settings.LogFormat == "json")
        {
            // One JSON object per line with the scopes (task, project, delivery) as properties (issue #11 §3).
            builder.Logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
                o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.IncludeScopes = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
        }

        builder.Services.AddOrchestratorServices(settings);
        configureServices?.Invoke(builder.Services);

        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<ApiExceptionHandler>();
        builder.Services.AddWebTool(settings);
        builder.Services.AddApiV1Document();

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseWebTool(settings);

        // THE allow-list (issue #9): every other endpoint needs a session, a project API token or ORCH_ADMIN_TOKEN
        // (the fallback authorization policy), and a test enumerates the endpoints to keep it that way. Webhooks
        // authenticate by signature; the sign-in pages allow themselves (WebSetup.AddWebTool); static assets are
        // served before routing.
        var open = app.MapGroup("").AllowAnonymous();
        open.MapHealthApi();

        // Every webhook answer is counted per project, source and hour (issue #9 §2: the webhooks page's health).
        open.MapGroup("").AddEndpointFilter<WebhookStatsFilter>().MapWebhooks();
        open.MapTelegramWebhook(); // authenticated by its secret token (issue #12)

        var api = app.MapGroup("/api");
        api.MapTasksApi();
        api.MapQueueApi();
        api.MapProjectsApi();
        api.MapProjectActionsApi();
        api.MapTaskActionsApi();
        api.MapApiV1();
        app.MapOpenApi("/openapi/{documentName}.json");
        // Scalar's bundle for the reference page (/api/docs), served behind sign-in (Scalar's own mapping is anonymous).
        app.MapApiReferenceAssets();
        Observability.MetricsEndpoint.MapOnMainApp(app, settings);
        app.MapRazorPages();
        return app;
    }

    /// <summary>Applies migrations, makes sure the reconciler runs, then starts serving and working.</summary>
    public static async Task StartOrchestratorAsync(this WebApplication app, CancellationToken cancellationToken = default)
    {
        await app.Services.GetRequiredService<MigrationRunner>().MigrateAsync(cancellationToken);
        await app.Services.GetRequiredService<ProjectBootstrap>().RunAsync(cancellationToken);
        await app.Services.GetRequiredService<DurableEngine>().StartAsync(
            ReconcilerOrchestration.OrchestrationName, ReconcilerOrchestration.InstanceId, new ReconcilerStarted(), "start", cancellationToken);
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Orchestrator");
        var settings = app.Services.GetRequiredService<OrchestratorSettings>();
        if (settings.MetricsUrls is null && settings.MetricsToken is null)
        {
            log.LogInformation("/metrics is off: set ORCH_METRICS_URLS (a separate listener) or ORCH_METRICS_TOKEN (bearer token) to serve it");
        }

        if (settings.GitHubWebhookSecret is null && settings.Projects.Count > 0)
        {
            log.LogWarning("ORCH_GITHUB_WEBHOOK_SECRET is not set: every GitHub delivery will be refused with 401");
        }

        if (settings.PlaneWebhookSecret is null && settings.Projects.Count > 0)
        {
            log.LogWarning("ORCH_PLANE_WEBHOOK_SECRET is not set: every Plane delivery will be refused with 401");
        }

        await app.StartAsync(cancellationToken);
        log.LogInformation("Orchestrator listening on {Urls} with {Projects} project(s)", string.Join(", ", app.Urls), settings.Projects.Count);
    }

    /// <summary>Registers everything the host needs (the one place registrations live).</summary>
    public static IServiceCollection AddOrchestratorServices(this IServiceCollection services, OrchestratorSettings settings)
    {
        services.AddSingleton(settings);
        services.AddSingleton(TimeProvider.System);

        // Every outbound HttpClient connects through the outbound policy (issue #8: no SSRF, checked on the resolved address).
        var outbound = settings.CreateOutboundPolicy();
        services.AddSingleton(outbound);
        services.ConfigureHttpClientDefaults(http => http.ConfigurePrimaryHttpMessageHandler(outbound.CreateHandler));
        services.AddSingleton(_ => Database.CreateDataSource(Database.ToConnectionString(settings.DatabaseUrl)));
        services.AddSingleton<MigrationRunner>();
        services.AddSingleton<Observability.TaskLogContext>();
        services.AddSingleton(sp => new EngineOptions
        {
            LeaseDuration = settings.LeaseDuration,
            WorkerConcurrency = settings.WorkerConcurrency,
            PollInterval = settings.QueuePollInterval,
            InstanceContext = sp.GetRequiredService<Observability.TaskLogContext>().ResolveAsync,
        });

        // Prometheus metrics (issue #11 §3): this host's registry, and the separate server when ORCH_METRICS_URLS is set.
        services.AddSingleton<Observability.OrchestratorMetrics>();
        if (settings.MetricsUrls is not null)
        {
            services.AddSingleton<Observability.MetricsServer>();
            services.AddHostedService(sp => sp.GetRequiredService<Observability.MetricsServer>());
        }

        services.AddSingleton(sp => new WorkSignal(sp.GetRequiredService<Npgsql.NpgsqlDataSource>(), sp.GetRequiredService<ILogger<WorkSignal>>()));
        services.AddSingleton<InboxStore>();
        services.AddWebhookLimits(settings);
        services.AddSingleton<Orchestrator.Shared.Webhooks.WebhookStats>();
        services.AddSingleton<Orchestrator.Shared.Knowledge.KnowledgeStore>();
        services.AddSingleton<WebhookStatsFilter>();
        services.AddSingleton<TaskQueries>();
        services.AddSingleton<ReadModelQueries>();
        services.AddSingleton<AnalyticsQueries>();
        services.AddProjects(settings);

        // The platform clients, the shared activities and the delivery router (shared with the Durable Task worker).
        services.AddSharedActivities(settings, outbound);
        services.AddSingleton<AsanaWebhookSetup>();
        services.AddTelegram(settings); // notifications, approvals and tasks from a chat (issue #12)

        services.AddSingleton(sp =>
        {
            var registry = new OrchestrationRegistry()
                .Add(new TaskPipelineOrchestration(new TaskPipelineSettings(settings.CiPollInterval, settings.CiTimeout)))
                .Add(new ReconcilerOrchestration(settings.ReconcileInterval))
                .Add(new RolePipelineOrchestration())
                .AddProjection(TaskPipelineOrchestration.OrchestrationName, TelegramSetup.WithNotifications(new TaskStepProjection(), settings))
                .AddProjection(RolePipelineOrchestration.OrchestrationName, TelegramSetup.WithNotifications(new RolePipelineStepProjection(), settings));
            return registry;
        });
        services.AddSingleton(sp =>
        {
            var registry = sp.GetRequiredService<OrchestrationRegistry>();
            var engine = new DurableEngine(
                sp.GetRequiredService<Npgsql.NpgsqlDataSource>(),
                registry,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<EngineOptions>(),
                sp.GetRequiredService<WorkSignal>(),
                sp.GetRequiredService<ILogger<DurableEngine>>());
            return engine;
        });
        // The activities and the router ask for the runtime-neutral client; here it is the PostgreSQL engine.
        services.AddSingleton<IOrchestrationClient>(sp => sp.GetRequiredService<DurableEngine>());
        services.AddHostedService<ActivityRegistration>();
        services.AddHostedService<WorkListenerService>();
        services.AddHostedService<WorkerService>();
        services.AddHostedService<LeaseRescuerService>();
        services.AddSingleton<RedeliverySweeperService>();
        services.AddHostedService(sp => sp.GetRequiredService<RedeliverySweeperService>());
        return services;
    }
}

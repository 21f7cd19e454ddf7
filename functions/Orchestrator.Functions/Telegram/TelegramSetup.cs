using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Notifications;
using Orchestrator.Shared.Telegram;

namespace Orchestrator.Functions.Telegram;

/// <summary>The host wiring of Telegram (issue #12): one call in <see cref="OrchestratorApp"/>.</summary>
public static class TelegramSetup
{
    /// <summary>Registers the bot, its HTTP client, the notifier, the update handling and the receiver.</summary>
    /// <param name="services">Services.</param>
    /// <param name="settings">Host settings.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddTelegram(this IServiceCollection services, OrchestratorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);

        // The token is in every Bot API URL: the factory's request loggers (which log URLs) are removed from this client;
        // TelegramLoggingHandler logs the method name only. The timeout leaves room for a long poll.
        services.AddTransient<TelegramLoggingHandler>();
        services.AddHttpClient(TelegramBot.HttpClientName, http => http.Timeout = settings.TelegramPollTimeout + TimeSpan.FromSeconds(20))
            .RemoveAllLoggers()
            .AddHttpMessageHandler<TelegramLoggingHandler>();
        services.AddSingleton<TelegramBot>();
        services.AddSingleton(sp => new TelegramRateLimiter(
            sp.GetRequiredService<Npgsql.NpgsqlDataSource>(), sp.GetRequiredService<TimeProvider>(), settings.TelegramChatInterval));
        services.AddSingleton<TaskSnapshotLoader>();
        services.AddSingleton<TelegramNotifier>();
        services.AddSingleton<IChatNotifier>(sp => sp.GetRequiredService<TelegramNotifier>());
        services.AddSingleton<TelegramInteractions>();
        services.AddSingleton<TelegramUpdateStore>();
        services.AddSingleton<IActivity, NotifyTaskActivity>();
        services.AddSingleton<IActivity, NotifyAlertActivity>();
        services.AddSingleton<IActivity, NotifyApprovalDecidedActivity>();
        services.AddSingleton<IActivity, TelegramUpdateActivity>();
        services.AddSingleton<IActivity, TelegramApprovalFollowUpActivity>();
        services.AddSingleton<TelegramReceiver>();
        services.AddHostedService(sp => sp.GetRequiredService<TelegramReceiver>());
        return services;
    }

    /// <summary>
    /// The step projection of an orchestration with the chat notifications added (<see cref="NotificationProjection"/>),
    /// or <paramref name="readModel"/> alone when no bot is configured.
    /// </summary>
    /// <param name="readModel">The read-model projection.</param>
    /// <param name="settings">Host settings.</param>
    /// <returns>The projection to register.</returns>
    public static IStepProjection WithNotifications(IStepProjection readModel, OrchestratorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.TelegramBotToken is null ? readModel : new NotificationProjection(readModel);
    }
}

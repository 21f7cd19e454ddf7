using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Telegram;
using Telegram.Bot;
using Telegram.Bot.Types;

namespace Orchestrator.Functions.Telegram;

/// <summary>
/// Receives the bot's updates. Without <c>ORCH_PUBLIC_URL</c> by long polling (<c>getUpdates</c>), so nothing needs a
/// public address: one poller across all replicas, the one holding a PostgreSQL session advisory lock (per schema and
/// bot) — the others wait and take over when its session ends. With <c>ORCH_PUBLIC_URL</c> the bot's webhook is set to
/// <c>{ORCH_PUBLIC_URL}/webhooks/telegram</c> with a <c>secret_token</c> (<see cref="TelegramWebhook"/>) and no replica
/// polls. Either way updates are stored by <see cref="TelegramUpdateStore"/> (deduplicated by <c>update_id</c>).
/// </summary>
public sealed class TelegramReceiver(
    TelegramBot bot,
    TelegramUpdateStore store,
    NpgsqlDataSource db,
    OrchestratorSettings settings,
    TimeProvider clock,
    ILogger<TelegramReceiver> logger) : BackgroundService
{
    private static readonly TimeSpan LockRetry = TimeSpan.FromSeconds(5);

    /// <summary>Whether this replica holds the poll lock now (for tests and the queue page).</summary>
    public bool Polling { get; private set; }

    /// <summary>The webhook URL for <paramref name="publicUrl"/>.</summary>
    /// <param name="publicUrl"><c>ORCH_PUBLIC_URL</c>.</param>
    /// <returns><c>{publicUrl}/webhooks/telegram</c>.</returns>
    public static Uri WebhookUrl(Uri publicUrl) => new(new Uri(publicUrl.ToString().TrimEnd('/') + "/"), "webhooks/telegram");

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (bot.Api is not { } api)
        {
            return;
        }

        try
        {
            if (settings.PublicUrl is { } publicUrl)
            {
                await RegisterWebhookAsync(api, WebhookUrl(publicUrl), stoppingToken);
            }
            else
            {
                await PollAsync(api, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RegisterWebhookAsync(TelegramApi api, Uri url, CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(2);
        while (true)
        {
            try
            {
                await api.SetWebhookAsync(url, bot.WebhookSecret, stoppingToken);
                logger.LogInformation("Telegram webhook of bot {BotId} set to {Url}", api.BotId, url);
                return;
            }
            catch (TelegramApiException e)
            {
                logger.LogWarning("Setting the Telegram webhook failed ({Error}); trying again in {Delay}", e.Description, delay);
                await Task.Delay(e.RetryAfter ?? delay, clock, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMinutes(5).Ticks));
            }
        }
    }

    private async Task PollAsync(TelegramApi api, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await db.OpenConnectionAsync(stoppingToken);
                if (!await TryLockAsync(connection, api.BotId, stoppingToken))
                {
                    await Task.Delay(LockRetry, clock, stoppingToken);
                    continue;
                }

                Polling = true;
                logger.LogInformation("Polling Telegram updates of bot {BotId} on this replica", api.BotId);
                await PollWhileLockedAsync(api, connection, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                logger.LogWarning("Telegram polling stopped ({Error}); trying again", ex.Message);
                await Task.Delay(LockRetry, clock, stoppingToken);
            }
            finally
            {
                Polling = false;
            }
        }
    }

    private async Task PollWhileLockedAsync(TelegramApi api, NpgsqlConnection connection, CancellationToken stoppingToken)
    {
        // getUpdates is refused (409) while a webhook is set: an earlier run with ORCH_PUBLIC_URL may have left one.
        await IgnoringFailuresAsync(() => api.DeleteWebhookAsync(stoppingToken));
        var offset = await store.OffsetAsync(api.BotId, stoppingToken);
        var backoff = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            // The lock lives as long as this session: a broken connection means another replica may poll now.
            await using (var alive = new NpgsqlCommand("SELECT 1", connection))
            {
                await alive.ExecuteScalarAsync(stoppingToken);
            }

            Update[] updates;
            try
            {
                updates = await api.GetUpdatesAsync(offset, settings.TelegramPollTimeout, stoppingToken);
                backoff = TimeSpan.FromSeconds(1);
            }
            catch (TelegramApiException e)
            {
                var wait = e.Failure switch
                {
                    TelegramFailure.RateLimited => e.RetryAfter ?? TimeSpan.FromSeconds(5),
                    TelegramFailure.Unauthorized => TimeSpan.FromMinutes(5),
                    TelegramFailure.Conflict => TimeSpan.FromSeconds(10),
                    _ => backoff,
                };
                logger.LogWarning("Telegram getUpdates failed ({Error}); polling again in {Wait}", e.Description, wait);
                if (e.Failure == TelegramFailure.Conflict)
                {
                    await IgnoringFailuresAsync(() => api.DeleteWebhookAsync(stoppingToken));
                }

                await Task.Delay(wait, clock, stoppingToken);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromMinutes(1).Ticks));
                continue;
            }

            if (updates.Length == 0)
            {
                continue;
            }

            // Stored (with their work) before the next getUpdates confirms them to Telegram.
            var fresh = await store.StoreAsync(api.BotId, updates, advanceOffset: true, stoppingToken);
            offset = updates.Max(u => (long)u.Id) + 1;
            logger.LogDebug("Stored {Fresh} of {Count} Telegram updates; offset {Offset}", fresh, updates.Length, offset);
        }
    }

    private static async Task<bool> TryLockAsync(NpgsqlConnection connection, long botId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtextextended(current_schema() || ':telegram-poll:' || @bot, 0))", connection);
        command.Parameters.AddWithValue("bot", botId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    private async Task IgnoringFailuresAsync(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (TelegramApiException e)
        {
            logger.LogInformation("Telegram {Method} failed: {Error}", e.Method, e.Description);
        }
    }
}

/// <summary>
/// <c>POST /webhooks/telegram</c> (webhook mode, <c>ORCH_PUBLIC_URL</c> set): Telegram's updates, authenticated by
/// <c>X-Telegram-Bot-Api-Secret-Token</c> (https://core.telegram.org/bots/api#setwebhook) compared in constant time with
/// the secret we set (401 otherwise, nothing stored). The body is capped (1 MiB) and parsed as an
/// <see cref="Update"/>; it is never logged.
/// </summary>
public static class TelegramWebhook
{
    /// <summary>The secret token header.</summary>
    public const string SecretHeader = "X-Telegram-Bot-Api-Secret-Token";

    /// <summary>Largest accepted body (updates are small: a message is at most 4096 characters).</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>Maps the endpoint (anonymous: the secret token is the authentication).</summary>
    /// <param name="endpoints">Routes.</param>
    /// <returns>The route.</returns>
    public static RouteHandlerBuilder MapTelegramWebhook(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost("/webhooks/telegram", ReceiveAsync);

    /// <summary>Whether <paramref name="presented"/> is the secret, in time that does not depend on where they differ.</summary>
    /// <param name="expected">Our secret.</param>
    /// <param name="presented">The header's value, or <c>null</c>.</param>
    /// <returns><c>true</c> when equal (and not empty).</returns>
    public static bool SecretMatches(string expected, string? presented)
    {
        if (string.IsNullOrEmpty(expected) || presented is null)
        {
            return false;
        }

        // Hash both so the comparison time depends on neither length.
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(expected)), SHA256.HashData(Encoding.UTF8.GetBytes(presented)));
    }

    private static async Task<IResult> ReceiveAsync(HttpContext context, TelegramBot bot, TelegramUpdateStore store, OrchestratorSettings settings)
    {
        if (bot.Api is not { } api || settings.PublicUrl is null)
        {
            return Results.NotFound();
        }

        if (!SecretMatches(bot.WebhookSecret, context.Request.Headers[SecretHeader].FirstOrDefault()))
        {
            return Results.Unauthorized();
        }

        if (context.Request.ContentLength > MaxBytes)
        {
            return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
        }

        Update? update;
        try
        {
            // Read at most MaxBytes + 1: a chunked body gives no length up front.
            var buffer = new byte[MaxBytes + 1];
            var total = 0;
            int read;
            while (total < buffer.Length && (read = await context.Request.Body.ReadAsync(buffer.AsMemory(total), context.RequestAborted)) > 0)
            {
                total += read;
            }

            if (total > MaxBytes)
            {
                return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
            }

            update = JsonSerializer.Deserialize<Update>(buffer.AsSpan(0, total), JsonBotAPI.Options);
        }
        catch (JsonException)
        {
            return Results.BadRequest();
        }

        if (update is null)
        {
            return Results.BadRequest();
        }

        await store.StoreAsync(api.BotId, [update], advanceOffset: false, context.RequestAborted);
        return Results.Ok();
    }
}

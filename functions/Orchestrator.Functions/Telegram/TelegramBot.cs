using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Telegram;

namespace Orchestrator.Functions.Telegram;

/// <summary>
/// The host-wide bot (<c>ORCH_TELEGRAM_BOT_TOKEN</c>, <c>ORCH_TELEGRAM_API_URL</c>): its <see cref="TelegramApi"/>, the
/// webhook secret derived from the token, and the chats it lost access to.
/// </summary>
public sealed class TelegramBot
{
    /// <summary>The named <see cref="HttpClient"/> of the Bot API (outbound policy handler, no request logging).</summary>
    public const string HttpClientName = "telegram";

    /// <summary>How long sending to a chat stops after the bot lost access to it (then one call tries again).</summary>
    public static readonly TimeSpan LostChatPause = TimeSpan.FromMinutes(10);

    private readonly NpgsqlDataSource _db;
    private readonly TimeProvider _clock;
    private readonly string? _token;

    /// <summary>Creates the bot from the settings.</summary>
    /// <param name="settings">Host settings.</param>
    /// <param name="http">Client factory (<see cref="HttpClientName"/>).</param>
    /// <param name="db">The orchestrator database.</param>
    /// <param name="clock">Now.</param>
    public TelegramBot(OrchestratorSettings settings, IHttpClientFactory http, NpgsqlDataSource db, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(http);
        _db = db;
        _clock = clock;
        _token = settings.TelegramBotToken;
        ApiUrl = settings.TelegramApiUrl;
        if (_token is not null)
        {
            Api = new TelegramApi(_token, settings.TelegramApiUrl, http.CreateClient(HttpClientName));
        }
    }

    /// <summary>The Bot API, or <c>null</c> when no bot is configured (Telegram is off).</summary>
    public TelegramApi? Api { get; }

    /// <summary>The Bot API root in use.</summary>
    public Uri ApiUrl { get; }

    /// <summary>
    /// The <c>secret_token</c> of our webhook: base64url of HMAC-SHA256(token, "orchestrator telegram webhook"), so every
    /// replica derives the same value and no second secret needs storing; empty when no bot is configured.
    /// </summary>
    public string WebhookSecret => _token is null
        ? ""
        : Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(_token), "orchestrator telegram webhook"u8))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Whether the bot lost access to <paramref name="chatId"/> recently (sending to it waits until the pause passed).</summary>
    /// <param name="chatId">The chat.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The reason, or <c>null</c> when the chat may be written to.</returns>
    public async Task<string?> LostAsync(long chatId, CancellationToken cancellationToken)
    {
        await using var command = _db.CreateCommand("SELECT reason FROM telegram_chats WHERE chat_id = @chat AND lost_until > @now");
        command.Parameters.AddWithValue("chat", chatId);
        command.Parameters.AddWithValue("now", _clock.GetUtcNow());
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    /// <summary>The chat's access state for the settings screen: when and why the bot lost it, or <c>null</c>.</summary>
    /// <param name="chatId">The chat.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Time and reason, or <c>null</c>.</returns>
    public async Task<(DateTimeOffset At, string Reason)?> LostStateAsync(long chatId, CancellationToken cancellationToken)
    {
        await using var command = _db.CreateCommand("SELECT lost_at, reason FROM telegram_chats WHERE chat_id = @chat AND lost_at IS NOT NULL");
        command.Parameters.AddWithValue("chat", chatId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1)) : null;
    }

    /// <summary>Records that the bot lost access to the chat; <c>true</c> when this is news (it was not lost before).</summary>
    /// <param name="chatId">The chat.</param>
    /// <param name="reason">Telegram's description.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Whether the chat was not marked lost before.</returns>
    public async Task<bool> MarkLostAsync(long chatId, string reason, CancellationToken cancellationToken)
    {
        var wasLost = await LostStateAsync(chatId, cancellationToken) is not null;
        var now = _clock.GetUtcNow();
        await using var command = _db.CreateCommand("""
            INSERT INTO telegram_chats AS c (chat_id, lost_at, lost_until, reason, updated_at) VALUES (@chat, @now, @until, @reason, @now)
            ON CONFLICT (chat_id) DO UPDATE SET lost_until = EXCLUDED.lost_until, reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at
            """);
        command.Parameters.AddWithValue("chat", chatId);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("until", now + LostChatPause);
        command.Parameters.AddWithValue("reason", reason.Length > 300 ? reason[..300] : reason);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return !wasLost;
    }

    /// <summary>Forgets a lost-access record (a call to the chat worked again, or its settings were saved).</summary>
    /// <param name="chatId">The chat.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    public async Task ClearLostAsync(long chatId, CancellationToken cancellationToken)
    {
        await using var command = _db.CreateCommand("DELETE FROM telegram_chats WHERE chat_id = @chat");
        command.Parameters.AddWithValue("chat", chatId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>
/// The Bot API client's only log lines: method name, status and duration (the URL carries the token, so it is never
/// logged; the default <see cref="IHttpClientFactory"/> loggers are removed from this client).
/// </summary>
/// <param name="logger">Where to log.</param>
public sealed class TelegramLoggingHandler(ILogger<TelegramLoggingHandler> logger) : DelegatingHandler
{
    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var method = request.RequestUri is { } uri ? uri.Segments[^1].Trim('/') : "?";
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await base.SendAsync(request, cancellationToken);
            logger.LogDebug("Telegram {Method} answered {Status} in {Ms} ms", method, (int)response.StatusCode, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return response;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            logger.LogDebug("Telegram {Method} got no answer after {Ms} ms ({Error})", method, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, ex.GetType().Name);
            throw;
        }
    }
}

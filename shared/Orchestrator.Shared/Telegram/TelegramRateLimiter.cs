using Npgsql;

namespace Orchestrator.Shared.Telegram;

/// <summary>
/// Send slots shared by every replica (table <c>telegram_rate</c>): at most one message or edit per
/// <see cref="ChatInterval"/> in a chat (Telegram: about one per second per chat) and one per <see cref="BotInterval"/>
/// for the bot (30 per second), https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this. A slot
/// is taken with one conditional upsert, so two hosts never take the same one; a 429's <c>retry_after</c> pushes the
/// chat's next slot out for everybody.
/// </summary>
/// <param name="db">The orchestrator database.</param>
/// <param name="clock">Now.</param>
/// <param name="chatInterval">Least time between two calls in one chat.</param>
public sealed class TelegramRateLimiter(NpgsqlDataSource db, TimeProvider clock, TimeSpan chatInterval)
{
    /// <summary>Least time between two calls of the bot (30 per second).</summary>
    public static readonly TimeSpan BotInterval = TimeSpan.FromMilliseconds(34);

    /// <summary>Least time between two calls in one chat.</summary>
    public TimeSpan ChatInterval => chatInterval;

    /// <summary>
    /// Takes the next slot for a call to <paramref name="chatId"/> when it is free now. The bot-wide slot is waited for
    /// here (it is never more than a few tens of milliseconds away).
    /// </summary>
    /// <param name="botId">The bot.</param>
    /// <param name="chatId">The chat.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>null</c> when the slot is taken (call now), else how long until the chat's next slot.</returns>
    public async Task<TimeSpan?> TryTakeAsync(long botId, long chatId, CancellationToken cancellationToken)
    {
        if (await TryTakeKeyAsync($"chat:{botId}:{chatId}", chatInterval, cancellationToken) is { } wait)
        {
            return wait;
        }

        for (var i = 0; i < 50; i++)
        {
            if (await TryTakeKeyAsync($"bot:{botId}", BotInterval, cancellationToken) is not { } botWait)
            {
                return null;
            }

            await Task.Delay(botWait < BotInterval ? botWait : BotInterval, clock, cancellationToken);
        }

        return BotInterval;
    }

    /// <summary>After a 429: no call to the chat (nor, when <paramref name="wholeBot"/>, of the bot) before <paramref name="retryAfter"/> passed.</summary>
    /// <param name="botId">The bot.</param>
    /// <param name="chatId">The chat.</param>
    /// <param name="retryAfter">Telegram's <c>retry_after</c>.</param>
    /// <param name="wholeBot">Whether the limit was the bot's (no chat in the call).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    public async Task BackOffAsync(long botId, long? chatId, TimeSpan retryAfter, bool wholeBot, CancellationToken cancellationToken)
    {
        var until = clock.GetUtcNow() + retryAfter;
        foreach (var key in new[] { chatId is { } c ? $"chat:{botId}:{c}" : null, wholeBot ? $"bot:{botId}" : null }.OfType<string>())
        {
            await using var command = db.CreateCommand("""
                INSERT INTO telegram_rate (key, next_at) VALUES (@key, @until)
                ON CONFLICT (key) DO UPDATE SET next_at = GREATEST(telegram_rate.next_at, EXCLUDED.next_at)
                """);
            command.Parameters.AddWithValue("key", key);
            command.Parameters.AddWithValue("until", until);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private async Task<TimeSpan?> TryTakeKeyAsync(string key, TimeSpan interval, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var command = db.CreateCommand("""
            WITH taken AS (
                INSERT INTO telegram_rate (key, next_at) VALUES (@key, @next)
                ON CONFLICT (key) DO UPDATE SET next_at = EXCLUDED.next_at WHERE telegram_rate.next_at <= @now
                RETURNING next_at)
            SELECT (SELECT count(*) FROM taken), (SELECT next_at FROM telegram_rate WHERE key = @key)
            """);
        command.Parameters.AddWithValue("key", key);
        command.Parameters.AddWithValue("next", now + interval);
        command.Parameters.AddWithValue("now", now);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        if (reader.GetInt64(0) == 1)
        {
            return null;
        }

        // The CTE's snapshot shows the row as it was before this statement: that is the slot somebody else holds.
        var next = reader.IsDBNull(1) ? now : reader.GetFieldValue<DateTimeOffset>(1);
        var wait = next - now;
        return wait > TimeSpan.Zero ? wait : TimeSpan.FromMilliseconds(10);
    }
}

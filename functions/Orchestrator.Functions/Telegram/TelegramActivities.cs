using Npgsql;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Notifications;
using Orchestrator.Shared.Telegram;
using Telegram.Bot.Types;

namespace Orchestrator.Functions.Telegram;

/// <summary>Names of the Telegram system activities (the notification ones are in <see cref="NotificationActivities"/>).</summary>
public static class TelegramActivities
{
    /// <summary>Handles one received update (<see cref="TelegramInteractions.HandleAsync"/>), keyed <c>tg-update:&lt;bot&gt;:&lt;update_id&gt;</c>.</summary>
    public const string Update = "TelegramUpdate";

    /// <summary>Moves the tracker item after an approval decided in the chat (<see cref="TelegramInteractions.FollowUpAsync"/>).</summary>
    public const string ApprovalFollowUp = "TelegramApprovalFollowUp";

    /// <summary>Handling an update: a few quick retries (Telegram answered 5xx, the tracker hiccupped), then it is dropped.</summary>
    public static Orchestrator.Orchestrations.Abstractions.RetryPolicy UpdateRetry { get; } = new(5, TimeSpan.FromSeconds(2), 2.0, TimeSpan.FromMinutes(1));
}

/// <summary><see cref="NotificationActivities.NotifyTask"/>: the live message.</summary>
/// <param name="notifier">The chat notifier.</param>
public sealed class NotifyTaskActivity(IChatNotifier notifier) : Activity<NotifyTaskInput>
{
    /// <inheritdoc />
    public override string Name => NotificationActivities.NotifyTask;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, NotifyTaskInput input, CancellationToken cancellationToken)
    {
        await notifier.SyncTaskAsync(input.TaskId, cancellationToken);
        return null;
    }
}

/// <summary><see cref="NotificationActivities.NotifyAlert"/>: one alert.</summary>
/// <param name="notifier">The chat notifier.</param>
public sealed class NotifyAlertActivity(IChatNotifier notifier) : Activity<NotifyAlertInput>
{
    /// <inheritdoc />
    public override string Name => NotificationActivities.NotifyAlert;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, NotifyAlertInput input, CancellationToken cancellationToken)
    {
        await notifier.SendAlertAsync(input.TaskId, input.AlertKey, cancellationToken);
        return null;
    }
}

/// <summary><see cref="NotificationActivities.NotifyApprovalDecided"/>: the approval message shows the outcome.</summary>
/// <param name="notifier">The chat notifier.</param>
public sealed class NotifyApprovalDecidedActivity(IChatNotifier notifier) : Activity<NotifyApprovalDecidedInput>
{
    /// <inheritdoc />
    public override string Name => NotificationActivities.NotifyApprovalDecided;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, NotifyApprovalDecidedInput input, CancellationToken cancellationToken)
    {
        await notifier.ApprovalDecidedAsync(input, cancellationToken);
        return null;
    }
}

/// <summary><see cref="TelegramActivities.Update"/>: one update from the chat.</summary>
/// <param name="interactions">The handler.</param>
public sealed class TelegramUpdateActivity(TelegramInteractions interactions) : Activity<TelegramInbound>
{
    /// <inheritdoc />
    public override string Name => TelegramActivities.Update;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, TelegramInbound input, CancellationToken cancellationToken)
    {
        await interactions.HandleAsync(input, cancellationToken);
        return null;
    }
}

/// <summary><see cref="TelegramActivities.ApprovalFollowUp"/>: the tracker follows a decision made in the chat.</summary>
/// <param name="interactions">The handler.</param>
public sealed class TelegramApprovalFollowUpActivity(TelegramInteractions interactions) : Activity<ApprovalFollowUpInput>
{
    /// <inheritdoc />
    public override string Name => TelegramActivities.ApprovalFollowUp;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, ApprovalFollowUpInput input, CancellationToken cancellationToken)
    {
        await interactions.FollowUpAsync(input, cancellationToken);
        return null;
    }
}

/// <summary>
/// Stores received updates exactly once: per update a <c>telegram_updates</c> row (unique per bot and <c>update_id</c>) and
/// the keyed work item that handles it, in one transaction with the bot's new <c>getUpdates</c> offset. A poller that
/// crashes after storing but before confirming gets the updates again and stores nothing new.
/// </summary>
/// <param name="db">The orchestrator database.</param>
/// <param name="signal">Wakes the workers.</param>
/// <param name="clock">Now.</param>
public sealed class TelegramUpdateStore(NpgsqlDataSource db, WorkSignal signal, TimeProvider clock)
{
    /// <summary>Stores updates; returns how many were new.</summary>
    /// <param name="botId">The bot.</param>
    /// <param name="updates">Updates as received.</param>
    /// <param name="advanceOffset">Whether to move the bot's <c>poll_offset</c> past them (long polling).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>New updates stored.</returns>
    public async Task<int> StoreAsync(long botId, IReadOnlyList<Update> updates, bool advanceOffset, CancellationToken cancellationToken)
    {
        if (updates.Count == 0)
        {
            return 0;
        }

        var now = clock.GetUtcNow();
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var fresh = 0;
        foreach (var update in updates)
        {
            await using var batch = new NpgsqlBatch(connection, tx);
            var seen = new NpgsqlBatchCommand("INSERT INTO telegram_updates (bot_id, update_id, received_at) VALUES (@bot, @update, @now) ON CONFLICT DO NOTHING");
            seen.Parameters.AddWithValue("bot", botId);
            seen.Parameters.AddWithValue("update", (long)update.Id);
            seen.Parameters.AddWithValue("now", now);
            batch.BatchCommands.Add(seen);
            await batch.ExecuteNonQueryAsync(cancellationToken);
            if (seen.RecordsAffected == 0)
            {
                continue; // seen before: handled (or being handled) already
            }

            fresh++;
            if (TelegramInbound.From(botId, update) is { } inbound)
            {
                await using var work = new NpgsqlBatch(connection, tx);
                work.BatchCommands.Add(DurableEngine.SystemActivityInsert(TelegramActivities.Update, inbound, $"tg-update:{botId}:{update.Id}", TelegramActivities.UpdateRetry, now));
                await work.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        if (advanceOffset)
        {
            await using var offset = new NpgsqlCommand("""
                INSERT INTO telegram_bots (bot_id, poll_offset, updated_at) VALUES (@bot, @offset, @now)
                ON CONFLICT (bot_id) DO UPDATE SET poll_offset = GREATEST(telegram_bots.poll_offset, EXCLUDED.poll_offset), updated_at = EXCLUDED.updated_at
                """, connection, tx);
            offset.Parameters.AddWithValue("bot", botId);
            offset.Parameters.AddWithValue("offset", updates.Max(u => (long)u.Id) + 1);
            offset.Parameters.AddWithValue("now", now);
            await offset.ExecuteNonQueryAsync(cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        if (fresh > 0)
        {
            signal.Notify();
        }

        return fresh;
    }

    /// <summary>The bot's stored <c>getUpdates</c> offset (0 before the first poll).</summary>
    /// <param name="botId">The bot.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The offset.</returns>
    public async Task<long> OffsetAsync(long botId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT poll_offset FROM telegram_bots WHERE bot_id = @bot");
        command.Parameters.AddWithValue("bot", botId);
        return await command.ExecuteScalarAsync(cancellationToken) is long offset ? offset : 0;
    }
}

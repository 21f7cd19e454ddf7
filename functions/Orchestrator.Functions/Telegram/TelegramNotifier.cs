using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Notifications;
using Orchestrator.Shared.Projects;
using Orchestrator.Shared.Telegram;

namespace Orchestrator.Functions.Telegram;

/// <summary>
/// <see cref="IChatNotifier"/> for Telegram: the one live message per task (sent silently, then edited in place), alerts
/// (separate, notifying) and the approval request's outcome. State lives in PostgreSQL (migration 0010), so every call is
/// idempotent and safe on any replica:
/// <list type="bullet">
/// <item>at most one live message per task: a send is marked <c>sending</c> (committed) before the call, and a send whose
/// outcome is unknown (timeout, crash mid-call) is never repeated (<c>uncertain</c>); a send Telegram answered with an
/// error certainly did nothing and is retried;</item>
/// <item>an edit renders the task as it is when it runs (so no transition is lost however the queue orders them), skips the
/// call when the text did not change, treats "message is not modified" as done and sends a new message when a person
/// deleted the old one;</item>
/// <item>one live-message update per task at a time (a session advisory lock); send slots per chat and bot shared by every
/// replica (<see cref="TelegramRateLimiter"/>); a 429's <c>retry_after</c> is honoured through the durable queue.</item>
/// </list>
/// </summary>
public sealed class TelegramNotifier(
    NpgsqlDataSource db,
    TelegramBot bot,
    TelegramRateLimiter rate,
    ProjectStore projects,
    TaskSnapshotLoader snapshots,
    TimeProvider clock,
    ILogger<TelegramNotifier> logger) : IChatNotifier
{
    private static readonly TimeSpan LockBusyDelay = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan ShortWait = TimeSpan.FromMilliseconds(250);

    /// <inheritdoc />
    public async Task SyncTaskAsync(string taskId, CancellationToken cancellationToken)
    {
        // Most steps of a project without a chat end here, after one indexed read and the cached project.
        if (bot.Api is not { } api
            || await ConfigAsync(await snapshots.ProjectSlugAsync(taskId, cancellationToken), cancellationToken) is not { } config
            || !config.Wants(NotificationKinds.Live)
            || await snapshots.LoadAsync(taskId, cancellationToken) is not { } loaded)
        {
            return;
        }

        var (snapshot, row) = loaded;

        await using var lease = await TryLockAsync("telegram-live:" + taskId, cancellationToken)
            ?? throw new ActivityDeferredException(LockBusyDelay, "another worker is updating this task's live message");
        var message = await LoadMessageAsync(taskId, cancellationToken);
        if (message?.Status == "uncertain" || await bot.LostAsync(config.ChatId, cancellationToken) is not null)
        {
            return;
        }

        // Render again under the lock: this is the newest state, whatever order the queue ran the triggers in.
        if (await snapshots.LoadAsync(taskId, cancellationToken) is { } fresh)
        {
            snapshot = fresh.Snapshot;
        }

        var html = TelegramMessages.LiveMessage(snapshot);
        var hash = Hash(html);
        var sameChat = message is not null && message.ChatId == config.ChatId && message.ThreadId == config.ThreadId;
        if (sameChat && message!.Status == "sent" && message.TextHash == hash)
        {
            return; // nothing changed: no call
        }

        await TakeSlotAsync(api, config.ChatId, cancellationToken);
        if (sameChat && message!.Status == "sent" && message.MessageId is { } messageId)
        {
            EditOutcome outcome;
            try
            {
                outcome = await api.EditMessageTextAsync(config.ChatId, messageId, html, null, cancellationToken);
            }
            catch (TelegramApiException e)
            {
                await FailedAsync(api, e, config, row.ProjectSlug, taskId, cancellationToken);
                return;
            }

            if (outcome != EditOutcome.NotFound)
            {
                await SetMessageAsync(taskId, "sent", messageId, hash, edit: true, cancellationToken);
                return;
            }

            logger.LogInformation("The live message of {TaskId} was deleted in the chat; sending a new one", taskId);
        }
        else if (message?.Status == "sending")
        {
            // An earlier attempt began a send and never recorded its answer (it crashed or lost its lease mid-call): the
            // message may exist. Sending again could make a second one, so this task's live message stops here.
            await SetMessageAsync(taskId, "uncertain", null, null, edit: false, cancellationToken);
            logger.LogWarning("The live message of {TaskId} may have been sent without its id being recorded; it is not sent again", taskId);
            return;
        }

        await BeginSendAsync(taskId, row.ProjectSlug, config, cancellationToken);
        try
        {
            var id = await api.SendMessageAsync(config.ChatId, config.ThreadId, html, silent: true, null, null, false, cancellationToken);
            await SetMessageAsync(taskId, "sent", id, hash, edit: false, cancellationToken);
        }
        catch (TelegramApiException e) when (!e.NothingHappened)
        {
            await SetMessageAsync(taskId, "uncertain", null, null, edit: false, cancellationToken);
            logger.LogWarning("Sending the live message of {TaskId} ended without an answer ({Error}); it is not sent again, so there is never a second one", taskId, e.Description);
        }
        catch (TelegramApiException e)
        {
            await SetMessageAsync(taskId, "new", null, null, edit: false, cancellationToken);
            await FailedAsync(api, e, config, row.ProjectSlug, taskId, cancellationToken);
        }
    }

    /// <inheritdoc />
    public async Task SendAlertAsync(string taskId, string alertKey, CancellationToken cancellationToken)
    {
        if (bot.Api is not { } api || await LoadAlertAsync(taskId, alertKey, cancellationToken) is not { } alert)
        {
            return;
        }

        if (alert.Status is "sent" or "skipped" or "uncertain")
        {
            return;
        }

        if (alert.Status == "sending")
        {
            await SetAlertAsync(taskId, alertKey, "uncertain", null, null, cancellationToken);
            logger.LogWarning("Alert {Key} of {TaskId} may have been sent without its id being recorded; it is not sent again", alertKey, taskId);
            return;
        }

        if (await snapshots.LoadAsync(taskId, cancellationToken) is not { } loaded
            || await ConfigAsync(loaded.Row.ProjectSlug, cancellationToken) is not { } config
            || !config.Wants(alert.Request.Kind)
            || await bot.LostAsync(config.ChatId, cancellationToken) is not null)
        {
            await SetAlertAsync(taskId, alertKey, "skipped", null, null, cancellationToken);
            return;
        }

        string html;
        IReadOnlyList<IReadOnlyList<TelegramButton>>? buttons = null;
        if (alert.Request.Kind == NotificationKinds.Approval)
        {
            var approval = await TelegramApprovals.FindAsync(db, TaskPipelineOrchestration.RolePipelineIdFor(taskId), alert.Request.Execution ?? -1, cancellationToken);
            if (approval is null || approval.Status is "approved" or "rejected" or "closed")
            {
                await SetAlertAsync(taskId, alertKey, "skipped", null, null, cancellationToken); // decided before we could ask
                return;
            }

            html = TelegramMessages.Approval(alert.Request, loaded.Snapshot, approval.View);
            buttons = TelegramMessages.ApprovalButtons(approval.Id);
        }
        else
        {
            html = TelegramMessages.Alert(alert.Request, loaded.Snapshot);
        }

        await TakeSlotAsync(api, config.ChatId, cancellationToken);
        if (!await ClaimAlertAsync(taskId, alertKey, config.ChatId, cancellationToken))
        {
            return; // another worker has it
        }

        try
        {
            var id = await api.SendMessageAsync(config.ChatId, config.ThreadId, html, silent: false, buttons, null, false, cancellationToken);
            await SetAlertAsync(taskId, alertKey, "sent", config.ChatId, id, cancellationToken);
            logger.LogInformation("Alert {Kind} ({Key}) of {TaskId} sent", alert.Request.Kind, alertKey, taskId);
        }
        catch (TelegramApiException e) when (!e.NothingHappened)
        {
            await SetAlertAsync(taskId, alertKey, "uncertain", null, null, cancellationToken);
            logger.LogWarning("Alert {Key} of {TaskId} ended without an answer ({Error}); it is not sent again", alertKey, taskId, e.Description);
        }
        catch (TelegramApiException e)
        {
            await SetAlertAsync(taskId, alertKey, "pending", null, null, cancellationToken);
            await FailedAsync(api, e, config, loaded.Row.ProjectSlug, taskId, cancellationToken);
        }
    }

    /// <inheritdoc />
    public async Task ApprovalDecidedAsync(NotifyApprovalDecidedInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        await RefreshApprovalAsync(input.TaskId, input.RolesId, input.Execution, keepButtons: false, cancellationToken);
    }

    /// <summary>
    /// Renders the approval message of a gate again (its status, who decided, the reason) and edits it; with
    /// <paramref name="keepButtons"/> the buttons stay (a rejection whose reason is being written).
    /// </summary>
    /// <param name="taskId">Task.</param>
    /// <param name="rolesId">Role pipeline instance.</param>
    /// <param name="execution">The gate's execution.</param>
    /// <param name="keepButtons">Whether the Approve / Reject buttons stay.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    public async Task RefreshApprovalAsync(string taskId, string rolesId, int execution, bool keepButtons, CancellationToken cancellationToken)
    {
        var key = $"approval:{execution}";
        if (bot.Api is not { } api
            || await LoadAlertAsync(taskId, key, cancellationToken) is not { Status: "sent", ChatId: { } chat, MessageId: { } messageId } alert
            || await TelegramApprovals.FindAsync(db, rolesId, execution, cancellationToken) is not { } approval
            || await snapshots.LoadAsync(taskId, cancellationToken) is not { } loaded)
        {
            return;
        }

        var html = TelegramMessages.Approval(alert.Request, loaded.Snapshot, approval.View);
        await TakeSlotAsync(api, chat, cancellationToken);
        try
        {
            await api.EditMessageTextAsync(chat, messageId, html, keepButtons ? TelegramMessages.ApprovalButtons(approval.Id) : null, cancellationToken);
        }
        catch (TelegramApiException e)
        {
            var config = await ConfigAsync(loaded.Row.ProjectSlug, cancellationToken) ?? new TelegramConfig { ChatId = chat };
            await FailedAsync(api, e, config, loaded.Row.ProjectSlug, taskId, cancellationToken);
        }
    }

    /// <summary>Waits for a send slot in the chat: briefly here, longer through the queue (no worker waits idle).</summary>
    private async Task TakeSlotAsync(TelegramApi api, long chatId, CancellationToken cancellationToken)
    {
        for (var i = 0; i < 3; i++)
        {
            if (await rate.TryTakeAsync(api.BotId, chatId, cancellationToken) is not { } wait)
            {
                return;
            }

            if (wait > ShortWait)
            {
                throw new ActivityDeferredException(wait, "waiting for a send slot in the chat (Telegram's rate limits)");
            }

            await Task.Delay(wait, clock, cancellationToken);
        }

        throw new ActivityDeferredException(rate.ChatInterval, "waiting for a send slot in the chat (Telegram's rate limits)");
    }

    /// <summary>What a failed call means: retry later (429, 5xx, no connection), stop writing to the chat (access lost), or give up.</summary>
    private async Task FailedAsync(TelegramApi api, TelegramApiException e, TelegramConfig config, string? projectSlug, string taskId, CancellationToken cancellationToken)
    {
        switch (e.Failure)
        {
            case TelegramFailure.RateLimited:
                var wait = e.RetryAfter ?? TimeSpan.FromSeconds(5);
                await rate.BackOffAsync(api.BotId, config.ChatId, wait, wholeBot: false, cancellationToken);
                throw new RetryableActivityException($"Telegram {e.Method}: too many requests; retrying after {wait.TotalSeconds:0} s", wait);
            case TelegramFailure.ChatLost or TelegramFailure.TopicLost:
                await AccessLostAsync(api, e, config, projectSlug, cancellationToken);
                return;
            case TelegramFailure.Unauthorized:
                throw new PermanentActivityException("Telegram refused the bot token (401): check ORCH_TELEGRAM_BOT_TOKEN.");
            case TelegramFailure.BadRequest or TelegramFailure.Conflict:
                throw new PermanentActivityException($"{e.Message} (task {taskId})");
            default:
                throw new RetryableActivityException(e.Message);
        }
    }

    /// <summary>
    /// The bot cannot write to the chat (removed, blocked) or to its topic (closed, deleted): sending to it pauses, the
    /// settings screen shows why, and — when only the topic is gone — one alert says so in the chat itself.
    /// </summary>
    private async Task AccessLostAsync(TelegramApi api, TelegramApiException e, TelegramConfig config, string? projectSlug, CancellationToken cancellationToken)
    {
        var reason = e.MigrateToChatId is { } moved ? $"{e.Description} — the group is now chat {moved}: update the project's chat id" : e.Description;
        var news = await bot.MarkLostAsync(config.ChatId, reason, cancellationToken);
        if (!news)
        {
            return;
        }

        logger.LogWarning("The Telegram bot lost access to chat {ChatId} of project {Project}: {Reason}", config.ChatId, projectSlug, reason);
        if (e.Failure == TelegramFailure.TopicLost && config.ThreadId is { } topic && config.Wants(NotificationKinds.AccessLost))
        {
            try
            {
                await api.SendMessageAsync(config.ChatId, null,
                    $"⚠️ <b>The bot lost access to topic {topic}</b> of project <b>{TelegramMessages.Escape(projectSlug)}</b>: {TelegramMessages.Escape(e.Description)}. " +
                    "Reopen the topic, or change the topic in the project's settings.",
                    silent: false, null, null, false, cancellationToken);
            }
            catch (TelegramApiException again)
            {
                logger.LogWarning("Could not tell chat {ChatId} that its topic is gone: {Error}", config.ChatId, again.Description);
            }
        }
    }

    private async Task<TelegramConfig?> ConfigAsync(string? projectSlug, CancellationToken cancellationToken) =>
        projectSlug is null ? null : (await projects.GetAsync(projectSlug, cancellationToken))?.Definition.Telegram;

    /// <summary>A session advisory lock on its own connection, held until the lease is disposed; <c>null</c> when another holds it.</summary>
    private async Task<AdvisoryLease?> TryLockAsync(string name, CancellationToken cancellationToken)
    {
        var connection = await db.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtextextended(current_schema() || ':' || @name, 0))", connection);
            command.Parameters.AddWithValue("name", name);
            if (await command.ExecuteScalarAsync(cancellationToken) is true)
            {
                return new AdvisoryLease(connection, name);
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        await connection.DisposeAsync();
        return null;
    }

    private async Task<LiveMessageRow?> LoadMessageAsync(string taskId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT status, chat_id, thread_id, message_id, text_hash FROM telegram_messages WHERE task_id = @task");
        command.Parameters.AddWithValue("task", taskId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new LiveMessageRow(reader.GetString(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetInt32(2),
                reader.IsDBNull(3) ? null : reader.GetInt32(3), reader.IsDBNull(4) ? null : reader.GetString(4))
            : null;
    }

    /// <summary>Marks a send as begun (committed before the call), for the chat and topic configured now.</summary>
    private async Task BeginSendAsync(string taskId, string? projectSlug, TelegramConfig config, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            INSERT INTO telegram_messages (task_id, project_slug, chat_id, thread_id, status, created_at, updated_at)
            VALUES (@task, @project, @chat, @thread, 'sending', @now, @now)
            ON CONFLICT (task_id) DO UPDATE SET status = 'sending', chat_id = EXCLUDED.chat_id, thread_id = EXCLUDED.thread_id,
                message_id = NULL, text_hash = NULL, updated_at = EXCLUDED.updated_at
            """);
        command.Parameters.AddWithValue("task", taskId);
        command.Parameters.Add(new NpgsqlParameter("project", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)projectSlug ?? DBNull.Value });
        command.Parameters.AddWithValue("chat", config.ChatId);
        command.Parameters.Add(new NpgsqlParameter("thread", NpgsqlTypes.NpgsqlDbType.Integer) { Value = (object?)config.ThreadId ?? DBNull.Value });
        command.Parameters.AddWithValue("now", clock.GetUtcNow());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task SetMessageAsync(string taskId, string status, int? messageId, string? hash, bool edit, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"""
            UPDATE telegram_messages SET status = @status, updated_at = @now,
                message_id = {(status == "sent" ? "@message" : "message_id")}, text_hash = {(hash is null ? "text_hash" : "@hash")}
                {(edit ? ", edits = edits + 1" : "")}
            WHERE task_id = @task
            """);
        command.Parameters.AddWithValue("task", taskId);
        command.Parameters.AddWithValue("status", status);
        command.Parameters.AddWithValue("now", clock.GetUtcNow());
        command.Parameters.Add(new NpgsqlParameter("message", NpgsqlTypes.NpgsqlDbType.Integer) { Value = (object?)messageId ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("hash", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)hash ?? DBNull.Value });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<AlertRow?> LoadAlertAsync(string taskId, string key, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT status, payload::text, chat_id, message_id FROM telegram_alerts WHERE task_id = @task AND alert_key = @key");
        command.Parameters.AddWithValue("task", taskId);
        command.Parameters.AddWithValue("key", key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new AlertRow(reader.GetString(0), JsonSerializer.Deserialize<AlertRequest>(reader.GetString(1), EngineJson.Options)!,
                reader.IsDBNull(2) ? null : reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetInt32(3))
            : null;
    }

    /// <summary>pending → sending (committed before the call); <c>false</c> when the row is not pending any more.</summary>
    private async Task<bool> ClaimAlertAsync(string taskId, string key, long chatId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("UPDATE telegram_alerts SET status = 'sending', chat_id = @chat WHERE task_id = @task AND alert_key = @key AND status = 'pending'");
        command.Parameters.AddWithValue("task", taskId);
        command.Parameters.AddWithValue("key", key);
        command.Parameters.AddWithValue("chat", chatId);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private async Task SetAlertAsync(string taskId, string key, string status, long? chatId, int? messageId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("""
            UPDATE telegram_alerts SET status = @status, chat_id = COALESCE(@chat, chat_id), message_id = COALESCE(@message, message_id),
                sent_at = CASE WHEN @status = 'sent' THEN @now ELSE sent_at END
            WHERE task_id = @task AND alert_key = @key
            """);
        command.Parameters.AddWithValue("task", taskId);
        command.Parameters.AddWithValue("key", key);
        command.Parameters.AddWithValue("status", status);
        command.Parameters.Add(new NpgsqlParameter("chat", NpgsqlTypes.NpgsqlDbType.Bigint) { Value = (object?)chatId ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("message", NpgsqlTypes.NpgsqlDbType.Integer) { Value = (object?)messageId ?? DBNull.Value });
        command.Parameters.AddWithValue("now", clock.GetUtcNow());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private sealed record LiveMessageRow(string Status, long ChatId, int? ThreadId, int? MessageId, string? TextHash);

    private sealed record AlertRow(string Status, AlertRequest Request, long? ChatId, int? MessageId);

    /// <summary>Holds a session advisory lock; releases it and returns the connection on dispose.</summary>
    private sealed class AdvisoryLease(NpgsqlConnection connection, string name) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtextextended(current_schema() || ':' || @name, 0))", connection);
                command.Parameters.AddWithValue("name", name);
                await command.ExecuteScalarAsync();
            }
            catch (NpgsqlException)
            {
                // The connection broke: PostgreSQL released the lock with the session.
            }
            finally
            {
                await connection.DisposeAsync();
            }
        }
    }
}

using Npgsql;
using Orchestrator.Shared.Telegram;

namespace Orchestrator.Functions.Telegram;

/// <summary>One approval request (<c>telegram_approvals</c>).</summary>
/// <param name="Id">Its id (the buttons' <c>callback_data</c>).</param>
/// <param name="TaskId">Task instance id.</param>
/// <param name="RolesId">Role pipeline instance.</param>
/// <param name="Execution">The gate's execution.</param>
/// <param name="Stage">The gated stage.</param>
/// <param name="Status"><c>pending</c>, <c>awaiting_reason</c>, <c>approved</c>, <c>rejected</c>, <c>closed</c>.</param>
/// <param name="DecidedById">Telegram user who pressed, or <c>null</c>.</param>
/// <param name="DecidedByName">Their name, or <c>null</c>.</param>
/// <param name="DecidedVia"><c>telegram</c> or <c>tracker</c>, or <c>null</c>.</param>
/// <param name="Reason">Rejection reason, or <c>null</c>.</param>
/// <param name="PromptChatId">Chat of the "reply with the reason" prompt, or <c>null</c>.</param>
/// <param name="PromptMessageId">The prompt message, or <c>null</c>.</param>
public sealed record ApprovalRow(
    long Id,
    string TaskId,
    string RolesId,
    int Execution,
    string Stage,
    string Status,
    long? DecidedById,
    string? DecidedByName,
    string? DecidedVia,
    string? Reason,
    long? PromptChatId,
    int? PromptMessageId)
{
    /// <summary>Whether the gate is decided (no button press changes anything any more).</summary>
    public bool IsDecided => Status is "approved" or "rejected" or "closed";

    /// <summary>What its message shows.</summary>
    public ApprovalView View => new(Status, DecidedVia, DecidedByName, Reason);
}

/// <summary>Reads and decides approval requests. Every decision is one conditional UPDATE: whichever side comes first wins.</summary>
public static class TelegramApprovals
{
    private const string Columns = "id, task_id, roles_id, execution, stage, status, decided_by_id, decided_by_name, decided_via, reason, prompt_chat_id, prompt_message_id";

    /// <summary>The request of a gate, or <c>null</c>.</summary>
    /// <param name="db">Database.</param>
    /// <param name="rolesId">Role pipeline instance.</param>
    /// <param name="execution">The gate's execution.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The row.</returns>
    public static Task<ApprovalRow?> FindAsync(NpgsqlDataSource db, string rolesId, int execution, CancellationToken cancellationToken) =>
        QueryAsync(db, $"SELECT {Columns} FROM telegram_approvals WHERE roles_id = @roles AND execution = @execution",
            p => { p.AddWithValue("roles", rolesId); p.AddWithValue("execution", execution); }, cancellationToken);

    /// <summary>The request by id, or <c>null</c>.</summary>
    /// <param name="db">Database.</param>
    /// <param name="id">Id.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The row.</returns>
    public static Task<ApprovalRow?> FindAsync(NpgsqlDataSource db, long id, CancellationToken cancellationToken) =>
        QueryAsync(db, $"SELECT {Columns} FROM telegram_approvals WHERE id = @id", p => p.AddWithValue("id", id), cancellationToken);

    /// <summary>The request whose "reply with the reason" prompt is <paramref name="messageId"/> in <paramref name="chatId"/>, or <c>null</c>.</summary>
    /// <param name="db">Database.</param>
    /// <param name="chatId">Chat.</param>
    /// <param name="messageId">The prompt message.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The row.</returns>
    public static Task<ApprovalRow?> FindByPromptAsync(NpgsqlDataSource db, long chatId, int messageId, CancellationToken cancellationToken) =>
        QueryAsync(db, $"SELECT {Columns} FROM telegram_approvals WHERE prompt_chat_id = @chat AND prompt_message_id = @message",
            p => { p.AddWithValue("chat", chatId); p.AddWithValue("message", messageId); }, cancellationToken);

    /// <summary>Approves from the chat, if nobody decided yet; <c>true</c> when this call decided.</summary>
    /// <param name="db">Database.</param>
    /// <param name="id">Request.</param>
    /// <param name="userId">Who pressed.</param>
    /// <param name="userName">Their name.</param>
    /// <param name="now">When.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Whether this call decided.</returns>
    public static Task<bool> ApproveAsync(NpgsqlDataSource db, long id, long userId, string userName, DateTimeOffset now, CancellationToken cancellationToken) =>
        ExecuteAsync(db, """
            UPDATE telegram_approvals SET status = 'approved', decided_by_id = @user, decided_by_name = @name, decided_via = 'telegram',
                decided_at = @now, reason = NULL
            WHERE id = @id AND status IN ('pending', 'awaiting_reason')
            """, p => { p.AddWithValue("id", id); p.AddWithValue("user", userId); p.AddWithValue("name", userName); p.AddWithValue("now", now); }, cancellationToken);

    /// <summary>Starts a rejection (the presser is asked for the reason), if nobody decided or started one; <c>true</c> when this call did.</summary>
    /// <param name="db">Database.</param>
    /// <param name="id">Request.</param>
    /// <param name="userId">Who pressed.</param>
    /// <param name="userName">Their name.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Whether this call started it.</returns>
    public static Task<bool> BeginRejectAsync(NpgsqlDataSource db, long id, long userId, string userName, CancellationToken cancellationToken) =>
        ExecuteAsync(db, """
            UPDATE telegram_approvals SET status = 'awaiting_reason', decided_by_id = @user, decided_by_name = @name
            WHERE id = @id AND status = 'pending'
            """, p => { p.AddWithValue("id", id); p.AddWithValue("user", userId); p.AddWithValue("name", userName); }, cancellationToken);

    /// <summary>Stores the prompt message the rejection reason must reply to.</summary>
    /// <param name="db">Database.</param>
    /// <param name="id">Request.</param>
    /// <param name="chatId">Chat.</param>
    /// <param name="messageId">The prompt.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    public static Task SetPromptAsync(NpgsqlDataSource db, long id, long chatId, int messageId, CancellationToken cancellationToken) =>
        ExecuteAsync(db, "UPDATE telegram_approvals SET prompt_chat_id = @chat, prompt_message_id = @message WHERE id = @id",
            p => { p.AddWithValue("id", id); p.AddWithValue("chat", chatId); p.AddWithValue("message", messageId); }, cancellationToken);

    /// <summary>Completes a rejection with its reason, if it still waits for one from this user; <c>true</c> when this call decided.</summary>
    /// <param name="db">Database.</param>
    /// <param name="id">Request.</param>
    /// <param name="userId">Who replied (must be who pressed Reject).</param>
    /// <param name="reason">The reason.</param>
    /// <param name="now">When.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Whether this call decided.</returns>
    public static Task<bool> RejectAsync(NpgsqlDataSource db, long id, long userId, string reason, DateTimeOffset now, CancellationToken cancellationToken) =>
        ExecuteAsync(db, """
            UPDATE telegram_approvals SET status = 'rejected', reason = @reason, decided_via = 'telegram', decided_at = @now
            WHERE id = @id AND status = 'awaiting_reason' AND decided_by_id = @user
            """, p => { p.AddWithValue("id", id); p.AddWithValue("user", userId); p.AddWithValue("reason", reason); p.AddWithValue("now", now); }, cancellationToken);

    private static async Task<ApprovalRow?> QueryAsync(NpgsqlDataSource db, string sql, Action<NpgsqlParameterCollection> bind, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(sql);
        bind(command.Parameters);
        await using var r = await command.ExecuteReaderAsync(cancellationToken);
        if (!await r.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new ApprovalRow(
            r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetString(4), r.GetString(5),
            r.IsDBNull(6) ? null : r.GetInt64(6), r.IsDBNull(7) ? null : r.GetString(7), r.IsDBNull(8) ? null : r.GetString(8),
            r.IsDBNull(9) ? null : r.GetString(9), r.IsDBNull(10) ? null : r.GetInt64(10), r.IsDBNull(11) ? null : r.GetInt32(11));
    }

    private static async Task<bool> ExecuteAsync(NpgsqlDataSource db, string sql, Action<NpgsqlParameterCollection> bind, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(sql);
        bind(command.Parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }
}

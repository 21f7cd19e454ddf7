using System.Globalization;
using System.Net;
using System.Text;
using Npgsql;
using Orchestrator.Functions.Platforms;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Notifications;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.Projects;
using Orchestrator.Shared.ReadModel;
using Orchestrator.Shared.Telegram;

namespace Orchestrator.Functions.Telegram;

/// <summary>Input of <see cref="TelegramActivities.ApprovalFollowUp"/>: bring the tracker in line with a decision made in the chat.</summary>
/// <param name="ApprovalId">The decided request.</param>
public sealed record ApprovalFollowUpInput(long ApprovalId);

/// <summary>
/// What people do in a chat: press Approve / Reject (a <c>callback_query</c>), reply with a rejection reason, write
/// <c>/task</c> or <c>/status</c>. Runs inside the keyed <see cref="TelegramActivities.Update"/> activity, once per update;
/// every effect is idempotent (conditional updates, keyed events and work, the tracker item's external id), so a retry
/// after a failed answer repeats no decision and creates no second item. Presses from users who are not approvers are
/// answered "not allowed" and change nothing.
/// </summary>
public sealed class TelegramInteractions(
    NpgsqlDataSource db,
    TelegramBot bot,
    TelegramRateLimiter rate,
    ProjectStore projects,
    ReadModelQueries readModel,
    TaskSnapshotLoader snapshots,
    PlatformRegistry platforms,
    DurableEngine engine,
    TelegramNotifier notifier,
    Web.TaskCreation taskCreation,
    TimeProvider clock,
    ILogger<TelegramInteractions> logger)
{
    /// <summary>Handles one inbound update.</summary>
    /// <param name="inbound">The update's relevant part.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    /// <exception cref="ActivityDeferredException">No send slot in the chat yet (nothing was changed).</exception>
    /// <exception cref="RetryableActivityException">Telegram or the tracker failed for now.</exception>
    public async Task HandleAsync(TelegramInbound inbound, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inbound);
        if (bot.Api is not { } api)
        {
            return;
        }

        if (inbound.IsCallback)
        {
            await CallbackAsync(api, inbound, cancellationToken);
            return;
        }

        if (inbound.ReplyToMessageId is { } replyTo && await TelegramApprovals.FindByPromptAsync(db, inbound.ChatId, replyTo, cancellationToken) is { } waiting)
        {
            await ReasonAsync(api, inbound, waiting, cancellationToken);
            return;
        }

        if (ChatCommand.Parse(inbound.Text) is not { } command)
        {
            return; // people talking: not for us
        }

        var chatProjects = await ProjectsOfChatAsync(inbound.ChatId, inbound.ThreadId, cancellationToken);
        await SlotAsync(api, inbound.ChatId, cancellationToken);
        if (chatProjects.Count == 0)
        {
            await ReplyAsync(api, inbound, string.Create(CultureInfo.InvariantCulture,
                $"This chat is not connected to a project. Its chat id is <code>{inbound.ChatId}</code>{(inbound.ThreadId is { } t ? $" (topic <code>{t}</code>)" : "")}: enter it in the project's settings (Telegram)."), cancellationToken);
            return;
        }

        switch (command.Name)
        {
            case "task":
                await TaskAsync(api, inbound, command, chatProjects, cancellationToken);
                break;
            case "status":
                await StatusAsync(api, inbound, command, chatProjects, cancellationToken);
                break;
            default:
                await ReplyAsync(api, inbound, TelegramMessages.Help(), cancellationToken);
                break;
        }
    }

    /// <summary>Moves the tracker item to the gate's approved or rejected state (and comments who decided) after a decision in the chat.</summary>
    /// <param name="input">The decided request.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    public async Task FollowUpAsync(ApprovalFollowUpInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (await TelegramApprovals.FindAsync(db, input.ApprovalId, cancellationToken) is not { DecidedVia: "telegram", Status: "approved" or "rejected" } approval
            || await readModel.FindAsync(approval.TaskId, cancellationToken) is not { ProjectSlug: { } slug } row)
        {
            return;
        }

        var roles = await RolesStateAsync(approval.RolesId, cancellationToken);
        if (roles?.Definition.Approval is not { } gate)
        {
            return;
        }

        var tracker = (await platforms.ForProjectAsync(slug, cancellationToken)).Tracker;
        var approved = approval.Status == "approved";
        var state = approved ? gate.ApprovedState : gate.RejectedState;
        string? notMoved = null;
        try
        {
            await tracker.MoveToStateAsync(row.TrackerProjectId, row.TrackerItemId, state, cancellationToken);
        }
        catch (PermanentActivityException e)
        {
            // The decision stands (the pipeline has it); the item says why it was not moved, and a person moves it.
            notMoved = e.Message;
            logger.LogWarning("Task {TaskId}: the tracker item was not moved to '{State}' after the Telegram decision: {Reason}", approval.TaskId, state, e.Message);
        }

        var who = WebUtility.HtmlEncode(approval.DecidedByName ?? "someone");
        var html = (approved
            ? $"<p>Approved in Telegram by {who}.</p>"
            : $"<p>Rejected in Telegram by {who}: {WebUtility.HtmlEncode(approval.Reason ?? "")}</p>")
            + (notMoved is null ? "" : $"<p>Not moved to {WebUtility.HtmlEncode(state)}: {WebUtility.HtmlEncode(notMoved)}</p>");
        await tracker.EnsureCommentAsync(row.TrackerProjectId, row.TrackerItemId,
            string.Create(CultureInfo.InvariantCulture, $"{approval.TaskId}:telegram-approval:{approval.Id}"), html, cancellationToken);
    }

    private async Task CallbackAsync(TelegramApi api, TelegramInbound u, CancellationToken cancellationToken)
    {
        var parts = (u.CallbackData ?? "").Split(':');
        if (parts is not ["ap", var idText, "a" or "r"] || !long.TryParse(idText, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            await AnswerAsync(api, u, "", alert: false, cancellationToken);
            return;
        }

        var approval = await TelegramApprovals.FindAsync(db, id, cancellationToken);
        var config = approval is null ? null : await ConfigOfTaskAsync(approval.TaskId, cancellationToken);
        if (approval is null || config is null)
        {
            await AnswerAsync(api, u, "This approval request no longer exists.", alert: true, cancellationToken);
            return;
        }

        if (!config.Approvers.Contains(u.FromId))
        {
            logger.LogInformation("Approval button of {TaskId} pressed by Telegram user {UserId}, who is not an approver: nothing changed", approval.TaskId, u.FromId);
            await AnswerAsync(api, u, "You are not allowed to approve or reject this task.", alert: true, cancellationToken);
            return;
        }

        if (parts[2] == "a")
        {
            var decided = await TelegramApprovals.ApproveAsync(db, id, u.FromId, u.FromName, clock.GetUtcNow(), cancellationToken);
            var now = await TelegramApprovals.FindAsync(db, id, cancellationToken) ?? approval;
            await EnsureRaisedAsync(now, u, cancellationToken);
            await AnswerAsync(api, u, decided ? "Approved ✅" : AlreadyDecided(now), alert: !decided, cancellationToken);
            return;
        }

        // Reject: ask the presser for the reason; their reply to the prompt decides.
        if (approval.IsDecided)
        {
            await EnsureRaisedAsync(approval, u, cancellationToken);
            await AnswerAsync(api, u, AlreadyDecided(approval), alert: true, cancellationToken);
            return;
        }

        if (approval.Status == "awaiting_reason" && approval.DecidedById != u.FromId)
        {
            await AnswerAsync(api, u, $"{approval.DecidedByName} is writing the reason for rejecting.", alert: true, cancellationToken);
            return;
        }

        if (approval.Status == "awaiting_reason" && approval.PromptMessageId is not null)
        {
            await AnswerAsync(api, u, "Reply to my message with the reason.", alert: false, cancellationToken);
            return;
        }

        await SlotAsync(api, u.ChatId, cancellationToken);
        if (approval.Status == "pending" && !await TelegramApprovals.BeginRejectAsync(db, id, u.FromId, u.FromName, cancellationToken))
        {
            var now = await TelegramApprovals.FindAsync(db, id, cancellationToken) ?? approval;
            await AnswerAsync(api, u, now.IsDecided ? AlreadyDecided(now) : $"{now.DecidedByName} is writing the reason for rejecting.", alert: true, cancellationToken);
            return;
        }

        var key = (await snapshots.LoadAsync(approval.TaskId, cancellationToken))?.Snapshot.Key ?? approval.TaskId;
        try
        {
            var prompt = await api.SendMessageAsync(u.ChatId, u.ThreadId, TelegramMessages.RejectPrompt(u.FromName, key), silent: false, null, u.MessageId, forceReply: true, cancellationToken);
            await TelegramApprovals.SetPromptAsync(db, id, u.ChatId, prompt, cancellationToken);
        }
        catch (TelegramApiException e)
        {
            await FailedAsync(api, e, u.ChatId, cancellationToken);
            return;
        }

        await AnswerAsync(api, u, "Reply to my message with the reason.", alert: false, cancellationToken);
        try
        {
            // The request says who is writing the reason (the buttons stay: an approver may still approve meanwhile).
            await notifier.RefreshApprovalAsync(approval.TaskId, approval.RolesId, approval.Execution, keepButtons: true, cancellationToken);
        }
        catch (Exception ex) when (ex is ActivityDeferredException or RetryableActivityException)
        {
            // Cosmetic: the decision does not depend on it.
        }
    }

    private async Task ReasonAsync(TelegramApi api, TelegramInbound u, ApprovalRow approval, CancellationToken cancellationToken)
    {
        var reason = (u.Text ?? "").Trim();
        if (reason.Length == 0 || approval.DecidedById != u.FromId || approval.Status is not ("awaiting_reason" or "rejected"))
        {
            return;
        }

        if (approval.Status == "rejected" && approval.DecidedVia != "telegram")
        {
            return;
        }

        await SlotAsync(api, u.ChatId, cancellationToken);
        var decided = approval.Status == "awaiting_reason" && await TelegramApprovals.RejectAsync(db, approval.Id, u.FromId, reason, clock.GetUtcNow(), cancellationToken);
        var now = await TelegramApprovals.FindAsync(db, approval.Id, cancellationToken) ?? approval;
        await EnsureRaisedAsync(now, u, cancellationToken);
        if (!decided && !(now is { Status: "rejected", DecidedVia: "telegram" } && now.DecidedById == u.FromId))
        {
            await ReplyAsync(api, u, TelegramMessages.Escape(AlreadyDecided(now)), cancellationToken);
            return;
        }

        await ReplyAsync(api, u, $"Rejected. The reason goes to the next run of <b>{TelegramMessages.Escape(approval.Stage)}</b> as its findings.", cancellationToken);
    }

    /// <summary>
    /// For a request decided in the chat: raises the same event the tracker's approval poll would (keyed by the request,
    /// so raising again — a retry, a second press — adds nothing), and the keyed follow-up that moves the tracker item.
    /// A crash between the decision and the raise is healed by the next press or retry.
    /// </summary>
    private async Task EnsureRaisedAsync(ApprovalRow approval, TelegramInbound u, CancellationToken cancellationToken)
    {
        if (approval.DecidedVia != "telegram" || approval.Status is not ("approved" or "rejected"))
        {
            return;
        }

        var decision = approval.Status == "approved" ? ApprovalDecision.Approved : ApprovalDecision.Rejected;
        await RaiseAsync(approval, decision, approval.Reason, u, cancellationToken);
    }

    private async Task RaiseAsync(ApprovalRow approval, ApprovalDecision decision, string? reason, TelegramInbound u, CancellationToken cancellationToken)
    {
        var key = string.Create(CultureInfo.InvariantCulture, $"telegram-approval:{approval.Id}");

        // ApprovalChanged names no gate: raise it only while the pipeline waits at this request's gate, so a late raise
        // can never decide a later gate of the same task.
        if (await RolesStateAsync(approval.RolesId, cancellationToken) is { Phase: PipelinePhase.WaitingApproval } roles && roles.Execution == approval.Execution
            && await engine.RaiseEventAsync(approval.RolesId, new ApprovalChanged(decision, reason), key,
                new RaiseOptions { Origin = new EventOrigin(EventSources.User, "telegram:" + u.FromName) }, cancellationToken))
        {
            logger.LogInformation("Approval gate of {TaskId} (execution {Execution}) {Decision} in Telegram", approval.TaskId, approval.Execution, decision);
        }

        await engine.EnqueueActivityAsync(null, TelegramActivities.ApprovalFollowUp, new ApprovalFollowUpInput(approval.Id),
            key, RetryPolicy.ExternalApi, null, cancellationToken);
    }

    private async Task TaskAsync(TelegramApi api, TelegramInbound u, ChatCommand command, IReadOnlyList<StoredProject> chatProjects, CancellationToken cancellationToken)
    {
        StoredProject? project = command.Project is { } wanted
            ? chatProjects.FirstOrDefault(p => string.Equals(p.Slug, wanted, StringComparison.OrdinalIgnoreCase))
            : chatProjects.Count == 1 ? chatProjects[0] : null;
        if (project is null)
        {
            await ReplyAsync(api, u, "Several projects use this chat: add a line <code>project: slug</code> (" +
                string.Join(", ", chatProjects.Select(p => $"<code>{TelegramMessages.Escape(p.Slug)}</code>")) + ").", cancellationToken);
            return;
        }

        var config = project.Definition.Telegram!;
        if (!config.TaskCreators.Contains(u.FromId))
        {
            await ReplyAsync(api, u, string.Create(CultureInfo.InvariantCulture,
                $"You are not allowed to create tasks here. A project admin can add your Telegram user id <code>{u.FromId}</code> in the project's settings."), cancellationToken);
            return;
        }

        if (command.Title.Length == 0)
        {
            await ReplyAsync(api, u, "Write the title after <code>/task</code>, and the description on the next lines.", cancellationToken);
            return;
        }

        string? repo = null;
        if (command.Repo is { } asked && (repo = project.Definition.Forge.Canonical(asked)) is null)
        {
            await ReplyAsync(api, u, $"<code>{TelegramMessages.Escape(asked)}</code> is not a repository of this project (" +
                string.Join(", ", project.Definition.Forge.Repos.Select(r => $"<code>{TelegramMessages.Escape(r)}</code>")) + ").", cancellationToken);
            return;
        }

        var trackerName = Orchestrations.Tasks.TaskProject.TrackerDisplayName(project.Definition.Tracker.Kind);
        Web.CreatedTrackerItem created;
        try
        {
            // The same creation as the web tool's form (one item per update: the request id is the update's).
            var description = (command.Description.Trim().Length > 0 ? command.Description.Trim() : command.Title) +
                $"\n\n*Created from Telegram by {MarkdownText(u.FromName)}.*";
            created = await taskCreation.CreateAsync(project,
                new Web.NewTaskInput(command.Title.Length > Web.TaskCreation.MaxTitle ? command.Title[..Web.TaskCreation.MaxTitle] : command.Title, description, repo, null,
                    string.Create(CultureInfo.InvariantCulture, $"telegram-{u.BotId}-{u.UpdateId}")),
                $"telegram:{u.FromId}", cancellationToken);
        }
        catch (Web.NewTaskRefusedException e)
        {
            await ReplyAsync(api, u, TelegramMessages.Escape(string.Join(" ", e.Errors.Values)), cancellationToken);
            return;
        }
        catch (PlatformApiException e) when (!e.IsTransient)
        {
            await ReplyAsync(api, u, $"{TelegramMessages.Escape(trackerName)} refused the new task: {TelegramMessages.Escape(e.Message)}", cancellationToken);
            return;
        }

        var key = created.Key;
        var label = key ?? "the task";
        var link = TelegramMessages.Usable(created.Url) ? $"<a href=\"{TelegramMessages.Escape(created.Url)}\">{TelegramMessages.Escape(label)}</a>" : TelegramMessages.Escape(label);
                await ReplyAsync(api, u, $"📝 Created <b>{link}</b> {TelegramMessages.Escape(command.Title)} in {TelegramMessages.Escape(trackerName)}" +
            (repo is null ? "" : $" for <code>{TelegramMessages.Escape(repo)}</code>") + ". The pipeline starts as soon as " + TelegramMessages.Escape(trackerName) + " tells us" +
            (key is null ? "." : $"; <code>/status {TelegramMessages.Escape(key)}</code> shows where it stands."), cancellationToken);
    }

    private async Task StatusAsync(TelegramApi api, TelegramInbound u, ChatCommand command, IReadOnlyList<StoredProject> chatProjects, CancellationToken cancellationToken)
    {
        var key = command.Title.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        if (key is null)
        {
            await ReplyAsync(api, u, "Write the task's key after <code>/status</code>, e.g. <code>/status WEB-42</code>.", cancellationToken);
            return;
        }

        var loaded = await snapshots.LoadAsync(key, cancellationToken);
        if (loaded is not { } found || !chatProjects.Any(p => p.Slug == found.Row.ProjectSlug))
        {
            await ReplyAsync(api, u, $"No task <code>{TelegramMessages.Escape(key)}</code> in this chat's project{(chatProjects.Count > 1 ? "s" : "")}.", cancellationToken);
            return;
        }

        await ReplyAsync(api, u, TelegramMessages.StatusLine(found.Snapshot), cancellationToken);
    }

    private async Task<IReadOnlyList<StoredProject>> ProjectsOfChatAsync(long chatId, int? threadId, CancellationToken cancellationToken) =>
        (await projects.ListAsync(cancellationToken))
            .Where(p => p.Definition.Telegram is { } t && t.ChatId == chatId && (t.ThreadId is null || t.ThreadId == threadId))
            .ToList();

    private async Task<TelegramConfig?> ConfigOfTaskAsync(string taskId, CancellationToken cancellationToken) =>
        await readModel.FindAsync(taskId, cancellationToken) is { ProjectSlug: { } slug }
            ? (await projects.GetAsync(slug, cancellationToken))?.Definition.Telegram
            : null;

    private async Task<RolePipelineState?> RolesStateAsync(string rolesId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT state::text FROM instances WHERE id = @id");
        command.Parameters.AddWithValue("id", rolesId);
        return await command.ExecuteScalarAsync(cancellationToken) is string json
            ? System.Text.Json.JsonSerializer.Deserialize<RolePipelineState>(json, EngineJson.Options)
            : null;
    }

    private static string AlreadyDecided(ApprovalRow approval) => approval.Status switch
    {
        "approved" => approval.DecidedVia == "telegram" ? $"Already decided: approved by {approval.DecidedByName}." : "Already decided: approved in the tracker.",
        "rejected" => approval.DecidedVia == "telegram" ? $"Already decided: rejected by {approval.DecidedByName}." : "Already decided: rejected in the tracker.",
        "closed" => "This approval is no longer needed.",
        _ => $"{approval.DecidedByName} is writing the reason for rejecting.",
    };

    /// <summary>A name as Markdown text: the characters Markdown would act on are escaped.</summary>
    private static string MarkdownText(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is '\\' or '*' or '_' or '`' or '[' or ']' or '<' or '>' or '#' or '!' or '|' or '~')
            {
                sb.Append('\\');
            }

            sb.Append(c is '\n' or '\r' ? ' ' : c);
        }

        return sb.ToString();
    }

    private async Task SlotAsync(TelegramApi api, long chatId, CancellationToken cancellationToken)
    {
        if (await rate.TryTakeAsync(api.BotId, chatId, cancellationToken) is { } wait)
        {
            throw new ActivityDeferredException(wait, "waiting for a send slot in the chat (Telegram's rate limits)");
        }
    }

    private async Task ReplyAsync(TelegramApi api, TelegramInbound u, string html, CancellationToken cancellationToken)
    {
        try
        {
            await api.SendMessageAsync(u.ChatId, u.ThreadId, html, silent: false, null, u.MessageId, false, cancellationToken);
        }
        catch (TelegramApiException e)
        {
            await FailedAsync(api, e, u.ChatId, cancellationToken);
        }
    }

    private async Task AnswerAsync(TelegramApi api, TelegramInbound u, string text, bool alert, CancellationToken cancellationToken)
    {
        try
        {
            await api.AnswerCallbackQueryAsync(u.CallbackQueryId!, text, alert, cancellationToken);
        }
        catch (TelegramApiException e) when (e.Failure is not TelegramFailure.RateLimited)
        {
            // A press older than Telegram keeps it answerable, or a network hiccup: the decision stands either way.
            logger.LogInformation("answerCallbackQuery failed: {Error}", e.Description);
        }
        catch (TelegramApiException e)
        {
            await FailedAsync(api, e, u.ChatId, cancellationToken);
        }
    }

    private async Task FailedAsync(TelegramApi api, TelegramApiException e, long chatId, CancellationToken cancellationToken)
    {
        if (e.Failure == TelegramFailure.RateLimited)
        {
            var wait = e.RetryAfter ?? TimeSpan.FromSeconds(5);
            await rate.BackOffAsync(api.BotId, chatId, wait, wholeBot: false, cancellationToken);
            throw new RetryableActivityException($"Telegram {e.Method}: too many requests", wait);
        }

        if (e.Failure is TelegramFailure.ServerError or TelegramFailure.NotSent)
        {
            throw new RetryableActivityException(e.Message);
        }

        logger.LogWarning("Telegram {Method} for chat {ChatId} failed: {Error}", e.Method, chatId, e.Description);
    }
}

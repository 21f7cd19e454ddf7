using System.Net;
using System.Net.Http;
using System.Text.RegularExpressions;
using Telegram.Bot;
using Telegram.Bot.Exceptions;
using Telegram.Bot.Types;
using Telegram.Bot.Types.Enums;
using Telegram.Bot.Types.ReplyMarkups;

namespace Orchestrator.Shared.Telegram;

/// <summary>What a failed Bot API call means for the caller (https://core.telegram.org/bots/api#making-requests).</summary>
public enum TelegramFailure
{
    /// <summary>429 Too Many Requests: wait <see cref="TelegramApiException.RetryAfter"/> (the answer's <c>parameters.retry_after</c>). Nothing happened.</summary>
    RateLimited,

    /// <summary>400 "message is not modified": the edit had nothing new — for us a success.</summary>
    NotModified,

    /// <summary>400 "message to edit not found" (a person deleted it) or "message can't be edited".</summary>
    MessageNotFound,

    /// <summary>403 (bot kicked, not a member, blocked) or 400 "chat not found": the bot cannot write to the chat.</summary>
    ChatLost,

    /// <summary>400 "message thread not found" / <c>TOPIC_CLOSED</c> / <c>TOPIC_DELETED</c>: the chat is fine, its topic is not.</summary>
    TopicLost,

    /// <summary>401 Unauthorized: the bot token is wrong or revoked.</summary>
    Unauthorized,

    /// <summary>409 Conflict: another <c>getUpdates</c> runs, or a webhook is set while polling.</summary>
    Conflict,

    /// <summary>Any other 4xx answer: the request is wrong; a retry cannot help.</summary>
    BadRequest,

    /// <summary>A 5xx answer in the Bot API's own JSON shape: the server said no, nothing was done; retry.</summary>
    ServerError,

    /// <summary>No connection could be made (refused, name did not resolve, TLS): the request never left; retry.</summary>
    NotSent,

    /// <summary>
    /// No usable answer after the request may have arrived (timeout, connection cut mid-way, a non-Bot-API page such as a
    /// proxy's 502): it may or may not have been done. Safe to retry for idempotent calls (edits), never for a send.
    /// </summary>
    Unknown,
}

/// <summary>A Bot API call that did not succeed. The message names the method and Telegram's description, never the token.</summary>
public sealed class TelegramApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="method">Bot API method, e.g. <c>sendMessage</c>.</param>
    /// <param name="failure">What it means.</param>
    /// <param name="errorCode">Telegram's <c>error_code</c> (the HTTP status), or <c>null</c> when no answer came.</param>
    /// <param name="description">Telegram's <c>description</c>, or what went wrong on our side (token-free).</param>
    /// <param name="retryAfter">The answer's <c>retry_after</c>, if any.</param>
    /// <param name="migrateToChatId">The answer's <c>migrate_to_chat_id</c> (a group became a supergroup), if any.</param>
    public TelegramApiException(string method, TelegramFailure failure, int? errorCode, string description, TimeSpan? retryAfter = null, long? migrateToChatId = null)
        : base($"Telegram {method} failed{(errorCode is { } c ? $" ({c})" : "")}: {description}")
    {
        Method = method;
        Failure = failure;
        ErrorCode = errorCode;
        Description = description;
        RetryAfter = retryAfter;
        MigrateToChatId = migrateToChatId;
    }

    /// <summary>Bot API method.</summary>
    public string Method { get; }

    /// <summary>What the failure means.</summary>
    public TelegramFailure Failure { get; }

    /// <summary>Telegram's <c>error_code</c>, or <c>null</c>.</summary>
    public int? ErrorCode { get; }

    /// <summary>Telegram's <c>description</c> (or our token-free explanation).</summary>
    public string Description { get; }

    /// <summary>The wait Telegram asked for.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>The supergroup the chat moved to, if Telegram said.</summary>
    public long? MigrateToChatId { get; }

    /// <summary>Whether Telegram certainly did nothing (it answered with an error, or the request never left).</summary>
    public bool NothingHappened => Failure is not TelegramFailure.Unknown;

    /// <summary>Whether waiting and calling again can succeed.</summary>
    public bool IsTransient => Failure is TelegramFailure.RateLimited or TelegramFailure.ServerError or TelegramFailure.NotSent or TelegramFailure.Unknown;
}

/// <summary>Result of <see cref="TelegramApi.EditMessageTextAsync"/>.</summary>
public enum EditOutcome
{
    /// <summary>The message shows the new text.</summary>
    Edited,

    /// <summary>It already showed exactly this text and buttons (Telegram's "message is not modified").</summary>
    NotModified,

    /// <summary>There is no such message any more (deleted by a person): send a new one.</summary>
    NotFound,
}

/// <summary>An inline keyboard button that sends <c>callback_data</c> back (https://core.telegram.org/bots/api#inlinekeyboardbutton).</summary>
/// <param name="Text">Label.</param>
/// <param name="Data">1–64 bytes the bot receives in the <c>callback_query</c>.</param>
public sealed record TelegramButton(string Text, string Data);

/// <summary>
/// The Bot API calls the orchestrator makes, through the Telegram.Bot library with our own <see cref="HttpClient"/> (the
/// outbound policy's handler, no request logging: the token is part of every URL <c>/bot&lt;token&gt;/&lt;method&gt;</c>).
/// Every failure becomes a <see cref="TelegramApiException"/> that says whether anything may have happened, so a send is
/// never repeated blindly. The library's own 429 retry is off: callers honour <c>retry_after</c> through the durable queue.
/// </summary>
public sealed partial class TelegramApi
{
    /// <summary>The official Bot API root.</summary>
    public const string OfficialApiUrl = "https://api.telegram.org";

    /// <summary>Longest message text Telegram accepts (after entity parsing), in characters.</summary>
    public const int MaxTextLength = 4096;

    private readonly TelegramBotClient _client;
    private readonly string _token;

    /// <summary>Creates the API for one bot.</summary>
    /// <param name="token">Bot token (<see cref="IsTokenShaped"/>).</param>
    /// <param name="apiUrl">Bot API root (scheme, host and port only; a path is ignored by the library).</param>
    /// <param name="http">The client to send with (its timeout must exceed the long-poll timeout).</param>
    /// <exception cref="ArgumentException">The token is not shaped like a bot token.</exception>
    public TelegramApi(string token, Uri apiUrl, HttpClient http)
    {
        ArgumentNullException.ThrowIfNull(apiUrl);
        ArgumentNullException.ThrowIfNull(http);
        if (!IsTokenShaped(token))
        {
            throw new ArgumentException("Not a bot token.", nameof(token));
        }

        _token = token;
        BotId = BotIdOf(token);
        var options = new TelegramBotClientOptions(token, apiUrl.GetLeftPart(UriPartial.Authority))
        {
            // We honour retry_after ourselves (durably, shared by every replica); the library must not sleep in a worker.
            RetryCount = 0,
        };
        _client = new TelegramBotClient(options, http);
    }

    /// <summary>The bot's numeric id (the token's part before <c>:</c>; public, fine to log).</summary>
    public long BotId { get; }

    /// <summary>Whether <paramref name="token"/> looks like a bot token: <c>&lt;digits&gt;:&lt;at least 20 of A-Z a-z 0-9 _ -&gt;</c>.</summary>
    /// <param name="token">Candidate.</param>
    /// <returns><c>true</c> when shaped right.</returns>
    public static bool IsTokenShaped(string? token) => token is not null && TokenPattern().IsMatch(token);

    /// <summary>The bot id of a token.</summary>
    /// <param name="token">A token (<see cref="IsTokenShaped"/>).</param>
    /// <returns>The id.</returns>
    public static long BotIdOf(string token) => long.Parse(token.AsSpan(0, token.IndexOf(':', StringComparison.Ordinal)), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary><c>sendMessage</c> with HTML parse mode and link previews off (https://core.telegram.org/bots/api#sendmessage).</summary>
    /// <param name="chatId">Chat.</param>
    /// <param name="threadId">Forum topic, or <c>null</c>.</param>
    /// <param name="html">Text in Telegram's HTML subset (https://core.telegram.org/bots/api#html-style), at most <see cref="MaxTextLength"/>.</param>
    /// <param name="silent"><c>disable_notification</c>: deliver without a sound (the live message) or notify (alerts).</param>
    /// <param name="buttons">Inline keyboard rows, or <c>null</c>.</param>
    /// <param name="replyTo">Message to reply to (in the same chat), or <c>null</c>.</param>
    /// <param name="forceReply">Ask the client to open a reply to this message (for the rejection reason).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The new message's <c>message_id</c>.</returns>
    /// <exception cref="TelegramApiException">The call failed.</exception>
    public Task<int> SendMessageAsync(long chatId, int? threadId, string html, bool silent, IReadOnlyList<IReadOnlyList<TelegramButton>>? buttons,
        int? replyTo, bool forceReply, CancellationToken cancellationToken) =>
        CallAsync("sendMessage", async () =>
        {
            ReplyMarkup? markup = forceReply ? new ForceReplyMarkup { Selective = true } : Keyboard(buttons);
            var message = await _client.SendMessage(
                chatId,
                html,
                parseMode: ParseMode.Html,
                replyParameters: replyTo is { } id ? new ReplyParameters { MessageId = id, AllowSendingWithoutReply = true } : null,
                replyMarkup: markup,
                linkPreviewOptions: new LinkPreviewOptions { IsDisabled = true },
                messageThreadId: threadId,
                disableNotification: silent,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            return message.MessageId;
        });

    /// <summary>
    /// <c>editMessageText</c> (https://core.telegram.org/bots/api#editmessagetext); Telegram's "message is not modified" is
    /// <see cref="EditOutcome.NotModified"/> and "message to edit not found" <see cref="EditOutcome.NotFound"/>, not errors.
    /// </summary>
    /// <param name="chatId">Chat.</param>
    /// <param name="messageId">Message.</param>
    /// <param name="html">New text (HTML).</param>
    /// <param name="buttons">The inline keyboard it should show; <c>null</c> removes any.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>What happened.</returns>
    /// <exception cref="TelegramApiException">Any other failure.</exception>
    public async Task<EditOutcome> EditMessageTextAsync(long chatId, int messageId, string html, IReadOnlyList<IReadOnlyList<TelegramButton>>? buttons, CancellationToken cancellationToken)
    {
        try
        {
            await CallAsync("editMessageText", async () =>
            {
                await _client.EditMessageText(
                    chatId,
                    messageId,
                    html,
                    parseMode: ParseMode.Html,
                    replyMarkup: Keyboard(buttons) as InlineKeyboardMarkup,
                    linkPreviewOptions: new LinkPreviewOptions { IsDisabled = true },
                    cancellationToken: cancellationToken).ConfigureAwait(false);
                return 0;
            }).ConfigureAwait(false);
            return EditOutcome.Edited;
        }
        catch (TelegramApiException e) when (e.Failure == TelegramFailure.NotModified)
        {
            return EditOutcome.NotModified;
        }
        catch (TelegramApiException e) when (e.Failure == TelegramFailure.MessageNotFound)
        {
            return EditOutcome.NotFound;
        }
    }

    /// <summary><c>answerCallbackQuery</c> (https://core.telegram.org/bots/api#answercallbackquery): the toast a button press shows.</summary>
    /// <param name="callbackQueryId">The query.</param>
    /// <param name="text">0–200 characters.</param>
    /// <param name="alert">A dialog instead of a toast.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    /// <exception cref="TelegramApiException">The call failed (a query older than about 15 minutes can no longer be answered).</exception>
    public Task AnswerCallbackQueryAsync(string callbackQueryId, string text, bool alert, CancellationToken cancellationToken) =>
        CallAsync("answerCallbackQuery", async () =>
        {
            await _client.AnswerCallbackQuery(callbackQueryId, text.Length > 200 ? text[..200] : text, alert, cancellationToken: cancellationToken).ConfigureAwait(false);
            return 0;
        });

    /// <summary>
    /// <c>getUpdates</c> long polling (https://core.telegram.org/bots/api#getupdates) for messages and callback queries;
    /// calling it with <paramref name="offset"/> confirms every update below it.
    /// </summary>
    /// <param name="offset">The highest <c>update_id</c> already stored + 1 (0 = the oldest unconfirmed).</param>
    /// <param name="timeout">How long Telegram may hold the request open (whole seconds, 0–50).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The updates, oldest first.</returns>
    /// <exception cref="TelegramApiException">The call failed (409 while a webhook is set or another poller runs).</exception>
    public Task<Update[]> GetUpdatesAsync(long offset, TimeSpan timeout, CancellationToken cancellationToken) =>
        CallAsync("getUpdates", () => _client.GetUpdates(
            offset: offset > int.MaxValue ? int.MaxValue : (int)offset,
            limit: 100,
            timeout: (int)Math.Clamp(timeout.TotalSeconds, 0, 50),
            allowedUpdates: [UpdateType.Message, UpdateType.CallbackQuery],
            cancellationToken: cancellationToken));

    /// <summary>
    /// <c>setWebhook</c> (https://core.telegram.org/bots/api#setwebhook) for messages and callback queries; Telegram sends
    /// <paramref name="secretToken"/> in <c>X-Telegram-Bot-Api-Secret-Token</c> with every update.
    /// </summary>
    /// <param name="url">HTTPS URL of our endpoint.</param>
    /// <param name="secretToken">1–256 characters of A-Z a-z 0-9 _ -.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    /// <exception cref="TelegramApiException">The call failed.</exception>
    public Task SetWebhookAsync(Uri url, string secretToken, CancellationToken cancellationToken) =>
        CallAsync("setWebhook", async () =>
        {
            await _client.SetWebhook(url.ToString(), allowedUpdates: [UpdateType.Message, UpdateType.CallbackQuery], secretToken: secretToken,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            return 0;
        });

    /// <summary><c>deleteWebhook</c> (https://core.telegram.org/bots/api#deletewebhook), keeping pending updates: polling needs no webhook.</summary>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    /// <exception cref="TelegramApiException">The call failed.</exception>
    public Task DeleteWebhookAsync(CancellationToken cancellationToken) =>
        CallAsync("deleteWebhook", async () =>
        {
            await _client.DeleteWebhook(dropPendingUpdates: false, cancellationToken: cancellationToken).ConfigureAwait(false);
            return 0;
        });

    /// <summary>Maps a library failure to what it means (<see cref="TelegramFailure"/>).</summary>
    /// <param name="errorCode">Telegram's <c>error_code</c>.</param>
    /// <param name="description">Telegram's <c>description</c>.</param>
    /// <returns>The meaning.</returns>
    public static TelegramFailure Classify(int errorCode, string description)
    {
        var d = description.ToLowerInvariant();
        return errorCode switch
        {
            429 => TelegramFailure.RateLimited,
            401 => TelegramFailure.Unauthorized,
            403 => TelegramFailure.ChatLost,
            409 => TelegramFailure.Conflict,
            400 when d.Contains("message is not modified", StringComparison.Ordinal) => TelegramFailure.NotModified,
            400 when d.Contains("message to edit not found", StringComparison.Ordinal) || d.Contains("message can't be edited", StringComparison.Ordinal)
                => TelegramFailure.MessageNotFound,
            400 when d.Contains("thread not found", StringComparison.Ordinal) || d.Contains("topic_closed", StringComparison.Ordinal)
                     || d.Contains("topic_deleted", StringComparison.Ordinal) => TelegramFailure.TopicLost,
            400 when d.Contains("chat not found", StringComparison.Ordinal) || d.Contains("not enough rights", StringComparison.Ordinal)
                     || d.Contains("have no rights", StringComparison.Ordinal) => TelegramFailure.ChatLost,
            >= 500 => TelegramFailure.ServerError,
            _ => TelegramFailure.BadRequest,
        };
    }

    private async Task<T> CallAsync<T>(string method, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (ApiRequestException e)
        {
            var description = Clean(e.Message);
            var retryAfter = e.Parameters?.RetryAfter is { } seconds ? TimeSpan.FromSeconds(Math.Max(1, seconds)) : (TimeSpan?)null;
            throw new TelegramApiException(method, Classify(e.ErrorCode, description), e.ErrorCode, description, retryAfter, e.Parameters?.MigrateToChatId);
        }
        catch (RequestException e)
        {
            throw new TelegramApiException(method, FailureOf(e), e.HttpStatusCode is { } s ? (int)s : null, Clean(Describe(e)));
        }
        catch (HttpRequestException e)
        {
            throw new TelegramApiException(method, FailureOf(e), null, Clean(e.Message));
        }
        catch (TaskCanceledException e) when (e.InnerException is TimeoutException)
        {
            throw new TelegramApiException(method, TelegramFailure.Unknown, null, "no answer in time");
        }
    }

    /// <summary>A request exception without an API answer: did the request leave? (connection errors mean it did not).</summary>
    private static TelegramFailure FailureOf(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError })
            {
                return TelegramFailure.NotSent;
            }

            if (x is Platform.OutboundRefusedException or System.Net.Sockets.SocketException)
            {
                return TelegramFailure.NotSent;
            }
        }

        return TelegramFailure.Unknown;
    }

    private static string Describe(RequestException e)
    {
        var inner = e.InnerException is { } i ? $" ({i.GetType().Name}: {i.Message})" : "";
        return e.HttpStatusCode is { } status ? $"HTTP {(int)status} {status} without a Bot API answer{inner}" : e.Message + inner;
    }

    /// <summary>Removes the token from any text (a URL in an exception message must never leak it).</summary>
    private string Clean(string text) => text.Replace(_token, "***", StringComparison.Ordinal);

    private static ReplyMarkup? Keyboard(IReadOnlyList<IReadOnlyList<TelegramButton>>? buttons) =>
        buttons is null || buttons.Count == 0
            ? null
            : new InlineKeyboardMarkup(buttons.Select(row => row.Select(b => InlineKeyboardButton.WithCallbackData(b.Text, b.Data))));

    [GeneratedRegex("^[0-9]{1,20}:[A-Za-z0-9_-]{20,}$")]
    private static partial Regex TokenPattern();
}

using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Orchestrator.Simulators.Telegram;

/// <summary>A failure to answer the next call of a method with.</summary>
public enum TelegramFault
{
    /// <summary>429 <c>Too Many Requests: retry after N</c> with <c>parameters.retry_after</c>.</summary>
    TooManyRequests,

    /// <summary>400 <c>Bad Request: message is not modified…</c> (editMessageText).</summary>
    NotModified,

    /// <summary>400 <c>Bad Request: message to edit not found</c> (editMessageText).</summary>
    MessageNotFound,

    /// <summary>403 <c>Forbidden: bot was kicked from the supergroup chat</c>.</summary>
    Kicked,

    /// <summary>400 <c>Bad Request: message thread not found</c>.</summary>
    TopicNotFound,

    /// <summary>500 in the Bot API's JSON shape (<c>Internal Server Error</c>): nothing was done.</summary>
    ServerError,

    /// <summary>502 with an HTML page (a proxy in front of the Bot API): the call may or may not have been done — here it was.</summary>
    BadGatewayAfterDoing,
}

/// <summary>One Bot API call the simulator received.</summary>
/// <param name="Method">Method name, e.g. <c>sendMessage</c>.</param>
/// <param name="Body">The JSON body (parameters).</param>
/// <param name="At">When it arrived.</param>
/// <param name="Answer">The <c>error_code</c> it got, or 200.</param>
public sealed record TelegramCall(string Method, JsonObject Body, DateTimeOffset At, int Answer)
{
    /// <summary><c>chat_id</c> as a number, or <c>null</c>.</summary>
    public long? ChatId => Body["chat_id"] is JsonValue v && long.TryParse(v.ToString(), out var id) ? id : null;

    /// <summary><c>text</c>, or <c>null</c>.</summary>
    public string? Text => Body["text"]?.GetValue<string>();
}

/// <summary>A message the bot sent (as it is now, after edits).</summary>
/// <param name="ChatId">Chat.</param>
/// <param name="MessageId">Id.</param>
/// <param name="ThreadId">Topic, or <c>null</c>.</param>
/// <param name="Text">Current text (HTML as sent).</param>
/// <param name="Silent"><c>disable_notification</c>.</param>
/// <param name="Buttons">Inline keyboard <c>(text, callback_data)</c> rows, empty when none.</param>
/// <param name="ForceReply">Whether it asked for a reply.</param>
/// <param name="ReplyTo">The message it replies to, or <c>null</c>.</param>
/// <param name="Edits">How many times it was edited.</param>
/// <param name="Deleted">Whether a person deleted it (<see cref="TelegramSimulator.DeleteMessage"/>).</param>
public sealed record SimMessage(long ChatId, int MessageId, int? ThreadId, string Text, bool Silent, IReadOnlyList<IReadOnlyList<(string Text, string Data)>> Buttons,
    bool ForceReply, int? ReplyTo, int Edits, bool Deleted);

/// <summary>
/// A loopback Bot API (https://core.telegram.org/bots/api) for tests: <c>POST /bot&lt;token&gt;/&lt;method&gt;</c> with JSON
/// parameters, answers <c>{"ok":true,"result":…}</c> or <c>{"ok":false,"error_code":…,"description":…,"parameters":{"retry_after":…}}</c>.
/// It keeps the messages per chat (edits, deletions, "message is not modified" when nothing changes — as Telegram does),
/// records every call, injects failures per method, and produces updates: for <c>getUpdates</c> long polling (offset
/// confirms), or — after <c>setWebhook</c> — POSTed to the webhook with <c>X-Telegram-Bot-Api-Secret-Token</c>.
/// A wrong token answers 401 <c>Unauthorized</c> and is recorded as unexpected; so is an unknown method.
/// </summary>
public sealed class TelegramSimulator : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly string _token;
    private readonly ConcurrentQueue<TelegramCall> _calls = new();
    private readonly Dictionary<(long Chat, int Id), SimMessage> _messages = [];
    private readonly Dictionary<long, int> _lastMessageId = [];
    private readonly Dictionary<string, Queue<(TelegramFault Fault, int RetryAfter)>> _faults = new(StringComparer.Ordinal);
    private readonly List<(long Id, JsonObject Update)> _updates = [];
    private readonly ConcurrentDictionary<string, (string Text, bool Alert)> _answers = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _updateArrived = new(0);
    private readonly HttpClient _webhookClient = new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
    private long _nextUpdateId = 1000;
    private long _confirmed;
    private int _callbackCounter;

    private TelegramSimulator(string token) => _token = token;

    /// <summary>The Bot API root, e.g. <c>http://127.0.0.1:41234/</c> (<c>ORCH_TELEGRAM_API_URL</c>).</summary>
    public Uri BaseUrl => Host.BaseUrl;

    /// <summary>The host: every HTTP request and the unexpected ones.</summary>
    public SimulatorHost Host { get; private set; } = null!;

    /// <summary>The bot's user id (the token's number).</summary>
    public long BotId => long.Parse(_token.AsSpan(0, _token.IndexOf(':', StringComparison.Ordinal)), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Every Bot API call, in arrival order.</summary>
    public IReadOnlyList<TelegramCall> Calls => _calls.ToArray();

    /// <summary>
    /// Runs after a <c>sendMessage</c> was stored and before it is answered (a test can kill the caller right then: the
    /// message exists, the caller never hears its id).
    /// </summary>
    public Func<SimMessage, Task>? AfterSend { get; set; }

    /// <summary>The webhook set by <c>setWebhook</c> (URL and secret token), or <c>null</c>.</summary>
    public (Uri Url, string? Secret)? Webhook { get; private set; }

    /// <summary>Starts the simulator on 127.0.0.1.</summary>
    /// <param name="token">The only bot token accepted.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The simulator.</returns>
    public static async Task<TelegramSimulator> StartAsync(string token, CancellationToken cancellationToken = default)
    {
        var simulator = new TelegramSimulator(token);
        simulator.Host = await SimulatorHost.StartAsync("telegram", simulator.Map, _ => null, 0, cancellationToken);
        return simulator;
    }

    /// <summary>The messages the bot sent to a chat (current text), oldest first.</summary>
    /// <param name="chatId">Chat.</param>
    /// <returns>The messages.</returns>
    public IReadOnlyList<SimMessage> Messages(long chatId)
    {
        lock (_gate)
        {
            return [.. _messages.Values.Where(m => m.ChatId == chatId).OrderBy(m => m.MessageId)];
        }
    }

    /// <summary>The calls of one method.</summary>
    /// <param name="method">E.g. <c>editMessageText</c>.</param>
    /// <returns>The calls.</returns>
    public IReadOnlyList<TelegramCall> CallsOf(string method) => [.. Calls.Where(c => c.Method == method)];

    /// <summary>Answers the next call of <paramref name="method"/> with <paramref name="fault"/> (queue several for several).</summary>
    /// <param name="method">Method name.</param>
    /// <param name="fault">The failure.</param>
    /// <param name="retryAfter">For <see cref="TelegramFault.TooManyRequests"/>: seconds.</param>
    public void InjectFault(string method, TelegramFault fault, int retryAfter = 1)
    {
        lock (_gate)
        {
            if (!_faults.TryGetValue(method, out var queue))
            {
                _faults[method] = queue = new Queue<(TelegramFault, int)>();
            }

            queue.Enqueue((fault, retryAfter));
        }
    }

    /// <summary>Drops the failures still queued for <paramref name="method"/>.</summary>
    /// <param name="method">Method name.</param>
    /// <returns><c>true</c> when some were queued.</returns>
    public bool ClearFaults(string method)
    {
        lock (_gate)
        {
            return _faults.Remove(method, out var queue) && queue.Count > 0;
        }
    }

    /// <summary>A person deletes a message of the bot: editing it answers "message to edit not found".</summary>
    /// <param name="chatId">Chat.</param>
    /// <param name="messageId">Message.</param>
    public void DeleteMessage(long chatId, int messageId)
    {
        lock (_gate)
        {
            _messages[(chatId, messageId)] = _messages[(chatId, messageId)] with { Deleted = true };
        }
    }

    /// <summary>A person writes in a chat: a <c>message</c> update (for getUpdates, or POSTed to the webhook when one is set).</summary>
    /// <param name="chatId">Chat.</param>
    /// <param name="fromId">Sender.</param>
    /// <param name="username">Sender's username.</param>
    /// <param name="text">Text.</param>
    /// <param name="replyTo">The message it replies to, or <c>null</c>.</param>
    /// <param name="threadId">Topic, or <c>null</c>.</param>
    /// <returns>The update id and the new message's id.</returns>
    public async Task<(long UpdateId, int MessageId)> SendUserMessageAsync(long chatId, long fromId, string username, string text, int? replyTo = null, int? threadId = null)
    {
        JsonObject update;
        int messageId;
        lock (_gate)
        {
            messageId = NextMessageId(chatId);
            var message = new JsonObject
            {
                ["message_id"] = messageId,
                ["from"] = User(fromId, username),
                ["chat"] = Chat(chatId),
                ["date"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                ["text"] = text,
            };
            if (text.StartsWith('/'))
            {
                var end = text.IndexOfAny([' ', '\n']);
                message["entities"] = new JsonArray(new JsonObject { ["type"] = "bot_command", ["offset"] = 0, ["length"] = end < 0 ? text.Length : end });
            }

            if (threadId is { } t)
            {
                message["message_thread_id"] = t;
                message["is_topic_message"] = true;
            }

            if (replyTo is { } r)
            {
                message["reply_to_message"] = _messages.TryGetValue((chatId, r), out var original)
                    ? MessageJson(original)
                    : new JsonObject { ["message_id"] = r, ["chat"] = Chat(chatId), ["date"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds() };
            }

            update = new JsonObject { ["update_id"] = ++_nextUpdateId, ["message"] = message };
        }

        return (await PublishAsync(update), messageId);
    }

    /// <summary>A person presses an inline button of a bot message: a <c>callback_query</c> update.</summary>
    /// <param name="chatId">Chat.</param>
    /// <param name="messageId">The message carrying the button.</param>
    /// <param name="fromId">Who pressed.</param>
    /// <param name="username">Their username.</param>
    /// <param name="data">The button's <c>callback_data</c>.</param>
    /// <returns>The callback query id (see <see cref="CallbackAnswer"/>).</returns>
    public async Task<string> PressButtonAsync(long chatId, int messageId, long fromId, string username, string data)
    {
        JsonObject update;
        string queryId;
        lock (_gate)
        {
            queryId = $"cb{Interlocked.Increment(ref _callbackCounter)}";
            var message = _messages.TryGetValue((chatId, messageId), out var m) ? MessageJson(m) : throw new KeyNotFoundException($"No message {messageId} in chat {chatId}.");
            update = new JsonObject
            {
                ["update_id"] = ++_nextUpdateId,
                ["callback_query"] = new JsonObject
                {
                    ["id"] = queryId,
                    ["from"] = User(fromId, username),
                    ["message"] = message,
                    ["chat_instance"] = "1",
                    ["data"] = data,
                },
            };
        }

        await PublishAsync(update);
        return queryId;
    }

    /// <summary>The answer a callback query got (<c>answerCallbackQuery</c>), or <c>null</c> before it is answered.</summary>
    /// <param name="callbackQueryId">The query.</param>
    /// <returns>Text and whether it was an alert.</returns>
    public (string Text, bool Alert)? CallbackAnswer(string callbackQueryId) => _answers.TryGetValue(callbackQueryId, out var a) ? a : null;

    /// <summary>Updates produced and not yet confirmed by a <c>getUpdates</c> offset.</summary>
    public int PendingUpdates
    {
        get
        {
            lock (_gate)
            {
                return _updates.Count(u => u.Id >= _confirmed);
            }
        }
    }

    /// <summary>POSTs an update body to a webhook URL with the given secret header (or none), as Telegram would.</summary>
    /// <param name="target">Webhook URL.</param>
    /// <param name="secret">Header value, or <c>null</c> to send none.</param>
    /// <param name="body">Update JSON.</param>
    /// <returns>The receiver's status.</returns>
    public async Task<HttpStatusCode> PostUpdateAsync(Uri target, string? secret, string body)
    {
        var headers = new Dictionary<string, string> { ["Content-Type"] = "application/json" };
        if (secret is not null)
        {
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret;
        }

        return await WebhookPoster.PostAsync(_webhookClient, target, Encoding.UTF8.GetBytes(body), headers, CancellationToken.None);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _webhookClient.Dispose();
        await Host.DisposeAsync();
    }

    private async Task<long> PublishAsync(JsonObject update)
    {
        var id = update["update_id"]!.GetValue<long>();
        (Uri Url, string? Secret)? webhook;
        lock (_gate)
        {
            webhook = Webhook;
            if (webhook is null)
            {
                _updates.Add((id, update));
            }
        }

        if (webhook is { } hook)
        {
            var status = await PostUpdateAsync(hook.Url, hook.Secret, update.ToJsonString());
            if ((int)status >= 300)
            {
                Host.RecordUnexpected($"telegram: the webhook answered {(int)status} to update {id}");
            }
        }
        else
        {
            _updateArrived.Release();
        }

        return id;
    }

    private void Map(IEndpointRouteBuilder app, SimulatorHost host) => app.MapPost("/{bot}/{method}", HandleAsync);

    private async Task<IResult> HandleAsync(HttpContext context, string bot, string method)
    {
        if (bot != "bot" + _token)
        {
            Host.RecordUnexpected($"telegram: {method} with a wrong token");
            return Error(401, "Unauthorized");
        }

        JsonObject body;
        try
        {
            body = await ReadBodyAsync(context.Request);
        }
        catch (JsonException)
        {
            Host.RecordUnexpected($"telegram: {method} with a body that is not JSON");
            return Error(400, "Bad Request: invalid JSON");
        }

        var fault = NextFault(method);
        var result = fault is { } f ? Faulted(method, body, f.Fault, f.RetryAfter) : await AnswerAsync(method, body, context.RequestAborted);
        _calls.Enqueue(new TelegramCall(method, body, DateTimeOffset.UtcNow, result.Code));
        return result.Result;
    }

    private (int Code, IResult Result) Faulted(string method, JsonObject body, TelegramFault fault, int retryAfter) => fault switch
    {
        TelegramFault.TooManyRequests => (429, Error(429, $"Too Many Requests: retry after {retryAfter}", retryAfter)),
        TelegramFault.NotModified => (400, Error(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")),
        TelegramFault.MessageNotFound => (400, Error(400, "Bad Request: message to edit not found")),
        TelegramFault.Kicked => (403, Error(403, "Forbidden: bot was kicked from the supergroup chat")),
        TelegramFault.TopicNotFound => (400, Error(400, "Bad Request: message thread not found")),
        TelegramFault.ServerError => (500, Error(500, "Internal Server Error")),
        _ => (502, DoThenBadGateway(method, body)),
    };

    private IResult DoThenBadGateway(string method, JsonObject body)
    {
        if (method == "sendMessage")
        {
            lock (_gate)
            {
                Store(body);
            }
        }

        return Results.Content("<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", Encoding.UTF8, 502);
    }

    private async Task<(int Code, IResult Result)> AnswerAsync(string method, JsonObject body, CancellationToken cancellationToken)
    {
        switch (method)
        {
            case "getMe":
                return (200, Ok(new JsonObject { ["id"] = BotId, ["is_bot"] = true, ["first_name"] = "Orchestrator", ["username"] = "orchestrator_test_bot" }));
            case "sendMessage":
                SimMessage sent;
                lock (_gate)
                {
                    sent = Store(body);
                }

                if (AfterSend is { } hook)
                {
                    await hook(sent);
                }

                return (200, Ok(MessageJson(sent)));

            case "editMessageText":
                lock (_gate)
                {
                    var chat = Long(body["chat_id"]);
                    var id = (int)Long(body["message_id"]);
                    if (!_messages.TryGetValue((chat, id), out var m) || m.Deleted)
                    {
                        return (400, Error(400, "Bad Request: message to edit not found"));
                    }

                    var text = body["text"]?.GetValue<string>() ?? "";
                    var buttons = Buttons(body["reply_markup"]);
                    if (text == m.Text && SameButtons(buttons, m.Buttons))
                    {
                        return (400, Error(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"));
                    }

                    var edited = m with { Text = text, Buttons = buttons, Edits = m.Edits + 1 };
                    _messages[(chat, id)] = edited;
                    return (200, Ok(MessageJson(edited)));
                }

            case "answerCallbackQuery":
                _answers[body["callback_query_id"]!.GetValue<string>()] = (body["text"]?.GetValue<string>() ?? "", body["show_alert"]?.GetValue<bool>() ?? false);
                return (200, Ok(JsonValue.Create(true)));
            case "setWebhook":
                lock (_gate)
                {
                    Webhook = (new Uri(body["url"]!.GetValue<string>()), body["secret_token"]?.GetValue<string>());
                }

                return (200, Ok(JsonValue.Create(true)));
            case "deleteWebhook":
                lock (_gate)
                {
                    Webhook = null;
                }

                return (200, Ok(JsonValue.Create(true)));
            case "getUpdates":
                return (200, Ok(await GetUpdatesAsync(body, cancellationToken)));
            default:
                Host.RecordUnexpected($"telegram: method {method} is not simulated");
                return (404, Error(404, "Not Found"));
        }
    }

    private async Task<JsonNode> GetUpdatesAsync(JsonObject body, CancellationToken cancellationToken)
    {
        var offset = body["offset"] is { } o ? Long(o) : 0;
        var timeout = body["timeout"] is { } t ? Long(t) : 0;
        lock (_gate)
        {
            if (Webhook is not null)
            {
                Host.RecordUnexpected("telegram: getUpdates while a webhook is set");
            }

            // Telegram forgets every update below the offset: they are confirmed.
            _confirmed = Math.Max(_confirmed, offset);
            _updates.RemoveAll(u => u.Id < _confirmed);
        }

        var deadline = DateTimeOffset.UtcNow.AddSeconds(timeout);
        while (true)
        {
            lock (_gate)
            {
                var ready = _updates.Where(u => u.Id >= offset).Take(100).Select(u => (JsonNode)u.Update.DeepClone()).ToArray();
                if (ready.Length > 0 || DateTimeOffset.UtcNow >= deadline)
                {
                    return new JsonArray(ready);
                }
            }

            var left = deadline - DateTimeOffset.UtcNow;
            try
            {
                await _updateArrived.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return new JsonArray();
            }
        }
    }

    private (TelegramFault Fault, int RetryAfter)? NextFault(string method)
    {
        lock (_gate)
        {
            return _faults.TryGetValue(method, out var queue) && queue.TryDequeue(out var fault) ? fault : null;
        }
    }

    private SimMessage Store(JsonObject body)
    {
        var chat = Long(body["chat_id"]);
        var markup = body["reply_markup"];
        var message = new SimMessage(
            chat,
            NextMessageId(chat),
            body["message_thread_id"] is { } thread ? (int)Long(thread) : null,
            body["text"]?.GetValue<string>() ?? "",
            body["disable_notification"]?.GetValue<bool>() ?? false,
            Buttons(markup),
            markup?["force_reply"]?.GetValue<bool>() ?? false,
            body["reply_parameters"]?["message_id"] is { } reply ? (int)Long(reply) : null,
            0,
            false);
        _messages[(chat, message.MessageId)] = message;
        return message;
    }

    private int NextMessageId(long chat)
    {
        var next = _lastMessageId.GetValueOrDefault(chat) + 1;
        _lastMessageId[chat] = next;
        return next;
    }

    private JsonObject MessageJson(SimMessage m)
    {
        var json = new JsonObject
        {
            ["message_id"] = m.MessageId,
            ["from"] = new JsonObject { ["id"] = BotId, ["is_bot"] = true, ["first_name"] = "Orchestrator", ["username"] = "orchestrator_test_bot" },
            ["chat"] = Chat(m.ChatId),
            ["date"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["text"] = m.Text,
        };
        if (m.ThreadId is { } t)
        {
            json["message_thread_id"] = t;
            json["is_topic_message"] = true;
        }

        if (m.Buttons.Count > 0)
        {
            json["reply_markup"] = new JsonObject
            {
                ["inline_keyboard"] = new JsonArray([.. m.Buttons.Select(row => (JsonNode)new JsonArray([.. row.Select(b => (JsonNode)new JsonObject { ["text"] = b.Text, ["callback_data"] = b.Data })]))]),
            };
        }

        return json;
    }

    private static async Task<JsonObject> ReadBodyAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        if (text.Length == 0)
        {
            return [];
        }

        if (request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) == true)
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new JsonException("not an object");
        }

        // application/x-www-form-urlencoded: values as strings (JSON values are parsed).
        var form = new JsonObject();
        foreach (var pair in text.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var at = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(at < 0 ? pair : pair[..at]);
            var value = Uri.UnescapeDataString(at < 0 ? "" : pair[(at + 1)..].Replace('+', ' '));
            form[key] = value;
        }

        return form;
    }

    private static IReadOnlyList<IReadOnlyList<(string Text, string Data)>> Buttons(JsonNode? markup) =>
        markup?["inline_keyboard"] is JsonArray rows
            ? [.. rows.OfType<JsonArray>().Select(row => (IReadOnlyList<(string, string)>)[.. row.OfType<JsonObject>().Select(b => (b["text"]!.GetValue<string>(), b["callback_data"]?.GetValue<string>() ?? ""))])]
            : [];

    private static bool SameButtons(IReadOnlyList<IReadOnlyList<(string Text, string Data)>> a, IReadOnlyList<IReadOnlyList<(string Text, string Data)>> b) =>
        a.Count == b.Count && a.Zip(b).All(p => p.First.SequenceEqual(p.Second));

    private static long Long(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<long>(out var l) => l,
        JsonValue v when v.TryGetValue<string>(out var s) && long.TryParse(s, out var p) => p,
        _ => throw new JsonException("not a number"),
    };

    private static JsonObject User(long id, string username) => new() { ["id"] = id, ["is_bot"] = false, ["first_name"] = username, ["username"] = username };

    private static JsonObject Chat(long id) => new() { ["id"] = id, ["type"] = id < 0 ? "supergroup" : "private", ["title"] = "Team" };

    private static IResult Ok(JsonNode result) => Results.Json(new JsonObject { ["ok"] = true, ["result"] = result });

    private static IResult Error(int code, string description, int? retryAfter = null)
    {
        var body = new JsonObject { ["ok"] = false, ["error_code"] = code, ["description"] = description };
        if (retryAfter is { } seconds)
        {
            body["parameters"] = new JsonObject { ["retry_after"] = seconds };
        }

        return Results.Json(body, statusCode: code);
    }
}

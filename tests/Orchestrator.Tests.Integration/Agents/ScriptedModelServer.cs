using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Simulators;

namespace Orchestrator.Tests.Integration.Agents;

/// <summary>Which model API a request used.</summary>
public enum ModelApi
{
    /// <summary>Anthropic Messages API (<c>POST /v1/messages</c>), spoken by Claude Code.</summary>
    AnthropicMessages,

    /// <summary>OpenAI Chat Completions (<c>POST /v1/chat/completions</c>), spoken by OpenCode's openai-compatible provider.</summary>
    ChatCompletions,

    /// <summary>OpenAI Responses API (<c>POST /v1/responses</c>), spoken by Codex (<c>wire_api = "responses"</c>).</summary>
    Responses,
}

/// <summary>What the server answered to one model call.</summary>
public enum ModelAnswer
{
    /// <summary>One tool call that writes the scripted file (first turn).</summary>
    ToolCall,

    /// <summary>The scripted final text (the request carried a tool result).</summary>
    FinalText,

    /// <summary>Plain text to a request that offered no tools (OpenCode's title call, side calls).</summary>
    PlainText,

    /// <summary>An HTTP error (<see cref="ScriptedModelServer.FailWith"/> or a wrong API key).</summary>
    Error,
}

/// <summary>Tokens the server reports for every answered model call.</summary>
/// <param name="InputTokens">Prompt tokens per call.</param>
/// <param name="OutputTokens">Completion tokens per call.</param>
public sealed record ModelUsage(int InputTokens, int OutputTokens);

/// <summary>One model call as the server understood it.</summary>
/// <param name="Api">Which API.</param>
/// <param name="Model">The <c>model</c> field of the request.</param>
/// <param name="Stream">Whether the request asked for streaming.</param>
/// <param name="Tools">Names of the tools offered (a tool without a name, e.g. a built-in, as its <c>type</c>).</param>
/// <param name="HasToolResult">Whether the conversation already carried a tool result.</param>
/// <param name="Answer">What the server answered.</param>
/// <param name="StatusCode">HTTP status answered.</param>
/// <param name="AuthHeader">Which header carried the key: <c>x-api-key</c>, <c>authorization</c> or <c>none</c>.</param>
/// <param name="At">When it arrived, measured from the server's start (to observe retry spacing).</param>
public sealed record ModelCall(
    ModelApi Api,
    string Model,
    bool Stream,
    IReadOnlyList<string> Tools,
    bool HasToolResult,
    ModelAnswer Answer,
    int StatusCode,
    string AuthHeader,
    TimeSpan At);

/// <summary>
/// A scripted model server on 127.0.0.1 speaking the three wire formats the coding-agent CLIs use, with the
/// streaming each expects: Anthropic Messages (Claude Code), OpenAI Chat Completions (OpenCode) and OpenAI
/// Responses (Codex). The script: a request whose conversation has no tool result yet is answered with ONE
/// tool call writing <see cref="ScriptWriteFile"/>'s file with the tool that CLI offers (Claude <c>Write</c>,
/// OpenCode <c>write</c>, Codex <c>exec_command</c>/<c>shell</c>); a request carrying a tool result gets the
/// final text; a request offering no tools gets plain text. Every answered call reports
/// <see cref="UsagePerCall"/>. <see cref="FailWith"/> turns model calls into the API's real error responses.
/// Built on <see cref="SimulatorHost"/>: every request is logged, unexpected ones are recorded.
/// </summary>
public sealed partial class ScriptedModelServer : IAsyncDisposable
{
    /// <summary>The key the tests give the CLIs; any other key is answered 401 and recorded as unexpected.</summary>
    public const string DefaultApiKey = "sk-orch-test-0123456789abcdef";

    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };
    private readonly ConcurrentQueue<ModelCall> _calls = new();
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private SimulatorHost _host = null!;
    private ScriptedFileWrite _write = new("hello.txt", "hello from the scripted model\n");
    private string _finalText = "Done";
    private Failure? _failure;
    private int _sequence;

    private ScriptedModelServer(string apiKey) => ApiKey = apiKey;

    /// <summary>The API key every model call must carry.</summary>
    public string ApiKey { get; }

    /// <summary>Root URL with a trailing slash, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseUrl => _host.BaseUrl;

    /// <summary><c>ANTHROPIC_BASE_URL</c> for Claude Code: the root without a trailing slash (it appends <c>/v1/messages</c>).</summary>
    public string AnthropicBaseUrl => BaseUrl.ToString().TrimEnd('/');

    /// <summary>OpenAI-style base URL (<c>…/v1</c>) for OpenCode's <c>baseURL</c> and Codex's <c>base_url</c>.</summary>
    public string OpenAiBaseUrl => BaseUrl + "v1";

    /// <summary>Tokens reported for every answered call (default 200 in / 40 out).</summary>
    public ModelUsage UsagePerCall { get; set; } = new(200, 40);

    /// <summary>Every HTTP request received, in arrival order.</summary>
    public IReadOnlyList<SimulatedRequest> Requests => _host.Requests;

    /// <summary>Requests that matched no route, carried a wrong key or could not be scripted. Tests assert it is empty.</summary>
    public IReadOnlyList<string> UnexpectedRequests => _host.UnexpectedRequests;

    /// <summary>Every model call (messages / chat completions / responses), parsed, with what was answered.</summary>
    public IReadOnlyList<ModelCall> ModelCalls => _calls.ToArray();

    /// <summary>Model calls that were answered successfully (their usage is what a CLI should add up).</summary>
    public int AnsweredCalls => _calls.Count(c => c.Answer != ModelAnswer.Error);

    /// <summary>Starts the server on 127.0.0.1 and a free port.</summary>
    public static async Task<ScriptedModelServer> StartAsync(string apiKey = DefaultApiKey, CancellationToken cancellationToken = default)
    {
        var server = new ScriptedModelServer(apiKey);
        server._host = await SimulatorHost.StartAsync("model", server.Map, _ => null, cancellationToken: cancellationToken);
        return server;
    }

    /// <summary>
    /// Scripts the run: the first turn writes <paramref name="relativePath"/> (relative to the agent's working
    /// directory) with <paramref name="content"/>; the turn after the tool result answers <paramref name="finalText"/>.
    /// </summary>
    public void ScriptWriteFile(string relativePath, string content, string finalText = "Done")
    {
        lock (_gate)
        {
            _write = new ScriptedFileWrite(relativePath, content);
            _finalText = finalText;
        }
    }

    /// <summary>
    /// Answers model calls with HTTP <paramref name="statusCode"/> and the API's error body (Anthropic
    /// <c>{"type":"error","error":{type,message}}</c>, OpenAI <c>{"error":{message,type,param,code}}</c>):
    /// 401 authentication, 429 rate limit (with <c>Retry-After</c> when <paramref name="retryAfterSeconds"/> is
    /// given), 529 overloaded, others generic. <paramref name="times"/> = how many calls fail (null = all).
    /// <c>HEAD /</c> keeps answering 200.
    /// </summary>
    public void FailWith(int statusCode, int? retryAfterSeconds = null, int? times = null)
    {
        lock (_gate)
        {
            _failure = new Failure(statusCode, retryAfterSeconds, times);
        }
    }

    /// <summary>Stops failing: model calls are scripted again.</summary>
    public void ClearFailure()
    {
        lock (_gate)
        {
            _failure = null;
        }
    }

    /// <summary>A readable dump of the traffic (for assertion messages).</summary>
    public string Describe() =>
        string.Join('\n', Requests.Select(r => $"{r.Method} {r.PathAndQuery}"))
        + "\ncalls: " + string.Join("; ", ModelCalls.Select(c => $"{c.At.TotalSeconds:0.00}s {c.Api} {c.Answer} {c.StatusCode} tools={c.Tools.Count} toolResult={c.HasToolResult}"))
        + (UnexpectedRequests.Count > 0 ? "\nunexpected: " + string.Join("; ", UnexpectedRequests) : "");

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private void Map(IEndpointRouteBuilder app, SimulatorHost host)
    {
        // Claude Code probes the base URL with HEAD / before its first call (fixtures/agents/claude).
        app.MapMethods("/", ["HEAD"], () => Results.Ok());
        app.MapPost("/v1/messages", HandleAnthropicAsync);
        app.MapPost("/v1/chat/completions", HandleChatCompletionsAsync);
        app.MapPost("/v1/responses", HandleResponsesAsync);
    }

    private (ScriptedFileWrite Write, string FinalText) Script()
    {
        lock (_gate)
        {
            return (_write, _finalText);
        }
    }

    /// <summary>The failure to answer now, if any (counts down a limited failure).</summary>
    private Failure? TakeFailure()
    {
        lock (_gate)
        {
            if (_failure is not { } failure)
            {
                return null;
            }

            if (failure.Times is { } left)
            {
                _failure = left <= 1 ? null : failure with { Times = left - 1 };
            }

            return failure;
        }
    }

    private string NextId(string prefix) => $"{prefix}_scripted_{Interlocked.Increment(ref _sequence)}";

    private void Record(ModelApi api, CallInfo info, ModelAnswer answer, int status) =>
        _calls.Enqueue(new ModelCall(api, info.Model, info.Stream, info.Tools, info.HasToolResult, answer, status, info.AuthHeader, info.At));

    private void RecordUnexpected(string description) => _host.RecordUnexpected("model: " + description);

    /// <summary>Checks the key in constant time; returns which header carried it, or null when wrong or missing.</summary>
    private string? Authenticate(HttpRequest request, bool allowXApiKey)
    {
        if (allowXApiKey && request.Headers.TryGetValue("x-api-key", out var apiKey))
        {
            return KeyMatches(apiKey.ToString()) ? "x-api-key" : null;
        }

        var authorization = request.Headers.Authorization.ToString();
        const string bearer = "Bearer ";
        if (authorization.StartsWith(bearer, StringComparison.Ordinal))
        {
            return KeyMatches(authorization[bearer.Length..]) ? "authorization" : null;
        }

        return null;
    }

    private bool KeyMatches(string presented) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(ApiKey));

    private static string AuthHeaderName(HttpRequest request) =>
        request.Headers.ContainsKey("x-api-key") ? "x-api-key" : request.Headers.ContainsKey("Authorization") ? "authorization" : "none";

    private static async Task<JsonObject?> ReadJsonAsync(HttpContext context)
    {
        try
        {
            return await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static IReadOnlyList<string> ToolNames(JsonObject request, Func<JsonNode, string?> name) =>
        request["tools"] is JsonArray tools
            ? tools.Where(t => t is not null).Select(t => name(t!) ?? t!["type"]?.GetValue<string>() ?? "?").ToList()
            : [];

    private static string Serialize(JsonNode node) => node.ToJsonString(Compact);

    /// <summary>Starts a server-sent-events response.</summary>
    private static void BeginEventStream(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
    }

    /// <summary>Writes one SSE event (optional <c>event:</c> line, one <c>data:</c> line) and flushes it.</summary>
    private static async Task WriteEventAsync(HttpResponse response, string? eventName, string data, CancellationToken cancellationToken)
    {
        var text = (eventName is null ? "" : $"event: {eventName}\n") + $"data: {data}\n\n";
        await response.WriteAsync(text, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    private static async Task WriteJsonAsync(HttpResponse response, int status, JsonNode body, CancellationToken cancellationToken)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        await response.WriteAsync(Serialize(body), cancellationToken);
    }

    /// <summary>
    /// A POSIX shell command that writes the file exactly: <c>printf '%s'</c> with single-quoted operands (no
    /// escape or format processing), preceded by <c>mkdir -p</c> when the path has a directory.
    /// </summary>
    internal static string ShellWriteCommand(ScriptedFileWrite write)
    {
        var printf = $"printf '%s' {ShellQuote(write.Content)} > {ShellQuote(write.RelativePath)}";
        var directory = Path.GetDirectoryName(write.RelativePath);
        return string.IsNullOrEmpty(directory) ? printf : $"mkdir -p {ShellQuote(directory)} && {printf}";
    }

    private static string ShellQuote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>The scripted file write.</summary>
    /// <param name="RelativePath">Path relative to the agent's working directory.</param>
    /// <param name="Content">Exact content.</param>
    internal sealed record ScriptedFileWrite(string RelativePath, string Content);

    /// <summary>What a handler parsed from a model call before answering it.</summary>
    private sealed record CallInfo(string Model, bool Stream, IReadOnlyList<string> Tools, bool HasToolResult, string AuthHeader, TimeSpan At);

    private sealed record Failure(int StatusCode, int? RetryAfterSeconds, int? Times);
}

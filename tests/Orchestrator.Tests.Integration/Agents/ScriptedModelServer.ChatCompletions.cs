using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Orchestrator.Tests.Integration.Agents;

/// <summary>
/// OpenAI Chat Completions (https://platform.openai.com/docs/api-reference/chat/create,
/// https://platform.openai.com/docs/api-reference/chat-streaming, error codes:
/// https://platform.openai.com/docs/guides/error-codes), as OpenCode's <c>@ai-sdk/openai-compatible</c> provider uses it.
/// </summary>
public sealed partial class ScriptedModelServer
{
    private async Task HandleChatCompletionsAsync(HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        var request = await ReadJsonAsync(context);
        if (request is null)
        {
            RecordUnexpected("POST /v1/chat/completions with a body that is not a JSON object");
            await WriteOpenAiErrorAsync(context.Response, StatusCodes.Status400BadRequest, null, cancellationToken);
            return;
        }

        var model = request["model"]?.GetValue<string>() ?? "";
        var stream = request["stream"]?.GetValue<bool>() ?? false;
        var tools = ToolNames(request, t => t["function"]?["name"]?.GetValue<string>());
        var hasToolResult = request["messages"] is JsonArray messages && messages.Any(m => m?["role"]?.GetValue<string>() == "tool");
        var info = new CallInfo(model, stream, tools, hasToolResult, AuthHeaderName(context.Request), _clock.Elapsed);

        if (Authenticate(context.Request, allowXApiKey: false) is null)
        {
            RecordUnexpected($"POST /v1/chat/completions with a wrong or missing API key ({info.AuthHeader})");
            Record(ModelApi.ChatCompletions, info, ModelAnswer.Error, 401);
            await WriteOpenAiErrorAsync(context.Response, StatusCodes.Status401Unauthorized, null, cancellationToken);
            return;
        }

        if (TakeFailure() is { } failure)
        {
            Record(ModelApi.ChatCompletions, info, ModelAnswer.Error, failure.StatusCode);
            await WriteOpenAiErrorAsync(context.Response, failure.StatusCode, failure.RetryAfterSeconds, cancellationToken);
            return;
        }

        var (write, finalText) = Script();
        ModelAnswer answer;
        string? text = null;
        JsonObject? toolCall = null;
        if (tools.Count == 0)
        {
            // OpenCode's title-generation call offers no tools: a short plain answer.
            answer = ModelAnswer.PlainText;
            text = "Scripted title";
        }
        else if (hasToolResult)
        {
            answer = ModelAnswer.FinalText;
            text = finalText;
        }
        else if (tools.Contains("write"))
        {
            answer = ModelAnswer.ToolCall;
            toolCall = new JsonObject
            {
                ["id"] = NextId("call"),
                ["type"] = "function",
                ["function"] = new JsonObject
                {
                    ["name"] = "write",
                    ["arguments"] = Serialize(new JsonObject { ["filePath"] = write.RelativePath, ["content"] = write.Content }),
                },
            };
        }
        else
        {
            RecordUnexpected($"POST /v1/chat/completions offered no write tool ({string.Join(",", tools)})");
            answer = ModelAnswer.PlainText;
            text = finalText;
        }

        Record(ModelApi.ChatCompletions, info, answer, 200);
        var id = NextId("chatcmpl");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var finishReason = toolCall is null ? "stop" : "tool_calls";
        var usage = new JsonObject
        {
            ["prompt_tokens"] = UsagePerCall.InputTokens,
            ["completion_tokens"] = UsagePerCall.OutputTokens,
            ["total_tokens"] = UsagePerCall.InputTokens + UsagePerCall.OutputTokens,
        };
        if (!stream)
        {
            var message = new JsonObject { ["role"] = "assistant", ["content"] = text };
            if (toolCall is not null)
            {
                message["tool_calls"] = new JsonArray(toolCall);
            }

            await WriteJsonAsync(context.Response, 200, new JsonObject
            {
                ["id"] = id,
                ["object"] = "chat.completion",
                ["created"] = created,
                ["model"] = model,
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = finishReason }),
                ["usage"] = usage,
            }, cancellationToken);
            return;
        }

        // Streaming: data-only SSE lines of chat.completion.chunk objects; the tool call arrives as an
        // indexed tool_calls delta (id, type, name, then arguments in pieces); a chunk with finish_reason;
        // a final chunk with empty choices and usage (what stream_options.include_usage yields); data: [DONE].
        BeginEventStream(context.Response);
        async Task Chunk(JsonObject delta, string? finish, JsonObject? chunkUsage = null)
        {
            var chunk = new JsonObject
            {
                ["id"] = id,
                ["object"] = "chat.completion.chunk",
                ["created"] = created,
                ["model"] = model,
                ["system_fingerprint"] = null,
                ["choices"] = chunkUsage is null
                    ? new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish })
                    : new JsonArray(),
            };
            if (chunkUsage is not null)
            {
                chunk["usage"] = chunkUsage;
            }

            await WriteEventAsync(context.Response, null, Serialize(chunk), cancellationToken);
        }

        if (toolCall is not null)
        {
            var arguments = toolCall["function"]!["arguments"]!.GetValue<string>();
            var half = arguments.Length / 2;
            await Chunk(new JsonObject
            {
                ["role"] = "assistant",
                ["content"] = null,
                ["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["id"] = toolCall["id"]!.DeepClone(),
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = "write", ["arguments"] = "" },
                }),
            }, null);
            foreach (var piece in new[] { arguments[..half], arguments[half..] })
            {
                await Chunk(new JsonObject
                {
                    ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = 0, ["function"] = new JsonObject { ["arguments"] = piece } }),
                }, null);
            }
        }
        else
        {
            await Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null);
            await Chunk(new JsonObject { ["content"] = text }, null);
        }

        await Chunk(new JsonObject(), finishReason);
        await Chunk(new JsonObject(), null, usage);
        await WriteEventAsync(context.Response, null, "[DONE]", cancellationToken);
    }

    /// <summary>
    /// OpenAI's error body <c>{"error":{"message","type","param","code"}}</c>; 429 carries <c>Retry-After</c>
    /// (seconds) when scripted. 529 is not an OpenAI status; it is answered with a server_error body.
    /// </summary>
    private static async Task WriteOpenAiErrorAsync(HttpResponse response, int status, int? retryAfterSeconds, CancellationToken cancellationToken)
    {
        var (type, code, message) = status switch
        {
            400 => ("invalid_request_error", (string?)null, "Invalid request."),
            401 => ("invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-orch-***."),
            403 => ("invalid_request_error", "unsupported_country_region_territory", "Country, region, or territory not supported"),
            404 => ("invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."),
            429 => ("requests", "rate_limit_exceeded", retryAfterSeconds is { } s
                ? $"Rate limit reached for requests. Please try again in {s}s."
                : "Rate limit reached for requests."),
            529 => ("server_error", null, "The server is overloaded. Please try again later."),
            _ => ("server_error", null, "The server had an error while processing your request. Sorry about that!"),
        };
        if (retryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await WriteJsonAsync(response, status, new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = null, ["code"] = code },
        }, cancellationToken);
    }
}

using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Orchestrator.Tests.Integration.Agents;

/// <summary>
/// The Anthropic Messages API (https://docs.anthropic.com/en/api/messages,
/// https://docs.anthropic.com/en/api/messages-streaming, https://docs.anthropic.com/en/api/errors).
/// </summary>
public sealed partial class ScriptedModelServer
{
    private async Task HandleAnthropicAsync(HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        var request = await ReadJsonAsync(context);
        if (request is null)
        {
            RecordUnexpected("POST /v1/messages with a body that is not a JSON object");
            await WriteAnthropicErrorAsync(context.Response, StatusCodes.Status400BadRequest, null, cancellationToken);
            return;
        }

        var model = request["model"]?.GetValue<string>() ?? "";
        var stream = request["stream"]?.GetValue<bool>() ?? false;
        var tools = ToolNames(request, t => t["name"]?.GetValue<string>());
        var hasToolResult = request["messages"] is JsonArray messages && messages.Any(m =>
            m?["content"] is JsonArray blocks && blocks.Any(b => b?["type"]?.GetValue<string>() == "tool_result"));
        var info = new CallInfo(model, stream, tools, hasToolResult, AuthHeaderName(context.Request), _clock.Elapsed);

        // Claude Code sends x-api-key for ANTHROPIC_API_KEY and "Authorization: Bearer" for ANTHROPIC_AUTH_TOKEN.
        if (Authenticate(context.Request, allowXApiKey: true) is null)
        {
            RecordUnexpected($"POST /v1/messages with a wrong or missing API key ({info.AuthHeader})");
            Record(ModelApi.AnthropicMessages, info, ModelAnswer.Error, 401);
            await WriteAnthropicErrorAsync(context.Response, StatusCodes.Status401Unauthorized, null, cancellationToken);
            return;
        }

        if (TakeFailure() is { } failure)
        {
            Record(ModelApi.AnthropicMessages, info, ModelAnswer.Error, failure.StatusCode);
            await WriteAnthropicErrorAsync(context.Response, failure.StatusCode, failure.RetryAfterSeconds, cancellationToken);
            return;
        }

        var (write, finalText) = Script();
        ModelAnswer answer;
        JsonArray content;
        string stopReason;
        if (tools.Count == 0)
        {
            answer = ModelAnswer.PlainText;
            content = [new JsonObject { ["type"] = "text", ["text"] = finalText }];
            stopReason = "end_turn";
        }
        else if (hasToolResult)
        {
            answer = ModelAnswer.FinalText;
            content = [new JsonObject { ["type"] = "text", ["text"] = finalText }];
            stopReason = "end_turn";
        }
        else if (tools.Contains("Write"))
        {
            answer = ModelAnswer.ToolCall;
            content =
            [
                new JsonObject
                {
                    ["type"] = "tool_use",
                    ["id"] = NextId("toolu"),
                    ["name"] = "Write",
                    ["input"] = new JsonObject { ["file_path"] = write.RelativePath, ["content"] = write.Content },
                },
            ];
            stopReason = "tool_use";
        }
        else
        {
            RecordUnexpected($"POST /v1/messages offered no Write tool ({string.Join(",", tools)})");
            answer = ModelAnswer.PlainText;
            content = [new JsonObject { ["type"] = "text", ["text"] = finalText }];
            stopReason = "end_turn";
        }

        Record(ModelApi.AnthropicMessages, info, answer, 200);
        var id = NextId("msg");
        if (!stream)
        {
            await WriteJsonAsync(context.Response, 200, new JsonObject
            {
                ["id"] = id,
                ["type"] = "message",
                ["role"] = "assistant",
                ["model"] = model,
                ["content"] = content,
                ["stop_reason"] = stopReason,
                ["stop_sequence"] = null,
                ["usage"] = AnthropicUsage(UsagePerCall.InputTokens, UsagePerCall.OutputTokens),
            }, cancellationToken);
            return;
        }

        await StreamAnthropicAsync(context.Response, id, model, content, stopReason, cancellationToken);
    }

    /// <summary>
    /// message_start (usage: input tokens, 1 output token) · ping · per block content_block_start /
    /// content_block_delta (text_delta or input_json_delta in two pieces) / content_block_stop · message_delta
    /// (stop_reason, cumulative output tokens) · message_stop — each as <c>event: NAME</c> + <c>data: JSON</c>.
    /// </summary>
    private async Task StreamAnthropicAsync(HttpResponse response, string id, string model, JsonArray content, string stopReason, CancellationToken cancellationToken)
    {
        BeginEventStream(response);
        response.Headers["request-id"] = NextId("req");
        async Task Send(string name, JsonObject data) => await WriteEventAsync(response, name, Serialize(data), cancellationToken);

        await Send("message_start", new JsonObject
        {
            ["type"] = "message_start",
            ["message"] = new JsonObject
            {
                ["id"] = id,
                ["type"] = "message",
                ["role"] = "assistant",
                ["model"] = model,
                ["content"] = new JsonArray(),
                ["stop_reason"] = null,
                ["stop_sequence"] = null,
                ["usage"] = AnthropicUsage(UsagePerCall.InputTokens, 1),
            },
        });
        await Send("ping", new JsonObject { ["type"] = "ping" });

        for (var index = 0; index < content.Count; index++)
        {
            var block = content[index]!.AsObject();
            var type = block["type"]!.GetValue<string>();
            JsonObject start;
            List<JsonObject> deltas = [];
            if (type == "tool_use")
            {
                start = new JsonObject { ["type"] = "tool_use", ["id"] = block["id"]!.DeepClone(), ["name"] = block["name"]!.DeepClone(), ["input"] = new JsonObject() };
                var json = Serialize(block["input"]!);
                var half = json.Length / 2;
                deltas.Add(new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = json[..half] });
                deltas.Add(new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = json[half..] });
            }
            else
            {
                start = new JsonObject { ["type"] = "text", ["text"] = "" };
                deltas.Add(new JsonObject { ["type"] = "text_delta", ["text"] = block["text"]!.DeepClone() });
            }

            await Send("content_block_start", new JsonObject { ["type"] = "content_block_start", ["index"] = index, ["content_block"] = start });
            foreach (var delta in deltas)
            {
                await Send("content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = index, ["delta"] = delta });
            }

            await Send("content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = index });
        }

        await Send("message_delta", new JsonObject
        {
            ["type"] = "message_delta",
            ["delta"] = new JsonObject { ["stop_reason"] = stopReason, ["stop_sequence"] = null },
            ["usage"] = new JsonObject { ["output_tokens"] = UsagePerCall.OutputTokens },
        });
        await Send("message_stop", new JsonObject { ["type"] = "message_stop" });
    }

    private static JsonObject AnthropicUsage(int input, int output) => new()
    {
        ["input_tokens"] = input,
        ["cache_creation_input_tokens"] = 0,
        ["cache_read_input_tokens"] = 0,
        ["output_tokens"] = output,
    };

    /// <summary>The Messages API error body: <c>{"type":"error","error":{"type","message"},"request_id"}</c>.</summary>
    private async Task WriteAnthropicErrorAsync(HttpResponse response, int status, int? retryAfterSeconds, CancellationToken cancellationToken)
    {
        var (type, message) = status switch
        {
            400 => ("invalid_request_error", "Invalid request."),
            401 => ("authentication_error", "invalid x-api-key"),
            403 => ("permission_error", "Your API key does not have permission to use the specified resource."),
            404 => ("not_found_error", "The requested resource could not be found."),
            413 => ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
            429 => ("rate_limit_error", "This request would exceed the rate limit for your organization. Please try again later."),
            529 => ("overloaded_error", "Overloaded"),
            _ => ("api_error", "Internal server error"),
        };
        var requestId = NextId("req");
        response.Headers["request-id"] = requestId;
        if (retryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await WriteJsonAsync(response, status, new JsonObject
        {
            ["type"] = "error",
            ["error"] = new JsonObject { ["type"] = type, ["message"] = message },
            ["request_id"] = requestId,
        }, cancellationToken);
    }
}

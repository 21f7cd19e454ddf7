using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Orchestrator.Tests.Integration.Agents;

/// <summary>
/// The OpenAI Responses API (https://platform.openai.com/docs/api-reference/responses/create and its
/// streaming events, https://platform.openai.com/docs/api-reference/responses-streaming), as Codex uses it with
/// <c>wire_api = "responses"</c>. Codex builds its turn from <c>response.output_item.done</c> items and ends it
/// on <c>response.completed</c> (with usage) followed by the end of the stream.
/// </summary>
public sealed partial class ScriptedModelServer
{
    private async Task HandleResponsesAsync(HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        var request = await ReadJsonAsync(context);
        if (request is null)
        {
            RecordUnexpected("POST /v1/responses with a body that is not a JSON object");
            await WriteOpenAiErrorAsync(context.Response, StatusCodes.Status400BadRequest, null, cancellationToken);
            return;
        }

        var model = request["model"]?.GetValue<string>() ?? "";
        var stream = request["stream"]?.GetValue<bool>() ?? false;
        var tools = ToolNames(request, t => t["name"]?.GetValue<string>());
        var hasToolResult = request["input"] is JsonArray input && input.Any(i =>
            i?["type"]?.GetValue<string>() is "function_call_output" or "custom_tool_call_output");
        var info = new CallInfo(model, stream, tools, hasToolResult, AuthHeaderName(context.Request), _clock.Elapsed);

        if (Authenticate(context.Request, allowXApiKey: false) is null)
        {
            RecordUnexpected($"POST /v1/responses with a wrong or missing API key ({info.AuthHeader})");
            Record(ModelApi.Responses, info, ModelAnswer.Error, 401);
            await WriteOpenAiErrorAsync(context.Response, StatusCodes.Status401Unauthorized, null, cancellationToken);
            return;
        }

        if (TakeFailure() is { } failure)
        {
            Record(ModelApi.Responses, info, ModelAnswer.Error, failure.StatusCode);
            await WriteOpenAiErrorAsync(context.Response, failure.StatusCode, failure.RetryAfterSeconds, cancellationToken);
            return;
        }

        var (write, finalText) = Script();
        ModelAnswer answer;
        JsonObject item;
        if (tools.Count > 0 && !hasToolResult && (tools.Contains("exec_command") || tools.Contains("shell")))
        {
            // Codex 0.169 offers the unified exec tool `exec_command {cmd}` (run with the user's shell, in the
            // working directory); older builds offered `shell {command: [argv]}`.
            answer = ModelAnswer.ToolCall;
            var command = ShellWriteCommand(write);
            var useExec = tools.Contains("exec_command");
            item = new JsonObject
            {
                ["type"] = "function_call",
                ["id"] = NextId("fc"),
                ["call_id"] = NextId("call"),
                ["name"] = useExec ? "exec_command" : "shell",
                ["arguments"] = Serialize(useExec
                    ? new JsonObject { ["cmd"] = command }
                    : new JsonObject { ["command"] = new JsonArray("bash", "-lc", command) }),
                ["status"] = "completed",
            };
        }
        else
        {
            if (tools.Count > 0 && !hasToolResult)
            {
                RecordUnexpected($"POST /v1/responses offered no exec_command/shell tool ({string.Join(",", tools)})");
            }

            answer = tools.Count == 0 ? ModelAnswer.PlainText : hasToolResult ? ModelAnswer.FinalText : ModelAnswer.PlainText;
            item = new JsonObject
            {
                ["type"] = "message",
                ["id"] = NextId("msg"),
                ["status"] = "completed",
                ["role"] = "assistant",
                ["content"] = new JsonArray(new JsonObject { ["type"] = "output_text", ["text"] = finalText, ["annotations"] = new JsonArray() }),
            };
        }

        Record(ModelApi.Responses, info, answer, 200);
        var responseId = NextId("resp");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        JsonObject Response(string status, JsonArray output, JsonObject? usage) => new()
        {
            ["id"] = responseId,
            ["object"] = "response",
            ["created_at"] = created,
            ["status"] = status,
            ["model"] = model,
            ["output"] = output,
            ["usage"] = usage,
        };
        var usage = new JsonObject
        {
            ["input_tokens"] = UsagePerCall.InputTokens,
            ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = 0 },
            ["output_tokens"] = UsagePerCall.OutputTokens,
            ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0 },
            ["total_tokens"] = UsagePerCall.InputTokens + UsagePerCall.OutputTokens,
        };

        if (!stream)
        {
            await WriteJsonAsync(context.Response, 200, Response("completed", new JsonArray(item), usage), cancellationToken);
            return;
        }

        BeginEventStream(context.Response);
        var sequence = 0;
        async Task Send(string type, JsonObject data)
        {
            data["type"] = type;
            data["sequence_number"] = sequence++;
            await WriteEventAsync(context.Response, type, Serialize(data), cancellationToken);
        }

        var itemId = item["id"]!.GetValue<string>();
        await Send("response.created", new JsonObject { ["response"] = Response("in_progress", [], null) });
        await Send("response.in_progress", new JsonObject { ["response"] = Response("in_progress", [], null) });
        var added = item.DeepClone().AsObject();
        added["status"] = "in_progress";
        if (answer == ModelAnswer.ToolCall)
        {
            added["arguments"] = "";
            await Send("response.output_item.added", new JsonObject { ["output_index"] = 0, ["item"] = added });
            var arguments = item["arguments"]!.GetValue<string>();
            var half = arguments.Length / 2;
            foreach (var piece in new[] { arguments[..half], arguments[half..] })
            {
                await Send("response.function_call_arguments.delta", new JsonObject { ["item_id"] = itemId, ["output_index"] = 0, ["delta"] = piece });
            }

            await Send("response.function_call_arguments.done", new JsonObject { ["item_id"] = itemId, ["output_index"] = 0, ["arguments"] = arguments });
        }
        else
        {
            added["content"] = new JsonArray();
            await Send("response.output_item.added", new JsonObject { ["output_index"] = 0, ["item"] = added });
            JsonObject Part(string text) => new() { ["type"] = "output_text", ["text"] = text, ["annotations"] = new JsonArray() };
            JsonObject At() => new() { ["item_id"] = itemId, ["output_index"] = 0, ["content_index"] = 0 };
            var added2 = At();
            added2["part"] = Part("");
            await Send("response.content_part.added", added2);
            var delta = At();
            delta["delta"] = finalText;
            await Send("response.output_text.delta", delta);
            var textDone = At();
            textDone["text"] = finalText;
            await Send("response.output_text.done", textDone);
            var partDone = At();
            partDone["part"] = Part(finalText);
            await Send("response.content_part.done", partDone);
        }

        await Send("response.output_item.done", new JsonObject { ["output_index"] = 0, ["item"] = item.DeepClone() });
        await Send("response.completed", new JsonObject { ["response"] = Response("completed", new JsonArray(item.DeepClone()), usage) });
    }
}

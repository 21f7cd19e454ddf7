using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Orchestrator.Tests.Integration.Agents;

/// <summary>The scripted model server on its own (no CLI): wire shapes, script, failures, key check.</summary>
public sealed class ScriptedModelServerTests
{
    private const string AnthropicTools = """[{"name":"Write","input_schema":{"type":"object"}}]""";
    private const string ChatTools = """[{"type":"function","function":{"name":"write","parameters":{"type":"object"}}}]""";
    private const string ResponsesTools = """[{"type":"function","name":"exec_command","parameters":{"type":"object"}},{"type":"web_search"}]""";

    [Fact]
    public async Task Anthropic_stream_is_the_documented_event_sequence_with_a_Write_tool_call()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        server.ScriptWriteFile("a/b.txt", "x'y\n");
        using var http = new HttpClient();

        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, server.BaseUrl));
        using var response = await PostAsync(http, server, "v1/messages?beta=true", anthropic: true,
            $$"""{"model":"m","stream":true,"max_tokens":10,"tools":{{AnthropicTools}},"messages":[{"role":"user","content":"go"}]}""");

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = ParseSse(await response.Content.ReadAsStringAsync());
        Assert.Equal(
            ["message_start", "ping", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            events.Select(e => e.Name));
        Assert.All(events, e => Assert.Equal(e.Name, e.Data.GetProperty("type").GetString()));
        Assert.Equal("Write", events[2].Data.GetProperty("content_block").GetProperty("name").GetString());
        var input = JsonDocument.Parse(string.Concat(events.Where(e => e.Name == "content_block_delta")
            .Select(e => e.Data.GetProperty("delta").GetProperty("partial_json").GetString()))).RootElement;
        Assert.Equal("a/b.txt", input.GetProperty("file_path").GetString());
        Assert.Equal("x'y\n", input.GetProperty("content").GetString());
        Assert.Equal(200, events[0].Data.GetProperty("message").GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal("tool_use", events[6].Data.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal(40, events[6].Data.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Empty(server.UnexpectedRequests);
    }

    [Fact]
    public async Task A_tool_result_gets_the_final_text_and_no_tools_gets_plain_text_also_without_streaming()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        server.ScriptWriteFile("f.txt", "c", finalText: "All done");
        using var http = new HttpClient();

        using var afterTool = await PostAsync(http, server, "v1/messages", anthropic: true,
            $$"""{"model":"m","max_tokens":10,"tools":{{AnthropicTools}},"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"ok"}]}]}""");
        using var chat = await PostAsync(http, server, "v1/chat/completions", anthropic: false,
            """{"model":"m","messages":[{"role":"user","content":"title?"}]}""");

        var message = JsonDocument.Parse(await afterTool.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("All done", message.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal("end_turn", message.GetProperty("stop_reason").GetString());
        var completion = JsonDocument.Parse(await chat.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("chat.completion", completion.GetProperty("object").GetString());
        Assert.Equal(240, completion.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        Assert.Equal([ModelAnswer.FinalText, ModelAnswer.PlainText], server.ModelCalls.Select(c => c.Answer));
    }

    [Fact]
    public async Task Chat_completions_stream_a_tool_call_then_usage_then_DONE()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        server.ScriptWriteFile("f.txt", "c");
        using var http = new HttpClient();

        using var response = await PostAsync(http, server, "v1/chat/completions", anthropic: false,
            $$"""{"model":"m","stream":true,"stream_options":{"include_usage":true},"tools":{{ChatTools}},"messages":[{"role":"user","content":"go"}]}""");

        var lines = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.StartsWith("data: ", l, StringComparison.Ordinal));
        Assert.Equal("data: [DONE]", lines[^1]);
        var chunks = lines[..^1].Select(l => JsonDocument.Parse(l["data: ".Length..]).RootElement).ToList();
        var arguments = string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta"))
            .Where(d => d.TryGetProperty("tool_calls", out _))
            .Select(d => d.GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString()));
        Assert.Equal("""{"filePath":"f.txt","content":"c"}""", arguments);
        Assert.Equal("write", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("tool_calls")[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("tool_calls", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(200, chunks[^1].GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task Responses_stream_an_exec_command_call_that_writes_the_file_and_completes_with_usage()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        server.ScriptWriteFile("d/it's.txt", "a 'quoted' line\n");
        using var http = new HttpClient();

        using var response = await PostAsync(http, server, "v1/responses", anthropic: false,
            $$"""{"model":"m","stream":true,"tools":{{ResponsesTools}},"input":[{"type":"message","role":"user","content":[]}]}""");

        var events = ParseSse(await response.Content.ReadAsStringAsync());
        Assert.Equal(
            ["response.created", "response.in_progress", "response.output_item.added", "response.function_call_arguments.delta",
             "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done", "response.completed"],
            events.Select(e => e.Name));
        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e.Data.GetProperty("sequence_number").GetInt32()));
        var item = events[6].Data.GetProperty("item");
        Assert.Equal("exec_command", item.GetProperty("name").GetString());
        var command = JsonDocument.Parse(item.GetProperty("arguments").GetString()!).RootElement.GetProperty("cmd").GetString()!;
        Assert.Equal(40, events[7].Data.GetProperty("response").GetProperty("usage").GetProperty("output_tokens").GetInt32());

        // The command is a real shell command: run it and compare the bytes.
        var dir = Directory.CreateTempSubdirectory("orch-shell-").FullName;
        try
        {
            using var shell = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/bin/bash", ["-c", command]) { WorkingDirectory = dir })!;
            await shell.WaitForExitAsync();
            Assert.Equal(0, shell.ExitCode);
            Assert.Equal("a 'quoted' line\n", await File.ReadAllTextAsync(Path.Combine(dir, "d", "it's.txt")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("v1/messages", true, 401, null, "authentication_error")]
    [InlineData("v1/messages", true, 429, 7, "rate_limit_error")]
    [InlineData("v1/messages", true, 529, null, "overloaded_error")]
    [InlineData("v1/chat/completions", false, 401, null, "invalid_api_key")]
    [InlineData("v1/responses", false, 429, 7, "rate_limit_exceeded")]
    public async Task FailWith_answers_the_API_error_shape_and_Retry_After(string path, bool anthropic, int status, int? retryAfter, string kind)
    {
        await using var server = await ScriptedModelServer.StartAsync();
        server.FailWith(status, retryAfter, times: 1);
        using var http = new HttpClient();

        using var failed = await PostAsync(http, server, path, anthropic, """{"model":"m","stream":true}""");
        using var next = await PostAsync(http, server, path, anthropic, """{"model":"m"}""");

        Assert.Equal(status, (int)failed.StatusCode);
        Assert.Equal(retryAfter?.ToString(System.Globalization.CultureInfo.InvariantCulture), failed.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var body = JsonDocument.Parse(await failed.Content.ReadAsStringAsync()).RootElement;
        if (anthropic)
        {
            Assert.Equal("error", body.GetProperty("type").GetString());
            Assert.Equal(kind, body.GetProperty("error").GetProperty("type").GetString());
        }
        else
        {
            Assert.Equal(kind, body.GetProperty("error").GetProperty("code").GetString());
            Assert.True(body.GetProperty("error").TryGetProperty("message", out _));
        }

        Assert.Equal(HttpStatusCode.OK, next.StatusCode); // times: 1
        Assert.Empty(server.UnexpectedRequests);
    }

    [Fact]
    public async Task A_wrong_key_or_an_unknown_route_is_recorded_as_unexpected()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        using var http = new HttpClient();

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseUrl, "v1/chat/completions"))
        {
            Content = new StringContent("""{"model":"m"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-wrong");
        using var wrongKey = await http.SendAsync(request);
        using var unknown = await http.GetAsync(new Uri(server.BaseUrl, "v1/models"));

        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);
        Assert.Equal(HttpStatusCode.NotImplemented, unknown.StatusCode);
        Assert.Equal(2, server.UnexpectedRequests.Count);
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, ScriptedModelServer server, string path, bool anthropic, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseUrl, path))
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        if (anthropic)
        {
            request.Headers.Add("x-api-key", server.ApiKey);
        }
        else
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", server.ApiKey);
        }

        return await http.SendAsync(request);
    }

    private static List<(string Name, JsonElement Data)> ParseSse(string text) =>
        text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(block =>
        {
            var lines = block.Split('\n');
            var name = lines.Single(l => l.StartsWith("event: ", StringComparison.Ordinal))["event: ".Length..];
            var data = lines.Single(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..];
            return (name, JsonDocument.Parse(data).RootElement.Clone());
        }).ToList();
}

using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Orchestrator.Tests.Integration.Agents;

// The REAL published CLIs (installed by .ci/install-agents.sh) run headless against ScriptedModelServer on
// 127.0.0.1. One class per CLI so xUnit runs the three in parallel. What each CLI does on the wire, and its
// retry behaviour, is written down in README.md beside this file.

/// <summary>Claude Code (<c>claude -p --output-format json</c>) against the Anthropic Messages API.</summary>
public sealed class RealCliClaudeCodeTests
{
    [Fact]
    public async Task Writes_the_file_with_Write_and_reports_usage_and_cost()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        using var sandbox = await CliSandbox.CreateAsync();
        server.ScriptWriteFile(RealCli.FilePath, RealCli.FileContent);

        var run = await sandbox.RunAsync(sandbox.ClaudeCommand(server.AnthropicBaseUrl, server.ApiKey, RealCli.Prompt), RealCli.Timeout);

        var because = RealCli.Because(run, server);
        Assert.True(run.ExitCode == 0 && !run.KilledByTimeout, because);
        RealCli.AssertFileWritten(sandbox, because);
        using var result = RealCli.ParseObject(run.Stdout, because);
        var root = result.RootElement;
        Assert.Equal("result", root.GetProperty("type").GetString());
        Assert.False(root.GetProperty("is_error").GetBoolean(), because);
        Assert.Equal("Done", root.GetProperty("result").GetString());
        Assert.Equal(2, root.GetProperty("num_turns").GetInt32());

        // Two answered calls of 200 in / 40 out; claude-sonnet-4-5 is priced 3 / 15 USD per million tokens.
        Assert.Equal(2, server.AnsweredCalls);
        Assert.Equal(400, root.GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal(80, root.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal((400 * 3 + 80 * 15) / 1_000_000m, root.GetProperty("total_cost_usd").GetDecimal(), 9);

        // Wire: HEAD / first, then streamed Messages calls with x-api-key, anthropic-version and the Write tool.
        Assert.Equal(("HEAD", "/"), (server.Requests[0].Method, server.Requests[0].PathAndQuery));
        var posts = server.Requests.Where(r => r.Method == "POST").ToList();
        Assert.All(posts, r => Assert.Equal("/v1/messages?beta=true", r.PathAndQuery));
        Assert.All(posts, r => Assert.Equal("2023-06-01", r.Headers["anthropic-version"]));
        Assert.Equal([ModelAnswer.ToolCall, ModelAnswer.FinalText], server.ModelCalls.Select(c => c.Answer));
        Assert.All(server.ModelCalls, c => Assert.True(c.Stream && c.AuthHeader == "x-api-key" && c.Tools.Contains("Write"), because));
        Assert.Empty(server.UnexpectedRequests);
    }

    [Theory]
    [InlineData(401, null, "Invalid API key")]
    [InlineData(429, 7, "429")]
    [InlineData(529, null, "Overloaded")]
    public async Task An_API_error_ends_the_run_at_once_with_the_status_in_the_json(int status, int? retryAfter, string inResult)
    {
        await using var server = await ScriptedModelServer.StartAsync();
        using var sandbox = await CliSandbox.CreateAsync();
        server.FailWith(status, retryAfter);

        var run = await sandbox.RunAsync(sandbox.ClaudeCommand(server.AnthropicBaseUrl, server.ApiKey, RealCli.Prompt), RealCli.Timeout);

        var because = RealCli.Because(run, server);
        Assert.True(run.ExitCode == 1 && !run.KilledByTimeout, because);
        using var result = RealCli.ParseObject(run.Stdout, because);
        var root = result.RootElement;
        Assert.True(root.GetProperty("is_error").GetBoolean(), because);
        Assert.Equal(status, root.GetProperty("api_error_status").GetInt32());
        Assert.Contains(inResult, root.GetProperty("result").GetString(), StringComparison.Ordinal);
        Assert.Equal("success", root.GetProperty("subtype").GetString()); // sic: judge by is_error and the exit code
        Assert.Single(server.ModelCalls); // CLAUDE_CODE_MAX_RETRIES=0: no retry, whatever the status
        Assert.Equal(0, root.GetProperty("total_cost_usd").GetDecimal());
        Assert.Empty(server.UnexpectedRequests);
    }

    [Fact]
    public async Task A_wrong_key_is_answered_401_and_recorded_as_unexpected()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        using var sandbox = await CliSandbox.CreateAsync();

        var run = await sandbox.RunAsync(sandbox.ClaudeCommand(server.AnthropicBaseUrl, "sk-ant-not-the-test-key", RealCli.Prompt), RealCli.Timeout);

        var because = RealCli.Because(run, server);
        Assert.True(run.ExitCode == 1, because);
        using var result = RealCli.ParseObject(run.Stdout, because);
        Assert.Equal(401, result.RootElement.GetProperty("api_error_status").GetInt32());
        Assert.Contains(server.UnexpectedRequests, u => u.Contains("wrong or missing API key (x-api-key)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refused_connection_ends_the_run_at_once()
    {
        using var sandbox = await CliSandbox.CreateAsync();

        var run = await sandbox.RunAsync(sandbox.ClaudeCommand($"http://127.0.0.1:{RealCli.ClosedPort()}", ScriptedModelServer.DefaultApiKey, RealCli.Prompt), RealCli.Timeout);

        Assert.True(run.ExitCode == 1 && !run.KilledByTimeout, run.Describe());
        using var result = RealCli.ParseObject(run.Stdout, run.Describe());
        Assert.True(result.RootElement.GetProperty("is_error").GetBoolean());
        Assert.Equal(JsonValueKind.Null, result.RootElement.GetProperty("api_error_status").ValueKind);
        Assert.Contains("ConnectionRefused", result.RootElement.GetProperty("result").GetString(), StringComparison.Ordinal);
    }
}

/// <summary>OpenCode (<c>opencode run --format json</c>) against OpenAI Chat Completions.</summary>
public sealed class RealCliOpenCodeTests
{
    [Fact]
    public async Task Writes_the_file_with_write_and_reports_tokens_and_cost_per_step()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        using var sandbox = await CliSandbox.CreateAsync();
        server.ScriptWriteFile(RealCli.FilePath, RealCli.FileContent);

        var run = await sandbox.RunAsync(sandbox.OpenCodeCommand(server.OpenAiBaseUrl, server.ApiKey, RealCli.Prompt), RealCli.Timeout);

        var because = RealCli.Because(run, server);
        Assert.True(run.ExitCode == 0 && !run.KilledByTimeout, because);
        RealCli.AssertFileWritten(sandbox, because);
        var events = RealCli.ParseLines(run.Stdout, because);
        Assert.DoesNotContain(events, e => e.GetProperty("type").GetString() == "error");
        var tool = Assert.Single(events, e => e.GetProperty("type").GetString() == "tool_use").GetProperty("part");
        Assert.Equal("write", tool.GetProperty("tool").GetString());
        Assert.Equal("completed", tool.GetProperty("state").GetProperty("status").GetString());
        Assert.Equal(RealCli.FilePath, tool.GetProperty("state").GetProperty("input").GetProperty("filePath").GetString());
        Assert.Equal("Done", Assert.Single(events, e => e.GetProperty("type").GetString() == "text").GetProperty("part").GetProperty("text").GetString());

        // One step_finish per answered call with tools (the title call is not a step): 200 in / 40 out each,
        // priced by the config's cost (3 / 15 USD per million tokens).
        var steps = events.Where(e => e.GetProperty("type").GetString() == "step_finish").Select(e => e.GetProperty("part")).ToList();
        Assert.Equal(["tool-calls", "stop"], steps.Select(s => s.GetProperty("reason").GetString()));
        Assert.All(steps, s => Assert.Equal(200, s.GetProperty("tokens").GetProperty("input").GetInt32()));
        Assert.All(steps, s => Assert.Equal(40, s.GetProperty("tokens").GetProperty("output").GetInt32()));
        Assert.All(steps, s => Assert.Equal((200 * 3 + 40 * 15) / 1_000_000m, s.GetProperty("cost").GetDecimal(), 9));

        // Wire: a title call without tools (plain text), then the tool call and the final text, all streamed
        // with "Authorization: Bearer" and stream_options.include_usage.
        Assert.Equal(
            new[] { ModelAnswer.PlainText, ModelAnswer.ToolCall, ModelAnswer.FinalText }.Order(),
            server.ModelCalls.Select(c => c.Answer).Order());
        Assert.All(server.ModelCalls, c => Assert.True(c.Stream && c.AuthHeader == "authorization", because));
        Assert.Contains("write", server.ModelCalls.Single(c => c.Answer == ModelAnswer.ToolCall).Tools);
        Assert.All(server.Requests, r => Assert.Contains("\"include_usage\":true", r.Body, StringComparison.Ordinal));
        Assert.Empty(server.UnexpectedRequests);
    }

    [Fact]
    public async Task A_401_ends_the_run_with_an_APIError_event()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        using var sandbox = await CliSandbox.CreateAsync();
        server.FailWith(401);

        var run = await sandbox.RunAsync(sandbox.OpenCodeCommand(server.OpenAiBaseUrl, server.ApiKey, RealCli.Prompt), RealCli.Timeout);

        var because = RealCli.Because(run, server);
        Assert.True(run.ExitCode == 1 && !run.KilledByTimeout, because);
        var error = RealCli.SingleError(RealCli.ParseLines(run.Stdout, because));
        Assert.Equal("APIError", error.GetProperty("name").GetString());
        Assert.Equal(401, error.GetProperty("data").GetProperty("statusCode").GetInt32());
        Assert.False(error.GetProperty("data").GetProperty("isRetryable").GetBoolean());
        Assert.Single(server.ModelCalls, c => c.Tools.Count > 0); // not retried
        Assert.Empty(server.UnexpectedRequests);
    }

    [Fact]
    public async Task A_429_is_retried_five_times_honouring_Retry_After_then_ends_the_run()
    {
        // OpenCode waits exactly Retry-After between attempts (1 + 5 retries). With the 7 s of the other CLIs'
        // tests that is 35 s of waiting, so this test asks for 1 s.
        await using var server = await ScriptedModelServer.StartAsync();
        using var sandbox = await CliSandbox.CreateAsync();
        server.FailWith(429, retryAfterSeconds: 1);

        var run = await sandbox.RunAsync(sandbox.OpenCodeCommand(server.OpenAiBaseUrl, server.ApiKey, RealCli.Prompt), RealCli.Timeout);

        var because = RealCli.Because(run, server);
        Assert.True(run.ExitCode == 1 && !run.KilledByTimeout, because);
        var data = RealCli.SingleError(RealCli.ParseLines(run.Stdout, because)).GetProperty("data");
        Assert.Equal(429, data.GetProperty("statusCode").GetInt32());
        Assert.True(data.GetProperty("isRetryable").GetBoolean());
        Assert.Equal("1", data.GetProperty("responseHeaders").GetProperty("retry-after").GetString());
        var turns = server.ModelCalls.Where(c => c.Tools.Count > 0).ToList();
        Assert.Equal(6, turns.Count);
        Assert.All(turns.Zip(turns.Skip(1)), pair => Assert.True(pair.Second.At - pair.First.At >= TimeSpan.FromSeconds(0.9), because));
        Assert.Empty(server.UnexpectedRequests);
    }

    [Fact]
    public async Task A_refused_connection_is_retried_past_our_timeout_and_killed()
    {
        // OpenCode retries a refused connection 5 times with 2-4-8-16-30 s backoff (about 67 s) before it
        // gives up; the runner's wall-clock limit ends it first.
        using var sandbox = await CliSandbox.CreateAsync();

        var run = await sandbox.RunAsync(
            sandbox.OpenCodeCommand($"http://127.0.0.1:{RealCli.ClosedPort()}/v1", ScriptedModelServer.DefaultApiKey, RealCli.Prompt),
            RealCli.RefusedTimeout);

        Assert.True(run.KilledByTimeout, run.Describe());
        Assert.DoesNotContain("\"type\":\"step_finish\"", run.Stdout, StringComparison.Ordinal);
    }
}

/// <summary>Codex (<c>codex exec --json</c>) against the OpenAI Responses API.</summary>
public sealed class RealCliCodexTests
{
    [Fact]
    public async Task Writes_the_file_with_exec_command_and_reports_usage()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        using var sandbox = await CliSandbox.CreateAsync();
        server.ScriptWriteFile(RealCli.FilePath, RealCli.FileContent);

        var run = await sandbox.RunAsync(sandbox.CodexCommand(server.OpenAiBaseUrl, server.ApiKey, RealCli.Prompt), RealCli.Timeout);

        var because = RealCli.Because(run, server);
        Assert.True(run.ExitCode == 0 && !run.KilledByTimeout, because);
        RealCli.AssertFileWritten(sandbox, because);
        var events = RealCli.ParseLines(run.Stdout, because);
        Assert.Equal("thread.started", events[0].GetProperty("type").GetString());
        var completed = events.Where(e => e.GetProperty("type").GetString() == "item.completed").Select(e => e.GetProperty("item")).ToList();
        var command = Assert.Single(completed, i => i.GetProperty("type").GetString() == "command_execution");
        Assert.Equal(0, command.GetProperty("exit_code").GetInt32());
        Assert.Equal("completed", command.GetProperty("status").GetString());
        Assert.Contains("printf '%s'", command.GetProperty("command").GetString(), StringComparison.Ordinal);
        Assert.Equal("Done", Assert.Single(completed, i => i.GetProperty("type").GetString() == "agent_message").GetProperty("text").GetString());

        // turn.completed adds up the turn's calls: 2 × (200 in / 40 out). Codex reports no cost.
        var usage = Assert.Single(events, e => e.GetProperty("type").GetString() == "turn.completed").GetProperty("usage");
        Assert.Equal(400, usage.GetProperty("input_tokens").GetInt32());
        Assert.Equal(80, usage.GetProperty("output_tokens").GetInt32());

        // Wire: two streamed Responses calls with "Authorization: Bearer", offering exec_command.
        Assert.Equal([ModelAnswer.ToolCall, ModelAnswer.FinalText], server.ModelCalls.Select(c => c.Answer));
        Assert.All(server.ModelCalls, c => Assert.True(c.Stream && c.AuthHeader == "authorization" && c.Tools.Contains("exec_command"), because));
        Assert.All(server.Requests, r => Assert.Equal(("POST", "/v1/responses"), (r.Method, r.PathAndQuery)));
        Assert.Empty(server.UnexpectedRequests);
    }

    [Theory]
    [InlineData(401, null, "401 Unauthorized")]
    [InlineData(429, 7, "429 Too Many Requests")]
    public async Task An_API_error_fails_the_turn_at_once(int status, int? retryAfter, string inMessage)
    {
        await using var server = await ScriptedModelServer.StartAsync();
        using var sandbox = await CliSandbox.CreateAsync();
        server.FailWith(status, retryAfter);

        var run = await sandbox.RunAsync(sandbox.CodexCommand(server.OpenAiBaseUrl, server.ApiKey, RealCli.Prompt), RealCli.Timeout);

        var because = RealCli.Because(run, server);
        Assert.True(run.ExitCode == 1 && !run.KilledByTimeout, because);
        var events = RealCli.ParseLines(run.Stdout, because);
        Assert.Contains(inMessage, Assert.Single(events, e => e.GetProperty("type").GetString() == "error").GetProperty("message").GetString(), StringComparison.Ordinal);
        var failed = Assert.Single(events, e => e.GetProperty("type").GetString() == "turn.failed");
        Assert.Contains(inMessage, failed.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Single(server.ModelCalls); // 401 and 429 are not retried
        Assert.Empty(server.UnexpectedRequests);
    }

    [Fact]
    public async Task A_refused_connection_is_retried_forever_and_killed_by_our_timeout()
    {
        using var sandbox = await CliSandbox.CreateAsync();

        var run = await sandbox.RunAsync(
            sandbox.CodexCommand($"http://127.0.0.1:{RealCli.ClosedPort()}/v1", ScriptedModelServer.DefaultApiKey, RealCli.Prompt),
            RealCli.RefusedTimeout);

        Assert.True(run.KilledByTimeout, run.Describe());
        var events = RealCli.ParseLines(run.Stdout, run.Describe());
        Assert.Contains(events, e => e.GetProperty("type").GetString() == "error"
            && e.GetProperty("message").GetString()!.StartsWith("Reconnecting...", StringComparison.Ordinal));
        Assert.DoesNotContain(events, e => e.GetProperty("type").GetString() is "turn.failed" or "turn.completed");
    }

    [Fact]
    public async Task Without_unbounded_connection_retries_a_refused_connection_fails_the_turn_at_once()
    {
        using var sandbox = await CliSandbox.CreateAsync();

        var run = await sandbox.RunAsync(
            sandbox.CodexCommand($"http://127.0.0.1:{RealCli.ClosedPort()}/v1", ScriptedModelServer.DefaultApiKey, RealCli.Prompt, unboundedConnectionRetries: false),
            RealCli.Timeout);

        Assert.True(run.ExitCode == 1 && !run.KilledByTimeout, run.Describe());
        var failed = Assert.Single(RealCli.ParseLines(run.Stdout, run.Describe()), e => e.GetProperty("type").GetString() == "turn.failed");
        Assert.Contains("Connection failed", failed.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}

/// <summary>What the real-CLI tests share.</summary>
internal static class RealCli
{
    public const string Prompt = "Create notes/hello.txt with the agreed content, then say Done.";
    public const string FilePath = "notes/hello.txt";
    public const string FileContent = "hello from the scripted model\nit's written by the real CLI\n";

    /// <summary>Hard limit of a run that should end by itself (OpenCode alone needs 5-10 s to start on 2 cores).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>The limit for runs that retry a refused connection (Codex: forever; OpenCode: about 67 s).</summary>
    public static readonly TimeSpan RefusedTimeout = TimeSpan.FromSeconds(10);

    public static string Because(CliRun run, ScriptedModelServer server) => run.Describe() + "\n--- server ---\n" + server.Describe();

    /// <summary>The scripted file exists in the repository with exactly the scripted content.</summary>
    public static void AssertFileWritten(CliSandbox sandbox, string because)
    {
        var path = sandbox.RepoPath(FilePath);
        Assert.True(File.Exists(path), $"{FilePath} was not written\n{because}");
        Assert.Equal(FileContent, File.ReadAllText(path));
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    public static int ClosedPort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    public static JsonDocument ParseObject(string stdout, string because)
    {
        try
        {
            return JsonDocument.Parse(stdout);
        }
        catch (JsonException e)
        {
            Assert.Fail($"stdout is not one JSON object ({e.Message})\n{because}");
            throw;
        }
    }

    /// <summary>Parses JSON lines; every non-empty line must be a JSON object.</summary>
    public static List<JsonElement> ParseLines(string stdout, string because)
    {
        List<JsonElement> events = [];
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            try
            {
                using var document = JsonDocument.Parse(line);
                events.Add(document.RootElement.Clone());
            }
            catch (JsonException e)
            {
                Assert.Fail($"stdout line is not JSON ({e.Message}): {line}\n{because}");
            }
        }

        Assert.True(events.Count > 0, "no JSON output\n" + because);
        return events;
    }

    /// <summary>The <c>error</c> object of OpenCode's single <c>{"type":"error"}</c> event.</summary>
    public static JsonElement SingleError(List<JsonElement> events) =>
        Assert.Single(events, e => e.GetProperty("type").GetString() == "error").GetProperty("error");
}

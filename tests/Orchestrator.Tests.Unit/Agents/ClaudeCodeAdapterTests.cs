using Orchestrator.Shared.Agents;
using Orchestrator.Shared.Agents.Adapters;
using static Orchestrator.Tests.Unit.Agents.AgentFixtures;

namespace Orchestrator.Tests.Unit.Agents;

public sealed class ClaudeCodeAdapterTests
{
    private const string SecretKey = "sk-ant-api03-0123456789abcdef";

    private readonly ClaudeCodeAdapter _adapter = new();

    private static AgentSettings Claude => Settings(AgentKind.ClaudeCode, "claude") with
    {
        Environment = new Dictionary<string, string>
        {
            ["ANTHROPIC_API_KEY"] = SecretKey,
            ["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:8787",
        },
    };

    [Fact]
    public void Build_minimal_puts_the_prompt_last_after_a_double_dash()
    {
        var invocation = _adapter.Build(Claude, Request());

        Assert.Equal("claude", invocation.FileName);
        Assert.Equal(["-p", "--output-format", "json", "--permission-mode", "acceptEdits", "--", "Write hello.txt"], invocation.Arguments);
        Assert.Empty(invocation.Files);
        Assert.Empty(invocation.Warnings);
    }

    [Fact]
    public void Build_sets_the_headless_environment()
    {
        var invocation = _adapter.Build(Claude, Request());

        Assert.Equal(
            new Dictionary<string, string>
            {
                ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
                ["CLAUDE_CODE_MAX_RETRIES"] = "0",
                ["DISABLE_AUTOUPDATER"] = "1",
            },
            invocation.Environment);
    }

    [Fact]
    public void Build_with_model_effort_binary_and_extra_args()
    {
        var settings = Claude with
        {
            Binary = "/opt/claude/bin/claude",
            Model = " claude-sonnet-4-5 ",
            Effort = "HIGH",
            ExtraArgs = ["--max-budget-usd", "2", "--allowedTools", "Bash(git *)"],
        };

        var invocation = _adapter.Build(settings, Request());

        Assert.Equal("/opt/claude/bin/claude", invocation.FileName);
        Assert.Equal(
            ["-p", "--output-format", "json", "--permission-mode", "acceptEdits",
             "--model", "claude-sonnet-4-5", "--effort", "high",
             "--max-budget-usd", "2", "--allowedTools", "Bash(git *)",
             "--", "Write hello.txt"],
            invocation.Arguments);
        Assert.Empty(invocation.Warnings);
    }

    [Theory]
    [InlineData("low", "low")]
    [InlineData("Medium", "medium")]
    [InlineData("high", "high")]
    [InlineData("XHIGH", "xhigh")]
    [InlineData(" max ", "max")]
    public void Build_passes_a_valid_effort(string effort, string expected)
    {
        var invocation = _adapter.Build(Claude with { Effort = effort }, Request());

        var at = invocation.Arguments.ToList().IndexOf("--effort");
        Assert.True(at >= 0);
        Assert.Equal(expected, invocation.Arguments[at + 1]);
        Assert.Empty(invocation.Warnings);
    }

    [Theory]
    [InlineData("minimal")]
    [InlineData("ultra")]
    [InlineData("hihg")]
    public void Build_omits_an_invalid_effort_with_a_warning(string effort)
    {
        var invocation = _adapter.Build(Claude with { Effort = effort }, Request());

        Assert.DoesNotContain("--effort", invocation.Arguments);
        var warning = Assert.Single(invocation.Warnings);
        Assert.Contains($"'{effort}'", warning);
        Assert.Contains("low|medium|high|xhigh|max", warning);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Build_treats_a_blank_effort_and_model_as_unset(string blank)
    {
        var invocation = _adapter.Build(Claude with { Effort = blank, Model = blank }, Request());

        Assert.DoesNotContain("--effort", invocation.Arguments);
        Assert.DoesNotContain("--model", invocation.Arguments);
        Assert.Empty(invocation.Warnings);
    }

    [Fact]
    public void Build_keeps_a_prompt_that_starts_with_a_dash_an_operand()
    {
        // Without "--", claude 2.1.197 answers "error: unknown option '- [ ] …'" (exit 1).
        var invocation = _adapter.Build(Claude, Request("- [ ] write hello.txt\n- [ ] commit"));

        Assert.Equal(["--", "- [ ] write hello.txt\n- [ ] commit"], invocation.Arguments.TakeLast(2));
    }

    [Fact]
    public void Build_writes_the_config_file_as_user_settings()
    {
        const string config = """{"permissions":{"allow":["Bash(npm test)"]}}""";

        var invocation = _adapter.Build(Claude with { ConfigFile = config }, Request());

        Assert.Equal(config, invocation.Files[".claude/settings.json"]);
    }

    [Fact]
    public void Build_warns_when_its_own_variables_override_the_agents_environment()
    {
        var settings = Claude with
        {
            Environment = new Dictionary<string, string> { ["CLAUDE_CODE_MAX_RETRIES"] = "5", ["DISABLE_AUTOUPDATER"] = "1" },
        };

        var invocation = _adapter.Build(settings, Request());

        Assert.Equal("0", invocation.Environment["CLAUDE_CODE_MAX_RETRIES"]);
        var warning = Assert.Single(invocation.Warnings);
        Assert.Contains("CLAUDE_CODE_MAX_RETRIES", warning);
    }

    [Fact]
    public void Build_warns_about_generic_only_settings_and_huge_prompts()
    {
        var settings = Claude with { ArgumentsTemplate = ["{prompt}"] };

        var invocation = _adapter.Build(settings, Request(new string('x', 200_000)));

        Assert.Equal(2, invocation.Warnings.Count);
        Assert.Contains(invocation.Warnings, w => w.Contains("ArgumentsTemplate", StringComparison.Ordinal));
        Assert.Contains(invocation.Warnings, w => w.Contains("E2BIG", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_success_fixture()
    {
        var outcome = Outcome(0, Read("claude", "result.json"), Read("claude", "stderr.txt"), duration: TimeSpan.FromSeconds(3));

        var result = _adapter.Parse(Claude, outcome);

        Assert.False(result.IsError);
        Assert.Equal(AgentFailureKind.None, result.Failure);
        Assert.Null(result.FailureReason);
        Assert.Null(result.RetryAfter);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(200, result.TokensIn);
        Assert.Equal(40, result.TokensOut);
        Assert.Equal(0.0012000000000000001m, result.CostUsd);
        Assert.Equal("claude-sonnet-4-5", result.Model);
        Assert.Equal("02cae7a0-45e1-436a-b89f-e96ae3119c50", result.SessionId);
        Assert.Equal("Done: wrote /workspace/claude-repo/hello.txt", result.FinalMessage);
        Assert.Equal(TimeSpan.FromSeconds(3), result.Duration);
    }

    [Fact]
    public void Parse_stream_json_fixture_reads_the_result_line()
    {
        var result = _adapter.Parse(Claude, Outcome(0, Read("claude", "stream-json.success.jsonl")));

        Assert.False(result.IsError);
        Assert.Equal(200, result.TokensIn);
        Assert.Equal(40, result.TokensOut);
        Assert.Equal(0.003m, result.CostUsd);
        Assert.Equal("claude-opus-4-8[1m]", result.Model);
        Assert.Equal("fba4c8b2-0cb4-4970-923f-a2890fa6ad86", result.SessionId);
        Assert.Equal("Done: wrote /workspace/claude-demo/repo/hello.txt", result.FinalMessage);
    }

    [Fact]
    public void Parse_401_fixture_is_permanent_and_names_the_key_variable_not_its_value()
    {
        var result = _adapter.Parse(Claude, Outcome(1, Read("claude", "result.error-401.json")));

        Assert.True(result.IsError);
        Assert.Equal(AgentFailureKind.Permanent, result.Failure);
        Assert.Equal(
            "the model API rejected the credentials (HTTP 401: Invalid API key · Fix external API key): check ANTHROPIC_API_KEY of agent 'claude'",
            result.FailureReason);
        Assert.DoesNotContain(SecretKey, result.FailureReason);
        Assert.Null(result.FinalMessage);
        Assert.Equal("39450421-42c9-4467-90bb-4e2a331c29b0", result.SessionId);
        Assert.Equal(0, result.TokensIn);
        Assert.Equal(0, result.TokensOut);
        Assert.Equal(0m, result.CostUsd);
        Assert.Null(result.RetryAfter);
    }

    [Fact]
    public void Parse_judges_is_error_even_with_exit_code_0_and_subtype_success()
    {
        var result = _adapter.Parse(Claude, Outcome(0, Read("claude", "result.error-401.json")));

        Assert.True(result.IsError);
        Assert.Equal(AgentFailureKind.Permanent, result.Failure);
    }

    [Fact]
    public void Parse_401_from_a_server_message()
    {
        var result = _adapter.Parse(Claude, Outcome(1, Read("claude", "result.error-401-from-server.json")));

        Assert.Equal(AgentFailureKind.Permanent, result.Failure);
        Assert.Contains("HTTP 401: Failed to authenticate. API Error: 401 Incorrect API key provided", result.FailureReason);
    }

    [Fact]
    public void Parse_unknown_option_on_stderr_is_a_configuration_error()
    {
        var result = _adapter.Parse(Claude, Outcome(1, "", Read("claude", "stderr.unknown-option.txt")));

        Assert.True(result.IsError);
        Assert.Equal(AgentFailureKind.Permanent, result.Failure);
        Assert.Equal(
            "agent 'claude' (Claude Code) is misconfigured (error: unknown option '--bogus-flag'): fix its Model, Effort, ExtraArgs or ConfigFile",
            result.FailureReason);
        Assert.Null(result.TokensIn);
        Assert.Null(result.SessionId);
    }

    [Fact]
    public void Parse_skips_garbage_lines_around_the_result()
    {
        var stdout = "npm WARN deprecated something\n{not json at all\n[1,2,3]\n\u001b[33mcolour\u001b[0m\n" + Read("claude", "result.json") + "\ntrailing noise";

        var result = _adapter.Parse(Claude, Outcome(0, stdout));

        Assert.False(result.IsError);
        Assert.Equal(200, result.TokensIn);
        Assert.Equal("02cae7a0-45e1-436a-b89f-e96ae3119c50", result.SessionId);
    }

    [Fact]
    public void Parse_without_a_result_object_is_a_transient_failure_even_with_exit_0()
    {
        var result = _adapter.Parse(Claude, Outcome(0, "nothing useful\n"));

        Assert.True(result.IsError);
        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.Contains("nothing useful", result.FailureReason);
    }

    [Fact]
    public void Parse_sums_cache_tokens_into_tokens_in_and_picks_the_busiest_model()
    {
        const string stdout = """
            {"type":"result","subtype":"success","is_error":false,"result":"ok","session_id":"s1","total_cost_usd":1.5e-2,
             "usage":{"input_tokens":10,"cache_creation_input_tokens":300,"cache_read_input_tokens":4000,"output_tokens":70},
             "modelUsage":{"claude-haiku-4-5":{"inputTokens":50,"outputTokens":5},"claude-opus-4-8":{"inputTokens":4310,"outputTokens":65}}}
            """;

        var result = _adapter.Parse(Claude, Outcome(0, stdout.ReplaceLineEndings("")));

        Assert.Equal(4310, result.TokensIn);
        Assert.Equal(70, result.TokensOut);
        Assert.Equal(0.015m, result.CostUsd);
        Assert.Equal("claude-opus-4-8", result.Model);
    }

    [Fact]
    public void Parse_529_overloaded_is_transient()
    {
        const string stdout = """{"type":"result","subtype":"success","is_error":true,"api_error_status":529,"result":"API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}","session_id":"s2"}""";

        var result = _adapter.Parse(Claude, Outcome(1, stdout));

        Assert.True(result.IsError);
        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.StartsWith("the model API is overloaded (HTTP 529", result.FailureReason);
    }

    [Fact]
    public void Parse_403_is_permanent()
    {
        const string stdout = """{"type":"result","subtype":"success","is_error":true,"api_error_status":403,"result":"API Error: 403 {\"type\":\"error\",\"error\":{\"type\":\"permission_error\",\"message\":\"Your API key does not have permission to use the specified resource.\"}}"}""";

        var result = _adapter.Parse(Claude with { Model = "claude-opus-4-8" }, Outcome(1, stdout));

        Assert.Equal(AgentFailureKind.Permanent, result.Failure);
        Assert.StartsWith("the model API refused access (HTTP 403", result.FailureReason);
        Assert.EndsWith("check that ANTHROPIC_API_KEY of agent 'claude' may use model 'claude-opus-4-8'", result.FailureReason);
    }

    [Fact]
    public void Parse_429_with_retry_after_text()
    {
        const string stdout = """{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"result":"API Error: Rate limited. Please retry after 30 seconds."}""";

        var result = _adapter.Parse(Claude, Outcome(1, stdout));

        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.Equal(TimeSpan.FromSeconds(30), result.RetryAfter);
        Assert.StartsWith("the model API is rate limiting agent 'claude' (HTTP 429", result.FailureReason);
    }

    [Fact]
    public void Parse_exit_127_is_a_missing_binary()
    {
        var result = _adapter.Parse(Claude, Outcome(127, "", "bash: line 1: claude: command not found\n"));

        Assert.Equal(AgentFailureKind.Permanent, result.Failure);
        Assert.StartsWith("the binary 'claude' of agent 'claude' could not be run (exit 127", result.FailureReason);
        Assert.EndsWith("install it or set Binary to its absolute path", result.FailureReason);
    }

    [Fact]
    public void Parse_wall_clock_kill_is_transient()
    {
        var outcome = Outcome(-1, "", "", "wall-clock", TimeSpan.FromMinutes(30.02));

        var result = _adapter.Parse(Claude, outcome);

        Assert.True(result.IsError);
        Assert.Equal(-1, result.ExitCode);
        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.Equal("killed after 30 min (wall-clock)", result.FailureReason);
        Assert.Null(result.RetryAfter);
    }

    [Fact]
    public void Parse_stall_kill_names_the_stall_timeout()
    {
        var settings = Claude with { StallTimeout = TimeSpan.FromMinutes(5) };

        var result = _adapter.Parse(settings, Outcome(-1, "", "", "stall", TimeSpan.FromMinutes(7.5)));

        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.Equal("killed after 7.5 min (no output for 5 min)", result.FailureReason);
    }

    [Fact]
    public void Parse_a_kill_overrides_a_successful_looking_output()
    {
        var result = _adapter.Parse(Claude, Outcome(-1, Read("claude", "result.json"), "", "wall-clock", TimeSpan.FromMinutes(30)));

        Assert.True(result.IsError);
        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.Equal(200, result.TokensIn);
    }
}

using Orchestrator.Shared.Agents;
using Orchestrator.Shared.Agents.Adapters;
using static Orchestrator.Tests.Unit.Agents.AgentFixtures;

namespace Orchestrator.Tests.Unit.Agents;

public sealed class CodexAdapterTests
{
    private const string SecretKey = "sk-fake-0123456789";

    private readonly CodexAdapter _adapter = new();

    private static AgentSettings Codex => Settings(AgentKind.Codex, "codex");

    private static AgentSettings WithFixtureConfig => Codex with
    {
        ConfigFile = Read("codex", "config.toml"),
        Environment = new Dictionary<string, string> { ["FAKE_API_KEY"] = SecretKey },
    };

    [Fact]
    public void Build_minimal_adds_the_sandbox_and_an_empty_config_so_CODEX_HOME_exists()
    {
        var invocation = _adapter.Build(Codex, Request());

        Assert.Equal("codex", invocation.FileName);
        Assert.Equal(["exec", "--json", "--skip-git-repo-check", "--sandbox", "workspace-write", "--disable", "plugins", "--disable", "remote_plugin", "--disable", "apps", "--disable", "unbounded_connection_retries", "--", "Write hello.txt"], invocation.Arguments);
        Assert.Equal(new Dictionary<string, string> { ["CODEX_HOME"] = "/home/run/.codex" }, invocation.Environment);
        Assert.Equal(CodexAdapter.EmptyConfig, invocation.Files[".codex/config.toml"]);
        Assert.Empty(invocation.Warnings);
    }

    [Fact]
    public void Build_with_a_config_that_sets_the_sandbox_leaves_it_to_the_config()
    {
        var invocation = _adapter.Build(WithFixtureConfig, Request());

        Assert.Equal(["exec", "--json", "--skip-git-repo-check", "--disable", "plugins", "--disable", "remote_plugin", "--disable", "apps", "--disable", "unbounded_connection_retries", "--", "Write hello.txt"], invocation.Arguments);
        Assert.Equal(Read("codex", "config.toml"), invocation.Files[".codex/config.toml"]);
        Assert.Equal("/home/run/.codex", invocation.Environment["CODEX_HOME"]);
    }

    [Theory]
    [InlineData("-s", "danger-full-access")]
    [InlineData("--sandbox", "read-only")]
    [InlineData("--sandbox=read-only", null)]
    [InlineData("-c", "sandbox_mode=\"danger-full-access\"")]
    [InlineData("--dangerously-bypass-approvals-and-sandbox", null)]
    public void Build_leaves_the_sandbox_to_extra_args_that_choose_one(string flag, string? value)
    {
        string[] extra = value is null ? [flag] : [flag, value];

        var invocation = _adapter.Build(Codex with { ExtraArgs = extra }, Request());

        Assert.Equal(["exec", "--json", "--skip-git-repo-check", "--disable", "plugins", "--disable", "remote_plugin", "--disable", "apps", "--disable", "unbounded_connection_retries", .. extra, "--", "Write hello.txt"], invocation.Arguments);
    }

    [Fact]
    public void Build_with_model_effort_and_extra_args()
    {
        var settings = Codex with { Model = "gpt-5-codex", Effort = "Minimal", ExtraArgs = ["--ephemeral"], Binary = "/opt/codex" };

        var invocation = _adapter.Build(settings, Request());

        Assert.Equal("/opt/codex", invocation.FileName);
        Assert.Equal(
            ["exec", "--json", "--skip-git-repo-check", "--sandbox", "workspace-write",
             "--disable", "plugins", "--disable", "remote_plugin", "--disable", "apps", "--disable", "unbounded_connection_retries", "-m", "gpt-5-codex",
             "-c", "model_reasoning_effort=\"minimal\"", "--ephemeral", "--", "Write hello.txt"],
            invocation.Arguments);
        Assert.Empty(invocation.Warnings);
    }

    [Theory]
    [InlineData("minimal", true)]
    [InlineData("LOW", true)]
    [InlineData("medium", true)]
    [InlineData("High", true)]
    [InlineData("xhigh", true)]
    [InlineData("max", false)]
    [InlineData("none", false)]
    [InlineData("turbo", false)]
    public void Build_effort_valid_or_omitted_with_a_warning(string effort, bool valid)
    {
        var invocation = _adapter.Build(Codex with { Effort = effort }, Request());

        var setting = $"model_reasoning_effort=\"{effort.ToLowerInvariant()}\"";
        if (valid)
        {
            Assert.Contains(setting, invocation.Arguments);
            Assert.Empty(invocation.Warnings);
        }
        else
        {
            Assert.DoesNotContain(invocation.Arguments, a => a.StartsWith("model_reasoning_effort", StringComparison.Ordinal));
            Assert.Contains("minimal|low|medium|high|xhigh", Assert.Single(invocation.Warnings));
        }
    }

    [Fact]
    public void Build_disables_the_features_that_go_online_and_the_endless_connection_retry()
    {
        // Every run, whatever the ConfigFile says: --disable F is -c features.F=false and wins over config.toml.
        foreach (var settings in new[] { Codex, WithFixtureConfig })
        {
            var invocation = _adapter.Build(settings, Request());

            var disabled = invocation.Arguments.Zip(invocation.Arguments.Skip(1)).Where(p => p.First == "--disable").Select(p => p.Second);
            Assert.Equal(["plugins", "remote_plugin", "apps", "unbounded_connection_retries"], disabled);
        }
    }

    [Fact]
    public void Every_disabled_feature_is_a_feature_of_the_captured_codex()
    {
        // `codex features list` of 0.169.0: name, stage, default. All four are stable and on by default.
        var features = Read("help", "codex-features-list.txt").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToDictionary(f => f[0], f => (Stage: f[1], Default: f[^1]));

        Assert.All(CodexAdapter.DisabledFeatures, feature => Assert.Equal(("stable", "true"), features[feature]));
    }

    [Fact]
    public void Build_keeps_a_dash_prompt_from_meaning_stdin()
    {
        var invocation = _adapter.Build(Codex, Request("-"));

        Assert.Equal(["--", "-"], invocation.Arguments.TakeLast(2));
    }

    [Fact]
    public void Build_warns_when_CODEX_HOME_of_the_agent_is_overridden()
    {
        var settings = Codex with { Environment = new Dictionary<string, string> { ["CODEX_HOME"] = "/root/.codex" } };

        var invocation = _adapter.Build(settings, Request());

        Assert.Equal("/home/run/.codex", invocation.Environment["CODEX_HOME"]);
        Assert.Contains("CODEX_HOME", Assert.Single(invocation.Warnings));
    }

    [Fact]
    public void Parse_success_fixture_ignores_the_model_metadata_error_item()
    {
        var outcome = Outcome(0, Read("codex", "events.jsonl"), Read("codex", "stderr.txt"), duration: TimeSpan.FromSeconds(4));

        var result = _adapter.Parse(WithFixtureConfig, outcome);

        Assert.False(result.IsError);
        Assert.Equal(AgentFailureKind.None, result.Failure);
        Assert.Null(result.FailureReason);
        Assert.Equal(200, result.TokensIn);
        Assert.Equal(40, result.TokensOut);
        Assert.Null(result.CostUsd);
        Assert.Equal("fake-model", result.Model);
        Assert.Equal("01a1fc95-c95a-7040-898f-eea8f38ae96a", result.SessionId);
        Assert.Equal("Done: wrote /workspace/codex-repo/hello.txt", result.FinalMessage);
        Assert.Equal(TimeSpan.FromSeconds(4), result.Duration);
    }

    [Fact]
    public void Parse_401_fixture_is_permanent_and_names_env_key()
    {
        var result = _adapter.Parse(WithFixtureConfig, Outcome(1, Read("codex", "events.error-401.jsonl"), Read("codex", "stderr.txt")));

        Assert.True(result.IsError);
        Assert.Equal(AgentFailureKind.Permanent, result.Failure);
        Assert.Equal(
            "the model API rejected the credentials (HTTP 401: unexpected status 401 Unauthorized: Incorrect API key provided, url: http://127.0.0.1:8789/v1/responses): check FAKE_API_KEY of agent 'codex'",
            result.FailureReason);
        Assert.Equal("01a1fc97-c7a5-7020-89a6-b853710da6e3", result.SessionId);
        Assert.Null(result.TokensIn);
        Assert.Null(result.FinalMessage);
    }

    [Fact]
    public void Parse_connection_refused_fixture_is_transient()
    {
        // The capture was ended by `timeout 120` (exit 124), not by the runner.
        var result = _adapter.Parse(WithFixtureConfig, Outcome(124, Read("codex", "events.connection-refused.jsonl"), Read("codex", "stderr.txt")));

        Assert.True(result.IsError);
        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.Equal(
            "agent 'codex' could not reach the model API (Reconnecting... waiting for network (Connection failed: error sending request)): check that its endpoint is up; retry later",
            result.FailureReason);
        Assert.Equal("01a1fc95-dbd0-78a1-be32-6bea7b15ad6e", result.SessionId);
    }

    [Fact]
    public void Parse_connection_refused_killed_by_the_runner_quotes_the_last_error()
    {
        var outcome = Outcome(-1, Read("codex", "events.connection-refused.jsonl"), Read("codex", "stderr.txt"), "wall-clock", TimeSpan.FromMinutes(2));

        var result = _adapter.Parse(WithFixtureConfig, outcome);

        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.Equal(
            "killed after 2 min (wall-clock); last error: Reconnecting... waiting for network (Connection failed: error sending request)",
            result.FailureReason);
    }

    [Fact]
    public void Parse_an_error_event_retried_before_the_turn_completed_is_not_a_failure()
    {
        const string stdout = """
            {"type":"thread.started","thread_id":"t1"}
            {"type":"turn.started"}
            {"type":"error","message":"Reconnecting... waiting for network (stream disconnected before completion)"}
            {"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"done anyway"}}
            {"type":"turn.completed","usage":{"input_tokens":5,"cached_input_tokens":0,"output_tokens":2}}
            """;

        var result = _adapter.Parse(Codex, Outcome(0, stdout));

        Assert.False(result.IsError);
        Assert.Equal("done anyway", result.FinalMessage);
    }

    [Fact]
    public void Parse_turn_failed_fails_even_with_exit_0()
    {
        const string stdout = """
            {"type":"thread.started","thread_id":"t2"}
            {"type":"turn.failed","error":{"message":"unexpected status 503 Service Unavailable: upstream connect error"}}
            """;

        var result = _adapter.Parse(Codex, Outcome(0, stdout));

        Assert.True(result.IsError);
        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.StartsWith("the model API of agent 'codex' failed (HTTP 503", result.FailureReason);
    }

    [Fact]
    public void Parse_counts_cached_and_reasoning_tokens_once()
    {
        // Codex's cached_input_tokens and reasoning_output_tokens are parts of input_tokens and output_tokens.
        const string stdout = """
            {"type":"thread.started","thread_id":"t3"}
            {"type":"turn.completed","usage":{"input_tokens":1000,"cached_input_tokens":800,"cache_write_input_tokens":100,"output_tokens":50,"reasoning_output_tokens":30}}
            {"type":"turn.completed","usage":{"input_tokens":10,"cached_input_tokens":0,"output_tokens":5,"reasoning_output_tokens":0}}
            """;

        var result = _adapter.Parse(Codex with { Model = "gpt-5-codex" }, Outcome(0, stdout));

        Assert.Equal(1010, result.TokensIn);
        Assert.Equal(55, result.TokensOut);
        Assert.Equal("gpt-5-codex", result.Model);
    }

    [Fact]
    public void Parse_unexpected_argument_is_a_configuration_error()
    {
        var result = _adapter.Parse(Codex, Outcome(2, "", Read("codex", "stderr.unexpected-argument.txt")));

        Assert.Equal(AgentFailureKind.Permanent, result.Failure);
        Assert.Equal(
            "agent 'codex' (Codex) is misconfigured (error: unexpected argument '--bogus' found): fix its Model, Effort, ExtraArgs or ConfigFile",
            result.FailureReason);
    }

    [Fact]
    public void Parse_missing_codex_home_is_a_configuration_error()
    {
        var result = _adapter.Parse(Codex, Outcome(1, "", Read("codex", "stderr.missing-codex-home.txt")));

        Assert.Equal(AgentFailureKind.Permanent, result.Failure);
        Assert.Contains("Error finding codex home", result.FailureReason);
    }

    [Fact]
    public void Parse_a_failure_with_only_the_usual_stderr_warnings_says_nothing_was_printed()
    {
        var result = _adapter.Parse(Codex, Outcome(1, "", Read("codex", "stderr.txt")));

        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.Equal("agent 'codex' failed with exit code 1 and printed no error", result.FailureReason);
    }

    [Fact]
    public void Parse_skips_garbage_lines()
    {
        var stdout = "Reading prompt...\n{oops\n" + Read("codex", "events.jsonl").Replace("\n", "\n\u001b[2mnoise\u001b[0m\n", StringComparison.Ordinal);

        var result = _adapter.Parse(Codex, Outcome(0, stdout));

        Assert.False(result.IsError);
        Assert.Equal(200, result.TokensIn);
        Assert.Equal("Done: wrote /workspace/codex-repo/hello.txt", result.FinalMessage);
    }
}

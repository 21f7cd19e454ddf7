using Orchestrator.Shared.Agents;
using Orchestrator.Shared.Agents.Adapters;
using static Orchestrator.Tests.Unit.Agents.AgentFixtures;

namespace Orchestrator.Tests.Unit.Agents;

public sealed class OpenCodeAdapterTests
{
    private readonly OpenCodeAdapter _adapter = new();

    private static AgentSettings OpenCode => Settings(AgentKind.OpenCode, "opencode");

    private static AgentSettings WithFixtureConfig => OpenCode with { ConfigFile = Read("opencode", "opencode.json") };

    [Fact]
    public void Build_minimal()
    {
        var invocation = _adapter.Build(OpenCode, Request());

        Assert.Equal("opencode", invocation.FileName);
        Assert.Equal(["run", "--pure", "--format", "json", "--", "Write", "hello.txt"], invocation.Arguments);
        Assert.Equal(
            new Dictionary<string, string> { ["OPENCODE_DISABLE_MODELS_FETCH"] = "1", ["OPENCODE_DISABLE_AUTOUPDATE"] = "1", ["OPENCODE_DISABLE_LSP_DOWNLOAD"] = "1" },
            invocation.Environment);
        Assert.Equal(
            [".config/opencode/node_modules/.keep", ".config/opencode/package-lock.json", ".config/opencode/package.json"],
            invocation.Files.Keys.Order(StringComparer.Ordinal));
        Assert.Empty(invocation.Warnings);
    }

    [Fact]
    public void Build_writes_the_config_under_home_and_points_OPENCODE_CONFIG_at_it()
    {
        var invocation = _adapter.Build(WithFixtureConfig, Request());

        Assert.Equal(Read("opencode", "opencode.json"), invocation.Files[".config/opencode/opencode.json"]);
        Assert.Equal("/home/run/.config/opencode/opencode.json", invocation.Environment["OPENCODE_CONFIG"]);
        Assert.Equal("1", invocation.Environment["OPENCODE_DISABLE_MODELS_FETCH"]);
        Assert.Equal("1", invocation.Environment["OPENCODE_DISABLE_AUTOUPDATE"]);
    }

    [Fact]
    public void Build_seeds_the_config_directory_so_OpenCode_does_not_install_its_plugin_package_from_npm()
    {
        // OpenCode skips the install when node_modules/ exists and the lock's root lists every dependency of
        // package.json plus @opencode-ai/plugin; the empty .keep file makes the runner create node_modules/.
        foreach (var settings in new[] { OpenCode, WithFixtureConfig })
        {
            var files = _adapter.Build(settings, Request()).Files;

            Assert.Equal("", files[".config/opencode/node_modules/.keep"]);
            using var package = System.Text.Json.JsonDocument.Parse(files[".config/opencode/package.json"]);
            using var lockFile = System.Text.Json.JsonDocument.Parse(files[".config/opencode/package-lock.json"]);
            var dependencies = package.RootElement.GetProperty("dependencies");
            var locked = lockFile.RootElement.GetProperty("packages").GetProperty("").GetProperty("dependencies");
            Assert.Equal("1.18.33", dependencies.GetProperty("@opencode-ai/plugin").GetString());
            Assert.Equal(dependencies.ToString(), locked.ToString());
            Assert.Equal(3, lockFile.RootElement.GetProperty("lockfileVersion").GetInt32());
        }
    }

    [Fact]
    public void Build_with_model_variant_and_extra_args_before_the_prompt()
    {
        var settings = OpenCode with { Model = "fake/fake-model", Effort = "High", ExtraArgs = ["--agent", "build"], Binary = "/usr/local/bin/opencode" };

        var invocation = _adapter.Build(settings, Request());

        Assert.Equal("/usr/local/bin/opencode", invocation.FileName);
        Assert.Equal(
            ["run", "--pure", "--format", "json", "--model", "fake/fake-model", "--variant", "high", "--agent", "build", "--", "Write", "hello.txt"],
            invocation.Arguments);
        Assert.Empty(invocation.Warnings);
    }

    [Theory]
    [InlineData("anthropic/claude-sonnet-4-5")]
    [InlineData("openrouter/anthropic/claude-sonnet-4-5")]
    [InlineData("fake/fake-model")]
    public void Build_accepts_provider_slash_model(string model)
    {
        var invocation = _adapter.Build(OpenCode with { Model = model }, Request());

        Assert.Equal(["--model", model], invocation.Arguments.Skip(4).Take(2));
        Assert.Empty(invocation.Warnings);
    }

    [Theory]
    [InlineData("claude-sonnet-4-5")]
    [InlineData("/claude")]
    [InlineData("anthropic/")]
    [InlineData("anthropic/claude sonnet")]
    public void Build_omits_a_model_without_a_provider_with_a_warning(string model)
    {
        var invocation = _adapter.Build(OpenCode with { Model = model }, Request());

        Assert.DoesNotContain("--model", invocation.Arguments);
        var warning = Assert.Single(invocation.Warnings);
        Assert.Contains($"'{model}'", warning);
        Assert.Contains("provider/model", warning);
    }

    [Theory]
    [InlineData("minimal", "minimal")]
    [InlineData("LOW", "low")]
    [InlineData("max", "max")]
    [InlineData("xhigh", "xhigh")]
    public void Build_maps_effort_to_variant(string effort, string variant)
    {
        var invocation = _adapter.Build(OpenCode with { Effort = effort }, Request());

        Assert.Equal(["--variant", variant], invocation.Arguments.Skip(4).Take(2));
    }

    [Theory]
    [InlineData("extreme")]
    [InlineData("hi")]
    public void Build_omits_an_unknown_variant_with_a_warning(string effort)
    {
        var invocation = _adapter.Build(OpenCode with { Effort = effort }, Request());

        Assert.DoesNotContain("--variant", invocation.Arguments);
        Assert.Contains("--variant omitted", Assert.Single(invocation.Warnings));
    }

    [Theory]
    [InlineData("Write hello.txt")]
    [InlineData("- [ ] dash first with \"quotes\"")]
    [InlineData("two  spaces and trailing ")]
    [InlineData(" leading space")]
    [InlineData("# Task\n\nStep 1. do it\nStep 2. check 42 times -5 0x1F 1e5 .5 3.14 007")]
    [InlineData("1. first item")]
    [InlineData("42")]
    [InlineData("--model x --format default")]
    [InlineData("tabs\tand\nnewlines stay in words")]
    public void PromptWords_join_back_to_the_prompt_and_never_hand_yargs_a_number(string prompt)
    {
        var words = OpenCodeAdapter.PromptWords(prompt);

        Assert.Equal(prompt, string.Join(' ', words));
        if (prompt != "42")
        {
            Assert.DoesNotContain(words, OpenCodeAdapter.LooksLikeNumber);
        }
    }

    [Fact]
    public void PromptWords_split_at_spaces_and_glue_number_like_words_to_a_neighbour()
    {
        Assert.Equal(["-", "[", "]", "task"], OpenCodeAdapter.PromptWords("- [ ] task"));
        Assert.Equal(["a", "", "b"], OpenCodeAdapter.PromptWords("a  b"));
        Assert.Equal(["#", "Task\n\nStep 1.", "do", "it"], OpenCodeAdapter.PromptWords("# Task\n\nStep 1. do it"));
        Assert.Equal(["1. first", "item"], OpenCodeAdapter.PromptWords("1. first item"));
        Assert.Equal(["v1.2.3", "and", "007", "stay"], OpenCodeAdapter.PromptWords("v1.2.3 and 007 stay"));
    }

    [Theory]
    [InlineData("42", true)]
    [InlineData("1.", true)]
    [InlineData("-5", true)]
    [InlineData(".5", true)]
    [InlineData("1e5", true)]
    [InlineData("0x1F", true)]
    [InlineData("0", true)]
    [InlineData("007", false)]
    [InlineData("1.2.3", false)]
    [InlineData("true", false)]
    [InlineData("Infinity", false)]
    [InlineData("1_000", false)]
    [InlineData("", false)]
    public void LooksLikeNumber_follows_yargs_parser(string word, bool expected)
    {
        // Verified against opencode 1.18.33: the "true" rows crash it ("G.includes is not a function").
        Assert.Equal(expected, OpenCodeAdapter.LooksLikeNumber(word));
    }

    [Fact]
    public void Parse_success_fixture()
    {
        var outcome = Outcome(0, Read("opencode", "events.jsonl"), Read("opencode", "stderr.txt"), duration: TimeSpan.FromSeconds(2));

        var result = _adapter.Parse(OpenCode with { Model = "fake/fake-model" }, outcome);

        Assert.False(result.IsError);
        Assert.Equal(AgentFailureKind.None, result.Failure);
        Assert.Null(result.FailureReason);
        Assert.Equal(200, result.TokensIn);
        Assert.Equal(40, result.TokensOut);
        Assert.Equal(0m, result.CostUsd);
        Assert.Equal("fake/fake-model", result.Model);
        Assert.Equal("ses_e036a45b4fferOjBPU9AwTNQRK", result.SessionId);
        Assert.Equal("Done: wrote /workspace/opencode-repo/hello.txt", result.FinalMessage);
        Assert.Equal(TimeSpan.FromSeconds(2), result.Duration);
    }

    [Fact]
    public void Parse_reports_the_config_files_model_when_none_is_configured()
    {
        var result = _adapter.Parse(WithFixtureConfig, Outcome(0, Read("opencode", "events.jsonl")));

        Assert.Equal("fake/fake-model", result.Model);
    }

    [Fact]
    public void Parse_401_fixture_is_permanent()
    {
        var result = _adapter.Parse(WithFixtureConfig, Outcome(1, Read("opencode", "events.error-401.jsonl")));

        Assert.True(result.IsError);
        Assert.Equal(AgentFailureKind.Permanent, result.Failure);
        Assert.Equal(
            "the model API rejected the credentials (HTTP 401: APIError: Incorrect API key provided): check the provider's apiKey in its ConfigFile (opencode.json) of agent 'opencode'",
            result.FailureReason);
        Assert.Equal("ses_e036820a2ffeHAietnqFMkDOYn", result.SessionId);
        Assert.Null(result.TokensIn);
        Assert.Null(result.CostUsd);
        Assert.Null(result.FinalMessage);
        Assert.Null(result.RetryAfter);
    }

    [Fact]
    public void Parse_401_names_the_key_variables_of_the_agent()
    {
        var settings = OpenCode with
        {
            Environment = new Dictionary<string, string> { ["OPENAI_API_KEY"] = "sk-proj-abcdefghijkl", ["OPENAI_BASE_URL"] = "http://127.0.0.1:1" },
        };

        var result = _adapter.Parse(settings, Outcome(1, Read("opencode", "events.error-401.jsonl")));

        Assert.EndsWith("check OPENAI_API_KEY of agent 'opencode'", result.FailureReason);
    }

    [Fact]
    public void Parse_connection_refused_fixture_is_transient()
    {
        var result = _adapter.Parse(WithFixtureConfig, Outcome(1, Read("opencode", "events.connection-refused.jsonl")));

        Assert.True(result.IsError);
        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.Equal(
            "agent 'opencode' could not reach the model API (APIError: Cannot connect to API: Unable to connect. Is the computer able to access the url?): check that its endpoint is up; retry later",
            result.FailureReason);
        Assert.Equal("ses_e036c7305ffetrogffzNz66l4q", result.SessionId);
        Assert.Null(result.RetryAfter);
    }

    [Theory]
    [InlineData("\"retry-after\":\"17\"", 17_000)]
    [InlineData("\"Retry-After\":\"2\"", 2_000)]
    [InlineData("\"retry-after-ms\":\"1500\",\"retry-after\":\"2\"", 1_500)]
    [InlineData("\"retry-after\":\"Sat, 21 Nov 2026 05:34:56 GMT\"", 120_000)]
    public void Parse_429_reads_retry_after_from_the_response_headers(string header, int expectedMs)
    {
        var line = RateLimited(header);

        var result = _adapter.Parse(OpenCode, Outcome(1, line));

        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), result.RetryAfter);
        Assert.StartsWith("the model API is rate limiting agent 'opencode' (HTTP 429: APIError: Rate limit reached", result.FailureReason);
    }

    [Fact]
    public void Parse_529_overloaded_is_transient()
    {
        const string line = """{"type":"error","sessionID":"ses_x","error":{"name":"APIError","data":{"message":"Overloaded","statusCode":529,"isRetryable":true,"responseBody":"{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"}}}""";

        var result = _adapter.Parse(OpenCode, Outcome(1, line));

        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.Equal("the model API is overloaded (HTTP 529: APIError: Overloaded); retry later", result.FailureReason);
    }

    [Fact]
    public void Parse_an_error_event_fails_the_run_even_with_exit_0()
    {
        var result = _adapter.Parse(OpenCode, Outcome(0, Read("opencode", "events.connection-refused.jsonl")));

        Assert.True(result.IsError);
        Assert.Equal(AgentFailureKind.Transient, result.Failure);
    }

    [Fact]
    public void Parse_skips_garbage_lines()
    {
        var stdout = "\u001b[91m\u001b[1mError: \u001b[0mUnexpected\n{\"truncated\": \n[1,2]\nnot json\n" + Read("opencode", "events.jsonl") + "{\"type\":";

        var result = _adapter.Parse(OpenCode, Outcome(0, stdout));

        Assert.False(result.IsError);
        Assert.Equal(200, result.TokensIn);
        Assert.Equal(40, result.TokensOut);
        Assert.Equal("Done: wrote /workspace/opencode-repo/hello.txt", result.FinalMessage);
    }

    [Fact]
    public void Parse_sums_cache_and_reasoning_tokens_and_costs_over_steps()
    {
        const string stdout = """
            {"type":"step_finish","sessionID":"ses_a","part":{"type":"step-finish","tokens":{"input":10,"output":5,"reasoning":3,"cache":{"read":100,"write":7}},"cost":0.5}}
            {"type":"text","sessionID":"ses_a","part":{"type":"text","text":"first"}}
            {"type":"step_finish","sessionID":"ses_a","part":{"type":"step-finish","tokens":{"input":20,"output":1,"reasoning":0,"cache":{"read":0,"write":0}},"cost":0.25}}
            {"type":"text","sessionID":"ses_a","part":{"type":"text","text":"second and last"}}
            {"type":"text","sessionID":"ses_a","part":{"type":"text","text":"   "}}
            """;

        var result = _adapter.Parse(OpenCode, Outcome(0, stdout));

        Assert.Equal(137, result.TokensIn);
        Assert.Equal(9, result.TokensOut);
        Assert.Equal(0.75m, result.CostUsd);
        Assert.Equal("second and last", result.FinalMessage);
        Assert.Equal("ses_a", result.SessionId);
    }

    [Fact]
    public void Parse_stall_kill_keeps_the_partial_usage()
    {
        var partial = string.Join('\n', Read("opencode", "events.jsonl").Split('\n').Take(3));

        var result = _adapter.Parse(OpenCode, Outcome(-1, partial, "", "stall", TimeSpan.FromMinutes(5.2)));

        Assert.True(result.IsError);
        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.Equal("killed after 5.2 min (no output for 5 min)", result.FailureReason);
        Assert.Equal(100, result.TokensIn);
        Assert.Equal("ses_e036a45b4fferOjBPU9AwTNQRK", result.SessionId);
    }

    private static string RateLimited(string headers) =>
        "{\"type\":\"error\",\"sessionID\":\"ses_r\",\"error\":{\"name\":\"APIError\",\"data\":{\"message\":\"Rate limit reached for requests\",\"statusCode\":429,\"isRetryable\":true,"
        + "\"responseHeaders\":{\"date\":\"Sat, 21 Nov 2026 05:32:56 GMT\"," + headers + "}}}}";
}

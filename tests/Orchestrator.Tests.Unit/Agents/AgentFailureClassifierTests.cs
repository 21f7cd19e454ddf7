using Orchestrator.Shared.Agents;
using Orchestrator.Shared.Agents.Adapters;
using static Orchestrator.Tests.Unit.Agents.AgentFixtures;

namespace Orchestrator.Tests.Unit.Agents;

public sealed class AgentFailureClassifierTests
{
    private const string ApiKey = "sk-ant-api03-SECRETSECRETSECRET";
    private const string AuthToken = "tok_live_abcdefghij";

    private static AgentSettings Claude => Settings(AgentKind.ClaudeCode, "claude") with
    {
        Model = "claude-sonnet-4-5",
        Environment = new Dictionary<string, string>
        {
            ["ANTHROPIC_API_KEY"] = ApiKey,
            ["MY_AUTH_TOKEN"] = AuthToken,
            ["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:8787",
        },
    };

    private static AgentFailure Classify(int exitCode = 1, int? status = null, string? message = null, string stderr = "") =>
        AgentFailureClassifier.Classify(Claude, new AgentFailureEvidence
        {
            ExitCode = exitCode,
            StatusCode = status,
            Messages = message is null ? [] : [message],
            Stderr = stderr,
        });

    [Theory]
    [InlineData(401, AgentFailureKind.Permanent, "the model API rejected the credentials (HTTP 401: boom): check ANTHROPIC_API_KEY / MY_AUTH_TOKEN of agent 'claude'")]
    [InlineData(402, AgentFailureKind.Permanent, "the model API account of agent 'claude' has no credit or quota left (HTTP 402: boom)")]
    [InlineData(403, AgentFailureKind.Permanent, "the model API refused access (HTTP 403: boom): check that ANTHROPIC_API_KEY / MY_AUTH_TOKEN of agent 'claude' may use model 'claude-sonnet-4-5'")]
    [InlineData(404, AgentFailureKind.Permanent, "the model API of agent 'claude' does not know the model or the endpoint (HTTP 404: boom)")]
    [InlineData(400, AgentFailureKind.Permanent, "the model API rejected the request of agent 'claude' (HTTP 400: boom)")]
    [InlineData(413, AgentFailureKind.Permanent, "the model API rejected the request of agent 'claude' (HTTP 413: boom)")]
    [InlineData(408, AgentFailureKind.Transient, "the model API asked agent 'claude' to retry (HTTP 408: boom)")]
    [InlineData(429, AgentFailureKind.Transient, "the model API is rate limiting agent 'claude' (HTTP 429: boom)")]
    [InlineData(500, AgentFailureKind.Transient, "the model API of agent 'claude' failed (HTTP 500: boom)")]
    [InlineData(502, AgentFailureKind.Transient, "the model API of agent 'claude' failed (HTTP 502: boom)")]
    [InlineData(503, AgentFailureKind.Transient, "the model API of agent 'claude' failed (HTTP 503: boom)")]
    [InlineData(529, AgentFailureKind.Transient, "the model API is overloaded (HTTP 529: boom)")]
    public void Status_codes(int status, AgentFailureKind kind, string reasonStart)
    {
        var failure = Classify(status: status, message: "boom");

        Assert.Equal(kind, failure.Kind);
        Assert.StartsWith(reasonStart, failure.Reason);
    }

    [Theory]
    [InlineData("unexpected status 401 Unauthorized: Incorrect API key provided", AgentFailureKind.Permanent, "the model API rejected the credentials (HTTP 401")]
    [InlineData("API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}", AgentFailureKind.Transient, "the model API is overloaded (HTTP 529")]
    [InlineData("{\"statusCode\":503,\"message\":\"unavailable\"}", AgentFailureKind.Transient, "the model API of agent 'claude' failed (HTTP 503")]
    [InlineData("HTTP/1.1 429 Too Many Requests", AgentFailureKind.Transient, "the model API is rate limiting agent 'claude' (HTTP 429")]
    [InlineData("Invalid API key · Please run /login", AgentFailureKind.Permanent, "the model API rejected the credentials (Invalid API key")]
    [InlineData("authentication_error: invalid x-api-key", AgentFailureKind.Permanent, "the model API rejected the credentials (")]
    [InlineData("Error: 403 Forbidden", AgentFailureKind.Permanent, "the model API refused access (")]
    [InlineData("ProviderModelNotFoundError: model gpt-9 not found", AgentFailureKind.Permanent, "the model of agent 'claude' was not found (")]
    [InlineData("error: unknown option '--bogus'", AgentFailureKind.Permanent, "agent 'claude' (Claude Code) is misconfigured (")]
    [InlineData("You exceeded your current quota, please check your plan and billing details. (status 429)", AgentFailureKind.Permanent, "the model API account of agent 'claude' has no credit or quota left (HTTP 429")]
    [InlineData("Your credit balance is too low to access the Anthropic API.", AgentFailureKind.Permanent, "the model API account of agent 'claude' has no credit or quota left (")]
    [InlineData("Overloaded", AgentFailureKind.Transient, "the model API is overloaded (")]
    [InlineData("rate_limit_error: Number of request tokens has exceeded your per-minute rate limit", AgentFailureKind.Transient, "the model API is rate limiting agent 'claude' (")]
    [InlineData("connect ECONNREFUSED 127.0.0.1:8787", AgentFailureKind.Transient, "agent 'claude' could not reach the model API (")]
    [InlineData("Reconnecting... waiting for network (Connection failed: error sending request)", AgentFailureKind.Transient, "agent 'claude' could not reach the model API (")]
    [InlineData("Request timed out.", AgentFailureKind.Transient, "the model API of agent 'claude' timed out (")]
    [InlineData("Internal server error", AgentFailureKind.Transient, "the model API of agent 'claude' failed (")]
    [InlineData("Segmentation fault", AgentFailureKind.Transient, "agent 'claude' failed with exit code 1: Segmentation fault")]
    public void Messages(string message, AgentFailureKind kind, string reasonStart)
    {
        var failure = Classify(message: message);

        Assert.Equal(kind, failure.Kind);
        Assert.StartsWith(reasonStart, failure.Reason);
    }

    [Theory]
    [InlineData(127, "")]
    [InlineData(126, "")]
    [InlineData(1, "bash: claude: command not found")]
    [InlineData(1, "sh: 1: claude: not found")]
    [InlineData(-1, "An error occurred trying to start process 'claude' with working directory '/work/repo'. No such file or directory")]
    [InlineData(1, "Error: spawn claude ENOENT")]
    public void Missing_binary_is_permanent(int exitCode, string stderr)
    {
        var failure = Classify(exitCode: exitCode, stderr: stderr);

        Assert.Equal(AgentFailureKind.Permanent, failure.Kind);
        Assert.StartsWith($"the binary 'claude' of agent 'claude' could not be run (exit {exitCode}", failure.Reason);
    }

    [Fact]
    public void A_missing_file_that_is_not_the_binary_is_not_a_missing_binary()
    {
        var failure = Classify(stderr: "ENOENT: no such file or directory, open '/home/run/.claude/claude.json'");

        Assert.Equal(AgentFailureKind.Transient, failure.Kind);
    }

    [Fact]
    public void The_error_line_of_stderr_is_quoted_not_the_usage_text_after_it()
    {
        var failure = Classify(exitCode: 2, stderr: "error: unexpected argument '--x' found\n\nUsage: claude [options]\n\nFor more information, try '--help'.\n");

        Assert.Contains("(error: unexpected argument '--x' found)", failure.Reason);
    }

    [Fact]
    public void Credential_values_never_appear_in_a_reason()
    {
        var failure = Classify(
            status: 401,
            message: $"invalid x-api-key {ApiKey}; Authorization: Bearer {AuthToken}; other sk-proj-0000111122223333",
            stderr: $"header x-api-key: {ApiKey}");

        Assert.DoesNotContain(ApiKey, failure.Reason);
        Assert.DoesNotContain(AuthToken, failure.Reason);
        Assert.DoesNotContain("sk-proj-0000111122223333", failure.Reason);
        Assert.Contains("[redacted]", failure.Reason);
        Assert.Contains("ANTHROPIC_API_KEY", failure.Reason);
    }

    [Fact]
    public void Config_file_secrets_are_redacted_and_codex_env_key_is_named()
    {
        var settings = Settings(AgentKind.Codex, "codex") with
        {
            ConfigFile = "model_provider = \"p\"\n[model_providers.p]\nenv_key = \"PROVIDER_KEY\"\nhttp_headers = { \"x-token\" = \"inline-secret-123\" }\napi_key = \"inline-secret-456\"\n",
        };

        var failure = AgentFailureClassifier.Classify(settings, new AgentFailureEvidence
        {
            ExitCode = 1,
            Messages = ["unexpected status 401 Unauthorized: bad key inline-secret-456"],
        });

        Assert.DoesNotContain("inline-secret-456", failure.Reason);
        Assert.EndsWith("check PROVIDER_KEY of agent 'codex'", failure.Reason);
    }

    [Fact]
    public void OpenCode_env_references_in_the_config_are_named()
    {
        var settings = Settings(AgentKind.OpenCode, "oc") with
        {
            ConfigFile = """{"provider":{"x":{"options":{"apiKey":"{env:X_API_KEY}"}}}}""",
        };

        var failure = AgentFailureClassifier.Classify(settings, new AgentFailureEvidence { ExitCode = 1, StatusCode = 401 });

        Assert.Equal("the model API rejected the credentials (HTTP 401): check X_API_KEY of agent 'oc'", failure.Reason);
    }

    [Fact]
    public void Reasons_are_capped()
    {
        var failure = Classify(message: new string('z', 10_000));

        Assert.True(failure.Reason.Length <= AgentFailureClassifier.MaxReasonLength);
        Assert.Contains("…", failure.Reason);
    }

    [Theory]
    [InlineData("Please try again in 20s.", 20_000)]
    [InlineData("Rate limit reached. Please try again in 1.5 seconds", 1_500)]
    [InlineData("retry-after: 7", 7_000)]
    [InlineData("\"Retry-After\":\"12\"", 12_000)]
    [InlineData("retry after 250ms", 250)]
    [InlineData("retrying in 2 minutes", 120_000)]
    [InlineData("retry-after: 999999", 86_400_000)]
    public void Retry_after_in_text(string message, int expectedMs)
    {
        var failure = Classify(status: 429, message: message);

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), failure.RetryAfter);
    }

    [Fact]
    public void Retry_after_is_only_given_for_transient_failures()
    {
        Assert.Null(Classify(status: 401, message: "retry after 10 seconds").RetryAfter);
        Assert.Null(Classify(status: 429, message: "slow down").RetryAfter);
    }

    [Fact]
    public void Retry_after_header_as_an_http_date_needs_the_date_header()
    {
        var headers = new Dictionary<string, string> { ["retry-after"] = "Sat, 21 Nov 2026 05:33:26 GMT" };
        var evidence = new AgentFailureEvidence { ExitCode = 1, StatusCode = 429, ResponseHeaders = headers };

        Assert.Null(AgentFailureClassifier.Classify(Claude, evidence).RetryAfter);

        headers["Date"] = "Sat, 21 Nov 2026 05:32:56 GMT";
        Assert.Equal(TimeSpan.FromSeconds(30), AgentFailureClassifier.Classify(Claude, evidence).RetryAfter);
    }

    [Fact]
    public void Ansi_colours_and_codex_startup_warnings_are_ignored()
    {
        var stderr = Read("codex", "stderr.txt") + "\u001b[91m\u001b[1mError: \u001b[0mUnexpected error\n";

        var failure = Classify(stderr: stderr);

        Assert.Equal("agent 'claude' failed with exit code 1: Error: Unexpected error", failure.Reason);
    }

    [Theory]
    [InlineData("wall-clock", 1800, "killed after 30 min (wall-clock)")]
    [InlineData("wall-clock", 45, "killed after 45 s (wall-clock)")]
    [InlineData("stall", 400, "killed after 6.7 min (no output for 5 min)")]
    public void Killed(string timedOut, int seconds, string reason)
    {
        var outcome = Outcome(-1, "", "", timedOut, TimeSpan.FromSeconds(seconds));

        var failure = AgentFailureClassifier.Killed(Claude with { StallTimeout = TimeSpan.FromMinutes(5) }, outcome);

        Assert.Equal(AgentFailureKind.Transient, failure.Kind);
        Assert.Equal(reason, failure.Reason);
        Assert.Null(failure.RetryAfter);
    }

    [Fact]
    public void Killed_quotes_the_last_error_redacted()
    {
        var outcome = Outcome(-1, "", "", "wall-clock", TimeSpan.FromMinutes(30));

        var failure = AgentFailureClassifier.Killed(Claude, outcome, $"401 with key {ApiKey}");

        Assert.Equal("killed after 30 min (wall-clock); last error: 401 with key [redacted]", failure.Reason);
    }
}

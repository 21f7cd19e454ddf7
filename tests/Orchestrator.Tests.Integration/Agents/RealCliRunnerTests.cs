using System.Runtime.Versioning;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Shared.Agents;
using Orchestrator.Shared.Agents.Adapters;
using Orchestrator.Shared.Agents.Git;
using Orchestrator.Shared.Agents.Processes;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Platform;
using Orchestrator.Simulators.GitHub;
using Orchestrator.Tests.Integration.Support;
using static Orchestrator.Tests.Integration.Agents.AgentTestSupport;

namespace Orchestrator.Tests.Integration.Agents;

// The REAL CLIs through the PRODUCT path: AgentSettings as a user writes them → AgentRunner (preflight, slot row in
// agent_runs, adapter Build, AgentProcessRunner, adapter Parse, accounting) in a GitWorkspaces worktree of a bare
// "remote" repo → CommitAllAsync → PushAsync → a PR on the GitHub simulator through GitHubClient. The model is
// ScriptedModelServer on 127.0.0.1. One class per CLI so xUnit runs the three in parallel.
//
// What is observable per CLI on failures (see README.md beside this file for the wire details):
//   401              Claude: api_error_status 401 · OpenCode: APIError statusCode 401, isRetryable false · Codex: turn.failed
//                    "unexpected status 401 Unauthorized" — all Permanent, the reason names the key variable.
//   429+Retry-After  Claude: api_error_status 429, no header → Transient, RetryAfter unknown (null).
//                    OpenCode: retries itself 5× waiting Retry-After, then responseHeaders["retry-after"] → RetryAfter.
//                    Codex: "exceeded retry limit, last status: 429 Too Many Requests", no header → RetryAfter null.
//   refused          Claude: fails at once ("Unable to connect to API (ConnectionRefused)") → Transient.
//                    OpenCode: retries ≈67 s → our wall-clock kill at 10 s → Transient.
//                    Codex: with the adapter's --disable unbounded_connection_retries fails at once → Transient.

/// <summary>Claude Code through the runner: Anthropic Messages at <c>ANTHROPIC_BASE_URL</c>.</summary>
[SupportedOSPlatform("linux")]
public sealed class RealCliRunnerClaudeCodeTests
{
    private static AgentSettings Claude(string baseUrl, string apiKey, TimeSpan? wallClock = null) => new()
    {
        Name = "claude",
        Kind = AgentKind.ClaudeCode,
        Binary = AgentClis.Require("claude"),
        Model = "claude-sonnet-4-5",
        Environment = new Dictionary<string, string>
        {
            ["ANTHROPIC_BASE_URL"] = baseUrl,
            ["ANTHROPIC_API_KEY"] = apiKey,
        },
        WallClockTimeout = wallClock ?? ProductPath.WallClock,
        StallTimeout = ProductPath.Stall,
    };

    [Fact]
    public async Task Writes_the_file_which_is_committed_pushed_and_opened_as_a_PR_with_usage_and_cost_recorded()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        await using var product = await ProductPath.StartAsync();
        server.ScriptWriteFile(RealCli.FilePath, RealCli.FileContent);

        var (result, worktree) = await product.RunAsync(Claude(server.AnthropicBaseUrl, server.ApiKey));

        var because = product.Because(result, server);
        Assert.False(result.IsError, because);
        Assert.Equal((0, AgentFailureKind.None, "Done"), (result.ExitCode, result.Failure, result.FinalMessage));
        Assert.Equal((400L, 80L), (result.TokensIn, result.TokensOut)); // 2 calls × 200 / 40
        Assert.Equal(ProductPath.SonnetCost, result.CostUsd!.Value, 9); // Claude's own price table (a JSON double: 0.0024000000000000002)
        Assert.Equal("claude-sonnet-4-5", result.Model);
        await product.AssertShippedAsync(worktree, because);
        await product.AssertRecordedAsync(result, "ClaudeCode");
        Assert.Empty(server.UnexpectedRequests);
    }

    [Fact]
    public async Task A_401_is_a_permanent_failure_naming_the_key_variable_not_its_value()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        await using var product = await ProductPath.StartAsync();
        server.FailWith(401);

        var (result, _) = await product.RunAsync(Claude(server.AnthropicBaseUrl, server.ApiKey));

        ProductPath.AssertCredentialFailure(result, "ANTHROPIC_API_KEY", server.ApiKey, product.Because(result, server));
        Assert.Single(server.ModelCalls); // CLAUDE_CODE_MAX_RETRIES=0 from the adapter
        await product.AssertRecordedAsync(result, "ClaudeCode");
    }

    [Fact]
    public async Task A_429_is_transient_and_Claude_shows_no_Retry_After()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        await using var product = await ProductPath.StartAsync();
        server.FailWith(429, retryAfterSeconds: 7);

        var (result, _) = await product.RunAsync(Claude(server.AnthropicBaseUrl, server.ApiKey));

        var because = product.Because(result, server);
        Assert.True(result.IsError, because);
        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.Contains("rate limit", result.FailureReason, StringComparison.OrdinalIgnoreCase);
        // The JSON result has api_error_status 429 but not the header, so the wait is unknown (the caller's backoff applies).
        Assert.Null(result.RetryAfter);
        Assert.Single(server.ModelCalls);
    }

    [Fact]
    public async Task A_refused_connection_fails_at_once_and_is_transient()
    {
        await using var product = await ProductPath.StartAsync();

        var (result, _) = await product.RunAsync(Claude($"http://127.0.0.1:{RealCli.ClosedPort()}", ScriptedModelServer.DefaultApiKey, ProductPath.RefusedWallClock));

        var because = product.Because(result, null);
        Assert.True(result.IsError, because);
        Assert.Equal((1, AgentFailureKind.Transient), (result.ExitCode, result.Failure));
        Assert.Contains("could not reach the model API", result.FailureReason, StringComparison.Ordinal);
        Assert.True(result.Duration < ProductPath.RefusedWallClock, because);
    }
}

/// <summary>OpenCode through the runner: an <c>@ai-sdk/openai-compatible</c> provider in its <c>opencode.json</c>.</summary>
[SupportedOSPlatform("linux")]
public sealed class RealCliRunnerOpenCodeTests
{
    private const string KeyVariable = "SCRIPTED_MODEL_API_KEY";

    private static AgentSettings OpenCode(string baseUrl, string apiKey, TimeSpan? wallClock = null) => new()
    {
        Name = "opencode",
        Kind = AgentKind.OpenCode,
        Binary = AgentClis.Require("opencode"),
        Model = "scripted/scripted-model",
        Environment = new Dictionary<string, string> { [KeyVariable] = apiKey },
        ConfigFile = $$"""
            {
              "$schema": "https://opencode.ai/config.json",
              "provider": {
                "scripted": {
                  "npm": "@ai-sdk/openai-compatible",
                  "name": "Scripted local model",
                  "options": { "baseURL": "{{baseUrl}}", "apiKey": "{env:{{KeyVariable}}}" },
                  "models": {
                    "scripted-model": {
                      "name": "Scripted Model",
                      "tool_call": true,
                      "cost": { "input": 3, "output": 15 },
                      "limit": { "context": 200000, "output": 32000 }
                    }
                  }
                }
              },
              "model": "scripted/scripted-model",
              "small_model": "scripted/scripted-model",
              "autoupdate": false,
              "share": "disabled"
            }
            """,
        WallClockTimeout = wallClock ?? ProductPath.WallClock,
        StallTimeout = ProductPath.Stall,
    };

    [Fact]
    public async Task Writes_the_file_which_is_committed_pushed_and_opened_as_a_PR_with_usage_and_cost_recorded()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        await using var product = await ProductPath.StartAsync();
        server.ScriptWriteFile(RealCli.FilePath, RealCli.FileContent);

        var (result, worktree) = await product.RunAsync(OpenCode(server.OpenAiBaseUrl, server.ApiKey));

        var because = product.Because(result, server);
        Assert.False(result.IsError, because);
        Assert.Equal((0, AgentFailureKind.None, "Done"), (result.ExitCode, result.Failure, result.FinalMessage));
        // Two steps × 200 / 40 (the title call is in no event), priced by the config's cost (3 / 15 USD per M).
        Assert.Equal((400L, 80L), (result.TokensIn, result.TokensOut));
        Assert.Equal(ProductPath.SonnetCost, result.CostUsd!.Value, 9);
        Assert.Equal("scripted/scripted-model", result.Model);
        Assert.StartsWith("ses_", result.SessionId, StringComparison.Ordinal);
        await product.AssertShippedAsync(worktree, because);
        await product.AssertRecordedAsync(result, "OpenCode");
        Assert.Empty(server.UnexpectedRequests);
    }

    [Fact]
    public async Task A_401_is_a_permanent_failure_naming_the_key_variable_not_its_value()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        await using var product = await ProductPath.StartAsync();
        server.FailWith(401);

        var (result, _) = await product.RunAsync(OpenCode(server.OpenAiBaseUrl, server.ApiKey));

        ProductPath.AssertCredentialFailure(result, KeyVariable, server.ApiKey, product.Because(result, server));
        Assert.Single(server.ModelCalls, c => c.Tools.Count > 0); // isRetryable: false
        await product.AssertRecordedAsync(result, "OpenCode");
    }

    [Fact]
    public async Task A_429_is_transient_with_the_Retry_After_OpenCode_waited_for()
    {
        // OpenCode waits Retry-After itself between its 6 attempts, so 1 s keeps the run ≈10 s.
        await using var server = await ScriptedModelServer.StartAsync();
        await using var product = await ProductPath.StartAsync();
        server.FailWith(429, retryAfterSeconds: 1);

        var (result, _) = await product.RunAsync(OpenCode(server.OpenAiBaseUrl, server.ApiKey));

        var because = product.Because(result, server);
        Assert.True(result.IsError, because);
        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.Contains("rate limit", result.FailureReason, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(TimeSpan.FromSeconds(1), result.RetryAfter); // from the error event's responseHeaders
        Assert.Equal(6, server.ModelCalls.Count(c => c.Tools.Count > 0));
    }

    [Fact]
    public async Task A_refused_connection_runs_into_our_wall_clock_limit_and_is_transient()
    {
        // OpenCode retries a refused connection for ≈67 s; the runner's wall-clock limit (10 s here) kills the group.
        await using var product = await ProductPath.StartAsync();

        var (result, _) = await product.RunAsync(OpenCode($"http://127.0.0.1:{RealCli.ClosedPort()}/v1", ScriptedModelServer.DefaultApiKey, ProductPath.RefusedWallClock));

        var because = product.Because(result, null);
        Assert.True(result.IsError, because);
        Assert.Equal((AgentProcessRunner.KilledExitCode, AgentFailureKind.Transient), (result.ExitCode, result.Failure));
        Assert.Contains("(wall-clock)", result.FailureReason, StringComparison.Ordinal);
        Assert.InRange(result.Duration, ProductPath.RefusedWallClock, ProductPath.RefusedWallClock + TimeSpan.FromSeconds(10));
        await product.AssertRecordedAsync(result, "OpenCode");
    }
}

/// <summary>Codex through the runner: a Responses provider in its <c>config.toml</c>.</summary>
[SupportedOSPlatform("linux")]
public sealed class RealCliRunnerCodexTests
{
    private const string KeyVariable = "SCRIPTED_MODEL_API_KEY";

    // What a user writes: provider, model, approvals, sandbox, retries. The network features (plugins,
    // remote_plugin, apps) and unbounded_connection_retries are the adapter's business (--disable …).
    private static AgentSettings Codex(string baseUrl, string apiKey, TimeSpan? wallClock = null) => new()
    {
        Name = "codex",
        Kind = AgentKind.Codex,
        Binary = AgentClis.Require("codex"),
        Model = "scripted-model",
        Environment = new Dictionary<string, string> { [KeyVariable] = apiKey },
        ConfigFile = $"""
            model = "scripted-model"
            model_provider = "scripted"
            approval_policy = "never"
            sandbox_mode = "workspace-write"
            check_for_update_on_startup = false

            [analytics]
            enabled = false

            [model_providers.scripted]
            name = "Scripted local model"
            base_url = "{baseUrl}"
            env_key = "{KeyVariable}"
            wire_api = "responses"
            request_max_retries = 0
            stream_max_retries = 0
            """,
        WallClockTimeout = wallClock ?? ProductPath.WallClock,
        StallTimeout = ProductPath.Stall,
    };

    [Fact]
    public async Task Writes_the_file_which_is_committed_pushed_and_opened_as_a_PR_with_usage_recorded()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        await using var product = await ProductPath.StartAsync();
        server.ScriptWriteFile(RealCli.FilePath, RealCli.FileContent);

        var (result, worktree) = await product.RunAsync(Codex(server.OpenAiBaseUrl, server.ApiKey));

        var because = product.Because(result, server);
        Assert.False(result.IsError, because);
        Assert.Equal((0, AgentFailureKind.None, "Done"), (result.ExitCode, result.Failure, result.FinalMessage));
        Assert.Equal((400L, 80L), (result.TokensIn, result.TokensOut)); // turn.completed: 2 calls × 200 / 40
        Assert.Null(result.CostUsd); // Codex reports no cost
        Assert.Equal("scripted-model", result.Model);
        Assert.False(string.IsNullOrEmpty(result.SessionId), because);
        await product.AssertShippedAsync(worktree, because);
        await product.AssertRecordedAsync(result, "Codex");
        Assert.Empty(server.UnexpectedRequests);
    }

    [Fact]
    public async Task A_401_is_a_permanent_failure_naming_the_env_key_not_its_value()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        await using var product = await ProductPath.StartAsync();
        server.FailWith(401);

        var (result, _) = await product.RunAsync(Codex(server.OpenAiBaseUrl, server.ApiKey));

        ProductPath.AssertCredentialFailure(result, KeyVariable, server.ApiKey, product.Because(result, server));
        Assert.Single(server.ModelCalls);
        await product.AssertRecordedAsync(result, "Codex");
    }

    [Fact]
    public async Task A_429_is_transient_and_Codex_shows_no_Retry_After()
    {
        await using var server = await ScriptedModelServer.StartAsync();
        await using var product = await ProductPath.StartAsync();
        server.FailWith(429, retryAfterSeconds: 7);

        var (result, _) = await product.RunAsync(Codex(server.OpenAiBaseUrl, server.ApiKey));

        var because = product.Because(result, server);
        Assert.True(result.IsError, because);
        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.Contains("429", result.FailureReason, StringComparison.Ordinal);
        // "exceeded retry limit, last status: 429 Too Many Requests": neither header nor body reaches the output.
        Assert.Null(result.RetryAfter);
        Assert.Single(server.ModelCalls);
    }

    [Fact]
    public async Task A_refused_connection_fails_at_once_because_the_adapter_disables_unbounded_retries()
    {
        // Without --disable unbounded_connection_retries Codex would print "Reconnecting..." until our 10 s kill.
        await using var product = await ProductPath.StartAsync();

        var (result, _) = await product.RunAsync(Codex($"http://127.0.0.1:{RealCli.ClosedPort()}/v1", ScriptedModelServer.DefaultApiKey, ProductPath.RefusedWallClock));

        var because = product.Because(result, null);
        Assert.True(result.IsError, because);
        Assert.Equal((1, AgentFailureKind.Transient), (result.ExitCode, result.Failure));
        Assert.Contains("Connection failed", result.FailureReason, StringComparison.Ordinal);
        Assert.DoesNotContain("killed", result.FailureReason, StringComparison.Ordinal);
        Assert.True(result.Duration < ProductPath.RefusedWallClock, because);
        await product.AssertRecordedAsync(result, "Codex");
    }
}

/// <summary>
/// The product path around one real-CLI run: a migrated test schema, an <see cref="AgentRunner"/>, a bare remote
/// <c>acme/web</c> (default branch <c>main</c>), <see cref="GitWorkspaces"/>, and the GitHub simulator with issue #1.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class ProductPath : IAsyncDisposable
{
    public const string RepoName = "acme/web";
    public const string TaskKey = "WEB-1";
    public const string TaskTitle = "Add hello notes";

    /// <summary>Runs that end by themselves (OpenCode needs 5–10 s to start on 2 cores; its 429 run ≈10–15 s).</summary>
    public static readonly TimeSpan WallClock = TimeSpan.FromSeconds(90);

    public static readonly TimeSpan Stall = TimeSpan.FromSeconds(60);

    /// <summary>The limit for refused-connection runs.</summary>
    public static readonly TimeSpan RefusedWallClock = TimeSpan.FromSeconds(10);

    /// <summary>(400 in × 3 + 80 out × 15) USD per million tokens.</summary>
    public static readonly decimal SonnetCost = (400 * 3 + 80 * 15) / 1_000_000m;

    private const string GitHubToken = "ghp_SimulatedToken0000000000000000000001";

    private readonly TempDirectory _temp;
    private readonly SocketsHttpHandler _http;

    private ProductPath(TestDatabase db, TempDirectory temp, GitHubSimulator gitHub, SocketsHttpHandler http, string remote)
    {
        Db = db;
        _temp = temp;
        GitHub = gitHub;
        _http = http;
        Remote = remote;
        Client = new GitHubClient(http, new GitHubClientSettings(gitHub.BaseUrl, GitHubToken));
        Workspaces = new GitWorkspaces(temp.Sub("ws"), new GitIdentity("Orchestrator Bot", "bot@orchestrator.test"));
        Runner = new AgentRunner(
            db.DataSource,
            new AgentAdapters(),
            new AgentProcessRunner(killGrace: TimeSpan.FromSeconds(1), path: $"{AgentClis.BinDirectory}:/usr/local/bin:/usr/bin:/bin"),
            new AgentRunnerOptions(temp.Sub("data")),
            TimeProvider.System,
            NullLogger<AgentRunner>.Instance);
    }

    public TestDatabase Db { get; }

    public GitHubSimulator GitHub { get; }

    public GitHubClient Client { get; }

    public GitWorkspaces Workspaces { get; }

    public AgentRunner Runner { get; }

    /// <summary>The bare remote's path (also its URL).</summary>
    public string Remote { get; }

    public static string Branch => GitWorkspaces.BranchName(TaskKey, TaskTitle);

    public static async Task<ProductPath> StartAsync()
    {
        var temp = new TempDirectory();
        var remote = temp.Sub("remote", "acme", "web.git");
        var seed = temp.Sub("seed");
        Directory.CreateDirectory(remote);
        Directory.CreateDirectory(seed);
        Git(remote, "init", "--quiet", "--bare", "--initial-branch=main");
        Git(seed, "init", "--quiet", "--initial-branch=main");
        File.WriteAllText(Path.Combine(seed, "README.md"), "# web\n");
        Git(seed, "add", "README.md");
        Git(seed, "commit", "--quiet", "-m", "initial");
        Git(seed, "push", "--quiet", remote, "main");

        var db = await TestDatabase.CreateAsync();
        var gitHub = await GitHubSimulator.StartAsync(GitHubToken);
        gitHub.AddRepository(RepoName);
        return new ProductPath(db, temp, gitHub, new SocketsHttpHandler(), remote);
    }

    /// <summary>A worktree on <c>orch/WEB-1-…</c>, then the agent run through <see cref="AgentRunner"/>.</summary>
    public async Task<(AgentRunResult Result, AgentWorktree Worktree)> RunAsync(AgentSettings agent)
    {
        var worktree = await Workspaces.CreateWorktreeAsync(RepoName, Remote, null, Branch, null, Ct);
        var spec = new AgentRunSpec("plane-1", "web", "development", 1, agent, RealCli.Prompt, worktree.Path);
        var result = await Runner.RunAsync(spec, Ct);
        return (result, worktree);
    }

    /// <summary>The scripted file is in the worktree, committed on the task branch, pushed, and a PR fixes issue #1.</summary>
    public async Task AssertShippedAsync(AgentWorktree worktree, string because)
    {
        Assert.Equal("orch/WEB-1-add-hello-notes", worktree.Branch);
        var written = Path.Combine(worktree.Path, RealCli.FilePath);
        Assert.True(File.Exists(written), $"{RealCli.FilePath} was not written\n{because}");
        Assert.Equal(RealCli.FileContent, await File.ReadAllTextAsync(written));

        var commit = await Workspaces.CommitAllAsync(worktree, $"{TaskKey}: {TaskTitle}", Ct);
        Assert.True(commit.HasChanges, because);
        Assert.Equal([RealCli.FilePath], commit.ChangedFiles);
        Assert.Equal(1, commit.CommitsAhead);
        Assert.Equal(commit.HeadSha, Git(worktree.Path, "rev-parse", "HEAD"));
        Assert.Equal("Orchestrator Bot <bot@orchestrator.test>", Git(worktree.Path, "log", "-1", "--format=%an <%ae>"));

        await Workspaces.PushAsync(worktree, Remote, null, Ct);
        Assert.Equal(commit.HeadSha, Git(Remote, "rev-parse", "refs/heads/" + worktree.Branch));
        Assert.Equal(RealCli.FileContent.TrimEnd(), Git(Remote, "show", $"refs/heads/{worktree.Branch}:{RealCli.FilePath}"));

        var repo = RepoRef.Parse(RepoName);
        var issue = await Client.CreateIssueAsync(repo, TaskTitle, "Please add notes/hello.txt", Ct);
        Assert.Equal(1, issue.Number);
        Assert.Null(await Client.FindPullRequestByHeadAsync(repo, worktree.Branch, Ct));
        var pr = await Client.CreatePullRequestAsync(repo, worktree.Branch, worktree.BaseBranch, $"{TaskKey}: {TaskTitle}", $"Fixes #{issue.Number}\n\nWritten by the agent.", Ct);
        var found = await Client.FindPullRequestByHeadAsync(repo, worktree.Branch, Ct);
        Assert.Equal(pr.Number, found?.Number);
        var simulated = Assert.Single(GitHub.PullRequests(RepoName));
        Assert.Equal((pr.Number, worktree.Branch, "open"), (simulated.Number, simulated.HeadRef, simulated.State));
        Assert.StartsWith("Fixes #1\n", simulated.Body, StringComparison.Ordinal);
        Assert.Empty(GitHub.Host.UnexpectedRequests);
    }

    /// <summary>The single <c>agent_runs</c> row holds what the result says (cost as <c>numeric(12, 6)</c>).</summary>
    public async Task AssertRecordedAsync(AgentRunResult result, string kind)
    {
        await using var command = Db.DataSource.CreateCommand(
            "SELECT kind, finished_at IS NOT NULL, exit_code, is_error, failure, failure_reason, tokens_in, tokens_out, cost_usd FROM agent_runs");
        await using var reader = await command.ExecuteReaderAsync(Ct);
        Assert.True(await reader.ReadAsync(Ct), "no agent_runs row");
        Assert.Equal(kind, reader.GetString(0));
        Assert.True(reader.GetBoolean(1));
        Assert.Equal(result.ExitCode, reader.GetInt32(2));
        Assert.Equal(result.IsError, reader.GetBoolean(3));
        Assert.Equal(result.Failure.ToString(), reader.GetString(4));
        Assert.Equal(result.FailureReason, reader.IsDBNull(5) ? null : reader.GetString(5));
        Assert.Equal(result.TokensIn, reader.IsDBNull(6) ? null : reader.GetInt64(6));
        Assert.Equal(result.TokensOut, reader.IsDBNull(7) ? null : reader.GetInt64(7));
        decimal? recordedCost = reader.IsDBNull(8) ? null : reader.GetDecimal(8);
        Assert.Equal(result.CostUsd is { } cost ? Math.Round(cost, 6) : null, recordedCost);
        Assert.False(await reader.ReadAsync(Ct), "more than one agent_runs row");
    }

    /// <summary>A 401: permanent, the reason names the variable holding the key, and never the key itself.</summary>
    public static void AssertCredentialFailure(AgentRunResult result, string keyVariable, string apiKey, string because)
    {
        Assert.True(result.IsError, because);
        Assert.Equal((1, AgentFailureKind.Permanent), (result.ExitCode, result.Failure));
        Assert.Contains("401", result.FailureReason, StringComparison.Ordinal);
        Assert.Contains(keyVariable, result.FailureReason, StringComparison.Ordinal);
        Assert.DoesNotContain(apiKey, result.FailureReason, StringComparison.Ordinal);
        Assert.True(result.TokensIn is null or 0, because);
    }

    public string Because(AgentRunResult result, ScriptedModelServer? server)
    {
        var log = Directory.Exists(_temp.Sub("data", "logs"))
            ? string.Join("\n", Directory.GetFiles(_temp.Sub("data", "logs")).Select(f => File.ReadAllText(f)))
            : "(no log)";
        var text = $"result: {result}\n--- run log ---\n{Cap(log)}";
        return server is null ? text : text + "\n--- server ---\n" + server.Describe();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await GitHub.DisposeAsync();
        await Db.DisposeAsync();
        _temp.Dispose();
    }

    private static string Cap(string text) => text.Length <= 8000 ? text : "…" + text[^8000..];
}

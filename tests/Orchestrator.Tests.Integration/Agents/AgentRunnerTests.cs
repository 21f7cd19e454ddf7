using System.Runtime.Versioning;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Shared.Agents;
using Orchestrator.Shared.Agents.Adapters;
using Orchestrator.Shared.Agents.Processes;
using Orchestrator.Shared.Engine;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Tests.Integration.Agents;

/// <summary>The runner around the process: preflight, slots in PostgreSQL, breaker, accounting.</summary>
[SupportedOSPlatform("linux")]
public sealed class AgentRunnerTests
{
    private static AgentSettings Generic(params string[] template) => new()
    {
        Name = "fake",
        Kind = AgentKind.Generic,
        Binary = AgentTestSupport.FakeAgent,
        ArgumentsTemplate = template,
        PromptDelivery = PromptDelivery.Argument,
        WallClockTimeout = TimeSpan.FromSeconds(20),
        StallTimeout = TimeSpan.FromSeconds(10),
    };

    private static AgentRunner Runner(TestDatabase db, string dataDir, int max = 2, int perProject = 1, TimeProvider? clock = null) => new(
        db.DataSource, new AgentAdapters(), new AgentProcessRunner(), new AgentRunnerOptions(dataDir, max, perProject, BreakerThreshold: 2, TimeSpan.FromMinutes(1)),
        clock ?? TimeProvider.System, NullLogger<AgentRunner>.Instance);

    [Fact]
    public async Task A_run_is_recorded_with_its_outcome_and_log_tail()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Sub("work"));
        var runner = Runner(db, dir.Sub("data"));

        var result = await runner.RunAsync(new AgentRunSpec("plane-1", "proj", "development", 1, Generic("write", "hello.txt", "{prompt}"), "hi there", dir.Sub("work")), AgentTestSupport.Ct);

        Assert.False(result.IsError);
        Assert.Equal("hi there\n", await File.ReadAllTextAsync(dir.Sub("work", "hello.txt")));
        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM agent_runs WHERE finished_at IS NOT NULL AND exit_code = 0 AND NOT is_error AND stage = 'development'"));
        Assert.Contains("wrote hello.txt", await db.ScalarAsync<string>("SELECT log_tail FROM agent_runs"), StringComparison.Ordinal);
        Assert.True(runner.Preflights["fake"].Ok);
        Assert.Equal("fake-agent 1.0", runner.Preflights["fake"].Version);
        Assert.False(Directory.Exists(dir.Sub("data", "homes", "run-1")));
    }

    [Fact]
    public async Task A_missing_binary_fails_the_preflight_permanently_without_a_run()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var dir = new TempDirectory();
        var runner = Runner(db, dir.Sub("data"));
        var settings = Generic("x") with { Binary = "/nonexistent/agent-cli" };

        var result = await runner.RunAsync(new AgentRunSpec(null, "proj", "development", 1, settings, "p", dir.Path), AgentTestSupport.Ct);

        Assert.True(result.IsError);
        Assert.Equal(AgentFailureKind.Permanent, result.Failure);
        Assert.Contains("not found", result.FailureReason, StringComparison.Ordinal);
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM agent_runs"));
    }

    [Fact]
    public async Task Runs_beyond_the_caps_wait_durably_instead_of_starting()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var dir = new TempDirectory();
        var runner = Runner(db, dir.Sub("data"), max: 1, perProject: 1);
        var slow = Generic("json-lines", "20", "0.1");
        var first = runner.RunAsync(new AgentRunSpec(null, "proj", "development", 1, slow, "p", dir.Path), AgentTestSupport.Ct);
        await Orchestrator.Tests.Integration.EndToEnd.Harness.EventuallyAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM agent_runs WHERE finished_at IS NULL") == 1, "the first run to hold its slot");

        var deferred = await Assert.ThrowsAsync<ActivityDeferredException>(() =>
            runner.RunAsync(new AgentRunSpec(null, "other-project", "development", 1, slow, "p", dir.Path), AgentTestSupport.Ct));
        Assert.Contains("slot", deferred.Message, StringComparison.Ordinal);

        Assert.False((await first).IsError);
        var again = await runner.RunAsync(new AgentRunSpec(null, "other-project", "development", 1, Generic("write", "x.txt", "{prompt}"), "p", dir.Path), AgentTestSupport.Ct);
        Assert.False(again.IsError);
    }

    [Fact]
    public async Task Transient_failures_in_a_row_open_the_breaker_and_pause_launches()
    {
        await using var db = await TestDatabase.CreateAsync();
        using var dir = new TempDirectory();
        var runner = Runner(db, dir.Sub("data"));
        var failing = Generic("fail-transient");

        for (var i = 0; i < 2; i++)
        {
            var r = await runner.RunAsync(new AgentRunSpec(null, "proj", "development", 1, failing, "p", dir.Path), AgentTestSupport.Ct);
            Assert.True(r.IsError);
            Assert.Equal(AgentFailureKind.Transient, r.Failure);
        }

        Assert.Equal("open", runner.Breakers["fake"].State);
        var paused = await Assert.ThrowsAsync<ActivityDeferredException>(() =>
            runner.RunAsync(new AgentRunSpec(null, "proj", "development", 1, failing, "p", dir.Path), AgentTestSupport.Ct));
        Assert.Contains("circuit breaker", paused.Message, StringComparison.Ordinal);
        Assert.InRange(paused.Delay, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1));
        Assert.Equal(2L, await db.ScalarAsync<long>("SELECT count(*) FROM agent_runs WHERE failure = 'Transient'"));
    }
}

using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text;
using Orchestrator.Shared.Agents;
using Orchestrator.Shared.Agents.Processes;
using static Orchestrator.Tests.Integration.Agents.AgentTestSupport;

namespace Orchestrator.Tests.Integration.Agents;

/// <summary><see cref="AgentProcessRunner"/> against the fake agent (Fixtures/agents/fake-agent.sh): real processes, real signals.</summary>
[SupportedOSPlatform("linux")] // signals, process groups and /proc: the service runs on Linux
public sealed class AgentProcessRunnerTests : IDisposable
{
    private static readonly TimeSpan ShortGrace = TimeSpan.FromMilliseconds(500);

    private readonly TempDirectory _temp = new();
    private readonly AgentProcessRunner _runner = new(killGrace: ShortGrace);

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Agent_writes_into_its_working_directory_and_exits_zero()
    {
        var request = Request(_temp);

        var outcome = await _runner.RunAsync(Invocation("write", "hello.txt", "hi there"), request, Settings(), Ct);

        Assert.Equal(0, outcome.ExitCode);
        Assert.Null(outcome.TimedOut);
        Assert.Equal("hi there\n", File.ReadAllText(Path.Combine(request.WorkingDirectory, "hello.txt")));
        Assert.Contains("\"is_error\":false", outcome.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"is_error\":false", File.ReadAllText(request.LogPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exit_code_and_stderr_come_back()
    {
        var outcome = await _runner.RunAsync(Invocation("exit", "3"), Request(_temp), Settings(), Ct);

        Assert.Equal(3, outcome.ExitCode);
        Assert.Equal("bye\n", outcome.Stderr);
        Assert.Null(outcome.TimedOut);
    }

    [Fact]
    public async Task Environment_is_built_from_scratch_with_the_agent_credentials_only()
    {
        const string canaryName = "ORCH_CANARY_SECRET";
        var canaryValue = "canary-" + Guid.NewGuid().ToString("N");
        var previous = Environment.GetEnvironmentVariable(canaryName);
        Environment.SetEnvironmentVariable(canaryName, canaryValue);
        try
        {
            var request = Request(_temp);
            var dump = _temp.Sub("env.bin");
            var invocation = Invocation("env", dump) with
            {
                Environment = new Dictionary<string, string> { ["OPENCODE_CONFIG"] = "/x/opencode.json", ["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:9" },
            };
            var settings = Settings(environment: new Dictionary<string, string>
            {
                ["ANTHROPIC_API_KEY"] = "sk-test-agent-key",
                ["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:1",
            });

            var outcome = await _runner.RunAsync(invocation, request, settings, Ct);

            Assert.Equal(0, outcome.ExitCode);
            var env = File.ReadAllText(dump).Split('\0', StringSplitOptions.RemoveEmptyEntries)
                .Select(entry => entry.Split('=', 2))
                .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
            Assert.DoesNotContain(canaryName, env.Keys);
            Assert.DoesNotContain(env, pair => pair.Value.Contains(canaryValue, StringComparison.Ordinal));
            Assert.Equal("sk-test-agent-key", env["ANTHROPIC_API_KEY"]);
            Assert.Equal("http://127.0.0.1:9", env["ANTHROPIC_BASE_URL"]); // the invocation layer wins
            Assert.Equal("/x/opencode.json", env["OPENCODE_CONFIG"]);
            var home = Path.GetFullPath(request.HomeDirectory);
            Assert.Equal(home, env["HOME"]);
            Assert.Equal(Path.Combine(home, ".config"), env["XDG_CONFIG_HOME"]);
            Assert.Equal(Path.Combine(home, "tmp"), env["TMPDIR"]);
            Assert.True(Directory.Exists(env["XDG_STATE_HOME"]));
            Assert.True(Directory.Exists(env["TMPDIR"]));
            Assert.Equal(Environment.GetEnvironmentVariable("PATH"), env["PATH"]);
            Assert.Equal("C.UTF-8", env["LANG"]);
            Assert.Equal("dumb", env["TERM"]);
            Assert.Equal("true", env["CI"]);
            Assert.Equal("1", env["NO_COLOR"]);

            // Only ours, plus what bash itself sets up (PWD, SHLVL, _).
            string[] ours = ["PATH", "HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "TMPDIR", "LANG", "TERM", "CI", "NO_COLOR", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENCODE_CONFIG"];
            Assert.Empty(env.Keys.Except(ours).Except(["PWD", "SHLVL", "_", "OLDPWD"]));
        }
        finally
        {
            Environment.SetEnvironmentVariable(canaryName, previous);
        }
    }

    [Fact]
    public void BuildEnvironment_layers_base_then_settings_then_invocation_and_inherits_nothing()
    {
        var env = AgentProcessRunner.BuildEnvironment(
            "/srv/runs/1/home",
            "/usr/bin:/bin",
            new Dictionary<string, string> { ["TERM"] = "xterm", ["KEY"] = "from-settings", ["ONLY_SETTINGS"] = "s" },
            new Dictionary<string, string> { ["KEY"] = "from-invocation" });

        Assert.Equal("/usr/bin:/bin", env["PATH"]);
        Assert.Equal("/srv/runs/1/home", env["HOME"]);
        Assert.Equal("/srv/runs/1/home/.local/share", env["XDG_DATA_HOME"]);
        Assert.Equal("/srv/runs/1/home/.cache", env["XDG_CACHE_HOME"]);
        Assert.Equal("/srv/runs/1/home/.local/state", env["XDG_STATE_HOME"]);
        Assert.Equal("xterm", env["TERM"]);
        Assert.Equal("from-invocation", env["KEY"]);
        Assert.Equal("s", env["ONLY_SETTINGS"]);
        Assert.Equal(13, env.Count);
        Assert.Throws<ArgumentException>(() => AgentProcessRunner.BuildEnvironment(
            "/h", null, new Dictionary<string, string> { ["A=B"] = "x" }, new Dictionary<string, string>()));
    }

    [Fact]
    public async Task Stdin_is_at_end_of_file_from_the_start()
    {
        var outcome = await _runner.RunAsync(Invocation("stdin"), Request(_temp), Settings(stall: TimeSpan.FromSeconds(5)), Ct);

        Assert.Equal(0, outcome.ExitCode);
        Assert.Null(outcome.TimedOut);
        Assert.Equal("stdin-closed 0\n", outcome.Stdout);
    }

    [Fact]
    public async Task Missing_executable_is_exit_127_without_throwing()
    {
        var request = Request(_temp);
        var byName = await _runner.RunAsync(Invocation() with { FileName = "no-such-agent-cli" }, request, Settings(), Ct);
        var byPath = await _runner.RunAsync(Invocation() with { FileName = "/nonexistent/bin/agent" }, request, Settings(), Ct);

        Assert.Equal(127, byName.ExitCode);
        Assert.Equal("executable not found: no-such-agent-cli", byName.Stderr);
        Assert.Null(byName.TimedOut);
        Assert.Equal(127, byPath.ExitCode);
        Assert.Equal("executable not found: /nonexistent/bin/agent", byPath.Stderr);
        Assert.Contains("executable not found: no-such-agent-cli", File.ReadAllText(request.LogPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Names_are_resolved_on_the_PATH_given_to_the_agent()
    {
        var bin = _temp.Sub("bin");
        Directory.CreateDirectory(bin);
        File.Copy(FakeAgent, Path.Combine(bin, "my-agent"));
        var runner = new AgentProcessRunner(killGrace: ShortGrace, path: bin + ":/usr/bin:/bin");

        var outcome = await runner.RunAsync(Invocation("exit", "0") with { FileName = "my-agent" }, Request(_temp), Settings(), Ct);
        var unknown = await _runner.RunAsync(Invocation("exit", "0") with { FileName = "my-agent" }, Request(_temp), Settings(), Ct);

        Assert.Equal(0, outcome.ExitCode);
        Assert.Equal(127, unknown.ExitCode);
    }

    [Fact]
    public async Task Agent_leads_its_own_session_and_process_group()
    {
        var ids = _temp.Sub("ids");

        var outcome = await _runner.RunAsync(Invocation("ids", ids), Request(_temp), Settings(), Ct);

        Assert.Equal(0, outcome.ExitCode);
        var parts = File.ReadAllText(ids).Split(' ', StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        var (pid, ppid, pgid, sid) = (parts[0], parts[1], parts[2], parts[3]);
        Assert.Equal(pid, pgid);
        Assert.Equal(pid, sid);

        // setsid(1) exec'd in place rather than forking: the agent is our direct child, so its pid is the group we kill.
        Assert.Equal(Environment.ProcessId, ppid);
    }

    [Fact]
    public async Task Stall_timeout_kills_the_agent_and_its_grandchild_that_ignores_sigterm()
    {
        var pidFile = _temp.Sub("grandchild.pid");
        var clock = Stopwatch.StartNew();

        var outcome = await _runner.RunAsync(
            Invocation("grandchild", pidFile, "stall"),
            Request(_temp),
            Settings(stall: TimeSpan.FromSeconds(1), wall: TimeSpan.FromSeconds(30)),
            Ct);

        Assert.Equal("stall", outcome.TimedOut);
        Assert.Equal(-1, outcome.ExitCode);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15));
        var grandchild = ReadPid(pidFile);
        Assert.True(WaitUntil(() => IsGone(grandchild), TimeSpan.FromSeconds(3)), $"grandchild {grandchild} survived");
        Assert.Contains("started-grandchild", outcome.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wall_clock_timeout_kills_a_chattering_agent_and_its_grandchild()
    {
        var pidFile = _temp.Sub("grandchild.pid");
        var request = Request(_temp);

        var outcome = await _runner.RunAsync(
            Invocation("grandchild", pidFile, "chatter"),
            request,
            Settings(stall: TimeSpan.FromSeconds(1), wall: TimeSpan.FromSeconds(2)),
            Ct);

        Assert.Equal("wall-clock", outcome.TimedOut);
        Assert.Equal(-1, outcome.ExitCode);
        Assert.Contains("\"type\":\"tick\"", outcome.Stdout, StringComparison.Ordinal);
        var grandchild = ReadPid(pidFile);
        Assert.True(WaitUntil(() => IsGone(grandchild), TimeSpan.FromSeconds(3)), $"grandchild {grandchild} survived");
        Assert.Contains("[orchestrator] wall-clock timeout", File.ReadAllText(request.LogPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_agent_ignoring_sigterm_is_killed_after_the_grace()
    {
        var pidFile = _temp.Sub("agent.pid");
        var clock = Stopwatch.StartNew();

        var outcome = await _runner.RunAsync(Invocation("ignore-term", pidFile), Request(_temp), Settings(stall: TimeSpan.FromSeconds(1)), Ct);

        Assert.Equal("stall", outcome.TimedOut);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1) + ShortGrace, $"killed after {clock.Elapsed}, before the grace was over");
        Assert.True(IsGone(ReadPid(pidFile)));
    }

    [Fact]
    public async Task Steady_output_keeps_the_stall_timeout_away()
    {
        // 6 lines 0.4 s apart: 2.4 s in all, longer than the 1 s stall limit, never silent for 1 s.
        var outcome = await _runner.RunAsync(Invocation("json-lines", "6", "0.4"), Request(_temp), Settings(stall: TimeSpan.FromSeconds(1)), Ct);

        Assert.Null(outcome.TimedOut);
        Assert.Equal(0, outcome.ExitCode);
        Assert.Equal(6, outcome.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.True(outcome.Duration > TimeSpan.FromSeconds(2), $"ran {outcome.Duration}");
    }

    [Fact]
    public async Task Processes_left_in_the_group_after_a_normal_exit_are_killed()
    {
        var pidFile = _temp.Sub("grandchild.pid");

        var outcome = await _runner.RunAsync(Invocation("grandchild", pidFile, "exit"), Request(_temp), Settings(), Ct);

        Assert.Equal(0, outcome.ExitCode);
        Assert.Null(outcome.TimedOut);
        var grandchild = ReadPid(pidFile);
        Assert.True(WaitUntil(() => IsGone(grandchild), TimeSpan.FromSeconds(3)), $"grandchild {grandchild} survived");
    }

    [Fact]
    public async Task A_process_that_left_the_group_cannot_hold_the_run_open()
    {
        var pidFile = _temp.Sub("escaped.pid");
        var request = Request(_temp);
        try
        {
            var outcome = await _runner.RunAsync(Invocation("escape", pidFile), request, Settings(), Ct);

            Assert.Equal(0, outcome.ExitCode);
            Assert.InRange(outcome.Duration, TimeSpan.Zero, TimeSpan.FromSeconds(10)); // the escapee holds stdout for 30 s
            Assert.Contains("{\"type\":\"escaped\"}", outcome.Stdout, StringComparison.Ordinal);
            Assert.Contains("stopped reading", File.ReadAllText(request.LogPath), StringComparison.Ordinal);
        }
        finally
        {
            // Out of the group, so out of the runner's reach by design: the test cleans up what it started.
            if (File.Exists(pidFile))
            {
                KillQuietly(ReadPid(pidFile));
            }
        }
    }

    [Fact]
    public async Task Cancellation_kills_the_group_then_throws()
    {
        var pidFile = _temp.Sub("grandchild.pid");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            _runner.RunAsync(Invocation("grandchild", pidFile, "chatter"), Request(_temp), Settings(), cts.Token));

        var grandchild = ReadPid(pidFile);
        Assert.True(WaitUntil(() => IsGone(grandchild), TimeSpan.FromSeconds(1)), $"grandchild {grandchild} survived the cancellation");
    }

    [Fact]
    public async Task The_run_log_is_capped_with_one_marker_line()
    {
        var runner = new AgentProcessRunner(logCapBytes: 10_000, killGrace: ShortGrace);
        var request = Request(_temp);

        var outcome = await runner.RunAsync(Invocation("flood", "100000"), request, Settings(), Ct);

        Assert.Equal(0, outcome.ExitCode);
        var log = File.ReadAllText(request.LogPath);
        Assert.Equal(new string('x', 10_000) + "\n[log truncated at 10000 bytes]\n", log);
        Assert.EndsWith("END\n", outcome.Stdout, StringComparison.Ordinal); // the outcome has its own, larger cap
    }

    [Fact]
    public async Task Stdout_keeps_its_head_and_stderr_its_tail()
    {
        var runner = new AgentProcessRunner(stdoutCapBytes: 4096, stderrTailBytes: 1000, killGrace: ShortGrace);

        var flood = await runner.RunAsync(Invocation("flood", "100000"), Request(_temp), Settings(), Ct);
        var errors = await runner.RunAsync(Invocation("flood-stderr", "2000"), Request(_temp), Settings(), Ct);

        Assert.Equal(new string('x', 4096), flood.Stdout);
        Assert.EndsWith("stderr line 2000\n", errors.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("stderr line 1\n", errors.Stderr, StringComparison.Ordinal);
        Assert.Equal(1000, Encoding.UTF8.GetByteCount(errors.Stderr));
    }

    [Fact]
    public async Task Capped_output_never_splits_a_character()
    {
        var runner = new AgentProcessRunner(stdoutCapBytes: 1000, killGrace: ShortGrace);

        var outcome = await runner.RunAsync(Invocation("utf8"), Request(_temp), Settings(), Ct);

        Assert.DoesNotContain('\uFFFD', outcome.Stdout);
        Assert.StartsWith("é€😀", outcome.Stdout, StringComparison.Ordinal);
        Assert.InRange(Encoding.UTF8.GetByteCount(outcome.Stdout), 997, 1000);
    }

    [Fact]
    public async Task Invocation_files_are_written_under_home_and_may_not_escape_it()
    {
        var request = Request(_temp);
        var invocation = Invocation("exit", "0") with
        {
            Files = new Dictionary<string, string> { [".config/opencode/opencode.json"] = "{\"provider\":{}}" },
        };

        await _runner.RunAsync(invocation, request, Settings(), Ct);

        var written = Path.Combine(request.HomeDirectory, ".config", "opencode", "opencode.json");
        Assert.Equal("{\"provider\":{}}", File.ReadAllText(written));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(written));
        await Assert.ThrowsAsync<ArgumentException>(() => _runner.RunAsync(
            invocation with { Files = new Dictionary<string, string> { ["../outside.txt"] = "x" } }, request, Settings(), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => _runner.RunAsync(
            invocation with { Files = new Dictionary<string, string> { ["/tmp/outside.txt"] = "x" } }, request, Settings(), Ct));
        Assert.False(File.Exists(_temp.Sub("outside.txt")));
    }
}

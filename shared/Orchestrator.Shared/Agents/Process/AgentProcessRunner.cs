using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using SysProcess = System.Diagnostics.Process;

// The namespace is "Processes", not "Process" like the folder: a namespace Orchestrator.Shared.Agents.Process
// would shadow System.Diagnostics.Process for all code under Orchestrator.Shared.Agents (adapters, preflight).
namespace Orchestrator.Shared.Agents.Processes;

/// <summary>
/// Starts one coding-agent CLI run and waits for it, on Linux: a private environment built from
/// scratch, stdin closed, its own session and process group (started through <c>setsid(1)</c>), output
/// captured and logged with caps, wall-clock and stall timeouts, and the whole process group killed at
/// the end. Design: <c>README.md</c> beside this file.
/// </summary>
/// <remarks>
/// Instances hold no per-run state and may run any number of agents at once.
/// </remarks>
public sealed class AgentProcessRunner
{
    /// <summary>Default cap of the run log: 5 MiB.</summary>
    public const long DefaultLogCapBytes = 5L * 1024 * 1024;

    /// <summary>Default number of leading stdout bytes kept in <see cref="ProcessOutcome.Stdout"/>: 1 MiB.</summary>
    public const int DefaultStdoutCapBytes = 1024 * 1024;

    /// <summary>Default number of trailing stderr bytes kept in <see cref="ProcessOutcome.Stderr"/>: 64 KiB.</summary>
    public const int DefaultStderrTailBytes = 64 * 1024;

    /// <summary>Exit code reported when the run was killed by a timeout.</summary>
    public const int KilledExitCode = -1;

    /// <summary>Exit code reported when the executable cannot be found (as a shell reports it).</summary>
    public const int NotFoundExitCode = 127;

    /// <summary><see cref="ProcessOutcome.TimedOut"/> value for <see cref="AgentSettings.WallClockTimeout"/>.</summary>
    public const string WallClockTimeout = "wall-clock";

    /// <summary><see cref="ProcessOutcome.TimedOut"/> value for <see cref="AgentSettings.StallTimeout"/>.</summary>
    public const string StallTimeout = "stall";

    private static readonly TimeSpan GroupPollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan ExitAfterKillLimit = TimeSpan.FromSeconds(10);

    /// <summary>XDG and temp directories under the home: variable → path relative to the home.</summary>
    private static readonly (string Name, string Relative)[] HomeDirectories =
    [
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", Path.Combine(".local", "share")),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", Path.Combine(".local", "state")),
        ("TMPDIR", "tmp"),
    ];

    private const UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static readonly Lazy<string?> SetsidPath = new(() =>
        new[] { "/usr/bin/setsid", "/bin/setsid", "/usr/local/bin/setsid" }.FirstOrDefault(IsExecutableFile));

    private readonly long _logCapBytes;
    private readonly int _stdoutCapBytes;
    private readonly int _stderrTailBytes;
    private readonly TimeSpan _killGrace;
    private readonly string _path;

    /// <summary>Creates a runner.</summary>
    /// <param name="logCapBytes">Most bytes of output written to the run log per run (default 5 MiB); must be ≥ 0.</param>
    /// <param name="stdoutCapBytes">Leading stdout bytes kept in the outcome (default 1 MiB): the CLIs' JSON comes first.</param>
    /// <param name="stderrTailBytes">Trailing stderr bytes kept in the outcome (default 64 KiB): errors come last.</param>
    /// <param name="killGrace">Time between SIGTERM and SIGKILL to the group (default 5 s); must be ≥ 0.</param>
    /// <param name="path">
    /// The <c>PATH</c> given to agents and used to find their executables; default: this process's
    /// <c>PATH</c> (read once, here), or <c>/usr/local/bin:/usr/bin:/bin</c> when unset.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">A negative cap or grace.</exception>
    public AgentProcessRunner(
        long logCapBytes = DefaultLogCapBytes,
        int stdoutCapBytes = DefaultStdoutCapBytes,
        int stderrTailBytes = DefaultStderrTailBytes,
        TimeSpan? killGrace = null,
        string? path = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(logCapBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(stdoutCapBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(stderrTailBytes);
        _killGrace = killGrace ?? TimeSpan.FromSeconds(5);
        ArgumentOutOfRangeException.ThrowIfLessThan(_killGrace, TimeSpan.Zero, nameof(killGrace));
        _logCapBytes = logCapBytes;
        _stdoutCapBytes = stdoutCapBytes;
        _stderrTailBytes = stderrTailBytes;
        _path = path ?? System.Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
    }

    /// <summary>
    /// The agent's environment, built from scratch (nothing is inherited from this process). Later
    /// layers win: (1) the base — <c>PATH</c>, <c>HOME</c>, <c>XDG_CONFIG_HOME</c> (<c>HOME/.config</c>),
    /// <c>XDG_DATA_HOME</c> (<c>HOME/.local/share</c>), <c>XDG_CACHE_HOME</c> (<c>HOME/.cache</c>),
    /// <c>XDG_STATE_HOME</c> (<c>HOME/.local/state</c>), <c>TMPDIR</c> (<c>HOME/tmp</c>),
    /// <c>LANG=C.UTF-8</c>, <c>TERM=dumb</c>, <c>CI=true</c>, <c>NO_COLOR=1</c>; (2)
    /// <paramref name="agentEnvironment"/> (<see cref="AgentSettings.Environment"/>: the model
    /// credentials); (3) <paramref name="invocationEnvironment"/> (<see cref="AgentInvocation.Environment"/>).
    /// Pure: creates no directories.
    /// </summary>
    /// <param name="homeDirectory">The private home; made absolute.</param>
    /// <param name="path">The <c>PATH</c> value; <c>null</c> or empty leaves <c>PATH</c> out of the base.</param>
    /// <param name="agentEnvironment">Layer 2.</param>
    /// <param name="invocationEnvironment">Layer 3.</param>
    /// <returns>Name → value, ordinal names.</returns>
    /// <exception cref="ArgumentException">A name that is empty or holds <c>=</c> or NUL, or a value holding NUL.</exception>
    public static IReadOnlyDictionary<string, string> BuildEnvironment(
        string homeDirectory,
        string? path,
        IReadOnlyDictionary<string, string> agentEnvironment,
        IReadOnlyDictionary<string, string> invocationEnvironment)
    {
        ArgumentException.ThrowIfNullOrEmpty(homeDirectory);
        ArgumentNullException.ThrowIfNull(agentEnvironment);
        ArgumentNullException.ThrowIfNull(invocationEnvironment);

        var home = Path.GetFullPath(homeDirectory);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!string.IsNullOrEmpty(path))
        {
            environment["PATH"] = path;
        }

        environment["HOME"] = home;
        foreach (var (name, relative) in HomeDirectories)
        {
            environment[name] = Path.Combine(home, relative);
        }

        environment["LANG"] = "C.UTF-8";
        environment["TERM"] = "dumb";
        environment["CI"] = "true";
        environment["NO_COLOR"] = "1";

        foreach (var layer in new[] { agentEnvironment, invocationEnvironment })
        {
            foreach (var (name, value) in layer)
            {
                if (string.IsNullOrEmpty(name) || name.Contains('=', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
                {
                    throw new ArgumentException($"Invalid environment variable name '{name}'.", nameof(agentEnvironment));
                }

                if (value is null || value.Contains('\0', StringComparison.Ordinal))
                {
                    throw new ArgumentException($"Environment variable '{name}' has a null value or one holding NUL.", nameof(agentEnvironment));
                }

                environment[name] = value;
            }
        }

        return environment;
    }

    /// <summary>
    /// Runs the agent to completion, a timeout or cancellation; afterwards no process of its group is left.
    /// </summary>
    /// <param name="invocation">
    /// The command: <see cref="AgentInvocation.FileName"/> is an absolute path, a path relative to the
    /// working directory (when it holds a <c>/</c>), or a name looked up in the absolute directories of
    /// the agent's <c>PATH</c> (empty or relative entries are skipped: the worktree must not supply
    /// binaries). <see cref="AgentInvocation.Files"/> are written first (mode 0600, directories 0700).
    /// </param>
    /// <param name="request">Working directory (must exist), private home (created), log path (created, appended).</param>
    /// <param name="settings">Environment layer and the two timeouts; a timeout ≤ 0 or infinite is off.</param>
    /// <param name="cancellationToken">Kills the group (SIGTERM, grace, SIGKILL), then throws.</param>
    /// <returns>
    /// The outcome: the exit code (a signal that ended the process shows as 128 + signal; -1 when a
    /// timeout killed it, with <see cref="ProcessOutcome.TimedOut"/> = <c>wall-clock</c> or
    /// <c>stall</c>); the first <c>stdoutCapBytes</c> of stdout; the last <c>stderrTailBytes</c> of
    /// stderr; the wall-clock duration. A missing executable gives exit code 127 and stderr
    /// <c>executable not found: NAME</c>, without throwing (a start that fails otherwise: 127 and
    /// <c>could not start …</c>).
    /// </returns>
    /// <exception cref="ArgumentException">A file path escaping the home directory, or an invalid environment.</exception>
    /// <exception cref="DirectoryNotFoundException">The working directory does not exist.</exception>
    /// <exception cref="InvalidOperationException"><c>setsid</c> is not installed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the group is dead by then).</exception>
    public async Task<ProcessOutcome> RunAsync(
        AgentInvocation invocation,
        AgentRunRequest request,
        AgentSettings settings,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(settings);
        cancellationToken.ThrowIfCancellationRequested();

        var home = Path.GetFullPath(request.HomeDirectory);
        var environment = BuildEnvironment(home, _path, settings.Environment, invocation.Environment);
        PrepareHome(home, invocation.Files);

        var workingDirectory = Path.GetFullPath(request.WorkingDirectory);
        if (!Directory.Exists(workingDirectory))
        {
            throw new DirectoryNotFoundException($"Working directory not found: {workingDirectory}");
        }

        using var log = RunLog.Open(request.LogPath, _logCapBytes);
        var clock = Stopwatch.StartNew();

        var executable = ResolveExecutable(invocation.FileName, environment.GetValueOrDefault("PATH"), workingDirectory);
        if (executable is null)
        {
            var message = "executable not found: " + invocation.FileName;
            log.Note(message);
            return new ProcessOutcome(NotFoundExitCode, string.Empty, message, clock.Elapsed, null);
        }

        var startInfo = new ProcessStartInfo(SetsidPath.Value ?? throw new InvalidOperationException("setsid(1) (util-linux) is required to run agents in their own process group."))
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };

        // setsid(1) calls setsid() and execs in place (no fork: .NET does not make the child a group
        // leader), so the agent's pid is its session id and process group id. A test pins this.
        startInfo.ArgumentList.Add(executable);
        foreach (var argument in invocation.Arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment.Clear();
        foreach (var (name, value) in environment)
        {
            startInfo.Environment[name] = value;
        }

        using var process = new SysProcess { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            var message = $"could not start {executable}: {e.Message}";
            log.Note(message);
            return new ProcessOutcome(NotFoundExitCode, string.Empty, message, clock.Elapsed, null);
        }

        var pgid = process.Id;
        CloseQuietly(process.StandardInput);

        var activity = new ActivityClock(clock);
        var stdout = new HeadBuffer(_stdoutCapBytes);
        var stderr = new TailBuffer(_stderrTailBytes);
        using var drain = new CancellationTokenSource();
        var pumps = Task.WhenAll(
            PumpAsync(process.StandardOutput.BaseStream, stdout.Append, log, activity, drain.Token),
            PumpAsync(process.StandardError.BaseStream, stderr.Append, log, activity, drain.Token));

        var exited = process.WaitForExitAsync(CancellationToken.None);
        var ending = await WatchAsync(exited, activity, settings, cancellationToken).ConfigureAwait(false);

        int exitCode;
        if (ending == Ending.Exited)
        {
            exitCode = process.ExitCode;

            // Whatever the agent left behind in its group (a daemon, a stuck child) goes now.
            var leftovers = ProcessGroup.LiveMembers(pgid);
            if (leftovers.Count > 0)
            {
                log.Note($"agent exited with {exitCode}; killing {leftovers.Count} process(es) left in its group {pgid}");
            }

            ProcessGroup.Signal(pgid, ProcessGroup.SigKill);
        }
        else
        {
            log.Note(ending switch
            {
                Ending.WallClock => $"wall-clock timeout ({Seconds(settings.WallClockTimeout)}) reached; killing process group {pgid}",
                Ending.Stall => $"stall timeout: no output for {Seconds(settings.StallTimeout)}; killing process group {pgid}",
                _ => $"run cancelled; killing process group {pgid}",
            });
            await TerminateGroupAsync(process, pgid).ConfigureAwait(false);
            await WaitQuietlyAsync(exited, ExitAfterKillLimit).ConfigureAwait(false);
            exitCode = KilledExitCode;
        }

        // The pipes reach EOF once every holder is dead. A process that escaped the group (its own
        // setsid) may hold them open: stop reading after the grace instead of waiting for it.
        if (!await WaitQuietlyAsync(pumps, _killGrace + TimeSpan.FromSeconds(1)).ConfigureAwait(false))
        {
            log.Note("output still open after the process group was killed (a process left the group); stopped reading");
            await drain.CancelAsync().ConfigureAwait(false);
            await WaitQuietlyAsync(pumps, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }

        if (ending == Ending.Cancelled)
        {
            throw new OperationCanceledException("The agent run was cancelled; its process group was killed.", cancellationToken);
        }

        var timedOut = ending switch
        {
            Ending.WallClock => WallClockTimeout,
            Ending.Stall => StallTimeout,
            _ => null,
        };
        return new ProcessOutcome(exitCode, stdout.ToText(), stderr.ToText(), clock.Elapsed, timedOut);
    }

    private enum Ending
    {
        Exited,
        WallClock,
        Stall,
        Cancelled,
    }

    /// <summary>Creates the home, its XDG/temp directories, and writes the invocation's files.</summary>
    private static void PrepareHome(string home, IReadOnlyDictionary<string, string> files)
    {
        CreatePrivateDirectory(home);
        foreach (var (_, relative) in HomeDirectories)
        {
            CreatePrivateDirectory(Path.Combine(home, relative));
        }

        var root = Path.EndsInDirectorySeparator(home) ? home : home + Path.DirectorySeparatorChar;
        foreach (var (relative, content) in files)
        {
            if (string.IsNullOrEmpty(relative) || Path.IsPathRooted(relative))
            {
                throw new ArgumentException($"Invocation file path '{relative}' must be relative to the home directory.", "invocation");
            }

            var full = Path.GetFullPath(Path.Combine(home, relative));
            if (!full.StartsWith(root, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Invocation file path '{relative}' escapes the home directory.", "invocation");
            }

            CreatePrivateDirectory(Path.GetDirectoryName(full)!);
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = PrivateFile;
            }

            using var stream = new FileStream(full, options);
            using var writer = new StreamWriter(stream);
            writer.Write(content);
        }
    }

    private static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, PrivateDirectory);
        }
    }

    /// <summary>Absolute path of the executable, or <c>null</c> when there is none.</summary>
    internal static string? ResolveExecutable(string fileName, string? path, string workingDirectory)
    {
        if (string.IsNullOrEmpty(fileName))
        {
            return null;
        }

        if (fileName.Contains('/', StringComparison.Ordinal))
        {
            var full = Path.GetFullPath(fileName, workingDirectory);
            return IsExecutableFile(full) ? full : null;
        }

        foreach (var directory in (path ?? string.Empty).Split(':'))
        {
            if (directory.Length == 0 || !Path.IsPathRooted(directory))
            {
                continue;
            }

            var candidate = Path.Combine(directory, fileName);
            if (IsExecutableFile(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool IsExecutableFile(string path)
    {
        try
        {
            const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            return File.Exists(path) && (OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & anyExecute) != 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Waits for the exit, the first timeout or cancellation, whichever comes first.</summary>
    private static async Task<Ending> WatchAsync(Task exited, ActivityClock activity, AgentSettings settings, CancellationToken cancellationToken)
    {
        var wall = Limit(settings.WallClockTimeout);
        var stall = Limit(settings.StallTimeout);
        while (true)
        {
            if (exited.IsCompleted)
            {
                return Ending.Exited;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return Ending.Cancelled;
            }

            var now = activity.Now;
            var wallLeft = wall - now;
            var stallLeft = stall - (now - activity.Last);
            if (wallLeft <= TimeSpan.Zero)
            {
                return Ending.WallClock;
            }

            if (stallLeft <= TimeSpan.Zero)
            {
                return Ending.Stall;
            }

            // Sleep until the nearer deadline; output moves the stall deadline, so it is re-checked then.
            using var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(Min(Min(wallLeft, stallLeft), TimeSpan.FromDays(1)), wake.Token);
            await Task.WhenAny(exited, delay).ConfigureAwait(false);
            await wake.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>SIGTERM to the group; SIGKILL once no live member is left or the grace is over.</summary>
    private async Task TerminateGroupAsync(SysProcess leader, int pgid)
    {
        ProcessGroup.Signal(pgid, ProcessGroup.SigTerm);
        var grace = Stopwatch.StartNew();
        while (grace.Elapsed < _killGrace && ProcessGroup.LiveMembers(pgid).Count > 0)
        {
            await Task.Delay(GroupPollInterval).ConfigureAwait(false);
        }

        // Always: a member may have appeared after the scan, and SIGKILL to nobody is harmless.
        ProcessGroup.Signal(pgid, ProcessGroup.SigKill);

        // The leader too, by its Process object (safe against pid reuse): right after the start it may
        // not have called setsid() yet, so it would not be in group pgid.
        try
        {
            leader.Kill();
        }
        catch (Exception e) when (e is InvalidOperationException or Win32Exception)
        {
            // Already exited.
        }
    }

    /// <summary>Copies one pipe into a capture buffer and the log until EOF or cancellation.</summary>
    private static async Task PumpAsync(Stream source, Action<ReadOnlySpan<byte>> capture, RunLog log, ActivityClock activity, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                activity.Touch();
                capture(buffer.AsSpan(0, read));
                log.Write(buffer.AsSpan(0, read));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Reading stopped on purpose (drain limit) or the pipe went away: keep what was captured.
        }
    }

    private static async Task<bool> WaitQuietlyAsync(Task task, TimeSpan limit)
    {
        try
        {
            await task.WaitAsync(limit).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private static void CloseQuietly(StreamWriter stdin)
    {
        try
        {
            stdin.Close();
        }
        catch (IOException)
        {
            // The process is already gone: nothing to close.
        }
    }

    private static TimeSpan Limit(TimeSpan timeout) =>
        timeout <= TimeSpan.Zero || timeout == Timeout.InfiniteTimeSpan ? TimeSpan.MaxValue : timeout;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    /// <summary>Monotonic time of the last output byte, shared by the two pumps and the watcher.</summary>
    private sealed class ActivityClock(Stopwatch clock)
    {
        private long _lastTicks;

        public TimeSpan Now => clock.Elapsed;

        public TimeSpan Last => TimeSpan.FromTicks(Interlocked.Read(ref _lastTicks));

        public void Touch() => Interlocked.Exchange(ref _lastTicks, clock.Elapsed.Ticks);
    }
}

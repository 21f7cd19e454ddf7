using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Orchestrator.Tests.Integration.Agents;

/// <summary>What one CLI process did.</summary>
/// <param name="ExitCode">Exit code (128 + signal when killed, as .NET reports it).</param>
/// <param name="Stdout">Standard output.</param>
/// <param name="Stderr">Standard error.</param>
/// <param name="Duration">Wall-clock time until it exited (or was killed).</param>
/// <param name="KilledByTimeout">Whether our timeout killed its process group.</param>
public sealed record CliRun(int ExitCode, string Stdout, string Stderr, TimeSpan Duration, bool KilledByTimeout)
{
    /// <summary>A readable summary for assertion messages.</summary>
    public string Describe() =>
        $"exit={ExitCode} killed={KilledByTimeout} took={Duration.TotalSeconds:0.0}s\n--- stdout ---\n{Tail(Stdout)}\n--- stderr ---\n{Tail(Stderr)}";

    private static string Tail(string text) => text.Length <= 4000 ? text : "…" + text[^4000..];
}

/// <summary>A command line for <see cref="CliSandbox.RunAsync"/>.</summary>
/// <param name="FileName">Executable (absolute path).</param>
/// <param name="Arguments">Arguments, unquoted.</param>
/// <param name="Environment">The complete environment of the process (nothing is inherited).</param>
public sealed record CliCommand(string FileName, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment);

/// <summary>
/// A throw-away place to run a coding-agent CLI: a temp git repository as its working directory (one
/// commit, so OpenCode's snapshots and Codex's repo check work) and a private, empty HOME with its own XDG
/// dirs. <see cref="RunAsync"/> starts the process in its own session with stdin from /dev/null, only the
/// given environment, and a hard timeout that kills the whole process group. Deleted on dispose.
/// </summary>
public sealed partial class CliSandbox : IDisposable
{
    private CliSandbox(string root)
    {
        Root = root;
        RepoDirectory = Path.Combine(root, "repo");
        HomeDirectory = Path.Combine(root, "home");
        Directory.CreateDirectory(RepoDirectory);
        Directory.CreateDirectory(HomeDirectory);
    }

    /// <summary>The sandbox's root directory (holds <c>repo/</c> and <c>home/</c>).</summary>
    public string Root { get; }

    /// <summary>The git repository the agent works in (its cwd).</summary>
    public string RepoDirectory { get; }

    /// <summary>The agent's HOME; XDG dirs and CLI configs live below it.</summary>
    public string HomeDirectory { get; }

    /// <summary>Creates the directories and the repository (README.md, one commit on <c>main</c>).</summary>
    public static async Task<CliSandbox> CreateAsync(CancellationToken cancellationToken = default)
    {
        var sandbox = new CliSandbox(Directory.CreateTempSubdirectory("orch-cli-").FullName);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(sandbox.RepoDirectory, "README.md"), "# sandbox\n", cancellationToken);
            await sandbox.GitAsync(["init", "-q", "-b", "main"], cancellationToken);
            await sandbox.GitAsync(["config", "user.name", "Orchestrator Test"], cancellationToken);
            await sandbox.GitAsync(["config", "user.email", "orchestrator-test@example.invalid"], cancellationToken);
            await sandbox.GitAsync(["add", "-A"], cancellationToken);
            await sandbox.GitAsync(["commit", "-q", "-m", "initial"], cancellationToken);
            return sandbox;
        }
        catch
        {
            sandbox.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The base environment every CLI gets: PATH (the CLIs' bin dir first, then the system dirs), HOME,
    /// XDG_CONFIG_HOME / XDG_DATA_HOME / XDG_CACHE_HOME / XDG_STATE_HOME under HOME, LANG, TERM=dumb.
    /// </summary>
    public Dictionary<string, string> BaseEnvironment(string binDirectory) => new(StringComparer.Ordinal)
    {
        ["PATH"] = $"{binDirectory}:/usr/local/bin:/usr/bin:/bin",
        ["HOME"] = HomeDirectory,
        ["XDG_CONFIG_HOME"] = Path.Combine(HomeDirectory, ".config"),
        ["XDG_DATA_HOME"] = Path.Combine(HomeDirectory, ".local", "share"),
        ["XDG_CACHE_HOME"] = Path.Combine(HomeDirectory, ".cache"),
        ["XDG_STATE_HOME"] = Path.Combine(HomeDirectory, ".local", "state"),
        ["LANG"] = "C.UTF-8",
        ["TERM"] = "dumb",
    };

    /// <summary>Writes a file below HOME (directories created) and returns its absolute path.</summary>
    public string WriteHomeFile(string relativePath, string content)
    {
        var path = Path.Combine(HomeDirectory, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>The absolute path of a file in the repository.</summary>
    public string RepoPath(string relativePath) => Path.Combine(RepoDirectory, relativePath);

    /// <summary>
    /// Runs <paramref name="command"/> in <see cref="RepoDirectory"/>: <c>setsid</c> puts it in a new session
    /// (its own process group), <c>sh -c 'exec … &lt;/dev/null'</c> gives it /dev/null as stdin, and the
    /// environment is exactly <see cref="CliCommand.Environment"/>. After <paramref name="timeout"/> the whole
    /// process group (and any descendant that left it) is killed with SIGKILL.
    /// </summary>
    public async Task<CliRun> RunAsync(CliCommand command, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo("/usr/bin/setsid")
        {
            WorkingDirectory = RepoDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["/bin/sh", "-c", "exec \"$0\" \"$@\" </dev/null", command.FileName, .. command.Arguments])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Clear();
        foreach (var (key, value) in command.Environment)
        {
            start.Environment[key] = value;
        }

        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {command.FileName}");
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var killed = false;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            deadline.CancelAfter(timeout);
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                killed = true;
                KillProcessGroup(process);
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }

        var duration = stopwatch.Elapsed;

        // Output ends when the last holder of the pipes exits; after a group kill that is at once.
        var output = await Task.WhenAll(stdout, stderr).WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
        return new CliRun(process.ExitCode, output[0], output[1], duration, killed);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A killed CLI's straggler may still be writing; the temp dir is cleaned by the OS later.
        }
        catch (UnauthorizedAccessException)
        {
            // Same: never fail a test on cleanup.
        }
    }

    private static void KillProcessGroup(Process process)
    {
        try
        {
            // Descendants first (walks /proc while they are alive), then the group, for any that re-parented.
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        // setsid made the CLI a session and group leader: its pgid is its pid.
        _ = NativeMethods.Kill(-process.Id, NativeMethods.SigKill);
    }

    private async Task GitAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("git")
        {
            WorkingDirectory = RepoDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["HOME"] = HomeDirectory;
        start.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start git");
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        _ = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"git {string.Join(' ', arguments)} failed ({process.ExitCode}): {await stderr}");
        }
    }

    private static class NativeMethods
    {
        public const int SigKill = 9;

        // DllImport, not LibraryImport: the generated marshalling would need AllowUnsafeBlocks in the project.
        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        public static extern int Kill(int pid, int signal);
    }
}

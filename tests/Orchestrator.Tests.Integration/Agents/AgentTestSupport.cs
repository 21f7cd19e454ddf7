using System.Diagnostics;
using System.Runtime.Versioning;
using Orchestrator.Shared.Agents;
using Orchestrator.Shared.Agents.Processes;

namespace Orchestrator.Tests.Integration.Agents;

/// <summary>A directory under the system temp dir, deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "orch-agents-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Sub(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp dir left behind is harmless.
        }
    }
}

[SupportedOSPlatform("linux")] // signals, process groups and /proc: the service runs on Linux
internal static class AgentTestSupport
{
    public static readonly CancellationToken Ct = CancellationToken.None;

    /// <summary>The fake agent copied to the test output; made executable if the copy lost the bit.</summary>
    public static string FakeAgent
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "agents", "fake-agent.sh");
            var mode = File.GetUnixFileMode(path);
            if ((mode & UnixFileMode.UserExecute) == 0)
            {
                File.SetUnixFileMode(path, mode | UnixFileMode.UserExecute);
            }

            return path;
        }
    }

    public static AgentInvocation Invocation(params string[] arguments) =>
        new(FakeAgent, arguments, new Dictionary<string, string>(), new Dictionary<string, string>(), []);

    public static AgentSettings Settings(TimeSpan? stall = null, TimeSpan? wall = null, IReadOnlyDictionary<string, string>? environment = null) => new()
    {
        Name = "fake",
        Kind = AgentKind.Generic,
        StallTimeout = stall ?? TimeSpan.FromSeconds(20),
        WallClockTimeout = wall ?? TimeSpan.FromSeconds(60),
        Environment = environment ?? new Dictionary<string, string>(),
    };

    /// <summary>A run request with a fresh working directory, home and log path under <paramref name="temp"/>.</summary>
    public static AgentRunRequest Request(TempDirectory temp, string? workingDirectory = null)
    {
        var work = workingDirectory ?? temp.Sub("work");
        Directory.CreateDirectory(work);
        return new AgentRunRequest("prompt", work, temp.Sub("home"), temp.Sub("logs", "run.log"));
    }

    /// <summary>Dead: no /proc entry, or a zombie (PID 1 of some containers never reaps orphans).</summary>
    public static bool IsGone(int pid) => ProcessGroup.ReadStat(pid) is not { State: not 'Z' and not 'X' };

    /// <summary>Polls <paramref name="condition"/> until true or the deadline; returns its last value.</summary>
    public static bool WaitUntil(Func<bool> condition, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit)
            {
                return condition();
            }

            Thread.Sleep(25);
        }

        return true;
    }

    public static void KillQuietly(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    public static int ReadPid(string file)
    {
        Assert.True(WaitUntil(() => File.Exists(file), TimeSpan.FromSeconds(5)), $"pid file {file} never appeared");
        return int.Parse(File.ReadAllText(file).Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Test-side git (not the code under test): inherits the test's environment, fails the test on error.</summary>
    public static string Git(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("git")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in (string[])["-c", "user.name=Someone Else", "-c", "user.email=else@example.com", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "git did not finish in 30 s");
        Assert.True(process.ExitCode == 0, $"git {string.Join(' ', arguments)} failed: {stderr.Result}");
        return stdout.Result.Trim();
    }
}

using System.Globalization;
using System.Runtime.InteropServices;

namespace Orchestrator.Shared.Agents.Processes;

/// <summary>
/// Signals to a whole Linux process group (<c>kill(2)</c> with a negative pid) and a <c>/proc</c> scan
/// for its live members. Linux only: the orchestrator runs on Linux.
/// </summary>
internal static class ProcessGroup
{
    /// <summary><c>SIGKILL</c> on Linux.</summary>
    public const int SigKill = 9;

    /// <summary><c>SIGTERM</c> on Linux.</summary>
    public const int SigTerm = 15;

    // DllImport rather than LibraryImport: the generated marshalling needs AllowUnsafeBlocks, and two
    // blittable ints need no marshalling at all. "libc" is mapped to libc.so.6 by the runtime.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    /// <summary>
    /// Sends <paramref name="signal"/> to every process of group <paramref name="pgid"/>. Errors (ESRCH:
    /// nobody left) are ignored. The leader's bare pid is never signalled here: once reaped, that pid
    /// may belong to someone else (callers use <see cref="System.Diagnostics.Process.Kill()"/>, which knows).
    /// </summary>
    public static void Signal(int pgid, int signal)
    {
        if (pgid <= 1)
        {
            // kill(-1) would signal every process we may signal; kill(0) our own group. Never.
            throw new ArgumentOutOfRangeException(nameof(pgid), pgid, "A process group id must be > 1.");
        }

        _ = SysKill(-pgid, signal);
    }

    /// <summary>
    /// Pids of the processes of group <paramref name="pgid"/> that are not zombies, from
    /// <c>/proc/&lt;pid&gt;/stat</c> (field 5 is the group, field 3 the state). Zombies are dead: they
    /// only wait to be reaped by their parent (or by PID 1 once orphaned).
    /// </summary>
    public static IReadOnlyList<int> LiveMembers(int pgid)
    {
        var members = new List<int>();
        string[] entries;
        try
        {
            entries = Directory.GetDirectories("/proc");
        }
        catch (IOException)
        {
            return members;
        }

        foreach (var entry in entries)
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            var stat = ReadStat(pid);
            if (stat is { } s && s.ProcessGroup == pgid && s.State != 'Z' && s.State != 'X')
            {
                members.Add(pid);
            }
        }

        return members;
    }

    /// <summary>State letter and process group of one process, or <c>null</c> when it is gone.</summary>
    public static (char State, int ProcessGroup)? ReadStat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "pid (comm) S ppid pgrp ...": comm may contain spaces and parentheses, so split after the last ')'.
        var close = text.LastIndexOf(')');
        if (close < 0 || close + 2 >= text.Length)
        {
            return null;
        }

        var fields = text[(close + 2)..].Split(' ');
        return fields.Length > 2 && int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var group)
            ? (fields[0][0], group)
            : null;
    }
}

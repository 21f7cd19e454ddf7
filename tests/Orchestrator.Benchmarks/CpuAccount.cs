using System.Globalization;

namespace Orchestrator.Benchmarks;

/// <summary>
/// Where the machine's CPU went between two snapshots (Linux <c>/proc</c>): this process (host and
/// load generator), PostgreSQL, everything else, idle. "Other" well above zero means something else
/// ran on the machine and the figures are not representative.
/// </summary>
internal sealed record CpuShare(double Seconds, int Cores, double Self, double Postgres, double Other, double Idle, double Steal)
{
    /// <summary>CPU milliseconds per unit of work spent in this process and in PostgreSQL (other processes excluded).</summary>
    public string CostPer(long units, string unit) => units <= 0 ? "" : string.Create(CultureInfo.InvariantCulture,
        $"{Self * Seconds * Cores * 1_000 / units:0.00} ms CPU in this process + {Postgres * Seconds * Cores * 1_000 / units:0.00} ms in PostgreSQL per {unit}");

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"CPU over {Seconds:0.0} s: this process {Self:P0}, PostgreSQL {Postgres:P0}, other processes {Other:P0}, idle {Idle:P0}{(Steal > 0.005 ? $", stolen by the hypervisor {Steal:P0}" : "")}");
}

internal sealed class CpuAccount
{
    // USER_HZ: the unit of /proc times; 100 on every mainstream Linux build.
    private const double TicksPerSecond = 100;

    private readonly long _wallStart;
    private readonly long[] _machine;
    private readonly long _self;
    private readonly Dictionary<int, long> _postgres;

    private CpuAccount()
    {
        _wallStart = System.Diagnostics.Stopwatch.GetTimestamp();
        _machine = MachineTicks();
        _self = ProcessTicks(Environment.ProcessId) ?? 0;
        _postgres = PostgresTicks();
    }

    public static bool Supported => OperatingSystem.IsLinux() && File.Exists("/proc/stat");

    public static CpuAccount? Start() => Supported ? new CpuAccount() : null;

    /// <summary>1-, 5- and 15-minute load averages, or <c>null</c>.</summary>
    public static string? LoadAverage() => Supported && File.Exists("/proc/loadavg")
        ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))
        : null;

    public CpuShare Stop()
    {
        var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(_wallStart).TotalSeconds;
        var machine = MachineTicks();
        var delta = machine.Zip(_machine, (a, b) => a - b).ToArray();

        // user nice system idle iowait irq softirq steal
        double total = delta.Take(8).Sum();
        if (total <= 0)
        {
            return new CpuShare(seconds, Environment.ProcessorCount, 0, 0, 0, 1, 0);
        }

        var idle = delta[3] + delta[4];
        var steal = delta[7];
        var self = (ProcessTicks(Environment.ProcessId) ?? 0) - _self;
        var postgres = PostgresTicks().Sum(p => p.Value - _postgres.GetValueOrDefault(p.Key));
        var other = Math.Max(0, total - idle - steal - self - postgres);
        return new CpuShare(seconds, Environment.ProcessorCount, self / total, postgres / total, other / total, idle / total, steal / total);
    }

    private static long[] MachineTicks()
    {
        var cpu = File.ReadLines("/proc/stat").First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
        return cpu.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
            .Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
    }

    private static long? ProcessTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

            // Fields 14 and 15 of proc(5): utime, stime (here 0-based after the command: 11 and 12).
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static Dictionary<int, long> PostgresTicks()
    {
        var result = new Dictionary<int, long>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(dir, "comm")).TrimEnd() == "postgres" && ProcessTicks(pid) is { } ticks)
                {
                    result[pid] = ticks;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }

        return result;
    }
}

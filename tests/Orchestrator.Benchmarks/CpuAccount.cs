using System.Globalization;
using Npgsql;

namespace Orchestrator.Benchmarks;

/// <summary>
/// Where the machine's CPU went between two snapshots (Linux <c>/proc</c>): this process (host and
/// load generator), PostgreSQL working for it (its own backends, recognised by application name, plus
/// the server's background processes), everything else (including other clients' backends), idle.
/// "Other" well above zero means something else ran on the machine and the figures are not representative.
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

    private readonly NpgsqlDataSource? _database;

    private CpuAccount(NpgsqlDataSource? database)
    {
        _database = database;
        _wallStart = System.Diagnostics.Stopwatch.GetTimestamp();
        _machine = MachineTicks();
        _self = ProcessTicks(Environment.ProcessId) ?? 0;
        _postgres = PostgresTicks();
    }

    public static bool Supported => OperatingSystem.IsLinux() && File.Exists("/proc/stat");

    /// <summary>Starts counting; with <paramref name="database"/>, PostgreSQL backends of other clients count as "other".</summary>
    public static CpuAccount? Start(NpgsqlDataSource? database = null) => Supported ? new CpuAccount(database) : null;

    /// <summary>1-, 5- and 15-minute load averages, or <c>null</c>.</summary>
    public static string? LoadAverage() => Supported && File.Exists("/proc/loadavg")
        ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))
        : null;

    /// <summary>The shares since <see cref="Start"/> (may be called more than once).</summary>
    public async Task<CpuShare> StopAsync(CancellationToken cancellationToken)
    {
        var foreign = _database is null ? [] : await ForeignBackendsAsync(_database, cancellationToken);
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
        var postgres = PostgresTicks().Where(p => !foreign.Contains(p.Key)).Sum(p => p.Value - _postgres.GetValueOrDefault(p.Key));
        var other = Math.Max(0, total - idle - steal - self - postgres);
        return new CpuShare(seconds, Environment.ProcessorCount, self / total, postgres / total, other / total, idle / total, steal / total);
    }

    /// <summary>Client backends that do not carry <see cref="BenchDatabase.ApplicationName"/>: other clients of the same server.</summary>
    private static async Task<HashSet<int>> ForeignBackendsAsync(NpgsqlDataSource database, CancellationToken cancellationToken)
    {
        var pids = new HashSet<int>();
        await using var command = database.CreateCommand(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name IS DISTINCT FROM @name");
        command.Parameters.AddWithValue("name", BenchDatabase.ApplicationName);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            pids.Add(reader.GetInt32(0));
        }

        return pids;
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

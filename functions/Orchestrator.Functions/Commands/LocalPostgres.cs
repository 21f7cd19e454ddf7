using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Functions.Commands;

/// <summary>
/// A throw-away PostgreSQL cluster started from the machine's own binaries (<c>initdb</c>, <c>pg_ctl</c>
/// under <c>/usr/lib/postgresql/&lt;version&gt;/bin</c> or on PATH), listening on 127.0.0.1 only, in a
/// temporary directory. PostgreSQL refuses to run as root, so as root the cluster is owned by and run
/// as the <c>postgres</c> user (through <c>runuser</c>).
/// </summary>
public sealed class LocalPostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _dataDir;
    private readonly string? _runAs;

    private LocalPostgres(string bin, string dataDir, string? runAs, int port)
    {
        _bin = bin;
        _dataDir = dataDir;
        _runAs = runAs;
        Port = port;
    }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary><c>postgres://postgres@127.0.0.1:port/postgres</c> (trust auth on loopback, this cluster only).</summary>
    public string Url => $"postgres://postgres@127.0.0.1:{Port}/postgres";

    /// <summary>Initialises and starts the cluster.</summary>
    /// <exception cref="InvalidOperationException">No PostgreSQL binaries were found, or initdb/pg_ctl failed (their output is included).</exception>
    public static async Task<LocalPostgres> StartAsync(Action<string> say)
    {
        var bin = FindBinaries() ?? throw new InvalidOperationException(
            "No PostgreSQL server binaries (initdb, pg_ctl) were found under /usr/lib/postgresql/*/bin or on PATH. Install postgresql, or set ORCH_DATABASE_URL.");
        var root = Environment.UserName == "root";
        var runAs = root ? "postgres" : null;
        var dataDir = Path.Combine(Path.GetTempPath(), $"orch-demo-pg-{Environment.ProcessId}");
        Directory.CreateDirectory(dataDir);
        if (runAs is not null)
        {
            await RunAsync("chown", ["-R", $"{runAs}:{runAs}", dataDir], null);
        }

        var port = FreePort();
        say($"Starting a private PostgreSQL ({bin}) on 127.0.0.1:{port} in {dataDir}");
        await RunAsync(Path.Combine(bin, "initdb"), ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions"], runAs);
        await RunAsync(Path.Combine(bin, "pg_ctl"), ["-D", dataDir, "-l", Path.Combine(dataDir, "server.log"), "-w", "-t", "60",
            "-o", $"-p {port} -k {dataDir} -c listen_addresses=127.0.0.1 -c fsync=off", "start"], runAs);
        return new LocalPostgres(bin, dataDir, runAs, port);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", _dataDir, "-m", "fast", "-w", "stop"], _runAs);
        }
        finally
        {
            try
            {
                Directory.Delete(_dataDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string? FindBinaries()
    {
        var candidates = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => d, StringComparer.Ordinal).Select(d => Path.Combine(d, "bin"))
            : [];
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator);
        return candidates.Concat(path).FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string file, IReadOnlyList<string> args, string? runAs)
    {
        var psi = new ProcessStartInfo(runAs is null ? file : "runuser")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (runAs is not null)
        {
            psi.ArgumentList.Add("-u");
            psi.ArgumentList.Add(runAs);
            psi.ArgumentList.Add("--");
            psi.ArgumentList.Add(file);
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} exited with {process.ExitCode}: {(await stderr).Trim()} {(await stdout).Trim()}");
        }
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Orchestrator.Tests.Integration.EndToEnd;

/// <summary>
/// The host as a separate OS process (<c>dotnet Orchestrator.Functions.dll serve</c>), configured only
/// through <c>ORCH_*</c> environment variables, so a test can kill it with SIGKILL at an exact moment.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private HostProcess(Process process, Uri url)
    {
        _process = process;
        Url = url;
        process.OutputDataReceived += (_, e) => { lock (_output) { _output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (_output) { _output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri Url { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The host's process id (for <c>/proc/&lt;pid&gt;/status</c>).</summary>
    public int ProcessId => _process.Id;

    public static async Task<HostProcess> StartAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var port = FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "Orchestrator.Functions.dll");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add("serve");
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("ORCH_", StringComparison.Ordinal)).ToArray())
        {
            psi.Environment.Remove(key);
        }

        foreach (var (key, value) in settings)
        {
            if (!key.Contains(':', StringComparison.Ordinal))
            {
                psi.Environment["ORCH_" + key] = value;
            }
        }

        psi.Environment["ORCH_URLS"] = $"http://127.0.0.1:{port}";
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start the host");
        var host = new HostProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        using var http = new HttpClient();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        while (DateTimeOffset.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                using var ready = await http.GetAsync(new Uri(host.Url, "readyz"));
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return host;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        var output = host.Output;
        await host.DisposeAsync();
        throw new InvalidOperationException("The host process did not become ready:\n" + output);
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushing, leases left behind.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync();
        return _process.ExitCode;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}

using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Benchmarks;

/// <summary>
/// The Plane and GitHub API URLs of the benchmarked host point here (loopback). Nothing should call
/// them; any connection is counted and closed, so a benchmark that accidentally talks to "the outside
/// world" says so instead of measuring it.
/// </summary>
internal sealed class OutboundSink : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _connections;

    private OutboundSink()
    {
        _listener.Start();
        Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/";
        _accepting = AcceptAsync();
    }

    public string Url { get; }

    public int Connections => Volatile.Read(ref _connections);

    public static OutboundSink Start() => new();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            Interlocked.Increment(ref _connections);
        }
    }
}

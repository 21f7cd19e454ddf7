using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Orchestrator.Tests.Integration.Support;

/// <summary>
/// A TCP forwarder on 127.0.0.1 in front of a real server (PostgreSQL here), so a test can take the server "down"
/// for one host — every open connection is cut and new ones are refused — and bring it back, without touching the
/// shared database the other tests use.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly ConcurrentDictionary<int, (TcpClient Client, TcpClient Upstream)> _pairs = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private volatile bool _down;
    private int _next;

    private TcpProxy(IPEndPoint target)
    {
        _target = target;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The port to connect to instead of the target's.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted so far (refused ones included).</summary>
    public int Accepted => Volatile.Read(ref _next);

    /// <summary>Starts forwarding to <paramref name="host"/>:<paramref name="port"/>.</summary>
    public static TcpProxy Start(string host, int port) =>
        new(new IPEndPoint(Dns.GetHostAddresses(host).First(a => a.AddressFamily == AddressFamily.InterNetwork), port));

    /// <summary>Cuts every connection and refuses new ones until <see cref="Up"/>.</summary>
    public void Down()
    {
        _down = true;
        foreach (var (key, pair) in _pairs)
        {
            pair.Client.Dispose();
            pair.Upstream.Dispose();
            _pairs.TryRemove(key, out _);
        }
    }

    /// <summary>Forwards again.</summary>
    public void Up() => _down = false;

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        Down();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            var id = Interlocked.Increment(ref _next);
            if (_down)
            {
                client.Client.LingerState = new LingerOption(true, 0); // RST, like a server that is gone.
                client.Dispose();
                continue;
            }

            _ = Task.Run(() => PumpAsync(id, client));
        }
    }

    private async Task PumpAsync(int id, TcpClient client)
    {
        var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(_target, _stop.Token);
            _pairs[id] = (client, upstream);
            var a = client.GetStream().CopyToAsync(upstream.GetStream(), _stop.Token);
            var b = upstream.GetStream().CopyToAsync(client.GetStream(), _stop.Token);
            await Task.WhenAny(a, b);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        finally
        {
            _pairs.TryRemove(id, out _);
            client.Dispose();
            upstream.Dispose();
        }
    }
}

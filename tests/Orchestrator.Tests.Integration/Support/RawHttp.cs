using System.Net.Sockets;
using System.Text;

namespace Orchestrator.Tests.Integration.Support;

/// <summary>
/// HTTP/1.1 over a bare socket, for what <see cref="HttpClient"/> will not do: announce a body and send only part of
/// it (or none), and see whether the server answers before the body arrived.
/// </summary>
public sealed class RawHttp : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private CancellationTokenSource? _trickle;
    private Task _trickling = Task.CompletedTask;

    private RawHttp(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    /// <summary>Connects and sends the request line and headers (with <c>Content-Length</c>), then <paramref name="bodyPrefix"/>.</summary>
    public static async Task<RawHttp> StartPostAsync(Uri host, string path, long contentLength, IEnumerable<(string Name, string Value)> headers, byte[]? bodyPrefix = null)
    {
        var client = new TcpClient();
        await client.ConnectAsync(host.Host, host.Port);
        var raw = new RawHttp(client);
        var head = new StringBuilder()
            .Append("POST ").Append(path).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(host.Authority).Append("\r\n")
            .Append("Content-Type: application/json\r\n")
            .Append("Content-Length: ").Append(contentLength).Append("\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        await raw._stream.WriteAsync(Encoding.Latin1.GetBytes(head.Append("\r\n").ToString()));
        if (bodyPrefix is { Length: > 0 })
        {
            await raw._stream.WriteAsync(bodyPrefix);
        }

        await raw._stream.FlushAsync();
        return raw;
    }

    /// <summary>
    /// Keeps the body coming at <paramref name="bytesPerSecond"/> (above Kestrel's minimum of 240 B/s, so the server waits
    /// instead of cutting the request after its 5 s grace period), in small writes, until <see cref="StopTricklingAsync"/> or dispose.
    /// A holder that trickles holds its slot however slowly the machine runs the rest of the test.
    /// </summary>
    public void Trickle(int bytesPerSecond = 1000)
    {
        _trickle = new CancellationTokenSource();
        var token = _trickle.Token;
        var chunk = new byte[Math.Max(1, bytesPerSecond / 10)];
        _trickling = Task.Run(async () =>
        {
            try
            {
                while (!token.IsCancellationRequested)
                {
                    await _stream.WriteAsync(chunk, token);
                    await Task.Delay(100, token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
            {
                // Stopped, or the server answered and closed.
            }
        });
    }

    /// <summary>Stops <see cref="Trickle"/>: from now on the body stalls.</summary>
    public async Task StopTricklingAsync()
    {
        _trickle?.Cancel();
        await _trickling;
    }

    /// <summary>Reads the status line and headers of the answer (the body is left unread).</summary>
    /// <returns>The status code and the headers (names lower-cased).</returns>
    /// <exception cref="TimeoutException">No complete answer head within <paramref name="timeout"/>.</exception>
    public async Task<(int Status, Dictionary<string, string> Headers)> ReadResponseHeadAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var received = new List<byte>();
        var buffer = new byte[4096];
        while (!EndsHead(received))
        {
            int read;
            try
            {
                read = await _stream.ReadAsync(buffer, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No answer within {timeout}.");
            }

            if (read == 0)
            {
                throw new IOException("The server closed the connection without answering.");
            }

            received.AddRange(buffer.AsSpan(0, read).ToArray());
        }

        var text = Encoding.Latin1.GetString(received.ToArray());
        var lines = text[..text.IndexOf("\r\n\r\n", StringComparison.Ordinal)].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        return (status, headers);
    }

    private static bool EndsHead(List<byte> received)
    {
        for (var i = 3; i < received.Count; i++)
        {
            if (received[i - 3] == '\r' && received[i - 2] == '\n' && received[i - 1] == '\r' && received[i] == '\n')
            {
                return true;
            }
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        await StopTricklingAsync();
        _trickle?.Dispose();
        _trickle = null;
        _client.Dispose();
    }
}

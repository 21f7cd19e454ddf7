using System.Buffers;

namespace Orchestrator.Functions.Functions;

/// <summary>
/// A webhook request body read into one buffer rented from <see cref="ArrayPool{T}.Shared"/> (returned on
/// <see cref="Dispose"/>), so refused bodies leave no garbage behind and the bytes are copied at most while the
/// buffer grows.
/// </summary>
/// <remarks>
/// The buffer is sized from <c>Content-Length</c>, but only up to <see cref="MaxPresize"/>: a client may announce
/// 25 MiB and send nothing, and memory should follow the bytes that arrive, not the ones announced. Beyond that
/// (and for chunked bodies) it doubles as bytes arrive, so it is never more than twice what was received.
/// </remarks>
internal sealed class WebhookBody : IDisposable
{
    /// <summary>The most memory reserved on the strength of <c>Content-Length</c> alone.</summary>
    internal const int MaxPresize = 1024 * 1024;

    private const int ChunkedInitial = 16 * 1024;

    private byte[] _buffer;

    private WebhookBody(int capacity)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(capacity);
    }

    /// <summary>The body bytes, valid until <see cref="Dispose"/>.</summary>
    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    /// <summary>The body bytes, valid until <see cref="Dispose"/>.</summary>
    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    /// <summary>Body length in bytes.</summary>
    public int Length { get; private set; }

    /// <summary>
    /// Reads the whole body of <paramref name="request"/>, or stops as soon as it is known to exceed
    /// <paramref name="max"/> bytes (from <c>Content-Length</c> without reading, else after <paramref name="max"/> + 1 bytes).
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="max">The largest accepted body, in bytes.</param>
    /// <param name="cancellationToken">The request's abort token.</param>
    /// <returns>The body (dispose it), or <c>null</c> when it is larger than <paramref name="max"/>.</returns>
    /// <exception cref="BadHttpRequestException">The client sent less than it announced, or too slowly (Kestrel answers 400 / 408).</exception>
    public static async Task<WebhookBody?> ReadAsync(HttpRequest request, long max, CancellationToken cancellationToken)
    {
        var limit = (int)Math.Min(max, Array.MaxLength - 1);
        if (request.ContentLength is { } announced && announced > limit)
        {
            return null;
        }

        // With Content-Length the server delivers exactly that many bytes; without, one byte past the limit tells "too large".
        var target = request.ContentLength is { } length ? (int)length : limit + 1;
        var body = new WebhookBody(Math.Min(target, request.ContentLength is null ? ChunkedInitial : MaxPresize));
        try
        {
            while (body.Length < target)
            {
                if (body.Length == body._buffer.Length)
                {
                    body.Grow((int)Math.Min(target, 2L * body._buffer.Length));
                }

                var read = await request.Body.ReadAsync(body._buffer.AsMemory(body.Length, Math.Min(body._buffer.Length, target) - body.Length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                body.Length += read;
            }

            if (body.Length > limit)
            {
                body.Dispose();
                return null;
            }

            return body;
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    private void Grow(int capacity)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(capacity);
        _buffer.AsSpan(0, Length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    /// <summary>Returns the buffer to the pool.</summary>
    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            Length = 0;
        }
    }
}

using System.Globalization;
using System.Text;

namespace Orchestrator.Shared.Agents.Processes;

/// <summary>Keeps the first <c>capacity</c> bytes of a stream and counts the rest.</summary>
internal sealed class HeadBuffer(int capacity)
{
    private readonly MemoryStream _bytes = new();

    /// <summary>Bytes seen, kept or not.</summary>
    public long TotalBytes { get; private set; }

    /// <summary>Appends a chunk; bytes beyond the capacity are dropped.</summary>
    public void Append(ReadOnlySpan<byte> chunk)
    {
        TotalBytes += chunk.Length;
        var room = capacity - (int)_bytes.Length;
        if (room > 0)
        {
            _bytes.Write(chunk[..Math.Min(room, chunk.Length)]);
        }
    }

    /// <summary>The kept bytes as UTF-8 text, without a character cut in half at the end.</summary>
    public string ToText()
    {
        var bytes = _bytes.GetBuffer().AsSpan(0, (int)_bytes.Length);
        if (TotalBytes > bytes.Length)
        {
            bytes = bytes[..Utf8Cut.CompleteLength(bytes)];
        }

        return Encoding.UTF8.GetString(bytes);
    }
}

/// <summary>Keeps the last <c>capacity</c> bytes of a stream (a ring buffer).</summary>
internal sealed class TailBuffer(int capacity)
{
    private readonly byte[] _ring = new byte[capacity];

    /// <summary>Bytes seen, kept or not.</summary>
    public long TotalBytes { get; private set; }

    /// <summary>Appends a chunk; the oldest bytes fall out.</summary>
    public void Append(ReadOnlySpan<byte> chunk)
    {
        if (capacity == 0)
        {
            TotalBytes += chunk.Length;
            return;
        }

        // Invariant: the byte at stream offset k lives at _ring[k % capacity].
        var offset = TotalBytes;
        if (chunk.Length > capacity)
        {
            offset += chunk.Length - capacity;
            chunk = chunk[^capacity..];
        }

        var at = (int)(offset % capacity);
        var first = Math.Min(chunk.Length, capacity - at);
        chunk[..first].CopyTo(_ring.AsSpan(at));
        chunk[first..].CopyTo(_ring);
        TotalBytes = offset + chunk.Length;
    }

    /// <summary>The kept bytes as UTF-8 text, without a character cut in half at the start.</summary>
    public string ToText()
    {
        var count = (int)Math.Min(TotalBytes, capacity);
        var bytes = new byte[count];
        if (count > 0)
        {
            var start = (int)((TotalBytes - count) % capacity);
            var first = Math.Min(count, capacity - start);
            _ring.AsSpan(start, first).CopyTo(bytes);
            _ring.AsSpan(0, count - first).CopyTo(bytes.AsSpan(first));
        }

        var skip = TotalBytes > count ? Utf8Cut.ContinuationPrefix(bytes) : 0;
        return Encoding.UTF8.GetString(bytes, skip, count - skip);
    }
}

/// <summary>Where to cut UTF-8 so that no character is split.</summary>
internal static class Utf8Cut
{
    /// <summary>Length of <paramref name="bytes"/> without a trailing incomplete character.</summary>
    public static int CompleteLength(ReadOnlySpan<byte> bytes)
    {
        // Look back at most 3 bytes for the lead byte of the last character.
        for (var back = 1; back <= Math.Min(4, bytes.Length); back++)
        {
            var b = bytes[^back];
            if ((b & 0xC0) == 0x80)
            {
                continue; // continuation byte
            }

            var needed = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            return needed > back ? bytes.Length - back : bytes.Length;
        }

        return bytes.Length;
    }

    /// <summary>How many continuation bytes (the rest of a cut character) open <paramref name="bytes"/>.</summary>
    public static int ContinuationPrefix(ReadOnlySpan<byte> bytes)
    {
        var n = 0;
        while (n < Math.Min(3, bytes.Length) && (bytes[n] & 0xC0) == 0x80)
        {
            n++;
        }

        return n;
    }
}

/// <summary>
/// The run log: stdout and stderr chunks appended as they arrive (interleaved, unlabelled), capped at
/// <c>capBytes</c> bytes written by this run. Past the cap one line <c>[log truncated at N bytes]</c>
/// is written and further output dropped. Notes of the runner itself (a timeout, a missing executable)
/// are always written, as lines starting with <c>[orchestrator]</c>. Thread-safe.
/// </summary>
internal sealed class RunLog : IDisposable
{
    private readonly object _gate = new();
    private readonly FileStream _file;
    private readonly long _capBytes;
    private long _written;
    private bool _truncated;
    private bool _atLineStart = true;

    private RunLog(FileStream file, long capBytes)
    {
        _file = file;
        _capBytes = capBytes;
    }

    /// <summary>Opens (creating directories and the file, mode 0600) <paramref name="path"/> for appending.</summary>
    public static RunLog Open(string path, long capBytes)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        return new RunLog(new FileStream(path, options), capBytes);
    }

    /// <summary>Appends process output, up to the cap.</summary>
    public void Write(ReadOnlySpan<byte> chunk)
    {
        lock (_gate)
        {
            if (_truncated)
            {
                return;
            }

            var room = _capBytes - _written;
            var take = (int)Math.Min(room, chunk.Length);
            if (take > 0)
            {
                _file.Write(chunk[..take]);
                _written += take;
                _atLineStart = chunk[take - 1] == (byte)'\n';
            }

            if (take < chunk.Length)
            {
                _truncated = true;
                WriteLineLocked(string.Create(CultureInfo.InvariantCulture, $"[log truncated at {_capBytes} bytes]"));
            }

            _file.Flush();
        }
    }

    /// <summary>Appends a line of the runner's own (not counted against the cap).</summary>
    public void Note(string message)
    {
        lock (_gate)
        {
            WriteLineLocked("[orchestrator] " + message);
            _file.Flush();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _file.Dispose();
        }
    }

    private void WriteLineLocked(string line)
    {
        var text = (_atLineStart ? string.Empty : "\n") + line + "\n";
        _file.Write(Encoding.UTF8.GetBytes(text));
        _atLineStart = true;
    }
}

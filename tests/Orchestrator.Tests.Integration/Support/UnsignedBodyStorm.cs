using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;

namespace Orchestrator.Tests.Integration.Support;

/// <summary>
/// Fires concurrent unsigned webhook bodies at a host running as its own process and measures that process's
/// resident memory (Linux <c>/proc/&lt;pid&gt;/status</c>). Shared by the regression test of issue #8 item 9c and the
/// benchmark (linked into tests/Orchestrator.Benchmarks), so both measure the same thing.
/// </summary>
/// <remarks>
/// The signatures are well formed but wrong, so the host has to read each admitted body before refusing it. The
/// baseline is taken after a warm-up (the code paths are compiled); the peak is the larger of <c>VmRSS</c> sampled
/// every few milliseconds during the storm and <c>VmHWM</c>, which is reset first (<c>clear_refs</c> 5) when the
/// kernel allows it.
/// </remarks>
public static class UnsignedBodyStorm
{
    /// <summary>What the storm did to the process.</summary>
    /// <param name="RssBeforeKiB">VmRSS before the storm.</param>
    /// <param name="PeakKiB">Highest resident set during the storm.</param>
    /// <param name="PeakFromHwm">Whether the peak includes the kernel's VmHWM (not only samples).</param>
    /// <param name="RssAfterKiB">VmRSS when every answer was in.</param>
    /// <param name="Answers">Count per HTTP status, or per error for a request without an answer.</param>
    /// <param name="Elapsed">From the first send to the last answer.</param>
    /// <param name="Requests">Requests fired.</param>
    /// <param name="BodyBytes">Bytes per body.</param>
    public sealed record Result(long RssBeforeKiB, long PeakKiB, bool PeakFromHwm, long RssAfterKiB, IReadOnlyDictionary<string, int> Answers, TimeSpan Elapsed, int Requests, int BodyBytes)
    {
        /// <summary>Peak minus baseline.</summary>
        public long GrowthKiB => PeakKiB - RssBeforeKiB;

        /// <summary>One line for reports and assertion messages.</summary>
        public string Describe() => string.Create(CultureInfo.InvariantCulture,
            $"{Requests} concurrent unsigned {BodyBytes / 1024} KiB bodies: RSS {RssBeforeKiB / 1024.0:0.0} MiB before, peak {PeakKiB / 1024.0:0.0} MiB " +
            $"({(PeakFromHwm ? "VmHWM and samples" : "samples only")}), {RssAfterKiB / 1024.0:0.0} MiB after; growth {GrowthKiB / 1024.0:0.0} MiB; " +
            $"answers {string.Join(", ", Answers.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}×{a.Value}"))} in {Elapsed.TotalMilliseconds:0} ms");
    }

    /// <summary>Runs the storm against <paramref name="url"/> (a webhook endpoint verified with <c>X-Hub-Signature-256</c>).</summary>
    /// <param name="pid">The host's process id.</param>
    /// <param name="url">E.g. <c>http://127.0.0.1:port/webhooks/github</c>.</param>
    /// <param name="requests">Concurrent requests (one connection each).</param>
    /// <param name="bodyBytes">Size of each body.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The measurements.</returns>
    public static async Task<Result> RunAsync(int pid, Uri url, int requests, int bodyBytes, CancellationToken cancellationToken = default)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = requests + 8, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(120) };
        var body = new byte[bodyBytes];
        body.AsSpan().Fill((byte)' ');
        "{\"pad\":\""u8.CopyTo(body);
        "\"}"u8.CopyTo(body.AsSpan(bodyBytes - 2));

        // Warm-up: a few small refused deliveries, so what follows measures buffering, not the JIT. The storm's requests
        // then open their connections at once, as an attacker's would (pre-opened connections would move their cost
        // into the baseline).
        for (var i = 0; i < 3; i++)
        {
            using var _ = await SendAsync(client, url, "{}"u8.ToArray(), cancellationToken);
        }

        await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        var before = ReadKiB(pid, "VmRSS");
        var hwmReset = TryResetPeak(pid);
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            var peak = before;
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, ReadKiB(pid, "VmRSS"));
                await Task.Delay(2, CancellationToken.None);
            }

            return peak;
        }, CancellationToken.None);

        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var storm = Enumerable.Range(0, requests).Select(async _ =>
        {
            await go.Task;
            try
            {
                using var response = await SendAsync(client, url, body, cancellationToken);
                return ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            }
            catch (HttpRequestException ex)
            {
                return "error " + (ex.HttpRequestError is HttpRequestError.Unknown ? ex.InnerException?.GetType().Name ?? ex.Message : ex.HttpRequestError.ToString());
            }
        }).ToArray();
        var start = Stopwatch.GetTimestamp();
        go.SetResult();
        var answers = await Task.WhenAll(storm);
        var elapsed = Stopwatch.GetElapsedTime(start);
        await sampling.CancelAsync();
        var sampled = await sampler;
        var peak = hwmReset ? Math.Max(sampled, ReadKiB(pid, "VmHWM")) : sampled;
        return new Result(before, peak, hwmReset, ReadKiB(pid, "VmRSS"),
            answers.GroupBy(a => a, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal), elapsed, requests, bodyBytes);
    }

    /// <summary>A field of <c>/proc/&lt;pid&gt;/status</c> in KiB, e.g. <c>VmRSS</c> or <c>VmHWM</c>.</summary>
    public static long ReadKiB(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(field.Length + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"/proc/{pid}/status has no {field}");
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, Uri url, byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("X-GitHub-Event", "pull_request");
        request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", "sha256=" + new string('0', 64));
        return await client.SendAsync(request, cancellationToken);
    }

    // Writing 5 to clear_refs resets the peak resident set size (proc(5)); not every kernel or sandbox allows it.
    private static bool TryResetPeak(int pid)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}

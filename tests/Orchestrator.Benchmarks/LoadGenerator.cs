using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;

namespace Orchestrator.Benchmarks;

/// <summary>What one request did. Times are <see cref="Stopwatch"/> timestamps.</summary>
internal struct RequestRecord
{
    public long Scheduled;
    public long Sent;
    public long Done;
    public RequestOutcome Outcome;
}

internal enum RequestOutcome
{
    NotSent,
    Accepted,
    Duplicate,
    OtherStatus,
    Failed,
}

/// <summary>The result of one load phase.</summary>
internal sealed record PhaseResult(
    string Name,
    int Planned,
    int Sent,
    int Accepted,
    int Duplicates,
    int Errors,
    string? FirstError,
    double Seconds,
    Percentiles Latency,
    Percentiles Service,
    Percentiles DispatchLag,
    IReadOnlyList<string> AcceptedDeliveryIds)
{
    public int Acknowledged => Accepted + Duplicates;

    public double AcknowledgedPerSecond => Seconds > 0 ? Acknowledged / Seconds : 0;
}

/// <summary>
/// Sends pre-signed GitHub deliveries to the host. Open loop: request <c>i</c> is due at <c>t0 + i/rate</c>
/// whatever happened to earlier ones, and its latency runs from that due time (no coordinated omission).
/// Closed loop: <c>N</c> senders, each sending its next delivery as soon as the previous one is answered.
/// </summary>
internal sealed class LoadGenerator(HttpClient client, Uri url)
{
    // A request due within this much is sent at once rather than after another (≥ 1 ms) sleep.
    private static readonly long EarlyTicks = Stopwatch.Frequency / 5_000;
    private static readonly TimeSpan TailLimit = TimeSpan.FromSeconds(30);

    private string? _firstError;

    /// <summary>A client for loopback load: HTTP/1.1, one connection per in-flight request, up to <paramref name="maxConnections"/>.</summary>
    public static HttpClient CreateClient(int maxConnections) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = maxConnections,
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
    })
    {
        Timeout = TimeSpan.FromSeconds(20),
        DefaultRequestVersion = HttpVersion.Version11,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    /// <summary>Sends <paramref name="deliveries"/> at <paramref name="rate"/> per second, then waits (bounded) for the answers.</summary>
    public async Task<PhaseResult> OpenLoopAsync(string name, Delivery[] deliveries, int rate, CancellationToken cancellationToken)
    {
        _firstError = null;
        var records = new RequestRecord[deliveries.Length];
        var inFlight = new Task[deliveries.Length];
        var dispatched = 0;
        var ticksPerRequest = (double)Stopwatch.Frequency / rate;
        var t0 = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 100);
        var schedulerDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // A dedicated thread that sleeps until each due time: timer-queue delays would batch sends.
        var scheduler = new Thread(() =>
        {
            try
            {
                for (var i = 0; i < deliveries.Length && !cancellationToken.IsCancellationRequested; i++)
                {
                    var due = t0 + (long)(i * ticksPerRequest);
                    for (var remaining = due - Stopwatch.GetTimestamp(); remaining > EarlyTicks; remaining = due - Stopwatch.GetTimestamp())
                    {
                        Thread.Sleep(Math.Max(1, (int)(remaining * 1_000 / Stopwatch.Frequency)));
                    }

                    records[i].Scheduled = due;
                    inFlight[i] = SendAsync(deliveries[i], records, i, cancellationToken);
                    dispatched = i + 1;
                }

                schedulerDone.SetResult();
            }
            catch (Exception ex)
            {
                schedulerDone.SetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = "open-loop scheduler",
        };
        scheduler.Start();
        await schedulerDone.Task;
        await WaitBoundedAsync(inFlight.AsSpan(0, dispatched).ToArray(), cancellationToken);
        var seconds = (Math.Max(LastDone(records), t0) - t0) / (double)Stopwatch.Frequency;
        return Summarise(name, deliveries, records, seconds, openLoop: true);
    }

    /// <summary>
    /// <paramref name="senders"/> closed-loop senders for <paramref name="duration"/> (or until
    /// <paramref name="pool"/> runs out), then waits (bounded) for the answers.
    /// </summary>
    public async Task<(PhaseResult Result, bool PoolExhausted)> ClosedLoopAsync(string name, Delivery[] pool, int senders, TimeSpan duration, CancellationToken cancellationToken)
    {
        _firstError = null;
        var records = new RequestRecord[pool.Length];
        var next = -1;
        var exhausted = false;
        var start = Stopwatch.GetTimestamp();
        var deadline = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);

        async Task SenderAsync()
        {
            while (Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= pool.Length)
                {
                    exhausted = true;
                    return;
                }

                records[i].Scheduled = Stopwatch.GetTimestamp();
                await SendAsync(pool[i], records, i, cancellationToken);
            }
        }

        await WaitBoundedAsync(Enumerable.Range(0, senders).Select(_ => Task.Run(SenderAsync, CancellationToken.None)).ToArray(), cancellationToken);
        var seconds = (Math.Max(LastDone(records), start) - start) / (double)Stopwatch.Frequency;
        return (Summarise(name, pool, records, seconds, openLoop: false), exhausted);
    }

    private static async Task WaitBoundedAsync(Task[] tasks, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(tasks).WaitAsync(TailLimit, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Counted below: records without an answer are errors.
        }
    }

    private static long LastDone(RequestRecord[] records)
    {
        var last = 0L;
        foreach (var r in records)
        {
            last = Math.Max(last, r.Done);
        }

        return last;
    }

    private async Task SendAsync(Delivery delivery, RequestRecord[] records, int index, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(delivery.Body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.TryAddWithoutValidation("User-Agent", "GitHub-Hookshot/orchestrator-bench");
            request.Headers.TryAddWithoutValidation("X-GitHub-Event", Deliveries.EventName);
            request.Headers.TryAddWithoutValidation("X-GitHub-Delivery", delivery.DeliveryId);
            request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", delivery.Signature);
            records[index].Sent = Stopwatch.GetTimestamp();
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            records[index].Done = Stopwatch.GetTimestamp();
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            records[index].Outcome = response.StatusCode != HttpStatusCode.Accepted ? RequestOutcome.OtherStatus
                : body.AsSpan().IndexOf("\"status\":\"accepted\""u8) >= 0 ? RequestOutcome.Accepted
                : body.AsSpan().IndexOf("\"status\":\"duplicate\""u8) >= 0 ? RequestOutcome.Duplicate
                : RequestOutcome.OtherStatus;
            if (records[index].Outcome == RequestOutcome.OtherStatus)
            {
                Interlocked.CompareExchange(ref _firstError, $"HTTP {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body)}", null);
            }
        }
        catch (Exception ex)
        {
            records[index].Done = 0;
            records[index].Outcome = RequestOutcome.Failed;
            Interlocked.CompareExchange(ref _firstError, $"{ex.GetType().Name}: {ex.Message}", null);
        }
    }

    private PhaseResult Summarise(string name, Delivery[] deliveries, RequestRecord[] records, double seconds, bool openLoop)
    {
        var latency = new List<double>(records.Length);
        var service = new List<double>(records.Length);
        var lag = new List<double>(records.Length);
        var acceptedIds = new List<string>(records.Length);
        int sent = 0, accepted = 0, duplicates = 0, errors = 0;
        var ms = 1_000.0 / Stopwatch.Frequency;
        for (var i = 0; i < records.Length; i++)
        {
            var r = records[i];
            if (r.Sent == 0)
            {
                continue;
            }

            sent++;
            if (openLoop)
            {
                lag.Add((r.Sent - r.Scheduled) * ms);
            }

            switch (r.Outcome)
            {
                case RequestOutcome.Accepted or RequestOutcome.Duplicate:
                    accepted += r.Outcome == RequestOutcome.Accepted ? 1 : 0;
                    duplicates += r.Outcome == RequestOutcome.Duplicate ? 1 : 0;
                    if (r.Outcome == RequestOutcome.Accepted)
                    {
                        acceptedIds.Add(deliveries[i].DeliveryId);
                    }

                    // From the earlier of due time and send time: a late send counts against us, an early one does not help.
                    latency.Add((r.Done - Math.Min(r.Scheduled, r.Sent)) * ms);
                    service.Add((r.Done - r.Sent) * ms);
                    break;
                default:
                    errors++;
                    break;
            }
        }

        return new PhaseResult(name, openLoop ? deliveries.Length : sent, sent, accepted, duplicates, errors, _firstError, seconds,
            Percentiles.Of(latency), Percentiles.Of(service), Percentiles.Of(lag), acceptedIds);
    }
}

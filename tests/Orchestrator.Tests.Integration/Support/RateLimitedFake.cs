using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Orchestrator.Shared.Platform;
using Orchestrator.Simulators;
using Orchestrator.Tests.Integration.GitHub;

namespace Orchestrator.Tests.Integration.Support;

/// <summary>
/// A loopback fake with one route: the first request gets the platform's "slow down" answer (status, headers,
/// body), every later one a fixed success body. It records the fake clock's time at each arrival, and anything
/// else (another route, a wrong credential) lands in <see cref="SimulatorHost.UnexpectedRequests"/>.
/// </summary>
internal sealed class RateLimitedFake : IAsyncDisposable
{
    private readonly ConcurrentQueue<DateTimeOffset> _arrivals = new();
    private SimulatorHost _host = null!;
    private int _count;

    private RateLimitedFake()
    {
    }

    public Uri BaseUrl => _host.BaseUrl;

    public SimulatorHost Host => _host;

    /// <summary>The fake clock's time when each request arrived, in order.</summary>
    public IReadOnlyList<DateTimeOffset> Arrivals => _arrivals.ToArray();

    /// <summary>Starts the fake.</summary>
    /// <param name="method">HTTP method of the route.</param>
    /// <param name="path">Route path (no query).</param>
    /// <param name="clock">Clock whose time is recorded per arrival.</param>
    /// <param name="authorized">Whether a request carries the expected credential.</param>
    /// <param name="limited">The first answer: status, headers and body.</param>
    /// <param name="okBody">The JSON body of every later answer (200).</param>
    public static async Task<RateLimitedFake> StartAsync(
        string method,
        string path,
        FakeClock clock,
        Func<HttpContext, bool> authorized,
        (int Status, (string Name, string Value)[] Headers, string Body) limited,
        string okBody)
    {
        var fake = new RateLimitedFake();
        fake._host = await SimulatorHost.StartAsync(
            "rate-limited-fake",
            (app, _) => app.MapMethods(path, [method], async context =>
            {
                fake._arrivals.Enqueue(clock.GetUtcNow());
                context.Response.ContentType = "application/json";
                if (Interlocked.Increment(ref fake._count) == 1)
                {
                    context.Response.StatusCode = limited.Status;
                    foreach (var (name, value) in limited.Headers)
                    {
                        context.Response.Headers[name] = value;
                    }

                    await context.Response.WriteAsync(limited.Body);
                    return;
                }

                await context.Response.WriteAsync(okBody);
            }),
            context => authorized(context) ? null : 401);
        return fake;
    }

    /// <summary>
    /// The check every platform's rate-limit test makes: the first call fails with <paramref name="expectedStatus"/>
    /// (transient); the next call is parked in the limiter and reaches the fake neither before
    /// <paramref name="wait"/> has passed on <paramref name="clock"/> nor one second before it, then goes through.
    /// </summary>
    public async Task AssertNextCallHeldBackAsync(FakeClock clock, Func<Task> call, HttpStatusCode expectedStatus, TimeSpan wait)
    {
        var start = clock.GetUtcNow();
        var e = await Assert.ThrowsAsync<PlatformApiException>(call);
        Assert.Equal(expectedStatus, e.StatusCode);
        Assert.True(e.IsTransient);
        Assert.Single(Arrivals);

        var pending = call();
        await clock.WaitForPendingTimersAsync(1);
        Assert.Single(Arrivals);

        clock.Advance(wait - TimeSpan.FromSeconds(1));
        Assert.False(pending.IsCompleted);
        Assert.Equal(1, clock.PendingTimers);
        Assert.Single(Arrivals);

        clock.Advance(TimeSpan.FromSeconds(1));
        await pending.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(2, Arrivals.Count);
        Assert.Equal(start, Arrivals[0]);
        Assert.True(Arrivals[1] >= start + wait, $"second request at {Arrivals[1]:O}, before the reset {start + wait:O}");
        Assert.Empty(Host.UnexpectedRequests);
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}

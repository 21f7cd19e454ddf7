using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Platform;
using Orchestrator.Simulators;
using Orchestrator.Simulators.GitHub;
using static Orchestrator.Tests.Integration.GitHub.GitHubTestSupport;

namespace Orchestrator.Tests.Integration.GitHub;

/// <summary>
/// The redelivery sweep (https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries):
/// list deliveries, pick the failed ones the inbox never stored, redeliver them with the same GUID.
/// </summary>
public sealed class GitHubRedeliverySweepTests : IAsyncLifetime
{
    private const string RepoName = "acme/widgets";
    private static readonly RepoRef Repo = RepoRef.Parse(RepoName);
    private static readonly DateTimeOffset Start = new(2025, 10, 15, 7, 0, 0, TimeSpan.Zero);

    private readonly FakeClock _clock = new(Start);
    private readonly ConcurrentDictionary<string, int> _inbox = new(); // GUID → times received
    private GitHubSimulator _sim = null!;
    private SimulatorHost _receiver = null!;
    private HttpClient _http = null!;
    private readonly SocketsHttpHandler _handler = new(); // what Octokit sends through, as the factory's handler in the host
    private GitHubClient _client = null!;

    public async Task InitializeAsync()
    {
        _receiver = await SimulatorHost.StartAsync(
            "receiver",
            (app, _) => app.MapPost("/hook", (HttpContext c) =>
            {
                _inbox.AddOrUpdate(c.Request.Headers["X-GitHub-Delivery"].ToString(), 1, (_, n) => n + 1);
                return Results.Accepted();
            }),
            _ => null);
        _sim = await GitHubSimulator.StartAsync(Token);
        _sim.Clock = _clock;
        _sim.AddRepository(RepoName);
        _sim.ConfigureWebhook(new Uri(_receiver.BaseUrl, "hook"), "secret");
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        _client = new GitHubClient(_handler, new GitHubClientSettings(_sim.BaseUrl, Token), _clock, new RateLimiter(_clock));
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        _handler.Dispose();
        await _sim.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task Sweep_redelivers_exactly_the_failed_deliveries_never_stored_with_the_same_GUID()
    {
        // Too old for the sweep window: failed and unstored, but not listed.
        await _sim.OpenPullRequestAsync(RepoName, "old", null);
        var old = _sim.HookDeliveries[^1].Guid;
        _sim.MarkDeliveryFailed(old);
        _inbox.TryRemove(old, out _);
        _clock.Advance(TimeSpan.FromHours(1));
        var since = _clock.GetUtcNow();

        await _sim.OpenPullRequestAsync(RepoName, "lost", null);
        var lost = _sim.HookDeliveries[^1].Guid;
        await _sim.OpenPullRequestAsync(RepoName, "stored but answered late", null);
        var late = _sim.HookDeliveries[^1].Guid;
        await _sim.OpenPullRequestAsync(RepoName, "fine", null);
        var fine = _sim.HookDeliveries[^1].Guid;
        await _sim.OpenPullRequestAsync(RepoName, "already redelivered", null);
        var healed = _sim.Deliveries[^1];
        _clock.Advance(TimeSpan.FromMinutes(1));

        _sim.MarkDeliveryFailed(lost, 502);
        _inbox.TryRemove(lost, out _);     // the receiver died before storing
        _sim.MarkDeliveryFailed(late, 0);  // stored, then the connection dropped
        _sim.MarkDeliveryFailed(healed.DeliveryId);
        _inbox.TryRemove(healed.DeliveryId, out _);
        await _sim.ResendAsync(healed, newDeliveryId: false); // succeeded on a redelivery
        _inbox.TryRemove(healed.DeliveryId, out _);           // (unstored anyway: the success alone rules it out)

        var listed = await _client.ListHookDeliveriesAsync(Repo, GitHubSimulator.HookId, since, CancellationToken.None);

        Assert.Equal(5, listed.Count); // four originals + one redelivery, the old one left out
        Assert.DoesNotContain(listed, d => d.Guid == old);
        Assert.Equal(listed.OrderByDescending(d => d.Id), listed); // newest first
        var lostItem = Assert.Single(listed, d => d.Guid == lost);
        Assert.Equal(502, lostItem.StatusCode);
        Assert.Equal("Invalid HTTP Response: 502", lostItem.Status);
        Assert.Equal("pull_request", lostItem.Event);
        Assert.Equal("opened", lostItem.Action);
        Assert.False(lostItem.Redelivery);
        Assert.Contains(listed, d => d.Guid == healed.DeliveryId && d.Redelivery && d.Succeeded);

        var toRedeliver = RedeliverySweep.Select(listed, _inbox.ContainsKey);

        Assert.Equal([lost], toRedeliver.Select(d => d.Guid));

        foreach (var delivery in toRedeliver)
        {
            await _client.RedeliverAsync(Repo, GitHubSimulator.HookId, delivery.Id, CancellationToken.None);
        }

        Assert.Equal(1, _inbox[lost]); // received again, same X-GitHub-Delivery
        var redelivered = _sim.HookDeliveries[^1];
        Assert.Equal(lost, redelivered.Guid);
        Assert.True(redelivered.Redelivery);
        Assert.Equal(202, redelivered.StatusCode);
        var attempt = _sim.DeliveryAttempts[^1];
        Assert.True(attempt.IsRedelivery);
        Assert.Equal(_sim.Deliveries.Single(d => d.DeliveryId == lost).Body, attempt.Delivery.Body);

        var again = await _client.ListHookDeliveriesAsync(Repo, GitHubSimulator.HookId, since, CancellationToken.None);
        Assert.Empty(RedeliverySweep.Select(again, _inbox.ContainsKey));
        Assert.Empty(_sim.Host.UnexpectedRequests);
        Assert.Empty(_receiver.UnexpectedRequests);
    }

    [Fact]
    public async Task Listing_follows_the_cursor_Link_across_pages()
    {
        for (var i = 0; i < 105; i++)
        {
            await _sim.OpenPullRequestAsync(RepoName, $"PR {i}", null);
        }

        var listed = await _client.ListHookDeliveriesAsync(Repo, GitHubSimulator.HookId, Start, CancellationToken.None);

        Assert.Equal(105, listed.Count);
        Assert.Equal(_sim.HookDeliveries.Select(d => d.Guid).Reverse(), listed.Select(d => d.Guid));
        var pages = _sim.Host.Requests.Where(r => r.PathAndQuery.Contains("/hooks/1/deliveries", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, pages.Count);
        Assert.Equal("/api/v3/repos/acme/widgets/hooks/1/deliveries?per_page=100", pages[0].PathAndQuery);
        Assert.StartsWith("/api/v3/repos/acme/widgets/hooks/1/deliveries?per_page=100&cursor=v1_", pages[1].PathAndQuery);
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public void Select_is_one_newest_attempt_per_failed_unstored_GUID_in_event_order()
    {
        GitHubHookDelivery D(long id, string guid, int minute, int status, bool redelivery = false) =>
            new(id, guid, Start.AddMinutes(minute), redelivery, status is >= 200 and < 300 ? "OK" : "failed", status, "issues", "opened");
        var deliveries = new[]
        {
            D(6, "b", 5, 500, redelivery: true),
            D(1, "a", 0, 500),
            D(2, "b", 1, 0),
            D(3, "c", 2, 200),
            D(4, "d", 3, 500),
            D(5, "d", 4, 200, redelivery: true),
            D(7, "e", 6, 404),
        };

        var selected = RedeliverySweep.Select(deliveries, guid => guid == "e");

        Assert.Equal([1L, 6L], selected.Select(d => d.Id));
    }
}

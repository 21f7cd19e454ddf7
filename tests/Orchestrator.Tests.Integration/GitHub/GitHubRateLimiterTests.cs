using System.Net;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Platform;
using Orchestrator.Simulators.GitHub;
using Orchestrator.Tests.Integration.Support;
using static Orchestrator.Tests.Integration.GitHub.GitHubTestSupport;

namespace Orchestrator.Tests.Integration.GitHub;

/// <summary>
/// <see cref="RateLimiter"/> inside <see cref="GitHubClient"/> against <see cref="GitHubSimulator"/> on a fake
/// clock (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit):
/// after the answer that says "wait", the next request only reaches the simulator once the clock got there.
/// </summary>
public sealed class GitHubRateLimiterTests : IAsyncLifetime
{
    private const string RepoName = "acme/widgets";
    private static readonly RepoRef Repo = RepoRef.Parse(RepoName);
    private static readonly DateTimeOffset Start = new(2025, 10, 15, 7, 0, 0, TimeSpan.Zero);

    private readonly FakeClock _clock = new(Start);
    private GitHubSimulator _sim = null!;
    private HttpClient _http = null!;
    private readonly SocketsHttpHandler _handler = new(); // what Octokit sends through, as the factory's handler in the host
    private GitHubClient _client = null!;

    public async Task InitializeAsync()
    {
        _sim = await GitHubSimulator.StartAsync(Token);
        _sim.Clock = _clock;
        _sim.AddRepository(RepoName);
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        _client = new GitHubClient(_handler, new GitHubClientSettings(_sim.BaseUrl, Token), _clock, new RateLimiter(_clock));
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        _handler.Dispose();
        await _sim.DisposeAsync();
    }

    private int IssueListRequests() => _sim.Host.Requests.Count(r => r.PathAndQuery.StartsWith("/api/v3/repos/acme/widgets/issues?", StringComparison.Ordinal));

    /// <summary>
    /// Starts a request, checks it is parked in the limiter, advances to one second before
    /// <paramref name="wait"/> (still nothing sent), then to <paramref name="wait"/> (sent and answered).
    /// </summary>
    private async Task AssertNextRequestHeldBackForAsync(TimeSpan wait, int requestsSoFar)
    {
        var pending = _client.ListRecentIssuesAsync(Repo, 5, CancellationToken.None);
        await _clock.WaitForPendingTimersAsync(1);
        Assert.Equal(requestsSoFar, IssueListRequests());

        _clock.Advance(wait - TimeSpan.FromSeconds(1));

        Assert.False(pending.IsCompleted);
        Assert.Equal(1, _clock.PendingTimers);
        Assert.Equal(requestsSoFar, IssueListRequests());

        _clock.Advance(TimeSpan.FromSeconds(1));
        var issues = await pending.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Empty(issues);
        Assert.Equal(requestsSoFar + 1, IssueListRequests());
    }

    [Fact]
    public async Task Every_response_carries_the_rate_limit_headers_of_the_budget()
    {
        _sim.ConfigureRateLimit(10, TimeSpan.FromSeconds(30));

        await _client.ListRecentIssuesAsync(Repo, 5, CancellationToken.None);
        await _client.ListRecentIssuesAsync(Repo, 5, CancellationToken.None);

        // The simulator logs requests, not responses: ask it directly with the headers the client would see.
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_sim.ApiUrl, "repos/acme/widgets/issues"));
        request.Headers.Authorization = new("Bearer", Token);
        request.Headers.UserAgent.Add(new("test", null));
        request.Headers.TryAddWithoutValidation("X-GitHub-Api-Version", "2022-11-28");
        using var response = await _http.SendAsync(request);

        Assert.Equal("10", response.Headers.GetValues("x-ratelimit-limit").Single());
        Assert.Equal("7", response.Headers.GetValues("x-ratelimit-remaining").Single());
        Assert.Equal("3", response.Headers.GetValues("x-ratelimit-used").Single());
        Assert.Equal(Start.AddSeconds(30).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("x-ratelimit-reset").Single());
        Assert.Equal("core", response.Headers.GetValues("x-ratelimit-resource").Single());
    }

    [Fact]
    public async Task With_remaining_zero_no_request_is_sent_before_the_reset()
    {
        _sim.ConfigureRateLimit(1, TimeSpan.FromSeconds(30));

        Assert.Empty(await _client.ListRecentIssuesAsync(Repo, 5, CancellationToken.None)); // uses the whole budget: remaining 0, reset in 30 s

        await AssertNextRequestHeldBackForAsync(TimeSpan.FromSeconds(30), requestsSoFar: 1);
        Assert.Empty(_sim.Host.UnexpectedRequests); // never sent over budget
    }

    [Fact]
    public async Task A_429_with_Retry_After_7_holds_back_the_next_request_for_7_seconds()
    {
        _sim.InjectRateLimitFault(429, TimeSpan.FromSeconds(7));

        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.ListRecentIssuesAsync(Repo, 5, CancellationToken.None));
        Assert.Equal(HttpStatusCode.TooManyRequests, e.StatusCode);
        Assert.True(e.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(7), e.RetryAfter);

        await AssertNextRequestHeldBackForAsync(TimeSpan.FromSeconds(7), requestsSoFar: 1);
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task A_secondary_rate_limit_without_headers_holds_back_the_next_request_for_a_minute()
    {
        _sim.InjectRateLimitFault(403, retryAfter: null);

        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.ListRecentIssuesAsync(Repo, 5, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Forbidden, e.StatusCode);
        Assert.True(e.IsTransient);
        Assert.Equal(TimeSpan.FromMinutes(1), e.RetryAfter);

        await AssertNextRequestHeldBackForAsync(TimeSpan.FromSeconds(60), requestsSoFar: 1);
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Against_a_loopback_fake_a_403_with_remaining_0_holds_back_the_next_request_until_x_ratelimit_reset()
    {
        await using var fake = await RateLimitedFake.StartAsync(
            "GET",
            "/api/v3/repos/acme/widgets/issues",
            _clock,
            context => context.Request.Headers.Authorization == "Bearer " + Token,
            (403,
             [("x-ratelimit-limit", "5000"), ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", Start.AddSeconds(90).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture))],
             """{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}"""),
            "[]");
        var client = new GitHubClient(_handler, new GitHubClientSettings(fake.BaseUrl, Token), _clock, new RateLimiter(_clock));

        await fake.AssertNextCallHeldBackAsync(_clock, () => client.ListRecentIssuesAsync(Repo, 5, CancellationToken.None), HttpStatusCode.Forbidden, TimeSpan.FromSeconds(90));
    }

    [Fact]
    public async Task A_block_applies_to_its_credential_only_and_a_wait_can_be_cancelled()
    {
        var limiter = new RateLimiter(_clock);
        using var limited = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        limited.Headers.RetryAfter = new(TimeSpan.FromSeconds(7));

        Assert.Equal(Start.AddSeconds(7), limiter.Observe("github:a", limited));

        Assert.True(limiter.WaitAsync("github:b", CancellationToken.None).IsCompletedSuccessfully);
        using var cts = new CancellationTokenSource();
        var waiting = limiter.WaitAsync("github:a", cts.Token);
        Assert.False(waiting.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        using var shorter = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        shorter.Headers.RetryAfter = new(TimeSpan.FromSeconds(2));
        Assert.Equal(Start.AddSeconds(7), limiter.Observe("github:a", shorter)); // a block never shrinks
        _clock.Advance(TimeSpan.FromSeconds(7));
        Assert.Null(limiter.BlockedUntil("github:a"));
        Assert.True(limiter.WaitAsync("github:a", CancellationToken.None).IsCompletedSuccessfully);
    }
}

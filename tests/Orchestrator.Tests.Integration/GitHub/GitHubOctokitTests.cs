using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Platform;
using Orchestrator.Simulators.GitHub;
using Orchestrator.Tests.Integration.Support;
using static Orchestrator.Tests.Integration.GitHub.GitHubTestSupport;

namespace Orchestrator.Tests.Integration.GitHub;

/// <summary>
/// What changed with Octokit (issue #10 item 5): the Enterprise URL rule, Octokit's user agent on the wire, the outbound
/// policy's handler under Octokit, and the rate limiter fed by Octokit's exceptions and <c>ApiInfo</c>.
/// </summary>
public sealed class GitHubOctokitTests : IAsyncLifetime
{
    private const string RepoName = "acme/widgets";
    private static readonly RepoRef Repo = RepoRef.Parse(RepoName);
    private static readonly DateTimeOffset Start = new(2025, 10, 15, 7, 0, 0, TimeSpan.Zero);
    private static readonly CancellationToken Ct = CancellationToken.None;

    private readonly FakeClock _clock = new(Start);
    private readonly SocketsHttpHandler _handler = new();
    private GitHubSimulator _sim = null!;

    public async Task InitializeAsync()
    {
        _sim = await GitHubSimulator.StartAsync(Token);
        _sim.AddRepository(RepoName);
    }

    public async Task DisposeAsync()
    {
        _handler.Dispose();
        await _sim.DisposeAsync();
    }

    [Theory]
    [InlineData("https://api.github.com", "https://api.github.com/")]
    [InlineData("https://api.github.com/", "https://api.github.com/")]
    [InlineData("https://github.com/", "https://api.github.com/")]
    [InlineData("https://ghe.example", "https://ghe.example/api/v3/")]
    [InlineData("https://ghe.example/api/v3", "https://ghe.example/api/v3/")]
    [InlineData("https://ghe.example/some/prefix/", "https://ghe.example/api/v3/")]
    [InlineData("http://127.0.0.1:8123/", "http://127.0.0.1:8123/api/v3/")]
    public void A_configured_url_is_github_com_or_an_enterprise_server_under_api_v3(string configured, string api)
    {
        Assert.Equal(new Uri(api), GitHubApiBase.Resolve(new Uri(configured)));
    }

    [Fact]
    public void A_url_that_is_not_absolute_http_is_refused()
    {
        Assert.Throws<ArgumentException>(() => GitHubApiBase.Resolve(new Uri("/api/v3", UriKind.Relative)));
        Assert.Throws<ArgumentException>(() => GitHubApiBase.Resolve(new Uri("ftp://ghe.example/")));
    }

    [Fact]
    public async Task Every_request_arrives_under_api_v3_with_Octokits_user_agent_and_nothing_at_the_root()
    {
        var client = new GitHubClient(_handler, new GitHubClientSettings(_sim.BaseUrl, Token));

        var issue = await client.CreateIssueAsync(Repo, "Under /api/v3", "body", Ct);
        await client.CreateIssueCommentAsync(Repo, issue.Number, "hi", Ct);
        await client.AddLabelAsync(Repo, issue.Number, "AutoTask", Ct);
        await client.ListRecentIssuesAsync(Repo, 5, Ct);
        Assert.Null(await client.GetPullRequestAsync(Repo, 99, Ct));

        Assert.Equal(5, _sim.Host.Requests.Count);
        Assert.All(_sim.Host.Requests, r =>
        {
            Assert.StartsWith("/api/v3/repos/acme/widgets/", r.PathAndQuery, StringComparison.Ordinal);
            AssertGitHubHeaders(r);
        });
        Assert.Matches(@"^orchestrator \(.+; Octokit\.net 14\.", _sim.Host.Requests[0].Headers["User-Agent"]);
        Assert.Empty(_sim.Host.UnexpectedRequests);
        Assert.Equal($"{_sim.BaseUrl}acme/widgets/issues/{issue.Number}", issue.HtmlUrl); // web links stay on the server root
    }

    [Fact]
    public async Task Octokit_sends_through_the_given_handler_so_the_outbound_policy_sees_the_real_host()
    {
        using var guarded = OutboundPolicy.Parse("external").CreateHandler();
        var refusedClient = new GitHubClient(guarded, new GitHubClientSettings(_sim.BaseUrl, Token));

        var e = await Assert.ThrowsAsync<PlatformApiException>(() => refusedClient.CreateIssueAsync(Repo, "t", "b", Ct));

        Assert.False(e.IsTransient);
        Assert.Null(e.StatusCode);
        Assert.IsType<OutboundRefusedException>(e.InnerException);
        Assert.Contains("127.0.0.1", e.Message);
        Assert.Empty(_sim.Host.Requests);

        using var loopback = OutboundPolicy.Parse("loopback").CreateHandler();
        var allowedClient = new GitHubClient(loopback, new GitHubClientSettings(_sim.BaseUrl, Token));
        Assert.Equal(1, (await allowedClient.CreateIssueAsync(Repo, "t", "b", Ct)).Number);
    }

    [Fact]
    public async Task An_abuse_answer_with_Retry_After_is_transient_and_holds_back_the_next_request()
    {
        // Octokit raises AbuseException for GitHub's older "abuse detection mechanism" 403.
        await using var fake = await RateLimitedFake.StartAsync(
            "GET",
            "/api/v3/repos/acme/widgets/issues",
            _clock,
            context => context.Request.Headers.Authorization == "Bearer " + Token,
            (403,
             [("Retry-After", "20")],
             """{"message":"You have triggered an abuse detection mechanism. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#abuse-rate-limits"}"""),
            "[]");
        var client = new GitHubClient(_handler, new GitHubClientSettings(fake.BaseUrl, Token), _clock, new RateLimiter(_clock));

        await fake.AssertNextCallHeldBackAsync(_clock, () => client.ListRecentIssuesAsync(Repo, 5, Ct), HttpStatusCode.Forbidden, TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task An_exhausted_budget_seen_in_ApiInfo_holds_back_every_client_of_that_credential()
    {
        _sim.Clock = _clock;
        _sim.ConfigureRateLimit(1, TimeSpan.FromSeconds(30));
        var limiter = new RateLimiter(_clock);
        var first = new GitHubClient(_handler, new GitHubClientSettings(_sim.BaseUrl, Token), _clock, limiter);
        var second = new GitHubClient(_handler, new GitHubClientSettings(_sim.BaseUrl, Token), _clock, limiter);

        Assert.Empty(await first.ListRecentIssuesAsync(Repo, 5, Ct)); // 200 with x-ratelimit-remaining: 0, reset in 30 s

        Assert.Equal(Start.AddSeconds(30), limiter.BlockedUntil(new StaticGitHubTokenSource(Token).CredentialKey));
        var pending = second.ListRecentIssuesAsync(Repo, 5, Ct);
        await _clock.WaitForPendingTimersAsync(1);
        Assert.Single(_sim.Host.Requests);
        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Empty(await pending.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, _sim.Host.Requests.Count);
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task A_caller_cancellation_reaches_Octokit_calls_that_take_no_token()
    {
        await using var fake = await Orchestrator.Simulators.SimulatorHost.StartAsync(
            "github-hang",
            (app, _) => app.MapPost("/api/v3/repos/acme/widgets/issues", async (HttpContext c) => await Task.Delay(TimeSpan.FromSeconds(30), c.RequestAborted)),
            _ => null);
        var client = new GitHubClient(_handler, new GitHubClientSettings(fake.BaseUrl, Token));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var started = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.CreateIssueAsync(Repo, "t", "b", cts.Token)); // Issue.Create has no token parameter

        Assert.True(started.Elapsed < TimeSpan.FromSeconds(20), $"took {started.Elapsed}");
    }
}

using System.Net;
using Orchestrator.Shared.Gitea;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Platform;
using Orchestrator.Tests.Integration.GitHub;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Tests.Integration.Gitea;

/// <summary>
/// <see cref="RateLimiter"/> inside <see cref="GiteaClient"/>: a 429 with <c>Retry-After</c> (from Gitea or the proxy in
/// front of it) holds back every request with that token until then.
/// </summary>
public sealed class GiteaRateLimiterTests
{
    private const string Token = "gitea_ratelimit_token";
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_429_with_Retry_After_20_holds_back_the_next_request_for_20_seconds()
    {
        var clock = new FakeClock(Start);
        await using var fake = await RateLimitedFake.StartAsync(
            "GET",
            "/api/v1/repos/o/r/pulls/1",
            clock,
            context => context.Request.Headers.Authorization == "token " + Token,
            (429, [("Retry-After", "20")], """{"message":"too many requests","url":"https://docs.gitea.com/api/1.25/"}"""),
            """{"number":1,"title":"t","body":null,"state":"open","merged":false,"merge_commit_sha":null,"html_url":"http://gitea.local/o/r/pulls/1"}""");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var client = new GiteaClient(http, new GiteaClientSettings(fake.BaseUrl, Token), clock, new RateLimiter(clock));

        Assert.StartsWith($"gitea:{fake.BaseUrl.AbsoluteUri.TrimEnd('/')}:", client.CredentialKey, StringComparison.Ordinal);
        await fake.AssertNextCallHeldBackAsync(clock, () => client.GetPullRequestAsync(new RepoRef("o", "r"), 1, CancellationToken.None), HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(20));
    }
}

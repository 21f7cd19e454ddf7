using System.Net;
using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Platform;
using Orchestrator.Tests.Integration.GitHub;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Tests.Integration.Asana;

/// <summary>
/// <see cref="RateLimiter"/> inside <see cref="AsanaClient"/>: Asana answers 429 with <c>Retry-After</c> in seconds
/// (https://developers.asana.com/docs/rate-limits); no request with that token is sent before then.
/// </summary>
public sealed class AsanaRateLimiterTests
{
    private const string Token = "2/1234567890/0987654321:ratelimit";
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_429_with_Retry_After_30_holds_back_the_next_request_for_30_seconds()
    {
        var clock = new FakeClock(Start);
        await using var fake = await RateLimitedFake.StartAsync(
            "GET",
            "/api/1.0/tasks/1201/stories",
            clock,
            context => context.Request.Headers.Authorization == "Bearer " + Token,
            (429, [("Retry-After", "30")], """{"errors":[{"message":"You have made too many requests recently. Please, be chill."}]}"""),
            """{"data":[],"next_page":null}""");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var client = new AsanaClient(http, new AsanaClientSettings(new Uri(fake.BaseUrl, "api/1.0"), Token), clock, new RateLimiter(clock));

        Assert.StartsWith($"asana:{fake.BaseUrl.AbsoluteUri}api/1.0:", client.CredentialKey, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, client.CredentialKey, StringComparison.Ordinal);
        await fake.AssertNextCallHeldBackAsync(clock, () => client.ListStoriesAsync("1201", CancellationToken.None), HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(30));
    }
}

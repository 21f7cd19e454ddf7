using System.Globalization;
using System.Net;
using Orchestrator.Shared.Plane;
using Orchestrator.Shared.Platform;
using Orchestrator.Tests.Integration.GitHub;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Tests.Integration.Plane;

/// <summary>
/// <see cref="RateLimiter"/> inside <see cref="PlaneClient"/>: Plane's API-key throttle answers 429 with
/// <c>X-RateLimit-Remaining: 0</c> and <c>X-RateLimit-Reset</c> (UTC epoch seconds, <c>apps/api/plane/api/rate_limit.py</c>);
/// no request with that key reaches the server before the reset.
/// </summary>
public sealed class PlaneRateLimiterTests
{
    private const string Token = "plane_api_ratelimit_0123456789abcdef";
    private const string Slug = "acme";
    private static readonly string ProjectId = Guid.NewGuid().ToString();
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly string StatesPath = $"/api/v1/workspaces/{Slug}/projects/{ProjectId}/states/";
    private const string EmptyPage = """{"results":[],"next_page_results":false,"next_cursor":null}""";

    private static Task<RateLimitedFake> StartFakeAsync(FakeClock clock) =>
        RateLimitedFake.StartAsync(
            "GET",
            StatesPath,
            clock,
            context => context.Request.Headers["X-Api-Key"] == Token,
            (429,
             [("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", Start.AddSeconds(40).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture))],
             """{"error_code": 5900, "error_message": "RATE_LIMIT_EXCEEDED"}"""),
            EmptyPage);

    [Fact]
    public async Task A_429_with_remaining_0_holds_back_the_next_request_until_X_RateLimit_Reset()
    {
        var clock = new FakeClock(Start);
        await using var fake = await StartFakeAsync(clock);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var client = new PlaneClient(http, new PlaneClientSettings(fake.BaseUrl, Token, Slug), clock, new RateLimiter(clock));

        await fake.AssertNextCallHeldBackAsync(clock, () => client.ListStatesAsync(ProjectId, CancellationToken.None), HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(40));
    }

    [Fact]
    public async Task The_block_belongs_to_the_token_and_the_key_never_contains_it()
    {
        var clock = new FakeClock(Start);
        await using var fake = await StartFakeAsync(clock);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var limiter = new RateLimiter(clock);
        var client = new PlaneClient(http, new PlaneClientSettings(fake.BaseUrl, Token, Slug), clock, limiter);
        var other = new PlaneClient(http, new PlaneClientSettings(fake.BaseUrl, "plane_api_someone_else", Slug), clock, limiter);

        await Assert.ThrowsAsync<PlatformApiException>(() => client.ListStatesAsync(ProjectId, CancellationToken.None));

        Assert.Equal(Start.AddSeconds(40), limiter.BlockedUntil(client.CredentialKey));
        Assert.Null(limiter.BlockedUntil(other.CredentialKey));
        Assert.Matches($"^plane:{fake.BaseUrl.AbsoluteUri.TrimEnd('/')}:[0-9a-f]{{16}}$", client.CredentialKey);
        Assert.DoesNotContain(Token, client.CredentialKey, StringComparison.Ordinal);
        Assert.NotEqual(client.CredentialKey, other.CredentialKey);

        // Another token is not held back (the fake refuses it with 401, which proves it was sent at once).
        var refused = await Assert.ThrowsAsync<PlatformApiException>(() => other.ListStatesAsync(ProjectId, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }
}

using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Platform;
using Orchestrator.Simulators;
using static Orchestrator.Tests.Integration.GitHub.GitHubTestSupport;

namespace Orchestrator.Tests.Integration.GitHub;

/// <summary>
/// How <see cref="GitHubClient"/> classifies failures, against a tiny strict fake whose every route
/// answers one way (https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api,
/// https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api).
/// </summary>
public sealed class GitHubClientErrorTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2025, 10, 15, 7, 0, 0, TimeSpan.Zero);
    private static readonly CancellationToken Ct = CancellationToken.None;

    private SimulatorHost _fake = null!;
    private HttpClient _http = null!;
    private readonly SocketsHttpHandler _handler = new(); // what Octokit sends through, as the factory's handler in the host
    private GitHubClient _client = null!;

    public async Task InitializeAsync()
    {
        var validationError = JsonDocument.Parse(FixtureText("errors.normalized-fixture.json")).RootElement[0].GetProperty("response").GetRawText();
        _fake = await SimulatorHost.StartAsync(
            "github-errors",
            (app, _) =>
            {
                app.MapPost("/api/v3/repos/o/unauthorized/issues", (HttpContext c) => Answer(c, 401, """{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}"""));
                app.MapPost("/api/v3/repos/o/missing/issues", (HttpContext c) => Answer(c, 404, """{"message":"Not Found","documentation_url":"https://docs.github.com/rest/issues/issues#create-an-issue","status":"404"}"""));
                app.MapPost("/api/v3/repos/o/invalid/issues", (HttpContext c) => Answer(c, 422, validationError));
                app.MapGet("/api/v3/repos/o/busy/issues", (HttpContext c) => Answer(c, 429, """{"message":"Too many requests"}""", ("Retry-After", "7")));
                app.MapGet("/api/v3/repos/o/limited/issues", (HttpContext c) => Answer(
                    c,
                    403,
                    """{"message":"API rate limit exceeded for installation ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api","status":"403"}""",
                    ("x-ratelimit-limit", "5000"),
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", Now.AddSeconds(90).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture))));
                app.MapGet("/api/v3/repos/o/secondary/issues", (HttpContext c) => Answer(c, 403, """{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}""", ("Retry-After", "30"), ("x-ratelimit-remaining", "4000")));
                app.MapGet("/api/v3/repos/o/secondary-bare/issues", (HttpContext c) => Answer(c, 403, """{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"""));
                app.MapGet("/api/v3/repos/o/unavailable/issues", (HttpContext c) => Answer(c, 503, """{"message":"Service unavailable"}""", ("Retry-After", Now.AddSeconds(45).ToString("R", System.Globalization.CultureInfo.InvariantCulture))));
                app.MapGet("/api/v3/repos/o/forbidden/issues", (HttpContext c) => Answer(c, 403, """{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/issues/issues#list-repository-issues","status":"403"}""", ("x-ratelimit-remaining", "4999")));
                app.MapGet("/api/v3/repos/o/broken/issues", (HttpContext c) => Answer(c, 502, "<html><body>Bad gateway</body></html>"));
                app.MapGet("/api/v3/repos/o/slow/issues", (HttpContext c) => Answer(c, 408, """{"message":"Request timeout"}"""));
                app.MapGet("/api/v3/repos/o/echo/issues", (HttpContext c) => Answer(c, 400, $$"""{"message":"token {{Token}} is malformed"}"""));
                app.MapGet("/api/v3/repos/o/hang/issues", async (HttpContext c) => { await Task.Delay(TimeSpan.FromSeconds(30), c.RequestAborted); });
                app.MapGet("/api/v3/repos/o/elsewhere/issues", (HttpContext c) =>
                {
                    c.Response.Headers.Link = "<http://127.0.0.2:1/repos/o/elsewhere/issues?page=2>; rel=\"next\"";
                    return Answer(c, 200, """[{"number":1,"title":"t","body":null,"state":"open","html_url":"http://x/1"}]""");
                });
                app.MapGet("/api/v3/repos/o/ghe/issues", (HttpContext c) => Answer(c, 200, """[{"number":5,"title":"on GHE","body":"b","state":"open","html_url":"https://ghe.example/o/ghe/issues/5"}]"""));
                app.MapGet("/api/v3/repos/o/shape/issues", (HttpContext c) => Answer(c, 200, """{"unexpected":"object"}"""));
            },
            _ => null);
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        _client = new GitHubClient(_handler, new GitHubClientSettings(_fake.BaseUrl, Token), new ManualTimeProvider(Now));
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        _handler.Dispose();
        await _fake.DisposeAsync();
    }

    private static async Task Answer(HttpContext context, int status, string body, params (string Name, string Value)[] headers)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = body.StartsWith('<') ? "text/html" : "application/json; charset=utf-8";
        foreach (var (name, value) in headers)
        {
            context.Response.Headers[name] = value;
        }

        await context.Response.WriteAsync(body);
    }

    private static RepoRef R(string name) => new("o", name);

    [Fact]
    public async Task Status_401_is_permanent()
    {
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.CreateIssueAsync(R("unauthorized"), "t", "b", Ct));

        Assert.Equal(HttpStatusCode.Unauthorized, e.StatusCode);
        Assert.False(e.IsTransient);
        Assert.Null(e.RetryAfter);
        Assert.Equal("GitHub", e.Platform);
        Assert.Equal("POST /repos/o/unauthorized/issues", e.Operation);
        Assert.Contains("Bad credentials", e.Message);
        Assert.Empty(_fake.UnexpectedRequests);
    }

    [Fact]
    public async Task Status_404_on_create_is_permanent()
    {
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.CreateIssueAsync(R("missing"), "t", "b", Ct));

        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
        Assert.False(e.IsTransient);
        Assert.Contains("Not Found", e.Message);
        Assert.Empty(_fake.UnexpectedRequests);
    }

    [Fact]
    public async Task Status_422_validation_error_is_permanent_and_says_what_was_wrong()
    {
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.CreateIssueAsync(R("invalid"), "t", "b", Ct));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, e.StatusCode);
        Assert.False(e.IsTransient);
        Assert.Null(e.RetryAfter);
        Assert.Contains("Validation Failed", e.Message);
        Assert.Contains("Label.color: invalid", e.Message);
    }

    [Fact]
    public async Task Status_429_with_Retry_After_is_transient_with_that_wait()
    {
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.ListRecentIssuesAsync(R("busy"), 5, Ct));

        Assert.Equal(HttpStatusCode.TooManyRequests, e.StatusCode);
        Assert.True(e.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(7), e.RetryAfter);
    }

    [Fact]
    public async Task Status_403_with_exhausted_rate_limit_is_transient_until_the_reset()
    {
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.ListRecentIssuesAsync(R("limited"), 5, Ct));

        Assert.Equal(HttpStatusCode.Forbidden, e.StatusCode);
        Assert.True(e.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(90), e.RetryAfter); // x-ratelimit-reset − the fake clock's now
        Assert.Contains("API rate limit exceeded", e.Message);
    }

    [Fact]
    public async Task Status_403_secondary_rate_limit_with_Retry_After_is_transient()
    {
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.ListRecentIssuesAsync(R("secondary"), 5, Ct));

        Assert.True(e.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(30), e.RetryAfter);
    }

    [Fact]
    public async Task Status_403_secondary_rate_limit_without_headers_waits_a_minute_as_GitHub_advises()
    {
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.ListRecentIssuesAsync(R("secondary-bare"), 5, Ct));

        Assert.True(e.IsTransient);
        Assert.Equal(TimeSpan.FromMinutes(1), e.RetryAfter);
    }

    [Fact]
    public async Task Status_503_with_an_http_date_Retry_After_is_measured_from_the_time_provider()
    {
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.ListRecentIssuesAsync(R("unavailable"), 5, Ct));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, e.StatusCode);
        Assert.True(e.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(45), e.RetryAfter);
    }

    [Fact]
    public async Task Status_403_without_rate_limit_signs_is_permanent()
    {
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.ListRecentIssuesAsync(R("forbidden"), 5, Ct));

        Assert.Equal(HttpStatusCode.Forbidden, e.StatusCode);
        Assert.False(e.IsTransient);
        Assert.Null(e.RetryAfter);
        Assert.Contains("Resource not accessible by integration", e.Message);
    }

    [Fact]
    public async Task Status_502_with_an_html_body_is_transient()
    {
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.ListRecentIssuesAsync(R("broken"), 5, Ct));

        Assert.Equal(HttpStatusCode.BadGateway, e.StatusCode);
        Assert.True(e.IsTransient);
        Assert.Null(e.RetryAfter);
        Assert.Contains("502 Bad Gateway", e.Message);
    }

    [Fact]
    public async Task Status_408_is_transient()
    {
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.ListRecentIssuesAsync(R("slow"), 5, Ct));

        Assert.Equal(HttpStatusCode.RequestTimeout, e.StatusCode);
        Assert.True(e.IsTransient);
    }

    [Fact]
    public async Task A_token_echoed_by_the_server_is_redacted()
    {
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.ListRecentIssuesAsync(R("echo"), 5, Ct));

        Assert.False(e.IsTransient);
        Assert.DoesNotContain(Token, e.ToString());
        Assert.Contains("token *** is malformed", e.Message);
    }

    [Fact]
    public async Task Connection_refused_is_transient_without_a_status()
    {
        var client = new GitHubClient(_handler, new GitHubClientSettings(new Uri($"http://127.0.0.1:{FreePort()}/"), Token));

        var e = await Assert.ThrowsAsync<PlatformApiException>(() => client.CreateIssueAsync(R("any"), "t", "b", Ct));

        Assert.True(e.IsTransient);
        Assert.Null(e.StatusCode);
        Assert.IsType<HttpRequestException>(e.InnerException);
        Assert.Equal("POST /repos/o/any/issues", e.Operation);
    }

    [Fact]
    public async Task A_timeout_is_transient_but_caller_cancellation_is_not_wrapped()
    {
        var client = new GitHubClient(_handler, new GitHubClientSettings(_fake.BaseUrl, Token), timeout: TimeSpan.FromMilliseconds(300));

        var e = await Assert.ThrowsAsync<PlatformApiException>(() => client.ListRecentIssuesAsync(R("hang"), 5, Ct));
        Assert.True(e.IsTransient);
        Assert.Null(e.StatusCode);

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _client.ListRecentIssuesAsync(R("hang"), 5, cts.Token));
    }

    [Fact]
    public async Task A_next_link_to_another_host_is_refused_so_the_token_stays_home()
    {
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.ListRecentIssuesAsync(R("elsewhere"), 50, Ct));

        Assert.False(e.IsTransient);
        Assert.Contains("not on the API host", e.Message);
        Assert.Single(_fake.Requests);
    }

    [Fact]
    public async Task A_2xx_body_of_the_wrong_shape_is_a_permanent_failure()
    {
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.ListRecentIssuesAsync(R("shape"), 5, Ct));

        Assert.False(e.IsTransient);
        Assert.Contains("shape", e.Message);
    }

    [Theory]
    [InlineData("api/v3")]
    [InlineData("api/v3/")]
    public async Task An_enterprise_base_url_keeps_its_path_with_or_without_trailing_slash(string path)
    {
        var client = new GitHubClient(_handler, new GitHubClientSettings(new Uri(_fake.BaseUrl, path), Token));

        var issues = await client.ListRecentIssuesAsync(R("ghe"), 1, Ct);

        Assert.Equal(5, Assert.Single(issues).Number);
        var request = Assert.Single(_fake.Requests);
        Assert.Equal("/api/v3/repos/o/ghe/issues?state=all&sort=created&direction=desc&per_page=1", request.PathAndQuery);
        AssertGitHubHeaders(request);
        Assert.Empty(_fake.UnexpectedRequests);
    }

    [Fact]
    public void Settings_do_not_print_the_token()
    {
        var settings = new GitHubClientSettings(new Uri("https://api.github.com/"), Token);

        Assert.DoesNotContain(Token, settings.ToString());
        Assert.Throws<ArgumentException>(() => new GitHubClient(_handler, settings with { Token = " " }));
        Assert.Throws<ArgumentException>(() => new GitHubClient(_handler, settings with { ApiBaseUrl = new Uri("/relative", UriKind.Relative) }));
    }
}

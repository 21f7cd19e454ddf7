using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Orchestrator.Shared.Plane;
using Orchestrator.Shared.Platform;
using Orchestrator.Simulators;

namespace Orchestrator.Tests.Integration.Plane;

/// <summary>
/// PlaneClient error mapping against a tiny strict fake: one route answering what the test says,
/// every other request recorded as unexpected.
/// </summary>
public sealed class PlaneClientErrorTests
{
    private const string Token = "plane_api_secret_token_value";
    private static readonly string ProjectId = Guid.NewGuid().ToString();
    private static readonly string WorkItemId = Guid.NewGuid().ToString();
    private static readonly string WorkItemPath = $"/api/v1/workspaces/acme/projects/{ProjectId}/work-items/{WorkItemId}/";

    [Fact]
    public async Task Unauthorized_is_permanent_and_uses_the_detail_field()
    {
        var error = await FailingGetAsync(401, """{"detail": "Authentication credentials were not provided."}""");

        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Null(error.RetryAfter);
        Assert.Equal("Plane", error.Platform);
        Assert.Equal($"GET {WorkItemPath}", error.Operation);
        Assert.EndsWith("Authentication credentials were not provided.", error.Message);
    }

    [Fact]
    public async Task Not_found_is_permanent_and_uses_the_error_field()
    {
        var error = await FailingGetAsync(404, """{"error": "The requested resource does not exist."}""");

        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.EndsWith("The requested resource does not exist.", error.Message);
    }

    [Fact]
    public async Task Forbidden_and_bad_request_are_permanent()
    {
        var forbidden = await FailingGetAsync(403, """{"detail": "You do not have permission to perform this action."}""");
        var badRequest = await FailingGetAsync(400, """{"state": ["Invalid pk \"x\" - object does not exist."]}""");

        Assert.Equal((HttpStatusCode.Forbidden, false), (forbidden.StatusCode!.Value, forbidden.IsTransient));
        Assert.Equal((HttpStatusCode.BadRequest, false), (badRequest.StatusCode!.Value, badRequest.IsTransient));
        Assert.EndsWith("state: Invalid pk \"x\" - object does not exist.", badRequest.Message);
    }

    [Fact]
    public async Task Too_many_requests_with_Retry_After_seconds_is_transient_with_that_wait()
    {
        var error = await FailingGetAsync(429, """{"error_code": 5900, "error_message": "RATE_LIMIT_EXCEEDED"}""", ("Retry-After", "5"));

        Assert.Equal(HttpStatusCode.TooManyRequests, error.StatusCode);
        Assert.True(error.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(5), error.RetryAfter);
        Assert.EndsWith("RATE_LIMIT_EXCEEDED", error.Message);
    }

    [Fact]
    public async Task Retry_After_as_an_http_date_is_measured_against_the_time_provider()
    {
        var now = new DateTimeOffset(2026, 5, 19, 10, 0, 0, TimeSpan.Zero);
        var error = await FailingGetAsync(503, "", ("Retry-After", now.AddSeconds(30).ToString("R")), new FixedTime(now));

        Assert.True(error.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(30), error.RetryAfter);
    }

    [Fact]
    public async Task Service_unavailable_is_transient_even_with_an_html_body()
    {
        var error = await FailingGetAsync(503, "<html><body>upstream down</body></html>");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.StatusCode);
        Assert.True(error.IsTransient);
        Assert.Null(error.RetryAfter);
    }

    [Fact]
    public async Task Request_timeout_is_transient()
    {
        var error = await FailingGetAsync(408, "");

        Assert.Equal((HttpStatusCode.RequestTimeout, true), (error.StatusCode!.Value, error.IsTransient));
    }

    [Fact]
    public async Task Connection_refused_is_transient_without_a_status()
    {
        var port = FreePort();
        using var http = new HttpClient();
        var client = NewClient(http, new Uri($"http://127.0.0.1:{port}/"));

        var error = await Assert.ThrowsAsync<PlatformApiException>(() =>
            client.GetWorkItemAsync(ProjectId, WorkItemId, CancellationToken.None));

        Assert.True(error.IsTransient);
        Assert.Null(error.StatusCode);
        Assert.IsType<HttpRequestException>(error.InnerException);
    }

    [Fact]
    public async Task Client_timeout_is_transient_but_caller_cancellation_is_not_wrapped()
    {
        await using var fake = await SimulatorHost.StartAsync(
            "slow-plane",
            (endpoints, _) => endpoints.MapGet(WorkItemPath, async (HttpContext context) =>
            {
                await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
                return Results.Ok();
            }),
            _ => null);
        using var impatient = new HttpClient { Timeout = TimeSpan.FromMilliseconds(200) };
        using var patient = new HttpClient();

        var timeout = await Assert.ThrowsAsync<PlatformApiException>(() =>
            NewClient(impatient, fake.BaseUrl).GetWorkItemAsync(ProjectId, WorkItemId, CancellationToken.None));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            NewClient(patient, fake.BaseUrl).GetWorkItemAsync(ProjectId, WorkItemId, cts.Token));

        Assert.True(timeout.IsTransient);
        Assert.Null(timeout.StatusCode);
        Assert.Empty(fake.UnexpectedRequests);
    }

    [Fact]
    public async Task The_token_never_appears_in_the_message()
    {
        var error = await FailingGetAsync(401, $$"""{"detail": "token {{Token}} is not valid"}""");

        Assert.DoesNotContain(Token, error.Message);
        Assert.Contains("***", error.Message);
    }

    [Fact]
    public async Task A_success_body_that_is_not_a_work_item_is_a_permanent_error()
    {
        var error = await FailingGetAsync(200, """{"results": []}""");

        Assert.Equal(HttpStatusCode.OK, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Contains("unexpected response", error.Message);
    }

    [Fact]
    public async Task Pagination_that_does_not_advance_fails_instead_of_looping()
    {
        await using var fake = await SimulatorHost.StartAsync(
            "stuck-plane",
            (endpoints, _) => endpoints.MapGet($"/api/v1/workspaces/acme/projects/{ProjectId}/states/", () => Results.Text(
                """{"next_cursor": "100:1:0", "prev_cursor": "", "next_page_results": true, "prev_page_results": false, "count": 0, "total_pages": 2, "total_results": 0, "extra_stats": null, "results": []}""",
                "application/json")),
            _ => null);
        using var http = new HttpClient();

        var error = await Assert.ThrowsAsync<PlatformApiException>(() =>
            NewClient(http, fake.BaseUrl).ListStatesAsync(ProjectId, CancellationToken.None));

        Assert.False(error.IsTransient);
        Assert.Equal(2, fake.Requests.Count);
        Assert.Empty(fake.UnexpectedRequests);
    }

    [Fact]
    public async Task Ids_that_are_not_uuids_are_rejected_before_any_request()
    {
        await using var fake = await SimulatorHost.StartAsync("idle-plane", (_, _) => { }, _ => null);
        using var http = new HttpClient();
        var client = NewClient(http, fake.BaseUrl);

        await Assert.ThrowsAsync<ArgumentException>(() => client.GetWorkItemAsync("PROJ", WorkItemId, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => client.UpdateWorkItemStateAsync(ProjectId, WorkItemId, "Done", CancellationToken.None));

        Assert.Empty(fake.Requests);
    }

    [Fact]
    public void Settings_ToString_hides_the_token()
    {
        var settings = new PlaneClientSettings(new Uri("https://plane.example.com"), Token, "acme");

        Assert.DoesNotContain(Token, settings.ToString());
        Assert.Contains("acme", settings.ToString());
    }

    /// <summary>Runs GetWorkItemAsync against a fake whose only route answers the given status, body and headers.</summary>
    private static async Task<PlatformApiException> FailingGetAsync(
        int status, string body, (string Name, string Value)? header = null, TimeProvider? time = null)
    {
        await using var fake = await SimulatorHost.StartAsync(
            "strict-plane",
            (endpoints, _) => endpoints.MapGet(WorkItemPath, async (HttpContext context) =>
            {
                context.Response.StatusCode = status;
                if (header is { } h)
                {
                    context.Response.Headers[h.Name] = h.Value;
                }

                context.Response.ContentType = body.StartsWith('<') ? "text/html" : "application/json";
                await context.Response.WriteAsync(body);
            }),
            context => context.Request.Headers["X-Api-Key"] == Token ? null : 401);
        using var http = new HttpClient();

        var error = await Assert.ThrowsAsync<PlatformApiException>(() =>
            NewClient(http, fake.BaseUrl, time).GetWorkItemAsync(ProjectId, WorkItemId, CancellationToken.None));

        var request = Assert.Single(fake.Requests);
        Assert.Equal($"{WorkItemPath}?expand=labels,state", request.PathAndQuery);
        Assert.Empty(fake.UnexpectedRequests);
        return error;
    }

    private static PlaneClient NewClient(HttpClient http, Uri baseUrl, TimeProvider? time = null) =>
        new(http, new PlaneClientSettings(baseUrl, Token, "acme"), time);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

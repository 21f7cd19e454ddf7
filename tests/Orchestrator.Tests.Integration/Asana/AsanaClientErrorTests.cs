using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Platform;
using Orchestrator.Simulators;

namespace Orchestrator.Tests.Integration.Asana;

/// <summary>AsanaClient error mapping against a tiny strict fake: one route answering what the test says.</summary>
public sealed class AsanaClientErrorTests
{
    private const string Token = "1/123:secret-token-value";
    private const string TaskPath = "/api/1.0/tasks/12345";

    [Theory]
    [InlineData(400, "opt_fields: Unrecognized field: x")]
    [InlineData(401, "Not Authorized")]
    [InlineData(403, "You do not have access to this resource.")]
    [InlineData(404, "task: Unknown object: 12345")]
    public async Task Client_errors_are_permanent_with_the_errors_message(int status, string message)
    {
        var error = await FailingGetAsync(status, $$"""{"errors":[{"message":"{{message}}","help":"For more information on API status codes and how to handle them, read the docs on errors: https://developers.asana.com/docs/errors"}]}""");

        Assert.Equal((HttpStatusCode)status, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Null(error.RetryAfter);
        Assert.Equal("Asana", error.Platform);
        Assert.Equal("GET /tasks/12345", error.Operation);
        Assert.EndsWith(message, error.Message);
    }

    [Fact]
    public async Task Too_many_requests_with_Retry_After_seconds_is_transient_with_that_wait()
    {
        var error = await FailingGetAsync(429, """{"errors":[{"message":"You have made too many requests recently. Please, be chill."}]}""", ("Retry-After", "30"));

        Assert.Equal(HttpStatusCode.TooManyRequests, error.StatusCode);
        Assert.True(error.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(30), error.RetryAfter);
    }

    [Fact]
    public async Task Server_errors_are_transient_and_keep_the_phrase()
    {
        var error = await FailingGetAsync(500, """{"errors":[{"message":"Server Error","phrase":"6 sad squid snuggle softly"}]}""");
        var html = await FailingGetAsync(503, "<html>down</html>");

        Assert.True(error.IsTransient);
        Assert.EndsWith("Server Error (phrase: 6 sad squid snuggle softly)", error.Message);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, true), (html.StatusCode!.Value, html.IsTransient));
    }

    [Fact]
    public async Task A_success_without_data_is_permanent()
    {
        var error = await FailingGetAsync(200, """{"gid":"12345"}""");

        Assert.False(error.IsTransient);
        Assert.Contains("no data", error.Message);
    }

    [Fact]
    public async Task Connection_refused_is_transient_without_a_status()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var http = new HttpClient();
        var client = new AsanaClient(http, new AsanaClientSettings(new Uri($"http://127.0.0.1:{port}/api/1.0"), Token));

        var error = await Assert.ThrowsAsync<PlatformApiException>(() => client.GetTaskAsync("12345", CancellationToken.None));

        Assert.True(error.IsTransient);
        Assert.Null(error.StatusCode);
    }

    private static async Task<PlatformApiException> FailingGetAsync(int status, string body, params (string Name, string Value)[] headers)
    {
        await using var fake = await SimulatorHost.StartAsync(
            "fake-asana",
            (endpoints, host) => endpoints.MapGet(TaskPath, async (HttpContext context) =>
            {
                if (context.Request.Headers.Authorization != $"Bearer {Token}" || context.Request.Query["opt_fields"] != AsanaClient.TaskOptFields)
                {
                    host.RecordUnexpected("fake-asana: wrong token or opt_fields");
                }

                context.Response.StatusCode = status;
                foreach (var (name, value) in headers)
                {
                    context.Response.Headers[name] = value;
                }

                await context.Response.WriteAsync(body);
            }),
            _ => null);
        using var http = new HttpClient();
        var client = new AsanaClient(http, new AsanaClientSettings(new Uri(fake.BaseUrl, "api/1.0"), Token));

        var error = await Assert.ThrowsAsync<PlatformApiException>(() => client.GetTaskAsync("12345", CancellationToken.None));

        Assert.Empty(fake.UnexpectedRequests);
        Assert.DoesNotContain(Token, error.Message);
        return error;
    }
}

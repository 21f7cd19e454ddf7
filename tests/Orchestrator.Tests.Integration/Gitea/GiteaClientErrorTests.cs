using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Orchestrator.Shared.Gitea;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Platform;
using Orchestrator.Simulators;
using Orchestrator.Simulators.Gitea;

namespace Orchestrator.Tests.Integration.Gitea;

/// <summary>Error classification against a tiny strict fake that answers one fixed status.</summary>
public sealed class GiteaClientErrorTests
{
    private const string Token = "gitea_err_token";
    private static readonly RepoRef Repo = new("o", "r");

    private static async Task<PlatformApiException> FailAsync(int status, Action<HttpResponse>? headers = null)
    {
        await using var host = await SimulatorHost.StartAsync(
            "fake",
            (app, h) => app.MapGet("/api/v1/repos/o/r/pulls/1", async context =>
            {
                headers?.Invoke(context.Response);
                context.Response.StatusCode = status;
                await context.Response.WriteAsync("""{"message":"nope","url":"https://docs.gitea.com/api/1.25/"}""");
            }),
            context => context.Request.Headers.Authorization.ToString() == "token " + Token ? null : 401);
        using var http = new HttpClient();
        var client = new GiteaClient(http, new GiteaClientSettings(host.BaseUrl, Token));
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => client.GetPullRequestAsync(Repo, 1, default));
        Assert.Empty(host.UnexpectedRequests);
        Assert.Equal("GET /repos/o/r/pulls/1", e.Operation);
        Assert.Equal("Gitea", e.Platform);
        return e;
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(409)]
    [InlineData(422)]
    public async Task Client_errors_are_permanent(int status)
    {
        var e = await FailAsync(status);
        Assert.False(e.IsTransient);
        Assert.Equal(status, (int)e.StatusCode!);
        Assert.Contains("nope", e.Message, StringComparison.Ordinal);
        Assert.Null(e.RetryAfter);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(408)]
    public async Task Server_errors_are_transient(int status) => Assert.True((await FailAsync(status)).IsTransient);

    [Fact]
    public async Task Rate_limit_429_honours_Retry_After()
    {
        var e = await FailAsync(429, r => r.Headers.RetryAfter = "17");
        Assert.True(e.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(17), e.RetryAfter);
    }

    [Fact]
    public async Task Get_pull_request_404_is_null_but_404_elsewhere_is_permanent()
    {
        await using var sim = await GiteaSimulator.StartAsync(Token);
        sim.AddRepository("o/r");
        using var http = new HttpClient();
        var client = new GiteaClient(http, new GiteaClientSettings(sim.BaseUrl, Token));
        Assert.Null(await client.GetPullRequestAsync(Repo, 1, default));
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => client.ListIssueCommentsAsync(Repo, 1, default));
        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
        Assert.False(e.IsTransient);
        Assert.Empty(sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Wrong_token_is_401_permanent_redacted_and_recorded_by_the_simulator()
    {
        await using var sim = await GiteaSimulator.StartAsync(Token);
        sim.AddRepository("o/r");
        using var http = new HttpClient();
        var client = new GiteaClient(http, new GiteaClientSettings(sim.BaseUrl, "wrong-token"));
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => client.ListRecentIssuesAsync(Repo, 1, default));
        Assert.Equal(HttpStatusCode.Unauthorized, e.StatusCode);
        Assert.False(e.IsTransient);
        Assert.DoesNotContain("wrong-token", e.Message, StringComparison.Ordinal);
        Assert.Single(sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Refused_connection_is_transient()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var http = new HttpClient();
        var client = new GiteaClient(http, new GiteaClientSettings(new Uri($"http://127.0.0.1:{port}/"), Token));
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => client.ListRecentPullRequestsAsync(Repo, 1, default));
        Assert.True(e.IsTransient);
        Assert.Null(e.StatusCode);
    }
}

using System.Text.Json;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Platform;
using Orchestrator.Simulators.GitHub;
using static Orchestrator.Tests.Integration.GitHub.GitHubTestSupport;

namespace Orchestrator.Tests.Integration.GitHub;

/// <summary>Creating PRs from agent branches, and finding them again by head (the Ensure pattern).</summary>
public sealed class GitHubPullRequestCreationTests : IAsyncLifetime
{
    private const string RepoName = "acme/widgets";
    private static readonly RepoRef Repo = RepoRef.Parse(RepoName);
    private static readonly CancellationToken Ct = CancellationToken.None;

    private GitHubSimulator _sim = null!;
    private HttpClient _http = null!;
    private readonly SocketsHttpHandler _handler = new(); // what Octokit sends through, as the factory's handler in the host
    private GitHubClient _client = null!;

    public async Task InitializeAsync()
    {
        _sim = await GitHubSimulator.StartAsync(Token);
        _sim.AddRepository(RepoName);
        _http = new HttpClient();
        _client = new GitHubClient(_handler, new GitHubClientSettings(_sim.BaseUrl, Token));
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        _handler.Dispose();
        await _sim.DisposeAsync();
    }

    [Fact]
    public async Task CreatePullRequest_posts_title_body_head_base_and_is_found_by_head()
    {
        Assert.Null(await _client.FindPullRequestByHeadAsync(Repo, "orch/WEB-1-add-health", Ct));

        var pr = await _client.CreatePullRequestAsync(Repo, "orch/WEB-1-add-health", "main", "[WEB-1] Add health", "Fixes #1", Ct);
        Assert.Equal("[WEB-1] Add health", pr.Title);
        Assert.Equal("open", pr.State);
        Assert.Equal("orch/WEB-1-add-health", pr.HeadRef);

        var post = Single(_sim.Host, "POST", "/api/v3/repos/acme/widgets/pulls");
        AssertGitHubHeaders(post);
        using (var body = JsonDocument.Parse(post.Body))
        {
            Assert.Equal("orch/WEB-1-add-health", body.RootElement.GetProperty("head").GetString());
            Assert.Equal("main", body.RootElement.GetProperty("base").GetString());
            Assert.Equal("Fixes #1", body.RootElement.GetProperty("body").GetString());
        }

        var found = await _client.FindPullRequestByHeadAsync(Repo, "orch/WEB-1-add-health", Ct);
        Assert.Equal(pr.Number, found!.Number);
        Assert.Equal(2, _sim.Host.Requests.Count(r => r.Method == "GET" && r.PathAndQuery == "/api/v3/repos/acme/widgets/pulls?state=all&head=acme%3Aorch%2FWEB-1-add-health&per_page=1"));
        Assert.Null(await _client.FindPullRequestByHeadAsync(Repo, "orch/WEB-2-other", Ct));
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task A_second_PR_from_the_same_head_is_a_permanent_422()
    {
        await _client.CreatePullRequestAsync(Repo, "orch/WEB-1-x", "main", "t", "b", Ct);
        var ex = await Assert.ThrowsAsync<PlatformApiException>(() => _client.CreatePullRequestAsync(Repo, "orch/WEB-1-x", "main", "t", "b", Ct));
        Assert.False(ex.IsTransient);
        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, ex.StatusCode);
        Assert.Contains("already exists", ex.Message, StringComparison.Ordinal);
    }
}

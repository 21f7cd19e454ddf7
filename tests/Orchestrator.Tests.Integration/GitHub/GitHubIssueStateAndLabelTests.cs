using System.Text.Json;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Platform;
using Orchestrator.Simulators.GitHub;
using static Orchestrator.Tests.Integration.GitHub.GitHubTestSupport;

namespace Orchestrator.Tests.Integration.GitHub;

/// <summary>
/// <see cref="IGitHubClient.CloseIssueAsNotPlannedAsync"/>, <see cref="IGitHubClient.AddLabelAsync"/> and
/// <see cref="IGitHubClient.RemoveLabelAsync"/> of <see cref="GitHubClient"/> against <see cref="GitHubSimulator"/>:
/// method, path, body on the wire, and the issue as <c>GET /issues/{n}</c> then shows it.
/// </summary>
public sealed class GitHubIssueStateAndLabelTests : IAsyncLifetime
{
    private const string RepoName = "acme/widgets";
    private static readonly RepoRef Repo = RepoRef.Parse(RepoName);
    private static readonly CancellationToken Ct = CancellationToken.None;

    private GitHubSimulator _sim = null!;
    private HttpClient _http = null!;
    private readonly SocketsHttpHandler _handler = new(); // what Octokit sends through, as the factory's handler in the host
    private IGitHubClient _client = null!;

    public async Task InitializeAsync()
    {
        _sim = await GitHubSimulator.StartAsync(Token);
        _sim.AddRepository(RepoName);
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        _client = new GitHubClient(_handler, new GitHubClientSettings(_sim.BaseUrl, Token));
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        _handler.Dispose();
        await _sim.DisposeAsync();
    }

    [Fact]
    public async Task CloseIssueAsNotPlanned_sends_PATCH_with_state_and_reason_and_the_issue_is_closed_not_planned()
    {
        var issue = await _client.CreateIssueAsync(Repo, "Stale", "body", Ct);

        var closed = await _client.CloseIssueAsNotPlannedAsync(Repo, issue.Number, Ct);

        Assert.Equal("closed", closed.State);
        Assert.Equal(issue.Number, closed.Number);
        var patch = Single(_sim.Host, "PATCH", $"/api/v3/repos/acme/widgets/issues/{issue.Number}");
        AssertGitHubHeaders(patch);
        Assert.Equal("application/json; charset=utf-8", patch.Headers["Content-Type"]);
        using var sent = JsonDocument.Parse(patch.Body);
        Assert.Equal(2, sent.RootElement.EnumerateObject().Count());
        Assert.Equal("closed", sent.RootElement.GetProperty("state").GetString());
        Assert.Equal("not_planned", sent.RootElement.GetProperty("state_reason").GetString());

        var stored = Assert.Single(_sim.Issues(RepoName));
        Assert.Equal("closed", stored.State);
        Assert.Equal("not_planned", stored.StateReason);

        using var get = await GetIssueJsonAsync(issue.Number);
        Assert.Equal("closed", get.RootElement.GetProperty("state").GetString());
        Assert.Equal("not_planned", get.RootElement.GetProperty("state_reason").GetString());
        Assert.NotEqual(JsonValueKind.Null, get.RootElement.GetProperty("closed_at").ValueKind);

        // Idempotent: closing again succeeds and keeps the reason.
        var again = await _client.CloseIssueAsNotPlannedAsync(Repo, issue.Number, Ct);
        Assert.Equal("closed", again.State);
        Assert.Equal("not_planned", _sim.Issues(RepoName)[0].StateReason);
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task CloseIssueAsNotPlanned_of_a_missing_issue_is_a_permanent_404()
    {
        var e = await Assert.ThrowsAsync<PlatformApiException>(() => _client.CloseIssueAsNotPlannedAsync(Repo, 99, Ct));

        Assert.Equal(System.Net.HttpStatusCode.NotFound, e.StatusCode);
        Assert.False(e.IsTransient);
        Assert.Equal("PATCH /repos/acme/widgets/issues/99", e.Operation);
    }

    [Fact]
    public async Task AddLabel_posts_the_name_creates_the_label_returns_its_id_and_keeps_other_labels()
    {
        var issue = await _client.CreateIssueAsync(Repo, "Labelled", "body", Ct);

        var first = await _client.AddLabelAsync(Repo, issue.Number, "AutoTask", Ct);
        var second = await _client.AddLabelAsync(Repo, issue.Number, "needs review", Ct);
        var again = await _client.AddLabelAsync(Repo, issue.Number, "AutoTask", Ct);

        Assert.NotEqual(first, second);
        Assert.Equal(first, again);
        var posts = _sim.Host.Requests.Where(r => r.Method == "POST" && r.PathAndQuery == $"/api/v3/repos/acme/widgets/issues/{issue.Number}/labels").ToList();
        Assert.Equal(3, posts.Count);
        AssertGitHubHeaders(posts[0]);
        using (var sent = JsonDocument.Parse(posts[1].Body))
        {
            // Octokit's AddToIssue sends the bare array of names, a body GitHub takes as well as {"labels":[…]}.
            Assert.Equal(["needs review"], sent.RootElement.EnumerateArray().Select(l => l.GetString()));
        }

        Assert.Equal(["AutoTask", "needs review"], _sim.Issues(RepoName)[0].Labels);
        using var get = await GetIssueJsonAsync(issue.Number);
        var labels = get.RootElement.GetProperty("labels").EnumerateArray().ToList();
        Assert.Equal(["AutoTask", "needs review"], labels.Select(l => l.GetProperty("name").GetString()));
        Assert.Equal([first, second], labels.Select(l => l.GetProperty("id").GetInt64()));
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task RemoveLabel_sends_DELETE_with_the_escaped_name_and_answers_false_on_404()
    {
        var issue = await _client.CreateIssueAsync(Repo, "Labelled", "body", Ct);
        await _client.AddLabelAsync(Repo, issue.Number, "kind/bug fix", Ct);
        await _client.AddLabelAsync(Repo, issue.Number, "AutoTask", Ct);

        Assert.True(await _client.RemoveLabelAsync(Repo, issue.Number, "kind/bug fix", Ct));
        Assert.False(await _client.RemoveLabelAsync(Repo, issue.Number, "kind/bug fix", Ct));
        Assert.False(await _client.RemoveLabelAsync(Repo, 99, "AutoTask", Ct));

        var deletes = _sim.Host.Requests.Where(r => r.Method == "DELETE").ToList();
        Assert.Equal(3, deletes.Count);
        Assert.Equal($"/api/v3/repos/acme/widgets/issues/{issue.Number}/labels/kind%2Fbug%20fix", deletes[0].PathAndQuery);
        Assert.Equal("", deletes[0].Body);
        AssertGitHubHeaders(deletes[0]);
        Assert.Equal("/api/v3/repos/acme/widgets/issues/99/labels/AutoTask", deletes[2].PathAndQuery);

        Assert.Equal(["AutoTask"], _sim.Issues(RepoName)[0].Labels);
        using var get = await GetIssueJsonAsync(issue.Number);
        Assert.Equal(["AutoTask"], get.RootElement.GetProperty("labels").EnumerateArray().Select(l => l.GetProperty("name").GetString()));
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    private async Task<JsonDocument> GetIssueJsonAsync(int number)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_sim.ApiUrl, $"repos/acme/widgets/issues/{number}"));
        request.Headers.Authorization = new("Bearer", Token);
        request.Headers.TryAddWithoutValidation("X-GitHub-Api-Version", "2022-11-28");
        request.Headers.UserAgent.ParseAdd("test");
        using var response = await _http.SendAsync(request, Ct);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
    }
}

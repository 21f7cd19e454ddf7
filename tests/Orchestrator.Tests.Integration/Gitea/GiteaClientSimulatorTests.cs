using System.Text.Json.Nodes;
using Orchestrator.Shared.Gitea;
using Orchestrator.Shared.GitHub;
using Orchestrator.Simulators;
using Orchestrator.Simulators.Gitea;

namespace Orchestrator.Tests.Integration.Gitea;

public sealed class GiteaClientSimulatorTests : IAsyncLifetime
{
    internal const string Token = "gitea_sim_token_0001";
    private static readonly RepoRef Repo = new("acme", "widgets");
    private readonly HttpClient _http = new();
    private GiteaSimulator _sim = null!;
    private GiteaClient _client = null!;

    public async Task InitializeAsync()
    {
        _sim = await GiteaSimulator.StartAsync(Token);
        _sim.AddRepository(Repo.FullName);
        _client = new GiteaClient(_http, new GiteaClientSettings(_sim.BaseUrl, Token));
    }

    public async Task DisposeAsync()
    {
        Assert.Empty(_sim.Host.UnexpectedRequests);
        await _sim.DisposeAsync();
        _http.Dispose();
    }

    private SimulatedRequest Only(string method, string pathAndQuery)
    {
        var request = Assert.Single(_sim.Host.Requests, r => r.Method == method && r.PathAndQuery == pathAndQuery);
        Assert.Equal($"token {Token}", request.Headers["Authorization"]);
        return request;
    }

    [Fact]
    public async Task CreateIssue_posts_title_and_body()
    {
        var issue = await _client.CreateIssueAsync(Repo, "Bug", "It broke", default);
        Assert.Equal(1, issue.Number);
        Assert.Equal("open", issue.State);
        Assert.Equal($"{_sim.BaseUrl}acme/widgets/issues/1", issue.HtmlUrl);
        var body = JsonNode.Parse(Only("POST", "/api/v1/repos/acme/widgets/issues").Body)!;
        Assert.Equal("Bug", (string)body["title"]!);
        Assert.Equal("It broke", (string)body["body"]!);
    }

    [Fact]
    public async Task ListRecentIssues_pages_with_limit_and_Link_and_leaves_PRs_out()
    {
        for (var i = 0; i < 3; i++)
        {
            await _client.CreateIssueAsync(Repo, $"t{i}", "", default);
        }

        await _sim.OpenPullRequestAsync(Repo.FullName, "pr", null, deliver: false);
        var issues = await _client.ListRecentIssuesAsync(Repo, 2, default);
        Assert.Equal([3, 2], issues.Select(i => i.Number));
        Only("GET", "/api/v1/repos/acme/widgets/issues?state=all&type=issues&limit=2&page=1");

        var all = await _client.ListRecentIssuesAsync(Repo, 60, default);
        Assert.Equal([3, 2, 1], all.Select(i => i.Number));
    }

    [Fact]
    public async Task ListRecentIssues_follows_the_next_link_past_the_50_item_page()
    {
        for (var i = 0; i < 52; i++)
        {
            await _client.CreateIssueAsync(Repo, $"t{i}", "", default);
        }

        var issues = await _client.ListRecentIssuesAsync(Repo, 100, default);
        Assert.Equal(52, issues.Count);
        Only("GET", "/api/v1/repos/acme/widgets/issues?state=all&type=issues&limit=50&page=1");
        Only("GET", "/api/v1/repos/acme/widgets/issues?state=all&type=issues&limit=50&page=2");
    }

    [Fact]
    public async Task Comments_create_and_list()
    {
        await _client.CreateIssueAsync(Repo, "t", "", default);
        var created = await _client.CreateIssueCommentAsync(Repo, 1, "hello", default);
        Assert.Equal($"{_sim.BaseUrl}acme/widgets/issues/1#issuecomment-{created.Id}", created.HtmlUrl);
        Assert.Equal("hello", (string)JsonNode.Parse(Only("POST", "/api/v1/repos/acme/widgets/issues/1/comments").Body)!["body"]!);
        var list = await _client.ListIssueCommentsAsync(Repo, 1, default);
        Assert.Equal(created, Assert.Single(list));
        Only("GET", "/api/v1/repos/acme/widgets/issues/1/comments");
    }

    [Fact]
    public async Task PullRequests_create_list_get_find_by_head()
    {
        var pr = await _client.CreatePullRequestAsync(Repo, "feature/x", "main", "Add x", "Closes #1", default);
        Assert.Equal(1, pr.Number);
        Assert.Equal("feature/x", pr.HeadRef);
        Assert.False(pr.Merged);
        var body = JsonNode.Parse(Only("POST", "/api/v1/repos/acme/widgets/pulls").Body)!;
        Assert.Equal(["Add x", "Closes #1", "feature/x", "main"], new[] { "title", "body", "head", "base" }.Select(k => (string)body[k]!));

        await _sim.OpenPullRequestAsync(Repo.FullName, "other", null, deliver: false);
        var merge = await _sim.MergePullRequestAsync(Repo.FullName, 1, deliver: false);

        var list = await _client.ListRecentPullRequestsAsync(Repo, 5, default);
        Assert.Equal(2, list.Count);
        Only("GET", "/api/v1/repos/acme/widgets/pulls?state=all&sort=recentupdate&limit=5&page=1");

        var got = await _client.GetPullRequestAsync(Repo, 1, default);
        Assert.True(got!.Merged);
        Assert.Equal(merge, got.MergeCommitSha);
        Only("GET", "/api/v1/repos/acme/widgets/pulls/1");
        Assert.Null(await _client.GetPullRequestAsync(Repo, 99, default));

        var found = await _client.FindPullRequestByHeadAsync(Repo, "feature/x", default);
        Assert.Equal(1, found!.Number);
        Assert.Null(await _client.FindPullRequestByHeadAsync(Repo, "nope", default));
        Assert.Equal(2, _sim.Host.Requests.Count(r => r.PathAndQuery == "/api/v1/repos/acme/widgets/pulls?state=all&sort=recentupdate&limit=50&page=1"));
    }

    [Fact]
    public async Task Second_PR_from_the_same_head_is_a_permanent_409()
    {
        await _client.CreatePullRequestAsync(Repo, "b", "main", "t", "", default);
        var e = await Assert.ThrowsAsync<Orchestrator.Shared.Platform.PlatformApiException>(() => _client.CreatePullRequestAsync(Repo, "b", "main", "t", "", default));
        Assert.Equal(409, (int)e.StatusCode!);
        Assert.False(e.IsTransient);
    }

    [Fact]
    public async Task CheckSuites_map_the_combined_status_one_per_context()
    {
        const string sha = "0123456789abcdef0123456789abcdef01234567";
        await _sim.SetCommitStatusAsync(Repo.FullName, sha, "ci/build", "pending", deliver: false);
        await _sim.SetCommitStatusAsync(Repo.FullName, sha, "ci/build", "success", deliver: false);
        await _sim.SetCommitStatusAsync(Repo.FullName, sha, "ci/lint", "error", deliver: false);
        await _sim.SetCommitStatusAsync(Repo.FullName, sha, "ci/e2e", "pending", deliver: false);
        var suites = await _client.ListCheckSuitesAsync(Repo, sha, default);
        Only("GET", $"/api/v1/repos/acme/widgets/commits/{sha}/status?limit=50&page=1");
        Assert.Equal(3, suites.Count);
        Assert.Contains(suites, s => s is { AppSlug: "ci/build", Status: "completed", Conclusion: "success", LatestCheckRunsCount: 1 });
        Assert.Contains(suites, s => s is { AppSlug: "ci/lint", Status: "completed", Conclusion: "failure" });
        Assert.Contains(suites, s => s is { AppSlug: "ci/e2e", Status: "in_progress", Conclusion: null });
    }

    [Fact]
    public async Task WorkflowRuns_are_Gitea_actions_runs_for_the_sha()
    {
        const string sha = "89abcdef0123456789abcdef0123456789abcdef";
        var id = _sim.AddActionRun(Repo.FullName, sha, "CI", "completed", "success");
        _sim.AddActionRun(Repo.FullName, "ffff" + sha[4..], "other", "in_progress", null);
        var runs = await _client.ListWorkflowRunsAsync(Repo, sha, default);
        Only("GET", $"/api/v1/repos/acme/widgets/actions/runs?head_sha={sha}&limit=50&page=1");
        var run = Assert.Single(runs);
        Assert.Equal(new GitHubWorkflowRun(id, "CI", "completed", "success", $"{_sim.BaseUrl}acme/widgets/actions/runs/1"), run);
    }

    [Fact]
    public async Task CloseIssueAsNotPlanned_patches_state_closed()
    {
        await _client.CreateIssueAsync(Repo, "t", "", default);
        var closed = await _client.CloseIssueAsNotPlannedAsync(Repo, 1, default);
        Assert.Equal("closed", closed.State);
        Assert.Equal("""{"state":"closed"}""", Only("PATCH", "/api/v1/repos/acme/widgets/issues/1").Body);
        Assert.Equal("closed", _sim.Items(Repo.FullName).Single().State);
    }

    [Fact]
    public async Task Labels_are_created_once_added_by_id_and_removed()
    {
        await _client.CreateIssueAsync(Repo, "t", "", default);
        var existing = _sim.AddLabel(Repo.FullName, "bug");
        var id = await _client.AddLabelAsync(Repo, 1, "orchestrator:ready", default);
        var created = JsonNode.Parse(Only("POST", "/api/v1/repos/acme/widgets/labels").Body)!;
        Assert.Equal("orchestrator:ready", (string)created["name"]!);
        Assert.Equal($$"""{"labels":[{{id}}]}""", _sim.Host.Requests.Last(r => r.PathAndQuery == "/api/v1/repos/acme/widgets/issues/1/labels").Body);

        Assert.Equal(existing, await _client.AddLabelAsync(Repo, 1, "bug", default));
        Only("POST", "/api/v1/repos/acme/widgets/labels");
        Assert.Equal(["bug", "orchestrator:ready"], _sim.Items(Repo.FullName).Single().Labels.Order());
        Assert.Equal(2, _sim.Host.Requests.Count(r => r.PathAndQuery == "/api/v1/repos/acme/widgets/labels?limit=50&page=1"));

        Assert.True(await _client.RemoveLabelAsync(Repo, 1, "bug", default));
        Only("DELETE", $"/api/v1/repos/acme/widgets/issues/1/labels/{existing}");
        Assert.False(await _client.RemoveLabelAsync(Repo, 1, "never-defined", default));
        Assert.Equal(["orchestrator:ready"], _sim.Items(Repo.FullName).Single().Labels);
    }
}

using System.Text.Json;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Platform;
using Orchestrator.Simulators.GitHub;
using static Orchestrator.Tests.Integration.GitHub.GitHubTestSupport;

namespace Orchestrator.Tests.Integration.GitHub;

/// <summary><see cref="GitHubClient"/> against <see cref="GitHubSimulator"/>: every method, the wire requests, no surprises.</summary>
public sealed class GitHubClientSimulatorTests : IAsyncLifetime
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
    public async Task CreateIssue_is_listed_newest_first_and_pull_requests_are_left_out()
    {
        var first = await _client.CreateIssueAsync(Repo, "First", "Body <!-- marker:1 --> & more", Ct);
        var pr = await _sim.OpenPullRequestAsync(RepoName, "A PR", "pr body", deliver: false);
        var second = await _client.CreateIssueAsync(Repo, "Second", "", Ct);

        Assert.Equal(1, first.Number);
        Assert.Equal(2, pr); // issues and PRs share one counter
        Assert.Equal(3, second.Number);
        Assert.Equal("First", first.Title);
        Assert.Equal("Body <!-- marker:1 --> & more", first.Body);
        Assert.Equal("open", first.State);
        Assert.Equal($"{_sim.BaseUrl}acme/widgets/issues/1", first.HtmlUrl);

        var listed = await _client.ListRecentIssuesAsync(Repo, 10, Ct);

        Assert.Equal([3, 1], listed.Select(i => i.Number));
        Assert.Equal(second, listed[0]);
        Assert.Equal(first, listed[1]);
        Assert.Equal(["First", "Second"], _sim.Issues(RepoName).Select(i => i.Title));

        var posts = _sim.Host.Requests.Where(r => r.Method == "POST").ToList();
        Assert.Equal(2, posts.Count);
        var create = posts[0];
        Assert.Equal("/api/v3/repos/acme/widgets/issues", create.PathAndQuery);
        AssertGitHubHeaders(create);
        using var sent = JsonDocument.Parse(create.Body);
        Assert.Equal("First", sent.RootElement.GetProperty("title").GetString());
        Assert.Equal("Body <!-- marker:1 --> & more", sent.RootElement.GetProperty("body").GetString());

        var list = Single(_sim.Host, "GET", "/api/v3/repos/acme/widgets/issues?state=all&sort=created&direction=desc&per_page=10");
        AssertGitHubHeaders(list);
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task ListRecentIssues_follows_the_Link_header_across_pages()
    {
        for (var i = 1; i <= 130; i++)
        {
            await _client.CreateIssueAsync(Repo, $"Issue {i}", $"body {i}", Ct);
            if (i % 40 == 0)
            {
                await _sim.OpenPullRequestAsync(RepoName, $"PR after {i}", null, deliver: false);
            }
        }

        var all = await _client.ListRecentIssuesAsync(Repo, 500, Ct);

        Assert.Equal(130, all.Count);
        Assert.Equal(all.OrderByDescending(i => i.Number).Select(i => i.Number), all.Select(i => i.Number));
        Assert.Equal("Issue 130", all[0].Title);
        Assert.Equal("Issue 1", all[^1].Title);
        var prNumbers = _sim.PullRequests(RepoName).Select(p => p.Number).ToHashSet();
        Assert.Equal(3, prNumbers.Count);
        Assert.DoesNotContain(all, i => prNumbers.Contains(i.Number));

        // 133 items at 100 a page: page 1 by path, page 2 by the Link header's /repositories/{id} form.
        var gets = _sim.Host.Requests.Where(r => r.Method == "GET").ToList();
        Assert.Equal(2, gets.Count);
        Assert.Equal("/api/v3/repos/acme/widgets/issues?state=all&sort=created&direction=desc&per_page=100", gets[0].PathAndQuery);
        Assert.Matches(@"^/api/v3/repositories/\d+/issues\?state=all&sort=created&direction=desc&per_page=100&page=2$", gets[1].PathAndQuery);
        AssertGitHubHeaders(gets[1]);
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task ListRecentIssues_stops_reading_pages_once_max_is_reached()
    {
        for (var i = 1; i <= 7; i++)
        {
            await _client.CreateIssueAsync(Repo, $"Issue {i}", "b", Ct);
        }

        await _sim.OpenPullRequestAsync(RepoName, "PR 8", null, deliver: false);

        // Newest first: PR 8 (dropped), 7, 6, 5 | 4 … — two pages of 3 are needed for 3 issues.
        var recent = await _client.ListRecentIssuesAsync(Repo, 3, Ct);

        Assert.Equal([7, 6, 5], recent.Select(i => i.Number));
        var gets = _sim.Host.Requests.Where(r => r.Method == "GET").Select(r => r.PathAndQuery).ToList();
        Assert.Equal(2, gets.Count);
        Assert.Equal("/api/v3/repos/acme/widgets/issues?state=all&sort=created&direction=desc&per_page=3", gets[0]);
        Assert.EndsWith("&page=2", gets[1]);
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Comments_are_created_and_listed_oldest_first_across_pages()
    {
        var issue = await _client.CreateIssueAsync(Repo, "With comments", "b", Ct);
        var created = new List<GitHubComment>();
        for (var i = 1; i <= 101; i++)
        {
            created.Add(await _client.CreateIssueCommentAsync(Repo, issue.Number, $"comment {i}", Ct));
        }

        Assert.Equal("comment 1", created[0].Body);
        Assert.Equal($"{_sim.BaseUrl}acme/widgets/issues/1#issuecomment-{created[0].Id}", created[0].HtmlUrl);
        Assert.Equal(101, created.Select(c => c.Id).Distinct().Count());

        var listed = await _client.ListIssueCommentsAsync(Repo, issue.Number, Ct);

        Assert.Equal(created, listed);
        Assert.Equal(created.Select(c => c.Id), _sim.Comments(RepoName, issue.Number).Select(c => c.Id));
        Assert.Equal("orchestrator-bot", _sim.Comments(RepoName, issue.Number)[0].UserLogin);

        var post = _sim.Host.Requests.First(r => r.Method == "POST" && r.PathAndQuery == "/api/v3/repos/acme/widgets/issues/1/comments");
        AssertGitHubHeaders(post);
        Assert.Equal("comment 1", JsonDocument.Parse(post.Body).RootElement.GetProperty("body").GetString());
        var gets = _sim.Host.Requests.Where(r => r.Method == "GET").Select(r => r.PathAndQuery).ToList();
        Assert.Equal(2, gets.Count);
        Assert.Equal("/api/v3/repos/acme/widgets/issues/1/comments?per_page=100", gets[0]);
        Assert.Matches(@"^/api/v3/repositories/\d+/issues/1/comments\?per_page=100&page=2$", gets[1]);
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Comment_on_a_missing_issue_is_a_permanent_404()
    {
        var error = await Assert.ThrowsAsync<PlatformApiException>(() => _client.CreateIssueCommentAsync(Repo, 42, "hello", Ct));

        Assert.Equal(System.Net.HttpStatusCode.NotFound, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Equal("POST /repos/acme/widgets/issues/42/comments", error.Operation);
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Pull_requests_list_and_get_report_merged_from_merged_at_and_merged()
    {
        var merged = await _sim.OpenPullRequestAsync(RepoName, "Merged one", "body m", deliver: false);
        var closed = await _sim.OpenPullRequestAsync(RepoName, "Closed one", null, deliver: false);
        var open = await _sim.OpenPullRequestAsync(RepoName, "Open one", "body o", deliver: false);
        var mergeSha = await _sim.MergePullRequestAsync(RepoName, merged, deliver: false);
        await _sim.ClosePullRequestAsync(RepoName, closed, deliver: false);

        var listed = await _client.ListRecentPullRequestsAsync(Repo, 10, Ct);

        // sort=updated, newest first: closed (last touched), merged, then the untouched open one.
        Assert.Equal([closed, merged, open], listed.Select(p => p.Number));
        var m = listed[1];
        Assert.True(m.Merged);
        Assert.Equal("closed", m.State);
        Assert.Equal(mergeSha, m.MergeCommitSha);
        Assert.Matches("^[0-9a-f]{40}$", mergeSha);
        Assert.Equal($"{_sim.BaseUrl}acme/widgets/pull/{merged}", m.HtmlUrl);
        Assert.False(listed[0].Merged);
        Assert.Equal("closed", listed[0].State);
        Assert.Null(listed[0].Body);
        Assert.False(listed[2].Merged);
        Assert.Equal("open", listed[2].State);

        var single = await _client.GetPullRequestAsync(Repo, merged, Ct);
        Assert.Equal(m, single);
        var openSingle = await _client.GetPullRequestAsync(Repo, open, Ct);
        Assert.NotNull(openSingle);
        Assert.False(openSingle.Merged);
        Assert.Equal("body o", openSingle.Body);

        // GitHub reports a test-merge SHA while open; only Merged makes it the real merge.
        Assert.Equal(_sim.PullRequests(RepoName).Single(p => p.Number == open).MergeCommitSha, openSingle.MergeCommitSha);

        var list = Single(_sim.Host, "GET", "/api/v3/repos/acme/widgets/pulls?state=all&sort=updated&direction=desc&per_page=10");
        AssertGitHubHeaders(list);
        AssertGitHubHeaders(Single(_sim.Host, "GET", $"/api/v3/repos/acme/widgets/pulls/{merged}"));
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task GetPullRequest_returns_null_on_404_for_a_missing_number_and_for_an_issue()
    {
        var issue = await _client.CreateIssueAsync(Repo, "Not a PR", "b", Ct);

        Assert.Null(await _client.GetPullRequestAsync(Repo, 99, Ct));
        Assert.Null(await _client.GetPullRequestAsync(Repo, issue.Number, Ct));

        Single(_sim.Host, "GET", "/api/v3/repos/acme/widgets/pulls/99");
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Check_suites_and_workflow_runs_follow_the_commit_through_CI()
    {
        var number = await _sim.OpenPullRequestAsync(RepoName, "CI me", null, deliver: false);
        var sha = _sim.PullRequests(RepoName).Single(p => p.Number == number).HeadSha;

        Assert.Empty(await _client.ListCheckSuitesAsync(Repo, sha, Ct));
        Assert.Empty(await _client.ListWorkflowRunsAsync(Repo, sha, Ct));

        _sim.StartCi(RepoName, sha);
        var suite = Assert.Single(await _client.ListCheckSuitesAsync(Repo, sha, Ct));
        var run = Assert.Single(await _client.ListWorkflowRunsAsync(Repo, sha, Ct));
        Assert.Equal("in_progress", suite.Status);
        Assert.Null(suite.Conclusion);
        Assert.Equal("github-actions", suite.AppSlug);
        Assert.Equal(1, suite.LatestCheckRunsCount);
        Assert.Equal("in_progress", run.Status);
        Assert.Null(run.Conclusion);
        Assert.Equal("CI", run.Name);

        var ci = await _sim.CompleteCiAsync(RepoName, sha, "failure", deliver: false);
        suite = Assert.Single(await _client.ListCheckSuitesAsync(Repo, sha, Ct));
        run = Assert.Single(await _client.ListWorkflowRunsAsync(Repo, sha, Ct));

        Assert.Equal(new GitHubCheckSuite(ci.CheckSuiteId, "completed", "failure", "github-actions", 1), suite);
        Assert.Equal(new GitHubWorkflowRun(ci.WorkflowRunId, "CI", "completed", "failure", $"{_sim.BaseUrl}acme/widgets/actions/runs/{ci.WorkflowRunId}"), run);

        // Another commit's CI does not leak into this one.
        await _sim.CompleteCiAsync(RepoName, new string('a', 40), "success", deliver: false);
        Assert.Single(await _client.ListWorkflowRunsAsync(Repo, sha, Ct));

        var suites = _sim.Host.Requests.Where(r => r.PathAndQuery == $"/api/v3/repos/acme/widgets/commits/{sha}/check-suites?per_page=100").ToList();
        var runs = _sim.Host.Requests.Where(r => r.PathAndQuery == $"/api/v3/repos/acme/widgets/actions/runs?head_sha={sha}&per_page=100").ToList();
        Assert.Equal(3, suites.Count);
        Assert.Equal(4, runs.Count);
        Assert.All(suites.Concat(runs), r => { Assert.Equal("GET", r.Method); AssertGitHubHeaders(r); });
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task A_wrong_token_is_a_permanent_401_whose_message_never_shows_the_token()
    {
        const string wrong = "ghp_WrongToken99999999999999999999999999";
        var client = new GitHubClient(_handler, new GitHubClientSettings(_sim.BaseUrl, wrong));

        var error = await Assert.ThrowsAsync<PlatformApiException>(() => client.ListRecentIssuesAsync(Repo, 5, Ct));

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Contains("Bad credentials", error.Message);
        Assert.DoesNotContain(wrong, error.ToString());
        Assert.Single(_sim.Host.UnexpectedRequests); // the simulator flags it, as it should
    }

    [Fact]
    public async Task An_unknown_repository_is_a_permanent_404_and_flagged_by_the_simulator()
    {
        var error = await Assert.ThrowsAsync<PlatformApiException>(() => _client.CreateIssueAsync(new RepoRef("acme", "nope"), "t", "b", Ct));

        Assert.Equal(System.Net.HttpStatusCode.NotFound, error.StatusCode);
        Assert.False(error.IsTransient);
        Assert.Equal("POST /repos/acme/nope/issues", error.Operation);
        Assert.Contains("Not Found", error.Message);
        Assert.Contains(_sim.Host.UnexpectedRequests, u => u.Contains("unknown repository"));
    }

    [Fact]
    public async Task An_issue_whose_201_never_arrives_still_exists()
    {
        // The crash-test hook: the issue is stored, then the answer is withheld while the caller dies
        // (here: gives up via its token once the hook has run).
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource<(string Repo, int Number, int StoredIssues)>(TaskCreationOptions.RunContinuationsAsynchronously);
        _sim.AfterIssueCreated = async (repo, number) =>
        {
            entered.TrySetResult((repo, number, _sim.Issues(repo).Count));
            await release.Task;
        };
        using var caller = new CancellationTokenSource();

        var call = _client.CreateIssueAsync(Repo, "Lost answer", "b", caller.Token);
        var seen = await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        caller.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        release.SetResult();
        Assert.Equal((RepoName, 1, 1), seen);
        Assert.Equal("Lost answer", Assert.Single(_sim.Issues(RepoName)).Title);
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Orchestrator.Simulators.GitHub;
using static Orchestrator.Tests.Integration.GitHub.GitHubTestSupport;

namespace Orchestrator.Tests.Integration.GitHub;

/// <summary>
/// The simulator on the raw wire: it refuses what GitHub refuses (and flags it), and its objects keep
/// the field sets of GitHub's official examples.
/// </summary>
public sealed class GitHubSimulatorShapeTests : IAsyncLifetime
{
    private const string RepoName = "acme/widgets";

    private GitHubSimulator _sim = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _sim = await GitHubSimulator.StartAsync(Token);
        _sim.AddRepository(RepoName);
        _http = new HttpClient();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _sim.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(
        HttpMethod method,
        string path,
        string? json = null,
        string? authorization = "Bearer " + Token,
        string? userAgent = "test",
        string? version = "2022-11-28")
    {
        using var request = new HttpRequestMessage(method, new Uri(_sim.ApiUrl, path));
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        if (userAgent is not null)
        {
            request.Headers.UserAgent.Add(new ProductInfoHeaderValue(userAgent, null));
        }

        if (version is not null)
        {
            request.Headers.Add("X-GitHub-Api-Version", version);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), response);
    }

    private static HashSet<string> Keys(JsonElement e) => e.EnumerateObject().Select(p => p.Name).ToHashSet();

    private static HashSet<string> FixtureKeys(string file, bool firstOfArray = false)
    {
        var root = JsonDocument.Parse(FixtureText(file)).RootElement;
        return Keys(firstOfArray ? root[0] : root);
    }

    [Fact]
    public async Task Missing_or_wrong_credentials_answer_401_and_are_flagged()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "repos/acme/widgets/issues", authorization: null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "repos/acme/widgets/issues", authorization: "Bearer nope")).Status);
        Assert.Equal(2, _sim.Host.UnexpectedRequests.Count);

        // The older "token" scheme is accepted too.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "repos/acme/widgets/issues", authorization: "token " + Token)).Status);
        Assert.Equal(2, _sim.Host.UnexpectedRequests.Count);
    }

    [Fact]
    public async Task Missing_user_agent_or_api_version_is_refused_and_flagged()
    {
        var noAgent = await SendAsync(HttpMethod.Get, "repos/acme/widgets/issues", userAgent: null);
        var noVersion = await SendAsync(HttpMethod.Get, "repos/acme/widgets/issues", version: null);
        var oldVersion = await SendAsync(HttpMethod.Get, "repos/acme/widgets/issues", version: "2021-01-01");

        Assert.Equal(HttpStatusCode.Forbidden, noAgent.Status); // what GitHub answers without a User-Agent
        Assert.Contains("User-Agent", noAgent.Body.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, noVersion.Status);
        Assert.Equal(HttpStatusCode.BadRequest, oldVersion.Status);
        Assert.Equal(3, _sim.Host.UnexpectedRequests.Count);
    }

    [Fact]
    public async Task An_unknown_repository_answers_GitHubs_404_body_and_is_flagged()
    {
        var (status, body, _) = await SendAsync(HttpMethod.Get, "repos/acme/other/pulls/1");

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("Not Found", body.GetProperty("message").GetString());
        Assert.True(body.TryGetProperty("documentation_url", out _));
        Assert.Contains(_sim.Host.UnexpectedRequests, u => u.Contains("/repos/acme/other/pulls/1") && u.Contains("unknown repository"));
    }

    [Fact]
    public async Task Unsupported_query_parameters_body_fields_and_bad_json_are_flagged()
    {
        await SendAsync(HttpMethod.Get, "repos/acme/widgets/issues?labels=bug");
        var invalidState = await SendAsync(HttpMethod.Get, "repos/acme/widgets/issues?state=merged");
        await SendAsync(HttpMethod.Post, "repos/acme/widgets/issues", """{"title":"t","labels":["bug"]}""");
        var noTitle = await SendAsync(HttpMethod.Post, "repos/acme/widgets/issues", """{"body":"b"}""");
        var badJson = await SendAsync(HttpMethod.Post, "repos/acme/widgets/issues", "{not json");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, invalidState.Status);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, noTitle.Status);
        Assert.Equal("Validation Failed", noTitle.Body.GetProperty("message").GetString());
        Assert.Equal("title", noTitle.Body.GetProperty("errors")[0].GetProperty("field").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, badJson.Status);
        var unexpected = _sim.Host.UnexpectedRequests;
        Assert.Equal(5, unexpected.Count);
        Assert.Contains(unexpected, u => u.Contains("'labels' is not simulated"));
        Assert.Contains(unexpected, u => u.Contains("state='merged'"));
        Assert.Contains(unexpected, u => u.Contains("body field 'labels'"));
    }

    [Fact]
    public async Task Issues_pull_requests_and_comments_keep_GitHubs_field_sets()
    {
        var (created, issue, response) = await SendAsync(HttpMethod.Post, "repos/acme/widgets/issues", """{"title":"Shape","body":"b"}""");
        Assert.Equal(HttpStatusCode.Created, created);
        Assert.Equal(issue.GetProperty("url").GetString(), response.Headers.Location?.ToString());
        var number = await _sim.OpenPullRequestAsync(RepoName, "PR shape", "b", deliver: false);
        var (_, comment, _) = await SendAsync(HttpMethod.Post, $"repos/acme/widgets/issues/{number}/comments", """{"body":"hi"}""");

        var (_, issues, _) = await SendAsync(HttpMethod.Get, "repos/acme/widgets/issues?state=all");
        var (_, pulls, _) = await SendAsync(HttpMethod.Get, "repos/acme/widgets/pulls?state=all");
        var (_, pull, _) = await SendAsync(HttpMethod.Get, $"repos/acme/widgets/pulls/{number}");

        // The issue endpoint: a real issue has no pull_request key, the PR's issue view has one.
        var issueKeys = FixtureKeys("rest.issue.json");
        var prAsIssue = issues.EnumerateArray().Single(i => i.GetProperty("number").GetInt32() == number);
        var plainIssue = issues.EnumerateArray().Single(i => i.GetProperty("number").GetInt32() == 1);
        Assert.Equal(issueKeys, Keys(prAsIssue));
        Assert.Equal(issueKeys.Where(k => k != "pull_request").ToHashSet(), Keys(plainIssue));
        Assert.Equal(issueKeys.Where(k => k != "pull_request").ToHashSet(), Keys(issue));
        Assert.Equal($"{_sim.BaseUrl}acme/widgets/pull/{number}", prAsIssue.GetProperty("pull_request").GetProperty("html_url").GetString());

        // List items have no "merged"; the single PR does.
        Assert.Equal(FixtureKeys("rest.pull-request-simple-items.json", firstOfArray: true), Keys(pulls[0]));
        Assert.Equal(FixtureKeys("rest.pull-request.json"), Keys(pull));
        Assert.False(pulls[0].TryGetProperty("merged", out _));
        Assert.False(pull.GetProperty("merged").GetBoolean());
        Assert.Equal(1, pull.GetProperty("comments").GetInt32());
        Assert.Equal("acme/widgets", pull.GetProperty("base").GetProperty("repo").GetProperty("full_name").GetString());
        Assert.Equal($"{_sim.ApiUrl}repos/acme/widgets/pulls/{number}", pull.GetProperty("url").GetString());

        Assert.Equal("hi", comment.GetProperty("body").GetString());
        Assert.Equal($"{_sim.ApiUrl}repos/acme/widgets/issues/{number}", comment.GetProperty("issue_url").GetString());

        foreach (var json in new[] { issue, issues, pulls, pull, comment })
        {
            var text = json.GetRawText();
            Assert.DoesNotContain("://github.com", text);
            Assert.DoesNotContain("api.github.com", text);
            Assert.DoesNotContain("Hello-World", text);
        }

        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Lists_answer_GitHubs_Link_header_with_next_last_prev_and_first()
    {
        for (var i = 0; i < 5; i++)
        {
            await _sim.OpenPullRequestAsync(RepoName, $"PR {i}", null, deliver: false);
        }

        var (_, first, firstResponse) = await SendAsync(HttpMethod.Get, "repos/acme/widgets/pulls?state=all&per_page=2");
        var (_, middle, middleResponse) = await SendAsync(HttpMethod.Get, "repos/acme/widgets/pulls?state=all&per_page=2&page=2");
        var (_, last, lastResponse) = await SendAsync(HttpMethod.Get, "repos/acme/widgets/pulls?state=all&per_page=2&page=3");

        Assert.Equal([5, 4], first.EnumerateArray().Select(p => p.GetProperty("number").GetInt32()));
        Assert.Equal([3, 2], middle.EnumerateArray().Select(p => p.GetProperty("number").GetInt32()));
        Assert.Equal([1], last.EnumerateArray().Select(p => p.GetProperty("number").GetInt32()));
        var repositories = $"{_sim.ApiUrl}repositories/";
        var firstLink = string.Join(",", firstResponse.Headers.GetValues("Link"));
        Assert.Matches($"^<{repositories}\\d+/pulls\\?state=all&per_page=2&page=2>; rel=\"next\", <{repositories}\\d+/pulls\\?state=all&per_page=2&page=3>; rel=\"last\"$", firstLink);
        var middleLink = string.Join(",", middleResponse.Headers.GetValues("Link"));
        Assert.Contains("page=1>; rel=\"prev\"", middleLink);
        Assert.Contains("page=3>; rel=\"next\"", middleLink);
        Assert.Contains("page=1>; rel=\"first\"", middleLink);
        var lastLink = string.Join(",", lastResponse.Headers.GetValues("Link"));
        Assert.DoesNotContain("rel=\"next\"", lastLink);
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task An_unknown_commit_has_no_check_suites_and_answers_422()
    {
        var (status, body, _) = await SendAsync(HttpMethod.Get, $"repos/acme/widgets/commits/{new string('f', 40)}/check-suites");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.StartsWith("No commit found for SHA", body.GetProperty("message").GetString());
    }
}

using System.Text.Json;
using Orchestrator.Shared.GitHub;
using static Orchestrator.Tests.Integration.GitHub.GitHubTestSupport;

namespace Orchestrator.Tests.Integration.GitHub;

/// <summary>The Link parser on the headers GitHub really sent (recorded by @octokit/fixtures).</summary>
public sealed class GitHubLinkHeaderTests
{
    [Fact]
    public void Next_of_every_recorded_page_is_the_following_page_and_the_last_page_has_none()
    {
        using var recording = JsonDocument.Parse(FixtureText("paginate-issues.normalized-fixture.json"));
        var links = recording.RootElement.EnumerateArray().Select(r => r.GetProperty("headers").GetProperty("link").GetString()!).ToList();

        var next = links.Select(l => GitHubLinkHeader.Find([l], "next")).ToList();

        Assert.Equal(
            [
                "https://api.github.com/repositories/1000/issues?per_page=3&page=2",
                "https://api.github.com/repositories/1000/issues?per_page=3&page=3",
                "https://api.github.com/repositories/1000/issues?per_page=3&page=4",
                "https://api.github.com/repositories/1000/issues?per_page=3&page=5",
                null,
            ],
            next);
        Assert.Equal("https://api.github.com/repositories/1000/issues?per_page=3&page=1", GitHubLinkHeader.Find([links[1]], "prev"));
    }

    [Fact]
    public void Commas_inside_urls_and_unquoted_or_multiple_relations_are_handled()
    {
        var header = "<https://h/x?labels=a,b&page=1>; rel=\"prev first\", <https://h/x?labels=a,b&page=3>; rel=next";

        Assert.Equal("https://h/x?labels=a,b&page=3", GitHubLinkHeader.Find([header], "next"));
        Assert.Equal("https://h/x?labels=a,b&page=1", GitHubLinkHeader.Find([header], "first"));
        Assert.Null(GitHubLinkHeader.Find([header], "last"));
    }
}

using Orchestrator.Functions.Functions;
using Orchestrator.Functions.Web;

namespace Orchestrator.Tests.Integration.Web;

/// <summary>The pure parts of the task page and its actions: pull request references, TaskSpec versions from the history, platform links.</summary>
public sealed class TaskPageHelpersTests
{
    [Theory]
    [InlineData("acme/webshop#12", "acme/webshop", 12)]
    [InlineData("  acme/web.shop-2#7 ", "acme/web.shop-2", 7)]
    [InlineData("https://github.com/acme/webshop/pull/12", "acme/webshop", 12)]
    [InlineData("https://github.example.com/acme/webshop/pull/12/", "acme/webshop", 12)]
    [InlineData("https://gitea.example.com/acme/webshop/pulls/3", "acme/webshop", 3)]
    [InlineData("https://api.github.com/repos/acme/webshop/pulls/9", "acme/webshop", 9)]
    public void Pull_request_references_name_the_repo_and_number(string reference, string repo, int number) =>
        Assert.Equal((repo, number), TaskActions.ParsePullRequest(reference));

    [Theory]
    [InlineData("12")]
    [InlineData("#12")]
    [InlineData("acme/webshop#0")]
    [InlineData("acme/webshop#x")]
    [InlineData("acme#12")]
    [InlineData("javascript:alert(1)//acme/webshop/pull/1")]
    [InlineData("https://github.com/acme/webshop/issues/12")]
    [InlineData("ftp://github.com/acme/webshop/pull/12")]
    public void Anything_else_is_not_a_pull_request(string reference) => Assert.Null(TaskActions.ParsePullRequest(reference));

    [Fact]
    public void TaskSpec_versions_are_read_from_the_history_lines()
    {
        var t0 = new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero);
        var versions = TimelineText.TaskSpecVersions(
        [
            new TimelineEntry(t0, "TaskReceived", "RECEIVED", "Received from Plane (item 1: x)"),
            new TimelineEntry(t0.AddSeconds(1), "TaskSpecBuilt", "TASKSPEC_CREATED", "TaskSpec v1 created for WEB-1"),
            new TimelineEntry(t0.AddSeconds(2), "RetryRequested", "RECEIVED", "Retry requested; resuming at TaskSpec"),
            new TimelineEntry(t0.AddSeconds(3), "TaskSpecBuilt", "TASKSPEC_CREATED", "TaskSpec v2 created for WEB-1"),
        ]);
        Assert.Equal([(1, t0.AddSeconds(1)), (2, t0.AddSeconds(3))], versions);
    }

    [Theory]
    [InlineData("https://github.com/acme/webshop/issues/1", true)]
    [InlineData("http://127.0.0.1:8080/acme/webshop/pull/2", true)]
    [InlineData("javascript:alert(1)", false)]
    [InlineData("data:text/html,<script>", false)]
    [InlineData("/relative/path", false)]
    [InlineData("", false)]
    public void Only_absolute_http_links_from_platforms_are_linked(string url, bool linked) =>
        Assert.Equal(linked ? url : null, WebLinks.Http(url));
}

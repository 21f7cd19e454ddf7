using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Orchestrator.Shared.Gitea;
using Orchestrator.Simulators;
using Orchestrator.Simulators.Gitea;

namespace Orchestrator.Tests.Integration.Gitea;

public sealed class GiteaWebhookTests
{
    private const string Secret = "gitea-test-secret";

    private static string Fixture(string file) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "gitea", file);

    private static byte[] Bytes(string file) => File.ReadAllBytes(Fixture(file));

    private static Dictionary<string, string> VectorHeaders() =>
        JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Fixture("pull_request.merged.headers.json")))!;

    [Fact]
    public void Signed_test_vector_verifies()
    {
        var headers = VectorHeaders();
        Assert.Equal(Secret, headers["_test_secret"]);
        Assert.True(GiteaWebhooks.Verify(Bytes("pull_request.merged.body.json"), headers[GiteaWebhooks.SignatureHeader], Secret));
    }

    [Fact]
    public void Tampered_body_wrong_secret_missing_header_and_prefixed_header_fail()
    {
        var body = Bytes("pull_request.merged.body.json");
        var signature = VectorHeaders()[GiteaWebhooks.SignatureHeader];
        var tampered = (byte[])body.Clone();
        tampered[^3] ^= 1;
        Assert.False(GiteaWebhooks.Verify(tampered, signature, Secret));
        Assert.False(GiteaWebhooks.Verify(body, signature, "other-secret"));
        Assert.False(GiteaWebhooks.Verify(body, null, Secret));
        Assert.False(GiteaWebhooks.Verify(body, signature, null));
        Assert.False(GiteaWebhooks.Verify(body, "sha256=" + signature, Secret));
        // Re-serialising the parsed JSON changes the bytes and must not verify.
        Assert.False(GiteaWebhooks.Verify(JsonSerializer.SerializeToUtf8Bytes(JsonDocument.Parse(body).RootElement), signature, Secret));
    }

    [Theory]
    [InlineData("woodpecker.HookPullRequestMerged.json", "f2440f050054df0f8ecabcace648f1683509064c", "anbraten/test-repo", "https://gitea.com/anbraten/test-repo/pulls/1")]
    [InlineData("go-scm.pull_request_merged.json", "a148a755b627ac79f86bf3447e41927e1f4ad259", "jcitizen/my-repo", "https://try.gitea.io/jcitizen/my-repo/pulls/1")]
    public void Merged_PR_is_closed_with_merged_and_merge_sha(string file, string sha, string repo, string url)
    {
        var fact = Assert.IsType<GiteaPullRequestFact>(GiteaWebhooks.Parse("pull_request", "pull_request", Bytes(file)));
        Assert.Equal(("closed", true, sha, repo, url, 1), (fact.Action, fact.Merged, fact.MergeCommitSha, fact.RepoFullName, fact.HtmlUrl, fact.Number));
    }

    [Theory]
    [InlineData("woodpecker.HookPullRequestClosed.json", "pull_request", "closed")]
    [InlineData("go-scm.pull_request_closed.json", "pull_request", "closed")]
    [InlineData("go-scm.pull_request_opened.json", "pull_request", "opened")]
    [InlineData("woodpecker.HookPullRequestReopened.json", "pull_request", "reopened")]
    [InlineData("woodpecker.HookPullRequestChangeBody.json", "pull_request", "edited")]
    [InlineData("woodpecker.HookPullRequestUpdated.json", "pull_request_sync", "synchronized")]
    public void Other_PR_actions_are_not_merged(string file, string eventType, string action)
    {
        var fact = Assert.IsType<GiteaPullRequestFact>(GiteaWebhooks.Parse("pull_request", eventType, Bytes(file)));
        Assert.Equal(action, fact.Action);
        Assert.False(fact.Merged);
        Assert.Null(fact.MergeCommitSha);
        Assert.NotNull(fact.HeadSha);
    }

    [Theory]
    [InlineData("woodpecker.HookPullRequestAddLabel.json", "pull_request", "pull_request_label")]
    [InlineData("woodpecker.HookPullRequestReviewAck.json", "pull_request_approved", "pull_request_review_approved")]
    [InlineData("go-scm.push.json", "push", "push")]
    public void Label_review_and_push_deliveries_are_ignored(string file, string eventName, string eventType) =>
        Assert.Null(GiteaWebhooks.Parse(eventName, eventType, Bytes(file)));

    [Fact]
    public void Comment_on_PR_vs_issue_by_event_type_with_body_fallback()
    {
        var onPr = Assert.IsType<GiteaCommentFact>(GiteaWebhooks.Parse("issue_comment", "pull_request_comment", Bytes("go-scm.pull_request_comment_created.json")));
        Assert.Equal((true, 2, 45L, "run gofmt", "gogits/hello-world"), (onPr.OnPullRequest, onPr.IssueNumber, onPr.CommentId, onPr.Body, onPr.RepoFullName));

        var onIssue = Assert.IsType<GiteaCommentFact>(GiteaWebhooks.Parse("issue_comment", "issue_comment", Bytes("go-scm.issue_comment_created.json")));
        Assert.Equal((false, 1, "Got it"), (onIssue.OnPullRequest, onIssue.IssueNumber, onIssue.Body));

        // The header decides even against the body; without it the body's issue.pull_request does.
        Assert.False(Assert.IsType<GiteaCommentFact>(GiteaWebhooks.Parse("issue_comment", "issue_comment", Bytes("go-scm.pull_request_comment_created.json"))).OnPullRequest);
        Assert.True(Assert.IsType<GiteaCommentFact>(GiteaWebhooks.Parse("issue_comment", null, Bytes("go-scm.pull_request_comment_created.json"))).OnPullRequest);
        Assert.False(Assert.IsType<GiteaCommentFact>(GiteaWebhooks.Parse("issue_comment", null, Bytes("go-scm.issue_comment_created.json"))).OnPullRequest);
    }

    [Fact]
    public void Bad_body_is_a_FormatException() =>
        Assert.Throws<FormatException>(() => GiteaWebhooks.Parse("pull_request", "pull_request", "not json"u8));

    [Fact]
    public async Task Simulator_sends_signed_indented_deliveries_that_parse_and_can_be_resent()
    {
        var received = new ConcurrentQueue<(Dictionary<string, string> Headers, byte[] Body)>();
        await using var receiver = await SimulatorHost.StartAsync(
            "receiver",
            (app, _) => app.MapPost("/hook", async context =>
            {
                using var buffer = new MemoryStream();
                await context.Request.Body.CopyToAsync(buffer);
                received.Enqueue((context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), buffer.ToArray()));
                context.Response.StatusCode = 204;
            }),
            _ => null);
        await using var sim = await GiteaSimulator.StartAsync("t");
        sim.AddRepository("acme/widgets");
        sim.ConfigureWebhook(new Uri(receiver.BaseUrl, "hook"), Secret);

        var number = await sim.OpenPullRequestAsync("acme/widgets", "Feature", "Closes #7");
        await sim.ClosePullRequestAsync("acme/widgets", number, deliver: false);
        var second = await sim.OpenPullRequestAsync("acme/widgets", "Again", null);
        var mergeSha = await sim.MergePullRequestAsync("acme/widgets", second);
        var headSha = sim.Items("acme/widgets").Single(i => i.Number == second).HeadSha!;
        await sim.SetCommitStatusAsync("acme/widgets", headSha, "ci/build", "failure");

        var all = received.ToArray();
        Assert.Equal(4, all.Length);
        foreach (var (headers, body) in all)
        {
            Assert.True(GiteaWebhooks.Verify(body, headers["X-Gitea-Signature"], Secret));
            Assert.Equal("sha256=" + headers["X-Gitea-Signature"], headers["X-Hub-Signature-256"]);
            Assert.True(Guid.TryParse(headers["X-Gitea-Delivery"], out _));
            Assert.Equal((byte)'{', body[0]);
            Assert.Equal((byte)'\n', body[1]);
        }

        var opened = Assert.IsType<GiteaPullRequestFact>(GiteaWebhooks.Parse(all[0].Headers["X-Gitea-Event"], all[0].Headers["X-Gitea-Event-Type"], all[0].Body));
        Assert.Equal(("opened", number, "Closes #7", "acme/widgets", "open"), (opened.Action, opened.Number, opened.Body, opened.RepoFullName, opened.State));
        Assert.Equal($"{sim.BaseUrl}acme/widgets/pulls/{number}", opened.HtmlUrl);

        var merged = Assert.IsType<GiteaPullRequestFact>(GiteaWebhooks.Parse("pull_request", "pull_request", all[2].Body));
        Assert.Equal(("closed", true, mergeSha), (merged.Action, merged.Merged, merged.MergeCommitSha));

        Assert.Equal(("status", "status"), (all[3].Headers["X-Gitea-Event"], all[3].Headers["X-Gitea-Event-Type"]));
        var status = Assert.IsType<GiteaCommitStatusFact>(GiteaWebhooks.Parse("status", "status", all[3].Body));
        Assert.Equal((headSha, "ci/build", "failure", "failure"), (status.Sha, status.Context, status.State, status.Conclusion));

        var first = sim.Deliveries[0];
        Assert.Equal(HttpStatusCode.NoContent, await sim.ResendAsync(first, newDeliveryId: false));
        Assert.Equal(HttpStatusCode.NoContent, await sim.ResendAsync(first, newDeliveryId: true));
        var resent = received.ToArray()[4..];
        Assert.Equal(first.DeliveryId, resent[0].Headers["X-Gitea-Delivery"]);
        Assert.NotEqual(first.DeliveryId, resent[1].Headers["X-Gitea-Delivery"]);
        Assert.Equal(first.Body, resent[1].Body);
        Assert.Empty(sim.Host.UnexpectedRequests);
    }
}

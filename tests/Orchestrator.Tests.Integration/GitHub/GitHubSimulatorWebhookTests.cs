using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Orchestrator.Simulators;
using Orchestrator.Simulators.GitHub;
using static Orchestrator.Tests.Integration.GitHub.GitHubTestSupport;

namespace Orchestrator.Tests.Integration.GitHub;

/// <summary>
/// The simulator's webhook sender against a loopback receiver: signatures verify over the exact bytes
/// (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries), bodies carry the
/// replaced fields, dropped webhooks send nothing, redeliveries repeat the bytes.
/// </summary>
public sealed class GitHubSimulatorWebhookTests : IAsyncLifetime
{
    private const string RepoName = "acme/widgets";
    private const string Secret = "It's a Secret to Everybody";

    private readonly ConcurrentQueue<(byte[] Body, Dictionary<string, string> Headers)> _received = new();
    private GitHubSimulator _sim = null!;
    private SimulatorHost _receiver = null!;
    private volatile int _answer = StatusCodes.Status202Accepted;

    public async Task InitializeAsync()
    {
        _sim = await GitHubSimulator.StartAsync(Token);
        _sim.AddRepository(RepoName);
        _receiver = await SimulatorHost.StartAsync(
            "receiver",
            (app, _) => app.MapPost("/hooks/github", async (HttpContext context) =>
            {
                using var buffer = new MemoryStream();
                await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
                var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
                _received.Enqueue((buffer.ToArray(), headers));
                context.Response.StatusCode = _answer;
            }),
            _ => null);
        _sim.ConfigureWebhook(new Uri(_receiver.BaseUrl, "hooks/github"), Secret);
    }

    public async Task DisposeAsync()
    {
        await _sim.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    private static JsonElement Parse(byte[] body) => JsonDocument.Parse(body).RootElement;

    private void AssertSignedDelivery(SimulatedDelivery delivery, string eventName)
    {
        var (body, headers) = _received.Single(r => r.Headers["X-GitHub-Delivery"] == delivery.DeliveryId);
        Assert.Equal(delivery.Body, body);
        Assert.True(SignatureValid(Secret, body, headers["X-Hub-Signature-256"]), "X-Hub-Signature-256 must verify over the exact bytes");
        Assert.False(SignatureValid("wrong secret", body, headers["X-Hub-Signature-256"]));
        Assert.Equal(eventName, headers["X-GitHub-Event"]);
        Assert.Equal(eventName, delivery.Event);
        Assert.True(Guid.TryParse(delivery.DeliveryId, out _));
        Assert.Equal("GitHub-Hookshot/simulator", headers["User-Agent"]);
        Assert.StartsWith("application/json", headers["Content-Type"]);

        // Nothing in a delivery points off the box.
        var text = System.Text.Encoding.UTF8.GetString(body);
        Assert.DoesNotContain("://github.com", text);
        Assert.DoesNotContain("api.github.com", text);
        Assert.DoesNotContain("derekg1729", text);
        Assert.DoesNotContain("octo-org", text);
    }

    [Fact]
    public void The_test_signature_check_accepts_a_real_GitHub_delivery()
    {
        // A capture published with its secret: if this passes, SignatureValid is GitHub's algorithm.
        var body = FixtureBytes("pull_request.closed.raw-body.json");
        var headers = JsonDocument.Parse(FixtureText("pull_request.closed.headers.json")).RootElement;
        const string publishedSecret = "402786017574bd28f9d8f7a18648939751c47fe09077d56e10f0444f14fbb73b";

        Assert.True(SignatureValid(publishedSecret, body, headers.GetProperty("x-hub-signature-256").GetString()));
        Assert.False(SignatureValid(publishedSecret, [.. body, (byte)' '], headers.GetProperty("x-hub-signature-256").GetString()));
    }

    [Fact]
    public async Task Opening_a_pull_request_sends_a_signed_opened_delivery_with_the_replaced_fields()
    {
        var number = await _sim.OpenPullRequestAsync(RepoName, "Add widgets", "Closes #1\n<!-- orchestrator:abc -->");

        var pr = _sim.PullRequests(RepoName).Single();
        var delivery = Assert.Single(_sim.Deliveries);
        AssertSignedDelivery(delivery, "pull_request");
        var attempt = Assert.Single(_sim.DeliveryAttempts);
        Assert.Equal(HttpStatusCode.Accepted, attempt.Status);
        Assert.False(attempt.IsRedelivery);

        var json = Parse(delivery.Body);
        Assert.Equal("opened", json.GetProperty("action").GetString());
        Assert.Equal(number, json.GetProperty("number").GetInt32());
        var p = json.GetProperty("pull_request");
        Assert.Equal(number, p.GetProperty("number").GetInt32());
        Assert.Equal("Add widgets", p.GetProperty("title").GetString());
        Assert.Equal("Closes #1\n<!-- orchestrator:abc -->", p.GetProperty("body").GetString());
        Assert.Equal("open", p.GetProperty("state").GetString());
        Assert.False(p.GetProperty("merged").GetBoolean());
        Assert.Equal(JsonValueKind.Null, p.GetProperty("merged_at").ValueKind);
        Assert.Equal(JsonValueKind.Null, p.GetProperty("merge_commit_sha").ValueKind);
        Assert.Equal($"{_sim.BaseUrl}acme/widgets/pull/{number}", p.GetProperty("html_url").GetString());
        Assert.Equal(pr.HeadSha, p.GetProperty("head").GetProperty("sha").GetString());
        Assert.Equal(pr.HeadRef, p.GetProperty("head").GetProperty("ref").GetString());
        Assert.Equal("orchestrator-bot", p.GetProperty("user").GetProperty("login").GetString());
        var repo = json.GetProperty("repository");
        Assert.Equal("acme/widgets", repo.GetProperty("full_name").GetString());
        Assert.Equal("widgets", repo.GetProperty("name").GetString());
        Assert.Equal("acme", repo.GetProperty("owner").GetProperty("login").GetString());
        Assert.Equal($"{_sim.BaseUrl}acme/widgets", repo.GetProperty("html_url").GetString());
        Assert.Equal("orchestrator-bot", json.GetProperty("sender").GetProperty("login").GetString());

        // Compact like GitHub's raw bodies, '<' not escaped.
        var text = System.Text.Encoding.UTF8.GetString(delivery.Body);
        Assert.StartsWith("{\"action\":\"opened\",\"number\":", text);
        Assert.Contains("<!-- orchestrator:abc -->", text);
    }

    [Fact]
    public async Task Edit_close_and_merge_deliveries_carry_the_new_state()
    {
        var closed = await _sim.OpenPullRequestAsync(RepoName, "Will close", "old body");
        var merged = await _sim.OpenPullRequestAsync(RepoName, "Will merge", "b");

        await _sim.EditPullRequestBodyAsync(RepoName, closed, "new body");
        await _sim.ClosePullRequestAsync(RepoName, closed);
        var mergeSha = await _sim.MergePullRequestAsync(RepoName, merged);

        Assert.Equal(5, _sim.Deliveries.Count);
        foreach (var d in _sim.Deliveries)
        {
            AssertSignedDelivery(d, "pull_request");
        }

        var edited = Parse(_sim.Deliveries[2].Body);
        Assert.Equal("edited", edited.GetProperty("action").GetString());
        Assert.Equal("old body", edited.GetProperty("changes").GetProperty("body").GetProperty("from").GetString());
        Assert.Equal("new body", edited.GetProperty("pull_request").GetProperty("body").GetString());

        var close = Parse(_sim.Deliveries[3].Body);
        Assert.Equal("closed", close.GetProperty("action").GetString());
        Assert.Equal(closed, close.GetProperty("number").GetInt32());
        Assert.Equal("closed", close.GetProperty("pull_request").GetProperty("state").GetString());
        Assert.False(close.GetProperty("pull_request").GetProperty("merged").GetBoolean());
        Assert.Equal(JsonValueKind.Null, close.GetProperty("pull_request").GetProperty("merged_at").ValueKind);
        Assert.Equal(JsonValueKind.Null, close.GetProperty("pull_request").GetProperty("merged_by").ValueKind);

        var merge = Parse(_sim.Deliveries[4].Body);
        var p = merge.GetProperty("pull_request");
        Assert.Equal("closed", merge.GetProperty("action").GetString());
        Assert.Equal(merged, p.GetProperty("number").GetInt32());
        Assert.True(p.GetProperty("merged").GetBoolean());
        Assert.NotEqual(JsonValueKind.Null, p.GetProperty("merged_at").ValueKind);
        Assert.Equal(mergeSha, p.GetProperty("merge_commit_sha").GetString());
        Assert.Equal("orchestrator-bot", p.GetProperty("merged_by").GetProperty("login").GetString());
        Assert.Matches("^[0-9a-f]{40}$", mergeSha);
    }

    [Fact]
    public async Task Completing_CI_sends_workflow_run_then_check_suite_for_the_sha()
    {
        var number = await _sim.OpenPullRequestAsync(RepoName, "CI", null, deliver: false);
        var sha = _sim.PullRequests(RepoName).Single().HeadSha;
        _sim.StartCi(RepoName, sha);
        Assert.Empty(_sim.Deliveries); // StartCi sends nothing

        var ci = await _sim.CompleteCiAsync(RepoName, sha, "success");

        Assert.Equal(["workflow_run", "check_suite"], _sim.Deliveries.Select(d => d.Event));
        AssertSignedDelivery(_sim.Deliveries[0], "workflow_run");
        AssertSignedDelivery(_sim.Deliveries[1], "check_suite");

        var run = Parse(_sim.Deliveries[0].Body);
        Assert.Equal("completed", run.GetProperty("action").GetString());
        var wr = run.GetProperty("workflow_run");
        Assert.Equal(sha, wr.GetProperty("head_sha").GetString());
        Assert.Equal("completed", wr.GetProperty("status").GetString());
        Assert.Equal("success", wr.GetProperty("conclusion").GetString());
        Assert.Equal(ci.WorkflowRunId, wr.GetProperty("id").GetInt64());
        Assert.Equal($"{_sim.BaseUrl}acme/widgets/actions/runs/{ci.WorkflowRunId}", wr.GetProperty("html_url").GetString());
        Assert.Equal(number, wr.GetProperty("pull_requests")[0].GetProperty("number").GetInt32());
        Assert.Equal("acme/widgets", run.GetProperty("repository").GetProperty("full_name").GetString());

        var suite = Parse(_sim.Deliveries[1].Body);
        Assert.Equal("completed", suite.GetProperty("action").GetString());
        var cs = suite.GetProperty("check_suite");
        Assert.Equal(sha, cs.GetProperty("head_sha").GetString());
        Assert.Equal("completed", cs.GetProperty("status").GetString());
        Assert.Equal("success", cs.GetProperty("conclusion").GetString());
        Assert.Equal(1, cs.GetProperty("latest_check_runs_count").GetInt32());
        Assert.Equal(ci.CheckSuiteId, cs.GetProperty("id").GetInt64());
        Assert.Equal("github-actions", cs.GetProperty("app").GetProperty("slug").GetString());
        Assert.Equal(number, cs.GetProperty("pull_requests")[0].GetProperty("number").GetInt32());
        Assert.Equal(sha, cs.GetProperty("pull_requests")[0].GetProperty("head").GetProperty("sha").GetString());
    }

    [Fact]
    public async Task Dropped_webhooks_change_state_but_send_nothing()
    {
        var number = await _sim.OpenPullRequestAsync(RepoName, "Quiet", "b", deliver: false);
        var sha = _sim.PullRequests(RepoName).Single().HeadSha;
        await _sim.EditPullRequestBodyAsync(RepoName, number, "b2", deliver: false);
        await _sim.CompleteCiAsync(RepoName, sha, "failure", deliver: false);
        var mergeSha = await _sim.MergePullRequestAsync(RepoName, number, deliver: false);

        Assert.Empty(_received);
        Assert.Empty(_sim.Deliveries);
        Assert.Empty(_sim.DeliveryAttempts);
        var pr = _sim.PullRequests(RepoName).Single();
        Assert.True(pr.Merged);
        Assert.Equal("b2", pr.Body);
        Assert.Equal(mergeSha, pr.MergeCommitSha);
        Assert.Equal("failure", _sim.CiRun(RepoName, sha)!.Conclusion);
    }

    [Fact]
    public async Task Resend_repeats_the_exact_bytes_with_the_same_or_a_new_delivery_id()
    {
        await _sim.OpenPullRequestAsync(RepoName, "Twice", "b");
        var original = Assert.Single(_sim.Deliveries);

        _answer = StatusCodes.Status500InternalServerError;
        Assert.Equal(HttpStatusCode.InternalServerError, await _sim.ResendAsync(original, newDeliveryId: false));
        _answer = StatusCodes.Status204NoContent;
        Assert.Equal(HttpStatusCode.NoContent, await _sim.ResendAsync(original, newDeliveryId: true));

        var received = _received.ToList();
        Assert.Equal(3, received.Count);
        Assert.All(received, r => Assert.Equal(original.Body, r.Body));
        Assert.All(received, r => Assert.Equal(original.Headers["X-Hub-Signature-256"], r.Headers["X-Hub-Signature-256"]));
        Assert.Equal(original.DeliveryId, received[1].Headers["X-GitHub-Delivery"]);
        Assert.NotEqual(original.DeliveryId, received[2].Headers["X-GitHub-Delivery"]);
        Assert.True(Guid.TryParse(received[2].Headers["X-GitHub-Delivery"], out _));

        Assert.Equal([false, true, true], _sim.DeliveryAttempts.Select(a => a.IsRedelivery));
        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.InternalServerError, HttpStatusCode.NoContent], _sim.DeliveryAttempts.Select(a => a.Status!.Value));
        Assert.Single(_sim.Deliveries);
    }

    [Fact]
    public async Task An_unreachable_receiver_is_recorded_not_thrown_like_GitHub_does()
    {
        _sim.ConfigureWebhook(new Uri($"http://127.0.0.1:{FreePort()}/hooks"), Secret);

        var number = await _sim.OpenPullRequestAsync(RepoName, "Nobody listens", null);

        Assert.Equal(1, number);
        var attempt = Assert.Single(_sim.DeliveryAttempts);
        Assert.Null(attempt.Status);
        Assert.NotNull(attempt.Error);
        await Assert.ThrowsAsync<HttpRequestException>(() => _sim.ResendAsync(attempt.Delivery, newDeliveryId: false));
    }
}

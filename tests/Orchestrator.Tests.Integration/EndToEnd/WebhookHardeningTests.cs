using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Functions.Functions;
using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Projects;
using Orchestrator.Shared.Webhooks;
using Orchestrator.Tests.Integration.Support;
using Xunit.Abstractions;

namespace Orchestrator.Tests.Integration.EndToEnd;

/// <summary>
/// Regression tests of the security review's findings on the webhook endpoints (issue #8 items 7, 8, 9b and 9c),
/// each named after its finding, through the real host on the real PostgreSQL.
/// </summary>
public sealed class WebhookHardeningTests(ITestOutputHelper output)
{
    private const string ProjectSecret = "per-project-plane-secret-0123456789";
    private const string GiteaSecret = "gitea-test-secret"; // the one the Gitea fixture headers were signed with
    private const string GiteaSlug = "gt";

    private static readonly string WrongGitHubSignature = "sha256=" + new string('0', 64);

    private static readonly byte[] PullRequestBody = Encoding.UTF8.GetBytes("""{"action":"opened","repository":{"full_name":"acme/webshop"}}""");

    [Fact]
    public async Task Issue8_7_header_values_are_logged_only_sanitized_and_the_delivery_id_only_after_verification()
    {
        await using var h = await Harness.StartAsync();

        // The review's probe: terminal escape sequences and 8 KB in the delivery id header.
        var hostile = "\u001b[2J\u001b]0;owned\u0007" + new string('A', 8 * 1024);
        using (var refused = await PostAsync(h, "webhooks/github", PullRequestBody,
            ("X-GitHub-Event", "pull_request"), ("X-GitHub-Delivery", hostile), ("X-Hub-Signature-256", WrongGitHubSignature)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // Signed, the same header is not usable as a dedupe key: stored under the body hash, which is what is logged.
        using (var signed = await PostAsync(h, "webhooks/github", PullRequestBody,
            ("X-GitHub-Event", "pull_request"), ("X-GitHub-Delivery", hostile), ("X-Hub-Signature-256", WebhookSignature.ComputeGitHubHeader(PullRequestBody, Harness.GitHubSecret))))
        {
            Assert.Equal(HttpStatusCode.Accepted, signed.StatusCode);
            Assert.StartsWith("sha256:", (string)JsonNode.Parse(await signed.Content.ReadAsStringAsync())!["deliveryId"]!, StringComparison.Ordinal);
        }

        // A usable id of a verified delivery is logged in the delivery's scope.
        using (var plain = await PostAsync(h, "webhooks/github", PullRequestBody.Concat(" "u8.ToArray()).ToArray(),
            ("X-GitHub-Event", "pull_request"), ("X-GitHub-Delivery", "d-plain-1"),
            ("X-Hub-Signature-256", WebhookSignature.ComputeGitHubHeader(PullRequestBody.Concat(" "u8.ToArray()).ToArray(), Harness.GitHubSecret))))
        {
            Assert.Equal(HttpStatusCode.Accepted, plain.StatusCode);
        }

        var lines = h.Logs.Lines;
        var webhookLines = lines.Where(l => l.Contains(" Webhooks.github ", StringComparison.Ordinal)).ToList();
        Assert.Contains(webhookLines, l => l.Contains("Delivery refused (401): wrong X-Hub-Signature-256; body 61 bytes", StringComparison.Ordinal));
        Assert.Contains(webhookLines, l => l.Contains("github delivery d-plain-1", StringComparison.Ordinal) && l.Contains("accepted", StringComparison.Ordinal));
        Assert.DoesNotContain(webhookLines, l => l.Contains("Delivery refused", StringComparison.Ordinal) && l.Contains("github delivery", StringComparison.Ordinal));
        Assert.All(lines, l =>
        {
            Assert.DoesNotContain('\u001b', l);
            Assert.DoesNotContain("AAAAAAAAAAAAAAAA", l, StringComparison.Ordinal);
        });
        Assert.All(webhookLines, l => Assert.True(l.Length < 400, $"{l.Length} characters: {l}"));
    }

    [Fact]
    public async Task Issue8_8_an_overlong_or_invalid_event_header_is_400_naming_the_header_and_nothing_is_stored()
    {
        await using var h = await Harness.StartAsync();
        await CreateGiteaProjectAsync(h);
        var giteaSignature = WebhookSignature.ComputeHex(PullRequestBody, GiteaSecret);
        var cases = new (string Path, string Header, (string, string)[] Headers)[]
        {
            // The review's probe: 10,240 characters ended up in inbox.event_type.
            ("webhooks/github", "X-GitHub-Event", [("X-GitHub-Event", new string('a', 10_240)), ("X-Hub-Signature-256", WebhookSignature.ComputeGitHubHeader(PullRequestBody, Harness.GitHubSecret))]),
            ("webhooks/github", "X-GitHub-Event", [("X-GitHub-Event", new string('a', WebhookHeaders.MaxEventLength + 1)), ("X-Hub-Signature-256", WebhookSignature.ComputeGitHubHeader(PullRequestBody, Harness.GitHubSecret))]),
            ("webhooks/plane", "X-Plane-Event", [("X-Plane-Event", "Issue;DROP"), ("X-Plane-Signature", WebhookSignature.ComputeHex(PullRequestBody, Harness.PlaneSecret))]),
            ($"webhooks/gitea/{GiteaSlug}", "X-Gitea-Event-Type", [("X-Gitea-Event", "pull_request"), ("X-Gitea-Event-Type", new string('b', 1000)), ("X-Gitea-Signature", giteaSignature)]),
            ($"webhooks/gitea/{GiteaSlug}", "X-Gitea-Event", [("X-Gitea-Event", "pull request"), ("X-Gitea-Event-Type", "pull_request"), ("X-Gitea-Signature", giteaSignature)]),
        };
        foreach (var (path, header, headers) in cases)
        {
            using var response = await PostAsync(h, path, PullRequestBody, headers);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(header, (string?)problem["header"]);
            Assert.Equal($"Invalid {header} header", (string?)problem["title"]);
            Assert.Contains(header, (string)problem["detail"]!, StringComparison.Ordinal);
        }

        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox"));

        // At the cap it passes, and it is what is stored.
        var longest = new string('a', WebhookHeaders.MaxEventLength);
        using (var atCap = await PostAsync(h, "webhooks/github", PullRequestBody,
            ("X-GitHub-Event", longest), ("X-Hub-Signature-256", WebhookSignature.ComputeGitHubHeader(PullRequestBody, Harness.GitHubSecret))))
        {
            Assert.Equal(HttpStatusCode.Accepted, atCap.StatusCode);
        }

        Assert.Equal(longest, await h.Db.ScalarAsync<string>("SELECT event_type FROM inbox"));
    }

    [Fact]
    public async Task Issue8_8_the_headers_and_bodies_the_platforms_really_send_still_pass()
    {
        // The GitHub capture was signed with this (published) secret, see Fixtures/github/PROVENANCE.md.
        const string CaptureSecret = "402786017574bd28f9d8f7a18648939751c47fe09077d56e10f0444f14fbb73b";
        await using var h = await Harness.StartAsync(s => s["GITHUB_WEBHOOK_SECRET"] = CaptureSecret);
        await CreateGiteaProjectAsync(h);

        async Task<HttpStatusCode> ReplayAsync(string path, string platform, string bodyFile, string headersFile, params string[] names)
        {
            var body = await File.ReadAllBytesAsync(Fixture(platform, bodyFile));
            var captured = JsonNode.Parse(await File.ReadAllTextAsync(Fixture(platform, headersFile)))!.AsObject()
                .ToDictionary(p => p.Key, p => p.Value!.GetValue<string>(), StringComparer.OrdinalIgnoreCase);
            using var response = await PostAsync(h, path, body, names.Select(n => (n, captured[n])).ToArray());
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Accepted, await ReplayAsync("webhooks/github", "github", "pull_request.closed.raw-body.json", "pull_request.closed.headers.json",
            "X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256"));
        Assert.Equal(HttpStatusCode.Accepted, await ReplayAsync("webhooks/plane", "plane", "issue.created.signed-body.json", "issue.created.signed-headers.json",
            "X-Plane-Event", "X-Plane-Delivery", "X-Plane-Signature"));
        Assert.Equal(HttpStatusCode.Accepted, await ReplayAsync($"webhooks/gitea/{GiteaSlug}", "gitea", "pull_request.merged.body.json", "pull_request.merged.headers.json",
            "X-Gitea-Event", "X-Gitea-Event-Type", "X-Gitea-Delivery", "X-Gitea-Signature"));

        Assert.Equal(
            ["gitea pull_request 0b8f9f2e-2f4c-4a51-9d8e-1c2b3a4d5e6f", "github pull_request c16510a0-a996-11f0-86fe-90260285066c", "plane issue 99999999-9999-4999-8999-999999999999"],
            await ListAsync(h, "SELECT source || ' ' || event_type || ' ' || delivery_id FROM inbox ORDER BY source"));
    }

    [Fact]
    public async Task Issue8_8_a_signed_body_with_invalid_utf8_inside_a_json_string_is_400_and_nothing_is_stored()
    {
        await using var h = await Harness.StartAsync();
        await CreateGiteaProjectAsync(h);
        byte[] Body(params byte[] inside) => [.. "{\"action\":\"opened\",\"title\":\""u8, .. inside, .. "\"}"u8];
        var truncated = Body(0xC3, 0x28);          // a 2-byte sequence cut short
        var surrogate = Body(0xED, 0xA0, 0x80);    // U+D800 encoded: not UTF-8
        var overlong = Body(0xC0, 0xAF);           // '/' in two bytes

        // The reason for the check: System.Text.Json parses these without complaint until a string is read.
        using (var document = JsonDocument.Parse(truncated))
        {
            Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
        }

        foreach (var body in new[] { truncated, surrogate, overlong })
        {
            using var github = await PostAsync(h, "webhooks/github", body, ("X-GitHub-Event", "pull_request"),
                ("X-Hub-Signature-256", WebhookSignature.ComputeGitHubHeader(body, Harness.GitHubSecret)));
            using var plane = await PostAsync(h, "webhooks/plane", body, ("X-Plane-Event", "issue"),
                ("X-Plane-Signature", WebhookSignature.ComputeHex(body, Harness.PlaneSecret)));
            using var gitea = await PostAsync(h, $"webhooks/gitea/{GiteaSlug}", body, ("X-Gitea-Event", "pull_request"),
                ("X-Gitea-Signature", WebhookSignature.ComputeHex(body, GiteaSecret)));
            foreach (var response in new[] { github, plane, gitea })
            {
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                Assert.Equal("The body is not valid UTF-8.", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["detail"]);
            }
        }

        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox"));
    }

    [Fact]
    public async Task Issue8_9b_unknown_projects_other_sides_missing_secrets_and_bad_signatures_all_get_the_same_401()
    {
        await using var h = await Harness.StartAsync();
        var store = h.App.Services.GetRequiredService<ProjectStore>();

        // "ops": Plane with its own secret; a GitHub Enterprise forge without a webhook secret (so no host-wide fallback).
        await store.CreateAsync(
            new ProjectDefinition
            {
                Slug = "ops",
                WorkItemPrefix = "OPS",
                Tracker = new TrackerConfig { ProjectIds = [Guid.NewGuid().ToString()] },
                Forge = new ForgeConfig { BaseUrl = new Uri("https://ghe.example.com/api/v3"), Repos = [Harness.Repo] },
            },
            new Dictionary<string, string?> { [ProjectSecretNames.TrackerWebhookSecret] = ProjectSecret, [ProjectSecretNames.ForgeToken] = "ghe-token-0123456789" });
        await store.CreateAsync(AsanaProject("as"), new Dictionary<string, string?> { [ProjectSecretNames.TrackerToken] = "asana-token-0123456789" });

        var body = Encoding.UTF8.GetBytes("{\"pad\":\"" + new string('x', 64 * 1024) + "\"}");
        var wrong = WebhookSignature.ComputeHex(body, "not the secret");
        var probes = new (string Path, (string, string)[] Headers)[]
        {
            ("webhooks/plane/ops", [("X-Plane-Signature", wrong)]),                                                 // known project, wrong signature
            ("webhooks/plane/ops", []),                                                                              // known project, no signature
            ("webhooks/plane/nope", [("X-Plane-Signature", WebhookSignature.ComputeHex(body, ProjectSecret))]),      // unknown slug
            ("webhooks/plane/%1B%5B2Jnope", [("X-Plane-Signature", wrong)]),                                         // unknown, hostile slug
            ("webhooks/gitea/ops", [("X-Gitea-Signature", WebhookSignature.ComputeHex(body, ProjectSecret))]),      // a side the project does not have
            ("webhooks/github/ops", [("X-Hub-Signature-256", WebhookSignature.ComputeGitHubHeader(body, Harness.GitHubSecret))]), // no secret for that side
            ("webhooks/asana/nope?resource=1", [(AsanaWebhooks.SignatureHeader, wrong)]),                            // Asana: unknown slug
            ("webhooks/asana/as", [(AsanaWebhooks.SignatureHeader, wrong)]),                                         // Asana: no resource
            ("webhooks/asana/as?resource=999", [(AsanaWebhooks.SignatureHeader, wrong)]),                            // Asana: unknown resource
            ("webhooks/asana/ops?resource=1", [(AsanaWebhooks.SignatureHeader, wrong)]),                             // Asana: not an Asana project
            ("webhooks/nosuchkind/ops", []),
        };
        var answers = new List<string>();
        foreach (var (path, headers) in probes)
        {
            using var response = await PostAsync(h, path, body, headers);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{path}: {response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            answers.Add(Support.ProblemBodies.WithoutTraceId(await response.Content.ReadAsStringAsync()));
        }

        Assert.True(answers.Distinct().Count() == 1, string.Join("\n", answers.Distinct()));
        var problem = JsonNode.Parse(answers[0])!;
        Assert.Equal(WebhookFunctions.InvalidSignatureDetail, (string?)problem["detail"]);
        Assert.Equal(401, (int?)problem["status"]);

        // Asana's handshake rules hold, and a handshake nobody started is the same 403 whether the project exists or not.
        var handshakes = new List<string>();
        foreach (var path in new[] { "webhooks/asana/as?resource=1200000000001", "webhooks/asana/nope?resource=1200000000001", "webhooks/asana/ops?resource=1" })
        {
            using var response = await PostAsync(h, path, [], (AsanaWebhooks.HookSecretHeader, "stray-secret-0123456789"));
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.False(response.Headers.Contains(AsanaWebhooks.HookSecretHeader));
            handshakes.Add(Support.ProblemBodies.WithoutTraceId(await response.Content.ReadAsStringAsync()));
        }

        Assert.Single(handshakes.Distinct());
        Assert.Equal(WebhookFunctions.StrayHandshakeDetail, (string?)JsonNode.Parse(handshakes[0])!["detail"]);

        // Too large is too large, project or not.
        var tooLarge = new List<int>();
        foreach (var path in new[] { "/webhooks/plane/ops", "/webhooks/plane/nope" })
        {
            await using var raw = await RawHttp.StartPostAsync(h.HostUrl, path, OrchestratorSettings.PlaneAndGiteaWebhookMaxBytesDefault + 1, [("X-Plane-Signature", wrong)]);
            tooLarge.Add((await raw.ReadResponseHeadAsync(TimeSpan.FromSeconds(10))).Status);
        }

        Assert.Equal([413, 413], tooLarge);
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox"));

        // The reasons are in the log; nothing of the hostile slug is. (ASP.NET Core's own request logs, Information and
        // Debug, carry the decoded path as sent; host.json keeps Microsoft.AspNetCore at Warning, where they are off.)
        var lines = h.Logs.Lines.Where(l => !l.Split(' ', 3)[1].StartsWith("Microsoft.AspNetCore.", StringComparison.Ordinal)).ToList();
        Assert.Contains(lines, l => l.Contains("no project with a gitea side at this slug", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("no webhook secret is configured for github", StringComparison.Ordinal) && l.Contains("project ops", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains('\u001b', StringComparison.Ordinal));
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Issue8_9c_bodies_beyond_the_concurrency_limit_get_429_with_Retry_After_before_their_body_is_read()
    {
        await using var h = await Harness.StartAsync(s =>
        {
            s["WEBHOOK_MAX_CONCURRENT_BODIES"] = "2";
            s["WEBHOOK_REFUSED_PER_MINUTE"] = "0";
        });
        (string, string)[] unsigned = [("X-GitHub-Event", "pull_request"), ("X-Hub-Signature-256", WrongGitHubSignature)];

        // Two deliveries that announce 1 MiB and send it slowly hold both slots while the host waits for the rest.
        await using var first = await RawHttp.StartPostAsync(h.HostUrl, "/webhooks/github", 1024 * 1024, unsigned, new byte[10]);
        await using var second = await RawHttp.StartPostAsync(h.HostUrl, "/webhooks/github", 1024 * 1024, unsigned, new byte[10]);
        first.Trickle();
        second.Trickle();
        var seen = new List<HttpStatusCode>();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(10);
        while (seen.LastOrDefault() != HttpStatusCode.TooManyRequests && DateTimeOffset.UtcNow < deadline)
        {
            using var probe = await PostAsync(h, "webhooks/github", PullRequestBody, unsigned);
            seen.Add(probe.StatusCode);
        }

        Assert.True(seen[^1] == HttpStatusCode.TooManyRequests, "both body slots taken; probes saw " + string.Join(", ", seen.Distinct()) + $" ({seen.Count} probes)");

        // A third announces 1 MiB and sends no byte of it: it is answered at once.
        await using (var third = await RawHttp.StartPostAsync(h.HostUrl, "/webhooks/github", 1024 * 1024, unsigned))
        {
            var (status, headers) = await third.ReadResponseHeadAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(429, status);
            Assert.Equal("1", headers["retry-after"]);
            Assert.StartsWith("application/problem+json", headers["content-type"], StringComparison.Ordinal);
        }

        using (var busy = await PostAsync(h, "webhooks/github", PullRequestBody, ("X-GitHub-Event", "pull_request"),
            ("X-Hub-Signature-256", WebhookSignature.ComputeGitHubHeader(PullRequestBody, Harness.GitHubSecret))))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, busy.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), busy.Headers.RetryAfter?.Delta);
            Assert.Contains("at once", (string)JsonNode.Parse(await busy.Content.ReadAsStringAsync())!["detail"]!, StringComparison.Ordinal);
        }

        // Other endpoints are not limited; once the holders go away the slots are free again.
        using (var health = await h.Api.GetAsync("healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        await first.DisposeAsync();
        await second.DisposeAsync();
        await Harness.EventuallyAsync(async () =>
        {
            using var signed = await PostAsync(h, "webhooks/github", PullRequestBody, ("X-GitHub-Event", "pull_request"), ("X-GitHub-Delivery", "after-the-storm"),
                ("X-Hub-Signature-256", WebhookSignature.ComputeGitHubHeader(PullRequestBody, Harness.GitHubSecret)));
            return signed.StatusCode == HttpStatusCode.Accepted;
        }, "a slot to be free again", seconds: 10);
        Assert.Equal(["after-the-storm"], await ListAsync(h, "SELECT delivery_id FROM inbox"));
    }

    [Fact]
    public async Task Issue8_9c_a_body_that_trickles_in_is_cut_with_408_and_frees_its_slot()
    {
        await using var h = await Harness.StartAsync(s =>
        {
            s["WEBHOOK_MAX_CONCURRENT_BODIES"] = "1";
            s["WEBHOOK_REFUSED_PER_MINUTE"] = "0";
        });
        (string, string)[] unsigned = [("X-GitHub-Event", "pull_request"), ("X-Hub-Signature-256", WrongGitHubSignature)];
        await using var slow = await RawHttp.StartPostAsync(h.HostUrl, "/webhooks/github", 1024 * 1024, unsigned, new byte[10]);
        slow.Trickle();

        // The slow request takes the slot before any probe competes for it: it is still unanswered a second later.
        var answeredEarly = await Assert.ThrowsAsync<TimeoutException>(() => slow.ReadResponseHeadAsync(TimeSpan.FromSeconds(1)));
        Assert.NotNull(answeredEarly);
        var seen = new List<HttpStatusCode>();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(10);
        while (seen.LastOrDefault() != HttpStatusCode.TooManyRequests && DateTimeOffset.UtcNow < deadline)
        {
            using var probe = await PostAsync(h, "webhooks/github", PullRequestBody, unsigned);
            seen.Add(probe.StatusCode);
        }

        Assert.True(seen[^1] == HttpStatusCode.TooManyRequests, "the slow body holds the only slot; probes saw " + string.Join(", ", seen.Distinct()));

        // The body stalls: Kestrel's minimum request body data rate (240 bytes/s after a 5 s grace period) cuts the holder off.
        await slow.StopTricklingAsync();
        Assert.Equal(408, (await slow.ReadResponseHeadAsync(TimeSpan.FromSeconds(30))).Status);
        await Harness.EventuallyAsync(async () =>
        {
            using var signed = await PostAsync(h, "webhooks/github", PullRequestBody, ("X-GitHub-Event", "pull_request"),
                ("X-Hub-Signature-256", WebhookSignature.ComputeGitHubHeader(PullRequestBody, Harness.GitHubSecret)));
            return signed.StatusCode == HttpStatusCode.Accepted;
        }, "the slot to be free again", seconds: 10);
    }

    [Fact]
    public async Task Hostile_webhook_requests_are_refused_without_a_5xx_and_store_nothing()
    {
        // Every request must reach the endpoints, not stop at the refused-signature limit.
        await using var h = await Harness.StartAsync(s => s["WEBHOOK_REFUSED_PER_MINUTE"] = "0");
        await CreateGiteaProjectAsync(h);
        await h.App.Services.GetRequiredService<ProjectStore>().CreateAsync(AsanaProject("as"), new Dictionary<string, string?> { [ProjectSecretNames.TrackerToken] = "asana-token-0123456789" });

        var esc = "\u001b[2J\u001b]0;x\u0007";
        var big = new string('A', 8 * 1024);
        var paths = new[]
        {
            "/webhooks/github", "/webhooks/plane", $"/webhooks/gitea/{GiteaSlug}", "/webhooks/gitea/nope", "/webhooks/github/%1B%5B2J",
            "/webhooks/asana/as?resource=1200000000001", "/webhooks/asana/%1B?resource=%1B%5B2J", "/webhooks/%E2%80%AE/x",
        };
        var headerSets = new (string, string)[][]
        {
            [],
            [("X-GitHub-Event", esc), ("X-GitHub-Delivery", esc + big), ("X-Hub-Signature-256", "sha256=" + esc), ("X-Plane-Event", big), ("X-Plane-Signature", esc),
             ("X-Gitea-Event", "pull_request"), ("X-Gitea-Event-Type", esc), ("X-Gitea-Signature", esc), (AsanaWebhooks.SignatureHeader, esc)],
            [("X-GitHub-Event", "pull_request"), ("X-GitHub-Event", "ping"), ("X-Hub-Signature-256", WrongGitHubSignature), ("X-Hub-Signature-256", WrongGitHubSignature),
             ("X-Plane-Signature", new string('f', 64)), ("X-Gitea-Signature", new string('f', 64)), (AsanaWebhooks.SignatureHeader, new string('f', 64))],
            [(AsanaWebhooks.HookSecretHeader, esc + big), ("X-Plane-Event", "issue"), ("X-Plane-Signature", new string('0', 64))],
        };
        var bodies = new[] { ""u8.ToArray(), "[]"u8.ToArray(), "null"u8.ToArray(), "{"u8.ToArray(), [0xC3, 0x28, 0xFF, 0xFE], Encoding.UTF8.GetBytes(new string('[', 5000)) };
        var answers = new List<string>();
        foreach (var path in paths)
        {
            foreach (var headers in headerSets)
            {
                foreach (var body in bodies)
                {
                    await using var raw = await RawHttp.StartPostAsync(h.HostUrl, path, body.Length, headers, body);
                    answers.Add($"{(await raw.ReadResponseHeadAsync(TimeSpan.FromSeconds(10))).Status} {path}");
                }
            }
        }

        // Signed, but hostile: not an object, not JSON, too deep, not UTF-8.
        foreach (var body in bodies)
        {
            using var signed = await PostAsync(h, "webhooks/github", body, ("X-GitHub-Event", "pull_request"), ("X-Hub-Signature-256", WebhookSignature.ComputeGitHubHeader(body, Harness.GitHubSecret)));
            answers.Add($"{(int)signed.StatusCode} signed {body.Length} bytes");
        }

        output.WriteLine(string.Join(", ", answers.GroupBy(a => a.Split(' ')[0]).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}×{g.Count()}")));
        Assert.All(answers, a => Assert.InRange(int.Parse(a.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture), 400, 499));
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox"));
        Assert.DoesNotContain(h.Logs.Lines, l => l.Contains("AAAAAAAAAAAAAAAA", StringComparison.Ordinal) || (l.Contains('\u001b', StringComparison.Ordinal) && !l.Split(' ', 3)[1].StartsWith("Microsoft.AspNetCore.", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Issue8_9c_an_address_with_too_many_refused_signatures_gets_429_before_its_body_is_read()
    {
        await using var h = await Harness.StartAsync(s => s["WEBHOOK_REFUSED_PER_MINUTE"] = "3");
        for (var i = 0; i < 3; i++)
        {
            using var refused = await PostAsync(h, "webhooks/github", PullRequestBody, ("X-GitHub-Event", "pull_request"), ("X-Hub-Signature-256", WrongGitHubSignature));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // The window is used up: even a correctly signed delivery from that address waits for the next one.
        using (var blocked = await PostAsync(h, "webhooks/github", PullRequestBody, ("X-GitHub-Event", "pull_request"),
            ("X-Hub-Signature-256", WebhookSignature.ComputeGitHubHeader(PullRequestBody, Harness.GitHubSecret))))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
            var wait = Assert.IsType<TimeSpan>(blocked.Headers.RetryAfter?.Delta);
            Assert.InRange(wait, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
            Assert.Contains("invalid signatures", (string)JsonNode.Parse(await blocked.Content.ReadAsStringAsync())!["detail"]!, StringComparison.Ordinal);
        }

        // Every webhook endpoint, before any body byte arrives; the rest of the API is not affected.
        foreach (var path in new[] { "/webhooks/plane", "/webhooks/gitea/any", "/webhooks/asana/any?resource=1" })
        {
            await using var raw = await RawHttp.StartPostAsync(h.HostUrl, path, 1024 * 1024, []);
            var (status, headers) = await raw.ReadResponseHeadAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(429, status);
            Assert.InRange(int.Parse(headers["retry-after"], System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        }

        using (var health = await h.Api.GetAsync("healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox"));
        Assert.Contains(h.Logs.Lines, l => l.Contains("Client 127.0.0.1 caused 3 signature refusals within a minute", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Issue8_9c_each_source_has_a_body_cap_that_matches_what_it_sends_and_larger_bodies_get_413()
    {
        await using var h = await Harness.StartAsync(s => s["WEBHOOK_REFUSED_PER_MINUTE"] = "0");
        await CreateGiteaProjectAsync(h);
        var cases = new (string Path, long Cap, (string, string)[] Headers)[]
        {
            ("/webhooks/github", 25L * 1024 * 1024, [("X-Hub-Signature-256", WrongGitHubSignature)]),
            ("/webhooks/plane", 5L * 1024 * 1024, [("X-Plane-Signature", new string('0', 64))]),
            ($"/webhooks/gitea/{GiteaSlug}", 5L * 1024 * 1024, [("X-Gitea-Signature", new string('0', 64))]),
            ("/webhooks/asana/any?resource=1", 1024 * 1024, [(AsanaWebhooks.SignatureHeader, new string('0', 64))]),
        };
        foreach (var (path, cap, headers) in cases)
        {
            // Announced above the cap: 413 before a byte is sent.
            await using (var over = await RawHttp.StartPostAsync(h.HostUrl, path, cap + 1, headers))
            {
                Assert.Equal(413, (await over.ReadResponseHeadAsync(TimeSpan.FromSeconds(10))).Status);
            }

            // Exactly at the cap: read and refused for its signature.
            await using (var at = await RawHttp.StartPostAsync(h.HostUrl, path, cap, headers, new byte[cap]))
            {
                Assert.Equal(401, (await at.ReadResponseHeadAsync(TimeSpan.FromSeconds(30))).Status);
            }
        }

        // Chunked (no Content-Length): cut off after the cap.
        using var chunked = new HttpRequestMessage(HttpMethod.Post, "webhooks/asana/any?resource=1")
        {
            Content = new StreamContent(new MemoryStream(new byte[(1024 * 1024) + 100])),
        };
        chunked.Headers.TransferEncodingChunked = true;
        chunked.Headers.TryAddWithoutValidation(AsanaWebhooks.SignatureHeader, new string('0', 64));
        using (var response = await h.Api.SendAsync(chunked))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Equal($"Body exceeds {1024 * 1024} bytes.", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["detail"]);
        }

        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM inbox"));
    }

    private static async Task<List<string>> ListAsync(Harness h, string sql)
    {
        await using var command = h.Db.DataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }

    private static string Fixture(string platform, string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", platform, name);

    private static async Task<HttpResponseMessage> PostAsync(Harness h, string path, byte[] body, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await h.Api.SendAsync(request);
    }

    private static async Task CreateGiteaProjectAsync(Harness h) =>
        await h.App.Services.GetRequiredService<ProjectStore>().CreateAsync(
            new ProjectDefinition
            {
                Slug = GiteaSlug,
                WorkItemPrefix = "GT",
                Tracker = new TrackerConfig { ProjectIds = [Guid.NewGuid().ToString()] },
                Forge = new ForgeConfig { Kind = ForgeConfig.Gitea, BaseUrl = new Uri("http://127.0.0.1:9/"), Repos = [Harness.Repo] },
            },
            new Dictionary<string, string?> { [ProjectSecretNames.ForgeToken] = "gitea-token-0123456789", [ProjectSecretNames.ForgeWebhookSecret] = GiteaSecret });

    private static ProjectDefinition AsanaProject(string slug) => new()
    {
        Slug = slug,
        WorkItemPrefix = "AS",
        Tracker = new TrackerConfig
        {
            Kind = TrackerConfig.Asana,
            BaseUrl = new Uri("http://127.0.0.1:9/"),
            Workspace = "1200000000000",
            ProjectIds = ["1200000000001"],
            Trigger = new TriggerRule { Label = null, Field = "AutoTask", OnValues = ["Yes"] },
        },
        Forge = new ForgeConfig { Repos = [Harness.Repo] },
    };
}

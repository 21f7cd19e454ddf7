using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Functions.Observability;
using Orchestrator.Tests.Integration.EndToEnd;

namespace Orchestrator.Tests.Integration.Observability;

/// <summary>Issue #11 §3: <c>/metrics</c> is never public by default, serves the listed families with plausible values, and no secret.</summary>
public sealed partial class MetricsTests
{
    private const string MetricsToken = "metrics-scrape-token-0123456789abcdef";

    [Fact]
    public async Task Without_a_metrics_port_or_token_there_is_no_metrics_endpoint()
    {
        await using var h = await Harness.StartAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await h.Api.GetAsync("metrics")).StatusCode); // the admin token does not make it appear
        Assert.Equal(HttpStatusCode.Unauthorized, (await h.Anonymous.GetAsync("metrics")).StatusCode); // nothing is open
        Assert.Contains(h.Logs.Lines, l => l.Contains("/metrics is off", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_a_token_metrics_answer_only_that_token_and_serve_every_family_after_a_pipeline_run_without_secrets()
    {
        await using var h = await Harness.StartAsync(s => s["METRICS_TOKEN"] = MetricsToken);
        using var scraper = new HttpClient { BaseAddress = h.HostUrl };
        Assert.Equal(HttpStatusCode.Unauthorized, (await h.Anonymous.GetAsync("metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await h.Api.GetAsync("metrics")).StatusCode); // ORCH_ADMIN_TOKEN is not the scrape token
        scraper.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MetricsToken + "x");
        Assert.Equal(HttpStatusCode.Unauthorized, (await scraper.GetAsync("metrics")).StatusCode);
        scraper.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MetricsToken);

        // One 429 from GitHub (a platform error and a retried activity), and a budget of 3 requests per 2 s whose
        // x-ratelimit-remaining: 0 makes the next request wait for the reset.
        h.GitHub.InjectRateLimitFault(429, TimeSpan.FromSeconds(1));
        h.GitHub.ConfigureRateLimit(3, TimeSpan.FromSeconds(2));
        await PipelineRun.ToDeployedAsync(h);
        await h.Db.ExecuteAsync("""
            INSERT INTO agent_runs (instance_id, project, stage, agent, kind, model, started_at, finished_at, tokens_in, tokens_out, cost_usd, is_error)
            VALUES ('roles-x', 'web', 'development', 'claude', 'ClaudeCode', 'claude-sonnet-4-5', now(), now(), 1200, 300, 0.42, false);
            INSERT INTO agent_runs (instance_id, project, stage, agent, kind, started_at) VALUES ('roles-x', 'web', 'review', 'claude', 'ClaudeCode', now());
            """);

        using var response = await scraper.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(Value(text, "orchestrator_webhooks_total", ("source", "plane"), ("outcome", "accepted")) >= 1);
        Assert.True(Value(text, "orchestrator_webhooks_total", ("source", "github"), ("outcome", "accepted")) >= 2); // PR opened, merged, CI
        Assert.True(Value(text, "orchestrator_activity_duration_seconds_count", ("activity", "EnsureForgeIssue"), ("outcome", "completed")) >= 1);
        Assert.True(Value(text, "orchestrator_activity_retries_total", ("activity", "EnsureForgeIssue")) >= 1);
        Assert.True(Value(text, "orchestrator_platform_requests_total", ("platform", "github"), ("status", "429")) >= 1);
        Assert.True(Value(text, "orchestrator_platform_errors_total", ("platform", "github"), ("status", "429")) >= 1);
        Assert.True(Value(text, "orchestrator_platform_requests_total", ("platform", "plane"), ("status", "200")) >= 1);
        Assert.True(Value(text, "orchestrator_rate_limit_waits_total", ("platform", "github")) >= 1);
        Assert.True(Value(text, "orchestrator_rate_limit_wait_seconds_total", ("platform", "github")) > 0);
        Assert.Equal(1, Value(text, "orchestrator_tasks", ("project", "web"), ("status", "DEPLOYED")));
        Assert.Equal(1, Value(text, "orchestrator_agent_runs_running", ("project", "web")));
        Assert.Equal(0.42, Value(text, "orchestrator_agent_cost_usd_total", ("project", "web"), ("agent", "claude"), ("model", "claude-sonnet-4-5")), 6);
        Assert.Equal(1, Value(text, "orchestrator_agent_runs_total", ("project", "web"), ("agent", "claude"), ("outcome", "succeeded")));
        Assert.Equal(1200, Value(text, "orchestrator_agent_tokens_total", ("project", "web"), ("agent", "claude"), ("direction", "in")));
        Assert.True(Value(text, "orchestrator_queue_depth") >= 0);
        Assert.True(Value(text, "orchestrator_queue_oldest_pending_age_seconds") >= 0);
        Assert.Matches(new Regex(@"^orchestrator_work_items\{kind=""timer"",state=""pending""\} \d+", RegexOptions.Multiline), text); // CI poll and reconcile timers
        Assert.Contains("# TYPE orchestrator_activity_duration_seconds histogram", text, StringComparison.Ordinal);
        Assert.Contains("process_cpu_seconds_total", text, StringComparison.Ordinal);

        foreach (var secret in new[] { Harness.GitHubToken, Harness.PlaneToken, Harness.GitHubSecret, Harness.PlaneSecret, Harness.AdminToken, Harness.MasterKey, MetricsToken })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(h.Logs.Lines, l => l.Contains(MetricsToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_separate_metrics_listener_serves_only_metrics_and_the_main_listener_has_none()
    {
        await using var h = await Harness.StartAsync(s => s["METRICS_URLS"] = "http://127.0.0.1:0");
        var url = Assert.Single(h.App.Services.GetRequiredService<MetricsServer>().Urls);
        using var metrics = new HttpClient { BaseAddress = new Uri(url) };
        using var ok = await metrics.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Contains("orchestrator_queue_depth", await ok.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        foreach (var other in new[] { "/api/tasks", "/healthz", "/webhooks/github", "/p/web/analytics", "/" })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await metrics.GetAsync(other)).StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await h.Api.GetAsync("metrics")).StatusCode);
    }

    [Fact]
    public async Task A_separate_metrics_listener_with_a_token_requires_it()
    {
        await using var h = await Harness.StartAsync(s =>
        {
            s["METRICS_URLS"] = "http://127.0.0.1:0";
            s["METRICS_TOKEN"] = MetricsToken;
        });
        using var metrics = new HttpClient { BaseAddress = new Uri(h.App.Services.GetRequiredService<MetricsServer>().Urls[0]) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await metrics.GetAsync("/metrics")).StatusCode);
        metrics.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MetricsToken);
        Assert.Equal(HttpStatusCode.OK, (await metrics.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await h.Api.GetAsync("metrics")).StatusCode);
    }

    /// <summary>The value of the one sample of <paramref name="name"/> with exactly these labels (others may follow).</summary>
    private static double Value(string text, string name, params (string Key, string Value)[] labels)
    {
        foreach (var line in text.Split('\n'))
        {
            var match = SampleLine().Match(line);
            if (!match.Success || match.Groups["name"].Value != name)
            {
                continue;
            }

            var found = LabelPair().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            if (labels.All(l => found.TryGetValue(l.Key, out var v) && v == l.Value) && (labels.Length > 0 || found.Count == 0))
            {
                return double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        Assert.Fail($"no sample {name}{{{string.Join(",", labels.Select(l => $"{l.Key}=\"{l.Value}\""))}}} in\n{string.Join("\n", text.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal)))}");
        return double.NaN;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(\w+)=""([^""]*)""")]
    private static partial Regex LabelPair();
}

using System.Net;
using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Shared.ReadModel;
using Orchestrator.Tests.Integration.EndToEnd;

namespace Orchestrator.Tests.Integration.Web;

/// <summary>Issue #11 §2: <c>/p/{slug}/analytics</c> draws its charts as server-side SVG with the numbers beside them.</summary>
public sealed class AnalyticsPageTests
{
    [Fact]
    public async Task The_analytics_screen_draws_funnel_lead_time_trend_failures_and_cost_with_their_numbers()
    {
        await using var h = await WebAccessTests.StartAsync();
        await PipelineRun.ToDeployedAsync(h);

        // A failed task and an agent run beside the deployed one, written as the projection and the runner write them.
        var now = DateTimeOffset.UtcNow;
        await using (var batch = h.Db.DataSource.CreateBatch())
        {
            batch.BatchCommands.Add(ReadModelWriter.Upsert(new TaskRow("plane-failed", "web", "WEB-99", "Broken build", "FAILED", "FAILED", false, false, "plane", h.ProjectId, "wi-99",
                null, "github", Harness.Repo, 9, null, 10, null, "abc", "failure", null, "Ci", "CI failed on abc1234 (workflow_run: failure)", now.AddHours(-3), now.AddHours(-1), null)));
            batch.BatchCommands.Add(ReadModelWriter.Append(new TaskEventRecord("plane-failed", "web", "system", TaskEventTypes.StatusChanged, null,
                new Dictionary<string, object> { ["to"] = "RECEIVED", ["reason"] = "received from Plane" }, null, now.AddHours(-3))));
            batch.BatchCommands.Add(ReadModelWriter.Append(new TaskEventRecord("plane-failed", "web", "system", TaskEventTypes.StatusChanged, null,
                new Dictionary<string, object> { ["from"] = "WAITING_CI", ["to"] = "FAILED", ["reason"] = "CI failed on abc1234 (workflow_run: failure)" }, null, now.AddHours(-1))));
            await batch.ExecuteNonQueryAsync();
        }

        await h.Db.ExecuteAsync("""
            INSERT INTO agent_runs (instance_id, project, stage, agent, kind, model, started_at, finished_at, tokens_in, tokens_out, cost_usd)
            VALUES ('roles-plane-failed', 'web', 'development', 'claude', 'ClaudeCode', 'claude-sonnet-4-5', now() - interval '2 hours', now() - interval '90 minutes', 1000, 100, 0.42)
            """);

        using var admin = await WebAccessTests.InitAdminAsync(h);
        var (status, page, response) = await admin.GetAsync("/p/web/analytics");
        Assert.Equal(HttpStatusCode.OK, status);
        var charts = page.QuerySelectorAll("svg.chart").ToList();
        Assert.Equal(5, charts.Count); // funnel, lead-time distribution, trend, failures, cost
        Assert.All(charts, c => Assert.Equal("img", c.GetAttribute("role")));
        var bars = page.QuerySelectorAll("svg.hbars").ToList(); // the funnel's and the failures'
        Assert.Equal(6, bars[0].QuerySelectorAll("rect.bar").Length);
        Assert.Empty(page.QuerySelectorAll("[style]")); // the CSP forbids inline styles: classes and attributes only
        Assert.Empty(page.QuerySelectorAll("script:not([src])"));
        Assert.Contains("analytics", page.QuerySelector("nav.tabs a[aria-current='page']")!.GetAttribute("href"), StringComparison.Ordinal);

        string Stat(string name) => page.QuerySelector($"[data-stat='{name}']")!.TextContent.Trim();
        Assert.Equal("2", Stat("received"));
        Assert.Equal("1", Stat("deployed"));
        Assert.Equal("1", Stat("open-failures"));
        Assert.Equal("0.42 USD", Stat("cost"));
        Assert.True(double.Parse(page.QuerySelector("[data-stat='lead-p50']")!.GetAttribute("data-seconds")!, System.Globalization.CultureInfo.InvariantCulture) > 0);

        string Cell(string row, int column) => page.QuerySelector(row)!.QuerySelectorAll("td")[column].TextContent.Trim();
        Assert.Equal("2", Cell("#funnel-table tr[data-step='autotask']", 1));
        Assert.Equal("1", Cell("#funnel-table tr[data-step='deployed']", 1));
        Assert.Equal("50 %", Cell("#funnel-table tr[data-step='autotask']", 2)); // the failed task never had an issue
        Assert.Equal("1", Cell("#failures-table tr[data-category='ci_red']", 1));
        Assert.Equal("1", Cell("#stage-table tr[data-stage='merge_to_ci']", 1));
        Assert.Contains("0.42 USD", page.QuerySelector("#cost-table")!.TextContent, StringComparison.Ordinal);
        Assert.Contains("claude-sonnet-4-5", page.QuerySelector("#cost-table")!.TextContent, StringComparison.Ordinal);
        Assert.Contains("CI red: 1", bars[1].InnerHtml, StringComparison.Ordinal);
        Assert.NotNull(page.QuerySelector("link[href='/css/analytics.css']"));

        using var css = await admin.Http.GetAsync("/css/analytics.css");
        Assert.Equal(HttpStatusCode.OK, css.StatusCode);
        Assert.Contains("svg.chart .bar", await css.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);

        var (week, weekPage, _) = await admin.GetAsync("/p/web/analytics?days=7");
        Assert.Equal(HttpStatusCode.OK, week);
        Assert.Equal("true", weekPage.QuerySelector("a.chip[href$='days=7']")!.GetAttribute("aria-current"));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/p/nope/analytics")).Status);

        using var stranger = new Browserless(h.HostUrl);
        var (anonymous, _, redirect) = await stranger.GetAsync("/p/web/analytics");
        Assert.Equal(HttpStatusCode.Redirect, anonymous);
        Assert.StartsWith("/login?returnUrl=", redirect.Headers.Location?.OriginalString, StringComparison.Ordinal);
    }
}

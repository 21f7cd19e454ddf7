using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Shared.Accounts;
using Orchestrator.Tests.Integration.EndToEnd;
using Orchestrator.Tests.Integration.Projects;

namespace Orchestrator.Tests.Integration.Analytics;

/// <summary>Issue #11 §2 over HTTP: the /api/v1 analytics of a real pipeline run, range validation and access rules.</summary>
public sealed class AnalyticsApiTests
{
    private static async Task<JsonObject> GetJsonAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
        return (JsonObject)JsonNode.Parse(text)!;
    }

    [Fact]
    public async Task A_deployed_pipeline_run_shows_in_summary_funnel_lead_time_events_failures_cost_and_health()
    {
        await using var h = await Harness.StartAsync();
        var (id, _) = await PipelineRun.ToDeployedAsync(h);

        // The expected lead time, from the events themselves: first event → the transition into DEPLOYED.
        var lead = await h.Db.ScalarAsync<double>("""
            SELECT extract(epoch FROM (SELECT created_at FROM task_events WHERE task_id = @id AND event_type = 'status_changed' AND summary ->> 'to' = 'DEPLOYED')
                                    - (SELECT min(created_at) FROM task_events WHERE task_id = @id))::float8
            """, ("id", id));
        Assert.True(lead > 0);

        var summary = await GetJsonAsync(h.Api, "api/v1/projects/web/summary");
        Assert.Equal("web", (string)summary["project"]!);
        Assert.Equal(1, (long)summary["tasks"]!["total"]!);
        Assert.Equal(1, (long)summary["tasks"]!["by_status"]!["DEPLOYED"]!);
        Assert.Equal((1L, 1L, 0L, 0L), ((long)summary["received"]!, (long)summary["deployed"]!, (long)summary["open_failures"]!, (long)summary["failed_in_range"]!));
        Assert.Equal(lead, (double)summary["lead_time_p50_seconds"]!, 3);
        Assert.Equal(lead, (double)summary["lead_time_p90_seconds"]!, 3);
        Assert.Equal(0m, (decimal)summary["cost"]!["cost"]!["amount"]!);
        Assert.Equal("USD", (string)summary["cost"]!["cost"]!["currency"]!);
        Assert.True(DateTimeOffset.Parse((string)summary["to"]!, System.Globalization.CultureInfo.InvariantCulture) - DateTimeOffset.Parse((string)summary["from"]!, System.Globalization.CultureInfo.InvariantCulture) == TimeSpan.FromDays(30));

        var funnel = await GetJsonAsync(h.Api, "api/v1/projects/web/funnel");
        Assert.Equal([1L, 1L, 1L, 1L, 1L, 1L], funnel["steps"]!.AsArray().Select(s => (long)s!["count"]!));
        Assert.Equal(1.0, (double)funnel["steps"]![0]!["conversion_to_next"]!);

        var leadTime = await GetJsonAsync(h.Api, "api/v1/projects/web/lead-time");
        Assert.Equal(1, (long)leadTime["total"]!["count"]!);
        Assert.Equal(lead, (double)leadTime["total"]!["max_seconds"]!, 3);
        Assert.Equal(1, leadTime["histogram"]!.AsArray().Sum(b => (long)b!["count"]!));
        Assert.All(leadTime["stages"]!.AsArray(), s => Assert.Equal(1, (long)s!["stats"]!["count"]!)); // CI required: merge → CI done too
        Assert.Equal(1, leadTime["weeks"]!.AsArray().Sum(w => (long)w!["deployed"]!));

        var events = await GetJsonAsync(h.Api, $"api/v1/projects/web/tasks/{id}/events?limit=200");
        var types = events["events"]!.AsArray().Select(e => (string)e!["event_type"]!).ToList();
        Assert.Contains("issue_created", types);
        Assert.Contains("pr_merged", types);
        var ids = events["events"]!.AsArray().Select(e => (long)e!["id"]!).ToList();
        Assert.Equal(ids.OrderDescending(), ids); // newest first
        Assert.Contains(events["events"]!.AsArray(), e => (string)e!["event_type"]! == "status_changed" && (string?)e["summary"]!["to"] == "DEPLOYED");
        Assert.Equal(HttpStatusCode.NotFound, (await h.Api.GetAsync("api/v1/projects/web/tasks/plane-nope/events")).StatusCode);

        Assert.Equal(0, (long)(await GetJsonAsync(h.Api, "api/v1/projects/web/failures"))["total"]!);
        var cost = await GetJsonAsync(h.Api, "api/v1/projects/web/cost");
        Assert.Equal(0, (long)cost["total"]!["runs"]!);

        // Webhook statistics of the project's per-project endpoints (the harness posts to the host-wide ones).
        var hour = DateTimeOffset.UtcNow.AddHours(-2);
        hour = new DateTimeOffset(hour.Year, hour.Month, hour.Day, hour.Hour, 0, 0, TimeSpan.Zero);
        await h.Db.ExecuteAsync($"""
            INSERT INTO webhook_stats (project_slug, source, hour, accepted, duplicate, refused, failed) VALUES
              ('web', 'github', '{hour:O}', 5, 1, 2, 1), ('web', 'github', '{hour.AddHours(1):O}', 3, 0, 0, 0), ('web', 'plane', '{hour:O}', 4, 0, 1, 0)
            """);
        var webhooks = await GetJsonAsync(h.Api, "api/v1/projects/web/webhooks/health");
        var sources = webhooks["sources"]!.AsArray();
        Assert.Equal(["plane", "github"], sources.Select(s => (string)s!["source"]!));
        var github = sources[1]!;
        Assert.Equal("forge", (string)github["role"]!);
        Assert.Equal((8L, 1L, 2L, 1L), ((long)github["totals"]!["accepted"]!, (long)github["totals"]!["duplicate"]!, (long)github["totals"]!["refused_signature"]!, (long)github["totals"]!["failed"]!));
        Assert.Equal(2, github["hourly"]!.AsArray().Count);
        Assert.Equal(8, github["daily"]!.AsArray().Sum(d => (long)d!["accepted"]!));
        Assert.Equal(4, (long)sources[0]!["totals"]!["accepted"]!);

        var jobs = await GetJsonAsync(h.Api, "api/v1/projects/web/jobs/health");
        Assert.True((long)jobs["dead"]! == 0, $"dead work after a clean run: {jobs.ToJsonString()}");
        Assert.Equal(0, (long)jobs["queue_depth"]!);
        Assert.Empty(jobs["running_agents"]!.AsArray());
    }

    [Fact]
    public async Task Ranges_are_validated_and_access_needs_the_projects_viewer_role()
    {
        await using var h = await Harness.StartAsync();
        var endpoints = new[] { "summary", "funnel", "lead-time", "failures", "cost", "webhooks/health", "jobs/health", "tasks/WEB-1/events" };
        foreach (var e in endpoints)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await h.Anonymous.GetAsync($"api/v1/projects/web/{e}")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await h.Api.GetAsync($"api/v1/projects/nope/{e}")).StatusCode);
        }

        // A project API token reaches its own project only: another project's analytics are 404, as if it did not exist.
        using var create = await h.Api.PostAsync("api/projects", new StringContent(ProjectsApiTests.Body("shop").ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        var (shopToken, _) = await accounts.CreateApiTokenAsync("shop", "dash", ProjectRole.Viewer, null);
        using var shop = new HttpClient { BaseAddress = h.HostUrl };
        shop.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", shopToken);
        foreach (var e in endpoints.Take(7))
        {
            Assert.Equal(HttpStatusCode.NotFound, (await shop.GetAsync($"api/v1/projects/web/{e}")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await shop.GetAsync($"api/v1/projects/shop/{e}")).StatusCode);
        }

        foreach (var (query, why) in new[]
        {
            ("from=yesterday", "not an ISO 8601 time"), ("to=2025-13-45", "not an ISO 8601 time"), ("from=06/01/2025", "not an ISO 8601 time"),
            ("from=2025-06-02&to=2025-06-01", "is after"), ("from=2024-01-01&to=2025-06-01", "at most 366 days"),
        })
        {
            using var response = await h.Api.GetAsync($"api/v1/projects/web/summary?{query}");
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(why, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var explicitRange = await GetJsonAsync(h.Api, "api/v1/projects/web/summary?from=2025-06-01&to=2025-06-01T12:00:00%2B02:00");
        Assert.Equal("2025-06-01T00:00:00+00:00", (string)explicitRange["from"]!);
        Assert.Equal("2025-06-01T10:00:00+00:00", (string)explicitRange["to"]!);
        var unencodedPlus = await GetJsonAsync(h.Api, "api/v1/projects/web/lead-time?from=2025-06-01T00:00:00+02:00&to=2025-06-03");
        Assert.Equal("2025-05-31T22:00:00+00:00", (string)unencodedPlus["from"]!);
        Assert.Equal(HttpStatusCode.BadRequest, (await h.Api.GetAsync("api/v1/projects/web/tasks/WEB-1/events?limit=0")).StatusCode);
    }
}

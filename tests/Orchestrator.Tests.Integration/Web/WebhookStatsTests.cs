using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Functions.Functions;
using Orchestrator.Shared.Webhooks;
using Orchestrator.Tests.Integration.EndToEnd;

namespace Orchestrator.Tests.Integration.Web;

/// <summary>Issue #9 §2.1: every webhook answer is counted per project, source and hour; unknown slugs write nothing.</summary>
public sealed class WebhookStatsTests
{
    [Fact]
    public async Task Deliveries_to_a_project_endpoint_are_counted_per_outcome_and_unknown_slugs_write_no_row()
    {
        await using var world = await GiteaProject.StartAsync();
        var h = world.H;
        var body = Encoding.UTF8.GetBytes("""{"zen":"counted"}""");

        Assert.Equal(HttpStatusCode.Accepted, await PostGiteaAsync(h, "webhooks/gitea/gt", body, GiteaProject.WebhookSecret, "delivery-1"));
        Assert.Equal(HttpStatusCode.Accepted, await PostGiteaAsync(h, "webhooks/gitea/gt", body, GiteaProject.WebhookSecret, "delivery-1")); // duplicate
        Assert.Equal(HttpStatusCode.Unauthorized, await PostGiteaAsync(h, "webhooks/gitea/gt", body, "not-the-secret", "delivery-2"));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostGiteaAsync(h, "webhooks/gitea/gt", body, "not-the-secret", "delivery-3"));
        Assert.Equal(HttpStatusCode.BadRequest, await PostGiteaAsync(h, "webhooks/gitea/gt", Encoding.UTF8.GetBytes("{not json"), GiteaProject.WebhookSecret, "delivery-4"));

        // Nothing is written for an unknown slug, nor for a side the project does not have (it has no GitHub).
        Assert.True((await PostGiteaAsync(h, "webhooks/gitea/no-such-project", body, "guess", "delivery-5")) is HttpStatusCode.NotFound or HttpStatusCode.Unauthorized);
        Assert.True((await PostGiteaAsync(h, "webhooks/github/gt", body, "guess", "delivery-6")) is HttpStatusCode.NotFound or HttpStatusCode.Unauthorized);
        using (var asana = await h.Anonymous.PostAsync("webhooks/asana/no-such-project?resource=1", new StringContent("{}")))
        {
            Assert.True(asana.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Unauthorized);
        }

        // A host-wide endpoint counts under project NULL.
        using (var global = new HttpRequestMessage(HttpMethod.Post, "webhooks/github") { Content = new ByteArrayContent(body) })
        {
            global.Headers.Add("X-Hub-Signature-256", "sha256=" + new string('0', 64));
            global.Headers.Add("X-GitHub-Event", "ping");
            using var response = await h.Anonymous.SendAsync(global);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        // Counted after each answer went out: wait for the last one.
        await Harness.EventuallyAsync(
            async () => await h.Db.ScalarAsync<long>("SELECT COALESCE(sum(refused), 0) FROM webhook_stats WHERE project_slug IS NULL") == 1
                && await h.Db.ScalarAsync<long>("SELECT COALESCE(sum(accepted + duplicate + refused + failed), 0) FROM webhook_stats WHERE project_slug = 'gt'") == 5,
            "the statistics of every request", seconds: 10);
        await Task.Delay(300); // Anything wrongly counted would have landed by now.

        Assert.Equal(1L, await Sum(h, "accepted"));
        Assert.Equal(1L, await Sum(h, "duplicate"));
        Assert.Equal(2L, await Sum(h, "refused"));
        Assert.Equal(1L, await Sum(h, "failed"));
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM webhook_stats WHERE project_slug IS NOT NULL AND (project_slug <> 'gt' OR source <> 'gitea')"));
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM webhook_stats WHERE project_slug IS NULL AND source <> 'github'"));
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM webhook_stats WHERE hour <> date_trunc('hour', hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"));

        var totals = await h.App.Services.GetRequiredService<WebhookStats>().TotalsAsync("gt", DateTimeOffset.UtcNow.AddDays(-1));
        var gitea = Assert.Single(totals).Value;
        Assert.Equal(("gitea", 1L, 1L, 2L, 1L), (gitea.Source, gitea.Accepted, gitea.Duplicate, gitea.Refused, gitea.Failed));
        world.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Recording_for_an_unknown_project_or_a_side_it_lacks_writes_nothing_and_counts_add_up_in_one_row()
    {
        await using var world = await GiteaProject.StartAsync();
        var stats = world.H.App.Services.GetRequiredService<WebhookStats>();
        var at = new DateTimeOffset(2030, 1, 2, 3, 45, 6, TimeSpan.FromHours(2));

        Assert.False(await stats.RecordAsync("no-such-project", "gitea", WebhookOutcome.Refused, at));
        Assert.False(await stats.RecordAsync("gt", "asana", WebhookOutcome.Refused, at));
        Assert.True(await stats.RecordAsync("gt", "plane", WebhookOutcome.Accepted, at));
        Assert.True(await stats.RecordAsync("gt", "plane", WebhookOutcome.Accepted, at.AddMinutes(10)));
        Assert.True(await stats.RecordAsync(null, "plane", WebhookOutcome.Failed, at));
        await Assert.ThrowsAsync<ArgumentException>(() => stats.RecordAsync("gt", "jira", WebhookOutcome.Accepted, at));

        Assert.Equal(1L, await world.H.Db.ScalarAsync<long>("SELECT count(*) FROM webhook_stats WHERE project_slug = 'gt'"));
        Assert.Equal(new DateTime(2030, 1, 2, 1, 0, 0, DateTimeKind.Utc), await world.H.Db.ScalarAsync<DateTime>("SELECT hour FROM webhook_stats WHERE project_slug = 'gt'"));
        var daily = await stats.SeriesAsync("gt", at.AddDays(-1), at.AddDays(1), perDay: true);
        var day = Assert.Single(daily);
        Assert.Equal((new DateTimeOffset(2030, 1, 2, 0, 0, 0, TimeSpan.Zero), "plane", 2L), (day.Start, day.Source, day.Accepted));
        Assert.Equal(WebhookOutcome.Failed, WebhookStatsFilter.Classify(429, null));
        Assert.Null(WebhookStatsFilter.Classify(200, "heartbeat"));
        Assert.Null(WebhookStatsFilter.Classify(404, null));
    }

    private static Task<long> Sum(Harness h, string column) =>
        h.Db.ScalarAsync<long>($"SELECT COALESCE(sum({column}), 0) FROM webhook_stats WHERE project_slug = 'gt' AND source = 'gitea'");

    private static async Task<HttpStatusCode> PostGiteaAsync(Harness h, string path, byte[] body, string secret, string deliveryId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-Gitea-Signature", Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)));
        request.Headers.Add("X-Gitea-Delivery", deliveryId);
        request.Headers.Add("X-Gitea-Event", "ping");
        using var response = await h.Anonymous.SendAsync(request);
        return response.StatusCode;
    }
}

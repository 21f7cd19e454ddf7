using Orchestrator.Shared.ReadModel;
using Orchestrator.Shared.Webhooks;
using static Orchestrator.Tests.Integration.Analytics.AnalyticsSeed;

namespace Orchestrator.Tests.Integration.Analytics;

/// <summary>Issue #11 §2: every analytics report computes the exact figures of a seeded read model (<see cref="AnalyticsSeed"/>).</summary>
public sealed class AnalyticsQueriesTests
{
    private static AnalyticsQueries Queries(Support.TestDatabase db) => new(db.DataSource, new WebhookStats(db.DataSource));

    [Fact]
    public async Task Summary_counts_tasks_by_status_deployed_in_range_with_median_and_p90_lead_time_open_failures_and_cost()
    {
        await using var db = await SeedAsync();
        var s = await Queries(db).SummaryAsync(Project, From, To, CancellationToken.None);

        Assert.Equal(7L, s.Tasks.Total);
        Assert.Equal(3L, s.Tasks.ByStatus["DEPLOYED"]);
        Assert.Equal(3L, s.Tasks.ByStatus["FAILED"]);
        Assert.Equal(1L, s.Tasks.ByStatus["RECEIVED"]);
        Assert.Equal(0L, s.Tasks.ByStatus["PR_CREATED"]);
        Assert.Equal(5L, s.Received); // a, b, c, d, f (d's second RECEIVED is a retry)
        Assert.Equal(3L, s.Deployed); // a once, b, e
        Assert.Equal(LeadA, s.LeadTimeP50Seconds); // sorted 8,400 / 9,000 / 777,600
        Assert.Equal(LeadA + ((LeadE - LeadA) * 0.8), s.LeadTimeP90Seconds!.Value, 6);
        Assert.Equal(3L, s.OpenFailures);
        Assert.Equal(5L, s.FailedInRange); // a (after deploy), c, d twice, f
        Assert.Equal(new Money(3.75m, "USD"), s.Cost.Cost);
        Assert.Equal((3L, 1_800L, 350L), (s.Cost.Runs, s.Cost.TokensIn, s.Cost.TokensOut));
    }

    [Fact]
    public async Task Summary_of_an_empty_range_or_project_has_zero_counts_and_no_lead_time()
    {
        await using var db = await SeedAsync();
        var s = await Queries(db).SummaryAsync(Project, T0.AddYears(-1), T0.AddYears(-1).AddDays(1), CancellationToken.None);
        Assert.Equal((0L, 0L, 0L), (s.Received, s.Deployed, s.FailedInRange));
        Assert.Null(s.LeadTimeP50Seconds);
        Assert.Equal(0m, s.Cost.Cost.Amount);
        Assert.Equal(7L, s.Tasks.Total); // counts are now, not of the range

        var none = await Queries(db).SummaryAsync("nobody", From, To, CancellationToken.None);
        Assert.Equal((0L, 0L), (none.Tasks.Total, none.Deployed));
    }

    [Fact]
    public async Task Funnel_follows_the_tasks_received_in_range_and_converts_step_to_step()
    {
        await using var db = await SeedAsync();
        var f = await Queries(db).FunnelAsync(Project, From, To, CancellationToken.None);

        Assert.Equal(["autotask", "issue", "pr", "merged", "ci_success", "deployed"], f.Steps.Select(s => s.Step));
        Assert.Equal([5L, 4L, 3L, 3L, 2L, 2L], f.Steps.Select(s => s.Count)); // b deployed without CI counts as passed
        Assert.Equal([0.8, 0.75, 1.0, Math.Round(2.0 / 3, 6), 1.0], f.Steps.Take(5).Select(s => Math.Round(s.ConversionToNext!.Value, 6)));
        Assert.Null(f.Steps[^1].ConversionToNext);
    }

    [Fact]
    public async Task Lead_time_has_statistics_histogram_stages_and_weeks()
    {
        await using var db = await SeedAsync();
        var l = await Queries(db).LeadTimeAsync(Project, From, To, CancellationToken.None);

        Assert.Equal(3L, l.Total.Count);
        Assert.Equal((LeadA, LeadB, LeadE), (l.Total.P50Seconds!.Value, l.Total.MinSeconds!.Value, l.Total.MaxSeconds!.Value));
        Assert.Equal((LeadA + LeadB + LeadE) / 3, l.Total.MeanSeconds!.Value, 6);
        Assert.Equal(10, l.Histogram.Count);
        Assert.Equal(2L, l.Histogram.Single(h => h.Label == "1–4 h").Count);
        Assert.Equal(1L, l.Histogram.Single(h => h.Label == "7–14 d").Count);
        Assert.Equal(3L, l.Histogram.Sum(h => h.Count));

        var stages = l.Stages.ToDictionary(s => s.Stage, s => s.Stats);
        Assert.Equal((3L, 600.0), (stages["received_to_issue"].Count, stages["received_to_issue"].P50Seconds!.Value)); // 100 / 600 / 1,200
        Assert.Equal((3L, 3_000.0), (stages["issue_to_pr"].Count, stages["issue_to_pr"].P50Seconds!.Value)); // 100 / 3,000 / 3,600
        Assert.Equal((3L, 3_600.0), (stages["pr_to_merge"].Count, stages["pr_to_merge"].P50Seconds!.Value)); // 100 / 3,600 / 3,600
        Assert.Equal((2L, 1_800.0, 777_300.0), (stages["merge_to_ci"].Count, stages["merge_to_ci"].MinSeconds!.Value, stages["merge_to_ci"].MaxSeconds!.Value));

        Assert.Equal([T0, T0.AddDays(7)], l.Weeks.Select(w => w.WeekStart));
        Assert.Equal([3L, 0L], l.Weeks.Select(w => w.Deployed));
        Assert.Equal(LeadA, l.Weeks[0].P50Seconds);
        Assert.Null(l.Weeks[1].P50Seconds);
    }

    [Fact]
    public async Task Failures_are_categorised_with_counts_distinct_tasks_and_newest_examples()
    {
        await using var db = await SeedAsync();
        var r = await Queries(db).FailuresAsync(Project, From, To, CancellationToken.None);

        Assert.Equal(5L, r.Total);
        Assert.False(r.Truncated);
        var byCategory = r.Categories.ToDictionary(c => c.Category);
        Assert.Equal(["ci_red", "budget_exceeded", "tracker_api_error", "spec_invalid"], r.Categories.Select(c => c.Category));
        Assert.Equal((2L, 2L), (byCategory["ci_red"].Count, byCategory["ci_red"].Tasks));
        Assert.Equal(["a", "c"], byCategory["ci_red"].Examples.Select(e => e.TaskId)); // newest first
        Assert.Equal("A", byCategory["ci_red"].Examples[0].TaskKey);
        Assert.Equal("CI red", byCategory["ci_red"].Label);
        Assert.Equal("f", byCategory["budget_exceeded"].Examples.Single().TaskId);
        Assert.Equal("d", byCategory["spec_invalid"].Examples.Single().TaskId);
        Assert.StartsWith("PrepareTaskSpec failed", byCategory["tracker_api_error"].Examples.Single().Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cost_is_summed_per_stage_agent_and_vendor_model_task_and_week()
    {
        await using var db = await SeedAsync();
        var c = await Queries(db).CostAsync(Project, From, To, CancellationToken.None);

        Assert.Equal(new Money(3.75m, "USD"), c.Total.Cost);
        Assert.Equal([("development", 3.50m, 2L), ("review", 0.25m, 1L)], c.ByStage.Select(s => (s.Stage, s.Totals.Cost.Amount, s.Totals.Runs)));
        Assert.Equal([("claude", "ClaudeCode", 3.50m), ("codex", "Codex", 0.25m)], c.ByAgent.Select(a => (a.Agent, a.Vendor, a.Totals.Cost.Amount)));
        Assert.Equal([("claude-sonnet-4-5", 3.50m), ("gpt-5", 0.25m)], c.ByModel.Select(m => (m.Model, m.Totals.Cost.Amount)));
        Assert.Equal([("f", "F", 2.00m), ("a", "A", 1.75m)], c.ByTask.Select(t => (t.TaskId, t.TaskKey, t.Totals.Cost.Amount)));
        Assert.Equal(2L, c.Tasks);
        Assert.Equal([(T0, 3.75m), (T0.AddDays(7), 0m)], c.Weeks.Select(w => (w.WeekStart, w.Totals.Cost.Amount)));
        Assert.All(c.ByTask, t => Assert.Equal("USD", t.Totals.Cost.Currency));
    }

    [Fact]
    public async Task Jobs_health_counts_the_projects_queue_depth_oldest_age_retries_dead_work_and_running_agents()
    {
        await using var db = await SeedAsync();
        var now = T0.AddDays(9).AddHours(1);
        await SeedQueueAsync(db, now);
        var j = await Queries(db).JobsHealthAsync(Project, now, CancellationToken.None);

        Assert.Equal(1L, j.QueueDepth); // c's due activity; the timer is not due; x1 is another project's
        Assert.Equal(60.0, j.OldestPendingAgeSeconds!.Value, 3);
        Assert.Equal((1L, 1L, 1L), (j.Retrying, j.Running, j.Dead));
        Assert.Equal((2L, 1L), (j.ByKind.Single(k => k.Kind == "activity").Pending + j.ByKind.Single(k => k.Kind == "timer").Pending, j.ByKind.Single(k => k.Kind == "activity").Dead));
        var dead = Assert.Single(j.DeadWork);
        Assert.Equal(("PrepareTaskSpec", "d", 6), (dead.Name, dead.InstanceId, dead.Attempts));
        var run = Assert.Single(j.RunningAgents);
        Assert.Equal(("f", "review", 3600.0), (run.TaskId, run.Stage, run.RunningSeconds));
    }
}

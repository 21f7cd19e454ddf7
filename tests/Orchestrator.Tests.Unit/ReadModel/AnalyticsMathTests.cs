using Orchestrator.Shared.ReadModel;

namespace Orchestrator.Tests.Unit.ReadModel;

/// <summary>The analytics' statistics and failure categories, without a database.</summary>
public sealed class AnalyticsMathTests
{
    [Fact]
    public void Percentiles_interpolate_between_ranks_like_percentile_cont()
    {
        double[] sorted = [10, 20, 30, 40];
        Assert.Equal(25, AnalyticsMath.Percentile(sorted, 0.5));
        Assert.Equal(37, AnalyticsMath.Percentile(sorted, 0.9)!.Value, 9);
        Assert.Equal(10, AnalyticsMath.Percentile(sorted, 0));
        Assert.Equal(40, AnalyticsMath.Percentile(sorted, 1));
        Assert.Equal(7, AnalyticsMath.Percentile([7], 0.9));
        Assert.Null(AnalyticsMath.Percentile([], 0.5));
    }

    [Fact]
    public void Describe_gives_count_p50_p90_mean_min_max_in_any_order()
    {
        var d = AnalyticsMath.Describe([300, 100, 200]);
        Assert.Equal((3L, 200.0, 280.0, 200.0, 100.0, 300.0), (d.Count, d.P50Seconds!.Value, d.P90Seconds!.Value, d.MeanSeconds!.Value, d.MinSeconds!.Value, d.MaxSeconds!.Value));
        var empty = AnalyticsMath.Describe([]);
        Assert.Equal(0, empty.Count);
        Assert.Null(empty.P50Seconds);
    }

    [Fact]
    public void The_histogram_has_every_bucket_with_inclusive_lower_bounds()
    {
        var h = AnalyticsMath.Histogram([0, 3_599, 3_600, 86_399, 86_400, 40 * 86_400]);
        Assert.Equal(10, h.Count);
        Assert.Equal((0.0, 3_600.0, 2L), (h[0].FromSeconds, h[0].ToSeconds!.Value, h[0].Count));
        Assert.Equal(1L, h[1].Count); // 3,600 starts "1–4 h"
        Assert.Equal(1L, h.Single(b => b.Label == "12–24 h").Count);
        Assert.Equal(1L, h.Single(b => b.Label == "1–2 d").Count);
        Assert.Equal((1L, (double?)null), (h[^1].Count, h[^1].ToSeconds));
    }

    [Fact]
    public void Weeks_start_on_Monday_in_UTC_and_cover_the_range()
    {
        var sunday = new DateTimeOffset(2026, 1, 11, 23, 0, 0, TimeSpan.FromHours(-3)); // Monday 02:00 UTC
        Assert.Equal(new DateTimeOffset(2026, 1, 12, 0, 0, 0, TimeSpan.Zero), AnalyticsMath.WeekOf(sunday));
        var weeks = AnalyticsMath.Weeks(new DateTimeOffset(2026, 1, 7, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 1, 19, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal([new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 1, 12, 0, 0, 0, TimeSpan.Zero)], weeks); // the end is exclusive
    }

    [Theory]
    [InlineData("CI failed on abc1234 (workflow_run: failure)", FailureCategories.CiRed)]
    [InlineData("CI failed on abc1234 after the deploy (check_suite: failure)", FailureCategories.CiRed)]
    [InlineData("CI failed on abc1234 (workflow_run: timed_out)", FailureCategories.CiTimeout)]
    [InlineData("CI did not finish within 2h of the merge", FailureCategories.CiTimeout)]
    [InlineData("Role pipeline FAILED: Failed: budget exceeded before review (The project budget is used up.)", FailureCategories.BudgetExceeded)]
    [InlineData("Role pipeline FAILED: Failed: review gate failed", FailureCategories.AgentFailed)]
    [InlineData("StartRolePipeline failed after 3 attempt(s): .orchestrator/pipeline.yml is invalid", FailureCategories.AgentFailed)]
    [InlineData("PrepareTaskSpec failed after 6 attempt(s): Plane answered 503", FailureCategories.TrackerApiError)]
    [InlineData("EnsureForgeIssue failed after 6 attempt(s): GitHub answered 502", FailureCategories.ForgeApiError)]
    [InlineData("The work item has no description and acceptance criteria", FailureCategories.SpecInvalid)]
    [InlineData("something new", FailureCategories.Other)]
    [InlineData(null, FailureCategories.Other)]
    public void Failure_reasons_fall_into_their_category(string? reason, string category) =>
        Assert.Equal(category, FailureCategories.Classify(reason));

    [Fact]
    public void Every_category_has_a_label() =>
        Assert.All(FailureCategories.All, c => Assert.Equal(c.Label, FailureCategories.LabelOf(c.Category)));
}

using System.Text.Json.Serialization;

namespace Orchestrator.Shared.ReadModel;

/// <summary>
/// Statistics of durations as the analytics API reports them: percentiles by linear interpolation between the closest
/// ranks (PostgreSQL's <c>percentile_cont</c>), lead-time histogram buckets, UTC weeks starting on Monday. Pure, so the
/// figures can be checked without a database.
/// </summary>
public static class AnalyticsMath
{
    /// <summary>Upper bounds (seconds, exclusive) of the lead-time histogram's buckets; the last bucket has none.</summary>
    public static readonly IReadOnlyList<double> HistogramBounds =
    [
        3_600, 4 * 3_600, 12 * 3_600, 86_400, 2 * 86_400, 3 * 86_400, 7 * 86_400, 14 * 86_400, 30 * 86_400,
    ];

    private static readonly string[] HistogramLabels =
        ["< 1 h", "1–4 h", "4–12 h", "12–24 h", "1–2 d", "2–3 d", "3–7 d", "7–14 d", "14–30 d", "≥ 30 d"];

    /// <summary>The <paramref name="fraction"/> percentile of sorted values, interpolated; <c>null</c> when there are none.</summary>
    /// <param name="sorted">Values in ascending order.</param>
    /// <param name="fraction">0 to 1 (0.5 = median).</param>
    /// <returns>The percentile.</returns>
    public static double? Percentile(IReadOnlyList<double> sorted, double fraction)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        ArgumentOutOfRangeException.ThrowIfLessThan(fraction, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fraction, 1);
        if (sorted.Count == 0)
        {
            return null;
        }

        var rank = fraction * (sorted.Count - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + ((sorted[high] - sorted[low]) * (rank - low));
    }

    /// <summary>Count, p50, p90, mean, min and max of durations in seconds (all <c>null</c> but the count when empty).</summary>
    /// <param name="seconds">Durations, any order.</param>
    /// <returns>The statistics.</returns>
    public static DurationStats Describe(IEnumerable<double> seconds)
    {
        ArgumentNullException.ThrowIfNull(seconds);
        var sorted = seconds.Order().ToArray();
        return sorted.Length == 0
            ? new DurationStats(0, null, null, null, null, null)
            : new DurationStats(sorted.Length, Percentile(sorted, 0.5), Percentile(sorted, 0.9), sorted.Average(), sorted[0], sorted[^1]);
    }

    /// <summary>The lead-time histogram: every bucket of <see cref="HistogramBounds"/>, empty ones included.</summary>
    /// <param name="seconds">Durations in seconds.</param>
    /// <returns>Buckets from the shortest to the longest.</returns>
    public static IReadOnlyList<HistogramBucket> Histogram(IEnumerable<double> seconds)
    {
        ArgumentNullException.ThrowIfNull(seconds);
        var counts = new long[HistogramBounds.Count + 1];
        foreach (var s in seconds)
        {
            var i = 0;
            while (i < HistogramBounds.Count && s >= HistogramBounds[i])
            {
                i++;
            }

            counts[i]++;
        }

        return [.. counts.Select((count, i) => new HistogramBucket(
            i == 0 ? 0 : HistogramBounds[i - 1], i < HistogramBounds.Count ? HistogramBounds[i] : null, HistogramLabels[i], count))];
    }

    /// <summary>Start (Monday 00:00 UTC) of the UTC week <paramref name="at"/> falls in.</summary>
    /// <param name="at">A time.</param>
    /// <returns>The week's start, offset zero.</returns>
    public static DateTimeOffset WeekOf(DateTimeOffset at)
    {
        var utc = at.ToUniversalTime();
        var day = new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero);
        var sinceMonday = ((int)day.DayOfWeek + 6) % 7;
        return day.AddDays(-sinceMonday);
    }

    /// <summary>Every week start from the week of <paramref name="from"/> to the week of the last instant before <paramref name="to"/>.</summary>
    /// <param name="from">Range start.</param>
    /// <param name="to">Range end (exclusive).</param>
    /// <returns>Week starts, oldest first.</returns>
    public static IReadOnlyList<DateTimeOffset> Weeks(DateTimeOffset from, DateTimeOffset to)
    {
        var weeks = new List<DateTimeOffset>();
        var last = WeekOf(to > from ? to.AddTicks(-1) : from);
        for (var week = WeekOf(from); week <= last; week = week.AddDays(7))
        {
            weeks.Add(week);
        }

        return weeks;
    }
}

/// <summary>Statistics of a set of durations; every duration is in seconds (fractions allowed).</summary>
/// <param name="Count">How many durations.</param>
/// <param name="P50Seconds">Median, or <c>null</c> when there are none.</param>
/// <param name="P90Seconds">90th percentile.</param>
/// <param name="MeanSeconds">Mean.</param>
/// <param name="MinSeconds">Shortest.</param>
/// <param name="MaxSeconds">Longest.</param>
public sealed record DurationStats(
    [property: JsonPropertyName("count")] long Count,
    [property: JsonPropertyName("p50_seconds")] double? P50Seconds,
    [property: JsonPropertyName("p90_seconds")] double? P90Seconds,
    [property: JsonPropertyName("mean_seconds")] double? MeanSeconds,
    [property: JsonPropertyName("min_seconds")] double? MinSeconds,
    [property: JsonPropertyName("max_seconds")] double? MaxSeconds);

/// <summary>One bucket of the lead-time histogram.</summary>
/// <param name="FromSeconds">Lower bound (inclusive), seconds.</param>
/// <param name="ToSeconds">Upper bound (exclusive), seconds; <c>null</c> for the last bucket.</param>
/// <param name="Label">Human label, e.g. <c>1–4 h</c>.</param>
/// <param name="Count">Tasks whose lead time falls in it.</param>
public sealed record HistogramBucket(
    [property: JsonPropertyName("from_seconds")] double FromSeconds,
    [property: JsonPropertyName("to_seconds")] double? ToSeconds,
    [property: JsonPropertyName("label")] string Label,
    [property: JsonPropertyName("count")] long Count);

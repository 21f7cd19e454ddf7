namespace Orchestrator.Benchmarks;

/// <summary>Nearest-rank percentiles of a sample, in the sample's unit (milliseconds here).</summary>
internal sealed record Percentiles(int Count, double P50, double P90, double P99, double Max, double Mean)
{
    /// <summary>The 95th percentile (the dashboard's targets are stated at p95).</summary>
    public double P95 { get; init; } = double.NaN;

    public static Percentiles Empty { get; } = new(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);

    public static Percentiles Of(IReadOnlyCollection<double> samples)
    {
        if (samples.Count == 0)
        {
            return Empty;
        }

        var sorted = samples.ToArray();
        Array.Sort(sorted);
        double Rank(double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new Percentiles(sorted.Length, Rank(0.50), Rank(0.90), Rank(0.99), sorted[^1], sorted.Average()) { P95 = Rank(0.95) };
    }

    public string Describe() => Count == 0
        ? "no samples"
        : FormattableString.Invariant($"p50 {P50:0.00} ms, p90 {P90:0.00} ms, p99 {P99:0.00} ms, max {Max:0.00} ms");
}

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

    /// <summary>
    /// Calls <paramref name="call"/> 20 times to warm up (plans prepared, pages in shared buffers, JIT done), then
    /// <paramref name="iterations"/> times timed one by one.
    /// </summary>
    /// <returns>The latencies (ms) and each timed call's answer, in order.</returns>
    public static async Task<(Percentiles Latency, T[] Answers)> TimeAsync<T>(int iterations, Func<int, Task<T>> call, CancellationToken cancellationToken)
    {
        for (var i = 0; i < Math.Min(20, iterations); i++)
        {
            await call(i);
        }

        var samples = new double[iterations];
        var answers = new T[iterations];
        for (var i = 0; i < iterations; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            answers[i] = await call(i);
            samples[i] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        return (Of(samples), answers);
    }

    public string Describe() => Count == 0
        ? "no samples"
        : FormattableString.Invariant($"p50 {P50:0.00} ms, p90 {P90:0.00} ms, p99 {P99:0.00} ms, max {Max:0.00} ms");
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Orchestrator.Benchmarks;

/// <summary>
/// Investigation aid (<c>--trace-sql</c>): counts the round trips Npgsql makes, by statement, with their
/// client-side durations, from Npgsql's own <see cref="ActivitySource"/>. Tracing costs throughput, so
/// figures taken with it on are for the breakdown only.
/// </summary>
internal sealed class SqlTrace : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly ConcurrentDictionary<string, Counter> _byStatement = new(StringComparer.Ordinal);

    public SqlTrace()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("Npgsql", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = Record,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Reset() => _byStatement.Clear();

    public string Describe(long steps, string unit)
    {
        var text = new StringBuilder();
        var total = _byStatement.Values.Sum(c => c.Count);
        text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"    SQL round trips: {total:N0} = {(double)total / steps:0.00} per {unit}"));
        foreach (var (statement, c) in _byStatement.OrderByDescending(kv => kv.Value.Count).Take(16))
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"    {(double)c.Count / steps,6:0.00}/{unit}  avg {c.TotalMs / c.Count,6:0.00} ms  {statement}"));
        }

        return text.ToString().TrimEnd();
    }

    public void Dispose() => _listener.Dispose();

    private void Record(Activity activity)
    {
        var statement = (activity.GetTagItem("db.query.text") ?? activity.GetTagItem("db.statement"))?.ToString() ?? activity.DisplayName;
        var key = Shorten(statement);
        var counter = _byStatement.GetOrAdd(key, _ => new Counter());
        Interlocked.Increment(ref counter.Count);
        lock (counter)
        {
            counter.TotalMs += activity.Duration.TotalMilliseconds;
        }
    }

    private static string Shorten(string statement)
    {
        var oneLine = string.Join(' ', statement.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return oneLine.Length <= 110 ? oneLine : oneLine[..110] + "…";
    }

    private sealed class Counter
    {
        public long Count;
        public double TotalMs;
    }
}

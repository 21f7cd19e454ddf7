using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Benchmarks;

internal sealed record EngineFigures(
    int Instances,
    int Links,
    int Concurrency,
    double StartSeconds,
    long ExpectedSteps,
    long Steps,
    long FailedSteps,
    long CompletedInstances,
    double Seconds,
    bool Finished)
{
    public double StepsPerSecond => Seconds > 0 ? Steps / Seconds : 0;
}

/// <summary>
/// Figure 3: <see cref="DurableEngine"/> on a fresh schema, driven by the product's own
/// <see cref="WorkerService"/> loop. A step is one queue row processed: the start event applied, or a
/// no-op activity run and its result applied (one transaction each).
/// </summary>
internal static class EngineBenchmark
{
    public static async Task<EngineFigures> RunAsync(BenchOptions options, int concurrency, Action<string> progress, CancellationToken cancellationToken)
    {
        var schema = BenchDatabase.NewSchemaName("engine");
        try
        {
            await using var dataSource = Database.CreateDataSource(BenchDatabase.ConnectionString(options.DatabaseUrl, schema));
            await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync(cancellationToken);
            var registry = new OrchestrationRegistry().Add(new ChainOrchestration()).Add(new NoopActivity());
            await using var signal = new WorkSignal(dataSource, NullLogger<WorkSignal>.Instance);
            var engineOptions = new EngineOptions { WorkerConcurrency = concurrency, OwnerId = $"bench/{Environment.ProcessId}" };
            var engine = new DurableEngine(dataSource, registry, TimeProvider.System, engineOptions, signal, NullLogger<DurableEngine>.Instance);

            var instances = options.EngineInstances;
            var links = options.EngineActivities;
            var startClock = Stopwatch.GetTimestamp();
            await Parallel.ForEachAsync(
                Enumerable.Range(0, instances),
                new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
                async (i, ct) => await engine.StartAsync(ChainOrchestration.OrchestrationName, $"bench-{i:D6}", new ChainStarted(links), "start", ct));
            var startSeconds = Stopwatch.GetElapsedTime(startClock).TotalSeconds;
            var expected = (long)instances * (1 + links);
            progress(FormattableString.Invariant(
                $"engine: {instances} instances queued in {startSeconds:0.00} s ({instances / startSeconds:0}/s); running {expected} steps with concurrency {concurrency}"));

            var worker = new WorkerService(engine, signal, NullLogger<WorkerService>.Instance);
            var startedAt = DateTimeOffset.UtcNow;
            var runClock = Stopwatch.GetTimestamp();
            await worker.StartAsync(cancellationToken);
            var finished = false;
            try
            {
                while (Stopwatch.GetElapsedTime(runClock) < options.DrainLimit)
                {
                    await Task.Delay(100, cancellationToken);
                    var (open, _, _) = await CountAsync(dataSource, cancellationToken);
                    if (open == 0)
                    {
                        finished = true;
                        break;
                    }
                }
            }
            finally
            {
                await worker.StopAsync(CancellationToken.None);
                worker.Dispose();
            }

            var (_, completed, failed) = await CountAsync(dataSource, cancellationToken);
            await using var last = dataSource.CreateCommand(
                "SELECT max(completed_at), (SELECT count(*) FROM instances WHERE runtime_status = 'Completed') FROM work_items");
            await using var reader = await last.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var lastCompletion = reader.IsDBNull(0) ? startedAt : reader.GetFieldValue<DateTimeOffset>(0);
            var seconds = finished ? (lastCompletion - startedAt).TotalSeconds : Stopwatch.GetElapsedTime(runClock).TotalSeconds;
            return new EngineFigures(instances, links, concurrency, startSeconds, expected, completed, failed, reader.GetInt64(1), seconds, finished && completed == expected);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await BenchDatabase.DropSchemaAsync(options.DatabaseUrl, schema, CancellationToken.None);
        }
    }

    private static async Task<(long Open, long Completed, long Failed)> CountAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT count(*) FILTER (WHERE status IN ('pending', 'running')),
                   count(*) FILTER (WHERE status = 'completed'),
                   count(*) FILTER (WHERE status = 'failed')
            FROM work_items
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }
}

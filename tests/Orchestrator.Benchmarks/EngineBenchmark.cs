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
    bool Finished,
    CpuShare? Cpu)
{
    public double StepsPerSecond => Seconds > 0 ? Steps / Seconds : 0;
}

/// <summary>
/// Figure 3: <see cref="DurableEngine"/> on a fresh schema, driven by the product's own
/// <see cref="WorkerService"/> loop. A step is one queue row processed: the start event applied, or a
/// no-op activity run and its result applied (one transaction each). A smaller unmeasured round runs
/// first so that the JIT has finished with the hot paths.
/// </summary>
internal static class EngineBenchmark
{
    private sealed record Round(double StartSeconds, long Steps, long Failed, long CompletedInstances, double Seconds, bool Finished, CpuShare? Cpu);

    public static async Task<EngineFigures> RunAsync(BenchOptions options, int concurrency, Action<string> progress, CancellationToken cancellationToken)
    {
        var schema = BenchDatabase.NewSchemaName("engine");
        try
        {
            await using var dataSource = Database.CreateDataSource(BenchDatabase.ConnectionString(options.DatabaseUrl, schema, extraSettings: options.NpgsqlSettings));
            await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync(cancellationToken);
            var registry = new OrchestrationRegistry().Add(new ChainOrchestration()).Add(new NoopActivity());
            await using var signal = new WorkSignal(dataSource, NullLogger<WorkSignal>.Instance);
            var engineOptions = new EngineOptions { WorkerConcurrency = concurrency, OwnerId = $"bench/{Environment.ProcessId}" };
            var engine = new DurableEngine(dataSource, registry, TimeProvider.System, engineOptions, signal, NullLogger<DurableEngine>.Instance);
            var links = options.EngineActivities;

            var warmUp = await RunRoundAsync(engine, signal, dataSource, "warm", options.EngineInstances / 2, links, options.DrainLimit, cancellationToken);
            progress(FormattableString.Invariant($"engine warm-up: {warmUp.Steps} steps in {warmUp.Seconds:0.00} s ({warmUp.Steps / Math.Max(warmUp.Seconds, 1e-9):0}/s), not counted"));

            using var trace = options.TraceSql ? new SqlTrace() : null;
            var instances = options.EngineInstances;
            var round = await RunRoundAsync(engine, signal, dataSource, "bench", instances, links, options.DrainLimit, cancellationToken);
            var expected = (long)instances * (1 + links);
            progress(FormattableString.Invariant(
                $"engine: {instances} instances queued in {round.StartSeconds:0.00} s ({instances / round.StartSeconds:0}/s), then {round.Steps} steps in {round.Seconds:0.00} s with concurrency {concurrency}; {round.Cpu?.Describe()}"));
            if (trace is not null)
            {
                progress("engine SQL breakdown (includes the benchmark's own polling):\n" + trace.Describe(round.Steps, "step"));
            }

            return new EngineFigures(instances, links, concurrency, round.StartSeconds, expected, round.Steps, round.Failed, round.CompletedInstances,
                round.Seconds, round.Finished && round.Steps == expected && round.Failed == 0, round.Cpu);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await BenchDatabase.DropSchemaAsync(options.DatabaseUrl, schema, CancellationToken.None);
        }
    }

    /// <summary>Queues <paramref name="instances"/> starts (workers stopped), then runs a <see cref="WorkerService"/> until the queue is empty.</summary>
    private static async Task<Round> RunRoundAsync(
        DurableEngine engine, WorkSignal signal, NpgsqlDataSource dataSource, string prefix, int instances, int links, TimeSpan limit, CancellationToken cancellationToken)
    {
        var (_, completedBefore, failedBefore, instancesBefore) = await CountAsync(dataSource, cancellationToken);
        var startClock = Stopwatch.GetTimestamp();
        await Parallel.ForEachAsync(
            Enumerable.Range(0, instances),
            new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (i, ct) => await engine.StartAsync(ChainOrchestration.OrchestrationName, $"{prefix}-{i:D6}", new ChainStarted(links), "start", ct));
        var startSeconds = Stopwatch.GetElapsedTime(startClock).TotalSeconds;

        var worker = new WorkerService(engine, signal, NullLogger<WorkerService>.Instance);
        var startedAt = DateTimeOffset.UtcNow;
        var runClock = Stopwatch.GetTimestamp();
        var cpu = CpuAccount.Start(dataSource);
        await worker.StartAsync(cancellationToken);
        var finished = false;
        CpuShare? share = null;
        try
        {
            while (Stopwatch.GetElapsedTime(runClock) < limit)
            {
                await Task.Delay(100, cancellationToken);
                await using var open = dataSource.CreateCommand("SELECT count(*) FROM work_items WHERE status IN ('pending', 'running')");
                if ((long)(await open.ExecuteScalarAsync(cancellationToken))! == 0)
                {
                    share = cpu is null ? null : await cpu.StopAsync(cancellationToken);
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

        var (lastCompletion, completed, failed, instancesCompleted) = await CountAsync(dataSource, cancellationToken);
        var seconds = finished && lastCompletion is { } last ? (last - startedAt).TotalSeconds : Stopwatch.GetElapsedTime(runClock).TotalSeconds;
        return new Round(startSeconds, completed - completedBefore, failed - failedBefore, instancesCompleted - instancesBefore, seconds, finished, share);
    }

    private static async Task<(DateTimeOffset? LastCompletion, long Completed, long Failed, long CompletedInstances)> CountAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT max(completed_at),
                   count(*) FILTER (WHERE status = 'completed'),
                   count(*) FILTER (WHERE status = 'failed'),
                   (SELECT count(*) FROM instances WHERE runtime_status = 'Completed')
            FROM work_items
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.IsDBNull(0) ? null : reader.GetFieldValue<DateTimeOffset>(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }
}

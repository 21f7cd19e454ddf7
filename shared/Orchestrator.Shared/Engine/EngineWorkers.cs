using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Orchestrator.Shared.Engine;

/// <summary>
/// The host's worker pool: claims due work up to <see cref="EngineOptions.WorkerConcurrency"/> items at
/// a time and processes them; sleeps until a <see cref="WorkSignal"/> wakes it or the poll interval passes.
/// </summary>
public sealed class WorkerService(DurableEngine engine, WorkSignal signal, ILogger<WorkerService> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = engine.Options;
        var running = 0;
        var inFlight = new HashSet<Task>();
        logger.LogInformation("Workers started: owner {Owner}, concurrency {Concurrency}", options.OwnerId, options.WorkerConcurrency);
        while (!stoppingToken.IsCancellationRequested)
        {
            var free = options.WorkerConcurrency - Volatile.Read(ref running);
            IReadOnlyList<ClaimedWork> claimed = [];
            if (free > 0)
            {
                try
                {
                    claimed = await engine.ClaimAsync(options.OwnerId, free, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex)
                {
                    logger.LogError(ex, "Claiming work failed; retrying after the poll interval");
                }
            }

            foreach (var work in claimed)
            {
                Interlocked.Increment(ref running);
                var task = Task.Run(async () =>
                {
                    try
                    {
                        await engine.ProcessAsync(work, stoppingToken);
                    }
                    catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                    {
                        // Shutting down: the lease expires and another worker takes the item.
                    }
                    catch (Exception ex)
                    {
                        logger.LogError(ex, "Processing {Work} failed unexpectedly; its lease will expire and it will be retried", work.Name);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref running);
                        signal.WakeLocal();
                    }
                }, CancellationToken.None);
                lock (inFlight)
                {
                    inFlight.Add(task);
                }

                _ = task.ContinueWith(t => { lock (inFlight) { inFlight.Remove(t); } }, TaskScheduler.Default);
            }

            if (claimed.Count > 0 && claimed.Count == free)
            {
                continue; // The queue may hold more; claim again as soon as a slot frees.
            }

            try
            {
                await signal.WaitAsync(options.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        Task[] remaining;
        lock (inFlight)
        {
            remaining = [.. inFlight];
        }

        await Task.WhenAll(remaining);
    }
}

/// <summary>LISTENs on the work channel so that work queued by other hosts wakes this one at once.</summary>
public sealed class WorkListenerService(NpgsqlDataSource dataSource, WorkSignal signal, ILogger<WorkListenerService> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, _) => signal.WakeLocal();
                await using (var listen = new NpgsqlCommand($"LISTEN {signal.Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "LISTEN connection lost; polling until it is back");
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}

/// <summary>Returns expired leases to the queue every half lease, and purges old finished rows hourly.</summary>
public sealed class LeaseRescuerService(DurableEngine engine, TimeProvider clock, ILogger<LeaseRescuerService> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = engine.Options.LeaseDuration / 2;
        var lastPurge = clock.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(period, clock, stoppingToken);
                await engine.RescueExpiredLeasesAsync(stoppingToken);
                if (clock.GetUtcNow() - lastPurge > TimeSpan.FromHours(1))
                {
                    lastPurge = clock.GetUtcNow();
                    var purged = await engine.PurgeAsync(stoppingToken);
                    logger.LogInformation("Purged {Count} finished work items", purged);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Lease rescue failed; trying again next period");
            }
        }
    }
}

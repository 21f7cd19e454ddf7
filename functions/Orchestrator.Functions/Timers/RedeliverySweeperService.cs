using Npgsql;
using Orchestrator.Functions.Platforms;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Timers;

/// <summary>
/// The GitHub redelivery sweeper: GitHub never retries a failed webhook delivery
/// (https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries), so every
/// <c>ORCH_REDELIVERY_INTERVAL</c> (default 10 min) this timer lists the recent deliveries of every hook named in a
/// GitHub project's <c>forge.hook_ids</c>, and asks GitHub to redeliver each event that never got a 2xx answer and
/// that our inbox never stored (<see cref="RedeliverySweep.Select"/>). One replica sweeps at a time (a PostgreSQL
/// advisory lock); the window is three interval lengths, capped at GitHub's three days of retention.
/// </summary>
public sealed class RedeliverySweeperService(
    ProjectStore projects,
    PlatformRegistry platforms,
    NpgsqlDataSource dataSource,
    OrchestratorSettings settings,
    TimeProvider clock,
    ILogger<RedeliverySweeperService> logger) : BackgroundService
{
    private const long AdvisoryLockKey = 0x4f52_4348_5244_4c56; // "ORCHRDLV"

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(settings.RedeliveryInterval, clock);
        do
        {
            try
            {
                await SweepOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Redelivery sweep failed; trying again in {Interval}", settings.RedeliveryInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One sweep over every configured hook.</summary>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The redeliveries requested, or <c>-1</c> when another replica holds the sweep lock.</returns>
    public async Task<int> SweepOnceAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_try_advisory_lock(@k)", connection))
        {
            lockCommand.Parameters.AddWithValue("k", AdvisoryLockKey);
            if (!(bool)(await lockCommand.ExecuteScalarAsync(cancellationToken))!)
            {
                return -1;
            }
        }

        try
        {
            var window = TimeSpan.FromTicks(Math.Min(settings.RedeliveryInterval.Ticks * 3, TimeSpan.FromDays(3).Ticks));
            var since = clock.GetUtcNow() - window;
            var requested = 0;
            foreach (var project in await projects.ListAsync(cancellationToken))
            {
                if (project.Definition.Forge.Kind != ForgeConfig.GitHub || project.Definition.Forge.HookIds is not { Count: > 0 } hooks)
                {
                    continue;
                }

                if (platforms.For(project).Forge is not IGitHubHookDeliveries deliveries)
                {
                    continue;
                }

                foreach (var (repoName, hookId) in hooks)
                {
                    var repo = RepoRef.Parse(repoName);
                    var attempts = await deliveries.ListHookDeliveriesAsync(repo, hookId, since, cancellationToken);
                    var stored = await StoredGuidsAsync(connection, attempts.Select(a => a.Guid).Distinct().ToArray(), cancellationToken);
                    foreach (var attempt in RedeliverySweep.Select(attempts, guid => stored.Contains(guid)))
                    {
                        await deliveries.RedeliverAsync(repo, hookId, attempt.Id, cancellationToken);
                        requested++;
                        logger.LogInformation("Asked GitHub to redeliver {Event} delivery {Guid} of {Repo} hook {Hook} (last answer {Status})",
                            attempt.Event, attempt.Guid, repoName, hookId, attempt.StatusCode);
                    }
                }
            }

            return requested;
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(@k)", connection);
            unlock.Parameters.AddWithValue("k", AdvisoryLockKey);
            await unlock.ExecuteScalarAsync(CancellationToken.None);
        }
    }

    private static async Task<HashSet<string>> StoredGuidsAsync(NpgsqlConnection connection, string[] guids, CancellationToken cancellationToken)
    {
        var stored = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (guids.Length == 0)
        {
            return stored;
        }

        await using var command = new NpgsqlCommand("SELECT delivery_id FROM inbox WHERE source = 'github' AND delivery_id = ANY(@ids)", connection);
        command.Parameters.AddWithValue("ids", guids);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            stored.Add(reader.GetString(0));
        }

        return stored;
    }
}

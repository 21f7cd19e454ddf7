using Npgsql;
using Orchestrator.Shared.Agents;
using Orchestrator.Shared.Configuration;

namespace Orchestrator.Functions.Functions;

/// <summary>Work queue counts by kind and status.</summary>
/// <param name="Kind">activity | timer | event.</param>
/// <param name="Status">pending | running | failed.</param>
/// <param name="Count">Rows.</param>
public sealed record QueueCount(string Kind, string Status, long Count);

/// <summary>A running agent.</summary>
/// <param name="RunId">agent_runs id.</param>
/// <param name="InstanceId">Instance.</param>
/// <param name="Agent">Agent name.</param>
/// <param name="Stage">Stage.</param>
/// <param name="StartedAt">Start.</param>
public sealed record RunningAgent(long RunId, string? InstanceId, string Agent, string Stage, DateTimeOffset StartedAt);

/// <summary><c>GET /api/queue</c>.</summary>
/// <param name="Work">Queue counts (completed rows left out).</param>
/// <param name="Running">Agent runs in progress (all hosts).</param>
/// <param name="MaxAgentRuns">Global cap.</param>
/// <param name="MaxAgentRunsPerProject">Per-project cap.</param>
/// <param name="Breakers">Circuit breaker per agent (this host).</param>
/// <param name="Preflight">Latest preflight per agent (this host).</param>
public sealed record QueueStatus(
    IReadOnlyList<QueueCount> Work,
    IReadOnlyList<RunningAgent> Running,
    int MaxAgentRuns,
    int MaxAgentRunsPerProject,
    IReadOnlyDictionary<string, BreakerSnapshot> Breakers,
    IReadOnlyDictionary<string, PreflightResult> Preflight);

/// <summary><c>GET /api/queue</c>: queue counts, running agents, concurrency, breaker state and preflight.</summary>
public static class QueueApi
{
    /// <summary>Maps the endpoint.</summary>
    public static IEndpointRouteBuilder MapQueueApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/queue", async Task<IResult> (HttpContext http, NpgsqlDataSource db, OrchestratorSettings settings, AgentRunner runner, CancellationToken ct) =>
        {
            if (ApiAuth.RequireHostAdmin(http) is { } refused)
            {
                return refused;
            }

            var work = new List<QueueCount>();
            await using (var command = db.CreateCommand("SELECT kind, status, count(*) FROM work_items WHERE status <> 'completed' GROUP BY kind, status ORDER BY kind, status"))
            await using (var reader = await command.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    work.Add(new QueueCount(reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
                }
            }

            var running = new List<RunningAgent>();
            await using (var command = db.CreateCommand("SELECT id, instance_id, agent, stage, started_at FROM agent_runs WHERE finished_at IS NULL ORDER BY id"))
            await using (var reader = await command.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    running.Add(new RunningAgent(reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4)));
                }
            }

            return TypedResults.Ok(new QueueStatus(work, running, settings.MaxAgentRuns, settings.MaxAgentRunsPerProject, runner.Breakers, runner.Preflights));
        });
        return app;
    }
}

using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.ReadModel;
using Orchestrator.Shared.Webhooks;

namespace Orchestrator.Benchmarks;

/// <summary>One measured analytics report.</summary>
/// <param name="Name">What it is.</param>
/// <param name="Targeted">The summary, whose p95 has a target (<see cref="Targets.SummaryP95Ms"/>); the others are reported only.</param>
/// <param name="Latency">Milliseconds per call, client side (one round trip each).</param>
/// <param name="Figure">A figure of the last call, to show the report computed something (e.g. deployed tasks).</param>
internal sealed record AnalyticsQuery(string Name, bool Targeted, Percentiles Latency, string Figure)
{
    public bool Pass => !Targeted || Latency.P95 < Targets.SummaryP95Ms;
}

internal sealed record SummaryFigures(long Tasks, long Events, long Lifecycle, long AgentRuns, double SeedSeconds, IReadOnlyList<AnalyticsQuery> Queries, CpuShare? Cpu);

/// <summary>
/// The analytics figure (issue #11 §2: "keep summary fast", p95 &lt; 200 ms on 100,000 tasks and 1,000,000 events): the
/// dashboard's seed (<see cref="DashboardBenchmark.SeedAsync"/>: tasks over five projects, skewed noise events), plus each
/// task's lifecycle as the projection writes it — RECEIVED at its creation, issue, PR, merge, CI and the transition into
/// DEPLOYED or FAILED where its step says it got that far — with as many noise events dropped again so the total stays at
/// the requested count, and two agent runs per deployed task. Then <see cref="AnalyticsQueries"/> (the product's code and
/// SQL) over the default range (the last 30 days), sequentially from one client, projects rotated as in the dashboard
/// figure (half the calls on the largest, 50,000 tasks).
/// </summary>
internal static class SummaryBenchmark
{
    public static async Task<SummaryFigures> RunAsync(BenchOptions options, Action<string> progress, CancellationToken cancellationToken)
    {
        var schema = BenchDatabase.NewSchemaName("summary");
        try
        {
            await using var dataSource = Database.CreateDataSource(BenchDatabase.ConnectionString(options.DatabaseUrl, schema, extraSettings: options.NpgsqlSettings));
            await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync(cancellationToken);
            var clock = Stopwatch.StartNew();
            await DashboardBenchmark.SeedAsync(dataSource, options.DashboardTasks, options.DashboardEvents, cancellationToken);
            var (lifecycle, runs) = await SeedLifecycleAsync(dataSource, cancellationToken);
            foreach (var table in new[] { "tasks", "task_events", "agent_runs" })
            {
                await using var vacuum = dataSource.CreateCommand($"VACUUM (ANALYZE) {table}");
                vacuum.CommandTimeout = 900;
                await vacuum.ExecuteNonQueryAsync(cancellationToken);
            }

            var seed = clock.Elapsed.TotalSeconds;
            long tasks, events;
            await using (var count = dataSource.CreateCommand("SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM task_events)"))
            await using (var reader = await count.ExecuteReaderAsync(cancellationToken))
            {
                await reader.ReadAsync(cancellationToken);
                (tasks, events) = (reader.GetInt64(0), reader.GetInt64(1));
            }

            progress(FormattableString.Invariant(
                $"summary: seeded {tasks:N0} tasks and {events:N0} events ({lifecycle:N0} of them lifecycle events), {runs:N0} agent runs, in {seed:0.0} s with VACUUM ANALYZE"));

            var queries = new AnalyticsQueries(dataSource, new WebhookStats(dataSource));
            var iterations = options.DashboardIterations;
            var to = DateTimeOffset.UtcNow;
            var from = to.AddDays(-30);
            var cpu = CpuAccount.Start(dataSource);
            var results = new List<AnalyticsQuery>
            {
                await MeasureAsync("summary (30 days)", true, iterations, async i =>
                {
                    var s = await queries.SummaryAsync(DashboardBenchmark.Project(i), from, to, cancellationToken);
                    return FormattableString.Invariant($"{s.Deployed:N0} deployed, p50 {s.LeadTimeP50Seconds / 3600:0.0} h, {s.Cost.Cost.Amount:0.00} USD");
                }, cancellationToken),
                await MeasureAsync("summary (366 days)", false, Math.Max(10, iterations / 10), async i =>
                {
                    var s = await queries.SummaryAsync(DashboardBenchmark.Project(i), to.AddDays(-366), to, cancellationToken);
                    return FormattableString.Invariant($"{s.Deployed:N0} deployed");
                }, cancellationToken),
                await MeasureAsync("funnel (30 days)", false, iterations / 3, async i =>
                    FormattableString.Invariant($"{(await queries.FunnelAsync(DashboardBenchmark.Project(i), from, to, cancellationToken)).Steps[0].Count:N0} received"), cancellationToken),
                await MeasureAsync("lead-time (30 days)", false, iterations / 3, async i =>
                    FormattableString.Invariant($"{(await queries.LeadTimeAsync(DashboardBenchmark.Project(i), from, to, cancellationToken)).Total.Count:N0} deployed"), cancellationToken),
                await MeasureAsync("failures (30 days)", false, iterations / 3, async i =>
                    FormattableString.Invariant($"{(await queries.FailuresAsync(DashboardBenchmark.Project(i), from, to, cancellationToken)).Total:N0} failures"), cancellationToken),
                await MeasureAsync("cost (30 days)", false, iterations / 3, async i =>
                    FormattableString.Invariant($"{(await queries.CostAsync(DashboardBenchmark.Project(i), from, to, cancellationToken)).Total.Runs:N0} runs"), cancellationToken),
            };
            var share = cpu is null ? null : await cpu.StopAsync(cancellationToken);
            foreach (var q in results)
            {
                progress(FormattableString.Invariant($"analytics {q.Name}: {q.Latency.Describe()} (p95 {q.Latency.P95:0.00} ms); last call: {q.Figure}"));
            }

            return new SummaryFigures(tasks, events, lifecycle, runs, seed, results, share);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            if (options.KeepSchema)
            {
                progress($"summary: schema {schema} kept (--keep-schema); DROP SCHEMA \"{schema}\" CASCADE when done");
            }
            else
            {
                await BenchDatabase.DropSchemaAsync(options.DatabaseUrl, schema, CancellationToken.None);
            }
        }
    }

    private static async Task<AnalyticsQuery> MeasureAsync(string name, bool targeted, int iterations, Func<int, Task<string>> call, CancellationToken cancellationToken)
    {
        var (latency, answers) = await Percentiles.TimeAsync(iterations, call, cancellationToken);
        return new AnalyticsQuery(name, targeted, latency, answers.LastOrDefault() ?? "");
    }

    /// <summary>
    /// Each task's lifecycle events up to its step (timed between its created_at and updated_at, the deploy or failure at
    /// updated_at), then as many of the dashboard's noise events deleted (a fixed pseudo-random choice) so the total is
    /// unchanged; two agent runs per deployed task, finished at its merge. Returns (lifecycle events, agent runs).
    /// </summary>
    private static async Task<(long Lifecycle, long Runs)> SeedLifecycleAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        async Task<long> ExecAsync(string sql)
        {
            await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 900 };
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }

        var noiseMax = (long)(await new NpgsqlCommand("SELECT COALESCE(max(id), 0) FROM task_events", connection).ExecuteScalarAsync(cancellationToken))!;
        var lifecycle = await ExecAsync("""
            INSERT INTO task_events (task_id, project_slug, source, event_type, actor, summary, delivery_id, created_at)
            SELECT t.id, t.project_slug, l.source, l.type, NULL, l.summary, NULL, l.at
            FROM tasks t
            CROSS JOIN LATERAL (VALUES
                (1, true, 'tracker', 'status_changed', jsonb_build_object('to', 'RECEIVED', 'reason', 'received from Plane'), t.created_at),
                (2, t.issue_number IS NOT NULL OR t.step = 'FAILED', 'system', 'issue_created',
                    jsonb_build_object('number', t.issue_number, 'repo', t.repo), t.created_at + (t.updated_at - t.created_at) * 0.1),
                (3, t.step IN ('PR_CREATED', 'WAITING_CI', 'DEPLOYED', 'FAILED'), 'forge', 'pr_linked',
                    jsonb_build_object('number', t.pr_number, 'repo', t.repo), t.created_at + (t.updated_at - t.created_at) * 0.3),
                (4, t.step IN ('WAITING_CI', 'DEPLOYED', 'FAILED'), 'forge', 'pr_merged',
                    jsonb_build_object('number', t.pr_number, 'sha', t.merge_sha), t.created_at + (t.updated_at - t.created_at) * 0.8),
                (5, t.step IN ('DEPLOYED', 'FAILED'), 'forge', 'ci_updated',
                    jsonb_build_object('sha', t.merge_sha, 'result', CASE WHEN t.step = 'DEPLOYED' THEN 'success' ELSE 'failure' END, 'via', 'workflow_run'), t.updated_at),
                (6, t.step = 'DEPLOYED', 'forge', 'status_changed', jsonb_build_object('from', 'WAITING_CI', 'to', 'DEPLOYED', 'reason', 'CI passed'), t.updated_at),
                (7, t.step = 'FAILED', 'forge', 'status_changed', jsonb_build_object('from', 'WAITING_CI', 'to', 'FAILED', 'reason', t.failure_reason), t.updated_at))
                AS l(n, wanted, source, type, summary, at)
            WHERE l.wanted
            ORDER BY t.created_at, t.id, l.n
            """);
        await ExecAsync($"""
            DELETE FROM task_events WHERE id IN (
                SELECT id FROM task_events WHERE id <= {noiseMax} ORDER BY md5(id::text) LIMIT {lifecycle})
            """);
        var runs = await ExecAsync("""
            INSERT INTO agent_runs (instance_id, project, stage, round, agent, kind, model, started_at, finished_at, exit_code, is_error, failure,
                                    tokens_in, tokens_out, cost_usd, duration_ms)
            SELECT 'roles-' || t.id, t.project_slug, s.stage, 1, s.agent, s.kind, s.model,
                   t.created_at + (t.updated_at - t.created_at) * 0.5, t.created_at + (t.updated_at - t.created_at) * 0.7, 0, false, 'None',
                   20000 + (hashtext(t.id || s.stage) & 65535), 3000 + (hashtext(s.stage || t.id) & 4095), round(((hashtext(t.id) & 1023) / 400.0)::numeric, 6), 600000
            FROM tasks t
            CROSS JOIN (VALUES ('development', 'claude', 'ClaudeCode', 'claude-sonnet-4-5'), ('review', 'codex', 'Codex', 'gpt-5')) AS s(stage, agent, kind, model)
            WHERE t.step = 'DEPLOYED'
            """);
        return (lifecycle, runs);
    }
}

using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.ReadModel;

namespace Orchestrator.Benchmarks;

/// <summary>One measured dashboard query shape.</summary>
/// <param name="Name">What it is, e.g. <c>list, status PR_CREATED</c>.</param>
/// <param name="IsTaskPage">A task page (target <see cref="Targets.TaskPageP95Ms"/>) rather than a list (<see cref="Targets.ListP95Ms"/>).</param>
/// <param name="Latency">Milliseconds per call, client side (one round trip each).</param>
/// <param name="Rows">Average rows (tasks or events) returned per call.</param>
internal sealed record DashboardQuery(string Name, bool IsTaskPage, Percentiles Latency, double Rows)
{
    public double TargetMs => IsTaskPage ? Targets.TaskPageP95Ms : Targets.ListP95Ms;

    public bool Pass => Latency.P95 < TargetMs;
}

internal sealed record DashboardFigures(
    long Tasks,
    long Events,
    long LargestProjectTasks,
    long HottestTaskEvents,
    double SeedSeconds,
    double VacuumSeconds,
    IReadOnlyList<DashboardQuery> Queries,
    CpuShare? Cpu);

/// <summary>
/// Figure 4: the read model's dashboard queries (<see cref="ReadModelQueries"/>, the product's code and SQL) on a schema
/// migrated by the product and seeded in PostgreSQL itself (generate_series, with a fixed seed) with 100,000 tasks over
/// five projects (50 / 25 / 15 / 7 / 3 %) and 1,000,000 events skewed towards a few hot tasks, then vacuumed and
/// analysed as autovacuum would leave it. Each query shape runs sequentially from one client after a warm-up, with its
/// parameters rotated; latency is one call = one round trip, measured at the client.
/// </summary>
internal static class DashboardBenchmark
{
    private static readonly string[] Searches = ["health", "invoice pdf", "flaky", "shop-12"];
    private static readonly string[] Statuses = ["PR_CREATED", "FAILED", "BLOCKED", "WAITING_CI"];

    public static async Task<DashboardFigures> RunAsync(BenchOptions options, Action<string> progress, CancellationToken cancellationToken)
    {
        var schema = BenchDatabase.NewSchemaName("dashboard");
        try
        {
            await using var dataSource = Database.CreateDataSource(BenchDatabase.ConnectionString(options.DatabaseUrl, schema, extraSettings: options.NpgsqlSettings));
            await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync(cancellationToken);

            var clock = Stopwatch.StartNew();
            await SeedAsync(dataSource, options.DashboardTasks, options.DashboardEvents, cancellationToken);
            var seed = clock.Elapsed.TotalSeconds;
            clock.Restart();
            foreach (var table in new[] { "tasks", "task_events" })
            {
                await using var vacuum = dataSource.CreateCommand($"VACUUM (ANALYZE) {table}");
                vacuum.CommandTimeout = 600;
                await vacuum.ExecuteNonQueryAsync(cancellationToken);
            }

            var vacuumSeconds = clock.Elapsed.TotalSeconds;
            var (tasks, events, largest, hottest) = await FactsAsync(dataSource, cancellationToken);
            progress(FormattableString.Invariant(
                $"dashboard: seeded {tasks:N0} tasks and {events:N0} events in {seed:0.0} s, VACUUM ANALYZE {vacuumSeconds:0.0} s; largest project {largest:N0} tasks, hottest task {hottest:N0} events"));

            var (samples, hot) = await SampleTasksAsync(dataSource, options.DashboardTaskPages, cancellationToken);
            var queries = new ReadModelQueries(dataSource);
            var iterations = options.DashboardIterations;
            var cpu = CpuAccount.Start(dataSource);
            var results = new List<DashboardQuery>
            {
                await MeasureAsync("list, default (page 1 of 25, counts)", false, iterations, async i =>
                    (await queries.ListAsync(new TaskListQuery(Project(i)), cancellationToken)).Items.Count, cancellationToken),
                await MeasureAsync("list, status filter (step or overlay)", false, iterations, async i =>
                    (await queries.ListAsync(new TaskListQuery(Project(i), Statuses[i % Statuses.Length]), cancellationToken)).Items.Count, cancellationToken),
                await MeasureAsync("list, search key or title", false, iterations, async i =>
                    (await queries.ListAsync(new TaskListQuery(Project(i), Search: Searches[i % Searches.Length]), cancellationToken)).Items.Count, cancellationToken),
                await MeasureAsync("list, page 2 of 50", false, iterations, async i =>
                    (await queries.ListAsync(new TaskListQuery(Project(i), Page: 2, PageSize: 50), cancellationToken)).Items.Count, cancellationToken),
                await MeasureAsync("task page by key (row + 50 newest events)", true, samples.Count, async i =>
                    (await queries.TaskAsync(samples[i].Key, samples[i].Project, 50, null, cancellationToken))!.Events.Count, cancellationToken),
                await MeasureAsync("task page, the 10 busiest tasks", true, iterations, async i =>
                    (await queries.TaskAsync(hot[i % hot.Count].Key, hot[i % hot.Count].Project, 50, null, cancellationToken))!.Events.Count, cancellationToken),
            };
            var share = cpu is null ? null : await cpu.StopAsync(cancellationToken);
            foreach (var q in results)
            {
                progress(FormattableString.Invariant($"dashboard {q.Name}: {q.Latency.Describe()} (p95 {q.Latency.P95:0.00} ms), {q.Rows:0.0} rows/call"));
            }

            return new DashboardFigures(tasks, events, largest, hottest, seed, vacuumSeconds, results, share);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            if (options.KeepSchema)
            {
                progress($"dashboard: schema {schema} kept (--keep-schema); DROP SCHEMA \"{schema}\" CASCADE when done");
            }
            else
            {
                await BenchDatabase.DropSchemaAsync(options.DatabaseUrl, schema, CancellationToken.None);
            }
        }
    }

    /// <summary>Mostly the largest project (the slowest lists), sometimes the others.</summary>
    internal static string Project(int i) => (i % 4) switch
    {
        0 or 1 => "shop",
        2 => "web",
        _ => "api",
    };

    private static async Task<DashboardQuery> MeasureAsync(string name, bool taskPage, int iterations, Func<int, Task<int>> call, CancellationToken cancellationToken)
    {
        var (latency, rows) = await Percentiles.TimeAsync(iterations, call, cancellationToken);
        return new DashboardQuery(name, taskPage, latency, (double)rows.Sum(r => (long)r) / iterations);
    }

    /// <summary>
    /// 100,000 tasks: project by n (50/25/15/7/3 %), per-project keys, steps mostly DEPLOYED, 3 % of the unfinished
    /// blocked, titles from a vocabulary (1 in 1,000 says "flaky"), created over a year. 1,000,000 events: the task is
    /// drawn as tasks × random()², so a few tasks have thousands of events and most a handful.
    /// </summary>
    internal static async Task SeedAsync(NpgsqlDataSource dataSource, int tasks, int events, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        async Task ExecAsync(string sql)
        {
            await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 900 };
            command.Parameters.AddWithValue("tasks", tasks);
            command.Parameters.AddWithValue("events", events);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await ExecAsync("SELECT setseed(0.42)");
        await ExecAsync("""
            INSERT INTO tasks (id, project_slug, task_key, title, status, step, blocked, auto_disabled, tracker_kind, tracker_project_id,
                               tracker_item_id, tracker_url, forge_kind, repo, issue_number, issue_url, pr_number, pr_url, merge_sha,
                               ci_state, ci_url, failed_step, failure_reason, created_at, updated_at, deployed_at)
            SELECT 'plane-bench-' || n, project, upper(project) || '-' || row_number() OVER (PARTITION BY project ORDER BY n),
                   title, CASE WHEN blocked THEN 'BLOCKED' ELSE step END, step, blocked, false, 'plane', 'proj-' || project,
                   'item-' || n, 'https://plane.example/items/' || n, 'github', 'acme/' || project,
                   CASE WHEN step IN ('RECEIVED', 'TASKSPEC_CREATED', 'NEEDS_REPO') THEN NULL ELSE n END,
                   CASE WHEN step IN ('RECEIVED', 'TASKSPEC_CREATED', 'NEEDS_REPO') THEN NULL ELSE 'https://github.example/acme/' || project || '/issues/' || n END,
                   CASE WHEN step IN ('PR_CREATED', 'WAITING_CI', 'DEPLOYED') THEN n + 1 END,
                   CASE WHEN step IN ('PR_CREATED', 'WAITING_CI', 'DEPLOYED') THEN 'https://github.example/acme/' || project || '/pull/' || (n + 1) END,
                   CASE WHEN step IN ('WAITING_CI', 'DEPLOYED') THEN md5(n::text) || substr(md5(n::text), 1, 8) END,
                   CASE step WHEN 'WAITING_CI' THEN 'pending' WHEN 'DEPLOYED' THEN 'success' END, NULL,
                   CASE WHEN step = 'FAILED' THEN 'Ci' END, CASE WHEN step = 'FAILED' THEN 'CI failed on ' || substr(md5(n::text), 1, 7) END,
                   created, updated, CASE WHEN step = 'DEPLOYED' THEN updated END
            FROM (
                SELECT n, project, step, title, created, least(created + random() * interval '30 days', now()) AS updated,
                       step NOT IN ('DEPLOYED', 'CANCELLED', 'FAILED') AND random() < 0.03 AS blocked
                FROM (
                    SELECT n,
                           CASE WHEN n % 100 < 50 THEN 'shop' WHEN n % 100 < 75 THEN 'web' WHEN n % 100 < 90 THEN 'api'
                                WHEN n % 100 < 97 THEN 'infra' ELSE 'docs' END AS project,
                           CASE WHEN (n * 7919) % 100 < 60 THEN 'DEPLOYED' WHEN (n * 7919) % 100 < 70 THEN 'PR_CREATED'
                                WHEN (n * 7919) % 100 < 80 THEN 'ISSUE_CREATED' WHEN (n * 7919) % 100 < 85 THEN 'WAITING_CI'
                                WHEN (n * 7919) % 100 < 90 THEN 'FAILED' WHEN (n * 7919) % 100 < 95 THEN 'CANCELLED'
                                WHEN (n * 7919) % 100 < 97 THEN 'NEEDS_REPO' WHEN (n * 7919) % 100 < 99 THEN 'RECEIVED'
                                ELSE 'TASKSPEC_CREATED' END AS step,
                           (ARRAY['Add', 'Fix', 'Refactor', 'Speed up', 'Document', 'Test'])[1 + n % 6] || ' ' ||
                           (ARRAY['health endpoint', 'checkout', 'login page', 'search', 'invoice PDF', 'cart', 'payment retry', 'email template',
                                  'dark mode', 'rate limiter', 'cache', 'CSV export', 'audit log', 'webhook', 'profile page'])[1 + (n / 7) % 15] ||
                           CASE WHEN n % 1000 = 0 THEN ' (flaky test)' ELSE '' END AS title,
                           now() - interval '365 days' + (n::double precision / @tasks) * interval '365 days' AS created
                    FROM generate_series(1, @tasks) AS n) base) t
            """);
        await ExecAsync("""
            INSERT INTO task_events (task_id, project_slug, source, event_type, actor, summary, delivery_id, created_at)
            SELECT t.id, t.project_slug, v.source, v.type, CASE WHEN v.source = 'api' THEN 'admin-token' END, v.summary,
                   CASE WHEN v.source IN ('tracker', 'forge') THEN md5('d' || e) END,
                   now() - interval '365 days' + (e::double precision / @events) * interval '365 days'
            FROM (SELECT e, 1 + floor(@tasks * power(random(), 2))::int AS tn FROM generate_series(1, @events) AS e) pick
            JOIN tasks t ON t.id = 'plane-bench-' || pick.tn
            CROSS JOIN LATERAL (SELECT
                CASE WHEN e % 20 < 7 THEN 'status_changed' WHEN e % 20 < 12 THEN 'webhook_received' WHEN e % 20 < 14 THEN 'ci_updated'
                     WHEN e % 20 = 14 THEN 'pr_linked' WHEN e % 20 = 15 THEN 'pr_merged' WHEN e % 20 = 16 THEN 'error'
                     WHEN e % 20 = 17 THEN 'agent_run' WHEN e % 20 = 18 THEN 'tracker_completed' ELSE 'manual_action' END AS type,
                CASE WHEN e % 20 BETWEEN 7 AND 11 THEN CASE WHEN e % 2 = 0 THEN 'tracker' ELSE 'forge' END
                     WHEN e % 20 IN (14, 15) THEN 'forge' WHEN e % 20 = 19 THEN 'api' ELSE 'system' END AS source,
                CASE WHEN e % 20 < 7 THEN jsonb_build_object('from', 'PR_CREATED', 'to', 'WAITING_CI', 'reason', 'pull request #' || e || ' merged; waiting for CI')
                     WHEN e % 20 < 12 THEN jsonb_build_object('event', 'PullRequestLinked')
                     WHEN e % 20 < 14 THEN jsonb_build_object('sha', md5(e::text), 'result', 'success', 'via', 'workflow_run')
                     WHEN e % 20 IN (14, 15) THEN jsonb_build_object('number', e, 'url', 'https://github.example/acme/pull/' || e)
                     WHEN e % 20 = 16 THEN jsonb_build_object('activity', 'EnsureTrackerComment', 'attempts', 6, 'error', 'Plane answered 503')
                     WHEN e % 20 = 17 THEN jsonb_build_object('stage', 'development', 'succeeded', true, 'cost_usd', 0.42, 'duration_ms', 91000)
                     WHEN e % 20 = 18 THEN jsonb_build_object('state', 'Done', 'by_us', true)
                     ELSE jsonb_build_object('action', 'retry') END AS summary) v
            ORDER BY e
            """);
    }

    private static async Task<(long Tasks, long Events, long Largest, long Hottest)> FactsAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM task_events),
                   (SELECT max(c) FROM (SELECT count(*) AS c FROM tasks GROUP BY project_slug) p),
                   (SELECT max(c) FROM (SELECT count(*) AS c FROM task_events GROUP BY task_id) e)
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    /// <summary>Task pages to open: <paramref name="count"/> tasks drawn at random, and the ten with the most events.</summary>
    private static async Task<(IReadOnlyList<(string Key, string Project)> Random, IReadOnlyList<(string Key, string Project)> Hot)> SampleTasksAsync(
        NpgsqlDataSource dataSource, int count, CancellationToken cancellationToken)
    {
        async Task<IReadOnlyList<(string, string)>> ReadAsync(string sql)
        {
            await using var command = dataSource.CreateCommand(sql);
            command.Parameters.AddWithValue("count", count);
            var rows = new List<(string, string)>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetString(0), reader.GetString(1)));
            }

            return rows;
        }

        var random = await ReadAsync("SELECT task_key, project_slug FROM tasks ORDER BY md5(id) LIMIT @count");
        var hot = await ReadAsync("""
            SELECT t.task_key, t.project_slug FROM tasks t
            JOIN (SELECT task_id FROM task_events GROUP BY task_id ORDER BY count(*) DESC LIMIT 10) busiest ON busiest.task_id = t.id
            """);
        return (random, hot);
    }
}

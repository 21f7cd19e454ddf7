using Npgsql;
using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Webhooks;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Shared.ReadModel;

/// <summary>
/// The analytics of one project (issue #11 §2), computed from the read model's facts: <c>task_events</c> for everything
/// about tasks (transitions, issues, PRs, merges, CI), <c>tasks</c> for the current counts, <c>agent_runs</c> for cost
/// (the per-run ledger the budgets are charged against: it names the model and vendor, which the <c>agent_run</c> events
/// do not), <c>webhook_stats</c> and <c>inbox</c> for webhooks, <c>work_items</c> for the queue. Ranges are
/// [<c>from</c>, <c>to</c>) in UTC; durations are seconds.
/// </summary>
/// <remarks>
/// Definitions, the same in every report:
/// <list type="bullet">
/// <item><b>Received</b>: a task's arrival, the <c>status_changed</c> without <c>from</c> that started its pipeline (its
/// first event; the first event of any kind when a task has no such event).</item>
/// <item><b>Deployed in the range</b>: a task's first <c>status_changed</c> into the step <c>DEPLOYED</c> inside the range
/// (each task once, even when it was deployed again after a retry); its lead time runs from its arrival.</item>
/// <item><b>Failed in the range</b>: every <c>status_changed</c> into the step <c>FAILED</c> from another step.</item>
/// <item>A transition's step is <c>summary.step_to</c> when an overlay (BLOCKED, AUTO_DISABLED) hid it, else
/// <c>summary.to</c>: the expression of the index <c>task_events_project_step_to</c> (migration 0011).</item>
/// </list>
/// Each report is one round trip. Figures for the summary on 100,000 tasks / 1,000,000 events:
/// <c>tests/Orchestrator.Benchmarks</c> (<c>-- summary</c>).
/// </remarks>
public sealed class AnalyticsQueries(NpgsqlDataSource dataSource, WebhookStats webhookStats)
{
    /// <summary>Most failures one report classifies (the newest); <see cref="FailureReport.Truncated"/> says when there were more.</summary>
    public const int MaxFailures = 5_000;

    /// <summary>Examples per failure category.</summary>
    public const int ExamplesPerCategory = 5;

    /// <summary>Tasks listed in the cost report.</summary>
    public const int MaxCostTasks = 20;

    /// <summary>Dead work items listed in the jobs health.</summary>
    public const int MaxDeadWork = 20;

    /// <summary>The step a <c>status_changed</c> event moved to (the index expression; <c>e</c> = <c>task_events</c>).</summary>
    private const string StepTo = "COALESCE(e.summary ->> 'step_to', e.summary ->> 'to')";

    /// <summary>The step it moved from (<c>''</c> for the first).</summary>
    private const string StepFrom = "COALESCE(e.summary ->> 'step_from', e.summary ->> 'from', '')";

    /// <summary>A project's status transitions in the range (uses <c>task_events_project_step_to</c>).</summary>
    private const string Transitions = "e.project_slug = @project AND e.event_type = 'status_changed' AND e.created_at >= @from AND e.created_at < @to";

    /// <summary>The CI results that count as passed (<see cref="CiConclusions.IsSuccess"/>; checks report <c>success</c>).</summary>
    private const string CiPassed = "('success', 'neutral', 'skipped')";

    /// <summary>Each task's first transition into DEPLOYED in the range.</summary>
    private static readonly string Deployed = $"""
        SELECT DISTINCT ON (e.task_id) e.task_id, e.created_at AS deployed_at
        FROM task_events e
        WHERE {Transitions} AND {StepTo} = 'DEPLOYED' AND {StepFrom} <> 'DEPLOYED'
        ORDER BY e.task_id, e.created_at
        """;

    /// <summary>The task id of a work item or agent run's instance (<c>roles-&lt;task&gt;</c> is the task's role pipeline).</summary>
    private static readonly string RolesPrefix = TaskPipelineOrchestration.RolePipelineIdFor("");

    private static readonly string[] Steps = Enum.GetNames<TaskStatus>()
        .Where(n => n is not (nameof(TaskStatus.BLOCKED) or nameof(TaskStatus.AUTO_DISABLED)))
        .ToArray();

    private static readonly (string Step, string Label)[] FunnelSteps =
    [
        ("autotask", "AutoTask"), ("issue", "Issue"), ("pr", "Pull request"), ("merged", "Merged"), ("ci_success", "CI success"), ("deployed", "Deployed"),
    ];

    /// <summary>A task's arrival: the <c>status_changed</c> without <c>from</c> that started its pipeline (the predicate of the index <c>task_events_arrival</c>).</summary>
    private static string Arrival(string alias) => $"{alias}.event_type = 'status_changed' AND NOT ({alias}.summary ? 'from')";

    private static string TaskIdOf(string column) =>
        $"CASE WHEN {column} LIKE '{RolesPrefix}%' THEN substr({column}, {RolesPrefix.Length + 1}) ELSE {column} END";

    /// <summary>Tasks by status, received, deployed with median and p90 lead time, open failures, cost in the range.</summary>
    /// <param name="project">Project slug.</param>
    /// <param name="from">Range start (inclusive).</param>
    /// <param name="to">Range end (exclusive).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The summary.</returns>
    public async Task<ProjectSummary> SummaryAsync(string project, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        await using var batch = dataSource.CreateBatch();
        Add(batch, "SELECT step, count(*), count(*) FILTER (WHERE blocked), count(*) FILTER (WHERE auto_disabled) FROM tasks WHERE project_slug = @project GROUP BY step", project, from, to);
        Add(batch, $"""
            SELECT count(*) FILTER (WHERE {StepTo} = 'RECEIVED' AND NOT e.summary ? 'from'),
                   count(*) FILTER (WHERE {StepTo} = 'FAILED' AND {StepFrom} <> 'FAILED')
            FROM task_events e
            WHERE {Transitions} AND {StepTo} IN ('RECEIVED', 'FAILED')
            """, project, from, to);

        // The start of each deployed task is its arrival: an index-only probe of task_events_arrival per task.
        Add(batch, $"""
            SELECT d.deployed_at, COALESCE(
                (SELECT min(f.created_at) FROM task_events f WHERE f.task_id = d.task_id AND {Arrival("f")}),
                (SELECT f.created_at FROM task_events f WHERE f.task_id = d.task_id ORDER BY f.id LIMIT 1))
            FROM ({Deployed}) d
            """, project, from, to);
        Add(batch, CostTotalsSql(""), project, from, to);

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var counts = await ReadCountsAsync(reader, cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var received = reader.GetInt64(0);
        var failed = reader.GetInt64(1);
        await reader.NextResultAsync(cancellationToken);
        var leads = new List<double>();
        while (await reader.ReadAsync(cancellationToken))
        {
            leads.Add(Seconds(reader.GetFieldValue<DateTimeOffset>(1), reader.GetFieldValue<DateTimeOffset>(0)));
        }

        await reader.NextResultAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var cost = ReadCost(reader, 0);
        leads.Sort();
        return new ProjectSummary(project, from, to, counts, received, leads.Count, AnalyticsMath.Percentile(leads, 0.5), AnalyticsMath.Percentile(leads, 0.9),
            counts.ByStatus[nameof(TaskStatus.FAILED)], failed, cost);
    }

    /// <summary>
    /// The funnel of the tasks received in the range: how many of them got to an issue, a linked PR, a merge, a passed CI
    /// and <c>DEPLOYED</c> (by now, so a task received late in the range may still be on its way). Each step counts the
    /// tasks that reached it or a later one, so the steps never grow; a task deployed without CI (<c>require_ci: false</c>)
    /// counts as having passed CI.
    /// </summary>
    /// <param name="project">Project slug.</param>
    /// <param name="from">Range start.</param>
    /// <param name="to">Range end.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The funnel.</returns>
    public async Task<FunnelReport> FunnelAsync(string project, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        await using var command = dataSource.CreateCommand($"""
            WITH cohort AS (
                SELECT DISTINCT e.task_id FROM task_events e
                WHERE {Transitions} AND {StepTo} = 'RECEIVED' AND NOT e.summary ? 'from'),
            reached AS (
                SELECT CASE
                    WHEN bool_or(x.event_type = 'status_changed' AND COALESCE(x.summary ->> 'step_to', x.summary ->> 'to') = 'DEPLOYED') THEN 5
                    WHEN bool_or(x.event_type = 'ci_updated' AND x.summary ->> 'result' IN {CiPassed}) THEN 4
                    WHEN bool_or(x.event_type = 'pr_merged') THEN 3
                    WHEN bool_or(x.event_type = 'pr_linked') THEN 2
                    WHEN bool_or(x.event_type = 'issue_created') THEN 1
                    ELSE 0 END AS step
                FROM cohort c JOIN task_events x ON x.task_id = c.task_id
                GROUP BY c.task_id)
            SELECT step, count(*) FROM reached GROUP BY step
            """);
        AddParameters(command.Parameters, project, from, to);
        var atStep = new long[FunnelSteps.Length];
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                atStep[reader.GetInt32(0)] = reader.GetInt64(1);
            }
        }

        var reachedAtLeast = new long[FunnelSteps.Length];
        for (var i = FunnelSteps.Length - 1; i >= 0; i--)
        {
            reachedAtLeast[i] = atStep[i] + (i + 1 < FunnelSteps.Length ? reachedAtLeast[i + 1] : 0);
        }

        var steps = FunnelSteps.Select((s, i) => new FunnelStep(s.Step, s.Label, reachedAtLeast[i],
            i + 1 < FunnelSteps.Length && reachedAtLeast[i] > 0 ? (double)reachedAtLeast[i + 1] / reachedAtLeast[i] : null)).ToList();
        return new FunnelReport(project, from, to, steps);
    }

    /// <summary>
    /// Lead times of the tasks deployed in the range: RECEIVED → DEPLOYED (statistics, histogram, per week of the deploy)
    /// and per stage — received → issue (first <c>issue_created</c>), issue → PR (first <c>pr_linked</c>), PR → merge (the
    /// last <c>pr_merged</c> before the deploy), merge → CI done (the last passed <c>ci_updated</c> before the deploy; tasks
    /// deployed without CI are left out of that stage).
    /// </summary>
    /// <param name="project">Project slug.</param>
    /// <param name="from">Range start.</param>
    /// <param name="to">Range end.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The report.</returns>
    public async Task<LeadTimeReport> LeadTimeAsync(string project, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        await using var command = dataSource.CreateCommand($"""
            SELECT d.deployed_at, s.received, s.issue, s.pr, s.merged, s.ci
            FROM ({Deployed}) d
            CROSS JOIN LATERAL (
                SELECT COALESCE(min(x.created_at) FILTER (WHERE {Arrival("x")}), min(x.created_at)) AS received,
                       min(x.created_at) FILTER (WHERE x.event_type = 'issue_created') AS issue,
                       min(x.created_at) FILTER (WHERE x.event_type = 'pr_linked') AS pr,
                       max(x.created_at) FILTER (WHERE x.event_type = 'pr_merged' AND x.created_at <= d.deployed_at) AS merged,
                       max(x.created_at) FILTER (WHERE x.event_type = 'ci_updated' AND x.created_at <= d.deployed_at AND x.summary ->> 'result' IN {CiPassed}) AS ci
                FROM task_events x WHERE x.task_id = d.task_id) s
            """);
        AddParameters(command.Parameters, project, from, to);
        var total = new List<(DateTimeOffset Deployed, double Seconds)>();
        var stages = new[] { new List<double>(), new List<double>(), new List<double>(), new List<double>() };
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                DateTimeOffset? At(int i) => reader.IsDBNull(i) ? null : reader.GetFieldValue<DateTimeOffset>(i);
                var deployed = reader.GetFieldValue<DateTimeOffset>(0);
                var received = At(1)!.Value;
                var (issue, pr, merged, ci) = (At(2), At(3), At(4), At(5));
                total.Add((deployed, Seconds(received, deployed)));
                Stage(stages[0], received, issue);
                Stage(stages[1], issue, pr);
                Stage(stages[2], pr, merged);
                Stage(stages[3], merged, ci);
            }
        }

        var byWeek = total.GroupBy(t => AnalyticsMath.WeekOf(t.Deployed)).ToDictionary(g => g.Key, g => AnalyticsMath.Describe(g.Select(t => t.Seconds)));
        var weeks = AnalyticsMath.Weeks(from, to).Select(w => byWeek.TryGetValue(w, out var s)
            ? new WeekLeadTime(w, s.Count, s.P50Seconds, s.P90Seconds, s.MeanSeconds)
            : new WeekLeadTime(w, 0, null, null, null)).ToList();
        return new LeadTimeReport(project, from, to, AnalyticsMath.Describe(total.Select(t => t.Seconds)), AnalyticsMath.Histogram(total.Select(t => t.Seconds)),
        [
            new StageLeadTime("received_to_issue", "Received → issue", AnalyticsMath.Describe(stages[0])),
            new StageLeadTime("issue_to_pr", "Issue → PR", AnalyticsMath.Describe(stages[1])),
            new StageLeadTime("pr_to_merge", "PR → merge", AnalyticsMath.Describe(stages[2])),
            new StageLeadTime("merge_to_ci", "Merge → CI done", AnalyticsMath.Describe(stages[3])),
        ], weeks);

        static void Stage(List<double> into, DateTimeOffset? start, DateTimeOffset? end)
        {
            if (start is { } s && end is { } e && e >= s)
            {
                into.Add(Seconds(s, e));
            }
        }
    }

    /// <summary>The transitions into <c>FAILED</c> in the range by category (<see cref="FailureCategories"/>), with the newest examples.</summary>
    /// <param name="project">Project slug.</param>
    /// <param name="from">Range start.</param>
    /// <param name="to">Range end.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The report.</returns>
    public async Task<FailureReport> FailuresAsync(string project, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        const string failedSteps = $"{Transitions} AND {StepTo} = 'FAILED' AND {StepFrom} <> 'FAILED'";
        await using var batch = dataSource.CreateBatch();
        Add(batch, $"SELECT count(*) FROM task_events e WHERE {failedSteps}", project, from, to);
        var rows = Add(batch, $"""
            SELECT e.task_id, t.task_key, t.title, e.summary ->> 'reason', e.created_at
            FROM task_events e LEFT JOIN tasks t ON t.id = e.task_id
            WHERE {failedSteps}
            ORDER BY e.created_at DESC, e.id DESC LIMIT @limit
            """, project, from, to);
        rows.Parameters.AddWithValue("limit", MaxFailures);

        var failures = new List<(string Category, FailureExample Example)>();
        long total;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            total = reader.GetInt64(0);
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var reason = reader.IsDBNull(3) ? null : reader.GetString(3);
                failures.Add((FailureCategories.Classify(reason), new FailureExample(reader.GetString(0), Text(reader, 1), Text(reader, 2), reason, reader.GetFieldValue<DateTimeOffset>(4))));
            }
        }

        var categories = failures.GroupBy(f => f.Category)
            .Select(g => new FailureCategory(g.Key, FailureCategories.LabelOf(g.Key), g.Count(), g.Select(f => f.Example.TaskId).Distinct(StringComparer.Ordinal).Count(),
                [.. g.Select(f => f.Example).Take(ExamplesPerCategory)]))
            .OrderByDescending(c => c.Count).ThenBy(c => FailureCategories.All.ToList().FindIndex(a => a.Category == c.Category))
            .ToList();
        return new FailureReport(project, from, to, total, categories, total > failures.Count);
    }

    /// <summary>Agent cost of the runs that finished in the range: total, per stage, agent and vendor, model, task and week.</summary>
    /// <param name="project">Project slug (<c>agent_runs.project</c>).</param>
    /// <param name="from">Range start.</param>
    /// <param name="to">Range end.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The report.</returns>
    public async Task<CostReport> CostAsync(string project, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        const string sums = "COALESCE(sum(r.cost_usd), 0)::numeric, count(*), COALESCE(sum(r.tokens_in), 0)::bigint, COALESCE(sum(r.tokens_out), 0)::bigint";
        const string runs = "FROM agent_runs r WHERE r.project = @project AND r.finished_at >= @from AND r.finished_at < @to";
        await using var batch = dataSource.CreateBatch();
        Add(batch, CostTotalsSql(""), project, from, to);
        Add(batch, $"SELECT r.stage, {sums} {runs} GROUP BY r.stage ORDER BY 2 DESC, 1", project, from, to);
        Add(batch, $"SELECT r.agent, r.kind, {sums} {runs} GROUP BY r.agent, r.kind ORDER BY 3 DESC, 1, 2", project, from, to);
        Add(batch, $"SELECT COALESCE(r.model, '(unknown)'), {sums} {runs} GROUP BY 1 ORDER BY 2 DESC, 1", project, from, to);
        var byTask = Add(batch, $"""
            SELECT c.task_id, t.task_key, t.title, c.cost, c.runs, c.tokens_in, c.tokens_out
            FROM (SELECT {TaskIdOf("r.instance_id")} AS task_id, COALESCE(sum(r.cost_usd), 0)::numeric AS cost, count(*) AS runs,
                         COALESCE(sum(r.tokens_in), 0)::bigint AS tokens_in, COALESCE(sum(r.tokens_out), 0)::bigint AS tokens_out
                  {runs} AND r.instance_id IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT @limit) c
            LEFT JOIN tasks t ON t.id = c.task_id
            ORDER BY c.cost DESC, c.task_id
            """, project, from, to);
        byTask.Parameters.AddWithValue("limit", MaxCostTasks);
        Add(batch, $"SELECT count(DISTINCT r.instance_id) {runs}", project, from, to);
        Add(batch, $"SELECT date_trunc('week', r.finished_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', {sums} {runs} GROUP BY 1 ORDER BY 1", project, from, to);

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var total = ReadCost(reader, 0);
        var stages = new List<CostByStage>();
        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            stages.Add(new CostByStage(reader.GetString(0), ReadCost(reader, 1)));
        }

        var agents = new List<CostByAgent>();
        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            agents.Add(new CostByAgent(reader.GetString(0), reader.GetString(1), ReadCost(reader, 2)));
        }

        var models = new List<CostByModel>();
        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            models.Add(new CostByModel(reader.GetString(0), ReadCost(reader, 1)));
        }

        var tasks = new List<CostByTask>();
        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            tasks.Add(new CostByTask(reader.GetString(0), Text(reader, 1), Text(reader, 2), ReadCost(reader, 3)));
        }

        await reader.NextResultAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var taskCount = reader.GetInt64(0);
        var weeks = new Dictionary<DateTimeOffset, CostTotals>();
        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            weeks[reader.GetFieldValue<DateTimeOffset>(0)] = ReadCost(reader, 1);
        }

        var empty = new CostTotals(Money.InUsd(0), 0, 0, 0);
        return new CostReport(project, from, to, total, stages, agents, models, tasks, taskCount,
            [.. AnalyticsMath.Weeks(from, to).Select(w => new CostByWeek(w, weeks.GetValueOrDefault(w, empty)))]);
    }

    /// <summary>Per source of the project: the last delivery and the accepted / duplicate / refused / failed counts per hour and day.</summary>
    /// <param name="project">Project slug.</param>
    /// <param name="sources">The project's sources as (source, role): its tracker, then its forge.</param>
    /// <param name="from">Range start (aligned down to the hour).</param>
    /// <param name="to">Range end.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The report.</returns>
    public async Task<WebhooksHealthReport> WebhooksHealthAsync(string project, IReadOnlyList<(string Source, string Role)> sources, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);
        ArgumentNullException.ThrowIfNull(sources);
        var last = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        await using (var command = dataSource.CreateCommand(
            "SELECT s, (SELECT max(i.received_at) FROM inbox i WHERE i.project_slug = @project AND i.source = s) FROM unnest(@sources) AS s"))
        {
            command.Parameters.AddWithValue("project", project);
            command.Parameters.AddWithValue("sources", sources.Select(s => s.Source).ToArray());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                if (!reader.IsDBNull(1))
                {
                    last[reader.GetString(0)] = reader.GetFieldValue<DateTimeOffset>(1);
                }
            }
        }

        var hourly = await webhookStats.SeriesAsync(project, from, to, perDay: false, cancellationToken);
        var daily = await webhookStats.SeriesAsync(project, from, to, perDay: true, cancellationToken);
        static WebhookBucket Bucket(WebhookStatsBucket b) => new(b.Start, b.Accepted, b.Duplicate, b.Refused, b.Failed);
        var start = WebhookStats.HourOf(from);
        return new WebhooksHealthReport(project, start, to, [.. sources.Select(s =>
        {
            var hours = hourly.Where(b => b.Source == s.Source).Select(Bucket).ToList();
            var totals = new WebhookBucket(start, hours.Sum(b => b.Accepted), hours.Sum(b => b.Duplicate), hours.Sum(b => b.RefusedSignature), hours.Sum(b => b.Failed));
            return new WebhookSourceHealth(s.Source, s.Role, last.TryGetValue(s.Source, out var at) ? at : null, totals, hours,
                [.. daily.Where(b => b.Source == s.Source).Select(Bucket)]);
        })]);
    }

    /// <summary>The queue work of the project's tasks and their role pipelines now: depth, oldest due age, retries, dead work, running agents.</summary>
    /// <param name="project">Project slug.</param>
    /// <param name="now">The time to measure ages against.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The report.</returns>
    public async Task<JobsHealthReport> JobsHealthAsync(string project, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(project);

        // One arm per open status, each on its partial index; completed rows (most of the table) are never read.
        var open = $"""
            SELECT w.id, w.kind, w.name, w.instance_id, w.status, w.due_at, w.attempt, w.last_error, w.updated_at
            FROM (SELECT * FROM work_items WHERE status = 'pending'
                  UNION ALL SELECT * FROM work_items WHERE status = 'running'
                  UNION ALL SELECT * FROM work_items WHERE status = 'failed') w
            JOIN tasks t ON t.id = {TaskIdOf("w.instance_id")}
            WHERE t.project_slug = @project
            """;
        await using var batch = dataSource.CreateBatch();
        var counts = Add(batch, $"""
            SELECT o.kind,
                   count(*) FILTER (WHERE o.status = 'pending'),
                   count(*) FILTER (WHERE o.status = 'pending' AND o.due_at <= @now),
                   count(*) FILTER (WHERE o.status = 'running'),
                   count(*) FILTER (WHERE o.status = 'failed'),
                   min(o.due_at) FILTER (WHERE o.status = 'pending' AND o.due_at <= @now),
                   count(*) FILTER (WHERE o.status = 'pending' AND o.attempt > 0)
            FROM ({open}) o GROUP BY o.kind ORDER BY o.kind
            """, project, now, now);
        counts.Parameters.AddWithValue("now", now.ToUniversalTime());
        var dead = Add(batch, $"SELECT o.id, o.kind, o.name, o.instance_id, o.attempt, o.last_error, o.updated_at FROM ({open}) o WHERE o.status = 'failed' ORDER BY o.updated_at DESC, o.id DESC LIMIT @limit", project, now, now);
        dead.Parameters.AddWithValue("limit", MaxDeadWork);
        Add(batch, "SELECT id, instance_id, agent, stage, started_at FROM agent_runs WHERE finished_at IS NULL AND project = @project ORDER BY id", project, now, now);

        var kinds = new List<WorkKindCounts>();
        DateTimeOffset? oldest = null;
        long retrying = 0;
        var deadWork = new List<DeadWork>();
        var running = new List<RunningAgentRun>();
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                kinds.Add(new WorkKindCounts(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4)));
                if (!reader.IsDBNull(5) && (oldest is null || reader.GetFieldValue<DateTimeOffset>(5) < oldest))
                {
                    oldest = reader.GetFieldValue<DateTimeOffset>(5);
                }

                retrying += reader.GetInt64(6);
            }

            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var error = Text(reader, 5);
                deadWork.Add(new DeadWork(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), Text(reader, 3), reader.GetInt32(4),
                    error is null ? null : TaskProjection.Clip(error), reader.GetFieldValue<DateTimeOffset>(6)));
            }

            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var instance = Text(reader, 1);
                var started = reader.GetFieldValue<DateTimeOffset>(4);
                running.Add(new RunningAgentRun(reader.GetInt64(0), instance is null ? null : instance.StartsWith(RolesPrefix, StringComparison.Ordinal) ? instance[RolesPrefix.Length..] : instance,
                    reader.GetString(2), reader.GetString(3), started, Math.Max(0, Seconds(started, now))));
            }
        }

        return new JobsHealthReport(project, now, kinds.Sum(k => k.Due), oldest is { } o ? Math.Max(0, Seconds(o, now)) : null, retrying,
            kinds.Sum(k => k.Running), kinds.Sum(k => k.Dead), kinds, deadWork, running);
    }

    private static string CostTotalsSql(string where) => $"""
        SELECT COALESCE(sum(cost_usd), 0)::numeric, count(*), COALESCE(sum(tokens_in), 0)::bigint, COALESCE(sum(tokens_out), 0)::bigint
        FROM agent_runs WHERE project = @project AND finished_at >= @from AND finished_at < @to{where}
        """;

    private static CostTotals ReadCost(NpgsqlDataReader reader, int first) =>
        new(Money.InUsd(reader.GetDecimal(first)), reader.GetInt64(first + 1), reader.GetInt64(first + 2), reader.GetInt64(first + 3));

    private static async Task<TaskCounts> ReadCountsAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var byStatus = Steps.ToDictionary(s => s, _ => 0L, StringComparer.Ordinal);
        long blocked = 0, disabled = 0, total = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            var step = reader.GetString(0);
            byStatus[step] = byStatus.GetValueOrDefault(step) + reader.GetInt64(1);
            blocked += reader.GetInt64(2);
            disabled += reader.GetInt64(3);
            total += reader.GetInt64(1);
        }

        return new TaskCounts(total, byStatus, blocked, disabled);
    }

    private static NpgsqlBatchCommand Add(NpgsqlBatch batch, string sql, string project, DateTimeOffset from, DateTimeOffset to)
    {
        var command = new NpgsqlBatchCommand(sql);
        AddParameters(command.Parameters, project, from, to);
        batch.BatchCommands.Add(command);
        return command;
    }

    private static void AddParameters(NpgsqlParameterCollection p, string project, DateTimeOffset from, DateTimeOffset to)
    {
        p.AddWithValue("project", project);
        p.AddWithValue("from", from.ToUniversalTime());
        p.AddWithValue("to", to.ToUniversalTime());
    }

    private static string? Text(NpgsqlDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetString(i);

    private static double Seconds(DateTimeOffset start, DateTimeOffset end) => (end - start).TotalSeconds;
}

using System.Diagnostics.Metrics;
using Npgsql;
using Orchestrator.Shared.Observability;
using Orchestrator.Shared.Webhooks;
using Prometheus;

namespace Orchestrator.Functions.Observability;

/// <summary>
/// This host's Prometheus metrics (issue #11 §3), in a registry of its own rather than prometheus-net's static default,
/// exported by prometheus-net (<see cref="MetricsEndpoint"/>). Three sources:
/// <list type="bullet">
/// <item>counters this host increments: webhook answers by source and outcome (<see cref="WebhookAnswered"/>);</item>
/// <item>the engine's and platform clients' measurements (<see cref="OrchestratorMeter"/>: activity durations and
/// retries, platform requests and errors, rate-limit waits), forwarded from the .NET meter by a listener — the meter is
/// process-wide, so two hosts in one process (the tests) each count both hosts' work;</item>
/// <item>gauges read from PostgreSQL at each scrape (one round trip over partial indexes): work items by kind and
/// state, queue depth and the oldest due item's age, tasks by project and status, agent runs and their cost. These
/// describe the shared database, so every host reports the same values: aggregate them with <c>max</c>, not
/// <c>sum</c>.</item>
/// </list>
/// Labels are bounded (sources, outcomes, kinds, activity and platform names, project slugs, agents, models); no
/// series carries a task id, a URL, a credential or a message. Names and meanings: README, "Metrics".
/// </summary>
public sealed class OrchestratorMetrics : IDisposable
{
    private static readonly double[] ActivityBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600];
    private static readonly double[] RequestBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private readonly NpgsqlDataSource _db;
    private readonly TimeProvider _clock;
    private readonly MeterListener _listener;
    private readonly Counter _webhooks;
    private readonly Histogram _activityDuration;
    private readonly Counter _activityRetries;
    private readonly Counter _platformRequests;
    private readonly Counter _platformErrors;
    private readonly Histogram _platformDuration;
    private readonly Counter _rateLimitWaits;
    private readonly Counter _rateLimitWaitSeconds;
    private readonly Gauge _workItems;
    private readonly Gauge _queueDepth;
    private readonly Gauge _oldestPending;
    private readonly Gauge _tasks;
    private readonly Gauge _agentRunsRunning;
    private readonly Counter _agentRuns;
    private readonly Counter _agentCost;
    private readonly Counter _agentTokens;

    /// <summary>Creates the registry and its metrics, and starts listening to <see cref="OrchestratorMeter"/>.</summary>
    /// <param name="db">The database the scrape-time gauges read.</param>
    /// <param name="clock">Clock for ages.</param>
    public OrchestratorMetrics(NpgsqlDataSource db, TimeProvider clock)
    {
        _db = db;
        _clock = clock;
        Registry = Metrics.NewCustomRegistry();
        var f = Metrics.WithCustomRegistry(Registry);
        _webhooks = f.CreateCounter("orchestrator_webhooks_total", "Webhook requests answered, by source and outcome (accepted, duplicate, refused = bad signature, failed).", "source", "outcome");
        _activityDuration = f.CreateHistogram("orchestrator_activity_duration_seconds", "Duration of one activity attempt until its outcome was recorded.",
            new HistogramConfiguration { LabelNames = ["activity", "outcome"], Buckets = ActivityBuckets });
        _activityRetries = f.CreateCounter("orchestrator_activity_retries_total", "Activity attempts that failed transiently and were queued again.", "activity");
        _platformRequests = f.CreateCounter("orchestrator_platform_requests_total", "Platform API requests by platform and HTTP status (timeout, network, refused: no answer).", "platform", "status");
        _platformErrors = f.CreateCounter("orchestrator_platform_errors_total", "Platform API requests the client failed (an answer it does not accept, or none).", "platform", "status");
        _platformDuration = f.CreateHistogram("orchestrator_platform_request_duration_seconds", "Duration of one platform API request (rate-limit waits excluded).",
            new HistogramConfiguration { LabelNames = ["platform"], Buckets = RequestBuckets });
        _rateLimitWaits = f.CreateCounter("orchestrator_rate_limit_waits_total", "Platform requests held back by a rate limit.", "platform");
        _rateLimitWaitSeconds = f.CreateCounter("orchestrator_rate_limit_wait_seconds_total", "Time platform requests spent waiting for rate limits.", "platform");
        _workItems = f.CreateGauge("orchestrator_work_items", "Open work items by kind (activity, timer, event) and state (pending, running, dead).", "kind", "state");
        _queueDepth = f.CreateGauge("orchestrator_queue_depth", "Pending work items that are due now.");
        _oldestPending = f.CreateGauge("orchestrator_queue_oldest_pending_age_seconds", "How long the oldest due work item has waited past its due time (0 when none).");
        _tasks = f.CreateGauge("orchestrator_tasks", "Tasks by project and pipeline status (step).", "project", "status");
        _agentRunsRunning = f.CreateGauge("orchestrator_agent_runs_running", "Agent runs in progress, by project.", "project");
        _agentRuns = f.CreateCounter("orchestrator_agent_runs_total", "Finished agent runs by project, agent and outcome (succeeded, failed).", "project", "agent", "outcome");
        _agentCost = f.CreateCounter("orchestrator_agent_cost_usd_total", "Cost of finished agent runs in US dollars, by project, agent and model.", "project", "agent", "model");
        _agentTokens = f.CreateCounter("orchestrator_agent_tokens_total", "Tokens of finished agent runs by project, agent and direction (in, out).", "project", "agent", "direction");
        DotNetStats.Register(Registry);
        Registry.AddBeforeCollectCallback(RefreshAsync);

        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == OrchestratorMeter.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => OnMeasurement(instrument, value, tags));
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => OnMeasurement(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>The registry <c>/metrics</c> exports.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Counts one webhook answer.</summary>
    /// <param name="source"><c>plane</c>, <c>github</c>, <c>gitea</c> or <c>asana</c>.</param>
    /// <param name="outcome">What became of it.</param>
    public void WebhookAnswered(string source, WebhookOutcome outcome) =>
        _webhooks.WithLabels(source, outcome.ToString().ToLowerInvariant()).Inc();

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string Tag(ReadOnlySpan<KeyValuePair<string, object?>> all, string name)
        {
            foreach (var t in all)
            {
                if (t.Key == name)
                {
                    return t.Value?.ToString() ?? "";
                }
            }

            return "";
        }

        switch (instrument.Name)
        {
            case "orchestrator.activity.duration":
                _activityDuration.WithLabels(Tag(tags, "activity"), Tag(tags, "outcome")).Observe(value);
                break;
            case "orchestrator.activity.retries":
                _activityRetries.WithLabels(Tag(tags, "activity")).Inc(value);
                break;
            case "orchestrator.platform.requests":
                var platform = Tag(tags, "platform");
                var status = Tag(tags, "status");
                _platformRequests.WithLabels(platform, status).Inc(value);
                if (Tag(tags, "error") == "true")
                {
                    _platformErrors.WithLabels(platform, status).Inc(value);
                }

                break;
            case "orchestrator.platform.request.duration":
                _platformDuration.WithLabels(Tag(tags, "platform")).Observe(value);
                break;
            case "orchestrator.rate_limit.waits":
                _rateLimitWaits.WithLabels(Tag(tags, "platform")).Inc(value);
                break;
            case "orchestrator.rate_limit.wait":
                _rateLimitWaitSeconds.WithLabels(Tag(tags, "platform")).Inc(value);
                break;
        }
    }

    /// <summary>Reads the database gauges (one batch; each arm on a partial index or a small table).</summary>
    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        await using var batch = _db.CreateBatch();
        void Add(string sql)
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.AddWithValue("now", now);
            batch.BatchCommands.Add(command);
        }

        Add("""
            SELECT kind, 'pending', count(*) FROM work_items WHERE status = 'pending' GROUP BY kind
            UNION ALL SELECT kind, 'running', count(*) FROM work_items WHERE status = 'running' GROUP BY kind
            UNION ALL SELECT kind, 'dead', count(*) FROM work_items WHERE status = 'failed' GROUP BY kind
            """);
        Add("SELECT count(*), min(due_at) FROM work_items WHERE status = 'pending' AND due_at <= @now");
        Add("SELECT COALESCE(project_slug, ''), step, count(*) FROM tasks GROUP BY 1, 2");
        Add("SELECT project, count(*) FROM agent_runs WHERE finished_at IS NULL GROUP BY project");
        Add("""
            SELECT project, agent, COALESCE(model, ''), count(*) FILTER (WHERE NOT COALESCE(is_error, false)), count(*) FILTER (WHERE COALESCE(is_error, false)),
                   COALESCE(sum(cost_usd), 0)::float8, COALESCE(sum(tokens_in), 0)::float8, COALESCE(sum(tokens_out), 0)::float8
            FROM agent_runs WHERE finished_at IS NOT NULL GROUP BY 1, 2, 3
            """);

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var seen = new HashSet<string[]>(LabelComparer.Instance);
        while (await reader.ReadAsync(cancellationToken))
        {
            var labels = new[] { reader.GetString(0), reader.GetString(1) };
            seen.Add(labels);
            _workItems.WithLabels(labels).Set(reader.GetInt64(2));
        }

        ZeroUnseen(_workItems, seen);
        await reader.NextResultAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        _queueDepth.Set(reader.GetInt64(0));
        _oldestPending.Set(reader.IsDBNull(1) ? 0 : Math.Max(0, (now - reader.GetFieldValue<DateTimeOffset>(1)).TotalSeconds));

        await reader.NextResultAsync(cancellationToken);
        seen.Clear();
        while (await reader.ReadAsync(cancellationToken))
        {
            var labels = new[] { reader.GetString(0), reader.GetString(1) };
            seen.Add(labels);
            _tasks.WithLabels(labels).Set(reader.GetInt64(2));
        }

        ZeroUnseen(_tasks, seen);
        await reader.NextResultAsync(cancellationToken);
        seen.Clear();
        while (await reader.ReadAsync(cancellationToken))
        {
            var labels = new[] { reader.GetString(0) };
            seen.Add(labels);
            _agentRunsRunning.WithLabels(labels).Set(reader.GetInt64(1));
        }

        ZeroUnseen(_agentRunsRunning, seen);
        await reader.NextResultAsync(cancellationToken);

        // Totals of rows that are never deleted: IncTo keeps the counters monotonic. Runs and tokens are summed over the
        // models of one agent first (the rows come per model).
        var runs = new Dictionary<(string, string, string), double>();
        var tokens = new Dictionary<(string, string, string), double>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var (project, agent, model) = (reader.GetString(0), reader.GetString(1), reader.GetString(2));
            _agentCost.WithLabels(project, agent, model).IncTo(reader.GetDouble(5));
            Sum(runs, (project, agent, "succeeded"), reader.GetInt64(3));
            Sum(runs, (project, agent, "failed"), reader.GetInt64(4));
            Sum(tokens, (project, agent, "in"), reader.GetDouble(6));
            Sum(tokens, (project, agent, "out"), reader.GetDouble(7));
        }

        foreach (var ((project, agent, outcome), value) in runs)
        {
            _agentRuns.WithLabels(project, agent, outcome).IncTo(value);
        }

        foreach (var ((project, agent, direction), value) in tokens)
        {
            _agentTokens.WithLabels(project, agent, direction).IncTo(value);
        }

        static void Sum(Dictionary<(string, string, string), double> into, (string, string, string) key, double value) =>
            into[key] = into.GetValueOrDefault(key) + value;
    }

    private static void ZeroUnseen(Gauge gauge, HashSet<string[]> seen)
    {
        foreach (var labels in gauge.GetAllLabelValues())
        {
            if (!seen.Contains(labels))
            {
                gauge.WithLabels(labels).Set(0);
            }
        }
    }

    private sealed class LabelComparer : IEqualityComparer<string[]>
    {
        public static readonly LabelComparer Instance = new();

        public bool Equals(string[]? x, string[]? y) => x is not null && y is not null && x.AsSpan().SequenceEqual(y);

        public int GetHashCode(string[] obj)
        {
            var hash = new HashCode();
            foreach (var s in obj)
            {
                hash.Add(s, StringComparer.Ordinal);
            }

            return hash.ToHashCode();
        }
    }
}

using System.Globalization;

namespace Orchestrator.Benchmarks;

/// <summary>Command line of the benchmark; every duration and count is bounded.</summary>
internal sealed record BenchOptions
{
    public const string DefaultDatabaseUrl = "postgres://orch:orch@127.0.0.1:5432/orch_test";

    public const string Usage = """
        Usage: dotnet run -c Release --project tests/Orchestrator.Benchmarks -- [dashboard] [options]
          dashboard                  Only the read model's dashboard figure (= --only dashboard): seeds 100,000 tasks and
                                     1,000,000 events, then times the list and task page queries (not part of the default run).
          summary                    Only the analytics figure (= --only summary): the dashboard's seed plus task lifecycles
                                     and agent runs, then times the analytics reports (summary: p95 < 200 ms).
          --database-url URL         PostgreSQL to use (default: $ORCH_TEST_DATABASE_URL, else postgres://orch:orch@127.0.0.1:5432/orch_test).
                                     Each figure runs in a fresh schema that is dropped at the end.
          --quick                    Short phases (3 s instead of 10 s, 500 engine instances instead of 2,000).
          --senders N                Concurrent senders in the saturation phase (default 48).
          --worker-concurrency N     ORCH_WORKER_CONCURRENCY of the webhook host (default 4).
          --engine-concurrency N     WorkerConcurrency of the engine figure (default 8, the product default).
          --engine-activities K      No-op activities per engine instance, run as a chain (default 4).
          --npgsql "K=V;K=V"         Extra Npgsql connection-string settings for the host and the engine
                                     (e.g. "Max Auto Prepare=32;SSL Mode=Disable"), to try configuration changes.
          --inbox-lz4                What-if: after the host migrated, switch inbox.body to lz4 TOAST compression
                                     (a proposed migration; pglz costs ~0.5 ms of PostgreSQL CPU per 23 KB body).
          --trace-sql                Count Npgsql round trips per statement (slower; for the breakdown only).
          --dashboard-tasks N        Tasks the dashboard figure seeds (default 100000; --quick 10000).
          --dashboard-events N       Events the dashboard figure seeds (default 1000000; --quick 100000).
          --keep-schema              Dashboard: keep the seeded schema (its name is printed) for EXPLAIN; drop it by hand.
          --only webhooks|memory|engine|dashboard|summary
                                     Run one part only (the table then shows that part). The default run is webhooks, memory and engine.
          --help                     This text.
        """;

    public required string DatabaseUrl { get; init; }

    public bool Quick { get; init; }

    public int Senders { get; init; } = 48;

    public int HostWorkerConcurrency { get; init; } = 4;

    public int EngineConcurrency { get; init; } = 8;

    public int EngineActivities { get; init; } = 4;

    /// <summary>Extra Npgsql connection-string settings applied to every pool the benchmark measures.</summary>
    public string? NpgsqlSettings { get; init; }

    public bool TraceSql { get; init; }

    public bool InboxLz4 { get; init; }

    /// <summary><c>null</c> for the default run (webhooks, memory and engine), else <c>webhooks</c>, <c>memory</c>, <c>engine</c> or <c>dashboard</c>.</summary>
    public string? Only { get; init; }

    public bool RunsWebhooks => Only is null or "webhooks";

    public bool RunsMemory => Only is null or "memory";

    public bool RunsEngine => Only is null or "engine";

    /// <summary>Only on request: its seeding takes longer than the other figures together.</summary>
    public bool RunsDashboard => Only is "dashboard";

    /// <summary>Only on request: the analytics reports on the dashboard's seed (issue #11 §2).</summary>
    public bool RunsSummary => Only is "summary";

    public int DashboardTasks { get; init; } = 100_000;

    /// <summary>Keep the dashboard's seeded schema for investigation.</summary>
    public bool KeepSchema { get; init; }

    public int DashboardEvents { get; init; } = 1_000_000;

    /// <summary>Measured calls per list query shape.</summary>
    public int DashboardIterations => Quick ? 50 : 300;

    /// <summary>Task pages opened (the ten hottest tasks among them).</summary>
    public int DashboardTaskPages => Quick ? 100 : 500;

    public IReadOnlyList<int> Rates { get; } = [100, 500];

    public TimeSpan WarmUp => Quick ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(3);

    public TimeSpan RatePhase => Quick ? TimeSpan.FromSeconds(3) : TimeSpan.FromSeconds(10);

    public TimeSpan SaturationPhase => Quick ? TimeSpan.FromSeconds(3) : TimeSpan.FromSeconds(10);

    /// <summary>Pre-signed bodies available to the saturation phase per second of it: the highest rate it can show.</summary>
    public int SaturationPoolPerSecond => 4_000;

    public int EngineInstances => Quick ? 500 : 2_000;

    /// <summary>Upper bound on any wait for the system to finish work (routing drain, engine run).</summary>
    public TimeSpan DrainLimit => Quick ? TimeSpan.FromSeconds(60) : TimeSpan.FromSeconds(180);

    /// <summary>Parses <paramref name="args"/>; <c>null</c> (with <paramref name="error"/>) when they are invalid or ask for help.</summary>
    public static BenchOptions? Parse(string[] args, out string? error)
    {
        error = null;
        var url = Environment.GetEnvironmentVariable("ORCH_TEST_DATABASE_URL") is { Length: > 0 } env ? env : DefaultDatabaseUrl;
        var quick = false;
        string? only = null;
        string? npgsql = null;
        var traceSql = false;
        var inboxLz4 = false;
        var keepSchema = false;
        int senders = 48, hostWorkers = 4, engineWorkers = 8, activities = 4;
        int? dashboardTasks = null, dashboardEvents = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
            int Number(int min, int max)
            {
                var name = args[i];
                var text = Next();
                return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                    ? n
                    : throw new FormatException($"{name} must be a whole number from {min} to {max}, got '{text}'");
            }

            try
            {
                switch (args[i])
                {
                    case "--database-url":
                        url = Next();
                        break;
                    case "--quick":
                        quick = true;
                        break;
                    case "--senders":
                        senders = Number(1, 256);
                        break;
                    case "--worker-concurrency":
                        hostWorkers = Number(1, 64);
                        break;
                    case "--engine-concurrency":
                        engineWorkers = Number(1, 128);
                        break;
                    case "--engine-activities":
                        activities = Number(1, 50);
                        break;
                    case "--npgsql":
                        npgsql = Next();
                        break;
                    case "--inbox-lz4":
                        inboxLz4 = true;
                        break;
                    case "--trace-sql":
                        traceSql = true;
                        break;
                    case "--only":
                        only = Next() is "webhooks" or "memory" or "engine" or "dashboard" or "summary" ? args[i] : throw new FormatException($"--only takes webhooks, memory, engine, dashboard or summary, got '{args[i]}'");
                        break;
                    case "dashboard":
                        only = "dashboard";
                        break;
                    case "summary":
                        only = "summary";
                        break;
                    case "--keep-schema":
                        keepSchema = true;
                        break;
                    case "--dashboard-tasks":
                        dashboardTasks = Number(1_000, 10_000_000);
                        break;
                    case "--dashboard-events":
                        dashboardEvents = Number(1_000, 100_000_000);
                        break;
                    case "--help" or "-h":
                        return null;
                    default:
                        throw new FormatException($"Unknown option '{args[i]}'");
                }
            }
            catch (FormatException ex)
            {
                error = ex.Message;
                return null;
            }
        }

        return new BenchOptions
        {
            DatabaseUrl = url,
            Quick = quick,
            Only = only,
            NpgsqlSettings = npgsql,
            TraceSql = traceSql,
            InboxLz4 = inboxLz4,
            Senders = senders,
            HostWorkerConcurrency = hostWorkers,
            EngineConcurrency = engineWorkers,
            EngineActivities = activities,
            KeepSchema = keepSchema,
            DashboardTasks = dashboardTasks ?? (quick ? 10_000 : 100_000),
            DashboardEvents = dashboardEvents ?? (quick ? 100_000 : 1_000_000),
        };
    }
}

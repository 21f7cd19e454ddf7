using System.Globalization;

namespace Orchestrator.Benchmarks;

/// <summary>Command line of the benchmark; every duration and count is bounded.</summary>
internal sealed record BenchOptions
{
    public const string DefaultDatabaseUrl = "postgres://orch:orch@127.0.0.1:5432/orch_test";

    public const string Usage = """
        Usage: dotnet run -c Release --project tests/Orchestrator.Benchmarks -- [options]
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
          --only webhooks|memory|engine
                                     Run one part only (for investigation; the table then shows that part).
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

    /// <summary><c>null</c> for everything, else <c>webhooks</c>, <c>memory</c> or <c>engine</c>.</summary>
    public string? Only { get; init; }

    public bool RunsWebhooks => Only is null or "webhooks";

    public bool RunsMemory => Only is null or "memory";

    public bool RunsEngine => Only is null or "engine";

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
        int senders = 48, hostWorkers = 4, engineWorkers = 8, activities = 4;
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
                        only = Next() is "webhooks" or "memory" or "engine" ? args[i] : throw new FormatException($"--only takes webhooks, memory or engine, got '{args[i]}'");
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
        };
    }
}

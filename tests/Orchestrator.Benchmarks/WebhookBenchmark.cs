using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Npgsql;
using Orchestrator.Functions;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Benchmarks;

/// <summary>How fast the routing workers emptied the routing backlog a phase left behind.</summary>
internal sealed record RoutingDrain(long Backlog, double Seconds, bool Drained)
{
    public double PerSecond => Seconds > 0 ? Backlog / Seconds : 0;
}

/// <summary>Every delivery acknowledged as <c>accepted</c> must be in the inbox with its routing work item.</summary>
internal sealed record LossCheck(int AcceptedAcks, long InboxRows, int Lost, long RowsWithoutRouting, long Routed, long RoutedIgnored);

/// <summary>One open-loop rate: the requests, the routing backlog it left, and where the CPU went meanwhile.</summary>
/// <param name="Phase">The requests.</param>
/// <param name="Drain">The routing backlog the phase left.</param>
/// <param name="Cpu">CPU during the phase.</param>
/// <param name="Cost">CPU from the start of the phase until its routing backlog drained: what each delivery costs in all.</param>
internal sealed record RatePhase(PhaseResult Phase, RoutingDrain Drain, CpuShare? Cpu, CpuShare? Cost);

internal sealed record WebhookFigures(
    int BodyBytes,
    IReadOnlyList<RatePhase> Rates,
    PhaseResult Saturation,
    CpuShare? SaturationCpu,
    CpuShare? SaturationCost,
    RoutingDrain SaturationDrain,
    bool PoolExhausted,
    LossCheck Loss,
    int OutboundConnections);

/// <summary>
/// Figures 1 and 2: the real host (built and started exactly as the end-to-end tests do) on a fresh
/// schema, fed pre-signed GitHub <c>pull_request</c> deliveries over loopback HTTP.
/// </summary>
internal static class WebhookBenchmark
{
    public const string Secret = "bench-github-webhook-secret";

    public static async Task<WebhookFigures> RunAsync(BenchOptions options, Action<string> progress, CancellationToken cancellationToken)
    {
        var schema = BenchDatabase.NewSchemaName("webhooks");
        await using var sink = OutboundSink.Start();
        var settings = new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = BenchDatabase.ConnectionString(options.DatabaseUrl, schema, extraSettings: options.NpgsqlSettings),
            ["URLS"] = "http://127.0.0.1:0",
            ["GITHUB_API_URL"] = sink.Url,
            ["GITHUB_TOKEN"] = "bench-github-token",
            ["MASTER_KEY"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            ["GITHUB_WEBHOOK_SECRET"] = Secret,
            ["PLANE_API_URL"] = sink.Url,
            ["PLANE_API_TOKEN"] = "bench-plane-token",
            ["PLANE_WORKSPACE_SLUG"] = "bench",
            ["PLANE_WEBHOOK_SECRET"] = "bench-plane-webhook-secret",
            ["PROJECTS_JSON"] = """[{"plane_project_id":"00000000-0000-0000-0000-0000000000be","repo":"bench/not-the-delivered-repo","work_item_prefix":"BENCH"}]""",
            ["RECONCILE_INTERVAL"] = "1h",
            ["WORKER_CONCURRENCY"] = options.HostWorkerConcurrency.ToString(CultureInfo.InvariantCulture),

            // These figures measure throughput, not admission: at the default (16) the closed loop's senders beyond 16
            // would be answered 429. The admission limits have their own figure (WebhookMemoryBenchmark).
            ["WEBHOOK_MAX_CONCURRENT_BODIES"] = Math.Max(256, options.Senders * 2).ToString(CultureInfo.InvariantCulture),

            // One line per delivery on the console would measure the terminal, not the service.
            ["Logging:LogLevel:Default"] = "Warning",
        };

        WebApplication? app = null;
        var started = false;
        try
        {
            app = OrchestratorApp.Build([], settings);
            await app.StartOrchestratorAsync(cancellationToken);
            started = true;
            var url = new Uri(app.Urls.First().TrimEnd('/') + "/webhooks/github");
            progress($"host listening on {url} (schema {schema}, ORCH_WORKER_CONCURRENCY={options.HostWorkerConcurrency})");

            await using var probe = Database.CreateDataSource(BenchDatabase.ConnectionString(options.DatabaseUrl, schema, maxPoolSize: 2));
            if (options.InboxLz4)
            {
                await using var alter = probe.CreateCommand("ALTER TABLE inbox ALTER COLUMN body SET COMPRESSION lz4");
                await alter.ExecuteNonQueryAsync(cancellationToken);
                progress("what-if: inbox.body now uses lz4 TOAST compression (not the product's schema)");
            }

            using var client = LoadGenerator.CreateClient(Math.Max(256, options.Senders * 2));
            var load = new LoadGenerator(client, url);
            var deliveries = new Deliveries(Secret);
            var acceptedIds = new List<string>();

            const int warmUpRate = 200;
            var warmUp = await load.OpenLoopAsync("warm-up", deliveries.Create(warmUpRate * (int)options.WarmUp.TotalSeconds), warmUpRate, cancellationToken);
            acceptedIds.AddRange(warmUp.AcceptedDeliveryIds);
            progress($"warm-up: {warmUp.Accepted}/{warmUp.Planned} accepted at {warmUpRate}/s, {warmUp.Latency.Describe()}");
            await DrainRoutingAsync(probe, options.DrainLimit, cancellationToken);

            using var trace = options.TraceSql ? new SqlTrace() : null;
            var rates = new List<RatePhase>();
            foreach (var rate in options.Rates)
            {
                trace?.Reset();
                var batch = deliveries.Create(rate * (int)options.RatePhase.TotalSeconds);
                var cpu = CpuAccount.Start(probe);
                var result = await load.OpenLoopAsync($"{rate}/s", batch, rate, cancellationToken);
                var share = cpu is null ? null : await cpu.StopAsync(cancellationToken);
                acceptedIds.AddRange(result.AcceptedDeliveryIds);
                var drain = await DrainRoutingAsync(probe, options.DrainLimit, cancellationToken);
                rates.Add(new RatePhase(result, drain, share, cpu is null ? null : await cpu.StopAsync(cancellationToken)));
                progress($"open loop {rate}/s: {result.Accepted}/{result.Planned} accepted, {result.Errors} errors; latency {result.Latency.Describe()}; " +
                    $"scheduler lag p99 {result.DispatchLag.P99:0.00} ms; routing backlog {drain.Backlog} left; {share?.Describe()}");
                if (trace is not null)
                {
                    progress($"SQL for the {rate}/s phase and its routing (includes the benchmark's polling):\n" + trace.Describe(result.Accepted, "delivery"));
                }
            }

            var pool = deliveries.Create(options.SaturationPoolPerSecond * (int)options.SaturationPhase.TotalSeconds);
            trace?.Reset();
            var saturationCpu = CpuAccount.Start(probe);
            var (saturation, exhausted) = await load.ClosedLoopAsync("saturation", pool, options.Senders, options.SaturationPhase, cancellationToken);
            var saturationShare = saturationCpu is null ? null : await saturationCpu.StopAsync(cancellationToken);
            pool = []; // ~1 GB of bodies: let it go before the drain.
            acceptedIds.AddRange(saturation.AcceptedDeliveryIds);
            progress(FormattableString.Invariant(
                $"closed loop, {options.Senders} senders: {saturation.Acknowledged} acknowledged in {saturation.Seconds:0.0} s ({saturation.AcknowledgedPerSecond:0}/s), {saturation.Errors} errors; latency {saturation.Latency.Describe()}; {saturationShare?.Describe()}"));
            var saturationDrain = await DrainRoutingAsync(probe, options.DrainLimit, cancellationToken);
            var saturationCost = saturationCpu is null ? null : await saturationCpu.StopAsync(cancellationToken);
            progress(FormattableString.Invariant(
                $"routing backlog after saturation: {saturationDrain.Backlog} rows, {(saturationDrain.Drained ? "drained" : "NOT drained")} in {saturationDrain.Seconds:0.0} s ({saturationDrain.PerSecond:0} routed/s)"));
            if (trace is not null)
            {
                progress("SQL for the saturation phase and its routing (includes the benchmark's polling):\n" + trace.Describe(saturation.Accepted, "delivery"));
            }

            var loss = await CheckLossAsync(probe, acceptedIds, cancellationToken);
            return new WebhookFigures(deliveries.TemplateBytes, rates, saturation, saturationShare, saturationCost, saturationDrain, exhausted, loss, sink.Connections);
        }
        finally
        {
            if (app is not null)
            {
                if (started)
                {
                    await app.StopAsync(CancellationToken.None);
                }

                await app.DisposeAsync();
            }

            NpgsqlConnection.ClearAllPools();
            await BenchDatabase.DropSchemaAsync(options.DatabaseUrl, schema, CancellationToken.None);
        }
    }

    /// <summary>Waits (bounded) until no routing work is pending or running; reports how long the backlog took.</summary>
    private static async Task<RoutingDrain> DrainRoutingAsync(NpgsqlDataSource probe, TimeSpan limit, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var backlog = await RoutingBacklogAsync(probe, cancellationToken);
        var left = backlog;
        while (left > 0 && Stopwatch.GetElapsedTime(start) < limit)
        {
            await Task.Delay(100, cancellationToken);
            left = await RoutingBacklogAsync(probe, cancellationToken);
        }

        return new RoutingDrain(backlog, Stopwatch.GetElapsedTime(start).TotalSeconds, left == 0);
    }

    private static async Task<long> RoutingBacklogAsync(NpgsqlDataSource probe, CancellationToken cancellationToken)
    {
        await using var command = probe.CreateCommand("SELECT count(*) FROM work_items WHERE name = @name AND status IN ('pending', 'running')");
        command.Parameters.AddWithValue("name", InboxStore.RouteActivity);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task<LossCheck> CheckLossAsync(NpgsqlDataSource probe, List<string> acceptedIds, CancellationToken cancellationToken)
    {
        var stored = new HashSet<string>(StringComparer.Ordinal);
        await using (var command = probe.CreateCommand("SELECT delivery_id FROM inbox WHERE source = 'github'"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                stored.Add(reader.GetString(0));
            }
        }

        await using var counts = probe.CreateCommand("""
            SELECT count(*) FILTER (WHERE NOT EXISTS (
                       SELECT 1 FROM work_items w WHERE w.unique_key = 'sys|activity|route:' || i.id)),
                   count(*) FILTER (WHERE i.processed_at IS NOT NULL),
                   count(*) FILTER (WHERE i.outcome LIKE 'ignored:%')
            FROM inbox i
            """);
        await using var row = await counts.ExecuteReaderAsync(cancellationToken);
        await row.ReadAsync(cancellationToken);
        return new LossCheck(acceptedIds.Count, stored.Count, acceptedIds.Count(id => !stored.Contains(id)), row.GetInt64(0), row.GetInt64(1), row.GetInt64(2));
    }
}

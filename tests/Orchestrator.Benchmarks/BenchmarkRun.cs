using System.Globalization;

namespace Orchestrator.Benchmarks;

/// <summary>The targets the figures are reported against.</summary>
internal static class Targets
{
    public const double LatencyMs = 10;
    public const double AcksPerSecond = 2_000;
    public const double StepsPerSecond = 2_000;

    /// <summary>Issue #8 item 9c: 100 concurrent unsigned 1 MiB bodies grow the host by less than this.</summary>
    public const double MemoryGrowthMiB = 64;
    public const double ListP95Ms = 100;
    public const double TaskPageP95Ms = 50;

    /// <summary>Issue #11 §2: the analytics summary on 100,000 tasks / 1,000,000 events.</summary>
    public const double SummaryP95Ms = 200;
}

/// <summary>Runs the figures asked for in order and prints the machine facts, the table and one line per figure.</summary>
internal static class BenchmarkRun
{
    public static async Task<int> RunAsync(BenchOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        void Progress(string line) => output.WriteLine(FormattableString.Invariant($"  · {DateTime.UtcNow:HH:mm:ss} {line}"));

        output.WriteLine(FormattableString.Invariant($"Orchestrator benchmarks ({(options.Quick ? "--quick" : "full")} run), {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC"));
        MachineFacts facts;
        WebhookFigures? webhooks = null;
        MemoryFigures? memory = null;
        EngineFigures? engine = null;
        DashboardFigures? dashboard = null;
        SummaryFigures? summary = null;
        try
        {
            var quiet = CpuAccount.Start();
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            var before = quiet is null ? null : await quiet.StopAsync(cancellationToken);
            facts = await BenchDatabase.ReadFactsAsync(options.DatabaseUrl, commits: 200, cancellationToken);
            output.WriteLine(Report.Machine(facts));
            if (before is not null)
            {
                output.WriteLine($"Before  : load average {CpuAccount.LoadAverage()}; {before.Describe()}");
            }

            output.WriteLine();
            if (options.RunsWebhooks)
            {
                webhooks = await WebhookBenchmark.RunAsync(options, Progress, cancellationToken);
            }

            if (options.RunsMemory)
            {
                memory = await WebhookMemoryBenchmark.RunAsync(options, Progress, cancellationToken);
            }

            if (options.RunsEngine)
            {
                engine = await EngineBenchmark.RunAsync(options, options.EngineConcurrency, Progress, cancellationToken);
            }

            if (options.RunsDashboard)
            {
                dashboard = await DashboardBenchmark.RunAsync(options, Progress, cancellationToken);
            }

            if (options.RunsSummary)
            {
                summary = await SummaryBenchmark.RunAsync(options, Progress, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            output.WriteLine("Cancelled; the benchmark schemas were dropped.");
            return 130;
        }
        catch (Exception ex)
        {
            output.WriteLine($"Benchmark failed: {ex}");
            return 1;
        }

        output.WriteLine();
        if (webhooks is not null || memory is not null || engine is not null || dashboard is not null)
        {
            output.WriteLine(Report.Table(options, webhooks, memory, engine, dashboard));
            output.WriteLine();
            foreach (var line in Report.Summary(options, webhooks, memory, engine, dashboard))
            {
                output.WriteLine(line);
            }
        }

        if (summary is not null)
        {
            output.WriteLine(Report.Analytics(summary));
        }

        var others = new[] { webhooks?.SaturationCpu, engine?.Cpu, dashboard?.Cpu, summary?.Cpu }.Concat(webhooks?.Rates.Select(r => r.Cpu) ?? []).Max(c => c?.Other ?? 0);
        if (others > 0.05)
        {
            output.WriteLine(FormattableString.Invariant(
                $"WARNING: other processes took up to {others:P0} of the CPU during a figure: these figures understate what an idle machine does."));
        }

        // Misses are findings, not failures; losing or refusing a delivery is a failure.
        var broken = webhooks is not null && (webhooks.Loss.Lost > 0 || webhooks.Saturation.Errors > 0 || webhooks.Rates.Any(r => r.Phase.Errors > 0))
            || memory is not null && !memory.AnswersOk
            || engine is not null && !engine.Finished;
        return broken ? 1 : 0;
    }
}

/// <summary>Formatting only.</summary>
internal static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Machine(MachineFacts f) => string.Create(Invariant, $"""
        Machine : {f.Cores} cores · {f.Runtime} · {f.Os}
        Database: PostgreSQL {f.PostgresVersion} · synchronous_commit={f.SynchronousCommit} · fsync={f.Fsync} ({f.WalSyncMethod}) · shared_buffers={f.SharedBuffers} · max_connections={f.MaxConnections}
                  one-row autocommit INSERT round trip (the floor under every durable step): p50 {f.CommitRoundTrip.P50:0.00} ms, p99 {f.CommitRoundTrip.P99:0.00} ms ({f.CommitRoundTrip.Count} sequential)
        Load    : generator and host share this process and these cores; HTTP/1.1 over loopback; host log level Warning
        """);

    public static string Table(BenchOptions options, WebhookFigures? w, MemoryFigures? m, EngineFigures? e, DashboardFigures? d = null)
    {
        var rows = new List<(string Figure, string Result, string Target, string Verdict)>
        {
            ("Figure", "Result", "Target", ""),
        };
        foreach (var (phase, _, _, _) in w?.Rates ?? [])
        {
            var l = phase.Latency;
            var isTarget = phase.Name == "500/s";
            rows.Add(($"Webhook ack latency @{phase.Name} p50/p99/max", string.Create(Invariant, $"{l.P50:0.00} / {l.P99:0.00} / {l.Max:0.00} ms"),
                isTarget ? $"p99 ≤ {Targets.LatencyMs:0} ms" : "-",
                isTarget ? Verdict(l.P99 <= Targets.LatencyMs && phase.Errors == 0) : ""));
        }

        if (w is not null)
        {
            rows.Add(($"Saturation ({options.Senders} senders) acked/s", string.Create(Invariant, $"{w.Saturation.AcknowledgedPerSecond:N0}/s, lost {w.Loss.Lost}"),
                string.Create(Invariant, $"≥ {Targets.AcksPerSecond:N0}/s, lost 0"),
                Verdict(w.Saturation.AcknowledgedPerSecond >= Targets.AcksPerSecond && w.Loss.Lost == 0 && w.Saturation.Errors == 0)));
        }

        if (m is not null)
        {
            rows.Add(($"Host RSS growth, {WebhookMemoryBenchmark.Requests} unsigned 1 MiB bodies at once", string.Create(Invariant, $"+{m.GrowthMiB:0.0} MiB ({Answers(m)})"),
                string.Create(Invariant, $"< {Targets.MemoryGrowthMiB:0} MiB, no 5xx"),
                Verdict(m.GrowthMiB < Targets.MemoryGrowthMiB && m.AnswersOk)));
        }

        if (e is not null)
        {
            rows.Add(($"Engine steps/s (no-op chain, conc. {e.Concurrency})", string.Create(Invariant, $"{e.StepsPerSecond:N0}/s ({e.Steps:N0} steps)"),
                string.Create(Invariant, $"≥ {Targets.StepsPerSecond:N0}/s"),
                Verdict(e.StepsPerSecond >= Targets.StepsPerSecond && e.Finished)));
        }

        foreach (var q in d?.Queries ?? [])
        {
            rows.Add(($"Dashboard {q.Name} p50/p95/max", string.Create(Invariant, $"{q.Latency.P50:0.00} / {q.Latency.P95:0.00} / {q.Latency.Max:0.00} ms"),
                string.Create(Invariant, $"p95 < {q.TargetMs:0} ms"), q.Pass ? "PASS" : "FAIL"));
        }

        var widths = new[] { rows.Max(r => r.Figure.Length), rows.Max(r => r.Result.Length), rows.Max(r => r.Target.Length) };
        var lines = rows.Select(r => $"{r.Figure.PadRight(widths[0])}  {r.Result.PadRight(widths[1])}  {r.Target.PadRight(widths[2])}  {r.Verdict}".TrimEnd()).ToList();
        lines.Insert(1, $"{new string('-', widths[0])}  {new string('-', widths[1])}  {new string('-', widths[2])}  ----");
        return string.Join(Environment.NewLine, lines);
    }

    public static IEnumerable<string> Summary(BenchOptions options, WebhookFigures? w, MemoryFigures? m, EngineFigures? e, DashboardFigures? d = null) =>
        (w is null ? [] : Webhooks(options, w)).Concat(m is null ? [] : [Memory(m)]).Concat(e is null ? [] : [Engine(e)]).Concat(d is null ? [] : [Dashboard(d)]);

    /// <summary>The analytics figure: one row per report, the summary against its target.</summary>
    public static string Analytics(SummaryFigures s)
    {
        var lines = new List<string>
        {
            string.Create(Invariant, $"Analytics on {s.Tasks:N0} tasks / {s.Events:N0} events ({s.Lifecycle:N0} lifecycle) / {s.AgentRuns:N0} agent runs, seeded in {s.SeedSeconds:0.0} s, one client, sequential{Cpu(s.Cpu)}:"),
        };
        foreach (var q in s.Queries)
        {
            lines.Add(string.Create(Invariant, $"  {q.Name,-22} p50 {q.Latency.P50,7:0.00} ms  p95 {q.Latency.P95,7:0.00} ms  max {q.Latency.Max,7:0.00} ms  ({q.Latency.Count} calls)") +
                (q.Targeted ? string.Create(Invariant, $"  target p95 < {Targets.SummaryP95Ms:0} ms → {(q.Pass ? "PASS" : "FAIL")}") : ""));
        }

        return string.Join(Environment.NewLine, lines);
    }

    private static string Memory(MemoryFigures m) => string.Create(Invariant,
        $"webhook memory: {m.Storm.Describe()}{(m.HostExited ? "; the host process EXITED" : "")} " +
        $"→ {Verdict(m.GrowthMiB < Targets.MemoryGrowthMiB && m.AnswersOk)} (target growth < {Targets.MemoryGrowthMiB:0} MiB, every answer 401/413/429)");

    private static string Answers(MemoryFigures m) =>
        string.Join(" ", m.Storm.Answers.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}×{a.Value}"));

    private static string Dashboard(DashboardFigures d) => string.Create(Invariant,
        $"dashboard: {d.Tasks:N0} tasks (largest project {d.LargestProjectTasks:N0}) and {d.Events:N0} events (hottest task {d.HottestTaskEvents:N0}), seeded in {d.SeedSeconds:0.0} s + VACUUM ANALYZE {d.VacuumSeconds:0.0} s; " +
        $"{d.Queries.Count} query shapes, one client, sequential{Cpu(d.Cpu)} → " +
        $"lists {(d.Queries.Where(q => !q.IsTaskPage).All(q => q.Pass) ? "PASS" : "FAIL")} (target p95 < {Targets.ListP95Ms:0} ms), " +
        $"task page {(d.Queries.Where(q => q.IsTaskPage).All(q => q.Pass) ? "PASS" : "FAIL")} (target p95 < {Targets.TaskPageP95Ms:0} ms)");

    private static IEnumerable<string> Webhooks(BenchOptions options, WebhookFigures w)
    {
        foreach (var (p, drain, cpu, cost) in w.Rates)
        {
            var target = p.Name == "500/s"
                ? string.Create(Invariant, $" → {Verdict(p.Latency.P99 <= Targets.LatencyMs && p.Errors == 0)} (target p99 ≤ {Targets.LatencyMs:0} ms)")
                : "";
            yield return string.Create(Invariant,
                $"webhook ack @{p.Name}: p50 {p.Latency.P50:0.00} ms, p99 {p.Latency.P99:0.00} ms, max {p.Latency.Max:0.00} ms from scheduled send to 202, open loop over {options.RatePhase.TotalSeconds:0} s; " +
                $"{p.Accepted}/{p.Planned} accepted, {p.Errors} errors{FirstError(p)}; service time p99 {p.Service.P99:0.00} ms, scheduler lag p99 {p.DispatchLag.P99:0.00} ms; routing backlog at end {drain.Backlog}{Cpu(cpu)}{Cost(cost, p.Accepted, "delivery incl. routing")}{target}");
        }

        var s = w.Saturation;
        var loss = w.Loss;
        yield return string.Create(Invariant,
            $"saturation: {s.AcknowledgedPerSecond:N0} acknowledged deliveries/s ({s.Acknowledged:N0} in {s.Seconds:0.0} s, {options.Senders} closed-loop senders, latency p50 {s.Latency.P50:0.0} ms / p99 {s.Latency.P99:0.0} ms, {s.Errors} errors{FirstError(s)}{Cpu(w.SaturationCpu)}" +
            $"{(w.PoolExhausted ? ", pre-signed pool exhausted: the rate is a lower bound" : "")}{Cost(w.SaturationCost, s.Accepted, "delivery incl. routing")}); " +
            $"lost: {loss.Lost} ({loss.AcceptedAcks:N0} acks 'accepted' in the whole run, {loss.InboxRows:N0} inbox rows, {loss.RowsWithoutRouting} without routing work) " +
            $"→ {Verdict(s.AcknowledgedPerSecond >= Targets.AcksPerSecond && loss.Lost == 0 && s.Errors == 0)} (target ≥ {Targets.AcksPerSecond:N0}/s, lost 0)");
        yield return string.Create(Invariant,
            $"routing (not a target): backlog of {w.SaturationDrain.Backlog:N0} after saturation {(w.SaturationDrain.Drained ? "drained" : "NOT drained")} in {w.SaturationDrain.Seconds:0.0} s = {w.SaturationDrain.PerSecond:N0} routed/s " +
            $"with ORCH_WORKER_CONCURRENCY={options.HostWorkerConcurrency}; {loss.Routed:N0}/{loss.InboxRows:N0} routed ({loss.RoutedIgnored:N0} ignored: no task linked); " +
            $"bodies {w.BodyBytes:N0} B; outbound API connections: {w.OutboundConnections}");
    }

    private static string Engine(EngineFigures e) => string.Create(Invariant,
        $"engine: {e.StepsPerSecond:N0} steps/s ({e.Steps:N0} of {e.ExpectedSteps:N0} steps = {e.Instances:N0} instances × (1 start event + {e.Links} chained no-op activities) in {e.Seconds:0.00} s, " +
        $"WorkerService concurrency {e.Concurrency}, {e.FailedSteps} failed, {e.CompletedInstances:N0} instances completed; queueing the starts took {e.StartSeconds:0.00} s{Cpu(e.Cpu)}{Cost(e.Cpu, e.Steps, "step")}) " +
        $"→ {Verdict(e.StepsPerSecond >= Targets.StepsPerSecond && e.Finished)} (target ≥ {Targets.StepsPerSecond:N0}/s)");

    private static string Verdict(bool pass) => pass ? "PASS" : "MISS";

    private static string FirstError(PhaseResult phase) => phase.Errors == 0 ? "" : $" (first: {phase.FirstError})";

    private static string Cpu(CpuShare? share) => share is null ? "" : "; " + share.Describe();

    private static string Cost(CpuShare? share, long units, string unit) => share is null || units <= 0 ? "" : "; " + share.CostPer(units, unit);
}

using Npgsql;
using Orchestrator.Tests.Integration.EndToEnd;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Benchmarks;

/// <summary>The memory figure: what a storm of unsigned bodies does to the host's resident set.</summary>
/// <param name="Storm">The measurements (<see cref="UnsignedBodyStorm.Result"/>).</param>
/// <param name="HostExited">Whether the host process died during the storm.</param>
internal sealed record MemoryFigures(UnsignedBodyStorm.Result Storm, bool HostExited)
{
    /// <summary>Every request got 401, 413 or 429 (no 5xx, no dropped connection) and the host lived.</summary>
    public bool AnswersOk => !HostExited && Storm.Answers.Keys.All(k => k is "401" or "413" or "429");

    public double GrowthMiB => Storm.GrowthKiB / 1024.0;
}

/// <summary>
/// Figure 4: the host as its own process (<c>dotnet Orchestrator.Functions.dll serve</c>, the product's defaults,
/// only <c>ORCH_*</c> variables), 100 concurrent unsigned 1 MiB bodies at <c>/webhooks/github</c> (the largest body
/// cap, so each admitted body is read in full), its VmRSS/VmHWM before and during (issue #8 item 9c). The same code
/// the regression test runs (<c>tests/Orchestrator.Tests.Integration/Support/UnsignedBodyStorm.cs</c>, linked).
/// </summary>
internal static class WebhookMemoryBenchmark
{
    public const int Requests = 100;
    public const int BodyBytes = 1024 * 1024;

    public static async Task<MemoryFigures> RunAsync(BenchOptions options, Action<string> progress, CancellationToken cancellationToken)
    {
        var schema = BenchDatabase.NewSchemaName("memory");
        var dataDir = Directory.CreateTempSubdirectory("orch-bench-memory-");
        try
        {
            var settings = new Dictionary<string, string?>
            {
                ["DATABASE_URL"] = BenchDatabase.ConnectionString(options.DatabaseUrl, schema, extraSettings: options.NpgsqlSettings),
                ["MASTER_KEY"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
                ["GITHUB_WEBHOOK_SECRET"] = WebhookBenchmark.Secret,
                ["DATA_DIR"] = dataDir.FullName,
                ["RECONCILE_INTERVAL"] = "1h",
            };
            await using var host = await HostProcess.StartAsync(settings);
            progress($"host process {host.ProcessId} listening on {host.Url} (schema {schema}, product defaults for the webhook limits)");
            var storm = await UnsignedBodyStorm.RunAsync(host.ProcessId, new Uri(host.Url, "webhooks/github"), Requests, BodyBytes, cancellationToken);
            progress("memory: " + storm.Describe());
            return new MemoryFigures(storm, host.HasExited);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await BenchDatabase.DropSchemaAsync(options.DatabaseUrl, schema, CancellationToken.None);
            dataDir.Delete(recursive: true);
        }
    }
}

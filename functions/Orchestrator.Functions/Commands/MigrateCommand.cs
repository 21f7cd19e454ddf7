using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Functions.Commands;

/// <summary><c>migrate</c>: applies the database migrations and exits (needs only <c>ORCH_DATABASE_URL</c>).</summary>
public static class MigrateCommand
{
    /// <summary>Runs the command; returns the process exit code.</summary>
    public static async Task<int> RunAsync()
    {
        var config = new ConfigurationBuilder().AddOrchestratorSettings([Directory.GetCurrentDirectory(), AppContext.BaseDirectory]).Build();
        var url = config["DATABASE_URL"];
        if (string.IsNullOrWhiteSpace(url))
        {
            throw new SettingsException("Invalid configuration:\n  - ORCH_DATABASE_URL is required but not set");
        }

        await using var dataSource = Database.CreateDataSource(Database.ToConnectionString(url));
        var applied = await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync(CancellationToken.None);
        Console.WriteLine(applied.Count == 0
            ? $"Schema is up to date (version {MigrationRunner.LatestVersion})."
            : $"Applied migrations {string.Join(", ", applied)}; schema at version {MigrationRunner.LatestVersion}.");
        return 0;
    }
}

using System.Diagnostics;
using Npgsql;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Benchmarks;

/// <summary>What the figures depend on: the machine, the runtime and how PostgreSQL commits.</summary>
internal sealed record MachineFacts(
    int Cores,
    string Runtime,
    string Os,
    string PostgresVersion,
    string SynchronousCommit,
    string Fsync,
    string WalSyncMethod,
    string SharedBuffers,
    int MaxConnections,
    Percentiles CommitRoundTrip);

/// <summary>Fresh schemas (named in <c>Search Path</c>, so the product's migration runner creates them) and their removal.</summary>
internal static class BenchDatabase
{
    /// <summary>Every connection the benchmark measures carries this, so its backends can be told from other clients'.</summary>
    public const string ApplicationName = "orchestrator-bench";

    /// <summary>A unique schema name with <paramref name="purpose"/> in it, e.g. <c>bench_webhooks_1a2b3c4d</c>.</summary>
    public static string NewSchemaName(string purpose) => $"bench_{purpose}_{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>The Npgsql connection string for <paramref name="databaseUrl"/> with <paramref name="schema"/> as search path.</summary>
    public static string ConnectionString(string databaseUrl, string schema, int? maxPoolSize = null, string? extraSettings = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(Database.ToConnectionString(databaseUrl));
        if (extraSettings is not null)
        {
            foreach (var (key, value) in new NpgsqlConnectionStringBuilder(extraSettings))
            {
                builder[key] = value;
            }
        }

        builder.SearchPath = schema;
        builder.ApplicationName = ApplicationName;
        if (maxPoolSize is { } max)
        {
            builder.MaxPoolSize = max;
        }

        return builder.ConnectionString;
    }

    /// <summary>Drops <paramref name="schema"/> and everything in it (pools on it must be closed first).</summary>
    public static async Task DropSchemaAsync(string databaseUrl, string schema, CancellationToken cancellationToken)
    {
        await using var admin = Database.CreateDataSource(Database.ToConnectionString(databaseUrl));
        await using var drop = admin.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        await drop.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Reads the server settings that decide commit cost, and times <paramref name="commits"/> sequential
    /// single-row autocommit INSERTs into a logged table: the floor under every durable step.
    /// </summary>
    public static async Task<MachineFacts> ReadFactsAsync(string databaseUrl, int commits, CancellationToken cancellationToken)
    {
        var schema = NewSchemaName("facts");
        try
        {
            await using var dataSource = Database.CreateDataSource(ConnectionString(databaseUrl, schema, maxPoolSize: 2));
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            async Task<string> ShowAsync(string sql)
            {
                await using var command = new NpgsqlCommand(sql, connection);
                return (await command.ExecuteScalarAsync(cancellationToken))?.ToString() ?? "?";
            }

            var version = await ShowAsync("SHOW server_version");
            var synchronousCommit = await ShowAsync("SHOW synchronous_commit");
            var fsync = await ShowAsync("SHOW fsync");
            var walSync = await ShowAsync("SHOW wal_sync_method");
            var sharedBuffers = await ShowAsync("SHOW shared_buffers");
            var maxConnections = int.Parse(await ShowAsync("SHOW max_connections"), System.Globalization.CultureInfo.InvariantCulture);

            await ShowAsync($"CREATE SCHEMA \"{schema}\"");
            await ShowAsync("CREATE TABLE commit_probe (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())");
            var samples = new double[commits];
            await using var insert = new NpgsqlCommand("INSERT INTO commit_probe DEFAULT VALUES", connection);
            await insert.PrepareAsync(cancellationToken);
            for (var i = 0; i < commits; i++)
            {
                var start = Stopwatch.GetTimestamp();
                await insert.ExecuteNonQueryAsync(cancellationToken);
                samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }

            return new MachineFacts(
                Environment.ProcessorCount,
                System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
                System.Runtime.InteropServices.RuntimeInformation.OSDescription,
                version,
                synchronousCommit,
                fsync,
                walSync,
                sharedBuffers,
                maxConnections,
                Percentiles.Of(samples));
        }
        finally
        {
            await DropSchemaAsync(databaseUrl, schema, CancellationToken.None);
        }
    }
}

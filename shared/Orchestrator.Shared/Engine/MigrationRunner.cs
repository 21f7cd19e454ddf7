using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Orchestrator.Shared.Engine;

/// <summary>
/// Applies the versioned SQL migrations embedded in this assembly (<c>Engine/Migrations/NNNN_name.sql</c>)
/// in order, each in its own transaction, under a session advisory lock so that several hosts starting
/// together apply each migration once. Applied versions are recorded in <c>schema_migrations</c>.
/// </summary>
public sealed class MigrationRunner(NpgsqlDataSource dataSource, ILogger<MigrationRunner> logger)
{
    private static readonly IReadOnlyList<(int Version, string Name, string Sql)> Migrations = LoadMigrations();

    /// <summary>The newest migration version shipped with this build.</summary>
    public static int LatestVersion => Migrations[^1].Version;

    /// <summary>Creates the schema if needed and applies every pending migration.</summary>
    /// <returns>The versions applied by this call (empty when up to date).</returns>
    public Task<IReadOnlyList<int>> MigrateAsync(CancellationToken cancellationToken) => MigrateAsync(int.MaxValue, cancellationToken);

    /// <summary>Applies the pending migrations up to <paramref name="upToVersion"/> only (tests of a migration on data of the schema before it).</summary>
    /// <param name="upToVersion">The last version to apply.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The versions applied by this call.</returns>
    internal async Task<IReadOnlyList<int>> MigrateAsync(int upToVersion, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var schema = Database.SchemaOf(connection.ConnectionString);
        var lockKey = LockKey(schema);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_lock(@k)", connection))
        {
            lockCommand.Parameters.AddWithValue("k", lockKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            await ExecuteAsync(connection, $"CREATE SCHEMA IF NOT EXISTS \"{schema.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", cancellationToken);
            await ExecuteAsync(connection, """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer PRIMARY KEY,
                    name       text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """, cancellationToken);
            var applied = new HashSet<int>();
            await using (var read = new NpgsqlCommand("SELECT version FROM schema_migrations", connection))
            await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    applied.Add(reader.GetInt32(0));
                }
            }

            var done = new List<int>();
            foreach (var (version, name, sql) in Migrations)
            {
                if (applied.Contains(version) || version > upToVersion)
                {
                    continue;
                }

                await using var tx = await connection.BeginTransactionAsync(cancellationToken);
                await using (var apply = new NpgsqlCommand(sql, connection, tx))
                {
                    await apply.ExecuteNonQueryAsync(cancellationToken);
                }

                await using (var record = new NpgsqlCommand("INSERT INTO schema_migrations (version, name) VALUES (@v, @n)", connection, tx))
                {
                    record.Parameters.AddWithValue("v", version);
                    record.Parameters.AddWithValue("n", name);
                    await record.ExecuteNonQueryAsync(cancellationToken);
                }

                await tx.CommitAsync(cancellationToken);
                logger.LogInformation("Applied migration {Version} {Name} to schema {Schema}", version, name, schema);
                done.Add(version);
            }

            return done;
        }
        finally
        {
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(@k)", connection);
            unlock.Parameters.AddWithValue("k", lockKey);
            await unlock.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    /// <summary>The highest applied version, or 0 when the schema has none (used by <c>/readyz</c>).</summary>
    public static async Task<int> AppliedVersionAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT COALESCE((SELECT max(version) FROM schema_migrations), 0) WHERE to_regclass('schema_migrations') IS NOT NULL");
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is int v ? v : 0;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static long LockKey(string schema)
    {
        // FNV-1a over "orchestrator-migrations:<schema>": stable across processes (string.GetHashCode is not).
        ulong hash = 14695981039346656037;
        foreach (var b in Encoding.UTF8.GetBytes("orchestrator-migrations:" + schema))
        {
            hash = (hash ^ b) * 1099511628211;
        }

        return unchecked((long)hash);
    }

    private static List<(int, string, string)> LoadMigrations()
    {
        var assembly = typeof(MigrationRunner).Assembly;
        var list = new List<(int, string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("Migrations.", StringComparison.Ordinal)))
        {
            var file = resource["Migrations.".Length..^".sql".Length];
            var underscore = file.IndexOf('_', StringComparison.Ordinal);
            var version = int.Parse(file[..underscore], System.Globalization.CultureInfo.InvariantCulture);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            list.Add((version, file[(underscore + 1)..], reader.ReadToEnd()));
        }

        if (list.Count == 0)
        {
            throw new InvalidOperationException("No migrations are embedded in " + assembly.GetName().Name + ".");
        }

        list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return list;
    }

    /// <summary>Exposed for diagnostics: the embedded migrations as (version, name).</summary>
    public static IEnumerable<(int Version, string Name)> Embedded => Migrations.Select(m => (m.Version, m.Name));
}

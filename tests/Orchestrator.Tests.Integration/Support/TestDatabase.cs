using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Tests.Integration.Support;

/// <summary>
/// A private schema in the test database (ORCH_TEST_DATABASE_URL, default the role .ci/setup-postgres.sh
/// creates), migrated, dropped on dispose. Each test gets its own, so tests run in parallel.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private TestDatabase(string schema, string connectionString, NpgsqlDataSource dataSource)
    {
        Schema = schema;
        ConnectionString = connectionString;
        DataSource = dataSource;
    }

    public static string BaseUrl =>
        Environment.GetEnvironmentVariable("ORCH_TEST_DATABASE_URL") is { Length: > 0 } url
            ? url
            : "postgres://orch:orch@127.0.0.1:5432/orch_test";

    public string Schema { get; }

    public string ConnectionString { get; }

    public NpgsqlDataSource DataSource { get; }

    public static async Task<TestDatabase> CreateAsync(bool migrate = true)
    {
        var schema = "t_" + Guid.NewGuid().ToString("N")[..16];
        var builder = new NpgsqlConnectionStringBuilder(Database.ToConnectionString(BaseUrl))
        {
            SearchPath = schema,
            MaxPoolSize = 40,
        };
        var dataSource = Database.CreateDataSource(builder.ConnectionString);
        var db = new TestDatabase(schema, builder.ConnectionString, dataSource);
        if (migrate)
        {
            await new MigrationRunner(dataSource, NullLogger<MigrationRunner>.Instance).MigrateAsync(CancellationToken.None);
        }

        return db;
    }

    public async Task<T> ScalarAsync<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearPool(new NpgsqlConnection(ConnectionString));
        await DataSource.DisposeAsync();
        await using var admin = Database.CreateDataSource(Database.ToConnectionString(BaseUrl));
        await using var drop = admin.CreateCommand($"DROP SCHEMA IF EXISTS \"{Schema}\" CASCADE");
        await drop.ExecuteNonQueryAsync();
    }
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public ManualClock()
        : this(new DateTimeOffset(2026, 11, 21, 9, 0, 0, TimeSpan.Zero))
    {
    }

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

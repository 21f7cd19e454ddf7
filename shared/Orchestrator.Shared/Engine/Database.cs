using Npgsql;

namespace Orchestrator.Shared.Engine;

/// <summary>Connection settings for the durable store.</summary>
public static class Database
{
    /// <summary>
    /// Turns <c>ORCH_DATABASE_URL</c> into an Npgsql connection string. Accepts a URL
    /// <c>postgres://user:pass@host:port/db?sslmode=require&amp;search_path=s</c> (also
    /// <c>postgresql://</c>; user and password percent-decoded) or an Npgsql connection string as is.
    /// </summary>
    /// <exception cref="FormatException">The URL is malformed or names no database.</exception>
    public static string ToConnectionString(string databaseUrl)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databaseUrl);
        if (!databaseUrl.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
            && !databaseUrl.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return new NpgsqlConnectionStringBuilder(databaseUrl).ConnectionString;
        }

        if (!Uri.TryCreate(databaseUrl, UriKind.Absolute, out var uri))
        {
            throw new FormatException("ORCH_DATABASE_URL is not a valid postgres:// URL.");
        }

        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length == 0)
        {
            throw new FormatException("ORCH_DATABASE_URL names no database (expected postgres://user:pass@host:port/db).");
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = database,
        };

        // TLS to a database on this machine protects nothing and costs CPU on both ends; an explicit
        // sslmode in the URL still wins.
        if (uri.IsLoopback)
        {
            builder.SslMode = SslMode.Disable;
        }
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            switch (key.ToLowerInvariant())
            {
                case "sslmode":
                    builder.SslMode = Enum.Parse<SslMode>(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true);
                    break;
                case "search_path":
                case "schema":
                    builder.SearchPath = value;
                    break;
                case "application_name":
                    builder.ApplicationName = value;
                    break;
                default:
                    builder[key] = value;
                    break;
            }
        }

        return builder.ConnectionString;
    }

    /// <summary>The schema the engine's tables live in: the first entry of <c>Search Path</c>, else <c>public</c>.</summary>
    public static string SchemaOf(string connectionString)
    {
        var searchPath = new NpgsqlConnectionStringBuilder(connectionString).SearchPath;
        if (string.IsNullOrWhiteSpace(searchPath))
        {
            return "public";
        }

        return searchPath.Split(',')[0].Trim().Trim('"');
    }

    /// <summary>
    /// Builds the data source (connection pool) used by everything in the host. Unless the connection
    /// string says otherwise, statements are prepared automatically (<c>Max Auto Prepare=64</c>: the
    /// engine runs the same few statements all the time, and parsing/planning them was a quarter of
    /// PostgreSQL's CPU per step in the benchmark).
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase))
        {
            settings.MaxAutoPrepare = 64;
        }

        var builder = new NpgsqlDataSourceBuilder(settings.ConnectionString);
        return builder.Build();
    }
}

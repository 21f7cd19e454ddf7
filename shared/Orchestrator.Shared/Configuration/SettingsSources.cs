using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Orchestrator.Shared.Configuration;

/// <summary>
/// Adds the three settings sources in precedence order: <c>host.json</c> → <c>local.settings.json</c>
/// → <c>ORCH_*</c> environment variables. Keys are flattened to the variable names without
/// <c>ORCH_</c> (e.g. <c>CI_POLL_INTERVAL</c>); <c>host.json</c>'s <c>logging</c> section configures logging.
/// </summary>
public static class SettingsSources
{
    /// <summary>Adds the sources. Files are looked for in <paramref name="directories"/>, first hit wins.</summary>
    public static IConfigurationBuilder AddOrchestratorSettings(this IConfigurationBuilder builder, IEnumerable<string> directories, IDictionary<string, string?>? environment = null)
    {
        var dirs = directories.Distinct().ToArray();
        var hostJson = dirs.Select(d => Path.Combine(d, "host.json")).FirstOrDefault(File.Exists);
        if (hostJson is not null)
        {
            builder.AddInMemoryCollection(ReadHostJson(hostJson));
        }

        var localSettings = dirs.Select(d => Path.Combine(d, "local.settings.json")).FirstOrDefault(File.Exists);
        if (localSettings is not null)
        {
            builder.AddInMemoryCollection(ReadLocalSettings(localSettings));
        }

        var env = environment ?? Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value);
        builder.AddInMemoryCollection(env
            .Where(e => e.Key.StartsWith("ORCH_", StringComparison.Ordinal))
            .Select(e => KeyValuePair.Create(e.Key["ORCH_".Length..], e.Value)));
        return builder;
    }

    private static Dictionary<string, string?> ReadHostJson(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var result = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (doc.RootElement.TryGetProperty("orchestrator", out var orchestrator) && orchestrator.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in orchestrator.EnumerateObject())
            {
                result[p.Name] = Scalar(p.Value);
            }
        }

        if (doc.RootElement.TryGetProperty("logging", out var logging))
        {
            Flatten("Logging", logging, result);
        }

        return result;
    }

    private static Dictionary<string, string?> ReadLocalSettings(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var result = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (doc.RootElement.TryGetProperty("Values", out var values) && values.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in values.EnumerateObject())
            {
                var key = p.Name.StartsWith("ORCH_", StringComparison.Ordinal) ? p.Name["ORCH_".Length..] : p.Name;
                result[key] = Scalar(p.Value);
            }
        }

        return result;
    }

    private static string? Scalar(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Null => null,
        _ => e.GetRawText(),
    };

    private static void Flatten(string prefix, JsonElement e, Dictionary<string, string?> into)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in e.EnumerateObject())
            {
                Flatten($"{prefix}:{(p.Name.Equals("logLevel", StringComparison.OrdinalIgnoreCase) ? "LogLevel" : p.Name.Equals("default", StringComparison.OrdinalIgnoreCase) ? "Default" : p.Name)}", p.Value, into);
            }
        }
        else
        {
            into[prefix] = Scalar(e);
        }
    }
}

using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Orchestrator.Simulators.Plane;

/// <summary>
/// Wire-format details of Plane Community Edition (makeplane/plane @ 4ca6d6c7, 2026-05-19) that the
/// simulator reproduces: timestamps, stripped descriptions and the webhook templates.
/// </summary>
internal static partial class PlaneWire
{
    private static readonly Lazy<IReadOnlyDictionary<string, JsonObject>> Templates = new(LoadTemplates);

    /// <summary>
    /// DRF's <c>DateTimeField</c>: Python <c>datetime.isoformat()</c> in UTC with <c>+00:00</c>
    /// replaced by <c>Z</c>; microseconds, and no fraction at all when they are zero.
    /// </summary>
    public static string Timestamp(DateTimeOffset value)
    {
        var utc = Truncate(value).UtcDateTime;
        return utc.Ticks % TimeSpan.TicksPerSecond == 0
            ? utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : utc.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
    }

    /// <summary>Drops sub-microsecond ticks (PostgreSQL and Python keep microseconds).</summary>
    public static DateTimeOffset Truncate(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % (TimeSpan.TicksPerMillisecond / 1000)), TimeSpan.Zero);

    /// <summary>
    /// <c>description_stripped</c> as <c>Issue.save</c> computes it with Django's <c>strip_tags</c>
    /// (tags removed, entities kept); <c>null</c> for an empty description.
    /// </summary>
    public static string? StripTags(string? html) =>
        string.IsNullOrEmpty(html) ? null : TagPattern().Replace(html, "");

    /// <summary>Django's <c>slugify</c> for ASCII names (<c>In Progress</c> → <c>in-progress</c>).</summary>
    public static string Slugify(string name)
    {
        var lowered = NonSlugPattern().Replace(name.ToLowerInvariant(), "");
        return DashPattern().Replace(lowered.Trim(), "-").Trim('-', '_');
    }

    /// <summary>
    /// A fresh copy of a webhook template from <c>Payloads/plane/</c> (see the PROVENANCE.md there),
    /// e.g. <c>issue.created.json</c>.
    /// </summary>
    public static JsonObject Template(string fileName) =>
        Templates.Value.TryGetValue(fileName, out var template)
            ? template.DeepClone().AsObject()
            : throw new InvalidOperationException($"Plane webhook template {fileName} is not embedded.");

    private static Dictionary<string, JsonObject> LoadTemplates()
    {
        var assembly = typeof(PlaneWire).Assembly;
        var result = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            // LogicalName is "Payloads.<RecursiveDir><file>"; RecursiveDir uses the OS separator.
            var normalized = resource.Replace('\\', '/');
            const string prefix = "Payloads.plane/";
            if (!normalized.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(resource)
                ?? throw new InvalidOperationException($"Resource {resource} vanished.");
            result[normalized[prefix.Length..]] = JsonNode.Parse(stream)?.AsObject()
                ?? throw new InvalidOperationException($"Resource {resource} is not a JSON object.");
        }

        return result;
    }

    [GeneratedRegex("<[^>]*>")]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"[^\w\s-]")]
    private static partial Regex NonSlugPattern();

    [GeneratedRegex(@"[-\s]+")]
    private static partial Regex DashPattern();
}

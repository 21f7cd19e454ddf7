using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Orchestrator.Simulators.GitHub;

/// <summary>
/// Loads the real GitHub payloads embedded under <c>Payloads/github/</c> and rewrites them in place:
/// string values are edited with regular expressions (hosts, repository names, numbers inside URLs),
/// named fields are overwritten. See <c>Payloads/github/PROVENANCE.md</c>.
/// </summary>
internal static class JsonTemplate
{
    /// <summary>Compact output with the characters GitHub leaves alone (&lt;, &gt;, &amp;, ', non-ASCII) unescaped.</summary>
    public static readonly JsonSerializerOptions Compact = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    private static readonly ConcurrentDictionary<string, string> Texts = new(StringComparer.Ordinal);

    /// <summary>
    /// A fresh mutable copy of the embedded file <paramref name="fileName"/>. The csproj names resources
    /// <c>Payloads.%(RecursiveDir)%(Filename)%(Extension)</c>, and RecursiveDir keeps the separator as
    /// written on the build machine (<c>Payloads.github/x.json</c> on Linux, <c>Payloads.github\x.json</c> on
    /// Windows), so the resource is found by its ending.
    /// </summary>
    public static JsonNode Load(string fileName)
    {
        var text = Texts.GetOrAdd(fileName, static name =>
        {
            var assembly = typeof(JsonTemplate).Assembly;
            var resource = FindResource(assembly, "github", name)
                ?? throw new InvalidOperationException($"Embedded payload template '{name}' is missing; resources: {string.Join(", ", assembly.GetManifestResourceNames())}");
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return reader.ReadToEnd();
        });
        return JsonNode.Parse(text) ?? throw new InvalidOperationException($"Payload template '{fileName}' is JSON null.");
    }

    private static string? FindResource(Assembly assembly, string folder, string fileName)
    {
        foreach (var name in assembly.GetManifestResourceNames())
        {
            foreach (var separator in new[] { "/", "\\", "." })
            {
                if (name.EndsWith(folder + separator + fileName, StringComparison.OrdinalIgnoreCase))
                {
                    return name;
                }
            }
        }

        return null;
    }

    /// <summary>Applies <paramref name="edit"/> to every string value below <paramref name="node"/> (inclusive).</summary>
    public static void RewriteStrings(JsonNode? node, Func<string, string> edit)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    if (obj[key] is JsonValue value && value.TryGetValue<string>(out var text))
                    {
                        var edited = edit(text);
                        if (edited != text)
                        {
                            obj[key] = edited;
                        }
                    }
                    else
                    {
                        RewriteStrings(obj[key], edit);
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is JsonValue value && value.TryGetValue<string>(out var text))
                    {
                        array[i] = edit(text);
                    }
                    else
                    {
                        RewriteStrings(array[i], edit);
                    }
                }

                break;
        }
    }

    /// <summary>Replaces <paramref name="oldSegment"/> where it is a whole URL path segment (after <c>/</c>, or <c>:</c> in <c>git@host:owner/repo.git</c>).</summary>
    public static void ReplaceSegment(JsonNode? node, string oldSegment, string newSegment)
    {
        if (oldSegment == newSegment)
        {
            return;
        }

        var pattern = new Regex("(?<=[/:])" + Regex.Escape(oldSegment) + "(?=$|[/.#?{])", RegexOptions.CultureInvariant);
        RewriteStrings(node, s => s.Contains(oldSegment, StringComparison.Ordinal) ? pattern.Replace(s, newSegment) : s);
    }

    /// <summary>Replaces the number after <c>/{collection}/</c> in every URL, e.g. <c>/pulls/315</c> → <c>/pulls/7</c>.</summary>
    public static void ReplaceId(JsonNode? node, string collection, long oldId, long newId)
    {
        var pattern = new Regex("(?<=/" + Regex.Escape(collection) + "/)" + oldId + "(?=$|[/.#?{])", RegexOptions.CultureInvariant);
        RewriteStrings(node, s => pattern.Replace(s, newId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>Replaces every occurrence of <paramref name="oldText"/> (e.g. a SHA).</summary>
    public static void ReplaceText(JsonNode? node, string oldText, string newText) =>
        RewriteStrings(node, s => s.Replace(oldText, newText, StringComparison.Ordinal));

    /// <summary>Every object below <paramref name="node"/> (inclusive), depth first.</summary>
    public static IEnumerable<JsonObject> Objects(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                yield return obj;
                foreach (var child in obj.Select(p => p.Value).ToList())
                {
                    foreach (var o in Objects(child))
                    {
                        yield return o;
                    }
                }

                break;
            case JsonArray array:
                foreach (var child in array.ToList())
                {
                    foreach (var o in Objects(child))
                    {
                        yield return o;
                    }
                }

                break;
        }
    }

    /// <summary>Sets <paramref name="key"/> only when the template has it, so list items do not grow fields the real list omits.</summary>
    public static void SetIfPresent(JsonObject obj, string key, JsonNode? value)
    {
        if (obj.ContainsKey(key))
        {
            obj[key] = value;
        }
    }

    /// <summary>The object at <paramref name="key"/>; throws when the template lacks it.</summary>
    public static JsonObject Obj(JsonNode node, string key) =>
        node[key] as JsonObject ?? throw new InvalidOperationException($"Payload template has no object '{key}'.");

    /// <summary>A string property of the template.</summary>
    public static string Str(JsonNode node, string key) =>
        node[key]?.GetValue<string>() ?? throw new InvalidOperationException($"Payload template has no string '{key}'.");

    /// <summary>A numeric property of the template.</summary>
    public static long Num(JsonNode node, string key) =>
        node[key]?.GetValue<long>() ?? throw new InvalidOperationException($"Payload template has no number '{key}'.");

    /// <summary>UTF-8 bytes of the compact serialisation.</summary>
    public static byte[] ToBytes(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString(Compact));
}

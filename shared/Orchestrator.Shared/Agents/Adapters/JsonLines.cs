using System.Text.Json;

namespace Orchestrator.Shared.Agents.Adapters;

/// <summary>
/// A CLI's standard output split into JSON objects (one per line, as <c>opencode run --format json</c>,
/// <c>codex exec --json</c> and Claude Code's <c>stream-json</c> print them) and the other lines
/// (warnings, stack traces, progress text), which are kept for failure classification but never parsed.
/// </summary>
internal sealed class JsonLines
{
    private JsonLines(IReadOnlyList<JsonElement> objects, IReadOnlyList<string> otherLines)
    {
        Objects = objects;
        OtherLines = otherLines;
    }

    /// <summary>The lines that parsed as a JSON object, in order (detached from their documents).</summary>
    public IReadOnlyList<JsonElement> Objects { get; }

    /// <summary>The non-empty lines that are not a JSON object, trimmed, in order.</summary>
    public IReadOnlyList<string> OtherLines { get; }

    /// <summary>Splits <paramref name="text"/> on line feeds; never throws.</summary>
    public static JsonLines Parse(string? text)
    {
        var objects = new List<JsonElement>();
        var other = new List<string>();
        foreach (var raw in (text ?? "").Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (line[0] == '{' && TryParseObject(line, out var element))
            {
                objects.Add(element);
            }
            else
            {
                other.Add(line);
            }
        }

        return new JsonLines(objects, other);
    }

    /// <summary>Parses one JSON object; <c>false</c> for anything else (garbage, arrays, truncated lines).</summary>
    public static bool TryParseObject(string text, out JsonElement element)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                // Clone detaches the element from the pooled document disposed here.
                element = document.RootElement.Clone();
                return true;
            }
        }
        catch (JsonException)
        {
            // A line that only looks like JSON (a log line starting with '{', a truncated last line).
        }

        element = default;
        return false;
    }
}

/// <summary>Null-tolerant reads of nested JSON properties (a missing or mistyped value is <c>null</c>).</summary>
internal static class JsonRead
{
    /// <summary>The element at <paramref name="path"/> (property names), or <c>null</c> when any step is missing.</summary>
    public static JsonElement? At(this JsonElement element, params string[] path)
    {
        var current = element;
        foreach (var name in path)
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current))
            {
                return null;
            }
        }

        return current;
    }

    /// <summary>A string value, or <c>null</c>.</summary>
    public static string? String(this JsonElement element, params string[] path) =>
        element.At(path) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    /// <summary>An integral number (a whole-valued float is accepted), or <c>null</c>.</summary>
    public static long? Int64(this JsonElement element, params string[] path)
    {
        if (element.At(path) is not { ValueKind: JsonValueKind.Number } value)
        {
            return null;
        }

        if (value.TryGetInt64(out var integer))
        {
            return integer;
        }

        return value.TryGetDouble(out var real) && Math.Abs(real) < 9e18 ? (long)Math.Round(real) : null;
    }

    /// <summary>A decimal number (exponent notation accepted), or <c>null</c>.</summary>
    public static decimal? Decimal(this JsonElement element, params string[] path)
    {
        if (element.At(path) is not { ValueKind: JsonValueKind.Number } value)
        {
            return null;
        }

        if (value.TryGetDecimal(out var number))
        {
            return number;
        }

        return value.TryGetDouble(out var real) && Math.Abs(real) < 7.9e28 ? (decimal)real : null;
    }

    /// <summary>A boolean, or <c>null</c>.</summary>
    public static bool? Bool(this JsonElement element, params string[] path) =>
        element.At(path) switch
        {
            { ValueKind: JsonValueKind.True } => true,
            { ValueKind: JsonValueKind.False } => false,
            _ => null,
        };
}

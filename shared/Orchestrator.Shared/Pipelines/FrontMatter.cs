using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Shared.Pipelines;

/// <summary>
/// The YAML front matter of an artifact, as read by <see cref="FrontMatter.Read"/>: either the
/// key → scalar map or the reason it could not be read.
/// </summary>
public sealed record FrontMatterResult
{
    private static readonly IReadOnlyDictionary<string, string?> NoFields =
        new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

    private FrontMatterResult(IReadOnlyDictionary<string, string?> fields, string? error, string body)
    {
        Fields = fields;
        Error = error;
        Body = body;
    }

    /// <summary>Whether the front matter was read (then <see cref="Error"/> is <c>null</c>).</summary>
    public bool Success => Error is null;

    /// <summary>
    /// Top-level keys (case-insensitive) → trimmed scalar value; <c>null</c> for an empty or YAML-null
    /// value and for a value that is a list or a mapping. Empty when <see cref="Success"/> is <c>false</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string?> Fields { get; }

    /// <summary>Why the front matter could not be read, or <c>null</c>.</summary>
    public string? Error { get; }

    /// <summary>The text after the closing fence (LF line endings); the whole text when there is no readable front matter.</summary>
    public string Body { get; }

    /// <summary>A successful read.</summary>
    public static FrontMatterResult Ok(IReadOnlyDictionary<string, string?> fields, string body) => new(fields, null, body);

    /// <summary>A failed read.</summary>
    public static FrontMatterResult Fail(string error, string body) => new(NoFields, error, body);
}

/// <summary>
/// Reads YAML front matter: the YAML between a first line <c>---</c> and the next line <c>---</c> or
/// <c>...</c> (Jekyll / Hugo convention). Machine verdicts are read only from here, never from prose.
/// </summary>
public static class FrontMatter
{
    /// <summary>
    /// Reads the front matter of <paramref name="markdown"/>. A leading BOM and CRLF / CR line endings are
    /// tolerated; the opening fence must be the first line (trailing spaces allowed).
    /// </summary>
    /// <returns>
    /// The key → scalar map (keys case-insensitive, values trimmed), or one of these errors:
    /// <c>no front matter …</c>, <c>unterminated front matter …</c>, <c>invalid YAML in front matter …</c>,
    /// <c>front matter is not a mapping …</c>, <c>duplicate key …</c>. An empty front matter is an empty map.
    /// </returns>
    public static FrontMatterResult Read(string? markdown)
    {
        var text = markdown ?? "";
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text[1..];
        }

        text = text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        var lines = text.Split('\n');
        if (lines[0].TrimEnd() != "---")
        {
            return FrontMatterResult.Fail("no front matter: the file must start with a line '---'", text);
        }

        var close = -1;
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd();
            if (line is "---" or "...")
            {
                close = i;
                break;
            }
        }

        if (close < 0)
        {
            return FrontMatterResult.Fail("unterminated front matter: no closing '---' line", text);
        }

        var yaml = string.Join('\n', lines[1..close]);
        var body = string.Join('\n', lines[(close + 1)..]);

        YamlStream stream;
        try
        {
            stream = new YamlStream();
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            // Marks count from the first YAML line; +1 turns that into a line of the file.
            return FrontMatterResult.Fail(
                $"invalid YAML in front matter (line {ex.Start.Line + 1}): {Describe(ex)}", text);
        }

        var fields = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (stream.Documents.Count == 0 || IsNull(stream.Documents[0].RootNode))
        {
            return FrontMatterResult.Ok(fields, body);
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode map)
        {
            return FrontMatterResult.Fail("front matter is not a mapping: expected 'key: value' lines", text);
        }

        foreach (var (keyNode, valueNode) in map.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } rawKey })
            {
                continue;
            }

            var key = rawKey.Trim();
            if (!fields.TryAdd(key, ScalarValue(valueNode)))
            {
                return FrontMatterResult.Fail($"duplicate key '{key}' in front matter (keys are case-insensitive)", text);
            }
        }

        return FrontMatterResult.Ok(fields, body);
    }

    private static string? ScalarValue(YamlNode node) =>
        node is YamlScalarNode scalar && !IsNull(scalar) ? scalar.Value!.Trim() : null;

    /// <summary>YAML null: an empty plain scalar, <c>~</c> or <c>null</c> (any case) when unquoted.</summary>
    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: not (ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted) } s
        && (string.IsNullOrWhiteSpace(s.Value) || s.Value.Trim() is "~" || string.Equals(s.Value.Trim(), "null", StringComparison.OrdinalIgnoreCase));

    private static string Describe(YamlException ex)
    {
        // YamlDotNet prefixes messages with "(Line: a, Col: b, Idx: c) - (Line: …): "; keep the sentence.
        var message = ex.InnerException?.Message ?? ex.Message;
        var cut = message.LastIndexOf("): ", StringComparison.Ordinal);
        return cut >= 0 ? message[(cut + 3)..] : message;
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Simulators.Plane;

/// <summary>
/// Writes a <see cref="JsonNode"/> byte-for-byte the way CPython's <c>json.dumps</c> does, because
/// Plane signs (and <c>requests</c> sends) <c>json.dumps(payload)</c> with the default arguments
/// (<c>apps/api/plane/bgtasks/webhook_task.py::webhook_send_task</c>), and Django REST framework's
/// <c>JSONRenderer</c> answers API calls with <c>ensure_ascii=False, separators=(",", ":")</c>.
/// </summary>
/// <remarks>
/// Key order is the node's insertion order (Python dicts keep insertion order). Numbers parsed from
/// JSON text keep their original text (so a template's <c>65535.0</c> stays <c>65535.0</c>); numbers
/// created in C# are rendered like Python's <c>repr</c> (<c>65535.0</c>, <c>1e-07</c>, <c>1e+22</c>).
/// </remarks>
internal static class PythonJson
{
    /// <summary><c>json.dumps(value)</c>: separators <c>", "</c> and <c>": "</c>, <c>ensure_ascii=True</c>.</summary>
    public static string DumpsDefault(JsonNode? node) => Write(node, ", ", ": ", ensureAscii: true);

    /// <summary>DRF <c>JSONRenderer</c>: separators <c>","</c> and <c>":"</c>, <c>ensure_ascii=False</c>.</summary>
    public static string DumpsCompact(JsonNode? node) => Write(node, ",", ":", ensureAscii: false);

    private static string Write(JsonNode? node, string itemSeparator, string keySeparator, bool ensureAscii)
    {
        var sb = new StringBuilder();
        WriteNode(sb, node, itemSeparator, keySeparator, ensureAscii);
        return sb.ToString();
    }

    private static void WriteNode(StringBuilder sb, JsonNode? node, string itemSep, string keySep, bool ascii)
    {
        switch (node)
        {
            case null:
                sb.Append("null");
                break;
            case JsonObject obj:
                sb.Append('{');
                var firstProperty = true;
                foreach (var (key, value) in obj)
                {
                    if (!firstProperty)
                    {
                        sb.Append(itemSep);
                    }

                    firstProperty = false;
                    WriteString(sb, key, ascii);
                    sb.Append(keySep);
                    WriteNode(sb, value, itemSep, keySep, ascii);
                }

                sb.Append('}');
                break;
            case JsonArray array:
                sb.Append('[');
                for (var i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(itemSep);
                    }

                    WriteNode(sb, array[i], itemSep, keySep, ascii);
                }

                sb.Append(']');
                break;
            case JsonValue value:
                WriteValue(sb, value, itemSep, keySep, ascii);
                break;
            default:
                throw new NotSupportedException($"Unsupported JSON node type {node.GetType().Name}.");
        }
    }

    private static void WriteValue(StringBuilder sb, JsonValue value, string itemSep, string keySep, bool ascii)
    {
        if (value.TryGetValue<JsonElement>(out var element))
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    WriteString(sb, element.GetString()!, ascii);
                    return;
                case JsonValueKind.Number:
                    // The text as parsed: a template's "65535.0" must not become "65535".
                    sb.Append(element.GetRawText());
                    return;
                case JsonValueKind.True:
                    sb.Append("true");
                    return;
                case JsonValueKind.False:
                    sb.Append("false");
                    return;
                case JsonValueKind.Null:
                    sb.Append("null");
                    return;
                case JsonValueKind.Object:
                case JsonValueKind.Array:
                    WriteNode(sb, element.ValueKind == JsonValueKind.Object ? JsonObject.Create(element) : JsonArray.Create(element), itemSep, keySep, ascii);
                    return;
                default:
                    throw new NotSupportedException($"Unsupported JSON element kind {element.ValueKind}.");
            }
        }

        if (value.TryGetValue<string>(out var s))
        {
            WriteString(sb, s, ascii);
        }
        else if (value.TryGetValue<bool>(out var b))
        {
            sb.Append(b ? "true" : "false");
        }
        else if (value.TryGetValue<int>(out var i))
        {
            sb.Append(i.ToString(CultureInfo.InvariantCulture));
        }
        else if (value.TryGetValue<long>(out var l))
        {
            sb.Append(l.ToString(CultureInfo.InvariantCulture));
        }
        else if (value.TryGetValue<double>(out var d))
        {
            sb.Append(FloatRepr(d));
        }
        else if (value.TryGetValue<float>(out var f))
        {
            sb.Append(FloatRepr(f));
        }
        else if (value.TryGetValue<decimal>(out var m))
        {
            sb.Append(FloatRepr((double)m));
        }
        else if (value.TryGetValue<Guid>(out var g))
        {
            WriteString(sb, g.ToString("D"), ascii);
        }
        else
        {
            // Anything else (e.g. DateTimeOffset) is written the way System.Text.Json writes it.
            WriteNode(sb, JsonNode.Parse(value.ToJsonString()), itemSep, keySep, ascii);
        }
    }

    /// <summary>Python's <c>float.__repr__</c> (shortest round-trip digits, exponent below 1e-4 and from 1e16).</summary>
    internal static string FloatRepr(double value)
    {
        if (!double.IsFinite(value))
        {
            // requests.post(json=...) uses allow_nan=False, so Plane cannot send these either.
            throw new ArgumentOutOfRangeException(nameof(value), value, "NaN and infinity are not valid JSON.");
        }

        var negative = value < 0 || (value == 0 && double.IsNegative(value));
        var text = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        string digits;
        int exponent; // value = d.ddd × 10^exponent
        var e = text.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            var mantissa = text[..e];
            var shift = int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            var dot = mantissa.IndexOf('.');
            var intPart = dot >= 0 ? mantissa[..dot] : mantissa;
            digits = mantissa.Replace(".", "", StringComparison.Ordinal);
            exponent = shift + intPart.Length - 1;
        }
        else
        {
            var dot = text.IndexOf('.');
            var intPart = dot >= 0 ? text[..dot] : text;
            var all = text.Replace(".", "", StringComparison.Ordinal);
            var leadingZeros = all.Length - all.TrimStart('0').Length;
            digits = all.TrimStart('0');
            exponent = intPart.Length - 1 - leadingZeros;
        }

        digits = digits.TrimEnd('0');
        var sign = negative ? "-" : "";
        if (digits.Length == 0)
        {
            return sign + "0.0";
        }

        if (exponent is >= -4 and < 16)
        {
            if (exponent >= 0)
            {
                var padded = digits.PadRight(exponent + 1, '0');
                var whole = padded[..(exponent + 1)];
                var fraction = padded[(exponent + 1)..];
                return sign + whole + "." + (fraction.Length == 0 ? "0" : fraction);
            }

            return sign + "0." + new string('0', -exponent - 1) + digits;
        }

        var mantissaText = digits.Length > 1 ? digits[0] + "." + digits[1..] : digits;
        return sign + mantissaText + "e" + (exponent < 0 ? "-" : "+") + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
    }

    private static void WriteString(StringBuilder sb, string s, bool ascii)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '\n':
                    sb.Append("\\n");
                    break;
                case '\r':
                    sb.Append("\\r");
                    break;
                case '\t':
                    sb.Append("\\t");
                    break;
                case '\b':
                    sb.Append("\\b");
                    break;
                case '\f':
                    sb.Append("\\f");
                    break;
                default:
                    // ensure_ascii escapes everything outside ' '..'~' (UTF-16 units, so astral
                    // characters become surrogate pairs, as in Python); without it only control
                    // characters are escaped.
                    if (c < ' ' || (ascii && c > '~'))
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        sb.Append('"');
    }
}

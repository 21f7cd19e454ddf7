using System.Globalization;
using System.Text.RegularExpressions;

namespace Orchestrator.Shared.Configuration;

/// <summary>Parses durations written like <c>30s</c>, <c>5m</c>, <c>2h</c>, <c>1h30m</c>, <c>500ms</c>, <c>1d</c>.</summary>
public static partial class Durations
{
    /// <summary>
    /// Parses a duration: one or more <c>&lt;number&gt;&lt;unit&gt;</c> parts with units <c>ms</c>,
    /// <c>s</c>, <c>m</c>, <c>h</c>, <c>d</c>; a bare number means seconds; <c>hh:mm:ss</c> also works.
    /// </summary>
    /// <returns><c>false</c> when the text is none of those or is negative.</returns>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            value = TimeSpan.FromSeconds(seconds);
            return seconds >= 0;
        }

        if (text.Contains(':', StringComparison.Ordinal))
        {
            return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value >= TimeSpan.Zero;
        }

        var matches = Part().Matches(text);
        if (matches.Count == 0 || string.Concat(matches.Select(m => m.Value)) != text)
        {
            return false;
        }

        var total = TimeSpan.Zero;
        foreach (Match m in matches)
        {
            var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            total += m.Groups[2].Value.ToLowerInvariant() switch
            {
                "ms" => TimeSpan.FromMilliseconds(n),
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                "h" => TimeSpan.FromHours(n),
                _ => TimeSpan.FromDays(n),
            };
        }

        value = total;
        return true;
    }

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ms|s|m|h|d)", RegexOptions.IgnoreCase)]
    private static partial Regex Part();
}

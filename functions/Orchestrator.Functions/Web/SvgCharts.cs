using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Html;

namespace Orchestrator.Functions.Web;

/// <summary>One bar of a chart.</summary>
/// <param name="Label">What it is (drawn as text; encoded).</param>
/// <param name="Value">Its length (any unit; scaled to the largest bar).</param>
/// <param name="ValueText">The number written beside it (encoded).</param>
/// <param name="Tone">A CSS class suffix: <c>ok</c>, <c>bad</c>, <c>warn</c>, <c>info</c> (default).</param>
public sealed record ChartBar(string Label, double Value, string ValueText, string Tone = "info");

/// <summary>
/// Server-side SVG charts for the analytics screen (issue #11 §2): no script and no CDN. The Content-Security-Policy
/// forbids inline styles, so every visual comes from classes in <c>/css/analytics.css</c> and geometry attributes;
/// every text is HTML-encoded. Each chart is <c>role="img"</c> with a title, and the screen prints the same numbers in a
/// table beside it.
/// </summary>
public static class SvgCharts
{
    private const int Width = 640;

    /// <summary>Horizontal bars, one row per bar: label left, bar, value right.</summary>
    /// <param name="id">A unique id for the title element.</param>
    /// <param name="title">The accessible title.</param>
    /// <param name="bars">The bars, top to bottom.</param>
    /// <returns>The SVG.</returns>
    public static IHtmlContent HorizontalBars(string id, string title, IReadOnlyList<ChartBar> bars)
    {
        const int row = 28, labelWidth = 170, valueWidth = 110;
        var height = Math.Max(1, bars.Count) * row + 8;
        var max = bars.Count == 0 ? 0 : bars.Max(b => b.Value);
        var sb = Open(id, title, height, "hbars");
        for (var i = 0; i < bars.Count; i++)
        {
            var b = bars[i];
            var y = 4 + (i * row);
            var length = max <= 0 ? 0 : (Width - labelWidth - valueWidth) * (b.Value / max);
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"label\" x=\"{labelWidth - 8}\" y=\"{y + 18}\" text-anchor=\"end\">{E(b.Label)}</text>");
            sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"bar {E(b.Tone)}\" x=\"{labelWidth}\" y=\"{y + 4}\" width=\"{N(Math.Max(length, b.Value > 0 ? 2 : 0))}\" height=\"{row - 8}\" rx=\"3\"><title>{E(b.Label)}: {E(b.ValueText)}</title></rect>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"value\" x=\"{N(labelWidth + length + 6)}\" y=\"{y + 18}\">{E(b.ValueText)}</text>");
        }

        return Close(sb);
    }

    /// <summary>Vertical bars (a histogram or a weekly trend), labels under the bars, values above them.</summary>
    /// <param name="id">A unique id for the title element.</param>
    /// <param name="title">The accessible title.</param>
    /// <param name="bars">The bars, left to right.</param>
    /// <returns>The SVG.</returns>
    public static IHtmlContent VerticalBars(string id, string title, IReadOnlyList<ChartBar> bars)
    {
        const int plot = 170, top = 20, bottom = 44;
        var height = top + plot + bottom;
        var max = bars.Count == 0 ? 0 : bars.Max(b => b.Value);
        var slot = bars.Count == 0 ? Width : (double)Width / bars.Count;
        var sb = Open(id, title, height, "vbars");
        sb.Append(CultureInfo.InvariantCulture, $"<line class=\"axis\" x1=\"0\" y1=\"{top + plot}\" x2=\"{Width}\" y2=\"{top + plot}\"/>");
        for (var i = 0; i < bars.Count; i++)
        {
            var b = bars[i];
            var h = max <= 0 ? 0 : plot * (b.Value / max);
            var x = (i * slot) + (slot * 0.15);
            var w = slot * 0.7;
            var cx = (i * slot) + (slot / 2);
            sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"bar {E(b.Tone)}\" x=\"{N(x)}\" y=\"{N(top + plot - h)}\" width=\"{N(w)}\" height=\"{N(h)}\" rx=\"2\"><title>{E(b.Label)}: {E(b.ValueText)}</title></rect>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"value\" x=\"{N(cx)}\" y=\"{N(top + plot - h - 4)}\" text-anchor=\"middle\">{E(b.ValueText)}</text>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"label\" x=\"{N(cx)}\" y=\"{top + plot + 16}\" text-anchor=\"middle\">{E(b.Label)}</text>");
        }

        return Close(sb);
    }

    /// <summary>A duration in seconds as people read it: <c>45 s</c>, <c>12 min</c>, <c>3.5 h</c>, <c>2.1 d</c>; <c>—</c> for none.</summary>
    /// <param name="seconds">Seconds, or <c>null</c>.</param>
    /// <returns>The text.</returns>
    public static string Duration(double? seconds) => seconds switch
    {
        null => "—",
        < 60 => string.Create(CultureInfo.InvariantCulture, $"{seconds.Value:0.#} s"),
        < 3_600 => string.Create(CultureInfo.InvariantCulture, $"{seconds.Value / 60:0.#} min"),
        < 86_400 => string.Create(CultureInfo.InvariantCulture, $"{seconds.Value / 3_600:0.#} h"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{seconds.Value / 86_400:0.#} d"),
    };

    /// <summary>A fraction as a percentage (<c>75 %</c>), <c>—</c> for none.</summary>
    /// <param name="fraction">0–1, or <c>null</c>.</param>
    /// <returns>The text.</returns>
    public static string Percent(double? fraction) =>
        fraction is { } f ? string.Create(CultureInfo.InvariantCulture, $"{f * 100:0.#} %") : "—";

    /// <summary>US dollars with the currency named: <c>3.75 USD</c>.</summary>
    /// <param name="amount">The amount.</param>
    /// <param name="currency">The currency code.</param>
    /// <returns>The text.</returns>
    public static string Money(decimal amount, string currency) => string.Create(CultureInfo.InvariantCulture, $"{amount:0.00} {currency}");

    private static StringBuilder Open(string id, string title, int height, string kind)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg class=\"chart {kind}\" viewBox=\"0 0 {Width} {height}\" role=\"img\" aria-labelledby=\"{E(id)}\" xmlns=\"http://www.w3.org/2000/svg\">");
        sb.Append(CultureInfo.InvariantCulture, $"<title id=\"{E(id)}\">{E(title)}</title>");
        return sb;
    }

    private static HtmlString Close(StringBuilder sb) => new(sb.Append("</svg>").ToString());

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string N(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}

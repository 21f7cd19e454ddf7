using System.Globalization;
using System.Net;
using System.Text;
using Orchestrator.Orchestrations.Tasks;

namespace Orchestrator.Orchestrations.Pipelines;

/// <summary>
/// Renders the tracker comments of the role pipeline as HTML (Plane stores comments as HTML). Every
/// piece that is unknown is left out, never shown as empty or as an error.
/// </summary>
public static class StageComments
{
    /// <summary>
    /// The one status comment of a finished stage:
    /// <code>
    /// &lt;p&gt;&lt;strong&gt;Reviewer&lt;/strong&gt; · review (round 2): changes requested; back to development&lt;/p&gt;
    /// &lt;ul&gt;&lt;li&gt;Verdict: &lt;code&gt;REQUEST_CHANGES&lt;/code&gt;&lt;/li&gt;&lt;li&gt;Duration: 4m 12s&lt;/li&gt;
    /// &lt;li&gt;Tokens: 12,345 in / 2,345 out&lt;/li&gt;&lt;li&gt;Cost: $0.42&lt;/li&gt;
    /// &lt;li&gt;Artifacts: &lt;a href="…"&gt;12-review.md&lt;/a&gt;&lt;/li&gt;&lt;li&gt;PR: &lt;a href="…"&gt;#8&lt;/a&gt;&lt;/li&gt;&lt;/ul&gt;
    /// </code>
    /// </summary>
    public static string Render(StageReport report)
    {
        var sb = new StringBuilder();
        sb.Append("<p><strong>").Append(Html(Capitalise(report.Role))).Append("</strong> · ").Append(Html(report.Stage));
        if (report.Round is { } round)
        {
            sb.Append(CultureInfo.InvariantCulture, $" (round {round})");
        }

        sb.Append(": ").Append(Html(report.Outcome)).Append("</p>");

        var items = new List<string>();
        if (!string.IsNullOrWhiteSpace(report.Verdict))
        {
            items.Add($"Verdict: <code>{Html(report.Verdict)}</code>");
        }

        if (report.Duration is { } duration)
        {
            items.Add($"Duration: {FormatDuration(duration)}");
        }

        if (FormatTokens(report.TokensIn, report.TokensOut) is { } tokens)
        {
            items.Add($"Tokens: {tokens}");
        }

        if (report.CostUsd is { } cost)
        {
            items.Add($"Cost: {Html(FormatCost(cost))}");
        }

        if (report.Artifacts.Count > 0)
        {
            items.Add("Artifacts: " + string.Join(", ", report.Artifacts.Select(a => $"<a href=\"{Html(a.Url)}\">{Html(FileName(a.Path))}</a>")));
        }

        if (report.PrUrl is { } prUrl)
        {
            var label = report.PrNumber is { } n ? $"#{n}" : "pull request";
            items.Add($"PR: <a href=\"{Html(prUrl)}\">{label}</a>");
        }
        else if (report.PrNumber is { } n)
        {
            items.Add($"PR: #{n}");
        }

        if (items.Count > 0)
        {
            sb.Append("<ul>");
            foreach (var item in items)
            {
                sb.Append("<li>").Append(item).Append("</li>");
            }

            sb.Append("</ul>");
        }

        return sb.ToString();
    }

    /// <summary>
    /// A comment asking a human to step in: the reason, what was spent, and (when given) the last findings
    /// in full and the earlier rounds.
    /// </summary>
    /// <param name="taskKey"><c>PREFIX-N</c>.</param>
    /// <param name="reason">One line, e.g. <c>budget exceeded</c>.</param>
    /// <param name="detail">A sentence of detail, or <c>null</c>.</param>
    /// <param name="spentUsd">What the task spent.</param>
    /// <param name="feedback">Last findings, or <c>null</c>.</param>
    /// <param name="rounds">Rejected developer rounds.</param>
    /// <param name="retryHint">What a human can do next.</param>
    public static string Escalation(
        string taskKey,
        string reason,
        string? detail,
        decimal spentUsd,
        StageFeedback? feedback,
        IReadOnlyList<DeveloperRound> rounds,
        string retryHint)
    {
        var sb = new StringBuilder();
        sb.Append("<p><strong>Orchestrator</strong>: ").Append(Html(taskKey)).Append(" stopped: ").Append(Html(reason)).Append(".");
        if (!string.IsNullOrWhiteSpace(detail))
        {
            sb.Append(' ').Append(Html(detail));
        }

        sb.Append("</p>");
        if (spentUsd > 0)
        {
            sb.Append("<p>Spent so far: ").Append(Html(FormatCost(spentUsd))).Append(".</p>");
        }

        if (rounds.Count > 0)
        {
            sb.Append("<p>Developer rounds:</p><ul>");
            foreach (var r in rounds)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<li>Round {r.Round}: rejected by {Html(r.RejectedBy)}");
                if (r.Verdict is { } v)
                {
                    sb.Append(" (<code>").Append(Html(v)).Append("</code>)");
                }

                sb.Append(" — ").Append(Html(Gist(r.Findings, 160))).Append("</li>");
            }

            sb.Append("</ul>");
        }

        if (feedback is not null && !string.IsNullOrWhiteSpace(feedback.Text))
        {
            sb.Append("<p>Last findings (").Append(Html(feedback.FromStage));
            if (feedback.Verdict is { } fv)
            {
                sb.Append(", <code>").Append(Html(fv)).Append("</code>");
            }

            sb.Append("):</p><pre>").Append(Html(feedback.Text.Trim())).Append("</pre>");
        }

        sb.Append("<p>").Append(Html(retryHint)).Append("</p>");
        return sb.ToString();
    }

    /// <summary>
    /// The one comment after a person merged the task's PR before the pipeline finished:
    /// <code>
    /// &lt;p&gt;&lt;strong&gt;Orchestrator&lt;/strong&gt;: &lt;a href="…"&gt;PR #8&lt;/a&gt; of WEB-42 was merged by a person before the
    /// role pipeline finished. The remaining stages were skipped: review, testing, deploy.&lt;/p&gt;
    /// &lt;p&gt;The review agent that was already running may finish, but nothing it does is pushed. …&lt;/p&gt;
    /// </code>
    /// </summary>
    /// <param name="taskKey"><c>PREFIX-N</c>.</param>
    /// <param name="prNumber">The merged PR.</param>
    /// <param name="prUrl">Its link, or <c>null</c>.</param>
    /// <param name="skipped">Stages that will not run (or finish), in pipeline order; may be empty.</param>
    /// <param name="runningStage">The stage whose agent was running when the merge was seen, or <c>null</c>.</param>
    public static string TakenOver(string taskKey, int prNumber, string? prUrl, IReadOnlyList<string> skipped, string? runningStage)
    {
        var pr = string.Create(CultureInfo.InvariantCulture, $"PR #{prNumber}");
        var sb = new StringBuilder();
        sb.Append("<p><strong>Orchestrator</strong>: ")
            .Append(prUrl is null ? Html(pr) : $"<a href=\"{Html(prUrl)}\">{Html(pr)}</a>")
            .Append(" of ").Append(Html(taskKey)).Append(" was merged by a person before the role pipeline finished. ")
            .Append(skipped.Count == 0
                ? "No stage was left to run."
                : $"The remaining stages were skipped: {Html(string.Join(", ", skipped))}.")
            .Append("</p><p>");
        if (runningStage is not null)
        {
            sb.Append("The ").Append(Html(runningStage)).Append(" agent that was already running may finish, but nothing it does is pushed. ");
        }

        sb.Append("The merge and CI on the merge commit decide the task's status from here.</p>");
        return sb.ToString();
    }

    /// <summary>A duration as <c>12s</c>, <c>4m 12s</c> or <c>1h 03m</c> (same as the task pipeline's lead time).</summary>
    public static string FormatDuration(TimeSpan duration) => TaskPipelineOrchestration.Format(duration);

    /// <summary>USD with two decimals (<c>$0.42</c>, <c>$12.00</c>); a positive amount under a cent is <c>&lt;$0.01</c>.</summary>
    public static string FormatCost(decimal usd) => usd is > 0m and < 0.01m
        ? "<$0.01"
        : string.Create(CultureInfo.InvariantCulture, $"${usd:0.00}");

    /// <summary><c>12,345 in / 2,345 out</c>; one side alone when only one is known; <c>null</c> when neither is.</summary>
    public static string? FormatTokens(long? tokensIn, long? tokensOut) => (tokensIn, tokensOut) switch
    {
        (null, null) => null,
        ({ } i, null) => string.Create(CultureInfo.InvariantCulture, $"{i:N0} in"),
        (null, { } o) => string.Create(CultureInfo.InvariantCulture, $"{o:N0} out"),
        ({ } i, { } o) => string.Create(CultureInfo.InvariantCulture, $"{i:N0} in / {o:N0} out"),
    };

    /// <summary>The first non-empty lines of <paramref name="text"/>, joined, cut at <paramref name="max"/> characters with an ellipsis.</summary>
    public static string Gist(string? text, int max)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "";
        }

        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal)
            .Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && l != "---");
        var joined = string.Join(" ", lines);
        return joined.Length <= max ? joined : joined[..Math.Max(0, max - 1)].TrimEnd() + "…";
    }

    private static string FileName(string path)
    {
        var trimmed = path.TrimEnd('/');
        var slash = trimmed.LastIndexOf('/');
        var name = slash >= 0 ? trimmed[(slash + 1)..] : trimmed;
        return path.EndsWith('/') ? name + "/" : name;
    }

    private static string Capitalise(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static string Html(string text) => WebUtility.HtmlEncode(text);
}

using Orchestrator.Functions.Web;
using Orchestrator.Shared.ReadModel;

namespace Orchestrator.Functions.Pages.Projects;

/// <summary>
/// <c>/p/{slug}/analytics</c> (issue #11 §2): the funnel, the lead-time distribution and its weekly trend, failure reasons
/// and agent cost of the last <c>?days=</c> (7, 30, 90 or 365; default 30) as server-side SVG charts (<see cref="SvgCharts"/>),
/// each with its numbers in a table beside it. The figures are the analytics API's (<see cref="AnalyticsQueries"/>), so the
/// screen and <c>/api/v1/projects/{slug}/…</c> always agree. Viewers read; nothing is posted.
/// </summary>
public sealed class AnalyticsModel(AnalyticsQueries analytics, TimeProvider clock) : ProjectPageModel
{
    /// <summary>The ranges offered, in days.</summary>
    public static readonly IReadOnlyList<int> Ranges = [7, 30, 90, 365];

    /// <summary>The range shown, in days.</summary>
    public int Days { get; private set; } = 30;

    /// <summary>Range start.</summary>
    public DateTimeOffset From { get; private set; }

    /// <summary>Range end (now).</summary>
    public DateTimeOffset To { get; private set; }

    /// <summary>The summary.</summary>
    public ProjectSummary Summary { get; private set; } = null!;

    /// <summary>The funnel.</summary>
    public FunnelReport Funnel { get; private set; } = null!;

    /// <summary>Lead times.</summary>
    public LeadTimeReport LeadTime { get; private set; } = null!;

    /// <summary>Failure reasons.</summary>
    public FailureReport Failures { get; private set; } = null!;

    /// <summary>Agent cost.</summary>
    public CostReport Cost { get; private set; } = null!;

    /// <inheritdoc />
    protected override string Section => "analytics";

    /// <summary>Shows the page.</summary>
    /// <param name="days">One of <see cref="Ranges"/>; anything else shows the default 30 days.</param>
    public async Task OnGetAsync(int? days)
    {
        Days = days is { } d && Ranges.Contains(d) ? d : 30;
        To = clock.GetUtcNow();
        From = To.AddDays(-Days);
        var ct = HttpContext.RequestAborted;
        Summary = await analytics.SummaryAsync(Project.Slug, From, To, ct);
        Funnel = await analytics.FunnelAsync(Project.Slug, From, To, ct);
        LeadTime = await analytics.LeadTimeAsync(Project.Slug, From, To, ct);
        Failures = await analytics.FailuresAsync(Project.Slug, From, To, ct);
        Cost = await analytics.CostAsync(Project.Slug, From, To, ct);
    }
}

using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Orchestrations.Tasks;

namespace Orchestrator.Shared.ReadModel;

/// <summary>
/// The categories of the analytics API's failure report, read from the <c>reason</c> a <c>status_changed</c> event into
/// <c>FAILED</c> carries (the decider's failure reasons: <see cref="TaskPipelineOrchestration"/>, role pipeline summaries).
/// The reasons are the product's own sentences, so the rules below follow them; a reason no rule knows is
/// <see cref="Other"/> rather than a guess.
/// </summary>
public static class FailureCategories
{
    /// <summary>CI on the merge commit failed (<c>CI failed on …</c>, also after the deploy).</summary>
    public const string CiRed = "ci_red";

    /// <summary>CI did not finish within <c>ORCH_CI_TIMEOUT</c>, or the CI run itself timed out.</summary>
    public const string CiTimeout = "ci_timeout";

    /// <summary>The role pipeline (mode <c>run</c>) failed: an agent, a gate, the round limit, a rejected approval; or it could not start.</summary>
    public const string AgentFailed = "agent_failed";

    /// <summary>A task or project budget was spent before the next agent run.</summary>
    public const string BudgetExceeded = "budget_exceeded";

    /// <summary>Reading the tracker item for the TaskSpec failed for good (<c>PrepareTaskSpec failed …</c>).</summary>
    public const string TrackerApiError = "tracker_api_error";

    /// <summary>Creating or finding the forge issue failed for good (<c>EnsureForgeIssue failed …</c>).</summary>
    public const string ForgeApiError = "forge_api_error";

    /// <summary>The tracker item lacks what a TaskSpec needs (<c>The work item has no …</c>).</summary>
    public const string SpecInvalid = "spec_invalid";

    /// <summary>Anything else.</summary>
    public const string Other = "other";

    /// <summary>Every category in report order, with its label.</summary>
    public static readonly IReadOnlyList<(string Category, string Label)> All =
    [
        (CiRed, "CI red"), (CiTimeout, "CI timeout"), (AgentFailed, "Agent failed"), (BudgetExceeded, "Budget exceeded"),
        (TrackerApiError, "Tracker API error"), (ForgeApiError, "Forge API error"), (SpecInvalid, "Spec invalid"), (Other, "Other"),
    ];

    /// <summary>The category of a failure reason.</summary>
    /// <param name="reason">The <c>reason</c> of the transition into <c>FAILED</c>, or <c>null</c>.</param>
    /// <returns>One of the constants of this class.</returns>
    public static string Classify(string? reason)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            return Other;
        }

        var r = reason.Trim();
        if (r.Contains(RolePipelineOrchestration.BudgetExceeded, StringComparison.OrdinalIgnoreCase))
        {
            return BudgetExceeded;
        }

        if (r.StartsWith("CI did not finish", StringComparison.Ordinal) || (r.StartsWith("CI failed", StringComparison.Ordinal) && r.Contains(": timed_out)", StringComparison.Ordinal)))
        {
            return CiTimeout;
        }

        if (r.StartsWith("CI failed", StringComparison.Ordinal))
        {
            return CiRed;
        }

        if (r.StartsWith("The work item has no", StringComparison.Ordinal))
        {
            return SpecInvalid;
        }

        if (r.StartsWith(TaskActivities.PrepareTaskSpec + " failed", StringComparison.Ordinal))
        {
            return TrackerApiError;
        }

        if (r.StartsWith(TaskActivities.EnsureForgeIssue + " failed", StringComparison.Ordinal))
        {
            return ForgeApiError;
        }

        if (r.StartsWith("Role pipeline", StringComparison.Ordinal)
            || r.StartsWith(TaskActivities.StartRolePipeline + " failed", StringComparison.Ordinal)
            || r.StartsWith(TaskActivities.RetryRolePipeline + " failed", StringComparison.Ordinal))
        {
            return AgentFailed;
        }

        return Other;
    }

    /// <summary>The label of a category (the category itself when unknown).</summary>
    /// <param name="category">A category.</param>
    /// <returns>Its label.</returns>
    public static string LabelOf(string category) => All.FirstOrDefault(c => c.Category == category).Label ?? category;
}

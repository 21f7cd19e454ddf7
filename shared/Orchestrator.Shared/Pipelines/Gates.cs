using Orchestrator.Orchestrations.Pipelines;

namespace Orchestrator.Shared.Pipelines;

/// <summary>What a verdict gate concluded from an artifact's front matter.</summary>
/// <param name="Passed">Whether the gate passes.</param>
/// <param name="Verdict">
/// The canonical verdict when a recognised token decided (<c>APPROVE</c>, <c>REQUEST_CHANGES</c>,
/// <c>PASS</c>, <c>FAIL</c>, <c>SUCCESS</c>, <c>FAILED</c>); <c>null</c> when nothing recognisable was found.
/// </param>
/// <param name="Reason">One line for the timeline and the stage comment.</param>
public sealed record GateVerdict(bool Passed, string? Verdict, string Reason)
{
    /// <summary>A negative verdict: the work is rejected and goes back to development (as opposed to a gate that could not be read).</summary>
    public bool IsRejection => !Passed && Verdict is not null;

    /// <summary>The outcome reported in <see cref="GateChecked"/>.</summary>
    public GateOutcome Outcome => Passed ? GateOutcome.Passed : IsRejection ? GateOutcome.Rejected : GateOutcome.Failed;
}

/// <summary>
/// Machine verdicts, read ONLY from YAML front matter (never from prose). Values are compared
/// case-insensitively after trimming, with <c>-</c> and spaces taken as <c>_</c>
/// (<c>request changes</c> = <c>REQUEST_CHANGES</c>). A missing field, an empty value, unreadable front
/// matter or an unrecognised token fails the gate with the reason (never a rollback).
/// </summary>
public static class Gates
{
    /// <summary>Reviewer field.</summary>
    public const string ReviewField = "verdict";

    /// <summary>Tester fields, all considered.</summary>
    public static IReadOnlyList<string> TestFields { get; } = ["result", "verdict", "status"];

    /// <summary>Deployer field.</summary>
    public const string DeployField = "deploy_status";

    /// <summary>Dispatches on the stage's gate kind; <see cref="GateKind.Artifacts"/> needs no verdict and passes.</summary>
    public static GateVerdict Evaluate(GateKind kind, FrontMatterResult frontMatter) => kind switch
    {
        GateKind.Review => ReviewVerdict(frontMatter),
        GateKind.Test => TestVerdict(frontMatter),
        GateKind.Deploy => DeployVerdict(frontMatter),
        _ => new GateVerdict(true, null, "no verdict required"),
    };

    /// <summary>
    /// Reviewer: <c>verdict:</c> <c>APPROVE</c> or <c>APPROVED</c> pass (verdict <c>APPROVE</c>);
    /// <c>REQUEST_CHANGES</c> or <c>CHANGES_REQUESTED</c> reject (verdict <c>REQUEST_CHANGES</c>).
    /// </summary>
    public static GateVerdict ReviewVerdict(FrontMatterResult frontMatter) => Single(
        frontMatter,
        ReviewField,
        positive: ["APPROVE", "APPROVED"],
        negative: ["REQUEST_CHANGES", "CHANGES_REQUESTED"],
        passVerdict: "APPROVE",
        failVerdict: "REQUEST_CHANGES");

    /// <summary>
    /// Tester: every one of <c>result:</c>, <c>verdict:</c>, <c>status:</c> that is present is considered.
    /// <c>PASS</c>/<c>PASSED</c> are positive; <c>FAIL</c>/<c>FAILED</c>/<c>FAILURE</c> are negative (the
    /// past-tense and noun forms are accepted because agents write them, and a negative must never be
    /// missed). Precedence: any negative token wins (reject, verdict <c>FAIL</c>), even among positives;
    /// else any unrecognised or empty value fails the gate ("unrecognised value"); else <c>PASS</c>.
    /// </summary>
    public static GateVerdict TestVerdict(FrontMatterResult frontMatter)
    {
        if (!frontMatter.Success)
        {
            return Unreadable(frontMatter);
        }

        var present = TestFields.Where(frontMatter.Fields.ContainsKey).ToList();
        if (present.Count == 0)
        {
            return new GateVerdict(false, null, "missing field: one of result, verdict, status (PASS or FAIL)");
        }

        string[] positive = ["PASS", "PASSED"];
        string[] negative = ["FAIL", "FAILED", "FAILURE"];
        var negatives = new List<string>();
        string? unrecognised = null;
        foreach (var field in present)
        {
            var raw = frontMatter.Fields[field];
            var token = Normalise(raw);
            if (negative.Contains(token))
            {
                negatives.Add($"{field}: {raw}");
            }
            else if (!positive.Contains(token))
            {
                unrecognised ??= string.IsNullOrEmpty(raw)
                    ? $"field '{field}' is empty or not a single value (expected PASS or FAIL)"
                    : $"unrecognised value '{raw}' in '{field}' (expected PASS or FAIL)";
            }
        }

        if (negatives.Count > 0)
        {
            return new GateVerdict(false, "FAIL", string.Join(", ", negatives));
        }

        return unrecognised is not null
            ? new GateVerdict(false, null, unrecognised)
            : new GateVerdict(true, "PASS", string.Join(", ", present.Select(f => $"{f}: {frontMatter.Fields[f]}")));
    }

    /// <summary>
    /// Deployer: <c>deploy_status:</c> <c>SUCCESS</c> or <c>SUCCEEDED</c> pass (verdict <c>SUCCESS</c>);
    /// <c>FAILED</c>, <c>FAILURE</c> or <c>FAIL</c> reject (verdict <c>FAILED</c>).
    /// </summary>
    public static GateVerdict DeployVerdict(FrontMatterResult frontMatter) => Single(
        frontMatter,
        DeployField,
        positive: ["SUCCESS", "SUCCEEDED"],
        negative: ["FAILED", "FAILURE", "FAIL"],
        passVerdict: "SUCCESS",
        failVerdict: "FAILED");

    private static GateVerdict Single(
        FrontMatterResult frontMatter,
        string field,
        string[] positive,
        string[] negative,
        string passVerdict,
        string failVerdict)
    {
        var expected = $"expected {passVerdict} or {failVerdict}";
        if (!frontMatter.Success)
        {
            return Unreadable(frontMatter);
        }

        if (!frontMatter.Fields.TryGetValue(field, out var raw))
        {
            return new GateVerdict(false, null, $"missing field '{field}' ({expected})");
        }

        if (string.IsNullOrEmpty(raw))
        {
            return new GateVerdict(false, null, $"field '{field}' is empty or not a single value ({expected})");
        }

        var token = Normalise(raw);
        if (positive.Contains(token))
        {
            return new GateVerdict(true, passVerdict, $"{field}: {raw}");
        }

        return negative.Contains(token)
            ? new GateVerdict(false, failVerdict, $"{field}: {raw}")
            : new GateVerdict(false, null, $"unrecognised value '{raw}' in '{field}' ({expected})");
    }

    private static GateVerdict Unreadable(FrontMatterResult frontMatter) =>
        new(false, null, $"front matter unreadable: {frontMatter.Error}");

    private static string Normalise(string? value) =>
        (value ?? "").Trim().ToUpperInvariant().Replace('-', '_').Replace(' ', '_');
}

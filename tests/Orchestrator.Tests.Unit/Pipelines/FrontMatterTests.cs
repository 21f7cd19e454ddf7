using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Shared.Pipelines;

namespace Orchestrator.Tests.Unit.Pipelines;

/// <summary>Front matter reading and the machine verdicts read from it (never from prose).</summary>
public sealed class FrontMatterTests
{
    [Fact]
    public void Reads_keys_case_insensitively_with_trimmed_values_and_the_body()
    {
        var r = FrontMatter.Read("---\nVerdict:   APPROVE  \nreviewer: codex\n---\n# Findings\nNone.\n");

        Assert.True(r.Success);
        Assert.Null(r.Error);
        Assert.Equal("APPROVE", r.Fields["verdict"]);
        Assert.Equal("codex", r.Fields["REVIEWER"]);
        Assert.Equal("# Findings\nNone.\n", r.Body);
    }

    [Fact]
    public void Tolerates_a_BOM_and_CRLF_line_endings()
    {
        var r = FrontMatter.Read("\uFEFF---\r\nresult: PASS\r\n---\r\nall good\r\n");

        Assert.True(r.Success);
        Assert.Equal("PASS", r.Fields["result"]);
        Assert.Equal("all good\n", r.Body);
    }

    [Fact]
    public void Accepts_the_YAML_document_end_marker_as_closing_fence()
    {
        var r = FrontMatter.Read("---\ndeploy_status: SUCCESS\n...\nlog");

        Assert.True(r.Success);
        Assert.Equal("SUCCESS", r.Fields["deploy_status"]);
        Assert.Equal("log", r.Body);
    }

    [Fact]
    public void Quoted_values_lists_and_nulls()
    {
        var r = FrontMatter.Read("---\nverdict: \"REQUEST_CHANGES\"\nlist: [a, b]\nempty:\ntilde: ~\n---\n");

        Assert.True(r.Success);
        Assert.Equal("REQUEST_CHANGES", r.Fields["verdict"]);
        Assert.Null(r.Fields["list"]);
        Assert.Null(r.Fields["empty"]);
        Assert.Null(r.Fields["tilde"]);
    }

    [Fact]
    public void An_empty_front_matter_is_an_empty_map()
    {
        var r = FrontMatter.Read("---\n---\nbody");

        Assert.True(r.Success);
        Assert.Empty(r.Fields);
    }

    [Theory]
    [InlineData("verdict: APPROVE\n", "no front matter")]
    [InlineData("", "no front matter")]
    [InlineData("\n---\nverdict: APPROVE\n---\n", "no front matter")]
    [InlineData("# Review\n---\nverdict: APPROVE\n---\n", "no front matter")]
    [InlineData("---\nverdict: APPROVE\n", "unterminated front matter")]
    [InlineData("---\nverdict: [APPROVE\n---\n", "invalid YAML in front matter")]
    [InlineData("---\n- APPROVE\n- PASS\n---\n", "not a mapping")]
    [InlineData("---\njust a sentence\n---\n", "not a mapping")]
    [InlineData("---\nverdict: APPROVE\nVERDICT: REQUEST_CHANGES\n---\n", "duplicate key")]
    public void Unreadable_front_matter_gives_the_reason(string markdown, string reason)
    {
        var r = FrontMatter.Read(markdown);

        Assert.False(r.Success);
        Assert.Contains(reason, r.Error, StringComparison.Ordinal);
        Assert.Empty(r.Fields);
    }

    [Fact]
    public void Invalid_YAML_names_the_line_of_the_file()
    {
        var r = FrontMatter.Read("---\nverdict: APPROVE\nnotes: [unclosed\n---\n");

        Assert.False(r.Success);
        Assert.Matches(@"line [34]\)", r.Error);
    }

    // ----- reviewer ---------------------------------------------------------------------------------

    [Theory]
    [InlineData("APPROVE", true, "APPROVE")]
    [InlineData("approved", true, "APPROVE")]
    [InlineData("Approve", true, "APPROVE")]
    [InlineData("REQUEST_CHANGES", false, "REQUEST_CHANGES")]
    [InlineData("request-changes", false, "REQUEST_CHANGES")]
    [InlineData("Changes_Requested", false, "REQUEST_CHANGES")]
    public void Reviewer_verdicts(string value, bool passed, string verdict)
    {
        var v = Gates.ReviewVerdict(FrontMatter.Read($"---\nverdict: {value}\n---\nfindings"));

        Assert.Equal(passed, v.Passed);
        Assert.Equal(verdict, v.Verdict);
        Assert.Equal(passed ? GateOutcome.Passed : GateOutcome.Rejected, v.Outcome);
    }

    [Fact]
    public void Reviewer_prose_is_never_read()
    {
        var v = Gates.ReviewVerdict(FrontMatter.Read("---\nreviewer: codex\n---\nverdict: APPROVE\nLooks good, APPROVE."));

        Assert.False(v.Passed);
        Assert.Null(v.Verdict);
        Assert.Equal(GateOutcome.Failed, v.Outcome);
        Assert.Contains("missing field 'verdict'", v.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Reviewer_unknown_and_empty_values_fail_the_gate_without_a_rollback()
    {
        var unknown = Gates.ReviewVerdict(FrontMatter.Read("---\nverdict: LGTM\n---\n"));
        var empty = Gates.ReviewVerdict(FrontMatter.Read("---\nverdict:\n---\n"));

        Assert.Equal(GateOutcome.Failed, unknown.Outcome);
        Assert.Contains("unrecognised value 'LGTM'", unknown.Reason, StringComparison.Ordinal);
        Assert.Equal(GateOutcome.Failed, empty.Outcome);
        Assert.Contains("empty", empty.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Unreadable_front_matter_fails_every_gate_with_the_reason()
    {
        var broken = FrontMatter.Read("---\nverdict: APPROVE\n");

        foreach (var v in new[] { Gates.ReviewVerdict(broken), Gates.TestVerdict(broken), Gates.DeployVerdict(broken) })
        {
            Assert.False(v.Passed);
            Assert.Equal(GateOutcome.Failed, v.Outcome);
            Assert.StartsWith("front matter unreadable: unterminated front matter", v.Reason, StringComparison.Ordinal);
        }
    }

    // ----- tester -----------------------------------------------------------------------------------

    [Theory]
    [InlineData("result: PASS", true, "PASS")]
    [InlineData("verdict: pass", true, "PASS")]
    [InlineData("status: Passed", true, "PASS")]
    [InlineData("result: PASS\nverdict: PASS\nstatus: PASS", true, "PASS")]
    [InlineData("result: FAIL", false, "FAIL")]
    [InlineData("status: failed", false, "FAIL")]
    [InlineData("verdict: FAILURE", false, "FAIL")]
    [InlineData("result: PASS\nstatus: FAIL", false, "FAIL")]
    [InlineData("result: PASS\nverdict: PASS\nstatus: fail", false, "FAIL")]
    [InlineData("Result: pass\nSTATUS: Fail", false, "FAIL")]
    [InlineData("result: FAIL\nstatus: weird", false, "FAIL")]
    public void Tester_verdicts_a_negative_token_in_any_field_wins(string yaml, bool passed, string verdict)
    {
        var v = Gates.TestVerdict(FrontMatter.Read($"---\n{yaml}\n---\nreport"));

        Assert.Equal(passed, v.Passed);
        Assert.Equal(verdict, v.Verdict);
    }

    [Fact]
    public void Tester_unknown_token_among_positives_fails_the_gate_as_unrecognised()
    {
        var v = Gates.TestVerdict(FrontMatter.Read("---\nresult: PASS\nstatus: done\n---\n"));

        Assert.False(v.Passed);
        Assert.Null(v.Verdict);
        Assert.Equal(GateOutcome.Failed, v.Outcome);
        Assert.Contains("unrecognised value 'done' in 'status'", v.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Tester_without_any_of_the_fields_fails_the_gate()
    {
        var v = Gates.TestVerdict(FrontMatter.Read("---\nauthor: tester\n---\nresult: PASS"));

        Assert.Equal(GateOutcome.Failed, v.Outcome);
        Assert.Contains("one of result, verdict, status", v.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Tester_reason_names_the_negative_fields()
    {
        var v = Gates.TestVerdict(FrontMatter.Read("---\nresult: PASS\nstatus: FAIL\n---\n"));

        Assert.Equal("status: FAIL", v.Reason);
    }

    // ----- deployer ---------------------------------------------------------------------------------

    [Theory]
    [InlineData("SUCCESS", true, "SUCCESS")]
    [InlineData("succeeded", true, "SUCCESS")]
    [InlineData("FAILED", false, "FAILED")]
    [InlineData("Failure", false, "FAILED")]
    [InlineData("fail", false, "FAILED")]
    public void Deployer_verdicts(string value, bool passed, string verdict)
    {
        var v = Gates.DeployVerdict(FrontMatter.Read($"---\ndeploy_status: {value}\n---\nlog"));

        Assert.Equal(passed, v.Passed);
        Assert.Equal(verdict, v.Verdict);
    }

    [Fact]
    public void Deployer_reads_only_deploy_status()
    {
        var v = Gates.DeployVerdict(FrontMatter.Read("---\nstatus: SUCCESS\n---\n"));

        Assert.Equal(GateOutcome.Failed, v.Outcome);
        Assert.Contains("missing field 'deploy_status'", v.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_dispatches_on_the_gate_kind()
    {
        var fm = FrontMatter.Read("---\nverdict: REQUEST_CHANGES\nresult: PASS\ndeploy_status: SUCCESS\n---\n");

        Assert.Equal(GateOutcome.Rejected, Gates.Evaluate(GateKind.Review, fm).Outcome);
        Assert.Equal(GateOutcome.Failed, Gates.Evaluate(GateKind.Test, fm).Outcome); // the tester reads verdict: too, and REQUEST_CHANGES is no test token
        Assert.Equal(GateOutcome.Passed, Gates.Evaluate(GateKind.Deploy, fm).Outcome);
        Assert.Equal(GateOutcome.Passed, Gates.Evaluate(GateKind.Artifacts, FrontMatter.Read("no front matter")).Outcome);
    }
}

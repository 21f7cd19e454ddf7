using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Shared.Pipelines;

namespace Orchestrator.Tests.Unit.Pipelines;

/// <summary>Default role prompts and the composed prompt of a stage run.</summary>
public sealed class RolePromptsTests
{
    private const string FullFindings = """
        # Review of WEB-42

        1. `src/Health.cs:12` — the endpoint returns 500 when the database is down; it must return 503 with `{"status":"degraded"}`.
        2. `tests/HealthTests.cs` — no test covers the degraded case.
        3. The README still documents `/health` instead of `/healthz`.
        """;

    private static RunStageAgentInput Input(string stage, int round = 0, StageFeedback? feedback = null, IReadOnlyList<RoundSummary>? history = null)
    {
        var def = PipelineDefinition.Default.Find(stage)!;
        var dir = "docs/work-items/WEB-42";
        return new RunStageAgentInput(
            "plane-wi-1", 3, "WEB-42", "Add a health endpoint", "# TaskSpec: WEB-42\r\n\r\nPlease add GET /healthz.",
            "acme/web", "orchestrator/WEB-42", stage, def.Role, def.Agent, def.PromptPath, dir,
            [.. def.Artifacts.Select(a => $"{dir}/{a}")],
            ["docs/work-items/WEB-42/01-brd.md", "docs/work-items/WEB-42/06-adr/"],
            def.VerdictArtifact is { } v ? $"{dir}/{v}" : null,
            round, 3, feedback, history ?? []);
    }

    [Theory]
    [InlineData("analyst", "01-brd.md", "03-acceptance-criteria.md")]
    [InlineData("architect", "02-trz.md", "04-test-plan.yaml")]
    [InlineData("architect", "06-adr/", "at least one")]
    [InlineData("developer", "CI must be green", "Findings to address")]
    [InlineData("reviewer", "12-review.md", "verdict: REQUEST_CHANGES")]
    [InlineData("reviewer", "verdict: APPROVE", "never from the prose")]
    [InlineData("tester", "13-test-report.md", "result: FAIL")]
    [InlineData("deployer", "14-deploy-log.md", "deploy_status: SUCCESS")]
    [InlineData("deployer", "deploy_status: FAILED", "front matter")]
    public void Each_default_prompt_names_its_files_and_front_matter(string role, string a, string b)
    {
        var text = RolePrompts.Default(role);

        Assert.Contains(a, text, StringComparison.Ordinal);
        Assert.Contains(b, text, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_role_has_a_default_and_unknown_roles_throw()
    {
        Assert.All(PipelineStages.Ordered, s => Assert.NotEmpty(RolePrompts.Default(PipelineStages.RoleOf(s))));
        Assert.Throws<ArgumentException>(() => RolePrompts.Default("poet"));
    }

    [Fact]
    public void A_first_round_prompt_has_role_task_artifacts_inputs_and_TaskSpec_and_no_findings()
    {
        var prompt = RolePrompts.Compose(Input("architecture"));

        Assert.StartsWith("# Role: architect", prompt, StringComparison.Ordinal);
        Assert.Contains("# Task WEB-42: Add a health endpoint", prompt, StringComparison.Ordinal);
        Assert.Contains("- Stage: architecture (role: architect)", prompt, StringComparison.Ordinal);
        Assert.Contains("- Branch: `orchestrator/WEB-42`", prompt, StringComparison.Ordinal);
        Assert.Contains("- `docs/work-items/WEB-42/02-trz.md`\n", prompt, StringComparison.Ordinal);
        Assert.Contains("- `docs/work-items/WEB-42/06-adr/` — a directory: write at least one file in it", prompt, StringComparison.Ordinal);
        Assert.Contains("## Read first\n\n- `docs/work-items/WEB-42/01-brd.md`", prompt, StringComparison.Ordinal);
        Assert.EndsWith("## TaskSpec\n\n# TaskSpec: WEB-42\n\nPlease add GET /healthz.\n", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("Findings to address", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("Earlier rounds", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("Developer round", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain('\r', prompt);
    }

    [Fact]
    public void A_verdict_stage_prompt_spells_out_the_front_matter_of_its_verdict_file()
    {
        var prompt = RolePrompts.Compose(Input("review", round: 1));

        Assert.Contains("- `docs/work-items/WEB-42/12-review.md` — must start with this YAML front matter", prompt, StringComparison.Ordinal);
        Assert.Contains("  ---\n  verdict: APPROVE | REQUEST_CHANGES\n  ---", prompt, StringComparison.Ordinal);
        Assert.Equal("result: PASS | FAIL", RolePrompts.VerdictTemplate("testing"));
        Assert.Equal("deploy_status: SUCCESS | FAILED", RolePrompts.VerdictTemplate("deploy"));
        Assert.Null(RolePrompts.VerdictTemplate("development"));
    }

    [Fact]
    public void The_repository_override_replaces_the_default_role_prompt()
    {
        var prompt = RolePrompts.Compose(Input("development", round: 1), "You are our house developer.\r\nUse tabs.");

        Assert.StartsWith("You are our house developer.\nUse tabs.\n\n---\n\n# Task WEB-42", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("# Role: developer", prompt, StringComparison.Ordinal);
        Assert.Contains("This stage writes no artifact files", prompt, StringComparison.Ordinal);
        Assert.Contains("- Developer round: 1 of 3", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public void A_blank_override_falls_back_to_the_default()
    {
        Assert.StartsWith("# Role: developer", RolePrompts.Compose(Input("development", round: 1), "  \n"), StringComparison.Ordinal);
    }

    [Fact]
    public void A_round_two_developer_prompt_carries_the_full_findings_and_the_history()
    {
        var prompt = RolePrompts.Compose(Input(
            "development",
            round: 2,
            feedback: new StageFeedback("review", "REQUEST_CHANGES", FullFindings),
            history: [new RoundSummary(1, "Added GET /healthz returning 200", "review", "REQUEST_CHANGES", "# Review of WEB-42 1. `src/Health.cs:12` — the endpoint returns 500…")]));

        Assert.Contains("- Developer round: 2 of 3", prompt, StringComparison.Ordinal);
        Assert.Contains("## Findings to address\n\nFrom review, verdict `REQUEST_CHANGES`. This is the full text; address every point:", prompt, StringComparison.Ordinal);
        Assert.Contains(FullFindings.Trim(), prompt, StringComparison.Ordinal);
        Assert.Contains("(end of findings)", prompt, StringComparison.Ordinal);
        Assert.Contains("## Earlier rounds\n\n- Round 1: tried: Added GET /healthz returning 200; rejected by review (`REQUEST_CHANGES`): # Review of WEB-42 1.", prompt, StringComparison.Ordinal);
        Assert.True(prompt.IndexOf("## Findings to address", StringComparison.Ordinal) < prompt.IndexOf("## TaskSpec", StringComparison.Ordinal));
    }
}

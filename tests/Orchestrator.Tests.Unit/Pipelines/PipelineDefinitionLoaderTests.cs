using System.Text.Json;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Pipelines;

namespace Orchestrator.Tests.Unit.Pipelines;

/// <summary>Parsing and validating <c>.orchestrator/pipeline.yml</c>.</summary>
public sealed class PipelineDefinitionLoaderTests
{
    private static string Json(PipelineDefinition d) => JsonSerializer.Serialize(d, EngineJson.Options);

    [Fact]
    public void The_shipped_default_file_is_exactly_the_built_in_default()
    {
        var r = PipelineDefinitionLoader.Load(PipelineDefinitionLoader.DefaultYaml);

        Assert.True(r.IsValid, r.Describe());
        Assert.Equal(Json(PipelineDefinition.Default), Json(r.Definition!));
    }

    [Fact]
    public void The_default_has_every_stage_in_order_with_artifacts_gates_and_CI()
    {
        var d = PipelineDefinition.Default;

        Assert.Equal(["analysis", "architecture", "development", "review", "testing", "deploy"], d.Stages.Select(s => s.Name));
        Assert.Equal(["analyst", "architect", "developer", "reviewer", "tester", "deployer"], d.Stages.Select(s => s.Role));
        Assert.Equal(["01-brd.md", "03-acceptance-criteria.md"], d.Find("analysis")!.Artifacts);
        Assert.Equal(["02-trz.md", "04-test-plan.yaml", "06-adr/"], d.Find("architecture")!.Artifacts);
        Assert.Empty(d.Find("development")!.Artifacts);
        Assert.Equal("12-review.md", d.Find("review")!.VerdictArtifact);
        Assert.Equal("13-test-report.md", d.Find("testing")!.VerdictArtifact);
        Assert.Equal("14-deploy-log.md", d.Find("deploy")!.VerdictArtifact);
        Assert.Equal([false, false, true, false, true, false], d.Stages.Select(s => s.RequiresCi));
        Assert.Equal([GateKind.Artifacts, GateKind.Artifacts, GateKind.Artifacts, GateKind.Review, GateKind.Test, GateKind.Deploy], d.Stages.Select(s => s.Gate));
        Assert.Equal(".orchestrator/agents/reviewer.md", d.Find("review")!.PromptPath);
        Assert.Equal(3, d.MaxDeveloperRounds);
        Assert.Null(d.Approval);
        Assert.Null(d.TaskBudgetUsd);
        Assert.Equal("docs/work-items/WEB-42", d.WorkItemDirectory("WEB-42"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  \n# only a comment\n")]
    public void A_missing_or_blank_file_is_the_default(string? yaml)
    {
        var r = PipelineDefinitionLoader.LoadOrDefault(yaml);

        Assert.True(r.IsValid);
        Assert.Equal(Json(PipelineDefinition.Default), Json(r.Definition!));
    }

    [Fact]
    public void A_custom_pipeline()
    {
        const string yaml = """
            default_agent: claude
            max_developer_rounds: 5
            artifacts_root: docs/tasks/
            budget:
              task_usd: 2.50
              project_usd: 100
            approval:
              after: analysis
              approved_state: Go
              rejected_state: No go
              poll_interval: 2m
            ci:
              poll_interval: 10s
              timeout: 45m
            stages:
              - analysis
              - name: development
                agent: opencode
                requires_ci: false
              - name: review
                agent: codex
                prompt: prompts/review.md
                artifacts: [review.md, notes/]
                verdict_artifact: review.md
              - done
            """;

        var r = PipelineDefinitionLoader.Load(yaml, ["claude", "opencode", "codex"]);

        Assert.True(r.IsValid, r.Describe());
        var d = r.Definition!;
        Assert.Equal(["analysis", "development", "review"], d.Stages.Select(s => s.Name));
        Assert.Equal(["claude", "opencode", "codex"], d.Stages.Select(s => s.Agent));
        Assert.False(d.Find("development")!.RequiresCi);
        var review = d.Find("review")!;
        Assert.Equal("prompts/review.md", review.PromptPath);
        Assert.Equal(["review.md", "notes/"], review.Artifacts);
        Assert.Equal("review.md", review.VerdictArtifact);
        Assert.Equal(5, d.MaxDeveloperRounds);
        Assert.Equal(2.50m, d.TaskBudgetUsd);
        Assert.Equal(100m, d.ProjectBudgetUsd);
        Assert.Equal(new ApprovalGate("analysis", "Go", "No go", TimeSpan.FromMinutes(2)), d.Approval);
        Assert.Equal(new CiPolicy(TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(45)), d.Ci);
        Assert.Equal("docs/tasks/WEB-1", d.WorkItemDirectory("WEB-1"));
    }

    [Fact]
    public void Only_development_and_later_stages_open_the_PR_unless_opens_pr_says_otherwise()
    {
        var d = PipelineDefinition.Default;
        Assert.Equal([false, false, true, true, true, true], d.Stages.Select(s => d.OpensPr(s.Name)));
        Assert.All(d.Stages, s => Assert.Null(s.OpensPr)); // the default is not written into the definition

        var early = PipelineDefinitionLoader.Load("stages:\n  - analysis\n  - name: architecture\n    opens_pr: true\n  - development\n");
        Assert.True(early.IsValid, early.Describe());
        Assert.Equal([null, true, null], early.Definition!.Stages.Select(s => s.OpensPr));
        Assert.Equal([false, true, true], early.Definition.Stages.Select(s => early.Definition.OpensPr(s.Name)));

        var late = PipelineDefinitionLoader.Load("stages:\n  - name: development\n    opens_pr: false\n  - review\n");
        Assert.True(late.IsValid, late.Describe());
        Assert.Equal([false, true], late.Definition!.Stages.Select(s => late.Definition.OpensPr(s.Name)));

        // Documents only: no stage has code to merge, so no PR opens unless one asks for it.
        var documents = PipelineDefinitionLoader.Load("stages: [analysis, architecture]");
        Assert.Equal([false, false], documents.Definition!.Stages.Select(s => documents.Definition.OpensPr(s.Name)));
    }

    [Fact]
    public void Changed_artifacts_without_a_verdict_artifact_use_the_first_as_verdict_file()
    {
        var r = PipelineDefinitionLoader.Load("stages:\n  - development\n  - name: testing\n    artifacts: [report.md]\n");

        Assert.True(r.IsValid, r.Describe());
        Assert.Equal("report.md", r.Definition!.Find("testing")!.VerdictArtifact);
    }

    [Fact]
    public void Approval_false_or_empty_mapping()
    {
        Assert.Null(PipelineDefinitionLoader.Load("approval: false").Definition!.Approval);
        Assert.Equal(new ApprovalGate("analysis", "Approved", "Rejected", TimeSpan.FromMinutes(5)),
            PipelineDefinitionLoader.Load("approval: {}").Definition!.Approval);
    }

    [Fact]
    public void An_invalid_file_reports_every_problem_with_its_line()
    {
        const string yaml = """
            version: 2
            max_developer_rounds: 0
            colour: blue
            budget:
              task_usd: -1
              project_usd: lots
            ci:
              timeout: soon
            approval:
              after: deploy
              approved_state: Done
              rejected_state: done
            stages:
              - analysis
              - name: qa
              - name: review
                agent: gpt
                agnet: typo
              - name: architecture
                agent: claude
              - name: analysis
                agent: claude
              - name: testing
                artifacts: [/etc/passwd, ../up.md, report.md]
            """;

        var r = PipelineDefinitionLoader.Load(yaml, ["claude", "opencode"]);

        Assert.False(r.IsValid);
        Assert.Null(r.Definition);
        string[] expected =
        [
            "line 1: version must be 1 (got '2')",
            "line 2: max_developer_rounds must be an integer ≥ 1 (got '0')",
            "line 3: unknown key 'colour' in top level",
            "line 5: budget.task_usd must be a number ≥ 0 in USD (got '-1')",
            "line 6: budget.project_usd must be a number ≥ 0 in USD (got 'lots')",
            "line 8: ci.timeout must be a positive duration like 30s, 5m or 1h (got 'soon')",
            "line 15: unknown stage 'qa'",
            "line 18: unknown key 'agnet' in stage",
            "line 17: stage 'review': agent 'gpt' is not a configured agent (configured: claude, opencode)",
            "line 19: stage 'architecture' is out of order",
            "line 21: stage 'analysis' is listed more than once",
            "line 24: stages.testing.artifacts: '/etc/passwd' must be a relative path",
            "line 24: stages.testing.artifacts: '../up.md' must be a relative path",
            "line 14: development is missing, but review, testing roll back to it on a negative verdict",
            "approval.after 'deploy' is not a stage of this pipeline",
            "approval.approved_state and approval.rejected_state must differ",
        ];
        foreach (var e in expected)
        {
            Assert.Contains(r.Errors, x => x.StartsWith(e, StringComparison.Ordinal) || x.Contains(e, StringComparison.Ordinal));
        }

        Assert.Equal(expected.Length, r.Errors.Count);
        Assert.StartsWith(".orchestrator/pipeline.yml is invalid:\n- line 1: version must be 1 (got '2')\n- line 2: max_developer_rounds", r.Describe(), StringComparison.Ordinal);
        var lines = r.Errors.Select(e => int.Parse(e.Split(':')[0]["line ".Length..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(lines.Order(), lines); // file order
    }

    [Fact]
    public void The_built_in_default_agent_must_be_configured_when_a_stage_relies_on_it()
    {
        var implicitDefault = PipelineDefinitionLoader.Load("stages:\n  - name: analysis\n    agent: claude\n  - development\n", ["claude"]);
        var allExplicit = PipelineDefinitionLoader.Load("stages:\n  - name: analysis\n    agent: claude\n", ["claude"]);
        var noStages = PipelineDefinitionLoader.Load("max_developer_rounds: 2", ["claude"]);

        Assert.Equal(["stages without agent: use the built-in default agent 'opencode', which is not a configured agent (configured: claude); set default_agent: or agent: on each stage"],
            implicitDefault.Errors);
        Assert.True(allExplicit.IsValid, allExplicit.Describe());
        Assert.Single(noStages.Errors);
        Assert.True(PipelineDefinitionLoader.Load("default_agent: claude", ["claude"]).IsValid);
    }

    [Fact]
    public void A_stage_without_agent_is_an_error_when_there_is_no_default_agent()
    {
        var r = PipelineDefinitionLoader.Load("default_agent: ''\nstages:\n  - name: analysis\n");

        Assert.Contains(r.Errors, e => e.Contains("default_agent must be a single non-empty value", StringComparison.Ordinal));
        Assert.Contains(r.Errors, e => e.Contains("stage 'analysis' has no agent", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("stages: analysis", "stages must be a list")]
    [InlineData("stages: []", "stages must list at least one stage")]
    [InlineData("stages: [done, analysis]", "'done' can only be the last entry")]
    [InlineData("stages:\n  - development\n  - name: review\n    verdict_artifact: other.md", "verdict_artifact 'other.md' must be one of its artifacts")]
    [InlineData("stages:\n  - name: analysis\n    verdict_artifact: 01-brd.md", "stage 'analysis' reads no verdict")]
    [InlineData("stages:\n  - name: development\n    requires_ci: maybe", "requires_ci must be true or false")]
    [InlineData("stages:\n  - name: development\n    opens_pr: later", "stages.development.opens_pr must be true or false (got 'later')")]
    [InlineData("stages:\n  - development\n  - name: review\n    opens_pr: false",
        "line 4: stage 'review': opens_pr: false has no effect after development, which opens the pull request")]
    [InlineData("stages:\n  - name: analysis\n    opens_pr: true\n  - name: architecture\n    opens_pr: false",
        "stage 'architecture': opens_pr: false has no effect after analysis")]
    [InlineData("- a\n- b", "the file must be a mapping")]
    [InlineData("stages: [analysis", "invalid YAML")]
    [InlineData("default_agent: ghost", "default_agent 'ghost' is not a configured agent")]
    public void Single_problems(string yaml, string error)
    {
        var r = PipelineDefinitionLoader.Load(yaml, ["claude"]);

        Assert.False(r.IsValid);
        Assert.Contains(r.Errors, e => e.Contains(error, StringComparison.Ordinal));
    }
}

namespace Orchestrator.Orchestrations.Pipelines;

/// <summary>
/// The stage names of a role pipeline, their fixed order, and what each stage does by default
/// (role, artifacts, gate). A project's <c>.orchestrator/pipeline.yml</c> may leave stages out and
/// change agents, prompts, artifacts and CI, but not rename or reorder stages.
/// </summary>
/// <remarks>
/// Artifact placement: <c>03-acceptance-criteria.md</c> is written in <b>analysis</b>, beside the BRD,
/// because acceptance criteria are business-facing and are what a human approves at the optional
/// approval gate after analysis; <c>02-trz.md</c> (technical requirements), <c>04-test-plan.yaml</c> and
/// <c>06-adr/</c> are written in <b>architecture</b>, which turns approved requirements into a design.
/// </remarks>
public static class PipelineStages
{
    /// <summary>Analyst: business requirements and acceptance criteria.</summary>
    public const string Analysis = "analysis";

    /// <summary>Architect: technical requirements, test plan, ADRs.</summary>
    public const string Architecture = "architecture";

    /// <summary>Developer: the code change on the task branch (and its PR); CI must be green.</summary>
    public const string Development = "development";

    /// <summary>Reviewer: <c>12-review.md</c> with a <c>verdict:</c>.</summary>
    public const string Review = "review";

    /// <summary>Tester: <c>13-test-report.md</c> with <c>result:</c>/<c>verdict:</c>/<c>status:</c>; CI must be green.</summary>
    public const string Testing = "testing";

    /// <summary>Deployer: <c>14-deploy-log.md</c> with <c>deploy_status:</c>.</summary>
    public const string Deploy = "deploy";

    /// <summary>Terminal marker: reached after the last stage; has no agent.</summary>
    public const string Done = "done";

    /// <summary>The stages that run an agent, in pipeline order.</summary>
    public static IReadOnlyList<string> Ordered { get; } = [Analysis, Architecture, Development, Review, Testing, Deploy];

    /// <summary>Position of a stage in <see cref="Ordered"/>, or -1 when unknown.</summary>
    public static int IndexOf(string stage)
    {
        for (var i = 0; i < Ordered.Count; i++)
        {
            if (string.Equals(Ordered[i], stage, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The role of a stage: <c>analyst</c>, <c>architect</c>, <c>developer</c>, <c>reviewer</c>, <c>tester</c>, <c>deployer</c>.</summary>
    /// <exception cref="ArgumentException">Unknown stage.</exception>
    public static string RoleOf(string stage) => stage switch
    {
        Analysis => "analyst",
        Architecture => "architect",
        Development => "developer",
        Review => "reviewer",
        Testing => "tester",
        Deploy => "deployer",
        _ => throw new ArgumentException($"Unknown stage '{stage}'.", nameof(stage)),
    };

    /// <summary>The gate kind of a stage (which front-matter verdict, if any, it reads).</summary>
    /// <exception cref="ArgumentException">Unknown stage.</exception>
    public static GateKind GateOf(string stage) => stage switch
    {
        Analysis or Architecture or Development => GateKind.Artifacts,
        Review => GateKind.Review,
        Testing => GateKind.Test,
        Deploy => GateKind.Deploy,
        _ => throw new ArgumentException($"Unknown stage '{stage}'.", nameof(stage)),
    };

    /// <summary>
    /// Default artifacts of a stage, relative to the work-item directory (<c>docs/work-items/&lt;PREFIX-N&gt;/</c>);
    /// a trailing <c>/</c> names a directory that must hold at least one file.
    /// </summary>
    public static IReadOnlyList<string> DefaultArtifacts(string stage) => stage switch
    {
        Analysis => ["01-brd.md", "03-acceptance-criteria.md"],
        Architecture => ["02-trz.md", "04-test-plan.yaml", "06-adr/"],
        Review => ["12-review.md"],
        Testing => ["13-test-report.md"],
        Deploy => ["14-deploy-log.md"],
        _ => [],
    };

    /// <summary>Whether the stage waits for green CI on the branch by default (development and testing).</summary>
    public static bool DefaultRequiresCi(string stage) => stage is Development or Testing;

    /// <summary>
    /// Whether the stage ensures the task's pull request by default: development and every stage after it in
    /// <see cref="Ordered"/> (review, testing, deploy). Analysis and architecture only push their documents to
    /// the task branch, so the PR — and with it the task's <c>PR_CREATED</c> and the merge → CI path — exists only
    /// once there is code to merge.
    /// </summary>
    public static bool DefaultOpensPr(string stage) => IndexOf(stage) >= IndexOf(Development);

    /// <summary>The default artifact holding the verdict front matter (review, testing, deploy), else <c>null</c>.</summary>
    public static string? DefaultVerdictArtifact(string stage) => stage switch
    {
        Review => "12-review.md",
        Testing => "13-test-report.md",
        Deploy => "14-deploy-log.md",
        _ => null,
    };

    /// <summary>Repository path of the role prompt a repo may provide: <c>.orchestrator/agents/&lt;role&gt;.md</c>.</summary>
    public static string DefaultPromptPath(string role) => $".orchestrator/agents/{role}.md";
}

/// <summary>What a stage's exit gate reads besides its artifacts (and CI when required).</summary>
public enum GateKind
{
    /// <summary>Artifacts present (and CI green when required); no verdict.</summary>
    Artifacts,

    /// <summary>Reviewer <c>verdict:</c> <c>APPROVE</c> | <c>REQUEST_CHANGES</c>; changes requested roll back to development.</summary>
    Review,

    /// <summary>Tester <c>result:</c>/<c>verdict:</c>/<c>status:</c> <c>PASS</c> | <c>FAIL</c>; FAIL rolls back to development.</summary>
    Test,

    /// <summary>Deployer <c>deploy_status:</c> <c>SUCCESS</c> | <c>FAILED</c>; FAILED rolls back to development.</summary>
    Deploy,
}

/// <summary>One stage of a role pipeline.</summary>
/// <param name="Name">Stage name, one of <see cref="PipelineStages.Ordered"/>.</param>
/// <param name="Role">Role (<see cref="PipelineStages.RoleOf"/>); names the default prompt.</param>
/// <param name="Agent">Configured agent name that runs the stage, e.g. <c>claude</c>, <c>opencode</c>, <c>codex</c>.</param>
/// <param name="PromptPath">Repository path of the role prompt override (default <c>.orchestrator/agents/&lt;role&gt;.md</c>); the shipped default is used when the file does not exist.</param>
/// <param name="Artifacts">Files the stage must write, relative to the work-item directory; a trailing <c>/</c> is a directory with at least one file.</param>
/// <param name="RequiresCi">Whether the gate also waits for green CI on the branch head.</param>
/// <param name="Gate">Which verdict the gate reads.</param>
/// <param name="VerdictArtifact">The artifact whose YAML front matter holds the verdict (one of <paramref name="Artifacts"/>), or <c>null</c> for <see cref="GateKind.Artifacts"/>.</param>
/// <param name="OpensPr">
/// <c>opens_pr:</c> as written in the pipeline file — whether the stage ensures the task's pull request after it
/// pushes (<c>false</c>: it pushes to the task branch only) — or <c>null</c> for the default. Read it through
/// <see cref="PipelineDefinition.OpensPr"/>, which applies the default and the rule that once a stage opens the PR
/// every later stage keeps it. <c>null</c> is also what states stored before the setting existed deserialise to.
/// </param>
public sealed record StageDefinition(
    string Name,
    string Role,
    string Agent,
    string PromptPath,
    IReadOnlyList<string> Artifacts,
    bool RequiresCi,
    GateKind Gate,
    string? VerdictArtifact,
    bool? OpensPr = null)
{
    /// <summary>A stage with every default for <paramref name="name"/>, run by <paramref name="agent"/>.</summary>
    /// <exception cref="ArgumentException">Unknown stage.</exception>
    public static StageDefinition For(string name, string agent)
    {
        var role = PipelineStages.RoleOf(name);
        return new StageDefinition(
            name,
            role,
            agent,
            PipelineStages.DefaultPromptPath(role),
            PipelineStages.DefaultArtifacts(name),
            PipelineStages.DefaultRequiresCi(name),
            PipelineStages.GateOf(name),
            PipelineStages.DefaultVerdictArtifact(name));
    }
}

/// <summary>The optional human approval gate: after <paramref name="AfterStage"/> the pipeline waits until the tracker item is moved to one of two states.</summary>
/// <param name="AfterStage">Stage after which approval is required (default <c>analysis</c>).</param>
/// <param name="ApprovedState">Tracker state name meaning approved (compared case-insensitively), default <c>Approved</c>.</param>
/// <param name="RejectedState">Tracker state name meaning rejected, default <c>Rejected</c>; the item's latest comment becomes the reason.</param>
/// <param name="PollInterval">How often the tracker is polled while waiting (webhooks may answer sooner); default 5 minutes.</param>
public sealed record ApprovalGate(string AfterStage, string ApprovedState, string RejectedState, TimeSpan PollInterval);

/// <summary>CI waiting of stages with <see cref="StageDefinition.RequiresCi"/> (the Monitor pattern: bounded polls, then a typed timeout).</summary>
/// <param name="PollInterval">Delay between polls while CI is pending (default 30 s).</param>
/// <param name="Timeout">Longest wait for CI per stage (default 1 h); then the gate fails with the reason.</param>
public sealed record CiPolicy(TimeSpan PollInterval, TimeSpan Timeout);

/// <summary>
/// A project's role pipeline: ordered stages, developer round limit, optional approval gate, CI
/// waiting and budgets. Parsed from <c>.orchestrator/pipeline.yml</c> by
/// <c>Orchestrator.Shared.Pipelines.PipelineDefinitionLoader</c>; <see cref="Default"/> when the repo has none.
/// </summary>
/// <param name="Stages">Stages in order (a subsequence of <see cref="PipelineStages.Ordered"/>; <c>done</c> is implicit).</param>
/// <param name="MaxDeveloperRounds">Most developer rounds (first run included) before the task fails with an escalation; at least 1.</param>
/// <param name="Approval">Human approval gate, or <c>null</c> for none.</param>
/// <param name="Ci">CI waiting.</param>
/// <param name="TaskBudgetUsd">Most USD one task may spend on agent runs; <c>null</c> = unlimited.</param>
/// <param name="ProjectBudgetUsd">Most USD all tasks of the project may spend; <c>null</c> = unlimited. The host turns it into the remaining amount it passes on start.</param>
/// <param name="ArtifactsRoot">Repository folder holding one directory per task (default <c>docs/work-items</c>).</param>
public sealed record PipelineDefinition(
    IReadOnlyList<StageDefinition> Stages,
    int MaxDeveloperRounds,
    ApprovalGate? Approval,
    CiPolicy Ci,
    decimal? TaskBudgetUsd,
    decimal? ProjectBudgetUsd,
    string ArtifactsRoot)
{
    /// <summary>Agent of every stage of <see cref="Default"/>.</summary>
    public const string DefaultAgent = "opencode";

    /// <summary>Default developer round limit.</summary>
    public const int DefaultMaxDeveloperRounds = 3;

    /// <summary>Default artifacts root.</summary>
    public const string DefaultArtifactsRoot = "docs/work-items";

    /// <summary>Default CI waiting: poll every 30 s, give up after 1 h.</summary>
    public static CiPolicy DefaultCi { get; } = new(TimeSpan.FromSeconds(30), TimeSpan.FromHours(1));

    /// <summary>
    /// The built-in pipeline (same as the shipped <c>Pipelines/Defaults/pipeline.yml</c>): all six stages
    /// run by <see cref="DefaultAgent"/>, default artifacts, CI on development and testing, 3 developer
    /// rounds, no approval gate, no budget.
    /// </summary>
    public static PipelineDefinition Default { get; } = WithAgent(DefaultAgent);

    /// <summary>The built-in pipeline with every stage run by <paramref name="agent"/>.</summary>
    public static PipelineDefinition WithAgent(string agent) => new(
        [.. PipelineStages.Ordered.Select(s => StageDefinition.For(s, agent))],
        DefaultMaxDeveloperRounds,
        null,
        DefaultCi,
        null,
        null,
        DefaultArtifactsRoot);

    /// <summary>The stage named <paramref name="name"/>, or <c>null</c>.</summary>
    public StageDefinition? Find(string name) => Stages.FirstOrDefault(s => s.Name == name);

    /// <summary>The stage after <paramref name="name"/>, or <c>null</c> when it is the last (next is <c>done</c>).</summary>
    public StageDefinition? After(string name)
    {
        for (var i = 0; i < Stages.Count - 1; i++)
        {
            if (Stages[i].Name == name)
            {
                return Stages[i + 1];
            }
        }

        return null;
    }

    /// <summary>
    /// Whether stage <paramref name="name"/> ensures the task's pull request after it pushes (finds it by head
    /// branch, else opens it with <c>Fixes #N</c>); otherwise it pushes its commit to the task branch only.
    /// A stage's explicit <see cref="StageDefinition.OpensPr"/> wins, else <see cref="PipelineStages.DefaultOpensPr"/>
    /// (development and later); and every stage after the first one that opens the PR opens it too, because the
    /// PR exists by then and each further push updates it anyway. <c>false</c> for a stage not in the pipeline.
    /// </summary>
    /// <param name="name">Stage name.</param>
    public bool OpensPr(string name)
    {
        var opened = false;
        foreach (var stage in Stages)
        {
            opened |= stage.OpensPr ?? PipelineStages.DefaultOpensPr(stage.Name);
            if (stage.Name == name)
            {
                return opened;
            }
        }

        return false;
    }

    /// <summary>The work-item directory of a task: <c>&lt;ArtifactsRoot&gt;/&lt;PREFIX-N&gt;</c> (no trailing slash).</summary>
    public string WorkItemDirectory(string taskKey) => $"{ArtifactsRoot.TrimEnd('/')}/{taskKey}";
}

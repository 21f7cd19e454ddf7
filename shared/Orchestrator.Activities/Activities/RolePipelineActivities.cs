using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Agents;
using Orchestrator.Shared.Agents.Git;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Pipelines;
using Orchestrator.Functions.Platforms;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Activities;

/// <summary>What the role-pipeline activities need about the task and its project.</summary>
public sealed class RolePipelineContext(NpgsqlDataSource dataSource, OrchestratorSettings settings, PlatformRegistry platforms)
{
    /// <summary>The settings.</summary>
    public OrchestratorSettings Settings => settings;

    /// <summary>The task behind an instance (task or role pipeline) and its project's clients.</summary>
    /// <exception cref="PermanentActivityException">The task or its project does not exist.</exception>
    public Task<(TaskState Task, ProjectPlatforms Platforms)> ForAsync(string? instanceId, CancellationToken cancellationToken) =>
        platforms.ForInstanceAsync(instanceId, cancellationToken);

    /// <summary>Git URL of a project's repository: the project's <c>git_url</c>, else derived from its forge.</summary>
    public string RemoteUrl(ProjectDefinition project, string repo) => platforms.RemoteUrl(project, repo);

    /// <summary>The token for HTTPS remotes (never for local paths); a host-wide token only for the host-wide git host.</summary>
    /// <exception cref="PermanentActivityException">The project uses the host-wide token but its remote is elsewhere.</exception>
    public async ValueTask<string?> TokenAsync(ProjectPlatforms project, string remoteUrl, CancellationToken cancellationToken)
    {
        if (!remoteUrl.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (project.GitTokenScope is { } scope && !Orchestrator.Shared.Platform.Endpoints.SameOrigin(remoteUrl, scope))
        {
            throw new PermanentActivityException(
                $"Project '{project.Project.Slug}' pushes to {new Uri(remoteUrl).GetLeftPart(UriPartial.Authority)} with no forge_token of its own: " +
                $"the host-wide ORCH_GITHUB_TOKEN is only sent to {scope.GetLeftPart(UriPartial.Authority)}. Give the project a forge_token.");
        }

        return await project.GitToken(cancellationToken);
    }

    /// <summary>The task pipeline state behind a role pipeline instance (<c>roles-&lt;task&gt;</c>).</summary>
    /// <exception cref="PermanentActivityException">The task instance does not exist.</exception>
    public Task<TaskState> TaskOfAsync(string rolePipelineId, CancellationToken cancellationToken) => platforms.TaskStateAsync(rolePipelineId, cancellationToken);

    /// <summary>The key agent runs are recorded and capped under: the project slug (tasks from before #4: the tracker project id).</summary>
    public static string ProjectKey(TaskProject project) => project.ProjectSlug ?? project.TrackerProjectId;

    /// <summary>What a project may still spend (its budget minus every recorded run's cost), or <c>null</c> when unlimited.</summary>
    public async Task<decimal?> ProjectRemainingAsync(ProjectDefinition project, string projectKey, CancellationToken cancellationToken)
    {
        if (project.BudgetUsd is not { } budget)
        {
            return null;
        }

        await using var command = dataSource.CreateCommand("SELECT COALESCE(sum(cost_usd), 0) FROM agent_runs WHERE project = @p");
        command.Parameters.AddWithValue("p", projectKey);
        var spent = (decimal)(await command.ExecuteScalarAsync(cancellationToken))!;
        return Math.Max(0, budget - spent);
    }
}

/// <summary>Loads the project's pipeline (<c>.orchestrator/pipeline.yml</c> on the default branch, else the built-in default) and starts the role pipeline as a child of the task.</summary>
public sealed class StartRolePipelineActivity(IOrchestrationClient engine, GitWorkspaces git, RolePipelineContext context) : Activity<StartRolePipelineInput>
{
    /// <inheritdoc />
    public override string Name => TaskActivities.StartRolePipeline;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext activity, StartRolePipelineInput input, CancellationToken cancellationToken)
    {
        var taskId = activity.InstanceId ?? throw new PermanentActivityException("StartRolePipeline needs an instance.");
        var (_, platforms) = await context.ForAsync(taskId, cancellationToken);
        var project = platforms.Project;
        var repoName = input.Repo ?? input.Project.Repo;
        var remote = context.RemoteUrl(project, repoName);
        await git.EnsureMirrorAsync(repoName, remote, await context.TokenAsync(platforms, remote, cancellationToken), cancellationToken);
        var yaml = await git.ReadFileAsync(repoName, "refs/remotes/origin/HEAD", PipelineDefinitionLoader.RepositoryPath, cancellationToken);
        var loaded = PipelineDefinitionLoader.LoadOrDefault(yaml, context.Settings.Agents.Names);
        if (loaded.Definition is null)
        {
            throw new PermanentActivityException($"{PipelineDefinitionLoader.RepositoryPath} is invalid: {string.Join("; ", loaded.Errors)}");
        }

        // No pipeline.yml: the built-in stages, run by the project's agent (or the only configured one).
        var agent = project.Agent ?? (context.Settings.Agents.Names.Count == 1 ? context.Settings.Agents.Names.First() : null);
        var definition = yaml is null && agent is not null ? PipelineDefinition.WithAgent(agent) : loaded.Definition;
        if (project.BudgetUsd is { } budget)
        {
            definition = definition with { ProjectBudgetUsd = budget };
        }
        var childId = TaskPipelineOrchestration.RolePipelineIdFor(taskId);
        var task = new PipelineTask(childId, input.TaskKey, input.Title, input.TaskSpec, repoName, input.Project.TrackerProjectId, input.WorkItemId,
            GitWorkspaces.BranchName(input.TaskKey, input.Title));
        await engine.StartAsync(RolePipelineOrchestration.OrchestrationName, childId,
            new RolePipelineStarted(definition, task, await context.ProjectRemainingAsync(project, RolePipelineContext.ProjectKey(input.Project), cancellationToken)), "start", taskId, cancellationToken);
        return new RolePipelineStartedForTask(childId, yaml is null ? "built-in default" : PipelineDefinitionLoader.RepositoryPath);
    }
}

/// <summary>Raises the retry event on a failed role pipeline.</summary>
public sealed class RetryRolePipelineActivity(IOrchestrationClient engine, RolePipelineContext context) : Activity<RetryRolePipelineInput>
{
    /// <inheritdoc />
    public override string Name => TaskActivities.RetryRolePipeline;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext activity, RetryRolePipelineInput input, CancellationToken cancellationToken)
    {
        var (task, platforms) = await context.ForAsync(input.ChildId, cancellationToken);
        var remaining = await context.ProjectRemainingAsync(platforms.Project, RolePipelineContext.ProjectKey(task.Project), cancellationToken);
        await engine.RaiseEventAsync(input.ChildId, new PipelineRetryRequested(remaining), $"retry:{input.Round}", cancellationToken);
        return null;
    }
}

/// <summary>Tells a role pipeline that the task's PR was merged before it finished (its <see cref="PipelineTakenOver"/> event, once per PR).</summary>
public sealed class StopRolePipelineActivity(IOrchestrationClient engine) : Activity<StopRolePipelineInput>
{
    /// <inheritdoc />
    public override string Name => TaskActivities.StopRolePipeline;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext activity, StopRolePipelineInput input, CancellationToken cancellationToken)
    {
        // A child that does not exist (never started) has nothing to stop: RaiseEventAsync ignores it.
        await engine.RaiseEventAsync(input.ChildId,
            new PipelineTakenOver(input.PrNumber, string.IsNullOrEmpty(input.PrUrl) ? null : input.PrUrl, input.MergeSha),
            $"taken-over:{input.PrNumber}", cancellationToken);
        return null;
    }
}

/// <summary>
/// Runs one stage's agent: worktree on the task branch (continuing earlier rounds), the composed prompt,
/// the agent through <see cref="IAgentRunner"/>, then commit what it left and push; a stage that opens the PR
/// (<see cref="RunStageAgentInput.OpensPr"/>: development and later) then ensures it with <c>Fixes #N</c> and the
/// TaskSpec, earlier stages leave their documents on the branch only. Nothing changed → a failed stage ("no
/// empty PRs"). Once the task's PR is merged — seen by the task pipeline, or on the forge just before the push —
/// nothing is pushed or opened: the result is <see cref="PipelineTakenOver"/>. Transient agent failures are thrown
/// for the engine to retry (honouring <c>Retry-After</c>).
/// </summary>
public sealed class RunStageAgentActivity(
    IAgentRunner runner,
    GitWorkspaces git,
    RolePipelineContext context,
    ILogger<RunStageAgentActivity> logger) : Activity<RunStageAgentInput>
{
    /// <inheritdoc />
    public override string Name => RolePipelineActivities.RunStageAgent;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext activity, RunStageAgentInput input, CancellationToken cancellationToken)
    {
        var (task, platforms) = await context.ForAsync(input.InstanceId, cancellationToken);
        if (MergedBefore(task) is { } merged)
        {
            // Queued before the pipeline heard of the merge: run no agent at all.
            return merged;
        }

        var project = platforms.Project;
        var github = platforms.Forge;
        var warnings = new List<string>();
        AgentSettings agent;
        try
        {
            agent = context.Settings.Agents.Resolve(input.Agent, project.Agents?.GetValueOrDefault(input.Agent), Environment.GetEnvironmentVariable, warnings);
        }
        catch (KeyNotFoundException ex)
        {
            return Failed(input, ex.Message);
        }

        foreach (var warning in warnings)
        {
            logger.LogWarning("{Warning}", warning);
        }

        var remote = context.RemoteUrl(project, input.Repo);
        var token = await context.TokenAsync(platforms, remote, cancellationToken);
        var worktree = await git.CreateWorktreeAsync(input.Repo, remote, token, input.Branch, null, cancellationToken);
        try
        {
            var roleOverride = File.Exists(Path.Combine(worktree.Path, input.PromptPath)) ? await File.ReadAllTextAsync(Path.Combine(worktree.Path, input.PromptPath), cancellationToken) : null;
            var prompt = RolePrompts.Compose(input, roleOverride);
            var result = await runner.RunAsync(new AgentRunSpec(input.InstanceId, RolePipelineContext.ProjectKey(task.Project), input.Stage, Math.Max(1, input.Round), agent, prompt, worktree.Path), cancellationToken);

            // The run may have taken many minutes: a person may have merged the PR meanwhile. Then whatever the agent
            // did is not pushed: the merged PR must not grow, no second PR may open, the branch may be deleted. The
            // task state knows once the merge webhook was handled; the forge (below, just before the push) even sooner.
            var (latest, _) = await context.ForAsync(input.InstanceId, cancellationToken);
            if (MergedBefore(latest) is { } mergedMeanwhile)
            {
                return mergedMeanwhile;
            }

            if (result.IsError)
            {
                if (result.Failure == AgentFailureKind.Transient)
                {
                    throw new RetryableActivityException($"agent '{agent.Name}' failed transiently: {result.FailureReason}", result.RetryAfter);
                }

                return Failed(input, result.FailureReason ?? "the agent failed", result);
            }

            var commit = await git.CommitAllAsync(worktree, $"{input.TaskKey}: {input.Stage} (round {Math.Max(1, input.Round)})\n\n{Short(result.FinalMessage)}", cancellationToken);
            if (!commit.HasChanges)
            {
                return Failed(input, $"agent '{agent.Name}' finished the {input.Stage} stage without changing anything (no empty PRs)", result);
            }

            var repo = RepoRef.Parse(input.Repo);
            var pr = await github.FindPullRequestByHeadAsync(repo, input.Branch, cancellationToken);
            if (pr is { Merged: true })
            {
                logger.LogInformation("{Stage} of {TaskKey}: PR #{Pr} was merged before the push; nothing pushed", input.Stage, input.TaskKey, pr.Number);
                return new PipelineTakenOver(pr.Number, pr.HtmlUrl, pr.MergeCommitSha);
            }

            await git.PushAsync(worktree, remote, token, cancellationToken);

            // Only development and later stages open the PR: before that there is no code to merge, and an open PR
            // would move the task to PR_CREATED (and a merge towards DEPLOYED) while the architect still works.
            if (input.OpensPr && (pr is null || pr.State != "open"))
            {
                pr = await github.CreatePullRequestAsync(repo, input.Branch, worktree.BaseBranch, $"[{input.TaskKey}] {input.Title}",
                    $"Fixes #{task.IssueNumber}\n\n{input.TaskSpec}", cancellationToken);
            }

            var open = pr is { State: "open" } ? pr : null;
            return new StageRunCompleted(input.Execution, input.Stage, true, null, result.TokensIn, result.TokensOut, result.CostUsd, result.Duration,
                input.Branch, commit.HeadSha, open?.Number, open?.HtmlUrl, Short(result.FinalMessage));
        }
        finally
        {
            await git.RemoveWorktreeAsync(worktree);
        }
    }

    /// <summary>The takeover, when the task pipeline already saw the PR merged (by a person: the pipeline never merges).</summary>
    private static PipelineTakenOver? MergedBefore(TaskState task) =>
        task.MergeSha is { } sha && task.PrNumber is { } pr ? new PipelineTakenOver(pr, task.PrUrl, sha) : null;

    private static StageRunCompleted Failed(RunStageAgentInput input, string reason, AgentRunResult? result = null) =>
        new(input.Execution, input.Stage, false, reason, result?.TokensIn, result?.TokensOut, result?.CostUsd, result?.Duration ?? TimeSpan.Zero,
            null, null, null, null, Short(result?.FinalMessage));

    private static string? Short(string? text) => text is null ? null : text.Length <= 500 ? text : text[..500] + "…";
}

/// <summary>Reads a stage's artifacts at the run's head commit and evaluates its gate from YAML front matter only.</summary>
public sealed class CheckStageGateActivity(GitWorkspaces git, RolePipelineContext context) : Activity<CheckStageGateInput>
{
    /// <inheritdoc />
    public override string Name => RolePipelineActivities.CheckStageGate;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext activity, CheckStageGateInput input, CancellationToken cancellationToken)
    {
        var (task, platforms) = await context.ForAsync(activity.InstanceId, cancellationToken);
        var remote = context.RemoteUrl(platforms.Project, input.Repo);
        await git.EnsureMirrorAsync(input.Repo, remote, await context.TokenAsync(platforms, remote, cancellationToken), cancellationToken);
        var revision = input.HeadSha ?? $"refs/remotes/origin/{input.Branch}";
        var missing = new List<string>();
        var links = new List<ArtifactLink>();
        var web = task.IssueUrl is { } issueUrl ? issueUrl[..issueUrl.LastIndexOf("/issues/", StringComparison.Ordinal)] : null;
        foreach (var artifact in input.Artifacts)
        {
            var present = artifact.EndsWith('/')
                ? (await git.ListFilesAsync(input.Repo, revision, artifact, cancellationToken)).Count > 0
                : await git.ReadFileAsync(input.Repo, revision, artifact, cancellationToken) is not null;
            if (present)
            {
                links.Add(new ArtifactLink(artifact, web is null ? artifact : $"{web}/blob/{input.Branch}/{artifact.TrimEnd('/')}"));
            }
            else
            {
                missing.Add(artifact);
            }
        }

        if (missing.Count > 0)
        {
            return new GateChecked(input.Execution, input.Stage, GateOutcome.Failed, null, $"missing: {string.Join(", ", missing)}", null, links);
        }

        if (input.VerdictArtifact is null)
        {
            return new GateChecked(input.Execution, input.Stage, GateOutcome.Passed, null, "artifacts present", null, links);
        }

        var text = await git.ReadFileAsync(input.Repo, revision, input.VerdictArtifact, cancellationToken);
        var frontMatter = FrontMatter.Read(text);
        var verdict = Gates.Evaluate(input.Gate, frontMatter);
        return new GateChecked(input.Execution, input.Stage, verdict.Outcome, verdict.Verdict, verdict.Reason, frontMatter.Body, links);
    }
}

/// <summary>Aggregate CI of the branch head (every check suite and workflow run).</summary>
public sealed class CheckStageCiActivity(PlatformRegistry platforms) : Activity<CheckStageCiInput>
{
    /// <inheritdoc />
    public override string Name => RolePipelineActivities.CheckStageCi;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext activity, CheckStageCiInput input, CancellationToken cancellationToken)
    {
        var sha = input.Sha ?? throw new PermanentActivityException("CheckStageCi needs the run's head commit.");
        var (_, project) = await platforms.ForInstanceAsync(activity.InstanceId, cancellationToken);
        var ci = await CheckCiActivity.CheckAsync(project.Forge, RepoRef.Parse(input.Repo), sha, cancellationToken);
        return new StageCiChecked(input.Execution, sha, ci.Outcome, ci.Detail, ci.Url);
    }
}

/// <summary>Posts a stage status comment once on the tracker item (found again by instance + key).</summary>
public sealed class PostStageCommentActivity(PlatformRegistry platforms) : Activity<PostStageCommentInput>
{
    /// <inheritdoc />
    public override string Name => RolePipelineActivities.PostStageComment;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext activity, PostStageCommentInput input, CancellationToken cancellationToken)
    {
        var (_, project) = await platforms.ForInstanceAsync(activity.InstanceId, cancellationToken);
        var outcome = await project.Tracker.EnsureCommentAsync(input.TrackerProjectId, input.WorkItemId, $"{activity.InstanceId}:{input.Key}", input.Html, cancellationToken);
        return new PipelineCommentPosted(input.Key, outcome == CommentOutcome.Created, outcome == CommentOutcome.ItemGone);
    }
}

/// <summary>Posts the escalation comment once.</summary>
public sealed class PostEscalationCommentActivity(PlatformRegistry platforms) : Activity<PostEscalationCommentInput>
{
    /// <inheritdoc />
    public override string Name => RolePipelineActivities.PostEscalationComment;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext activity, PostEscalationCommentInput input, CancellationToken cancellationToken)
    {
        var (_, project) = await platforms.ForInstanceAsync(activity.InstanceId, cancellationToken);
        var outcome = await project.Tracker.EnsureCommentAsync(input.TrackerProjectId, input.WorkItemId, $"{activity.InstanceId}:{input.Key}", input.Html, cancellationToken);
        return new PipelineCommentPosted(input.Key, outcome == CommentOutcome.Created, outcome == CommentOutcome.ItemGone);
    }
}

/// <summary>
/// The human approval gate: the work item's state name against the configured approved / rejected
/// names; on reject the latest comment that is not ours becomes the reason.
/// </summary>
public sealed class CheckApprovalActivity(PlatformRegistry platforms) : Activity<CheckApprovalInput>
{
    /// <inheritdoc />
    public override string Name => RolePipelineActivities.CheckApproval;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext activity, CheckApprovalInput input, CancellationToken cancellationToken)
    {
        var (_, project) = await platforms.ForInstanceAsync(activity.InstanceId, cancellationToken);
        return await DecideAsync(project.Tracker, input, cancellationToken);
    }

    /// <summary>The gate's decision from the tracker item as it is now.</summary>
    /// <param name="tracker">The project's tracker.</param>
    /// <param name="input">Item and the approved / rejected state names.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Approved, rejected with the latest human comment as the reason, or pending.</returns>
    public static async Task<ApprovalChanged> DecideAsync(ITracker tracker, CheckApprovalInput input, CancellationToken cancellationToken)
    {
        var state = await tracker.GetStateNameAsync(input.TrackerProjectId, input.WorkItemId, cancellationToken);
        if (string.Equals(state, input.ApprovedState, StringComparison.OrdinalIgnoreCase))
        {
            return new ApprovalChanged(ApprovalDecision.Approved, null);
        }

        if (!string.Equals(state, input.RejectedState, StringComparison.OrdinalIgnoreCase))
        {
            return new ApprovalChanged(ApprovalDecision.Pending, null);
        }

        var reason = await tracker.LatestHumanCommentAsync(input.TrackerProjectId, input.WorkItemId, cancellationToken) ?? "rejected without a comment";
        return new ApprovalChanged(ApprovalDecision.Rejected, reason);
    }
}

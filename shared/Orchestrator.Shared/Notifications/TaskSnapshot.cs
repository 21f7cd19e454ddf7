using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Orchestrations.Tasks;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Shared.Notifications;

/// <summary>How a stage stands in a task's live message.</summary>
public enum StageState
{
    /// <summary>Not reached yet.</summary>
    Pending,

    /// <summary>Its agent runs, its gate is checked or it waits for CI.</summary>
    Running,

    /// <summary>It passed; the pipeline waits for a person at the approval gate.</summary>
    AwaitingApproval,

    /// <summary>It passed (its gate, and CI where required).</summary>
    Passed,

    /// <summary>A later gate sent the work back (review requested changes, tests failed) and it has not passed since.</summary>
    Rejected,

    /// <summary>The task failed in this stage.</summary>
    Failed,

    /// <summary>It will not run: a person merged the PR first, or the task was cancelled.</summary>
    Skipped,
}

/// <summary>One stage of the role pipeline as the live message shows it (every run of the stage summed).</summary>
/// <param name="Stage">Stage name.</param>
/// <param name="State">Where it stands.</param>
/// <param name="Agent">The agent of its latest run, or <c>null</c> before any run.</param>
/// <param name="Model">The model of its latest run (full name as reported), or <c>null</c>.</param>
/// <param name="Runs">How many agent runs it had.</param>
/// <param name="Duration">Agent wall-clock time of its finished runs, or <c>null</c>.</param>
/// <param name="TokensIn">Input tokens of its runs, or <c>null</c> when none reported.</param>
/// <param name="TokensOut">Output tokens, or <c>null</c>.</param>
/// <param name="CostUsd">Cost in USD, or <c>null</c>.</param>
/// <param name="RunningSince">Start of the run in progress, or <c>null</c>.</param>
public sealed record StageLine(
    string Stage,
    StageState State,
    string? Agent,
    string? Model,
    int Runs,
    TimeSpan? Duration,
    long? TokensIn,
    long? TokensOut,
    decimal? CostUsd,
    DateTimeOffset? RunningSince);

/// <summary>A link worth showing: a label and an absolute URL.</summary>
/// <param name="Label">Text, e.g. <c>#12</c>.</param>
/// <param name="Url">Absolute http(s) URL.</param>
public sealed record NotificationLink(string Label, string Url);

/// <summary>
/// Everything a chat message about a task shows, made from the task's states only (no clock: a message rendered twice
/// from the same states is the same text, so an unchanged task costs no call). Built by <see cref="From"/>.
/// </summary>
/// <param name="TaskId">Task instance id.</param>
/// <param name="Key"><c>PREFIX-N</c> (or the instance id before the key is known).</param>
/// <param name="Title">Title.</param>
/// <param name="Status">The status users see (overlays applied).</param>
/// <param name="AgentsStatus">The role pipeline's status (<c>DEVELOPMENT</c>, <c>WAITING_APPROVAL</c>, …), or <c>null</c> in mode dispatch.</param>
/// <param name="TrackerName"><c>Plane</c> or <c>Asana</c>.</param>
/// <param name="ForgeName"><c>GitHub</c> or <c>Gitea</c>.</param>
/// <param name="TrackerUrl">Tracker permalink, or <c>null</c>.</param>
/// <param name="Issue">The forge issue, or <c>null</c>.</param>
/// <param name="PullRequest">The pull request, or <c>null</c>.</param>
/// <param name="CiRun">The CI run that decided, or <c>null</c>.</param>
/// <param name="Stages">The role pipeline's stages in order (empty in mode dispatch).</param>
/// <param name="ApprovalTime">Time people took at the approval gate (finished waits).</param>
/// <param name="AwaitingApprovalSince">Start of the wait in progress at the approval gate, or <c>null</c>.</param>
/// <param name="FailureReason">Why it failed, while failed.</param>
/// <param name="CreatedAt">When the task was received.</param>
/// <param name="StartedAt">When the role pipeline started (else <paramref name="CreatedAt"/>).</param>
/// <param name="FinishedAt">When it reached a final status (deployed, failed, cancelled), or <c>null</c>.</param>
/// <param name="DeployedAt">When it reached <c>DEPLOYED</c>, or <c>null</c>.</param>
public sealed record TaskSnapshot(
    string TaskId,
    string Key,
    string Title,
    string Status,
    string? AgentsStatus,
    string TrackerName,
    string ForgeName,
    string? TrackerUrl,
    NotificationLink? Issue,
    NotificationLink? PullRequest,
    NotificationLink? CiRun,
    IReadOnlyList<StageLine> Stages,
    TimeSpan ApprovalTime,
    DateTimeOffset? AwaitingApprovalSince,
    string? FailureReason,
    DateTimeOffset CreatedAt,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? DeployedAt)
{
    /// <summary>Whether the task reached a final status (the live message then shows its final block).</summary>
    public bool IsFinished => FinishedAt is not null;

    /// <summary>Agent time: every finished run's duration.</summary>
    public TimeSpan AgentTime => Stages.Aggregate(TimeSpan.Zero, (sum, s) => sum + (s.Duration ?? TimeSpan.Zero));

    /// <summary>Tokens in over every stage, or <c>null</c> when none were reported.</summary>
    public long? TokensIn => Sum(Stages.Select(s => s.TokensIn));

    /// <summary>Tokens out over every stage, or <c>null</c>.</summary>
    public long? TokensOut => Sum(Stages.Select(s => s.TokensOut));

    /// <summary>Cost over every stage, or <c>null</c> when none was reported.</summary>
    public decimal? CostUsd => Stages.Any(s => s.CostUsd is not null) ? Stages.Sum(s => s.CostUsd ?? 0m) : null;

    /// <summary>
    /// Builds the snapshot of a task from its states (and the model of each stage's latest run, which only
    /// <c>agent_runs</c> knows).
    /// </summary>
    /// <param name="task">The task pipeline's state.</param>
    /// <param name="row">Its read-model row (links, key), or <c>null</c> before the first step committed one.</param>
    /// <param name="roles">The role pipeline's state (mode run), or <c>null</c>.</param>
    /// <param name="models">Model of the latest run per stage (stage → model), possibly empty.</param>
    /// <returns>The snapshot.</returns>
    public static TaskSnapshot From(TaskState task, TaskRow? row, RolePipelineState? roles, IReadOnlyDictionary<string, string> models)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(models);
        var status = row?.Status ?? TaskPipelineOrchestration.CustomStatusFor(task);
        var created = row?.CreatedAt ?? task.ReceivedAt;
        var finished = task.Status switch
        {
            TaskStatus.DEPLOYED => task.DeployedAt,
            TaskStatus.FAILED or TaskStatus.CANCELLED => roles?.FinishedAt ?? row?.UpdatedAt,
            _ => null,
        };
        var (approvalTime, waitingSince) = roles is null ? (TimeSpan.Zero, (DateTimeOffset?)null) : ApprovalWaits(roles);
        var ciUrl = task.CiUrl ?? roles?.CiUrl;
        return new TaskSnapshot(
            task.InstanceId,
            task.TaskKey ?? row?.TaskKey ?? task.InstanceId,
            task.Title ?? task.Item.Name ?? row?.Title ?? "(untitled)",
            status,
            roles is null ? null : RolePipelineOrchestration.CustomStatusOf(roles),
            task.Project.TrackerName,
            task.Project.ForgeName,
            task.Item.Url ?? row?.TrackerUrl,
            task.IssueUrl is { } issue ? new NotificationLink(task.IssueNumber is { } n ? $"#{n}" : "issue", issue) : null,
            (task.PrUrl ?? roles?.PrUrl) is { } pr ? new NotificationLink((task.PrNumber ?? roles?.PrNumber) is { } p ? $"#{p}" : "PR", pr) : null,
            ciUrl is null ? null : new NotificationLink("CI run", ciUrl),
            roles is null ? [] : Lines(roles, models),
            approvalTime,
            waitingSince,
            task.Status == TaskStatus.FAILED ? task.FailureReason ?? roles?.FailureReason : null,
            created,
            roles?.StartedAt ?? created,
            finished,
            task.Status == TaskStatus.DEPLOYED ? task.DeployedAt : null);
    }

    private static List<StageLine> Lines(RolePipelineState s, IReadOnlyDictionary<string, string> models)
    {
        var lines = new List<StageLine>();
        var current = s.Stage;
        var currentIndex = s.Definition.Stages.ToList().FindIndex(x => x.Name == current);
        for (var i = 0; i < s.Definition.Stages.Count; i++)
        {
            var stage = s.Definition.Stages[i].Name;
            var runs = s.Runs.Where(r => r.Stage == stage).ToList();
            var last = runs.LastOrDefault();
            var gates = s.Gates.Where(g => g.Stage == stage).ToList();
            var lastGate = gates.LastOrDefault();
            var passedSinceLastRun = lastGate is { Outcome: GateOutcome.Passed } && (last is null || lastGate.Execution >= last.Execution);
            var state = (stage == current, s.Phase) switch
            {
                (true, PipelinePhase.RunningAgent or PipelinePhase.CheckingGate or PipelinePhase.WaitingCi) => StageState.Running,
                (true, PipelinePhase.WaitingApproval) => StageState.AwaitingApproval,
                (true, PipelinePhase.Failed) => StageState.Failed,
                (true, PipelinePhase.Cancelled or PipelinePhase.TakenOver) => passedSinceLastRun ? StageState.Passed : StageState.Skipped,
                _ when passedSinceLastRun => StageState.Passed,
                _ when lastGate is { Outcome: GateOutcome.Rejected } => StageState.Rejected,
                _ when lastGate is { Outcome: GateOutcome.Failed } => StageState.Failed,
                _ when s.Phase is PipelinePhase.Cancelled or PipelinePhase.TakenOver && (currentIndex < 0 || i > currentIndex) => StageState.Skipped,
                _ => StageState.Pending,
            };
            var finished = runs.Where(r => r.Duration is not null).ToList();
            lines.Add(new StageLine(
                stage,
                state,
                last?.Agent,
                models.GetValueOrDefault(stage),
                runs.Count,
                finished.Count == 0 ? null : finished.Aggregate(TimeSpan.Zero, (sum, r) => sum + r.Duration!.Value),
                Sum(runs.Select(r => r.TokensIn)),
                Sum(runs.Select(r => r.TokensOut)),
                runs.Any(r => r.CostUsd is not null) ? runs.Sum(r => r.CostUsd ?? 0m) : null,
                state == StageState.Running && last is { FinishedAt: null } ? last.StartedAt : null));
        }

        return lines;
    }

    /// <summary>
    /// Time at the approval gate: each wait starts when the gated stage passed (its last passing gate result of that
    /// execution) and ends when the next stage started, or when the task stopped there (rejected, cancelled).
    /// </summary>
    private static (TimeSpan Finished, DateTimeOffset? WaitingSince) ApprovalWaits(RolePipelineState s)
    {
        if (s.Definition.Approval is not { } approval)
        {
            return (TimeSpan.Zero, null);
        }

        var total = TimeSpan.Zero;
        DateTimeOffset? waiting = null;
        var passes = s.Gates.Where(g => g.Stage == approval.AfterStage && g.Outcome == GateOutcome.Passed)
            .GroupBy(g => g.Execution).Select(g => g.Last()).ToList();
        foreach (var pass in passes)
        {
            var next = s.Runs.FirstOrDefault(r => r.Execution > pass.Execution);
            if (next is not null)
            {
                total += next.StartedAt - pass.CheckedAt;
            }
            else if (s.Phase == PipelinePhase.WaitingApproval && pass.Execution == s.Execution)
            {
                waiting = pass.CheckedAt;
            }
            else if (s.FinishedAt is { } end && end >= pass.CheckedAt)
            {
                total += end - pass.CheckedAt;
            }
        }

        return (total, waiting);
    }

    private static long? Sum(IEnumerable<long?> values)
    {
        long? total = null;
        foreach (var v in values)
        {
            if (v is { } x)
            {
                total = (total ?? 0) + x;
            }
        }

        return total;
    }
}

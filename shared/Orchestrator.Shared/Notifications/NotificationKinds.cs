namespace Orchestrator.Shared.Notifications;

/// <summary>
/// What a chat can be told about a task, whatever the chat platform: the one live message per task, and the alerts (each a
/// separate message that notifies, because a person is needed or something broke). A project picks the kinds it wants.
/// </summary>
public static class NotificationKinds
{
    /// <summary>The live tracker message: one per task, edited in place on every stage transition (silent).</summary>
    public const string Live = "live";

    /// <summary>Alert: the pipeline waits at the human approval gate (with Approve / Reject).</summary>
    public const string Approval = "approval";

    /// <summary>Alert: an agent run failed (the task failed with it).</summary>
    public const string AgentFailed = "agent_failed";

    /// <summary>Alert: CI (the deploy) failed on the merge commit, or did not finish in time.</summary>
    public const string CiFailed = "ci_failed";

    /// <summary>Alert: the task's or the project's budget is spent; no new agent run starts.</summary>
    public const string BudgetExceeded = "budget_exceeded";

    /// <summary>Alert: the task failed for another reason (a gate, the TaskSpec, the issue, the round limit).</summary>
    public const string TaskFailed = "task_failed";

    /// <summary>Alert: the bot lost access to the chat or its topic (removed, topic closed).</summary>
    public const string AccessLost = "access_lost";

    /// <summary>Every kind, in the order the settings screen lists them.</summary>
    public static readonly IReadOnlyList<string> All = [Live, Approval, AgentFailed, CiFailed, BudgetExceeded, TaskFailed, AccessLost];

    /// <summary>The alert kinds (all but <see cref="Live"/>).</summary>
    public static readonly IReadOnlyList<string> Alerts = [Approval, AgentFailed, CiFailed, BudgetExceeded, TaskFailed, AccessLost];

    /// <summary>A short description of a kind for people (settings screen, README).</summary>
    /// <param name="kind">A kind.</param>
    /// <returns>The words.</returns>
    public static string Describe(string kind) => kind switch
    {
        Live => "the live message of every task (edited in place, silent)",
        Approval => "approval needed (with Approve / Reject buttons)",
        AgentFailed => "an agent failed",
        CiFailed => "deploy or CI failed after merge",
        BudgetExceeded => "budget exceeded",
        TaskFailed => "a task failed (other reasons)",
        AccessLost => "the bot lost access to the chat or topic",
        _ => kind,
    };
}

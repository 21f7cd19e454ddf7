using System.Text.Json.Serialization;

namespace Orchestrator.Shared.ReadModel;

/// <summary>An amount of money with its currency named (agent costs are reported by the agents in US dollars).</summary>
/// <param name="Amount">The amount.</param>
/// <param name="Currency">ISO 4217 code, <c>USD</c>.</param>
public sealed record Money(
    [property: JsonPropertyName("amount")] decimal Amount,
    [property: JsonPropertyName("currency")] string Currency)
{
    /// <summary>The currency of every agent cost.</summary>
    public const string Usd = "USD";

    /// <summary>An amount in US dollars.</summary>
    /// <param name="amount">The amount.</param>
    /// <returns>The money.</returns>
    public static Money InUsd(decimal amount) => new(amount, Usd);
}

/// <summary>Agent runs summed: cost, how many, tokens.</summary>
/// <param name="Cost">Cost in USD (runs that reported none count 0).</param>
/// <param name="Runs">Finished agent runs.</param>
/// <param name="TokensIn">Input tokens.</param>
/// <param name="TokensOut">Output tokens.</param>
public sealed record CostTotals(
    [property: JsonPropertyName("cost")] Money Cost,
    [property: JsonPropertyName("runs")] long Runs,
    [property: JsonPropertyName("tokens_in")] long TokensIn,
    [property: JsonPropertyName("tokens_out")] long TokensOut);

/// <summary>A project's tasks now, by step (overlays counted under their step, and on their own).</summary>
/// <param name="Total">Every task of the project.</param>
/// <param name="ByStatus">Tasks per pipeline step (every step named, 0 included).</param>
/// <param name="Blocked">Tasks the tracker marks blocked (the <c>BLOCKED</c> overlay).</param>
/// <param name="AutoDisabled">Tasks with AutoTask turned off (the <c>AUTO_DISABLED</c> overlay).</param>
public sealed record TaskCounts(
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("by_status")] IReadOnlyDictionary<string, long> ByStatus,
    [property: JsonPropertyName("blocked")] long Blocked,
    [property: JsonPropertyName("auto_disabled")] long AutoDisabled);

/// <summary><c>GET /api/v1/projects/{slug}/summary</c>.</summary>
/// <param name="Project">Project slug.</param>
/// <param name="From">Range start (inclusive).</param>
/// <param name="To">Range end (exclusive).</param>
/// <param name="Tasks">Tasks by status now (not limited to the range).</param>
/// <param name="Received">Tasks received (started) in the range.</param>
/// <param name="Deployed">Tasks that reached <c>DEPLOYED</c> in the range (each once).</param>
/// <param name="LeadTimeP50Seconds">Median RECEIVED → DEPLOYED of those, seconds; <c>null</c> when none.</param>
/// <param name="LeadTimeP90Seconds">90th percentile of the same.</param>
/// <param name="OpenFailures">Tasks in <c>FAILED</c> now.</param>
/// <param name="FailedInRange">Transitions into <c>FAILED</c> in the range.</param>
/// <param name="Cost">Agent runs that finished in the range.</param>
public sealed record ProjectSummary(
    [property: JsonPropertyName("project")] string Project,
    [property: JsonPropertyName("from")] DateTimeOffset From,
    [property: JsonPropertyName("to")] DateTimeOffset To,
    [property: JsonPropertyName("tasks")] TaskCounts Tasks,
    [property: JsonPropertyName("received")] long Received,
    [property: JsonPropertyName("deployed")] long Deployed,
    [property: JsonPropertyName("lead_time_p50_seconds")] double? LeadTimeP50Seconds,
    [property: JsonPropertyName("lead_time_p90_seconds")] double? LeadTimeP90Seconds,
    [property: JsonPropertyName("open_failures")] long OpenFailures,
    [property: JsonPropertyName("failed_in_range")] long FailedInRange,
    [property: JsonPropertyName("cost")] CostTotals Cost);

/// <summary>One step of the funnel.</summary>
/// <param name="Step"><c>autotask</c>, <c>issue</c>, <c>pr</c>, <c>merged</c>, <c>ci_success</c>, <c>deployed</c>.</param>
/// <param name="Label">Human label.</param>
/// <param name="Count">Tasks of the cohort that reached this step (or a later one) by now.</param>
/// <param name="ConversionToNext">The next step's count divided by this one's (0–1); <c>null</c> for the last step or an empty step.</param>
public sealed record FunnelStep(
    [property: JsonPropertyName("step")] string Step,
    [property: JsonPropertyName("label")] string Label,
    [property: JsonPropertyName("count")] long Count,
    [property: JsonPropertyName("conversion_to_next")] double? ConversionToNext);

/// <summary><c>GET /api/v1/projects/{slug}/funnel</c>: the tasks received in the range and how far each got.</summary>
/// <param name="Project">Project slug.</param>
/// <param name="From">Range start.</param>
/// <param name="To">Range end.</param>
/// <param name="Steps">AutoTask → issue → PR → merged → CI success → DEPLOYED.</param>
public sealed record FunnelReport(
    [property: JsonPropertyName("project")] string Project,
    [property: JsonPropertyName("from")] DateTimeOffset From,
    [property: JsonPropertyName("to")] DateTimeOffset To,
    [property: JsonPropertyName("steps")] IReadOnlyList<FunnelStep> Steps);

/// <summary>The lead time of one stage.</summary>
/// <param name="Stage"><c>received_to_issue</c>, <c>issue_to_pr</c>, <c>pr_to_merge</c>, <c>merge_to_ci</c>.</param>
/// <param name="Label">Human label.</param>
/// <param name="Stats">Its durations over the deployed tasks that went through it.</param>
public sealed record StageLeadTime(
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("label")] string Label,
    [property: JsonPropertyName("stats")] DurationStats Stats);

/// <summary>Lead times of the tasks deployed in one UTC week (Monday 00:00).</summary>
/// <param name="WeekStart">Monday 00:00 UTC.</param>
/// <param name="Deployed">Tasks deployed that week (within the range).</param>
/// <param name="P50Seconds">Median lead time, or <c>null</c>.</param>
/// <param name="P90Seconds">90th percentile.</param>
/// <param name="MeanSeconds">Mean.</param>
public sealed record WeekLeadTime(
    [property: JsonPropertyName("week_start")] DateTimeOffset WeekStart,
    [property: JsonPropertyName("deployed")] long Deployed,
    [property: JsonPropertyName("p50_seconds")] double? P50Seconds,
    [property: JsonPropertyName("p90_seconds")] double? P90Seconds,
    [property: JsonPropertyName("mean_seconds")] double? MeanSeconds);

/// <summary><c>GET /api/v1/projects/{slug}/lead-time</c>: RECEIVED → DEPLOYED of the tasks deployed in the range.</summary>
/// <param name="Project">Project slug.</param>
/// <param name="From">Range start.</param>
/// <param name="To">Range end.</param>
/// <param name="Total">RECEIVED → DEPLOYED.</param>
/// <param name="Histogram">Its distribution (fixed buckets from under an hour to 30 days and more).</param>
/// <param name="Stages">Per stage: received → issue, issue → PR, PR → merge, merge → CI done.</param>
/// <param name="Weeks">Per UTC week of the deploy, every week of the range.</param>
public sealed record LeadTimeReport(
    [property: JsonPropertyName("project")] string Project,
    [property: JsonPropertyName("from")] DateTimeOffset From,
    [property: JsonPropertyName("to")] DateTimeOffset To,
    [property: JsonPropertyName("total")] DurationStats Total,
    [property: JsonPropertyName("histogram")] IReadOnlyList<HistogramBucket> Histogram,
    [property: JsonPropertyName("stages")] IReadOnlyList<StageLeadTime> Stages,
    [property: JsonPropertyName("weeks")] IReadOnlyList<WeekLeadTime> Weeks);

/// <summary>A task that failed, as an example of its category.</summary>
/// <param name="TaskId">Instance id.</param>
/// <param name="TaskKey"><c>PREFIX-N</c>, when known.</param>
/// <param name="Title">Title.</param>
/// <param name="Reason">The failure reason (clipped to 300 characters).</param>
/// <param name="At">When it failed.</param>
public sealed record FailureExample(
    [property: JsonPropertyName("task_id")] string TaskId,
    [property: JsonPropertyName("task_key")] string? TaskKey,
    [property: JsonPropertyName("title")] string? Title,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("at")] DateTimeOffset At);

/// <summary>One failure category.</summary>
/// <param name="Category">One of <see cref="FailureCategories"/>.</param>
/// <param name="Label">Human label.</param>
/// <param name="Count">Transitions into <c>FAILED</c> in the range with this category.</param>
/// <param name="Tasks">Distinct tasks among them.</param>
/// <param name="Examples">The newest few.</param>
public sealed record FailureCategory(
    [property: JsonPropertyName("category")] string Category,
    [property: JsonPropertyName("label")] string Label,
    [property: JsonPropertyName("count")] long Count,
    [property: JsonPropertyName("tasks")] long Tasks,
    [property: JsonPropertyName("examples")] IReadOnlyList<FailureExample> Examples);

/// <summary><c>GET /api/v1/projects/{slug}/failures</c>.</summary>
/// <param name="Project">Project slug.</param>
/// <param name="From">Range start.</param>
/// <param name="To">Range end.</param>
/// <param name="Total">Transitions into <c>FAILED</c> in the range.</param>
/// <param name="Categories">Every category with at least one failure, most frequent first.</param>
/// <param name="Truncated">More than <see cref="AnalyticsQueries.MaxFailures"/> failures: only the newest were classified.</param>
public sealed record FailureReport(
    [property: JsonPropertyName("project")] string Project,
    [property: JsonPropertyName("from")] DateTimeOffset From,
    [property: JsonPropertyName("to")] DateTimeOffset To,
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("categories")] IReadOnlyList<FailureCategory> Categories,
    [property: JsonPropertyName("truncated")] bool Truncated);

/// <summary>Cost of one stage.</summary>
/// <param name="Stage">Role pipeline stage.</param>
/// <param name="Totals">Its runs.</param>
public sealed record CostByStage(
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("totals")] CostTotals Totals);

/// <summary>Cost of one agent.</summary>
/// <param name="Agent">Agent name (<c>ORCH_AGENTS_JSON</c>).</param>
/// <param name="Vendor">Its kind: <c>ClaudeCode</c>, <c>Codex</c>, <c>OpenCode</c>, <c>Generic</c>.</param>
/// <param name="Totals">Its runs.</param>
public sealed record CostByAgent(
    [property: JsonPropertyName("agent")] string Agent,
    [property: JsonPropertyName("vendor")] string Vendor,
    [property: JsonPropertyName("totals")] CostTotals Totals);

/// <summary>Cost of one model.</summary>
/// <param name="Model">Model name as the agent reported it, or <c>(unknown)</c>.</param>
/// <param name="Totals">Its runs.</param>
public sealed record CostByModel(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("totals")] CostTotals Totals);

/// <summary>Cost of one task.</summary>
/// <param name="TaskId">Instance id.</param>
/// <param name="TaskKey"><c>PREFIX-N</c>.</param>
/// <param name="Title">Title.</param>
/// <param name="Totals">Its runs.</param>
public sealed record CostByTask(
    [property: JsonPropertyName("task_id")] string TaskId,
    [property: JsonPropertyName("task_key")] string? TaskKey,
    [property: JsonPropertyName("title")] string? Title,
    [property: JsonPropertyName("totals")] CostTotals Totals);

/// <summary>Cost of one UTC week (Monday 00:00).</summary>
/// <param name="WeekStart">Monday 00:00 UTC.</param>
/// <param name="Totals">Runs finished that week.</param>
public sealed record CostByWeek(
    [property: JsonPropertyName("week_start")] DateTimeOffset WeekStart,
    [property: JsonPropertyName("totals")] CostTotals Totals);

/// <summary><c>GET /api/v1/projects/{slug}/cost</c>: agent runs finished in the range, summed.</summary>
/// <param name="Project">Project slug.</param>
/// <param name="From">Range start.</param>
/// <param name="To">Range end.</param>
/// <param name="Total">Everything.</param>
/// <param name="ByStage">Per stage, costliest first.</param>
/// <param name="ByAgent">Per agent and vendor, costliest first.</param>
/// <param name="ByModel">Per model, costliest first.</param>
/// <param name="ByTask">Per task, the <see cref="AnalyticsQueries.MaxCostTasks"/> costliest.</param>
/// <param name="Tasks">Tasks with at least one run in the range.</param>
/// <param name="Weeks">Per UTC week, every week of the range.</param>
public sealed record CostReport(
    [property: JsonPropertyName("project")] string Project,
    [property: JsonPropertyName("from")] DateTimeOffset From,
    [property: JsonPropertyName("to")] DateTimeOffset To,
    [property: JsonPropertyName("total")] CostTotals Total,
    [property: JsonPropertyName("by_stage")] IReadOnlyList<CostByStage> ByStage,
    [property: JsonPropertyName("by_agent")] IReadOnlyList<CostByAgent> ByAgent,
    [property: JsonPropertyName("by_model")] IReadOnlyList<CostByModel> ByModel,
    [property: JsonPropertyName("by_task")] IReadOnlyList<CostByTask> ByTask,
    [property: JsonPropertyName("tasks")] long Tasks,
    [property: JsonPropertyName("weeks")] IReadOnlyList<CostByWeek> Weeks);

/// <summary>Webhook counts of a source in one hour or day.</summary>
/// <param name="Start">Start of the hour or UTC day.</param>
/// <param name="Accepted">Deliveries stored.</param>
/// <param name="Duplicate">Deliveries already stored.</param>
/// <param name="RefusedSignature">Missing or wrong signatures (401) and stray Asana handshakes (403).</param>
/// <param name="Failed">Malformed, too large, busy (429) or our errors (5xx).</param>
public sealed record WebhookBucket(
    [property: JsonPropertyName("start")] DateTimeOffset Start,
    [property: JsonPropertyName("accepted")] long Accepted,
    [property: JsonPropertyName("duplicate")] long Duplicate,
    [property: JsonPropertyName("refused_signature")] long RefusedSignature,
    [property: JsonPropertyName("failed")] long Failed);

/// <summary>The webhooks of one source of a project.</summary>
/// <param name="Source"><c>plane</c>, <c>asana</c>, <c>github</c> or <c>gitea</c>.</param>
/// <param name="Role"><c>tracker</c> or <c>forge</c>.</param>
/// <param name="LastDeliveryAt">The newest delivery stored from it for the project, ever; <c>null</c> when none.</param>
/// <param name="Totals">The range's counts (<see cref="WebhookBucket.Start"/> = the range start).</param>
/// <param name="Hourly">Hours of the range with any count, oldest first.</param>
/// <param name="Daily">UTC days of the range with any count, oldest first.</param>
public sealed record WebhookSourceHealth(
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("last_delivery_at")] DateTimeOffset? LastDeliveryAt,
    [property: JsonPropertyName("totals")] WebhookBucket Totals,
    [property: JsonPropertyName("hourly")] IReadOnlyList<WebhookBucket> Hourly,
    [property: JsonPropertyName("daily")] IReadOnlyList<WebhookBucket> Daily);

/// <summary><c>GET /api/v1/projects/{slug}/webhooks/health</c>.</summary>
/// <param name="Project">Project slug.</param>
/// <param name="From">Range start (aligned down to the hour).</param>
/// <param name="To">Range end.</param>
/// <param name="Sources">The project's tracker, then its forge.</param>
public sealed record WebhooksHealthReport(
    [property: JsonPropertyName("project")] string Project,
    [property: JsonPropertyName("from")] DateTimeOffset From,
    [property: JsonPropertyName("to")] DateTimeOffset To,
    [property: JsonPropertyName("sources")] IReadOnlyList<WebhookSourceHealth> Sources);

/// <summary>Open work items of one kind.</summary>
/// <param name="Kind"><c>activity</c>, <c>timer</c> or <c>event</c>.</param>
/// <param name="Pending">Waiting (due or not).</param>
/// <param name="Due">Pending and due now: the queue depth.</param>
/// <param name="Running">Claimed by a worker.</param>
/// <param name="Dead">Failed for good (used their last attempt), not yet purged.</param>
public sealed record WorkKindCounts(
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("pending")] long Pending,
    [property: JsonPropertyName("due")] long Due,
    [property: JsonPropertyName("running")] long Running,
    [property: JsonPropertyName("dead")] long Dead);

/// <summary>A work item that failed for good.</summary>
/// <param name="Id">Work item id.</param>
/// <param name="Kind">Kind.</param>
/// <param name="Name">Activity, timer or event name.</param>
/// <param name="InstanceId">The instance it was for.</param>
/// <param name="Attempts">Attempts used.</param>
/// <param name="Error">The last error (clipped to 300 characters).</param>
/// <param name="FailedAt">When.</param>
public sealed record DeadWork(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("instance_id")] string? InstanceId,
    [property: JsonPropertyName("attempts")] int Attempts,
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("failed_at")] DateTimeOffset FailedAt);

/// <summary>An agent run in progress.</summary>
/// <param name="RunId"><c>agent_runs</c> id.</param>
/// <param name="TaskId">The task it works for.</param>
/// <param name="Agent">Agent name.</param>
/// <param name="Stage">Stage.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="RunningSeconds">How long it has run, seconds.</param>
public sealed record RunningAgentRun(
    [property: JsonPropertyName("run_id")] long RunId,
    [property: JsonPropertyName("task_id")] string? TaskId,
    [property: JsonPropertyName("agent")] string Agent,
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("started_at")] DateTimeOffset StartedAt,
    [property: JsonPropertyName("running_seconds")] double RunningSeconds);

/// <summary><c>GET /api/v1/projects/{slug}/jobs/health</c>: the queue work of the project's tasks (and their role pipelines).</summary>
/// <param name="Project">Project slug.</param>
/// <param name="At">When it was measured.</param>
/// <param name="QueueDepth">Pending work due now.</param>
/// <param name="OldestPendingAgeSeconds">How long the oldest due item has waited past its due time, seconds; <c>null</c> when none is due.</param>
/// <param name="Retrying">Pending items that failed before and wait for another attempt.</param>
/// <param name="Running">Items being processed.</param>
/// <param name="Dead">Items that failed for good (until purged).</param>
/// <param name="ByKind">The same per kind.</param>
/// <param name="DeadWork">The newest dead items (at most 20).</param>
/// <param name="RunningAgents">Agent runs in progress.</param>
public sealed record JobsHealthReport(
    [property: JsonPropertyName("project")] string Project,
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("queue_depth")] long QueueDepth,
    [property: JsonPropertyName("oldest_pending_age_seconds")] double? OldestPendingAgeSeconds,
    [property: JsonPropertyName("retrying")] long Retrying,
    [property: JsonPropertyName("running")] long Running,
    [property: JsonPropertyName("dead")] long Dead,
    [property: JsonPropertyName("by_kind")] IReadOnlyList<WorkKindCounts> ByKind,
    [property: JsonPropertyName("dead_work")] IReadOnlyList<DeadWork> DeadWork,
    [property: JsonPropertyName("running_agents")] IReadOnlyList<RunningAgentRun> RunningAgents);

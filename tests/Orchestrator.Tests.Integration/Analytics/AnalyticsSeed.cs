using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Shared.ReadModel;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Tests.Integration.Analytics;

/// <summary>
/// A read model with exactly known analytics (project <c>shop</c>, range [T0, T0 + 10 days), T0 = Monday 2026-01-05 UTC),
/// written as the projection writes it (<see cref="ReadModelWriter"/>): seven tasks with their events, agent runs and
/// queue rows, plus a task and runs of project <c>other</c> that must never count. Every expected figure of the tests is
/// derived in the comments here.
/// </summary>
internal static class AnalyticsSeed
{
    public const string Project = "shop";
    public static readonly DateTimeOffset T0 = new(2026, 1, 5, 0, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset From = T0;
    public static readonly DateTimeOffset To = T0.AddDays(10);

    // Deployed in range: A (lead 9,000 s), B (8,400 s), E (received before the range, 9 days = 777,600 s).
    public const double LeadA = 9_000, LeadB = 8_400, LeadE = 777_600;

    public static TaskRow Row(string id, string project, string step, DateTimeOffset created, DateTimeOffset? deployed = null) => new(
        id, project, id.ToUpperInvariant(), $"Task {id}", step, step, false, false, "plane", "proj", "wi-" + id, null, "github", "acme/shop",
        null, null, null, null, null, null, null, null, null, created, created.AddDays(1), deployed);

    public static async Task<TestDatabase> SeedAsync()
    {
        var db = await TestDatabase.CreateAsync();
        await using var batch = db.DataSource.CreateBatch();
        void Event(string task, string type, DateTimeOffset at, params (string Key, object Value)[] summary) =>
            batch.BatchCommands.Add(ReadModelWriter.Append(new TaskEventRecord(task, task == "x1" ? "other" : Project, "system", type, null,
                summary.ToDictionary(s => s.Key, s => s.Value), null, at)));
        void Status(string task, DateTimeOffset at, string? from, string to, string reason, string? stepFrom = null, string? stepTo = null)
        {
            var fields = new List<(string, object)> { ("to", to), ("reason", reason) };
            if (from is not null)
            {
                fields.Add(("from", from));
            }

            if (stepFrom is not null)
            {
                fields.Add(("step_from", stepFrom));
            }

            if (stepTo is not null)
            {
                fields.Add(("step_to", stepTo));
            }

            Event(task, TaskEventTypes.StatusChanged, at, [.. fields]);
        }

        // A: received T0+1h; issue +600 s, PR +3,600 s, merged +7,200 s, CI passed and DEPLOYED +9,000 s (lead 9,000 s;
        // stages 600 / 3,000 / 3,600 / 1,800). CI red after the deploy at T0+6d (ci_red), retried, deployed again at T0+7d
        // (not counted twice).
        var a = T0.AddHours(1);
        batch.BatchCommands.Add(ReadModelWriter.Upsert(Row("a", Project, "DEPLOYED", a, T0.AddDays(7))));
        Status("a", a, null, "RECEIVED", "received from Plane");
        Event("a", TaskEventTypes.IssueCreated, a.AddSeconds(600), ("number", 1));
        Status("a", a.AddSeconds(600), "RECEIVED", "ISSUE_CREATED", "GitHub issue #1 created");
        Event("a", TaskEventTypes.PrLinked, a.AddSeconds(3_600), ("number", 2));
        Event("a", TaskEventTypes.PrMerged, a.AddSeconds(7_200), ("number", 2), ("sha", "aaa"));
        Event("a", TaskEventTypes.CiUpdated, a.AddSeconds(9_000), ("sha", "aaa"), ("result", "success"));
        Status("a", a.AddSeconds(9_000), "WAITING_CI", "DEPLOYED", "CI passed");
        Status("a", T0.AddDays(6), "DEPLOYED", "FAILED", "CI failed on aaa after the deploy (workflow_run: failure)");
        Status("a", T0.AddDays(7), "FAILED", "DEPLOYED", "CI passed");

        // B: received T0+1d; issue +1,200 s, PR +4,800 s, merged and DEPLOYED +8,400 s without CI (lead 8,400 s; stages
        // 1,200 / 3,600 / 3,600 / none).
        var b = T0.AddDays(1);
        batch.BatchCommands.Add(ReadModelWriter.Upsert(Row("b", Project, "DEPLOYED", b, b.AddSeconds(8_400))));
        Status("b", b, null, "RECEIVED", "received from Plane");
        Event("b", TaskEventTypes.IssueCreated, b.AddSeconds(1_200), ("number", 3));
        Event("b", TaskEventTypes.PrLinked, b.AddSeconds(4_800), ("number", 4));
        Event("b", TaskEventTypes.PrMerged, b.AddSeconds(8_400), ("number", 4), ("sha", "bbb"));
        Status("b", b.AddSeconds(8_400), "PR_CREATED", "DEPLOYED", "pull request #4 merged; CI not required");

        // C: received T0+2d, merged, CI red → FAILED (ci_red). Funnel: reached "merged".
        var c = T0.AddDays(2);
        batch.BatchCommands.Add(ReadModelWriter.Upsert(Row("c", Project, "FAILED", c)));
        Status("c", c, null, "RECEIVED", "received from Plane");
        Event("c", TaskEventTypes.IssueCreated, c.AddSeconds(60), ("number", 5));
        Event("c", TaskEventTypes.PrLinked, c.AddSeconds(120), ("number", 6));
        Event("c", TaskEventTypes.PrMerged, c.AddSeconds(180), ("number", 6), ("sha", "ccc"));
        Event("c", TaskEventTypes.CiUpdated, c.AddSeconds(240), ("sha", "ccc"), ("result", "failure"));
        Status("c", c.AddSeconds(240), "WAITING_CI", "FAILED", "CI failed on ccc (workflow_run: failure)");

        // D: received T0+3d; spec invalid, retried (RECEIVED again, with a "from": not a second arrival), then the tracker
        // read failed (tracker_api_error). Funnel: reached only "autotask".
        var d = T0.AddDays(3);
        batch.BatchCommands.Add(ReadModelWriter.Upsert(Row("d", Project, "FAILED", d)));
        Status("d", d, null, "RECEIVED", "received from Plane");
        Status("d", d.AddSeconds(30), "RECEIVED", "FAILED", "The work item has no description");
        Status("d", d.AddSeconds(100), "FAILED", "RECEIVED", "work item updated; rebuilding the TaskSpec");
        Status("d", d.AddSeconds(200), "RECEIVED", "FAILED", "PrepareTaskSpec failed after 6 attempt(s): Plane answered 503");

        // E: received T0-5d (before the range), deployed T0+4d (lead 777,600 s; stages 100 / 100 / 100 / 777,300).
        var e = T0.AddDays(-5);
        batch.BatchCommands.Add(ReadModelWriter.Upsert(Row("e", Project, "DEPLOYED", e, T0.AddDays(4))));
        Status("e", e, null, "RECEIVED", "received from Plane");
        Event("e", TaskEventTypes.IssueCreated, e.AddSeconds(100), ("number", 7));
        Event("e", TaskEventTypes.PrLinked, e.AddSeconds(200), ("number", 8));
        Event("e", TaskEventTypes.PrMerged, e.AddSeconds(300), ("number", 8), ("sha", "eee"));
        Event("e", TaskEventTypes.CiUpdated, T0.AddDays(4), ("sha", "eee"), ("result", "success"));
        Status("e", T0.AddDays(4), "WAITING_CI", "DEPLOYED", "CI passed");

        // F: received T0+5d, blocked (overlay), then the role pipeline spent its budget while blocked (budget_exceeded:
        // the transition names the step under the overlay). Funnel: reached "issue".
        var f = T0.AddDays(5);
        batch.BatchCommands.Add(ReadModelWriter.Upsert(Row("f", Project, "FAILED", f)));
        Status("f", f, null, "RECEIVED", "received from Plane");
        Event("f", TaskEventTypes.IssueCreated, f.AddSeconds(50), ("number", 9));
        Status("f", f.AddSeconds(50), "RECEIVED", "ISSUE_CREATED", "GitHub issue #9 created");
        Status("f", f.AddSeconds(70), "ISSUE_CREATED", "BLOCKED", "blocked in Plane", "ISSUE_CREATED", "ISSUE_CREATED");
        Status("f", f.AddSeconds(90), "BLOCKED", "FAILED", "Role pipeline FAILED: Failed: budget exceeded before review", "ISSUE_CREATED", "FAILED");

        // G: received after the range: in no figure of the range, but counted among the tasks by status.
        var g = T0.AddDays(11);
        batch.BatchCommands.Add(ReadModelWriter.Upsert(Row("g", Project, "RECEIVED", g)));
        Status("g", g, null, "RECEIVED", "received from Plane");

        // Another project's deployed task in the range: never counted.
        batch.BatchCommands.Add(ReadModelWriter.Upsert(Row("x1", "other", "DEPLOYED", T0.AddHours(2), T0.AddHours(3))));
        Status("x1", T0.AddHours(2), null, "RECEIVED", "received from Plane");
        Status("x1", T0.AddHours(3), "WAITING_CI", "DEPLOYED", "CI passed");
        await batch.ExecuteNonQueryAsync();

        // Agent runs: in range 1.50 + 0.25 (task a) + 2.00 (task f) = 3.75 USD, tokens 1,800 in / 350 out; one before the
        // range, one running, one of another project: none of them counts.
        await db.ExecuteAsync($"""
            INSERT INTO agent_runs (instance_id, project, stage, round, agent, kind, model, started_at, finished_at, tokens_in, tokens_out, cost_usd) VALUES
              ('roles-a', 'shop', 'development', 1, 'claude', 'ClaudeCode', 'claude-sonnet-4-5', '{T0.AddMinutes(30):O}', '{T0.AddHours(1):O}', 1000, 200, 1.50),
              ('roles-a', 'shop', 'review', 1, 'codex', 'Codex', 'gpt-5', '{T0.AddHours(1):O}', '{T0.AddHours(2):O}', 300, 50, 0.25),
              ('roles-f', 'shop', 'development', 1, 'claude', 'ClaudeCode', 'claude-sonnet-4-5', '{T0.AddDays(5):O}', '{T0.AddDays(5).AddHours(1):O}', 500, 100, 2.00),
              ('roles-a', 'shop', 'development', 1, 'claude', 'ClaudeCode', 'claude-sonnet-4-5', '{T0.AddDays(-2):O}', '{T0.AddDays(-1):O}', 9000, 900, 9.00),
              ('roles-x1', 'other', 'development', 1, 'claude', 'ClaudeCode', 'claude-sonnet-4-5', '{T0.AddHours(1):O}', '{T0.AddHours(2):O}', 5, 5, 7.00)
            """);
        await db.ExecuteAsync($"""
            INSERT INTO agent_runs (instance_id, project, stage, round, agent, kind, model, started_at) VALUES
              ('roles-f', 'shop', 'review', 1, 'claude', 'ClaudeCode', NULL, '{T0.AddDays(9):O}')
            """);
        return db;
    }

    /// <summary>
    /// Queue rows at <paramref name="now"/>: for task c one activity due 60 s ago on its second attempt (retrying) and one
    /// timer due in an hour; one running activity of f's role pipeline; one dead activity of d; a completed row (never
    /// counted) and a due row of the other project.
    /// </summary>
    public static Task SeedQueueAsync(TestDatabase db, DateTimeOffset now) => db.ExecuteAsync($"""
        INSERT INTO work_items (kind, instance_id, name, payload, unique_key, status, due_at, attempt, max_attempts, last_error, created_at, updated_at) VALUES
          ('activity', 'c', 'CheckCi', '{"{}"}', 'c|activity|1', 'pending', '{now.AddSeconds(-60):O}', 1, 6, 'GitHub answered 502', '{now.AddMinutes(-5):O}', '{now.AddSeconds(-60):O}'),
          ('timer', 'c', 'ci-poll', '{"{}"}', 'c|timer|1', 'pending', '{now.AddHours(1):O}', 0, 1, NULL, '{now:O}', '{now:O}'),
          ('activity', 'roles-f', 'RunStageAgent', '{"{}"}', 'roles-f|activity|1', 'running', '{now.AddMinutes(-2):O}', 1, 3, NULL, '{now:O}', '{now:O}'),
          ('activity', 'd', 'PrepareTaskSpec', '{"{}"}', 'd|activity|1', 'failed', '{now.AddHours(-1):O}', 6, 6, 'Plane answered 503 Service Unavailable', '{now.AddHours(-2):O}', '{now.AddMinutes(-30):O}'),
          ('activity', 'a', 'CompleteTrackerItem', '{"{}"}', 'a|activity|1', 'completed', '{now.AddHours(-3):O}', 1, 6, NULL, '{now:O}', '{now:O}'),
          ('activity', 'x1', 'CheckCi', '{"{}"}', 'x1|activity|1', 'pending', '{now.AddHours(-9):O}', 0, 6, NULL, '{now:O}', '{now:O}')
        """);
}

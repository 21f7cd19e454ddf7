using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Tests.Integration.ReadModel;

/// <summary>
/// Task instances as the engine stored them before migration 0007 (instances + history, written row by row from the
/// real decider's decisions), and the rows the read model's projection computes for them.
/// </summary>
public static class BackfillFixture
{
    public const string Deployed = "plane-a";
    public const string Blocked = "plane-b";
    public const string Legacy = "plane-c";
    public const string Retried = "plane-d";
    public const string Sha = "18cc785ed89e9653ea48823eb5320ab0b691d7da";

    private const string PrUrl = "https://github.test/acme/web/pull/8";
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 9, 0, 0, TimeSpan.Zero);
    private static readonly TaskProject Web = new("proj-1", "acme/web", "WEB", "/opencode implement", RequireCi: true, ProjectSlug: "web");

    // A task of a project from before projects had slugs, in a multi-repo project, waiting for a repository.
    private static readonly TaskProject LegacyProject = new("proj-legacy", "", "OLD", "/opencode implement", RequireCi: true, Repos: ["acme/web", "acme/api"], RepoFromTracker: true);

    public sealed record Seeded(IReadOnlyDictionary<string, TaskRow> Tasks);

    private static WorkItemSnapshot Item(string id, string? lifecycle = null) =>
        new(id, 42, $"Task {id}", "<p>Please add GET /healthz</p>", ["AutoTask"], "unstarted", Triggered: true, Lifecycle: lifecycle);

    public static async Task<Seeded> SeedAsync(TestDatabase db)
    {
        await db.ExecuteAsync("""
            INSERT INTO projects (slug, definition, created_at, updated_at)
            VALUES ('legacy', '{"slug": "legacy", "tracker": {"kind": "plane", "project_ids": ["proj-legacy"]}}', now(), now())
            """);
        var toIssue = new TaskEvent[] { new TaskSpecBuilt("WEB-42", "Task", "# TaskSpec", Item("x")), new IssueEnsured(7, "https://github.test/acme/web/issues/7", true) };
        var toWaiting = toIssue.Concat([new PullRequestLinked("acme/web", 8, PrUrl), new PullRequestMerged("acme/web", 8, PrUrl, Sha)]).ToArray();
        var tasks = new Dictionary<string, TaskRow>
        {
            [Deployed] = await RunAsync(db, Web, Item("a"),
                [.. toWaiting, new CiChecked(Sha, CiOutcome.Success, "3 of 3 completed", "https://github.test/runs/1"), new TrackerCompleted("Done")]),
            [Blocked] = await RunAsync(db, Web, Item("b", WorkItemLifecycle.Blocked), [.. toIssue, new PullRequestLinked("acme/web", 9, PrUrl)]),
            [Legacy] = (await RunAsync(db, LegacyProject, Item("c"), [new TaskSpecBuilt("OLD-1", "Task", "# TaskSpec", Item("c"))])) with { ProjectSlug = "legacy" },
            [Retried] = await RunAsync(db, Web, Item("d"),
                [.. toWaiting, new CiCompleted(Sha, "failure", "check_suite", "https://github.test/runs/2"), new RetryRequested()]),
        };

        // Neither a role pipeline nor a task whose start was not applied yet has a row.
        await db.ExecuteAsync("""
            INSERT INTO instances (id, orchestration, runtime_status, custom_status, state, version, created_at, updated_at, parent_id)
            VALUES ('roles-plane-a', 'RolePipeline', 'Running', 'ANALYSIS', '{}', 1, now(), now(), 'plane-a'),
                   ('plane-unstarted', 'TaskPipeline', 'Pending', '', NULL, 0, now(), now(), NULL)
            """);
        return new Seeded(tasks);
    }

    /// <summary>The back-fill part of migration 0007 (its two INSERT statements), to run it a second time.</summary>
    public static string BackfillSql()
    {
        using var stream = typeof(MigrationRunner).Assembly.GetManifestResourceStream("Migrations.0007_read_model.sql")!;
        using var reader = new StreamReader(stream);
        var sql = reader.ReadToEnd();
        return sql[sql.IndexOf("-- Back-fill", StringComparison.Ordinal)..];
    }

    /// <summary>Applies the start and <paramref name="events"/> as the engine did: one history row per step, the final state on the instance.</summary>
    private static async Task<TaskRow> RunAsync(TestDatabase db, TaskProject project, WorkItemSnapshot item, IReadOnlyList<TaskEvent> events)
    {
        var adapter = new OrchestrationAdapter<TaskState, TaskEvent>(new TaskPipelineOrchestration(new TaskPipelineSettings(TimeSpan.FromSeconds(30), TimeSpan.FromHours(2))));
        var id = TaskPipelineOrchestration.InstanceIdFor(item.WorkItemId);
        await using (var create = db.DataSource.CreateCommand("""
            INSERT INTO instances (id, orchestration, runtime_status, custom_status, state, version, created_at, updated_at)
            VALUES (@id, 'TaskPipeline', 'Pending', '', NULL, 0, @at, @at)
            """))
        {
            create.Parameters.AddWithValue("id", id);
            create.Parameters.AddWithValue("at", T0);
            await create.ExecuteNonQueryAsync();
        }

        string? state = null;
        StoredDecision? last = null;
        var at = T0;
        var all = new List<TaskEvent> { new TaskReceived(project, item) };
        all.AddRange(events);
        for (var i = 0; i < all.Count; i++)
        {
            at = T0.AddMinutes(i);
            last = adapter.Apply(state, all[i], at);
            state = last.StateJson;
            await using var history = db.DataSource.CreateCommand("""
                INSERT INTO history (instance_id, version, event_type, event, custom_status, summary, occurred_at)
                VALUES (@id, @version, @type, @event::jsonb, @status, @summary, @at);
                UPDATE instances SET state = @state::jsonb, custom_status = @status, runtime_status = @runtime, version = @version, updated_at = @at WHERE id = @id
                """);
            history.Parameters.AddWithValue("id", id);
            history.Parameters.AddWithValue("version", (long)i + 1);
            history.Parameters.AddWithValue("type", last.EventType);
            history.Parameters.AddWithValue("event", last.EventJson);
            history.Parameters.AddWithValue("status", last.CustomStatus);
            history.Parameters.AddWithValue("summary", (object?)last.Summary ?? DBNull.Value);
            history.Parameters.AddWithValue("at", at);
            history.Parameters.AddWithValue("state", state);
            history.Parameters.AddWithValue("runtime", last.RuntimeStatus.ToString());
            await history.ExecuteNonQueryAsync();
        }

        return TaskProjection.RowOf((TaskState)last!.StateAfter!, at);
    }
}

using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.ReadModel;
using Orchestrator.Tests.Integration.Engine;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Tests.Integration.ReadModel;

/// <summary>The read model on the real engine and PostgreSQL: written with the step or not at all.</summary>
public sealed class ReadModelEngineTests
{
    private static readonly TaskProject Project = new("proj-1", "acme/web", "WEB", "/opencode implement", RequireCi: true, ProjectSlug: "web");
    private static readonly WorkItemSnapshot Item = new("wi-1", 42, "Add a health endpoint", "<p>Please add GET /healthz</p>", ["AutoTask"], "unstarted", Triggered: true);
    private const string TaskId = "plane-wi-1";

    private static OrchestrationRegistry Registry(IStepProjection projection, params IActivity[] activities)
    {
        var registry = new OrchestrationRegistry()
            .Add(new TaskPipelineOrchestration(new TaskPipelineSettings(TimeSpan.FromSeconds(30), TimeSpan.FromHours(2))))
            .AddProjection(TaskPipelineOrchestration.OrchestrationName, projection);
        foreach (var activity in activities)
        {
            registry.Add(activity);
        }

        return registry;
    }

    private static Task<bool> StartAsync(DurableEngine engine, string delivery) =>
        engine.StartAsync(TaskPipelineOrchestration.OrchestrationName, TaskId, new TaskReceived(Project, Item), "start", null,
            EventOrigin.FromWebhook(EventSources.Tracker, delivery), CancellationToken.None);

    private static Task<long> CountAsync(TestDatabase db, string table) => db.ScalarAsync<long>($"SELECT count(*) FROM {table}");

    /// <summary>The real projection, plus a statement that fails on its first call: the step dies after writing its rows.</summary>
    private sealed class FailingOnce(IStepProjection inner) : IStepProjection
    {
        public int Calls;

        public IEnumerable<NpgsqlBatchCommand> Project(StepContext step)
        {
            var commands = inner.Project(step).ToList();
            if (Interlocked.Increment(ref Calls) == 1)
            {
                commands.Add(new NpgsqlBatchCommand("SELECT 1 / (SELECT count(*) FROM tasks WHERE false)"));
            }

            return commands;
        }
    }

    /// <summary>Builds the TaskSpec like the real activity would (no tracker needed).</summary>
    private sealed class FakeTaskSpec : IActivity
    {
        public int Runs;

        public string Name => TaskActivities.PrepareTaskSpec;

        public Task<object?> RunAsync(ActivityContext context, JsonElement input, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Runs);
            return Task.FromResult<object?>(new TaskSpecBuilt("WEB-42", "Add a health endpoint", "# TaskSpec", Item));
        }
    }

    [Fact]
    public async Task A_step_that_fails_after_writing_its_rows_leaves_no_trace_and_its_retry_writes_them_once()
    {
        await using var db = await TestDatabase.CreateAsync();
        var clock = new ManualClock();
        var projection = new FailingOnce(new TaskStepProjection());
        var engine = EngineFactory.Create(db, clock, Registry(projection), "w");
        Assert.True(await StartAsync(engine, "delivery-1"));

        // The start event's step: the projection's rows were in the batch when the statement after them failed.
        var first = Assert.Single(await engine.ClaimAsync("w", 1, CancellationToken.None));
        Assert.Equal(WorkOutcome.Retrying, await engine.ProcessAsync(first, CancellationToken.None));
        Assert.Equal(1, projection.Calls);
        Assert.Equal((0L, 0L, 0L), (await CountAsync(db, "tasks"), await CountAsync(db, "task_events"), await CountAsync(db, "history")));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT version FROM instances WHERE id = @id", ("id", TaskId)));
        Assert.Equal("pending", await db.ScalarAsync<string>("SELECT status FROM work_items WHERE id = @id", ("id", first.Id)));

        // The retry (same queue row, next attempt) writes the row and the events, once.
        clock.Advance(TimeSpan.FromSeconds(2));
        var retry = Assert.Single(await engine.ClaimAsync("w", 1, CancellationToken.None));
        Assert.Equal((first.Id, 2), (retry.Id, retry.Attempt));
        Assert.Equal(EventOrigin.FromWebhook(EventSources.Tracker, "delivery-1"), retry.Origin);
        Assert.Equal(WorkOutcome.Completed, await engine.ProcessAsync(retry, CancellationToken.None));

        Assert.Equal(1L, await CountAsync(db, "tasks"));
        var events = await db.EventsAsync(TaskId);
        Assert.Equal(["webhook_received", "repo_resolved", "status_changed"], events.Select(e => e.Type));
        Assert.All(events, e => Assert.Equal(("tracker", "delivery-1"), (e.Source, e.DeliveryId)));
        Assert.Equal(3L, await db.ScalarAsync<long>("SELECT count(*) FROM task_events WHERE project_slug = 'web'"));
        Assert.Equal("RECEIVED", await db.ScalarAsync<string>("SELECT status FROM tasks WHERE id = @id", ("id", TaskId)));
    }

    [Fact]
    public async Task A_completion_refused_after_a_lost_lease_writes_no_events_the_one_that_took_over_writes_them_once()
    {
        await using var db = await TestDatabase.CreateAsync();
        var clock = new ManualClock();
        var spec = new FakeTaskSpec();
        var registry = Registry(new TaskStepProjection(), spec);
        var a = EngineFactory.Create(db, clock, registry, "A", TimeSpan.FromSeconds(30));
        var b = EngineFactory.Create(db, clock, registry, "B", TimeSpan.FromSeconds(30));
        await StartAsync(a, "delivery-1");
        Assert.Equal(1, await a.RunOnceAsync("A", 1, CancellationToken.None)); // applies TaskReceived → PrepareTaskSpec queued
        var before = (await db.EventsAsync(TaskId)).Count;

        // A claims the activity and stalls; its lease runs out; B takes over and finishes.
        var claimedByA = Assert.Single(await a.ClaimAsync("A", 1, CancellationToken.None));
        clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(1, await b.RescueExpiredLeasesAsync(CancellationToken.None));
        var claimedByB = Assert.Single(await b.ClaimAsync("B", 1, CancellationToken.None));
        Assert.Equal(WorkOutcome.Completed, await b.ProcessAsync(claimedByB, CancellationToken.None));
        var afterB = await db.EventsAsync(TaskId);

        // A wakes up and completes the same step: fenced, so its step (and its read-model rows) never commit.
        Assert.Equal(WorkOutcome.Stale, await a.ProcessAsync(claimedByA, CancellationToken.None));

        var events = await db.EventsAsync(TaskId);
        Assert.Equal(2, spec.Runs);
        Assert.Equal(afterB.Select(e => e.Id), events.Select(e => e.Id));
        var step = Assert.Single(events.Skip(before));
        Assert.Equal(("status_changed", "TASKSPEC_CREATED", "system"), (step.Type, step.Field("to"), step.Source));
    }

    [Fact]
    public async Task A_manual_action_commits_with_the_event_it_raises_or_not_at_all()
    {
        await using var db = await TestDatabase.CreateAsync();
        var clock = new ManualClock();
        var engine = EngineFactory.Create(db, clock, Registry(new TaskStepProjection()), "w");
        await StartAsync(engine, "delivery-1");
        await engine.RunOnceAsync("w", 1, CancellationToken.None);
        var action = TaskProjection.ManualAction(TaskId, "set_repo", EventOrigin.FromApi("alice"), new Dictionary<string, object> { ["repo"] = "acme/web" }, clock.GetUtcNow());
        async Task<long> ActionsAsync() => await db.ScalarAsync<long>("SELECT count(*) FROM task_events WHERE event_type = 'manual_action'");

        Assert.True(await engine.RaiseEventAsync(TaskId, new RepoAssigned("acme/web"), "repo:0:acme/web", ReadModelWriter.RaisingManualAction(action), CancellationToken.None));
        Assert.False(await engine.RaiseEventAsync(TaskId, new RepoAssigned("acme/web"), "repo:0:acme/web", ReadModelWriter.RaisingManualAction(action), CancellationToken.None));
        Assert.Equal(1L, await ActionsAsync());
        var stored = (await db.EventsAsync(TaskId)).Single(e => e.Type == "manual_action");
        Assert.Equal(("api", "alice", "set_repo", "acme/web"), (stored.Source, stored.Actor, stored.Field("action"), stored.Field("repo")));
        Assert.Equal("web", await db.ScalarAsync<string>("SELECT project_slug FROM task_events WHERE id = @id", ("id", stored.Id)));

        // Work that fails inside the transaction takes the queued event with it.
        var failing = new RaiseOptions
        {
            Origin = EventOrigin.FromApi("alice"),
            InSameTransaction = async (connection, tx, ct) =>
            {
                await ReadModelWriter.AppendAsync(connection, tx, [action], ct);
                throw new InvalidOperationException("the caller's work failed");
            },
        };
        await Assert.ThrowsAsync<InvalidOperationException>(() => engine.RaiseEventAsync(TaskId, new RetryRequested(), "retry:x", failing, CancellationToken.None));
        Assert.Equal(1L, await ActionsAsync());
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM work_items WHERE unique_key LIKE '%retry:x'"));

        // The raised event's step carries the caller as its origin.
        clock.Advance(TimeSpan.FromSeconds(1));
        var repo = Assert.Single(await engine.ClaimAsync("w", 10, CancellationToken.None), w => w.Name == nameof(RepoAssigned));
        Assert.Equal(EventOrigin.FromApi("alice"), repo.Origin);
    }

    [Fact]
    public async Task Migration_0007_back_fills_existing_tasks_and_their_history_once()
    {
        await using var db = await TestDatabase.CreateAsync(migrate: false);
        var runner = new MigrationRunner(db.DataSource, NullLogger<MigrationRunner>.Instance);
        await runner.MigrateAsync(upToVersion: 6, CancellationToken.None);
        var seeded = await BackfillFixture.SeedAsync(db);

        Assert.Contains(7, await runner.MigrateAsync(CancellationToken.None));

        var queries = new ReadModelQueries(db.DataSource);
        Assert.Equal((long)seeded.Tasks.Count, await CountAsync(db, "tasks"));
        foreach (var (id, expected) in seeded.Tasks)
        {
            Assert.Equal(expected, await queries.FindAsync(id, CancellationToken.None));
        }

        var deployed = await db.EventsAsync(BackfillFixture.Deployed);
        Assert.Equal(
        [
            "webhook_received", "status_changed",                 // TaskReceived
            "status_changed",                                     // TaskSpecBuilt
            "issue_created", "status_changed",                    // IssueEnsured
            "webhook_received", "pr_linked", "status_changed",    // PullRequestLinked
            "webhook_received", "pr_merged", "status_changed",    // PullRequestMerged
            "ci_updated", "status_changed",                       // CiChecked
            "tracker_completed",                                  // TrackerCompleted
        ], deployed.Select(e => e.Type));
        Assert.Equal(["RECEIVED", "TASKSPEC_CREATED", "ISSUE_CREATED", "PR_CREATED", "WAITING_CI", "DEPLOYED"], deployed.StatusPath());
        Assert.Equal(["tracker", "tracker", "system", "system", "system", "forge", "forge", "forge", "forge", "forge", "forge", "system", "system", "system"],
            deployed.Select(e => e.Source));
        Assert.All(deployed, e => Assert.Equal(("true", (string?)null, (string?)null), (e.Field("backfilled"), e.DeliveryId, e.Actor)));
        Assert.Equal("web", await db.ScalarAsync<string>("SELECT DISTINCT project_slug FROM task_events WHERE task_id = @id", ("id", BackfillFixture.Deployed)));
        Assert.Equal(("7", "https://github.test/acme/web/issues/7"), (deployed[3].Field("number"), deployed[3].Field("url")));
        Assert.Equal(BackfillFixture.Sha, deployed.Single(e => e.Type == "pr_merged").Field("sha"));
        Assert.Equal("success", deployed.Single(e => e.Type == "ci_updated").Field("result"));
        Assert.StartsWith("Received from Plane", deployed[1].Field("reason"), StringComparison.Ordinal);

        var retried = await db.EventsAsync(BackfillFixture.Retried);
        Assert.Equal(["RECEIVED", "TASKSPEC_CREATED", "ISSUE_CREATED", "PR_CREATED", "WAITING_CI", "FAILED", "WAITING_CI"], retried.StatusPath());
        var retry = retried.Single(e => e.Type == "manual_action");
        Assert.Equal(("api", "retry"), (retry.Source, retry.Field("action")));
        Assert.Equal("failure", retried.First(e => e.Type == "ci_updated").Field("result"));

        var legacy = await db.EventsAsync(BackfillFixture.Legacy);
        Assert.Contains(legacy, e => e.Type == "repo_missing");
        Assert.Equal("legacy", await db.ScalarAsync<string>("SELECT DISTINCT project_slug FROM task_events WHERE task_id = @id", ("id", BackfillFixture.Legacy)));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM tasks WHERE id LIKE 'roles-%' OR id = 'plane-unstarted'"));

        // The back-fill statements again (as if the migration ran twice): nothing new.
        var events = await CountAsync(db, "task_events");
        await db.ExecuteAsync(BackfillFixture.BackfillSql());
        Assert.Equal(((long)seeded.Tasks.Count, events), (await CountAsync(db, "tasks"), await CountAsync(db, "task_events")));
    }
}

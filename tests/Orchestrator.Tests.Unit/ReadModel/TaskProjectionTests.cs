using System.Text.Json;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Unit.ReadModel;

/// <summary>
/// The task read model as a pure function, driven by the real decider: each step's state before and after, the event
/// and its origin go in; the row and the events that come out are checked.
/// </summary>
public sealed class TaskProjectionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 9, 0, 0, TimeSpan.Zero);
    private static readonly TaskProject Project = new("proj-1", "acme/web", "WEB", "/opencode implement", RequireCi: true, ProjectSlug: "web");
    private static readonly TaskProject MultiRepo = Project with { Repos = ["acme/web", "acme/api"], RepoFromTracker = true };
    private const string Description = "<p>Please add GET /healthz — SECRET-DESCRIPTION-TEXT</p>";
    private static readonly WorkItemSnapshot Item = new("wi-1", 42, "Add a health endpoint", Description, ["AutoTask"], "unstarted", Triggered: true,
        Url: "https://plane.test/acme/projects/proj-1/issues/wi-1");
    private const string Sha = "18cc785ed89e9653ea48823eb5320ab0b691d7da";
    private const string Spec = "# TaskSpec: WEB-42\n\nSECRET-TASKSPEC-TEXT";
    private const string IssueUrl = "https://github.test/acme/web/issues/7";
    private const string PrUrl = "https://github.test/acme/web/pull/8";

    private static EventOrigin Plane(string delivery) => EventOrigin.FromWebhook(EventSources.Tracker, delivery);

    private static EventOrigin GitHub(string delivery) => EventOrigin.FromWebhook(EventSources.Forge, delivery);

    /// <summary>One task driven through the decider, every step projected.</summary>
    private sealed class Flow
    {
        private readonly TaskPipelineOrchestration _decider = new(new TaskPipelineSettings(TimeSpan.FromSeconds(30), TimeSpan.FromHours(2)));

        public Flow(TaskProject? project = null, WorkItemSnapshot? item = null, EventOrigin? origin = null)
        {
            On(new TaskReceived(project ?? Project, item ?? Item), origin ?? Plane("d-start"));
        }

        public TaskState State { get; private set; } = null!;

        public DateTimeOffset Now { get; private set; } = T0;

        public TaskProjectionResult Last { get; private set; } = null!;

        public List<TaskEventRecord> Events { get; } = [];

        public TaskProjectionResult On(TaskEvent e, EventOrigin? origin = null, TimeSpan? after = null)
        {
            Now += after ?? TimeSpan.FromSeconds(1);
            var before = State;
            var decision = _decider.Decide(before, e, Now);
            State = decision.State;
            Last = TaskProjection.Project(before, decision.State, e, e.GetType().Name, origin ?? EventOrigin.FromSystem, Now);
            Events.AddRange(Last.Events);
            return Last;
        }

        public void ToIssue()
        {
            On(new TaskSpecBuilt("WEB-42", "Add a health endpoint", Spec, Item));
            On(new IssueEnsured(7, IssueUrl, Created: true));
        }

        public void ToWaitingCi()
        {
            ToIssue();
            On(new PullRequestLinked("acme/web", 8, PrUrl), GitHub("d-pr"));
            On(new PullRequestMerged("acme/web", 8, PrUrl, Sha), GitHub("d-merge"));
        }

        public void ToDeployed()
        {
            ToWaitingCi();
            On(new CiChecked(Sha, CiOutcome.Success, "3 of 3 completed", "https://github.test/acme/web/actions/runs/1"));
            On(new TrackerCompleted("Done"));
        }
    }

    private static string[] Types(IEnumerable<TaskEventRecord> events) => [.. events.Select(e => e.EventType)];

    private static TaskEventRecord Only(TaskProjectionResult result, string type) => Assert.Single(result.Events, e => e.EventType == type);

    /// <summary>A summary as stored (<c>task_events.summary</c>), fields in the order the projection wrote them.</summary>
    private static string Json(TaskEventRecord e) => JsonSerializer.Serialize(e.Summary, EngineJson.Options);

    [Fact]
    public void A_webhook_driven_run_projects_every_fact_with_its_source_and_delivery()
    {
        var flow = new Flow();
        Assert.Equal([TaskEventTypes.WebhookReceived, TaskEventTypes.RepoResolved, TaskEventTypes.StatusChanged], Types(flow.Last.Events));
        Assert.All(flow.Last.Events, e => Assert.Equal((EventSources.Tracker, "d-start"), (e.Source, e.DeliveryId)));
        Assert.Equal("""{"to":"RECEIVED","reason":"received from Plane"}""", Json(Only(flow.Last, TaskEventTypes.StatusChanged)));

        flow.ToDeployed();

        Assert.Equal(
        [
            "webhook_received", "repo_resolved", "status_changed",                    // TaskReceived (Plane webhook)
            "status_changed",                                                          // TaskSpecBuilt
            "issue_created", "status_changed",                                         // IssueEnsured
            "webhook_received", "pr_linked", "status_changed",                         // PullRequestLinked (GitHub webhook)
            "webhook_received", "pr_merged", "status_changed",                         // PullRequestMerged (GitHub webhook)
            "ci_updated", "status_changed",                                            // CiChecked (activity)
            "tracker_completed",                                                       // TrackerCompleted (activity)
        ], Types(flow.Events));
        Assert.Equal(
            ["d-start", "d-start", "d-start", null, null, null, "d-pr", "d-pr", "d-pr", "d-merge", "d-merge", "d-merge", null, null, null],
            flow.Events.Select(e => e.DeliveryId));
        Assert.Equal(
            ["tracker", "tracker", "tracker", "system", "system", "system", "forge", "forge", "forge", "forge", "forge", "forge", "system", "system", "system"],
            flow.Events.Select(e => e.Source));
        Assert.All(flow.Events, e => Assert.Equal(("plane-wi-1", "web"), (e.TaskId, e.ProjectSlug)));

        var statuses = flow.Events.Where(e => e.EventType == TaskEventTypes.StatusChanged).Select(e => $"{e.Summary.GetValueOrDefault("from")}→{e.Summary["to"]}");
        Assert.Equal(["→RECEIVED", "RECEIVED→TASKSPEC_CREATED", "TASKSPEC_CREATED→ISSUE_CREATED", "ISSUE_CREATED→PR_CREATED", "PR_CREATED→WAITING_CI", "WAITING_CI→DEPLOYED"], statuses);

        string Of(string type) => Json(flow.Events.Single(e => e.EventType == type));
        Assert.Equal("""{"repo":"acme/web"}""", Of(TaskEventTypes.RepoResolved));
        Assert.Equal($$"""{"number":7,"url":"{{IssueUrl}}","repo":"acme/web","created":true}""", Of(TaskEventTypes.IssueCreated));
        Assert.Equal($$"""{"number":8,"url":"{{PrUrl}}","repo":"acme/web"}""", Of(TaskEventTypes.PrLinked));
        Assert.Equal($$"""{"number":8,"url":"{{PrUrl}}","sha":"{{Sha}}"}""", Of(TaskEventTypes.PrMerged));
        Assert.Equal($$"""{"sha":"{{Sha}}","result":"success","url":"https://github.test/acme/web/actions/runs/1","via":"check","detail":"3 of 3 completed"}""",
            Of(TaskEventTypes.CiUpdated));
        Assert.Equal("""{"state":"Done","by_us":true}""", Of(TaskEventTypes.TrackerCompleted));
        Assert.Equal("""{"event":"PullRequestMerged"}""", Json(flow.Events.Where(e => e.EventType == TaskEventTypes.WebhookReceived).Last()));

        var row = flow.Last.Row;
        Assert.Equal(("plane-wi-1", "web", "WEB-42", "Add a health endpoint"), (row.Id, row.ProjectSlug, row.TaskKey, row.Title));
        Assert.Equal(("DEPLOYED", "DEPLOYED", false, false), (row.Status, row.Step, row.Blocked, row.AutoDisabled));
        Assert.Equal(("plane", "proj-1", "wi-1", Item.Url, "github"), (row.TrackerKind, row.TrackerProjectId, row.TrackerItemId, row.TrackerUrl, row.ForgeKind));
        Assert.Equal(("acme/web", (int?)7, IssueUrl, (int?)8, PrUrl, Sha), (row.Repo, row.IssueNumber, row.IssueUrl, row.PrNumber, row.PrUrl, row.MergeSha));
        Assert.Equal((CiStates.Success, "https://github.test/acme/web/actions/runs/1"), (row.CiState, row.CiUrl));
        Assert.Equal((T0.AddSeconds(1), flow.Now), (row.CreatedAt, row.UpdatedAt));
        Assert.Equal(flow.Now.AddSeconds(-1), row.DeployedAt!.Value);
        Assert.Null(row.FailedStep);
    }

    [Fact]
    public void A_green_CI_webhook_is_a_CI_update_without_a_status_change()
    {
        var flow = new Flow();
        flow.ToWaitingCi();
        Assert.Equal(CiStates.Pending, flow.Last.Row.CiState);

        var result = flow.On(new CiCompleted(Sha, "success", "workflow_run", "https://github.test/runs/5"), GitHub("d-ci"));

        Assert.Equal([TaskEventTypes.WebhookReceived, TaskEventTypes.CiUpdated], Types(result.Events));
        var ci = result.Events[1];
        Assert.Equal(("forge", "d-ci"), (ci.Source, ci.DeliveryId));
        Assert.Equal($$"""{"sha":"{{Sha}}","result":"success","url":"https://github.test/runs/5","via":"workflow_run"}""", Json(ci));
    }

    [Fact]
    public void A_task_without_a_repository_reports_it_missing_then_resolved_by_the_API_with_the_actor()
    {
        var flow = new Flow(MultiRepo);
        Assert.DoesNotContain(TaskEventTypes.RepoResolved, Types(flow.Last.Events));
        Assert.Null(flow.Last.Row.Repo);

        var missing = flow.On(new TaskSpecBuilt("WEB-42", "Add a health endpoint", Spec, Item));
        Assert.Equal([TaskEventTypes.RepoMissing, TaskEventTypes.StatusChanged], Types(missing.Events));
        Assert.Equal("""{"allowed":["acme/web","acme/api"]}""", Json(missing.Events[0]));
        Assert.Equal("""{"from":"RECEIVED","to":"NEEDS_REPO","reason":"no repository chosen"}""", Json(missing.Events[1]));

        var assigned = flow.On(new RepoAssigned("acme/api"), EventOrigin.FromApi("admin-token"));

        Assert.Equal([TaskEventTypes.RepoResolved, TaskEventTypes.StatusChanged], Types(assigned.Events));
        Assert.All(assigned.Events, e => Assert.Equal((EventSources.Api, "admin-token", (string?)null), (e.Source, e.Actor, e.DeliveryId)));
        Assert.Equal("""{"repo":"acme/api"}""", Json(assigned.Events[0]));
        Assert.Equal("""{"from":"NEEDS_REPO","to":"TASKSPEC_CREATED","reason":"repository set to acme/api"}""", Json(assigned.Events[1]));
        Assert.Equal("acme/api", assigned.Row.Repo);
    }

    [Fact]
    public void Red_CI_after_the_deploy_fails_the_task_and_the_reopen_is_recorded()
    {
        var flow = new Flow();
        flow.ToDeployed();

        var red = flow.On(new CiCompleted(Sha, "failure", "check_suite", "https://github.test/runs/9"), GitHub("d-red"));

        Assert.Equal([TaskEventTypes.WebhookReceived, TaskEventTypes.CiUpdated, TaskEventTypes.StatusChanged], Types(red.Events));
        Assert.Equal($$"""{"sha":"{{Sha}}","result":"failure","url":"https://github.test/runs/9","via":"check_suite"}""", Json(red.Events[1]));
        Assert.Equal("""{"from":"DEPLOYED","to":"FAILED","reason":"CI failed on 18cc785 after the deploy (check_suite: failure)"}""", Json(red.Events[2]));
        Assert.Equal((CiStates.Failure, "Ci", "https://github.test/runs/9"), (red.Row.CiState, red.Row.FailedStep, red.Row.CiUrl));

        var reopened = flow.On(new TrackerReopened("In Progress"));
        var e = Assert.Single(reopened.Events);
        Assert.Equal((TaskEventTypes.TrackerReopened, EventSources.System), (e.EventType, e.Source));
        Assert.Equal("""{"state":"In Progress"}""", Json(e));
    }

    [Fact]
    public void CI_that_never_finishes_is_a_timed_out_CI_update()
    {
        var flow = new Flow();
        flow.ToWaitingCi();

        var timeout = flow.On(new TaskTimerFired(TaskPipelineOrchestration.CiPollTimer, "ci-poll:0:0"), after: TimeSpan.FromHours(3));

        Assert.Equal([TaskEventTypes.CiUpdated, TaskEventTypes.StatusChanged], Types(timeout.Events));
        Assert.Equal($$"""{"sha":"{{Sha}}","result":"timed_out","via":"deadline"}""", Json(timeout.Events[0]));
        Assert.Equal("""{"from":"WAITING_CI","to":"FAILED","reason":"CI did not finish within 2h 00m of the merge"}""", Json(timeout.Events[1]));
    }

    [Fact]
    public void A_deleted_item_cancels_the_task_and_the_closed_issue_is_recorded()
    {
        var flow = new Flow();
        flow.ToIssue();

        var deleted = flow.On(new WorkItemDeleted(), Plane("d-del"));
        Assert.Equal([TaskEventTypes.WebhookReceived, TaskEventTypes.StatusChanged], Types(deleted.Events));
        Assert.Equal("""{"from":"ISSUE_CREATED","to":"CANCELLED","reason":"deleted in Plane"}""", Json(deleted.Events[1]));

        var closed = flow.On(new ForgeIssueClosed(7));
        Assert.Equal(TaskEventTypes.IssueClosed, Assert.Single(closed.Events).EventType);
        Assert.Equal("""{"number":7}""", Json(closed.Events[0]));
    }

    [Fact]
    public void A_failed_activity_is_an_error_and_fails_the_task_when_the_step_was_critical()
    {
        var flow = new Flow();
        flow.On(new TaskSpecBuilt("WEB-42", "Add a health endpoint", Spec, Item));

        var failed = flow.On(new TaskActivityFailed(TaskActivities.EnsureForgeIssue, "issue:0", "GitHub answered 422", 6));

        Assert.Equal([TaskEventTypes.Error, TaskEventTypes.StatusChanged], Types(failed.Events));
        Assert.Equal("""{"activity":"EnsureForgeIssue","attempts":6,"error":"GitHub answered 422"}""", Json(failed.Events[0]));
        Assert.Equal("""{"from":"TASKSPEC_CREATED","to":"FAILED","reason":"EnsureForgeIssue failed after 6 attempt(s): GitHub answered 422"}""", Json(failed.Events[1]));
        Assert.Equal(("Issue", "EnsureForgeIssue failed after 6 attempt(s): GitHub answered 422"), (failed.Row.FailedStep, failed.Row.FailureReason));

        // A failed comment is a warning: an error event, no status change.
        var warning = flow.On(new TaskActivityFailed(TaskActivities.EnsureTrackerComment, "plane-comment:x", "boom", 6));
        Assert.Equal([TaskEventTypes.Error], Types(warning.Events));

        var retried = flow.On(new RetryRequested(), EventOrigin.FromApi("admin-token"));
        var status = Only(retried, TaskEventTypes.StatusChanged);
        Assert.Equal((EventSources.Api, "admin-token"), (status.Source, status.Actor));
        Assert.Equal("""{"from":"FAILED","to":"TASKSPEC_CREATED","reason":"retry requested; resuming at Issue"}""", Json(status));
        Assert.Null(retried.Row.FailedStep);
    }

    [Fact]
    public void A_PR_closed_without_merge_is_recorded_and_the_task_steps_back()
    {
        var flow = new Flow();
        flow.ToIssue();
        flow.On(new PullRequestLinked("acme/web", 8, PrUrl), GitHub("d-pr"));

        var closed = flow.On(new PullRequestClosed("acme/web", 8), GitHub("d-close"));

        Assert.Equal([TaskEventTypes.WebhookReceived, TaskEventTypes.PrClosed, TaskEventTypes.StatusChanged], Types(closed.Events));
        Assert.Equal("""{"number":8,"repo":"acme/web"}""", Json(closed.Events[1]));
        Assert.Equal("""{"from":"PR_CREATED","to":"ISSUE_CREATED","reason":"pull request #8 closed without merge"}""", Json(closed.Events[2]));
        Assert.Null(closed.Row.PrNumber);
    }

    [Fact]
    public void BLOCKED_is_an_overlay_the_step_underneath_keeps_moving()
    {
        var flow = new Flow();
        flow.ToIssue();

        var blocked = flow.On(new WorkItemUpdated(Item with { Lifecycle = WorkItemLifecycle.Blocked }), Plane("d-block"));
        Assert.Equal("""{"from":"ISSUE_CREATED","to":"BLOCKED","reason":"blocked in Plane","step_from":"ISSUE_CREATED","step_to":"ISSUE_CREATED"}""",
            Json(Only(blocked, TaskEventTypes.StatusChanged)));
        Assert.Equal(("BLOCKED", "ISSUE_CREATED", true), (blocked.Row.Status, blocked.Row.Step, blocked.Row.Blocked));

        var linked = flow.On(new PullRequestLinked("acme/web", 8, PrUrl), GitHub("d-pr"));
        Assert.Equal("""{"from":"BLOCKED","to":"BLOCKED","reason":"pull request #8 linked","step_from":"ISSUE_CREATED","step_to":"PR_CREATED"}""",
            Json(Only(linked, TaskEventTypes.StatusChanged)));
        Assert.Equal(("BLOCKED", "PR_CREATED"), (linked.Row.Status, linked.Row.Step));

        var unblocked = flow.On(new WorkItemUpdated(Item with { Lifecycle = WorkItemLifecycle.Active }), Plane("d-unblock"));
        Assert.Equal("""{"from":"BLOCKED","to":"PR_CREATED","reason":"no longer blocked in Plane","step_from":"PR_CREATED","step_to":"PR_CREATED"}""",
            Json(Only(unblocked, TaskEventTypes.StatusChanged)));
        Assert.False(unblocked.Row.Blocked);
    }

    [Fact]
    public void AutoTask_off_and_on_again_are_status_changes_under_the_overlay()
    {
        var flow = new Flow();
        flow.ToIssue();

        var off = flow.On(new WorkItemUpdated(Item with { Triggered = false }), Plane("d-off"));
        Assert.Equal("""{"from":"ISSUE_CREATED","to":"AUTO_DISABLED","reason":"AutoTask turned off in Plane","step_from":"ISSUE_CREATED","step_to":"ISSUE_CREATED"}""",
            Json(Only(off, TaskEventTypes.StatusChanged)));
        Assert.True(off.Row.AutoDisabled);

        var on = flow.On(new WorkItemUpdated(Item with { Triggered = true }), Plane("d-on"));
        Assert.Equal("AutoTask turned on again in Plane", Only(on, TaskEventTypes.StatusChanged).Summary["reason"]);
        Assert.False(on.Row.AutoDisabled);
    }

    [Fact]
    public void Reconciliation_findings_are_projected_as_facts_of_the_system()
    {
        var flow = new Flow();
        flow.ToIssue();
        flow.On(new ReconcileRequested());

        var healed = flow.On(new Reconciled(
        [
            new PullRequestLinked("acme/web", 8, PrUrl),
            new PullRequestMerged("acme/web", 8, PrUrl, Sha),
            new CiChecked(Sha, CiOutcome.Pending, "1 of 2 completed", null),
        ]));

        Assert.Equal([TaskEventTypes.PrLinked, TaskEventTypes.PrMerged, TaskEventTypes.StatusChanged], Types(healed.Events)); // pending CI is no news
        Assert.All(healed.Events, e => Assert.Equal((EventSources.System, (string?)null), (e.Source, e.DeliveryId)));
        Assert.Equal("""{"from":"ISSUE_CREATED","to":"WAITING_CI","reason":"reconciliation found what webhooks missed"}""", Json(healed.Events[2]));
    }

    [Fact]
    public void Steps_that_change_nothing_a_screen_shows_project_no_events_but_refresh_the_row()
    {
        var flow = new Flow();
        flow.ToIssue();

        var comment = flow.On(new CommentEnsured("plane", "issue-link", Created: true));

        Assert.Empty(comment.Events);
        Assert.Equal(flow.Now, comment.Row.UpdatedAt);
    }

    [Fact]
    public void Summaries_are_small_and_never_carry_a_payload_TaskSpec_or_long_error()
    {
        var flow = new Flow();
        flow.ToWaitingCi();
        var hugeError = "HTTP 500: " + new string('x', 5_000) + " END-OF-BODY";
        flow.On(new TaskActivityFailed(TaskActivities.CheckCi, "ci-check:0:0", hugeError, 3));
        flow.On(new CiChecked(Sha, CiOutcome.Failure, "build: failure " + new string('y', 1_000), null));

        foreach (var e in flow.Events)
        {
            var json = JsonSerializer.Serialize(e.Summary, EngineJson.Options);
            Assert.DoesNotContain("SECRET-DESCRIPTION-TEXT", json, StringComparison.Ordinal);
            Assert.DoesNotContain("SECRET-TASKSPEC-TEXT", json, StringComparison.Ordinal);
            Assert.DoesNotContain("END-OF-BODY", json, StringComparison.Ordinal);
            Assert.DoesNotContain("\"$type\"", json, StringComparison.Ordinal);
            Assert.All(e.Summary.Values.OfType<string>(), v => Assert.True(v.Length <= TaskProjection.MaxTextLength, $"{e.EventType}: {v.Length} characters"));
            Assert.True(json.Length < 1_200, $"{e.EventType} summary is {json.Length} characters");
        }

        var error = flow.Events.Single(e => e.EventType == TaskEventTypes.Error).Summary["error"];
        Assert.EndsWith("…", (string)error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_CI_state_follows_the_step()
    {
        var waiting = new TaskState
        {
            InstanceId = "plane-wi-1", Project = Project, WorkItemId = "wi-1", Item = Item, Status = TaskStatus.WAITING_CI, MergeSha = Sha,
        };

        Assert.Null(TaskProjection.CiStateOf(waiting with { MergeSha = null }));
        Assert.Equal(CiStates.Pending, TaskProjection.CiStateOf(waiting));
        Assert.Equal(CiStates.Success, TaskProjection.CiStateOf(waiting with { Status = TaskStatus.DEPLOYED }));
        Assert.Equal(CiStates.NotRequired, TaskProjection.CiStateOf(waiting with { Status = TaskStatus.DEPLOYED, Project = Project with { RequireCi = false } }));
        Assert.Equal(CiStates.Failure, TaskProjection.CiStateOf(waiting with { Status = TaskStatus.FAILED, FailedStep = FailedStep.Ci }));
        Assert.Null(TaskProjection.CiStateOf(waiting with { Status = TaskStatus.CANCELLED }));
    }

    [Fact]
    public void A_manual_action_names_its_actor_and_takes_only_small_details()
    {
        var e = TaskProjection.ManualAction("plane-wi-1", "set_repo", EventOrigin.FromApi("alice"),
            new Dictionary<string, object> { ["repo"] = "acme/api", ["note"] = new string('n', 1_000) }, T0);

        Assert.Equal(("plane-wi-1", (string?)null, EventSources.Api, TaskEventTypes.ManualAction, "alice", (string?)null, T0),
            (e.TaskId, e.ProjectSlug, e.Source, e.EventType, e.Actor, e.DeliveryId, e.CreatedAt));
        Assert.Equal(("set_repo", "acme/api"), ((string)e.Summary["action"], (string)e.Summary["repo"]));
        Assert.Equal(TaskProjection.MaxTextLength, ((string)e.Summary["note"]).Length);
    }
}

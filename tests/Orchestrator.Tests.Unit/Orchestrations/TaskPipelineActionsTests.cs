using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Tasks;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Unit.Orchestrations;

/// <summary>The task actions a person takes in the web tool (issue #9): cancel and add a note, in the pure decider.</summary>
public sealed class TaskPipelineActionsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly TaskProject Project = new("proj-1", "acme/web", "WEB", "/opencode implement", RequireCi: true);
    private readonly TaskPipelineOrchestration _decider = new(new TaskPipelineSettings(TimeSpan.FromSeconds(30), TimeSpan.FromHours(2)));

    private static TaskState At(TaskStatus status, bool disabled = false) => new()
    {
        InstanceId = "plane-wi-1",
        Project = Project,
        WorkItemId = "wi-1",
        Item = new WorkItemSnapshot("wi-1", 42, "Add a health endpoint", "<p>x</p>", null, "unstarted", Triggered: !disabled),
        Status = status,
        TaskKey = "WEB-42",
        Title = "Add a health endpoint",
        ReceivedAt = T0,
        Repo = "acme/web",
        Disabled = disabled,
        TaskSpec = "# spec",
        TaskSpecVersion = 1,
        IssueNumber = status is TaskStatus.TASKSPEC_CREATED ? null : 7,
        IssueUrl = status is TaskStatus.TASKSPEC_CREATED ? null : "https://forge.test/acme/web/issues/7",
    };

    private static ScheduleActivity[] Activities(Decision<TaskState> d) => [.. d.Commands.OfType<ScheduleActivity>()];

    [Theory]
    [InlineData(TaskStatus.ISSUE_CREATED, false)]
    [InlineData(TaskStatus.PR_CREATED, false)]
    [InlineData(TaskStatus.WAITING_CI, false)]
    [InlineData(TaskStatus.FAILED, false)]
    [InlineData(TaskStatus.ISSUE_CREATED, true)]
    public void Cancel_by_a_person_closes_the_forge_issue_and_tells_both_sides(TaskStatus status, bool disabled)
    {
        var d = _decider.Decide(At(status, disabled), new CancelRequested("alice", "duplicate of WEB-7"), T0);
        Assert.Equal(TaskStatus.CANCELLED, d.State.Status);
        Assert.False(d.State.Disabled);
        var activities = Activities(d);
        Assert.Contains(activities, a => a.Activity == TaskActivities.CloseForgeIssue && a.Key == "close-issue:7");
        var forge = Assert.IsType<EnsureForgeCommentInput>(activities.Single(a => a.Activity == TaskActivities.EnsureForgeComment).Input);
        Assert.Contains("cancelled by alice in Orchestrator (duplicate of WEB-7)", forge.Markdown);
        var tracker = Assert.IsType<EnsureTrackerCommentInput>(activities.Single(a => a.Activity == TaskActivities.EnsureTrackerComment).Input);
        Assert.Contains("alice cancelled WEB-42", tracker.Html);
        Assert.Contains("alice", d.Summary);
    }

    [Fact]
    public void Cancel_before_the_issue_exists_closes_nothing_on_the_forge()
    {
        var d = _decider.Decide(At(TaskStatus.TASKSPEC_CREATED), new CancelRequested("alice", null), T0);
        Assert.Equal(TaskStatus.CANCELLED, d.State.Status);
        Assert.DoesNotContain(Activities(d), a => a.Activity == TaskActivities.CloseForgeIssue);
        Assert.Single(Activities(d), a => a.Activity == TaskActivities.EnsureTrackerComment);
    }

    [Theory]
    [InlineData(TaskStatus.DEPLOYED)]
    [InlineData(TaskStatus.CANCELLED)]
    public void Cancel_after_the_task_finished_changes_nothing(TaskStatus status)
    {
        var d = _decider.Decide(At(status), new CancelRequested("alice", null), T0);
        Assert.Equal(status, d.State.Status);
        Assert.Empty(d.Commands);
    }

    [Fact]
    public void A_cancel_escapes_the_actor_and_reason_in_the_tracker_html()
    {
        var d = _decider.Decide(At(TaskStatus.ISSUE_CREATED), new CancelRequested("eve<script>", "<b>x</b>"), T0);
        var tracker = Assert.IsType<EnsureTrackerCommentInput>(Activities(d).Single(a => a.Activity == TaskActivities.EnsureTrackerComment).Input);
        Assert.DoesNotContain("<script>", tracker.Html);
        Assert.DoesNotContain("<b>", tracker.Html);
    }

    [Theory]
    [InlineData(TaskStatus.ISSUE_CREATED, false)]
    [InlineData(TaskStatus.DEPLOYED, false)]
    [InlineData(TaskStatus.CANCELLED, false)]
    [InlineData(TaskStatus.PR_CREATED, true)]
    public void A_note_is_posted_once_as_a_tracker_comment_and_changes_no_status(TaskStatus status, bool disabled)
    {
        var state = At(status, disabled);
        var d = _decider.Decide(state, new NoteAdded("n-1", "bob", "Line one\nline <two>"), T0);
        Assert.Equal(state.Status, d.State.Status);
        var comment = Assert.Single(Activities(d));
        Assert.Equal(TaskActivities.EnsureTrackerComment, comment.Activity);
        Assert.EndsWith(":note:n-1", comment.Key);
        var html = Assert.IsType<EnsureTrackerCommentInput>(comment.Input).Html;
        Assert.Contains("Note from bob", html);
        Assert.Contains("Line one<br>line &lt;two&gt;", html);
        Assert.StartsWith("Note by bob: Line one", d.Summary);
    }

    [Fact]
    public void Cancel_and_note_events_survive_the_engine_json_round_trip()
    {
        // The engine stores raised events polymorphically ($type); an event type missing from the list cannot be raised.
        foreach (TaskEvent e in new TaskEvent[] { new CancelRequested("alice", "dup"), new NoteAdded("n-1", "bob", "hello") })
        {
            var json = System.Text.Json.JsonSerializer.Serialize(e, Orchestrator.Shared.Engine.EngineJson.Options);
            Assert.Contains($"\"$type\":\"{e.GetType().Name}\"", json, StringComparison.Ordinal);
            Assert.Equal(e, System.Text.Json.JsonSerializer.Deserialize<TaskEvent>(json, Orchestrator.Shared.Engine.EngineJson.Options));
        }
    }

    [Fact]
    public void A_cancel_by_a_person_is_named_in_the_status_change_of_the_read_model()
    {
        var before = At(TaskStatus.ISSUE_CREATED);
        var d = _decider.Decide(before, new CancelRequested("alice", "duplicate of WEB-7"), T0);
        var result = Orchestrator.Orchestrations.ReadModel.TaskProjection.Project(before, d.State, new CancelRequested("alice", "duplicate of WEB-7"), nameof(CancelRequested),
            new EventOrigin(EventSources.User, "alice"), T0);
        var change = Assert.Single(result.Events, e => e.EventType == Orchestrator.Orchestrations.ReadModel.TaskEventTypes.StatusChanged);
        Assert.Equal("cancelled by alice in Orchestrator: duplicate of WEB-7", change.Summary["reason"]);
        Assert.Equal(("user", "alice"), (change.Source, change.Actor));
    }

    [Theory]
    [InlineData(TaskStatus.ISSUE_CREATED, "Add a /healthz endpoint")]
    [InlineData(TaskStatus.DEPLOYED, "Add a health endpoint")]
    public void The_title_follows_the_tracker_item_until_the_task_is_finished(TaskStatus status, string expected)
    {
        var state = At(status);
        var d = _decider.Decide(state, new WorkItemUpdated(state.Item with { Name = "Add a /healthz endpoint" }), T0);
        Assert.Equal(expected, d.State.Title);
        Assert.Equal(status, d.State.Status);
        Assert.Equal("# spec", d.State.TaskSpec); // the TaskSpec keeps the title it was built with
    }
}

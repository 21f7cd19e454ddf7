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
}

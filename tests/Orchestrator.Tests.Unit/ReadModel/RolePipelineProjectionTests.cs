using System.Text.Json;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Tests.Unit.ReadModel;

/// <summary>The role pipeline's facts on its parent task's timeline, driven by the real decider.</summary>
public sealed class RolePipelineProjectionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 9, 0, 0, TimeSpan.Zero);
    private const string Sha = "18cc785ed89e9653ea48823eb5320ab0b691d7da";
    private const string AgentSaid = "I changed src/Health.cs — SECRET-AGENT-OUTPUT";
    private static readonly PipelineTask Task = new("roles-plane-wi-1", "WEB-42", "Add a health endpoint", "# TaskSpec SECRET-TASKSPEC", "acme/web", "proj-1", "wi-1");

    private sealed class Flow
    {
        private readonly RolePipelineOrchestration _decider = new();

        public Flow()
        {
            On(new RolePipelineStarted(PipelineDefinition.Default, Task, null));
        }

        public RolePipelineState State { get; private set; } = null!;

        public DateTimeOffset Now { get; private set; } = T0;

        public List<TaskEventRecord> Events { get; } = [];

        public IReadOnlyList<TaskEventRecord> On(RolePipelineEvent e, TimeSpan? after = null)
        {
            Now += after ?? TimeSpan.FromMinutes(1);
            var before = State;
            State = _decider.Decide(before, e, Now).State;
            var events = RolePipelineProjection.Project("plane-wi-1", before, State, e, EventOrigin.FromSystem, Now);
            Events.AddRange(events);
            return events;
        }

        public IReadOnlyList<TaskEventRecord> Ran(bool succeeded = true) =>
            On(new StageRunCompleted(State.Execution, State.Stage, succeeded, succeeded ? null : "claude: 401 invalid x-api-key", 1200, 300, 0.25m,
                TimeSpan.FromSeconds(90), "orchestrator/WEB-42", Sha, null, null, AgentSaid));

        public IReadOnlyList<TaskEventRecord> Gate(GateOutcome outcome = GateOutcome.Passed) =>
            On(new GateChecked(State.Execution, State.Stage, outcome, null, "all artifacts present", "FINDINGS-FULL-TEXT", []));
    }

    private static string Json(TaskEventRecord e) => JsonSerializer.Serialize(e.Summary, EngineJson.Options);

    [Fact]
    public void Stage_start_agent_run_and_gate_land_on_the_parent_task()
    {
        var flow = new Flow();
        var started = Assert.Single(flow.Events);
        Assert.Equal((TaskEventTypes.StageStarted, "plane-wi-1", (string?)null, EventSources.System), (started.EventType, started.TaskId, started.ProjectSlug, started.Source));
        var firstStage = flow.State.Stage;
        Assert.Equal($$"""{"stage":"{{firstStage}}","agent":"{{flow.State.Runs[0].Agent}}","round":0,"execution":1}""", Json(started));

        var ran = Assert.Single(flow.Ran());
        Assert.Equal(TaskEventTypes.AgentRun, ran.EventType);
        Assert.Equal($$"""{"stage":"{{firstStage}}","agent":"{{flow.State.Runs[0].Agent}}","round":0,"succeeded":true,"tokens_in":1200,"tokens_out":300,"cost_usd":0.25,"duration_ms":90000}""",
            Json(ran));

        var gated = flow.Gate();
        Assert.Equal([TaskEventTypes.StageFinished, TaskEventTypes.StageStarted], gated.Select(e => e.EventType));
        Assert.Equal($$"""{"stage":"{{firstStage}}","outcome":"passed","reason":"all artifacts present","round":0}""", Json(gated[0]));
        Assert.NotEqual(firstStage, (string)gated[1].Summary["stage"]);

        foreach (var e in flow.Events)
        {
            var json = Json(e);
            Assert.DoesNotContain("SECRET", json, StringComparison.Ordinal);
            Assert.DoesNotContain("FINDINGS-FULL-TEXT", json, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_failed_agent_run_carries_its_clipped_reason()
    {
        var flow = new Flow();

        var failed = Assert.Single(flow.Ran(succeeded: false));

        Assert.Equal(TaskEventTypes.AgentRun, failed.EventType);
        Assert.Equal(false, failed.Summary["succeeded"]);
        Assert.Equal("claude: 401 invalid x-api-key", failed.Summary["failure"]);
    }

    [Fact]
    public void A_failed_side_activity_is_an_error_and_comments_are_no_news()
    {
        var flow = new Flow();

        var error = flow.On(new PipelineActivityFailed(RolePipelineActivities.PostStageComment, "comment:stage:1:0", "Plane 503", 6));
        Assert.Equal("""{"activity":"PostStageComment","attempts":6,"error":"Plane 503"}""", Json(Assert.Single(error, e => e.EventType == TaskEventTypes.Error)));

        Assert.Empty(flow.On(new PipelineCommentPosted("stage:1:0", Created: true)));
    }
}

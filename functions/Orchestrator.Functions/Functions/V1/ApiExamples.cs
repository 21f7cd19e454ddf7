using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Orchestrator.Shared.Projects;
using Orchestrator.Shared.ReadModel;

namespace Orchestrator.Functions.Functions.V1;

/// <summary>
/// Examples of the <c>/api/v1</c> bodies, put into the OpenAPI document by an operation transformer: every JSON request and
/// response whose type is registered here gets an <c>example</c> serialized exactly as the API writes it. A type without
/// an example is a gap the OpenAPI test reports.
/// </summary>
public static class ApiExamples
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private static readonly DateTimeOffset At = new(2026, 12, 2, 9, 30, 0, TimeSpan.Zero);
    private static readonly Dictionary<Type, object> Samples = [];

    static ApiExamples()
    {
        var definition = new ProjectDefinition
        {
            Slug = "web",
            Name = "Web shop",
            WorkItemPrefix = "WEB",
            Tracker = new TrackerConfig { Kind = TrackerConfig.Plane, ProjectIds = ["4f7e1b2a-9c3d-4e5f-8a6b-1c2d3e4f5a6b"] },
            Forge = new ForgeConfig { Kind = ForgeConfig.GitHub, Repos = ["acme/web", "acme/api"], DefaultRepo = "acme/web" },
        };
        var project = new ProjectResource(definition, new Dictionary<string, string> { ["forge_token"] = "••••9f3c" }, 7, At.AddDays(-30), At,
            new ProjectWebhookPaths("/webhooks/plane/web", "/webhooks/github/web"));
        Add(project);
        Add(new ProjectList([project]));
        Add(new ProjectWrite(definition, new Dictionary<string, string?> { ["forge_token"] = "github_pat_…", ["tracker_token"] = null }));
        Add(new RepositoriesResource(["acme/web", "acme/api"], "acme/web"));
        var link = new LinkResource(12, "Runbook", "https://wiki.example.com/runbook", At);
        Add(link);
        Add(new ItemList<LinkResource>([link]));
        Add(new LinkWrite("Runbook", "https://wiki.example.com/runbook"));
        var contact = new ContactResource(3, "Dana Ops", "on call", "#ops on Slack", At);
        Add(contact);
        Add(new ItemList<ContactResource>([contact]));
        Add(new ContactWrite("Dana Ops", "on call", "#ops on Slack"));
        var note = new NoteResource(5, "Deploys", "Deploys go out on **Tuesdays**; never on Fridays.", At);
        Add(note);
        Add(new ItemList<NoteResource>([note]));
        Add(new NoteWrite("Deploys", "Deploys go out on **Tuesdays**; never on Fridays."));
        var task = new TaskResource("plane-0b6c1c7e-2a64-4f7f-9d52-1c5e9a7b3d10", "WEB-42", "Add a health endpoint", "WAITING_CI", "WAITING_CI", false, false, "acme/web",
            new TaskTrackerRef("plane", "4f7e1b2a-9c3d-4e5f-8a6b-1c2d3e4f5a6b", "0b6c1c7e-2a64-4f7f-9d52-1c5e9a7b3d10", "https://plane.example.com/acme/projects/4f7e1b2a/issues/0b6c1c7e"),
            new TaskForgeRef("github", 118, "https://github.com/acme/web/issues/118"), new TaskForgeRef("github", 121, "https://github.com/acme/web/pull/121"),
            "18cc785ed89e9653ea48823eb5320ab0b691d7da", "pending", null, null, null, At.AddHours(-3), At, null);
        Add(task);
        Add(new TaskListResource([task], "MTc2NDY2NzgwMDAwMDAwMDpwbGFuZS0wYjZj"));
        AddTaskActions(task);
        AddAnalytics();
    }

    private static void AddTaskActions(TaskResource task)
    {
        Add(new LinkPullRequestBody("acme/web#121"));
        Add(new ChangeRepoBody("acme/api"));
        Add(new AddNoteBody("Please keep the JSON shape of /healthz stable.", "deploy-check-2026-12-02"));
        Add(new CancelTaskBody("Duplicate of WEB-40"));
        Add(new TaskActionAccepted(task.Id, "note", "accepted", "Note added to WEB-42; it is posted to Plane as a comment."));
    }

    private static void AddAnalytics()
    {
        var from = At.AddDays(-30);
        var cost = new CostTotals(Money.InUsd(18.42m), 46, 3_912_400, 402_150);
        double[] leadTimes = [5_400, 9_800, 14_200, 26_000, 41_000, 88_000, 190_000];
        var byStatus = Enum.GetNames<Orchestrator.Orchestrations.Tasks.TaskStatus>()
            .Where(s => s is not (nameof(Orchestrator.Orchestrations.Tasks.TaskStatus.BLOCKED) or nameof(Orchestrator.Orchestrations.Tasks.TaskStatus.AUTO_DISABLED)))
            .ToDictionary(s => s, s => s switch { "DEPLOYED" => 31L, "FAILED" => 2L, "WAITING_CI" => 3L, "PR_CREATED" => 4L, "ISSUE_CREATED" => 1L, _ => 0L });
        Add(new ProjectSummary("web", from, At, new TaskCounts(41, byStatus, 1, 0), 12, 7,
            26_000, 128_800, 2, 3, cost));
        long[] reached = [12, 12, 10, 8, 7, 7];
        string[][] steps = [["autotask", "AutoTask"], ["issue", "Issue"], ["pr", "Pull request"], ["merged", "Merged"], ["ci_success", "CI success"], ["deployed", "Deployed"]];
        Add(new FunnelReport("web", from, At, [.. steps.Select((step, i) => new FunnelStep(step[0], step[1], reached[i], i + 1 < reached.Length ? (double)reached[i + 1] / reached[i] : null))]));
        Add(new LeadTimeReport("web", from, At, new DurationStats(7, 26_000, 128_800, 53_486, 5_400, 190_000), AnalyticsMath.Histogram(leadTimes),
            [
                new StageLeadTime("received_to_issue", "Received → issue", new DurationStats(7, 4.8, 5.7, 4.8, 3.9, 6.0)),
                new StageLeadTime("issue_to_pr", "Issue → PR", new DurationStats(7, 18_500, 106_000, 42_171, 2_400, 160_000)),
                new StageLeadTime("pr_to_merge", "PR → merge", new DurationStats(7, 6_200, 20_800, 9_814, 1_800, 28_000)),
                new StageLeadTime("merge_to_ci", "Merge → CI done", new DurationStats(7, 560, 870, 631, 420, 1_200)),
            ],
            [.. AnalyticsMath.Weeks(from, At).Select((week, i) => i % 2 == 0 ? new WeekLeadTime(week, 2, 12_000, 41_000, 19_500) : new WeekLeadTime(week, 0, null, null, null))]));
        var example = new FailureExample("plane-7d2e9c41-5b3a-4f6e-8c1d-2a9b8e7f6c50", "WEB-39", "Export orders as CSV", "CI failed on the merge commit (tests: 3 failed)", At.AddDays(-2));
        Add(new FailureReport("web", from, At, 3,
            [
                new FailureCategory(FailureCategories.CiRed, FailureCategories.LabelOf(FailureCategories.CiRed), 2, 2, [example]),
                new FailureCategory(FailureCategories.BudgetExceeded, FailureCategories.LabelOf(FailureCategories.BudgetExceeded), 1, 1,
                    [new FailureExample("plane-1f4b8a20-6c7d-4e9f-a0b1-c2d3e4f5a6b7", "WEB-36", "Rewrite the checkout", "The agent budget of $50.00 is used up", At.AddDays(-9))]),
            ], false));
        Add(new CostReport("web", from, At, cost,
            [new CostByStage("development", new CostTotals(Money.InUsd(11.10m), 21, 2_410_000, 251_000)), new CostByStage("review", new CostTotals(Money.InUsd(4.02m), 14, 980_400, 96_150))],
            [new CostByAgent("claude", "ClaudeCode", new CostTotals(Money.InUsd(15.12m), 35, 3_100_000, 330_000)), new CostByAgent("codex", "Codex", new CostTotals(Money.InUsd(3.30m), 11, 812_400, 72_150))],
            [new CostByModel("claude-sonnet-4-5", new CostTotals(Money.InUsd(15.12m), 35, 3_100_000, 330_000)), new CostByModel("gpt-5-codex", new CostTotals(Money.InUsd(3.30m), 11, 812_400, 72_150))],
            [new CostByTask("plane-0b6c1c7e-2a64-4f7f-9d52-1c5e9a7b3d10", "WEB-42", "Add a health endpoint", new CostTotals(Money.InUsd(2.87m), 6, 610_000, 58_300))],
            9,
            [.. AnalyticsMath.Weeks(from, At).Select(week => new CostByWeek(week, new CostTotals(Money.InUsd(3.68m), 9, 782_480, 80_430)))]));
        var hour = new DateTimeOffset(At.Year, At.Month, At.Day, At.Hour, 0, 0, TimeSpan.Zero);
        Add(new WebhooksHealthReport("web", from, At,
            [
                new WebhookSourceHealth("plane", "tracker", At.AddMinutes(-4), new WebhookBucket(from, 212, 3, 0, 0),
                    [new WebhookBucket(hour.AddHours(-1), 6, 0, 0, 0), new WebhookBucket(hour, 2, 1, 0, 0)], [new WebhookBucket(hour.AddHours(-hour.Hour), 8, 1, 0, 0)]),
                new WebhookSourceHealth("github", "forge", At.AddMinutes(-1), new WebhookBucket(from, 1_304, 12, 2, 1),
                    [new WebhookBucket(hour.AddHours(-1), 40, 1, 2, 0), new WebhookBucket(hour, 11, 0, 0, 1)], [new WebhookBucket(hour.AddHours(-hour.Hour), 51, 1, 2, 1)]),
            ]));
        Add(new JobsHealthReport("web", At, 3, 1.8, 1, 2, 1,
            [new WorkKindCounts("activity", 4, 3, 2, 1), new WorkKindCounts("timer", 6, 0, 0, 0), new WorkKindCounts("event", 0, 0, 0, 0)],
            [new DeadWork(90_211, "activity", "CreateIssue", "plane-7d2e9c41-5b3a-4f6e-8c1d-2a9b8e7f6c50", 8, "GitHub answered 422: Validation Failed", At.AddHours(-6))],
            [new RunningAgentRun(1_842, "plane-0b6c1c7e-2a64-4f7f-9d52-1c5e9a7b3d10", "claude", "development", At.AddMinutes(-12), 720)]));
        using var summary = System.Text.Json.JsonDocument.Parse("""{"from": "PR_CREATED", "to": "WAITING_CI", "reason": "pull request acme/web#121 merged"}""");
        Add(new TaskTimeline("plane-0b6c1c7e-2a64-4f7f-9d52-1c5e9a7b3d10", "WEB-42", "WAITING_CI",
            [new TaskEventView(5_120, "forge", "status_changed", null, summary.RootElement.Clone(), "4f1c2d3e-5a6b-11ef-8c9d-0a1b2c3d4e5f", At.AddMinutes(-3))],
            5_119));
    }

    /// <summary>Registers (or replaces) the example of a body type.</summary>
    /// <typeparam name="T">The type.</typeparam>
    /// <param name="sample">The example value.</param>
    public static void Add<T>(T sample)
        where T : notnull => Samples[typeof(T)] = sample;

    /// <summary>The example of a type as the API writes it, or <c>null</c>.</summary>
    /// <param name="type">The body type.</param>
    /// <returns>The JSON.</returns>
    public static JsonNode? For(Type type) => Samples.TryGetValue(type, out var sample) ? JsonSerializer.SerializeToNode(sample, type, Web) : null;

    /// <summary>Adds the transformer that writes the examples into the document.</summary>
    /// <param name="options">The document's options.</param>
    public static void AddExamples(this OpenApiOptions options) =>
        options.AddOperationTransformer((operation, context, _) =>
        {
            foreach (var response in context.Description.SupportedResponseTypes)
            {
                if (response.Type is { } type && For(type) is { } example
                    && operation.Responses?.TryGetValue(response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture), out var documented) == true
                    && documented.Content?.TryGetValue("application/json", out var media) == true && media is OpenApiMediaType concrete)
                {
                    concrete.Example = example;
                }
            }

            var body = context.Description.ParameterDescriptions.FirstOrDefault(p => p.Source == Microsoft.AspNetCore.Mvc.ModelBinding.BindingSource.Body)?.Type;
            var accepts = context.Description.ActionDescriptor.EndpointMetadata.OfType<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>().FirstOrDefault()?.RequestType;
            if ((body ?? accepts) is { } requestType && For(requestType) is { } requestExample
                && operation.RequestBody?.Content?.TryGetValue("application/json", out var requestMedia) == true && requestMedia is OpenApiMediaType requestConcrete)
            {
                requestConcrete.Example = requestExample;
            }

            return Task.CompletedTask;
        });
}

using System.Text.Json;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Orchestrations.Tasks;

namespace Orchestrator.Tests.Integration.Durable;

/// <summary>
/// The Azure Functions app's build output: <c>functions.metadata</c> (written by Microsoft.Azure.Functions.Worker.Sdk
/// from the <c>[Function]</c> attributes; what the Functions host indexes) lists every function with its trigger and
/// schedule. The test reads the app's build output (the solution build writes it; the test project does not reference
/// the app, whose host.json would replace the self-hosted host's in the test output).
/// </summary>
public sealed class FunctionsMetadataTests
{
    private static readonly string[] Activities =
    [
        TaskActivities.PrepareTaskSpec, TaskActivities.EnsureForgeIssue, TaskActivities.EnsureTrackerComment, TaskActivities.EnsureForgeComment,
        TaskActivities.CheckCi, TaskActivities.CompleteTrackerItem, TaskActivities.ReconcileTask, TaskActivities.StartRolePipeline,
        TaskActivities.RetryRolePipeline, TaskActivities.StopRolePipeline, TaskActivities.SetForgeLabel, TaskActivities.CloseForgeIssue,
        TaskActivities.ReopenTrackerItem, RolePipelineActivities.RunStageAgent, RolePipelineActivities.CheckStageGate, RolePipelineActivities.CheckStageCi,
        RolePipelineActivities.PostStageComment, RolePipelineActivities.PostEscalationComment, RolePipelineActivities.CheckApproval,
        "ReconcileSweep", "RouteDelivery", "RecordStep",
    ];

    [Fact]
    public async Task The_build_lists_every_orchestration_activity_and_timer_function_with_its_trigger()
    {
        var functions = await BuildAndReadMetadataAsync();

        Assert.Equal("orchestrationTrigger", Trigger(functions, TaskPipelineOrchestration.OrchestrationName).Type);
        Assert.Equal("orchestrationTrigger", Trigger(functions, RolePipelineOrchestration.OrchestrationName).Type);
        foreach (var activity in Activities)
        {
            Assert.Equal("activityTrigger", Trigger(functions, activity).Type);
        }

        var timer = Trigger(functions, "ReconcileTimer");
        Assert.Equal("timerTrigger", timer.Type);
        Assert.Equal("0 */5 * * * *", timer.Schedule);
        Assert.Contains(functions["ReconcileTimer"], b => b.Type == "durableClient");

        // Nothing else is exposed.
        Assert.Equal(Activities.Length + 3, functions.Count);
    }

    private static (string Type, string? Schedule) Trigger(Dictionary<string, List<(string Type, string Direction, string? Schedule)>> functions, string name)
    {
        Assert.True(functions.TryGetValue(name, out var bindings), $"functions.metadata has no function '{name}'");
        var trigger = Assert.Single(bindings, b => b.Type.EndsWith("Trigger", StringComparison.Ordinal));
        Assert.Equal("In", trigger.Direction, ignoreCase: true);
        return (trigger.Type, trigger.Schedule);
    }

    private static async Task<Dictionary<string, List<(string Type, string Direction, string? Schedule)>>> BuildAndReadMetadataAsync()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Orchestrator.sln")))
        {
            root = root.Parent;
        }

        Assert.NotNull(root);

        // The test builds the app itself (the solution's test run does not build projects no test references), into a
        // directory of its own so its host.json never lands next to the self-hosted host's.
        var output = Directory.CreateTempSubdirectory("orch-functions-build-");
        try
        {
            var project = Path.Combine(root.FullName, "functions", "Orchestrator.AzureFunctions", "Orchestrator.AzureFunctions.csproj");
            var psi = new System.Diagnostics.ProcessStartInfo("dotnet", ["build", project, "--nologo", "-v", "quiet", "-o", output.FullName])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var build = System.Diagnostics.Process.Start(psi)!;
            var stdout = build.StandardOutput.ReadToEndAsync();
            var stderr = build.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await build.WaitForExitAsync(timeout.Token);
            Assert.True(build.ExitCode == 0, $"dotnet build {project} failed:\n{await stdout}\n{await stderr}");
            var path = Path.Combine(output.FullName, "functions.metadata");
            Assert.True(File.Exists(path), $"the build wrote no {path}");
            return ParseMetadata(await File.ReadAllTextAsync(path));
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    private static Dictionary<string, List<(string Type, string Direction, string? Schedule)>> ParseMetadata(string json)
    {
        using var document = JsonDocument.Parse(json);
        var result = new Dictionary<string, List<(string, string, string?)>>(StringComparer.Ordinal);
        foreach (var function in document.RootElement.EnumerateArray())
        {
            var bindings = function.GetProperty("bindings").EnumerateArray()
                .Select(b => (b.GetProperty("type").GetString()!, b.GetProperty("direction").GetString()!,
                    b.TryGetProperty("schedule", out var schedule) ? schedule.GetString() : null))
                .ToList();
            result.Add(function.GetProperty("name").GetString()!, bindings);
        }

        return result;
    }
}

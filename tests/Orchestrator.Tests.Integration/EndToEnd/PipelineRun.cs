using Orchestrator.Simulators.Plane;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.EndToEnd;

/// <summary>One Plane AutoTask driven through issue, PR, merge and green CI to <c>DEPLOYED</c> (the happy path of <see cref="PipelineTests"/>).</summary>
internal static class PipelineRun
{
    /// <summary>Runs it and waits until the queue is quiet; returns the task's instance id and work item.</summary>
    public static async Task<(string Id, SimWorkItem Item)> ToDeployedAsync(Harness h, string title = "Add a health endpoint", string? description = null)
    {
        var (id, item) = description is null ? await h.CreateTaskAsync(title) : await h.CreateTaskAsync(title, description);
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = h.GitHub.Issues(Harness.Repo).Single(i => i.Title.Contains(title, StringComparison.Ordinal));
        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, title, $"Implements it.\n\nCloses #{issue.Number}");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr);
        await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI);
        h.GitHub.StartCi(Harness.Repo, sha);
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "success");
        await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        await h.QuiesceAsync();
        return (id, item);
    }
}

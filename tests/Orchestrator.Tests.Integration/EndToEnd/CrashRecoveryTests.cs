using Orchestrator.Shared.Engine;
using Orchestrator.Tests.Integration.ReadModel;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.EndToEnd;

/// <summary>Crashes at the worst moments; the work resumes without duplicate side effects.</summary>
public sealed class CrashRecoveryTests
{
    [Fact]
    public async Task Host_killed_between_creating_the_issue_and_recording_it_resumes_with_exactly_one_issue()
    {
        await using var h = await Harness.StartAsync(s => s["LEASE_DURATION"] = "3s", startHost: false);
        await using var doomed = await HostProcess.StartAsync(h.Settings);
        h.PointWebhooksAt(doomed.Url);
        var killed = new TaskCompletionSource();
        h.GitHub.AfterIssueCreated = (_, _) =>
        {
            // GitHub has stored the issue; the host dies before it hears the 201.
            if (!killed.Task.IsCompleted)
            {
                doomed.Kill();
                killed.TrySetResult();
            }

            return Task.CompletedTask;
        };

        var (id, item) = await h.CreateTaskAsync();
        await killed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await doomed.WaitForExitAsync();
        Assert.Single(h.GitHub.Issues(Harness.Repo));
        Assert.Equal("TASKSPEC_CREATED", await h.Db.ScalarAsync<string>("SELECT custom_status FROM instances WHERE id = @id", ("id", id)));
        Assert.Equal("running", await h.Db.ScalarAsync<string>("SELECT status FROM work_items WHERE name = 'EnsureForgeIssue'"));

        // A new host on the same database rescues the expired lease and re-runs the activity.
        await h.StartHostAsync();
        var task = await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        await h.QuiesceAsync();

        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        Assert.Equal(issue.HtmlUrl, task.Links.Issue);
        Assert.Contains(task.Timeline, t => t.Summary.Contains("found (created before a restart)", StringComparison.Ordinal));
        Assert.Equal(2, await h.Db.ScalarAsync<int>("SELECT attempt FROM work_items WHERE name = 'EnsureForgeIssue'"));
        Assert.Single(h.Plane.Comments(item.Id));

        // The read model was written by the steps that committed, each once: the killed host's step left nothing.
        var events = await h.Db.EventsAsync(id);
        Assert.Equal(["RECEIVED", "TASKSPEC_CREATED", "ISSUE_CREATED"], events.StatusPath());
        Assert.Equal("false", Assert.Single(events, e => e.Type == "issue_created").Field("created"));
        Assert.Equal(("ISSUE_CREATED", issue.Number), (await h.Db.ScalarAsync<string>("SELECT status FROM tasks WHERE id = @id", ("id", id)),
            await h.Db.ScalarAsync<int>("SELECT issue_number FROM tasks WHERE id = @id", ("id", id))));
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Host_killed_after_posting_a_comment_resumes_without_a_second_comment()
    {
        await using var h = await Harness.StartAsync(s => s["LEASE_DURATION"] = "3s", startHost: false);
        await using var doomed = await HostProcess.StartAsync(h.Settings);
        h.PointWebhooksAt(doomed.Url);

        var (id, item) = await h.CreateTaskAsync();
        // Kill the host the moment the issue-link comment exists in Plane.
        await Harness.EventuallyAsync(() => Task.FromResult(h.Plane.Comments(item.Id).Count > 0), "the first Plane comment");
        doomed.Kill();
        await doomed.WaitForExitAsync();

        await h.StartHostAsync();
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Fix", $"Fixes #{issue.Number}");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        await h.QuiesceAsync();

        Assert.Equal(2, h.Plane.Comments(item.Id).Count);
        Assert.Single(h.Plane.Comments(item.Id), c => c.CommentHtml.Contains(issue.HtmlUrl, StringComparison.Ordinal));
        Assert.True(pr > 0);
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task A_missing_required_setting_fails_startup_naming_it()
    {
        // Projects of ORCH_PROJECTS_JSON use the host-wide Plane and GitHub settings: each missing one is named.
        var settings = new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = "postgres://x:y@127.0.0.1:1/db",
            ["PROJECTS_JSON"] = Harness.ProjectsJson("6f1c2c8e-0000-4000-8000-000000000001"),
        };
        var ex = Assert.Throws<Orchestrator.Shared.Configuration.SettingsException>(() => Orchestrator.Functions.OrchestratorApp.Build([], settings));
        Assert.Contains("ORCH_GITHUB_TOKEN", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ORCH_PLANE_API_URL", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ORCH_PLANE_WORKSPACE_SLUG", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ORCH_DATABASE_URL", ex.Message, StringComparison.Ordinal);

        // Without them (projects live in the database), only the database is required.
        var none = Assert.Throws<Orchestrator.Shared.Configuration.SettingsException>(() => Orchestrator.Functions.OrchestratorApp.Build([], new Dictionary<string, string?>()));
        Assert.Contains("ORCH_DATABASE_URL", none.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ORCH_GITHUB_TOKEN", none.Message, StringComparison.Ordinal);
    }
}

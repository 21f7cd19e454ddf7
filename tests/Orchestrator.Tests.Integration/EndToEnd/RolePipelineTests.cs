using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text.Json;
using Orchestrator.Tests.Integration.Agents;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.EndToEnd;

/// <summary>
/// Mode <c>run</c> end to end: the orchestrator runs a scripted role agent (a real process) stage by
/// stage in git worktrees of a real bare repository, behind the quality gates, opens the PR on the
/// GitHub simulator, and the first issue's PR → merge → CI path takes it to DEPLOYED.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class RolePipelineTests
{
    private static string Git(string cwd, params string[] args)
    {
        var psi = new ProcessStartInfo("git") { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["GIT_AUTHOR_NAME"] = psi.Environment["GIT_COMMITTER_NAME"] = "Test";
        psi.Environment["GIT_AUTHOR_EMAIL"] = psi.Environment["GIT_COMMITTER_EMAIL"] = "test@example.com";
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"git {string.Join(' ', args)}: {error}");
        return output.Trim();
    }

    /// <summary>A bare "remote" with one commit on main holding the pipeline definition.</summary>
    internal static string CreateRemote(TempDirectory dir)
    {
        var remote = dir.Sub("remote.git");
        var seed = dir.Sub("seed");
        Git(dir.Path, "init", "--quiet", "--bare", "--initial-branch=main", remote);
        Git(dir.Path, "init", "--quiet", "--initial-branch=main", seed);
        Directory.CreateDirectory(Path.Combine(seed, ".orchestrator"));
        File.WriteAllText(Path.Combine(seed, ".orchestrator", "pipeline.yml"), """
            version: 1
            default_agent: fake
            max_developer_rounds: 3
            ci: { poll_interval: 1s, timeout: 2m }
            stages: [analysis, architecture, development, review, testing, deploy]
            """);
        File.WriteAllText(Path.Combine(seed, "README.md"), "# webshop\n");
        Git(seed, "add", "-A");
        Git(seed, "commit", "--quiet", "-m", "initial");
        Git(seed, "push", "--quiet", remote, "main");
        return remote;
    }

    internal static async Task<(Harness Harness, string Remote, string Prompts)> StartAsync(
        TempDirectory dir, decimal budgetUsd, bool rejectOnce = true, string? hold = null, Action<Dictionary<string, string?>>? tweak = null)
    {
        var remote = CreateRemote(dir);
        var prompts = dir.Sub("prompts");
        Directory.CreateDirectory(prompts);
        var agent = Path.Combine(AppContext.BaseDirectory, "Fixtures", "agents", "fake-role-agent.sh");
        File.SetUnixFileMode(agent, File.GetUnixFileMode(agent) | UnixFileMode.UserExecute);

        var h = await Harness.StartAsync(s =>
        {
            s["AGENTS_JSON"] = JsonSerializer.Serialize(new[]
            {
                new
                {
                    name = "fake", kind = "generic", binary = agent, prompt_delivery = "file",
                    env = new Dictionary<string, string> { ["FAKE_PROMPT_DIR"] = prompts, ["FAKE_REJECT_ONCE"] = rejectOnce ? "1" : "0", ["FAKE_HOLD"] = hold ?? "" },
                    timeout = "1m", stall_timeout = "30s",
                },
            });
            s["DATA_DIR"] = dir.Sub("data");
            tweak?.Invoke(s);
        }, startHost: false);
        h.Settings["PROJECTS_JSON"] = JsonSerializer.Serialize(new[]
        {
            new { plane_project_id = h.ProjectId, repo = Harness.Repo, work_item_prefix = "WEB", mode = "run", agent = "fake", git_url = remote, budget_usd = budgetUsd },
        });
        await h.StartHostAsync();
        return (h, remote, prompts);
    }

    [Fact]
    public async Task Stages_run_behind_gates_with_a_rollback_and_the_merged_PR_deploys()
    {
        using var dir = new TempDirectory();
        var (harness, remote, prompts) = await StartAsync(dir, budgetUsd: 10m);
        await using var h = harness;
        var (id, item) = await h.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        Assert.DoesNotContain("/opencode implement", issue.Body, StringComparison.Ordinal); // we run the agents ourselves

        // Drive CI for every head the pipeline waits on, until the role pipeline is done.
        var deadline = DateTimeOffset.UtcNow.AddSeconds(90);
        var completed = new HashSet<string>();
        string? status = null;
        while (DateTimeOffset.UtcNow < deadline)
        {
            var task = await h.GetTaskAsync(id);
            status = task?.Agents?.Status;
            if (status is "DEPLOYED" or "FAILED")
            {
                break;
            }

            if (task?.Agents?.Phase == "WaitingCi")
            {
                var head = Git(dir.Path, "--git-dir", remote, "rev-parse", "refs/heads/" + Git(dir.Path, "--git-dir", remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/orch/"));
                if (completed.Add(head))
                {
                    await h.GitHub.CompleteCiAsync(Harness.Repo, head, "success", deliver: false);
                }
            }

            await Task.Delay(100);
        }

        var detail = (await h.GetTaskAsync(id))!;
        var work = await h.Db.ScalarAsync<string>("SELECT string_agg(name || ' ' || status || ' ' || attempt || ' ' || coalesce(last_error, ''), E'\\n' ORDER BY id) FROM work_items WHERE kind = 'activity'");
        Assert.True(status == "DEPLOYED", $"role pipeline ended {status}: {detail.Agents?.FailureReason}\n{string.Join("\n", detail.Timeline.Select(t => t.Summary))}\n{work}");
        Assert.Equal("PR_CREATED", detail.Status);
        Assert.Equal(2, detail.Agents!.Round);
        Assert.Equal(8, detail.Agents.Runs.Count); // analysis, architecture, dev, review (rejected), dev, review, testing, deploy

        // The second developer prompt carries the reviewer's full findings and the round history.
        var devPrompts = Directory.GetFiles(prompts, "*-development.md").Order().ToArray();
        Assert.Equal(2, devPrompts.Length);
        var second = await File.ReadAllTextAsync(devPrompts[1]);
        Assert.Contains("The health endpoint must return JSON, not plain text.", second, StringComparison.Ordinal);
        Assert.Contains("Add a test for the 200 answer.", second, StringComparison.Ordinal);
        Assert.Contains("Round 1", second, StringComparison.Ordinal);

        // One branch, one PR, every artifact on the branch; one status comment per finished stage.
        var branch = Git(dir.Path, "--git-dir", remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/orch/");
        Assert.StartsWith("orch/WEB-", branch, StringComparison.Ordinal);
        var files = Git(dir.Path, "--git-dir", remote, "ls-tree", "-r", "--name-only", branch).Split('\n');
        foreach (var artifact in new[] { "01-brd.md", "02-trz.md", "03-acceptance-criteria.md", "04-test-plan.yaml", "12-review.md", "13-test-report.md", "14-deploy-log.md" })
        {
            Assert.Contains($"docs/work-items/WEB-{item.SequenceId}/{artifact}", files);
        }

        Assert.Contains("src/feature-round-2.txt", files);
        var pr = Assert.Single(h.GitHub.PullRequests(Harness.Repo));
        Assert.Contains($"Fixes #{issue.Number}", pr.Body, StringComparison.Ordinal);
        await h.QuiesceAsync();
        Assert.True(h.Plane.Comments(item.Id).Count >= 8, string.Join("\n", h.Plane.Comments(item.Id).Select(c => c.CommentHtml)));

        // The first issue's path takes over: merge → CI on the merge commit → DEPLOYED.
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr.Number);
        await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI);
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "success");
        await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        h.AssertNoUnexpectedRequests();

        // The role pipeline's facts are on the task's timeline (read model): every stage start, run and gate decision.
        var events = await ReadModel.ReadModelSupport.EventsAsync(h.Db, id);
        Assert.Equal(8, events.Count(e => e.Type == "stage_started"));
        Assert.Equal(8, events.Count(e => e.Type == "agent_run" && e.Field("succeeded") == "true"));
        Assert.Contains(events, e => e.Type == "stage_finished" && e.Field("stage") == "review" && e.Field("outcome") == "rejected");
        Assert.Equal("deploy", events.Last(e => e.Type == "stage_finished").Field("stage"));
    }

    /// <summary>The task branch of the remote (<c>orch/WEB-N-…</c>), or <c>null</c> before the first push.</summary>
    private static string? TaskBranch(TempDirectory dir, string remote)
    {
        var branch = Git(dir.Path, "--git-dir", remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/orch/");
        return branch.Length == 0 ? null : branch;
    }

    private static string[] FilesOn(TempDirectory dir, string remote, string branch) =>
        Git(dir.Path, "--git-dir", remote, "ls-tree", "-r", "--name-only", branch).Split('\n');

    private static Task WaitForFileAsync(string path, string what) =>
        Harness.EventuallyAsync(() => Task.FromResult(File.Exists(path)), what, 60);

    private static string[] DocumentsOf(string stage, int sequence) => [.. (stage switch
    {
        "analysis" => new[] { "01-brd.md", "03-acceptance-criteria.md" },
        "architecture" => ["02-trz.md", "04-test-plan.yaml", "06-adr/0001-decision.md"],
        _ => ["12-review.md"],
    }).Select(a => $"docs/work-items/WEB-{sequence}/{a}")];

    /// <summary>Completes CI of every branch head a development or testing gate waits on until <paramref name="until"/> holds.</summary>
    private static async Task DriveCiUntilAsync(Harness h, TempDirectory dir, string remote, string id, Func<bool> until, string what)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        var completed = new HashSet<string>();
        while (!until())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"timed out waiting for {what}");
            var task = await h.GetTaskAsync(id);
            Assert.NotEqual("FAILED", task?.Agents?.Status);
            if (task?.Agents?.Phase == "WaitingCi" && TaskBranch(dir, remote) is { } branch)
            {
                var head = Git(dir.Path, "--git-dir", remote, "rev-parse", "refs/heads/" + branch);
                if (completed.Add(head))
                {
                    await h.GitHub.CompleteCiAsync(Harness.Repo, head, "success", deliver: false);
                }
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Issue #8 item 10: the PR used to open after analysis (every stage that changed files ensured it), so the
    /// task reached PR_CREATED with a documents-only PR while architecture had not started. Now analysis and
    /// architecture push their documents to the task branch only, and development opens the PR.
    /// </summary>
    [Fact]
    public async Task Role_pipeline_opens_no_PR_before_development()
    {
        using var dir = new TempDirectory();
        var (harness, remote, prompts) = await StartAsync(dir, budgetUsd: 10m, rejectOnce: false, hold: "development");
        await using var h = harness;
        var (id, item) = await h.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));

        // Analysis and architecture finished (their gates passed on the pushed branch); the developer is running.
        await WaitForFileAsync(Path.Combine(prompts, "holding-development"), "the development agent to start");
        var branch = TaskBranch(dir, remote);
        Assert.NotNull(branch);
        var files = FilesOn(dir, remote, branch);
        Assert.All(DocumentsOf("analysis", item.SequenceId).Concat(DocumentsOf("architecture", item.SequenceId)), doc => Assert.Contains(doc, files));
        Assert.DoesNotContain(files, f => f.StartsWith("src/", StringComparison.Ordinal));

        // …but the forge has no PR, and the task is not PR_CREATED.
        Assert.Empty(h.GitHub.PullRequests(Harness.Repo));
        var during = (await h.GetTaskAsync(id))!;
        Assert.Equal("ISSUE_CREATED", during.Status);
        Assert.Equal("DEVELOPMENT", during.Agents?.Status);
        Assert.Null(during.Links.PullRequest);
        Assert.DoesNotContain(h.Plane.Comments(item.Id), c => c.CommentHtml.Contains("/pull/", StringComparison.Ordinal));

        // The PR appears when development pushes code, and with it PR_CREATED.
        await File.WriteAllTextAsync(Path.Combine(prompts, "release-development"), "");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        var pr = Assert.Single(h.GitHub.PullRequests(Harness.Repo));
        Assert.Equal(branch, pr.HeadRef);
        Assert.Equal("open", pr.State);
        Assert.Contains($"Fixes #{issue.Number}", pr.Body, StringComparison.Ordinal);
        Assert.Contains($"src/feature-round-1.txt", FilesOn(dir, remote, branch));
        h.AssertNoUnexpectedRequests();
    }

    /// <summary>
    /// Issue #8 item 10: a person merges the PR while the reviewer's agent runs. The task pipeline sees the merge
    /// and stops the role pipeline: the running agent may finish, but nothing it wrote is pushed, no stage starts,
    /// no second PR opens, one comment names the skipped stages, and merge → CI on the merge commit decides.
    /// </summary>
    [Fact]
    public async Task Merging_the_PR_before_the_pipeline_finished_stops_the_remaining_stages()
    {
        using var dir = new TempDirectory();
        var (harness, remote, prompts) = await StartAsync(dir, budgetUsd: 10m, rejectOnce: false, hold: "review");
        await using var h = harness;
        var (id, item) = await h.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var holding = Path.Combine(prompts, "holding-review");
        await DriveCiUntilAsync(h, dir, remote, id, () => File.Exists(holding), "the review agent to start");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        var pr = Assert.Single(h.GitHub.PullRequests(Harness.Repo));
        var branch = TaskBranch(dir, remote)!;
        var headBefore = Git(dir.Path, "--git-dir", remote, "rev-parse", "refs/heads/" + branch);

        // A person merges while the reviewer works.
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr.Number);
        await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI);
        await Harness.EventuallyAsync(async () => (await h.GetTaskAsync(id))?.Agents?.Status == "TAKEN_OVER", "the role pipeline to stop");

        // The running agent finishes; its review is not pushed and nothing runs after it.
        await File.WriteAllTextAsync(Path.Combine(prompts, "release-review"), "");
        await h.QuiesceAsync();
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM work_items WHERE kind = 'activity' AND name = 'RunStageAgent' AND status <> 'completed'"));
        Assert.Equal(headBefore, Git(dir.Path, "--git-dir", remote, "rev-parse", "refs/heads/" + branch));
        Assert.DoesNotContain(DocumentsOf("review", item.SequenceId)[0], FilesOn(dir, remote, branch));
        Assert.Single(h.GitHub.PullRequests(Harness.Repo));
        Assert.Equal(["analysis", "architecture", "development", "review"],
            Directory.GetFiles(prompts, "*.md").Order().Select(f => Path.GetFileNameWithoutExtension(f)[3..]));

        var takeover = Assert.Single(h.Plane.Comments(item.Id), c => c.CommentHtml.Contains("merged by a person", StringComparison.Ordinal));
        Assert.Contains("before the role pipeline finished", takeover.CommentHtml, StringComparison.Ordinal);
        Assert.Contains("The remaining stages were skipped: review, testing, deploy.", takeover.CommentHtml, StringComparison.Ordinal);
        Assert.Contains($"PR #{pr.Number}", takeover.CommentHtml, StringComparison.Ordinal);

        // The usual path decides: CI on the merge commit → DEPLOYED.
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "success");
        var deployed = await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        Assert.Equal("TAKEN_OVER", deployed.Agents?.Status);
        Assert.Contains(deployed.Timeline, t => t.Summary.Contains("Role pipeline stopped", StringComparison.Ordinal));
        await h.QuiesceAsync();
        Assert.Single(h.Plane.Comments(item.Id), c => c.CommentHtml.Contains("merged by a person", StringComparison.Ordinal));
        h.AssertNoUnexpectedRequests();
    }

    /// <summary>
    /// The merge webhook has not arrived yet when the running stage's agent finishes: the stage finds the merged PR
    /// on the forge before it would push, pushes nothing and stops the pipeline itself; the merge reaches the task
    /// later (here through reconciliation) and its stop request finds the pipeline already stopped — one comment.
    /// </summary>
    [Fact]
    public async Task A_merge_not_reported_yet_stops_the_running_stage_before_it_pushes()
    {
        using var dir = new TempDirectory();
        var (harness, remote, prompts) = await StartAsync(dir, budgetUsd: 10m, rejectOnce: false, hold: "review",
            tweak: s => s["RECONCILE_INTERVAL"] = "1s");
        await using var h = harness;
        var (id, item) = await h.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        var holding = Path.Combine(prompts, "holding-review");
        await DriveCiUntilAsync(h, dir, remote, id, () => File.Exists(holding), "the review agent to start");
        var pr = Assert.Single(h.GitHub.PullRequests(Harness.Repo));
        var branch = TaskBranch(dir, remote)!;
        var headBefore = Git(dir.Path, "--git-dir", remote, "rev-parse", "refs/heads/" + branch);

        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr.Number, deliver: false);
        await File.WriteAllTextAsync(Path.Combine(prompts, "release-review"), "");
        await Harness.EventuallyAsync(async () => (await h.GetTaskAsync(id))?.Agents?.Status == "TAKEN_OVER", "the review stage to find the merge");
        Assert.Equal(headBefore, Git(dir.Path, "--git-dir", remote, "rev-parse", "refs/heads/" + branch));
        Assert.Single(h.GitHub.PullRequests(Harness.Repo));

        // Reconciliation brings the merge to the task; CI on the merge commit decides.
        await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI);
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "success");
        await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        await h.QuiesceAsync();
        Assert.Single(h.Plane.Comments(item.Id), c => c.CommentHtml.Contains("merged by a person", StringComparison.Ordinal));
        Assert.Empty(Directory.GetFiles(prompts, "*-testing.md"));
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task A_spent_project_budget_fails_the_task_before_any_agent_runs()
    {
        using var dir = new TempDirectory();
        var (harness, _, prompts) = await StartAsync(dir, budgetUsd: 0m);
        await using var h = harness;

        var (id, item) = await h.CreateTaskAsync();
        var task = await h.WaitForStatusAsync(id, TaskStatus.FAILED);

        Assert.Equal("Agents", task.FailedStep);
        Assert.Contains("budget exceeded", task.FailureReason, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(prompts));
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM agent_runs"));
        await h.QuiesceAsync();
        Assert.Contains(h.Plane.Comments(item.Id), c => c.CommentHtml.Contains("budget exceeded", StringComparison.OrdinalIgnoreCase));
        h.AssertNoUnexpectedRequests();
    }
}

using System.Diagnostics;
using System.Runtime.Versioning;
using System.Text.Json;
using Orchestrator.Simulators.Telegram;
using Orchestrator.Tests.Integration.Agents;
using Orchestrator.Tests.Integration.EndToEnd;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.Telegram;

/// <summary>
/// Issue #12 §4 end to end in mode run: the role pipeline (a scripted agent, a real git remote) reaches the human gate
/// after analysis; the approval alert carries Approve / Reject; presses by an approver decide (a foreign user's change
/// nothing, a second press is "already decided"); Reject asks for the reason, which becomes the stage's findings; the
/// tracker item is moved to match. The live message is one message, edited through the whole pipeline.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class TelegramApprovalTests
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

    private static async Task<(Harness H, TelegramSimulator Telegram, string Remote, string Prompts)> StartAsync(TempDirectory dir)
    {
        var remote = dir.Sub("remote.git");
        var seed = dir.Sub("seed");
        Git(dir.Path, "init", "--quiet", "--bare", "--initial-branch=main", remote);
        Git(dir.Path, "init", "--quiet", "--initial-branch=main", seed);
        Directory.CreateDirectory(Path.Combine(seed, ".orchestrator"));
        File.WriteAllText(Path.Combine(seed, ".orchestrator", "pipeline.yml"), """
            version: 1
            default_agent: fake
            max_developer_rounds: 2
            approval: { after: analysis, approved_state: Approved, rejected_state: Rejected, poll_interval: 1h }
            ci: { poll_interval: 1s, timeout: 2m }
            stages: [analysis, development, review]
            """);
        File.WriteAllText(Path.Combine(seed, "README.md"), "# webshop\n");
        Git(seed, "add", "-A");
        Git(seed, "commit", "--quiet", "-m", "initial");
        Git(seed, "push", "--quiet", remote, "main");
        var prompts = dir.Sub("prompts");
        Directory.CreateDirectory(prompts);
        var agent = Path.Combine(AppContext.BaseDirectory, "Fixtures", "agents", "fake-role-agent.sh");
        File.SetUnixFileMode(agent, File.GetUnixFileMode(agent) | UnixFileMode.UserExecute);

        var telegram = await TelegramSimulator.StartAsync(TelegramWorld.Token);
        var h = await Harness.StartAsync(s =>
        {
            TelegramWorld.Configure(s, telegram);
            s["AGENTS_JSON"] = JsonSerializer.Serialize(new[]
            {
                new
                {
                    name = "fake", kind = "generic", binary = agent, prompt_delivery = "file",
                    env = new Dictionary<string, string> { ["FAKE_PROMPT_DIR"] = prompts, ["FAKE_REJECT_ONCE"] = "0", ["FAKE_HOLD"] = "" },
                    timeout = "1m", stall_timeout = "30s",
                },
            });
            s["DATA_DIR"] = dir.Sub("data");
        }, startHost: false);
        h.Settings["PROJECTS_JSON"] = JsonSerializer.Serialize(new[]
        {
            new { plane_project_id = h.ProjectId, repo = Harness.Repo, work_item_prefix = "WEB", mode = "run", agent = "fake", git_url = remote, budget_usd = 10m },
        });
        h.Plane.AddState(h.ProjectId, "Approved", "started");
        h.Plane.AddState(h.ProjectId, "Rejected", "started");
        await h.StartHostAsync();
        await TelegramWorld.ConnectChatAsync(h.Api);
        return (h, telegram, remote, prompts);
    }

    private static async Task<SimMessage> WaitForApprovalRequestAsync(TelegramSimulator telegram)
    {
        await TelegramWorld.WaitForMessageAsync(telegram, m => m.Buttons.Count > 0, "the approval request");
        return Assert.Single(telegram.Messages(TelegramWorld.Chat), m => m.Buttons.Count > 0);
    }

    private static async Task<(string Text, bool Alert)> AnswerAsync(TelegramSimulator telegram, string query)
    {
        await Harness.EventuallyAsync(() => Task.FromResult(telegram.CallbackAnswer(query) is not null), "the button press to be answered");
        return telegram.CallbackAnswer(query)!.Value;
    }

    [Fact]
    public async Task Approve_by_button_from_an_approver_moves_the_pipeline_on_and_the_tracker_follows_one_live_message_throughout()
    {
        using var dir = new TempDirectory();
        var (harness, telegram, remote, _) = await StartAsync(dir);
        await using var h = harness;
        await using var __ = telegram;
        var (id, item) = await h.CreateTaskAsync();
        var request = await WaitForApprovalRequestAsync(telegram);
        Assert.False(request.Silent); // an alert notifies
        Assert.Contains("Approval needed", request.Text, StringComparison.Ordinal);
        Assert.Contains("analysis", request.Text, StringComparison.Ordinal);
        var approve = request.Buttons[0][0].Data;
        Assert.Matches("^ap:[0-9]+:a$", approve);

        // Someone who is not an approver: answered "not allowed", nothing changes.
        var foreign = await telegram.PressButtonAsync(TelegramWorld.Chat, request.MessageId, TelegramWorld.Mallory, "mallory", approve);
        var refused = await AnswerAsync(telegram, foreign);
        Assert.Contains("not allowed", refused.Text, StringComparison.Ordinal);
        Assert.True(refused.Alert);
        Assert.Equal("WAITING_APPROVAL", (await h.GetTaskAsync(id))!.Agents?.Status);

        // The approver: one tap approves; the pipeline goes on to development.
        var press = await telegram.PressButtonAsync(TelegramWorld.Chat, request.MessageId, TelegramWorld.Alice, "alice", approve);
        Assert.Contains("Approved", (await AnswerAsync(telegram, press)).Text, StringComparison.Ordinal);
        await Harness.EventuallyAsync(async () => (await h.GetTaskAsync(id))?.Agents?.Status is "DEVELOPMENT" or "REVIEW" or "DEPLOYED", "development to start");

        // A second press after the decision says so.
        var again = await telegram.PressButtonAsync(TelegramWorld.Chat, request.MessageId, TelegramWorld.Alice, "alice", approve);
        Assert.Contains("Already decided: approved by @alice", (await AnswerAsync(telegram, again)).Text, StringComparison.Ordinal);

        // The tracker follows (moved to Approved, with a comment), and the request shows the decision without buttons.
        await Harness.EventuallyAsync(() => Task.FromResult(h.Plane.WorkItem(item.Id).StateId == h.Plane.State(h.ProjectId, "Approved").Id), "Plane to show Approved");
        await Harness.EventuallyAsync(() => Task.FromResult(h.Plane.Comments(item.Id).Any(c => c.CommentHtml.Contains("Approved in Telegram by @alice", StringComparison.Ordinal))), "the Plane comment");
        await TelegramWorld.WaitForMessageAsync(telegram, m => m.MessageId == request.MessageId && m.Buttons.Count == 0 && m.Text.Contains("Approved", StringComparison.Ordinal), "the request to show the decision");

        // Drive CI on the branch until the role pipeline is done.
        var deadline = DateTimeOffset.UtcNow.AddSeconds(90);
        var completed = new HashSet<string>();
        while ((await h.GetTaskAsync(id))?.Agents is { Status: not ("DEPLOYED" or "FAILED") } agents)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "the role pipeline did not finish");
            var branch = Git(dir.Path, "--git-dir", remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/orch/");
            if (agents.Phase == "WaitingCi" && branch.Length > 0 && completed.Add(Git(dir.Path, "--git-dir", remote, "rev-parse", "refs/heads/" + branch)))
            {
                await h.GitHub.CompleteCiAsync(Harness.Repo, Git(dir.Path, "--git-dir", remote, "rev-parse", "refs/heads/" + branch), "success", deliver: false);
            }

            await Task.Delay(100);
        }

        Assert.Equal("DEPLOYED", (await h.GetTaskAsync(id))!.Agents!.Status);
        var pr = Assert.Single(h.GitHub.PullRequests(Harness.Repo));
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr.Number);
        await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI);
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "success");
        await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        await TelegramWorld.WaitForMessageAsync(telegram, m => m.Silent && m.Text.Contains("lead time", StringComparison.Ordinal), "the live message's final block");
        await h.QuiesceAsync();

        // One live message for the whole pipeline, then only edits; the approval request the only other message.
        var live = Assert.Single(TelegramWorld.LiveMessages(telegram));
        Assert.Equal(2, telegram.CallsOf("sendMessage").Count(c => c.Answer == 200));
        Assert.True(live.Edits >= 5, $"only {live.Edits} edits");
        foreach (var stage in new[] { "analysis", "development", "review" })
        {
            Assert.Contains($"✅ {stage} · fake", live.Text, StringComparison.Ordinal);
        }

        Assert.Contains("👤 approval:", live.Text, StringComparison.Ordinal);
        Assert.Contains("agent time", live.Text, StringComparison.Ordinal);
        Assert.Contains("<b>DEPLOYED</b> · wall", live.Text, StringComparison.Ordinal);
        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM telegram_alerts WHERE task_id = @id", ("id", id)));
        h.AssertNoUnexpectedRequests();
        TelegramWorld.AssertNoUnexpected(telegram);
    }

    [Fact]
    public async Task Reject_by_button_asks_for_the_reason_which_fails_the_stage_with_it_as_findings_for_the_next_run()
    {
        using var dir = new TempDirectory();
        var (harness, telegram, _, prompts) = await StartAsync(dir);
        await using var h = harness;
        await using var __ = telegram;
        var (id, item) = await h.CreateTaskAsync();
        var request = await WaitForApprovalRequestAsync(telegram);
        var reject = request.Buttons[0][1].Data;
        Assert.Matches("^ap:[0-9]+:r$", reject);

        // A foreign press on Reject changes nothing either.
        var foreign = await telegram.PressButtonAsync(TelegramWorld.Chat, request.MessageId, TelegramWorld.Mallory, "mallory", reject);
        Assert.Contains("not allowed", (await AnswerAsync(telegram, foreign)).Text, StringComparison.Ordinal);

        var press = await telegram.PressButtonAsync(TelegramWorld.Chat, request.MessageId, TelegramWorld.Alice, "alice", reject);
        Assert.Contains("Reply to my message with the reason", (await AnswerAsync(telegram, press)).Text, StringComparison.Ordinal);
        await TelegramWorld.WaitForMessageAsync(telegram, m => m.ForceReply, "the reason prompt");
        var prompt = Assert.Single(telegram.Messages(TelegramWorld.Chat), m => m.ForceReply);
        Assert.Equal(request.MessageId, prompt.ReplyTo);
        Assert.Equal("WAITING_APPROVAL", (await h.GetTaskAsync(id))!.Agents?.Status);

        // Someone else's reply to the prompt is not the reason.
        await telegram.SendUserMessageAsync(TelegramWorld.Chat, TelegramWorld.Mallory, "mallory", "whatever", replyTo: prompt.MessageId);
        await Task.Delay(1000);
        Assert.Equal("WAITING_APPROVAL", (await h.GetTaskAsync(id))!.Agents?.Status);

        const string Reason = "The scope is wrong: the endpoint must answer JSON <not text>.";
        await telegram.SendUserMessageAsync(TelegramWorld.Chat, TelegramWorld.Alice, "alice", Reason, replyTo: prompt.MessageId);
        var failed = await h.WaitForStatusAsync(id, TaskStatus.FAILED);
        Assert.Contains("rejected at approval", failed.FailureReason, StringComparison.Ordinal);
        Assert.Contains("The scope is wrong", failed.FailureReason, StringComparison.Ordinal);
        await TelegramWorld.WaitForMessageAsync(telegram, m => m.MessageId == request.MessageId && m.Buttons.Count == 0 && m.Text.Contains("Rejected", StringComparison.Ordinal), "the request to show the rejection");
        var decided = Assert.Single(telegram.Messages(TelegramWorld.Chat), m => m.MessageId == request.MessageId);
        Assert.Contains("&lt;not text&gt;", decided.Text, StringComparison.Ordinal); // escaped, not markup
        await Harness.EventuallyAsync(() => Task.FromResult(h.Plane.WorkItem(item.Id).StateId == h.Plane.State(h.ProjectId, "Rejected").Id), "Plane to show Rejected");
        await TelegramWorld.WaitForMessageAsync(telegram, m => m.Text.StartsWith("Rejected. The reason goes to the next run", StringComparison.Ordinal), "the confirmation");

        // A person's decision is not an incident: no failure alert besides the request itself.
        await h.QuiesceAsync();
        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM telegram_alerts WHERE task_id = @id", ("id", id)));

        // The retry runs analysis again with the reason as its findings.
        using var retry = await h.Api.PostAsync($"api/tasks/{id}/retry", null);
        Assert.True(retry.IsSuccessStatusCode, await retry.Content.ReadAsStringAsync());
        await Harness.EventuallyAsync(() => Task.FromResult(Directory.GetFiles(prompts, "*-analysis.md").Length == 2), "the second analysis run");
        var second = await File.ReadAllTextAsync(Directory.GetFiles(prompts, "*-analysis.md").Order().Last());
        Assert.Contains("The scope is wrong: the endpoint must answer JSON <not text>.", second, StringComparison.Ordinal);
        h.AssertNoUnexpectedRequests();
        TelegramWorld.AssertNoUnexpected(telegram);
    }
}

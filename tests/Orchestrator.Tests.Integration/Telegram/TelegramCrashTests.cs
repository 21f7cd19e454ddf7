using System.Net.Http.Headers;
using Orchestrator.Simulators.Telegram;
using Orchestrator.Tests.Integration.EndToEnd;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.Telegram;

/// <summary>Issue #12 §3: each alert at most once, across a host killed at the worst moment and the host that resumes.</summary>
public sealed class TelegramCrashTests
{
    private static async Task WaitForStepAsync(Harness h, string id, TaskStatus status) =>
        await Harness.EventuallyAsync(async () => await h.Db.ScalarAsync<string>("SELECT coalesce(max(custom_status), '') FROM instances WHERE id = @id", ("id", id)) == status.ToString(),
            $"{id} to reach {status}", 60);

    [Fact]
    public async Task Host_killed_after_Telegram_stored_an_alert_and_before_it_heard_the_answer_never_sends_it_twice()
    {
        await using var telegram = await TelegramSimulator.StartAsync(TelegramWorld.Token);
        await using var h = await Harness.StartAsync(s =>
        {
            TelegramWorld.Configure(s, telegram);
            s["LEASE_DURATION"] = "3s";
        }, startHost: false);
        await using var doomed = await HostProcess.StartAsync(h.Settings);
        h.PointWebhooksAt(doomed.Url);
        using (var api = new HttpClient { BaseAddress = doomed.Url })
        {
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Harness.AdminToken);
            await TelegramWorld.ConnectChatAsync(api);
        }

        // Telegram has stored the CI alert; the host dies before it hears the message id.
        var killed = new TaskCompletionSource();
        telegram.AfterSend = message =>
        {
            if (!message.Silent && message.Text.Contains("failed after merge", StringComparison.Ordinal) && !killed.Task.IsCompleted)
            {
                doomed.Kill();
                killed.TrySetResult();
            }

            return Task.CompletedTask;
        };

        var (id, _) = await h.CreateTaskAsync();
        await WaitForStepAsync(h, id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Fix", $"Closes #{issue.Number}");
        await WaitForStepAsync(h, id, TaskStatus.PR_CREATED);
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr);
        await WaitForStepAsync(h, id, TaskStatus.WAITING_CI);
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "failure");
        await killed.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await doomed.WaitForExitAsync();
        Assert.Equal("sending", await h.Db.ScalarAsync<string>("SELECT status FROM telegram_alerts WHERE task_id = @id", ("id", id)));

        // The next host rescues the expired lease: the alert's send had begun and its outcome is unknown, so it is not repeated.
        await h.StartHostAsync();
        await Harness.EventuallyAsync(async () => await h.Db.ScalarAsync<string>("SELECT status FROM telegram_alerts WHERE task_id = @id", ("id", id)) == "uncertain",
            "the resumed alert activity", 60);
        await TelegramWorld.WaitForMessageAsync(telegram, m => m.Silent && m.Text.Contains("<code>FAILED</code>", StringComparison.Ordinal), "the live message at FAILED");
        await h.QuiesceAsync();

        Assert.Single(telegram.Messages(TelegramWorld.Chat), m => m.Text.Contains("failed after merge", StringComparison.Ordinal));
        Assert.Single(TelegramWorld.LiveMessages(telegram));
        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM telegram_alerts WHERE task_id = @id", ("id", id)));
        TelegramWorld.AssertNoUnexpected(telegram);
    }

    [Fact]
    public async Task An_alert_not_yet_sent_when_the_host_died_is_sent_once_by_the_host_that_resumes()
    {
        await using var telegram = await TelegramSimulator.StartAsync(TelegramWorld.Token);
        await using var h = await Harness.StartAsync(s =>
        {
            TelegramWorld.Configure(s, telegram);
            s["LEASE_DURATION"] = "3s";
        }, startHost: false);
        await using var doomed = await HostProcess.StartAsync(h.Settings);
        h.PointWebhooksAt(doomed.Url);
        using (var api = new HttpClient { BaseAddress = doomed.Url })
        {
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Harness.AdminToken);
            await TelegramWorld.ConnectChatAsync(api);
        }

        var (id, _) = await h.CreateTaskAsync();
        await WaitForStepAsync(h, id, TaskStatus.ISSUE_CREATED);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Fix", $"Closes #{issue.Number}");
        await WaitForStepAsync(h, id, TaskStatus.PR_CREATED);
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr);
        await WaitForStepAsync(h, id, TaskStatus.WAITING_CI);

        // Telegram is failing (500) when the alert is due; the host dies while the alert waits for its retry.
        for (var i = 0; i < 20; i++)
        {
            telegram.InjectFault("sendMessage", TelegramFault.ServerError);
        }

        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "failure");
        await WaitForStepAsync(h, id, TaskStatus.FAILED);
        await Harness.EventuallyAsync(() => Task.FromResult(telegram.CallsOf("sendMessage").Any(c => c.Answer == 500 && c.Text?.Contains("failed after merge", StringComparison.Ordinal) == true)),
            "the alert's first try", 60);
        doomed.Kill();
        await doomed.WaitForExitAsync();
        Assert.Equal("pending", await h.Db.ScalarAsync<string>("SELECT status FROM telegram_alerts WHERE task_id = @id", ("id", id)));

        // Telegram recovers; the resumed host sends the pending alert exactly once.
        telegram.ClearFaults("sendMessage");
        await h.StartHostAsync();
        await TelegramWorld.WaitForMessageAsync(telegram, m => !m.Silent && m.Text.Contains("failed after merge", StringComparison.Ordinal), "the alert after the restart", 90);
        await h.QuiesceAsync();
        Assert.Single(telegram.Messages(TelegramWorld.Chat), m => m.Text.Contains("failed after merge", StringComparison.Ordinal));
        Assert.Equal("sent", await h.Db.ScalarAsync<string>("SELECT status FROM telegram_alerts WHERE task_id = @id", ("id", id)));
        TelegramWorld.AssertNoUnexpected(telegram);
    }
}

using Orchestrator.Simulators.Telegram;
using Orchestrator.Tests.Integration.EndToEnd;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.Telegram;

/// <summary>
/// Issue #12 §2–3 end to end (mode dispatch, the real host, Plane and GitHub simulators, the loopback Bot API): one live
/// message per task, then only edits; a deleted message is replaced once; "not modified" is success; 429 is honoured;
/// a CI failure after the merge is one alert.
/// </summary>
public sealed class TelegramLiveMessageTests
{
    private static async Task<(Harness H, TelegramSimulator Telegram)> StartAsync(string chatInterval = "50ms", Action<Dictionary<string, string?>>? tweak = null)
    {
        var telegram = await TelegramSimulator.StartAsync(TelegramWorld.Token);
        var h = await Harness.StartAsync(s =>
        {
            TelegramWorld.Configure(s, telegram, chatInterval);
            tweak?.Invoke(s);
        });
        await TelegramWorld.ConnectChatAsync(h.Api);
        return (h, telegram);
    }

    [Fact]
    public async Task One_message_per_task_then_only_edits_and_a_CI_failure_after_merge_is_one_alert()
    {
        var (h, telegram) = await StartAsync();
        await using var _ = h;
        await using var __ = telegram;

        var (id, _) = await h.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        await TelegramWorld.WaitForMessageAsync(telegram, m => m.Silent && m.Text.Contains("ISSUE_CREATED", StringComparison.Ordinal), "the live message at ISSUE_CREATED");
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));

        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Add /healthz", $"Closes #{issue.Number}");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr);
        await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI);
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "failure");
        await h.WaitForStatusAsync(id, TaskStatus.FAILED);
        await TelegramWorld.WaitForMessageAsync(telegram, m => !m.Silent && m.Text.Contains("failed after merge", StringComparison.Ordinal), "the CI alert");
        await TelegramWorld.WaitForMessageAsync(telegram, m => m.Silent && m.Text.Contains("<code>FAILED</code>", StringComparison.Ordinal), "the live message at FAILED");
        await h.QuiesceAsync();

        // Exactly one live message, sent silently once and edited in place for every later status.
        var live = Assert.Single(TelegramWorld.LiveMessages(telegram));
        Assert.Single(telegram.CallsOf("sendMessage"), c => c.Body["disable_notification"]?.GetValue<bool>() == true);
        var edits = telegram.CallsOf("editMessageText");
        Assert.NotEmpty(edits);
        Assert.All(edits, e => Assert.Equal(live.MessageId, (int)e.Body["message_id"]!.GetValue<long>()));
        Assert.Equal("html", telegram.CallsOf("sendMessage")[0].Body["parse_mode"]?.GetValue<string>().ToLowerInvariant()); // Telegram reads the mode case-insensitively
        Assert.Contains("WEB-", live.Text, StringComparison.Ordinal);
        Assert.Contains("Add a health endpoint", live.Text, StringComparison.Ordinal);

        // Links to loopback simulators are left out rather than sent broken.
        Assert.DoesNotContain("127.0.0.1", string.Join("\n", telegram.Messages(TelegramWorld.Chat).Select(m => m.Text)), StringComparison.Ordinal);

        // One incident, one alert: the red CI failed the task, and only the CI alert went out (notifying).
        var alerts = telegram.Messages(TelegramWorld.Chat).Where(m => !m.Silent).ToList();
        var alert = Assert.Single(alerts);
        Assert.Contains("CI failed", alert.Text, StringComparison.Ordinal);
        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM telegram_alerts WHERE task_id = @id AND status = 'sent'", ("id", id)));

        // Edits are cheap: nothing is sent when the rendering did not change (each call changed the text).
        Assert.Equal(edits.Count, edits.Select(e => e.Text).Distinct().Count());
        h.AssertNoUnexpectedRequests();
        TelegramWorld.AssertNoUnexpected(telegram);
    }

    [Fact]
    public async Task A_deleted_live_message_is_sent_again_once_and_not_modified_counts_as_done()
    {
        var (h, telegram) = await StartAsync();
        await using var _ = h;
        await using var __ = telegram;

        var (id, _) = await h.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        await TelegramWorld.WaitForMessageAsync(telegram, m => m.Silent && m.Text.Contains("ISSUE_CREATED", StringComparison.Ordinal), "the live message");
        await h.QuiesceAsync();
        var first = Assert.Single(TelegramWorld.LiveMessages(telegram));

        // A person deletes the live message: the next transition sends a new one and stores its id.
        telegram.DeleteMessage(TelegramWorld.Chat, first.MessageId);
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        var pr = await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Add /healthz", $"Closes #{issue.Number}");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        await TelegramWorld.WaitForMessageAsync(telegram, m => m.Silent && !m.Deleted && m.Text.Contains("PR_CREATED", StringComparison.Ordinal), "a new live message");
        await h.QuiesceAsync();
        var second = Assert.Single(TelegramWorld.LiveMessages(telegram), m => !m.Deleted);
        Assert.NotEqual(first.MessageId, second.MessageId);
        Assert.Equal(second.MessageId, await h.Db.ScalarAsync<int>("SELECT message_id FROM telegram_messages WHERE task_id = @id", ("id", id)));

        // Telegram says "message is not modified" (someone else already showed this text): that is success, not a retry.
        telegram.InjectFault("editMessageText", TelegramFault.NotModified);
        var sha = await h.GitHub.MergePullRequestAsync(Harness.Repo, pr);
        await h.WaitForStatusAsync(id, TaskStatus.WAITING_CI);
        await Harness.EventuallyAsync(() => Task.FromResult(telegram.CallsOf("editMessageText").Any(c => c.Answer == 400)), "the not-modified answer");
        await h.QuiesceAsync();
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM work_items WHERE name = 'NotifyTask' AND (status = 'failed' OR attempt > 1)"));

        // The next change is an edit of the same message again.
        await h.GitHub.CompleteCiAsync(Harness.Repo, sha, "success");
        await h.WaitForStatusAsync(id, TaskStatus.DEPLOYED);
        await TelegramWorld.WaitForMessageAsync(telegram, m => m.MessageId == second.MessageId && m.Text.Contains("lead time", StringComparison.Ordinal), "the final block");
        Assert.Equal(2, telegram.CallsOf("sendMessage").Count);
        h.AssertNoUnexpectedRequests();
        TelegramWorld.AssertNoUnexpected(telegram);
    }

    [Fact]
    public async Task Too_many_requests_is_honoured_with_its_retry_after_and_a_failed_send_is_retried_without_a_second_message()
    {
        var (h, telegram) = await StartAsync();
        await using var _ = h;
        await using var __ = telegram;

        // The first send meets a 429 (retry after 2 s), the next a 500 in the Bot API's shape: neither did anything.
        telegram.InjectFault("sendMessage", TelegramFault.TooManyRequests, retryAfter: 2);
        telegram.InjectFault("sendMessage", TelegramFault.ServerError);
        var (id, _) = await h.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        await TelegramWorld.WaitForMessageAsync(telegram, m => m.Silent, "the live message", seconds: 60);
        await h.QuiesceAsync();
        await Harness.EventuallyAsync(async () => await h.Db.ScalarAsync<long>("SELECT count(*) FROM work_items WHERE name = 'NotifyTask' AND status IN ('pending','running')") == 0, "notifications to settle");

        var sends = telegram.CallsOf("sendMessage");
        Assert.Equal([429, 500, 200], sends.Select(c => c.Answer).Take(3));
        Assert.True(sends[1].At - sends[0].At >= TimeSpan.FromSeconds(1.9), $"the retry came {(sends[1].At - sends[0].At).TotalSeconds:0.00} s after the 429");
        Assert.Single(TelegramWorld.LiveMessages(telegram));
        h.AssertNoUnexpectedRequests();
        TelegramWorld.AssertNoUnexpected(telegram);
    }

    [Fact]
    public async Task A_send_whose_answer_never_came_is_not_repeated()
    {
        var (h, telegram) = await StartAsync();
        await using var _ = h;
        await using var __ = telegram;

        // A proxy answers 502 after Telegram stored the message: the outcome is unknown to us, so we never send again.
        telegram.InjectFault("sendMessage", TelegramFault.BadGatewayAfterDoing);
        var (id, _) = await h.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        await h.QuiesceAsync();
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Fix", $"Closes #{issue.Number}");
        await h.WaitForStatusAsync(id, TaskStatus.PR_CREATED);
        await h.QuiesceAsync();

        Assert.Single(telegram.Messages(TelegramWorld.Chat));
        Assert.Single(telegram.CallsOf("sendMessage"));
        Assert.Equal("uncertain", await h.Db.ScalarAsync<string>("SELECT status FROM telegram_messages WHERE task_id = @id", ("id", id)));
        h.AssertNoUnexpectedRequests();
        TelegramWorld.AssertNoUnexpected(telegram);
    }
}

using System.Net;
using Orchestrator.Functions.Telegram;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Simulators.Telegram;
using Orchestrator.Tests.Integration.EndToEnd;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.Telegram;

/// <summary>Issue #12 §5–6: tasks and status from a chat (long polling), webhook mode with its secret token.</summary>
public sealed class TelegramChatTests
{
    private static async Task<(Harness H, TelegramSimulator Telegram)> StartAsync(Action<Dictionary<string, string?>>? tweak = null)
    {
        var telegram = await TelegramSimulator.StartAsync(TelegramWorld.Token);
        var h = await Harness.StartAsync(s =>
        {
            TelegramWorld.Configure(s, telegram);
            tweak?.Invoke(s);
        });
        await TelegramWorld.ConnectChatAsync(h.Api);
        return (h, telegram);
    }

    private static Task<SimMessage> ReplyToAsync(TelegramSimulator telegram, int messageId) =>
        Harness.EventuallyAsync(() => Task.FromResult(telegram.Messages(TelegramWorld.Chat).Any(m => m.ReplyTo == messageId)), $"a reply to message {messageId}")
            .ContinueWith(_ => telegram.Messages(TelegramWorld.Chat).First(m => m.ReplyTo == messageId), TaskScheduler.Default);

    [Fact]
    public async Task Slash_task_creates_the_tracker_item_with_AutoTask_and_the_pipeline_reaches_ISSUE_CREATED()
    {
        var (h, telegram) = await StartAsync();
        await using var _ = h;
        await using var __ = telegram;

        // Not a task creator: refused, with the id a project admin needs.
        var (_, refusedMessage) = await telegram.SendUserMessageAsync(TelegramWorld.Chat, TelegramWorld.Mallory, "mallory", "/task Sneaky\nDo things");
        var refused = await ReplyToAsync(telegram, refusedMessage);
        Assert.Contains("not allowed", refused.Text, StringComparison.Ordinal);
        Assert.Contains(TelegramWorld.Mallory.ToString(System.Globalization.CultureInfo.InvariantCulture), refused.Text, StringComparison.Ordinal);

        var (updateId, asked) = await telegram.SendUserMessageAsync(TelegramWorld.Chat, TelegramWorld.Alice, "alice",
            "/task Add a health endpoint\nPlease add GET /healthz.\n\nIt returns 200 & JSON.\nrepo: acme/webshop");
        var created = await ReplyToAsync(telegram, asked);
        Assert.Contains("Created <b>WEB-1</b> Add a health endpoint in Plane", created.Text, StringComparison.Ordinal);

        // The item is in Plane with the AutoTask label and the description; its created webhook starts the pipeline.
        var item = Assert.Single(h.Plane.Labels(h.ProjectId), l => l.Name == "AutoTask");
        await Harness.EventuallyAsync(async () => await h.Db.ScalarAsync<long>("SELECT count(*) FROM tasks") == 1, "the task to start");
        var workItemId = await h.Db.ScalarAsync<string>("SELECT tracker_item_id FROM tasks LIMIT 1");
        var work = h.Plane.WorkItem(workItemId);
        Assert.Contains(item.Id, work.LabelIds);
        Assert.Contains("It returns 200 &amp; JSON.", work.DescriptionHtml, StringComparison.Ordinal);
        Assert.DoesNotContain("repo:", work.DescriptionHtml, StringComparison.Ordinal);
        var id = TaskPipelineOrchestration.InstanceIdFor(workItemId);
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        Assert.Single(h.GitHub.Issues(Harness.Repo));

        // /status KEY answers with the task's status line; unknown commands get the help text.
        var (_, status) = await telegram.SendUserMessageAsync(TelegramWorld.Chat, TelegramWorld.Mallory, "mallory", "/status web-1");
        Assert.Contains("<code>ISSUE_CREATED</code>", (await ReplyToAsync(telegram, status)).Text, StringComparison.Ordinal);
        var (_, unknown) = await telegram.SendUserMessageAsync(TelegramWorld.Chat, TelegramWorld.Alice, "alice", "/deploy now");
        Assert.Contains("/task Title", (await ReplyToAsync(telegram, unknown)).Text, StringComparison.Ordinal);

        // Each update was handled once: the poller confirmed them, and the same update id never produced a second item.
        await h.QuiesceAsync();
        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM tasks"));
        Assert.Equal(4L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM telegram_updates"));
        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM work_items WHERE unique_key = @k", ("k", $"sys|activity|tg-update:{telegram.BotId}:{updateId}")));
        Assert.Equal(0, telegram.PendingUpdates);
        h.AssertNoUnexpectedRequests();
        TelegramWorld.AssertNoUnexpected(telegram);
    }

    [Fact]
    public async Task Updates_are_processed_once_across_a_restart_of_the_host()
    {
        var (h, telegram) = await StartAsync();
        await using var _ = h;
        await using var __ = telegram;
        var (_, first) = await telegram.SendUserMessageAsync(TelegramWorld.Chat, TelegramWorld.Alice, "alice", "/help");
        await ReplyToAsync(telegram, first);
        await h.QuiesceAsync();

        // The next host on the same database polls from the stored offset: the handled update is not seen again.
        await h.StopHostAsync();
        var (_, second) = await telegram.SendUserMessageAsync(TelegramWorld.Chat, TelegramWorld.Alice, "alice", "/help again");
        await h.StartHostAsync();
        await ReplyToAsync(telegram, second);
        await h.QuiesceAsync();
        Assert.Single(telegram.Messages(TelegramWorld.Chat), m => m.ReplyTo == first);
        Assert.Single(telegram.Messages(TelegramWorld.Chat), m => m.ReplyTo == second);
        Assert.Equal(2L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM telegram_updates"));
        TelegramWorld.AssertNoUnexpected(telegram);
    }

    [Fact]
    public async Task Webhook_mode_sets_the_webhook_with_a_secret_token_and_refuses_updates_without_it()
    {
        var telegram = await TelegramSimulator.StartAsync(TelegramWorld.Token);
        await using var __ = telegram;
        await using var h = await Harness.StartAsync(s => TelegramWorld.Configure(s, telegram), startHost: false);

        // ORCH_PUBLIC_URL: the host is reachable, so the bot gets a webhook instead of polling.
        h.Settings["URLS"] = $"http://127.0.0.1:{FreePort()}";
        h.Settings["PUBLIC_URL"] = h.Settings["URLS"];
        await h.StartHostAsync();
        await TelegramWorld.ConnectChatAsync(h.Api);
        await Harness.EventuallyAsync(() => Task.FromResult(telegram.Webhook is not null), "setWebhook");
        var (url, secret) = telegram.Webhook!.Value;
        Assert.Equal(new Uri(h.HostUrl, "webhooks/telegram"), url);
        Assert.False(string.IsNullOrEmpty(secret));
        Assert.Matches("^[A-Za-z0-9_-]{1,256}$", secret);
        Assert.Empty(telegram.CallsOf("getUpdates"));

        var body = """{"update_id": 77, "message": {"message_id": 5, "date": 1700000000, "chat": {"id": -1001234567890, "type": "supergroup"}, "from": {"id": 4242, "is_bot": false, "first_name": "alice", "username": "alice"}, "text": "/status WEB-9"}}""";
        Assert.Equal(HttpStatusCode.Unauthorized, await telegram.PostUpdateAsync(url, null, body));
        Assert.Equal(HttpStatusCode.Unauthorized, await telegram.PostUpdateAsync(url, secret + "x", body));
        Assert.Equal(HttpStatusCode.Unauthorized, await telegram.PostUpdateAsync(url, secret![..^1], body));
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM telegram_updates"));

        Assert.Equal(HttpStatusCode.OK, await telegram.PostUpdateAsync(url, secret, body));
        Assert.Equal(HttpStatusCode.OK, await telegram.PostUpdateAsync(url, secret, body)); // Telegram redelivers: handled once
        var reply = await ReplyToAsync(telegram, 5);
        Assert.Contains("No task <code>WEB-9</code>", reply.Text, StringComparison.Ordinal);
        await h.QuiesceAsync();
        Assert.Single(telegram.Messages(TelegramWorld.Chat), m => m.ReplyTo == 5);
        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM telegram_updates"));
        Assert.True(TelegramWebhook.SecretMatches(secret, secret));
        TelegramWorld.AssertNoUnexpected(telegram);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Shared.Projects;
using Orchestrator.Tests.Integration.Web;
using static Orchestrator.Tests.Integration.Web.SettingsForms;

namespace Orchestrator.Tests.Integration.Telegram;

/// <summary>Issue #12 §1: the Telegram settings on the settings screen and in the API; the bot token is never shown or logged.</summary>
public sealed class TelegramSettingsTests
{
    [Fact]
    public async Task An_admin_sets_chat_topic_notifications_and_ids_on_the_settings_screen_and_bad_ids_are_refused_next_to_their_fields()
    {
        await using var bot = await Orchestrator.Simulators.Telegram.TelegramSimulator.StartAsync(TelegramWorld.Token);
        await using var h = await WebAccessTests.StartAsync(s => TelegramWorld.Configure(s, bot));
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var store = h.App.Services.GetRequiredService<ProjectStore>();

        var (_, page, _) = await admin.GetAsync("/p/web/settings");
        Assert.NotNull(page.GetElementById("telegram"));
        Assert.Contains("Bot 123456789", page.GetElementById("telegram")!.TextContent, StringComparison.Ordinal);
        Assert.DoesNotContain(TelegramWorld.Token.Split(':')[1], page.DocumentElement.OuterHtml, StringComparison.Ordinal);

        var (bad, badPage, _) = await SubmitAsync(admin, "/p/web/settings", "connection", new Dictionary<string, string>
        {
            ["Telegram.ChatId"] = "the team chat", ["Telegram.Approvers"] = "4242\n@alice",
        });
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Contains("is not a chat id", ErrorNextTo(badPage, "Telegram_ChatId"), StringComparison.Ordinal);
        Assert.Contains("'@alice' is not a Telegram user id", ErrorNextTo(badPage, "Telegram_Approvers"), StringComparison.Ordinal);
        Assert.Null((await store.GetAsync("web"))!.Definition.Telegram);

        var (saved, _, _) = await SubmitAsync(admin, "/p/web/settings", "connection", new Dictionary<string, string>
        {
            ["Telegram.ChatId"] = "-1001234567890", ["Telegram.ThreadId"] = "7", ["Telegram.Approvers"] = "4242, 4343",
            ["Telegram.TaskCreators"] = "4242", ["Telegram.Notify"] = "approval",
        });
        Assert.Equal(HttpStatusCode.Redirect, saved);
        var telegram = (await store.GetAsync("web"))!.Definition.Telegram!;
        Assert.Equal(-1001234567890, telegram.ChatId);
        Assert.Equal(7, telegram.ThreadId);
        Assert.Equal([4242L, 4343L], telegram.Approvers);
        Assert.Equal([4242L], telegram.TaskCreators);
        Assert.Equal(["approval"], telegram.Notify);

        var (_, again, _) = await admin.GetAsync("/p/web/settings");
        Assert.Equal("-1001234567890", ValueOf(again, "Telegram_ChatId"));
        Assert.Equal("4242\n4343", ValueOf(again, "Telegram_Approvers"));

        // Clearing the chat id turns Telegram off for the project.
        var (off, _, _) = await SubmitAsync(admin, "/p/web/settings", "connection", new Dictionary<string, string> { ["Telegram.ChatId"] = "" });
        Assert.Equal(HttpStatusCode.Redirect, off);
        Assert.Null((await store.GetAsync("web"))!.Definition.Telegram);
        Assert.DoesNotContain(h.Logs.Lines, l => l.Contains(TelegramWorld.Token.Split(':')[1], StringComparison.Ordinal));
        TelegramWorld.AssertNoUnexpected(bot);
    }

    [Fact]
    public async Task The_API_reads_and_writes_the_telegram_section_and_validates_it()
    {
        await using var h = await EndToEnd.Harness.StartAsync();
        var slug = await TelegramWorld.ConnectChatAsync(h.Api, t => t["notify"] = new JsonArray("live", "ci_failed"));
        var project = (await h.Api.GetFromJsonAsync<JsonObject>($"api/projects/{slug}"))!;
        Assert.Equal(TelegramWorld.Chat, project["telegram"]!["chat_id"]!.GetValue<long>());
        Assert.Equal(["live", "ci_failed"], project["telegram"]!["notify"]!.AsArray().Select(n => n!.GetValue<string>()));

        project["telegram"]!["notify"] = new JsonArray("live", "fireworks");
        project["telegram"]!["chat_id"] = 0;
        project.Remove("secrets");
        using var refused = await h.Api.PutAsJsonAsync($"api/projects/{slug}", project);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var problem = await refused.Content.ReadAsStringAsync();
        Assert.Contains("telegram.chat_id is required", problem, StringComparison.Ordinal);
        Assert.Contains("telegram.notify: 'fireworks'", problem, StringComparison.Ordinal);
    }
}

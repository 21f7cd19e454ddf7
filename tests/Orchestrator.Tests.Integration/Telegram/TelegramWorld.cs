using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Orchestrator.Simulators.Telegram;
using Orchestrator.Tests.Integration.EndToEnd;

namespace Orchestrator.Tests.Integration.Telegram;

/// <summary>
/// The end-to-end harness plus a loopback Bot API (<see cref="TelegramSimulator"/>) the host is pointed at through
/// <c>ORCH_TELEGRAM_API_URL</c>; the project's chat is configured through <c>PUT /api/projects/{slug}</c>.
/// </summary>
public static class TelegramWorld
{
    public const string Token = "123456789:TEST-bot-token_abcdefghijklmnopqrstuv";
    public const long Chat = -1001234567890;
    public const long Alice = 4242;      // approver and task creator
    public const long Mallory = 6666;    // in the chat, allowed nothing

    /// <summary>Bot settings on a harness (short intervals, so tests do not wait for Telegram's real pace).</summary>
    public static void Configure(Dictionary<string, string?> s, TelegramSimulator telegram, string chatInterval = "50ms")
    {
        s["TELEGRAM_BOT_TOKEN"] = Token;
        s["TELEGRAM_API_URL"] = telegram.BaseUrl.ToString();
        s["TELEGRAM_CHAT_INTERVAL"] = chatInterval;
        s["TELEGRAM_POLL_TIMEOUT"] = "1s";
    }

    /// <summary>Gives the (only) project a Telegram section through the API.</summary>
    public static async Task<string> ConnectChatAsync(HttpClient api, Action<JsonObject>? tweak = null)
    {
        var list = (await api.GetFromJsonAsync<JsonObject>("api/projects"))!["projects"]!.AsArray();
        var slug = list[0]!["slug"]!.GetValue<string>();
        var project = (await api.GetFromJsonAsync<JsonObject>($"api/projects/{slug}"))!;
        var telegram = new JsonObject
        {
            ["chat_id"] = Chat,
            ["approvers"] = new JsonArray(Alice),
            ["task_creators"] = new JsonArray(Alice),
        };
        tweak?.Invoke(telegram);
        project["telegram"] = telegram;
        project.Remove("secrets");
        using var response = await api.PutAsJsonAsync($"api/projects/{slug}", project);
        Assert.True(response.IsSuccessStatusCode, $"PUT project: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return slug;
    }

    /// <summary>The live message of the chat: the only silent message without buttons.</summary>
    public static IReadOnlyList<SimMessage> LiveMessages(TelegramSimulator telegram) =>
        [.. telegram.Messages(Chat).Where(m => m.Silent)];

    public static Task WaitForMessageAsync(TelegramSimulator telegram, Func<SimMessage, bool> match, string what, int seconds = 60) =>
        Harness.EventuallyAsync(() => Task.FromResult(telegram.Messages(Chat).Any(match)), what, seconds);

    public static void AssertNoUnexpected(TelegramSimulator telegram)
    {
        Assert.Empty(telegram.Host.UnexpectedRequests);
        TelegramTripWire.AssertUntouched();
    }
}

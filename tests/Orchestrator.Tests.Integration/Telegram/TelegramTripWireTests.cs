using Microsoft.Extensions.Configuration;
using Orchestrator.Shared.Configuration;
using Orchestrator.Tests.Integration.EndToEnd;

namespace Orchestrator.Tests.Integration.Telegram;

/// <summary>Runs alone (no other test is active), so the attempt it provokes on purpose is its own.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelegramTripWireCollection
{
    public const string Name = "telegram trip-wire";
}

/// <summary>
/// Issue #12: no test can reach the real Telegram. Every Telegram test points the host at the loopback fake; this one
/// proves the wire under them: with the default API URL (the official root) the host's Bot API calls go to
/// api.telegram.org, which during the suite resolves to nothing — the attempt is seen and no connection is made.
/// Every other Telegram test asserts no attempt at all (<see cref="TelegramTripWire.AssertUntouched"/>).
/// </summary>
[Collection(TelegramTripWireCollection.Name)]
public sealed class TelegramTripWireTests
{
    [Fact]
    public async Task The_real_Bot_API_host_resolves_to_nothing_during_the_suite_and_any_attempt_is_caught()
    {
        var defaults = OrchestratorSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = "Host=127.0.0.1;Database=x",
            ["TELEGRAM_BOT_TOKEN"] = TelegramWorld.Token,
        }).Build());
        Assert.Equal(new Uri("https://api.telegram.org/"), defaults.TelegramApiUrl);
        Assert.DoesNotContain(TelegramWorld.Token, defaults.ToString(), StringComparison.Ordinal);

        TelegramTripWire.AssertUntouched();
        try
        {
            await using var h = await Harness.StartAsync(s => s["TELEGRAM_BOT_TOKEN"] = TelegramWorld.Token);
            await Harness.EventuallyAsync(() => Task.FromResult(TelegramTripWire.Seen.Count > 0), "the host to try the real Bot API");
            Assert.All(TelegramTripWire.Seen, attempt => Assert.StartsWith("api.telegram.org", attempt, StringComparison.Ordinal));
            await Harness.EventuallyAsync(
                () => Task.FromResult(h.Logs.Lines.Any(l => l.Contains("Telegram", StringComparison.Ordinal) && l.Contains("resolved to no address", StringComparison.Ordinal))),
                "the refusal in the log");

            // Nothing in the log carries the token (the URL has it; only method names are logged).
            Assert.DoesNotContain(h.Logs.Lines, l => l.Contains(TelegramWorld.Token.Split(':')[1], StringComparison.Ordinal));
        }
        finally
        {
            TelegramTripWire.Reset();
        }
    }
}

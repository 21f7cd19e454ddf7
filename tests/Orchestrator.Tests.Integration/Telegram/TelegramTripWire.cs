using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using Orchestrator.Shared.Platform;

namespace Orchestrator.Tests.Integration.Telegram;

/// <summary>
/// Issue #12: no test can reach the real Telegram. Installed for the whole test assembly before any test runs: every host
/// name the orchestrator resolves goes through <see cref="OutboundPolicy.Resolve"/>, and under this trip-wire the real Bot
/// API's host names resolve to nothing (the connection fails before a packet leaves) and each attempt is recorded, so
/// <see cref="AssertUntouched"/> fails the test that made one.
/// </summary>
internal static class TelegramTripWire
{
    private static readonly ConcurrentQueue<string> Attempts = new();

    /// <summary>Names that resolve to nothing during the suite.</summary>
    public static bool IsTelegram(string host) =>
        host.Equals("api.telegram.org", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".telegram.org", StringComparison.OrdinalIgnoreCase)
        || host.Equals("telegram.org", StringComparison.OrdinalIgnoreCase);

    /// <summary>Every attempt to resolve a Telegram host so far.</summary>
    public static IReadOnlyList<string> Seen => Attempts.ToArray();

    [ModuleInitializer]
    internal static void Install()
    {
        var inner = OutboundPolicy.Resolve;
        OutboundPolicy.Resolve = (host, cancellationToken) =>
        {
            if (IsTelegram(host))
            {
                Attempts.Enqueue($"{host} at {DateTimeOffset.UtcNow:O}");
                return Task.FromResult(Array.Empty<IPAddress>());
            }

            return inner(host, cancellationToken);
        };
    }

    /// <summary>Fails when anything tried to reach the real Telegram.</summary>
    public static void AssertUntouched() =>
        Assert.True(Attempts.IsEmpty, "A test tried to reach the real Telegram: " + string.Join(", ", Attempts));

    /// <summary>Forgets the attempts (the trip-wire test makes one on purpose, alone in its collection).</summary>
    public static void Reset() => Attempts.Clear();
}

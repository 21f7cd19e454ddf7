namespace Orchestrator.Shared.GitHub;

/// <summary>
/// Decides which webhook deliveries to ask GitHub for again. GitHub does not retry failed deliveries by
/// itself (https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries), so a
/// timer lists recent attempts (<see cref="IGitHubHookDeliveries.ListHookDeliveriesAsync"/>), calls
/// <see cref="Select"/>, and redelivers what it returns (<see cref="IGitHubHookDeliveries.RedeliverAsync"/>).
/// </summary>
public static class RedeliverySweep
{
    /// <summary>
    /// One attempt per event (GUID) that must be redelivered: no attempt of that GUID got a 2xx answer — a
    /// successful redelivery counts — and <paramref name="isStored"/> says the inbox never stored the GUID
    /// (a receiver may have stored it and still failed to answer in time; that needs no redelivery).
    /// </summary>
    /// <param name="deliveries">Recent attempts, any order (all attempts of a GUID should be in the window).</param>
    /// <param name="isStored">Whether the inbox holds a delivery with this GUID.</param>
    /// <returns>The newest attempt of each such GUID, oldest event first, so redeliveries keep the original order.</returns>
    public static IReadOnlyList<GitHubHookDelivery> Select(IEnumerable<GitHubHookDelivery> deliveries, Func<string, bool> isStored)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        ArgumentNullException.ThrowIfNull(isStored);
        return deliveries
            .GroupBy(d => d.Guid, StringComparer.OrdinalIgnoreCase)
            .Where(g => !g.Any(d => d.Succeeded))
            .Where(g => !isStored(g.Key))
            .Select(g => (First: g.Min(d => d.DeliveredAt), Latest: g.OrderByDescending(d => d.DeliveredAt).ThenByDescending(d => d.Id).First()))
            .OrderBy(x => x.First)
            .ThenBy(x => x.Latest.Id)
            .Select(x => x.Latest)
            .ToList();
    }
}

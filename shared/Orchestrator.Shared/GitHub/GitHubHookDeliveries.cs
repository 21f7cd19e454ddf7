using System.Globalization;

namespace Orchestrator.Shared.GitHub;

/// <summary>
/// One delivery attempt of a repository webhook, as listed by
/// <c>GET /repos/{owner}/{repo}/hooks/{hook_id}/deliveries</c>
/// (https://docs.github.com/en/rest/repos/webhooks#list-deliveries-for-a-repository-webhook).
/// </summary>
/// <param name="Id">Id of this attempt (each redelivery gets its own).</param>
/// <param name="Guid">The event's id, sent as <c>X-GitHub-Delivery</c>; the same for every attempt of one event.</param>
/// <param name="DeliveredAt">When the attempt was made (UTC).</param>
/// <param name="Redelivery">Whether the attempt was a redelivery.</param>
/// <param name="Status">GitHub's description, e.g. <c>OK</c>, <c>Invalid HTTP Response: 500</c>, <c>failed to connect</c>.</param>
/// <param name="StatusCode">HTTP status the receiver answered; 0 when none arrived.</param>
/// <param name="Event">Event name, e.g. <c>pull_request</c>.</param>
/// <param name="Action">The payload's <c>action</c>, or <c>null</c>.</param>
public sealed record GitHubHookDelivery(long Id, string Guid, DateTimeOffset DeliveredAt, bool Redelivery, string Status, int StatusCode, string Event, string? Action)
{
    /// <summary>Whether the receiver answered 2xx.</summary>
    public bool Succeeded => StatusCode is >= 200 and < 300;
}

/// <summary>
/// The webhook-delivery calls a redelivery sweeper needs: GitHub never retries a failed delivery on its own
/// (https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries), so the
/// orchestrator lists recent deliveries and asks for the failed ones again (see <see cref="RedeliverySweep"/>).
/// </summary>
public interface IGitHubHookDeliveries
{
    /// <summary>
    /// Delivery attempts of hook <paramref name="hookId"/> made at or after <paramref name="since"/>, newest
    /// first (<c>GET /repos/{owner}/{repo}/hooks/{hook_id}/deliveries?per_page=100</c>, cursor pages via <c>Link</c>,
    /// stopping at the first older attempt).
    /// </summary>
    /// <param name="repo">Repository.</param>
    /// <param name="hookId">Webhook id (the <c>X-GitHub-Hook-ID</c> header of a delivery).</param>
    /// <param name="since">Oldest delivery time wanted; GitHub keeps deliveries for three days.</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    /// <returns>The attempts, newest first.</returns>
    Task<IReadOnlyList<GitHubHookDelivery>> ListHookDeliveriesAsync(RepoRef repo, long hookId, DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>
    /// Asks GitHub to send delivery <paramref name="deliveryId"/> again with the same <c>X-GitHub-Delivery</c>
    /// (<c>POST /repos/{owner}/{repo}/hooks/{hook_id}/deliveries/{delivery_id}/attempts</c>, answered 202;
    /// https://docs.github.com/en/rest/repos/webhooks#redeliver-a-delivery-for-a-repository-webhook).
    /// </summary>
    /// <param name="repo">Repository.</param>
    /// <param name="hookId">Webhook id.</param>
    /// <param name="deliveryId">A <see cref="GitHubHookDelivery.Id"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes once GitHub accepted the request.</returns>
    Task RedeliverAsync(RepoRef repo, long hookId, long deliveryId, CancellationToken cancellationToken);
}

/// <content>Webhook deliveries (<see cref="IGitHubHookDeliveries"/>): Octokit has no method for them, so they go through its <see cref="Octokit.IConnection"/>.</content>
public sealed partial class GitHubClient
{
    /// <inheritdoc />
    /// <exception cref="Platform.PlatformApiException">Non-2xx answer (404 for an unknown hook), network failure or unexpected body.</exception>
    public async Task<IReadOnlyList<GitHubHookDelivery>> ListHookDeliveriesAsync(RepoRef repo, long hookId, DateTimeOffset since, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        return await GetPagesAsync<List<HookDeliveryItem>, GitHubHookDelivery>(
            HooksPath(repo, $"{hookId.ToString(CultureInfo.InvariantCulture)}/deliveries"),
            $"per_page={MaxPerPage}",
            page => page.Select(ToHookDelivery),
            int.MaxValue,
            cancellationToken,
            stopAt: d => d.DeliveredAt < since).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <exception cref="Platform.PlatformApiException">Non-2xx answer (404 for an unknown delivery, 422 when it cannot be redelivered), network failure.</exception>
    public async Task RedeliverAsync(RepoRef repo, long hookId, long deliveryId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var path = HooksPath(repo, $"{hookId.ToString(CultureInfo.InvariantCulture)}/deliveries/{deliveryId.ToString(CultureInfo.InvariantCulture)}/attempts");
        await CallAsync(
            Operation("POST", path),
            async () => await _connection.Post(path, GitHubOctokit.Current.Value!.CancellationToken).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>repos/{owner}/{repo}/hooks/{rest}</c> on Octokit's <see cref="Octokit.ApiUrls.RepositoryHooks(string, string)"/>.</summary>
    private static Uri HooksPath(RepoRef repo, string rest) =>
        new(Octokit.ApiUrls.RepositoryHooks(repo.Owner, repo.Name).OriginalString + "/" + rest, UriKind.Relative);

    private static GitHubHookDelivery ToHookDelivery(HookDeliveryItem d) =>
        new(
            d.Id,
            Required(d.Guid, "guid"),
            d.DeliveredAt ?? throw new InvalidOperationException("'delivered_at' is missing or null"),
            d.Redelivery,
            d.Status ?? "",
            d.StatusCode,
            Required(d.Event, "event"),
            d.Action);

    /// <summary>One element of the deliveries list (https://docs.github.com/en/rest/repos/webhooks#list-deliveries-for-a-repository-webhook).</summary>
    internal sealed class HookDeliveryItem
    {
        /// <summary><c>id</c>.</summary>
        public long Id { get; set; }

        /// <summary><c>guid</c>.</summary>
        public string? Guid { get; set; }

        /// <summary><c>delivered_at</c>.</summary>
        public DateTimeOffset? DeliveredAt { get; set; }

        /// <summary><c>redelivery</c>.</summary>
        public bool Redelivery { get; set; }

        /// <summary><c>status</c>.</summary>
        public string? Status { get; set; }

        /// <summary><c>status_code</c>.</summary>
        public int StatusCode { get; set; }

        /// <summary><c>event</c>.</summary>
        public string? Event { get; set; }

        /// <summary><c>action</c>.</summary>
        public string? Action { get; set; }
    }
}

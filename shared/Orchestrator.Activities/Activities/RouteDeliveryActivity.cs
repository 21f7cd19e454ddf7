using Orchestrator.Functions.Routing;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Webhooks;

namespace Orchestrator.Functions.Activities;

/// <summary>Input of <see cref="RouteDeliveryActivity"/>.</summary>
/// <param name="InboxId">Inbox row id.</param>
public sealed record RouteDeliveryInput(long InboxId);

/// <summary>System activity queued with every accepted webhook: routes it to instances.</summary>
public sealed class RouteDeliveryActivity(InboxStore inbox, DeliveryRouter router, ILogger<RouteDeliveryActivity> logger) : Activity<RouteDeliveryInput>
{
    /// <inheritdoc />
    public override string Name => InboxStore.RouteActivity;

    /// <inheritdoc />
    protected override async Task<object?> RunAsync(ActivityContext context, RouteDeliveryInput input, CancellationToken cancellationToken)
    {
        var delivery = await inbox.GetAsync(input.InboxId, cancellationToken)
            ?? throw new PermanentActivityException($"Inbox row {input.InboxId} does not exist.");
        // Header values (rows stored before issue #8 item 8 may hold anything): sanitized like every logged header value.
        using var scope = logger.BeginScope("{Source} delivery {DeliveryId}", delivery.Source, LogSanitizer.Sanitize(delivery.DeliveryId));
        string outcome;
        try
        {
            outcome = await router.RouteAsync(delivery, cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidOperationException or KeyNotFoundException or FormatException or System.Text.Json.JsonException)
        {
            // Verified JSON of an unexpected shape: keep it in the inbox, don't retry forever.
            outcome = $"ignored: unreadable {delivery.EventType} payload ({ex.GetType().Name})";
        }

        await inbox.MarkProcessedAsync(delivery.Id, outcome, cancellationToken);
        logger.LogInformation("Routed {Event}: {Outcome}", LogSanitizer.Sanitize(delivery.EventType), outcome);
        return null;
    }
}

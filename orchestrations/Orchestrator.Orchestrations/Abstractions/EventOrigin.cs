namespace Orchestrator.Orchestrations.Abstractions;

/// <summary>Values of <see cref="EventOrigin.Source"/>: where the fact behind an event came from.</summary>
public static class EventSources
{
    /// <summary>A tracker webhook (Plane, Asana).</summary>
    public const string Tracker = "tracker";

    /// <summary>A forge webhook (GitHub, Gitea).</summary>
    public const string Forge = "forge";

    /// <summary>The orchestrator itself: activity results, timers, reconciliation, child instances.</summary>
    public const string System = "system";

    /// <summary>A person through the web tool (issue #9; not produced yet).</summary>
    public const string User = "user";

    /// <summary>A call of the HTTP API (<c>/api/…</c>).</summary>
    public const string Api = "api";
}

/// <summary>
/// Who or what raised an event. The engine carries it from the raise to the step that applies the event
/// (<c>work_items.origin</c>) and hands it to read-model projections; deciders never see it, so it cannot change a
/// decision. Engine-neutral on purpose: a second runtime (the Durable Task worker of issue #10) passes the same record.
/// </summary>
/// <param name="Source">One of <see cref="EventSources"/>.</param>
/// <param name="Actor">Who acted (<c>admin-token</c> for the API today, a user name once the web tool passes one); <c>null</c> when unknown.</param>
/// <param name="DeliveryId">The webhook delivery id the event came from (the id the inbox stored it under), or <c>null</c>.</param>
public sealed record EventOrigin(string Source, string? Actor = null, string? DeliveryId = null)
{
    /// <summary>The orchestrator itself (activities, timers, sweeps): no actor, no delivery.</summary>
    public static EventOrigin FromSystem { get; } = new(EventSources.System);

    /// <summary>An API call by <paramref name="actor"/>.</summary>
    /// <param name="actor">Who called, e.g. <c>admin-token</c>.</param>
    /// <returns>The origin.</returns>
    public static EventOrigin FromApi(string actor) => new(EventSources.Api, actor);

    /// <summary>A webhook delivery of a tracker or forge.</summary>
    /// <param name="source"><see cref="EventSources.Tracker"/> or <see cref="EventSources.Forge"/>.</param>
    /// <param name="deliveryId">The delivery id.</param>
    /// <returns>The origin.</returns>
    public static EventOrigin FromWebhook(string source, string deliveryId) => new(source, null, deliveryId);
}

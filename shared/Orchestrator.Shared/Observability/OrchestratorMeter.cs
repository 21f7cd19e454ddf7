using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Orchestrator.Shared.Observability;

/// <summary>
/// The measurements the engine and the platform clients make as they work (issue #11 §3), on the .NET metrics API
/// (<see cref="System.Diagnostics.Metrics"/>) so this library needs no exporter: the host's <c>/metrics</c>
/// (<c>OrchestratorMetrics</c>) listens to this meter and serves them in the Prometheus text format, and any
/// OpenTelemetry setup could listen as well. Tags are bounded: activity names, platform names, HTTP statuses or a
/// failure kind — never a URL, a credential, a task id or a message.
/// </summary>
public static class OrchestratorMeter
{
    /// <summary>The meter's name.</summary>
    public const string Name = "Orchestrator";

    private static readonly Meter Meter = new(Name);

    /// <summary>Seconds one activity attempt took; tags <c>activity</c>, <c>outcome</c> (<see cref="ActivityOutcome"/>).</summary>
    public static readonly Histogram<double> ActivityDuration = Meter.CreateHistogram<double>("orchestrator.activity.duration", "s", "Duration of one activity attempt.");

    /// <summary>Activity attempts that failed transiently and were queued again; tag <c>activity</c>.</summary>
    public static readonly Counter<long> ActivityRetries = Meter.CreateCounter<long>("orchestrator.activity.retries", null, "Activity attempts that will be retried.");

    /// <summary>Platform API requests answered or failed; tags <c>platform</c>, <c>status</c> (the HTTP status, or <c>timeout</c>, <c>network</c>, <c>refused</c>), <c>error</c> (<c>true</c> when the client failed the call).</summary>
    public static readonly Counter<long> PlatformRequests = Meter.CreateCounter<long>("orchestrator.platform.requests", null, "Platform API requests.");

    /// <summary>Seconds one platform request took (rate-limit waits excluded); tag <c>platform</c>.</summary>
    public static readonly Histogram<double> PlatformRequestDuration = Meter.CreateHistogram<double>("orchestrator.platform.request.duration", "s", "Duration of one platform API request.");

    /// <summary>Requests held back by a platform's rate limit; tag <c>platform</c>.</summary>
    public static readonly Counter<long> RateLimitWaits = Meter.CreateCounter<long>("orchestrator.rate_limit.waits", null, "Requests that waited for a rate limit.");

    /// <summary>Seconds spent waiting for rate limits; tag <c>platform</c>.</summary>
    public static readonly Counter<double> RateLimitWaitSeconds = Meter.CreateCounter<double>("orchestrator.rate_limit.wait", "s", "Time spent waiting for rate limits.");

    /// <summary>Records one activity attempt.</summary>
    /// <param name="activity">Activity name.</param>
    /// <param name="outcome">One of <see cref="ActivityOutcome"/>.</param>
    /// <param name="elapsed">How long it ran.</param>
    public static void ActivityAttempt(string activity, string outcome, TimeSpan elapsed)
    {
        ActivityDuration.Record(elapsed.TotalSeconds, new TagList { { "activity", activity }, { "outcome", outcome } });
        if (outcome == ActivityOutcome.Retrying)
        {
            ActivityRetries.Add(1, new KeyValuePair<string, object?>("activity", activity));
        }
    }

    /// <summary>Records one platform request.</summary>
    /// <param name="platform">Platform name (lower-cased here).</param>
    /// <param name="status">The HTTP status code, or <c>timeout</c> / <c>network</c> / <c>refused</c> without an answer.</param>
    /// <param name="error">Whether the client failed the call (an answer it does not accept, or none).</param>
    /// <param name="elapsed">How long the request took.</param>
    public static void PlatformRequest(string platform, string status, bool error, TimeSpan elapsed)
    {
        var name = platform.ToLowerInvariant();
        PlatformRequests.Add(1, new TagList { { "platform", name }, { "status", status }, { "error", error ? "true" : "false" } });
        PlatformRequestDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("platform", name));
    }

    /// <summary>Records one wait for a rate limit.</summary>
    /// <param name="credentialKey">The limiter's key; only its platform prefix (before the first <c>:</c>) is kept.</param>
    /// <param name="waited">How long the request was held back.</param>
    public static void RateLimitWait(string credentialKey, TimeSpan waited)
    {
        var colon = credentialKey.IndexOf(':', StringComparison.Ordinal);
        var platform = (colon < 0 ? credentialKey : credentialKey[..colon]).ToLowerInvariant();
        var tag = new KeyValuePair<string, object?>("platform", platform.Length is > 0 and <= 20 ? platform : "other");
        RateLimitWaits.Add(1, tag);
        RateLimitWaitSeconds.Add(waited.TotalSeconds, tag);
    }
}

/// <summary>Values of the <c>outcome</c> tag of <see cref="OrchestratorMeter.ActivityDuration"/>.</summary>
public static class ActivityOutcome
{
    /// <summary>Ran and its result was applied.</summary>
    public const string Completed = "completed";

    /// <summary>Failed transiently; queued again.</summary>
    public const string Retrying = "retrying";

    /// <summary>Failed for good (permanent, or its last attempt).</summary>
    public const string Failed = "failed";

    /// <summary>Asked to run later without using an attempt.</summary>
    public const string Deferred = "deferred";

    /// <summary>Its lease was lost; the result was discarded.</summary>
    public const string Stale = "stale";
}

using System.Collections.Concurrent;
using System.Globalization;
using System.Net;

namespace Orchestrator.Shared.Platform;

/// <summary>
/// Holds back requests per credential after a platform said "not before T": call
/// <see cref="WaitAsync"/> before each request and <see cref="Observe"/> after each response.
/// </summary>
/// <remarks>
/// <para>
/// Rules, from GitHub's "Rate limits for the REST API"
/// (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit),
/// which other platforms' headers (Plane's <c>X-RateLimit-*</c>, plain HTTP <c>Retry-After</c>) also fit:
/// </para>
/// <list type="bullet">
/// <item><c>Retry-After</c> (delta seconds or an HTTP date) on a 429, 403 or 503 → nothing before that time.</item>
/// <item><c>x-ratelimit-remaining: 0</c> on any response → nothing before <c>x-ratelimit-reset</c> (UTC epoch seconds).</item>
/// <item>A 403 or 429 without either header whose body mentions a (secondary) rate limit → nothing for
/// <see cref="SecondaryRateLimitWait"/> ("wait for at least one minute before retrying").</item>
/// </list>
/// <para>
/// A block only ever grows: a later, shorter answer does not shorten an earlier, longer one. Keys are opaque
/// strings naming a credential (never the secret itself), e.g. <c>github:app:1:installation:2</c>. The
/// waits use <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/>, so a fake
/// <see cref="TimeProvider"/> drives them in tests. Thread-safe.
/// </para>
/// </remarks>
public sealed class RateLimiter
{
    /// <summary>How long to pause after a secondary rate limit that named no time.</summary>
    public static readonly TimeSpan SecondaryRateLimitWait = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, long> _notBefore = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    /// <summary>Creates a limiter with its own state.</summary>
    /// <param name="timeProvider">Clock for "now" and for the waits; defaults to <see cref="TimeProvider.System"/>.</param>
    public RateLimiter(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    /// <summary>The process-wide limiter on the system clock, shared by every client that was not given one.</summary>
    public static RateLimiter Shared { get; } = new();

    /// <summary><see cref="Shared"/> for the system clock, else a new limiter on <paramref name="timeProvider"/> (so a fake clock never blocks real clients).</summary>
    /// <param name="timeProvider">The caller's clock.</param>
    /// <returns>A limiter whose clock is <paramref name="timeProvider"/>.</returns>
    public static RateLimiter For(TimeProvider timeProvider) =>
        ReferenceEquals(timeProvider, TimeProvider.System) ? Shared : new RateLimiter(timeProvider);

    /// <summary>The time before which no request for <paramref name="credentialKey"/> should be sent, or <c>null</c> when it is free now.</summary>
    /// <param name="credentialKey">Credential key.</param>
    /// <returns>The block's end, if it is still in the future.</returns>
    public DateTimeOffset? BlockedUntil(string credentialKey)
    {
        ArgumentNullException.ThrowIfNull(credentialKey);
        if (!_notBefore.TryGetValue(credentialKey, out var ticks))
        {
            return null;
        }

        var until = new DateTimeOffset(ticks, TimeSpan.Zero);
        return until > _time.GetUtcNow() ? until : null;
    }

    /// <summary>Completes when a request for <paramref name="credentialKey"/> may be sent.</summary>
    /// <param name="credentialKey">Credential key.</param>
    /// <param name="cancellationToken">Cancels the wait (throws <see cref="OperationCanceledException"/>).</param>
    /// <returns>A task that completes at once when nothing blocks the key.</returns>
    public async Task WaitAsync(string credentialKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(credentialKey);
        var waitedFor = long.MinValue;

        // Loops only when a block was extended while waiting, so a clock that stands still cannot spin it.
        while (_notBefore.TryGetValue(credentialKey, out var ticks) && ticks > waitedFor)
        {
            var delay = new DateTimeOffset(ticks, TimeSpan.Zero) - _time.GetUtcNow();
            if (delay <= TimeSpan.Zero)
            {
                return;
            }

            waitedFor = ticks;
            Observability.OrchestratorMeter.RateLimitWait(credentialKey, delay);
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Records what a response says about the next allowed request for <paramref name="credentialKey"/>.</summary>
    /// <param name="credentialKey">Credential key the request was sent with.</param>
    /// <param name="response">The response (headers and status are read; the body is not).</param>
    /// <param name="body">The response body when already read, to recognise a secondary rate limit without headers; may be <c>null</c>.</param>
    /// <returns>The block's end when this response set or kept one, else <c>null</c>.</returns>
    public DateTimeOffset? Observe(string credentialKey, HttpResponseMessage response, string? body = null)
    {
        ArgumentNullException.ThrowIfNull(credentialKey);
        ArgumentNullException.ThrowIfNull(response);
        var now = _time.GetUtcNow();
        var status = response.StatusCode;
        var limited = status is HttpStatusCode.TooManyRequests or HttpStatusCode.Forbidden or HttpStatusCode.ServiceUnavailable;
        DateTimeOffset? until = null;

        if (limited && response.Headers.RetryAfter is { } retryAfter)
        {
            until = retryAfter.Delta is { } delta ? now + delta : retryAfter.Date;
        }
        else if (Header(response, "x-ratelimit-remaining") == "0")
        {
            if (long.TryParse(Header(response, "x-ratelimit-reset"), NumberStyles.None, CultureInfo.InvariantCulture, out var reset))
            {
                until = DateTimeOffset.FromUnixTimeSeconds(reset);
            }
            else if (limited)
            {
                until = now + SecondaryRateLimitWait;
            }
        }
        else if (status is HttpStatusCode.Forbidden or HttpStatusCode.TooManyRequests
            && (status == HttpStatusCode.TooManyRequests || (body?.Contains("rate limit", StringComparison.OrdinalIgnoreCase) ?? false)))
        {
            until = now + SecondaryRateLimitWait;
        }

        if (until is not { } value || value <= now)
        {
            return BlockedUntil(credentialKey);
        }

        var ticks = _notBefore.AddOrUpdate(credentialKey, value.UtcTicks, (_, existing) => Math.Max(existing, value.UtcTicks));
        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }

    /// <summary>
    /// Records "nothing before <paramref name="until"/>" for <paramref name="credentialKey"/> when a client read it from
    /// an answer itself (e.g. Octokit's <c>ApiInfo.RateLimit</c> or a <c>RateLimitExceededException</c>); the same
    /// rule as <see cref="Observe"/>: a block only grows, a time in the past changes nothing.
    /// </summary>
    /// <param name="credentialKey">Credential key the request was sent with.</param>
    /// <param name="until">The earliest time of the next request.</param>
    /// <returns>The block's end, or <c>null</c> when the key is free now.</returns>
    public DateTimeOffset? Block(string credentialKey, DateTimeOffset until)
    {
        ArgumentNullException.ThrowIfNull(credentialKey);
        if (until <= _time.GetUtcNow())
        {
            return BlockedUntil(credentialKey);
        }

        var ticks = _notBefore.AddOrUpdate(credentialKey, until.UtcTicks, (_, existing) => Math.Max(existing, until.UtcTicks));
        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.NonValidated.TryGetValues(name, out var values) ? values.ToString().Trim() : null;
}

using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Orchestrator.Simulators.GitHub;

/// <summary>One delivery attempt the simulator keeps for <c>GET /repos/{o}/{r}/hooks/{hook_id}/deliveries</c>.</summary>
/// <param name="Id">Attempt id (each redelivery gets a new one).</param>
/// <param name="Guid">The <c>X-GitHub-Delivery</c> value; kept by redeliveries.</param>
/// <param name="DeliveredAt">When it was sent, on <see cref="GitHubSimulator.Clock"/>.</param>
/// <param name="Redelivery">Whether it was a redelivery.</param>
/// <param name="StatusCode">What the target answered (or what <see cref="GitHubSimulator.MarkDeliveryFailed"/> set); 0 when no answer.</param>
/// <param name="Event">Event name.</param>
/// <param name="Action">Payload <c>action</c>, or <c>null</c>.</param>
public sealed record SimHookDelivery(long Id, string Guid, DateTimeOffset DeliveredAt, bool Redelivery, int StatusCode, string Event, string? Action);

/// <content>
/// GitHub App installation tokens
/// (https://docs.github.com/en/rest/apps/apps#create-an-installation-access-token-for-an-app), the primary
/// rate-limit budget and injectable rate-limit faults
/// (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api), and webhook delivery
/// history with redelivery (https://docs.github.com/en/rest/repos/webhooks#list-deliveries-for-a-repository-webhook).
/// </content>
public sealed partial class GitHubSimulator
{
    /// <summary>The id of the one repository webhook the simulator delivers through (<c>X-GitHub-Hook-ID</c>).</summary>
    public const long HookId = 1;

    private static readonly TimeSpan MaxJwtLifetime = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan InstallationTokenLifetime = TimeSpan.FromHours(1);

    private readonly Dictionary<long, (RSA Key, long InstallationId)> _apps = [];
    private readonly Dictionary<string, (long InstallationId, DateTimeOffset ExpiresAt)> _installationTokens = new(StringComparer.Ordinal);
    private readonly List<SimHookDeliveryState> _hookDeliveries = [];
    private readonly Queue<(int Status, TimeSpan? RetryAfter)> _faults = new();
    private int _rateLimit = 5000;
    private int _rateUsed;
    private TimeSpan _rateWindow = TimeSpan.FromHours(1);
    private DateTimeOffset? _rateReset;
    private long _nextHookDeliveryId;

    /// <summary>
    /// The simulator's clock: timestamps, installation-token expiry, JWT checks, the rate-limit window and
    /// delivery times. Set it before use to share a test's fake clock; defaults to <see cref="TimeProvider.System"/>.
    /// </summary>
    public TimeProvider Clock
    {
        get => _time;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            lock (_gate)
            {
                _time = value;
                _rateReset = null;
            }
        }
    }

    /// <summary>Every delivery attempt to the webhook target (originals and redeliveries), oldest first.</summary>
    public IReadOnlyList<SimHookDelivery> HookDeliveries
    {
        get
        {
            lock (_gate)
            {
                return _hookDeliveries.Select(d => d.ToRecord()).ToArray();
            }
        }
    }

    /// <summary>
    /// Installation tokens minted so far with their expiry. Requests carrying an unexpired one are
    /// authorised like the static token.
    /// </summary>
    public IReadOnlyDictionary<string, DateTimeOffset> InstallationTokens
    {
        get
        {
            lock (_gate)
            {
                return _installationTokens.ToDictionary(t => t.Key, t => t.Value.ExpiresAt, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>
    /// Registers a GitHub App: <c>POST /app/installations/{installationId}/access_tokens</c> then accepts an
    /// RS256 JWT whose <c>iss</c> is <paramref name="appId"/>, signed by the key matching
    /// <paramref name="publicKeyPem"/>, unexpired and expiring at most 10 minutes ahead.
    /// </summary>
    /// <param name="appId">App id.</param>
    /// <param name="publicKeyPem">The app's RSA public key (<c>BEGIN PUBLIC KEY</c> or <c>BEGIN RSA PUBLIC KEY</c>).</param>
    /// <param name="installationId">The app's one installation.</param>
    /// <exception cref="ArgumentException">The PEM holds no RSA key.</exception>
    public void RegisterApp(long appId, string publicKeyPem, long installationId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(publicKeyPem);
        var key = RSA.Create();
        key.ImportFromPem(publicKeyPem);
        lock (_gate)
        {
            if (_apps.TryGetValue(appId, out var previous))
            {
                previous.Key.Dispose();
            }

            _apps[appId] = (key, installationId);
        }
    }

    /// <summary>
    /// Sets the primary rate-limit budget: <paramref name="limit"/> requests per <paramref name="window"/>
    /// (default one hour) starting now. Every REST request (rejected ones aside) uses one; each answer carries
    /// <c>x-ratelimit-limit/remaining/reset/used/resource</c>. A request beyond the budget answers 403
    /// "API rate limit exceeded" with <c>x-ratelimit-remaining: 0</c> and is recorded as unexpected, since a
    /// client that honours the headers never sends it. The budget is one for all credentials.
    /// </summary>
    /// <param name="limit">Requests per window; at least 1.</param>
    /// <param name="window">Window length; the reset is rounded up to a whole second.</param>
    public void ConfigureRateLimit(int limit, TimeSpan? window = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        lock (_gate)
        {
            _rateLimit = limit;
            _rateUsed = 0;
            _rateWindow = window ?? TimeSpan.FromHours(1);
            _rateReset = null;
        }
    }

    /// <summary>
    /// Answers the next REST request with a rate-limit fault instead of serving it: 429 or 403 with the
    /// secondary-rate-limit message, and <c>Retry-After: {seconds}</c> when <paramref name="retryAfter"/> is
    /// given. Faults queue up, one per request.
    /// </summary>
    /// <param name="statusCode">429 or 403.</param>
    /// <param name="retryAfter">The <c>Retry-After</c> to send (whole seconds), or <c>null</c> for none.</param>
    /// <exception cref="ArgumentOutOfRangeException">Another status code.</exception>
    public void InjectRateLimitFault(int statusCode, TimeSpan? retryAfter)
    {
        if (statusCode is not (StatusCodes.Status429TooManyRequests or StatusCodes.Status403Forbidden))
        {
            throw new ArgumentOutOfRangeException(nameof(statusCode), statusCode, "Only 429 and 403 are rate-limit faults.");
        }

        lock (_gate)
        {
            _faults.Enqueue((statusCode, retryAfter));
        }
    }

    /// <summary>
    /// Marks the newest attempt of the delivery with GUID <paramref name="guid"/> as failed with
    /// <paramref name="statusCode"/>, as if the target had answered that (e.g. it timed out or crashed).
    /// </summary>
    /// <param name="guid">An <c>X-GitHub-Delivery</c> value from <see cref="HookDeliveries"/>.</param>
    /// <param name="statusCode">The status to record, e.g. 500 or 0 for "failed to connect".</param>
    /// <exception cref="ArgumentException">No delivery has that GUID.</exception>
    public void MarkDeliveryFailed(string guid, int statusCode = StatusCodes.Status500InternalServerError)
    {
        lock (_gate)
        {
            var attempt = _hookDeliveries.LastOrDefault(d => d.Guid == guid) ?? throw new ArgumentException($"No delivery with GUID {guid}.", nameof(guid));
            attempt.StatusCode = statusCode;
        }
    }

    // ---------------------------------------------------------------- authentication

    private int? Authorize(HttpContext context, string token)
    {
        // The token endpoint authenticates with a JWT, which its route verifies.
        if (context.Request.Path.StartsWithSegments(ApiPrefix + "/app", StringComparison.Ordinal))
        {
            return null;
        }

        if (IsAuthorized(context, token))
        {
            return null;
        }

        var header = context.Request.Headers.Authorization.ToString();
        var presented = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.StartsWith("token ", StringComparison.OrdinalIgnoreCase)
            ? header[(header.IndexOf(' ', StringComparison.Ordinal) + 1)..].Trim()
            : null;
        lock (_gate)
        {
            return presented is not null
                && _installationTokens.TryGetValue(presented, out var minted)
                && _time.GetUtcNow() < minted.ExpiresAt
                ? null
                : StatusCodes.Status401Unauthorized;
        }
    }

    private void MapApp(IEndpointRouteBuilder app, SimulatorHost host) =>
        app.MapPost(ApiPrefix + "/app/installations/{installationId:long}/access_tokens", (HttpContext context) => CreateInstallationTokenAsync(context, host));

    private async Task CreateInstallationTokenAsync(HttpContext context, SimulatorHost host)
    {
        var describe = $"github: POST {context.Request.Path}";
        if (!await AdmitAsync(context, host).ConfigureAwait(false))
        {
            return;
        }

        var installationId = long.Parse((string)context.GetRouteValue("installationId")!, CultureInfo.InvariantCulture);
        var header = context.Request.Headers.Authorization.ToString();
        var jwt = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : "";
        var (appId, problem) = VerifyJwt(jwt);
        if (problem is not null)
        {
            host.RecordUnexpected($"{describe}: {problem}");
            await ErrorAsync(context, StatusCodes.Status401Unauthorized, problem, "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app").ConfigureAwait(false);
            return;
        }

        string token;
        DateTimeOffset expiresAt;
        lock (_gate)
        {
            if (_apps[appId].InstallationId != installationId)
            {
                token = "";
                expiresAt = default;
            }
            else
            {
                token = "ghs_" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36);
                expiresAt = _time.GetUtcNow() + InstallationTokenLifetime;
                expiresAt = DateTimeOffset.FromUnixTimeSeconds(expiresAt.ToUnixTimeSeconds());
                _installationTokens[token] = (installationId, expiresAt);
            }
        }

        if (token.Length == 0)
        {
            host.RecordUnexpected($"{describe}: installation {installationId} does not belong to app {appId}");
            await ErrorAsync(context, StatusCodes.Status404NotFound, "Not Found", "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app").ConfigureAwait(false);
            return;
        }

        // The shape of GitHub's "installation-token" example (@octokit/openapi, see
        // shared/fixtures/github/PROVENANCE.md §5) without the optional repositories array.
        var body = new JsonObject
        {
            ["token"] = token,
            ["expires_at"] = expiresAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["permissions"] = new JsonObject { ["issues"] = "write", ["contents"] = "read" },
            ["repository_selection"] = "all",
        };
        await WriteAsync(context, StatusCodes.Status201Created, body).ConfigureAwait(false);
    }

    /// <summary>Checks an app JWT like GitHub: RS256, a registered <c>iss</c>, a valid signature, unexpired, <c>exp</c> at most 10 minutes ahead.</summary>
    private (long AppId, string? Problem) VerifyJwt(string jwt)
    {
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return (0, "A JSON web token could not be decoded");
        }

        try
        {
            using var header = JsonDocument.Parse(FromBase64Url(parts[0]));
            if (header.RootElement.GetProperty("alg").GetString() != "RS256")
            {
                return (0, "The JWT must be signed with RS256");
            }

            using var payload = JsonDocument.Parse(FromBase64Url(parts[1]));
            var root = payload.RootElement;
            var iss = root.GetProperty("iss");
            var appId = iss.ValueKind == JsonValueKind.Number ? iss.GetInt64() : long.Parse(iss.GetString()!, CultureInfo.InvariantCulture);
            var iat = DateTimeOffset.FromUnixTimeSeconds(root.GetProperty("iat").GetInt64());
            var exp = DateTimeOffset.FromUnixTimeSeconds(root.GetProperty("exp").GetInt64());
            RSA key;
            DateTimeOffset now;
            lock (_gate)
            {
                if (!_apps.TryGetValue(appId, out var app))
                {
                    return (0, $"Integration {appId} not found");
                }

                key = app.Key;
                now = _time.GetUtcNow();
            }

            var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
            if (!key.VerifyData(signed, FromBase64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
            {
                return (0, "A JSON web token could not be decoded");
            }

            if (exp <= now)
            {
                return (0, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires");
            }

            if (exp > now + MaxJwtLifetime)
            {
                return (0, "'Expiration time' claim ('exp') is too far in the future");
            }

            if (iat > now + TimeSpan.FromSeconds(60))
            {
                return (0, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued");
            }

            return (appId, null);
        }
        catch (Exception e) when (e is JsonException or FormatException or KeyNotFoundException or InvalidOperationException or OverflowException)
        {
            return (0, "A JSON web token could not be decoded");
        }
    }

    private static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }

    // ---------------------------------------------------------------- rate limits

    /// <summary>
    /// Spends one unit of the budget, sets the <c>x-ratelimit-*</c> headers, and answers an injected fault or
    /// an exhausted budget itself. Returns whether the request may be served.
    /// </summary>
    private async Task<bool> AdmitAsync(HttpContext context, SimulatorHost host)
    {
        (int Status, TimeSpan? RetryAfter)? fault = null;
        bool exhausted;
        int limit, used;
        DateTimeOffset reset;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (_rateReset is not { } r || now >= r)
            {
                var end = now + _rateWindow;
                _rateReset = DateTimeOffset.FromUnixTimeSeconds(end.ToUnixTimeSeconds() + (end.UtcTicks % TimeSpan.TicksPerSecond == 0 ? 0 : 1));
                _rateUsed = 0;
            }

            if (_faults.Count > 0)
            {
                fault = _faults.Dequeue();
            }

            exhausted = fault is null && _rateUsed >= _rateLimit;
            if (fault is null && !exhausted)
            {
                _rateUsed++;
            }

            limit = _rateLimit;
            used = _rateUsed;
            reset = _rateReset.Value;
        }

        var headers = context.Response.Headers;
        headers["X-RateLimit-Limit"] = limit.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Remaining"] = (limit - used).ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = reset.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Used"] = used.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Resource"] = "core";

        if (fault is { } f)
        {
            if (f.RetryAfter is { } wait)
            {
                headers.RetryAfter = ((long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            }

            await ErrorAsync(
                context,
                f.Status,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits").ConfigureAwait(false);
            return false;
        }

        if (exhausted)
        {
            host.RecordUnexpected($"github: {context.Request.Method} {context.Request.Path}: sent with the rate-limit budget exhausted (resets {reset:O})");
            await ErrorAsync(
                context,
                StatusCodes.Status403Forbidden,
                "API rate limit exceeded. Check out the documentation for more details.",
                "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api").ConfigureAwait(false);
            return false;
        }

        return true;
    }

    // ---------------------------------------------------------------- hook deliveries

    /// <summary>Called under <c>_gate</c> for every POST to the webhook target.</summary>
    private void RecordHookDelivery(SimDeliveryAttempt attempt)
    {
        string? action = null;
        long? repositoryId = null;
        try
        {
            using var document = JsonDocument.Parse(attempt.Delivery.Body);
            if (document.RootElement.TryGetProperty("action", out var a) && a.ValueKind == JsonValueKind.String)
            {
                action = a.GetString();
            }

            if (document.RootElement.TryGetProperty("repository", out var repo) && repo.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.Number)
            {
                repositoryId = id.GetInt64();
            }
        }
        catch (JsonException)
        {
        }

        _hookDeliveries.Add(new SimHookDeliveryState
        {
            Id = ++_nextHookDeliveryId,
            Guid = attempt.Delivery.DeliveryId,
            DeliveredAt = _time.GetUtcNow(),
            Redelivery = attempt.IsRedelivery,
            StatusCode = attempt.Status is { } status ? (int)status : 0,
            Event = attempt.Delivery.Event,
            Action = action,
            RepositoryId = repositoryId,
            Delivery = attempt.Delivery,
        });
    }

    private async Task<bool> KnownHookAsync(Call call)
    {
        if (long.Parse((string)call.Context.GetRouteValue("hookId")!, CultureInfo.InvariantCulture) == HookId)
        {
            return true;
        }

        call.Unexpected("unknown hook id");
        await ErrorAsync(call.Context, StatusCodes.Status404NotFound, "Not Found").ConfigureAwait(false);
        return false;
    }

    private async Task ListHookDeliveriesAsync(Call call)
    {
        var query = ReadQuery(call, ["per_page", "cursor"]);
        if (!await KnownHookAsync(call).ConfigureAwait(false))
        {
            return;
        }

        if (!TryPaging(call, query, out var perPage, out _))
        {
            await ValidationFailedAsync(call.Context, "HookDelivery", "query", "invalid").ConfigureAwait(false);
            return;
        }

        // Cursor "v1_{id}": the page starts at that attempt (GitHub's cursors are opaque; this one is ours).
        var start = long.MaxValue;
        if (query.TryGetValue("cursor", out var cursor)
            && !(cursor.StartsWith("v1_", StringComparison.Ordinal) && long.TryParse(cursor[3..], NumberStyles.None, CultureInfo.InvariantCulture, out start)))
        {
            call.Unexpected($"cursor='{cursor}'");
            await ValidationFailedAsync(call.Context, "HookDelivery", "cursor", "invalid").ConfigureAwait(false);
            return;
        }

        JsonArray items;
        string? link = null;
        lock (_gate)
        {
            var selected = _hookDeliveries
                .Where(d => d.RepositoryId == call.Repo.Id && d.Id <= start)
                .OrderByDescending(d => d.Id)
                .Take(perPage + 1)
                .ToList();
            items = new JsonArray(selected.Take(perPage).Select(d => (JsonNode)d.ToJson(call.Repo.Id)).ToArray());
            if (selected.Count > perPage)
            {
                var path = $"{ApiUrl}repos/{call.Repo.Owner}/{call.Repo.Name}/hooks/{HookId}/deliveries";
                link = $"<{path}?per_page={perPage}&cursor=v1_{selected[perPage].Id}>; rel=\"next\"";
            }
        }

        await WriteAsync(call.Context, StatusCodes.Status200OK, items, link).ConfigureAwait(false);
    }

    private async Task RedeliverAsync(Call call)
    {
        ReadQuery(call, []);
        if (!await KnownHookAsync(call).ConfigureAwait(false))
        {
            return;
        }

        var id = long.Parse((string)call.Context.GetRouteValue("deliveryId")!, CultureInfo.InvariantCulture);
        SimulatedDelivery? delivery;
        bool configured;
        lock (_gate)
        {
            delivery = _hookDeliveries.Find(d => d.Id == id && d.RepositoryId == call.Repo.Id)?.Delivery;
            configured = _webhook is not null;
        }

        if (delivery is null || !configured)
        {
            call.Unexpected(delivery is null ? $"unknown delivery {id}" : "no webhook configured");
            await ErrorAsync(call.Context, StatusCodes.Status404NotFound, "Not Found", "https://docs.github.com/rest/repos/webhooks#redeliver-a-delivery-for-a-repository-webhook").ConfigureAwait(false);
            return;
        }

        // GitHub queues the redelivery and answers 202 at once; sending before answering keeps tests
        // deterministic. Same bytes, same X-GitHub-Delivery, recorded with redelivery: true.
        await PostAsync(delivery, isRedelivery: true, call.Context.RequestAborted).ConfigureAwait(false);
        await WriteAsync(call.Context, StatusCodes.Status202Accepted, new JsonObject()).ConfigureAwait(false);
    }

    private sealed class SimHookDeliveryState
    {
        public long Id { get; init; }

        public required string Guid { get; init; }

        public DateTimeOffset DeliveredAt { get; init; }

        public bool Redelivery { get; init; }

        public int StatusCode { get; set; }

        public required string Event { get; init; }

        public string? Action { get; init; }

        public long? RepositoryId { get; init; }

        public required SimulatedDelivery Delivery { get; init; }

        public SimHookDelivery ToRecord() => new(Id, Guid, DeliveredAt, Redelivery, StatusCode, Event, Action);

        /// <summary>The <c>hook-delivery-item</c> shape of the REST API.</summary>
        public JsonObject ToJson(long repositoryId) => new()
        {
            ["id"] = Id,
            ["guid"] = Guid,
            ["delivered_at"] = DeliveredAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["redelivery"] = Redelivery,
            ["duration"] = 0.03,
            ["status"] = StatusCode switch
            {
                0 => "failed to connect",
                >= 200 and < 300 => "OK",
                _ => $"Invalid HTTP Response: {StatusCode}",
            },
            ["status_code"] = StatusCode,
            ["event"] = Event,
            ["action"] = Action,
            ["installation_id"] = null,
            ["repository_id"] = repositoryId,
            ["throttled_at"] = null,
        };
    }
}

using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Shared.Platform;

/// <summary>
/// The one HTTP core of the platform clients (GitHub, Gitea, Plane, Asana): rate-limit wait, request, response,
/// failure classification into <see cref="PlatformApiException"/>.
/// </summary>
/// <remarks>
/// <para>
/// Each request: (1) <see cref="RateLimiter.WaitAsync"/> under <see cref="PlatformHttpOptions.CredentialKey"/>,
/// (2) the secret from <see cref="PlatformHttpOptions.GetSecretAsync"/>, (3) the platform's headers from
/// <see cref="PlatformHttpOptions.Authorize"/> and a UTF-8 JSON body, (4) the whole answer is read (so
/// <see cref="HttpClient.Timeout"/> bounds the body too), (5) <see cref="RateLimiter.Observe"/> sees every response,
/// so a <c>Retry-After</c> or <c>x-ratelimit-remaining: 0</c> + <c>x-ratelimit-reset</c> holds back the next
/// request of that credential, (6) a non-2xx (other than the one the caller accepts) becomes
/// <see cref="PlatformHttpOptions.ToException"/>'s exception.
/// </para>
/// <para>
/// Failures without an answer are transient: <see cref="HttpClient.Timeout"/> (<see cref="PlatformHttpOptions.TimeoutMessage"/>),
/// network errors (<c>network error (&lt;HttpRequestError&gt;): …</c>) and a connection lost while reading
/// (<c>connection failed while reading the response: …</c>). A 2xx body that is not JSON is permanent
/// (<see cref="PlatformHttpOptions.NotJsonMessage"/>). Cancelling the caller's token throws
/// <see cref="OperationCanceledException"/>. The secret is replaced by <c>***</c> in every message.
/// </para>
/// </remarks>
internal sealed class PlatformHttp
{
    private readonly HttpClient _http;
    private readonly PlatformHttpOptions _options;
    private readonly RateLimiter _limiter;

    /// <summary>Creates the core of one client.</summary>
    /// <param name="httpClient">Transport.</param>
    /// <param name="options">The platform's name, credential and rules.</param>
    /// <param name="rateLimiter">Limiter shared per credential.</param>
    public PlatformHttp(HttpClient httpClient, PlatformHttpOptions options, RateLimiter rateLimiter)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rateLimiter);
        _http = httpClient;
        _options = options;
        _limiter = rateLimiter;
    }

    /// <summary>The platform name used in exceptions.</summary>
    public string Platform => _options.Platform;

    /// <summary>The rate-limit key of this client's credential.</summary>
    public string CredentialKey => _options.CredentialKey;

    /// <summary>
    /// <c>{platform}:{base URL without trailing slash}:{first 16 hex digits of SHA-256(secret)}</c>, e.g.
    /// <c>plane:https://plane.example:0123456789abcdef</c>: names a credential for <see cref="RateLimiter"/> without
    /// revealing it.
    /// </summary>
    /// <param name="platform">Lower-case platform name.</param>
    /// <param name="baseUrl">The API root the credential is used against (query and fragment are dropped).</param>
    /// <param name="secret">Token.</param>
    /// <returns>The key.</returns>
    public static string CredentialKeyFor(string platform, Uri baseUrl, string secret)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)))[..16];
        return $"{platform}:{baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/')}:{hash}";
    }

    /// <summary>Sends one request; see the class remarks.</summary>
    /// <param name="method">HTTP method.</param>
    /// <param name="url">Absolute URL.</param>
    /// <param name="operation">Method and path for messages, e.g. <c>POST /repos/o/r/issues</c>.</param>
    /// <param name="body">JSON body, or <c>null</c> for none.</param>
    /// <param name="cancellationToken">Cancels the wait and the request.</param>
    /// <param name="alsoAccept">A non-2xx status returned to the caller instead of thrown (e.g. 404, 409); its body is parsed when it is JSON.</param>
    /// <returns>The answer; dispose it.</returns>
    /// <exception cref="PlatformApiException">Non-2xx answer, network failure, timeout, or a 2xx body that is not JSON.</exception>
    public async Task<PlatformResponse> SendAsync(
        HttpMethod method,
        Uri url,
        string operation,
        JsonNode? body,
        CancellationToken cancellationToken,
        HttpStatusCode? alsoAccept = null)
    {
        await _limiter.WaitAsync(_options.CredentialKey, cancellationToken).ConfigureAwait(false);
        var secret = await _options.GetSecretAsync(cancellationToken).ConfigureAwait(false);
        string Redact(string text) => RedactSecret(text, secret, _options.MaxMessageChars);

        using var request = new HttpRequestMessage(method, url);
        _options.Authorize(request, secret);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        HttpResponseMessage? response = null;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var outcome = "network";
        var failed = true;
        try
        {
            // Default completion (ResponseContentRead) so HttpClient.Timeout also bounds reading the body.
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            var status = response.StatusCode;
            var accepted = response.IsSuccessStatusCode || status == alsoAccept;
            outcome = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
            failed = !accepted;
            var text = accepted ? null : Encoding.UTF8.GetString(bytes);
            _limiter.Observe(_options.CredentialKey, response, text);
            if (!accepted)
            {
                throw _options.ToException(new PlatformFailure(response, text!, operation, Redact));
            }

            var links = response.Headers.TryGetValues("Link", out var values) ? values.ToArray() : [];
            return new PlatformResponse(status, operation, ParseJson(bytes, response.IsSuccessStatusCode, status, operation), links);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient.Timeout surfaces as a TaskCanceledException the caller did not ask for.
            outcome = "timeout";
            throw new PlatformApiException(_options.Platform, operation, null, _options.TimeoutMessage, isTransient: true, inner: e);
        }
        catch (HttpRequestException e) when (e.InnerException is OutboundRefusedException refused)
        {
            // The outbound policy refused the target: retrying cannot help, and the message names the rule.
            outcome = "refused";
            throw new PlatformApiException(_options.Platform, operation, null, refused.Message, isTransient: false, inner: refused);
        }
        catch (HttpRequestException e)
        {
            // Connection refused, DNS, TLS, reset: the inner message names host and port only.
            throw new PlatformApiException(_options.Platform, operation, null, Redact($"network error ({e.HttpRequestError}): {e.Message}"), isTransient: true, inner: e);
        }
        catch (IOException e)
        {
            throw new PlatformApiException(_options.Platform, operation, response?.StatusCode, Redact($"connection failed while reading the response: {e.Message}"), isTransient: true, inner: e);
        }
        finally
        {
            response?.Dispose();

            // A call the caller cancelled is neither an answer nor a platform failure.
            if (!cancellationToken.IsCancellationRequested)
            {
                Observability.OrchestratorMeter.PlatformRequest(_options.Platform, outcome, failed, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            }
        }
    }

    private JsonDocument? ParseJson(byte[] bytes, bool success, HttpStatusCode status, string operation)
    {
        var span = bytes.AsSpan();
        if (span.StartsWith(Encoding.UTF8.Preamble))
        {
            span = span[Encoding.UTF8.Preamble.Length..];
        }

        if (span.Trim(" \t\r\n"u8).IsEmpty)
        {
            // 204 from DELETE, 202 without a body: nothing to parse; readers of such answers ignore it.
            return null;
        }

        try
        {
            return JsonDocument.Parse(span.ToArray());
        }
        catch (JsonException e) when (success)
        {
            throw new PlatformApiException(_options.Platform, operation, status, _options.NotJsonMessage, isTransient: false, inner: e);
        }
        catch (JsonException)
        {
            // An accepted error status (a proxy's HTML 404, say) carries no JSON worth reading.
            return null;
        }
    }

    /// <summary>HTTP 408, 429 and 5xx: the statuses every platform documents as worth retrying.</summary>
    /// <param name="status">Response status.</param>
    /// <returns>Whether a retry may succeed.</returns>
    public static bool IsTransientStatus(HttpStatusCode status) => (int)status is 408 or 429 or >= 500;

    /// <summary><c>Retry-After</c> as a wait: delta seconds, or an HTTP date minus <paramref name="now"/>; never negative; <c>null</c> without the header.</summary>
    /// <param name="response">The response.</param>
    /// <param name="now">The client's clock.</param>
    /// <returns>The wait, or <c>null</c>.</returns>
    public static TimeSpan? RetryAfter(HttpResponseMessage response, DateTimeOffset now)
    {
        var header = response.Headers.RetryAfter;
        TimeSpan? wait = header?.Delta ?? (header?.Date is { } date ? date - now : null);
        return wait is { } w && w < TimeSpan.Zero ? TimeSpan.Zero : wait;
    }

    /// <summary>
    /// The classification most platforms share: 408, 429 and 5xx transient, every other status permanent;
    /// <see cref="PlatformApiException.RetryAfter"/> from <c>Retry-After</c> (on transient answers only unless
    /// <paramref name="retryAfterOnPermanent"/>).
    /// </summary>
    /// <param name="platform">Platform name.</param>
    /// <param name="failure">The failed exchange.</param>
    /// <param name="message">The reason, already redacted.</param>
    /// <param name="now">The client's clock.</param>
    /// <param name="retryAfterOnPermanent">Also report <c>Retry-After</c> on a permanent answer.</param>
    /// <returns>The exception to throw.</returns>
    public static PlatformApiException Classify(string platform, PlatformFailure failure, string message, DateTimeOffset now, bool retryAfterOnPermanent = false)
    {
        var status = failure.Response.StatusCode;
        var transient = IsTransientStatus(status);
        var retryAfter = transient || retryAfterOnPermanent ? RetryAfter(failure.Response, now) : null;
        return new PlatformApiException(platform, failure.Operation, status, message, transient, retryAfter);
    }

    /// <summary>
    /// Guards a <c>Link: rel="next"</c> walk (https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api;
    /// Gitea sends the same header): a page seen before, or more than <paramref name="maxPages"/> pages, stops it.
    /// </summary>
    /// <param name="visited">Pages fetched so far in this walk.</param>
    /// <param name="next">The page about to be fetched.</param>
    /// <param name="maxPages">Most pages one walk may fetch.</param>
    /// <param name="platform">Platform name for the error.</param>
    /// <param name="operation">Operation for the error.</param>
    /// <exception cref="PlatformApiException">The walk repeats or never ends (permanent).</exception>
    public static void CheckNextPage(HashSet<Uri> visited, Uri next, int maxPages, string platform, string operation)
    {
        if (!visited.Add(next) || visited.Count > maxPages)
        {
            throw new PlatformApiException(platform, operation, null, "the Link header's next page repeats or never ends", isTransient: false);
        }
    }

    /// <summary>The absolute URL of a <c>rel="next"</c> link, refused unless it is on <paramref name="baseUrl"/>'s scheme and host (following it would send the token elsewhere).</summary>
    /// <param name="baseUrl">API root the client talks to.</param>
    /// <param name="link">The link as sent.</param>
    /// <param name="platform">Platform name for the error.</param>
    /// <param name="operation">Operation for the error.</param>
    /// <param name="hostDescription">How the error names the host, e.g. <c>the API host</c>.</param>
    /// <returns>The next page's URL.</returns>
    /// <exception cref="PlatformApiException">The link leaves the host (permanent).</exception>
    public static Uri ResolveNextPage(Uri baseUrl, string link, string platform, string operation, string hostDescription)
    {
        if (!Uri.TryCreate(baseUrl, link, out var next)
            || Uri.Compare(next, baseUrl, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) != 0)
        {
            throw new PlatformApiException(platform, operation, null, $"the Link header's next page is not on {hostDescription}", isTransient: false);
        }

        return next;
    }

    /// <summary>Reads a 2xx JSON body, turning a shape the API documentation does not describe into a permanent <see cref="PlatformApiException"/>.</summary>
    /// <typeparam name="T">What is read.</typeparam>
    /// <param name="platform">Platform name for the error.</param>
    /// <param name="root">The body.</param>
    /// <param name="read">The reader (throws <see cref="KeyNotFoundException"/>, <see cref="InvalidOperationException"/> or <see cref="FormatException"/> on a wrong shape).</param>
    /// <param name="operation">Operation for the error.</param>
    /// <returns>What <paramref name="read"/> returned.</returns>
    /// <exception cref="PlatformApiException">The body is not in the documented shape.</exception>
    public static T ReadDocumented<T>(string platform, JsonElement root, Func<JsonElement, T> read, string operation)
    {
        try
        {
            return read(root);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new PlatformApiException(platform, operation, null, "the response is not in the documented shape", isTransient: false, inner: e);
        }
    }

    /// <summary>Replaces <paramref name="secret"/> by <c>***</c> and cuts the text at <paramref name="maxChars"/> (with <c>…</c>) when given.</summary>
    /// <param name="text">Text that may contain the secret.</param>
    /// <param name="secret">The secret.</param>
    /// <param name="maxChars">Longest message kept, or <c>null</c> for no limit.</param>
    /// <returns>The redacted text.</returns>
    public static string RedactSecret(string text, string secret, int? maxChars = null)
    {
        var redacted = secret.Length == 0 ? text : text.Replace(secret, "***", StringComparison.Ordinal);
        return maxChars is { } max && redacted.Length > max ? redacted[..max] + "…" : redacted;
    }
}

/// <summary>What differs between the platforms that <see cref="PlatformHttp"/> serves.</summary>
internal sealed record PlatformHttpOptions
{
    /// <summary>Platform name for exceptions, e.g. <c>Plane</c>.</summary>
    public required string Platform { get; init; }

    /// <summary>Rate-limit key of the credential (never the secret), see <see cref="PlatformHttp.CredentialKeyFor"/>.</summary>
    public required string CredentialKey { get; init; }

    /// <summary>The secret of the next request (a static token, or a refreshed installation token).</summary>
    public required Func<CancellationToken, ValueTask<string>> GetSecretAsync { get; init; }

    /// <summary>Sets authentication and the platform's fixed headers on a request, given the secret.</summary>
    public required Action<HttpRequestMessage, string> Authorize { get; init; }

    /// <summary>Turns a non-2xx answer into the exception to throw (see <see cref="PlatformHttp.Classify"/>).</summary>
    public required Func<PlatformFailure, PlatformApiException> ToException { get; init; }

    /// <summary>Message of a timeout.</summary>
    public string TimeoutMessage { get; init; } = "the request timed out";

    /// <summary>Message of a 2xx whose body is not JSON.</summary>
    public string NotJsonMessage { get; init; } = "the response body is not JSON";

    /// <summary>Longest message kept in a network-error or API-error message, or <c>null</c> for no limit.</summary>
    public int? MaxMessageChars { get; init; }

    /// <summary>Options for a client with one fixed token, keyed as <see cref="PlatformHttp.CredentialKeyFor"/> (platform name in lower case).</summary>
    /// <param name="platform">Platform name, e.g. <c>Plane</c>.</param>
    /// <param name="baseUrl">The API root the token is used against.</param>
    /// <param name="token">The token.</param>
    /// <param name="authorize">Sets authentication and fixed headers.</param>
    /// <param name="toException">Classifies a non-2xx answer.</param>
    /// <returns>The options; adjust the messages with <c>with { … }</c>.</returns>
    public static PlatformHttpOptions ForStaticToken(
        string platform, Uri baseUrl, string token, Action<HttpRequestMessage, string> authorize, Func<PlatformFailure, PlatformApiException> toException) => new()
    {
        Platform = platform,
        CredentialKey = PlatformHttp.CredentialKeyFor(platform.ToLowerInvariant(), baseUrl, token),
        GetSecretAsync = _ => ValueTask.FromResult(token),
        Authorize = authorize,
        ToException = toException,
    };
}

/// <summary>A non-2xx answer handed to <see cref="PlatformHttpOptions.ToException"/>.</summary>
/// <param name="Response">The response (headers and status; the body was read into <paramref name="Body"/>).</param>
/// <param name="Body">The body as UTF-8 text (may be empty or HTML).</param>
/// <param name="Operation">Method and path.</param>
/// <param name="Redact">Hides the secret of the request in a text (and applies <see cref="PlatformHttpOptions.MaxMessageChars"/>).</param>
internal sealed record PlatformFailure(HttpResponseMessage Response, string Body, string Operation, Func<string, string> Redact)
{
    /// <summary><c>"{code} {reason}"</c>, e.g. <c>502 Bad Gateway</c>.</summary>
    public string StatusLine => $"{(int)Response.StatusCode} {Response.ReasonPhrase}".Trim();

    /// <summary>The reason phrase, or the status name when there is none.</summary>
    public string ReasonOrStatus => string.IsNullOrEmpty(Response.ReasonPhrase) ? Response.StatusCode.ToString() : Response.ReasonPhrase;
}

/// <summary>An accepted answer of <see cref="PlatformHttp.SendAsync"/>.</summary>
/// <param name="Status">HTTP status (2xx, or the accepted one).</param>
/// <param name="Operation">Method and path.</param>
/// <param name="Json">The parsed body; <c>null</c> when the body was empty (or, for an accepted non-2xx, not JSON).</param>
/// <param name="Links">Values of the <c>Link</c> header, if any.</param>
internal sealed record PlatformResponse(HttpStatusCode Status, string Operation, JsonDocument? Json, IReadOnlyList<string> Links) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => Json?.Dispose();
}

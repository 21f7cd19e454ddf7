using System.Net;

namespace Orchestrator.Shared.Platform;

/// <summary>
/// A request to an external platform (GitHub, Plane, …) that did not succeed.
/// </summary>
/// <remarks>
/// <see cref="IsTransient"/> tells the durable engine whether a retry can help: HTTP 408, 429 and
/// 5xx, GitHub's secondary rate limit (403 with <c>Retry-After</c> or
/// <c>x-ratelimit-remaining: 0</c>), and network failures are transient; every other 4xx is
/// permanent (a wrong token or a missing repository does not heal by waiting).
/// </remarks>
public sealed class PlatformApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="platform">Platform name for messages, e.g. <c>GitHub</c>.</param>
    /// <param name="operation">What was attempted, e.g. <c>POST /repos/o/r/issues</c>.</param>
    /// <param name="statusCode">HTTP status, or <c>null</c> when no response arrived.</param>
    /// <param name="message">A short reason (the API's <c>message</c> field when it has one).</param>
    /// <param name="isTransient">Whether a retry may succeed.</param>
    /// <param name="retryAfter">The wait the server asked for (<c>Retry-After</c> or a rate-limit reset), if any.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public PlatformApiException(
        string platform,
        string operation,
        HttpStatusCode? statusCode,
        string message,
        bool isTransient,
        TimeSpan? retryAfter = null,
        Exception? inner = null)
        : base($"{platform} {operation} failed{(statusCode is { } s ? $" with HTTP {(int)s}" : "")}: {message}", inner)
    {
        Platform = platform;
        Operation = operation;
        StatusCode = statusCode;
        IsTransient = isTransient;
        RetryAfter = retryAfter;
    }

    /// <summary>Platform name, e.g. <c>GitHub</c> or <c>Plane</c>.</summary>
    public string Platform { get; }

    /// <summary>Method and path of the failed request.</summary>
    public string Operation { get; }

    /// <summary>HTTP status code, or <c>null</c> when the request never got a response.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>Whether retrying later may succeed.</summary>
    public bool IsTransient { get; }

    /// <summary>How long the server asked us to wait before the next request, if it said.</summary>
    public TimeSpan? RetryAfter { get; }
}

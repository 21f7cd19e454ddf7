using Microsoft.AspNetCore.Diagnostics;
using Npgsql;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Functions;

/// <summary>
/// Turns the exceptions an endpoint may throw into RFC 9457 problem details (https://www.rfc-editor.org/rfc/rfc9457),
/// for webhooks and the API alike:
/// <list type="bullet">
/// <item>PostgreSQL unreachable (<see cref="IsDatabaseUnavailable"/>) → <b>503</b> with <c>Retry-After: 5</c>, so webhook
/// senders and scripts retry instead of seeing an empty 500;</item>
/// <item>a platform call that failed (<see cref="PlatformApiException"/>) → <b>502</b> naming the platform and its answer,
/// <b>504</b> when it timed out, <b>422</b> when the outbound policy refused the project's URL (the message names the rule);</item>
/// <item><see cref="ProjectValidationException"/> → 400 with every error in <c>errors</c>, <see cref="ProjectRuleException"/> → 422,
/// <see cref="ProjectConflictException"/> → 409, <see cref="SecretDecryptionException"/> → 500 with what to fix, a project that
/// cannot do the action as configured (<see cref="Orchestrator.Shared.Engine.PermanentActivityException"/>) → 422;</item>
/// <item>Kestrel's <see cref="BadHttpRequestException"/> keeps its own status (408 for a slow body, 413 …).</item>
/// </list>
/// Anything else stays a 500 with a generic body (the exception is logged by the framework, never echoed).
/// </summary>
public sealed class ApiExceptionHandler(ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    /// <summary>Seconds a 503 asks the caller to wait.</summary>
    public const int RetryAfterSeconds = 5;

    /// <inheritdoc />
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && httpContext.RequestAborted.IsCancellationRequested)
        {
            return true; // The caller went away; nobody reads an answer.
        }

        var problem = ToProblem(exception, logger);
        if (problem is null)
        {
            return false;
        }

        if (problem.Status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await problem.ExecuteAsync(httpContext);
        return true;
    }

    /// <summary>The answer for <paramref name="exception"/>, or <c>null</c> to leave it to the default (500).</summary>
    /// <param name="exception">What an endpoint threw.</param>
    /// <param name="logger">Receives one line per mapped failure (status and platform, never a body or secret).</param>
    /// <returns>The result, or <c>null</c>.</returns>
    internal static ProblemResult? ToProblem(Exception exception, ILogger logger)
    {
        switch (exception)
        {
            case BadHttpRequestException bad:
                return new ProblemResult(bad.StatusCode, "Bad request", bad.Message);
            case ProjectValidationException invalid:
                return new ProblemResult(StatusCodes.Status400BadRequest, "The project is invalid", string.Join("; ", invalid.Errors), invalid.Errors);
            case ProjectRuleException rule:
                return new ProblemResult(StatusCodes.Status422UnprocessableEntity, "The change is refused", string.Join("; ", rule.Errors), rule.Errors);
            case ProjectConflictException conflict:
                return new ProblemResult(StatusCodes.Status409Conflict, "Conflict", conflict.Message);
            case SecretDecryptionException secret:
                return new ProblemResult(StatusCodes.Status500InternalServerError, "A stored secret cannot be decrypted", secret.Message);
            case Orchestrator.Shared.Engine.PermanentActivityException permanent:
                // A project that cannot be used as configured (no token of its own for its own URL, say): the message says what to fix.
                return new ProblemResult(StatusCodes.Status422UnprocessableEntity, "The project cannot do this as configured", permanent.Message);
            case OutboundRefusedException refused:
                return new ProblemResult(StatusCodes.Status422UnprocessableEntity, "Outbound connection refused", refused.Message);
            case PlatformApiException { InnerException: OutboundRefusedException refused }:
                return new ProblemResult(StatusCodes.Status422UnprocessableEntity, "Outbound connection refused", refused.Message);
            case PlatformApiException platform:
                var timedOut = platform.StatusCode is null && platform.InnerException is OperationCanceledException or TimeoutException;
                logger.LogWarning("{Platform} call {Operation} failed during an API action: {Status}", platform.Platform, platform.Operation, (int?)platform.StatusCode);
                return new ProblemResult(
                    timedOut ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway,
                    timedOut ? $"{platform.Platform} did not answer in time" : $"{platform.Platform} refused or failed the request",
                    platform.Message,
                    Platform: platform.Platform);
            case var e when IsDatabaseUnavailable(e):
                logger.LogWarning("Request refused with 503: PostgreSQL is unavailable ({Reason})", e.GetType().Name);
                return new ProblemResult(StatusCodes.Status503ServiceUnavailable, "The database is unavailable", $"PostgreSQL cannot be reached right now; retry in {RetryAfterSeconds} seconds.");
            default:
                return null;
        }
    }

    /// <summary>
    /// Whether <paramref name="exception"/> means PostgreSQL cannot be reached (connection refused or lost, pool
    /// exhausted, server shutting down or not accepting connections: SQLSTATE classes 08 and 57P, 53300), as opposed to a
    /// query that PostgreSQL answered with an error (a bug, left a 500).
    /// </summary>
    /// <param name="exception">The exception.</param>
    /// <returns><c>true</c> when the database is unavailable.</returns>
    public static bool IsDatabaseUnavailable(Exception exception) => exception switch
    {
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("57P", StringComparison.Ordinal) || pg.SqlState == "53300",
        NpgsqlException => true,
        _ when exception.InnerException is { } inner => IsDatabaseUnavailable(inner),
        _ => false,
    };
}

/// <summary>A problem-details answer (<c>application/problem+json</c>).</summary>
/// <param name="Status">HTTP status.</param>
/// <param name="Title">Short summary.</param>
/// <param name="Detail">What happened and what to do.</param>
/// <param name="Errors">Every error, for validation failures.</param>
/// <param name="Platform">The platform that failed, for 502/504.</param>
internal sealed record ProblemResult(int Status, string Title, string Detail, IReadOnlyList<string>? Errors = null, string? Platform = null)
{
    /// <summary>Writes the answer.</summary>
    public Task ExecuteAsync(HttpContext context)
    {
        var extensions = new Dictionary<string, object?>();
        if (Errors is not null)
        {
            extensions["errors"] = Errors;
        }

        if (Platform is not null)
        {
            extensions["platform"] = Platform;
        }

        return TypedResults.Problem(Detail, statusCode: Status, title: Title, extensions: extensions).ExecuteAsync(context);
    }
}

using System.Globalization;
using System.Text.Json;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.ReadModel;

namespace Orchestrator.Functions.Functions;

/// <summary>
/// The project analytics API (issue #11 §2), mapped under <c>/api</c>, computed from the read model
/// (<see cref="AnalyticsQueries"/>): <c>GET /api/v1/projects/{slug}/summary</c>, <c>/funnel</c>, <c>/lead-time</c>,
/// <c>/failures</c>, <c>/cost</c>, <c>/webhooks/health</c>, <c>/jobs/health</c> and <c>/tasks/{id}/events</c>.
/// </summary>
/// <remarks>
/// Every endpoint needs the viewer role in the project (a session, a project API token of that project, or
/// <c>ORCH_ADMIN_TOKEN</c>): 401 without credentials, 404 for a project the caller cannot see, 403 for a role below viewer.
/// Ranges: <c>from</c> and <c>to</c> are ISO 8601 (<c>2025-06-01</c>, <c>2025-06-01T12:00:00Z</c>,
/// <c>2025-06-01T12:00:00+02:00</c>; without an offset UTC), [from, to); defaults: the last 30 days up to now; at most
/// <see cref="MaxRange"/>. A malformed time, <c>from</c> after <c>to</c> or a longer range is a 400 problem. Bodies are
/// snake_case JSON; durations are seconds (fractions allowed), money is <c>{"amount": 1.23, "currency": "USD"}</c>.
/// </remarks>
public static class AnalyticsApi
{
    /// <summary>The default range: the last 30 days.</summary>
    public static readonly TimeSpan DefaultRange = TimeSpan.FromDays(30);

    /// <summary>The longest range one call may ask for.</summary>
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(366);

    /// <summary>Events per page of a task timeline by default.</summary>
    public const int DefaultEvents = 100;

    /// <summary>The bodies' JSON: snake_case names (dictionary keys such as status names as they are).</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static readonly string[] IsoFormats =
    [
        "yyyy-MM-dd", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
    ];

    /// <summary>Maps the endpoints.</summary>
    /// <param name="app">The <c>/api</c> group.</param>
    /// <returns>The group.</returns>
    public static IEndpointRouteBuilder MapAnalyticsApi(this IEndpointRouteBuilder app)
    {
        var project = app.MapGroup("/v1/projects/{slug}");
        project.MapGet("/summary", (HttpContext http, string slug, AnalyticsQueries q, TimeProvider clock, string? from, string? to) =>
            RangedAsync(http, slug, from, to, clock, (range, ct) => q.SummaryAsync(slug, range.From, range.To, ct)));
        project.MapGet("/funnel", (HttpContext http, string slug, AnalyticsQueries q, TimeProvider clock, string? from, string? to) =>
            RangedAsync(http, slug, from, to, clock, (range, ct) => q.FunnelAsync(slug, range.From, range.To, ct)));
        project.MapGet("/lead-time", (HttpContext http, string slug, AnalyticsQueries q, TimeProvider clock, string? from, string? to) =>
            RangedAsync(http, slug, from, to, clock, (range, ct) => q.LeadTimeAsync(slug, range.From, range.To, ct)));
        project.MapGet("/failures", (HttpContext http, string slug, AnalyticsQueries q, TimeProvider clock, string? from, string? to) =>
            RangedAsync(http, slug, from, to, clock, (range, ct) => q.FailuresAsync(slug, range.From, range.To, ct)));
        project.MapGet("/cost", (HttpContext http, string slug, AnalyticsQueries q, TimeProvider clock, string? from, string? to) =>
            RangedAsync(http, slug, from, to, clock, (range, ct) => q.CostAsync(slug, range.From, range.To, ct)));
        project.MapGet("/webhooks/health", WebhooksHealthAsync);
        project.MapGet("/jobs/health", JobsHealthAsync);
        project.MapGet("/tasks/{id}/events", EventsAsync);
        return app;
    }

    /// <summary>Reads <c>from</c> / <c>to</c> (see the class remarks).</summary>
    /// <param name="from">The <c>from</c> query value, or <c>null</c>.</param>
    /// <param name="to">The <c>to</c> query value, or <c>null</c>.</param>
    /// <param name="now">Now (the default end).</param>
    /// <returns>The range (UTC), or the reason it is refused.</returns>
    public static (DateTimeOffset From, DateTimeOffset To, string? Error) ParseRange(string? from, string? to, DateTimeOffset now)
    {
        DateTimeOffset? start = null, end = null;
        if (!string.IsNullOrWhiteSpace(from))
        {
            if (ParseTime(from) is not { } f)
            {
                return (default, default, $"'from' is not an ISO 8601 time: '{Clip(from)}'. Use e.g. 2025-06-01 or 2025-06-01T12:00:00Z.");
            }

            start = f;
        }

        if (!string.IsNullOrWhiteSpace(to))
        {
            if (ParseTime(to) is not { } t)
            {
                return (default, default, $"'to' is not an ISO 8601 time: '{Clip(to)}'. Use e.g. 2025-06-30 or 2025-06-30T12:00:00Z.");
            }

            end = t;
        }

        var rangeEnd = end ?? now.ToUniversalTime();
        var rangeStart = start ?? rangeEnd - DefaultRange;
        if (rangeStart > rangeEnd)
        {
            return (default, default, $"'from' ({rangeStart:O}) is after 'to' ({rangeEnd:O}).");
        }

        if (rangeEnd - rangeStart > MaxRange)
        {
            return (default, default, $"The range is {(rangeEnd - rangeStart).TotalDays:0.#} days; at most {MaxRange.TotalDays:0} days per call.");
        }

        return (rangeStart, rangeEnd, null);
    }

    private static DateTimeOffset? ParseTime(string text)
    {
        // A '+' of an offset arrives as a space when the caller did not percent-encode it.
        var value = text.Trim().Replace(' ', '+');
        return DateTimeOffset.TryParseExact(value, IsoFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed)
            ? parsed
            : null;
    }

    private static string Clip(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private static async Task<IResult> RangedAsync<T>(HttpContext http, string slug, string? from, string? to, TimeProvider clock,
        Func<(DateTimeOffset From, DateTimeOffset To), CancellationToken, Task<T>> query)
    {
        var (_, refusal) = await ApiAuth.ProjectAsync(http, slug, ProjectRole.Viewer);
        if (refusal is not null)
        {
            return refusal;
        }

        var (start, end, error) = ParseRange(from, to, clock.GetUtcNow());
        if (error is not null)
        {
            return TypedResults.Problem(error, statusCode: StatusCodes.Status400BadRequest, title: "Invalid range");
        }

        return TypedResults.Json(await query((start, end), http.RequestAborted), Json);
    }

    private static async Task<IResult> WebhooksHealthAsync(HttpContext http, string slug, AnalyticsQueries q, TimeProvider clock, string? from, string? to)
    {
        var (access, refusal) = await ApiAuth.ProjectAsync(http, slug, ProjectRole.Viewer);
        if (refusal is not null)
        {
            return refusal;
        }

        var (start, end, error) = ParseRange(from, to, clock.GetUtcNow());
        if (error is not null)
        {
            return TypedResults.Problem(error, statusCode: StatusCodes.Status400BadRequest, title: "Invalid range");
        }

        var definition = access.Project!.Definition;
        return TypedResults.Json(await q.WebhooksHealthAsync(slug, [(definition.Tracker.Kind, "tracker"), (definition.Forge.Kind, "forge")], start, end, http.RequestAborted), Json);
    }

    private static async Task<IResult> JobsHealthAsync(HttpContext http, string slug, AnalyticsQueries q, TimeProvider clock)
    {
        var (_, refusal) = await ApiAuth.ProjectAsync(http, slug, ProjectRole.Viewer);
        return refusal ?? TypedResults.Json(await q.JobsHealthAsync(slug, clock.GetUtcNow(), http.RequestAborted), Json);
    }

    private static async Task<IResult> EventsAsync(HttpContext http, string slug, string id, ReadModelQueries queries, int? limit, long? before)
    {
        var (_, refusal) = await ApiAuth.ProjectAsync(http, slug, ProjectRole.Viewer);
        if (refusal is not null)
        {
            return refusal;
        }

        var size = limit ?? DefaultEvents;
        if (size is < 1 or > ReadModelQueries.MaxEvents)
        {
            return TypedResults.Problem($"limit must be between 1 and {ReadModelQueries.MaxEvents}.", statusCode: StatusCodes.Status400BadRequest);
        }

        var page = await queries.TaskAsync(id, slug, size, before, http.RequestAborted);
        if (page is null)
        {
            return TypedResults.Problem($"No task '{id}' in project '{slug}'.", statusCode: StatusCodes.Status404NotFound, title: "Not Found");
        }

        return TypedResults.Json(new TaskTimeline(page.Task.Id, page.Task.TaskKey, page.Task.Status, page.Events, page.OlderEventsBefore), Json);
    }
}

/// <summary><c>GET /api/v1/projects/{slug}/tasks/{id}/events</c>: a task's timeline, newest first.</summary>
/// <param name="TaskId">Instance id.</param>
/// <param name="TaskKey"><c>PREFIX-N</c>.</param>
/// <param name="Status">Its status now.</param>
/// <param name="Events">Its events, newest first (<c>?limit=</c>, default 100, at most 200).</param>
/// <param name="OlderEventsBefore">Pass as <c>?before=</c> for the next (older) page; <c>null</c> when there are none.</param>
public sealed record TaskTimeline(string TaskId, string? TaskKey, string Status, IReadOnlyList<TaskEventView> Events, long? OlderEventsBefore);

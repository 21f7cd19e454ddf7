using System.ComponentModel;
using System.Globalization;
using System.Text.Json.Serialization;
using Orchestrator.Functions.Functions.V1;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.ReadModel;

namespace Orchestrator.Functions.Functions;

/// <summary>
/// The project analytics of <c>/api/v1</c> (issue #11 §2), mapped in the v1 group (so in the OpenAPI document), computed
/// from the read model (<see cref="AnalyticsQueries"/>): <c>GET /api/v1/projects/{slug}/summary</c>, <c>/funnel</c>,
/// <c>/lead-time</c>, <c>/failures</c>, <c>/cost</c>, <c>/webhooks/health</c>, <c>/jobs/health</c> and
/// <c>/tasks/{id}/events</c>.
/// </summary>
/// <remarks>
/// Every endpoint needs the viewer role in the project (a session, a project API token of that project, or
/// <c>ORCH_ADMIN_TOKEN</c>): 401 without credentials, 404 for a project the caller cannot see.
/// Ranges: <c>from</c> and <c>to</c> are ISO 8601 (<c>2025-06-01</c>, <c>2025-06-01T12:00:00Z</c>,
/// <c>2025-06-01T12:00:00+02:00</c>; without an offset UTC), [from, to); defaults: the last 30 days up to now; at most
/// <see cref="MaxRange"/>. A malformed time, <c>from</c> after <c>to</c> or a longer range is a 400 problem. Bodies are
/// snake_case JSON like the rest of v1 (the names are declared on the report records); durations are seconds (fractions
/// allowed), money is <c>{"amount": 1.23, "currency": "USD"}</c>.
/// </remarks>
public static class AnalyticsApi
{
    /// <summary>The default range: the last 30 days.</summary>
    public static readonly TimeSpan DefaultRange = TimeSpan.FromDays(30);

    /// <summary>The longest range one call may ask for.</summary>
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(366);

    /// <summary>Events per page of a task timeline by default.</summary>
    public const int DefaultEvents = 100;

    private const string From = "Range start, ISO 8601 (inclusive); default `to` minus 30 days.";
    private const string To = "Range end, ISO 8601 (exclusive); default now.";

    private const string RangeText = "`from` and `to` are ISO 8601 (`2025-06-01`, `2025-06-01T12:00:00Z`; UTC without an offset), the range is [from, to), by default the last 30 days, at most 366 days.";

    private static readonly string[] IsoFormats =
    [
        "yyyy-MM-dd", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
    ];

    /// <summary>Maps the endpoints.</summary>
    /// <param name="v1">The <c>/api/v1</c> group.</param>
    public static void MapAnalyticsV1(this RouteGroupBuilder v1)
    {
        var project = v1.MapGroup("/projects/{slug}").WithTags("Analytics");
        project.MapGet("/summary", (HttpContext http, string slug, AnalyticsQueries q, TimeProvider clock, [Description(From)] string? from, [Description(To)] string? to) =>
                RangedAsync(http, slug, from, to, clock, (range, ct) => q.SummaryAsync(slug, range.From, range.To, ct)))
            .Doc("Project summary", "Tasks by status now; in the range: received, deployed, median and p90 lead time (seconds), failures, agent cost (USD). " + RangeText, 400, 404)
            .Produces<ProjectSummary>();
        project.MapGet("/funnel", (HttpContext http, string slug, AnalyticsQueries q, TimeProvider clock, [Description(From)] string? from, [Description(To)] string? to) =>
                RangedAsync(http, slug, from, to, clock, (range, ct) => q.FunnelAsync(slug, range.From, range.To, ct)))
            .Doc("Funnel", "The tasks received in the range: how many reached issue → PR → merged → CI success → DEPLOYED, and the conversion to the next step (0–1). " + RangeText, 400, 404)
            .Produces<FunnelReport>();
        project.MapGet("/lead-time", (HttpContext http, string slug, AnalyticsQueries q, TimeProvider clock, [Description(From)] string? from, [Description(To)] string? to) =>
                RangedAsync(http, slug, from, to, clock, (range, ct) => q.LeadTimeAsync(slug, range.From, range.To, ct)))
            .Doc("Lead time", "RECEIVED → DEPLOYED of the tasks deployed in the range, in seconds: count, p50, p90, mean, min, max, a histogram; per stage (received → issue, issue → PR, PR → merge, merge → CI done) and per UTC week. " + RangeText, 400, 404)
            .Produces<LeadTimeReport>();
        project.MapGet("/failures", (HttpContext http, string slug, AnalyticsQueries q, TimeProvider clock, [Description(From)] string? from, [Description(To)] string? to) =>
                RangedAsync(http, slug, from, to, clock, (range, ct) => q.FailuresAsync(slug, range.From, range.To, ct)))
            .Doc("Failure reasons", "The transitions into FAILED in the range by category (`ci_red`, `ci_timeout`, `agent_failed`, `budget_exceeded`, `tracker_api_error`, `forge_api_error`, `spec_invalid`, `other`) with counts, distinct tasks and the newest examples. " + RangeText, 400, 404)
            .Produces<FailureReport>();
        project.MapGet("/cost", (HttpContext http, string slug, AnalyticsQueries q, TimeProvider clock, [Description(From)] string? from, [Description(To)] string? to) =>
                RangedAsync(http, slug, from, to, clock, (range, ct) => q.CostAsync(slug, range.From, range.To, ct)))
            .Doc("Agent cost", "Agent runs finished in the range: cost (USD) and tokens in total, per stage, agent and vendor, model, task (the 20 costliest) and UTC week. " + RangeText, 400, 404)
            .Produces<CostReport>();
        project.MapGet("/webhooks/health", WebhooksHealthAsync)
            .Doc("Webhook health", "Per source (the project's tracker, then its forge): the last delivery, and accepted / duplicate / refused-signature / failed counts per hour and per UTC day of the range, with the range's totals. " + RangeText, 400, 404)
            .Produces<WebhooksHealthReport>();
        project.MapGet("/jobs/health", JobsHealthAsync)
            .Doc("Queue health", "The queue work of the project's tasks now: queue depth, the oldest due item's age (seconds), retrying, running, dead work (the newest 20) and running agent runs.", 404)
            .Produces<JobsHealthReport>();
        project.MapGet("/tasks/{id}/events", EventsAsync).WithTags("Tasks")
            .Doc("A task's timeline", "The task's events (by key or instance id), newest first: `limit` (1–200, default 100) per page, the next (older) page with `before` = the previous page's `older_events_before`.", 400, 404)
            .Produces<TaskTimeline>();
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

        return TypedResults.Ok(await query((start, end), http.RequestAborted));
    }

    private static async Task<IResult> WebhooksHealthAsync(HttpContext http, string slug, AnalyticsQueries q, TimeProvider clock, [Description(From)] string? from, [Description(To)] string? to)
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
        return TypedResults.Ok(await q.WebhooksHealthAsync(slug, [(definition.Tracker.Kind, "tracker"), (definition.Forge.Kind, "forge")], start, end, http.RequestAborted));
    }

    private static async Task<IResult> JobsHealthAsync(HttpContext http, string slug, AnalyticsQueries q, TimeProvider clock)
    {
        var (_, refusal) = await ApiAuth.ProjectAsync(http, slug, ProjectRole.Viewer);
        return refusal ?? TypedResults.Ok(await q.JobsHealthAsync(slug, clock.GetUtcNow(), http.RequestAborted));
    }

    private static async Task<IResult> EventsAsync(
        HttpContext http, string slug, string id, ReadModelQueries queries,
        [Description("Events per page, 1–200 (default 100).")] int? limit, [Description("The previous page's `older_events_before`: events older than that event id.")] long? before)
    {
        var (_, refusal) = await ApiAuth.ProjectAsync(http, slug, ProjectRole.Viewer);
        if (refusal is not null)
        {
            return refusal;
        }

        var size = limit ?? DefaultEvents;
        if (size is < 1 or > ReadModelQueries.MaxEvents)
        {
            return ApiV1.Invalid(new Dictionary<string, string> { ["limit"] = $"Use 1–{ReadModelQueries.MaxEvents}." });
        }

        var page = await queries.TaskAsync(id, slug, size, before, http.RequestAborted);
        if (page is null)
        {
            return ApiV1.NotFound($"task '{id}' in project '{slug}'");
        }

        return TypedResults.Ok(new TaskTimeline(page.Task.Id, page.Task.TaskKey, page.Task.Status, page.Events, page.OlderEventsBefore));
    }
}

/// <summary><c>GET /api/v1/projects/{slug}/tasks/{id}/events</c>: a task's timeline, newest first.</summary>
/// <param name="TaskId">Instance id.</param>
/// <param name="TaskKey"><c>PREFIX-N</c>.</param>
/// <param name="Status">Its status now.</param>
/// <param name="Events">Its events, newest first (<c>?limit=</c>, default 100, at most 200).</param>
/// <param name="OlderEventsBefore">Pass as <c>?before=</c> for the next (older) page; <c>null</c> when there are none.</param>
public sealed record TaskTimeline(
    [property: JsonPropertyName("task_id")] string TaskId,
    [property: JsonPropertyName("task_key")] string? TaskKey,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("events")] IReadOnlyList<TaskEventView> Events,
    [property: JsonPropertyName("older_events_before")] long? OlderEventsBefore);

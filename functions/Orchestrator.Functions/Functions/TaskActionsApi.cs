using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestrator.Functions.Functions.V1;
using Orchestrator.Functions.Web;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.ReadModel;

namespace Orchestrator.Functions.Functions;

/// <summary>
/// The task actions of the web tool for scripts (issue #9 §2, issue #11 §1): retry, resync, link-pr (<see cref="LinkPullRequestBody"/>),
/// repo (<see cref="ChangeRepoBody"/>), note (<see cref="AddNoteBody"/>) and cancel (<see cref="CancelTaskBody"/>, optional), at
/// <c>POST /api/v1/projects/{slug}/tasks/{id}/actions/{action}</c> and at the legacy alias <c>POST /api/tasks/{id}/actions/{action}</c>.
/// Both run one handler (<see cref="RunAsync"/>) over one table of actions (<see cref="Actions"/>): editors only (403 below, 404
/// for a task the caller cannot see — in v1 also a task of another project), then the rules of <see cref="TaskActions"/>
/// (the task page uses the same): <b>202</b> <see cref="TaskActionAccepted"/> when raised (or raised before with the same
/// input), <b>400</b> for invalid input, <b>409</b> when the action does not apply to the task as it stands; a tracker or
/// forge failure answers 502/504 naming the platform (<see cref="ApiExceptionHandler"/>). The v1 routes also honour
/// <c>Idempotency-Key</c> and refuse unknown body members; the alias ignores them, as it always did.
/// </summary>
public static class TaskActionsApi
{
    /// <summary>Longest body read (a note of 4,000 characters fits many times over).</summary>
    public const int MaxBodyBytes = 64 * 1024;

    private static readonly JsonSerializerOptions Lenient = new(JsonSerializerDefaults.Web);

    private static readonly JsonSerializerOptions Strict = new(JsonSerializerDefaults.Web) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    /// <summary>The six actions, in the order the task page shows them.</summary>
    internal static readonly IReadOnlyList<TaskActionRoute> Actions =
    [
        new("retry", null, "Retry a FAILED task", "Re-runs the task from the step that failed. Only a FAILED task (else 409).",
            (a, id, _, by, ct) => a.RetryAsync(id, by, ct)),
        new("resync", null, "Re-sync a task from the tracker", "Reads the tracker item now and hands it to the task (a webhook that never arrived); an item that is gone cancels the task.",
            (a, id, _, by, ct) => a.ResyncAsync(id, by, ct)),
        new("link-pr", typeof(LinkPullRequestBody), "Force-link a pull request", "Links an open or merged pull request of the project's repositories while the task is ISSUE_CREATED or PR_CREATED (else 409); a merged one takes the task to CI on its merge commit.",
            (a, id, body, by, ct) => a.LinkPullRequestAsync(id, ((LinkPullRequestBody)body!).Pr, by, ct)),
        new("repo", typeof(ChangeRepoBody), "Set the repository of a NEEDS_REPO task", "One of the project's repositories; the forge issue is then created there. Only while NEEDS_REPO (else 409).",
            (a, id, body, by, ct) => a.ChangeRepoAsync(id, ((ChangeRepoBody)body!).Repo, by, ct)),
        new("note", typeof(AddNoteBody), "Add a note", "Shows in the timeline and is posted once as a tracker comment (at most 4,000 characters). The same `id` adds the note once.",
            (a, id, body, by, ct) => a.AddNoteAsync(id, ((AddNoteBody)body!).Text, ((AddNoteBody)body!).Id, by, ct)),
        new("cancel", typeof(CancelTaskBody), "Cancel a task", "Cancels an unfinished task (else 409): the forge issue is closed as not planned and the tracker told. The body is optional.",
            (a, id, body, by, ct) => a.CancelAsync(id, (body as CancelTaskBody)?.Reason, by, ct), BodyOptional: true),
    ];

    /// <summary>Maps the legacy alias <c>/api/tasks/{id}/actions/…</c> (the task found by key or instance id across the caller's projects).</summary>
    /// <param name="app">The <c>/api</c> group.</param>
    /// <returns><paramref name="app"/>.</returns>
    public static IEndpointRouteBuilder MapTaskActionsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/tasks/{id}/actions");
        foreach (var action in Actions)
        {
            group.MapPost("/" + action.Path, (HttpContext http, string id, TaskActions actions, TaskQueries queries) =>
                RunAsync(http, action, actions, Lenient, async () =>
                {
                    var (detail, refusal) = await TasksApi.VisibleTaskAsync(http, queries, id, ProjectRole.Editor);
                    return (refusal is null ? detail?.Id : null, refusal);
                }, taskId => $"/api/tasks/{Uri.EscapeDataString(taskId)}"));
        }

        return app;
    }

    /// <summary>Maps <c>/api/v1/projects/{slug}/tasks/{id}/actions/…</c> (the task by key or instance id, in that project only).</summary>
    /// <param name="v1">The <c>/api/v1</c> group.</param>
    public static void MapTaskActionsV1(this RouteGroupBuilder v1)
    {
        var group = v1.MapGroup("/projects/{slug}/tasks/{id}/actions").WithTags("Task actions");
        foreach (var action in Actions)
        {
            var endpoint = group.MapPost("/" + action.Path, (HttpContext http, string slug, string id, TaskActions actions, ReadModelQueries readModel) =>
                    RunAsync(http, action, actions, Strict, async () =>
                    {
                        if ((await ApiV1.ProjectAsync(http, slug, ProjectRole.Editor)).Refusal is { } refusal)
                        {
                            return (null, refusal);
                        }

                        var task = await readModel.TaskAsync(id, slug, 1, null, http.RequestAborted);
                        return task is null ? (null, ApiV1.NotFound($"task '{id}' in project '{slug}'")) : (task.Task.Id, null);
                    }, taskId => $"/api/v1/projects/{Uri.EscapeDataString(slug)}/tasks/{Uri.EscapeDataString(taskId)}"))
                .Idempotent()
                .Doc(action.Summary, action.Description + " Editors. The same request again raises nothing new (`status: already_requested`); `Idempotency-Key` replays the first answer.",
                    400, 403, 404, 502, 504)
                .Produces<TaskActionAccepted>(StatusCodes.Status202Accepted);
            if (action.Body is { } body)
            {
                endpoint.Accepts(body, action.BodyOptional, "application/json");
            }
            else
            {
                endpoint.WithoutBody();
            }
        }
    }

    /// <summary>The answer of a task action for the JSON API.</summary>
    /// <param name="taskId">Task instance id.</param>
    /// <param name="result">What the action did.</param>
    /// <param name="location">The task's URL, for the 202's <c>Location</c>.</param>
    /// <returns>202 with <see cref="TaskActionAccepted"/>, or problem details (400, 409, 404).</returns>
    internal static IResult Answer(string taskId, TaskActionResult result, string location) => result.Succeeded
        ? TypedResults.Accepted(location, new TaskActionAccepted(taskId, result.Action,
            result.Outcome == TaskActionOutcome.Accepted ? "accepted" : "already_requested", result.Message))
        : TypedResults.Problem(
            result.Message,
            statusCode: result.HttpStatus,
            title: result.Outcome switch
            {
                TaskActionOutcome.Invalid => "Invalid input",
                TaskActionOutcome.NotApplicable => "The action does not apply to the task",
                _ => "Not Found",
            },
            extensions: result.Field is { } field ? new Dictionary<string, object?> { ["field"] = field } : null);

    /// <summary>
    /// The one handler of both routes: find the task and check the editor role (<paramref name="locate"/>: the task's instance
    /// id, or the refusal), read the body, run the action, answer.
    /// </summary>
    private static async Task<IResult> RunAsync(
        HttpContext http, TaskActionRoute action, TaskActions actions, JsonSerializerOptions json,
        Func<Task<(string? TaskId, IResult? Refusal)>> locate, Func<string, string> location)
    {
        var (taskId, refusal) = await locate();
        if (taskId is null)
        {
            return refusal!;
        }

        var (body, valid) = await ReadAsync(http.Request, action.Body ?? typeof(NoInput), json, http.RequestAborted);
        if (!valid)
        {
            var shape = action.Body is { } type && ApiExamples.For(type) is { } example ? example.ToJsonString() : "{}";
            return TypedResults.Problem(
                action.Body is null
                    ? "This action takes no input: send no body (or {})."
                    : $"The body must be a JSON object like {shape}{(action.BodyOptional ? " (or no body)" : "")}{(ReferenceEquals(json, Strict) ? ", with no other members" : "")}.",
                statusCode: StatusCodes.Status400BadRequest, title: "Invalid input");
        }

        return Answer(taskId, await action.Invoke(actions, taskId, body, EventOrigin.FromApi(ApiActor.Of(http)), http.RequestAborted), location(taskId));
    }

    /// <summary>The body as <paramref name="type"/>: empty counts as <c>{}</c>; not valid when it is not such a JSON object or too large.</summary>
    private static async Task<(object? Body, bool Valid)> ReadAsync(HttpRequest request, Type type, JsonSerializerOptions json, CancellationToken ct)
    {
        if (request.ContentLength is 0 || (request.ContentLength is null && !request.HasJsonContentType()))
        {
            return (JsonSerializer.Deserialize("{}", type, json), true);
        }

        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, false);
        }

        try
        {
            using var limited = new MemoryStream();
            await request.Body.CopyToAsync(limited, ct);
            if (limited.Length > MaxBodyBytes)
            {
                return (null, false);
            }

            limited.Position = 0;
            var body = limited.Length == 0 ? JsonSerializer.Deserialize("{}", type, json) : await JsonSerializer.DeserializeAsync(limited, type, json, ct);
            return (body ?? JsonSerializer.Deserialize("{}", type, json), true);
        }
        catch (JsonException)
        {
            return (null, false);
        }
    }

    /// <summary>The body of an action without input: <c>{}</c> (or none).</summary>
    private sealed record NoInput;
}

/// <summary>One task action as the API exposes it.</summary>
/// <param name="Path">The last path segment (<c>link-pr</c>).</param>
/// <param name="Body">The body's type, or <c>null</c> for an action without input.</param>
/// <param name="Summary">The OpenAPI summary.</param>
/// <param name="Description">The OpenAPI description.</param>
/// <param name="Invoke">Runs it: the service, the task's instance id, the body, who asks.</param>
/// <param name="BodyOptional">Whether the body may be left out.</param>
internal sealed record TaskActionRoute(
    string Path, Type? Body, string Summary, string Description,
    Func<TaskActions, string, object?, EventOrigin, CancellationToken, Task<TaskActionResult>> Invoke, bool BodyOptional = false);

/// <summary>Body of <c>link-pr</c>.</summary>
/// <param name="Pr"><c>owner/repo#12</c> or the pull request's URL.</param>
public sealed record LinkPullRequestBody(
    [property: JsonPropertyName("pr"), Description("`owner/repo#12` or the pull request's URL; one of the project's repositories.")] string? Pr);

/// <summary>Body of <c>repo</c>.</summary>
/// <param name="Repo">One of the project's repositories, <c>owner/name</c>.</param>
public sealed record ChangeRepoBody(
    [property: JsonPropertyName("repo"), Description("One of the project's repositories, `owner/name`.")] string? Repo);

/// <summary>Body of <c>note</c>.</summary>
/// <param name="Text">The note, plain text (at most 4,000 characters).</param>
/// <param name="Id">An optional idempotency id: the same id adds the note once (letters, digits, <c>-</c>, <c>_</c>; at most 64).</param>
public sealed record AddNoteBody(
    [property: JsonPropertyName("text"), Description("The note, plain text, at most 4,000 characters.")] string? Text,
    [property: JsonPropertyName("id"), Description("Optional: the same id adds the note once (letters, digits, `-`, `_`; at most 64).")] string? Id = null);

/// <summary>Body of <c>cancel</c> (optional).</summary>
/// <param name="Reason">Why, at most 500 characters.</param>
public sealed record CancelTaskBody(
    [property: JsonPropertyName("reason"), Description("Optional: why, at most 500 characters (shown in the timeline and told to the tracker).")] string? Reason = null);

/// <summary>Answer (202) of a task action.</summary>
/// <param name="Id">Task instance id.</param>
/// <param name="Action">The action as recorded (<c>retry</c>, <c>resync</c>, <c>link_pr</c>, <c>set_repo</c>, <c>note</c>, <c>cancel</c>).</param>
/// <param name="Status"><c>accepted</c> (raised now) or <c>already_requested</c> (raised before with the same input; nothing new).</param>
/// <param name="Message">What was done.</param>
public sealed record TaskActionAccepted(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("action")] string Action,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("message")] string Message);

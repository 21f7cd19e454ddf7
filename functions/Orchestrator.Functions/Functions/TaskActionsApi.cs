using System.Text.Json;
using System.Text.Json.Serialization;
using Orchestrator.Functions.Web;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Shared.Accounts;

namespace Orchestrator.Functions.Functions;

/// <summary>
/// The task actions of the web tool for scripts (issue #9 §2), mapped under <c>/api</c>:
/// <c>POST /api/tasks/{id}/actions/retry</c>, <c>…/resync</c>, <c>…/link-pr</c> (<c>{"pr": "owner/repo#12" or a URL}</c>),
/// <c>…/repo</c> (<c>{"repo": "owner/name"}</c>), <c>…/note</c> (<c>{"text": …, "id": optional idempotency id}</c>) and
/// <c>…/cancel</c> (<c>{"reason": optional}</c>). Editors only (403 below, 404 for a task the caller cannot see). The rules are
/// <see cref="TaskActions"/>' (the task page uses the same): <b>202</b> <see cref="TaskActionAccepted"/> when raised (or raised
/// before with the same input), <b>400</b> for invalid input, <b>409</b> when the action does not apply to the task as it
/// stands, problem details otherwise; a tracker or forge failure answers 502/504 naming the platform.
/// </summary>
public static class TaskActionsApi
{
    /// <summary>Longest body read (a note of 4,000 characters fits many times over).</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>Maps the endpoints.</summary>
    /// <param name="app">The <c>/api</c> group.</param>
    /// <returns><paramref name="app"/>.</returns>
    public static IEndpointRouteBuilder MapTaskActionsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/tasks/{id}/actions");
        group.MapPost("/retry", (HttpContext http, string id, TaskActions actions, TaskQueries queries, CancellationToken ct) =>
            RunAsync(http, id, queries, null, (taskId, _, by) => actions.RetryAsync(taskId, by, ct)));
        group.MapPost("/resync", (HttpContext http, string id, TaskActions actions, TaskQueries queries, CancellationToken ct) =>
            RunAsync(http, id, queries, null, (taskId, _, by) => actions.ResyncAsync(taskId, by, ct)));
        group.MapPost("/link-pr", (HttpContext http, string id, TaskActions actions, TaskQueries queries, CancellationToken ct) =>
            RunAsync(http, id, queries, "{\"pr\": \"owner/repo#12\"}", (taskId, body, by) => actions.LinkPullRequestAsync(taskId, body.Pr, by, ct)));
        group.MapPost("/repo", (HttpContext http, string id, TaskActions actions, TaskQueries queries, CancellationToken ct) =>
            RunAsync(http, id, queries, "{\"repo\": \"owner/name\"}", (taskId, body, by) => actions.ChangeRepoAsync(taskId, body.Repo, by, ct)));
        group.MapPost("/note", (HttpContext http, string id, TaskActions actions, TaskQueries queries, CancellationToken ct) =>
            RunAsync(http, id, queries, "{\"text\": \"…\"}", (taskId, body, by) => actions.AddNoteAsync(taskId, body.Text, body.Id, by, ct)));
        group.MapPost("/cancel", (HttpContext http, string id, TaskActions actions, TaskQueries queries, CancellationToken ct) =>
            RunAsync(http, id, queries, "{\"reason\": \"…\"} (optional)", (taskId, body, by) => actions.CancelAsync(taskId, body.Reason, by, ct)));
        return app;
    }

    /// <summary>The answer of a task action for the JSON API.</summary>
    /// <param name="taskId">Task instance id.</param>
    /// <param name="result">What the action did.</param>
    /// <returns>202 with <see cref="TaskActionAccepted"/>, or problem details (400, 409, 404).</returns>
    internal static IResult Answer(string taskId, TaskActionResult result) => result.Succeeded
        ? TypedResults.Accepted($"/api/tasks/{taskId}", new TaskActionAccepted(taskId, result.Action,
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

    private static async Task<IResult> RunAsync(HttpContext http, string id, TaskQueries queries, string? shape, Func<string, TaskActionBody, EventOrigin, Task<TaskActionResult>> act)
    {
        var body = await ReadAsync(http.Request, http.RequestAborted);
        if (body is null)
        {
            return TypedResults.Problem(
                shape is null ? "The body must be empty." : $"The body must be a JSON object like {shape}.",
                statusCode: StatusCodes.Status400BadRequest, title: "Invalid input");
        }

        var (detail, refusal) = await TasksApi.VisibleTaskAsync(http, queries, id, ProjectRole.Editor);
        if (detail is null || refusal is not null)
        {
            return refusal!;
        }

        return Answer(detail.Id, await act(detail.Id, body, EventOrigin.FromApi(ApiActor.Of(http))));
    }

    /// <summary>The body as <see cref="TaskActionBody"/>: empty counts as <c>{}</c>; <c>null</c> when it is not a JSON object of strings or too large.</summary>
    private static async Task<TaskActionBody?> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength is 0 || (request.ContentLength is null && !request.HasJsonContentType()))
        {
            return new TaskActionBody();
        }

        if (request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        try
        {
            using var limited = new MemoryStream();
            await request.Body.CopyToAsync(limited, ct);
            if (limited.Length > MaxBodyBytes)
            {
                return null;
            }

            if (limited.Length == 0)
            {
                return new TaskActionBody();
            }

            limited.Position = 0;
            return await JsonSerializer.DeserializeAsync<TaskActionBody>(limited, cancellationToken: ct) ?? new TaskActionBody();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>Body of the task actions (each reads its own fields).</summary>
public sealed class TaskActionBody
{
    /// <summary><c>link-pr</c>: <c>owner/repo#12</c> or the pull request's URL.</summary>
    [JsonPropertyName("pr")]
    public string? Pr { get; init; }

    /// <summary><c>repo</c>: one of the project's repositories.</summary>
    [JsonPropertyName("repo")]
    public string? Repo { get; init; }

    /// <summary><c>note</c>: the note, plain text.</summary>
    [JsonPropertyName("text")]
    public string? Text { get; init; }

    /// <summary><c>note</c>: an optional idempotency id (the same id adds the note once).</summary>
    [JsonPropertyName("id")]
    public string? Id { get; init; }

    /// <summary><c>cancel</c>: an optional reason.</summary>
    [JsonPropertyName("reason")]
    public string? Reason { get; init; }
}

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

using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Tasks;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Functions.Functions;

/// <summary>
/// <c>GET /api/tasks</c> (filter <c>?status=</c>, newest first, <c>?page=</c> from 1, <c>?pageSize=</c> 1–200,
/// default 50), <c>GET /api/tasks/{id}</c> (instance id or <c>PREFIX-N</c>) and
/// <c>POST /api/tasks/{id}/retry</c> (202 when FAILED, 409 otherwise).
/// </summary>
public static class TasksApi
{
    /// <summary>Maps the endpoints.</summary>
    public static IEndpointRouteBuilder MapTasksApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/tasks");
        group.MapGet("/", ListAsync);
        group.MapGet("/{id}", GetAsync);
        group.MapPost("/{id}/retry", RetryAsync);
        return app;
    }

    private static async Task<Results<Ok<TaskPage>, ProblemHttpResult>> ListAsync(HttpContext http, TaskQueries queries, Web.Auth.ProjectAccess access, string? status, int? page, int? pageSize, CancellationToken ct)
    {
        if (status is not null && !Enum.TryParse<TaskStatus>(status, ignoreCase: true, out _))
        {
            return TypedResults.Problem($"Unknown status '{status}'. Use one of: {string.Join(", ", Enum.GetNames<TaskStatus>())}.", statusCode: 400);
        }

        var p = page ?? 1;
        var size = pageSize ?? 50;
        if (p < 1 || size is < 1 or > 200)
        {
            return TypedResults.Problem("page must be ≥ 1 and pageSize between 1 and 200.", statusCode: 400);
        }

        // Only the tasks of projects the caller may see (host admins: all).
        var caller = ApiAuth.CallerOf(http);
        var visible = caller.IsHostAdmin ? null : (await access.VisibleAsync(caller, ct)).Select(v => v.Project.Slug).ToList();
        return TypedResults.Ok(await queries.ListAsync(status?.ToUpperInvariant(), p, size, ct, visible));
    }

    private static async Task<IResult> GetAsync(HttpContext http, TaskQueries queries, string id)
    {
        var (detail, refusal) = await VisibleTaskAsync(http, queries, id, Shared.Accounts.ProjectRole.Viewer);
        return refusal ?? TypedResults.Ok(detail);
    }

    /// <summary>
    /// A task the caller may act on with <paramref name="needed"/> in its project: 404 when it does not exist or its project
    /// is not visible to the caller (a task of a project without a slug — from before projects lived in the database — is
    /// visible to host admins only), 403 when the role is too low.
    /// </summary>
    internal static async Task<(TaskDetail? Detail, IResult? Refusal)> VisibleTaskAsync(HttpContext http, TaskQueries queries, string id, Shared.Accounts.ProjectRole needed)
    {
        var notFound = TypedResults.NotFound(new ProblemDetailsBody($"No task '{id}'."));
        var detail = await queries.GetAsync(id, http.RequestAborted);
        if (detail is null)
        {
            return (null, notFound);
        }

        if (detail.Sync?.Project is not { } slug)
        {
            return ApiAuth.CallerOf(http).IsHostAdmin ? (detail, null) : (null, notFound);
        }

        var (access, refusal) = await ApiAuth.ProjectAsync(http, slug, needed);
        return access.Status == StatusCodes.Status404NotFound ? (null, notFound) : (detail, refusal);
    }

    private static async Task<IResult> RetryAsync(HttpContext http, TaskQueries queries, Web.TaskActions actions, string id, CancellationToken ct)
    {
        var (detail, refusal) = await VisibleTaskAsync(http, queries, id, Shared.Accounts.ProjectRole.Editor);
        if (detail is null || refusal is not null)
        {
            return refusal!;
        }

        // The rules (FAILED only, key retry:{version}, the manual action in the raise's transaction) are TaskActions'.
        var result = await actions.RetryAsync(detail.Id, EventOrigin.FromApi(ApiActor.Of(http)), ct);
        return result.Outcome switch
        {
            Web.TaskActionOutcome.Accepted or Web.TaskActionOutcome.AlreadyRequested =>
                TypedResults.Accepted($"/api/tasks/{detail.Id}", new RetryAccepted(detail.Id, detail.FailedStep)),
            Web.TaskActionOutcome.NotFound => TypedResults.NotFound(new ProblemDetailsBody($"No task '{id}'.")),
            _ => TypedResults.Conflict(new ProblemDetailsBody(result.Message)),
        };
    }
}

/// <summary>An error body.</summary>
/// <param name="Error">What is wrong.</param>
public sealed record ProblemDetailsBody(string Error);

/// <summary>Answer to a retry.</summary>
/// <param name="Id">Instance id.</param>
/// <param name="ResumesAt">The step that runs again.</param>
public sealed record RetryAccepted(string Id, string? ResumesAt);

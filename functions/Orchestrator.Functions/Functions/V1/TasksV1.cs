using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using Npgsql;
using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.ReadModel;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Functions.Functions.V1;

/// <summary>A task as <c>/api/v1</c> shows it (one row of the read model's <c>tasks</c>).</summary>
/// <param name="Id">Instance id (<c>plane-&lt;uuid&gt;</c>, <c>asana-&lt;gid&gt;</c>).</param>
/// <param name="Key"><c>PREFIX-N</c>, once known.</param>
/// <param name="Title">Title.</param>
/// <param name="Status">What users see: the step, or the overlay <c>BLOCKED</c>/<c>AUTO_DISABLED</c>.</param>
/// <param name="Step">The pipeline step under any overlay.</param>
/// <param name="Blocked">The tracker marks it blocked.</param>
/// <param name="AutoDisabled">The AutoTask marker is off (syncing stopped).</param>
/// <param name="Repo"><c>owner/name</c>, once resolved.</param>
/// <param name="Tracker">The tracker item.</param>
/// <param name="Issue">The forge issue, once created.</param>
/// <param name="PullRequest">The PR, once linked.</param>
/// <param name="MergeSha">The merge commit.</param>
/// <param name="Ci">CI of the merge commit: <c>pending</c>, <c>success</c>, <c>failure</c>, <c>not_required</c>, or <c>null</c> before the merge.</param>
/// <param name="CiUrl">Link to the CI run.</param>
/// <param name="FailedStep">While FAILED: where a retry resumes.</param>
/// <param name="FailureReason">While FAILED: why.</param>
/// <param name="CreatedAt">When the pipeline started.</param>
/// <param name="UpdatedAt">Last change.</param>
/// <param name="DeployedAt">When it reached DEPLOYED.</param>
public sealed record TaskResource(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("key")] string? Key,
    [property: JsonPropertyName("title")] string? Title,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("step")] string Step,
    [property: JsonPropertyName("blocked")] bool Blocked,
    [property: JsonPropertyName("auto_disabled")] bool AutoDisabled,
    [property: JsonPropertyName("repo")] string? Repo,
    [property: JsonPropertyName("tracker")] TaskTrackerRef Tracker,
    [property: JsonPropertyName("issue")] TaskForgeRef? Issue,
    [property: JsonPropertyName("pull_request")] TaskForgeRef? PullRequest,
    [property: JsonPropertyName("merge_sha")] string? MergeSha,
    [property: JsonPropertyName("ci")] string? Ci,
    [property: JsonPropertyName("ci_url")] string? CiUrl,
    [property: JsonPropertyName("failed_step")] string? FailedStep,
    [property: JsonPropertyName("failure_reason")] string? FailureReason,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("updated_at")] DateTimeOffset UpdatedAt,
    [property: JsonPropertyName("deployed_at")] DateTimeOffset? DeployedAt)
{
    /// <summary>The resource of a read-model row.</summary>
    public static TaskResource Of(TaskRow r) => new(r.Id, r.TaskKey, r.Title, r.Status, r.Step, r.Blocked, r.AutoDisabled, r.Repo,
        new TaskTrackerRef(r.TrackerKind, r.TrackerProjectId, r.TrackerItemId, r.TrackerUrl),
        r.IssueNumber is { } issue ? new TaskForgeRef(r.ForgeKind, issue, r.IssueUrl) : null,
        r.PrNumber is { } pr ? new TaskForgeRef(r.ForgeKind, pr, r.PrUrl) : null,
        r.MergeSha, r.CiState, r.CiUrl, r.FailedStep, r.FailureReason, r.CreatedAt, r.UpdatedAt, r.DeployedAt);
}

/// <summary>A task's tracker item.</summary>
/// <param name="Kind"><c>plane</c> or <c>asana</c>.</param>
/// <param name="ProjectId">The tracker project.</param>
/// <param name="ItemId">The item.</param>
/// <param name="Url">Its page.</param>
public sealed record TaskTrackerRef([property: JsonPropertyName("kind")] string Kind, [property: JsonPropertyName("project_id")] string ProjectId,
    [property: JsonPropertyName("item_id")] string ItemId, [property: JsonPropertyName("url")] string? Url);

/// <summary>A forge issue or PR of a task.</summary>
/// <param name="Kind"><c>github</c> or <c>gitea</c>.</param>
/// <param name="Number">Its number.</param>
/// <param name="Url">Its page.</param>
public sealed record TaskForgeRef([property: JsonPropertyName("kind")] string Kind, [property: JsonPropertyName("number")] int Number, [property: JsonPropertyName("url")] string? Url);

/// <summary>A page of tasks.</summary>
/// <param name="Items">Newest-updated first.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> for the next page; <c>null</c> on the last page.</param>
public sealed record TaskListResource([property: JsonPropertyName("items")] IReadOnlyList<TaskResource> Items, [property: JsonPropertyName("next_cursor")] string? NextCursor);

/// <summary>
/// <c>/api/v1/projects/{slug}/tasks</c>: the project's tasks from the read model, newest-updated first, filtered by status
/// (a step or the overlays BLOCKED / AUTO_DISABLED), repository, <c>updated_since</c> and a key/title search, paged with an
/// opaque cursor (keyset on <c>(updated_at, id)</c>, so pages stay right while tasks change); and one task by key or id.
/// </summary>
public static class TasksV1
{
    /// <summary>Largest page.</summary>
    public const int MaxPageSize = 200;

    /// <summary>Maps the endpoints.</summary>
    /// <param name="v1">The <c>/api/v1</c> group.</param>
    public static void MapTasksV1(this RouteGroupBuilder v1)
    {
        var tasks = v1.MapGroup("/projects/{slug}/tasks").WithTags("Tasks");
        tasks.MapGet("/", ListAsync)
            .Doc("List the project's tasks", "Newest-updated first. Filters: `status` (a step such as FAILED, or BLOCKED / AUTO_DISABLED), `repo`, `updated_since` (ISO 8601), `q` (part of the key or title). Paging: `page_size` (1–200, default 50) and `cursor` from the previous page's `next_cursor`.", 400, 404)
            .Produces<TaskListResource>();
        tasks.MapGet("/{id}", GetAsync).Doc("Get a task", "By key (`WEB-42`, case-insensitive) or instance id.", 404).Produces<TaskResource>();
    }

    private static async Task<IResult> ListAsync(
        HttpContext http, NpgsqlDataSource db, string slug, string? status, string? repo,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "updated_since")] string? updatedSince, string? q,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "page_size")] int? pageSize, string? cursor, CancellationToken ct)
    {
        if ((await ApiV1.ProjectAsync(http, slug, ProjectRole.Viewer)).Refusal is { } refusal)
        {
            return refusal;
        }

        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        var step = status?.Trim().ToUpperInvariant();
        if (step is not null && !Enum.TryParse<TaskStatus>(step, out _))
        {
            errors["status"] = $"Unknown status '{status}'; use one of {string.Join(", ", Enum.GetNames<TaskStatus>())}.";
        }

        DateTimeOffset? since = null;
        if (updatedSince is not null)
        {
            if (DateTimeOffset.TryParse(updatedSince, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                since = parsed;
            }
            else
            {
                errors["updated_since"] = "Use an ISO 8601 time such as 2026-12-01T00:00:00Z.";
            }
        }

        var size = pageSize ?? 50;
        if (size is < 1 or > MaxPageSize)
        {
            errors["page_size"] = $"Use 1–{MaxPageSize}.";
        }

        if (q is { Length: > ReadModelQueries.MaxSearchLength })
        {
            errors["q"] = $"At most {ReadModelQueries.MaxSearchLength} characters.";
        }

        (DateTimeOffset UpdatedAt, string Id)? after = null;
        if (cursor is not null)
        {
            if (DecodeCursor(cursor) is { } decoded)
            {
                after = decoded;
            }
            else
            {
                errors["cursor"] = "Pass the next_cursor of the previous page unchanged.";
            }
        }

        if (errors.Count > 0)
        {
            return ApiV1.Invalid(errors);
        }

        var where = new StringBuilder("project_slug = @slug");
        await using var command = db.CreateCommand();
        command.Parameters.AddWithValue("slug", slug);
        switch (step)
        {
            case null:
                break;
            case nameof(TaskStatus.BLOCKED):
                where.Append(" AND blocked");
                break;
            case nameof(TaskStatus.AUTO_DISABLED):
                where.Append(" AND auto_disabled");
                break;
            default:
                where.Append(" AND step = @step");
                command.Parameters.AddWithValue("step", step);
                break;
        }

        if (repo is not null)
        {
            where.Append(" AND lower(repo) = lower(@repo)");
            command.Parameters.AddWithValue("repo", repo.Trim());
        }

        if (since is { } s)
        {
            where.Append(" AND updated_at >= @since");
            command.Parameters.AddWithValue("since", s);
        }

        if (!string.IsNullOrWhiteSpace(q))
        {
            // The read model's search column (lower-cased key + title), wildcards in the term taken literally.
            where.Append(" AND search LIKE @q ESCAPE '\\'");
            command.Parameters.AddWithValue("q", "%" + q.Trim().ToLowerInvariant().Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal) + "%");
        }

        if (after is { } a)
        {
            where.Append(" AND (updated_at, id) < (@afterUpdated, @afterId)");
            command.Parameters.AddWithValue("afterUpdated", a.UpdatedAt);
            command.Parameters.AddWithValue("afterId", a.Id);
        }

        command.CommandText = $"SELECT {ReadModelQueries.RowColumns} FROM tasks WHERE {where} ORDER BY updated_at DESC, id DESC LIMIT @limit";
        command.Parameters.AddWithValue("limit", size + 1);
        var rows = new List<TaskRow>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                rows.Add(ReadModelQueries.ReadRow(reader, 0));
            }
        }

        var more = rows.Count > size;
        var page = rows.Take(size).ToList();
        return TypedResults.Ok(new TaskListResource(page.Select(TaskResource.Of).ToList(), more ? EncodeCursor(page[^1].UpdatedAt, page[^1].Id) : null));
    }

    private static async Task<IResult> GetAsync(HttpContext http, ReadModelQueries readModel, string slug, string id, CancellationToken ct)
    {
        if ((await ApiV1.ProjectAsync(http, slug, ProjectRole.Viewer)).Refusal is { } refusal)
        {
            return refusal;
        }

        var page = await readModel.TaskAsync(id, slug, 1, null, ct);
        return page is null ? ApiV1.NotFound($"task '{id}' in project '{slug}'") : TypedResults.Ok(TaskResource.Of(page.Task));
    }

    /// <summary>An opaque cursor: base64url of <c>{updated_at µs}:{id}</c>.</summary>
    internal static string EncodeCursor(DateTimeOffset updatedAt, string id) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{(updatedAt - DateTimeOffset.UnixEpoch).Ticks / 10}:{id}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    internal static (DateTimeOffset UpdatedAt, string Id)? DecodeCursor(string cursor)
    {
        try
        {
            var padded = cursor.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - (padded.Length % 4)) % 4);
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(padded));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            return colon > 0 && long.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var micros) && colon < text.Length - 1
                ? (DateTimeOffset.UnixEpoch.AddTicks(micros * 10), text[(colon + 1)..])
                : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

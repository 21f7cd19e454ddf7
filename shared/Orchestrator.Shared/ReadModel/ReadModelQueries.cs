using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;
using NpgsqlTypes;
using Orchestrator.Orchestrations.ReadModel;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Shared.ReadModel;

/// <summary>What the dashboard asks for: one project's tasks, newest-updated first.</summary>
/// <param name="ProjectSlug">The project.</param>
/// <param name="Status">
/// <c>null</c> for all; a pipeline step (<c>PR_CREATED</c>, <c>FAILED</c>, … — blocked and disabled tasks included, under
/// their step); or an overlay: <c>BLOCKED</c> (tracker says blocked) or <c>AUTO_DISABLED</c> (syncing stopped).
/// Case-insensitive.
/// </param>
/// <param name="Search">Part of the key or title (case-insensitive, at most <see cref="ReadModelQueries.MaxSearchLength"/> characters), or <c>null</c>.</param>
/// <param name="Page">1-based page.</param>
/// <param name="PageSize">One of <see cref="ReadModelQueries.PageSizes"/>.</param>
public sealed record TaskListQuery(string ProjectSlug, string? Status = null, string? Search = null, int Page = 1, int PageSize = 25);

/// <summary>A page of the dashboard.</summary>
/// <param name="Items">Tasks, newest-updated first.</param>
/// <param name="Page">1-based page.</param>
/// <param name="PageSize">Page size.</param>
/// <param name="Total">Tasks matching the filter and search.</param>
/// <param name="Counts">
/// The project's tasks per step (every <see cref="TaskStatus"/> step name, 0 included), plus the overlays <c>BLOCKED</c>
/// and <c>AUTO_DISABLED</c> (tasks counted under their step too) and <c>ALL</c>; not narrowed by the search.
/// </param>
public sealed record TaskListPage(IReadOnlyList<TaskRow> Items, int Page, int PageSize, long Total, IReadOnlyDictionary<string, long> Counts);

/// <summary>One stored <c>task_events</c> row.</summary>
/// <param name="Id">Event id (increasing in insert order).</param>
/// <param name="Source"><c>tracker</c>, <c>forge</c>, <c>system</c>, <c>user</c> or <c>api</c>.</param>
/// <param name="EventType">One of <see cref="TaskEventTypes"/>.</param>
/// <param name="Actor">Who acted, or <c>null</c>.</param>
/// <param name="Summary">The small JSON object (fields per type: <see cref="TaskEventTypes"/>).</param>
/// <param name="DeliveryId">Webhook delivery id, or <c>null</c>.</param>
/// <param name="CreatedAt">When.</param>
public sealed record TaskEventView(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("event_type")] string EventType,
    [property: JsonPropertyName("actor")] string? Actor,
    [property: JsonPropertyName("summary")] JsonElement Summary,
    [property: JsonPropertyName("delivery_id")] string? DeliveryId,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt);

/// <summary>A task page: the row and its latest events.</summary>
/// <param name="Task">The task.</param>
/// <param name="Events">Its events, newest first (at most the limit asked for).</param>
/// <param name="OlderEventsBefore">When there are older events: the id to pass as <c>beforeEventId</c> for the next ones; else <c>null</c>.</param>
public sealed record TaskPageView(TaskRow Task, IReadOnlyList<TaskEventView> Events, long? OlderEventsBefore);

/// <summary>
/// The read side of the dashboard (web tool, issue #9) on <c>tasks</c> and <c>task_events</c> only: a project's list
/// with a status filter, counts per status, search and paging, and a task page. Each call is one round trip; the SQL
/// text depends only on which filters are set (never on their values), so prepared plans stay right for each shape.
/// Figures on 100,000 tasks / 1,000,000 events: <c>tests/Orchestrator.Benchmarks</c> (<c>-- dashboard</c>).
/// </summary>
public sealed class ReadModelQueries(NpgsqlDataSource dataSource)
{
    /// <summary>The page sizes the dashboard offers.</summary>
    public static readonly IReadOnlyList<int> PageSizes = [25, 50];

    /// <summary>Longest search term.</summary>
    public const int MaxSearchLength = 200;

    /// <summary>Most events one task page call returns.</summary>
    public const int MaxEvents = 200;

    /// <summary>The overlay filter/count name for blocked tasks.</summary>
    public const string BlockedFilter = nameof(TaskStatus.BLOCKED);

    /// <summary>The overlay filter/count name for tasks with syncing off.</summary>
    public const string AutoDisabledFilter = nameof(TaskStatus.AUTO_DISABLED);

    /// <summary>The count of every task of the project.</summary>
    public const string AllCount = "ALL";

    /// <summary>The columns of a <see cref="TaskRow"/>, in <see cref="ReadRow"/>'s order.</summary>
    public const string RowColumns = """
        id, project_slug, task_key, title, status, step, blocked, auto_disabled, tracker_kind, tracker_project_id, tracker_item_id,
        tracker_url, forge_kind, repo, issue_number, issue_url, pr_number, pr_url, merge_sha, ci_state, ci_url, failed_step,
        failure_reason, created_at, updated_at, deployed_at
        """;

    private static readonly string[] Steps = Enum.GetNames<TaskStatus>()
        .Where(n => n is not (nameof(TaskStatus.BLOCKED) or nameof(TaskStatus.AUTO_DISABLED)))
        .ToArray();

    /// <summary>A page of a project's tasks with the project's counts per status.</summary>
    /// <param name="query">Project, filter, search, page.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The page.</returns>
    /// <exception cref="ArgumentException">Unknown status, page below 1, a page size not in <see cref="PageSizes"/>, or a search term too long.</exception>
    public async Task<TaskListPage> ListAsync(TaskListQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentException.ThrowIfNullOrEmpty(query.ProjectSlug);
        if (query.Page < 1)
        {
            throw new ArgumentException("page must be 1 or more.", nameof(query));
        }

        if (!PageSizes.Contains(query.PageSize))
        {
            throw new ArgumentException($"pageSize must be one of {string.Join(", ", PageSizes)}.", nameof(query));
        }

        var status = NormaliseStatus(query.Status);
        var search = string.IsNullOrWhiteSpace(query.Search) ? null : query.Search.Trim();
        if (search is { Length: > MaxSearchLength })
        {
            throw new ArgumentException($"search must be at most {MaxSearchLength} characters.", nameof(query));
        }

        var where = new StringBuilder("project_slug = @project");
        if (status == BlockedFilter)
        {
            where.Append(" AND blocked");
        }
        else if (status == AutoDisabledFilter)
        {
            where.Append(" AND auto_disabled");
        }
        else if (status is not null)
        {
            where.Append(" AND step = @step");
        }

        if (search is not null)
        {
            // LIKE, not ILIKE: the column is lower-cased already; the term's own wildcards are escaped.
            where.Append(" AND search LIKE '%' || lower(@term) || '%'");
        }

        await using var batch = dataSource.CreateBatch();
        var counts = new NpgsqlBatchCommand("""
            SELECT step, count(*), count(*) FILTER (WHERE blocked), count(*) FILTER (WHERE auto_disabled)
            FROM tasks WHERE project_slug = @project GROUP BY step
            """);
        counts.Parameters.AddWithValue("project", query.ProjectSlug);
        batch.BatchCommands.Add(counts);

        // Without a search the page is the first rows of an index range. A search has to look at every task of the
        // project (for its total as well as its page): it reads the matches' ids from tasks_project_updated alone
        // (search and the filter columns are included in it), counts them, and fetches only the page's rows.
        var page = new NpgsqlBatchCommand(search is null
            ? $"SELECT NULL::bigint, {RowColumns} FROM tasks WHERE {where} ORDER BY updated_at DESC, id DESC LIMIT @limit OFFSET @offset"
            : $"""
                WITH matches AS MATERIALIZED (SELECT id, updated_at FROM tasks WHERE {where}),
                     page AS (SELECT id, updated_at FROM matches ORDER BY updated_at DESC, id DESC LIMIT @limit OFFSET @offset)
                SELECT (SELECT count(*) FROM matches), {Prefixed("t.")}
                FROM (SELECT 1) AS one LEFT JOIN (page JOIN tasks t ON t.id = page.id) ON true
                ORDER BY page.updated_at DESC, page.id DESC
                """);
        AddFilter(page.Parameters, query.ProjectSlug, status, search);
        page.Parameters.AddWithValue("limit", query.PageSize);
        page.Parameters.AddWithValue("offset", (long)(query.Page - 1) * query.PageSize);
        batch.BatchCommands.Add(page);

        var byStatus = Steps.ToDictionary(s => s, _ => 0L, StringComparer.Ordinal);
        byStatus[BlockedFilter] = 0;
        byStatus[AutoDisabledFilter] = 0;
        byStatus[AllCount] = 0;
        var items = new List<TaskRow>(query.PageSize);
        long? searched = null;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var step = reader.GetString(0);
                byStatus[step] = byStatus.GetValueOrDefault(step) + reader.GetInt64(1);
                byStatus[BlockedFilter] += reader.GetInt64(2);
                byStatus[AutoDisabledFilter] += reader.GetInt64(3);
                byStatus[AllCount] += reader.GetInt64(1);
            }

            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                if (!reader.IsDBNull(0))
                {
                    searched = reader.GetInt64(0);
                }

                if (!reader.IsDBNull(1))
                {
                    items.Add(ReadRow(reader, first: 1));
                }
            }
        }

        var total = searched ?? byStatus[status ?? AllCount];
        return new TaskListPage(items, query.Page, query.PageSize, total, byStatus);
    }

    /// <summary>
    /// A task page by instance id or key (<c>WEB-42</c>, case-insensitive; the instance id wins, then the newest task
    /// with that key), optionally only within one project.
    /// </summary>
    /// <param name="idOrKey">Instance id or <c>PREFIX-N</c>.</param>
    /// <param name="projectSlug">Only this project's tasks, or <c>null</c> for any.</param>
    /// <param name="eventLimit">How many events (1–<see cref="MaxEvents"/>).</param>
    /// <param name="beforeEventId">Only events older than this id (the previous page's <see cref="TaskPageView.OlderEventsBefore"/>), or <c>null</c>.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The page, or <c>null</c> when there is no such task.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="eventLimit"/> is out of range.</exception>
    public async Task<TaskPageView?> TaskAsync(string idOrKey, string? projectSlug, int eventLimit, long? beforeEventId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(idOrKey);
        ArgumentOutOfRangeException.ThrowIfLessThan(eventLimit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(eventLimit, MaxEvents);
        var find = FindSql(projectSlug is not null);
        await using var batch = dataSource.CreateBatch();
        var task = new NpgsqlBatchCommand($"SELECT {RowColumns} FROM tasks {find}");
        AddFind(task.Parameters, idOrKey, projectSlug);
        batch.BatchCommands.Add(task);

        // The same lookup again instead of a second round trip with the id. The newest ids come from the timeline
        // index alone (an index-only scan that stops at the limit), then only those rows are read: planned as one
        // statement the task id is unknown, and PostgreSQL would otherwise read every event of a hot task (a bitmap
        // scan and a sort: 15 ms instead of 1 ms for 3,000 events in the benchmark).
        var events = new NpgsqlBatchCommand($"""
            SELECT e.id, e.source, e.event_type, e.actor, e.summary::text, e.delivery_id, e.created_at
            FROM (SELECT id FROM task_events WHERE task_id = (SELECT id FROM tasks {find}){(beforeEventId is null ? "" : " AND id < @before")}
                  ORDER BY id DESC LIMIT @limit) AS newest
            JOIN task_events e ON e.id = newest.id
            ORDER BY e.id DESC
            """);
        AddFind(events.Parameters, idOrKey, projectSlug);
        if (beforeEventId is { } before)
        {
            events.Parameters.AddWithValue("before", before);
        }

        events.Parameters.AddWithValue("limit", eventLimit + 1);
        batch.BatchCommands.Add(events);

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var row = ReadRow(reader);
        await reader.NextResultAsync(cancellationToken);
        var list = new List<TaskEventView>(Math.Min(eventLimit + 1, 64));
        while (await reader.ReadAsync(cancellationToken))
        {
            using var summary = JsonDocument.Parse(reader.GetString(4));
            list.Add(new TaskEventView(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                summary.RootElement.Clone(), reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6)));
        }

        long? older = null;
        if (list.Count > eventLimit)
        {
            list.RemoveAt(list.Count - 1);
            older = list[^1].Id;
        }

        return new TaskPageView(row, list, older);
    }

    /// <summary>The task row by instance id or key (as <see cref="TaskAsync"/>), or <c>null</c>.</summary>
    /// <param name="idOrKey">Instance id or <c>PREFIX-N</c>.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The row.</returns>
    public async Task<TaskRow?> FindAsync(string idOrKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(idOrKey);
        await using var command = dataSource.CreateCommand($"SELECT {RowColumns} FROM tasks {FindSql(byProject: false)}");
        AddFind(command.Parameters, idOrKey, null);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadRow(reader) : null;
    }

    /// <summary>Reads a <see cref="TaskRow"/> from <see cref="RowColumns"/> starting at column <paramref name="first"/>.</summary>
    /// <param name="r">A reader positioned on a row.</param>
    /// <param name="first">Ordinal of the <c>id</c> column.</param>
    /// <returns>The row.</returns>
    public static TaskRow ReadRow(NpgsqlDataReader r, int first = 0)
    {
        string Req(int i) => r.GetString(first + i);
        string? Text(int i) => r.IsDBNull(first + i) ? null : r.GetString(first + i);
        int? Int(int i) => r.IsDBNull(first + i) ? null : r.GetInt32(first + i);
        DateTimeOffset? Time(int i) => r.IsDBNull(first + i) ? null : r.GetFieldValue<DateTimeOffset>(first + i);
        return new TaskRow(
            Req(0), Text(1), Text(2), Text(3), Req(4), Req(5), r.GetBoolean(first + 6), r.GetBoolean(first + 7), Req(8),
            Req(9), Req(10), Text(11), Req(12), Text(13), Int(14), Text(15), Int(16), Text(17), Text(18), Text(19),
            Text(20), Text(21), Text(22), Time(23)!.Value, Time(24)!.Value, Time(25));
    }

    /// <summary><see cref="RowColumns"/> qualified with <paramref name="alias"/> (e.g. <c>t.</c>).</summary>
    private static string Prefixed(string alias) =>
        string.Join(", ", RowColumns.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(c => alias + c));

    /// <summary>The filter name for a status: upper-cased, validated; <c>null</c> or <c>ALL</c> for no filter.</summary>
    private static string? NormaliseStatus(string? status)
    {
        if (string.IsNullOrWhiteSpace(status) || string.Equals(status, AllCount, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        // Names only: Enum.TryParse would also take "3" or "-1".
        var name = status.Trim();
        if (!name.All(c => char.IsAsciiLetter(c) || c == '_') || !Enum.TryParse<TaskStatus>(name, ignoreCase: true, out var parsed))
        {
            throw new ArgumentException($"Unknown status '{status}'. Use one of: {string.Join(", ", Enum.GetNames<TaskStatus>())}.", nameof(status));
        }

        return parsed.ToString();
    }

    private static void AddFilter(NpgsqlParameterCollection p, string project, string? status, string? search)
    {
        p.AddWithValue("project", project);
        if (status is not null && status != BlockedFilter && status != AutoDisabledFilter)
        {
            p.AddWithValue("step", status);
        }

        if (search is not null)
        {
            p.Add(new NpgsqlParameter("term", NpgsqlDbType.Text) { Value = EscapeLike(search) });
        }
    }

    private static string FindSql(bool byProject) =>
        "WHERE (id = @key OR lower(task_key) = lower(@key))" + (byProject ? " AND project_slug = @project" : "") +
        " ORDER BY (id = @key) DESC, created_at DESC LIMIT 1";

    private static void AddFind(NpgsqlParameterCollection p, string idOrKey, string? projectSlug)
    {
        p.AddWithValue("key", idOrKey);
        if (projectSlug is not null)
        {
            p.AddWithValue("project", projectSlug);
        }
    }

    /// <summary>Escapes LIKE's wildcards (<c>%</c>, <c>_</c>) and its escape character, so a term matches literally.</summary>
    private static string EscapeLike(string term) =>
        term.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);
}

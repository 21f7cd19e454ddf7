using System.Text;
using System.Text.Json;
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
public sealed record TaskEventView(long Id, string Source, string EventType, string? Actor, JsonElement Summary, string? DeliveryId, DateTimeOffset CreatedAt);

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
    internal const string RowColumns = """
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

        var page = new NpgsqlBatchCommand($"SELECT {RowColumns} FROM tasks WHERE {where} ORDER BY updated_at DESC, id DESC LIMIT @limit OFFSET @offset");
        AddFilter(page.Parameters, query.ProjectSlug, status, search);
        page.Parameters.AddWithValue("limit", query.PageSize);
        page.Parameters.AddWithValue("offset", (long)(query.Page - 1) * query.PageSize);
        batch.BatchCommands.Add(page);

        if (search is not null)
        {
            var matches = new NpgsqlBatchCommand($"SELECT count(*) FROM tasks WHERE {where}");
            AddFilter(matches.Parameters, query.ProjectSlug, status, search);
            batch.BatchCommands.Add(matches);
        }

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
                items.Add(ReadRow(reader));
            }

            if (search is not null && await reader.NextResultAsync(cancellationToken) && await reader.ReadAsync(cancellationToken))
            {
                searched = reader.GetInt64(0);
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

        // The same lookup again instead of a second round trip with the id.
        var events = new NpgsqlBatchCommand($"""
            SELECT id, source, event_type, actor, summary::text, delivery_id, created_at FROM task_events
            WHERE task_id = (SELECT id FROM tasks {find}){(beforeEventId is null ? "" : " AND id < @before")}
            ORDER BY id DESC LIMIT @limit
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

    /// <summary>Reads a <see cref="TaskRow"/> from <see cref="RowColumns"/> starting at column 0.</summary>
    /// <param name="r">A reader positioned on a row.</param>
    /// <returns>The row.</returns>
    internal static TaskRow ReadRow(NpgsqlDataReader r)
    {
        string? Text(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        int? Int(int i) => r.IsDBNull(i) ? null : r.GetInt32(i);
        return new TaskRow(
            r.GetString(0), Text(1), Text(2), Text(3), r.GetString(4), r.GetString(5), r.GetBoolean(6), r.GetBoolean(7), r.GetString(8),
            r.GetString(9), r.GetString(10), Text(11), r.GetString(12), Text(13), Int(14), Text(15), Int(16), Text(17), Text(18), Text(19),
            Text(20), Text(21), Text(22), r.GetFieldValue<DateTimeOffset>(23), r.GetFieldValue<DateTimeOffset>(24),
            r.IsDBNull(25) ? null : r.GetFieldValue<DateTimeOffset>(25));
    }

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

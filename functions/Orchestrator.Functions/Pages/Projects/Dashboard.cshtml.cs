using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Orchestrator.Functions.Web;
using Orchestrator.Shared.ReadModel;

namespace Orchestrator.Functions.Pages.Projects;

/// <summary>
/// <c>/p/{slug}</c> (issue #9 §2.1): the project's tasks from the read model, newest-updated first — status filter chips
/// with the project's counts, search by key or title, 25 or 50 a page. Viewers read. The list region
/// (<c>?handler=Rows</c> with the same query) re-fetches itself every 10 seconds through htmx, so the filter, search and
/// page survive the refresh; without JavaScript everything is plain links and a GET form.
/// </summary>
public sealed class DashboardModel(ReadModelQueries readModel) : ProjectPageModel
{
    /// <summary>The filter chips, in the pipeline's order (<c>null</c> = all).</summary>
    public static readonly IReadOnlyList<string?> Filters =
    [
        null, "RECEIVED", "TASKSPEC_CREATED", "ISSUE_CREATED", "PR_CREATED", "WAITING_CI", "DEPLOYED", "FAILED", "NEEDS_REPO",
        ReadModelQueries.BlockedFilter, ReadModelQueries.AutoDisabledFilter, "CANCELLED",
    ];

    /// <summary>Status filter (<c>?status=</c>), a step or overlay name; empty for all.</summary>
    [BindProperty(SupportsGet = true, Name = "status")]
    public string? Status { get; set; }

    /// <summary>Search term (<c>?q=</c>): part of the key or title.</summary>
    [BindProperty(SupportsGet = true, Name = "q")]
    public string? Query { get; set; }

    /// <summary>1-based page (<c>?page=</c>; read from the query itself, since Razor Pages keeps a route value named <c>page</c>).</summary>
    public int PageNumber { get; private set; } = 1;

    /// <summary>Page size (<c>?size=</c>), 25 or 50.</summary>
    [BindProperty(SupportsGet = true, Name = "size")]
    public int Size { get; set; } = ReadModelQueries.PageSizes[0];

    /// <summary>The page of tasks, or <c>null</c> when the query was refused (<see cref="Error"/>).</summary>
    public TaskListPage? Tasks { get; private set; }

    /// <summary>Why the query was refused (unknown status, search too long), or <c>null</c>.</summary>
    public string? Error { get; private set; }

    /// <summary>The status filter as the query understood it (upper case), or <c>null</c> for all.</summary>
    public string? ActiveStatus { get; private set; }

    /// <summary>Number of pages (at least 1).</summary>
    public long PageCount => Tasks is null ? 1 : Math.Max(1, (Tasks.Total + Size - 1) / Size);

    /// <inheritdoc />
    protected override string Section => "dashboard";

    /// <summary>Shows the page.</summary>
    public async Task OnGetAsync() => await LoadAsync();

    /// <summary>The list region alone (htmx auto-refresh).</summary>
    /// <returns>The partial.</returns>
    public async Task<IActionResult> OnGetRowsAsync()
    {
        await LoadAsync();
        return Partial("_TaskList", this);
    }

    /// <summary>The dashboard link with these settings (defaults left out); a <c>null</c> argument keeps the current value.</summary>
    /// <param name="status">Filter (<c>""</c> for all).</param>
    /// <param name="page">Page.</param>
    /// <param name="size">Page size.</param>
    /// <param name="query">Search (<c>""</c> for none).</param>
    /// <param name="handler">A page handler (<c>Rows</c>), or <c>null</c>.</param>
    /// <returns>A local URL.</returns>
    public string LinkTo(string? status = null, int? page = null, int? size = null, string? query = null, string? handler = null)
    {
        var parts = new List<string>();
        if (handler is not null)
        {
            parts.Add("handler=" + Uri.EscapeDataString(handler));
        }

        var s = status ?? ActiveStatus ?? "";
        if (s.Length > 0)
        {
            parts.Add("status=" + Uri.EscapeDataString(s));
        }

        var q = query ?? Query ?? "";
        if (q.Trim().Length > 0)
        {
            parts.Add("q=" + Uri.EscapeDataString(q.Trim()));
        }

        var n = page ?? PageNumber;
        if (n > 1)
        {
            parts.Add("page=" + n.ToString(CultureInfo.InvariantCulture));
        }

        var z = size ?? Size;
        if (z != ReadModelQueries.PageSizes[0])
        {
            parts.Add("size=" + z.ToString(CultureInfo.InvariantCulture));
        }

        var path = $"/p/{Uri.EscapeDataString(Project.Slug)}";
        return parts.Count == 0 ? path : path + "?" + string.Join("&", parts);
    }

    /// <summary>The task page link of a row: by key when it has one, else by instance id.</summary>
    /// <param name="row">The task.</param>
    /// <returns>A local URL.</returns>
    public string TaskLink(Orchestrator.Orchestrations.ReadModel.TaskRow row) => TaskPageModel.LinkTo(Project.Slug, row.TaskKey ?? row.Id);

    private async Task LoadAsync()
    {
        // Out-of-range paging falls back to the defaults instead of failing the page.
        Size = ReadModelQueries.PageSizes.Contains(Size) ? Size : ReadModelQueries.PageSizes[0];
        PageNumber = int.TryParse(Request.Query["page"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var page) && page >= 1 ? page : 1;
        ActiveStatus = string.IsNullOrWhiteSpace(Status) || string.Equals(Status.Trim(), ReadModelQueries.AllCount, StringComparison.OrdinalIgnoreCase)
            ? null
            : Status.Trim().ToUpperInvariant();
        try
        {
            Tasks = await readModel.ListAsync(new TaskListQuery(Project.Slug, ActiveStatus, Query, PageNumber, Size), HttpContext.RequestAborted);
        }
        catch (ArgumentException ex)
        {
            Error = ex.Message.Split(" (Parameter", 2)[0];
            Response.StatusCode = StatusCodes.Status400BadRequest;
        }
    }
}

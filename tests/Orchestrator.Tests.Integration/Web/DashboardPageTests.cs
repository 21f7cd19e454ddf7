using System.Net;
using AngleSharp.Dom;
using AngleSharp.Html.Dom;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.ReadModel;
using Orchestrator.Tests.Integration.EndToEnd;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.Web;

/// <summary>Issue #9 §2.1: <c>/p/{slug}</c> — the project's tasks with status chips and counts, search, page sizes, the auto-refresh region and empty states.</summary>
public sealed class DashboardPageTests
{
    [Fact]
    public async Task Tasks_started_by_signed_webhooks_are_listed_with_their_columns_counts_filters_and_search()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var (okId, _) = await h.CreateTaskAsync("Add a health endpoint");
        var ok = await h.WaitForStatusAsync(okId, TaskStatus.ISSUE_CREATED);
        await h.QuiesceAsync(); // its last steps (comments) end before the second task starts, so the order below is fixed
        var (failedId, _) = await h.CreateTaskAsync("Tidy the footer", description: "<p></p>");
        await h.WaitForStatusAsync(failedId, TaskStatus.FAILED);
        await h.QuiesceAsync();

        var (status, page, _) = await admin.GetAsync("/p/web");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("page", page.QuerySelector("nav.tabs a[href='/p/web']")!.GetAttribute("aria-current"));
        var rows = Rows(page);
        Assert.Equal([failedId, okId], rows.Select(r => r.GetAttribute("data-task"))); // newest-updated first

        var row = rows.Single(r => r.GetAttribute("data-task") == okId);
        Assert.Equal("ISSUE_CREATED", Cell(row, "Status").TextContent.Trim());
        Assert.Equal(ok.TaskKey, Cell(row, "Key").TextContent.Trim());
        Assert.Equal($"/p/web/t/{ok.TaskKey}", Cell(row, "Key").QuerySelector("a")!.GetAttribute("href"));
        Assert.Equal($"/p/web/t/{ok.TaskKey}", Cell(row, "Title").QuerySelector("a")!.GetAttribute("href"));
        Assert.Equal("Add a health endpoint", Cell(row, "Title").TextContent.Trim());
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        Assert.Equal(issue.HtmlUrl, Cell(row, "Links").QuerySelector("a[data-link=issue]")!.GetAttribute("href"));
        Assert.Null(Cell(row, "Links").QuerySelector("a[data-link=pr]"));
        Assert.Equal(Harness.Repo, Cell(row, "Repo").TextContent.Trim());
        Assert.NotNull(Cell(row, "Updated").QuerySelector("time[datetime]"));
        Assert.NotNull(page.QuerySelector("table.cards.tasks")); // collapses to cards on phones

        Assert.Equal("2", Count(page, "ALL"));
        Assert.Equal("1", Count(page, "ISSUE_CREATED"));
        Assert.Equal("1", Count(page, "FAILED"));
        Assert.Equal("0", Count(page, "DEPLOYED"));
        Assert.Equal(12, page.QuerySelectorAll("nav.filters a.chip").Length);
        Assert.Equal("/p/web?status=FAILED", page.QuerySelector("a.chip[data-status=FAILED]")!.GetAttribute("href"));

        // A status filter, with the counts still the project's.
        var (_, failed, _) = await admin.GetAsync("/p/web?status=FAILED");
        Assert.Equal([failedId], Rows(failed).Select(r => r.GetAttribute("data-task")));
        Assert.Equal("true", failed.QuerySelector("a.chip[data-status=FAILED]")!.GetAttribute("aria-current"));
        Assert.Equal("2", Count(failed, "ALL"));
        Assert.Equal("FAILED", ((IHtmlInputElement)failed.QuerySelector("form.toolbar input[name=status]")!).Value);

        // Search by title and by key (case-insensitive), and with the filter kept.
        Assert.Equal([okId], Rows((await admin.GetAsync("/p/web?q=HEALTH")).Document).Select(r => r.GetAttribute("data-task")));
        Assert.Equal([okId], Rows((await admin.GetAsync($"/p/web?q={ok.TaskKey!.ToLowerInvariant()}")).Document).Select(r => r.GetAttribute("data-task")));
        var (_, none, _) = await admin.GetAsync("/p/web?status=FAILED&q=health");
        Assert.Empty(Rows(none));
        Assert.Contains("No task matches “health” with status FAILED", none.QuerySelector(".empty")!.TextContent);

        // The region that refreshes itself: the same list for the same query, without the layout, polling with the query.
        var (partialStatus, partial, _) = await admin.GetAsync("/p/web?handler=Rows&status=FAILED&q=footer");
        Assert.Equal(HttpStatusCode.OK, partialStatus);
        Assert.Null(partial.QuerySelector("header.top"));
        var region = partial.QuerySelector("section#task-list")!;
        Assert.Equal("/p/web?handler=Rows&status=FAILED&q=footer", region.GetAttribute("hx-get"));
        Assert.Equal("every 10s", region.GetAttribute("hx-trigger"));
        Assert.Equal("outerHTML", region.GetAttribute("hx-swap"));
        Assert.Equal([failedId], Rows(partial).Select(r => r.GetAttribute("data-task")));
        Assert.Equal("/p/web?handler=Rows&status=FAILED", failed.QuerySelector("section#task-list")!.GetAttribute("hx-get"));

        // Refused queries say why.
        var (bad, badPage, _) = await admin.GetAsync("/p/web?status=NOPE");
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Contains("Unknown status 'NOPE'", badPage.QuerySelector(".alert.error")!.TextContent);
        var (tooLong, _, _) = await admin.GetAsync("/p/web?q=" + new string('x', ReadModelQueries.MaxSearchLength + 1));
        Assert.Equal(HttpStatusCode.BadRequest, tooLong);
    }

    [Fact]
    public async Task Page_sizes_of_25_and_50_page_through_the_tasks_newest_first()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);

        // 60 rows through the read model's own writer (no pipelines behind them: the list reads tasks only).
        var t0 = DateTimeOffset.UtcNow.AddHours(-1);
        await using (var batch = h.Db.DataSource.CreateBatch())
        {
            for (var i = 1; i <= 60; i++)
            {
                batch.BatchCommands.Add(ReadModelWriter.Upsert(new TaskRow(
                    $"plane-00000000-0000-0000-0000-{i:D12}", "web", $"WEB-{i}", $"Synthetic task {i}", i % 2 == 0 ? "DEPLOYED" : "PR_CREATED",
                    i % 2 == 0 ? "DEPLOYED" : "PR_CREATED", false, false, "plane", h.ProjectId, $"00000000-0000-0000-0000-{i:D12}", null, "github",
                    Harness.Repo, i, $"https://github.test/{Harness.Repo}/issues/{i}", i % 2 == 0 ? null : 100 + i,
                    i % 2 == 0 ? null : $"https://github.test/{Harness.Repo}/pull/{100 + i}", null, null, null, null, null, t0, t0.AddSeconds(i), null)));
            }

            await batch.ExecuteNonQueryAsync();
        }

        var (_, first, _) = await admin.GetAsync("/p/web");
        Assert.Equal(25, Rows(first).Count);
        Assert.Equal("WEB-60", Cell(Rows(first)[0], "Key").TextContent.Trim());
        Assert.Contains("60 tasks · page 1 of 3", first.QuerySelector("nav.pager")!.TextContent);
        Assert.Equal("/p/web?page=2", first.QuerySelector("nav.pager a[rel=next]")!.GetAttribute("href"));
        Assert.Equal("25", ((IHtmlSelectElement)first.QuerySelector("select[name=size]")!).Value);

        var (_, big, _) = await admin.GetAsync("/p/web?size=50");
        Assert.Equal(50, Rows(big).Count);
        Assert.Equal("/p/web?page=2&size=50", big.QuerySelector("nav.pager a[rel=next]")!.GetAttribute("href"));
        var (_, second, _) = await admin.GetAsync("/p/web?page=2&size=50");
        Assert.Equal(10, Rows(second).Count);
        Assert.Equal("WEB-10", Cell(Rows(second)[0], "Key").TextContent.Trim());
        Assert.Null(second.QuerySelector("nav.pager a[rel=next]"));
        Assert.Equal("/p/web?handler=Rows&page=2&size=50", second.QuerySelector("section#task-list")!.GetAttribute("hx-get"));

        // Filter + page size: the chip keeps the size, the pager keeps both.
        var (_, deployed, _) = await admin.GetAsync("/p/web?status=deployed&size=50");
        Assert.Equal(30, Rows(deployed).Count);
        Assert.Equal("30", Count(deployed, "DEPLOYED"));
        Assert.Equal("/p/web?status=PR_CREATED&size=50", deployed.QuerySelector("a.chip[data-status=PR_CREATED]")!.GetAttribute("href"));
        Assert.Contains("PR #", Cell(Rows((await admin.GetAsync("/p/web?status=PR_CREATED")).Document)[0], "Links").TextContent);

        // A size that is not offered falls back to 25; a page past the end says so.
        Assert.Equal(25, Rows((await admin.GetAsync("/p/web?size=1000")).Document).Count);
        Assert.Contains("No tasks on page 9", (await admin.GetAsync("/p/web?page=9")).Document.QuerySelector(".empty")!.TextContent);
    }

    [Fact]
    public async Task A_project_without_tasks_says_how_tasks_start_and_viewers_see_no_create_link()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        var viewer = await accounts.CreateUserAsync("victor", "victor's long password");
        await accounts.SetMembershipAsync(viewer.Id, "web", ProjectRole.Viewer);
        using var asViewer = await WebAccessTests.SignInAsync(h, "victor", "victor's long password");

        var (_, page, _) = await admin.GetAsync("/p/web");
        Assert.Contains("No tasks yet", page.QuerySelector(".empty")!.TextContent);
        Assert.NotNull(page.QuerySelector(".empty a[href='/p/web/new']"));
        Assert.Equal("0", Count(page, "ALL"));

        var (status, viewed, _) = await asViewer.GetAsync("/p/web");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("No tasks yet", viewed.QuerySelector(".empty")!.TextContent);
        Assert.Null(viewed.QuerySelector("main a[href='/p/web/new']"));
        Assert.Equal(HttpStatusCode.NotFound, (await asViewer.GetAsync("/p/other")).Status);
    }

    internal static List<IElement> Rows(IDocument page) => [.. page.QuerySelectorAll("table.tasks tbody tr")];

    internal static IElement Cell(IElement row, string label) => row.QuerySelector($"td[data-label='{label}']") ?? throw new InvalidOperationException($"no {label} cell");

    internal static string Count(IDocument page, string status) =>
        page.QuerySelector($"nav.filters a.chip[data-status={status}] .count")?.TextContent.Trim() ?? throw new InvalidOperationException($"no {status} chip");
}

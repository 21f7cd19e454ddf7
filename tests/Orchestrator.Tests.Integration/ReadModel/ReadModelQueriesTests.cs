using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Shared.ReadModel;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Tests.Integration.ReadModel;

/// <summary>The dashboard's queries on seeded rows: filters, overlay counts, search, paging, the task page.</summary>
public sealed class ReadModelQueriesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 9, 0, 0, TimeSpan.Zero);
    private static readonly string[] Steps = ["RECEIVED", "ISSUE_CREATED", "PR_CREATED", "WAITING_CI", "DEPLOYED", "FAILED"];

    private static TaskRow Row(string project, string prefix, int n, string step, bool blocked = false, string? title = null) => new(
        $"plane-{project}-{n}", project, $"{prefix}-{n}", title ?? $"Task number {n}", blocked ? "BLOCKED" : step, step, blocked, false,
        "plane", "proj", $"wi-{n}", null, "github", "acme/web", null, null, null, null, null, null, null, null, null,
        T0.AddMinutes(n), T0.AddHours(1).AddMinutes(n), null);

    /// <summary>60 tasks in <c>web</c> (steps in rotation, every 7th blocked, two titled specially), 5 in <c>api</c>.</summary>
    private static async Task<TestDatabase> SeedAsync()
    {
        var db = await TestDatabase.CreateAsync();
        await using var batch = db.DataSource.CreateBatch();
        for (var n = 1; n <= 60; n++)
        {
            var title = n switch
            {
                13 => "Health endpoint returns 503",
                14 => "Fix 100%_done progress bar",
                _ => null,
            };
            batch.BatchCommands.Add(ReadModelWriter.Upsert(Row("web", "WEB", n, Steps[n % Steps.Length], blocked: n % 7 == 0, title: title)));
        }

        for (var n = 1; n <= 5; n++)
        {
            batch.BatchCommands.Add(ReadModelWriter.Upsert(Row("api", "API", n, "PR_CREATED", title: "Health check for the API")));
        }

        for (var i = 0; i < 5; i++)
        {
            batch.BatchCommands.Add(ReadModelWriter.Append(new TaskEventRecord("plane-web-7", null, "system", TaskEventTypes.StatusChanged, null,
                new Dictionary<string, object> { ["to"] = $"S{i}" }, null, T0.AddMinutes(i))));
        }

        await batch.ExecuteNonQueryAsync();
        return db;
    }

    [Fact]
    public async Task The_list_is_one_projects_tasks_newest_updated_first_with_counts_per_status_and_overlay()
    {
        await using var db = await SeedAsync();
        var queries = new ReadModelQueries(db.DataSource);

        var first = await queries.ListAsync(new TaskListQuery("web"), CancellationToken.None);
        Assert.Equal((1, 25, 60L), (first.Page, first.PageSize, first.Total));
        Assert.Equal(Enumerable.Range(36, 25).Reverse().Select(n => $"WEB-{n}"), first.Items.Select(t => t.TaskKey));
        Assert.Equal(60L, first.Counts["ALL"]);
        Assert.Equal(10L, first.Counts["PR_CREATED"]);
        Assert.Equal(0L, first.Counts["NEEDS_REPO"]);
        Assert.Equal(8L, first.Counts["BLOCKED"]); // 7, 14, …, 56: counted under their step as well
        Assert.Equal(60L, Steps.Sum(s => first.Counts[s]));

        var second = await queries.ListAsync(new TaskListQuery("web", Page: 2), CancellationToken.None);
        var third = await queries.ListAsync(new TaskListQuery("web", Page: 3), CancellationToken.None);
        Assert.Equal((25, 10), (second.Items.Count, third.Items.Count));
        Assert.Empty(first.Items.Select(t => t.Id).Intersect(second.Items.Select(t => t.Id)));
        Assert.Equal(50, (await queries.ListAsync(new TaskListQuery("web", PageSize: 50), CancellationToken.None)).Items.Count);

        var prs = await queries.ListAsync(new TaskListQuery("web", Status: "pr_created"), CancellationToken.None);
        Assert.Equal(10L, prs.Total);
        Assert.All(prs.Items, t => Assert.Equal("PR_CREATED", t.Step));
        Assert.Contains(prs.Items, t => t.Status == "BLOCKED"); // WEB-14: blocked, still listed under its step

        var blocked = await queries.ListAsync(new TaskListQuery("web", Status: "BLOCKED"), CancellationToken.None);
        Assert.Equal(Enumerable.Range(1, 8).Select(i => 7 * i).Reverse().Select(n => $"WEB-{n}"), blocked.Items.Select(t => t.TaskKey));
        Assert.Equal(8L, blocked.Total);

        var api = await queries.ListAsync(new TaskListQuery("api"), CancellationToken.None);
        Assert.Equal((5L, 5L), (api.Total, api.Counts["PR_CREATED"]));
        Assert.Empty((await queries.ListAsync(new TaskListQuery("nope"), CancellationToken.None)).Items);
    }

    [Fact]
    public async Task Search_matches_key_or_title_case_insensitively_and_literally()
    {
        await using var db = await SeedAsync();
        var queries = new ReadModelQueries(db.DataSource);
        async Task<string[]> KeysAsync(string search, string? status = null) =>
            [.. (await queries.ListAsync(new TaskListQuery("web", status, search), CancellationToken.None)).Items.Select(t => t.TaskKey!)];

        Assert.Equal(["WEB-13"], await KeysAsync("HEALTH"));
        Assert.Equal(["WEB-19", "WEB-18", "WEB-17", "WEB-16", "WEB-15", "WEB-14", "WEB-13", "WEB-12", "WEB-11", "WEB-10", "WEB-1"], await KeysAsync("web-1"));
        Assert.Equal(["WEB-14"], await KeysAsync("100%_"));
        Assert.Equal(["WEB-14"], await KeysAsync("%")); // wildcards are literal: only the title with a % matches
        Assert.Empty(await KeysAsync("w_b"));
        Assert.Equal(["WEB-14"], await KeysAsync("web-1", status: "BLOCKED"));

        var page = await queries.ListAsync(new TaskListQuery("web", Search: "number"), CancellationToken.None);
        Assert.Equal((58L, 60L), (page.Total, page.Counts["ALL"])); // the counts are the project's, the total the search's
    }

    [Fact]
    public async Task Bad_filters_are_refused()
    {
        await using var db = await SeedAsync();
        var queries = new ReadModelQueries(db.DataSource);

        foreach (var bad in new[] { new TaskListQuery("web", PageSize: 30), new TaskListQuery("web", Page: 0), new TaskListQuery("web", Status: "DONE"),
            new TaskListQuery("web", Status: "3"), new TaskListQuery("web", Search: new string('x', ReadModelQueries.MaxSearchLength + 1)) })
        {
            await Assert.ThrowsAsync<ArgumentException>(() => queries.ListAsync(bad, CancellationToken.None));
        }
    }

    [Fact]
    public async Task A_task_page_is_found_by_id_or_key_and_pages_its_events_newest_first()
    {
        await using var db = await SeedAsync();
        var queries = new ReadModelQueries(db.DataSource);

        var page = (await queries.TaskAsync("web-7", "web", 2, null, CancellationToken.None))!;
        Assert.Equal(("plane-web-7", true), (page.Task.Id, page.Task.Blocked));
        Assert.Equal(["S4", "S3"], page.Events.Select(e => e.Summary.GetProperty("to").GetString()));
        Assert.Equal("web", await db.ScalarAsync<string>("SELECT DISTINCT project_slug FROM task_events"));

        var older = (await queries.TaskAsync("plane-web-7", null, 2, page.OlderEventsBefore, CancellationToken.None))!;
        Assert.Equal(["S2", "S1"], older.Events.Select(e => e.Summary.GetProperty("to").GetString()));
        var oldest = (await queries.TaskAsync("plane-web-7", null, 2, older.OlderEventsBefore, CancellationToken.None))!;
        Assert.Equal(["S0"], oldest.Events.Select(e => e.Summary.GetProperty("to").GetString()));
        Assert.Null(oldest.OlderEventsBefore);

        Assert.Null(await queries.TaskAsync("WEB-7", "api", 10, null, CancellationToken.None));
        Assert.Null(await queries.TaskAsync("WEB-999", null, 10, null, CancellationToken.None));
        Assert.Empty((await queries.TaskAsync("WEB-8", null, 10, null, CancellationToken.None))!.Events);
    }
}

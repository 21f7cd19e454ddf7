using System.Net;
using AngleSharp.Html.Dom;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Shared.Accounts;
using Orchestrator.Tests.Integration.EndToEnd;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.Web;

/// <summary>Issue #9 §2.3: <c>/p/{slug}/knowledge</c> — links, contacts and notes with validation, safe Markdown, roles, and the TaskSpec's "Project context".</summary>
public sealed class KnowledgePageTests
{
    private const string Path = "/p/web/knowledge";

    [Fact]
    public async Task Links_contacts_and_notes_are_added_edited_and_deleted_and_invalid_input_is_refused_with_nothing_written()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);

        // Invalid input: 400, the message next to the field, the values kept, nothing stored.
        var (bad, badPage, _) = await admin.SubmitAsync(Path, new Dictionary<string, string> { ["Input.Title"] = "Runbook", ["Input.Url"] = "javascript:alert(1)" }, "handler=Link");
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Equal("Enter an absolute http:// or https:// URL.", FieldError(badPage, "link-new-url"));
        Assert.Equal("Runbook", ((IHtmlInputElement)badPage.GetElementById("link-new-title")!).Value);
        Assert.NotNull(badPage.QuerySelector("details.add[open] #link-new-url[aria-invalid=true]"));
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM project_links"));

        var (noReach, noReachPage, _) = await admin.SubmitAsync(Path, new Dictionary<string, string> { ["Input.Name"] = "Ada", ["Input.Role"] = "Owner" }, "handler=Contact");
        Assert.Equal(HttpStatusCode.BadRequest, noReach);
        Assert.Equal("Required.", FieldError(noReachPage, "contact-new-reach"));
        var (emptyNote, emptyNotePage, _) = await admin.SubmitAsync(Path, new Dictionary<string, string> { ["Input.Title"] = "Conventions", ["Input.Body"] = "   " }, "handler=Note");
        Assert.Equal(HttpStatusCode.BadRequest, emptyNote);
        Assert.Equal("Write the note.", FieldError(emptyNotePage, "note-new-body"));
        var (tooLong, tooLongPage, _) = await admin.SubmitAsync(Path, new Dictionary<string, string> { ["Input.Title"] = new string('t', 201), ["Input.Body"] = "x" }, "handler=Note");
        Assert.Equal(HttpStatusCode.BadRequest, tooLong);
        Assert.StartsWith("At most 200 characters", FieldError(tooLongPage, "note-new-title"), StringComparison.Ordinal);
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT (SELECT count(*) FROM project_links) + (SELECT count(*) FROM project_contacts) + (SELECT count(*) FROM project_notes)"));

        // Add one of each.
        await AddAsync(admin, "Link", ("Title", "Runbook"), ("Url", "https://wiki.example.com/runbook"));
        await AddAsync(admin, "Contact", ("Name", "Ada Lovelace"), ("Role", "Product owner"), ("Reach", "ada@example.com"));
        await AddAsync(admin, "Note", ("Title", "Conventions"), ("Body", "Use **tabs**.\r\n\r\n- one\r\n- two"));
        var (_, page, _) = await admin.GetAsync(Path);
        Assert.Equal("https://wiki.example.com/runbook", page.QuerySelector("ul.knowledge a")!.GetAttribute("href"));
        Assert.Contains("Ada Lovelace", page.QuerySelector("section[aria-labelledby=contacts] tbody")!.TextContent);
        Assert.Equal("tabs", page.QuerySelector("article.note .markdown strong")!.TextContent);
        Assert.Equal(2, page.QuerySelectorAll("article.note .markdown li").Length);
        Assert.Equal("Use **tabs**.\n\n- one\n- two", await h.Db.ScalarAsync<string>("SELECT body FROM project_notes"));

        // Edit: a bad value is refused in that item's form, a good one saved.
        var linkId = await h.Db.ScalarAsync<long>("SELECT id FROM project_links");
        var (badEdit, badEditPage, _) = await admin.SubmitAsync(Path, new Dictionary<string, string> { ["Input.Id"] = linkId.ToString(), ["Input.Title"] = "Runbook", ["Input.Url"] = "https://bob:secret@wiki.example.com/" }, "handler=Link");
        Assert.Equal(HttpStatusCode.BadRequest, badEdit);
        Assert.Contains("user name and password", FieldError(badEditPage, $"link-{linkId}-url"));
        Assert.Equal("https://wiki.example.com/runbook", await h.Db.ScalarAsync<string>("SELECT url FROM project_links"));
        await AddAsync(admin, "Link", ("Id", linkId.ToString()), ("Title", "Runbook v2"), ("Url", "https://wiki.example.com/runbook-v2"));
        Assert.Equal("Runbook v2 https://wiki.example.com/runbook-v2", await h.Db.ScalarAsync<string>("SELECT title || ' ' || url FROM project_links"));
        var contactId = await h.Db.ScalarAsync<long>("SELECT id FROM project_contacts");
        await AddAsync(admin, "Contact", ("Id", contactId.ToString()), ("Name", "Ada"), ("Role", ""), ("Reach", "@ada"));
        Assert.Equal("Ada||@ada", await h.Db.ScalarAsync<string>("SELECT name || '|' || role || '|' || reach FROM project_contacts"));

        // An id the project does not have changes nothing.
        var (missing, _, missingResponse) = await admin.SubmitAsync(Path, new Dictionary<string, string> { ["Input.Id"] = "987654321", ["Input.Title"] = "x", ["Input.Url"] = "https://example.com" }, "handler=Link");
        Assert.Equal(HttpStatusCode.Redirect, missing);
        Assert.Contains("no longer exists", (await admin.GetAsync(missingResponse.Headers.Location!.OriginalString)).Document.QuerySelector(".flash")!.TextContent);

        // Delete each.
        foreach (var (handler, table) in new[] { ("DeleteLink", "project_links"), ("DeleteContact", "project_contacts"), ("DeleteNote", "project_notes") })
        {
            var id = await h.Db.ScalarAsync<long>($"SELECT id FROM {table}");
            var (deleted, _, _) = await admin.SubmitAsync(Path, new Dictionary<string, string> { ["id"] = id.ToString() }, $"handler={handler}");
            Assert.Equal(HttpStatusCode.Redirect, deleted);
            Assert.Equal(0L, await h.Db.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        }
    }

    [Fact]
    public async Task Notes_render_markdown_without_raw_html_and_keep_only_http_and_relative_links()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        await AddAsync(admin, "Note", ("Title", "Careful <b>now</b>"), ("Body", string.Join('\n',
            "<script>alert('note')</script>",
            "",
            "<img src=x onerror=alert(1)>",
            "",
            "[bad](javascript:alert(1)) [tab](java&#9;script:alert(2)) [data](data:text/html;base64,PHNjcmlwdD4=) [good](https://example.com/docs) [rel](/p/web)",
            "",
            "<https://example.com/auto> and **bold**")));

        var (status, page, response) = await admin.GetAsync(Path);
        Assert.Equal(HttpStatusCode.OK, status);
        var note = page.QuerySelector("article.note")!;
        var markdown = note.QuerySelector(".markdown")!;
        Assert.Empty(markdown.QuerySelectorAll("script, img, b"));
        Assert.Null(markdown.QuerySelector("[onerror]"));
        Assert.Contains("<script>alert('note')</script>", markdown.TextContent, StringComparison.Ordinal);
        Assert.Contains("<img src=x onerror=alert(1)>", markdown.TextContent, StringComparison.Ordinal);
        Assert.Equal("Careful <b>now</b>", note.QuerySelector("h3")!.TextContent);
        var hrefs = markdown.QuerySelectorAll("a").ToDictionary(a => a.TextContent, a => a.GetAttribute("href"));
        Assert.Equal("#", hrefs["bad"]);
        Assert.Equal("#", hrefs["tab"]);
        Assert.Equal("#", hrefs["data"]);
        Assert.Equal("https://example.com/docs", hrefs["good"]);
        Assert.Equal("/p/web", hrefs["rel"]);
        Assert.Equal("https://example.com/auto", hrefs["https://example.com/auto"]);
        Assert.All(markdown.QuerySelectorAll("a"), a => Assert.Contains("noopener", a.GetAttribute("rel") ?? ""));
        Assert.Equal("bold", markdown.QuerySelector("strong")!.TextContent);
        Assert.DoesNotContain("<script>alert", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Viewers_read_editors_write_and_non_members_get_404()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        await AddAsync(admin, "Link", ("Title", "Runbook"), ("Url", "https://wiki.example.com/runbook"));
        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        var viewer = await accounts.CreateUserAsync("vic", "vic's long password");
        var editor = await accounts.CreateUserAsync("eve", "eve's long password");
        await accounts.CreateUserAsync("olga", "olga's long password");
        await accounts.SetMembershipAsync(viewer.Id, "web", ProjectRole.Viewer);
        await accounts.SetMembershipAsync(editor.Id, "web", ProjectRole.Editor);
        using var asViewer = await WebAccessTests.SignInAsync(h, "vic", "vic's long password");
        using var asEditor = await WebAccessTests.SignInAsync(h, "eve", "eve's long password");
        using var outsider = await WebAccessTests.SignInAsync(h, "olga", "olga's long password");
        using var anonymous = new Browserless(h.HostUrl);

        var (status, page, _) = await asViewer.GetAsync(Path);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Runbook", page.QuerySelector("ul.knowledge")!.TextContent);
        Assert.Empty(page.QuerySelectorAll("main form"));
        var token = await asViewer.CsrfTokenAsync(Path);
        var (refused, _, _) = await asViewer.PostAsync($"{Path}?handler=Link", new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token, ["Input.Title"] = "Sneaky", ["Input.Url"] = "https://example.com",
        });
        Assert.Equal(HttpStatusCode.Forbidden, refused);
        var linkId = await h.Db.ScalarAsync<long>("SELECT id FROM project_links");
        Assert.Equal(HttpStatusCode.Forbidden, (await asViewer.PostAsync($"{Path}?handler=DeleteLink", new Dictionary<string, string> { ["__RequestVerificationToken"] = token, ["id"] = linkId.ToString() })).Status);
        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM project_links"));

        await AddAsync(asEditor, "Link", ("Title", "Dashboards"), ("Url", "https://grafana.example.com/"));
        Assert.Equal(2L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM project_links"));

        Assert.Equal(HttpStatusCode.NotFound, (await outsider.GetAsync(Path)).Status);
        var outsiderToken = await outsider.CsrfTokenAsync("/account");
        Assert.Equal(HttpStatusCode.NotFound, (await outsider.PostAsync($"{Path}?handler=Link", new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = outsiderToken, ["Input.Title"] = "x", ["Input.Url"] = "https://example.com",
        })).Status);
        var (anon, _, anonResponse) = await anonymous.GetAsync(Path);
        Assert.Equal(HttpStatusCode.Redirect, anon);
        Assert.StartsWith("/login?returnUrl=", anonResponse.Headers.Location!.OriginalString, StringComparison.Ordinal);
        Assert.Equal(2L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM project_links"));
    }

    [Fact]
    public async Task A_new_tasks_taskspec_carries_the_project_context_block()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        await AddAsync(admin, "Link", ("Title", "Runbook"), ("Url", "https://wiki.example.com/runbook"));
        await AddAsync(admin, "Contact", ("Name", "Ada Lovelace"), ("Role", "Product owner"), ("Reach", "ada@example.com"));
        await AddAsync(admin, "Note", ("Title", "Conventions"), ("Body", "# Style\nTabs, not spaces."));

        var (id, _) = await h.CreateTaskAsync();
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);

        var body = Assert.Single(h.GitHub.Issues(Harness.Repo)).Body!;
        var block = body[body.IndexOf("## Project context", StringComparison.Ordinal)..];
        Assert.StartsWith(
            """
            ## Project context

            **Links**

            - [Runbook](<https://wiki.example.com/runbook>)

            **Contacts**

            - **Ada Lovelace** (Product owner): ada@example.com

            ### Conventions

            #### Style
            Tabs, not spaces.
            """,
            block,
            StringComparison.Ordinal);
        Assert.True(body.IndexOf("## Acceptance Criteria", StringComparison.Ordinal) < body.IndexOf("## Project context", StringComparison.Ordinal));
        h.AssertNoUnexpectedRequests();
    }

    private static async Task AddAsync(Browserless browser, string handler, params (string Field, string Value)[] fields)
    {
        // The first form with this handler may be an item's edit form: without an id of its own the post adds.
        var values = fields.ToDictionary(f => "Input." + f.Field, f => f.Value);
        values.TryAdd("Input.Id", "");
        var (status, page, response) = await browser.SubmitAsync(Path, values, $"handler={handler}");
        Assert.True(status == HttpStatusCode.Redirect, $"{handler} answered {status}: {page.QuerySelector(".alert")?.TextContent} {string.Join(" ", page.QuerySelectorAll(".field-error").Select(e => e.TextContent))}");
        Assert.Equal(Path, response.Headers.Location?.OriginalString);
    }

    private static string? FieldError(IHtmlDocument page, string inputId) =>
        page.GetElementById(inputId)?.ParentElement?.QuerySelector(".field-error")?.TextContent;
}

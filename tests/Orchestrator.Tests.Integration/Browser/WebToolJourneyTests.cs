using System.Net;
using Microsoft.Playwright;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Tests.Integration.EndToEnd;
using static Microsoft.Playwright.Assertions;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Tests.Integration.Browser;

/// <summary>
/// Issue #9 §4: a team's first day with the web tool in a real Chromium, through the screens only — clicks and typing.
/// Only what a tracker or forge does (Plane sending its signed webhook, a person editing the work item in Plane) comes from
/// the simulators. Every screen is saved as a screenshot (<see cref="Chromium.ScreenshotDirectory"/>, <c>journey-*.png</c>).
/// </summary>
public sealed class WebToolJourneyTests
{
    private const string InitToken = "journey-init-token-0123456789abcdef";
    private const string AdminPassword = "ada's long admin password";
    private const string ViewerPassword = "vera's long viewer password";
    private const string Slug = "shop";
    private const string TrackerWebhookSecret = "plane_wh_journey0123456789abcdef01234567";
    private const string ForgeWebhookSecret = "github-journey-webhook-secret-0123456789";
    private const string NoteText = "Please keep the JSON shape of /healthz stable: the load balancer reads it.";

    /// <summary>Web-first assertions wait as long as the pages' own actions may take on a busy 2-core machine.</summary>
    public WebToolJourneyTests() => SetDefaultExpectTimeout(15_000);

    [Fact]
    public async Task A_team_sets_up_a_project_follows_a_task_acts_on_it_and_invites_a_viewer_in_chromium()
    {
        // No project from ORCH_PROJECTS_JSON and no user: the host is as fresh as a new install.
        await using var h = await Harness.StartAsync(s =>
        {
            s["INIT_ADMIN_TOKEN"] = InitToken;
            s["PROJECTS_JSON"] = null;
        });
        await using var chromium = await Chromium.LaunchAsync();
        var host = h.HostUrl.ToString();
        var consoleErrors = new List<string>();
        var admin = await NewPageAsync(chromium, consoleErrors);

        // 1. The first admin, with the setup token. The sign-in page points there while no account exists.
        await admin.GotoAsync(host + "app");
        await Expect(admin).ToHaveURLAsync(host + "login?returnUrl=%2Fapp");
        await Expect(admin.Locator(".alert.warn")).ToContainTextAsync("No account exists yet");
        await admin.GetByRole(AriaRole.Link, new() { Name = "/init" }).ClickAsync();
        await Expect(admin.Locator("h1")).ToHaveTextAsync("Set up Orchestrator");
        await admin.GetByLabel("Setup token").FillAsync(InitToken);
        await admin.GetByLabel("Username").FillAsync("ada");
        await admin.Locator("#Input_Password").FillAsync(AdminPassword);
        await admin.GetByLabel("Password again").FillAsync(AdminPassword);
        await ShotAsync(admin, "01-init");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Create admin" }).ClickAsync();
        await Expect(admin).ToHaveURLAsync(host + "app");
        await Expect(admin.Locator("main")).ToContainTextAsync("No project yet");
        await ShotAsync(admin, "02-projects-empty");

        // 2. Sign out and in again: the sign-in form brings the admin back to the page they asked for.
        await admin.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(admin).ToHaveURLAsync(host + "login");
        await admin.GotoAsync(host + "app/new");
        await Expect(admin).ToHaveURLAsync(host + "login?returnUrl=%2Fapp%2Fnew");
        await admin.GetByLabel("Username").FillAsync("ada");
        await admin.GetByLabel("Password").FillAsync("not ada's password");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(admin.GetByRole(AriaRole.Alert)).ToContainTextAsync("not right");
        await admin.GetByLabel("Password").FillAsync(AdminPassword);
        await ShotAsync(admin, "03-sign-in");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(admin).ToHaveURLAsync(host + "app/new");

        // 3. Create a project: Plane and GitHub at their (loopback) simulators, with the project's own tokens and secrets.
        await Expect(admin.Locator("h1")).ToHaveTextAsync("Create project");
        await admin.Locator("#Input_Name").FillAsync("Web shop");
        await admin.Locator("#Input_Slug").FillAsync(Slug);
        await admin.Locator("#Input_WorkItemPrefix").FillAsync("SHOP");
        await admin.Locator("#Input_TrackerKind").SelectOptionAsync("plane");
        await admin.Locator("#Input_TrackerBaseUrl").FillAsync(h.Plane.BaseUrl.ToString());
        await admin.Locator("#Input_TrackerWorkspace").FillAsync(Harness.Workspace);
        await admin.Locator("#Input_TrackerProjectIds").FillAsync(h.ProjectId);
        await admin.Locator("#Input_TriggerLabel").FillAsync("AutoTask");
        await admin.Locator("#Input_TrackerToken").FillAsync(Harness.PlaneToken);
        await admin.Locator("#Input_TrackerWebhookSecret").FillAsync(TrackerWebhookSecret);
        await admin.Locator("#Input_ForgeKind").SelectOptionAsync("github");
        await admin.Locator("#Input_ForgeBaseUrl").FillAsync(h.GitHub.BaseUrl.ToString());
        await admin.Locator("#Input_Repos").FillAsync(Harness.Repo);
        await admin.Locator("#Input_DefaultRepo").FillAsync(Harness.Repo);
        await admin.Locator("#Input_ForgeToken").FillAsync(Harness.GitHubToken);
        await admin.Locator("#Input_ForgeWebhookSecret").FillAsync(ForgeWebhookSecret);
        await ShotAsync(admin, "04-create-project");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Create project" }).ClickAsync();

        // 4. The webhooks page: the URLs to paste into Plane and GitHub; the secrets only masked.
        await Expect(admin).ToHaveURLAsync(host + $"p/{Slug}/webhooks");
        await Expect(admin.Locator(".flash")).ToContainTextAsync($"Project {Slug} created. Paste these webhook URLs into Plane and GitHub.");
        var planeUrl = await admin.Locator("section[aria-labelledby=tracker-values] .copyable code").InnerTextAsync();
        var githubUrl = await admin.Locator("#forge-values .copyable code").InnerTextAsync();
        Assert.Equal(host + $"webhooks/plane/{Slug}", planeUrl);
        Assert.Equal(host + $"webhooks/github/{Slug}", githubUrl);
        await Expect(admin.Locator("section[aria-labelledby=tracker-values]")).ToContainTextAsync("••••" + TrackerWebhookSecret[^4..]);
        await Expect(admin.Locator("#forge-values")).ToContainTextAsync("••••" + ForgeWebhookSecret[^4..]);
        await AssertNoSecretOnPageAsync(admin);
        await ShotAsync(admin, "05-webhooks");

        // The project card on /app: the connections are checked after the page loads.
        await admin.GetByRole(AriaRole.Link, new() { Name = "Projects", Exact = true }).ClickAsync();
        var card = admin.Locator("article.project-card", new() { HasText = "Web shop" });
        await Expect(card.Locator(".status-list")).ToContainTextAsync("tracker reachable");
        await Expect(card.Locator(".status-list")).ToContainTextAsync("forge reachable");
        await ShotAsync(admin, "06-projects");

        // 5. The dashboard, empty; then Plane sends its signed webhook (to the URL read from the page) for a new AutoTask
        // work item whose author forgot the description, and the open dashboard shows the task without a reload.
        await card.GetByRole(AriaRole.Link, new() { Name = "Web shop" }).ClickAsync();
        await Expect(admin).ToHaveURLAsync(host + $"p/{Slug}");
        await Expect(admin.Locator("#task-list")).ToContainTextAsync("No tasks yet");
        h.Plane.ConfigureWebhook(new Uri(planeUrl), TrackerWebhookSecret);
        var (item, delivery, status) = await h.Plane.CreateWorkItemAsync(h.ProjectId, "Add a health endpoint", "", ["AutoTask"]);
        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.True(delivery!.Headers.ContainsKey("X-Plane-Signature"), "the simulator signs its deliveries as Plane does");
        var id = TaskPipelineOrchestration.InstanceIdFor(item.Id);
        await h.WaitForStatusAsync(id, TaskStatus.FAILED);
        var row = admin.Locator($"tr[data-task='{id}']");
        await Expect(row).ToBeVisibleAsync(new() { Timeout = 30_000 }); // the list refreshes itself every 10 s
        await Expect(row.Locator("[data-label=Status]")).ToHaveTextAsync("FAILED", new() { Timeout = 30_000 });
        await Expect(row.Locator("[data-label=Key]")).ToHaveTextAsync("SHOP-1");
        await Expect(row.Locator("[data-label=Title]")).ToHaveTextAsync("Add a health endpoint");
        await Expect(admin.Locator("a.chip[data-status=FAILED] .count")).ToHaveTextAsync("1");
        await ShotAsync(admin, "07-dashboard");

        // 6. The task page: why it failed, then Add note (timeline + a Plane comment).
        await row.GetByRole(AriaRole.Link, new() { Name = "SHOP-1" }).ClickAsync();
        await Expect(admin).ToHaveURLAsync(host + $"p/{Slug}/t/SHOP-1");
        await Expect(admin.Locator("h1")).ToContainTextAsync("SHOP-1 Add a health endpoint");
        await Expect(admin.Locator("[data-failure]")).ToContainTextAsync("The work item has no description");
        await ShotAsync(admin, "08-task-failed");
        await admin.Locator("summary", new() { HasText = "Add note" }).ClickAsync();
        await admin.GetByLabel("Note").FillAsync(NoteText);
        await admin.Locator("form[action*='handler=Note']").GetByRole(AriaRole.Button, new() { Name = "Add note" }).ClickAsync();
        await Expect(admin.Locator(".flash")).ToContainTextAsync("Note added");
        var noteEntry = admin.Locator("ol.task-timeline > li[data-type=manual_action]", new() { HasText = NoteText });
        await Expect(noteEntry).ToHaveCountAsync(1);
        await Expect(noteEntry.Locator("[data-field=actor]")).ToHaveTextAsync("ada");
        await Expect(noteEntry.Locator("[data-field=source]")).ToHaveTextAsync("user");
        await Harness.EventuallyAsync(
            () => Task.FromResult(h.Plane.Comments(item.Id).Any(c => c.CommentHtml.Contains("Please keep the JSON shape", StringComparison.Ordinal))),
            "the note as a Plane comment");
        await ShotAsync(admin, "09-task-note");

        // 7. Someone fills in the description in Plane (that edit's webhook never arrives), and the admin presses Retry:
        // the retry is recorded under their name and the task goes on to its GitHub issue.
        await h.Plane.UpdateDescriptionAsync(item.Id, "<p>Please add GET /healthz</p><h2>Acceptance Criteria</h2><ul><li>returns 200</li></ul>", deliver: false);
        await admin.GetByRole(AriaRole.Button, new() { Name = "Retry" }).ClickAsync();
        await Expect(admin.Locator(".flash")).ToContainTextAsync("Retry requested: SHOP-1 resumes at TaskSpec.");
        var retryEntry = admin.Locator("ol.task-timeline > li[data-type=manual_action]", new() { HasText = "etry" });
        await Expect(retryEntry).ToHaveCountAsync(1);
        await Expect(retryEntry.Locator("[data-field=actor]")).ToHaveTextAsync("ada");
        await h.WaitForStatusAsync(id, TaskStatus.ISSUE_CREATED);
        await h.QuiesceAsync();
        await admin.ReloadAsync();
        await Expect(admin.Locator("h1 [data-status]")).ToHaveTextAsync("ISSUE_CREATED");
        await Expect(admin.Locator("a[data-link=issue]")).ToContainTextAsync("GitHub issue #1");
        await Expect(admin.GetByRole(AriaRole.Button, new() { Name = "Retry" })).ToHaveCountAsync(0);
        await Expect(admin.Locator(".taskspec .markdown")).ToContainTextAsync("returns 200");
        await Expect(noteEntry).ToHaveCountAsync(1);
        Assert.Contains("SHOP-1", Assert.Single(h.GitHub.Issues(Harness.Repo)).Title, StringComparison.Ordinal);
        await ShotAsync(admin, "10-task-retried");

        // 8. Settings → Invites: a link for a new viewer, shown once.
        await admin.GetByRole(AriaRole.Navigation, new() { Name = "Project" }).GetByRole(AriaRole.Link, new() { Name = "Settings" }).ClickAsync();
        await Expect(admin).ToHaveURLAsync(host + $"p/{Slug}/settings");
        await AssertNoSecretOnPageAsync(admin);
        await admin.Locator("#inviteRole").SelectOptionAsync("viewer");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Create invite link" }).ClickAsync();
        await Expect(admin.Locator("#invites")).ToContainTextAsync("Invite link for a new viewer");
        var inviteUrl = (await admin.Locator("#new-invite").InnerTextAsync()).Trim();
        Assert.StartsWith(host + "invite/", inviteUrl, StringComparison.Ordinal);
        await ShotAsync(admin, "11-settings-invite");

        // 9. The viewer, in a browser of their own (a phone set to dark mode): accepts the invite, signs out and in again,
        // sees the dashboard and the task, is refused the settings with the 403 page.
        var viewer = await NewPageAsync(chromium, consoleErrors, phone: true, dark: true);
        await viewer.GotoAsync(inviteUrl);
        await Expect(viewer.Locator("main")).ToContainTextAsync($"You are invited to {Slug} as viewer by ada");
        await viewer.GetByLabel("Username").FillAsync("vera");
        await viewer.Locator("#Input_Password").FillAsync(ViewerPassword);
        await viewer.GetByLabel("Password again").FillAsync(ViewerPassword);
        await ShotAsync(viewer, "12-invite");
        await viewer.GetByRole(AriaRole.Button, new() { Name = "Create account and join" }).ClickAsync();
        await Expect(viewer).ToHaveURLAsync(host + $"p/{Slug}");
        await Expect(viewer.Locator(".flash")).ToContainTextAsync("Welcome, vera. You are viewer of this project.");
        Assert.Equal("rgb(21, 23, 26)", await viewer.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor")); // the dark scheme
        await viewer.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(viewer).ToHaveURLAsync(host + "login");
        await viewer.GetByLabel("Username").FillAsync("vera");
        await viewer.GetByLabel("Password").FillAsync(ViewerPassword);
        await viewer.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(viewer).ToHaveURLAsync(host + "app");
        var viewerCard = viewer.Locator("article.project-card", new() { HasText = "Web shop" });
        await Expect(viewerCard.Locator(".badge").First).ToHaveTextAsync("viewer");
        await Expect(viewer.GetByRole(AriaRole.Link, new() { Name = "Create project" })).ToHaveCountAsync(0);
        await viewerCard.GetByRole(AriaRole.Link, new() { Name = "Web shop" }).ClickAsync();
        var viewerRow = viewer.Locator($"tr[data-task='{id}']");
        await Expect(viewerRow.Locator("[data-label=Status]")).ToHaveTextAsync("ISSUE_CREATED");
        await Expect(viewer.Locator(".head a.button", new() { HasText = "New task" })).ToHaveCountAsync(0); // viewers do not create tasks
        await ShotAsync(viewer, "13-viewer-dashboard");
        await viewerRow.GetByRole(AriaRole.Link, new() { Name = "SHOP-1" }).ClickAsync();
        await Expect(viewer.Locator("ol.task-timeline")).ToContainTextAsync(NoteText);
        await Expect(viewer.Locator(".task-actions")).ToHaveCountAsync(0); // viewers read; no action buttons
        await ShotAsync(viewer, "14-viewer-task");
        // A viewer's tabs leave out what the role cannot open; the address typed in is refused.
        var tabs = viewer.GetByRole(AriaRole.Navigation, new() { Name = "Project" });
        await Expect(tabs.GetByRole(AriaRole.Link, new() { Name = "Tasks" })).ToHaveCountAsync(1);
        foreach (var hidden in new[] { "Settings", "API", "New task" })
        {
            await Expect(tabs.GetByRole(AriaRole.Link, new() { Name = hidden, Exact = true })).ToHaveCountAsync(0);
        }

        var settings = await viewer.GotoAsync(host + $"p/{Slug}/settings");
        Assert.Equal((int)HttpStatusCode.Forbidden, settings!.Status);
        await Expect(viewer.Locator("h1")).ToHaveTextAsync("Not allowed");
        await Expect(viewer.Locator("main")).ToContainTextAsync("Your role in this project does not allow this");
        await Expect(viewer.Locator("#invites")).ToHaveCountAsync(0);
        await ShotAsync(viewer, "15-viewer-settings-403");

        // 10. Sign out, both of them: the session cookies are worthless afterwards, even replayed.
        var viewerCookie = await SessionCookieAsync(viewer);
        var adminCookie = await SessionCookieAsync(admin);
        Assert.Equal(HttpStatusCode.OK, await ReplayAsync(h, viewerCookie, $"p/{Slug}"));
        foreach (var page in new[] { viewer, admin })
        {
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
            await Expect(page).ToHaveURLAsync(host + "login");
            Assert.Null((await page.Context.CookiesAsync()).FirstOrDefault(c => c.Name == "orch_session"));
        }

        await ShotAsync(viewer, "16-signed-out");
        Assert.Equal(HttpStatusCode.Redirect, await ReplayAsync(h, viewerCookie, $"p/{Slug}"));
        Assert.Equal(HttpStatusCode.Redirect, await ReplayAsync(h, adminCookie, $"p/{Slug}/settings"));
        await viewer.Context.AddCookiesAsync([new Microsoft.Playwright.Cookie { Name = "orch_session", Value = viewerCookie, Url = host }]);
        await viewer.GotoAsync(host + $"p/{Slug}");
        await Expect(viewer).ToHaveURLAsync(host + $"login?returnUrl=%2Fp%2F{Slug}");

        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM sessions"));
        Assert.True(consoleErrors.Count == 0, "no script error, no CSP violation on any screen:\n" + string.Join("\n", consoleErrors));
        foreach (var secret in new[] { InitToken, AdminPassword, ViewerPassword, TrackerWebhookSecret, ForgeWebhookSecret, Harness.PlaneToken, Harness.GitHubToken })
        {
            Assert.All(h.Logs.Lines, l => Assert.DoesNotContain(secret, l, StringComparison.Ordinal));
        }

        h.AssertNoUnexpectedRequests();
    }

    private static async Task<IPage> NewPageAsync(Chromium chromium, List<string> consoleErrors, bool phone = false, bool dark = false)
    {
        var page = await chromium.NewPageAsync(phone: phone, dark: dark);
        page.Console += (_, m) =>
        {
            // Chromium reports every 4xx document as a console error; the wrong password (401) and the viewer's settings
            // (403) are answered so on purpose.
            if (m.Type == "error" && !m.Text.Contains("status of 401", StringComparison.Ordinal) && !m.Text.Contains("status of 403", StringComparison.Ordinal))
            {
                consoleErrors.Add($"{page.Url}: {m.Text}");
            }
        };
        page.PageError += (_, e) => consoleErrors.Add($"{page.Url}: {e}");
        return page;
    }

    private static Task ShotAsync(IPage page, string name) => Chromium.ScreenshotAsync(page, "journey-" + name);

    /// <summary>No stored secret appears in the page's HTML (inputs included): they are write-only and shown masked.</summary>
    private static async Task AssertNoSecretOnPageAsync(IPage page)
    {
        var html = await page.ContentAsync();
        foreach (var secret in new[] { TrackerWebhookSecret, ForgeWebhookSecret, Harness.PlaneToken, Harness.GitHubToken })
        {
            Assert.DoesNotContain(secret, html, StringComparison.Ordinal);
        }
    }

    private static async Task<string> SessionCookieAsync(IPage page) =>
        (await page.Context.CookiesAsync()).Single(c => c.Name == "orch_session").Value;

    /// <summary>GET <paramref name="path"/> as a page with only the given session cookie: 200 while it works, 302 to sign-in after.</summary>
    private static async Task<HttpStatusCode> ReplayAsync(Harness h, string sessionCookie, string path)
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = h.HostUrl };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Cookie", "orch_session=" + sessionCookie);
        request.Headers.Accept.ParseAdd("text/html");
        using var response = await client.SendAsync(request);
        if (response.StatusCode == HttpStatusCode.Redirect)
        {
            Assert.StartsWith("/login?returnUrl=", response.Headers.Location?.OriginalString, StringComparison.Ordinal);
        }

        return response.StatusCode;
    }
}

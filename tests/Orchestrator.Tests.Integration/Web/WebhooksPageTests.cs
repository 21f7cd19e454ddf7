using System.Net;
using System.Security.Cryptography;
using System.Text;
using AngleSharp.Dom;
using AngleSharp.Html.Dom;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Functions.Web;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Projects;
using Orchestrator.Tests.Integration.EndToEnd;

namespace Orchestrator.Tests.Integration.Web;

/// <summary>Issue #9 §2.2: <c>/p/{slug}/webhooks</c> — the URLs to paste, "Validate forge webhooks" against the GitHub and Gitea simulators, "Set up Asana webhooks", health, roles.</summary>
public sealed class WebhooksPageTests
{
    private const string Slug = "gh";
    private const string ApiRepo = "acme/api";
    private const string ForgeSecret = "gh-project-forge-webhook-secret-0123456789";

    [Fact]
    public async Task The_page_shows_absolute_urls_from_the_request_or_ORCH_PUBLIC_URL_with_events_and_which_secret_signs()
    {
        await using (var h = await StartGitHubProjectAsync())
        {
            using var admin = await WebAccessTests.InitAdminAsync(h);
            var (status, page, _) = await admin.GetAsync($"/p/{Slug}/webhooks");
            Assert.Equal(HttpStatusCode.OK, status);
            var copies = page.QuerySelectorAll("[data-copy]").Select(b => b.GetAttribute("data-copy")).ToList();
            Assert.Contains($"{h.HostUrl}webhooks/github/{Slug}", copies);
            Assert.Contains($"{h.HostUrl}webhooks/plane/{Slug}", copies);
            var text = page.Body!.TextContent;
            Assert.Contains("pull_request, check_suite, workflow_run", text);
            Assert.Contains("application/json", text);
            Assert.Contains("the project's forge_webhook_secret", text);
            Assert.Contains("••••6789", text);
            Assert.Contains("ORCH_PLANE_WEBHOOK_SECRET", text); // the Plane side falls back to the host-wide secret
            Assert.DoesNotContain(ForgeSecret, page.Body.InnerHtml);
            Assert.NotNull(page.QuerySelector("form[action*='handler=Forge']"));
            Assert.Null(page.QuerySelector("form[action*='handler=Asana']"));
            Assert.Equal("webhooks", page.QuerySelector("nav.tabs a[aria-current=page]")?.GetAttribute("href")?.Split('/')[^1]);
        }

        await using (var h = await StartGitHubProjectAsync(s => s["PUBLIC_URL"] = "https://203.0.113.7/base/"))
        {
            using var admin = await WebAccessTests.InitAdminAsync(h);
            var (_, page, _) = await admin.GetAsync($"/p/{Slug}/webhooks");
            var copies = page.QuerySelectorAll("[data-copy]").Select(b => b.GetAttribute("data-copy")).ToList();
            Assert.Contains("https://203.0.113.7/base/webhooks/github/gh", copies);
            Assert.Contains("https://203.0.113.7/base/webhooks/plane/gh", copies);

            // The target obeys the outbound policy (the tests allow loopback only): nothing is sent to the forge.
            var (refused, result, _) = await admin.SubmitAsync($"/p/{Slug}/webhooks", new Dictionary<string, string>(), "handler=Forge");
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused);
            Assert.Contains("refused by the outbound policy", result.Body!.TextContent);
            Assert.DoesNotContain(h.GitHub.Host.Requests, r => r.PathAndQuery.Contains("/hooks", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Validate_forge_webhooks_creates_a_missing_github_hook_and_fixes_one_with_wrong_events_then_finds_both_ok()
    {
        await using var h = await StartGitHubProjectAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var target = new Uri($"{h.HostUrl}webhooks/github/{Slug}");
        var other = h.GitHub.AddRepositoryHook(Harness.Repo, new Uri("https://ci.example.com/hook"), ["push"], secret: "someone-else's");
        var wrong = h.GitHub.AddRepositoryHook(ApiRepo, target, ["push"], contentType: "form");
        var stale = h.GitHub.AddRepositoryHook(Harness.Repo, new Uri($"https://old-address.example.com/webhooks/github/{Slug}"), WebhookTargets.GitHubEvents, secret: ForgeSecret);

        var (status, page, _) = await admin.SubmitAsync($"/p/{Slug}/webhooks", new Dictionary<string, string>(), "handler=Forge");
        Assert.Equal(HttpStatusCode.OK, status);
        var rows = ResultRows(page);
        Assert.Equal(("missing", "created"), rows[Harness.Repo]);
        Assert.Equal(("wrong", "fixed"), rows[ApiRepo]);
        Assert.Contains("events lack pull_request, check_suite, workflow_run", page.Body!.TextContent);
        Assert.Contains("content type is form", page.Body.TextContent);
        Assert.Contains($"on another address: hook {stale} (https://old-address.example.com/webhooks/github/{Slug})", page.Body.TextContent);

        // Exactly our URL, secret and events; the other integration's hook is untouched.
        var hooks = h.GitHub.RepositoryHooks(Harness.Repo);
        Assert.Equal(3, hooks.Count);
        Assert.Equal((other, "https://ci.example.com/hook", "someone-else's"), (hooks[0].Id, hooks[0].Url, hooks[0].Secret));
        Assert.Equal((stale, $"https://old-address.example.com/webhooks/github/{Slug}"), (hooks[1].Id, hooks[1].Url));
        var created = hooks[2];
        Assert.Equal((target.AbsoluteUri, "json", ForgeSecret, true), (created.Url, created.ContentType, created.Secret, created.Active));
        Assert.Equal(WebhookTargets.GitHubEvents, created.Events);
        var fixedHook = Assert.Single(h.GitHub.RepositoryHooks(ApiRepo));
        Assert.Equal((wrong, target.AbsoluteUri, "json", ForgeSecret, true), (fixedHook.Id, fixedHook.Url, fixedHook.ContentType, fixedHook.Secret, fixedHook.Active));
        Assert.Equal(new[] { "push" }.Concat(WebhookTargets.GitHubEvents), fixedHook.Events);

        // The hook ids are stored for the redelivery sweeper.
        var stored = await h.App.Services.GetRequiredService<ProjectStore>().GetAsync(Slug);
        Assert.Equal(new Dictionary<string, long> { [Harness.Repo] = created.Id, [ApiRepo] = wrong }, stored!.Definition.Forge.HookIds);
        Assert.Contains("forge.hook_ids", page.Body.TextContent);

        var (_, again, _) = await admin.SubmitAsync($"/p/{Slug}/webhooks", new Dictionary<string, string>(), "handler=Forge");
        Assert.All(ResultRows(again).Values, r => Assert.Equal(("ok", "none"), r));
        Assert.Equal(3, h.GitHub.RepositoryHooks(Harness.Repo).Count);
        Assert.Equal(stored.Version, (await h.App.Services.GetRequiredService<ProjectStore>().GetAsync(Slug))!.Version);
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task A_github_token_without_hook_permission_gets_the_add_it_by_hand_message_with_the_values_to_paste()
    {
        await using var h = await StartGitHubProjectAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        foreach (var denied in new[] { 403, 404 })
        {
            h.GitHub.HookAccessDenied = denied;
            var (status, page, _) = await admin.SubmitAsync($"/p/{Slug}/webhooks", new Dictionary<string, string>(), "handler=Forge");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.All(ResultRows(page).Values, r => Assert.Equal(("unknown", "add it by hand"), r));
            Assert.Contains("The token may not manage hooks: add it by hand", page.Body!.TextContent);
            Assert.NotNull(page.QuerySelector("#forge-values [data-copy='" + $"{h.HostUrl}webhooks/github/{Slug}" + "']"));
            Assert.NotNull(page.QuerySelector("a[href='#forge-values']"));
        }

        Assert.Empty(h.GitHub.RepositoryHooks(Harness.Repo));
        Assert.Null((await h.App.Services.GetRequiredService<ProjectStore>().GetAsync(Slug))!.Definition.Forge.HookIds);
        h.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Validate_forge_webhooks_on_gitea_creates_fixes_reports_missing_permission_and_the_health_table_counts()
    {
        await using var world = await GiteaProject.StartAsync(s => s["INIT_ADMIN_TOKEN"] = WebAccessTests.InitToken);
        var h = world.H;
        world.Gitea.AddRepository(ApiRepo);
        var store = h.App.Services.GetRequiredService<ProjectStore>();
        var gt = (await store.GetAsync(GiteaProject.Slug))!;
        await store.UpdateAsync(GiteaProject.Slug, gt.Definition with { Forge = gt.Definition.Forge with { Repos = [Harness.Repo, ApiRepo] } }, null, gt.Version);
        var target = new Uri($"{h.HostUrl}webhooks/gitea/{GiteaProject.Slug}");
        var wrong = world.Gitea.AddRepositoryHook(ApiRepo, target, ["push"], active: false, secret: GiteaProject.WebhookSecret);
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var path = $"/p/{GiteaProject.Slug}/webhooks";

        var (status, page, _) = await admin.SubmitAsync(path, new Dictionary<string, string>(), "handler=Forge");
        Assert.Equal(HttpStatusCode.OK, status);
        var rows = ResultRows(page);
        Assert.Equal(("missing", "created"), rows[Harness.Repo]);
        Assert.Equal(("wrong", "fixed"), rows[ApiRepo]);
        var created = Assert.Single(world.Gitea.RepositoryHooks(Harness.Repo));
        Assert.Equal(("gitea", target.AbsoluteUri, "json", GiteaProject.WebhookSecret, true), (created.Type, created.Url, created.ContentType, created.Secret, created.Active));
        Assert.Contains("status", created.Events);
        Assert.Contains("pull_request_sync", created.Events); // Gitea expands pull_request; we asked for pull_request and status only
        var fixedHook = Assert.Single(world.Gitea.RepositoryHooks(ApiRepo));
        Assert.Equal((wrong, true, GiteaProject.WebhookSecret), (fixedHook.Id, fixedHook.Active, fixedHook.Secret));
        Assert.Contains("push", fixedHook.Events);
        Assert.Contains("status", fixedHook.Events);
        Assert.Contains("pull_request", fixedHook.Events);
        Assert.Contains("Gitea does not show a hook's secret", page.Body!.TextContent);
        Assert.Null((await store.GetAsync(GiteaProject.Slug))!.Definition.Forge.HookIds); // the redelivery sweeper is GitHub's

        var (_, again, _) = await admin.SubmitAsync(path, new Dictionary<string, string>(), "handler=Forge");
        Assert.All(ResultRows(again).Values, r => Assert.Equal(("ok", "none"), r));

        world.Gitea.HookAccessDenied = 403;
        var (_, denied, _) = await admin.SubmitAsync(path, new Dictionary<string, string>(), "handler=Forge");
        Assert.All(ResultRows(denied).Values, r => Assert.Equal(("unknown", "add it by hand"), r));
        Assert.Contains("The token may not manage hooks: add it by hand", denied.Body!.TextContent);
        world.Gitea.HookAccessDenied = null;

        // Health: a stored delivery and a refused one show in the table.
        var body = Encoding.UTF8.GetBytes("""{"zen":"health"}""");
        Assert.Equal(HttpStatusCode.Accepted, await PostGiteaAsync(h, body, GiteaProject.WebhookSecret));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostGiteaAsync(h, body, "a-stale-secret"));
        IElement? giteaRow = null;
        await Harness.EventuallyAsync(async () =>
        {
            var (_, health, _) = await admin.GetAsync(path);
            giteaRow = health.QuerySelectorAll("section[aria-labelledby=health] tbody tr").FirstOrDefault(r => r.QuerySelector("td")?.TextContent == "gitea");
            return giteaRow?.QuerySelector("td[data-label='Refused signatures']")?.TextContent.Trim() == "1";
        }, "the refused delivery in the health table", seconds: 10);
        Assert.Equal("1", giteaRow!.QuerySelector("td[data-label='Deliveries (24 h)']")!.TextContent.Trim());
        Assert.DoesNotContain("never", giteaRow.QuerySelector("td[data-label='Last delivery']")!.TextContent);
        world.AssertNoUnexpectedRequests();
    }

    [Fact]
    public async Task Set_up_asana_webhooks_from_the_page_creates_them_with_the_handshake_then_reports_exists_and_the_heartbeat()
    {
        await using var world = await AsanaWorld.StartAsync(connectWebhook: false);
        var h = world.H;
        await h.App.Services.GetRequiredService<AccountStore>().CreateUserAsync("root", WebAccessTests.AdminPassword, isHostAdmin: true);
        using var admin = await WebAccessTests.SignInAsync(h, "root", WebAccessTests.AdminPassword);
        var path = $"/p/{AsanaWorld.Slug}/webhooks";
        var (_, before, _) = await admin.GetAsync(path);
        Assert.Contains("not set up", before.Body!.TextContent);
        Assert.Contains($"{h.HostUrl}webhooks/asana/{AsanaWorld.Slug}?resource={world.ProjectGid}", before.QuerySelectorAll("[data-copy]").Select(b => b.GetAttribute("data-copy")));

        var (status, page, _) = await admin.SubmitAsync(path, new Dictionary<string, string>(), "handler=Asana");
        Assert.Equal(HttpStatusCode.OK, status);
        var result = page.QuerySelector("section[aria-labelledby=asana-results] li")!.TextContent;
        Assert.Contains("created", result);
        Assert.Contains(world.ProjectGid, result);
        var webhook = Assert.Single(world.Asana.Webhooks);
        Assert.Equal($"{h.HostUrl}webhooks/asana/{AsanaWorld.Slug}?resource={world.ProjectGid}", webhook.Target.AbsoluteUri);
        Assert.NotNull(await world.Store.GetAsanaWebhookSecretAsync(AsanaWorld.Slug, world.ProjectGid));

        var (_, again, _) = await admin.SubmitAsync(path, new Dictionary<string, string>(), "handler=Asana");
        Assert.Contains("exists", again.QuerySelector("section[aria-labelledby=asana-results] li")!.TextContent);
        Assert.Single(world.Asana.Webhooks);

        await world.Asana.SendHeartbeatAsync();
        var (_, after, _) = await admin.GetAsync(path);
        var asanaRow = after.QuerySelectorAll("section[aria-labelledby=health] tbody tr").Single(r => r.QuerySelector("td")?.TextContent == "asana");
        Assert.DoesNotContain("never", asanaRow.QuerySelector("td[data-label='Heartbeat']")!.TextContent);
        Assert.Contains("last heartbeat 2", after.Body!.TextContent);
        await world.AssertCleanAsync();
    }

    [Fact]
    public async Task Viewers_read_the_page_but_only_admins_act_and_non_members_get_404()
    {
        await using var h = await StartGitHubProjectAsync();
        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        var viewer = await accounts.CreateUserAsync("vera", "vera's long password");
        var editor = await accounts.CreateUserAsync("ed", "ed's long password!");
        await accounts.CreateUserAsync("nina", "nina's long password");
        await accounts.SetMembershipAsync(viewer.Id, Slug, ProjectRole.Viewer);
        await accounts.SetMembershipAsync(editor.Id, Slug, ProjectRole.Editor);
        using var asViewer = await WebAccessTests.SignInAsync(h, "vera", "vera's long password");
        using var asEditor = await WebAccessTests.SignInAsync(h, "ed", "ed's long password!");
        using var stranger = await WebAccessTests.SignInAsync(h, "nina", "nina's long password");
        var path = $"/p/{Slug}/webhooks";

        var (status, page, _) = await asViewer.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains($"{h.HostUrl}webhooks/github/{Slug}", page.QuerySelectorAll("[data-copy]").Select(b => b.GetAttribute("data-copy")));
        Assert.Null(page.QuerySelector("form[action*='handler=Forge']"));

        foreach (var browser in new[] { asViewer, asEditor })
        {
            var token = await browser.CsrfTokenAsync(path);
            var (posted, _, _) = await browser.PostAsync($"{path}?handler=Forge", new Dictionary<string, string> { ["__RequestVerificationToken"] = token });
            Assert.Equal(HttpStatusCode.Forbidden, posted);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync(path)).Status);
        var strangerToken = await stranger.CsrfTokenAsync("/account");
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.PostAsync($"{path}?handler=Forge", new Dictionary<string, string> { ["__RequestVerificationToken"] = strangerToken })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await asViewer.GetAsync("/p/no-such-project/webhooks")).Status);
        using var anonymous = new Browserless(h.HostUrl);
        var (anon, _, anonResponse) = await anonymous.GetAsync(path);
        Assert.Equal(HttpStatusCode.Redirect, anon);
        Assert.StartsWith("/login?returnUrl=", anonResponse.Headers.Location!.OriginalString, StringComparison.Ordinal);
        Assert.DoesNotContain(h.GitHub.Host.Requests, r => r.PathAndQuery.Contains("/hooks", StringComparison.Ordinal));
    }

    /// <summary>The harness plus the project <c>gh</c>: Plane (host-wide) → GitHub (the simulator as its own base URL, two repos, its own token and webhook secret).</summary>
    internal static async Task<Harness> StartGitHubProjectAsync(Action<Dictionary<string, string?>>? tweak = null)
    {
        var h = await WebAccessTests.StartAsync(tweak);
        h.GitHub.AddRepository(ApiRepo);
        var planeProjectId = Guid.NewGuid().ToString();
        h.Plane.AddProject(planeProjectId, "GH");
        await h.App.Services.GetRequiredService<ProjectStore>().CreateAsync(
            new ProjectDefinition
            {
                Slug = Slug,
                Name = "GitHub webshop",
                WorkItemPrefix = "GH",
                Tracker = new TrackerConfig { Kind = TrackerConfig.Plane, ProjectIds = [planeProjectId] },
                Forge = new ForgeConfig { Kind = ForgeConfig.GitHub, BaseUrl = h.GitHub.BaseUrl, Repos = [Harness.Repo, ApiRepo] },
            },
            new Dictionary<string, string?>
            {
                [ProjectSecretNames.ForgeToken] = Harness.GitHubToken,
                [ProjectSecretNames.ForgeWebhookSecret] = ForgeSecret,
            });
        return h;
    }

    /// <summary>Repository → (found, done) of the forge results table.</summary>
    private static Dictionary<string, (string Finding, string Action)> ResultRows(IHtmlDocument page) =>
        page.QuerySelectorAll("section[aria-labelledby=forge-results] tbody tr").ToDictionary(
            r => r.QuerySelector("td[data-label=Repository]")!.TextContent.Trim(),
            r => (r.QuerySelector("td[data-label=Found]")!.TextContent.Trim(), r.QuerySelector("td[data-label=Done]")!.TextContent.Trim()));

    private static async Task<HttpStatusCode> PostGiteaAsync(Harness h, byte[] body, string secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"webhooks/gitea/{GiteaProject.Slug}") { Content = new ByteArrayContent(body) };
        request.Headers.Add("X-Gitea-Signature", Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)));
        request.Headers.Add("X-Gitea-Delivery", Guid.NewGuid().ToString());
        request.Headers.Add("X-Gitea-Event", "ping");
        using var response = await h.Anonymous.SendAsync(request);
        return response.StatusCode;
    }
}

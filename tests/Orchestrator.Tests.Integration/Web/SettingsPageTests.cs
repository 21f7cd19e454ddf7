using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AngleSharp.Html.Dom;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Functions.Web;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Projects;
using Orchestrator.Tests.Integration.EndToEnd;
using static Orchestrator.Tests.Integration.Web.SettingsForms;

namespace Orchestrator.Tests.Integration.Web;

/// <summary>Issue #9 §2, <c>/p/{slug}/settings</c>: saving, validation next to the fields, the URL/token rule, masked secrets, stale versions and who may see the page.</summary>
public sealed class SettingsPageTests
{
    private const string OwnTrackerToken = "plane-own-tracker-token-0123456789";
    private const string OwnForgeToken = "ghp_own_forge_token_abcdefghijklmnop";
    private const string OwnForgeSecret = "own-forge-webhook-secret-0123456789";

    [Fact]
    public async Task An_admin_edits_name_repos_default_repo_mode_and_budget_and_it_is_stored()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var store = h.App.Services.GetRequiredService<ProjectStore>();
        var before = (await store.GetAsync("web"))!;

        var (status, _, response) = await SubmitAsync(admin, "/p/web/settings", "connection", new Dictionary<string, string>
        {
            ["Input.Name"] = "Web shop",
            ["Input.Repos"] = "acme/webshop\nacme/api",
            ["Input.DefaultRepo"] = "acme/api",
            ["Input.Mode"] = "run",
            ["Extra.BudgetUsd"] = "12.50",
        });

        Assert.Equal(HttpStatusCode.Redirect, status);
        Assert.Equal("/p/web/settings", response.Headers.Location?.OriginalString);
        var after = (await store.GetAsync("web"))!;
        Assert.Equal(before.Version + 1, after.Version);
        Assert.Equal("Web shop", after.Definition.Name);
        Assert.Equal(["acme/webshop", "acme/api"], after.Definition.Forge.Repos);
        Assert.Equal("acme/api", after.Definition.Forge.DefaultRepo);
        Assert.Equal("run", after.Definition.Mode);
        Assert.Equal(12.50m, after.Definition.BudgetUsd);

        // What the form does not show is kept: tracker project, prefix, status rules, CI.
        Assert.Equal(before.Definition.Tracker.ProjectIds, after.Definition.Tracker.ProjectIds);
        Assert.Equal(before.Definition.WorkItemPrefix, after.Definition.WorkItemPrefix);
        Assert.Equal(before.Definition.Tracker.Status.Cancelled, after.Definition.Tracker.Status.Cancelled);
        Assert.Equal(before.Definition.RequireCi, after.Definition.RequireCi);

        var (_, page, _) = await admin.GetAsync("/p/web/settings");
        Assert.Contains("Settings saved (version", page.QuerySelector(".flash")!.TextContent);
        Assert.Equal("Web shop", ValueOf(page, "Input_Name"));
        Assert.Equal("12.50", ValueOf(page, "Extra_BudgetUsd"));
        Assert.Contains(h.Logs.Lines, l => l.Contains(AuditLog.Category) && l.Contains("settings.saved in web by admin") && l.Contains("budget_usd") && l.Contains("forge.repos") && l.Contains("name"));
    }

    [Fact]
    public async Task The_agent_and_model_overrides_are_checked_against_ORCH_AGENTS_JSON_and_stored()
    {
        await using var h = await WebAccessTests.StartAsync(s => s["AGENTS_JSON"] = """
            [{"name": "claude", "kind": "claude-code", "model": "sonnet"}, {"name": "codex", "kind": "codex"}]
            """);
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var store = h.App.Services.GetRequiredService<ProjectStore>();

        var (_, page, _) = await admin.GetAsync("/p/web/settings");
        Assert.Equal(["", "claude", "codex"], page.QuerySelectorAll("#Extra_Agent option").Select(o => o.GetAttribute("value")));
        var fields = FieldsOf(Form(page, "connection"));
        Assert.Equal(["claude", "codex"], fields.Where(f => f.Key.StartsWith("Extra.AgentNames[", StringComparison.Ordinal)).Select(f => f.Value));

        var (saved, _, _) = await PostAsync(admin, "/p/web/settings", fields, new Dictionary<string, string>
        {
            ["Input.Mode"] = "run", ["Extra.Agent"] = "codex", ["Extra.AgentModels[0]"] = "opus",
        });
        Assert.Equal(HttpStatusCode.Redirect, saved);
        var project = (await store.GetAsync("web"))!.Definition;
        Assert.Equal("codex", project.Agent);
        Assert.Equal("opus", Assert.Single(project.Agents!).Value.Model);
        Assert.Equal("claude", project.Agents!.Keys.Single());

        // An agent the host does not define is refused next to the field, in any mode.
        var (bad, badPage, _) = await SubmitAsync(admin, "/p/web/settings", "connection", new Dictionary<string, string> { ["Input.Mode"] = "dispatch", ["Extra.Agent"] = "gemini" });
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Contains("'gemini' is not an agent of ORCH_AGENTS_JSON (known: claude, codex)", ErrorNextTo(badPage, "Extra_Agent"));

        // Clearing the model drops the override (nothing else was in it).
        var (cleared, _, _) = await SubmitAsync(admin, "/p/web/settings", "connection", new Dictionary<string, string> { ["Extra.AgentModels[0]"] = "" });
        Assert.Equal(HttpStatusCode.Redirect, cleared);
        Assert.Null((await store.GetAsync("web"))!.Definition.Agents);
        Assert.Equal("codex", (await store.GetAsync("web"))!.Definition.Agent);
    }

    [Fact]
    public async Task Invalid_values_are_reported_next_to_their_fields_and_nothing_is_written()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var store = h.App.Services.GetRequiredService<ProjectStore>();
        var before = (await store.GetAsync("web"))!;

        var (status, page, _) = await SubmitAsync(admin, "/p/web/settings", "connection", new Dictionary<string, string>
        {
            ["Input.Name"] = "Should not be saved",
            ["Input.WorkItemPrefix"] = "9-bad",
            ["Input.DefaultRepo"] = "acme/elsewhere",
            ["Input.Mode"] = "sometimes",
            ["Extra.BudgetUsd"] = "lots",
            ["Extra.Agent"] = "ghost-agent",
            ["Extra.StatusValues[0]"] = "Blocked",
            ["Extra.StatusLifecycles[0]"] = "SLEEPING",
        });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("Nothing was saved", page.QuerySelector(".alert.error")!.TextContent);
        Assert.Contains("work_item_prefix", ErrorNextTo(page, "Input_WorkItemPrefix"));
        Assert.Contains("default_repo 'acme/elsewhere' is not one of repos", ErrorNextTo(page, "Input_DefaultRepo"));
        Assert.Contains("not an amount in USD", ErrorNextTo(page, "Extra_BudgetUsd"));
        Assert.Contains("'ghost-agent' is not an agent of ORCH_AGENTS_JSON", ErrorNextTo(page, "Extra_Agent"));
        Assert.Contains("choose ACTIVE, BLOCKED or CANCELLED", page.GetElementById("status")!.QuerySelector(".field-error")!.TextContent);
        Assert.Contains("mode must be dispatch or run", ErrorNextTo(page, "Input_Mode"));

        // The posted values stay in the form so they can be corrected.
        Assert.Equal("9-bad", ValueOf(page, "Input_WorkItemPrefix"));
        Assert.Equal("lots", ValueOf(page, "Extra_BudgetUsd"));

        var after = (await store.GetAsync("web"))!;
        Assert.Equal(before.Version, after.Version);
        Assert.Equal(before.Definition, after.Definition);

        // A negative budget is the definition's own rule, reported next to the budget.
        var (negative, negativePage, _) = await SubmitAsync(admin, "/p/web/settings", "connection", new Dictionary<string, string> { ["Extra.BudgetUsd"] = "-5" });
        Assert.Equal(HttpStatusCode.BadRequest, negative);
        Assert.Contains("budget_usd must be ≥ 0", ErrorNextTo(negativePage, "Extra_BudgetUsd"));
        Assert.Equal(before.Version, (await store.GetAsync("web"))!.Version);
        Assert.DoesNotContain(h.Logs.Lines, l => l.Contains("settings.saved"));
    }

    [Fact]
    public async Task A_url_change_without_its_token_is_refused_next_to_the_token_and_secrets_are_never_rendered()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        await CreateShopAsync(h);
        var store = h.App.Services.GetRequiredService<ProjectStore>();
        var before = (await store.GetAsync("shop"))!;

        var (_, html) = await RawAsync(admin, "/p/shop/settings");
        Assert.DoesNotContain(OwnTrackerToken, html, StringComparison.Ordinal);
        Assert.DoesNotContain(OwnForgeToken, html, StringComparison.Ordinal);
        Assert.DoesNotContain(OwnForgeSecret, html, StringComparison.Ordinal);
        Assert.Contains(SecretProtector.Mask(OwnTrackerToken)!, Text(html), StringComparison.Ordinal);
        Assert.Contains(SecretProtector.Mask(OwnForgeToken)!, Text(html), StringComparison.Ordinal);

        var moved = "http://127.0.0.1:1/";
        var (status, page, _) = await SubmitAsync(admin, "/p/shop/settings", "connection", new Dictionary<string, string> { ["Input.TrackerBaseUrl"] = moved });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        var error = ErrorNextTo(page, "Input_TrackerToken");
        Assert.Contains("secrets.tracker_token: tracker.base_url changed to http://127.0.0.1:1/", error);
        Assert.Contains("re-enter the token for the new URL", error);
        Assert.DoesNotContain(OwnTrackerToken, page.Source.Text, StringComparison.Ordinal);
        Assert.Equal(before.Version, (await store.GetAsync("shop"))!.Version);

        // With the token given again it is saved, and the new token is not shown either.
        const string newToken = "plane-token-for-the-new-url-9876";
        var (saved, _, _) = await SubmitAsync(admin, "/p/shop/settings", "connection", new Dictionary<string, string> { ["Input.TrackerBaseUrl"] = moved, ["Input.TrackerToken"] = newToken });
        Assert.Equal(HttpStatusCode.Redirect, saved);
        var after = (await store.GetAsync("shop"))!;
        Assert.Equal(new Uri(moved), after.Definition.Tracker.BaseUrl);
        Assert.Equal(newToken, after.Secret(ProjectSecretNames.TrackerToken));
        Assert.Equal(OwnForgeToken, after.Secret(ProjectSecretNames.ForgeToken));
        var (_, again) = await RawAsync(admin, "/p/shop/settings");
        Assert.DoesNotContain(newToken, again, StringComparison.Ordinal);
        Assert.Contains(SecretProtector.Mask(newToken)!, Text(again), StringComparison.Ordinal);

        // "Remove the stored secret" removes it; the audit names the secrets, never their values.
        var (removed, _, _) = await SubmitAsync(admin, "/p/shop/settings", "connection", new Dictionary<string, string> { ["Input.RemoveForgeWebhookSecret"] = "true" });
        Assert.Equal(HttpStatusCode.Redirect, removed);
        Assert.Null((await store.GetAsync("shop"))!.Secret(ProjectSecretNames.ForgeWebhookSecret));
        Assert.Contains(h.Logs.Lines, l => l.Contains("settings.saved in shop") && l.Contains("secrets set: tracker_token"));
        Assert.Contains(h.Logs.Lines, l => l.Contains("settings.saved in shop") && l.Contains("secrets removed: forge_webhook_secret"));
        foreach (var secret in new[] { OwnTrackerToken, OwnForgeToken, OwnForgeSecret, newToken })
        {
            Assert.DoesNotContain(h.Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_stale_version_is_refused_with_the_current_values_shown()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var store = h.App.Services.GetRequiredService<ProjectStore>();
        var (_, page, _) = await admin.GetAsync("/p/web/settings");
        var form = Form(page, "connection");
        var fields = FieldsOf(form);
        var readVersion = long.Parse(fields.Single(f => f.Key == "Extra.Version").Value);

        // Someone else saves in between (through the API).
        var web = JsonNode.Parse(await h.Api.GetStringAsync("api/projects/web"))!.AsObject();
        web["name"] = "Renamed through the API";
        using (var put = await h.Api.PutAsync("api/projects/web", new StringContent(web.ToJsonString(), Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        var (status, conflict, _) = await PostAsync(admin, "/p/web/settings", fields, new Dictionary<string, string> { ["Input.Name"] = "My stale edit" });

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("The project changed meanwhile", conflict.QuerySelector(".alert.error")!.TextContent);
        Assert.Equal("Renamed through the API", ValueOf(conflict, "Input_Name"));
        var shownVersion = ((IHtmlInputElement)conflict.QuerySelector("input[name='Extra.Version']")!).Value;
        Assert.Equal((readVersion + 1).ToString(), shownVersion);
        var stored = (await store.GetAsync("web"))!;
        Assert.Equal("Renamed through the API", stored.Definition.Name);
        Assert.Equal(readVersion + 1, stored.Version);

        // The other conflict, a tracker project that belongs to another project, is reported next to the tracker projects.
        await CreateShopAsync(h);
        var shopVersion = (await store.GetAsync("shop"))!.Version;
        var (taken, takenPage, _) = await SubmitAsync(admin, "/p/shop/settings", "connection", new Dictionary<string, string> { ["Input.TrackerProjectIds"] = h.ProjectId });
        Assert.Equal(HttpStatusCode.Conflict, taken);
        Assert.Contains($"{h.ProjectId} already belongs to project 'web'", ErrorNextTo(takenPage, "Input_TrackerProjectIds"));
        Assert.DoesNotContain("changed meanwhile", takenPage.Body!.TextContent, StringComparison.Ordinal);
        Assert.Equal(shopVersion, (await store.GetAsync("shop"))!.Version);
    }

    [Fact]
    public async Task Viewers_and_editors_get_403_on_get_and_post_and_non_members_404()
    {
        await using var h = await WebAccessTests.StartAsync();
        using (await WebAccessTests.InitAdminAsync(h))
        {
        }

        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        var viewer = await accounts.CreateUserAsync("victor", "victor's long password");
        var editor = await accounts.CreateUserAsync("edith", "edith's long password");
        await accounts.CreateUserAsync("nora", "nora's long password");
        await accounts.SetMembershipAsync(viewer.Id, "web", ProjectRole.Viewer);
        await accounts.SetMembershipAsync(editor.Id, "web", ProjectRole.Editor);
        var version = (await h.App.Services.GetRequiredService<ProjectStore>().GetAsync("web"))!.Version;

        foreach (var (name, password, expected) in new[]
        {
            ("victor", "victor's long password", HttpStatusCode.Forbidden),
            ("edith", "edith's long password", HttpStatusCode.Forbidden),
            ("nora", "nora's long password", HttpStatusCode.NotFound),
        })
        {
            using var browser = await WebAccessTests.SignInAsync(h, name, password);
            var token = await browser.CsrfTokenAsync("/account");
            foreach (var path in new[] { "/p/web/settings", "/p/web/api" })
            {
                Assert.Equal(expected, (await browser.GetAsync(path)).Status);
                Assert.Equal(expected, (await browser.GetAsync(path + "?asana=fields")).Status);
                var form = new Dictionary<string, string> { ["__RequestVerificationToken"] = token, ["Input.Name"] = "taken over", ["Extra.Version"] = version.ToString() };
                Assert.Equal(expected, (await browser.PostAsync(path, form)).Status);
                Assert.Equal(expected, (await browser.PostAsync(path + "?handler=Invite", new Dictionary<string, string>(form) { ["inviteRole"] = "admin" })).Status);
                Assert.Equal(expected, (await browser.PostAsync(path + "?handler=Create", new Dictionary<string, string>(form) { ["TokenName"] = "x", ["TokenRole"] = "admin" })).Status);
            }
        }

        Assert.Equal(version, (await h.App.Services.GetRequiredService<ProjectStore>().GetAsync("web"))!.Version);
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM invites"));
        Assert.Equal(0L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM api_tokens"));
    }

    /// <summary>A Plane → GitHub project with its own URLs and tokens, created through the API.</summary>
    internal static async Task CreateShopAsync(Harness h)
    {
        var body = new JsonObject
        {
            ["slug"] = "shop", ["name"] = "Shop", ["work_item_prefix"] = "SHOP",
            ["tracker"] = new JsonObject { ["kind"] = "plane", ["base_url"] = h.Plane.BaseUrl.ToString(), ["workspace"] = Harness.Workspace, ["project_ids"] = new JsonArray(Guid.NewGuid().ToString()) },
            ["forge"] = new JsonObject { ["kind"] = "github", ["base_url"] = h.GitHub.BaseUrl.ToString(), ["repos"] = new JsonArray(Harness.Repo) },
            ["secrets"] = new JsonObject { ["tracker_token"] = OwnTrackerToken, ["forge_token"] = OwnForgeToken, ["forge_webhook_secret"] = OwnForgeSecret },
        };
        using var created = await h.Api.PostAsync("api/projects", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    private static string Text(string html) => new AngleSharp.Html.Parser.HtmlParser().ParseDocument(html).Body!.TextContent;

    internal static async Task<(HttpStatusCode Status, string Html)> RawAsync(Browserless browser, string path)
    {
        using var response = await browser.Http.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}

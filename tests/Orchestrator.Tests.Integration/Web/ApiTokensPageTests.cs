using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Functions.Web;
using Orchestrator.Shared.Accounts;
using Orchestrator.Tests.Integration.EndToEnd;
using static Orchestrator.Tests.Integration.Web.SettingsForms;

namespace Orchestrator.Tests.Integration.Web;

/// <summary>Issue #9 §2, <c>/p/{slug}/api</c>: project API tokens shown once, working as bearer tokens until revoked; curl examples without any token.</summary>
public sealed class ApiTokensPageTests
{
    [Fact]
    public async Task A_created_token_is_shown_once_works_as_bearer_and_gets_401_once_revoked()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);

        var (status, page, _) = await SubmitAsync(admin, "/p/web/api", "handler=Create", new Dictionary<string, string> { ["TokenName"] = "deploy script", ["TokenRole"] = "viewer" });
        Assert.Equal(HttpStatusCode.OK, status);
        var token = page.GetElementById("new-token")!.TextContent.Trim();
        Assert.StartsWith(AccountTokens.ApiTokenPrefix, token);
        Assert.Equal(token, page.QuerySelector("button[data-copy]")!.GetAttribute("data-copy"));

        using var script = new HttpClient { BaseAddress = h.HostUrl };
        script.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using (var project = await script.GetAsync("api/projects/web"))
        {
            Assert.Equal(HttpStatusCode.OK, project.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Forbidden, (await script.PostAsync("api/projects/web/sync", null)).StatusCode); // a viewer

        // Shown once: the list has the prefix only, and no later page carries the whole token.
        var (_, html) = await SettingsPageTests.RawAsync(admin, "/p/web/api");
        Assert.DoesNotContain(token, html, StringComparison.Ordinal);
        var (_, list, _) = await admin.GetAsync("/p/web/api");
        var row = list.QuerySelector("tr[data-token]")!;
        Assert.Contains(token[..12] + "…", row.TextContent);
        Assert.Contains("deploy script", row.TextContent);
        Assert.Contains("viewer", row.TextContent);
        Assert.Contains("by admin", row.TextContent);
        Assert.DoesNotContain("never", row.QuerySelector("td[data-label='Last used']")!.TextContent); // it was used above
        Assert.Equal("active", row.QuerySelector(".badge")!.TextContent);
        Assert.StartsWith("Revoke the token", row.QuerySelector("form")!.GetAttribute("data-confirm"));

        var id = row.GetAttribute("data-token")!;
        var (revoked, _, response) = await SubmitAsync(admin, "/p/web/api", $"handler=Revoke&id={id}");
        Assert.Equal(HttpStatusCode.Redirect, revoked);
        Assert.Equal("/p/web/api", response.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.Unauthorized, (await script.GetAsync("api/projects/web")).StatusCode);
        var (_, after, _) = await admin.GetAsync("/p/web/api");
        Assert.Equal("revoked", after.QuerySelector($"tr[data-token='{id}'] .badge")!.TextContent);
        Assert.Null(after.QuerySelector($"tr[data-token='{id}'] form"));

        Assert.Contains(h.Logs.Lines, l => l.Contains(AuditLog.Category) && l.Contains("token.created in web by admin") && l.Contains(token[..12]));
        Assert.Contains(h.Logs.Lines, l => l.Contains("token.revoked in web by admin") && l.Contains("'deploy script'"));
        Assert.DoesNotContain(h.Logs.Lines, l => l.Contains(token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_page_never_contains_a_full_token_and_its_examples_use_the_public_url_and_a_placeholder()
    {
        await using var h = await WebAccessTests.StartAsync(s => s["PUBLIC_URL"] = "https://orchestrator.example.com");
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        var (one, _) = await accounts.CreateApiTokenAsync("web", "ci", ProjectRole.Editor, null);
        var (two, _) = await accounts.CreateApiTokenAsync("web", "cron", ProjectRole.Admin, null);

        var (status, html) = await SettingsPageTests.RawAsync(admin, "/p/web/api");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.DoesNotContain(one, html, StringComparison.Ordinal);
        Assert.DoesNotContain(two, html, StringComparison.Ordinal);
        Assert.DoesNotContain(Harness.AdminToken, html, StringComparison.Ordinal);

        // The examples (one per /api/v1 operation: Api/ApiPageTests) use the public URL and the placeholder.
        var (_, page, _) = await admin.GetAsync("/p/web/api");
        var commands = page.QuerySelectorAll("#examples-h ~ .api-area pre code").Select(c => c.TextContent).ToList();
        Assert.Contains("curl -sS -H \"Authorization: Bearer $ORCH_TOKEN\" https://orchestrator.example.com/api/v1/projects/web", commands);
        Assert.Contains("curl -sS -X POST -H \"Authorization: Bearer $ORCH_TOKEN\" -H \"Idempotency-Key: $IDEMPOTENCY_KEY\" https://orchestrator.example.com/api/v1/projects/web/tasks/WEB-1/actions/retry", commands);
        Assert.Equal(commands, page.QuerySelectorAll("#examples-h ~ .api-area .copyable button[data-copy]").Select(b => b.GetAttribute("data-copy")!).ToList());

        // Without ORCH_PUBLIC_URL the examples use the address the page was read at.
        await using var local = await WebAccessTests.StartAsync();
        using var localAdmin = await WebAccessTests.InitAdminAsync(local);
        var (_, localPage, _) = await localAdmin.GetAsync("/p/web/api");
        Assert.Contains($"{local.HostUrl.AbsoluteUri.TrimEnd('/')}/api/v1/projects", localPage.QuerySelector(".api-area pre code")!.TextContent);

        // Invalid input is reported next to the field and creates nothing.
        var (bad, badPage, _) = await SubmitAsync(admin, "/p/web/api", "handler=Create", new Dictionary<string, string> { ["TokenName"] = " ", ["TokenRole"] = "owner" });
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Contains("Give the token a name", ErrorNextTo(badPage, "TokenName"));
        Assert.Contains("Choose viewer, editor or admin", ErrorNextTo(badPage, "TokenRole"));
        Assert.Equal(2, (await accounts.ListApiTokensAsync("web")).Count);
    }
}

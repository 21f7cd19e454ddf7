using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Functions.Web;
using Orchestrator.Shared.Accounts;
using static Orchestrator.Tests.Integration.Web.SettingsForms;

namespace Orchestrator.Tests.Integration.Web;

/// <summary>The settings screen's memberships and invites: invite → join with the role, change role, remove, the last-admin rule, invite states.</summary>
public sealed class SettingsMembersTests
{
    private const string Password = "a member's long password";

    [Fact]
    public async Task An_invite_link_is_shown_once_and_its_user_joins_with_the_role()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var accounts = h.App.Services.GetRequiredService<AccountStore>();

        var (status, page, _) = await SubmitAsync(admin, "/p/web/settings", "handler=Invite", new Dictionary<string, string> { ["inviteRole"] = "viewer" });
        Assert.Equal(HttpStatusCode.OK, status);
        var url = page.GetElementById("new-invite")!.TextContent.Trim();
        Assert.StartsWith(new Uri(h.HostUrl, "invite/").AbsoluteUri, url);
        Assert.Equal(url, page.QuerySelector("#invites button[data-copy]")!.GetAttribute("data-copy"));
        var token = url[(url.LastIndexOf('/') + 1)..];

        // Shown once: the next view of the page lists the invite without its link.
        var (_, html) = await SettingsPageTests.RawAsync(admin, "/p/web/settings");
        Assert.DoesNotContain(token, html, StringComparison.Ordinal);
        Assert.DoesNotContain(h.Logs.Lines, l => l.Contains(token, StringComparison.Ordinal));
        Assert.Contains(h.Logs.Lines, l => l.Contains(AuditLog.Category) && l.Contains("invite.created in web by admin") && l.Contains("as viewer"));

        using var invitee = new Browserless(h.HostUrl);
        var (joined, _, response) = await invitee.SubmitAsync(new Uri(url).PathAndQuery, new Dictionary<string, string>
        {
            ["Input.Username"] = "vera", ["Input.Password"] = Password, ["Input.Confirm"] = Password,
        });
        Assert.Equal(HttpStatusCode.Redirect, joined);
        Assert.Equal("/p/web", response.Headers.Location?.OriginalString);
        var vera = (await accounts.FindUserAsync("vera"))!;
        Assert.Equal(ProjectRole.Viewer, await accounts.RoleAsync(vera, "web"));

        var (_, after, _) = await admin.GetAsync("/p/web/settings");
        Assert.NotNull(after.QuerySelector("#members tr[data-user='vera']"));
        var row = after.QuerySelector("#invites tbody tr")!;
        Assert.Equal("used", row.QuerySelector(".badge")!.TextContent);
        Assert.Contains("by vera", row.TextContent);
        Assert.Null(row.QuerySelector("form"));

        // The link worked once.
        Assert.Equal(HttpStatusCode.Gone, (await new Browserless(h.HostUrl).GetAsync(new Uri(url).PathAndQuery)).Status);
    }

    [Fact]
    public async Task Roles_change_members_are_removed_and_the_last_admin_stays()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var host = await WebAccessTests.InitAdminAsync(h);
        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        var alice = await accounts.CreateUserAsync("alice", Password);
        var bob = await accounts.CreateUserAsync("bob", Password);
        await accounts.SetMembershipAsync(alice.Id, "web", ProjectRole.Admin);
        await accounts.SetMembershipAsync(bob.Id, "web", ProjectRole.Editor);
        using var asAlice = await WebAccessTests.SignInAsync(h, "alice", Password);

        async Task<(HttpStatusCode Status, AngleSharp.Html.Dom.IHtmlDocument Page, HttpResponseMessage Response)> RoleAsync(Browserless who, long userId, string role) =>
            await SubmitAsync(who, "/p/web/settings", $"handler=Role&userId={userId}", new Dictionary<string, string> { ["memberRole"] = role });
        async Task<(HttpStatusCode Status, AngleSharp.Html.Dom.IHtmlDocument Page, HttpResponseMessage Response)> RemoveAsync(Browserless who, long userId) =>
            await SubmitAsync(who, "/p/web/settings", $"handler=RemoveMember&userId={userId}");

        var (changed, _, _) = await RoleAsync(asAlice, bob.Id, "viewer");
        Assert.Equal(HttpStatusCode.Redirect, changed);
        Assert.Equal(ProjectRole.Viewer, await accounts.RoleAsync(bob, "web"));

        // Alice is the only admin: she can neither demote nor remove herself.
        var (demote, demotePage, _) = await RoleAsync(asAlice, alice.Id, "editor");
        Assert.Equal(HttpStatusCode.Conflict, demote);
        Assert.Contains("alice is the project's last admin", demotePage.QuerySelector("#members .alert.error")!.TextContent);
        var (remove, removePage, _) = await RemoveAsync(asAlice, alice.Id);
        Assert.Equal(HttpStatusCode.Conflict, remove);
        Assert.Contains("last admin", removePage.QuerySelector("#members .alert.error")!.TextContent);
        Assert.Equal(ProjectRole.Admin, await accounts.RoleAsync(alice, "web"));

        // With a second admin she may step down, and then no longer sees the page.
        Assert.Equal(HttpStatusCode.Redirect, (await RoleAsync(asAlice, bob.Id, "admin")).Status);
        var (stepDown, _, stepDownResponse) = await RoleAsync(asAlice, alice.Id, "viewer");
        Assert.Equal(HttpStatusCode.Redirect, stepDown);
        Assert.Equal("/app", stepDownResponse.Headers.Location?.OriginalString);
        Assert.Equal(ProjectRole.Viewer, await accounts.RoleAsync(alice, "web"));
        Assert.Equal(HttpStatusCode.Forbidden, (await asAlice.GetAsync("/p/web/settings")).Status);

        using var asBob = await WebAccessTests.SignInAsync(h, "bob", Password);
        Assert.Equal(HttpStatusCode.Redirect, (await RemoveAsync(asBob, alice.Id)).Status);
        Assert.Null(await accounts.RoleAsync(alice, "web"));
        Assert.Equal(HttpStatusCode.NotFound, (await asAlice.GetAsync("/p/web/settings")).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await RemoveAsync(asBob, bob.Id)).Status);

        // Host admins are admins of every project anyway: they may demote the last admin membership.
        var (hostDemotes, _, _) = await RoleAsync(host, bob.Id, "editor");
        Assert.Equal(HttpStatusCode.Redirect, hostDemotes);
        Assert.Equal(ProjectRole.Editor, await accounts.RoleAsync(bob, "web"));
        var (_, hostPage, _) = await host.GetAsync("/p/web/settings");
        Assert.Contains("Host admins are admins of every project: admin", hostPage.GetElementById("members")!.TextContent);

        Assert.Contains(h.Logs.Lines, l => l.Contains("member.role-changed in web by alice") && l.Contains("bob: editor → viewer"));
        Assert.Contains(h.Logs.Lines, l => l.Contains("member.removed in web by bob") && l.Contains("alice (was viewer)"));
        Assert.Contains(h.Logs.Lines, l => l.Contains("member.role-changed in web by admin") && l.Contains("bob: admin → editor"));
    }

    [Fact]
    public async Task Used_expired_and_open_invites_show_their_status_and_unused_ones_can_be_deleted()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        var (usedToken, used) = await accounts.CreateInviteAsync("web", ProjectRole.Editor, null);
        var (_, expired) = await accounts.CreateInviteAsync("web", ProjectRole.Viewer, null);
        var (openToken, open) = await accounts.CreateInviteAsync("web", ProjectRole.Admin, null);
        await accounts.AcceptInviteAsync(usedToken, "uma", Password);
        await h.Db.ExecuteAsync($"UPDATE invites SET expires_at = now() - interval '1 hour' WHERE id = {expired.Id}");

        var (_, page, _) = await admin.GetAsync("/p/web/settings");
        string StatusOf(long id) => page.QuerySelector($"#invites tr[data-invite='{id}'] .badge")!.TextContent;
        Assert.Equal("used", StatusOf(used.Id));
        Assert.Equal("expired", StatusOf(expired.Id));
        Assert.Equal("open", StatusOf(open.Id));
        Assert.Null(page.QuerySelector($"#invites tr[data-invite='{used.Id}'] form"));
        Assert.Equal("Delete this invite? Its link stops working.", page.QuerySelector($"#invites tr[data-invite='{open.Id}'] form")!.GetAttribute("data-confirm"));

        var (deleted, _, _) = await SubmitAsync(admin, "/p/web/settings", $"handler=DeleteInvite&id={open.Id}");
        Assert.Equal(HttpStatusCode.Redirect, deleted);
        Assert.Null(await accounts.GetInviteAsync(openToken));
        Assert.Equal(HttpStatusCode.NotFound, (await new Browserless(h.HostUrl).GetAsync($"/invite/{openToken}")).Status);
        Assert.Equal(2, (await accounts.ListInvitesAsync("web")).Count);

        // A used invite cannot be deleted (the form is not offered; a forged post changes nothing).
        var token = await admin.CsrfTokenAsync("/p/web/settings");
        Assert.Equal(HttpStatusCode.Redirect, (await admin.PostAsync($"/p/web/settings?handler=DeleteInvite&id={used.Id}", new Dictionary<string, string> { ["__RequestVerificationToken"] = token })).Status);
        Assert.Equal(2, (await accounts.ListInvitesAsync("web")).Count);
        Assert.Contains(h.Logs.Lines, l => l.Contains("invite.deleted in web by admin") && l.Contains($"invite {open.Id}"));
    }
}

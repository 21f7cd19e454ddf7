using System.Net;
using AngleSharp.Html.Dom;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Functions.Web;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Projects;
using Orchestrator.Simulators.Asana;
using Orchestrator.Tests.Integration.EndToEnd;
using static Orchestrator.Tests.Integration.Web.SettingsForms;

namespace Orchestrator.Tests.Integration.Web;

/// <summary>The settings screen's Asana tools against the Asana simulator: picking custom fields from Asana's list, and "Sync repos to the Asana Repo field".</summary>
public sealed class SettingsAsanaFieldTests
{
    private const string AdminPassword = "asana admin's long password";

    [Fact]
    public async Task Picking_custom_fields_from_the_Asana_list_saves_their_gids_as_repo_and_status_field()
    {
        await using var world = await AsanaWorld.StartAsync(connectWebhook: false);
        AttachFields(world);
        var other = world.Asana.AddEnumField("Priority", "Low", "High");
        world.Asana.AddCustomFieldSetting(world.ProjectGid, other, isImportant: false);
        using var admin = await HostAdminAsync(world.H);

        // Without asking, the page does not call Asana.
        var before = world.Asana.Host.Requests.Count;
        var (plain, plainPage, _) = await admin.GetAsync($"/p/{AsanaWorld.Slug}/settings");
        Assert.Equal(HttpStatusCode.OK, plain);
        Assert.Equal(before, world.Asana.Host.Requests.Count);
        Assert.NotNull(plainPage.QuerySelector("a[href$='?asana=fields#asana']"));

        var (status, page, _) = await admin.GetAsync($"/p/{AsanaWorld.Slug}/settings?asana=fields");
        Assert.Equal(HttpStatusCode.OK, status);
        var rows = page.QuerySelectorAll("#asana-field-list tbody tr").ToDictionary(r => r.QuerySelector("td")!.TextContent.Trim(), r => r.GetAttribute("data-gid")!);
        Assert.Equal(["AutoTask", "Repo", "Status", "Priority"], rows.Keys);
        Assert.Equal(world.Repo.Gid, rows["Repo"]);
        var offered = page.QuerySelectorAll("datalist#asana-fields option").Select(o => o.GetAttribute("value")).ToList();
        Assert.Contains(world.Repo.Gid, offered);
        Assert.Contains(world.Status.Gid, offered);
        Assert.Equal("asana-fields", page.GetElementById("Extra_RepoField")!.GetAttribute("list"));

        // The status field's options are offered for mapping; "On track" comes as ACTIVE.
        var form = Form(page, "connection");
        var fields = FieldsOf(form);
        var onTrack = fields.FindIndex(f => f.Key.StartsWith("Extra.StatusValues[", StringComparison.Ordinal) && f.Value == "On track");
        Assert.True(onTrack >= 0, "On track is not a mapping row");
        var index = fields[onTrack].Key["Extra.StatusValues[".Length..^1];
        Assert.Equal("ACTIVE", fields.Single(f => f.Key == $"Extra.StatusLifecycles[{index}]").Value);

        var (saved, _, _) = await PostAsync(admin, $"/p/{AsanaWorld.Slug}/settings", fields, new Dictionary<string, string>
        {
            ["Extra.RepoField"] = rows["Repo"],
            ["Extra.StatusField"] = rows["Status"],
            [$"Extra.StatusLifecycles[{index}]"] = "BLOCKED",
        });
        Assert.Equal(HttpStatusCode.Redirect, saved);

        var project = (await world.Store.GetAsync(AsanaWorld.Slug))!.Definition;
        Assert.Equal(world.Repo.Gid, project.Tracker.RepoField!.Field);
        Assert.Equal(world.Status.Gid, project.Tracker.Status.Field);
        Assert.Contains("On track", project.Tracker.Status.Blocked);
        Assert.Contains("Blocked", project.Tracker.Status.Blocked);
        Assert.Contains("Cancelled", project.Tracker.Status.Cancelled);
        Assert.Equal("AutoTask", project.Tracker.Trigger.Field);

        // The field is shown by name next to its gid, and the page never carries the Asana token.
        var (_, again, _) = await admin.GetAsync($"/p/{AsanaWorld.Slug}/settings?asana=fields");
        Assert.Equal(world.Repo.Gid, ValueOf(again, "Extra_RepoField"));
        Assert.Equal("Repo", again.GetElementById("Extra_RepoField")!.NextElementSibling!.TextContent.Trim());
        var (_, html) = await SettingsPageTests.RawAsync(admin, $"/p/{AsanaWorld.Slug}/settings?asana=fields");
        Assert.DoesNotContain(AsanaWorld.AsanaToken, html, StringComparison.Ordinal);
        Assert.All(world.Asana.Host.Requests.Where(r => r.PathAndQuery.Contains("custom_field_settings", StringComparison.Ordinal)),
            r => Assert.Equal($"/api/1.0/projects/{world.ProjectGid}/custom_field_settings", r.PathAndQuery.Split('?')[0]));
        Assert.Empty(world.Asana.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Sync_repos_adds_exactly_the_missing_enum_options_and_a_second_run_adds_none()
    {
        await using var world = await AsanaWorld.StartAsync(connectWebhook: false);
        AttachFields(world);
        var stored = (await world.Store.GetAsync(AsanaWorld.Slug))!;
        await world.Store.UpdateAsync(AsanaWorld.Slug, stored.Definition with
        {
            Forge = stored.Definition.Forge with { Repos = [AsanaWorld.Webshop, AsanaWorld.ApiRepo, "acme/mobile", "acme/docs"] },
        }, null, stored.Version);
        using var admin = await HostAdminAsync(world.H);

        var (first, firstPage, _) = await SubmitAsync(admin, $"/p/{AsanaWorld.Slug}/settings", "handler=SyncRepos");
        Assert.Equal(HttpStatusCode.OK, first);
        var report = firstPage.QuerySelector("#repo-sync .alert.ok")!.TextContent;
        Assert.Contains("added acme/mobile, acme/docs", report);
        Assert.Contains($"Already there: {AsanaWorld.Webshop}, {AsanaWorld.ApiRepo}", report);
        Assert.Equal([AsanaWorld.Webshop, AsanaWorld.ApiRepo, "acme/legacy", "acme/mobile", "acme/docs"], world.Asana.Field(world.Repo.Gid).Options.Select(o => o.Name));

        var (second, secondPage, _) = await SubmitAsync(admin, $"/p/{AsanaWorld.Slug}/settings", "handler=SyncRepos");
        Assert.Equal(HttpStatusCode.OK, second);
        Assert.Contains("nothing to add", secondPage.QuerySelector("#repo-sync .alert.ok")!.TextContent);
        Assert.Equal(5, world.Asana.Field(world.Repo.Gid).Options.Count);
        Assert.Equal(2, world.Asana.Host.Requests.Count(r => r.Method == "POST" && r.PathAndQuery.StartsWith($"/api/1.0/custom_fields/{world.Repo.Gid}/enum_options", StringComparison.Ordinal)));

        // A repo only a disabled option names is reported, not added again; an option mapped to a repo counts for it.
        world.Asana.SetEnumOptionEnabled(world.Repo.Gid, "acme/docs", enabled: false);
        stored = (await world.Store.GetAsync(AsanaWorld.Slug))!;
        await world.Store.UpdateAsync(AsanaWorld.Slug, stored.Definition with
        {
            Tracker = stored.Definition.Tracker with { RepoField = new RepoFieldRule { Field = "Repo", Options = new Dictionary<string, string> { ["acme/legacy"] = "acme/api" } } },
        }, null, stored.Version);
        var (third, thirdPage, _) = await SubmitAsync(admin, $"/p/{AsanaWorld.Slug}/settings", "handler=SyncRepos");
        Assert.Equal(HttpStatusCode.OK, third);
        Assert.Contains("Disabled in Asana (restore them there): acme/docs", thirdPage.QuerySelector("#repo-sync .alert.ok")!.TextContent);
        Assert.Equal(5, world.Asana.Field(world.Repo.Gid).Options.Count);

        Assert.Contains(world.H.Logs.Lines, l => l.Contains(AuditLog.Category) && l.Contains("asana.repos-synced in as by asana-admin") && l.Contains("added acme/mobile, acme/docs"));
        Assert.Empty(world.Asana.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Sync_repos_without_a_repo_field_or_with_an_unknown_one_explains_and_adds_nothing()
    {
        await using var world = await AsanaWorld.StartAsync(connectWebhook: false);
        using var admin = await HostAdminAsync(world.H);

        // The world's fields are not attached to the project in Asana: "Repo" is not among its custom fields.
        var (status, page, _) = await SubmitAsync(admin, $"/p/{AsanaWorld.Slug}/settings", "handler=SyncRepos");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("The Repo field 'Repo' is not among the custom fields", page.QuerySelector("#repo-sync .alert.error")!.TextContent);
        Assert.DoesNotContain(world.Asana.Host.Requests, r => r.Method == "POST");

        // A Plane project has no Asana tools.
        var (_, web, _) = await admin.GetAsync("/p/web/settings");
        Assert.Null(web.GetElementById("repo-sync"));
        Assert.Null(web.GetElementById("asana"));
    }

    private static void AttachFields(AsanaWorld world)
    {
        world.Asana.AddCustomFieldSetting(world.ProjectGid, world.AutoTask);
        world.Asana.AddCustomFieldSetting(world.ProjectGid, world.Repo);
        world.Asana.AddCustomFieldSetting(world.ProjectGid, world.Status);
    }

    private static async Task<Browserless> HostAdminAsync(Harness h)
    {
        await h.App.Services.GetRequiredService<AccountStore>().CreateUserAsync("asana-admin", AdminPassword, isHostAdmin: true);
        return await WebAccessTests.SignInAsync(h, "asana-admin", AdminPassword);
    }
}

using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Shared.Accounts;
using Orchestrator.Tests.Integration.EndToEnd;
using Orchestrator.Tests.Integration.Web;

namespace Orchestrator.Tests.Integration.Security;

/// <summary>
/// "0 plaintext secrets in a full database dump" (issue #8, kept by issue #9): after a session, an invite, an API token, a
/// sign-in link, project secrets and Data Protection keys exist, no table holds any of them in the clear.
/// </summary>
public sealed class DatabaseDumpTests
{
    [Fact]
    public async Task A_full_database_dump_holds_no_plaintext_secret()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        const string forgeToken = "ghp_DUMPTEST_forge_token_0123456789";
        const string trackerToken = "plane_DUMPTEST_tracker_token_012345";
        const string hookSecret = "DUMPTEST_webhook_secret_0123456789";
        using (var created = await h.Api.PostAsync("api/projects", new StringContent(new JsonObject
        {
            ["slug"] = "dump", ["work_item_prefix"] = "DMP",
            ["tracker"] = new JsonObject { ["kind"] = "plane", ["base_url"] = h.Plane.BaseUrl.ToString(), ["workspace"] = "acme", ["project_ids"] = new JsonArray(Guid.NewGuid().ToString()) },
            ["forge"] = new JsonObject { ["kind"] = "github", ["base_url"] = h.GitHub.BaseUrl.ToString(), ["repos"] = new JsonArray("acme/dump") },
            ["secrets"] = new JsonObject { ["forge_token"] = forgeToken, ["tracker_token"] = trackerToken, ["forge_webhook_secret"] = hookSecret },
        }.ToJsonString(), Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var (apiToken, _) = await accounts.CreateApiTokenAsync("dump", "dump test", ProjectRole.Editor, null);
        var (inviteToken, _) = await accounts.CreateInviteAsync("dump", ProjectRole.Viewer, null);
        var admins = await accounts.FindUserAsync("admin");
        var link = await accounts.CreateSignInLinkAsync(admins!.Id, TimeSpan.FromHours(1));
        var session = admin.SessionCookie!;
        _ = await admin.CsrfTokenAsync(); // makes sure Data Protection has written its key ring

        var secrets = new[]
        {
            forgeToken, trackerToken, hookSecret, apiToken, inviteToken, link, session, WebAccessTests.AdminPassword, WebAccessTests.InitToken,
            Harness.AdminToken, Harness.GitHubToken, Harness.PlaneToken, Harness.GitHubSecret, Harness.PlaneSecret, Harness.MasterKey,
        };
        var tables = new List<string>();
        await using (var list = h.Db.DataSource.CreateCommand("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        Assert.Contains("sessions", tables);
        Assert.Contains("data_protection_keys", tables);
        var dump = new StringBuilder();
        foreach (var table in tables)
        {
            // Every column as text; bytea as hex and escape forms, so a secret stored as bytes is found too.
            await using var command = h.Db.DataSource.CreateCommand($"SELECT row_to_json(t)::text FROM \"{table}\" t");
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                dump.AppendLine(reader.GetString(0));
            }
        }

        var text = dump.ToString();
        Assert.True(text.Length > 1_000, "the dump is suspiciously small");
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToHexStringLower(Encoding.UTF8.GetBytes(secret)), text, StringComparison.Ordinal);
        }

        // Data Protection keys are stored encrypted with the master key, not as their XML.
        Assert.DoesNotContain("<masterKey", text, StringComparison.Ordinal);
    }
}

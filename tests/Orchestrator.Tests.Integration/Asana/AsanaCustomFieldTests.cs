using System.Net;
using System.Text.Json.Nodes;
using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Platform;
using Orchestrator.Tests.Integration.Plane;

namespace Orchestrator.Tests.Integration.Asana;

/// <summary>A project's custom field settings and new enum options: AsanaClient against AsanaSimulator, exact requests and answers.</summary>
public sealed class AsanaCustomFieldTests : IAsyncLifetime
{
    private AsanaTestKit _kit = null!;

    public async Task InitializeAsync() => _kit = await AsanaTestKit.StartAsync(pageSize: 2);

    public async Task DisposeAsync() => await _kit.DisposeAsync();

    [Fact]
    public async Task Custom_field_settings_list_every_page_with_the_fields_and_their_options()
    {
        var sim = _kit.Simulator;
        var repo = sim.AddEnumField("Repo", "acme/webshop", "acme/api");
        var status = sim.AddEnumField("Status", "On track", "Blocked");
        var agentSetting = sim.AddCustomFieldSetting(_kit.ProjectGid, _kit.Agent);
        sim.AddCustomFieldSetting(_kit.ProjectGid, repo, isImportant: false);
        sim.AddCustomFieldSetting(_kit.ProjectGid, status);
        sim.AddCustomFieldSetting(sim.AddProject("Elsewhere"), sim.AddEnumField("Other", "x"));
        sim.SetEnumOptionEnabled(repo.Gid, "acme/api", enabled: false);

        var settings = await _kit.Client.ListProjectCustomFieldSettingsAsync(_kit.ProjectGid, CancellationToken.None);

        Assert.Equal(["Agent", "Repo", "Status"], settings.Select(s => s.CustomField.Name));
        Assert.Equal(agentSetting.Gid, settings[0].Gid);
        Assert.True(settings[0].IsImportant);
        Assert.False(settings[1].IsImportant);
        Assert.All(settings, s => Assert.Equal("enum", s.CustomField.ResourceSubtype));
        Assert.Equal(
            [new AsanaFieldOption(repo.Option("acme/webshop").Gid, "acme/webshop", true), new AsanaFieldOption(repo.Option("acme/api").Gid, "acme/api", false)],
            settings[1].CustomField.EnumOptions);
        Assert.Equal(repo.Gid, settings[1].CustomField.Gid);

        // Two pages of limit=2, the second with Asana's opaque offset; opt_fields on both.
        Assert.Equal(2, _kit.Requests.Count);
        Assert.All(_kit.Requests, r =>
        {
            Assert.Equal("GET", r.Method);
            Assert.Equal($"/api/1.0/projects/{_kit.ProjectGid}/custom_field_settings", TestJson.Path(r.PathAndQuery));
            Assert.Equal(AsanaClient.CustomFieldSettingOptFields, TestJson.Query(r.PathAndQuery)["opt_fields"]);
            Assert.Equal("2", TestJson.Query(r.PathAndQuery)["limit"]);
        });
        Assert.True(TestJson.Query(_kit.Requests[1].PathAndQuery).ContainsKey("offset"));
        Assert.Empty(sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task The_settings_answer_is_compact_without_opt_fields_and_cut_to_them_with()
    {
        _kit.Simulator.AddCustomFieldSetting(_kit.ProjectGid, _kit.Agent);
        async Task<JsonObject> GetAsync(string query)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{_kit.Simulator.ApiBaseUrl}/projects/{_kit.ProjectGid}/custom_field_settings{query}");
            request.Headers.Authorization = new("Bearer", AsanaTestKit.Token);
            using var response = await _kit.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["data"]![0]!.AsObject();
        }

        var compact = await GetAsync("");
        Assert.Equal(["gid", "resource_type"], compact.Select(p => p.Key));
        Assert.Equal("custom_field_setting", (string)compact["resource_type"]!);

        var cut = await GetAsync("?opt_fields=custom_field.name,custom_field.enum_options.name,project.name");
        Assert.Equal(["gid", "custom_field", "project"], cut.Select(p => p.Key));
        Assert.Equal(["gid", "name", "enum_options"], cut["custom_field"]!.AsObject().Select(p => p.Key));
        Assert.Equal(["gid", "name"], cut["custom_field"]!["enum_options"]![0]!.AsObject().Select(p => p.Key));
        Assert.Equal("Engineering", (string)cut["project"]!["name"]!);
        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task A_new_enum_option_is_added_at_the_end_enabled_and_answered_201()
    {
        var option = await _kit.Client.CreateEnumOptionAsync(_kit.Agent.Gid, "claude-code", CancellationToken.None);

        Assert.Equal("claude-code", option.Name);
        Assert.True(option.Enabled);
        var field = _kit.Simulator.Field(_kit.Agent.Gid);
        Assert.Equal(["opencode", "codex", "claude-code"], field.Options.Select(o => o.Name));
        Assert.Equal(option.Gid, field.Option("claude-code").Gid);

        var request = Assert.Single(_kit.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal($"/api/1.0/custom_fields/{_kit.Agent.Gid}/enum_options", TestJson.Path(request.PathAndQuery));
        Assert.Equal(new Dictionary<string, string> { ["opt_fields"] = AsanaClient.EnumOptionOptFields }, TestJson.Query(request.PathAndQuery));
        Assert.Equal("""{"data":{"name":"claude-code"}}""", JsonNode.Parse(request.Body)!.ToJsonString());
        Assert.Empty(_kit.Simulator.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Unknown_objects_are_permanent_404s_naming_the_object()
    {
        var project = await Assert.ThrowsAsync<PlatformApiException>(() => _kit.Client.ListProjectCustomFieldSettingsAsync("999", CancellationToken.None));
        Assert.Equal(HttpStatusCode.NotFound, project.StatusCode);
        Assert.False(project.IsTransient);
        Assert.Contains("project: Unknown object: 999", project.Message);

        var field = await Assert.ThrowsAsync<PlatformApiException>(() => _kit.Client.CreateEnumOptionAsync("998", "x", CancellationToken.None));
        Assert.Equal(HttpStatusCode.NotFound, field.StatusCode);
        Assert.Contains("custom_field: Unknown object: 998", field.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => _kit.Client.CreateEnumOptionAsync("not-a-gid", "x", CancellationToken.None));
    }
}

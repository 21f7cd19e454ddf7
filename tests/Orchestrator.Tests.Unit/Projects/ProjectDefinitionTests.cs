using System.Text.Json.Nodes;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Tests.Unit.Projects;

public sealed class ProjectDefinitionTests
{
    private static ProjectDefinition Valid() => new()
    {
        Slug = "web",
        Name = "Web",
        WorkItemPrefix = "WEB",
        Tracker = new TrackerConfig { Kind = TrackerConfig.Plane, ProjectIds = ["p1"] },
        Forge = new ForgeConfig { Kind = ForgeConfig.GitHub, Repos = ["acme/web"] },
    };

    private static ProjectDefinition ValidAsanaGitea() => Valid() with
    {
        Tracker = new TrackerConfig { Kind = TrackerConfig.Asana, Workspace = "1200", ProjectIds = ["1201", "1202"], Trigger = new TriggerRule { Label = null, Field = "AutoTask" } },
        Forge = new ForgeConfig { Kind = ForgeConfig.Gitea, BaseUrl = new Uri("https://gitea.example.com"), Repos = ["acme/web", "acme/api"], DefaultRepo = "acme/api", GitUrl = "https://gitea.example.com/{repo}.git" },
    };

    [Fact]
    public void Valid_definitions_have_no_errors()
    {
        Assert.Empty(Valid().Validate());
        Assert.Empty(ValidAsanaGitea().Validate());
        Assert.Empty((Valid() with { Mode = "run", Agent = "Claude" }).Validate(["claude"]));
        Assert.Empty((Valid() with { Slug = "a", BudgetUsd = 0 }).Validate());
        Assert.Empty((Valid() with { Slug = "a" + new string('b', 62) }).Validate());
    }

    [Theory]
    [InlineData("", "slug")]
    [InlineData("Web", "slug")]
    [InlineData("-web", "slug")]
    [InlineData("web_shop", "slug")]
    [InlineData("web shop", "slug")]
    public void Slug_rules(string slug, string field) =>
        Assert.Contains((Valid() with { Slug = slug }).Validate(), e => e.StartsWith(field, StringComparison.Ordinal));

    [Fact]
    public void Slug_is_at_most_63_characters() =>
        Assert.Contains((Valid() with { Slug = "a" + new string('b', 63) }).Validate(), e => e.StartsWith("slug", StringComparison.Ordinal));

    [Theory]
    [InlineData("")]
    [InlineData("1WEB")]
    [InlineData("WEB-1")]
    [InlineData("ABCDEFGHIJKLMNOPQ")]
    public void Prefix_rules(string prefix) =>
        Assert.Contains((Valid() with { WorkItemPrefix = prefix }).Validate(), e => e.StartsWith("work_item_prefix", StringComparison.Ordinal));

    [Fact]
    public void Top_level_rules()
    {
        Assert.Contains((Valid() with { AgentCommand = "" }).Validate(), e => e.StartsWith("agent_command", StringComparison.Ordinal));
        Assert.Contains((Valid() with { AgentCommand = "/a\n/b" }).Validate(), e => e.StartsWith("agent_command", StringComparison.Ordinal));
        Assert.Contains((Valid() with { Mode = "auto" }).Validate(), e => e.StartsWith("mode", StringComparison.Ordinal));
        Assert.Contains((Valid() with { Mode = "run", Agent = "ghost" }).Validate(["claude"]), e => e.Contains("'ghost' is not defined", StringComparison.Ordinal));
        Assert.Empty((Valid() with { Mode = "run", Agent = "ghost" }).Validate());
        Assert.Contains((Valid() with { BudgetUsd = -1 }).Validate(), e => e.StartsWith("budget_usd", StringComparison.Ordinal));
    }

    [Fact]
    public void Tracker_rules()
    {
        string[] Errors(TrackerConfig t) => (Valid() with { Tracker = t }).Validate().ToArray();
        Assert.Contains(Errors(new TrackerConfig { Kind = "jira", ProjectIds = ["p"] }), e => e.StartsWith("tracker.kind", StringComparison.Ordinal));
        Assert.Contains(Errors(new TrackerConfig { ProjectIds = [] }), e => e.StartsWith("tracker.project_ids", StringComparison.Ordinal));
        Assert.Contains(Errors(new TrackerConfig { ProjectIds = [" "] }), e => e.StartsWith("tracker.project_ids", StringComparison.Ordinal));
        Assert.Contains(Errors(new TrackerConfig { ProjectIds = Enumerable.Range(0, 21).Select(i => "p" + i).ToArray() }), e => e.StartsWith("tracker.project_ids", StringComparison.Ordinal));
        Assert.Contains(Errors(new TrackerConfig { ProjectIds = ["p"], BaseUrl = new Uri("ftp://x") }), e => e.StartsWith("tracker.base_url", StringComparison.Ordinal));
        Assert.Contains(Errors(new TrackerConfig { Kind = TrackerConfig.Asana, ProjectIds = ["p"] }), e => e.StartsWith("tracker.workspace", StringComparison.Ordinal));
        Assert.Contains(Errors(new TrackerConfig { ProjectIds = ["p"], Trigger = new TriggerRule { Label = null } }), e => e.StartsWith("tracker.trigger", StringComparison.Ordinal));
        Assert.Contains(Errors(new TrackerConfig { ProjectIds = ["p"], Trigger = new TriggerRule { Field = "AutoTask" } }), e => e.StartsWith("tracker.trigger.field", StringComparison.Ordinal));
        Assert.Contains(Errors(new TrackerConfig { ProjectIds = ["p"], RepoField = new RepoFieldRule { Field = "" } }), e => e.StartsWith("tracker.repo_field", StringComparison.Ordinal));
    }

    [Fact]
    public void Forge_rules()
    {
        string[] Errors(ForgeConfig f) => (Valid() with { Forge = f }).Validate().ToArray();
        Assert.Contains(Errors(new ForgeConfig { Kind = "gitlab", Repos = ["a/b"] }), e => e.StartsWith("forge.kind", StringComparison.Ordinal));
        Assert.Contains(Errors(new ForgeConfig { Repos = [] }), e => e.StartsWith("forge.repos", StringComparison.Ordinal));
        Assert.Contains(Errors(new ForgeConfig { Repos = Enumerable.Range(0, 11).Select(i => "a/b" + i).ToArray() }), e => e.StartsWith("forge.repos", StringComparison.Ordinal));
        Assert.Contains(Errors(new ForgeConfig { Repos = ["nope"] }), e => e.Contains("'nope' is not owner/name", StringComparison.Ordinal));
        Assert.Contains(Errors(new ForgeConfig { Repos = ["a/b", "A/B"] }), e => e.Contains("twice", StringComparison.Ordinal));
        Assert.Contains(Errors(new ForgeConfig { Repos = ["a/b"], DefaultRepo = "a/c" }), e => e.StartsWith("forge.default_repo", StringComparison.Ordinal));
        Assert.Contains(Errors(new ForgeConfig { Repos = ["a/b"], BaseUrl = new Uri("/relative", UriKind.Relative) }), e => e.StartsWith("forge.base_url", StringComparison.Ordinal));
        Assert.Contains(Errors(new ForgeConfig { Kind = ForgeConfig.Gitea, Repos = ["a/b"] }), e => e.StartsWith("forge.base_url", StringComparison.Ordinal));
        Assert.Contains(Errors(new ForgeConfig { Kind = ForgeConfig.Gitea, BaseUrl = new Uri("http://g"), Repos = ["a/b"], App = new GitHubAppConfig() }), e => e.StartsWith("forge.app", StringComparison.Ordinal));
        Assert.Contains(Errors(new ForgeConfig { Repos = ["a/b", "a/c"], GitUrl = "https://x/fixed.git" }), e => e.StartsWith("forge.git_url", StringComparison.Ordinal));
        Assert.Empty(Errors(new ForgeConfig { Repos = ["a/b"], GitUrl = "https://x/fixed.git" }));
    }

    [Fact]
    public void Every_error_is_reported_at_once()
    {
        var bad = new ProjectDefinition { Slug = "X", Mode = "m", Tracker = new TrackerConfig { Kind = "k" }, Forge = new ForgeConfig { Kind = "f" } };
        var errors = bad.Validate();
        foreach (var field in new[] { "slug", "work_item_prefix", "mode", "tracker.kind", "tracker.project_ids", "forge.kind", "forge.repos" })
        {
            Assert.Contains(errors, e => e.StartsWith(field, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Canonical_repo_and_effective_default()
    {
        var forge = new ForgeConfig { Repos = ["Acme/Web"] };
        Assert.Equal("Acme/Web", forge.Canonical(" acme/web "));
        Assert.Null(forge.Canonical("acme/other"));
        Assert.Equal("Acme/Web", forge.EffectiveDefaultRepo);
        Assert.Null(new ForgeConfig { Repos = ["a/b", "a/c"] }.EffectiveDefaultRepo);
    }

    [Fact]
    public void Json_round_trip_keeps_nulls_and_parse_request_splits_secrets_and_version()
    {
        var definition = ValidAsanaGitea();
        var json = ProjectJson.Serialize(definition);
        Assert.Contains("\"label\":null", json, StringComparison.Ordinal);
        Assert.Equal(json, ProjectJson.Serialize(ProjectJson.Deserialize(json)));

        var body = JsonNode.Parse(json)!.AsObject();
        body["secrets"] = new JsonObject { ["forge_token"] = "tok-123456789", ["tracker_token"] = null, ["forge_webhook_secret"] = "••••abcd" };
        body["version"] = 7;
        body["created_at"] = "2026-01-01T00:00:00Z";
        body["webhooks"] = new JsonObject();
        var request = ProjectJson.ParseRequest(body);
        Assert.Equal(json, ProjectJson.Serialize(request.Definition));
        Assert.Equal(7, request.Version);
        Assert.Equal(new Dictionary<string, string?> { ["forge_token"] = "tok-123456789", ["tracker_token"] = null }, request.Secrets);
        Assert.DoesNotContain("tok-123456789", request.ToString(), StringComparison.Ordinal);
        Assert.True(body.ContainsKey("secrets"));
    }

    [Theory]
    [InlineData("""{"slug": "web", "trackr": {}}""", "trackr")]
    [InlineData("""{"slug": "web", "tracker": null}""", "tracker")]
    [InlineData("""{"slug": "web", "forge": {"repos": [null]}}""", "forge.repos")]
    [InlineData("""{"slug": "web", "secrets": {"forge_token": 5}}""", "secrets.forge_token")]
    [InlineData("""{"slug": "web", "secrets": []}""", "secrets")]
    [InlineData("""{"slug": "web", "version": "1"}""", "version")]
    [InlineData("""[]""", "JSON object")]
    public void Parse_request_rejects_malformed_bodies(string body, string mention)
    {
        var ex = Assert.Throws<ProjectValidationException>(() => ProjectJson.ParseRequest(JsonNode.Parse(body)));
        Assert.Contains(ex.Errors, e => e.Contains(mention, StringComparison.Ordinal));
    }

    [Fact]
    public void Legacy_entry_converts_to_a_definition()
    {
        var legacy = new ProjectSettings
        {
            PlaneProjectId = "p1", Repo = "acme/web", WorkItemPrefix = "WEB_2", TriggerLabel = "Robot", AgentCommand = "/claude do",
            RequireCi = false, Mode = "run", Agent = "claude", BudgetUsd = 5, GitUrl = "file:///r.git",
        };
        var d = ProjectBootstrap.FromLegacy(legacy);
        Assert.Equal(("web-2", "WEB_2", "WEB_2"), (d.Slug, d.Name, d.WorkItemPrefix));
        Assert.Equal((TrackerConfig.Plane, (Uri?)null, (string?)null, "Robot"), (d.Tracker.Kind, d.Tracker.BaseUrl, d.Tracker.Workspace, d.Tracker.Trigger.Label));
        Assert.Equal(["p1"], d.Tracker.ProjectIds);
        Assert.Equal((ForgeConfig.GitHub, (Uri?)null, "file:///r.git"), (d.Forge.Kind, d.Forge.BaseUrl, d.Forge.GitUrl));
        Assert.Equal(["acme/web"], d.Forge.Repos);
        Assert.Equal(("/claude do", false, "run", "claude", 5m), (d.AgentCommand, d.RequireCi, d.Mode, d.Agent, d.BudgetUsd));
        Assert.Empty(d.Validate(["claude"]));
    }
}

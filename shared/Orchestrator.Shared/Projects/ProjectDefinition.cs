using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Orchestrator.Shared.Agents;

namespace Orchestrator.Shared.Projects;

/// <summary>
/// A project: one tracker (Plane or Asana) wired to one forge (GitHub or Gitea), stored in PostgreSQL
/// (table <c>projects</c>) and edited through <c>/api/projects</c>. This record is the non-secret part and
/// its JSON shape (snake_case) is the API's; secrets travel separately (<see cref="ProjectSecretNames"/>).
/// </summary>
public sealed partial record ProjectDefinition
{
    /// <summary>URL-safe id, <c>^[a-z0-9][a-z0-9-]{0,62}$</c>; part of the per-project webhook URLs.</summary>
    [JsonPropertyName("slug")]
    public string Slug { get; init; } = "";

    /// <summary>Display name (defaults to the slug).</summary>
    [JsonPropertyName("name")]
    public string Name { get; init; } = "";

    /// <summary>Where tasks come from.</summary>
    [JsonPropertyName("tracker")]
    public TrackerConfig Tracker { get; init; } = new();

    /// <summary>Where issues, PRs and CI live.</summary>
    [JsonPropertyName("forge")]
    public ForgeConfig Forge { get; init; } = new();

    /// <summary>Task id prefix (<c>PREFIX-N</c>); Plane's sequence ids or our own per-project counter for Asana give <c>N</c>.</summary>
    [JsonPropertyName("work_item_prefix")]
    public string WorkItemPrefix { get; init; } = "";

    /// <summary>Agent command written as the last line of the forge issue (mode <c>dispatch</c>).</summary>
    [JsonPropertyName("agent_command")]
    public string AgentCommand { get; init; } = "/opencode implement";

    /// <summary><c>dispatch</c> (the agent command goes into the issue) or <c>run</c> (the orchestrator runs the role pipeline).</summary>
    [JsonPropertyName("mode")]
    public string Mode { get; init; } = "dispatch";

    /// <summary>Whether a merged PR waits for green CI before <c>DEPLOYED</c>.</summary>
    [JsonPropertyName("require_ci")]
    public bool RequireCi { get; init; } = true;

    /// <summary>Default agent of the role pipeline (a name from <c>ORCH_AGENTS_JSON</c>).</summary>
    [JsonPropertyName("agent")]
    public string? Agent { get; init; }

    /// <summary>Per-agent overrides for this project (project &gt; agent &gt; default).</summary>
    [JsonPropertyName("agents")]
    public IReadOnlyDictionary<string, AgentSpec>? Agents { get; init; }

    /// <summary>What all of this project's agent runs may cost, in USD; <c>null</c> = unlimited.</summary>
    [JsonPropertyName("budget_usd")]
    public decimal? BudgetUsd { get; init; }

    /// <summary>Where the project's Telegram messages go and who may act from the chat; <c>null</c> = no Telegram (issue #12).</summary>
    [JsonPropertyName("telegram")]
    public Telegram.TelegramConfig? Telegram { get; init; }

    /// <summary>Validation errors, each naming the field (<c>tracker.project_ids</c>, …); empty when valid.</summary>
    /// <param name="knownAgents">Agent names <c>ORCH_AGENTS_JSON</c> defines, to check <see cref="Agent"/>; <c>null</c> skips the check.</param>
    /// <returns>Human-readable problems.</returns>
    public IReadOnlyList<string> Validate(IReadOnlyCollection<string>? knownAgents = null)
    {
        var errors = new List<string>();
        if (!SlugPattern().IsMatch(Slug))
        {
            errors.Add($"slug must match ^[a-z0-9][a-z0-9-]{{0,62}}$, got '{Slug}'");
        }

        if (string.IsNullOrWhiteSpace(WorkItemPrefix) || !PrefixPattern().IsMatch(WorkItemPrefix))
        {
            errors.Add($"work_item_prefix must be 1-16 letters, digits or '_' starting with a letter, got '{WorkItemPrefix}'");
        }

        if (string.IsNullOrWhiteSpace(AgentCommand) || AgentCommand.Contains('\n', StringComparison.Ordinal))
        {
            errors.Add("agent_command must be one non-empty line");
        }

        if (Mode is not ("dispatch" or "run"))
        {
            errors.Add($"mode must be dispatch or run, got '{Mode}'");
        }

        if (Mode == "run" && Agent is not null && knownAgents is not null && !knownAgents.Contains(Agent, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"agent '{Agent}' is not defined in ORCH_AGENTS_JSON");
        }

        if (BudgetUsd is < 0)
        {
            errors.Add("budget_usd must be ≥ 0");
        }

        errors.AddRange(Tracker.Validate().Select(e => "tracker." + e));
        errors.AddRange(Forge.Validate().Select(e => "forge." + e));
        errors.AddRange(Telegram?.Validate().Select(e => "telegram." + e) ?? []);
        return errors;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    private static partial Regex SlugPattern();

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]{0,15}$")]
    private static partial Regex PrefixPattern();
}

/// <summary>The tracker side of a project.</summary>
public sealed record TrackerConfig
{
    /// <summary>Tracker kind: Plane.</summary>
    public const string Plane = "plane";

    /// <summary>Tracker kind: Asana.</summary>
    public const string Asana = "asana";

    /// <summary><c>plane</c> or <c>asana</c>.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; init; } = Plane;

    /// <summary>API root: Plane server root (e.g. <c>https://plane.example.com</c>); Asana <c>https://app.asana.com/api/1.0</c> (the default). <c>null</c> = the host-wide setting.</summary>
    [JsonPropertyName("base_url")]
    public Uri? BaseUrl { get; init; }

    /// <summary>Plane workspace slug or Asana workspace gid; <c>null</c> = the host-wide setting (Plane).</summary>
    [JsonPropertyName("workspace")]
    public string? Workspace { get; init; }

    /// <summary>Plane project UUIDs or Asana project gids whose tasks belong to this project (1–20).</summary>
    [JsonPropertyName("project_ids")]
    public IReadOnlyList<string> ProjectIds { get; init; } = [];

    /// <summary>What marks a task for automation.</summary>
    [JsonPropertyName("trigger")]
    public TriggerRule Trigger { get; init; } = new();

    /// <summary>Where the repo comes from when the forge has several; <c>null</c> = the forge's default repo.</summary>
    [JsonPropertyName("repo_field")]
    public RepoFieldRule? RepoField { get; init; }

    /// <summary>How tracker states map to <c>BLOCKED</c> / <c>CANCELLED</c>.</summary>
    [JsonPropertyName("status")]
    public StatusRule Status { get; init; } = new();

    /// <summary>Validation errors, relative to this object.</summary>
    /// <returns>Problems.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Kind is not (Plane or Asana))
        {
            errors.Add($"kind must be plane or asana, got '{Kind}'");
        }

        if (ProjectIds.Count is 0 or > 20 || ProjectIds.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add("project_ids must list 1-20 non-empty ids");
        }

        if (BaseUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"base_url must be an http(s) URL, got '{url}'");
        }

        if (Kind == Asana && string.IsNullOrWhiteSpace(Workspace))
        {
            errors.Add("workspace (the Asana workspace gid) is required");
        }

        if (string.IsNullOrWhiteSpace(Trigger.Label) && string.IsNullOrWhiteSpace(Trigger.Field))
        {
            errors.Add("trigger needs a label/tag or a field");
        }

        if (Trigger.Field is not null && Kind == Plane)
        {
            errors.Add("trigger.field is for Asana custom fields; Plane uses trigger.label");
        }

        if (RepoField is { } repo && string.IsNullOrWhiteSpace(repo.Field))
        {
            errors.Add("repo_field.field is required");
        }

        return errors;
    }
}

/// <summary>
/// The AutoTask marker: a Plane label / Asana tag named <see cref="Label"/>, or (Asana) an enum custom field
/// <see cref="Field"/> whose selected option is one of <see cref="OnValues"/>. When both are set, either turns it on.
/// </summary>
public sealed record TriggerRule
{
    /// <summary>Label (Plane) or tag (Asana) name, case-insensitive; <c>null</c> = not used.</summary>
    [JsonPropertyName("label")]
    public string? Label { get; init; } = "AutoTask";

    /// <summary>Asana enum custom field (name or gid); <c>null</c> = not used.</summary>
    [JsonPropertyName("field")]
    public string? Field { get; init; }

    /// <summary>Options of <see cref="Field"/> that mean "on" (case-insensitive). Asana has no checkbox field, hence an enum.</summary>
    [JsonPropertyName("on_values")]
    public IReadOnlyList<string> OnValues { get; init; } = ["Yes"];
}

/// <summary>The repo of a task from an enum custom field (Asana).</summary>
public sealed record RepoFieldRule
{
    /// <summary>Enum custom field (name or gid).</summary>
    [JsonPropertyName("field")]
    public string Field { get; init; } = "Repo";

    /// <summary>Option name → <c>owner/repo</c>; an option missing here must itself be named <c>owner/repo</c>.</summary>
    [JsonPropertyName("options")]
    public IReadOnlyDictionary<string, string>? Options { get; init; }
}

/// <summary>
/// Tracker states mapped to the user-facing <c>ACTIVE</c> / <c>BLOCKED</c> / <c>CANCELLED</c>. Entries match a
/// state or option name case-insensitively, or a Plane state group as <c>group:&lt;group&gt;</c>.
/// </summary>
public sealed record StatusRule
{
    /// <summary>Asana enum custom field (name or gid) that holds the status; <c>null</c> for Plane (its work item state is used).</summary>
    [JsonPropertyName("field")]
    public string? Field { get; init; }

    /// <summary>Values meaning BLOCKED (default <c>Blocked</c>).</summary>
    [JsonPropertyName("blocked")]
    public IReadOnlyList<string> Blocked { get; init; } = ["Blocked"];

    /// <summary>Values meaning CANCELLED (default <c>Cancelled</c>, <c>Canceled</c> and Plane's <c>cancelled</c> group).</summary>
    [JsonPropertyName("cancelled")]
    public IReadOnlyList<string> Cancelled { get; init; } = ["Cancelled", "Canceled", "group:cancelled"];
}

/// <summary>The forge side of a project.</summary>
public sealed partial record ForgeConfig
{
    /// <summary>Forge kind: GitHub.</summary>
    public const string GitHub = "github";

    /// <summary>Forge kind: Gitea.</summary>
    public const string Gitea = "gitea";

    /// <summary><c>github</c> or <c>gitea</c>.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; init; } = GitHub;

    /// <summary>API root: GitHub <c>https://api.github.com</c> (Enterprise <c>https://host/api/v3</c>); Gitea the server root (<c>/api/v1</c> is appended). <c>null</c> = the host-wide GitHub setting.</summary>
    [JsonPropertyName("base_url")]
    public Uri? BaseUrl { get; init; }

    /// <summary>Repositories <c>owner/name</c> tasks may go to (1–10).</summary>
    [JsonPropertyName("repos")]
    public IReadOnlyList<string> Repos { get; init; } = [];

    /// <summary>Repo used when the tracker names none; must be one of <see cref="Repos"/>; <c>null</c> = the first repo when there is exactly one.</summary>
    [JsonPropertyName("default_repo")]
    public string? DefaultRepo { get; init; }

    /// <summary>Git URL agents clone and push, with <c>{repo}</c> for <c>owner/name</c>; <c>null</c> = derived from the forge.</summary>
    [JsonPropertyName("git_url")]
    public string? GitUrl { get; init; }

    /// <summary>GitHub App instead of a token: app and installation ids (the private key is the secret <c>github_app_private_key</c>).</summary>
    [JsonPropertyName("app")]
    public GitHubAppConfig? App { get; init; }

    /// <summary>GitHub repository webhook ids by repo (<c>owner/name → hook id</c>), for the redelivery sweeper.</summary>
    [JsonPropertyName("hook_ids")]
    public IReadOnlyDictionary<string, long>? HookIds { get; init; }

    /// <summary>The default repo: <see cref="DefaultRepo"/>, else the only repo, else <c>null</c>.</summary>
    [JsonIgnore]
    public string? EffectiveDefaultRepo => DefaultRepo ?? (Repos.Count == 1 ? Repos[0] : null);

    /// <summary>Validation errors, relative to this object.</summary>
    /// <returns>Problems.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Kind is not (GitHub or Gitea))
        {
            errors.Add($"kind must be github or gitea, got '{Kind}'");
        }

        if (Repos.Count is 0 or > 10)
        {
            errors.Add($"repos must list 1-10 repositories, got {Repos.Count}");
        }

        foreach (var repo in Repos.Where(r => !RepoPattern().IsMatch(r)))
        {
            errors.Add($"repos: '{repo}' is not owner/name");
        }

        if (Repos.Distinct(StringComparer.OrdinalIgnoreCase).Count() != Repos.Count)
        {
            errors.Add("repos lists a repository twice");
        }

        if (DefaultRepo is { } d && !Repos.Contains(d, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add($"default_repo '{d}' is not one of repos");
        }

        if (BaseUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"base_url must be an http(s) URL, got '{url}'");
        }

        if (Kind == Gitea && BaseUrl is null)
        {
            errors.Add("base_url (the Gitea server) is required");
        }

        if (App is not null && Kind != GitHub)
        {
            errors.Add("app is for GitHub only");
        }

        if (GitUrl is { } git && !git.Contains("{repo}", StringComparison.Ordinal) && Repos.Count > 1)
        {
            errors.Add("git_url must contain {repo} when there are several repos");
        }

        return errors;
    }

    /// <summary>The canonical spelling (as in <see cref="Repos"/>) of <paramref name="repo"/>, or <c>null</c> when it is not one of them.</summary>
    /// <param name="repo"><c>owner/name</c>, any case.</param>
    /// <returns>The configured spelling, or <c>null</c>.</returns>
    public string? Canonical(string? repo) =>
        repo is null ? null : Repos.FirstOrDefault(r => string.Equals(r, repo.Trim(), StringComparison.OrdinalIgnoreCase));

    [GeneratedRegex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]
    private static partial Regex RepoPattern();
}

/// <summary>GitHub App installation (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/authenticating-as-a-github-app-installation).</summary>
public sealed record GitHubAppConfig
{
    /// <summary>App id.</summary>
    [JsonPropertyName("app_id")]
    public long AppId { get; init; }

    /// <summary>Installation id on the account that owns the repos.</summary>
    [JsonPropertyName("installation_id")]
    public long InstallationId { get; init; }
}

/// <summary>Names of the per-project secrets (all optional; a missing one falls back to the host-wide <c>ORCH_*</c> value where one exists).</summary>
public static class ProjectSecretNames
{
    /// <summary>Plane API key (<c>X-Api-Key</c>) or Asana personal access token / OAuth token.</summary>
    public const string TrackerToken = "tracker_token";

    /// <summary>GitHub or Gitea token.</summary>
    public const string ForgeToken = "forge_token";

    /// <summary>Plane webhook secret (Asana secrets come from the handshake and are stored per webhook).</summary>
    public const string TrackerWebhookSecret = "tracker_webhook_secret";

    /// <summary>GitHub or Gitea webhook secret.</summary>
    public const string ForgeWebhookSecret = "forge_webhook_secret";

    /// <summary>GitHub App private key (PEM).</summary>
    public const string GitHubAppPrivateKey = "github_app_private_key";

    /// <summary>Every accepted name.</summary>
    public static readonly IReadOnlyList<string> All = [TrackerToken, ForgeToken, TrackerWebhookSecret, ForgeWebhookSecret, GitHubAppPrivateKey];
}

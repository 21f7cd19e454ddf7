using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;

namespace Orchestrator.Shared.Configuration;

/// <summary>
/// One project of <c>ORCH_PROJECTS_JSON</c>: a JSON array of objects
/// <c>{"plane_project_id", "repo": "owner/name", "work_item_prefix", "trigger_label": "AutoTask",
/// "agent_command": "/opencode implement", "require_ci": true}</c> (the last three optional, defaults shown).
/// </summary>
public sealed record ProjectSettings
{
    /// <summary>Plane project UUID.</summary>
    [JsonPropertyName("plane_project_id")]
    public string PlaneProjectId { get; init; } = "";

    /// <summary>GitHub repository <c>owner/name</c>.</summary>
    [JsonPropertyName("repo")]
    public string Repo { get; init; } = "";

    /// <summary>Task id prefix (<c>PREFIX-N</c>).</summary>
    [JsonPropertyName("work_item_prefix")]
    public string WorkItemPrefix { get; init; } = "";

    /// <summary>Label that starts the pipeline (case-insensitive).</summary>
    [JsonPropertyName("trigger_label")]
    public string TriggerLabel { get; init; } = "AutoTask";

    /// <summary>Agent command written as the last line of the issue.</summary>
    [JsonPropertyName("agent_command")]
    public string AgentCommand { get; init; } = "/opencode implement";

    /// <summary>Whether a merged PR waits for green CI.</summary>
    [JsonPropertyName("require_ci")]
    public bool RequireCi { get; init; } = true;
}

/// <summary>A setting is missing or invalid; the message names every offending setting.</summary>
/// <param name="message">Which settings, and what is wrong with each.</param>
public sealed class SettingsException(string message) : Exception(message);

/// <summary>
/// The host's settings. Sources, later ones winning: <c>host.json</c> (section <c>orchestrator</c>,
/// non-secret), <c>local.settings.json</c> (<c>Values</c>, git-ignored, local secrets), then
/// <c>ORCH_*</c> environment variables. Keys are the variable names without <c>ORCH_</c>.
/// </summary>
public sealed record OrchestratorSettings
{
    /// <summary><c>ORCH_DATABASE_URL</c>: <c>postgres://user:pass@host:port/db</c> or an Npgsql connection string.</summary>
    public required string DatabaseUrl { get; init; }

    /// <summary><c>ORCH_URLS</c>: listen URLs (default <c>http://127.0.0.1:8500</c>).</summary>
    public string Urls { get; init; } = "http://127.0.0.1:8500";

    /// <summary><c>ORCH_GITHUB_API_URL</c> (default <c>https://api.github.com</c>; GitHub Enterprise: <c>https://host/api/v3</c>).</summary>
    public Uri GitHubApiUrl { get; init; } = new("https://api.github.com");

    /// <summary><c>ORCH_GITHUB_TOKEN</c>.</summary>
    public required string GitHubToken { get; init; }

    /// <summary><c>ORCH_GITHUB_WEBHOOK_SECRET</c>; when unset every GitHub delivery is refused with 401.</summary>
    public string? GitHubWebhookSecret { get; init; }

    /// <summary><c>ORCH_PLANE_API_URL</c>: Plane server root.</summary>
    public required Uri PlaneApiUrl { get; init; }

    /// <summary><c>ORCH_PLANE_API_TOKEN</c> (sent as <c>X-Api-Key</c>).</summary>
    public required string PlaneApiToken { get; init; }

    /// <summary><c>ORCH_PLANE_WORKSPACE_SLUG</c>.</summary>
    public required string PlaneWorkspaceSlug { get; init; }

    /// <summary><c>ORCH_PLANE_WEBHOOK_SECRET</c>; when unset every Plane delivery is refused with 401.</summary>
    public string? PlaneWebhookSecret { get; init; }

    /// <summary><c>ORCH_PROJECTS_JSON</c>.</summary>
    public required IReadOnlyList<ProjectSettings> Projects { get; init; }

    /// <summary><c>ORCH_CI_POLL_INTERVAL</c> (default 30 s).</summary>
    public TimeSpan CiPollInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary><c>ORCH_CI_TIMEOUT</c> (default 2 h).</summary>
    public TimeSpan CiTimeout { get; init; } = TimeSpan.FromHours(2);

    /// <summary><c>ORCH_RECONCILE_INTERVAL</c> (default 5 min).</summary>
    public TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary><c>ORCH_WORKER_CONCURRENCY</c> (default 8).</summary>
    public int WorkerConcurrency { get; init; } = 8;

    /// <summary><c>ORCH_LEASE_DURATION</c> (default 60 s).</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary><c>ORCH_QUEUE_POLL_INTERVAL</c>: polling fallback of idle workers (default 1 s).</summary>
    public TimeSpan QueuePollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary><c>ORCH_WEBHOOK_MAX_BYTES</c>: largest accepted webhook body (default 25 MiB, GitHub's cap).</summary>
    public long WebhookMaxBytes { get; init; } = 25 * 1024 * 1024;

    /// <summary>The project whose Plane project id is <paramref name="planeProjectId"/>, or <c>null</c>.</summary>
    public ProjectSettings? ProjectFor(string? planeProjectId) =>
        Projects.FirstOrDefault(p => string.Equals(p.PlaneProjectId, planeProjectId, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Reads and validates the settings.
    /// </summary>
    /// <exception cref="SettingsException">Lists every missing or invalid setting by its <c>ORCH_</c> name.</exception>
    public static OrchestratorSettings Load(IConfiguration configuration)
    {
        var errors = new List<string>();
        string? Get(string key) => configuration[key] is { Length: > 0 } v ? v.Trim() : null;
        string Required(string key)
        {
            var v = Get(key);
            if (v is null)
            {
                errors.Add($"ORCH_{key} is required but not set");
            }

            return v ?? "";
        }

        Uri Url(string key, string? fallback)
        {
            var v = fallback is null ? Required(key) : Get(key) ?? fallback;
            if (v.Length > 0 && Uri.TryCreate(v, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
            {
                return uri;
            }

            if (v.Length > 0)
            {
                errors.Add($"ORCH_{key} must be an http(s) URL, got '{v}'");
            }

            return new Uri("http://invalid.invalid/");
        }

        TimeSpan Duration(string key, TimeSpan fallback)
        {
            var v = Get(key);
            if (v is null)
            {
                return fallback;
            }

            if (Durations.TryParse(v, out var d) && d > TimeSpan.Zero)
            {
                return d;
            }

            errors.Add($"ORCH_{key} must be a positive duration like 30s, 5m or 2h, got '{v}'");
            return fallback;
        }

        long Number(string key, long fallback, long min)
        {
            var v = Get(key);
            if (v is null)
            {
                return fallback;
            }

            if (long.TryParse(v, out var n) && n >= min)
            {
                return n;
            }

            errors.Add($"ORCH_{key} must be a whole number ≥ {min}, got '{v}'");
            return fallback;
        }

        var settings = new OrchestratorSettings
        {
            DatabaseUrl = Required("DATABASE_URL"),
            Urls = Get("URLS") ?? "http://127.0.0.1:8500",
            GitHubApiUrl = Url("GITHUB_API_URL", "https://api.github.com"),
            GitHubToken = Required("GITHUB_TOKEN"),
            GitHubWebhookSecret = Get("GITHUB_WEBHOOK_SECRET"),
            PlaneApiUrl = Url("PLANE_API_URL", null),
            PlaneApiToken = Required("PLANE_API_TOKEN"),
            PlaneWorkspaceSlug = Required("PLANE_WORKSPACE_SLUG"),
            PlaneWebhookSecret = Get("PLANE_WEBHOOK_SECRET"),
            Projects = ParseProjects(Required("PROJECTS_JSON"), errors),
            CiPollInterval = Duration("CI_POLL_INTERVAL", TimeSpan.FromSeconds(30)),
            CiTimeout = Duration("CI_TIMEOUT", TimeSpan.FromHours(2)),
            ReconcileInterval = Duration("RECONCILE_INTERVAL", TimeSpan.FromMinutes(5)),
            WorkerConcurrency = (int)Number("WORKER_CONCURRENCY", 8, 1),
            LeaseDuration = Duration("LEASE_DURATION", TimeSpan.FromSeconds(60)),
            QueuePollInterval = Duration("QUEUE_POLL_INTERVAL", TimeSpan.FromSeconds(1)),
            WebhookMaxBytes = Number("WEBHOOK_MAX_BYTES", 25 * 1024 * 1024, 1024),
        };

        if (settings.DatabaseUrl.Length > 0)
        {
            try
            {
                _ = Engine.Database.ToConnectionString(settings.DatabaseUrl);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException)
            {
                errors.Add($"ORCH_DATABASE_URL is invalid: {ex.Message}");
            }
        }

        if (errors.Count > 0)
        {
            throw new SettingsException("Invalid configuration:\n  - " + string.Join("\n  - ", errors));
        }

        return settings;
    }

    private static List<ProjectSettings> ParseProjects(string json, List<string> errors)
    {
        if (json.Length == 0)
        {
            return [];
        }

        List<ProjectSettings>? projects;
        try
        {
            projects = JsonSerializer.Deserialize<List<ProjectSettings>>(json, new JsonSerializerOptions { AllowTrailingCommas = true, ReadCommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            errors.Add($"ORCH_PROJECTS_JSON is not a JSON array of projects: {ex.Message}");
            return [];
        }

        if (projects is null || projects.Count == 0)
        {
            errors.Add("ORCH_PROJECTS_JSON must list at least one project");
            return [];
        }

        for (var i = 0; i < projects.Count; i++)
        {
            var p = projects[i];
            if (string.IsNullOrWhiteSpace(p.PlaneProjectId))
            {
                errors.Add($"ORCH_PROJECTS_JSON[{i}].plane_project_id is required");
            }

            if (p.Repo.Split('/') is not [{ Length: > 0 }, { Length: > 0 }])
            {
                errors.Add($"ORCH_PROJECTS_JSON[{i}].repo must be owner/name, got '{p.Repo}'");
            }

            if (string.IsNullOrWhiteSpace(p.WorkItemPrefix))
            {
                errors.Add($"ORCH_PROJECTS_JSON[{i}].work_item_prefix is required");
            }

            if (string.IsNullOrWhiteSpace(p.AgentCommand) || p.AgentCommand.Contains('\n', StringComparison.Ordinal))
            {
                errors.Add($"ORCH_PROJECTS_JSON[{i}].agent_command must be one non-empty line");
            }
        }

        return projects;
    }
}

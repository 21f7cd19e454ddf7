using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;
using Orchestrator.Shared.Projects;

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

    /// <summary><c>dispatch</c> (default: the agent command goes into the issue) or <c>run</c> (the orchestrator runs the role pipeline's agents).</summary>
    [JsonPropertyName("mode")]
    public string Mode { get; init; } = "dispatch";

    /// <summary>Default agent of the role pipeline (a name from <c>ORCH_AGENTS_JSON</c>) when <c>.orchestrator/pipeline.yml</c> names none.</summary>
    [JsonPropertyName("agent")]
    public string? Agent { get; init; }

    /// <summary>Per-agent overrides for this project (project &gt; agent &gt; default): model, effort, extra_args, env, …</summary>
    [JsonPropertyName("agents")]
    public IReadOnlyDictionary<string, Agents.AgentSpec>? Agents { get; init; }

    /// <summary>What all of this project's agent runs may cost, in USD; <c>null</c> = unlimited.</summary>
    [JsonPropertyName("budget_usd")]
    public decimal? BudgetUsd { get; init; }

    /// <summary>Git URL agents clone and push (default: derived from <c>ORCH_GITHUB_API_URL</c>, e.g. <c>https://github.com/owner/name.git</c>).</summary>
    [JsonPropertyName("git_url")]
    public string? GitUrl { get; init; }
}

/// <summary>A setting is missing or invalid; the message names every offending setting.</summary>
/// <param name="message">Which settings, and what is wrong with each.</param>
public sealed class SettingsException(string message) : Exception(message);

/// <summary>
/// The host's settings. Sources, later ones winning: <c>host.json</c> (section <c>orchestrator</c>,
/// non-secret), <c>local.settings.json</c> (<c>Values</c>, git-ignored, local secrets), then
/// <c>ORCH_*</c> environment variables. Keys are the variable names without <c>ORCH_</c>.
/// </summary>
public sealed partial record OrchestratorSettings
{
    /// <summary><c>ORCH_DATABASE_URL</c>: <c>postgres://user:pass@host:port/db</c> or an Npgsql connection string.</summary>
    public required string DatabaseUrl { get; init; }

    /// <summary><c>ORCH_URLS</c>: listen URLs (default <c>http://127.0.0.1:8500</c>).</summary>
    public string Urls { get; init; } = "http://127.0.0.1:8500";

    /// <summary>
    /// <c>ORCH_GITHUB_API_URL</c>: the GitHub server (default <c>https://api.github.com</c>). Octokit's rule
    /// (<see cref="GitHub.GitHubApiBase.Resolve"/>): <c>github.com</c>/<c>api.github.com</c> → github.com; any other URL is a GitHub
    /// Enterprise Server whose REST API is <c>{scheme}://{host}:{port}/api/v3/</c> (a path on the URL is dropped). Git remotes derive
    /// from its scheme and authority (<see cref="HostWideGitUrl"/>).
    /// </summary>
    public Uri GitHubApiUrl { get; init; } = new("https://api.github.com");

    /// <summary><c>ORCH_GITHUB_TOKEN</c>: host-wide GitHub token for projects without their own <c>forge_token</c>; required when <c>ORCH_PROJECTS_JSON</c> lists issue-#2 style projects.</summary>
    public string? GitHubToken { get; init; }

    /// <summary><c>ORCH_GITHUB_WEBHOOK_SECRET</c>; when unset every GitHub delivery is refused with 401.</summary>
    public string? GitHubWebhookSecret { get; init; }

    /// <summary><c>ORCH_PLANE_API_URL</c>: host-wide Plane server root (for projects without their own tracker settings).</summary>
    public Uri? PlaneApiUrl { get; init; }

    /// <summary><c>ORCH_PLANE_API_TOKEN</c> (sent as <c>X-Api-Key</c>).</summary>
    public string? PlaneApiToken { get; init; }

    /// <summary><c>ORCH_PLANE_WORKSPACE_SLUG</c>.</summary>
    public string? PlaneWorkspaceSlug { get; init; }

    /// <summary>Whether the host-wide Plane settings are all present.</summary>
    public bool HasHostPlane => PlaneApiUrl is not null && PlaneApiToken is not null && PlaneWorkspaceSlug is not null;

    /// <summary><c>ORCH_PUBLIC_URL</c>: the URL trackers and forges reach this host at (Asana webhook targets are built from it); <c>null</c> = unknown.</summary>
    public Uri? PublicUrl { get; init; }

    /// <summary>
    /// <c>ORCH_TELEGRAM_BOT_TOKEN</c>: the host-wide Telegram bot (from BotFather, <c>&lt;bot id&gt;:&lt;secret&gt;</c>); unset = no
    /// Telegram. Secret: it is part of every Bot API URL, so logs name the method only; never stored, never logged.
    /// </summary>
    public string? TelegramBotToken { get; init; }

    /// <summary><c>ORCH_TELEGRAM_API_URL</c>: the Bot API root (default <c>https://api.telegram.org</c>; a local Bot API server or a test fake otherwise).</summary>
    public Uri TelegramApiUrl { get; init; } = new(Telegram.TelegramApi.OfficialApiUrl);

    /// <summary>
    /// <c>ORCH_TELEGRAM_CHAT_INTERVAL</c>: the least time between two messages or edits in one chat, shared by every host
    /// (default 1 s: Telegram allows about one message per second per chat; the bot-wide 30 per second is fixed).
    /// </summary>
    public TimeSpan TelegramChatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary><c>ORCH_TELEGRAM_POLL_TIMEOUT</c>: how long one <c>getUpdates</c> long poll waits for updates (default 25 s).</summary>
    public TimeSpan TelegramPollTimeout { get; init; } = TimeSpan.FromSeconds(25);

    /// <summary><c>ORCH_REDELIVERY_INTERVAL</c>: how often failed GitHub deliveries are looked for and redelivered (default 10 min).</summary>
    public TimeSpan RedeliveryInterval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary><c>ORCH_PLANE_WEBHOOK_SECRET</c>; when unset every Plane delivery is refused with 401.</summary>
    public string? PlaneWebhookSecret { get; init; }

    /// <summary><c>ORCH_PROJECTS_JSON</c>: the entries in the legacy shape (<see cref="ProjectSettings"/>; bootstrapped into the database at startup).</summary>
    public IReadOnlyList<ProjectSettings> Projects { get; init; } = [];

    /// <summary>
    /// <c>ORCH_PROJECTS_JSON</c>: the entries in the new shape (an object with <c>"slug"</c> or <c>"tracker"</c> is a
    /// <see cref="ProjectDefinition"/>, optionally with <c>"secrets": {name: value}</c>). Upserted into the
    /// <c>projects</c> table at startup together with the legacy entries (<see cref="ProjectBootstrap"/>).
    /// </summary>
    public IReadOnlyList<ProjectSeed> ProjectSeeds { get; init; } = [];

    /// <summary><c>ORCH_MASTER_KEY</c>: base64 of the 32-byte AES-256 key that encrypts project secrets at rest. Secret; never logged.</summary>
    public string? MasterKey { get; init; }

    /// <summary><c>ORCH_MASTER_KEY_FILE</c>: a file holding the master key (32 raw bytes or their base64); default <c>&lt;ORCH_DATA_DIR&gt;/master.key</c>, created when missing.</summary>
    public string? MasterKeyFile { get; init; }

    /// <summary><c>ORCH_ADMIN_TOKEN</c>: when set, <c>/api/projects</c> requires <c>Authorization: Bearer &lt;token&gt;</c>. Secret; never logged.</summary>
    public string? AdminToken { get; init; }

    /// <summary>
    /// <c>ORCH_METRICS_URLS</c>: listen URLs (<c>;</c>-separated) of a separate server that serves only <c>GET /metrics</c>
    /// (Prometheus text format), e.g. <c>http://127.0.0.1:9464</c>; <c>null</c>: none. Without it and without
    /// <see cref="MetricsToken"/> there is no <c>/metrics</c> at all.
    /// </summary>
    public string? MetricsUrls { get; init; }

    /// <summary>
    /// <c>ORCH_METRICS_TOKEN</c>: when set, <c>/metrics</c> answers only <c>Authorization: Bearer &lt;token&gt;</c> (401
    /// otherwise) — on the separate server when <see cref="MetricsUrls"/> is set, else on the main listen URLs. Secret;
    /// never logged.
    /// </summary>
    public string? MetricsToken { get; init; }

    /// <summary><c>ORCH_LOG_FORMAT</c>: <c>text</c> (default, one line per entry) or <c>json</c> (one JSON object per line, scopes included).</summary>
    public string LogFormat { get; init; } = "text";

    /// <summary>
    /// <c>ORCH_INIT_ADMIN_TOKEN</c>: while no user exists, <c>/init</c> accepts this token once to create the host admin.
    /// Secret; never logged. Unset: <c>/init</c> explains how to set it.
    /// </summary>
    public string? InitAdminToken { get; init; }

    /// <summary>
    /// <c>ORCH_TRUSTED_PROXIES</c>: addresses or CIDRs of reverse proxies whose <c>X-Forwarded-For</c> /
    /// <c>X-Forwarded-Proto</c> are honoured (comma-separated); empty = none (the headers are ignored).
    /// </summary>
    public IReadOnlyList<System.Net.IPNetwork> TrustedProxies { get; init; } = [];

    /// <summary><c>ORCH_SESSION_IDLE_TIMEOUT</c>: a session unused this long ends (default 8 h).</summary>
    public TimeSpan SessionIdleTimeout { get; init; } = TimeSpan.FromHours(8);

    /// <summary><c>ORCH_SESSION_LIFETIME</c>: a session ends this long after sign-in (default 7 days).</summary>
    public TimeSpan SessionLifetime { get; init; } = TimeSpan.FromDays(7);

    /// <summary>
    /// <c>ORCH_OUTBOUND_ALLOWED_HOSTS</c>: where the orchestrator may connect on a project's behalf
    /// (<see cref="Platform.OutboundPolicy"/>): <c>external</c> (default), <c>loopback</c>, <c>private</c>, <c>*</c>, CIDRs,
    /// host names and <c>*.domain</c> wildcards, comma-separated. The host-wide URLs (<see cref="HostWideUrls"/>) are always allowed.
    /// </summary>
    public string OutboundAllowedHosts { get; init; } = Platform.OutboundPolicy.DefaultList;

    /// <summary>
    /// The URLs the administrator configured host-wide (GitHub API and the git host derived from it, Plane, the Telegram Bot API): allowed by
    /// the outbound policy whatever its list says, and the only URLs the host-wide tokens are ever sent to.
    /// </summary>
    public IReadOnlyList<Uri> HostWideUrls =>
        new[] { GitHubApiUrl, HostWideGitUrl, PlaneApiUrl, TelegramApiUrl }.OfType<Uri>().ToList();

    /// <summary>The git host of <see cref="GitHubApiUrl"/>: <c>https://github.com/</c> for <c>api.github.com</c>, else the API's own scheme and authority (GitHub Enterprise serves git there).</summary>
    public Uri HostWideGitUrl => GitHubApiUrl.Host == "api.github.com" ? new Uri("https://github.com/") : new Uri(GitHubApiUrl.GetLeftPart(UriPartial.Authority) + "/");

    /// <summary>Builds the outbound policy of these settings (<see cref="OutboundAllowedHosts"/> + <see cref="HostWideUrls"/>).</summary>
    /// <returns>The policy.</returns>
    /// <exception cref="FormatException">The list is invalid (<see cref="Load"/> reports that first).</exception>
    public Platform.OutboundPolicy CreateOutboundPolicy() => Platform.OutboundPolicy.Parse(OutboundAllowedHosts, HostWideUrls);

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

    /// <summary>
    /// <c>ORCH_WEBHOOK_MAX_BYTES</c>: when set, the largest accepted webhook body for every source, in bytes (at least
    /// 1024), replacing the per-source defaults of <see cref="WebhookMaxBytesFor"/>; larger bodies get 413.
    /// <c>null</c> (unset) = the per-source defaults.
    /// </summary>
    public long? WebhookMaxBytes { get; init; }

    /// <summary>
    /// <c>ORCH_WEBHOOK_MAX_CONCURRENT_BODIES</c>: webhook requests in progress at once (their bodies are buffered in
    /// memory until answered), default 16. More are answered 429 with <c>Retry-After</c> before their body is read,
    /// not queued. Unsigned bodies held at once are bounded by this times <see cref="WebhookMaxBytesFor"/>.
    /// </summary>
    public int WebhookMaxConcurrentBodies { get; init; } = 16;

    /// <summary>
    /// <c>ORCH_WEBHOOK_REFUSED_PER_MINUTE</c>: webhook requests refused for their signature (401, or 403 for a stray
    /// Asana handshake) one client address may cause per fixed one-minute window, default 30; after that its webhook
    /// requests get 429 with <c>Retry-After</c>, before their body is read, until the window ends. <c>0</c> = no limit
    /// (e.g. behind a reverse proxy, where every delivery comes from the proxy's address).
    /// </summary>
    public int WebhookRefusedPerMinute { get; init; } = 30;

    /// <summary>Default body cap of GitHub deliveries: GitHub caps payloads at 25 MB and drops larger events (https://docs.github.com/en/webhooks/webhook-events-and-payloads#payload-cap).</summary>
    public const long GitHubWebhookMaxBytesDefault = 25 * 1024 * 1024;

    /// <summary>
    /// Default body cap of Plane and Gitea deliveries, 5 MiB. Neither documents a cap. A Plane delivery is one serialised
    /// object (work item, comment, cycle, module) plus the changed field's old and new value
    /// (<c>apps/api/plane/bgtasks/webhook_task.py</c> in makeplane/plane); a Gitea delivery is one issue, pull request,
    /// comment or status with its repository, push deliveries carry at most <c>[ui] FEED_MAX_COMMIT_NUM</c> (default 5)
    /// commits (go-gitea/gitea). The real deliveries in our fixtures are 0.6–13 KB; 5 MiB leaves room for a very long
    /// description sent as both the old and the new value.
    /// </summary>
    public const long PlaneAndGiteaWebhookMaxBytesDefault = 5 * 1024 * 1024;

    /// <summary>
    /// Default body cap of Asana deliveries, 1 MiB: Asana's events are compact (gids, types, the changed field's name;
    /// https://developers.asana.com/docs/webhooks-guide), a few hundred bytes each.
    /// </summary>
    public const long AsanaWebhookMaxBytesDefault = 1024 * 1024;

    /// <summary>The largest accepted body of a delivery from <paramref name="source"/>: <see cref="WebhookMaxBytes"/> when set, else the source's default.</summary>
    /// <param name="source"><c>github</c>, <c>plane</c>, <c>gitea</c> or <c>asana</c> (anything else: the Asana default, the smallest).</param>
    /// <returns>Bytes.</returns>
    public long WebhookMaxBytesFor(string source) => WebhookMaxBytes ?? source switch
    {
        "github" => GitHubWebhookMaxBytesDefault,
        "plane" or "gitea" => PlaneAndGiteaWebhookMaxBytesDefault,
        _ => AsanaWebhookMaxBytesDefault,
    };

    /// <summary>The largest of the <see cref="WebhookMaxBytesFor"/> caps (the server's request body limit is set just above it).</summary>
    public long WebhookMaxBytesLargest => WebhookMaxBytes ?? GitHubWebhookMaxBytesDefault;

    /// <summary><c>ORCH_AGENTS_JSON</c>: the agents the role pipeline can run.</summary>
    public Orchestrator.Shared.Agents.AgentCatalog Agents { get; init; } = Orchestrator.Shared.Agents.AgentCatalog.Parse(null);

    /// <summary><c>ORCH_DATA_DIR</c>: git mirrors, worktrees, agent homes and run logs (default <c>$HOME/.local/share/orchestrator</c>).</summary>
    public string DataDirectory { get; init; } = DefaultDataDirectory();

    /// <summary><c>ORCH_MAX_AGENT_RUNS</c>: agent runs at once across all hosts (default 2).</summary>
    public int MaxAgentRuns { get; init; } = 2;

    /// <summary><c>ORCH_MAX_AGENT_RUNS_PER_PROJECT</c> (default 1).</summary>
    public int MaxAgentRunsPerProject { get; init; } = 1;

    /// <summary><c>ORCH_GIT_AUTHOR_NAME</c> / <c>ORCH_GIT_AUTHOR_EMAIL</c>: author of the commits made for agents.</summary>
    public (string Name, string Email) GitAuthor { get; init; } = ("Orchestrator", "orchestrator@localhost");

    private static string DefaultDataDirectory() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home ? home : Path.GetTempPath(), ".local", "share", "orchestrator");

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

        IReadOnlyList<System.Net.IPNetwork> Networks(string key)
        {
            var list = new List<System.Net.IPNetwork>();
            foreach (var entry in (Get(key) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (System.Net.IPNetwork.TryParse(entry, out var network))
                {
                    list.Add(network);
                }
                else if (System.Net.IPAddress.TryParse(entry, out var address))
                {
                    list.Add(new System.Net.IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
                }
                else
                {
                    errors.Add($"ORCH_{key}: '{entry}' is not an address or CIDR");
                }
            }

            return list;
        }

        var settings = new OrchestratorSettings
        {
            DatabaseUrl = Required("DATABASE_URL"),
            Urls = Get("URLS") ?? "http://127.0.0.1:8500",
            GitHubApiUrl = Url("GITHUB_API_URL", "https://api.github.com"),
            GitHubToken = Get("GITHUB_TOKEN"),
            GitHubWebhookSecret = Get("GITHUB_WEBHOOK_SECRET"),
            PlaneApiUrl = Get("PLANE_API_URL") is null ? null : Url("PLANE_API_URL", null),
            PlaneApiToken = Get("PLANE_API_TOKEN"),
            PlaneWorkspaceSlug = Get("PLANE_WORKSPACE_SLUG"),
            PublicUrl = Get("PUBLIC_URL") is null ? null : Url("PUBLIC_URL", null),
            RedeliveryInterval = Duration("REDELIVERY_INTERVAL", TimeSpan.FromMinutes(10)),
            TelegramBotToken = Get("TELEGRAM_BOT_TOKEN"),
            TelegramApiUrl = Url("TELEGRAM_API_URL", Telegram.TelegramApi.OfficialApiUrl),
            TelegramChatInterval = Duration("TELEGRAM_CHAT_INTERVAL", TimeSpan.FromSeconds(1)),
            TelegramPollTimeout = Duration("TELEGRAM_POLL_TIMEOUT", TimeSpan.FromSeconds(25)),
            PlaneWebhookSecret = Get("PLANE_WEBHOOK_SECRET"),
            Projects = ParseProjects(Get("PROJECTS_JSON") ?? "", errors, out var projectSeeds),
            ProjectSeeds = projectSeeds,
            MasterKey = Get("MASTER_KEY"),
            MasterKeyFile = Get("MASTER_KEY_FILE"),
            AdminToken = Get("ADMIN_TOKEN"),
            InitAdminToken = Get("INIT_ADMIN_TOKEN"),
            MetricsUrls = Get("METRICS_URLS"),
            MetricsToken = Get("METRICS_TOKEN"),
            LogFormat = (Get("LOG_FORMAT") ?? "text").ToLowerInvariant(),
            TrustedProxies = Networks("TRUSTED_PROXIES"),
            SessionIdleTimeout = Duration("SESSION_IDLE_TIMEOUT", TimeSpan.FromHours(8)),
            SessionLifetime = Duration("SESSION_LIFETIME", TimeSpan.FromDays(7)),
            OutboundAllowedHosts = Get("OUTBOUND_ALLOWED_HOSTS") ?? Platform.OutboundPolicy.DefaultList,
            CiPollInterval = Duration("CI_POLL_INTERVAL", TimeSpan.FromSeconds(30)),
            CiTimeout = Duration("CI_TIMEOUT", TimeSpan.FromHours(2)),
            ReconcileInterval = Duration("RECONCILE_INTERVAL", TimeSpan.FromMinutes(5)),
            WorkerConcurrency = (int)Number("WORKER_CONCURRENCY", 8, 1),
            LeaseDuration = Duration("LEASE_DURATION", TimeSpan.FromSeconds(60)),
            QueuePollInterval = Duration("QUEUE_POLL_INTERVAL", TimeSpan.FromSeconds(1)),
            WebhookMaxBytes = Get("WEBHOOK_MAX_BYTES") is null ? null : Number("WEBHOOK_MAX_BYTES", GitHubWebhookMaxBytesDefault, 1024),
            WebhookMaxConcurrentBodies = (int)Number("WEBHOOK_MAX_CONCURRENT_BODIES", 16, 1),
            WebhookRefusedPerMinute = (int)Number("WEBHOOK_REFUSED_PER_MINUTE", 30, 0),
            DataDirectory = Get("DATA_DIR") ?? DefaultDataDirectory(),
            MaxAgentRuns = (int)Number("MAX_AGENT_RUNS", 2, 1),
            MaxAgentRunsPerProject = (int)Number("MAX_AGENT_RUNS_PER_PROJECT", 1, 1),
            GitAuthor = (Get("GIT_AUTHOR_NAME") ?? "Orchestrator", Get("GIT_AUTHOR_EMAIL") ?? "orchestrator@localhost"),
        };

        try
        {
            settings = settings with { Agents = Orchestrator.Shared.Agents.AgentCatalog.Parse(Get("AGENTS_JSON")) };
        }
        catch (SettingsException ex)
        {
            errors.Add(ex.Message.Replace("Invalid configuration:\n  - ", "", StringComparison.Ordinal));
        }

        if (settings.Projects.Count > 0)
        {
            // Issue-#2 style projects use the host-wide Plane and GitHub settings.
            foreach (var (value, name) in new (object?, string)[]
            {
                (settings.GitHubToken, "GITHUB_TOKEN"), (settings.PlaneApiUrl, "PLANE_API_URL"),
                (settings.PlaneApiToken, "PLANE_API_TOKEN"), (settings.PlaneWorkspaceSlug, "PLANE_WORKSPACE_SLUG"),
            })
            {
                if (value is null && !errors.Any(e => e.StartsWith($"ORCH_{name} ", StringComparison.Ordinal)))
                {
                    errors.Add($"ORCH_{name} is required by the projects of ORCH_PROJECTS_JSON but not set");
                }
            }
        }

        foreach (var p in settings.Projects.Where(p => p.Mode is not ("dispatch" or "run")))
        {
            errors.Add($"ORCH_PROJECTS_JSON: project {p.PlaneProjectId} has mode '{p.Mode}'; use dispatch or run");
        }

        foreach (var p in settings.Projects.Where(p => p.Mode == "run" && p.Agent is not null && !settings.Agents.Names.Contains(p.Agent, StringComparer.OrdinalIgnoreCase)))
        {
            errors.Add($"ORCH_PROJECTS_JSON: project {p.PlaneProjectId} uses agent '{p.Agent}', which ORCH_AGENTS_JSON does not define");
        }

        try
        {
            _ = settings.CreateOutboundPolicy();
        }
        catch (FormatException ex)
        {
            errors.Add(ex.Message);
        }

        if (settings.LogFormat is not ("text" or "json"))
        {
            errors.Add($"ORCH_LOG_FORMAT must be text or json, got '{settings.LogFormat}'");
        }

        if (settings.MetricsUrls is { } metricsUrls && metricsUrls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Any(u => !u.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !u.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
        {
            errors.Add($"ORCH_METRICS_URLS must be http(s) listen URLs separated by ';', got '{metricsUrls}'");
        }

        if (settings.TelegramBotToken is { } botToken && !Telegram.TelegramApi.IsTokenShaped(botToken))
        {
            errors.Add("ORCH_TELEGRAM_BOT_TOKEN must be a bot token as BotFather gives it (<digits>:<35 or so letters, digits, '_' or '-'>)");
        }

        if (settings.TelegramPollTimeout > TimeSpan.FromSeconds(50))
        {
            errors.Add("ORCH_TELEGRAM_POLL_TIMEOUT must be at most 50s (getUpdates waits at most that long)");
        }

        if (settings.MasterKey is { } masterKey && SecretProtector.ParseBase64Key(masterKey) is null)
        {
            errors.Add(MasterKeyError);
        }

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

    /// <summary>The message for an <c>ORCH_MASTER_KEY</c> that is not base64 of 32 bytes (never includes the value).</summary>
    internal const string MasterKeyError = "ORCH_MASTER_KEY must be base64 of exactly 32 bytes (e.g. the output of `openssl rand -base64 32`)";

    private static readonly HashSet<string> SecretMembers =
    [
        nameof(DatabaseUrl), nameof(GitHubToken), nameof(GitHubWebhookSecret), nameof(PlaneApiToken), nameof(PlaneWebhookSecret),
        nameof(MasterKey), nameof(AdminToken), nameof(InitAdminToken), nameof(MetricsToken), nameof(TelegramBotToken),
    ];

    // The record's ToString: every property, but secret ones (by name, and any named like a token, secret,
    // key or password, so settings added later are covered too) print only whether they are set.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        var first = true;
        foreach (var property in typeof(OrchestratorSettings).GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            builder.Append(first ? "" : ", ").Append(property.Name).Append(" = ");
            first = false;
            var value = property.GetValue(this);
            if (SecretMembers.Contains(property.Name) || SecretName().IsMatch(property.Name))
            {
                builder.Append(value is null ? "(unset)" : "(set)");
            }
            else
            {
                builder.Append(value);
            }
        }

        return true;
    }

    [System.Text.RegularExpressions.GeneratedRegex("Token|Secret|Key|Password|Credential", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex SecretName();

    private static List<ProjectSettings> ParseProjects(string json, List<string> errors, out IReadOnlyList<ProjectSeed> seeds)
    {
        seeds = [];
        if (json.Length == 0)
        {
            return [];
        }

        System.Text.Json.Nodes.JsonArray? array;
        try
        {
            array = System.Text.Json.Nodes.JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip }) as System.Text.Json.Nodes.JsonArray;
        }
        catch (JsonException ex)
        {
            errors.Add($"ORCH_PROJECTS_JSON is not a JSON array of projects: {ex.Message}");
            return [];
        }

        if (array is null || array.Count == 0)
        {
            return []; // Projects may all live in the database.
        }

        // An entry with "slug" or "tracker" is the new shape (a ProjectDefinition with optional secrets); others are legacy.
        var projects = new List<(int Index, ProjectSettings Project)>();
        var newShape = new List<ProjectSeed>();
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is System.Text.Json.Nodes.JsonObject entry && (entry.ContainsKey("slug") || entry.ContainsKey("tracker")))
            {
                try
                {
                    var request = ProjectJson.ParseRequest(entry);
                    newShape.Add(new ProjectSeed(i, request.Definition, request.Secrets ?? new Dictionary<string, string?>()));
                }
                catch (ProjectValidationException ex)
                {
                    errors.AddRange(ex.Errors.Select(e => $"ORCH_PROJECTS_JSON[{i}]: {e}"));
                }

                continue;
            }

            try
            {
                projects.Add((i, array[i].Deserialize<ProjectSettings>() ?? throw new JsonException("null is not a project")));
            }
            catch (JsonException ex)
            {
                errors.Add($"ORCH_PROJECTS_JSON[{i}] is not a project: {ex.Message}");
            }
        }

        seeds = newShape;
        foreach (var (i, p) in projects)
        {
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

        return projects.Select(p => p.Project).ToList();
    }
}

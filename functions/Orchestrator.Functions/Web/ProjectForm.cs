using Microsoft.AspNetCore.Mvc.ModelBinding;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Web;

/// <summary>
/// The connection fields of a project as a form (create project; the settings screen extends it). Lists are one entry
/// per line or comma-separated. Secrets are write-only: an empty field keeps the stored value.
/// </summary>
public sealed class ProjectForm
{
    /// <summary>Display name.</summary>
    public string? Name { get; set; }

    /// <summary>URL-safe id.</summary>
    public string? Slug { get; set; }

    /// <summary><c>PREFIX</c> of <c>PREFIX-N</c>.</summary>
    public string? WorkItemPrefix { get; set; }

    /// <summary><c>plane</c> or <c>asana</c>.</summary>
    public string TrackerKind { get; set; } = TrackerConfig.Plane;

    /// <summary>Tracker API root; empty = the host-wide default.</summary>
    public string? TrackerBaseUrl { get; set; }

    /// <summary>Plane workspace slug or Asana workspace gid.</summary>
    public string? TrackerWorkspace { get; set; }

    /// <summary>Plane project UUIDs or Asana project gids.</summary>
    public string? TrackerProjectIds { get; set; }

    /// <summary>AutoTask label or tag.</summary>
    public string? TriggerLabel { get; set; } = "AutoTask";

    /// <summary><c>github</c> or <c>gitea</c>.</summary>
    public string ForgeKind { get; set; } = ForgeConfig.GitHub;

    /// <summary>Forge API root; empty = the host-wide GitHub.</summary>
    public string? ForgeBaseUrl { get; set; }

    /// <summary>Repositories <c>owner/name</c>.</summary>
    public string? Repos { get; set; }

    /// <summary>Default repository.</summary>
    public string? DefaultRepo { get; set; }

    /// <summary><c>dispatch</c> or <c>run</c>.</summary>
    public string Mode { get; set; } = "dispatch";

    /// <summary>Tracker token (write-only).</summary>
    public string? TrackerToken { get; set; }

    /// <summary>Forge token (write-only).</summary>
    public string? ForgeToken { get; set; }

    /// <summary>Tracker webhook secret (write-only; Plane).</summary>
    public string? TrackerWebhookSecret { get; set; }

    /// <summary>Forge webhook secret (write-only).</summary>
    public string? ForgeWebhookSecret { get; set; }

    /// <summary>Remove the stored tracker token (the settings screen; ignored when a new token is given).</summary>
    public bool RemoveTrackerToken { get; set; }

    /// <summary>Remove the stored forge token (ignored when a new token is given).</summary>
    public bool RemoveForgeToken { get; set; }

    /// <summary>Remove the stored tracker webhook secret (ignored when a new one is given).</summary>
    public bool RemoveTrackerWebhookSecret { get; set; }

    /// <summary>Remove the stored forge webhook secret (ignored when a new one is given).</summary>
    public bool RemoveForgeWebhookSecret { get; set; }

    /// <summary>
    /// The stored secrets masked (<see cref="StoredProject.MaskedSecrets"/>: name → <c>••••</c> + last 4), for display
    /// next to the write-only fields; never bound from a request and never the plaintext.
    /// </summary>
    [BindNever]
    public IReadOnlyDictionary<string, string>? StoredSecrets { get; set; }

    /// <summary>The definition these fields describe, on top of <paramref name="current"/> (whose other fields are kept).</summary>
    /// <param name="current">The stored definition, or <c>null</c> for a new project.</param>
    /// <returns>The definition (not validated).</returns>
    public ProjectDefinition ToDefinition(ProjectDefinition? current = null)
    {
        var baseline = current ?? new ProjectDefinition();
        Uri? Url(string? text) => string.IsNullOrWhiteSpace(text) ? null : Uri.TryCreate(text.Trim(), UriKind.Absolute, out var url) ? url : new Uri("invalid:" + Uri.EscapeDataString(text.Trim()));
        var slug = (Slug ?? "").Trim().ToLowerInvariant();
        return baseline with
        {
            Slug = current?.Slug ?? slug,
            Name = string.IsNullOrWhiteSpace(Name) ? (current?.Slug ?? slug) : Name.Trim(),
            WorkItemPrefix = (WorkItemPrefix ?? "").Trim(),
            Mode = Mode,
            Tracker = baseline.Tracker with
            {
                Kind = TrackerKind,
                BaseUrl = Url(TrackerBaseUrl),
                Workspace = string.IsNullOrWhiteSpace(TrackerWorkspace) ? null : TrackerWorkspace.Trim(),
                ProjectIds = List(TrackerProjectIds),
                Trigger = baseline.Tracker.Trigger with { Label = string.IsNullOrWhiteSpace(TriggerLabel) ? null : TriggerLabel.Trim() },
            },
            Forge = baseline.Forge with
            {
                Kind = ForgeKind,
                BaseUrl = Url(ForgeBaseUrl),
                Repos = List(Repos),
                DefaultRepo = string.IsNullOrWhiteSpace(DefaultRepo) ? null : DefaultRepo.Trim(),
            },
        };
    }

    /// <summary>The secrets the form sets (empty fields are left out: keep the stored value; a "remove" box without a new value: <c>null</c>).</summary>
    /// <returns>Name → value, or <c>null</c> to remove.</returns>
    public Dictionary<string, string?> SecretChanges()
    {
        var changes = new Dictionary<string, string?>(StringComparer.Ordinal);
        void Add(string name, string? value, bool remove)
        {
            if (!string.IsNullOrWhiteSpace(value))
            {
                changes[name] = value.Trim();
            }
            else if (remove)
            {
                changes[name] = null;
            }
        }

        Add(ProjectSecretNames.TrackerToken, TrackerToken, RemoveTrackerToken);
        Add(ProjectSecretNames.ForgeToken, ForgeToken, RemoveForgeToken);
        Add(ProjectSecretNames.TrackerWebhookSecret, TrackerWebhookSecret, RemoveTrackerWebhookSecret);
        Add(ProjectSecretNames.ForgeWebhookSecret, ForgeWebhookSecret, RemoveForgeWebhookSecret);
        return changes;
    }

    /// <summary>The fields of a stored definition.</summary>
    /// <param name="definition">The definition.</param>
    /// <returns>The form (secrets empty).</returns>
    public static ProjectForm From(ProjectDefinition definition) => new()
    {
        Name = definition.Name,
        Slug = definition.Slug,
        WorkItemPrefix = definition.WorkItemPrefix,
        TrackerKind = definition.Tracker.Kind,
        TrackerBaseUrl = definition.Tracker.BaseUrl?.ToString(),
        TrackerWorkspace = definition.Tracker.Workspace,
        TrackerProjectIds = string.Join("\n", definition.Tracker.ProjectIds),
        TriggerLabel = definition.Tracker.Trigger.Label,
        ForgeKind = definition.Forge.Kind,
        ForgeBaseUrl = definition.Forge.BaseUrl?.ToString(),
        Repos = string.Join("\n", definition.Forge.Repos),
        DefaultRepo = definition.Forge.DefaultRepo,
        Mode = definition.Mode,
    };

    /// <summary>
    /// Sorts validation messages (<c>tracker.project_ids must …</c>, <c>secrets.tracker_token: …</c>) onto the form's fields
    /// by their leading field name; messages that name no field go under <c>""</c>.
    /// </summary>
    /// <param name="errors">The messages.</param>
    /// <returns>Form field → message.</returns>
    public static Dictionary<string, string> FieldErrors(IEnumerable<string> errors)
    {
        var map = new (string Prefix, string Field)[]
        {
            ("slug", nameof(Slug)), ("name", nameof(Name)), ("work_item_prefix", nameof(WorkItemPrefix)), ("mode", nameof(Mode)),
            ("tracker.base_url", nameof(TrackerBaseUrl)), ("tracker.workspace", nameof(TrackerWorkspace)), ("workspace", nameof(TrackerWorkspace)),
            ("tracker.project_ids", nameof(TrackerProjectIds)), ("tracker.trigger", nameof(TriggerLabel)), ("tracker.kind", nameof(TrackerKind)),
            ("forge.base_url", nameof(ForgeBaseUrl)), ("forge.repos", nameof(Repos)), ("forge.default_repo", nameof(DefaultRepo)), ("forge.kind", nameof(ForgeKind)),
            ("forge.git_url", nameof(Repos)), ("secrets.tracker_token", nameof(TrackerToken)), ("secrets.forge_token", nameof(ForgeToken)),
            ("secrets.github_app_private_key", nameof(ForgeToken)), ("tracker.", nameof(TrackerProjectIds)), ("forge.", nameof(Repos)),
        };
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var error in errors)
        {
            var field = map.FirstOrDefault(m => error.StartsWith(m.Prefix, StringComparison.Ordinal)).Field ?? "";
            result[field] = result.TryGetValue(field, out var existing) ? existing + "; " + error : error;
        }

        return result;
    }

    private static IReadOnlyList<string> List(string? text) =>
        (text ?? "").Split(['\n', '\r', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
}

using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Web;

/// <summary>
/// Where each platform sends a project's webhooks and what it must send: the absolute endpoint URLs and the events the
/// router acts on (README, "Projects"). One place for the webhooks page, the forge hook check and their tests.
/// </summary>
public static class WebhookTargets
{
    /// <summary>GitHub events the pipeline needs (https://docs.github.com/en/webhooks/webhook-events-and-payloads): PR opened/edited/closed/merged, and CI of the merge commit.</summary>
    public static readonly IReadOnlyList<string> GitHubEvents = ["pull_request", "check_suite", "workflow_run"];

    /// <summary>Gitea events the pipeline needs (https://docs.gitea.com/usage/webhooks): pull requests (Gitea adds the whole pull-request family) and commit statuses.</summary>
    public static readonly IReadOnlyList<string> GiteaEvents = ["pull_request", "status"];

    /// <summary>
    /// The URL platforms reach this host at: <c>ORCH_PUBLIC_URL</c> when set, else the scheme, host and path base of the
    /// request (behind a proxy, only trusted forwarded headers change it: <c>ORCH_TRUSTED_PROXIES</c>).
    /// </summary>
    /// <param name="settings">Host settings.</param>
    /// <param name="request">The current request.</param>
    /// <returns>The base URL, without a trailing slash in its path.</returns>
    public static Uri BaseUrl(OrchestratorSettings settings, HttpRequest request) =>
        settings.PublicUrl is { IsAbsoluteUri: true } configured
            ? new Uri(configured.GetLeftPart(UriPartial.Path).TrimEnd('/'))
            : new Uri($"{request.Scheme}://{request.Host.ToUriComponent()}{request.PathBase.ToUriComponent()}".TrimEnd('/'));

    /// <summary>The per-project endpoint <c>{base}/webhooks/{source}/{slug}</c>.</summary>
    /// <param name="baseUrl">From <see cref="BaseUrl"/>.</param>
    /// <param name="source"><c>plane</c>, <c>github</c>, <c>gitea</c> or <c>asana</c>.</param>
    /// <param name="slug">Project slug.</param>
    /// <returns>The absolute URL.</returns>
    public static Uri ProjectEndpoint(Uri baseUrl, string source, string slug) =>
        new($"{baseUrl.AbsoluteUri.TrimEnd('/')}/webhooks/{source}/{Uri.EscapeDataString(slug)}");

    /// <summary>The host-wide endpoint <c>{base}/webhooks/{source}</c> (Plane and GitHub only, verified with the host-wide secrets).</summary>
    /// <param name="baseUrl">From <see cref="BaseUrl"/>.</param>
    /// <param name="source"><c>plane</c> or <c>github</c>.</param>
    /// <returns>The absolute URL.</returns>
    public static Uri HostWideEndpoint(Uri baseUrl, string source) => new($"{baseUrl.AbsoluteUri.TrimEnd('/')}/webhooks/{source}");

    /// <summary>
    /// The secret the per-project forge endpoint verifies with, as the webhook functions choose it: the project's
    /// <c>forge_webhook_secret</c>, else — for a GitHub project on the host-wide GitHub (no <c>base_url</c>) —
    /// <c>ORCH_GITHUB_WEBHOOK_SECRET</c>.
    /// </summary>
    /// <param name="project">The project.</param>
    /// <param name="settings">Host settings.</param>
    /// <returns>The secret and where it comes from, or <c>(null, …)</c> when deliveries cannot be verified.</returns>
    public static (string? Secret, string Origin) ForgeSecret(StoredProject project, OrchestratorSettings settings)
    {
        if (project.Secret(ProjectSecretNames.ForgeWebhookSecret) is { } own)
        {
            return (own, "the project's forge_webhook_secret");
        }

        return project.Definition.Forge.Kind == ForgeConfig.GitHub && project.Definition.Forge.BaseUrl is null && settings.GitHubWebhookSecret is { } hostWide
            ? (hostWide, "ORCH_GITHUB_WEBHOOK_SECRET, the host-wide secret: the project has no forge_webhook_secret")
            : (null, "none: set the project's forge_webhook_secret in Settings");
    }

    /// <summary>The secret the per-project Plane endpoint verifies with (as <see cref="ForgeSecret"/>, for the tracker side).</summary>
    /// <param name="project">A Plane project.</param>
    /// <param name="settings">Host settings.</param>
    /// <returns>The secret and its origin, or <c>(null, …)</c>.</returns>
    public static (string? Secret, string Origin) PlaneSecret(StoredProject project, OrchestratorSettings settings)
    {
        if (project.Secret(ProjectSecretNames.TrackerWebhookSecret) is { } own)
        {
            return (own, "the project's tracker_webhook_secret");
        }

        return project.Definition.Tracker.BaseUrl is null && settings.PlaneWebhookSecret is { } hostWide
            ? (hostWide, "ORCH_PLANE_WEBHOOK_SECRET, the host-wide secret: the project has no tracker_webhook_secret")
            : (null, "none: copy the secret Plane shows into the project's tracker_webhook_secret in Settings");
    }
}

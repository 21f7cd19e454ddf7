using Microsoft.AspNetCore.Mvc;
using Orchestrator.Functions.Functions;
using Orchestrator.Functions.Platforms;
using Orchestrator.Functions.Web;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Pages.Projects;

/// <summary>
/// <c>/p/{slug}/webhooks</c> (issue #9 §2): the URLs to paste into each platform with the events to pick and the secret
/// that signs them, the health of each source (last delivery, 24-hour counts, Asana's heartbeat), and for admins
/// "Set up Asana webhooks" (<see cref="AsanaWebhookSetup"/>) and "Validate forge webhooks" (<see cref="ForgeWebhookSetup"/>).
/// Viewers read; the two actions need an admin of the project.
/// </summary>
public sealed class WebhooksModel(
    OrchestratorSettings settings,
    WebhookHealth health,
    ProjectStore projects,
    AsanaWebhookSetup asanaSetup,
    ForgeWebhookSetup forgeSetup,
    ILogger<WebhooksModel> logger) : ProjectPageModel
{
    /// <summary>The URL platforms reach this host at (<see cref="WebhookTargets.BaseUrl"/>).</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>Health per source.</summary>
    public IReadOnlyList<SourceHealth> Health { get; private set; } = [];

    /// <summary>The project's Asana webhooks as stored (Asana projects).</summary>
    public IReadOnlyList<AsanaWebhookInfo> AsanaWebhooks { get; private set; } = [];

    /// <summary>The outcome of "Set up Asana webhooks", after that action.</summary>
    public IReadOnlyList<AsanaWebhookResult>? AsanaResults { get; private set; }

    /// <summary>Why "Set up Asana webhooks" did nothing, after that action.</summary>
    public string? AsanaError { get; private set; }

    /// <summary>The outcome of "Validate forge webhooks", after that action.</summary>
    public ForgeHookValidation? ForgeResult { get; private set; }

    /// <summary>Host settings (for the host-wide secrets' presence).</summary>
    public OrchestratorSettings Settings => settings;

    /// <inheritdoc />
    protected override string Section => "webhooks";

    /// <inheritdoc />
    protected override ProjectRole WriteRole => ProjectRole.Admin;

    /// <summary>The per-project endpoint of a source.</summary>
    /// <param name="source"><c>plane</c>, <c>github</c>, <c>gitea</c> or <c>asana</c>.</param>
    /// <returns>The absolute URL.</returns>
    public Uri Endpoint(string source) => WebhookTargets.ProjectEndpoint(BaseUrl, source, Project.Slug);

    /// <summary>Shows the page.</summary>
    public async Task OnGetAsync() => await LoadAsync();

    /// <summary>"Set up Asana webhooks": creates the missing ones with the handshake.</summary>
    public async Task<IActionResult> OnPostAsanaAsync()
    {
        BaseUrl = WebhookTargets.BaseUrl(settings, Request);
        if (Project.Definition.Tracker.Kind != TrackerConfig.Asana)
        {
            AsanaError = "This project's tracker is not Asana.";
            Response.StatusCode = StatusCodes.Status400BadRequest;
        }
        else if (await asanaSetup.TargetRefusalAsync(BaseUrl, HttpContext.RequestAborted) is { } refusal)
        {
            AsanaError = refusal;
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        }
        else
        {
            try
            {
                AsanaResults = await asanaSetup.EnsureAsync(Project, BaseUrl, HttpContext.RequestAborted);
                logger.LogInformation("Asana webhooks of {Project} set up from the web tool by {User}: {Results}", Project.Slug, Me.Name, string.Join(", ", AsanaResults.Select(r => r.Status.Split(':')[0])));
            }
            catch (Exception ex) when (ex is PlatformApiException or PermanentActivityException or OutboundRefusedException)
            {
                AsanaError = ex.Message;
                Response.StatusCode = StatusCodes.Status502BadGateway;
            }
        }

        await LoadAsync();
        return Page();
    }

    /// <summary>"Validate forge webhooks": checks every repository's hook and creates or fixes it when the token may.</summary>
    public async Task<IActionResult> OnPostForgeAsync()
    {
        BaseUrl = WebhookTargets.BaseUrl(settings, Request);
        ForgeResult = await forgeSetup.ValidateAsync(Project, BaseUrl, HttpContext.RequestAborted);
        logger.LogInformation("Forge webhooks of {Project} validated from the web tool by {User}: {Results}", Project.Slug, Me.Name, string.Join(", ", ForgeResult.Repos.Select(r => $"{r.Repo} {r.Finding}/{r.Action}")));
        if (ForgeResult.Refusal is not null)
        {
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        }

        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        BaseUrl = WebhookTargets.BaseUrl(settings, Request);
        Health = await health.ForAsync(Project, HttpContext.RequestAborted);
        if (Project.Definition.Tracker.Kind == TrackerConfig.Asana)
        {
            AsanaWebhooks = await projects.ListAsanaWebhooksAsync(Project.Slug, HttpContext.RequestAborted);
        }
    }
}

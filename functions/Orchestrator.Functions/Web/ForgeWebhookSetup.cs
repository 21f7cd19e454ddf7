using System.Net;
using Orchestrator.Functions.Platforms;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Web;

/// <summary>What the forge hook check found for one repository and what it did.</summary>
/// <param name="Repo"><c>owner/name</c>.</param>
/// <param name="Finding"><c>ok</c>, <c>missing</c> (no hook at our URL), <c>wrong</c> (one at our URL with the wrong events, content type, state or no secret) or <c>unknown</c> (the hooks could not be read).</param>
/// <param name="Action"><c>none</c>, <c>created</c>, <c>fixed</c>, <c>manual</c> (the token may not manage hooks: add it by hand), <c>skipped</c> (nothing to create it with) or <c>failed</c>.</param>
/// <param name="Detail">What is wrong, what was done, or what to do (no secrets).</param>
/// <param name="HookId">The hook's id, when there is one.</param>
public sealed record ForgeHookReport(string Repo, string Finding, string Action, string Detail, long? HookId = null)
{
    /// <summary>Whether the repository is set up now.</summary>
    public bool Good => Action is "none" or "created" or "fixed" && Finding != "unknown";
}

/// <summary>The outcome of <see cref="ForgeWebhookSetup.ValidateAsync"/>.</summary>
/// <param name="Target">Our endpoint the hooks must point at.</param>
/// <param name="Events">The events they must send.</param>
/// <param name="SecretOrigin">Which secret they must be signed with (name and mask only).</param>
/// <param name="Refusal">Why nothing was checked (the outbound policy refuses the target, the project cannot reach its forge), else <c>null</c>.</param>
/// <param name="Repos">One report per repository, in <c>forge.repos</c> order.</param>
/// <param name="HookIdsNote">What happened to <c>forge.hook_ids</c> (GitHub), or <c>null</c> when nothing changed.</param>
public sealed record ForgeHookValidation(Uri Target, IReadOnlyList<string> Events, string SecretOrigin, string? Refusal, IReadOnlyList<ForgeHookReport> Repos, string? HookIdsNote);

/// <summary>
/// "Validate forge webhooks" (issue #9 §2): for each repository of a project, lists its hooks (GitHub
/// <c>GET /repos/{o}/{r}/hooks</c>, Gitea <c>GET /api/v1/repos/{o}/{r}/hooks</c>), checks that one points at our
/// per-project endpoint with JSON bodies, the events <see cref="WebhookTargets"/> names, active and (GitHub) with a secret,
/// and creates or fixes it when the token may. A 403 or 404 answer means the token may not manage hooks: the report says
/// to add it by hand and the page shows the values. The target obeys the outbound policy like every URL we register.
/// Created or found GitHub hook ids are stored in <c>forge.hook_ids</c> for the redelivery sweeper.
/// </summary>
/// <remarks>
/// A GitHub project on the host-wide GitHub may instead have its hook on the host-wide <c>/webhooks/github</c> endpoint
/// (verified with <c>ORCH_GITHUB_WEBHOOK_SECRET</c>, routed by repository): such a hook counts, so no second one is added
/// (two hooks would deliver every event twice, under different delivery ids). Hooks pointing anywhere else are other
/// integrations and are left alone. Gitea never shows a hook's secret and its edit cannot change one: a Gitea hook whose
/// deliveries are refused must be deleted and validated again.
/// </remarks>
public sealed class ForgeWebhookSetup(PlatformRegistry platforms, ProjectStore projects, OutboundPolicy outbound, OrchestratorSettings settings, ILogger<ForgeWebhookSetup> log)
{
    private static readonly TimeSpan PerRepoTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Checks (and where possible creates or fixes) the hook of every repository of <paramref name="project"/>.</summary>
    /// <param name="project">The project.</param>
    /// <param name="baseUrl">The URL the forge reaches this host at (<see cref="WebhookTargets.BaseUrl"/>).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The reports.</returns>
    public async Task<ForgeHookValidation> ValidateAsync(StoredProject project, Uri baseUrl, CancellationToken cancellationToken)
    {
        var forge = project.Definition.Forge;
        var isGitHub = forge.Kind == ForgeConfig.GitHub;
        var source = isGitHub ? "github" : "gitea";
        var target = WebhookTargets.ProjectEndpoint(baseUrl, source, project.Slug);
        var events = isGitHub ? WebhookTargets.GitHubEvents : WebhookTargets.GiteaEvents;
        var (secret, origin) = WebhookTargets.ForgeSecret(project, settings);
        var secretOrigin = secret is null ? origin : $"{origin} ({SecretProtector.Mask(secret)})";
        ForgeHookValidation Refused(string why) => new(target, events, secretOrigin, why, [], null);

        // A webhook target is a URL we make a platform call: the same outbound policy as our own calls.
        if (await outbound.CheckUrlAsync(target, cancellationToken) is { } refusal)
        {
            return Refused($"The webhook target {target} is refused by the outbound policy: {refusal}. Set ORCH_PUBLIC_URL to the address the forge reaches this host at.");
        }

        IRepositoryHooks? hooks;
        try
        {
            hooks = platforms.For(project).Forge as IRepositoryHooks;
        }
        catch (PermanentActivityException ex)
        {
            return Refused(ex.Message);
        }

        if (hooks is null)
        {
            return Refused("This forge client cannot manage repository hooks.");
        }

        // The host-wide endpoint also reaches this project when the project uses the host-wide GitHub and its secret.
        var alsoOurs = isGitHub && forge.BaseUrl is null && project.Secret(ProjectSecretNames.ForgeWebhookSecret) is null
            ? WebhookTargets.HostWideEndpoint(baseUrl, "github")
            : null;
        var settingsToSet = secret is null ? null : new RepositoryHookSettings(target, secret, events);
        var reports = new List<ForgeHookReport>();
        foreach (var repo in forge.Repos)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(PerRepoTimeout);
            try
            {
                reports.Add(await CheckRepoAsync(hooks, RepoRef.Parse(repo), target, alsoOurs, events, settingsToSet, origin, forge.HookIds?.GetValueOrDefault(repo), timeout.Token));
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                reports.Add(new ForgeHookReport(repo, "unknown", "failed", $"no answer within {PerRepoTimeout.TotalSeconds:0} s"));
            }
        }

        var note = isGitHub ? await StoreHookIdsAsync(project, reports, cancellationToken) : null;
        return new ForgeHookValidation(target, events, secretOrigin, null, reports, note);
    }

    private async Task<ForgeHookReport> CheckRepoAsync(
        IRepositoryHooks hooks, RepoRef repo, Uri target, Uri? alsoOurs, IReadOnlyList<string> events, RepositoryHookSettings? wanted, string secretOrigin, long? storedId, CancellationToken ct)
    {
        var name = repo.FullName;
        IReadOnlyList<RepositoryHook> existing;
        try
        {
            existing = await hooks.ListHooksAsync(repo, ct);
        }
        catch (PlatformApiException ex) when (IsNoPermission(ex))
        {
            return new ForgeHookReport(name, "unknown", "manual", "The token may not manage hooks: add it by hand with the values below.");
        }
        catch (PlatformApiException ex)
        {
            return new ForgeHookReport(name, "unknown", "failed", ex.Message);
        }

        var ours = existing.Where(h => SameUrl(h.Url, target)).OrderByDescending(h => h.Id == storedId).ThenBy(h => h.Id).ToList();
        var viaHostWide = ours.Count == 0 && alsoOurs is not null
            ? existing.Where(h => SameUrl(h.Url, alsoOurs)).OrderByDescending(h => h.Id == storedId).ThenBy(h => h.Id).FirstOrDefault()
            : null;
        var hook = ours.FirstOrDefault() ?? viaHostWide;
        var notes = ours.Count > 1 ? $" {ours.Count} hooks point at this URL: every event arrives {ours.Count} times; delete all but hook {hook!.Id}." : "";

        // A hook for this project's endpoint on another address (an older public URL) still delivers there: say so.
        var stale = existing.Where(h => !SameUrl(h.Url, target) && SamePath(h.Url, target)).Select(h => $"hook {h.Id} ({h.Url})").ToList();
        if (stale.Count > 0)
        {
            notes += $" Also pointing at this project's endpoint on another address: {string.Join(", ", stale)}; delete it if that address is gone.";
        }

        if (hook is null)
        {
            if (wanted is null)
            {
                return new ForgeHookReport(name, "missing", "skipped", $"No hook points at {target}, and there is no secret to create one with: {secretOrigin}.");
            }

            try
            {
                var created = await hooks.CreateHookAsync(repo, wanted, ct);
                log.LogInformation("Forge hook {Hook} created for {Repo}", created.Id, name);
                return new ForgeHookReport(name, "missing", "created", $"Created hook {created.Id} for {string.Join(", ", events)}.{notes}", created.Id);
            }
            catch (PlatformApiException ex) when (IsNoPermission(ex))
            {
                return new ForgeHookReport(name, "missing", "manual", "No hook points at our URL, and the token may not manage hooks: add it by hand with the values below.");
            }
            catch (PlatformApiException ex)
            {
                return new ForgeHookReport(name, "missing", "failed", ex.Message);
            }
        }

        var problems = new List<string>();
        if (hook.MissingEvents(events) is { Count: > 0 } missing)
        {
            problems.Add($"events lack {string.Join(", ", missing)}");
        }

        if (!string.Equals(hook.ContentType, "json", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"content type is {hook.ContentType ?? "unset"}, not json");
        }

        if (!hook.Active)
        {
            problems.Add("the hook is inactive");
        }

        if (hook.HasSecret == false)
        {
            problems.Add("the hook has no secret (its deliveries are refused)");
        }

        var where = viaHostWide is not null ? $" (on the host-wide endpoint {alsoOurs}, verified with ORCH_GITHUB_WEBHOOK_SECRET)" : "";
        var secretNote = hook.HasSecret is null ? " Gitea does not show a hook's secret: if the health table shows refused signatures, delete this hook and validate again." : "";
        if (problems.Count == 0)
        {
            return new ForgeHookReport(name, "ok", "none", $"Hook {hook.Id}{where} is set up.{secretNote}{notes}", hook.Id);
        }

        var what = string.Join("; ", problems);
        if (wanted is null || viaHostWide is not null)
        {
            // The host-wide hook is left as it is: its URL and secret are the host's, not this project's to change.
            return new ForgeHookReport(name, "wrong", "skipped", $"Hook {hook.Id}{where}: {what}. Fix it by hand{(wanted is null ? $"; no secret to set: {secretOrigin}" : "")}.", hook.Id);
        }

        try
        {
            // The union keeps events someone added on purpose; Gitea would reset any we left out.
            var fixedEvents = hook.Events.Concat(events).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            var updated = await hooks.UpdateHookAsync(repo, hook, new RepositoryHookSettings(wanted.Url, wanted.Secret, fixedEvents), ct);
            log.LogInformation("Forge hook {Hook} of {Repo} fixed", updated.Id, name);
            return new ForgeHookReport(name, "wrong", "fixed", $"Hook {hook.Id}: {what}. Fixed: active, json, {string.Join(", ", events)}{(hooks.UpdatesSecret ? ", the secret set" : "")}.{secretNote}{notes}", updated.Id);
        }
        catch (PlatformApiException ex) when (IsNoPermission(ex))
        {
            return new ForgeHookReport(name, "wrong", "manual", $"Hook {hook.Id}: {what}. The token may not manage hooks: fix it by hand with the values below.", hook.Id);
        }
        catch (PlatformApiException ex)
        {
            return new ForgeHookReport(name, "wrong", "failed", $"Hook {hook.Id}: {what}. Not fixed: {ex.Message}", hook.Id);
        }
    }

    /// <summary>Stores the GitHub hook ids found or created in <c>forge.hook_ids</c>; retries once when the project changed meanwhile.</summary>
    private async Task<string?> StoreHookIdsAsync(StoredProject project, IReadOnlyList<ForgeHookReport> reports, CancellationToken ct)
    {
        var found = reports.Where(r => r.HookId is not null && r.Good).ToDictionary(r => r.Repo, r => r.HookId!.Value, StringComparer.Ordinal);
        if (found.Count == 0)
        {
            return null;
        }

        var current = project;
        for (var attempt = 0; attempt < 2 && current is not null; attempt++)
        {
            var ids = new Dictionary<string, long>(current.Definition.Forge.HookIds ?? new Dictionary<string, long>(), StringComparer.Ordinal);
            var changed = false;
            foreach (var (repo, id) in found.Where(f => current.Definition.Forge.Repos.Contains(f.Key, StringComparer.Ordinal)))
            {
                changed |= !ids.TryGetValue(repo, out var old) || old != id;
                ids[repo] = id;
            }

            if (!changed)
            {
                return null;
            }

            try
            {
                var definition = current.Definition with { Forge = current.Definition.Forge with { HookIds = ids } };
                await projects.UpdateAsync(current.Slug, definition, null, current.Version, ct);
                return $"Stored the hook ids in forge.hook_ids ({string.Join(", ", found.Select(f => $"{f.Key}: {f.Value}"))}): failed deliveries are redelivered.";
            }
            catch (ProjectConflictException)
            {
                current = await projects.GetAsync(project.Slug, ct);
            }
            catch (Exception ex) when (ex is ProjectValidationException or ProjectRuleException)
            {
                return $"The hook ids were not stored: {ex.Message}";
            }
        }

        return "The hook ids were not stored: the project kept changing; validate again.";
    }

    /// <summary>403 or 404 from a hook route: the token lacks admin rights on the repository (GitHub answers 404 to hide it).</summary>
    private static bool IsNoPermission(PlatformApiException ex) =>
        !ex.IsTransient && ex.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.NotFound;

    private static bool SamePath(string? listed, Uri ours) =>
        listed is not null && Uri.TryCreate(listed.Trim(), UriKind.Absolute, out var url)
        && string.Equals(url.AbsolutePath.TrimEnd('/'), ours.AbsolutePath.TrimEnd('/'), StringComparison.Ordinal);

    private static bool SameUrl(string? listed, Uri ours)
    {
        if (listed is null || !Uri.TryCreate(listed.Trim(), UriKind.Absolute, out var url))
        {
            return false;
        }

        return string.Equals(url.Scheme, ours.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(url.Authority, ours.Authority, StringComparison.OrdinalIgnoreCase)
            && string.Equals(url.AbsolutePath.TrimEnd('/'), ours.AbsolutePath.TrimEnd('/'), StringComparison.Ordinal)
            && string.Equals(url.Query, ours.Query, StringComparison.Ordinal);
    }
}

using Microsoft.Extensions.Logging;
using Orchestrator.Shared.Configuration;

namespace Orchestrator.Shared.Projects;

/// <summary>
/// Seeds the <c>projects</c> table from <c>ORCH_PROJECTS_JSON</c> at startup: every legacy entry
/// (<see cref="OrchestratorSettings.Projects"/>, converted by <see cref="FromLegacy"/>) and every new-shape entry
/// (<see cref="OrchestratorSettings.ProjectSeeds"/>) is created, or updated when the entry changed since the start that
/// applied it last (<see cref="ProjectStore.UpsertAsync"/>; secrets the entry does not mention are kept). An entry that did
/// not change writes nothing, so edits made through the API survive restarts until the entry itself is edited; a project
/// deleted through the API while its entry remains comes back at the next start.
/// </summary>
/// <param name="settings">Host settings.</param>
/// <param name="store">Project store.</param>
/// <param name="logger">Logs what each entry did (slug, version; never secrets).</param>
public sealed class ProjectBootstrap(OrchestratorSettings settings, ProjectStore store, ILogger<ProjectBootstrap> logger)
{
    /// <summary>
    /// A legacy entry as a definition: slug = <c>work_item_prefix</c> lower-cased (<c>_</c> → <c>-</c>), name = the
    /// prefix, Plane tracker (host-wide URL and workspace) with <c>[plane_project_id]</c> and trigger label
    /// <c>trigger_label</c>, GitHub forge (host-wide URL) with <c>[repo]</c> and <c>git_url</c>; the rest as given.
    /// </summary>
    /// <param name="legacy">The legacy entry.</param>
    /// <returns>The definition (not validated).</returns>
    public static ProjectDefinition FromLegacy(ProjectSettings legacy) => new()
    {
        Slug = legacy.WorkItemPrefix.Trim().ToLowerInvariant().Replace('_', '-'),
        Name = legacy.WorkItemPrefix.Trim(),
        Tracker = new TrackerConfig
        {
            Kind = TrackerConfig.Plane,
            BaseUrl = null,
            Workspace = null,
            ProjectIds = [legacy.PlaneProjectId],
            Trigger = new TriggerRule { Label = legacy.TriggerLabel },
        },
        Forge = new ForgeConfig
        {
            Kind = ForgeConfig.GitHub,
            BaseUrl = null,
            Repos = [legacy.Repo],
            GitUrl = legacy.GitUrl,
        },
        WorkItemPrefix = legacy.WorkItemPrefix.Trim(),
        AgentCommand = legacy.AgentCommand,
        Mode = legacy.Mode,
        RequireCi = legacy.RequireCi,
        Agent = legacy.Agent,
        Agents = legacy.Agents,
        BudgetUsd = legacy.BudgetUsd,
    };

    /// <summary>Upserts every entry; all entries are checked before any is written.</summary>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <exception cref="SettingsException">An entry is invalid or conflicts with another project; the message names each entry.</exception>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        var entries = settings.Projects
            .Select(p => (Name: $"ORCH_PROJECTS_JSON entry '{p.WorkItemPrefix}' (plane_project_id {p.PlaneProjectId})", Definition: FromLegacy(p), Secrets: (IReadOnlyDictionary<string, string?>)new Dictionary<string, string?>()))
            .Concat(settings.ProjectSeeds.Select(s => (Name: $"ORCH_PROJECTS_JSON[{s.Index}] (slug '{s.Definition.Slug}')", s.Definition, s.Secrets)))
            .ToList();

        var errors = new List<string>();
        foreach (var (name, definition, secrets) in entries)
        {
            errors.AddRange(store.ValidationErrors(definition, secrets).Select(e => $"{name}: {e}"));
        }

        foreach (var duplicate in entries.GroupBy(e => e.Definition.Slug, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            errors.Add($"{string.Join(" and ", duplicate.Select(d => d.Name))} have the same slug '{duplicate.Key}'");
        }

        ThrowIfAny(errors);
        foreach (var (name, definition, secrets) in entries)
        {
            try
            {
                var (project, outcome) = await store.UpsertAsync(definition, secrets, cancellationToken);
                logger.LogInformation("{Entry}: project {Slug} {Outcome} (version {Version})", name, project.Slug, outcome.ToString().ToLowerInvariant(), project.Version);
            }
            catch (Exception ex) when (ex is ProjectValidationException or ProjectConflictException or ProjectRuleException)
            {
                errors.Add($"{name}: {ex switch { ProjectValidationException v => string.Join("; ", v.Errors), ProjectRuleException r => string.Join("; ", r.Errors), _ => ex.Message }}");
            }
        }

        ThrowIfAny(errors);
    }

    private static void ThrowIfAny(List<string> errors)
    {
        if (errors.Count > 0)
        {
            throw new SettingsException("Invalid configuration:\n  - " + string.Join("\n  - ", errors));
        }
    }
}

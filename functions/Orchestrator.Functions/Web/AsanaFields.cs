using Orchestrator.Functions.Platforms;
using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Web;

/// <summary>A custom field of a project's Asana projects, as the settings screen offers it.</summary>
/// <param name="Gid">Field gid (what a pick stores).</param>
/// <param name="Name">Field name.</param>
/// <param name="Type"><c>enum</c>, <c>text</c>, … (only enum fields can be the AutoTask, Repo or Status field).</param>
/// <param name="Options">The field's options (enum fields).</param>
/// <param name="TrackerProjects">The Asana project gids of this project that have the field.</param>
public sealed record AsanaFieldChoice(string Gid, string Name, string? Type, IReadOnlyList<AsanaFieldOption> Options, IReadOnlyList<string> TrackerProjects)
{
    /// <summary>Whether the field is an enum (single choice).</summary>
    public bool IsEnum => Type == "enum";

    /// <summary>Whether this field is the one a rule names (by gid, or by name case-insensitively, as <see cref="TrackerRules"/> matches).</summary>
    /// <param name="field">Gid or name from the project's rules.</param>
    /// <returns><c>true</c> when it is.</returns>
    public bool Matches(string? field) =>
        field is { Length: > 0 } f && (Gid == f.Trim() || string.Equals(Name.Trim(), f.Trim(), StringComparison.OrdinalIgnoreCase));
}

/// <summary>What "Sync repos to the Asana Repo field" did.</summary>
/// <param name="Field">The repo field.</param>
/// <param name="Added">Repos an option was created for, in the forge's order.</param>
/// <param name="Present">Repos an enabled option already named (directly or through the option mapping).</param>
/// <param name="Disabled">Repos only a disabled ("trashed") option names: nothing is added, the option should be restored in Asana.</param>
public sealed record RepoSyncResult(AsanaFieldChoice Field, IReadOnlyList<string> Added, IReadOnlyList<string> Present, IReadOnlyList<string> Disabled);

/// <summary>An Asana field action that cannot be done as the project is configured (message for people, no secrets).</summary>
/// <param name="message">What is wrong.</param>
public sealed class AsanaFieldsException(string message) : Exception(message);

/// <summary>
/// The settings screen's Asana field tools, with the project's own Asana client (<see cref="PlatformRegistry"/>): list the
/// custom fields of the project's Asana projects (<c>GET /projects/{gid}/custom_field_settings</c>), and give the Repo field
/// an option for every forge repo that has none (<c>POST /custom_fields/{gid}/enum_options</c>) — idempotent, since the
/// options are read first and a repo counts as present when an option names it directly or through
/// <see cref="RepoFieldRule.Options"/>.
/// </summary>
/// <param name="platforms">The project clients.</param>
public sealed class AsanaFields(PlatformRegistry platforms)
{
    /// <summary>The custom fields of every Asana project of <paramref name="project"/>, once each, in Asana's order.</summary>
    /// <param name="project">An Asana project.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The fields.</returns>
    /// <exception cref="AsanaFieldsException">The project does not use Asana, or its client cannot be built (no token).</exception>
    /// <exception cref="PlatformApiException">Asana refused or failed (the message names the call).</exception>
    /// <exception cref="OutboundRefusedException">The outbound policy refuses the project's Asana URL.</exception>
    public async Task<IReadOnlyList<AsanaFieldChoice>> ListAsync(StoredProject project, CancellationToken cancellationToken)
    {
        var client = ClientOf(project);
        var fields = new List<AsanaFieldChoice>();
        foreach (var trackerProject in project.Definition.Tracker.ProjectIds)
        {
            foreach (var setting in await client.ListProjectCustomFieldSettingsAsync(trackerProject, cancellationToken))
            {
                var field = setting.CustomField;
                var index = fields.FindIndex(f => f.Gid == field.Gid);
                if (index >= 0)
                {
                    fields[index] = fields[index] with { TrackerProjects = [.. fields[index].TrackerProjects, trackerProject] };
                }
                else
                {
                    fields.Add(new AsanaFieldChoice(field.Gid, field.Name, field.ResourceSubtype, field.EnumOptions, [trackerProject]));
                }
            }
        }

        return fields;
    }

    /// <summary>Adds an option named <c>owner/name</c> to the Repo field for each forge repo no option names yet.</summary>
    /// <param name="project">An Asana project with <c>tracker.repo_field</c> set.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>What was added and what was there already.</returns>
    /// <exception cref="AsanaFieldsException">Not Asana, no repo field set, the field is not among the project's custom fields or is not an enum.</exception>
    /// <exception cref="PlatformApiException">Asana refused or failed; options created before the failure stay (a second run adds the rest).</exception>
    /// <exception cref="OutboundRefusedException">The outbound policy refuses the project's Asana URL.</exception>
    public async Task<RepoSyncResult> SyncRepoOptionsAsync(StoredProject project, CancellationToken cancellationToken)
    {
        var rule = project.Definition.Tracker.RepoField
            ?? throw new AsanaFieldsException("Set the Repo field first (Asana custom fields below), then sync.");
        var fields = await ListAsync(project, cancellationToken);
        var field = fields.FirstOrDefault(f => f.Matches(rule.Field))
            ?? throw new AsanaFieldsException($"The Repo field '{rule.Field}' is not among the custom fields of the project's Asana projects ({string.Join(", ", fields.Select(f => f.Name))}).");
        if (!field.IsEnum)
        {
            throw new AsanaFieldsException($"The Repo field '{field.Name}' is a {field.Type} field; it must be a single-choice (enum) field.");
        }

        var client = ClientOf(project);
        var added = new List<string>();
        var present = new List<string>();
        var disabled = new List<string>();
        foreach (var repo in project.Definition.Forge.Repos)
        {
            var naming = field.Options.Where(o => Names(rule, o.Name, repo)).ToList();
            if (naming.Any(o => o.Enabled))
            {
                present.Add(repo);
            }
            else if (naming.Count > 0)
            {
                disabled.Add(repo);
            }
            else
            {
                var option = await client.CreateEnumOptionAsync(field.Gid, repo, cancellationToken);
                field = field with { Options = [.. field.Options, option] };
                added.Add(repo);
            }
        }

        return new RepoSyncResult(field, added, present, disabled);
    }

    /// <summary>Whether an option stands for <paramref name="repo"/>: mapped to it, or (unmapped) named like it — as <see cref="TrackerRules.Repo"/> reads a task.</summary>
    private static bool Names(RepoFieldRule rule, string option, string repo)
    {
        var mapped = rule.Options?.FirstOrDefault(o => string.Equals(o.Key.Trim(), option.Trim(), StringComparison.OrdinalIgnoreCase)).Value;
        return string.Equals((mapped ?? option).Trim(), repo, StringComparison.OrdinalIgnoreCase);
    }

    private IAsanaClient ClientOf(StoredProject project)
    {
        if (project.Definition.Tracker.Kind != TrackerConfig.Asana)
        {
            throw new AsanaFieldsException("This project's tracker is not Asana.");
        }

        try
        {
            return platforms.For(project).Tracker is AsanaTracker asana
                ? asana.Client
                : throw new AsanaFieldsException("This project's tracker is not Asana.");
        }
        catch (PermanentActivityException ex)
        {
            throw new AsanaFieldsException(ex.Message);
        }
    }
}

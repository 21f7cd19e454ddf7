using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Plane;

namespace Orchestrator.Shared.Projects;

/// <summary>What a project's rules make of a tracker item at one moment.</summary>
/// <param name="Triggered">The AutoTask marker is on; <c>null</c> when the delivery did not say (e.g. Plane label ids only).</param>
/// <param name="Repo">The repo the item names: the canonical <c>owner/name</c> when it is one of the project's repos, the raw
/// option name when it is not (the pipeline then waits in <c>NEEDS_REPO</c>), <c>null</c> when none is named.</param>
/// <param name="Lifecycle"><see cref="TrackerRules.Active"/>, <see cref="TrackerRules.Blocked"/>, <see cref="TrackerRules.Cancelled"/>, or <c>null</c> when unknown.</param>
/// <param name="Completed">The item is completed (Asana <c>completed</c>, Plane state group <c>completed</c>); <c>null</c> when unknown.</param>
public sealed record TrackerFacts(bool? Triggered, string? Repo, string? Lifecycle, bool? Completed);

/// <summary>
/// The gating rules of issue #4 as pure functions: AutoTask marker, repo choice and status mapping, for
/// Asana tasks (<see cref="AsanaTask"/>, fetched with custom fields and tags) and Plane work items.
/// </summary>
public static class TrackerRules
{
    /// <summary>Lifecycle: the task proceeds.</summary>
    public const string Active = "ACTIVE";

    /// <summary>Lifecycle: marked blocked (the pipeline keeps going; users see <c>BLOCKED</c>).</summary>
    public const string Blocked = "BLOCKED";

    /// <summary>Lifecycle: cancelled (the forge issue is closed as not planned; the pipeline stops).</summary>
    public const string Cancelled = "CANCELLED";

    /// <summary>Evaluates an Asana task.</summary>
    /// <param name="project">The project whose rules apply.</param>
    /// <param name="task">The task, fetched with <c>custom_fields</c> (enum values) and <c>tags</c>.</param>
    /// <returns>The facts.</returns>
    public static TrackerFacts Evaluate(ProjectDefinition project, AsanaTask task)
    {
        var trigger = project.Tracker.Trigger;
        var byTag = trigger.Label is { Length: > 0 } tag && task.Tags.Any(t => Same(t.Name, tag));
        var byField = trigger.Field is { Length: > 0 } field && EnumName(task, field) is { } on && trigger.OnValues.Any(v => Same(v, on));

        string? lifecycle = null;
        if (project.Tracker.Status.Field is { Length: > 0 } statusField)
        {
            lifecycle = Map(project.Tracker.Status, EnumName(task, statusField), group: null);
        }

        return new TrackerFacts(byTag || byField, Repo(project, project.Tracker.RepoField is { } rf ? EnumName(task, rf.Field) : null), lifecycle, task.Completed);
    }

    /// <summary>Evaluates a Plane work item.</summary>
    /// <param name="project">The project whose rules apply.</param>
    /// <param name="labels">Label names, or <c>null</c> when the delivery carried ids only.</param>
    /// <param name="stateName">State name (e.g. <c>Blocked</c>), or <c>null</c>.</param>
    /// <param name="stateGroup">State group (<c>backlog</c>, <c>unstarted</c>, <c>started</c>, <c>completed</c>, <c>cancelled</c>), or <c>null</c>.</param>
    /// <returns>The facts; <see cref="TrackerFacts.Repo"/> is the forge's default repo (Plane has no repo field).</returns>
    public static TrackerFacts Evaluate(ProjectDefinition project, IReadOnlyList<string>? labels, string? stateName, string? stateGroup)
    {
        bool? triggered = labels is null || project.Tracker.Trigger.Label is not { Length: > 0 } label
            ? null
            : labels.Any(l => Same(l, label));
        var lifecycle = stateName is null && stateGroup is null ? null : Map(project.Tracker.Status, stateName, stateGroup);
        return new TrackerFacts(triggered, project.Forge.EffectiveDefaultRepo, lifecycle, stateGroup is null ? null : stateGroup == "completed");
    }

    /// <summary>Evaluates a Plane work item fetched from the API.</summary>
    /// <param name="project">The project whose rules apply.</param>
    /// <param name="item">The work item with expanded labels and state.</param>
    /// <returns>The facts.</returns>
    public static TrackerFacts Evaluate(ProjectDefinition project, PlaneWorkItem item) =>
        Evaluate(project, item.Labels.Select(l => l.Name).ToArray(), item.State?.Name, item.State?.Group);

    /// <summary>The repo a tracker value names (see <see cref="TrackerFacts.Repo"/>); without a repo field the forge's default repo.</summary>
    /// <param name="project">The project.</param>
    /// <param name="optionName">Selected option of the repo field, or <c>null</c>.</param>
    /// <returns>Canonical repo, raw value, or <c>null</c>.</returns>
    public static string? Repo(ProjectDefinition project, string? optionName)
    {
        if (project.Tracker.RepoField is not { } rule)
        {
            return project.Forge.EffectiveDefaultRepo;
        }

        if (string.IsNullOrWhiteSpace(optionName))
        {
            return null;
        }

        var mapped = rule.Options?.FirstOrDefault(o => Same(o.Key, optionName)).Value;
        var candidate = mapped ?? optionName.Trim();
        return project.Forge.Canonical(candidate) ?? candidate;
    }

    private static string? Map(StatusRule rule, string? name, string? group)
    {
        bool Matches(IReadOnlyList<string> values) => values.Any(v =>
            v.StartsWith("group:", StringComparison.OrdinalIgnoreCase)
                ? group is not null && Same(v["group:".Length..], group)
                : name is not null && Same(v, name));

        if (Matches(rule.Cancelled))
        {
            return Cancelled;
        }

        return Matches(rule.Blocked) ? Blocked : Active;
    }

    private static string? EnumName(AsanaTask task, string field) =>
        task.CustomFields.FirstOrDefault(f => f.Gid == field || Same(f.Name, field))?.EnumValue?.Name;

    private static bool Same(string a, string b) => string.Equals(a.Trim(), b.Trim(), StringComparison.OrdinalIgnoreCase);
}

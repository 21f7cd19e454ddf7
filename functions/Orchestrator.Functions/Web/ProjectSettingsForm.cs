using System.Globalization;
using Orchestrator.Shared.Agents;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Web;

/// <summary>
/// The settings screen's fields beyond the connection (<see cref="ProjectForm"/>): the optimistic version, Asana custom
/// fields (AutoTask enum and its on-values, Repo field and option mapping, Status field), the status → lifecycle
/// mapping, agent and model overrides, the agent command, CI and the budget. Lists are one entry per line.
/// </summary>
public sealed class ProjectSettingsForm
{
    /// <summary>The lifecycles a status value can map to (<see cref="TrackerRules"/>); <c>ACTIVE</c> is what unmapped values mean.</summary>
    public static readonly IReadOnlyList<string> Lifecycles = [TrackerRules.Active, TrackerRules.Blocked, TrackerRules.Cancelled];

    /// <summary>The <see cref="StoredProject.Version"/> the form was read at (a hidden field; a stale one is a conflict).</summary>
    public long Version { get; set; }

    /// <summary>Set (a hidden field) when the Asana fields were on the form; otherwise the stored Asana rules are kept.</summary>
    public bool AsanaSection { get; set; }

    /// <summary>Asana enum custom field (gid or name) that marks AutoTask; empty = the tag only.</summary>
    public string? TriggerField { get; set; }

    /// <summary>Options of <see cref="TriggerField"/> that mean "on", one per line.</summary>
    public string? TriggerOnValues { get; set; }

    /// <summary>Asana enum custom field (gid or name) naming the repo; empty = always the default repo.</summary>
    public string? RepoField { get; set; }

    /// <summary>Repo field options that are not themselves <c>owner/name</c>, one per line: <c>Option name = owner/name</c>.</summary>
    public string? RepoOptions { get; set; }

    /// <summary>Asana enum custom field (gid or name) holding the status; empty = none (Plane uses the work item state).</summary>
    public string? StatusField { get; set; }

    /// <summary>Status mapping rows: the value (state or option name, or <c>group:&lt;group&gt;</c> for Plane).</summary>
    public List<string?> StatusValues { get; set; } = [];

    /// <summary>Status mapping rows: the lifecycle of the value at the same index (<see cref="Lifecycles"/>).</summary>
    public List<string?> StatusLifecycles { get; set; } = [];

    /// <summary>Default agent of the role pipeline (a name from <c>ORCH_AGENTS_JSON</c>); empty = none.</summary>
    public string? Agent { get; set; }

    /// <summary>Model override rows: the agent name.</summary>
    public List<string?> AgentNames { get; set; } = [];

    /// <summary>Model override rows: the model for the agent at the same index; empty = the agent's own.</summary>
    public List<string?> AgentModels { get; set; } = [];

    /// <summary>Agent command written as the last line (mode <c>dispatch</c>).</summary>
    public string? AgentCommand { get; set; }

    /// <summary>Whether a merged PR waits for green CI (a checkbox followed by a hidden <c>false</c>).</summary>
    public bool RequireCi { get; set; } = true;

    /// <summary>Budget of the project's agent runs in USD (e.g. <c>25</c> or <c>12.50</c>); empty = unlimited.</summary>
    public string? BudgetUsd { get; set; }

    /// <summary>The fields of a stored project.</summary>
    /// <param name="project">The project.</param>
    /// <param name="statusOptions">Options of the Asana status field, when known, added as <c>ACTIVE</c> rows so each can be mapped.</param>
    /// <param name="knownAgents">Agent names of <c>ORCH_AGENTS_JSON</c> (each gets a model row).</param>
    /// <returns>The form.</returns>
    public static ProjectSettingsForm From(StoredProject project, IEnumerable<string>? statusOptions, IReadOnlyCollection<string> knownAgents)
    {
        var d = project.Definition;
        var form = new ProjectSettingsForm
        {
            Version = project.Version,
            AsanaSection = d.Tracker.Kind == TrackerConfig.Asana,
            TriggerField = d.Tracker.Trigger.Field,
            TriggerOnValues = string.Join("\n", d.Tracker.Trigger.OnValues),
            RepoField = d.Tracker.RepoField?.Field,
            RepoOptions = string.Join("\n", (d.Tracker.RepoField?.Options ?? new Dictionary<string, string>()).Select(o => $"{o.Key} = {o.Value}")),
            StatusField = d.Tracker.Status.Field,
            Agent = d.Agent,
            AgentCommand = d.AgentCommand,
            RequireCi = d.RequireCi,
            BudgetUsd = d.BudgetUsd?.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var value in d.Tracker.Status.Blocked)
        {
            form.AddStatusRow(value, TrackerRules.Blocked);
        }

        foreach (var value in d.Tracker.Status.Cancelled)
        {
            form.AddStatusRow(value, TrackerRules.Cancelled);
        }

        foreach (var option in statusOptions ?? [])
        {
            if (!form.StatusValues.Contains(option, StringComparer.OrdinalIgnoreCase))
            {
                form.AddStatusRow(option, TrackerRules.Active);
            }
        }

        foreach (var name in knownAgents.Concat(d.Agents?.Keys ?? []).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase))
        {
            form.AgentNames.Add(name);
            form.AgentModels.Add(d.Agents?.FirstOrDefault(a => string.Equals(a.Key, name, StringComparison.OrdinalIgnoreCase)).Value?.Model);
        }

        return form;
    }

    /// <summary>
    /// Applies the fields to <paramref name="definition"/> (the connection fields already applied). Problems the fields
    /// themselves have (a budget that is not a number, an unknown agent, a mapping line without <c>=</c>) go into
    /// <paramref name="errors"/> under this form's property names; the definition's own rules are checked by the caller.
    /// </summary>
    /// <param name="definition">The definition so far.</param>
    /// <param name="knownAgents">Agent names of <c>ORCH_AGENTS_JSON</c>.</param>
    /// <param name="errors">Receives field → message.</param>
    /// <returns>The definition with these fields applied.</returns>
    public ProjectDefinition Apply(ProjectDefinition definition, IReadOnlyCollection<string> knownAgents, IDictionary<string, string> errors)
    {
        var tracker = definition.Tracker;
        if (AsanaSection)
        {
            var onValues = Lines(TriggerOnValues);
            tracker = tracker with
            {
                Trigger = tracker.Trigger with { Field = Text(TriggerField), OnValues = onValues.Count > 0 ? onValues : ["Yes"] },
                RepoField = Text(RepoField) is { } repoField ? new RepoFieldRule { Field = repoField, Options = RepoOptionMap(definition.Forge, errors) } : null,
                Status = tracker.Status with { Field = Text(StatusField) },
            };
            if (Text(TriggerField) is not null && Lines(TriggerOnValues).Count == 0)
            {
                errors[nameof(TriggerOnValues)] = "Name at least one option of the AutoTask field that turns it on, e.g. Yes.";
            }
        }

        tracker = tracker with { Status = StatusRule(tracker.Status, errors) };

        var agent = Text(Agent);
        if (agent is not null && !knownAgents.Contains(agent, StringComparer.OrdinalIgnoreCase))
        {
            errors[nameof(Agent)] = $"'{agent}' is not an agent of ORCH_AGENTS_JSON ({Known(knownAgents)}).";
        }

        decimal? budget = null;
        if (Text(BudgetUsd) is { } budgetText)
        {
            if (decimal.TryParse(budgetText.TrimStart('$').Trim(), NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
            {
                budget = parsed;
            }
            else
            {
                errors[nameof(BudgetUsd)] = $"'{budgetText}' is not an amount in USD; write it like 25 or 12.50, or leave it empty for no limit.";
            }
        }

        return definition with
        {
            Tracker = tracker,
            Agent = agent is null ? null : knownAgents.FirstOrDefault(k => string.Equals(k, agent, StringComparison.OrdinalIgnoreCase)) ?? agent,
            Agents = AgentOverrides(definition.Agents, knownAgents, errors),
            AgentCommand = (AgentCommand ?? "").Trim(),
            RequireCi = RequireCi,
            BudgetUsd = budget,
        };
    }

    /// <summary>
    /// Sorts the definition's validation messages (<c>budget_usd must be ≥ 0</c>, <c>tracker.repo_field…</c>) onto this
    /// form's fields, and the rest onto <see cref="ProjectForm"/>'s (<see cref="ProjectForm.FieldErrors"/>).
    /// </summary>
    /// <param name="errors">The messages.</param>
    /// <returns>Field → message (<c>""</c>: not tied to a field).</returns>
    public static Dictionary<string, string> FieldErrors(IEnumerable<string> errors)
    {
        var map = new (string Prefix, string Field)[]
        {
            ("budget_usd", nameof(BudgetUsd)), ("agent_command", nameof(AgentCommand)), ("agent '", nameof(Agent)), ("agents", nameof(AgentModels)),
            ("tracker.trigger.field", nameof(TriggerField)), ("tracker.repo_field", nameof(RepoField)), ("tracker.status", nameof(StatusValues)),
        };
        var rest = new List<string>();
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var error in errors)
        {
            var field = map.FirstOrDefault(m => error.StartsWith(m.Prefix, StringComparison.Ordinal)).Field;
            if (field is null)
            {
                rest.Add(error);
                continue;
            }

            result[field] = result.TryGetValue(field, out var existing) ? existing + "; " + error : error;
        }

        foreach (var (field, message) in ProjectForm.FieldErrors(rest))
        {
            result[field] = message;
        }

        return result;
    }

    private void AddStatusRow(string value, string lifecycle)
    {
        StatusValues.Add(value);
        StatusLifecycles.Add(lifecycle);
    }

    private StatusRule StatusRule(StatusRule baseline, IDictionary<string, string> errors)
    {
        var blocked = new List<string>();
        var cancelled = new List<string>();
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < StatusValues.Count; i++)
        {
            var value = Text(StatusValues[i]);
            var lifecycle = i < StatusLifecycles.Count ? (StatusLifecycles[i] ?? TrackerRules.Active).Trim().ToUpperInvariant() : TrackerRules.Active;
            if (value is null)
            {
                continue;
            }

            if (!Lifecycles.Contains(lifecycle))
            {
                errors[nameof(StatusValues)] = $"'{value}' maps to '{lifecycle}'; choose ACTIVE, BLOCKED or CANCELLED.";
                continue;
            }

            if (seen.TryGetValue(value, out var earlier) && earlier != lifecycle)
            {
                errors[nameof(StatusValues)] = $"'{value}' is mapped twice ({earlier} and {lifecycle}); keep one row.";
                continue;
            }

            seen[value] = lifecycle;
            var list = lifecycle == TrackerRules.Blocked ? blocked : lifecycle == TrackerRules.Cancelled ? cancelled : null;
            if (list is not null && !list.Contains(value, StringComparer.OrdinalIgnoreCase))
            {
                list.Add(value);
            }
        }

        return baseline with { Blocked = blocked, Cancelled = cancelled };
    }

    private Dictionary<string, string>? RepoOptionMap(ForgeConfig forge, IDictionary<string, string> errors)
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in Lines(RepoOptions))
        {
            var at = line.IndexOf('=', StringComparison.Ordinal);
            var option = at < 0 ? "" : line[..at].Trim();
            var repo = at < 0 ? "" : line[(at + 1)..].Trim();
            if (option.Length == 0 || repo.Length == 0)
            {
                errors[nameof(RepoOptions)] = $"'{line}' is not 'Option name = owner/name'.";
                continue;
            }

            if (forge.Canonical(repo) is not { } canonical)
            {
                errors[nameof(RepoOptions)] = $"'{option}' maps to '{repo}', which is not one of the repositories.";
                continue;
            }

            map[option] = canonical;
        }

        return map.Count == 0 ? null : map;
    }

    private Dictionary<string, AgentSpec>? AgentOverrides(IReadOnlyDictionary<string, AgentSpec>? stored, IReadOnlyCollection<string> knownAgents, IDictionary<string, string> errors)
    {
        var result = new Dictionary<string, AgentSpec>(stored ?? new Dictionary<string, AgentSpec>(), StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < AgentNames.Count; i++)
        {
            if (Text(AgentNames[i]) is not { } name)
            {
                continue;
            }

            var model = i < AgentModels.Count ? Text(AgentModels[i]) : null;
            var key = result.Keys.FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase)) ?? name;
            var spec = result.GetValueOrDefault(key);
            if (model is not null && !knownAgents.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                errors[nameof(AgentModels)] = $"'{name}' is not an agent of ORCH_AGENTS_JSON ({Known(knownAgents)}); clear its model to drop the override.";
                continue;
            }

            if (spec is null && model is null)
            {
                continue;
            }

            var updated = (spec ?? new AgentSpec()) with { Model = model };

            // An override left with nothing in it is dropped, so the agent's own settings apply again.
            if (updated == new AgentSpec())
            {
                result.Remove(key);
            }
            else
            {
                result[key] = updated;
            }
        }

        return result.Count == 0 ? null : result;
    }

    private static string Known(IReadOnlyCollection<string> knownAgents) =>
        knownAgents.Count == 0 ? "none are configured" : "known: " + string.Join(", ", knownAgents.Order(StringComparer.OrdinalIgnoreCase));

    private static string? Text(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static List<string> Lines(string? text) =>
        (text ?? "").Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
}

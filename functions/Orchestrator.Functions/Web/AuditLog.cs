using System.Text.Json.Nodes;
using Orchestrator.Functions.Web.Auth;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Web;

/// <summary>
/// The audit trail of the web tool (issue #9): who changed what in a project — settings, Asana field syncs, memberships,
/// invites, API tokens — as one structured log line each under the category <c>Orchestrator.Audit</c>
/// (<c>Audit {Action} in {Project} by {Actor}: {Detail}</c>). Details name fields, roles, users and token prefixes,
/// never a secret value: callers pass names only, and secret changes are described by their names.
/// </summary>
public sealed class AuditLog(ILoggerFactory loggers)
{
    /// <summary>The log category.</summary>
    public const string Category = "Orchestrator.Audit";

    private readonly ILogger _log = loggers.CreateLogger(Category);

    /// <summary>Records one change.</summary>
    /// <param name="actor">Who did it.</param>
    /// <param name="project">The project slug.</param>
    /// <param name="action">What kind of change, e.g. <c>settings.saved</c>, <c>member.removed</c>, <c>token.created</c>.</param>
    /// <param name="detail">What changed, without secret values.</param>
    public void Record(Caller actor, string project, string action, string detail) =>
        _log.LogInformation("Audit {Action} in {Project} by {Actor}: {Detail}", action, project, actor.Name, detail);

    /// <summary>
    /// What a settings save changed, for <see cref="Record"/>: the definition's changed fields by JSON path (two levels:
    /// <c>name</c>, <c>forge.repos</c>, <c>tracker.trigger</c>) and the secrets set or removed, by name only.
    /// </summary>
    /// <param name="before">The definition before.</param>
    /// <param name="after">The definition after.</param>
    /// <param name="secretChanges">The secret changes sent (name → value or <c>null</c>); only the names are used.</param>
    /// <returns>E.g. <c>name, forge.repos; secrets set: tracker_token</c>, or <c>no change</c>.</returns>
    public static string DescribeChange(ProjectDefinition before, ProjectDefinition after, IReadOnlyDictionary<string, string?> secretChanges)
    {
        var changed = new List<string>();
        Compare(JsonNode.Parse(ProjectJson.Serialize(before)) as JsonObject, JsonNode.Parse(ProjectJson.Serialize(after)) as JsonObject, "", 2, changed);
        var set = secretChanges.Where(s => s.Value is not null).Select(s => s.Key).Order(StringComparer.Ordinal).ToList();
        var removed = secretChanges.Where(s => s.Value is null).Select(s => s.Key).Order(StringComparer.Ordinal).ToList();
        var parts = new List<string>();
        if (changed.Count > 0)
        {
            parts.Add(string.Join(", ", changed));
        }

        if (set.Count > 0)
        {
            parts.Add("secrets set: " + string.Join(", ", set));
        }

        if (removed.Count > 0)
        {
            parts.Add("secrets removed: " + string.Join(", ", removed));
        }

        return parts.Count == 0 ? "no change" : string.Join("; ", parts);
    }

    private static void Compare(JsonObject? a, JsonObject? b, string prefix, int depth, List<string> changed)
    {
        var keys = (a?.Select(p => p.Key) ?? []).Union(b?.Select(p => p.Key) ?? []).Order(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var left = a?[key];
            var right = b?[key];
            if (JsonNode.DeepEquals(left, right))
            {
                continue;
            }

            if (depth > 1 && (left is JsonObject || right is JsonObject) && left is not JsonArray && right is not JsonArray)
            {
                Compare(left as JsonObject, right as JsonObject, prefix + key + ".", depth - 1, changed);
            }
            else
            {
                changed.Add(prefix + key);
            }
        }
    }
}

using System.Globalization;
using System.Text.Json;

namespace Orchestrator.Shared.Plane;

/// <summary>
/// Reads Plane API v1 JSON into the <see cref="IPlaneClient"/> records, tolerating both shapes the
/// server produces: with <c>?expand=labels,state</c> the work item's <c>labels</c> are label objects and
/// <c>state</c> is <c>{id,name,color,group}</c>; without it both are bare UUIDs
/// (<c>IssueSerializer.to_representation</c> and <c>BaseSerializer</c> in
/// <c>apps/api/plane/api/serializers/</c>, makeplane/plane @ 4ca6d6c7).
/// </summary>
internal static class PlaneJson
{
    /// <summary>A work item from <c>IssueSerializer</c> output.</summary>
    /// <param name="item">The JSON object.</param>
    /// <param name="requestedProjectId">Used when the object carries no project.</param>
    /// <exception cref="FormatException">No <c>id</c>, or a field of the wrong type.</exception>
    public static PlaneWorkItem ParseWorkItem(JsonElement item, string requestedProjectId)
    {
        RequireObject(item, "work item");
        var labels = new List<PlaneLabel>();
        var labelArray = Property(item, "labels") ?? Property(item, "label_ids");
        if (labelArray is { ValueKind: JsonValueKind.Array } array)
        {
            foreach (var label in array.EnumerateArray())
            {
                labels.Add(label.ValueKind switch
                {
                    // Unexpanded: only the UUID is known.
                    JsonValueKind.String => new PlaneLabel(label.GetString()!, ""),
                    JsonValueKind.Object => new PlaneLabel(RequiredString(label, "id"), OptionalString(label, "name") ?? ""),
                    _ => throw new FormatException($"A label is a {label.ValueKind}, not a UUID or an object."),
                });
            }
        }
        else if (labelArray is { ValueKind: not JsonValueKind.Null })
        {
            throw new FormatException("labels is not an array.");
        }

        return new PlaneWorkItem(
            Id: RequiredString(item, "id"),
            ProjectId: IdOf(Property(item, "project")) ?? OptionalString(item, "project_id") ?? requestedProjectId,
            SequenceId: Int(item, "sequence_id"),
            Name: OptionalString(item, "name"),
            DescriptionHtml: OptionalString(item, "description_html"),
            Labels: labels,
            State: ParseWorkItemState(Property(item, "state") ?? Property(item, "state_id")),
            CreatedAt: Timestamp(item, "created_at"),
            UpdatedAt: Timestamp(item, "updated_at"));
    }

    /// <summary>A state from <c>StateSerializer</c> (or <c>StateLiteSerializer</c>) output.</summary>
    /// <param name="state">The JSON object.</param>
    /// <exception cref="FormatException">No <c>id</c>.</exception>
    public static PlaneState ParseState(JsonElement state)
    {
        RequireObject(state, "state");
        return new PlaneState(RequiredString(state, "id"), OptionalString(state, "name") ?? "", OptionalString(state, "group") ?? "");
    }

    /// <summary>A comment from <c>IssueCommentSerializer</c> output.</summary>
    /// <param name="comment">The JSON object.</param>
    /// <exception cref="FormatException">No <c>id</c>.</exception>
    public static PlaneComment ParseComment(JsonElement comment)
    {
        RequireObject(comment, "comment");
        return new PlaneComment(
            RequiredString(comment, "id"),
            OptionalString(comment, "comment_html") ?? "",
            OptionalString(comment, "external_source"),
            OptionalString(comment, "external_id"));
    }

    /// <summary>A label from <c>LabelSerializer</c> output.</summary>
    /// <param name="label">The JSON object.</param>
    /// <exception cref="FormatException">No <c>id</c>.</exception>
    public static PlaneLabel ParseLabel(JsonElement label)
    {
        RequireObject(label, "label");
        return new PlaneLabel(RequiredString(label, "id"), OptionalString(label, "name") ?? "");
    }

    /// <summary>The <c>id</c> of a 409 answer (<c>{"error": …, "id": "&lt;existing&gt;"}</c>), normalised, or <c>null</c>.</summary>
    /// <param name="body">The answer's JSON, if any.</param>
    /// <returns>The UUID.</returns>
    public static string? ConflictId(JsonDocument? body) =>
        body?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
            && Guid.TryParse(id.GetString(), out var guid)
            ? guid.ToString("D")
            : null;

    private static PlaneState? ParseWorkItemState(JsonElement? state) => state switch
    {
        null or { ValueKind: JsonValueKind.Null } => null,
        // Unexpanded: the id is known, name and group are not.
        { ValueKind: JsonValueKind.String } s => new PlaneState(s.GetString()!, "", ""),
        { ValueKind: JsonValueKind.Object } o => ParseState(o),
        { } other => throw new FormatException($"state is a {other.ValueKind}, not a UUID or an object."),
    };

    private static string? IdOf(JsonElement? value) => value switch
    {
        { ValueKind: JsonValueKind.String } s => s.GetString(),
        { ValueKind: JsonValueKind.Object } o => OptionalString(o, "id"),
        _ => null,
    };

    private static void RequireObject(JsonElement element, string what)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"The {what} is a {element.ValueKind}, not a JSON object.");
        }
    }

    private static JsonElement? Property(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value : null;

    private static string RequiredString(JsonElement element, string name) =>
        OptionalString(element, name) is { Length: > 0 } value ? value : throw new FormatException($"'{name}' is missing.");

    private static string? OptionalString(JsonElement element, string name) => Property(element, name) switch
    {
        null or { ValueKind: JsonValueKind.Null } => null,
        { ValueKind: JsonValueKind.String } s => s.GetString(),
        { } other => throw new FormatException($"'{name}' is a {other.ValueKind}, not a string."),
    };

    private static int Int(JsonElement element, string name) => Property(element, name) switch
    {
        { ValueKind: JsonValueKind.Number } n when n.TryGetInt32(out var i) => i,
        { ValueKind: JsonValueKind.String } s when int.TryParse(s.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var i) => i,
        null => throw new FormatException($"'{name}' is missing."),
        { } other => throw new FormatException($"'{name}' is not an integer ({other.ValueKind})."),
    };

    private static DateTimeOffset? Timestamp(JsonElement element, string name) =>
        OptionalString(element, name) is { } text
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value)
            ? value
            : null;
}

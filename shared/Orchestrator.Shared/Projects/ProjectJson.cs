using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Orchestrator.Shared.Projects;

/// <summary>
/// A project as written by a client (<c>POST/PUT /api/projects</c>, a new-shape entry of <c>ORCH_PROJECTS_JSON</c>):
/// the definition, the secret changes and the optional expected version.
/// </summary>
/// <param name="Definition">The non-secret definition.</param>
/// <param name="Secrets">
/// <c>"secrets"</c>: name → value (set) or <c>null</c>/<c>""</c> (remove); names left out are kept. A value that is a
/// masked form (starts with <see cref="SecretProtector.MaskPrefix"/>, as responses show it) also means keep, so a
/// response can be sent back unchanged. <c>null</c> when the body has no <c>"secrets"</c>.
/// </param>
/// <param name="Version"><c>"version"</c>: the version the client last read (optimistic concurrency), or <c>null</c>.</param>
public sealed record ProjectRequest(ProjectDefinition Definition, IReadOnlyDictionary<string, string?>? Secrets, long? Version)
{
    /// <summary>Masks the secret values.</summary>
    /// <returns>A description without secret values.</returns>
    public override string ToString() =>
        $"ProjectRequest {{ Definition = {Definition}, Secrets = {ProjectSeed.Describe(Secrets)}, Version = {Version} }}";
}

/// <summary>A new-shape entry of <c>ORCH_PROJECTS_JSON</c>, upserted at startup.</summary>
/// <param name="Index">Position in the <c>ORCH_PROJECTS_JSON</c> array (for messages).</param>
/// <param name="Definition">The definition.</param>
/// <param name="Secrets">Secrets to set (value) or remove (<c>null</c>/<c>""</c>); others are kept.</param>
public sealed record ProjectSeed(int Index, ProjectDefinition Definition, IReadOnlyDictionary<string, string?> Secrets)
{
    /// <summary>Masks the secret values.</summary>
    /// <returns>A description without secret values.</returns>
    public override string ToString() => $"ProjectSeed {{ Index = {Index}, Definition = {Definition}, Secrets = {Describe(Secrets)} }}";

    internal static string Describe<TValue>(IReadOnlyDictionary<string, TValue>? secrets) =>
        secrets is null ? "(none)" : "{ " + string.Join(", ", secrets.Select(s => $"{s.Key} = {(s.Value is string v ? SecretProtector.Mask(v) : "(removed)")}")) + " }";
}

/// <summary>JSON of projects: the stored definition (<c>projects.definition</c>) and client bodies.</summary>
public static class ProjectJson
{
    /// <summary>Members of a body that are not part of the definition and are read separately or ignored.</summary>
    private static readonly string[] ReadOnlyMembers = ["created_at", "updated_at", "webhooks"];

    /// <summary>
    /// The definition's own names (<c>[JsonPropertyName]</c>, snake_case), nulls written (a <c>null</c> differs from a
    /// default such as <c>trigger.label</c> = <c>AutoTask</c>), unknown members and <c>null</c> for non-nullable members rejected.
    /// </summary>
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions
        {
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            RespectNullableAnnotations = true,
            AllowTrailingCommas = true,
            ReadCommentHandling = JsonCommentHandling.Skip,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>The definition as JSON text (for <c>projects.definition</c>).</summary>
    /// <param name="definition">Definition.</param>
    /// <returns>JSON object text.</returns>
    public static string Serialize(ProjectDefinition definition) => JsonSerializer.Serialize(definition, Options);

    /// <summary>The definition as a JSON object (for responses).</summary>
    /// <param name="definition">Definition.</param>
    /// <returns>A new JSON object.</returns>
    public static JsonObject ToNode(ProjectDefinition definition) => JsonSerializer.SerializeToNode(definition, Options)!.AsObject();

    /// <summary>Reads a stored definition.</summary>
    /// <param name="json">JSON object text.</param>
    /// <returns>The definition.</returns>
    /// <exception cref="JsonException">Not a definition.</exception>
    public static ProjectDefinition Deserialize(string json) =>
        JsonSerializer.Deserialize<ProjectDefinition>(json, Options) ?? throw new JsonException("the stored definition is null");

    /// <summary>
    /// Reads a client body: a JSON object with the <see cref="ProjectDefinition"/> members plus optional
    /// <c>"secrets"</c> and <c>"version"</c>; <c>created_at</c>, <c>updated_at</c> and <c>webhooks</c> (as in responses)
    /// are ignored, any other unknown member is an error.
    /// </summary>
    /// <param name="body">The parsed body (not modified).</param>
    /// <returns>The request.</returns>
    /// <exception cref="ProjectValidationException">Lists what is malformed (shape only; <see cref="ProjectDefinition.Validate"/> is separate).</exception>
    public static ProjectRequest ParseRequest(JsonNode? body)
    {
        if (body is not JsonObject source)
        {
            throw new ProjectValidationException(["the body must be a JSON object"]);
        }

        var errors = new List<string>();
        var obj = source.DeepClone().AsObject();
        Dictionary<string, string?>? secrets = null;
        if (obj.TryGetPropertyValue("secrets", out var secretsNode))
        {
            obj.Remove("secrets");
            if (secretsNode is JsonObject secretsObject)
            {
                secrets = new Dictionary<string, string?>(StringComparer.Ordinal);
                foreach (var (name, value) in secretsObject)
                {
                    if (value is null)
                    {
                        secrets[name] = null;
                    }
                    else if (value.GetValueKind() == JsonValueKind.String)
                    {
                        var text = value.GetValue<string>();
                        if (!text.StartsWith(SecretProtector.MaskPrefix, StringComparison.Ordinal))
                        {
                            secrets[name] = text;
                        }
                    }
                    else
                    {
                        errors.Add($"secrets.{name} must be a string or null");
                    }
                }
            }
            else if (secretsNode is not null)
            {
                errors.Add("secrets must be an object {name: value or null}");
            }
        }

        long? version = null;
        if (obj.TryGetPropertyValue("version", out var versionNode))
        {
            obj.Remove("version");
            if (versionNode is JsonValue v && v.GetValueKind() == JsonValueKind.Number && long.TryParse(v.ToJsonString(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var n))
            {
                version = n;
            }
            else if (versionNode is not null)
            {
                errors.Add("version must be a whole number");
            }
        }

        foreach (var name in ReadOnlyMembers)
        {
            obj.Remove(name);
        }

        ProjectDefinition? definition = null;
        try
        {
            definition = obj.Deserialize<ProjectDefinition>(Options);
        }
        catch (JsonException ex)
        {
            errors.Add(Describe(ex));
        }

        if (definition is not null)
        {
            errors.AddRange(ShapeErrors(definition));
        }

        if (errors.Count > 0 || definition is null)
        {
            throw new ProjectValidationException(errors);
        }

        return new ProjectRequest(definition, secrets, version);
    }

    // Nulls inside lists are not covered by RespectNullableAnnotations, and Validate assumes none.
    private static IEnumerable<string> ShapeErrors(ProjectDefinition d)
    {
        if (d.Tracker.ProjectIds.Any(id => id is null))
        {
            yield return "tracker.project_ids must not contain null";
        }

        if (d.Forge.Repos.Any(r => r is null))
        {
            yield return "forge.repos must not contain null";
        }
    }

    private static string Describe(JsonException ex)
    {
        // System.Text.Json names .NET types in its messages; keep the JSON path and the gist.
        var message = ex.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut > 0)
        {
            message = message[..cut];
        }

        message = message.Replace("Orchestrator.Shared.Projects.", "", StringComparison.Ordinal);
        return ex.Path is { Length: > 1 } path ? $"{path.TrimStart('$', '.')}: {message}" : message;
    }
}

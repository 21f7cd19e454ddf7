using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Shared.Engine;

/// <summary>The one JSON setting used for state, events and activity inputs: web defaults, enums as names.</summary>
public static class EngineJson
{
    /// <summary>camelCase properties, enums as strings, nulls omitted, type discriminators accepted anywhere in an object.</summary>
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,

            // jsonb stores object keys sorted (shortest first), so "$type" is not always first on the way back.
            AllowOutOfOrderMetadataProperties = true,
        };
        options.Converters.Add(new JsonStringEnumConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}

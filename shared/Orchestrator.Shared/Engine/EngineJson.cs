using System.Text.Json;
using Orchestrator.Orchestrations.Abstractions;

namespace Orchestrator.Shared.Engine;

/// <summary>The one JSON setting used for state, events and activity inputs: web defaults, enums as names.</summary>
public static class EngineJson
{
    /// <summary>camelCase properties, enums as strings, nulls omitted, type discriminators accepted anywhere in an object
    /// (<see cref="OrchestrationJson.Options"/>: the same setting the Durable Task loop uses).</summary>
    public static JsonSerializerOptions Options => OrchestrationJson.Options;
}

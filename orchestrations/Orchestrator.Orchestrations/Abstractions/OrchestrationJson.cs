using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Orchestrations.Abstractions;

/// <summary>
/// The one JSON setting for orchestration state, events and activity inputs, shared by every runtime that runs the
/// deciders (the PostgreSQL engine stores it in <c>jsonb</c>; the Durable Task loop carries it in its payloads).
/// </summary>
public static class OrchestrationJson
{
    /// <summary>camelCase properties, enums as strings, nulls omitted, type discriminators accepted anywhere in an object.</summary>
    public static JsonSerializerOptions Options { get; } = Create();

    /// <summary>
    /// Serialises an event object as its polymorphic base (the nearest base type carrying
    /// <see cref="JsonPolymorphicAttribute"/>), so the JSON carries the <c>"$type"</c> discriminator a reader of the
    /// base type needs. An object without such a base is serialised as its own type.
    /// </summary>
    /// <param name="event">The event, e.g. a <c>TaskEvent</c>.</param>
    /// <returns>The JSON text.</returns>
    public static string SerializeEvent(object @event)
    {
        ArgumentNullException.ThrowIfNull(@event);
        return JsonSerializer.Serialize(@event, PolymorphicBase(@event.GetType()), Options);
    }

    /// <summary>The nearest type in <paramref name="type"/>'s base chain (itself included) marked <see cref="JsonPolymorphicAttribute"/>, else <paramref name="type"/>.</summary>
    /// <param name="type">A runtime type.</param>
    /// <returns>The type to serialise as.</returns>
    public static Type PolymorphicBase(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (t.GetCustomAttribute<JsonPolymorphicAttribute>(inherit: false) is not null)
            {
                return t;
            }
        }

        return type;
    }

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

using System.Text.Json.Nodes;

namespace Orchestrator.Tests.Integration.Support;

/// <summary>Compares problem-details answers (RFC 9457) by what they say, not by their per-request trace id.</summary>
internal static class ProblemBodies
{
    /// <summary>The body without its <c>traceId</c> member (each request has its own).</summary>
    public static string WithoutTraceId(string json)
    {
        var node = JsonNode.Parse(json) as JsonObject ?? throw new FormatException("not a JSON object: " + json);
        node.Remove("traceId");
        return node.ToJsonString();
    }
}

using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Orchestrator.Functions.Functions.V1;

/// <summary>One operation of the API as a copyable curl command.</summary>
/// <param name="Tag">The operation's first OpenAPI tag (its area: Projects, Knowledge, Tasks, Task actions, Analytics).</param>
/// <param name="Method">HTTP method, upper case.</param>
/// <param name="Path">The path template as in the OpenAPI document, e.g. <c>/api/v1/projects/{slug}/links/{id}</c>.</param>
/// <param name="Summary">The operation's summary.</param>
/// <param name="Command">The curl command: the host's URL and the project's slug filled in, the token as <c>$ORCH_TOKEN</c>.</param>
/// <param name="Query">The operation's optional query parameters (names), left out of <paramref name="Command"/>.</param>
/// <param name="IfMatch">Whether it takes <c>If-Match</c> (the command sends <c>$ETAG</c>).</param>
/// <param name="Idempotent">Whether it honours <c>Idempotency-Key</c> (the command sends <c>$IDEMPOTENCY_KEY</c>).</param>
public sealed record CurlExample(string Tag, string Method, string Path, string Summary, string Command, IReadOnlyList<string> Query, bool IfMatch, bool Idempotent);

/// <summary>
/// curl commands for every operation of the OpenAPI document (issue #11 §1, the project's <c>/p/{slug}/api</c> page), built
/// from the document itself so that a new endpoint shows up without anyone writing its example: the method, the path with
/// the project's slug (other path parameters get a sample: <c>1</c> for numbers, the project's first task key otherwise), the
/// request body's example for POST/PUT, <c>If-Match: $ETAG</c> where the operation reads it and
/// <c>Idempotency-Key: $IDEMPOTENCY_KEY</c> where it is honoured. The token is always the shell variable <c>$ORCH_TOKEN</c>:
/// no secret is ever part of a command.
/// </summary>
public static class CurlExamples
{
    /// <summary>The token placeholder.</summary>
    public const string TokenVariable = "$ORCH_TOKEN";

    /// <summary>The <c>If-Match</c> placeholder (the <c>ETag</c> header of the last read).</summary>
    public const string ETagVariable = "$ETAG";

    /// <summary>The <c>Idempotency-Key</c> placeholder (one new value per request, the same on its retries).</summary>
    public const string IdempotencyKeyVariable = "$IDEMPOTENCY_KEY";

    private static readonly string[] Methods = ["get", "post", "put", "patch", "delete"];

    // Readable bodies (→, …) in the commands; the page HTML-encodes what it shows.
    private static readonly JsonSerializerOptions BodyJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The examples of the registered v1 document, in document order.</summary>
    /// <param name="services">The request's services (the document provider is keyed by <see cref="ApiV1.DocumentName"/>).</param>
    /// <param name="baseUrl">The host's root URL, without a trailing <c>/</c>.</param>
    /// <param name="slug">The project.</param>
    /// <param name="taskKey">A task key for <c>{id}</c> of task paths, e.g. <c>WEB-1</c>.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>One example per operation.</returns>
    public static async Task<IReadOnlyList<CurlExample>> ForApiV1Async(IServiceProvider services, string baseUrl, string slug, string taskKey, CancellationToken cancellationToken)
    {
        var provider = services.GetRequiredKeyedService<IOpenApiDocumentProvider>(ApiV1.DocumentName);
        var document = await provider.GetOpenApiDocumentAsync(cancellationToken);
        var json = await document.SerializeAsJsonAsync(OpenApiSpecVersion.OpenApi3_1, cancellationToken);
        return Build(JsonNode.Parse(json)!, baseUrl, slug, taskKey);
    }

    /// <summary>The examples of an OpenAPI 3.x document (JSON), in document order.</summary>
    /// <param name="document">The document.</param>
    /// <param name="baseUrl">The host's root URL, without a trailing <c>/</c>.</param>
    /// <param name="slug">The project.</param>
    /// <param name="taskKey">A task key for string path parameters other than <c>slug</c>.</param>
    /// <returns>One example per operation.</returns>
    public static IReadOnlyList<CurlExample> Build(JsonNode document, string baseUrl, string slug, string taskKey)
    {
        ArgumentNullException.ThrowIfNull(document);
        var examples = new List<CurlExample>();
        foreach (var (path, item) in document["paths"]?.AsObject() ?? [])
        {
            foreach (var method in Methods)
            {
                if (item?[method] is not JsonObject operation)
                {
                    continue;
                }

                var parameters = (item["parameters"]?.AsArray() ?? []).Concat(operation["parameters"]?.AsArray() ?? []).OfType<JsonObject>().ToList();
                bool HasHeader(string name) => parameters.Any(p => (string?)p["in"] == "header" && string.Equals((string?)p["name"], name, StringComparison.OrdinalIgnoreCase));
                var url = FillPath(path, parameters, slug, taskKey);
                var ifMatch = HasHeader("If-Match");
                var idempotent = HasHeader(IdempotencyMiddleware.Header);
                var command = new StringBuilder("curl -sS");
                if (method != "get")
                {
                    command.Append(" -X ").Append(method.ToUpperInvariant());
                }

                command.Append(" -H \"Authorization: Bearer ").Append(TokenVariable).Append('"');
                if (ifMatch)
                {
                    command.Append(" -H \"If-Match: ").Append(ETagVariable).Append('"');
                }

                if (idempotent)
                {
                    command.Append(" -H \"").Append(IdempotencyMiddleware.Header).Append(": ").Append(IdempotencyKeyVariable).Append('"');
                }

                if (operation["requestBody"]?["content"]?["application/json"]?["example"] is { } body)
                {
                    command.Append(" -H \"Content-Type: application/json\" -d ").Append(ShellQuote(body.ToJsonString(BodyJson)));
                }

                command.Append(' ').Append(baseUrl).Append(url);
                var query = parameters.Where(p => (string?)p["in"] == "query").Select(p => (string)p["name"]!).ToList();
                var tag = operation["tags"]?.AsArray().FirstOrDefault() is { } first ? (string)first! : "Other";
                examples.Add(new CurlExample(tag, method.ToUpperInvariant(), path, (string?)operation["summary"] ?? "", command.ToString(), query, ifMatch, idempotent));
            }
        }

        return examples;
    }

    /// <summary>The path with its parameters filled in: <c>slug</c> → the project, integers → <c>1</c>, other strings → <paramref name="taskKey"/>.</summary>
    private static string FillPath(string template, IReadOnlyList<JsonObject> parameters, string slug, string taskKey)
    {
        var result = new StringBuilder();
        var at = 0;
        while (template.IndexOf('{', at) is var open and >= 0 && template.IndexOf('}', open) is var close and > 0)
        {
            result.Append(template, at, open - at);
            var name = template[(open + 1)..close];
            var schemaType = parameters.FirstOrDefault(p => (string?)p["in"] == "path" && (string?)p["name"] == name)?["schema"]?["type"];
            var isInteger = schemaType?.ToJsonString().Contains("integer", StringComparison.Ordinal) == true;
            result.Append(Uri.EscapeDataString(name == "slug" ? slug : isInteger ? 1.ToString(CultureInfo.InvariantCulture) : taskKey));
            at = close + 1;
        }

        return result.Append(template, at, template.Length - at).ToString();
    }

    /// <summary>A POSIX shell single-quoted word (a <c>'</c> inside becomes <c>'\''</c>).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The quoted word.</returns>
    public static string ShellQuote(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }
}

using System.Diagnostics;
using System.Text.Json.Nodes;
using Orchestrator.Functions.Functions.V1;

namespace Orchestrator.Tests.Integration.Api;

/// <summary>The curl commands of <see cref="CurlExamples"/> from an OpenAPI document: paths filled, headers where documented, bodies quoted for a real shell.</summary>
public sealed class CurlExamplesTests
{
    private const string Document = """
        {
          "openapi": "3.1.1",
          "paths": {
            "/api/v1/projects/{slug}/notes/{id}": {
              "put": {
                "tags": ["Knowledge"], "summary": "Replace a note",
                "parameters": [
                  {"name": "slug", "in": "path", "required": true, "schema": {"type": "string"}},
                  {"name": "id", "in": "path", "required": true, "schema": {"type": ["integer", "string"], "format": "int64"}},
                  {"name": "If-Match", "in": "header", "schema": {"type": "string"}}
                ],
                "requestBody": {"content": {"application/json": {"example": {"title": "Deploys", "body": "Don't deploy on Fridays → ever"}}}}
              },
              "delete": {"tags": ["Knowledge"], "summary": "Delete a note"}
            },
            "/api/v1/projects/{slug}/tasks/{id}/actions/retry": {
              "post": {
                "tags": ["Task actions"], "summary": "Retry",
                "parameters": [
                  {"name": "slug", "in": "path", "required": true, "schema": {"type": "string"}},
                  {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                  {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}},
                  {"name": "dry_run", "in": "query", "schema": {"type": "boolean"}}
                ]
              }
            }
          }
        }
        """;

    [Fact]
    public void Each_operation_becomes_one_command_with_its_path_filled_and_its_documented_headers()
    {
        var examples = CurlExamples.Build(JsonNode.Parse(Document)!, "https://orch.example.com", "web", "WEB-1");

        Assert.Equal(["PUT /api/v1/projects/{slug}/notes/{id}", "DELETE /api/v1/projects/{slug}/notes/{id}", "POST /api/v1/projects/{slug}/tasks/{id}/actions/retry"],
            examples.Select(e => $"{e.Method} {e.Path}"));
        Assert.Equal(
            """curl -sS -X PUT -H "Authorization: Bearer $ORCH_TOKEN" -H "If-Match: $ETAG" -H "Content-Type: application/json" -d '{"title":"Deploys","body":"Don'\''t deploy on Fridays → ever"}' https://orch.example.com/api/v1/projects/web/notes/1""",
            examples[0].Command);
        Assert.Equal((true, false), (examples[0].IfMatch, examples[0].Idempotent));
        Assert.Equal("curl -sS -X DELETE -H \"Authorization: Bearer $ORCH_TOKEN\" https://orch.example.com/api/v1/projects/web/notes/WEB-1", examples[1].Command); // an undocumented parameter is taken as a string
        Assert.Equal(
            "curl -sS -X POST -H \"Authorization: Bearer $ORCH_TOKEN\" -H \"Idempotency-Key: $IDEMPOTENCY_KEY\" https://orch.example.com/api/v1/projects/web/tasks/WEB-1/actions/retry",
            examples[2].Command);
        Assert.Equal(["dry_run"], examples[2].Query);
        Assert.Equal("Task actions", examples[2].Tag);
    }

    [Theory]
    [InlineData("{\"text\":\"it's done\"}")]
    [InlineData("''")]
    [InlineData("$ORCH_TOKEN `id` \"quoted\" \\ back")]
    public async Task A_quoted_body_reaches_the_program_unchanged_through_bash(string text)
    {
        using var bash = Process.Start(new ProcessStartInfo("bash", ["-c", "printf '%s' " + CurlExamples.ShellQuote(text)]) { RedirectStandardOutput = true })!;
        var output = await bash.StandardOutput.ReadToEndAsync();
        await bash.WaitForExitAsync();
        Assert.Equal(0, bash.ExitCode);
        Assert.Equal(text, output);
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Functions.Functions.V1;
using Orchestrator.Shared.Accounts;
using Orchestrator.Tests.Integration.EndToEnd;
using Orchestrator.Tests.Integration.Web;

namespace Orchestrator.Tests.Integration.Api;

/// <summary>
/// Issue #11 §1, the project's <c>/p/{slug}/api</c> page: a curl command for every mapped <c>/api/v1</c> operation (compared with
/// the host's endpoints, so a new endpoint cannot be missing), with the host's URL and the project's slug, the body example,
/// <c>If-Match</c> and <c>Idempotency-Key</c> where they apply, and never a token; the commands work as written.
/// </summary>
public sealed partial class ApiPageTests
{
    /// <summary><c>METHOD /path/{param}</c> of a route endpoint (constraints dropped, as the OpenAPI document writes paths).</summary>
    internal static string OperationOf(RouteEndpoint endpoint, string method) =>
        method + " /" + string.Join("/", endpoint.RoutePattern.PathSegments.Select(s => string.Concat(s.Parts.Select(p => p switch
        {
            RoutePatternLiteralPart l => l.Content,
            RoutePatternParameterPart parameter => "{" + parameter.Name + "}",
            _ => "",
        }))));

    [Fact]
    public async Task Every_v1_operation_has_one_curl_command_with_the_hosts_url_the_slug_and_a_token_placeholder_only()
    {
        await using var h = await WebAccessTests.StartAsync();
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var accounts = h.App.Services.GetRequiredService<AccountStore>();
        var (token, _) = await accounts.CreateApiTokenAsync("web", "ci", ProjectRole.Editor, null);

        var (status, html) = await SettingsPageTests.RawAsync(admin, "/p/web/api");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.DoesNotContain(token, html, StringComparison.Ordinal);
        Assert.DoesNotContain(Harness.AdminToken, html, StringComparison.Ordinal);

        var mapped = h.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/api/v1", StringComparison.Ordinal))
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Select(m => (Operation: OperationOf(e, m), Endpoint: e)))
            .ToDictionary(x => x.Operation, x => x.Endpoint);
        Assert.True(mapped.Count >= 38, $"only {mapped.Count} /api/v1 operations");

        var (_, page, _) = await admin.GetAsync("/p/web/api");
        var shown = page.QuerySelectorAll("#examples-h ~ .api-area .api-operation").ToList();
        Assert.Equal(mapped.Keys.Order(StringComparer.Ordinal), shown.Select(o => o.GetAttribute("data-operation")!).Order(StringComparer.Ordinal)); // each exactly once
        Assert.Equal(["Projects", "Knowledge", "Tasks", "Task actions", "Analytics"], page.QuerySelectorAll(".api-area").Select(a => a.GetAttribute("data-area")!));

        var host = h.HostUrl.AbsoluteUri.TrimEnd('/');
        foreach (var operation in shown)
        {
            var name = operation.GetAttribute("data-operation")!;
            var endpoint = mapped[name];
            var method = name[..name.IndexOf(' ', StringComparison.Ordinal)];
            var path = name[(name.IndexOf(' ', StringComparison.Ordinal) + 1)..];
            var command = operation.QuerySelector("pre code")!.TextContent;
            Assert.Equal(command, operation.QuerySelector("button[data-copy]")!.GetAttribute("data-copy"));
            Assert.StartsWith(method == "GET" ? "curl -sS -H \"Authorization: Bearer $ORCH_TOKEN\"" : $"curl -sS -X {method} -H \"Authorization: Bearer $ORCH_TOKEN\"", command, StringComparison.Ordinal);
            var url = command[(command.LastIndexOf(' ') + 1)..];
            Assert.StartsWith(host + "/api/v1/projects", url, StringComparison.Ordinal);
            Assert.Equal(path.Contains("{slug}", StringComparison.Ordinal), url.StartsWith(host + "/api/v1/projects/web", StringComparison.Ordinal));
            Assert.DoesNotContain("{", url, StringComparison.Ordinal);
            Assert.Equal(endpoint.Metadata.GetMetadata<IfMatchAttribute>() is not null, command.Contains("-H \"If-Match: $ETAG\"", StringComparison.Ordinal));
            Assert.Equal(endpoint.Metadata.GetMetadata<IdempotentAttribute>() is not null, command.Contains("-H \"Idempotency-Key: $IDEMPOTENCY_KEY\"", StringComparison.Ordinal));
            var takesBody = endpoint.Metadata.GetMetadata<IAcceptsMetadata>() is not null;
            Assert.Equal(takesBody, command.Contains(" -H \"Content-Type: application/json\" -d '", StringComparison.Ordinal));
            if (takesBody)
            {
                Assert.IsType<JsonObject>(JsonNode.Parse(BodyOf(command)!));
            }
        }

        // As written, the commands work: read the project, then add a link twice under one Idempotency-Key (one link).
        var commands = shown.ToDictionary(o => o.GetAttribute("data-operation")!, o => o.QuerySelector("pre code")!.TextContent);
        using var script = new HttpClient();
        using (var read = await SendAsync(script, commands["GET /api/v1/projects/{slug}"], token, null))
        {
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
            Assert.Equal("web", (string?)JsonNode.Parse(await read.Content.ReadAsStringAsync())!["project"]!["slug"]);
        }

        var idempotencyKey = Guid.NewGuid().ToString();
        using var added = await SendAsync(script, commands["POST /api/v1/projects/{slug}/links"], token, idempotencyKey);
        using var retried = await SendAsync(script, commands["POST /api/v1/projects/{slug}/links"], token, idempotencyKey);
        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.Created), (added.StatusCode, retried.StatusCode));
        Assert.Equal("true", retried.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(1L, await h.Db.ScalarAsync<long>("SELECT count(*) FROM project_links"));
        using (var note = await SendAsync(script, commands["POST /api/v1/projects/{slug}/tasks/{id}/actions/note"], token, Guid.NewGuid().ToString()))
        {
            Assert.Equal(HttpStatusCode.NotFound, note.StatusCode); // the URL reaches the action: WEB-1 does not exist
            Assert.Contains("No task 'WEB-1' in project 'web'", await note.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_examples_use_ORCH_PUBLIC_URL_when_it_is_set()
    {
        await using var h = await WebAccessTests.StartAsync(s => s["PUBLIC_URL"] = "https://orchestrator.example.com");
        using var admin = await WebAccessTests.InitAdminAsync(h);
        var (_, page, _) = await admin.GetAsync("/p/web/api");
        var commands = page.QuerySelectorAll(".api-operation pre code").Select(c => c.TextContent).ToList();
        Assert.NotEmpty(commands);
        Assert.All(commands, c => Assert.Contains(" https://orchestrator.example.com/api/v1/projects", c, StringComparison.Ordinal));
        Assert.Contains("curl -sS -H \"Authorization: Bearer $ORCH_TOKEN\" https://orchestrator.example.com/api/v1/projects/web/tasks", commands);
        Assert.Contains(commands, c => c.StartsWith("curl -sS -X PUT -H \"Authorization: Bearer $ORCH_TOKEN\" -H \"If-Match: $ETAG\" -H \"Content-Type: application/json\" -d '{\"title\":\"Runbook\"", StringComparison.Ordinal)
            && c.EndsWith(" https://orchestrator.example.com/api/v1/projects/web/links/1", StringComparison.Ordinal));
    }

    /// <summary>The <c>-d '…'</c> body of a generated command (single-quoted, <c>'\''</c> for a quote), or <c>null</c>.</summary>
    private static string? BodyOf(string command) =>
        BodyPattern().Match(command) is { Success: true } m ? m.Groups[1].Value.Replace("'\\''", "'", StringComparison.Ordinal) : null;

    /// <summary>Sends a generated command as curl would, with the shell variables set: method, headers, body, URL.</summary>
    private static Task<HttpResponseMessage> SendAsync(HttpClient client, string command, string token, string? idempotencyKey)
    {
        var method = MethodPattern().Match(command) is { Success: true } m ? new HttpMethod(m.Groups[1].Value) : HttpMethod.Get;
        var request = new HttpRequestMessage(method, command[(command.LastIndexOf(' ') + 1)..]);
        foreach (Match header in HeaderPattern().Matches(command))
        {
            var value = header.Groups[2].Value.Replace("$ORCH_TOKEN", token, StringComparison.Ordinal).Replace("$IDEMPOTENCY_KEY", idempotencyKey, StringComparison.Ordinal);
            if (header.Groups[1].Value != "Content-Type")
            {
                request.Headers.TryAddWithoutValidation(header.Groups[1].Value, value);
            }
        }

        if (BodyOf(command) is { } body)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return client.SendAsync(request);
    }

    [GeneratedRegex(@" -d '((?:[^']|'\\'')*)' ")]
    private static partial Regex BodyPattern();

    [GeneratedRegex(@"^curl -sS -X ([A-Z]+) ")]
    private static partial Regex MethodPattern();

    [GeneratedRegex(@"-H ""([A-Za-z-]+): ([^""]*)""")]
    private static partial Regex HeaderPattern();
}

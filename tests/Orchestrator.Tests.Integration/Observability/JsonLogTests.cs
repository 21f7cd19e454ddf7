using System.Text.Json;
using Orchestrator.Tests.Integration.EndToEnd;

namespace Orchestrator.Tests.Integration.Observability;

/// <summary>Issue #11 §3: <c>ORCH_LOG_FORMAT=json</c> writes one JSON object per line, with task, project and delivery scopes, and no secret or body.</summary>
public sealed class JsonLogTests
{
    private const string BodyMarker = "BODY-MARKER-7f3e0c1d";

    [Fact]
    public async Task Json_log_lines_are_one_object_each_with_task_project_and_delivery_scopes_and_no_secrets()
    {
        await using var h = await Harness.StartAsync(s => s["LOG_FORMAT"] = "json", startHost: false);
        await using var host = await HostProcess.StartAsync(h.Settings);
        h.PointWebhooksAt(host.Url);

        // A 429 from GitHub makes the issue activity fail once: a warning logged inside the task's work.
        h.GitHub.InjectRateLimitFault(429, TimeSpan.FromSeconds(1));
        var (id, _) = await h.CreateTaskAsync("Add a health endpoint", $"<p>Please add GET /healthz ({BodyMarker})</p><h2>Acceptance Criteria</h2><ul><li>200</li></ul>");
        await Harness.EventuallyAsync(async () => await h.Db.ScalarAsync<string>("SELECT COALESCE(max(status), '') FROM tasks WHERE id = @id", ("id", id)) == "ISSUE_CREATED", "the issue");
        var issue = Assert.Single(h.GitHub.Issues(Harness.Repo));
        await h.GitHub.OpenPullRequestAsync(Harness.Repo, "Add /healthz", $"Closes #{issue.Number}");
        await Harness.EventuallyAsync(async () => await h.Db.ScalarAsync<string>("SELECT status FROM tasks WHERE id = @id", ("id", id)) == "PR_CREATED", "the PR");
        await Harness.EventuallyAsync(() => Task.FromResult(host.Output.Contains("\"Routed ", StringComparison.Ordinal)), "a routing line");

        var lines = host.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length > 5, host.Output);
        var entries = lines.Select(line =>
        {
            try
            {
                using var doc = JsonDocument.Parse(line);
                Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
                return doc.RootElement.Clone();
            }
            catch (JsonException)
            {
                Assert.Fail($"not one JSON object: {line}");
                throw;
            }
        }).ToList();
        Assert.All(entries, e =>
        {
            Assert.True(e.TryGetProperty("Timestamp", out _));
            Assert.True(e.TryGetProperty("LogLevel", out _));
            Assert.True(e.TryGetProperty("Category", out _));
            Assert.True(e.TryGetProperty("Message", out _));
        });

        IEnumerable<JsonElement> Scopes(JsonElement e) => e.TryGetProperty("Scopes", out var s) ? s.EnumerateArray() : [];
        string? Field(JsonElement scope, string name) => scope.ValueKind == JsonValueKind.Object && scope.TryGetProperty(name, out var v) ? v.ToString() : null;
        Assert.Contains(entries, e => Scopes(e).Any(s => Field(s, "TaskId") == id) && Scopes(e).Any(s => Field(s, "Project") == "web"));
        Assert.Contains(entries, e => Scopes(e).Any(s => Field(s, "DeliveryId") is { Length: > 1 }) && e.GetProperty("Message").GetString()!.StartsWith("Routed ", StringComparison.Ordinal));
        Assert.Contains(entries, e => Scopes(e).Any(s => Field(s, "Source") == "github" && Field(s, "DeliveryId") is { Length: > 1 }));

        foreach (var secret in new[] { Harness.GitHubToken, Harness.PlaneToken, Harness.GitHubSecret, Harness.PlaneSecret, Harness.AdminToken, Harness.MasterKey, BodyMarker })
        {
            Assert.DoesNotContain(secret, host.Output, StringComparison.Ordinal);
        }
    }
}

using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.Functions.Functions;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Simulators.GitHub;
using Orchestrator.Simulators.Plane;
using TaskStatus = Orchestrator.Orchestrations.Tasks.TaskStatus;

namespace Orchestrator.Functions.Commands;

/// <summary>
/// <c>demo</c>: runs the whole product on one machine with nothing configured. Starts a private
/// PostgreSQL when <c>ORCH_DATABASE_URL</c> is unset, the bundled Plane and GitHub simulators on
/// loopback, and the host; then drives one task with signed, real-shaped webhooks — Plane item
/// labelled AutoTask → GitHub issue → PR "Fixes #N" → merge → CI success — and prints its timeline.
/// Then it prints the dashboard's URL and a one-time sign-in link for a demo host admin and keeps serving until
/// Ctrl-C, so a newcomer can click through the web tool; <c>--exit</c> ends right away (for scripts).
/// </summary>
public static class DemoCommand
{
    private const string Repo = "acme/webshop";
    private const string GitHubToken = "demo-github-token";
    private const string PlaneToken = "demo-plane-token";
    private const string Workspace = "acme";

    /// <summary>Runs the demo; returns 0 when the task reached DEPLOYED.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var exitWhenDone = args.Contains("--exit", StringComparer.Ordinal);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = cts.Token;
        LocalPostgres? postgres = null;
        var databaseUrl = Environment.GetEnvironmentVariable("ORCH_DATABASE_URL");
        if (string.IsNullOrWhiteSpace(databaseUrl))
        {
            postgres = await LocalPostgres.StartAsync(Say);
            databaseUrl = postgres.Url;
        }

        try
        {
            await using var github = await GitHubSimulator.StartAsync(GitHubToken, cancellationToken: ct);
            await using var plane = await PlaneSimulator.StartAsync(PlaneToken, Workspace, cancellationToken: ct);
            github.AddRepository(Repo);
            var projectId = Guid.NewGuid().ToString();
            plane.AddProject(projectId, "WEB");
            Say($"GitHub simulator on {github.BaseUrl} (REST under {github.ApiUrl}, as GitHub Enterprise serves it), Plane simulator on {plane.BaseUrl}");

            var githubSecret = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
            var planeSecret = "plane_wh_" + Guid.NewGuid().ToString("N");
            var schema = "demo_" + Guid.NewGuid().ToString("N")[..8];
            var adminToken = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
            await using var app = OrchestratorApp.Build([], new Dictionary<string, string?>
            {
                ["DATABASE_URL"] = WithSchema(databaseUrl, schema),
                ["URLS"] = "http://127.0.0.1:0",
                ["GITHUB_API_URL"] = github.BaseUrl.ToString(),
                ["GITHUB_TOKEN"] = GitHubToken,
                ["GITHUB_WEBHOOK_SECRET"] = githubSecret,
                ["PLANE_API_URL"] = plane.BaseUrl.ToString(),
                ["PLANE_API_TOKEN"] = PlaneToken,
                ["PLANE_WORKSPACE_SLUG"] = Workspace,
                ["PLANE_WEBHOOK_SECRET"] = planeSecret,
                ["MASTER_KEY"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), // a throwaway database needs no lasting key
                ["ADMIN_TOKEN"] = adminToken, // the demo's own API calls; a person signs in with the link printed at the end
                ["PROJECTS_JSON"] = JsonSerializer.Serialize(new[]
                {
                    new { plane_project_id = projectId, repo = Repo, work_item_prefix = "WEB", trigger_label = "AutoTask", agent_command = "/opencode implement", require_ci = true },
                }),
                ["OUTBOUND_ALLOWED_HOSTS"] = "loopback", // the bundled simulators are on 127.0.0.1
                ["CI_POLL_INTERVAL"] = "2s",
                ["RECONCILE_INTERVAL"] = "30s",
                ["QUEUE_POLL_INTERVAL"] = "250ms",
                ["Logging:LogLevel:Default"] = "Warning",
            });
            await app.StartOrchestratorAsync(ct);
            var host = new Uri(app.Urls.First().TrimEnd('/') + "/");
            Say($"Orchestrator on {host} (database schema {schema})");
            github.ConfigureWebhook(new Uri(host, "webhooks/github"), githubSecret);
            plane.ConfigureWebhook(new Uri(host, "webhooks/plane"), planeSecret);
            using var http = new HttpClient { BaseAddress = host };
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminToken);

            var (item, _, status) = await plane.CreateWorkItemAsync(projectId, "Add a health endpoint",
                "<p>Operators need a liveness probe for the load balancer.</p>" +
                "<h2>Requirements</h2><ul><li><code>GET /healthz</code> answers <strong>200</strong> with <code>{\"status\":\"ok\"}</code></li></ul>" +
                "<h2>Acceptance Criteria</h2><ul><li>A test calls the endpoint</li></ul>",
                ["AutoTask"], cancellationToken: ct);
            var id = TaskPipelineOrchestration.InstanceIdFor(item.Id);
            Say($"Plane: created WEB-{item.SequenceId} with label AutoTask → webhook answered {(int?)status}");

            var task = await WaitForAsync(http, id, TaskStatus.ISSUE_CREATED, ct);
            var issue = github.Issues(Repo).Single();
            Say($"GitHub: issue #{issue.Number} \"{issue.Title}\"; last line: {issue.Body?.Split('\n')[^1]}");

            var pr = await github.OpenPullRequestAsync(Repo, "Add /healthz", $"Adds the endpoint.\n\nFixes #{issue.Number}", cancellationToken: ct);
            Say($"GitHub: agent opened PR #{pr} (\"Fixes #{issue.Number}\")");
            await WaitForAsync(http, id, TaskStatus.PR_CREATED, ct);

            var sha = await github.MergePullRequestAsync(Repo, pr, cancellationToken: ct);
            Say($"GitHub: PR #{pr} merged as {sha[..7]}");
            await WaitForAsync(http, id, TaskStatus.WAITING_CI, ct);

            github.StartCi(Repo, sha);
            await github.CompleteCiAsync(Repo, sha, "success", cancellationToken: ct);
            Say("GitHub: CI on the merge commit finished: success");
            task = await WaitForAsync(http, id, TaskStatus.DEPLOYED, ct);

            var done = plane.WorkItem(item.Id);
            var state = plane.States(projectId).First(s => s.Id == done.StateId);
            Say($"Plane: WEB-{item.SequenceId} is now '{state.Name}' with {plane.Comments(item.Id).Count} comments from the orchestrator");
            Console.WriteLine();
            Console.WriteLine($"Timeline of {task.TaskKey} ({task.Id}) — GET /api/tasks/{task.Id}");
            foreach (var entry in task.Timeline)
            {
                Console.WriteLine($"  {entry.At:HH:mm:ss.fff}  {entry.Status,-16} {entry.Summary}");
            }

            Console.WriteLine();
            Console.WriteLine($"Final status: {task.Status}");
            var deployed = task.Status == nameof(TaskStatus.DEPLOYED);
            if (!exitWhenDone)
            {
                // A demo host admin (random password, never printed) and a one-time link that signs the newcomer in.
                var accounts = app.Services.GetRequiredService<Orchestrator.Shared.Accounts.AccountStore>();
                var admin = await accounts.CreateFirstAdminAsync("demo", Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)), CancellationToken.None)
                    ?? throw new InvalidOperationException("The demo database already has users.");
                var link = await accounts.CreateSignInLinkAsync(admin.Id, TimeSpan.FromHours(1), CancellationToken.None);
                Console.WriteLine();
                Console.WriteLine($"Dashboard:        {host}p/web");
                Console.WriteLine($"Sign in (once):   {host}login/link/{link}");
                Console.WriteLine("The demo keeps serving (simulators included) until you press Ctrl-C. Use `-- demo --exit` to stop right away.");
                using var stop = new CancellationTokenSource();
                Console.CancelKeyPress += (_, e) =>
                {
                    e.Cancel = true;
                    stop.Cancel();
                };
                try
                {
                    await Task.Delay(Timeout.Infinite, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    Say("Stopping.");
                }
            }

            await app.StopAsync(CancellationToken.None);
            return deployed ? 0 : 1;
        }
        finally
        {
            if (postgres is not null)
            {
                await postgres.DisposeAsync();
            }
        }
    }

    private static async Task<TaskDetail> WaitForAsync(HttpClient http, string id, TaskStatus status, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        TaskDetail? last = null;
        while (DateTimeOffset.UtcNow < deadline)
        {
            using var response = await http.GetAsync($"api/tasks/{id}", ct);
            if (response.IsSuccessStatusCode)
            {
                last = await response.Content.ReadFromJsonAsync<TaskDetail>(EngineJson.Options, ct);
                if (last?.Status == status.ToString())
                {
                    Say($"Orchestrator: {last.TaskKey} is {last.Status}");
                    return last;
                }

                if (last?.Status == nameof(TaskStatus.FAILED))
                {
                    throw new InvalidOperationException($"The task failed: {last.FailureReason}");
                }
            }

            await Task.Delay(200, ct);
        }

        throw new TimeoutException($"The task did not reach {status} within 60 s (last status: {last?.Status ?? "none"}).");
    }

    private static string WithSchema(string databaseUrl, string schema)
    {
        var cs = new Npgsql.NpgsqlConnectionStringBuilder(Database.ToConnectionString(databaseUrl)) { SearchPath = schema };
        return cs.ConnectionString;
    }

    private static void Say(string line) => Console.WriteLine($"[demo] {line}");
}

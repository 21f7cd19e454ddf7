using System.Text.Json;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Plane;

namespace Orchestrator.Functions.Routing;

/// <summary>
/// Turns a stored webhook delivery into orchestration starts and external events. Every event it
/// raises is keyed by the inbox id, so running it twice (a retry after a crash) raises nothing new.
/// </summary>
public sealed class DeliveryRouter(DurableEngine engine, OrchestratorSettings settings, IPlaneClient plane, ILogger<DeliveryRouter> logger)
{
    /// <summary>Routes one delivery and returns what was done (stored as the inbox outcome).</summary>
    public async Task<string> RouteAsync(InboxDelivery delivery, CancellationToken cancellationToken)
    {
        using var doc = JsonDocument.Parse(delivery.Body);
        var root = doc.RootElement;
        return delivery.Source switch
        {
            "plane" => await RoutePlaneAsync(delivery, root, cancellationToken),
            "github" => await RouteGitHubAsync(delivery, root, cancellationToken),
            _ => $"ignored: unknown source {delivery.Source}",
        };
    }

    private async Task<string> RoutePlaneAsync(InboxDelivery delivery, JsonElement root, CancellationToken ct)
    {
        var eventName = Str(root, "event") ?? delivery.EventType;
        var action = Str(root, "action");
        if (eventName != "issue" || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object)
        {
            return $"ignored: Plane event '{eventName}'";
        }

        var workItemId = Str(data, "id");
        if (workItemId is null)
        {
            return "ignored: Plane issue delivery without data.id";
        }

        var instanceId = TaskPipelineOrchestration.InstanceIdFor(workItemId);
        var eventKey = $"delivery:{delivery.Id}";
        if (action is "deleted" or "delete")
        {
            return await engine.RaiseEventAsync(instanceId, new WorkItemDeleted(), eventKey, ct)
                ? $"deleted → {instanceId}"
                : "ignored: deleted item has no task";
        }

        var projectId = Str(data, "project");
        var project = settings.ProjectFor(projectId);
        if (project is null)
        {
            return $"ignored: Plane project {projectId} is not configured";
        }

        var snapshot = PlanePayloads.Snapshot(data);
        if (snapshot.Labels is null)
        {
            // The delivery carried label ids only (API clients send "labels": [uuid]): ask Plane for names.
            var item = await plane.GetWorkItemAsync(project.PlaneProjectId, workItemId, ct);
            snapshot = PlanePayloads.Snapshot(item);
        }

        var triggered = snapshot.Labels!.Any(l => string.Equals(l, project.TriggerLabel, StringComparison.OrdinalIgnoreCase));
        if (triggered)
        {
            var taskProject = new TaskProject(project.PlaneProjectId, project.Repo, project.WorkItemPrefix, project.AgentCommand, project.RequireCi, project.Mode);
            if (await engine.StartAsync(TaskPipelineOrchestration.OrchestrationName, instanceId, new TaskReceived(taskProject, snapshot), "start", ct))
            {
                logger.LogInformation("Started {InstanceId} from Plane delivery {DeliveryId}", instanceId, delivery.DeliveryId);
                return $"started {instanceId}";
            }
        }

        return await engine.RaiseEventAsync(instanceId, new WorkItemUpdated(snapshot), eventKey, ct)
            ? $"updated → {instanceId}"
            : $"ignored: no '{project.TriggerLabel}' label";
    }

    private async Task<string> RouteGitHubAsync(InboxDelivery delivery, JsonElement root, CancellationToken ct)
    {
        var action = Str(root, "action");
        var repo = root.TryGetProperty("repository", out var r) ? Str(r, "full_name") : null;
        if (repo is null)
        {
            return $"ignored: GitHub '{delivery.EventType}' without repository";
        }

        var eventKey = $"delivery:{delivery.Id}";
        switch (delivery.EventType)
        {
            case "pull_request" when action is "opened" or "edited" or "reopened" or "closed":
            {
                if (!root.TryGetProperty("pull_request", out var pr) || pr.ValueKind != JsonValueKind.Object
                    || !pr.TryGetProperty("number", out var n) || !n.TryGetInt32(out var number))
                {
                    return "ignored: pull_request delivery without pull_request.number";
                }

                var url = Str(pr, "html_url") ?? "";
                var refs = ClosingKeywords.Parse(Str(pr, "body"), RepoRef.Parse(repo));
                var linked = await engine.FindInstancesAsync(refs.Select(x => CorrelationKeys.Issue(x.Repo.FullName, x.Number)).ToArray(), ct);
                var known = await engine.FindInstancesAsync([CorrelationKeys.PullRequest(repo, number)], ct);
                TaskEvent? @event;
                IEnumerable<string> targets;
                if (action == "closed")
                {
                    var merged = pr.TryGetProperty("merged", out var m) && m.ValueKind == JsonValueKind.True;
                    var sha = Str(pr, "merge_commit_sha");
                    @event = merged && sha is not null ? new PullRequestMerged(repo, number, url, sha) : new PullRequestClosed(repo, number);
                    targets = linked.Union(known);
                }
                else
                {
                    @event = Str(pr, "state") == "open" ? new PullRequestLinked(repo, number, url) : null;
                    targets = linked;
                }

                return await RaiseAllAsync(targets, @event, eventKey, $"pull_request {action} #{number}", ct);
            }

            case "check_suite" when action == "completed" && root.TryGetProperty("check_suite", out var suite):
            {
                var sha = Str(suite, "head_sha");
                var conclusion = Str(suite, "conclusion") ?? "unknown";
                if (sha is null)
                {
                    return "ignored: check_suite without head_sha";
                }

                var targets = await engine.FindInstancesAsync([CorrelationKeys.Commit(repo, sha)], ct);
                return await RaiseAllAsync(targets, new CiCompleted(sha, conclusion, "check_suite", null), eventKey, $"check_suite {conclusion}", ct);
            }

            case "workflow_run" when action == "completed" && root.TryGetProperty("workflow_run", out var run):
            {
                var sha = Str(run, "head_sha");
                var conclusion = Str(run, "conclusion") ?? "unknown";
                if (sha is null)
                {
                    return "ignored: workflow_run without head_sha";
                }

                var targets = await engine.FindInstancesAsync([CorrelationKeys.Commit(repo, sha)], ct);
                return await RaiseAllAsync(targets, new CiCompleted(sha, conclusion, "workflow_run", Str(run, "html_url")), eventKey, $"workflow_run {conclusion}", ct);
            }

            default:
                return $"ignored: GitHub '{delivery.EventType}'{(action is null ? "" : $" '{action}'")}";
        }
    }

    private async Task<string> RaiseAllAsync(IEnumerable<string> instanceIds, TaskEvent? @event, string eventKey, string what, CancellationToken ct)
    {
        var ids = instanceIds.Distinct().ToArray();
        if (@event is null || ids.Length == 0)
        {
            return $"ignored: {what} concerns no task";
        }

        foreach (var id in ids)
        {
            await engine.RaiseEventAsync(id, @event, eventKey, ct);
        }

        return $"{what} → {string.Join(", ", ids)}";
    }

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}

/// <summary>Reading Plane's v1 webhook <c>data</c> (IssueExpandSerializer) and API work items into snapshots.</summary>
public static class PlanePayloads
{
    /// <summary>
    /// From a webhook's <c>data</c>: labels are names when expanded objects (<c>{id, name, color}</c>),
    /// <c>null</c> when only ids were sent; <c>description_html</c> and <c>state.group</c> when present.
    /// </summary>
    public static WorkItemSnapshot Snapshot(JsonElement data)
    {
        IReadOnlyList<string>? labels = null;
        if (data.TryGetProperty("labels", out var l) && l.ValueKind == JsonValueKind.Array)
        {
            var items = l.EnumerateArray().ToArray();
            if (items.All(i => i.ValueKind == JsonValueKind.Object))
            {
                labels = items.Select(i => i.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "").ToArray();
            }
        }

        string? group = null;
        if (data.TryGetProperty("state", out var state) && state.ValueKind == JsonValueKind.Object && state.TryGetProperty("group", out var g))
        {
            group = g.GetString();
        }

        int? sequence = data.TryGetProperty("sequence_id", out var s) && s.TryGetInt32(out var seq) ? seq : null;
        return new WorkItemSnapshot(
            data.GetProperty("id").GetString()!,
            sequence,
            data.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() : null,
            data.TryGetProperty("description_html", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null,
            labels,
            group);
    }

    /// <summary>From an API work item.</summary>
    public static WorkItemSnapshot Snapshot(PlaneWorkItem item) => new(
        item.Id, item.SequenceId, item.Name, item.DescriptionHtml ?? "", item.Labels.Select(l => l.Name).ToArray(), item.State?.Group);
}

using System.Text.Json;
using System.Security.Cryptography;
using System.Text;
using Orchestrator.Functions.Platforms;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Gitea;
using Orchestrator.Shared.Plane;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Routing;

/// <summary>
/// Turns a stored webhook delivery into orchestration starts and external events. Every event it
/// raises is keyed by the inbox id (Asana: by its events' dedupe keys), so running it twice (a retry after a
/// crash) raises nothing new. Tracker deliveries are read under the project's gating rules
/// (<see cref="TrackerRules"/>): only an item whose AutoTask marker is on starts a task; later deliveries for a
/// started task always reach it (that is how AutoTask off, cancel, block and repo changes arrive).
/// </summary>
public sealed class DeliveryRouter(IOrchestrationClient engine, ProjectStore projects, PlatformRegistry platforms, ILogger<DeliveryRouter> logger)
{
    /// <summary>Routes one delivery and returns what was done (stored as the inbox outcome).</summary>
    public async Task<string> RouteAsync(InboxDelivery delivery, CancellationToken cancellationToken)
    {
        if (delivery.Source == "asana")
        {
            return await RouteAsanaAsync(delivery, cancellationToken);
        }

        using var doc = JsonDocument.Parse(delivery.Body);
        var root = doc.RootElement;
        return delivery.Source switch
        {
            "plane" => await RoutePlaneAsync(delivery, root, cancellationToken),
            "github" => await RouteGitHubAsync(delivery, root, cancellationToken),
            "gitea" => await RouteGiteaAsync(delivery, cancellationToken),
            _ => $"ignored: unknown source {delivery.Source}",
        };
    }

    /// <summary>
    /// Who raised the events of a delivery, for the read model: the tracker or the forge, with the delivery id the inbox
    /// stored it under (<c>sha256:…</c> of the body when the platform sends no id).
    /// </summary>
    /// <param name="delivery">The delivery.</param>
    /// <returns>The origin its events carry.</returns>
    public static EventOrigin OriginOf(InboxDelivery delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        return EventOrigin.FromWebhook(delivery.Source is "plane" or "asana" ? EventSources.Tracker : EventSources.Forge, delivery.DeliveryId);
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

        var instanceId = TaskPipelineOrchestration.InstanceIdFor(TrackerConfig.Plane, workItemId);
        var eventKey = $"delivery:{delivery.Id}";
        if (action is "deleted" or "delete")
        {
            return await engine.RaiseEventAsync(instanceId, new WorkItemDeleted(), eventKey, new RaiseOptions { Origin = OriginOf(delivery) }, ct)
                ? $"deleted → {instanceId}"
                : "ignored: deleted item has no task";
        }

        var projectId = Str(data, "project");
        var stored = delivery.ProjectSlug is { } slug
            ? await projects.GetAsync(slug, ct)
            : projectId is null ? null : await projects.FindByTrackerProjectAsync(TrackerConfig.Plane, projectId, ct);
        if (stored is null || projectId is null || !stored.Definition.Tracker.ProjectIds.Contains(projectId, StringComparer.OrdinalIgnoreCase))
        {
            return $"ignored: Plane project {projectId} is not configured{(delivery.ProjectSlug is { } s ? $" in project '{s}'" : "")}";
        }

        var project = platforms.For(stored);
        var snapshot = PlanePayloads.Snapshot(data);
        string? stateName = data.TryGetProperty("state", out var st) && st.ValueKind == JsonValueKind.Object ? Str(st, "name") : null;
        if (snapshot.Labels is null)
        {
            // The delivery carried label ids only (API clients send "labels": [uuid]): ask Plane for names.
            snapshot = await project.Tracker.GetItemAsync(projectId, workItemId, ct);
        }
        else
        {
            snapshot = PlaneTracker.WithFacts(stored.Definition, snapshot, stateName);
        }

        return (await StartOrUpdateAsync(project, projectId, instanceId, snapshot, eventKey, $"delivery {delivery.DeliveryId}", OriginOf(delivery), ct)).Outcome;
    }

    private async Task<(TaskRouting Result, string Outcome)> StartOrUpdateAsync(
        ProjectPlatforms project, string trackerProjectId, string instanceId, WorkItemSnapshot snapshot, string eventKey, string source, EventOrigin origin, CancellationToken ct)
    {
        if (StartsTask(snapshot)
            && await engine.StartAsync(TaskPipelineOrchestration.OrchestrationName, instanceId, new TaskReceived(project.TaskProject(trackerProjectId), snapshot), "start", null, origin, ct))
        {
            logger.LogInformation("Started {InstanceId} from {Tracker} {Source}", instanceId, project.Tracker.Kind, source);
            return (TaskRouting.Started, $"started {instanceId}");
        }

        return await engine.RaiseEventAsync(instanceId, new WorkItemUpdated(snapshot), eventKey, new RaiseOptions { Origin = origin }, ct)
            ? (TaskRouting.Updated, $"updated → {instanceId}")
            : (TaskRouting.Ignored, snapshot.Triggered == true ? "ignored: the item is cancelled or completed and there is no task" : "ignored: AutoTask is off and there is no task");
    }

    /// <summary>
    /// Starts the task of one Asana task (AutoTask on, not cancelled, not completed) or brings its running task up to
    /// date; used by webhook routing and by <c>POST /api/projects/{slug}/sync</c>.
    /// </summary>
    /// <param name="stored">The Asana project.</param>
    /// <param name="task">The task as fetched (custom fields, tags, memberships).</param>
    /// <param name="eventKey">Idempotency key of the update event.</param>
    /// <param name="source">What brought it (for the log), e.g. <c>delivery sha256:…</c> or <c>sync</c>.</param>
    /// <param name="origin">Who raised it, for the read model: the delivery (<see cref="OriginOf"/>), or the API caller of a sync.</param>
    /// <param name="ct">Cancellation.</param>
    /// <returns>What was done, and the outcome line for the inbox.</returns>
    public async Task<(TaskRouting Result, string Outcome)> ApplyAsanaTaskAsync(StoredProject stored, AsanaTask task, string eventKey, string source, EventOrigin origin, CancellationToken ct)
    {
        var trackerProjectId = task.Memberships.Select(m => m.ProjectGid).FirstOrDefault(g => g is not null && stored.Definition.Tracker.ProjectIds.Contains(g))
            ?? stored.Definition.Tracker.ProjectIds[0];
        var snapshot = AsanaTracker.Snapshot(stored.Definition, task, 0) with { SequenceId = null };

        // A number is taken only by a task that starts now; one that has a number keeps it. A task that is cancelled
        // or completed before it ever started takes none, so PREFIX-N has no gaps from them.
        var sequence = StartsTask(snapshot)
            ? await projects.NextSequenceAsync(stored.Definition.Slug, task.Gid, ct)
            : snapshot.Triggered == true ? await projects.FindSequenceAsync(stored.Definition.Slug, task.Gid, ct) : null;
        snapshot = snapshot with { SequenceId = sequence };
        var instanceId = TaskPipelineOrchestration.InstanceIdFor(TrackerConfig.Asana, task.Gid);
        return await StartOrUpdateAsync(platforms.For(stored), trackerProjectId, instanceId, snapshot, eventKey, source, origin, ct);
    }

    /// <summary>
    /// Starts the task of one Plane work item (trigger label on, not cancelled, not completed) or brings its running
    /// task up to date; used by <c>POST /api/projects/{slug}/sync</c>.
    /// </summary>
    /// <param name="stored">The Plane project.</param>
    /// <param name="item">The work item as listed (labels and state expanded).</param>
    /// <param name="eventKey">Idempotency key of the update event.</param>
    /// <param name="source">What brought it (for the log), e.g. <c>sync</c>.</param>
    /// <param name="origin">Who raised it, for the read model (the API caller of a sync).</param>
    /// <param name="ct">Cancellation.</param>
    /// <returns>What was done, and the outcome line.</returns>
    public Task<(TaskRouting Result, string Outcome)> ApplyPlaneItemAsync(StoredProject stored, PlaneWorkItem item, string eventKey, string source, EventOrigin origin, CancellationToken ct)
    {
        var snapshot = PlaneTracker.WithFacts(stored.Definition, PlanePayloads.Snapshot(item), item.State?.Name);
        var instanceId = TaskPipelineOrchestration.InstanceIdFor(TrackerConfig.Plane, item.Id);
        return StartOrUpdateAsync(platforms.For(stored), item.ProjectId, instanceId, snapshot, eventKey, source, origin, ct);
    }

    // An item starts a task only with AutoTask on, and never when it is already cancelled or completed.
    private static bool StartsTask(WorkItemSnapshot snapshot) =>
        snapshot.Triggered == true
        && !string.Equals(snapshot.Lifecycle, TrackerRules.Cancelled, StringComparison.OrdinalIgnoreCase)
        && snapshot.Completed != true;

    private async Task<string> RouteAsanaAsync(InboxDelivery delivery, CancellationToken ct)
    {
        var stored = delivery.ProjectSlug is { } slug ? await projects.GetAsync(slug, ct) : null;
        if (stored is null || stored.Definition.Tracker.Kind != TrackerConfig.Asana)
        {
            return $"ignored: Asana delivery for unknown project '{delivery.ProjectSlug}'";
        }

        var tracker = (AsanaTracker)platforms.For(stored).Tracker;
        var outcomes = new List<string>();
        foreach (var group in AsanaWebhooks.ParseEvents(delivery.Body).Where(e => e.TaskGid is not null).GroupBy(e => e.TaskGid!))
        {
            var taskGid = group.Key;
            var instanceId = TaskPipelineOrchestration.InstanceIdFor(TrackerConfig.Asana, taskGid);
            // Asana sends no delivery id and may batch the same events differently: key on the events themselves.
            var eventKey = "asana:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join(",", group.Select(e => e.DedupeKey).Order(StringComparer.Ordinal)))))[..32];
            if (group.Any(e => e.Action == "deleted" && e.Resource.Gid == taskGid))
            {
                outcomes.Add(await engine.RaiseEventAsync(instanceId, new WorkItemDeleted(), eventKey, new RaiseOptions { Origin = OriginOf(delivery) }, ct)
                    ? $"deleted → {instanceId}"
                    : $"ignored: deleted task {taskGid} has no task");
                continue;
            }

            AsanaTask task;
            try
            {
                task = await tracker.Client.GetTaskAsync(taskGid, ct);
            }
            catch (PlatformApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                outcomes.Add(await engine.RaiseEventAsync(instanceId, new WorkItemDeleted(), eventKey, new RaiseOptions { Origin = OriginOf(delivery) }, ct)
                    ? $"deleted → {instanceId}"
                    : $"ignored: task {taskGid} is gone");
                continue;
            }

            outcomes.Add((await ApplyAsanaTaskAsync(stored, task, eventKey, $"delivery {delivery.DeliveryId}", OriginOf(delivery), ct)).Outcome);
        }

        return outcomes.Count == 0 ? "ignored: no task events" : string.Join("; ", outcomes);
    }

    private async Task<string> RouteGiteaAsync(InboxDelivery delivery, CancellationToken ct)
    {
        var parts = delivery.EventType.Split(':', 2);
        var fact = GiteaWebhooks.Parse(parts[0], parts.Length > 1 ? parts[1] : null, delivery.Body);
        var eventKey = $"delivery:{delivery.Id}";
        switch (fact)
        {
            case GiteaPullRequestFact pr when pr.Action is "opened" or "edited" or "reopened" or "closed":
            {
                var refs = ClosingKeywords.Parse(pr.Body, RepoRef.Parse(pr.RepoFullName));
                var linked = await FindTasksAsync(delivery, ForgeConfig.Gitea, refs.Select(x => CorrelationKeys.Issue(x.Repo.FullName, x.Number)).ToArray(), ct);
                var known = await FindTasksAsync(delivery, ForgeConfig.Gitea, [CorrelationKeys.PullRequest(pr.RepoFullName, pr.Number)], ct);
                if (pr.Action == "closed")
                {
                    TaskEvent closed = pr.Merged && pr.MergeCommitSha is { } sha
                        ? new PullRequestMerged(pr.RepoFullName, pr.Number, pr.HtmlUrl, sha)
                        : new PullRequestClosed(pr.RepoFullName, pr.Number);
                    return await RaiseAllAsync(delivery, linked.Union(known), closed, eventKey, $"pull_request closed #{pr.Number}", ct);
                }

                return await RaiseAllAsync(delivery, linked, pr.State == "open" ? new PullRequestLinked(pr.RepoFullName, pr.Number, pr.HtmlUrl) : null, eventKey, $"pull_request {pr.Action} #{pr.Number}", ct);
            }

            case GiteaCommitStatusFact status:
            {
                var targets = await FindTasksAsync(delivery, ForgeConfig.Gitea, [CorrelationKeys.Commit(status.RepoFullName, status.Sha)], ct);
                return await RaiseAllAsync(delivery, targets, new CiCompleted(status.Sha, status.Conclusion, $"status {status.Context}", status.TargetUrl), eventKey, $"status {status.Context} {status.State}", ct);
            }

            case null:
                return $"ignored: Gitea '{delivery.EventType}'";

            default:
                return $"ignored: Gitea {fact.GetType().Name.Replace("Gitea", "", StringComparison.Ordinal).Replace("Fact", "", StringComparison.Ordinal)}";
        }
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
                var linked = await FindTasksAsync(delivery, ForgeConfig.GitHub, refs.Select(x => CorrelationKeys.Issue(x.Repo.FullName, x.Number)).ToArray(), ct);
                var known = await FindTasksAsync(delivery, ForgeConfig.GitHub, [CorrelationKeys.PullRequest(repo, number)], ct);
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

                return await RaiseAllAsync(delivery, targets, @event, eventKey, $"pull_request {action} #{number}", ct);
            }

            case "check_suite" when action == "completed" && root.TryGetProperty("check_suite", out var suite):
            {
                var sha = Str(suite, "head_sha");
                var conclusion = Str(suite, "conclusion") ?? "unknown";
                if (sha is null)
                {
                    return "ignored: check_suite without head_sha";
                }

                var targets = await FindTasksAsync(delivery, ForgeConfig.GitHub, [CorrelationKeys.Commit(repo, sha)], ct);
                return await RaiseAllAsync(delivery, targets, new CiCompleted(sha, conclusion, "check_suite", null), eventKey, $"check_suite {conclusion}", ct);
            }

            case "workflow_run" when action == "completed" && root.TryGetProperty("workflow_run", out var run):
            {
                var sha = Str(run, "head_sha");
                var conclusion = Str(run, "conclusion") ?? "unknown";
                if (sha is null)
                {
                    return "ignored: workflow_run without head_sha";
                }

                var targets = await FindTasksAsync(delivery, ForgeConfig.GitHub, [CorrelationKeys.Commit(repo, sha)], ct);
                return await RaiseAllAsync(delivery, targets, new CiCompleted(sha, conclusion, "workflow_run", Str(run, "html_url")), eventKey, $"workflow_run {conclusion}", ct);
            }

            default:
                return $"ignored: GitHub '{delivery.EventType}'{(action is null ? "" : $" '{action}'")}";
        }
    }

    /// <summary>
    /// Tasks registered under <paramref name="keys"/> that belong to the delivery's forge and project. Correlation
    /// keys name <c>owner/repo</c> but not the forge, so <c>acme/webshop#1</c> on GitHub and on Gitea (or a Gitea
    /// mirror's commits) share a key; a forge delivery must reach only tasks of that forge and, on a per-project
    /// endpoint, of that project (tasks started before projects had slugs match any project of the forge).
    /// </summary>
    private async Task<IReadOnlyList<string>> FindTasksAsync(InboxDelivery delivery, string forge, IReadOnlyCollection<string> keys, CancellationToken ct)
    {
        var owned = new List<string>();
        foreach (var id in await engine.FindInstancesAsync(keys, ct))
        {
            TaskState task;
            try
            {
                task = await platforms.TaskStateAsync(id, ct);
            }
            catch (PermanentActivityException)
            {
                continue;
            }

            if (string.Equals(task.Project.Forge, forge, StringComparison.Ordinal)
                && (delivery.ProjectSlug is null || task.Project.ProjectSlug is null || task.Project.ProjectSlug == delivery.ProjectSlug))
            {
                owned.Add(id);
            }
        }

        return owned;
    }

    private async Task<string> RaiseAllAsync(InboxDelivery delivery, IEnumerable<string> instanceIds, TaskEvent? @event, string eventKey, string what, CancellationToken ct)
    {
        var ids = instanceIds.Distinct().ToArray();
        if (@event is null || ids.Length == 0)
        {
            return $"ignored: {what} concerns no task";
        }

        foreach (var id in ids)
        {
            await engine.RaiseEventAsync(id, @event, eventKey, new RaiseOptions { Origin = OriginOf(delivery) }, ct);
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

/// <summary>What routing did with one tracker item.</summary>
public enum TaskRouting
{
    /// <summary>A task started.</summary>
    Started,

    /// <summary>The running task received the item as an update.</summary>
    Updated,

    /// <summary>Nothing: no task, and the item does not start one.</summary>
    Ignored,
}

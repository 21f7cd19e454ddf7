using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Npgsql;
using Orchestrator.Functions.Platforms;
using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Plane;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Web;

/// <summary>What the "create task" form asks for.</summary>
/// <param name="Title">Title (one line).</param>
/// <param name="Description">Description, Markdown or plain text.</param>
/// <param name="Repo">Repository, one of the project's (only where the tracker carries one: Asana with a repo field).</param>
/// <param name="TrackerProject">The tracker project to create it in (default: the project's first).</param>
/// <param name="RequestId">The form's one-time id: submitting the same form twice creates one item.</param>
public sealed record NewTaskInput(string? Title, string? Description, string? Repo, string? TrackerProject, string? RequestId);

/// <summary>An item created in the tracker.</summary>
/// <param name="Tracker"><c>plane</c> or <c>asana</c>.</param>
/// <param name="TrackerProjectId">Tracker project.</param>
/// <param name="ItemId">Work item UUID or task gid (the task's instance id is <c>{tracker}-{ItemId}</c>).</param>
/// <param name="Url">Link to it in the tracker, when the tracker gives one (Asana's permalink).</param>
/// <param name="Key">The task key it will get, when the tracker numbers items (Plane: <c>PREFIX-sequence</c>).</param>
public sealed record CreatedTrackerItem(string Tracker, string TrackerProjectId, string ItemId, string? Url, string? Key);

/// <summary>The "create task" input was refused: field → message (<c>""</c>: not tied to a field). Nothing was created.</summary>
/// <param name="errors">The problems.</param>
public sealed class NewTaskRefusedException(IReadOnlyDictionary<string, string> errors)
    : Exception(string.Join("; ", errors.Select(e => e.Key.Length == 0 ? e.Value : $"{e.Key}: {e.Value}")))
{
    /// <summary>Field → message.</summary>
    public IReadOnlyDictionary<string, string> Errors { get; } = errors;
}

/// <summary>
/// Creates a task the way people do (issue #9 §2.3): an item in the project's tracker with the AutoTask marker on and the
/// repository chosen, so the usual webhook path starts it. Plane: a work item with the trigger label (looked up, created
/// when the project has none), the description as HTML, and our idempotency key as <c>external_id</c>. Asana: a task in the
/// project with the AutoTask enum option (or tag) and the repo field's option for the chosen repo. The same form submitted
/// twice creates one item (Plane refuses the repeated <c>external_id</c>; Asana has no such key, so the host remembers
/// the forms it handled for an hour).
/// </summary>
public sealed partial class TaskCreation(PlatformRegistry platforms, NpgsqlDataSource db, TimeProvider clock, ILogger<TaskCreation> logger)
{
    /// <summary>Longest title (Plane's <c>name</c> column).</summary>
    public const int MaxTitle = 255;

    /// <summary>Longest description (characters).</summary>
    public const int MaxDescription = 20_000;

    /// <summary>How long a handled form is remembered (double submits, back-button resubmits).</summary>
    public static readonly TimeSpan RememberFor = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, (DateTimeOffset At, Lazy<Task<CreatedTrackerItem>> Work)> _handled = new(StringComparer.Ordinal);

    /// <summary>Whether the project's tracker item names the repository (an Asana repo field); otherwise the forge's default repo is used.</summary>
    /// <param name="project">The project.</param>
    /// <returns><c>true</c> when the form offers a choice.</returns>
    public static bool TrackerCarriesRepo(ProjectDefinition project)
    {
        ArgumentNullException.ThrowIfNull(project);
        return project.Tracker.Kind == TrackerConfig.Asana && project.Tracker.RepoField is not null;
    }

    /// <summary>Checks the input against the project (nothing is sent anywhere).</summary>
    /// <param name="project">The project.</param>
    /// <param name="input">The form.</param>
    /// <returns>Field → message; empty when valid.</returns>
    public static Dictionary<string, string> Validate(ProjectDefinition project, NewTaskInput input)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(input);
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        var title = input.Title?.Trim() ?? "";
        if (title.Length == 0)
        {
            errors["title"] = "Give the task a title.";
        }
        else if (title.Length > MaxTitle)
        {
            errors["title"] = $"At most {MaxTitle} characters (this one has {title.Length}).";
        }
        else if (title.Any(char.IsControl))
        {
            errors["title"] = "One line, please.";
        }

        var description = input.Description?.Trim() ?? "";
        if (description.Length == 0)
        {
            errors["description"] = "Describe the task: the TaskSpec is built from it.";
        }
        else if (description.Length > MaxDescription)
        {
            errors["description"] = $"At most {MaxDescription:N0} characters (this one has {description.Length:N0}).";
        }

        if (TrackerCarriesRepo(project))
        {
            if (string.IsNullOrWhiteSpace(input.Repo))
            {
                errors["repo"] = "Choose the repository.";
            }
            else if (project.Forge.Canonical(input.Repo.Trim()) is null)
            {
                errors["repo"] = $"Not one of the project's repositories ({string.Join(", ", project.Forge.Repos)}).";
            }
        }

        if (input.TrackerProject is { Length: > 0 } tp && !project.Tracker.ProjectIds.Contains(tp, StringComparer.Ordinal))
        {
            errors["tracker_project"] = "Not one of the project's tracker projects.";
        }

        var trigger = project.Tracker.Trigger;
        if (project.Tracker.Kind == TrackerConfig.Plane && trigger.Label is not { Length: > 0 })
        {
            errors[""] = "The project names no AutoTask label (Settings → AutoTask marker), so a work item created here would not start a task.";
        }
        else if (project.Tracker.Kind == TrackerConfig.Asana && trigger.Label is not { Length: > 0 } && (trigger.Field is not { Length: > 0 } || trigger.OnValues.Count == 0))
        {
            errors[""] = "The project names no AutoTask tag or field (Settings → AutoTask marker), so a task created here would not start.";
        }

        if (input.RequestId is not { Length: > 0 } id || !RequestIdPattern().IsMatch(id))
        {
            errors[""] = "The form is out of date; reload the page and submit it again.";
        }

        return errors;
    }

    /// <summary>Creates the item (once per <see cref="NewTaskInput.RequestId"/>).</summary>
    /// <param name="stored">The project.</param>
    /// <param name="input">The form, valid by <see cref="Validate"/>.</param>
    /// <param name="actor">Who creates it (for the log).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The item.</returns>
    /// <exception cref="NewTaskRefusedException">The input is invalid, or the tracker lacks what the project's rules need (a field or option).</exception>
    /// <exception cref="Orchestrator.Shared.Platform.PlatformApiException">The tracker failed.</exception>
    public async Task<CreatedTrackerItem> CreateAsync(StoredProject stored, NewTaskInput input, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(input);
        var project = stored.Definition;
        var errors = Validate(project, input);
        if (errors.Count > 0)
        {
            throw new NewTaskRefusedException(errors);
        }

        var now = clock.GetUtcNow();
        foreach (var old in _handled.Where(h => now - h.Value.At > RememberFor).Select(h => h.Key).ToList())
        {
            _handled.TryRemove(old, out _);
        }

        var key = $"{project.Slug}:{input.RequestId}";
        // The creation itself is not tied to the first caller's request: a second submit of the same form waits for the same
        // work, and neither abandons it halfway (the platform clients' timeouts bound it).
        var entry = _handled.GetOrAdd(key, _ => (now, new Lazy<Task<CreatedTrackerItem>>(() => CreateOnceAsync(stored, input, actor, CancellationToken.None))));
        try
        {
            return await entry.Work.Value.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw; // This caller went away; the creation goes on for the next submit to find.
        }
        catch
        {
            // A failed creation may be tried again with the same form.
            _handled.TryRemove(key, out _);
            throw;
        }
    }

    /// <summary>The task the read model has for a tracker item of the project, once the webhook started it.</summary>
    /// <param name="projectSlug">Project.</param>
    /// <param name="itemId">Work item UUID or task gid.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Instance id and key, or <c>null</c> while there is none.</returns>
    public async Task<(string Id, string? Key)?> FindTaskAsync(string projectSlug, string itemId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT id, task_key FROM tasks WHERE project_slug = @slug AND tracker_item_id = @item ORDER BY created_at DESC LIMIT 1");
        command.Parameters.AddWithValue("slug", projectSlug);
        command.Parameters.AddWithValue("item", itemId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1)) : null;
    }

    /// <summary>Whether <paramref name="itemId"/> looks like a tracker item id (a UUID or a gid), for links that carry one.</summary>
    /// <param name="itemId">The value.</param>
    /// <returns><c>true</c> when it may be one.</returns>
    public static bool IsItemId(string? itemId) => itemId is { Length: > 0 and <= 64 } && ItemIdPattern().IsMatch(itemId);

    private async Task<CreatedTrackerItem> CreateOnceAsync(StoredProject stored, NewTaskInput input, string actor, CancellationToken cancellationToken)
    {
        var project = stored.Definition;
        var tracker = platforms.For(stored).Tracker;
        var trackerProject = input.TrackerProject is { Length: > 0 } tp ? tp : project.Tracker.ProjectIds[0];
        var title = input.Title!.Trim();
        var description = input.Description!.Replace("\r\n", "\n", StringComparison.Ordinal).Trim();
        CreatedTrackerItem created;
        if (tracker is PlaneTracker plane)
        {
            created = await CreatePlaneAsync(plane.Client, project, trackerProject, title, description, input.RequestId!, cancellationToken);
        }
        else
        {
            created = await CreateAsanaAsync(((AsanaTracker)tracker).Client, project, trackerProject, title, description, input.Repo, cancellationToken);
        }

        logger.LogInformation("Project {Project}: {Tracker} item {Item} created from the web tool by {User}", project.Slug, created.Tracker, created.ItemId, actor);
        return created;
    }

    private static async Task<CreatedTrackerItem> CreatePlaneAsync(
        IPlaneClient plane, ProjectDefinition project, string trackerProject, string title, string description, string requestId, CancellationToken ct)
    {
        var labelName = project.Tracker.Trigger.Label!;
        var label = (await plane.ListLabelsAsync(trackerProject, ct)).FirstOrDefault(l => Same(l.Name, labelName))
            ?? await plane.CreateLabelAsync(trackerProject, labelName, ct);

        // The description is Markdown (or plain text); Plane keeps HTML. Raw HTML in it is shown as text, not passed on.
        var html = SafeMarkdown.ToHtml(description);
        var item = await plane.CreateWorkItemAsync(trackerProject, new PlaneNewWorkItem(title, html, [label.Id], $"orchestrator-new-{requestId}"), ct);
        return new CreatedTrackerItem(TrackerConfig.Plane, trackerProject, item.Id, null, $"{project.WorkItemPrefix}-{item.SequenceId}");
    }

    private static async Task<CreatedTrackerItem> CreateAsanaAsync(
        IAsanaClient asana, ProjectDefinition project, string trackerProject, string title, string description, string? repo, CancellationToken ct)
    {
        var rules = project.Tracker;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var tags = new List<string>();
        IReadOnlyList<AsanaCustomFieldSetting>? settings = null;
        async Task<AsanaCustomFieldDefinition?> FieldAsync(string nameOrGid)
        {
            settings ??= await asana.ListProjectCustomFieldSettingsAsync(trackerProject, ct);
            return settings.Select(s => s.CustomField).FirstOrDefault(f => f.Gid == nameOrGid || Same(f.Name, nameOrGid));
        }

        var triggered = false;
        if (rules.Trigger.Field is { Length: > 0 } triggerField && rules.Trigger.OnValues.Count > 0)
        {
            var field = await FieldAsync(triggerField);
            var option = field?.EnumOptions.FirstOrDefault(o => o.Enabled && rules.Trigger.OnValues.Any(v => Same(v, o.Name)));
            if (field is not null && option is not null)
            {
                fields[field.Gid] = option.Gid;
                triggered = true;
            }
            else if (rules.Trigger.Label is not { Length: > 0 })
            {
                throw new NewTaskRefusedException(new Dictionary<string, string>
                {
                    [""] = field is null
                        ? $"The Asana project has no field '{triggerField}' (the AutoTask marker); add it to the project or change Settings → AutoTask marker."
                        : $"The Asana field '{field.Name}' has no enabled option {string.Join(" or ", rules.Trigger.OnValues.Select(v => $"'{v}'"))}.",
                });
            }
        }

        if (!triggered)
        {
            var tagName = rules.Trigger.Label!;
            var workspace = rules.Workspace ?? throw new NewTaskRefusedException(new Dictionary<string, string> { [""] = "The project names no Asana workspace (Settings → tracker), which the AutoTask tag lives in." });
            var tag = (await asana.ListWorkspaceTagsAsync(workspace, ct)).FirstOrDefault(t => Same(t.Name, tagName))
                ?? await asana.CreateTagAsync(workspace, tagName, ct);
            tags.Add(tag.Gid);
        }

        if (rules.RepoField is { } repoRule && repo is { Length: > 0 })
        {
            var canonical = project.Forge.Canonical(repo.Trim())!;
            var field = await FieldAsync(repoRule.Field);
            var option = field?.EnumOptions.FirstOrDefault(o => o.Enabled && string.Equals(TrackerRules.Repo(project, o.Name), canonical, StringComparison.OrdinalIgnoreCase));
            if (field is null || option is null)
            {
                throw new NewTaskRefusedException(new Dictionary<string, string>
                {
                    ["repo"] = field is null
                        ? $"The Asana project has no field '{repoRule.Field}' to name the repository in."
                        : $"The Asana field '{field.Name}' has no option for {canonical}; add one (Settings → Sync repos).",
                });
            }

            fields[field.Gid] = option.Gid;
        }

        var task = await asana.CreateTaskAsync(new AsanaNewTask(trackerProject, title, description, tags, fields), ct);
        return new CreatedTrackerItem(TrackerConfig.Asana, trackerProject, task.Gid, task.PermalinkUrl, null);
    }

    private static bool Same(string a, string b) => string.Equals(a.Trim(), b.Trim(), StringComparison.OrdinalIgnoreCase);

    [GeneratedRegex("^[A-Za-z0-9_-]{8,64}$")]
    private static partial Regex RequestIdPattern();

    [GeneratedRegex("^[A-Za-z0-9-]+$")]
    private static partial Regex ItemIdPattern();
}

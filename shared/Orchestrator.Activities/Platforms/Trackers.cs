using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Orchestrator.Functions.Routing;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Asana;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.Plane;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Platforms;

/// <summary>
/// What the pipeline does to a tracker item, whatever the tracker: read it (with the project's gating rules
/// applied), comment once, complete, reopen, and read what the approval gate needs. One instance per project.
/// </summary>
public interface ITracker
{
    /// <summary><c>plane</c> or <c>asana</c>.</summary>
    string Kind { get; }

    /// <summary>The item as it is now, with <see cref="WorkItemSnapshot.Triggered"/>, repo, lifecycle and completion from the project's rules.</summary>
    /// <param name="trackerProjectId">Plane project UUID, or Asana project gid (unused by Asana: gids are global).</param>
    /// <param name="itemId">Work item UUID / task gid.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The snapshot.</returns>
    /// <exception cref="Orchestrator.Shared.Platform.PlatformApiException">The tracker answered with an error.</exception>
    Task<WorkItemSnapshot> GetItemAsync(string trackerProjectId, string itemId, CancellationToken cancellationToken);

    /// <summary>Posts a comment unless one carrying <paramref name="externalId"/> exists (Plane <c>external_id</c>, Asana a marker in the text).</summary>
    /// <param name="trackerProjectId">Tracker project.</param>
    /// <param name="itemId">Item.</param>
    /// <param name="externalId">Stable id of this comment, <c>&lt;instance&gt;:&lt;key&gt;</c>.</param>
    /// <param name="html">Comment as simple HTML (<c>&lt;p&gt;</c>, <c>&lt;a&gt;</c>, <c>&lt;code&gt;</c>, <c>&lt;strong&gt;</c>).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Created now, already there, or <see cref="CommentOutcome.ItemGone"/> when the item was deleted (the tracker refused the
    /// comment and the item itself now reads as 404/410), so that a caller neither retries nor reports an error.</returns>
    /// <exception cref="Orchestrator.Shared.Platform.PlatformApiException">The tracker answered with an error and the item still exists.</exception>
    Task<CommentOutcome> EnsureCommentAsync(string trackerProjectId, string itemId, string externalId, string html, CancellationToken cancellationToken);

    /// <summary>Completes the item (Plane: a state of group <c>completed</c>; Asana: <c>completed: true</c>).</summary>
    /// <param name="trackerProjectId">Tracker project.</param>
    /// <param name="itemId">Item.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The state's name, and whether we completed it (<c>false</c> when a person had already completed it).</returns>
    Task<(string StateName, bool CompletedByUs)> CompleteAsync(string trackerProjectId, string itemId, CancellationToken cancellationToken);

    /// <summary>Reopens a completed item (Plane: the first <c>started</c> state, else <c>unstarted</c>; Asana: <c>completed: false</c>).</summary>
    /// <param name="trackerProjectId">Tracker project.</param>
    /// <param name="itemId">Item.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The state's name.</returns>
    Task<string> ReopenAsync(string trackerProjectId, string itemId, CancellationToken cancellationToken);

    /// <summary>The item's state name for the approval gate (Plane state; Asana status field option, else section), or <c>null</c>.</summary>
    /// <param name="trackerProjectId">Tracker project.</param>
    /// <param name="itemId">Item.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The name.</returns>
    Task<string?> GetStateNameAsync(string trackerProjectId, string itemId, CancellationToken cancellationToken);

    /// <summary>The newest comment a person wrote (not one of ours), as one line of text, or <c>null</c>.</summary>
    /// <param name="trackerProjectId">Tracker project.</param>
    /// <param name="itemId">Item.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The text.</returns>
    Task<string?> LatestHumanCommentAsync(string trackerProjectId, string itemId, CancellationToken cancellationToken);

    /// <summary>Checks that the tracker answers with this project's credentials (one cheap read of the project).</summary>
    /// <param name="trackerProjectId">A tracker project of the project.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task that fails with <see cref="Orchestrator.Shared.Platform.PlatformApiException"/> when it does not.</returns>
    Task ProbeAsync(string trackerProjectId, CancellationToken cancellationToken);

    /// <summary>Moves the item to the state named <paramref name="stateName"/> (the approval gate's approved / rejected states).</summary>
    /// <param name="trackerProjectId">Tracker project.</param>
    /// <param name="itemId">Item.</param>
    /// <param name="stateName">State (Plane) or status field option (Asana), case-insensitive.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    /// <exception cref="PermanentActivityException">No such state.</exception>
    Task MoveToStateAsync(string trackerProjectId, string itemId, string stateName, CancellationToken cancellationToken);
}

/// <summary>Plane behind <see cref="ITracker"/> (https://developers.plane.so/api-reference/introduction).</summary>
/// <param name="plane">The project's Plane client.</param>
/// <param name="project">The project (gating rules).</param>
/// <param name="clock">Clock for the state cache.</param>
public sealed class PlaneTracker(IPlaneClient plane, ProjectDefinition project, TimeProvider clock) : ITracker
{
    private static readonly TimeSpan StatesTtl = TimeSpan.FromMinutes(10);
    private readonly ConcurrentDictionary<string, (DateTimeOffset At, IReadOnlyList<PlaneState> States)> _states = new();

    /// <inheritdoc />
    public string Kind => TrackerConfig.Plane;

    /// <summary>The client (for callers that need Plane-only calls).</summary>
    public IPlaneClient Client => plane;

    /// <summary>Applies the project's rules to a snapshot read from a Plane webhook or the API.</summary>
    /// <param name="project">The project.</param>
    /// <param name="snapshot">Snapshot from <see cref="PlanePayloads"/>.</param>
    /// <param name="stateName">The state's name when known.</param>
    /// <returns>The snapshot with facts.</returns>
    public static WorkItemSnapshot WithFacts(ProjectDefinition project, WorkItemSnapshot snapshot, string? stateName)
    {
        var facts = TrackerRules.Evaluate(project, snapshot.Labels, stateName, snapshot.StateGroup);
        return snapshot with { Triggered = facts.Triggered, Repo = facts.Repo, Lifecycle = facts.Lifecycle, Completed = facts.Completed };
    }

    /// <inheritdoc />
    public async Task<WorkItemSnapshot> GetItemAsync(string trackerProjectId, string itemId, CancellationToken cancellationToken)
    {
        var item = await plane.GetWorkItemAsync(trackerProjectId, itemId, cancellationToken);
        return WithFacts(project, PlanePayloads.Snapshot(item), item.State?.Name);
    }

    /// <inheritdoc />
    public Task<CommentOutcome> EnsureCommentAsync(string trackerProjectId, string itemId, string externalId, string html, CancellationToken cancellationToken) =>
        TrackerComments.UnlessGoneAsync(
            async () =>
            {
                var comments = await plane.ListCommentsAsync(trackerProjectId, itemId, cancellationToken);
                if (comments.Any(c => c.ExternalId == externalId))
                {
                    return false;
                }

                // A deleted item: Plane lists its comments as an empty page, then refuses the insert with 400.
                await plane.CreateCommentAsync(trackerProjectId, itemId, html, externalId, cancellationToken);
                return true;
            },
            () => plane.GetWorkItemAsync(trackerProjectId, itemId, cancellationToken));

    /// <inheritdoc />
    public async Task<(string StateName, bool CompletedByUs)> CompleteAsync(string trackerProjectId, string itemId, CancellationToken cancellationToken)
    {
        var item = await plane.GetWorkItemAsync(trackerProjectId, itemId, cancellationToken);
        if (item.State is { Group: "completed" } already)
        {
            return (already.Name, false);
        }

        var done = (await StatesAsync(trackerProjectId, cancellationToken)).FirstOrDefault(s => s.Group == "completed")
            ?? throw new PermanentActivityException($"Plane project {trackerProjectId} has no state in the 'completed' group; add one (e.g. 'Done').");
        await plane.UpdateWorkItemStateAsync(trackerProjectId, itemId, done.Id, cancellationToken);
        return (done.Name, true);
    }

    /// <inheritdoc />
    public async Task<string> ReopenAsync(string trackerProjectId, string itemId, CancellationToken cancellationToken)
    {
        var states = await StatesAsync(trackerProjectId, cancellationToken);
        var open = states.FirstOrDefault(s => s.Group == "started") ?? states.FirstOrDefault(s => s.Group == "unstarted")
            ?? throw new PermanentActivityException($"Plane project {trackerProjectId} has no state in the 'started' or 'unstarted' group.");
        await plane.UpdateWorkItemStateAsync(trackerProjectId, itemId, open.Id, cancellationToken);
        return open.Name;
    }

    /// <inheritdoc />
    public async Task<string?> GetStateNameAsync(string trackerProjectId, string itemId, CancellationToken cancellationToken) =>
        (await plane.GetWorkItemAsync(trackerProjectId, itemId, cancellationToken)).State?.Name;

    /// <inheritdoc />
    public async Task<string?> LatestHumanCommentAsync(string trackerProjectId, string itemId, CancellationToken cancellationToken)
    {
        var comments = await plane.ListCommentsAsync(trackerProjectId, itemId, cancellationToken);
        return comments.FirstOrDefault(c => c.ExternalSource is null) is { } latest ? TrackerText.Plain(latest.CommentHtml) : null;
    }

    /// <inheritdoc />
    public async Task ProbeAsync(string trackerProjectId, CancellationToken cancellationToken) =>
        _ = await Client.ListStatesAsync(trackerProjectId, cancellationToken);

    /// <inheritdoc />
    public async Task MoveToStateAsync(string trackerProjectId, string itemId, string stateName, CancellationToken cancellationToken)
    {
        var state = (await StatesAsync(trackerProjectId, cancellationToken)).FirstOrDefault(s => string.Equals(s.Name, stateName, StringComparison.OrdinalIgnoreCase))
            ?? throw new PermanentActivityException($"Plane project {trackerProjectId} has no state named '{stateName}'; add it (the approval gate's states).");
        await plane.UpdateWorkItemStateAsync(trackerProjectId, itemId, state.Id, cancellationToken);
    }

    private async Task<IReadOnlyList<PlaneState>> StatesAsync(string projectId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (_states.TryGetValue(projectId, out var hit) && now - hit.At < StatesTtl)
        {
            return hit.States;
        }

        var states = await plane.ListStatesAsync(projectId, cancellationToken);
        _states[projectId] = (now, states);
        return states;
    }
}

/// <summary>
/// Asana behind <see cref="ITracker"/> (https://developers.asana.com/reference/rest-api-reference). Asana has no
/// sequence numbers: <c>N</c> of <c>PREFIX-N</c> comes from <see cref="ProjectStore.NextSequenceAsync"/>. Comments are
/// stories in Asana rich text (https://developers.asana.com/docs/rich-text: no <c>&lt;p&gt;</c>, a <c>&lt;body&gt;</c> root),
/// found again by a short visible reference because Asana drops HTML comments.
/// </summary>
/// <param name="asana">The project's Asana client.</param>
/// <param name="project">The project (gating rules).</param>
/// <param name="store">For the sequence numbers.</param>
public sealed class AsanaTracker(IAsanaClient asana, ProjectDefinition project, ProjectStore store) : ITracker
{
    /// <inheritdoc />
    public string Kind => TrackerConfig.Asana;

    /// <summary>The client (for the Asana-only API actions).</summary>
    public IAsanaClient Client => asana;

    /// <inheritdoc />
    public async Task ProbeAsync(string trackerProjectId, CancellationToken cancellationToken) =>
        _ = await asana.ListWebhooksAsync(project.Tracker.Workspace ?? "", trackerProjectId, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// The project's status field (<see cref="StatusRule.Field"/>, gid or name) is set to the enum option named
    /// <paramref name="stateName"/>: the same field <see cref="GetStateNameAsync"/> reads. A project that follows sections
    /// instead has nothing to set here (moving a task between sections is left to a person; the approval is recorded).
    /// </remarks>
    public async Task MoveToStateAsync(string trackerProjectId, string itemId, string stateName, CancellationToken cancellationToken)
    {
        if (project.Tracker.Status.Field is not { Length: > 0 } wanted)
        {
            throw new PermanentActivityException($"The Asana project follows sections, not a status field: move the task to '{stateName}' by hand.");
        }

        var settings = await asana.ListProjectCustomFieldSettingsAsync(trackerProjectId, cancellationToken);
        var field = settings.Select(s => s.CustomField).FirstOrDefault(f => f.Gid == wanted || string.Equals(f.Name, wanted, StringComparison.OrdinalIgnoreCase))
            ?? throw new PermanentActivityException($"The Asana project has no custom field '{wanted}' (the status field in the project's settings).");
        var option = field.EnumOptions.FirstOrDefault(o => o.Enabled && string.Equals(o.Name, stateName, StringComparison.OrdinalIgnoreCase))
            ?? throw new PermanentActivityException($"The Asana field '{field.Name}' has no option '{stateName}'; add it (the approval gate's states).");
        await asana.SetEnumFieldAsync(itemId, field.Gid, option.Gid, cancellationToken);
    }

    /// <summary>The snapshot of an Asana task under a project's rules.</summary>
    /// <param name="project">The project.</param>
    /// <param name="task">The task (fetched with custom fields and tags).</param>
    /// <param name="sequence">Our number for it.</param>
    /// <returns>The snapshot; the description is the task's rich text (<c>html_notes</c>), else its plain notes.</returns>
    public static WorkItemSnapshot Snapshot(ProjectDefinition project, AsanaTask task, int sequence)
    {
        var facts = TrackerRules.Evaluate(project, task);
        var description = task.HtmlNotes is { } html && TrackerText.Plain(html).Length > 0
            ? TrackerText.FromAsanaRichText(html)
            : string.IsNullOrWhiteSpace(task.Notes) ? "" : "<p>" + WebUtility.HtmlEncode(task.Notes).Replace("\n", "<br>", StringComparison.Ordinal) + "</p>";
        return new WorkItemSnapshot(
            task.Gid,
            sequence,
            task.Name,
            description,
            task.Tags.Select(t => t.Name).ToArray(),
            task.Completed ? "completed" : "started",
            facts.Triggered,
            facts.Repo,
            facts.Lifecycle,
            facts.Completed,
            task.PermalinkUrl);
    }

    /// <inheritdoc />
    public async Task<WorkItemSnapshot> GetItemAsync(string trackerProjectId, string itemId, CancellationToken cancellationToken)
    {
        var task = await asana.GetTaskAsync(itemId, cancellationToken);
        return Snapshot(project, task, await store.NextSequenceAsync(project.Slug, itemId, cancellationToken));
    }

    /// <inheritdoc />
    public Task<CommentOutcome> EnsureCommentAsync(string trackerProjectId, string itemId, string externalId, string html, CancellationToken cancellationToken) =>
        TrackerComments.UnlessGoneAsync(
            async () =>
            {
                var marker = Marker(externalId);
                var before = (await asana.ListStoriesAsync(itemId, cancellationToken)).Any(s =>
                    s.ResourceSubtype == "comment_added" && ((s.Text?.Contains(marker, StringComparison.Ordinal) ?? false) || (s.HtmlText?.Contains(marker, StringComparison.Ordinal) ?? false)));
                if (before)
                {
                    return false;
                }

                await asana.AddHtmlCommentAsync(itemId, $"<body>{TrackerText.AsanaRichText(html)}\n<em>{marker}</em></body>", cancellationToken);
                return true;
            },
            () => asana.GetTaskAsync(itemId, cancellationToken));

    /// <inheritdoc />
    public async Task<(string StateName, bool CompletedByUs)> CompleteAsync(string trackerProjectId, string itemId, CancellationToken cancellationToken)
    {
        var task = await asana.GetTaskAsync(itemId, cancellationToken);
        if (task.Completed)
        {
            // Completed already: by a person, or by us before a crash lost the answer. The newest "marked_complete"
            // story tells: ours when its author also wrote our comments (the ones carrying our reference).
            var stories = await asana.ListStoriesAsync(itemId, cancellationToken);
            var ours = stories.Where(st => st.ResourceSubtype == "comment_added" && (st.Text?.Contains("orchestrator ref ", StringComparison.Ordinal) ?? false))
                .Select(st => st.CreatedByGid).Where(g => g is not null).ToHashSet();
            var completedBy = stories.LastOrDefault(st => st.ResourceSubtype == "marked_complete")?.CreatedByGid;
            return ("completed", completedBy is not null && ours.Contains(completedBy));
        }

        await asana.CompleteTaskAsync(itemId, cancellationToken);
        return ("completed", true);
    }

    /// <inheritdoc />
    public async Task<string> ReopenAsync(string trackerProjectId, string itemId, CancellationToken cancellationToken)
    {
        await asana.ReopenTaskAsync(itemId, cancellationToken);
        return "incomplete";
    }

    /// <inheritdoc />
    public async Task<string?> GetStateNameAsync(string trackerProjectId, string itemId, CancellationToken cancellationToken)
    {
        var task = await asana.GetTaskAsync(itemId, cancellationToken);
        if (project.Tracker.Status.Field is { } field)
        {
            return task.CustomFields.FirstOrDefault(f => f.Gid == field || string.Equals(f.Name, field, StringComparison.OrdinalIgnoreCase))?.EnumValue?.Name;
        }

        return task.Memberships.FirstOrDefault(m => m.SectionName is not null)?.SectionName;
    }

    /// <inheritdoc />
    public async Task<string?> LatestHumanCommentAsync(string trackerProjectId, string itemId, CancellationToken cancellationToken)
    {
        var stories = await asana.ListStoriesAsync(itemId, cancellationToken);
        var human = stories.LastOrDefault(s => s.ResourceSubtype == "comment_added" && !(s.Text?.Contains("orchestrator ref ", StringComparison.Ordinal) ?? false));
        return human?.Text;
    }

    /// <summary>The visible reference that finds a comment again: <c>orchestrator ref &lt;12 hex&gt;</c>.</summary>
    /// <param name="externalId"><c>&lt;instance&gt;:&lt;key&gt;</c>.</param>
    /// <returns>The marker text.</returns>
    public static string Marker(string externalId) =>
        "orchestrator ref " + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(externalId)))[..12];
}

/// <summary>Text conversions between our comment HTML and trackers.</summary>
public static partial class TrackerText
{
    /// <summary>HTML as one line of text: block tags become spaces, inline tags vanish, whitespace collapses.</summary>
    /// <param name="html">HTML.</param>
    /// <returns>Text.</returns>
    public static string Plain(string html)
    {
        var text = BlockTags().Replace(html, " ");
        text = Tags().Replace(text, "");
        return Spaces().Replace(WebUtility.HtmlDecode(text), " ").Trim();
    }

    /// <summary>
    /// Our comment HTML as Asana rich text: paragraphs become lines (Asana has no <c>&lt;p&gt;</c>), only the tags Asana
    /// accepts stay (<c>a</c>, <c>strong</c>, <c>em</c>, <c>code</c>, <c>u</c>, <c>s</c>).
    /// </summary>
    /// <param name="html">Our HTML.</param>
    /// <returns>The inside of a <c>&lt;body&gt;</c>.</returns>
    public static string AsanaRichText(string html)
    {
        var text = Paragraphs().Replace(html, m => m.Value.StartsWith("</", StringComparison.Ordinal) ? "\n" : "");
        text = Unsupported().Replace(text, "");
        return text.Trim();
    }

    /// <summary>
    /// Asana rich text (<c>html_notes</c>) as HTML for the TaskSpec: Asana has no <c>&lt;p&gt;</c> or <c>&lt;br&gt;</c>, a newline
    /// is the line break (https://developers.asana.com/docs/rich-text), which HTML would collapse into a space. Outside
    /// <c>&lt;pre&gt;</c>, newlines next to block tags go, a blank line becomes a paragraph break and a newline a <c>&lt;br&gt;</c>.
    /// </summary>
    /// <param name="html">The <c>&lt;body&gt;…&lt;/body&gt;</c> text.</param>
    /// <returns>HTML without the <c>body</c> root.</returns>
    public static string FromAsanaRichText(string html)
    {
        var parts = PreBlocks().Split(html.Replace("<body>", "", StringComparison.Ordinal).Replace("</body>", "", StringComparison.Ordinal));
        for (var i = 0; i < parts.Length; i += 2)
        {
            var text = NewlinesAroundBlocks().Replace(parts[i].Replace("\r\n", "\n", StringComparison.Ordinal), "$1");
            parts[i] = BlankLines().Replace(text, "<p></p>").Replace("\n", "<br>", StringComparison.Ordinal);
        }

        return string.Concat(parts);
    }

    [GeneratedRegex("(<pre\\b[^>]*>.*?</pre>)", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex PreBlocks();

    [GeneratedRegex("\n*(</?(?:ul|ol|li|h[1-6]|blockquote|hr|table|thead|tbody|tr|td|th)\\b[^>]*>)\n*", RegexOptions.IgnoreCase)]
    private static partial Regex NewlinesAroundBlocks();

    [GeneratedRegex("\n{2,}")]
    private static partial Regex BlankLines();

    [GeneratedRegex("</?(p|br|div|li|ul|ol|h[1-6]|blockquote|pre|tr|td)\\b[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex BlockTags();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex Tags();

    [GeneratedRegex("\\s+")]
    private static partial Regex Spaces();

    [GeneratedRegex("</?p\\b[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex Paragraphs();

    [GeneratedRegex("</?(?!(a|strong|em|code|u|s)\\b)[a-z][^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex Unsupported();
}

/// <summary>What <see cref="ITracker.EnsureCommentAsync"/> did.</summary>
public enum CommentOutcome
{
    /// <summary>Posted now.</summary>
    Created,

    /// <summary>A comment with the same external id was already there (a retry or a resume after a crash).</summary>
    AlreadyThere,

    /// <summary>The item no longer exists (deleted in the tracker meanwhile); nothing was posted.</summary>
    ItemGone,
}

/// <summary>Tells a comment refused because its item was deleted from any other refusal.</summary>
internal static class TrackerComments
{
    /// <summary>
    /// Runs <paramref name="ensure"/>; when the tracker refuses it permanently (400, 404, 410), reads the item with
    /// <paramref name="probe"/>: a 404/410 there means the item is gone and the outcome is <see cref="CommentOutcome.ItemGone"/>;
    /// otherwise the first error stands.
    /// </summary>
    /// <param name="ensure">Finds or posts the comment; <c>true</c> when it posted.</param>
    /// <param name="probe">Reads the item.</param>
    /// <returns>The outcome.</returns>
    public static async Task<CommentOutcome> UnlessGoneAsync(Func<Task<bool>> ensure, Func<Task> probe)
    {
        try
        {
            return await ensure() ? CommentOutcome.Created : CommentOutcome.AlreadyThere;
        }
        catch (Orchestrator.Shared.Platform.PlatformApiException refused) when (!refused.IsTransient
            && refused.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound or HttpStatusCode.Gone)
        {
            try
            {
                await probe();
            }
            catch (Orchestrator.Shared.Platform.PlatformApiException missing) when (missing.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
            {
                return CommentOutcome.ItemGone;
            }

            throw;
        }
    }
}

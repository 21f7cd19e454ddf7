namespace Orchestrator.Simulators.Plane;

/// <summary>A project of the simulated Plane workspace.</summary>
/// <param name="Id">Project UUID (lower-case, hyphenated, as Plane writes UUIDs).</param>
/// <param name="Identifier">Short key shown in the UI, e.g. <c>PROJ</c> (the <c>PROJ</c> of <c>PROJ-42</c>).</param>
public sealed record SimProject(string Id, string Identifier);

/// <summary>
/// A workflow state of a simulated project, as Plane's <c>State</c> model holds it
/// (<c>apps/api/plane/db/models/state.py</c>).
/// </summary>
/// <param name="Id">State UUID.</param>
/// <param name="Name">Display name, e.g. <c>In Progress</c>.</param>
/// <param name="Color">Hex colour, e.g. <c>#F59E0B</c>.</param>
/// <param name="Group">One of <c>backlog</c>, <c>unstarted</c>, <c>started</c>, <c>completed</c>, <c>cancelled</c>.</param>
/// <param name="Sequence">Sort key (Plane orders states by it; the defaults are 15000, 25000, …).</param>
/// <param name="IsDefault">Whether new work items land in this state (Plane's <c>default</c>; Backlog for the defaults).</param>
public sealed record SimState(string Id, string Name, string Color, string Group, double Sequence, bool IsDefault);

/// <summary>A label of a simulated project.</summary>
/// <param name="Id">Label UUID.</param>
/// <param name="Name">Label name, e.g. <c>agent:opencode</c>.</param>
/// <param name="Color">Hex colour.</param>
public sealed record SimLabel(string Id, string Name, string Color);

/// <summary>A snapshot of a simulated work item (a copy; later changes do not show in it).</summary>
/// <param name="Id">Work item UUID.</param>
/// <param name="ProjectId">Project UUID.</param>
/// <param name="SequenceId">Per-project number, counting up from 1 (the <c>42</c> of <c>PROJ-42</c>).</param>
/// <param name="Name">Title.</param>
/// <param name="DescriptionHtml">Description as HTML (<c>description_html</c>).</param>
/// <param name="StateId">Current state UUID.</param>
/// <param name="LabelIds">Label UUIDs in the order they were added.</param>
/// <param name="CreatedAt">Creation time (UTC).</param>
/// <param name="UpdatedAt">Last change time (UTC).</param>
/// <param name="IsDeleted">Whether the work item was deleted (the API then answers 404 for it).</param>
public sealed record SimWorkItem(
    string Id,
    string ProjectId,
    int SequenceId,
    string Name,
    string DescriptionHtml,
    string StateId,
    IReadOnlyList<string> LabelIds,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    bool IsDeleted);

/// <summary>A comment on a simulated work item.</summary>
/// <param name="Id">Comment UUID.</param>
/// <param name="WorkItemId">Work item UUID (Plane's <c>issue</c> field).</param>
/// <param name="CommentHtml">Body as HTML (<c>comment_html</c>).</param>
/// <param name="ExternalSource">The <c>external_source</c> the creator sent, or <c>null</c>.</param>
/// <param name="ExternalId">The <c>external_id</c> the creator sent, or <c>null</c>.</param>
/// <param name="ActorId">UUID of the user who wrote it (the API key's user for API calls).</param>
/// <param name="CreatedAt">Creation time (UTC).</param>
public sealed record SimComment(
    string Id,
    string WorkItemId,
    string CommentHtml,
    string? ExternalSource,
    string? ExternalId,
    string ActorId,
    DateTimeOffset CreatedAt);

namespace Orchestrator.Shared.Plane;

/// <summary>A label of a work item.</summary>
/// <param name="Id">Label UUID.</param>
/// <param name="Name">Label name, e.g. <c>AutoTask</c>.</param>
public sealed record PlaneLabel(string Id, string Name);

/// <summary>A workflow state of a Plane project.</summary>
/// <param name="Id">State UUID.</param>
/// <param name="Name">Display name, e.g. <c>Done</c>.</param>
/// <param name="Group">One of <c>backlog</c>, <c>unstarted</c>, <c>started</c>, <c>completed</c>, <c>cancelled</c> (and <c>triage</c> on newer servers).</param>
public sealed record PlaneState(string Id, string Name, string Group);

/// <summary>
/// A Plane work item (formerly "issue") with what the orchestrator needs of it.
/// </summary>
/// <param name="Id">Work item UUID.</param>
/// <param name="ProjectId">Project UUID.</param>
/// <param name="SequenceId">Per-project sequence number (the <c>42</c> of <c>PROJ-42</c>).</param>
/// <param name="Name">Title.</param>
/// <param name="DescriptionHtml">Description as HTML (<c>description_html</c>), or <c>null</c>.</param>
/// <param name="Labels">Labels with names (expanded).</param>
/// <param name="State">Current state (expanded), or <c>null</c> when unknown.</param>
/// <param name="CreatedAt">Creation time, if known.</param>
/// <param name="UpdatedAt">Last change (<c>updated_at</c>), if known.</param>
public sealed record PlaneWorkItem(
    string Id,
    string ProjectId,
    int SequenceId,
    string? Name,
    string? DescriptionHtml,
    IReadOnlyList<PlaneLabel> Labels,
    PlaneState? State,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? UpdatedAt = null);

/// <summary>A comment on a work item.</summary>
/// <param name="Id">Comment UUID.</param>
/// <param name="CommentHtml">Body as HTML.</param>
/// <param name="ExternalSource">Our <c>external_source</c> tag, if the comment was created with one.</param>
/// <param name="ExternalId">Our idempotency key (<c>external_id</c>), if set.</param>
public sealed record PlaneComment(string Id, string CommentHtml, string? ExternalSource, string? ExternalId);

/// <summary>
/// The Plane REST calls the orchestrator makes (Plane API v1, https://developers.plane.so/api-reference,
/// authenticated with <c>X-Api-Key</c>; paths under <c>/api/v1/workspaces/{slug}/projects/{project_id}/</c>).
/// Every method throws <see cref="Platform.PlatformApiException"/> on a non-2xx answer or a network failure.
/// </summary>
public interface IPlaneClient
{
    /// <summary><c>GET …/work-items/{id}/?expand=labels,state</c>.</summary>
    Task<PlaneWorkItem> GetWorkItemAsync(string projectId, string workItemId, CancellationToken cancellationToken);

    /// <summary>
    /// The project's work items changed at or after <paramref name="since"/>, newest change first
    /// (<c>GET …/work-items/?expand=labels,state&amp;order_by=-updated_at</c>, pages until an older item).
    /// </summary>
    Task<IReadOnlyList<PlaneWorkItem>> ListWorkItemsUpdatedSinceAsync(string projectId, DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>All states of the project (<c>GET …/states/</c>, every page).</summary>
    Task<IReadOnlyList<PlaneState>> ListStatesAsync(string projectId, CancellationToken cancellationToken);

    /// <summary>Moves a work item to a state (<c>PATCH …/work-items/{id}/</c> with <c>{"state": "&lt;uuid&gt;"}</c>).</summary>
    Task UpdateWorkItemStateAsync(string projectId, string workItemId, string stateId, CancellationToken cancellationToken);

    /// <summary>All comments of a work item (<c>GET …/work-items/{id}/comments/</c>, every page).</summary>
    Task<IReadOnlyList<PlaneComment>> ListCommentsAsync(string projectId, string workItemId, CancellationToken cancellationToken);

    /// <summary>
    /// <c>POST …/work-items/{id}/comments/</c> with <c>comment_html</c>, <c>external_source</c> =
    /// <c>orchestrator</c> and <c>external_id</c> = <paramref name="externalId"/> (our idempotency key).
    /// </summary>
    Task<PlaneComment> CreateCommentAsync(string projectId, string workItemId, string commentHtml, string externalId, CancellationToken cancellationToken);

    /// <summary>All labels of the project (<c>GET …/labels/</c>, every page).</summary>
    Task<IReadOnlyList<PlaneLabel>> ListLabelsAsync(string projectId, CancellationToken cancellationToken);

    /// <summary><c>POST …/labels/</c> with <c>{"name": …}</c>: creates a label.</summary>
    Task<PlaneLabel> CreateLabelAsync(string projectId, string name, CancellationToken cancellationToken);

    /// <summary>
    /// <c>POST …/work-items/</c> with <c>name</c>, <c>description_html</c>, <c>labels</c> and, for idempotency,
    /// <c>external_source</c> = <c>orchestrator</c> and <c>external_id</c> (a second create with the same id returns the first item).
    /// </summary>
    Task<PlaneWorkItem> CreateWorkItemAsync(string projectId, string name, string descriptionHtml, IReadOnlyList<string> labelIds, string externalId, CancellationToken cancellationToken);
}

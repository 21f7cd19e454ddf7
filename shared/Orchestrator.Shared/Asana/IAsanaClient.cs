namespace Orchestrator.Shared.Asana;

/// <summary>
/// The Asana REST calls the orchestrator makes (API 1.0, https://developers.asana.com/reference/rest-api-reference,
/// authenticated with <c>Authorization: Bearer</c>; bodies wrapped in <c>{"data": …}</c>).
/// Every method throws <see cref="Platform.PlatformApiException"/> on a non-2xx answer or a network failure.
/// </summary>
public interface IAsanaClient
{
    /// <summary><c>GET /tasks/{task_gid}?opt_fields=…</c> (<see cref="AsanaClient.TaskOptFields"/>).</summary>
    Task<AsanaTask> GetTaskAsync(string taskGid, CancellationToken cancellationToken);

    /// <summary><c>PUT /tasks/{task_gid}</c> with <c>{"data":{"completed":true}}</c>.</summary>
    Task CompleteTaskAsync(string taskGid, CancellationToken cancellationToken);

    /// <summary><c>PUT /tasks/{task_gid}</c> with <c>{"data":{"custom_fields":{field_gid: option_gid}}}</c>: selects an enum option (<c>null</c> clears it).</summary>
    Task SetEnumFieldAsync(string taskGid, string fieldGid, string? optionGid, CancellationToken cancellationToken);

    /// <summary><c>PUT /tasks/{task_gid}</c> with <c>{"data":{"completed":false}}</c>.</summary>
    Task ReopenTaskAsync(string taskGid, CancellationToken cancellationToken);

    /// <summary><c>POST /tasks/{task_gid}/stories</c> with <c>{"data":{"text": …}}</c>.</summary>
    Task<AsanaStory> AddCommentAsync(string taskGid, string text, CancellationToken cancellationToken);

    /// <summary><c>POST /tasks/{task_gid}/stories</c> with <c>{"data":{"html_text": "&lt;body&gt;…&lt;/body&gt;"}}</c>.</summary>
    Task<AsanaStory> AddHtmlCommentAsync(string taskGid, string htmlText, CancellationToken cancellationToken);

    /// <summary>Every story of a task (<c>GET /tasks/{task_gid}/stories</c>, every page), oldest first.</summary>
    Task<IReadOnlyList<AsanaStory>> ListStoriesAsync(string taskGid, CancellationToken cancellationToken);

    /// <summary>Finds a comment containing <c>marker</c>, else adds <c>htmlText</c> (which must contain it).</summary>
    Task<AsanaStory> EnsureCommentAsync(string taskGid, string marker, string htmlText, CancellationToken cancellationToken);

    /// <summary><c>POST /webhooks</c> with <c>resource</c>, <c>target</c> and optional <c>filters</c>; returns after Asana's handshake.</summary>
    Task<AsanaCreatedWebhook> CreateWebhookAsync(string resourceGid, Uri target, IReadOnlyList<AsanaWebhookFilter>? filters, CancellationToken cancellationToken);

    /// <summary>Every webhook of the token's app in a workspace (<c>GET /webhooks?workspace=…[&amp;resource=…]</c>, every page).</summary>
    Task<IReadOnlyList<AsanaWebhook>> ListWebhooksAsync(string workspaceGid, string? resourceGid, CancellationToken cancellationToken);

    /// <summary><c>DELETE /webhooks/{webhook_gid}</c>.</summary>
    Task DeleteWebhookAsync(string webhookGid, CancellationToken cancellationToken);

    /// <summary>The custom fields attached to a project (<c>GET /projects/{project_gid}/custom_field_settings</c>, every page).</summary>
    Task<IReadOnlyList<AsanaCustomFieldSetting>> ListProjectCustomFieldSettingsAsync(string projectGid, CancellationToken cancellationToken);

    /// <summary><c>POST /custom_fields/{custom_field_gid}/enum_options</c> with <c>{"data":{"name": …}}</c>: adds an option at the end of an enum field.</summary>
    Task<AsanaFieldOption> CreateEnumOptionAsync(string customFieldGid, string name, CancellationToken cancellationToken);

    /// <summary><c>POST /tasks</c> with <c>name</c>, <c>notes</c>, <c>projects</c>, <c>tags</c> and enum <c>custom_fields</c>: the created task.</summary>
    Task<AsanaTask> CreateTaskAsync(AsanaNewTask task, CancellationToken cancellationToken);

    /// <summary>Every tag of a workspace (<c>GET /workspaces/{workspace_gid}/tags</c>, every page).</summary>
    Task<IReadOnlyList<AsanaTag>> ListWorkspaceTagsAsync(string workspaceGid, CancellationToken cancellationToken);

    /// <summary><c>POST /workspaces/{workspace_gid}/tags</c> with <c>{"data":{"name": …}}</c>: the created tag.</summary>
    Task<AsanaTag> CreateTagAsync(string workspaceGid, string name, CancellationToken cancellationToken);

    /// <summary>Tasks of a project modified since a time (<c>GET /tasks?project=…&amp;modified_since=…</c>, every page).</summary>
    Task<IReadOnlyList<AsanaTask>> ListProjectTasksModifiedSinceAsync(string projectGid, DateTimeOffset modifiedSince, CancellationToken cancellationToken);
}

namespace Orchestrator.Shared.Asana;

/// <summary>
/// Where and as whom <see cref="AsanaClient"/> talks to Asana
/// (https://developers.asana.com/reference/rest-api-reference).
/// </summary>
/// <param name="BaseUrl">
/// API root including the version, <see cref="DefaultBaseUrl"/> (<c>https://app.asana.com/api/1.0</c>) for
/// the real service; the client appends <c>tasks/…</c>, <c>webhooks</c>, …. Must be absolute.
/// </param>
/// <param name="Token">
/// Personal access token or OAuth access token, sent as <c>Authorization: Bearer …</c>
/// (https://developers.asana.com/docs/personal-access-token). Secret: never logged or put in messages.
/// </param>
public sealed record AsanaClientSettings(Uri BaseUrl, string Token)
{
    /// <summary>The real API root, <c>https://app.asana.com/api/1.0</c> (the <c>servers</c> entry of Asana's OpenAPI description).</summary>
    public static readonly Uri DefaultBaseUrl = new("https://app.asana.com/api/1.0");

    /// <summary>Settings for the real service with <see cref="DefaultBaseUrl"/>.</summary>
    /// <param name="token">Personal access token or OAuth access token.</param>
    public AsanaClientSettings(string token)
        : this(DefaultBaseUrl, token)
    {
    }

    /// <summary>
    /// <c>limit</c> for list calls, 1–100 (the documented range of the <c>limit</c> parameter).
    /// Defaults to 100. The client follows <c>next_page.offset</c> until <c>next_page</c> is null.
    /// </summary>
    public int PageSize { get; init; } = 100;

    /// <summary>Describes the settings without the token.</summary>
    /// <returns>E.g. <c>AsanaClientSettings { BaseUrl = https://app.asana.com/api/1.0, PageSize = 100 }</c>.</returns>
    public override string ToString() => $"AsanaClientSettings {{ BaseUrl = {BaseUrl}, PageSize = {PageSize} }}";
}

/// <summary>An option of an enum custom field (https://developers.asana.com/reference/enum-options).</summary>
/// <param name="Gid">Enum option gid.</param>
/// <param name="Name">Display name, e.g. <c>Ready for agent</c>.</param>
public sealed record AsanaEnumOption(string Gid, string Name);

/// <summary>A custom field value on a task (https://developers.asana.com/reference/custom-fields).</summary>
/// <param name="Gid">Custom field gid.</param>
/// <param name="Name">Field name, e.g. <c>Agent</c>.</param>
/// <param name="ResourceSubtype">
/// <c>text</c>, <c>enum</c>, <c>multi_enum</c>, <c>number</c>, <c>date</c>, <c>people</c>, … (the field type);
/// <c>null</c> when the server did not say.
/// </param>
/// <param name="EnumValue">For an <c>enum</c> field the selected option, else (or when unset) <c>null</c>.</param>
public sealed record AsanaCustomField(string Gid, string Name, string? ResourceSubtype, AsanaEnumOption? EnumValue);

/// <summary>A tag on a task (https://developers.asana.com/reference/tags).</summary>
/// <param name="Gid">Tag gid.</param>
/// <param name="Name">Tag name.</param>
public sealed record AsanaTag(string Gid, string Name);

/// <summary>One project membership of a task: the project and the section of that project the task sits in.</summary>
/// <param name="ProjectGid">Project gid, or <c>null</c> for a membership without a project (e.g. a portfolio).</param>
/// <param name="SectionGid">Section gid, or <c>null</c>.</param>
/// <param name="SectionName">Section name, e.g. <c>In progress</c>, or <c>null</c>.</param>
public sealed record AsanaMembership(string? ProjectGid, string? SectionGid, string? SectionName);

/// <summary>
/// An Asana task with the fields the orchestrator reads (https://developers.asana.com/reference/gettask).
/// </summary>
/// <param name="Gid">Task gid.</param>
/// <param name="Name">Title.</param>
/// <param name="Notes">Description as plain text (<c>notes</c>); empty when none.</param>
/// <param name="HtmlNotes">Description as Asana rich text (<c>html_notes</c>, <c>&lt;body&gt;…&lt;/body&gt;</c>), or <c>null</c>.</param>
/// <param name="Completed">Whether the task is completed.</param>
/// <param name="PermalinkUrl">Link to the task in the web app, or <c>null</c>.</param>
/// <param name="CustomFields">Custom field values, in the server's order.</param>
/// <param name="Tags">Tags.</param>
/// <param name="Memberships">Projects and sections the task is in.</param>
/// <param name="ModifiedAt">Last modification time, or <c>null</c>.</param>
public sealed record AsanaTask(
    string Gid,
    string Name,
    string Notes,
    string? HtmlNotes,
    bool Completed,
    string? PermalinkUrl,
    IReadOnlyList<AsanaCustomField> CustomFields,
    IReadOnlyList<AsanaTag> Tags,
    IReadOnlyList<AsanaMembership> Memberships,
    DateTimeOffset? ModifiedAt)
{
    /// <summary>The selected option of the enum custom field named <paramref name="fieldName"/> (ordinal), or <c>null</c>.</summary>
    /// <param name="fieldName">Custom field name, e.g. <c>Agent</c>.</param>
    /// <returns>The option, or <c>null</c> when the field is absent or unset.</returns>
    public AsanaEnumOption? EnumValue(string fieldName) =>
        CustomFields.FirstOrDefault(f => f.Name == fieldName)?.EnumValue;
}

/// <summary>A task to create (<see cref="IAsanaClient.CreateTaskAsync"/>).</summary>
/// <param name="ProjectGid">The project it is added to.</param>
/// <param name="Name">Title.</param>
/// <param name="Notes">Description, plain text.</param>
/// <param name="TagGids">Tags to put on it.</param>
/// <param name="EnumFields">Enum custom field gid → option gid (fields of the project).</param>
public sealed record AsanaNewTask(string ProjectGid, string Name, string Notes, IReadOnlyList<string> TagGids, IReadOnlyDictionary<string, string> EnumFields);

/// <summary>A story (comment or system activity) on a task (https://developers.asana.com/reference/stories).</summary>
/// <param name="Gid">Story gid.</param>
/// <param name="ResourceSubtype">E.g. <c>comment_added</c> for a comment, <c>marked_complete</c>, <c>added_to_tag</c>, ….</param>
/// <param name="Text">Plain-text body.</param>
/// <param name="HtmlText">Rich-text body (<c>&lt;body&gt;…&lt;/body&gt;</c>), or <c>null</c>.</param>
/// <param name="CreatedAt">Creation time, or <c>null</c>.</param>
/// <param name="CreatedByGid">Author user gid, or <c>null</c> for system stories.</param>
public sealed record AsanaStory(string Gid, string? ResourceSubtype, string? Text, string? HtmlText, DateTimeOffset? CreatedAt, string? CreatedByGid);

/// <summary>
/// A webhook filter (<c>WebhookFilter</c> of https://developers.asana.com/reference/createwebhook): an event is
/// delivered when it passes any filter.
/// </summary>
/// <param name="ResourceType">E.g. <c>task</c>.</param>
/// <param name="ResourceSubtype">E.g. <c>default_task</c>, or <c>null</c>.</param>
/// <param name="Action"><c>changed</c>, <c>added</c>, <c>removed</c>, <c>deleted</c> or <c>undeleted</c>, or <c>null</c>.</param>
/// <param name="Fields">For <c>changed</c>: the fields that pass, e.g. <c>custom_fields</c>, <c>completed</c>; or <c>null</c>.</param>
public sealed record AsanaWebhookFilter(string? ResourceType, string? ResourceSubtype = null, string? Action = null, IReadOnlyList<string>? Fields = null);

/// <summary>A webhook subscription (https://developers.asana.com/reference/webhooks).</summary>
/// <param name="Gid">Webhook gid.</param>
/// <param name="ResourceGid">The subscribed resource (project, task, …).</param>
/// <param name="Target">Where events are POSTed.</param>
/// <param name="Active">Whether Asana currently delivers to it.</param>
public sealed record AsanaWebhook(string Gid, string ResourceGid, string Target, bool Active);

/// <summary>The answer to <see cref="IAsanaClient.CreateWebhookAsync"/>.</summary>
/// <param name="Webhook">The created webhook.</param>
/// <param name="HookSecret">
/// The <c>X-Hook-Secret</c> property of the 201 body (the secret Asana also sent in the handshake), or
/// <c>null</c> when absent. The receiver must already have stored it during the handshake.
/// </param>
public sealed record AsanaCreatedWebhook(AsanaWebhook Webhook, string? HookSecret);

/// <summary>
/// An option of an enum custom field as listed with the field
/// (<c>EnumOption</c> of https://developers.asana.com/reference/enum-options).
/// </summary>
/// <param name="Gid">Enum option gid.</param>
/// <param name="Name">Display name, e.g. <c>acme/webshop</c>.</param>
/// <param name="Enabled">
/// <c>false</c> for an option "trashed" in Asana's "Edit fields" dialog: no longer selectable, but kept by tasks that had it
/// (options cannot be deleted, only disabled). Asana creates options enabled.
/// </param>
public sealed record AsanaFieldOption(string Gid, string Name, bool Enabled);

/// <summary>A custom field's definition (<c>CustomFieldResponse</c> of https://developers.asana.com/reference/custom-fields), cut to what the settings screen uses.</summary>
/// <param name="Gid">Custom field gid.</param>
/// <param name="Name">Field name, e.g. <c>Repo</c>.</param>
/// <param name="ResourceSubtype"><c>text</c>, <c>enum</c>, <c>multi_enum</c>, <c>number</c>, <c>date</c>, <c>people</c>, …; <c>null</c> when the server did not say.</param>
/// <param name="EnumOptions">Its options in Asana's order (empty for fields that are not enums).</param>
public sealed record AsanaCustomFieldDefinition(string Gid, string Name, string? ResourceSubtype, IReadOnlyList<AsanaFieldOption> EnumOptions);

/// <summary>
/// A custom field attached to a project (<c>CustomFieldSettingResponse</c> of
/// https://developers.asana.com/reference/custom-field-settings: the many-to-many join of field and project).
/// </summary>
/// <param name="Gid">The setting's gid (not the field's).</param>
/// <param name="IsImportant">Whether the web app shows the field in the project's list view.</param>
/// <param name="CustomField">The field.</param>
public sealed record AsanaCustomFieldSetting(string Gid, bool IsImportant, AsanaCustomFieldDefinition CustomField);

using System.Net;

namespace Orchestrator.Simulators.Asana;

/// <summary>An enum custom field of the simulated workspace.</summary>
/// <param name="Gid">Custom field gid.</param>
/// <param name="Name">Field name.</param>
/// <param name="Options">Its options (gid, name), in order.</param>
public sealed record SimAsanaEnumField(string Gid, string Name, IReadOnlyList<SimAsanaEnumOption> Options)
{
    /// <summary>The option with this name (ordinal).</summary>
    /// <param name="name">Option name.</param>
    /// <returns>The option.</returns>
    /// <exception cref="KeyNotFoundException">No such option.</exception>
    public SimAsanaEnumOption Option(string name) =>
        Options.FirstOrDefault(o => o.Name == name) ?? throw new KeyNotFoundException($"Field {Name} has no option {name}.");
}

/// <summary>An enum option.</summary>
/// <param name="Gid">Option gid.</param>
/// <param name="Name">Option name.</param>
/// <param name="Enabled"><c>false</c> for an option "trashed" in the web app (Asana never deletes options).</param>
public sealed record SimAsanaEnumOption(string Gid, string Name, bool Enabled = true);

/// <summary>A custom field attached to a project (Asana's custom field setting).</summary>
/// <param name="Gid">The setting's gid.</param>
/// <param name="ProjectGid">The project.</param>
/// <param name="FieldGid">The field.</param>
/// <param name="IsImportant">Shown in the project's list view.</param>
public sealed record SimAsanaFieldSetting(string Gid, string ProjectGid, string FieldGid, bool IsImportant);

/// <summary>A snapshot of a simulated task.</summary>
/// <param name="Gid">Task gid.</param>
/// <param name="ProjectGid">Its project.</param>
/// <param name="Name">Title.</param>
/// <param name="Notes">Plain-text description.</param>
/// <param name="Completed">Completion flag.</param>
/// <param name="TagGids">Tag gids.</param>
/// <param name="EnumValues">Custom field gid → selected option gid (or <c>null</c>).</param>
/// <param name="ModifiedAt">Last modification.</param>
public sealed record SimAsanaTask(
    string Gid,
    string ProjectGid,
    string Name,
    string Notes,
    bool Completed,
    IReadOnlyList<string> TagGids,
    IReadOnlyDictionary<string, string?> EnumValues,
    DateTimeOffset ModifiedAt);

/// <summary>A snapshot of a simulated story.</summary>
/// <param name="Gid">Story gid.</param>
/// <param name="TaskGid">Its task.</param>
/// <param name="ResourceSubtype">E.g. <c>comment_added</c>.</param>
/// <param name="Text">Plain text.</param>
/// <param name="HtmlText">Rich text.</param>
/// <param name="CreatedByGid">Author.</param>
public sealed record SimAsanaStory(string Gid, string TaskGid, string ResourceSubtype, string Text, string HtmlText, string CreatedByGid);

/// <summary>A webhook the simulator holds (created after a successful handshake).</summary>
/// <param name="Gid">Webhook gid.</param>
/// <param name="ResourceGid">Watched project or task.</param>
/// <param name="Target">Delivery URL.</param>
/// <param name="Secret">The handshake secret, used to sign deliveries.</param>
/// <param name="Active">Whether it delivers.</param>
/// <param name="FiltersJson">The <c>filters</c> array as sent, or <c>null</c>.</param>
public sealed record SimAsanaWebhook(string Gid, string ResourceGid, Uri Target, string Secret, bool Active, string? FiltersJson);

/// <summary>One webhook delivery (sent, re-sent or built with <c>deliver: false</c>).</summary>
/// <param name="WebhookGid">Webhook it belongs to.</param>
/// <param name="Target">Where it goes.</param>
/// <param name="Body">Exact signed bytes.</param>
/// <param name="Headers">Headers sent, <c>X-Hook-Signature</c> included.</param>
/// <param name="Answer">The receiver's status, or <c>null</c> when not sent (or the send failed).</param>
public sealed record AsanaSimDelivery(string WebhookGid, Uri Target, byte[] Body, IReadOnlyDictionary<string, string> Headers, HttpStatusCode? Answer);

/// <summary>One handshake attempt made while a <c>POST /webhooks</c> call was open.</summary>
/// <param name="Target">Target URL.</param>
/// <param name="Secret">Secret sent in <c>X-Hook-Secret</c>.</param>
/// <param name="Answer">Receiver's status, or <c>null</c> when it could not be reached.</param>
/// <param name="EchoedSecret">The <c>X-Hook-Secret</c> the receiver answered, or <c>null</c>.</param>
/// <param name="Accepted">Whether the webhook was created.</param>
public sealed record AsanaSimHandshake(Uri Target, string Secret, HttpStatusCode? Answer, string? EchoedSecret, bool Accepted);

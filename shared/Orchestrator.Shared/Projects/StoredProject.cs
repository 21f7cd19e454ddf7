namespace Orchestrator.Shared.Projects;

/// <summary>A project as stored: definition, decrypted secrets and row metadata.</summary>
/// <param name="Definition">The non-secret definition.</param>
/// <param name="Secrets">Decrypted secrets by name (<see cref="ProjectSecretNames"/>); only the set ones.</param>
/// <param name="Version">Row version: 1 on create, +1 on every change (optimistic concurrency).</param>
/// <param name="CreatedAt">When the project was created.</param>
/// <param name="UpdatedAt">When it last changed.</param>
public sealed record StoredProject(
    ProjectDefinition Definition,
    IReadOnlyDictionary<string, string> Secrets,
    long Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    /// <summary>The project's slug.</summary>
    public string Slug => Definition.Slug;

    /// <summary>A decrypted secret, or <c>null</c> when not set (callers fall back to the host-wide setting).</summary>
    /// <param name="name">A <see cref="ProjectSecretNames"/> name.</param>
    /// <returns>The plaintext, or <c>null</c>.</returns>
    public string? Secret(string name) => Secrets.TryGetValue(name, out var value) ? value : null;

    /// <summary>The secrets masked (<see cref="SecretProtector.Mask"/>), as responses show them.</summary>
    public IReadOnlyDictionary<string, string> MaskedSecrets =>
        Secrets.OrderBy(s => s.Key, StringComparer.Ordinal).ToDictionary(s => s.Key, s => SecretProtector.Mask(s.Value));

    /// <summary>A description with the secrets masked.</summary>
    /// <returns>Text safe to log.</returns>
    public override string ToString() =>
        $"StoredProject {{ Definition = {Definition}, Secrets = {ProjectSeed.Describe(Secrets)}, Version = {Version}, CreatedAt = {CreatedAt:O}, UpdatedAt = {UpdatedAt:O} }}";
}

/// <summary>An Asana webhook of a project (table <c>asana_webhooks</c>), without its secret.</summary>
/// <param name="ProjectSlug">Project.</param>
/// <param name="ResourceGid">The Asana project gid the webhook watches.</param>
/// <param name="WebhookGid">Asana's webhook gid once created, else <c>null</c>.</param>
/// <param name="HasSecret">Whether the handshake completed and its secret is stored.</param>
/// <param name="HandshakeUntil">End of the open handshake window, or <c>null</c> when none is open.</param>
/// <param name="CreatedAt">When the row was first created.</param>
/// <param name="LastEventAt">Last delivery with events, or <c>null</c>.</param>
/// <param name="LastHeartbeatAt">Last heartbeat (empty event list), or <c>null</c>.</param>
public sealed record AsanaWebhookInfo(
    string ProjectSlug,
    string ResourceGid,
    string? WebhookGid,
    bool HasSecret,
    DateTimeOffset? HandshakeUntil,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastEventAt,
    DateTimeOffset? LastHeartbeatAt);

/// <summary>A project definition or its secrets are invalid.</summary>
public sealed class ProjectValidationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errors">Every problem, each naming its field.</param>
    public ProjectValidationException(IReadOnlyList<string> errors)
        : base("Invalid project: " + string.Join("; ", errors))
    {
        Errors = errors;
    }

    /// <summary>Every problem, each naming its field.</summary>
    public IReadOnlyList<string> Errors { get; }
}

/// <summary>
/// A well-formed change that a rule refuses (answered 422): a URL the outbound policy does not allow, or a connection
/// whose platform or URL changed without its secrets being given again.
/// </summary>
public sealed class ProjectRuleException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errors">Every refusal, each naming its field and the rule.</param>
    public ProjectRuleException(IReadOnlyList<string> errors)
        : base("Refused: " + string.Join("; ", errors))
    {
        Errors = errors;
    }

    /// <summary>Every refusal, each naming its field and the rule.</summary>
    public IReadOnlyList<string> Errors { get; }
}

/// <summary>A slug is taken, or the project changed since the version the caller read.</summary>
/// <param name="message">What conflicts.</param>
public sealed class ProjectConflictException(string message) : Exception(message);

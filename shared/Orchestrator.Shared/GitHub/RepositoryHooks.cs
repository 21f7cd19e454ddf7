namespace Orchestrator.Shared.GitHub;

/// <summary>A repository webhook as GitHub or Gitea lists it.</summary>
/// <param name="Id">The hook id (GitHub sends it as <c>X-GitHub-Hook-ID</c>; the redelivery sweeper needs it).</param>
/// <param name="Url"><c>config.url</c>, the payload URL; <c>null</c> for hooks without one (e.g. other integrations).</param>
/// <param name="ContentType"><c>config.content_type</c>: <c>json</c> or <c>form</c>.</param>
/// <param name="Events">Subscribed events (GitHub <c>*</c> = every event). Compare as a set: Gitea answers in no fixed order.</param>
/// <param name="Active">Whether deliveries are sent.</param>
/// <param name="HasSecret">GitHub: whether a secret is set (it answers <c>"********"</c> for one); Gitea: <c>null</c>, it never shows whether one is set.</param>
/// <param name="BranchFilter">Gitea's <c>branch_filter</c> (kept on update: its edit resets an omitted filter); <c>null</c> on GitHub.</param>
public sealed record RepositoryHook(long Id, string? Url, string? ContentType, IReadOnlyList<string> Events, bool Active, bool? HasSecret, string? BranchFilter = null)
{
    /// <summary>Whether every one of <paramref name="required"/> is subscribed (case-insensitive; <c>*</c> covers all).</summary>
    /// <param name="required">Event names.</param>
    /// <returns>The events of <paramref name="required"/> that are not subscribed, in their order.</returns>
    public IReadOnlyList<string> MissingEvents(IEnumerable<string> required) =>
        Events.Contains("*", StringComparer.Ordinal)
            ? []
            : required.Where(e => !Events.Contains(e, StringComparer.OrdinalIgnoreCase)).ToList();
}

/// <summary>What a hook created or updated by <see cref="IRepositoryHooks"/> is set to: always active, JSON bodies.</summary>
/// <param name="url">The payload URL.</param>
/// <param name="secret">The HMAC key of the signature headers.</param>
/// <param name="events">The events to subscribe (the whole list; updates replace the hook's list with it).</param>
public sealed class RepositoryHookSettings(Uri url, string secret, IReadOnlyList<string> events)
{
    /// <summary>The payload URL.</summary>
    public Uri Url { get; } = url ?? throw new ArgumentNullException(nameof(url));

    /// <summary>The HMAC key of the signature headers (never printed).</summary>
    public string Secret { get; } = string.IsNullOrEmpty(secret) ? throw new ArgumentException("A hook needs a secret.", nameof(secret)) : secret;

    /// <summary>The events to subscribe.</summary>
    public IReadOnlyList<string> Events { get; } = events is { Count: > 0 } ? events : throw new ArgumentException("A hook needs events.", nameof(events));

    /// <inheritdoc />
    public override string ToString() => $"RepositoryHookSettings {{ Url = {Url}, Secret = (set), Events = [{string.Join(", ", Events)}] }}";
}

/// <summary>
/// Repository webhooks: list, create and update (GitHub https://docs.github.com/en/rest/repos/webhooks, Gitea
/// https://docs.gitea.com/api/1.25/#tag/repository/operation/repoListHooks). Both need a token with admin rights on the
/// repository (GitHub: "Webhooks" read and write, or <c>admin:repo_hook</c>); without them the forge answers 403 or 404,
/// thrown as <see cref="Platform.PlatformApiException"/> like every other failure.
/// </summary>
public interface IRepositoryHooks
{
    /// <summary>Whether <see cref="UpdateHookAsync"/> sets the secret too (GitHub); Gitea's edit ignores a secret, so a hook with a wrong one must be recreated.</summary>
    bool UpdatesSecret { get; }

    /// <summary>Every webhook of the repository (all pages).</summary>
    /// <param name="repo">Repository.</param>
    /// <param name="cancellationToken">Cancels the calls.</param>
    /// <returns>The hooks, as the forge orders them.</returns>
    Task<IReadOnlyList<RepositoryHook>> ListHooksAsync(RepoRef repo, CancellationToken cancellationToken);

    /// <summary>Creates an active JSON webhook.</summary>
    /// <param name="repo">Repository.</param>
    /// <param name="settings">URL, secret and events.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The hook as created.</returns>
    Task<RepositoryHook> CreateHookAsync(RepoRef repo, RepositoryHookSettings settings, CancellationToken cancellationToken);

    /// <summary>Sets an existing hook to <paramref name="settings"/> (active, JSON, URL, events; the secret where <see cref="UpdatesSecret"/>).</summary>
    /// <param name="repo">Repository.</param>
    /// <param name="existing">The hook as listed (what the forge's edit would otherwise reset is carried over).</param>
    /// <param name="settings">URL, secret and events.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The hook as updated.</returns>
    Task<RepositoryHook> UpdateHookAsync(RepoRef repo, RepositoryHook existing, RepositoryHookSettings settings, CancellationToken cancellationToken);
}

using System.Globalization;

namespace Orchestrator.Shared.GitHub;

/// <content>
/// Repository webhooks (<see cref="IRepositoryHooks"/>, https://docs.github.com/en/rest/repos/webhooks): they need the
/// token's "Webhooks" repository permission (fine-grained; read to list, write to change) or the <c>admin:repo_hook</c>
/// scope; without it GitHub answers 404 (classic tokens) or 403 "Resource not accessible by personal access token".
/// The bodies are Octokit's <see cref="Octokit.NewRepositoryHook"/> and <see cref="Octokit.EditRepositoryHook"/>, sent through
/// its <see cref="Octokit.IConnection"/> and read into <see cref="HookItem"/>: Octokit's <c>RepositoryHook</c> and
/// <c>Hooks.Edit</c> hold the hook id as a 32-bit <c>int</c>, and GitHub's ids are 64-bit.
/// </content>
public sealed partial class GitHubClient : IRepositoryHooks
{
    /// <inheritdoc />
    public bool UpdatesSecret => true;

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /repos/{owner}/{repo}/hooks?per_page=100</c>, every page
    /// (https://docs.github.com/en/rest/repos/webhooks#list-repository-webhooks): items
    /// <c>{id, name, active, events, config: {url, content_type, insecure_ssl, secret?}}</c>.
    /// </remarks>
    /// <exception cref="Platform.PlatformApiException">Non-2xx answer (403/404 without hook permission), network failure or unexpected body.</exception>
    public async Task<IReadOnlyList<RepositoryHook>> ListHooksAsync(RepoRef repo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        return await GetPagesAsync<List<HookItem>, RepositoryHook>(
            Octokit.ApiUrls.RepositoryHooks(repo.Owner, repo.Name),
            $"per_page={MaxPerPage}",
            page => page.Select(ToHook),
            int.MaxValue,
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>POST /repos/{owner}/{repo}/hooks</c> with <c>{"name":"web","active":true,"events":[…],"config":{"url","content_type":"json","secret","insecure_ssl":"0"}}</c>,
    /// 201 with the hook (https://docs.github.com/en/rest/repos/webhooks#create-a-repository-webhook). A second hook with the
    /// same URL answers 422 "Hook already exists on this repository".
    /// </remarks>
    /// <exception cref="Platform.PlatformApiException">Non-2xx answer (403/404 without hook permission, 422 duplicate), network failure or unexpected body.</exception>
    public async Task<RepositoryHook> CreateHookAsync(RepoRef repo, RepositoryHookSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(settings);
        var path = Octokit.ApiUrls.RepositoryHooks(repo.Owner, repo.Name);
        var hook = new Octokit.NewRepositoryHook("web", HookConfig(settings)) { Active = true, Events = [.. settings.Events] };
        return await CallAsync(
            Operation("POST", path),
            async () => ToHook(Required((await _connection.Post<HookItem>(path, hook, GitHubOctokit.MediaType, "application/json", cancellationToken: GitHubOctokit.Current.Value!.CancellationToken).ConfigureAwait(false)).Body, "body")),
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>PATCH /repos/{owner}/{repo}/hooks/{hook_id}</c> with <c>{"active":true,"events":[…],"config":{…}}</c>, 200 with the
    /// hook (https://docs.github.com/en/rest/repos/webhooks#update-a-repository-webhook). The whole config is sent with the
    /// secret: GitHub removes a secret that an update of the config does not repeat.
    /// </remarks>
    /// <exception cref="Platform.PlatformApiException">Non-2xx answer (403/404 without hook permission), network failure or unexpected body.</exception>
    public async Task<RepositoryHook> UpdateHookAsync(RepoRef repo, RepositoryHook existing, RepositoryHookSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(existing);
        ArgumentNullException.ThrowIfNull(settings);
        var path = HooksPath(repo, existing.Id.ToString(CultureInfo.InvariantCulture));
        var edit = new Octokit.EditRepositoryHook(HookConfig(settings)) { Active = true, Events = [.. settings.Events] };
        return await CallAsync(
            Operation("PATCH", path),
            async () => ToHook(Required((await _connection.Patch<HookItem>(path, edit, GitHubOctokit.MediaType).ConfigureAwait(false)).Body, "body")),
            cancellationToken).ConfigureAwait(false);
    }

    private static Dictionary<string, string> HookConfig(RepositoryHookSettings settings) => new(StringComparer.Ordinal)
    {
        ["url"] = settings.Url.AbsoluteUri,
        ["content_type"] = "json",
        ["secret"] = settings.Secret,
        ["insecure_ssl"] = "0",
    };

    private static RepositoryHook ToHook(HookItem hook)
    {
        var config = hook.Config ?? new Dictionary<string, string>();
        return new RepositoryHook(
            hook.Id,
            config.GetValueOrDefault("url"),
            config.GetValueOrDefault("content_type"),
            hook.Events ?? [],
            hook.Active,
            config.GetValueOrDefault("secret") is { Length: > 0 }); // "********" when set
    }

    /// <summary>A hook as GitHub answers it, with a 64-bit id.</summary>
    internal sealed class HookItem
    {
        /// <summary><c>id</c>.</summary>
        public long Id { get; set; }

        /// <summary><c>active</c>.</summary>
        public bool Active { get; set; }

        /// <summary><c>events</c>.</summary>
        public List<string>? Events { get; set; }

        /// <summary><c>config</c> (all values are strings, <c>secret</c> masked as <c>********</c>).</summary>
        public Dictionary<string, string>? Config { get; set; }
    }
}

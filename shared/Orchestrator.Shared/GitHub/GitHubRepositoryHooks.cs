using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Shared.GitHub;

/// <content>
/// Repository webhooks (<see cref="IRepositoryHooks"/>, https://docs.github.com/en/rest/repos/webhooks): they need the
/// token's "Webhooks" repository permission (fine-grained; read to list, write to change) or the <c>admin:repo_hook</c>
/// scope; without it GitHub answers 404 (classic tokens) or 403 "Resource not accessible by personal access token".
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
        var path = RepoPath(repo, "hooks") + $"?per_page={MaxPerPage}";
        return await GetPagesAsync(path, page => ReadArray(page).Select(ReadHook), int.MaxValue, cancellationToken).ConfigureAwait(false);
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
        var payload = new JsonObject
        {
            ["name"] = "web",
            ["active"] = true,
            ["events"] = new JsonArray([.. settings.Events.Select(e => (JsonNode)e)]),
            ["config"] = HookConfig(settings),
        };
        return await SendAsync(HttpMethod.Post, RepoPath(repo, "hooks"), payload, ReadHook, cancellationToken).ConfigureAwait(false);
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
        var payload = new JsonObject
        {
            ["active"] = true,
            ["events"] = new JsonArray([.. settings.Events.Select(e => (JsonNode)e)]),
            ["config"] = HookConfig(settings),
        };
        var path = RepoPath(repo, $"hooks/{existing.Id.ToString(CultureInfo.InvariantCulture)}");
        return await SendAsync(HttpMethod.Patch, path, payload, ReadHook, cancellationToken).ConfigureAwait(false);
    }

    private static JsonObject HookConfig(RepositoryHookSettings settings) => new()
    {
        ["url"] = settings.Url.AbsoluteUri,
        ["content_type"] = "json",
        ["secret"] = settings.Secret,
        ["insecure_ssl"] = "0",
    };

    private static RepositoryHook ReadHook(JsonElement e)
    {
        var config = e.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        var events = e.TryGetProperty("events", out var ev) && ev.ValueKind == JsonValueKind.Array
            ? ev.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList()
            : [];
        return new RepositoryHook(
            e.GetProperty("id").GetInt64(),
            config.ValueKind == JsonValueKind.Object ? OptionalString(config, "url") : null,
            config.ValueKind == JsonValueKind.Object ? OptionalString(config, "content_type") : null,
            events,
            e.TryGetProperty("active", out var active) && active.ValueKind == JsonValueKind.True,
            config.ValueKind == JsonValueKind.Object && OptionalString(config, "secret") is { Length: > 0 }); // "********" when set
    }
}

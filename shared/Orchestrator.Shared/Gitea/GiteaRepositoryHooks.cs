using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Shared.GitHub;

namespace Orchestrator.Shared.Gitea;

/// <content>
/// Repository webhooks (<see cref="IRepositoryHooks"/>; https://docs.gitea.com/api/1.25/#tag/repository/operation/repoListHooks,
/// <c>repoCreateHook</c>, <c>repoEditHook</c>). Gitea serves them to repository admins only: another token gets 403
/// ("user should be an owner or a collaborator with admin write of a repository", or a missing token scope), and one that
/// cannot see the repository 404. Gitea's own behaviour that shapes these calls (<c>routers/api/v1/utils/hook.go</c>):
/// a created hook is inactive unless <c>active</c> is sent; <c>pull_request</c> subscribes the whole pull-request family
/// (<c>pull_request_sync</c>, <c>…_label</c>, …), which a list then shows one by one, in no fixed order; an edit resets
/// the events, <c>branch_filter</c> and <c>authorization_header</c> it is not sent, and ignores <c>config.secret</c>; a
/// list never shows the secret; a second hook with the same URL is created without complaint.
/// </content>
public sealed partial class GiteaClient : IRepositoryHooks
{
    /// <inheritdoc />
    /// <remarks>Gitea's edit ignores <c>config.secret</c>: a hook with the wrong secret must be deleted and created again.</remarks>
    public bool UpdatesSecret => false;

    /// <inheritdoc />
    /// <remarks>
    /// <c>GET /repos/{owner}/{repo}/hooks?limit=50&amp;page=…</c>, every <c>Link</c> page: items
    /// <c>{id, type, branch_filter, config: {url, content_type}, events, active, …}</c>.
    /// </remarks>
    /// <exception cref="Platform.PlatformApiException">Non-2xx answer (403/404 for a token that is no repository admin), network failure or unexpected body.</exception>
    public async Task<IReadOnlyList<RepositoryHook>> ListHooksAsync(RepoRef repo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var path = RepoPath(repo, "hooks") + $"?limit={MaxPerPage}&page=1";
        return await GetPagesAsync(path, page => ReadArray(page).Select(ReadHook), int.MaxValue, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>POST /repos/{owner}/{repo}/hooks</c> with <c>CreateHookOption</c>
    /// <c>{"type":"gitea","active":true,"events":[…],"config":{"url","content_type":"json","secret"}}</c>, 201 with the hook.
    /// </remarks>
    /// <exception cref="Platform.PlatformApiException">Non-2xx answer (403/404 for a token that is no repository admin, 422 invalid URL), network failure or unexpected body.</exception>
    public async Task<RepositoryHook> CreateHookAsync(RepoRef repo, RepositoryHookSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(settings);
        var payload = new JsonObject
        {
            ["type"] = "gitea",
            ["active"] = true,
            ["events"] = new JsonArray([.. settings.Events.Select(e => (JsonNode)e)]),
            ["config"] = new JsonObject { ["url"] = settings.Url.AbsoluteUri, ["content_type"] = "json", ["secret"] = settings.Secret },
        };
        return await SendAsync(HttpMethod.Post, RepoPath(repo, "hooks"), payload, ReadHook, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <c>PATCH /repos/{owner}/{repo}/hooks/{id}</c> with <c>EditHookOption</c>
    /// <c>{"active":true,"events":[…],"branch_filter":…,"config":{"url","content_type":"json"}}</c>, 200 with the hook. The
    /// listed <c>branch_filter</c> is sent back (an edit without it clears it); no secret is sent, Gitea would ignore it.
    /// </remarks>
    /// <exception cref="Platform.PlatformApiException">Non-2xx answer (403/404 for a token that is no repository admin), network failure or unexpected body.</exception>
    public async Task<RepositoryHook> UpdateHookAsync(RepoRef repo, RepositoryHook existing, RepositoryHookSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(existing);
        ArgumentNullException.ThrowIfNull(settings);
        var payload = new JsonObject
        {
            ["active"] = true,
            ["events"] = new JsonArray([.. settings.Events.Select(e => (JsonNode)e)]),
            ["branch_filter"] = existing.BranchFilter ?? "",
            ["config"] = new JsonObject { ["url"] = settings.Url.AbsoluteUri, ["content_type"] = "json" },
        };
        var path = RepoPath(repo, $"hooks/{existing.Id.ToString(CultureInfo.InvariantCulture)}");
        return await SendAsync(HttpMethod.Patch, path, payload, ReadHook, cancellationToken).ConfigureAwait(false);
    }

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
            HasSecret: null,
            BranchFilter: OptionalString(e, "branch_filter"));
    }
}

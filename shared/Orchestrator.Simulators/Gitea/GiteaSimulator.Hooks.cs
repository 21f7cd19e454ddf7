using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Orchestrator.Simulators.Gitea;

/// <summary>A repository webhook held by <see cref="GiteaSimulator"/> (configuration only; deliveries go to <see cref="GiteaSimulator.ConfigureWebhook"/>'s target).</summary>
/// <param name="Id">Hook id.</param>
/// <param name="Type">Hook type, e.g. <c>gitea</c>.</param>
/// <param name="Url"><c>config.url</c>.</param>
/// <param name="ContentType"><c>config.content_type</c>: <c>json</c> or <c>form</c>.</param>
/// <param name="Secret">The secret given at creation (Gitea never shows it), or <c>null</c>.</param>
/// <param name="Events">Subscribed events as stored (<c>pull_request</c> expanded to its family).</param>
/// <param name="Active">Whether it is active.</param>
/// <param name="BranchFilter"><c>branch_filter</c>.</param>
public sealed record GiteaSimHook(long Id, string Type, string Url, string ContentType, string? Secret, IReadOnlyList<string> Events, bool Active, string BranchFilter);

/// <content>
/// Repository webhooks (https://docs.gitea.com/api/1.25/#tag/repository/operation/repoListHooks): <c>GET|POST hooks</c>,
/// <c>PATCH hooks/{id}</c>, with Gitea's rules (<c>routers/api/v1/utils/hook.go</c>): <c>type</c> and <c>config</c>
/// (<c>url</c>, <c>content_type</c> <c>json</c>|<c>form</c>) are required, else 422; a created hook is inactive unless
/// <c>active</c> is sent; no or empty <c>events</c> means <c>["push"]</c>; <c>pull_request</c> subscribes the whole
/// pull-request family, which lists show one by one in no fixed order; an edit replaces the events, clears an omitted
/// <c>branch_filter</c> and ignores <c>config.secret</c>; a list never shows the secret; two hooks may share a URL.
/// </content>
public sealed partial class GiteaSimulator
{
    /// <summary>What Gitea turns <c>pull_request</c> into (<c>updateHookEvents</c>: every pull-request event type).</summary>
    private static readonly string[] PullRequestFamily =
        ["pull_request", "pull_request_assign", "pull_request_label", "pull_request_milestone", "pull_request_comment", "pull_request_review", "pull_request_review_request", "pull_request_sync"];

    private static readonly string[] HookTypes = ["gitea", "gogs", "slack", "discord", "dingtalk", "telegram", "msteams", "feishu", "wechatwork", "packagist"];

    private readonly Dictionary<string, List<HookState>> _hooks = new(StringComparer.OrdinalIgnoreCase);
    private int? _hookAccessDenied;

    /// <summary>
    /// <c>null</c> (default): the token is a repository admin. 403 or 404: every hook route answers that, as Gitea does for a
    /// token that is not a repository admin (403) or cannot see the repository (404). Not recorded as unexpected.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Neither <c>null</c>, 403 nor 404.</exception>
    public int? HookAccessDenied
    {
        get
        {
            lock (_gate)
            {
                return _hookAccessDenied;
            }
        }

        set
        {
            if (value is not (null or StatusCodes.Status403Forbidden or StatusCodes.Status404NotFound))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Only 403 and 404 deny hook access.");
            }

            lock (_gate)
            {
                _hookAccessDenied = value;
            }
        }
    }

    /// <summary>Adds a hook directly (as if made in the repository's settings); <paramref name="events"/> are expanded as Gitea does.</summary>
    /// <param name="repo"><c>owner/name</c> of an added repository.</param>
    /// <param name="url">Payload URL.</param>
    /// <param name="events">Events.</param>
    /// <param name="contentType"><c>json</c> or <c>form</c>.</param>
    /// <param name="secret">Secret, or <c>null</c>.</param>
    /// <param name="active">Whether it is active.</param>
    /// <returns>The hook id.</returns>
    public long AddRepositoryHook(string repo, Uri url, IEnumerable<string> events, string contentType = "json", string? secret = null, bool active = true)
    {
        ArgumentNullException.ThrowIfNull(url);
        lock (_gate)
        {
            var r = Repo(repo);
            var hook = new HookState(NextId(), "gitea", DateTimeOffset.UtcNow) { Url = url.AbsoluteUri, ContentType = contentType, Secret = secret, Events = Expand([.. events]), Active = active };
            HooksOf(r).Add(hook);
            return hook.Id;
        }
    }

    /// <summary>The hooks of <paramref name="repo"/> in creation order, with the secrets as given.</summary>
    public IReadOnlyList<GiteaSimHook> RepositoryHooks(string repo)
    {
        lock (_gate)
        {
            return HooksOf(Repo(repo)).Select(h => new GiteaSimHook(h.Id, h.Type, h.Url, h.ContentType, h.Secret, h.Events.ToArray(), h.Active, h.BranchFilter)).ToArray();
        }
    }

    private void MapRepositoryHooks(Action<string, string, Func<Call, Task>> route)
    {
        route("GET", "hooks", ListHooksAsync);
        route("POST", "hooks", CreateHookAsync);
        route("PATCH", "hooks/{hookId:long}", EditHookAsync);
    }

    private List<HookState> HooksOf(RepoState repo)
    {
        if (!_hooks.TryGetValue(repo.FullName, out var hooks))
        {
            _hooks[repo.FullName] = hooks = [];
        }

        return hooks;
    }

    private async Task<bool> HookAccessAllowedAsync(Call call)
    {
        switch (HookAccessDenied)
        {
            case null:
                return true;
            case StatusCodes.Status403Forbidden:
                await ErrorAsync(call.Context, 403, "user should be an owner or a collaborator with admin write of a repository").ConfigureAwait(false);
                return false;
            default:
                await NotFoundAsync(call.Context).ConfigureAwait(false);
                return false;
        }
    }

    private async Task ListHooksAsync(Call call)
    {
        var q = Query(call, "limit", "page");
        if (!await HookAccessAllowedAsync(call).ConfigureAwait(false))
        {
            return;
        }

        if (!Paging(call, q, out var limit, out var page))
        {
            await ValidationAsync(call.Context, "invalid paging").ConfigureAwait(false);
            return;
        }

        List<JsonNode> items;
        lock (_gate)
        {
            items = HooksOf(call.Repo).Select(h => (JsonNode)HookJson(h)).ToList();
        }

        await PageAsync(call, items, limit, page).ConfigureAwait(false);
    }

    private async Task CreateHookAsync(Call call)
    {
        var body = await BodyAsync(call, "type", "config", "events", "branch_filter", "authorization_header", "active", "name").ConfigureAwait(false);
        if (body is null || !await HookAccessAllowedAsync(call).ConfigureAwait(false))
        {
            if (body is null)
            {
                await ValidationAsync(call.Context, "invalid body").ConfigureAwait(false);
            }

            return;
        }

        var type = body["type"] is JsonValue t && t.TryGetValue<string>(out var typeName) ? typeName : null;
        if (type is null || !HookTypes.Contains(type))
        {
            call.Unexpected($"type '{type}' is not a hook type");
            await ValidationAsync(call.Context, $"Invalid hook type: {type}").ConfigureAwait(false);
            return;
        }

        if (!TryReadHook(call, body, creating: true, out var config, out var events, out var active, out var problem))
        {
            await ValidationAsync(call.Context, problem!).ConfigureAwait(false);
            return;
        }

        JsonObject json;
        lock (_gate)
        {
            var hook = new HookState(NextId(), type, DateTimeOffset.UtcNow)
            {
                Url = config!.Value.Url!,
                ContentType = config.Value.ContentType!,
                Secret = config.Value.Secret,
                Events = Expand(events),
                Active = active ?? false, // CreateHookOption.active defaults to false
                BranchFilter = body["branch_filter"]?.GetValue<string>() ?? "",
            };
            HooksOf(call.Repo).Add(hook);
            json = HookJson(hook);
        }

        await WriteAsync(call.Context, 201, json).ConfigureAwait(false);
    }

    private async Task EditHookAsync(Call call)
    {
        var body = await BodyAsync(call, "config", "events", "branch_filter", "authorization_header", "active", "name").ConfigureAwait(false);
        if (body is null || !await HookAccessAllowedAsync(call).ConfigureAwait(false))
        {
            if (body is null)
            {
                await ValidationAsync(call.Context, "invalid body").ConfigureAwait(false);
            }

            return;
        }

        if (!TryReadHook(call, body, creating: false, out var config, out var events, out var active, out var problem))
        {
            await ValidationAsync(call.Context, problem!).ConfigureAwait(false);
            return;
        }

        var id = long.Parse((string)call.Context.GetRouteValue("hookId")!, CultureInfo.InvariantCulture);
        JsonObject? json = null;
        lock (_gate)
        {
            if (HooksOf(call.Repo).Find(h => h.Id == id) is { } hook)
            {
                // editHook: url and content_type only when given; the secret never; events, branch_filter and
                // authorization_header always (omitted = reset).
                hook.Url = config?.Url ?? hook.Url;
                hook.ContentType = config?.ContentType ?? hook.ContentType;
                hook.Events = Expand(events);
                hook.BranchFilter = body["branch_filter"]?.GetValue<string>() ?? "";
                hook.Active = active ?? hook.Active;
                hook.UpdatedAt = DateTimeOffset.UtcNow;
                json = HookJson(hook);
            }
        }

        await (json is null ? NotFoundAsync(call.Context) : WriteAsync(call.Context, 200, json)).ConfigureAwait(false);
    }

    private static bool TryReadHook(Call call, JsonObject body, bool creating, out (string? Url, string? ContentType, string? Secret)? config, out List<string> events, out bool? active, out string? problem)
    {
        config = null;
        events = [];
        active = null;
        problem = null;
        if (body["events"] is { } e)
        {
            if (e is not JsonArray array || array.Any(x => x is not JsonValue v || !v.TryGetValue<string>(out _)))
            {
                call.Unexpected("events is not an array of strings");
                problem = "[Events]: invalid";
                return false;
            }

            events = [.. array.Select(x => x!.GetValue<string>())];
        }

        if (body["active"] is { } a)
        {
            if (a is not JsonValue av || !av.TryGetValue<bool>(out var flag))
            {
                call.Unexpected("active is not a boolean");
                problem = "[Active]: invalid";
                return false;
            }

            active = flag;
        }

        if (body["config"] is not JsonObject c)
        {
            if (creating || body["config"] is not null)
            {
                call.Unexpected("config is missing or not an object");
                problem = "[Config]: Required";
                return false;
            }

            return true;
        }

        foreach (var key in c.Select(p => p.Key).Where(k => k is not ("url" or "content_type" or "secret" or "http_method")))
        {
            call.Unexpected($"config field '{key}' is not simulated");
        }

        if (c.Any(p => p.Value is not JsonValue v || !v.TryGetValue<string>(out _)))
        {
            call.Unexpected("config values must be strings");
            problem = "[Config]: values must be strings";
            return false;
        }

        string? Text(string name) => c[name]?.GetValue<string>();
        var url = Text("url");
        var contentType = Text("content_type");
        if (creating && url is null)
        {
            call.Unexpected("config.url missing");
            problem = "Missing config option: url";
            return false;
        }

        if (url is not null && (!Uri.TryCreate(url, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps)))
        {
            call.Unexpected($"config.url '{url}' is not an http(s) URL");
            problem = "Invalid url";
            return false;
        }

        if (creating && contentType is null)
        {
            call.Unexpected("config.content_type missing");
            problem = "Missing config option: content_type";
            return false;
        }

        if (contentType is not null && contentType is not ("json" or "form"))
        {
            call.Unexpected($"config.content_type '{contentType}'");
            problem = "Invalid content type";
            return false;
        }

        if (!creating && c["secret"] is not null)
        {
            // Gitea ignores it without a word; a client that relies on it is mistaken.
            call.Unexpected("config.secret on an edit is ignored by Gitea");
        }

        config = (url, contentType, Text("secret") is { Length: > 0 } s ? s : null);
        return true;
    }

    /// <summary>Gitea's <c>updateHookEvents</c>: none means push; <c>pull_request</c> brings its family; stored as a set.</summary>
    private static List<string> Expand(List<string> events)
    {
        var set = new HashSet<string>(events.Count == 0 ? ["push"] : events, StringComparer.OrdinalIgnoreCase);
        if (set.Contains("pull_request"))
        {
            set.UnionWith(PullRequestFamily);
        }

        set.Remove("pull_request_only");

        // No fixed order, like Gitea's map iteration: clients must compare as a set.
        return [.. set.OrderByDescending(x => x, StringComparer.Ordinal)];
    }

    private static JsonObject HookJson(HookState h) => new()
    {
        ["id"] = h.Id,
        ["type"] = h.Type,
        ["branch_filter"] = h.BranchFilter,
        ["config"] = new JsonObject { ["content_type"] = h.ContentType, ["url"] = h.Url },
        ["events"] = new JsonArray([.. h.Events.Select(e => (JsonNode)e)]),
        ["authorization_header"] = "",
        ["active"] = h.Active,
        ["updated_at"] = Time(h.UpdatedAt),
        ["created_at"] = Time(h.CreatedAt),
    };

    private sealed class HookState(long id, string type, DateTimeOffset createdAt)
    {
        public long Id { get; } = id;

        public string Type { get; } = type;

        public DateTimeOffset CreatedAt { get; } = createdAt;

        public DateTimeOffset UpdatedAt { get; set; } = createdAt;

        public required string Url { get; set; }

        public required string ContentType { get; set; }

        public string? Secret { get; init; }

        public required List<string> Events { get; set; }

        public bool Active { get; set; }

        public string BranchFilter { get; set; } = "";
    }
}

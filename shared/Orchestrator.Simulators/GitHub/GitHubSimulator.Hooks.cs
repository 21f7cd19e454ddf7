using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Orchestrator.Simulators.GitHub;

/// <summary>A repository webhook held by <see cref="GitHubSimulator"/> (its configuration; deliveries go to <see cref="GitHubSimulator.ConfigureWebhook"/>'s target).</summary>
/// <param name="Id">Hook id.</param>
/// <param name="Url"><c>config.url</c>.</param>
/// <param name="ContentType"><c>config.content_type</c>: <c>json</c> or <c>form</c>.</param>
/// <param name="Secret">The secret as last sent (GitHub only ever answers <c>"********"</c>), or <c>null</c>.</param>
/// <param name="Events">Subscribed events.</param>
/// <param name="Active">Whether it is active.</param>
public sealed record SimRepoHook(long Id, string Url, string ContentType, string? Secret, IReadOnlyList<string> Events, bool Active);

/// <content>
/// Repository webhooks (https://docs.github.com/en/rest/repos/webhooks): <c>GET|POST /repos/{o}/{r}/hooks</c> and
/// <c>PATCH /repos/{o}/{r}/hooks/{hook_id}</c>, with GitHub's rules: <c>name</c> is <c>web</c>, <c>config.url</c> is
/// required, <c>content_type</c> defaults to <c>form</c>, <c>events</c> to <c>["push"]</c>, <c>active</c> to true; a
/// second hook with the same URL answers 422 "Hook already exists on this repository"; an update that sends
/// <c>config</c> without <c>secret</c> removes the secret; a set secret is shown as <c>"********"</c>. The hooks are
/// configuration only: the simulator's deliveries still go to the one target of <see cref="ConfigureWebhook"/>.
/// </content>
public sealed partial class GitHubSimulator
{
    private static readonly string[] HookContentTypes = ["json", "form"];

    private readonly Dictionary<long, List<SimRepoHookState>> _repoHooks = [];
    private int? _hookAccessDenied;

    /// <summary>
    /// <c>null</c> (default): the token may manage hooks. 403 or 404: every hook route answers that, as GitHub does for a
    /// fine-grained token without the "Webhooks" permission (403 "Resource not accessible by personal access token") or a
    /// classic token without <c>admin:repo_hook</c> (404). Such answers are legitimate and not recorded as unexpected.
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

    /// <summary>Adds a hook directly (as if made in the repository's settings).</summary>
    /// <param name="repo"><c>owner/name</c> of an added repository.</param>
    /// <param name="url">Payload URL.</param>
    /// <param name="events">Events.</param>
    /// <param name="contentType"><c>json</c> or <c>form</c>.</param>
    /// <param name="secret">Secret, or <c>null</c>.</param>
    /// <param name="active">Whether it is active.</param>
    /// <returns>The hook id.</returns>
    /// <exception cref="ArgumentException">Unknown repository.</exception>
    public long AddRepositoryHook(string repo, Uri url, IEnumerable<string> events, string contentType = "json", string? secret = null, bool active = true)
    {
        ArgumentNullException.ThrowIfNull(url);
        lock (_gate)
        {
            var hook = new SimRepoHookState { Id = NextId(), Url = url.AbsoluteUri, ContentType = contentType, Secret = secret, Events = [.. events], Active = active, CreatedAt = _time.GetUtcNow() };
            hook.UpdatedAt = hook.CreatedAt;
            HooksOf(Repo(repo)).Add(hook);
            return hook.Id;
        }
    }

    /// <summary>The hooks of <paramref name="repo"/> in creation order, with the secrets as sent.</summary>
    /// <exception cref="ArgumentException">Unknown repository.</exception>
    public IReadOnlyList<SimRepoHook> RepositoryHooks(string repo)
    {
        lock (_gate)
        {
            return HooksOf(Repo(repo)).Select(h => h.ToRecord()).ToArray();
        }
    }

    private void MapRepositoryHooks(IEndpointRouteBuilder app, SimulatorHost host)
    {
        MapRepo(app, host, "GET", "hooks", ListRepositoryHooksAsync);
        MapRepo(app, host, "POST", "hooks", CreateRepositoryHookAsync);
        MapRepo(app, host, "PATCH", "hooks/{hookId:long}", UpdateRepositoryHookAsync);
    }

    private List<SimRepoHookState> HooksOf(SimRepoState repo)
    {
        if (!_repoHooks.TryGetValue(repo.Id, out var hooks))
        {
            _repoHooks[repo.Id] = hooks = [];
        }

        return hooks;
    }

    private async Task<bool> HookAccessAllowedAsync(Call call)
    {
        var denied = HookAccessDenied;
        if (denied is null)
        {
            return true;
        }

        await ErrorAsync(
            call.Context,
            denied.Value,
            denied == StatusCodes.Status403Forbidden ? "Resource not accessible by personal access token" : "Not Found",
            "https://docs.github.com/rest/repos/webhooks").ConfigureAwait(false);
        return false;
    }

    private async Task ListRepositoryHooksAsync(Call call)
    {
        var query = ReadQuery(call, ["per_page", "page"]);
        if (!await HookAccessAllowedAsync(call).ConfigureAwait(false))
        {
            return;
        }

        if (!TryPaging(call, query, out var perPage, out var page))
        {
            await ValidationFailedAsync(call.Context, "Hook", "query", "invalid").ConfigureAwait(false);
            return;
        }

        JsonArray items;
        string? link;
        lock (_gate)
        {
            (items, link) = Page(call, HooksOf(call.Repo).ToList(), perPage, page, h => HookJson(call.Repo, h));
        }

        await WriteAsync(call.Context, StatusCodes.Status200OK, items, link).ConfigureAwait(false);
    }

    private async Task CreateRepositoryHookAsync(Call call)
    {
        var body = await ReadBodyAsync(call, ["name", "active", "events", "config"]).ConfigureAwait(false);
        if (body is null || !await HookAccessAllowedAsync(call).ConfigureAwait(false))
        {
            return;
        }

        if (body["name"] is { } name && (name is not JsonValue || name.GetValue<string>() != "web"))
        {
            call.Unexpected("name is not \"web\"");
            await ValidationFailedAsync(call.Context, "Hook", "name", "invalid").ConfigureAwait(false);
            return;
        }

        if (!TryReadHookFields(call, body, requireUrl: true, out var config, out var events, out var active))
        {
            await ValidationFailedAsync(call.Context, "Hook", "config", "invalid").ConfigureAwait(false);
            return;
        }

        JsonObject? json = null;
        lock (_gate)
        {
            var hooks = HooksOf(call.Repo);
            if (!hooks.Any(h => h.Url == config!.Value.Url))
            {
                var now = _time.GetUtcNow();
                var hook = new SimRepoHookState
                {
                    Id = NextId(), Url = config!.Value.Url!, ContentType = config.Value.ContentType ?? "form", Secret = config.Value.Secret,
                    Events = events ?? ["push"], Active = active ?? true, CreatedAt = now, UpdatedAt = now,
                };
                hooks.Add(hook);
                json = HookJson(call.Repo, hook);
            }
        }

        if (json is null)
        {
            await WriteAsync(call.Context, StatusCodes.Status422UnprocessableEntity, new JsonObject
            {
                ["message"] = "Validation Failed",
                ["errors"] = new JsonArray(new JsonObject { ["resource"] = "Hook", ["code"] = "custom", ["message"] = "Hook already exists on this repository" }),
                ["documentation_url"] = "https://docs.github.com/rest/repos/webhooks#create-a-repository-webhook",
                ["status"] = "422",
            }).ConfigureAwait(false);
            return;
        }

        call.Context.Response.Headers.Location = json["url"]!.GetValue<string>();
        await WriteAsync(call.Context, StatusCodes.Status201Created, json).ConfigureAwait(false);
    }

    private async Task UpdateRepositoryHookAsync(Call call)
    {
        var body = await ReadBodyAsync(call, ["active", "events", "config", "add_events", "remove_events"]).ConfigureAwait(false);
        if (body is null || !await HookAccessAllowedAsync(call).ConfigureAwait(false))
        {
            return;
        }

        if (!TryReadHookFields(call, body, requireUrl: body["config"] is not null, out var config, out var events, out var active)
            || !TryReadEvents(call, body, "add_events", out var add) || !TryReadEvents(call, body, "remove_events", out var remove))
        {
            await ValidationFailedAsync(call.Context, "Hook", "config", "invalid").ConfigureAwait(false);
            return;
        }

        var id = long.Parse((string)call.Context.GetRouteValue("hookId")!, CultureInfo.InvariantCulture);
        JsonObject? json = null;
        lock (_gate)
        {
            if (HooksOf(call.Repo).Find(h => h.Id == id) is { } hook)
            {
                if (config is { } c)
                {
                    // "If you previously had a secret set, you must provide the same secret or set a new secret or the secret will be removed."
                    hook.Url = c.Url!;
                    hook.ContentType = c.ContentType ?? hook.ContentType;
                    hook.Secret = c.Secret;
                }

                hook.Events = events ?? hook.Events;
                hook.Events = [.. hook.Events.Concat(add ?? []).Distinct(StringComparer.Ordinal).Except(remove ?? [], StringComparer.Ordinal)];
                hook.Active = active ?? hook.Active;
                hook.UpdatedAt = _time.GetUtcNow();
                json = HookJson(call.Repo, hook);
            }
        }

        if (json is null)
        {
            await ErrorAsync(call.Context, StatusCodes.Status404NotFound, "Not Found", "https://docs.github.com/rest/repos/webhooks#update-a-repository-webhook").ConfigureAwait(false);
            return;
        }

        await WriteAsync(call.Context, StatusCodes.Status200OK, json).ConfigureAwait(false);
    }

    /// <summary>Reads <c>config</c> (<c>url</c>, <c>content_type</c>, <c>secret</c>, <c>insecure_ssl</c>), <c>events</c> and <c>active</c>; records what is invalid.</summary>
    private static bool TryReadHookFields(Call call, JsonObject body, bool requireUrl, out (string? Url, string? ContentType, string? Secret)? config, out List<string>? events, out bool? active)
    {
        config = null;
        active = null;
        if (!TryReadEvents(call, body, "events", out events))
        {
            return false;
        }

        if (body["active"] is { } a)
        {
            if (a is not JsonValue value || !value.TryGetValue<bool>(out var flag))
            {
                call.Unexpected("active is not a boolean");
                return false;
            }

            active = flag;
        }

        if (body["config"] is null)
        {
            if (requireUrl)
            {
                call.Unexpected("config is required");
                return false;
            }

            return true;
        }

        if (body["config"] is not JsonObject c)
        {
            call.Unexpected("config is not an object");
            return false;
        }

        foreach (var key in c.Select(p => p.Key).Where(k => k is not ("url" or "content_type" or "secret" or "insecure_ssl")))
        {
            call.Unexpected($"config field '{key}' is not simulated");
        }

        string? Text(string name) => c[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        var url = Text("url");
        if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
        {
            call.Unexpected($"config.url '{url}' is not an absolute http(s) URL");
            return false;
        }

        var contentType = Text("content_type");
        if (contentType is not null && !HookContentTypes.Contains(contentType, StringComparer.Ordinal))
        {
            call.Unexpected($"config.content_type '{contentType}' is not json or form");
            return false;
        }

        if (c["insecure_ssl"] is { } insecure && Text("insecure_ssl") is not ("0" or "1"))
        {
            call.Unexpected($"config.insecure_ssl {insecure.ToJsonString()} is not \"0\" or \"1\"");
            return false;
        }

        config = (url, contentType, Text("secret") is { Length: > 0 } secret ? secret : null);
        return true;
    }

    private static bool TryReadEvents(Call call, JsonObject body, string name, out List<string>? events)
    {
        events = null;
        if (body[name] is null)
        {
            return true;
        }

        if (body[name] is not JsonArray array || array.Any(e => e is not JsonValue v || !v.TryGetValue<string>(out _)))
        {
            call.Unexpected($"{name} is not an array of strings");
            return false;
        }

        events = [.. array.Select(e => e!.GetValue<string>())];
        return true;
    }

    /// <summary>The <c>hook</c> shape of the REST API.</summary>
    private JsonObject HookJson(SimRepoState repo, SimRepoHookState hook)
    {
        var api = $"{ApiUrl}repos/{repo.Owner}/{repo.Name}/hooks/{hook.Id}";
        var config = new JsonObject { ["content_type"] = hook.ContentType, ["insecure_ssl"] = "0", ["url"] = hook.Url };
        if (hook.Secret is not null)
        {
            config["secret"] = "********";
        }

        return new JsonObject
        {
            ["type"] = "Repository",
            ["id"] = hook.Id,
            ["name"] = "web",
            ["active"] = hook.Active,
            ["events"] = new JsonArray([.. hook.Events.Select(e => (JsonNode)e)]),
            ["config"] = config,
            ["updated_at"] = GitHubPayloads.Time(hook.UpdatedAt),
            ["created_at"] = GitHubPayloads.Time(hook.CreatedAt),
            ["url"] = api,
            ["test_url"] = api + "/test",
            ["ping_url"] = api + "/pings",
            ["deliveries_url"] = api + "/deliveries",
            ["last_response"] = new JsonObject { ["code"] = null, ["status"] = "unused", ["message"] = null },
        };
    }

    private sealed class SimRepoHookState
    {
        public required long Id { get; init; }

        public required string Url { get; set; }

        public required string ContentType { get; set; }

        public string? Secret { get; set; }

        public required List<string> Events { get; set; }

        public bool Active { get; set; }

        public DateTimeOffset CreatedAt { get; init; }

        public DateTimeOffset UpdatedAt { get; set; }

        public SimRepoHook ToRecord() => new(Id, Url, ContentType, Secret, Events.ToArray(), Active);
    }
}

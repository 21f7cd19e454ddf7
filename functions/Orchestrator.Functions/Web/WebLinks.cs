using Orchestrator.Shared.Configuration;

namespace Orchestrator.Functions.Web;

/// <summary>Absolute links the screens show for copying (invite links, API examples).</summary>
public static class WebLinks
{
    /// <summary>
    /// The root people and scripts reach this host at, ending in <c>/</c>: <c>ORCH_PUBLIC_URL</c> when set, else the
    /// request's scheme and host (behind a proxy, the forwarded scheme when the proxy is trusted).
    /// </summary>
    /// <param name="request">The current request.</param>
    /// <param name="settings">Host settings.</param>
    /// <returns>E.g. <c>https://orchestrator.example.com/</c>.</returns>
    public static Uri BaseUrl(HttpRequest request, OrchestratorSettings settings)
    {
        var root = settings.PublicUrl?.GetLeftPart(UriPartial.Path) ?? $"{request.Scheme}://{request.Host.ToUriComponent()}{request.PathBase.ToUriComponent()}";
        return new Uri(root.EndsWith('/') ? root : root + "/");
    }

    /// <summary>
    /// A link from a platform (issue, pull request, CI run, tracker item) fit for an <c>href</c>: an absolute http(s) URL, else
    /// <c>null</c> — a <c>javascript:</c> or other scheme a misbehaving platform might send is never linked.
    /// </summary>
    /// <param name="url">The URL as stored.</param>
    /// <returns>The URL, or <c>null</c>.</returns>
    public static string? Http(string? url) =>
        url is { Length: > 0 } && Uri.TryCreate(url, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https" ? url : null;

    /// <summary>An absolute link under <see cref="BaseUrl"/>.</summary>
    /// <param name="request">The current request.</param>
    /// <param name="settings">Host settings.</param>
    /// <param name="path">Path without the leading <c>/</c>, already escaped.</param>
    /// <returns>The link.</returns>
    public static string Absolute(HttpRequest request, OrchestratorSettings settings, string path) =>
        new Uri(BaseUrl(request, settings), path.TrimStart('/')).AbsoluteUri;
}

namespace Orchestrator.Shared.Platform;

/// <summary>Comparisons of platform URLs that bind credentials to where they may be sent (issue #8).</summary>
public static class Endpoints
{
    /// <summary>
    /// Whether two API roots are the same endpoint: scheme, host (case-insensitive), port and path (trailing <c>/</c>
    /// ignored). A host-wide credential is sent only to a URL that is the same endpoint as the one it was configured with.
    /// </summary>
    /// <param name="a">One URL.</param>
    /// <param name="b">The other.</param>
    /// <returns><c>true</c> when they name the same endpoint.</returns>
    public static bool Same(Uri? a, Uri? b) =>
        a is null || b is null
            ? a is null && b is null
            : string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
              && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase)
              && a.Port == b.Port
              && string.Equals(a.AbsolutePath.TrimEnd('/'), b.AbsolutePath.TrimEnd('/'), StringComparison.Ordinal);

    /// <summary>Whether <paramref name="remote"/> (a URL or a local path) is on <paramref name="origin"/>'s scheme, host and port.</summary>
    /// <param name="remote">A git remote URL (or local path, which is never on an origin).</param>
    /// <param name="origin">The origin.</param>
    /// <returns><c>true</c> when on the same origin.</returns>
    public static bool SameOrigin(string remote, Uri origin) =>
        Uri.TryCreate(remote, UriKind.Absolute, out var url) && !url.IsFile
        && string.Equals(url.Scheme, origin.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(url.IdnHost, origin.IdnHost, StringComparison.OrdinalIgnoreCase)
        && url.Port == origin.Port;

    /// <summary>The origin (<c>scheme://host:port</c>) of a git URL template (<c>{repo}</c> allowed), or the text itself for a local path or scp-like remote.</summary>
    /// <param name="gitUrl">The template, or <c>null</c>.</param>
    /// <returns>A string that differs when the place the token would be sent to differs.</returns>
    public static string? GitOrigin(string? gitUrl) =>
        gitUrl is null ? null
        : Uri.TryCreate(gitUrl.Replace("{repo}", "o/r", StringComparison.Ordinal), UriKind.Absolute, out var url) && !url.IsFile
            ? url.GetLeftPart(UriPartial.Authority).ToLowerInvariant()
            : gitUrl;
}

namespace Orchestrator.Shared.Plane;

/// <summary>
/// Where and as whom <see cref="PlaneClient"/> talks to Plane (API v1,
/// https://developers.plane.so/api-reference/introduction).
/// </summary>
/// <param name="ApiBaseUrl">
/// Server root, e.g. <c>https://plane.example.com</c> or <c>https://api.plane.so</c> (a reverse-proxy path
/// prefix such as <c>https://example.com/plane/</c> is kept); the client appends <c>api/v1/…</c>.
/// Must be absolute.
/// </param>
/// <param name="ApiToken">Personal access token sent as <c>X-Api-Key</c> (e.g. <c>plane_api_…</c>). Secret: never logged or put in messages.</param>
/// <param name="WorkspaceSlug">Workspace slug from the URL, e.g. <c>my-team</c> in <c>https://app.plane.so/my-team/projects/</c>.</param>
public sealed record PlaneClientSettings(Uri ApiBaseUrl, string ApiToken, string WorkspaceSlug)
{
    /// <summary>
    /// <c>per_page</c> for list calls, 1–100 (Plane's documented maximum; the server itself accepts up
    /// to 1000). Defaults to 100. The client follows <c>next_cursor</c> until <c>next_page_results</c> is false.
    /// </summary>
    public int PageSize { get; init; } = 100;

    /// <summary>Describes the settings without the token.</summary>
    /// <returns>E.g. <c>PlaneClientSettings { ApiBaseUrl = https://plane.example.com/, WorkspaceSlug = my-team, PageSize = 100 }</c>.</returns>
    public override string ToString() =>
        $"PlaneClientSettings {{ ApiBaseUrl = {ApiBaseUrl}, WorkspaceSlug = {WorkspaceSlug}, PageSize = {PageSize} }}";
}

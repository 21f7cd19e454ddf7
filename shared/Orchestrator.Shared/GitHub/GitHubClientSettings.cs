namespace Orchestrator.Shared.GitHub;

/// <summary>
/// Where and as whom <see cref="GitHubClient"/> talks to the GitHub REST API
/// (https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api).
/// </summary>
/// <param name="ApiBaseUrl">
/// Absolute root of the REST API: <c>https://api.github.com/</c> for github.com, or
/// <c>https://HOST/api/v3</c> for GitHub Enterprise Server. A trailing slash is optional; any path it
/// carries is kept and request paths such as <c>repos/{owner}/{repo}/issues</c> are appended to it.
/// </param>
/// <param name="Token">
/// A personal access token, fine-grained token or GitHub App installation token, sent as
/// <c>Authorization: Bearer &lt;token&gt;</c>
/// (https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api). It never appears in
/// exception messages.
/// </param>
public sealed record GitHubClientSettings(Uri ApiBaseUrl, string Token)
{
    /// <summary>Hides the token: records print every property by default.</summary>
    /// <returns><c>GitHubClientSettings { ApiBaseUrl = …, Token = *** }</c>.</returns>
    public override string ToString() => $"GitHubClientSettings {{ ApiBaseUrl = {ApiBaseUrl}, Token = *** }}";
}

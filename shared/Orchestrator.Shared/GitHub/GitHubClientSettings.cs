namespace Orchestrator.Shared.GitHub;

/// <summary>
/// Where and as whom <see cref="GitHubClient"/> talks to the GitHub REST API
/// (https://docs.github.com/en/rest/using-the-rest-api/getting-started-with-the-rest-api).
/// </summary>
/// <param name="ApiBaseUrl">
/// The GitHub server, read by Octokit's rule (<see cref="GitHubApiBase.Resolve"/>): <c>https://api.github.com</c> (or
/// <c>https://github.com</c>) for github.com; any other absolute http(s) URL is a GitHub Enterprise Server whose REST API is
/// <c>{scheme}://{host}:{port}/api/v3/</c> — <c>https://ghe.example</c> and <c>https://ghe.example/api/v3</c> mean the same,
/// and any other path is dropped.
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

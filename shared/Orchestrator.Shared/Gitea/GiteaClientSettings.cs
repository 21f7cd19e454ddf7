namespace Orchestrator.Shared.Gitea;

/// <summary>
/// Where and as whom <see cref="GiteaClient"/> talks to a Gitea server's REST API
/// (https://docs.gitea.com/development/api-usage).
/// </summary>
/// <param name="BaseUrl">
/// The server root, e.g. <c>https://gitea.example/</c> or <c>https://host/gitea/</c> behind a sub-path; the
/// API lives under <c>{BaseUrl}api/v1/</c> (the swagger's <c>basePath</c>). A trailing slash is optional.
/// </param>
/// <param name="Token">
/// An access token, sent as <c>Authorization: token &lt;token&gt;</c> (the swagger's
/// <c>AuthorizationHeaderToken</c>; the <c>?token=</c> and <c>?access_token=</c> query forms are deprecated and
/// never used). It never appears in exception messages.
/// </param>
public sealed record GiteaClientSettings(Uri BaseUrl, string Token)
{
    /// <summary>Hides the token: records print every property by default.</summary>
    /// <returns><c>GiteaClientSettings { BaseUrl = …, Token = *** }</c>.</returns>
    public override string ToString() => $"GiteaClientSettings {{ BaseUrl = {BaseUrl}, Token = *** }}";
}

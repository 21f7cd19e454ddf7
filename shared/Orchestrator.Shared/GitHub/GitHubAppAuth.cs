using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Orchestrator.Shared.Platform;

namespace Orchestrator.Shared.GitHub;

/// <summary>
/// Where the bearer token of each GitHub REST request comes from: a fixed token
/// (<see cref="StaticGitHubTokenSource"/>) or a GitHub App installation token that is minted and renewed
/// on demand (<see cref="GitHubAppInstallationTokenSource"/>).
/// </summary>
/// <remarks>https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api.</remarks>
public interface IGitHubTokenSource
{
    /// <summary>
    /// A stable, secret-free name of the credential, used as the <see cref="RateLimiter"/> key: GitHub counts
    /// its primary rate limit per user token or per app installation
    /// (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api).
    /// </summary>
    string CredentialKey { get; }

    /// <summary>The token to send as <c>Authorization: Bearer &lt;token&gt;</c> now.</summary>
    /// <param name="cancellationToken">Cancels a refresh.</param>
    /// <returns>A non-empty token.</returns>
    /// <exception cref="PlatformApiException">A refresh failed.</exception>
    ValueTask<string> GetTokenAsync(CancellationToken cancellationToken);
}

/// <summary>A token that never changes: a personal access token, fine-grained token or pre-minted installation token.</summary>
public sealed class StaticGitHubTokenSource : IGitHubTokenSource
{
    private readonly string _token;

    /// <summary>Creates the source.</summary>
    /// <param name="token">The token; never appears in <see cref="CredentialKey"/>.</param>
    /// <exception cref="ArgumentException">The token is empty.</exception>
    public StaticGitHubTokenSource(string token)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(token);
        _token = token;

        // A short hash tells credentials apart without putting the secret in a key that may be logged.
        CredentialKey = "github:token:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)))[..16];
    }

    /// <inheritdoc />
    public string CredentialKey { get; }

    /// <inheritdoc />
    public ValueTask<string> GetTokenAsync(CancellationToken cancellationToken) => ValueTask.FromResult(_token);
}

/// <summary>
/// What a GitHub App needs to act as one of its installations
/// (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/authenticating-as-a-github-app-installation).
/// </summary>
/// <param name="AppId">The app's numeric id (the JWT's <c>iss</c>).</param>
/// <param name="PrivateKeyPem">The app's RSA private key as PEM (PKCS#1 <c>BEGIN RSA PRIVATE KEY</c>, as GitHub downloads it, or PKCS#8).</param>
/// <param name="InstallationId">The installation whose token is wanted.</param>
public sealed record GitHubAppCredentials(long AppId, string PrivateKeyPem, long InstallationId)
{
    /// <summary>Hides the private key: records print every property by default.</summary>
    /// <returns><c>GitHubAppCredentials { AppId = …, InstallationId = …, PrivateKeyPem = *** }</c>.</returns>
    public override string ToString() => $"GitHubAppCredentials {{ AppId = {AppId}, InstallationId = {InstallationId}, PrivateKeyPem = *** }}";
}

/// <summary>
/// Signs the JSON Web Token a GitHub App authenticates with
/// (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app):
/// RS256 over <c>base64url(header).base64url(payload)</c>, with <c>iat</c> 60 seconds in the past (clock
/// drift), <c>exp</c> 9 minutes ahead (GitHub refuses more than 10) and <c>iss</c> the app id.
/// </summary>
public static class GitHubAppJwt
{
    /// <summary>How far <c>iat</c> is backdated.</summary>
    public static readonly TimeSpan IssuedAtSkew = TimeSpan.FromSeconds(60);

    /// <summary>How far ahead <c>exp</c> is.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(9);

    /// <summary>Creates a JWT for <paramref name="appId"/> signed with <paramref name="privateKey"/>.</summary>
    /// <param name="appId">App id, the <c>iss</c> claim.</param>
    /// <param name="privateKey">The app's private key.</param>
    /// <param name="now">The current time (UTC); claims are whole epoch seconds.</param>
    /// <returns><c>header.payload.signature</c>, each part base64url without padding.</returns>
    public static string Create(long appId, RSA privateKey, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(privateKey);
        var header = """{"alg":"RS256","typ":"JWT"}""";
        var payload = string.Create(
            CultureInfo.InvariantCulture,
            $$"""{"iat":{{(now - IssuedAtSkew).ToUnixTimeSeconds()}},"exp":{{(now + Lifetime).ToUnixTimeSeconds()}},"iss":{{appId}}}""");
        var signingInput = Base64Url(Encoding.UTF8.GetBytes(header)) + "." + Base64Url(Encoding.UTF8.GetBytes(payload));
        var signature = privateKey.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url(signature);
    }

    /// <summary>Creates a JWT from PEM credentials (imports the key each call; prefer the <see cref="RSA"/> overload when signing often).</summary>
    /// <param name="credentials">App id and private key.</param>
    /// <param name="now">The current time (UTC).</param>
    /// <returns>The signed JWT.</returns>
    /// <exception cref="ArgumentException">The PEM holds no RSA key.</exception>
    public static string Create(GitHubAppCredentials credentials, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        using var rsa = RSA.Create();
        rsa.ImportFromPem(credentials.PrivateKeyPem);
        return Create(credentials.AppId, rsa, now);
    }

    /// <summary>RFC 7515 §2 base64url: <c>+/</c> become <c>-_</c>, no padding.</summary>
    internal static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>
/// An installation access token (https://docs.github.com/en/rest/apps/apps#create-an-installation-access-token-for-an-app),
/// minted through Octokit (<c>GitHubApps.CreateInstallationToken</c>, authenticated with the app's JWT as a bearer
/// credential) and reused until five minutes before its <c>expires_at</c> (GitHub issues them for one hour).
/// </summary>
/// <remarks>
/// Thread-safe: concurrent callers share one cached token, and at most one refresh is in flight — the
/// others wait for it. Time comes from the <see cref="TimeProvider"/>, so tests drive expiry with a fake
/// clock. A failed refresh throws <see cref="PlatformApiException"/> classified like every other GitHub
/// call (see <see cref="GitHubClient"/>) and the next call tries again. The JWT request goes through the
/// <see cref="RateLimiter"/> under the key <c>github:app:{AppId}</c>, on the same HTTP pipeline as the client.
/// </remarks>
public sealed class GitHubAppInstallationTokenSource : IGitHubTokenSource, IDisposable
{
    /// <summary>A token is renewed once it has less than this left.</summary>
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);

    private readonly GitHubAppCredentials _credentials;
    private readonly TimeProvider _time;
    private readonly RSA _key;
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private readonly string _operation;
    private readonly Octokit.GitHubClient _octokit;
    private readonly GitHubCalls _calls;
    private volatile CachedToken? _cached;
    private string _jwt = "";

    /// <summary>Creates the source; no request is made until the first <see cref="GetTokenAsync"/>.</summary>
    /// <param name="handler">Transport for the token request, as for <see cref="GitHubClient"/>; not disposed here.</param>
    /// <param name="apiBaseUrl">Configured URL, as in <see cref="GitHubClientSettings.ApiBaseUrl"/>.</param>
    /// <param name="credentials">App id, private key and installation id.</param>
    /// <param name="timeProvider">Clock for the JWT claims and the cache; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <param name="rateLimiter">Limiter for the token request; defaults to <see cref="RateLimiter.Shared"/> on the system clock, else a private one on <paramref name="timeProvider"/>.</param>
    /// <param name="timeout">Bound on the token request; default <see cref="GitHubClient.DefaultTimeout"/>.</param>
    /// <exception cref="ArgumentException">The base URL is not absolute http(s), or the PEM holds no RSA key.</exception>
    public GitHubAppInstallationTokenSource(
        HttpMessageHandler handler,
        Uri apiBaseUrl,
        GitHubAppCredentials credentials,
        TimeProvider? timeProvider = null,
        RateLimiter? rateLimiter = null,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(credentials);
        _credentials = credentials;
        _time = timeProvider ?? TimeProvider.System;
        var connection = GitHubOctokit.Connect(handler, GitHubApiBase.Resolve(apiBaseUrl), () => ValueTask.FromResult(_jwt), timeout ?? GitHubClient.DefaultTimeout);
        _octokit = new Octokit.GitHubClient(connection);
        _calls = new GitHubCalls(
            connection,
            string.Create(CultureInfo.InvariantCulture, $"github:app:{credentials.AppId}"),
            rateLimiter ?? RateLimiter.For(_time),
            _time);
        _operation = "POST /" + Octokit.ApiUrls.AccessTokens(credentials.InstallationId).OriginalString;
        _key = RSA.Create();
        try
        {
            _key.ImportFromPem(credentials.PrivateKeyPem);
        }
        catch
        {
            _key.Dispose();
            throw;
        }

        CredentialKey = string.Create(CultureInfo.InvariantCulture, $"github:app:{credentials.AppId}:installation:{credentials.InstallationId}");
    }

    /// <inheritdoc />
    public string CredentialKey { get; }

    /// <summary>When the cached token expires, or <c>null</c> before the first refresh.</summary>
    public DateTimeOffset? ExpiresAt => _cached?.ExpiresAt;

    /// <inheritdoc />
    /// <exception cref="PlatformApiException">GitHub refused the JWT (401), the installation is unknown (404), or the network failed.</exception>
    public async ValueTask<string> GetTokenAsync(CancellationToken cancellationToken)
    {
        if (Fresh(_cached) is { } token)
        {
            return token;
        }

        await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Another caller may have refreshed while this one waited.
            if (Fresh(_cached) is { } refreshed)
            {
                return refreshed;
            }

            var minted = await MintAsync(cancellationToken).ConfigureAwait(false);
            _cached = minted;
            return minted.Token;
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _key.Dispose();
        _refresh.Dispose();
    }

    private string? Fresh(CachedToken? cached) =>
        cached is not null && _time.GetUtcNow() < cached.ExpiresAt - RefreshMargin ? cached.Token : null;

    /// <summary>Runs under <see cref="_refresh"/>, so one JWT is in <see cref="_jwt"/> at a time.</summary>
    private async Task<CachedToken> MintAsync(CancellationToken cancellationToken) =>
        await _calls.CallAsync(
            _operation,
            async () =>
            {
                var token = await _octokit.GitHubApps.CreateInstallationToken(_credentials.InstallationId).ConfigureAwait(false);
                return string.IsNullOrEmpty(token?.Token) || token.ExpiresAt == default
                    ? throw new FormatException("'token' or 'expires_at' is missing")
                    : new CachedToken(token.Token, token.ExpiresAt);
            },
            cancellationToken,
            _ =>
            {
                // The JWT is signed when the limiter lets the request go, so its iat/exp are about now.
                _jwt = GitHubAppJwt.Create(_credentials.AppId, _key, _time.GetUtcNow());
                return Task.FromResult(_jwt);
            }).ConfigureAwait(false);

    private sealed record CachedToken(string Token, DateTimeOffset ExpiresAt);
}

using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Platform;
using Orchestrator.Simulators.GitHub;
using static Orchestrator.Tests.Integration.GitHub.GitHubTestSupport;

namespace Orchestrator.Tests.Integration.GitHub;

/// <summary>
/// GitHub App authentication: the RS256 JWT
/// (https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app)
/// and installation tokens from <see cref="GitHubSimulator"/> on a fake clock.
/// </summary>
public sealed class GitHubAppAuthTests : IAsyncLifetime
{
    private const long AppId = 424242;
    private const long InstallationId = 87385964;
    private const string RepoName = "acme/widgets";
    private static readonly DateTimeOffset Start = new(2025, 10, 15, 7, 0, 0, TimeSpan.Zero);

    private readonly RSA _key = RSA.Create(2048);
    private readonly FakeClock _clock = new(Start);
    private GitHubSimulator _sim = null!;
    private HttpClient _http = null!;
    private readonly SocketsHttpHandler _handler = new(); // what Octokit sends through, as the factory's handler in the host

    private GitHubAppCredentials Credentials => new(AppId, _key.ExportRSAPrivateKeyPem(), InstallationId);

    public async Task InitializeAsync()
    {
        _sim = await GitHubSimulator.StartAsync(Token);
        _sim.Clock = _clock;
        _sim.AddRepository(RepoName);
        _sim.RegisterApp(AppId, _key.ExportSubjectPublicKeyInfoPem(), InstallationId);
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        _handler.Dispose();
        _key.Dispose();
        await _sim.DisposeAsync();
    }

    private static byte[] FromBase64Url(string s)
    {
        Assert.DoesNotContain('=', s);
        Assert.DoesNotContain('+', s);
        Assert.DoesNotContain('/', s);
        s = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }

    [Fact]
    public void Jwt_has_RS256_header_backdated_iat_nine_minute_exp_and_verifies_with_the_public_key()
    {
        var jwt = GitHubAppJwt.Create(Credentials, Start);

        var parts = jwt.Split('.');
        Assert.Equal(3, parts.Length);
        using var header = JsonDocument.Parse(FromBase64Url(parts[0]));
        Assert.Equal("RS256", header.RootElement.GetProperty("alg").GetString());
        Assert.Equal("JWT", header.RootElement.GetProperty("typ").GetString());
        using var payload = JsonDocument.Parse(FromBase64Url(parts[1]));
        Assert.Equal(Start.AddSeconds(-60).ToUnixTimeSeconds(), payload.RootElement.GetProperty("iat").GetInt64());
        Assert.Equal(Start.AddMinutes(9).ToUnixTimeSeconds(), payload.RootElement.GetProperty("exp").GetInt64());
        Assert.Equal(AppId, payload.RootElement.GetProperty("iss").GetInt64());

        using var publicKey = RSA.Create();
        publicKey.ImportFromPem(_key.ExportSubjectPublicKeyInfoPem());
        var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        var signature = FromBase64Url(parts[2]);
        Assert.True(publicKey.VerifyData(signed, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

        using var otherKey = RSA.Create(2048);
        Assert.False(otherKey.VerifyData(signed, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        var tampered = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1].Replace(parts[1][^2], parts[1][^2] == 'A' ? 'B' : 'A'));
        Assert.False(publicKey.VerifyData(tampered, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }

    [Fact]
    public async Task Installation_token_is_cached_until_five_minutes_before_expiry_and_refreshed_once_under_concurrency()
    {
        using var source = new GitHubAppInstallationTokenSource(_handler, _sim.BaseUrl, Credentials, _clock);
        int TokenRequests() => _sim.Host.Requests.Count(r => r.Method == "POST" && r.PathAndQuery == $"/api/v3/app/installations/{InstallationId}/access_tokens");

        var first = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => source.GetTokenAsync(CancellationToken.None).AsTask()));

        Assert.Single(first.Distinct());
        Assert.StartsWith("ghs_", first[0]);
        Assert.Equal(1, TokenRequests());
        Assert.Equal(Start.AddHours(1), source.ExpiresAt);
        var jwtRequest = _sim.Host.Requests.Single(r => r.PathAndQuery.StartsWith("/api/v3/app/", StringComparison.Ordinal));
        Assert.StartsWith("Bearer ey", jwtRequest.Headers["Authorization"]);

        _clock.Advance(TimeSpan.FromMinutes(54) + TimeSpan.FromSeconds(59));
        Assert.Equal(first[0], await source.GetTokenAsync(CancellationToken.None));
        Assert.Equal(1, TokenRequests());

        _clock.Advance(TimeSpan.FromSeconds(1)); // exactly 5 minutes before expires_at
        var second = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => source.GetTokenAsync(CancellationToken.None).AsTask()));

        Assert.Single(second.Distinct());
        Assert.NotEqual(first[0], second[0]);
        Assert.Equal(2, TokenRequests());
        Assert.Equal(Start.AddMinutes(55).AddHours(1), source.ExpiresAt);
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task Client_authenticates_every_request_with_the_installation_token()
    {
        using var source = new GitHubAppInstallationTokenSource(_handler, _sim.BaseUrl, Credentials, _clock);
        var client = new GitHubClient(_handler, _sim.BaseUrl, source, _clock);

        var issue = await client.CreateIssueAsync(RepoRef.Parse(RepoName), "From the app", "body", CancellationToken.None);
        var listed = await client.ListRecentIssuesAsync(RepoRef.Parse(RepoName), 5, CancellationToken.None);

        Assert.Equal(1, issue.Number);
        Assert.Equal([1], listed.Select(i => i.Number));
        var token = Assert.Single(_sim.InstallationTokens.Keys);
        var restCalls = _sim.Host.Requests.Where(r => r.PathAndQuery.StartsWith("/api/v3/repos/", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, restCalls.Count);
        Assert.All(restCalls, r => Assert.Equal($"Bearer {token}", r.Headers["Authorization"]));
        Assert.Equal("github:app:424242:installation:87385964", source.CredentialKey);
        Assert.Empty(_sim.Host.UnexpectedRequests);
    }

    [Fact]
    public async Task An_expired_installation_token_is_refused_by_the_simulator()
    {
        using var source = new GitHubAppInstallationTokenSource(_handler, _sim.BaseUrl, Credentials, _clock);
        var token = await source.GetTokenAsync(CancellationToken.None);
        _clock.Advance(TimeSpan.FromHours(1));
        var stale = new GitHubClient(_handler, new GitHubClientSettings(_sim.BaseUrl, token), _clock);

        var e = await Assert.ThrowsAsync<PlatformApiException>(() => stale.ListRecentIssuesAsync(RepoRef.Parse(RepoName), 5, CancellationToken.None));

        Assert.Equal(HttpStatusCode.Unauthorized, e.StatusCode);
        Assert.DoesNotContain(token, e.ToString());
    }

    [Fact]
    public async Task A_jwt_signed_by_another_key_is_refused_with_a_permanent_401()
    {
        using var otherKey = RSA.Create(2048);
        using var source = new GitHubAppInstallationTokenSource(_handler, _sim.BaseUrl, new GitHubAppCredentials(AppId, otherKey.ExportPkcs8PrivateKeyPem(), InstallationId), _clock);

        var e = await Assert.ThrowsAsync<PlatformApiException>(() => source.GetTokenAsync(CancellationToken.None).AsTask());

        Assert.Equal(HttpStatusCode.Unauthorized, e.StatusCode);
        Assert.False(e.IsTransient);
        Assert.Equal($"POST /app/installations/{InstallationId}/access_tokens", e.Operation);
        Assert.Empty(_sim.InstallationTokens);
        Assert.Single(_sim.Host.UnexpectedRequests);
    }
}

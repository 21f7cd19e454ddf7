using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Orchestrator.Simulators;

namespace Orchestrator.Tests.Integration.GitHub;

/// <summary>A clock that says what the test tells it.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}

internal static class GitHubTestSupport
{
    public const string Token = "ghp_SimulatedToken0000000000000000000001";

    public static string FixturePath(string file) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "github", file);

    public static byte[] FixtureBytes(string file) => File.ReadAllBytes(FixturePath(file));

    public static string FixtureText(string file) => File.ReadAllText(FixturePath(file));

    /// <summary>What a receiver must do: HMAC-SHA256 over the raw bytes, constant-time compare with the header.</summary>
    public static bool SignatureValid(string secret, byte[] body, string? header)
    {
        if (header is null || !header.StartsWith("sha256=", StringComparison.Ordinal))
        {
            return false;
        }

        var expected = Encoding.ASCII.GetBytes("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(header));
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public static SimulatedRequest Single(SimulatorHost host, string method, string pathAndQuery) =>
        Assert.Single(host.Requests, r => r.Method == method && r.PathAndQuery == pathAndQuery);

    /// <summary>Octokit's <c>User-Agent</c>: our product token, then the platform and <c>Octokit.net {version}</c>.</summary>
    public static void AssertOctokitUserAgent(SimulatedRequest request)
    {
        var agent = request.Headers["User-Agent"];
        Assert.StartsWith("orchestrator (", agent);
        Assert.Matches(@"; Octokit\.net \d+\.\d+\.\d+[^)]*\)$", agent);
    }

    /// <summary>The headers every GitHub REST call must carry (https://docs.github.com/en/rest/about-the-rest-api/api-versions).</summary>
    public static void AssertGitHubHeaders(SimulatedRequest request)
    {
        Assert.Equal($"Bearer {Token}", request.Headers["Authorization"]);
        Assert.Equal("application/vnd.github+json", request.Headers["Accept"]);
        Assert.Equal("2022-11-28", request.Headers["X-GitHub-Api-Version"]);
        AssertOctokitUserAgent(request);
    }
}

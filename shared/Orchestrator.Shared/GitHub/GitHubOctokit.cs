using System.Net.Http.Headers;
using Octo = Octokit;

namespace Orchestrator.Shared.GitHub;

/// <summary>
/// Where Octokit sends the REST calls of a configured GitHub URL (the project's forge <c>base_url</c>,
/// <c>ORCH_GITHUB_API_URL</c>): Octokit's own rule (<c>GitHubClient.FixUpBaseUri</c>,
/// https://github.com/octokit/octokit.net/blob/main/Octokit/GitHubClient.cs), applied here because the
/// <see cref="Octo.Connection"/> is built by hand.
/// </summary>
public static class GitHubApiBase
{
    /// <summary>The REST root of github.com.</summary>
    public static readonly Uri GitHubDotCom = new("https://api.github.com/");

    /// <summary>
    /// <c>https://api.github.com/</c> for a URL on <c>github.com</c> or <c>api.github.com</c>; for any other URL, GitHub
    /// Enterprise Server's REST root <c>{scheme}://{host}:{port}/api/v3/</c>
    /// (https://docs.github.com/en/enterprise-server@latest/rest/quickstart). A path on the URL is not kept:
    /// <c>https://ghe.example</c>, <c>https://ghe.example/</c> and <c>https://ghe.example/api/v3</c> are the same server.
    /// </summary>
    /// <param name="configured">The configured URL.</param>
    /// <returns>The REST root, ending in <c>/</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="configured"/> is <c>null</c>.</exception>
    /// <exception cref="ArgumentException">The URL is not an absolute http(s) URL.</exception>
    public static Uri Resolve(Uri configured)
    {
        ArgumentNullException.ThrowIfNull(configured);
        if (!configured.IsAbsoluteUri || (configured.Scheme != Uri.UriSchemeHttps && configured.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException("The GitHub API base URL must be an absolute http(s) URL.", nameof(configured));
        }

        return configured.Host.Equals("github.com", StringComparison.OrdinalIgnoreCase) || configured.Host.Equals("api.github.com", StringComparison.OrdinalIgnoreCase)
            ? GitHubDotCom
            : new Uri(configured, "/api/v3/");
    }
}

/// <summary>
/// Builds the Octokit <see cref="Octo.Connection"/> of a <see cref="GitHubClient"/> or
/// <see cref="GitHubAppInstallationTokenSource"/> on the caller's HTTP pipeline.
/// </summary>
internal static class GitHubOctokit
{
    /// <summary>The REST API version every request names (https://docs.github.com/en/rest/about-the-rest-api/api-versions).</summary>
    public const string ApiVersion = "2022-11-28";

    /// <summary>The media type GitHub documents for JSON answers.</summary>
    public const string MediaType = "application/vnd.github+json";

    /// <summary>The product token at the start of Octokit's <c>User-Agent</c> (<c>orchestrator (…; Octokit.net 14.0.0)</c>).</summary>
    public static readonly Octo.ProductHeaderValue Product = new("orchestrator");

    /// <summary>
    /// The Octokit call in progress: most Octokit methods take no <see cref="CancellationToken"/>, so
    /// <see cref="GitHubClient"/> sets it around each call; <see cref="PipelineHandler"/> cancels with its token and
    /// records the status of the answer for the metrics.
    /// </summary>
    public static readonly AsyncLocal<Call?> Current = new();

    /// <summary>One call's cancellation and the status of its last answer.</summary>
    /// <param name="CancellationToken">The caller's token.</param>
    public sealed record Call(CancellationToken CancellationToken)
    {
        /// <summary>The HTTP status of the last answer, or <c>null</c> before one arrived.</summary>
        public int? Status { get; set; }
    }

    /// <summary>
    /// A connection whose <see cref="Octo.Internal.HttpClientAdapter"/> sends through <paramref name="handler"/> (the
    /// handler <c>IHttpMessageHandlerFactory</c> gives the GitHub client, so the outbound policy's <c>ConnectCallback</c>
    /// sees every connection), with <paramref name="timeout"/> per request.
    /// </summary>
    /// <param name="handler">The transport; it is shared, never disposed here.</param>
    /// <param name="apiBase">The REST root from <see cref="GitHubApiBase.Resolve"/>.</param>
    /// <param name="credentials">Supplies the bearer token (or the app's JWT).</param>
    /// <param name="timeout">Bound on each request, body included.</param>
    /// <returns>The connection.</returns>
    public static Octo.Connection Connect(HttpMessageHandler handler, Uri apiBase, Func<ValueTask<string>> credentials, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
#pragma warning disable CA2000 // The adapter lives as long as the connection; the shared handler below it is not ours to dispose.
        var adapter = new Octo.Internal.HttpClientAdapter(() => new PipelineHandler(handler));
#pragma warning restore CA2000
        var connection = new Octo.Connection(Product, apiBase, new CredentialStore(credentials), adapter, new Octo.Internal.SimpleJsonSerializer());
        connection.SetRequestTimeout(timeout);
        return connection;
    }

    /// <summary>
    /// Between Octokit and the factory's handler: names the API version, asks for <see cref="MediaType"/>, labels JSON
    /// bodies <c>application/json; charset=utf-8</c>, cancels with
    /// the caller's token of <see cref="Current"/>, and reads the whole body before returning so the timeout bounds it too (Octokit reads it
    /// later without a token).
    /// </summary>
    private sealed class PipelineHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Remove("X-GitHub-Api-Version");
            request.Headers.TryAddWithoutValidation("X-GitHub-Api-Version", ApiVersion);
            if (request.Headers.Accept.Count == 0 || request.Headers.Accept.All(a => a.MediaType == Octo.AcceptHeaders.StableVersionJson))
            {
                request.Headers.Accept.Clear();
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(MediaType));
            }

            if (request.Content?.Headers.ContentType is { MediaType: "application/x-www-form-urlencoded" } && request.Content is StringContent)
            {
                // Octokit labels the JSON it serialises with its default content type; say what it is.
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            }

            var call = Current.Value;
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, call?.CancellationToken ?? CancellationToken.None);
            var response = await base.SendAsync(request, linked.Token).ConfigureAwait(false);
            if (call is not null)
            {
                call.Status = (int)response.StatusCode;
            }

            try
            {
                await response.Content.LoadIntoBufferAsync(linked.Token).ConfigureAwait(false);
            }
            catch
            {
                response.Dispose();
                throw;
            }

            return response;
        }

        /// <summary>The inner handler belongs to the HttpClientFactory (or the test that made it): it stays alive.</summary>
        protected override void Dispose(bool disposing) => base.Dispose(disposing: false);
    }

    private sealed class CredentialStore(Func<ValueTask<string>> token) : Octo.ICredentialStore
    {
        public async Task<Octo.Credentials> GetCredentials() => new(await token().ConfigureAwait(false), Octo.AuthenticationType.Bearer);
    }
}

using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Shared.Platform;

namespace Orchestrator.Shared.GitHub;

/// <summary>Registers the host-wide <see cref="GitHubClient"/> on the <c>IHttpClientFactory</c> pipeline.</summary>
public static class GitHubServiceCollectionExtensions
{
    /// <summary>Name of the factory client whose handler Octokit sends through.</summary>
    public const string HttpClientName = "github";

    /// <summary>
    /// Registers <paramref name="settings"/> and a singleton <see cref="IGitHubClient"/>: a <see cref="GitHubClient"/> whose
    /// Octokit connection sends through <c>IHttpMessageHandlerFactory.CreateHandler(</c><see cref="HttpClientName"/><c>)</c>,
    /// so the primary handler configured for every factory client (the outbound policy's <c>ConnectCallback</c>) applies.
    /// The <see cref="TimeProvider"/> and <see cref="RateLimiter"/> come from the container when registered.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="settings">Configured URL and token.</param>
    /// <param name="timeout">Bound on each request; default <see cref="GitHubClient.DefaultTimeout"/>.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddGitHubClient(this IServiceCollection services, GitHubClientSettings settings, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(settings);
        services.AddSingleton(settings);
        services.AddHttpClient(HttpClientName);
        services.AddSingleton<IGitHubClient>(sp => new GitHubClient(
            sp.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler(HttpClientName),
            settings,
            sp.GetService<TimeProvider>(),
            sp.GetService<RateLimiter>(),
            timeout));
        return services;
    }
}

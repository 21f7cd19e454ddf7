using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Shared.GitHub;
using static Orchestrator.Tests.Integration.GitHub.GitHubTestSupport;

namespace Orchestrator.Tests.Integration.GitHub;

/// <summary>
/// Bug: adding the token-source constructor made the host's registration of the GitHub client fail with
/// "Multiple constructors accepting all given argument types", which broke every end-to-end test. The registration is
/// now <see cref="GitHubServiceCollectionExtensions.AddGitHubClient"/> (Octokit over the factory's handler).
/// </summary>
public sealed class GitHubClientActivationTests
{
    [Fact]
    public void The_host_registration_activates_the_client_on_the_factory_handler()
    {
        var services = new ServiceCollection();
        var primaryHandlers = 0;
        services.ConfigureHttpClientDefaults(http => http.ConfigurePrimaryHttpMessageHandler(() =>
        {
            primaryHandlers++;
            return new SocketsHttpHandler();
        }));
        services.AddGitHubClient(new GitHubClientSettings(new Uri("http://127.0.0.1:1/"), Token));
        using var provider = services.BuildServiceProvider();

        Assert.IsType<GitHubClient>(provider.GetRequiredService<IGitHubClient>());
        Assert.Equal(1, primaryHandlers); // the client sends through the handler the defaults configure (the outbound policy's, in the host)
        Assert.Equal("http://127.0.0.1:1/", provider.GetRequiredService<GitHubClientSettings>().ApiBaseUrl.AbsoluteUri);
    }
}

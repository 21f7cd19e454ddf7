using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Shared.GitHub;
using static Orchestrator.Tests.Integration.GitHub.GitHubTestSupport;

namespace Orchestrator.Tests.Integration.GitHub;

/// <summary>
/// Bug: adding the token-source constructor made <c>AddHttpClient&lt;IGitHubClient, GitHubClient&gt;</c> fail with
/// "Multiple constructors accepting all given argument types", which broke every end-to-end test.
/// </summary>
public sealed class GitHubClientActivationTests
{
    [Fact]
    public void Typed_http_client_registration_still_activates_the_settings_constructor()
    {
        var services = new ServiceCollection();
        services.AddSingleton(new GitHubClientSettings(new Uri("http://127.0.0.1:1/"), Token));
        services.AddHttpClient<IGitHubClient, GitHubClient>();
        using var provider = services.BuildServiceProvider();

        Assert.IsType<GitHubClient>(provider.GetRequiredService<IGitHubClient>());
    }
}

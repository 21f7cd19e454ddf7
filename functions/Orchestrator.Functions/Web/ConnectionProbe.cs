using System.Collections.Concurrent;
using Orchestrator.Functions.Platforms;
using Orchestrator.Shared.GitHub;
using Orchestrator.Shared.Platform;
using Orchestrator.Shared.Projects;

namespace Orchestrator.Functions.Web;

/// <summary>Whether one side of a project answers.</summary>
/// <param name="Ok">It answered.</param>
/// <param name="Detail">What was checked, or why it failed (no secrets).</param>
public sealed record ProbeResult(bool Ok, string Detail);

/// <summary>A project's integration status for the projects screen.</summary>
/// <param name="Tracker">The tracker answered a cheap read (Plane: the project's states; Asana: its webhooks).</param>
/// <param name="Forge">The forge answered a cheap read (the newest issue of the first repo).</param>
/// <param name="CheckedAt">When it was checked (results are cached for a minute).</param>
public sealed record ConnectionStatus(ProbeResult Tracker, ProbeResult Forge, DateTimeOffset CheckedAt);

/// <summary>
/// Checks that a project's tracker and forge answer with its credentials: one cheap read each, at most 5 s, cached per
/// project version for a minute so a busy screen does not hammer the platforms.
/// </summary>
public sealed class ConnectionProbe(PlatformRegistry platforms, TimeProvider clock)
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, (long Version, ConnectionStatus Status)> _cache = new(StringComparer.Ordinal);

    /// <summary>The status of a project (cached).</summary>
    /// <param name="project">The project.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The status.</returns>
    public async Task<ConnectionStatus> CheckAsync(StoredProject project, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(project.Slug, out var hit) && hit.Version == project.Version && clock.GetUtcNow() - hit.Status.CheckedAt < CacheFor)
        {
            return hit.Status;
        }

        ProjectPlatforms clients;
        try
        {
            clients = platforms.For(project);
        }
        catch (Exception ex) when (ex is Orchestrator.Shared.Engine.PermanentActivityException or PlatformApiException)
        {
            var broken = new ProbeResult(false, ex.Message);
            return Remember(project, new ConnectionStatus(broken, broken, clock.GetUtcNow()));
        }

        var trackerTask = RunAsync(ct => clients.Tracker.ProbeAsync(project.Definition.Tracker.ProjectIds[0], ct), $"{Name(project.Definition.Tracker.Kind)} answered", cancellationToken);
        var forgeTask = RunAsync(ct => clients.Forge.ListRecentIssuesAsync(RepoRef.Parse(project.Definition.Forge.Repos[0]), 1, ct), $"{clients.ForgeName} answered for {project.Definition.Forge.Repos[0]}", cancellationToken);
        return Remember(project, new ConnectionStatus(await trackerTask, await forgeTask, clock.GetUtcNow()));
    }

    private ConnectionStatus Remember(StoredProject project, ConnectionStatus status)
    {
        _cache[project.Slug] = (project.Version, status);
        return status;
    }

    private static async Task<ProbeResult> RunAsync(Func<CancellationToken, Task> probe, string ok, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await probe(timeout.Token);
            return new ProbeResult(true, ok);
        }
        catch (PlatformApiException ex)
        {
            return new ProbeResult(false, ex.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ProbeResult(false, "no answer within 5 s");
        }
        catch (Exception ex) when (ex is Orchestrator.Shared.Engine.PermanentActivityException or OutboundRefusedException or ArgumentException)
        {
            return new ProbeResult(false, ex.Message);
        }
    }

    private static string Name(string kind) => kind == TrackerConfig.Asana ? "Asana" : "Plane";
}

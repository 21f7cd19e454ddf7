namespace Orchestrator.Orchestrations.Tasks;

/// <summary>
/// Keys under which forge webhooks find task instances (stored in <c>instance_keys</c>). Repository
/// names are compared case-insensitively, as GitHub does.
/// </summary>
public static class CorrelationKeys
{
    /// <summary><c>github-issue:owner/repo#N</c>.</summary>
    public static string Issue(string repo, int number) => $"github-issue:{repo.ToLowerInvariant()}#{number}";

    /// <summary><c>github-pr:owner/repo#N</c>.</summary>
    public static string PullRequest(string repo, int number) => $"github-pr:{repo.ToLowerInvariant()}#{number}";

    /// <summary><c>github-sha:owner/repo@sha</c>.</summary>
    public static string Commit(string repo, string sha) => $"github-sha:{repo.ToLowerInvariant()}@{sha.ToLowerInvariant()}";
}

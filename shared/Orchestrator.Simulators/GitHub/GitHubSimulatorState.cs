using System.Security.Cryptography;

namespace Orchestrator.Simulators.GitHub;

/// <summary>One simulated repository; guarded by the simulator's lock.</summary>
internal sealed class SimRepoState(string owner, string name, long id, string defaultBranchSha)
{
    public string Owner { get; } = owner;

    public string Name { get; } = name;

    public string FullName => $"{Owner}/{Name}";

    public long Id { get; } = id;

    /// <summary>Issues and pull requests share one number sequence, as on GitHub.</summary>
    public int LastNumber { get; set; }

    /// <summary>Issues and pull requests in creation order.</summary>
    public List<SimItemState> Items { get; } = [];

    /// <summary>CI of each commit, by SHA.</summary>
    public Dictionary<string, SimCiState> Ci { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>SHAs the repository knows (default branch, PR heads, merges, CI'd commits).</summary>
    public HashSet<string> Commits { get; } = new(StringComparer.OrdinalIgnoreCase) { defaultBranchSha };

    public string DefaultBranchSha { get; set; } = defaultBranchSha;

    /// <summary>Repository labels, by name; GitHub compares label names case-insensitively.</summary>
    public Dictionary<string, SimLabelState> Labels { get; } = new(StringComparer.OrdinalIgnoreCase);

    public SimItemState? Find(int number) => Items.Find(i => i.Number == number);
}

/// <summary>An issue or pull request.</summary>
internal sealed class SimItemState
{
    public required int Number { get; init; }

    public required long Id { get; init; }

    public required bool IsPullRequest { get; init; }

    public required string Title { get; set; }

    public string? Body { get; set; }

    public string State { get; set; } = "open";

    public required string Author { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Monotonic change counter: timestamps have one-second resolution on the wire, this orders <c>sort=updated</c>.</summary>
    public required long UpdateSequence { get; set; }

    public DateTimeOffset? ClosedAt { get; set; }

    /// <summary><c>completed</c>, <c>not_planned</c>, <c>duplicate</c> or <c>reopened</c> once set through <c>PATCH</c>; <c>null</c> means GitHub's default for the state.</summary>
    public string? StateReason { get; set; }

    /// <summary>Labels on the issue or PR, in the order they were added.</summary>
    public List<SimLabelState> Labels { get; } = [];

    public List<SimCommentState> Comments { get; } = [];

    // Pull requests only.
    public string HeadRef { get; init; } = "";

    public string HeadSha { get; set; } = "";

    public string BaseSha { get; init; } = "";

    /// <summary>GitHub computes a test merge while a PR is open and reports it as <c>merge_commit_sha</c>.</summary>
    public string TestMergeSha { get; init; } = "";

    public bool Merged { get; set; }

    public DateTimeOffset? MergedAt { get; set; }

    public string? MergeCommitSha { get; set; }

    public string? CurrentMergeCommitSha => Merged ? MergeCommitSha : (IsPullRequest ? TestMergeSha : null);
}

/// <summary>A repository label.</summary>
internal sealed record SimLabelState(long Id, string Name, string Color, string? Description);

/// <summary>A comment.</summary>
internal sealed record SimCommentState(long Id, string Body, string Author, DateTimeOffset CreatedAt);

/// <summary>The <c>github-actions</c> check suite and its workflow run for one commit.</summary>
internal sealed class SimCiState
{
    public required string Sha { get; init; }

    public required long SuiteId { get; init; }

    public required long RunId { get; init; }

    public required int RunNumber { get; init; }

    /// <summary><c>pull_request</c> when an open PR had this head when CI started, else <c>push</c>.</summary>
    public required string Event { get; init; }

    /// <summary>The default branch head when CI started (the suite's <c>before</c>).</summary>
    public required string BeforeSha { get; init; }

    public int RunAttempt { get; set; } = 1;

    public string Status { get; set; } = "in_progress";

    public string? Conclusion { get; set; }

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>Random commit SHAs.</summary>
internal static class Sha
{
    public static string New() => RandomNumberGenerator.GetHexString(40, lowercase: true);
}

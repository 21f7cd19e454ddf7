using System.Net;

namespace Orchestrator.Simulators.GitHub;

/// <summary>An issue held by <see cref="GitHubSimulator"/> (pull requests are <see cref="SimPullRequest"/>).</summary>
/// <param name="Number">Issue number; shares the repository's counter with pull requests.</param>
/// <param name="Title">Title as created.</param>
/// <param name="Body">Markdown body, or <c>null</c> when created without one.</param>
/// <param name="State"><c>open</c> or <c>closed</c> (closed only through <c>PATCH /issues/{n}</c>).</param>
/// <param name="HtmlUrl">Web link on the simulator's host, <c>{BaseUrl}{owner}/{repo}/issues/{n}</c>.</param>
/// <param name="CreatedAt">Creation time (UTC).</param>
/// <param name="StateReason">The <c>state_reason</c> the REST API reports: <c>null</c> while never closed, <c>completed</c>, <c>not_planned</c>, <c>duplicate</c> or <c>reopened</c>.</param>
/// <param name="Labels">Names of the labels on the issue, in the order they were added.</param>
public sealed record SimIssue(int Number, string Title, string? Body, string State, string HtmlUrl, DateTimeOffset CreatedAt, string? StateReason, IReadOnlyList<string> Labels);

/// <summary>A comment on an issue or pull request held by <see cref="GitHubSimulator"/>.</summary>
/// <param name="Id">Comment id, unique across the simulator like GitHub's.</param>
/// <param name="Body">Markdown body.</param>
/// <param name="HtmlUrl">Web link, <c>…/issues/{n}#issuecomment-{id}</c> (or <c>/pull/</c> for a PR).</param>
/// <param name="UserLogin">Author login (<see cref="GitHubSimulator.ActorLogin"/> for comments made through the API).</param>
/// <param name="CreatedAt">Creation time (UTC).</param>
public sealed record SimComment(long Id, string Body, string HtmlUrl, string UserLogin, DateTimeOffset CreatedAt);

/// <summary>A pull request held by <see cref="GitHubSimulator"/>.</summary>
/// <param name="Number">PR number; shares the repository's counter with issues.</param>
/// <param name="Title">Title.</param>
/// <param name="Body">Markdown body, or <c>null</c>.</param>
/// <param name="State"><c>open</c> or <c>closed</c>.</param>
/// <param name="Merged">Whether it was merged.</param>
/// <param name="HeadRef">Head branch name, <c>sim/pr-{n}</c>.</param>
/// <param name="HeadSha">Head commit SHA (40 lower-case hex digits) — the SHA CI runs on.</param>
/// <param name="MergeCommitSha">While open or closed unmerged, GitHub's test-merge SHA; once merged, the merge commit.</param>
/// <param name="HtmlUrl">Web link, <c>{BaseUrl}{owner}/{repo}/pull/{n}</c>.</param>
public sealed record SimPullRequest(int Number, string Title, string? Body, string State, bool Merged, string HeadRef, string HeadSha, string? MergeCommitSha, string HtmlUrl);

/// <summary>The check suite and workflow run the simulator keeps for one commit.</summary>
/// <param name="Sha">Commit SHA.</param>
/// <param name="CheckSuiteId">Id of the <c>github-actions</c> check suite.</param>
/// <param name="WorkflowRunId">Id of the workflow run.</param>
/// <param name="Status"><c>in_progress</c> or <c>completed</c>.</param>
/// <param name="Conclusion"><c>null</c> until completed, then e.g. <c>success</c> or <c>failure</c>.</param>
public sealed record SimCiRun(string Sha, long CheckSuiteId, long WorkflowRunId, string Status, string? Conclusion);

/// <summary>One POST of a webhook delivery to the configured target.</summary>
/// <param name="Delivery">What was sent (for a redelivery with a new id, the copy carrying that id).</param>
/// <param name="Status">Status the target answered, or <c>null</c> when no answer arrived.</param>
/// <param name="Error">Why no answer arrived (connection refused, timeout), else <c>null</c>.</param>
/// <param name="IsRedelivery">Whether this came from <see cref="GitHubSimulator.ResendAsync"/>.</param>
public sealed record SimDeliveryAttempt(SimulatedDelivery Delivery, HttpStatusCode? Status, string? Error, bool IsRedelivery);

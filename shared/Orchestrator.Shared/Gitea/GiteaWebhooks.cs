using System.Text.Json;
using Orchestrator.Shared.Webhooks;

namespace Orchestrator.Shared.Gitea;

/// <summary>What a Gitea delivery says, in the terms the GitHub router already uses.</summary>
public abstract record GiteaWebhookFact(string RepoFullName);

/// <summary>
/// A <c>pull_request</c> delivery whose action the pipeline acts on: <c>opened</c>, <c>edited</c>, <c>reopened</c>,
/// <c>closed</c> (with <see cref="Merged"/> telling merged from closed unmerged) or <c>synchronized</c>.
/// </summary>
/// <param name="RepoFullName"><c>repository.full_name</c>.</param>
/// <param name="Action">Gitea's action word as sent (Gitea says <c>synchronized</c> where GitHub says <c>synchronize</c>).</param>
/// <param name="Number"><c>pull_request.number</c>.</param>
/// <param name="Body"><c>pull_request.body</c> (closing keywords live here), or <c>null</c>.</param>
/// <param name="HtmlUrl"><c>pull_request.html_url</c> (Gitea's web path is <c>/{o}/{r}/pulls/{n}</c>).</param>
/// <param name="State"><c>open</c> or <c>closed</c>.</param>
/// <param name="Merged"><c>pull_request.merged</c>.</param>
/// <param name="MergeCommitSha"><c>pull_request.merge_commit_sha</c> when merged, else <c>null</c>.</param>
/// <param name="HeadRef"><c>pull_request.head.ref</c>.</param>
/// <param name="HeadSha"><c>pull_request.head.sha</c>.</param>
public sealed record GiteaPullRequestFact(
    string RepoFullName, string Action, int Number, string? Body, string HtmlUrl, string State, bool Merged, string? MergeCommitSha, string? HeadRef, string? HeadSha)
    : GiteaWebhookFact(RepoFullName);

/// <summary>A <c>status</c> delivery (a commit status was set) whose state is final.</summary>
/// <param name="RepoFullName"><c>repository.full_name</c>.</param>
/// <param name="Sha">The commit.</param>
/// <param name="Context">The status context, e.g. <c>ci/woodpecker/pr/test</c>.</param>
/// <param name="State">Gitea's state: <c>success</c>, <c>failure</c>, <c>error</c>, <c>warning</c> or <c>skipped</c>.</param>
/// <param name="Conclusion">The state in GitHub's words (<c>error</c> → <c>failure</c>, <c>warning</c> → <c>neutral</c>).</param>
/// <param name="TargetUrl"><c>target_url</c>, or <c>null</c> when empty.</param>
public sealed record GiteaCommitStatusFact(string RepoFullName, string Sha, string Context, string State, string Conclusion, string? TargetUrl)
    : GiteaWebhookFact(RepoFullName);

/// <summary>An <c>issue_comment</c> delivery.</summary>
/// <param name="RepoFullName"><c>repository.full_name</c>.</param>
/// <param name="Action"><c>created</c>, <c>edited</c> or <c>deleted</c>.</param>
/// <param name="IssueNumber"><c>issue.number</c> (the PR number when <see cref="OnPullRequest"/>).</param>
/// <param name="OnPullRequest">Whether the comment is on a PR's conversation rather than on an issue.</param>
/// <param name="CommentId"><c>comment.id</c>.</param>
/// <param name="Body"><c>comment.body</c>.</param>
/// <param name="HtmlUrl"><c>comment.html_url</c>.</param>
/// <param name="Author"><c>comment.user.login</c>, when present.</param>
public sealed record GiteaCommentFact(string RepoFullName, string Action, int IssueNumber, bool OnPullRequest, long CommentId, string Body, string HtmlUrl, string? Author)
    : GiteaWebhookFact(RepoFullName);

/// <summary>
/// Reads Gitea webhook deliveries (https://docs.gitea.com/usage/webhooks): the headers Gitea sets, signature
/// verification, and <see cref="Parse"/> into <see cref="GiteaWebhookFact"/> records.
/// </summary>
/// <remarks>
/// <para>
/// Gitea's <c>services/webhook/deliver.go</c> sends <c>X-Gitea-Event</c> (the coarse event, e.g. <c>pull_request</c>
/// or <c>issue_comment</c>), <c>X-Gitea-Event-Type</c> (the hook event type, e.g. <c>pull_request_sync</c>,
/// <c>pull_request_label</c>, <c>pull_request_comment</c>), <c>X-Gitea-Delivery</c> (a UUID) and
/// <c>X-Gitea-Signature</c>: bare lower-case hex HMAC-SHA256 of the raw body (also as <c>X-Hub-Signature-256</c>
/// with <c>sha256=</c>, and Gogs/GitHub-named copies of every header). Bodies are indented JSON.
/// </para>
/// <para>
/// Both a comment on an issue and one on a PR arrive as <c>X-Gitea-Event: issue_comment</c>; only
/// <c>X-Gitea-Event-Type</c> (<c>issue_comment</c> vs <c>pull_request_comment</c>) tells them apart
/// (<c>modules/webhook/type.go</c> <c>HookEventType.Event()</c>). When that header is missing, a non-null
/// <c>issue.pull_request</c> or <c>is_pull: true</c> in the body decides.
/// </para>
/// </remarks>
public static class GiteaWebhooks
{
    /// <summary>Coarse event header.</summary>
    public const string EventHeader = "X-Gitea-Event";

    /// <summary>Fine event-type header.</summary>
    public const string EventTypeHeader = "X-Gitea-Event-Type";

    /// <summary>Delivery UUID header (the same on a redelivery of the same hook task).</summary>
    public const string DeliveryHeader = "X-Gitea-Delivery";

    /// <summary>Signature header: 64 lower-case hex digits, no prefix.</summary>
    public const string SignatureHeader = "X-Gitea-Signature";

    private static readonly string[] PullRequestActions = ["opened", "edited", "reopened", "closed", "synchronized"];

    /// <summary>Checks <c>X-Gitea-Signature</c> against the raw body; fails closed (see <see cref="WebhookSignature.VerifyHex"/>).</summary>
    /// <param name="rawBody">Body bytes exactly as received.</param>
    /// <param name="signatureHeader">The header value, or <c>null</c> when absent.</param>
    /// <param name="secret">The webhook secret; <c>null</c> or empty fails.</param>
    /// <returns>Whether the signature is present, well formed and matches.</returns>
    public static bool Verify(ReadOnlySpan<byte> rawBody, string? signatureHeader, string? secret) =>
        WebhookSignature.VerifyHex(rawBody, signatureHeader, secret);

    /// <summary>Turns one delivery into a fact, or <c>null</c> when it is nothing the pipeline acts on.</summary>
    /// <param name="eventName"><c>X-Gitea-Event</c>.</param>
    /// <param name="eventType"><c>X-Gitea-Event-Type</c>, or <c>null</c> when absent (very old Gitea).</param>
    /// <param name="rawBody">The body.</param>
    /// <returns>
    /// <see cref="GiteaPullRequestFact"/> for <c>pull_request</c> opened/edited/reopened/closed/synchronized;
    /// <see cref="GiteaCommitStatusFact"/> for <c>status</c> with a non-pending state;
    /// <see cref="GiteaCommentFact"/> for <c>issue_comment</c>; otherwise <c>null</c> (e.g. <c>label_updated</c>,
    /// <c>reviewed</c>, <c>assigned</c>, pushes).
    /// </returns>
    /// <exception cref="FormatException">The body is not JSON, or a field the event needs is missing or mistyped.</exception>
    public static GiteaWebhookFact? Parse(string eventName, string? eventType, ReadOnlySpan<byte> rawBody)
    {
        ArgumentNullException.ThrowIfNull(eventName);
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(rawBody);
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            throw new FormatException("The Gitea delivery body is not JSON.", e);
        }

        using (document)
        {
            try
            {
                return ParseCore(eventName, eventType, document.RootElement);
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
            {
                throw new FormatException($"The Gitea '{eventName}' delivery lacks a field it needs: {e.Message}", e);
            }
        }
    }

    private static GiteaWebhookFact? ParseCore(string eventName, string? eventType, JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidOperationException("the body is not a JSON object");
        }

        var repo = Required(root.GetProperty("repository"), "full_name");
        var action = Optional(root, "action");
        switch (eventName)
        {
            case "pull_request" when action is not null && PullRequestActions.Contains(action):
            {
                var pr = root.GetProperty("pull_request");
                var merged = pr.TryGetProperty("merged", out var m) && m.ValueKind == JsonValueKind.True;
                var head = pr.TryGetProperty("head", out var h) && h.ValueKind == JsonValueKind.Object ? h : default;
                return new GiteaPullRequestFact(
                    repo,
                    action,
                    pr.GetProperty("number").GetInt32(),
                    Optional(pr, "body"),
                    Required(pr, "html_url"),
                    Required(pr, "state"),
                    merged,
                    merged ? Optional(pr, "merge_commit_sha") : null,
                    head.ValueKind == JsonValueKind.Object ? Optional(head, "ref") : null,
                    head.ValueKind == JsonValueKind.Object ? Optional(head, "sha") : null);
            }

            case "status":
            {
                var state = Required(root, "state");
                if (state == "pending")
                {
                    return null;
                }

                var target = Optional(root, "target_url");
                return new GiteaCommitStatusFact(
                    repo, Required(root, "sha"), Optional(root, "context") ?? "", state,
                    GiteaClient.MapCommitState(state).Conclusion!, string.IsNullOrEmpty(target) ? null : target);
            }

            case "issue_comment":
            {
                var issue = root.GetProperty("issue");
                var comment = root.GetProperty("comment");
                var onPull = eventType switch
                {
                    "pull_request_comment" => true,
                    "issue_comment" => false,
                    _ => (issue.TryGetProperty("pull_request", out var p) && p.ValueKind == JsonValueKind.Object)
                        || (root.TryGetProperty("is_pull", out var isPull) && isPull.ValueKind == JsonValueKind.True),
                };
                var user = comment.TryGetProperty("user", out var u) && u.ValueKind == JsonValueKind.Object ? Optional(u, "login") : null;
                return new GiteaCommentFact(
                    repo, action ?? "", issue.GetProperty("number").GetInt32(), onPull,
                    comment.GetProperty("id").GetInt64(), Optional(comment, "body") ?? "", Required(comment, "html_url"), user);
            }

            default:
                return null;
        }
    }

    private static string Required(JsonElement e, string name) =>
        Optional(e, name) ?? throw new InvalidOperationException($"'{name}' is missing or null");

    private static string? Optional(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.GetString() : null;
}

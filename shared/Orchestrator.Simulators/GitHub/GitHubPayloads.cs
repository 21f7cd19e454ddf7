using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Orchestrator.Simulators.GitHub;

/// <summary>
/// Builds REST response objects and webhook bodies from GitHub's own payloads (see
/// <c>Payloads/github/PROVENANCE.md</c>): a template is loaded, every github.com URL is moved onto the
/// simulator's host, the template's repository names, numbers, ids and SHAs inside URLs are replaced,
/// and then the fields that carry state are overwritten. Fields nobody reads (labels, milestone, line
/// counts, …) keep the template's values or are emptied where they would contradict the state.
/// </summary>
internal sealed partial class GitHubPayloads(Func<Uri> baseUrl, string actorLogin, Func<string, long> userId)
{
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'";

    [GeneratedRegex(@"https?://api\.github\.com(?:/|$)", RegexOptions.CultureInvariant)]
    private static partial Regex ApiHost();

    [GeneratedRegex(@"https?://(?:uploads|svn)\.github\.com(?:/|$)", RegexOptions.CultureInvariant)]
    private static partial Regex OtherHosts();

    [GeneratedRegex(@"https?://avatars\.githubusercontent\.com(?:/|$)", RegexOptions.CultureInvariant)]
    private static partial Regex AvatarHost();

    [GeneratedRegex(@"https?://github\.com(?:/|$)", RegexOptions.CultureInvariant)]
    private static partial Regex WebHost();

    [GeneratedRegex(@"git:(?://)?github\.com/", RegexOptions.CultureInvariant)]
    private static partial Regex GitHost();

    [GeneratedRegex(@"git@github\.com:", RegexOptions.CultureInvariant)]
    private static partial Regex SshHost();

    [GeneratedRegex(@"/repos/([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)", RegexOptions.CultureInvariant)]
    private static partial Regex RepoInApiUrl();

    /// <summary>Login of the account the token belongs to: author of issues, comments and PRs, webhook sender.</summary>
    public string ActorLogin { get; set; } = actorLogin;

    private string Base => baseUrl().AbsoluteUri;

    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    private static JsonNode? Time(DateTimeOffset? t) => t is { } v ? Time(v) : null;

    /// <summary>GitHub's legacy global node id, e.g. <c>MDU6SXNzdWUx</c> = base64("05:Issue1").</summary>
    private static string NodeId(string typeLength, string type, long id) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{typeLength}:{type}{id.ToString(CultureInfo.InvariantCulture)}"));

    public string IssueHtmlUrl(SimRepoState repo, SimItemState item) =>
        $"{Base}{repo.FullName}/{(item.IsPullRequest ? "pull" : "issues")}/{item.Number}";

    public string CommentHtmlUrl(SimRepoState repo, SimItemState item, long commentId) =>
        $"{IssueHtmlUrl(repo, item)}#issuecomment-{commentId}";

    public string RunHtmlUrl(SimRepoState repo, SimCiState ci) => $"{Base}{repo.FullName}/actions/runs/{ci.RunId}";

    private string ApiRepo(SimRepoState repo) => $"{Base}api/v3/repos/{repo.FullName}";

    // ---------------------------------------------------------------- REST objects

    /// <summary>An issue object (<c>rest.issue.json</c>); for a PR, the issue view of it with a <c>pull_request</c> key.</summary>
    public JsonObject Issue(SimRepoState repo, SimItemState item)
    {
        var doc = (JsonObject)JsonTemplate.Load("rest.issue.json");
        Rebase(doc, repo);
        var oldNumber = JsonTemplate.Num(doc, "number");
        foreach (var collection in new[] { "issues", "pulls", "pull" })
        {
            JsonTemplate.ReplaceId(doc, collection, oldNumber, item.Number);
        }

        doc["id"] = item.Id;
        doc["node_id"] = NodeId("05", "Issue", item.Id);
        doc["url"] = $"{ApiRepo(repo)}/issues/{item.Number}";
        doc["html_url"] = IssueHtmlUrl(repo, item);
        doc["number"] = item.Number;
        doc["state"] = item.State;
        doc["title"] = item.Title;
        doc["body"] = item.Body;
        User(JsonTemplate.Obj(doc, "user"), item.Author);
        doc["labels"] = Labels(repo, item);
        doc["assignee"] = null;
        doc["assignees"] = new JsonArray();
        doc["milestone"] = null;
        doc["locked"] = false;
        doc["active_lock_reason"] = null;
        doc["comments"] = item.Comments.Count;
        if (item.IsPullRequest)
        {
            var pr = JsonTemplate.Obj(doc, "pull_request");
            pr["url"] = $"{ApiRepo(repo)}/pulls/{item.Number}";
            pr["html_url"] = IssueHtmlUrl(repo, item);
            pr["diff_url"] = IssueHtmlUrl(repo, item) + ".diff";
            pr["patch_url"] = IssueHtmlUrl(repo, item) + ".patch";

            // Part of the issue schema's pull_request object in API 2022-11-28, absent from the example.
            pr["merged_at"] = Time(item.MergedAt);
        }
        else
        {
            doc.Remove("pull_request");
        }

        doc["closed_at"] = Time(item.ClosedAt);
        doc["created_at"] = Time(item.CreatedAt);
        doc["updated_at"] = Time(item.UpdatedAt);
        if (item.State == "closed")
        {
            User(JsonTemplate.Obj(doc, "closed_by"), ActorLogin);
        }
        else
        {
            doc["closed_by"] = null;
        }

        doc["author_association"] = "OWNER";
        doc["state_reason"] = item.IsPullRequest ? null : StateReason(item);
        return doc;
    }

    /// <summary>What the REST API reports as <c>state_reason</c>: the one set by <c>PATCH</c>, else <c>completed</c> for a closed issue.</summary>
    public static string? StateReason(SimItemState item) => item.StateReason ?? (item.State == "closed" ? "completed" : null);

    /// <summary>A label object (https://docs.github.com/en/rest/issues/labels#get-a-label).</summary>
    public JsonObject Label(SimRepoState repo, SimLabelState label) => new()
    {
        ["id"] = label.Id,
        ["node_id"] = NodeId("05", "Label", label.Id),
        ["url"] = $"{ApiRepo(repo)}/labels/{Uri.EscapeDataString(label.Name)}",
        ["name"] = label.Name,
        ["description"] = label.Description,
        ["color"] = label.Color,
        ["default"] = false,
    };

    /// <summary>The labels of an issue or PR as GitHub lists them.</summary>
    public JsonArray Labels(SimRepoState repo, SimItemState item) => new(item.Labels.Select(l => (JsonNode)Label(repo, l)).ToArray());

    /// <summary>An issue comment (<c>rest.issue-comment.json</c>).</summary>
    public JsonObject Comment(SimRepoState repo, SimItemState item, SimCommentState comment)
    {
        var doc = (JsonObject)JsonTemplate.Load("rest.issue-comment.json");
        Rebase(doc, repo);
        JsonTemplate.ReplaceId(doc, "issues/comments", JsonTemplate.Num(doc, "id"), comment.Id);
        doc["id"] = comment.Id;
        doc["node_id"] = NodeId("012", "IssueComment", comment.Id);
        doc["url"] = $"{ApiRepo(repo)}/issues/comments/{comment.Id}";
        doc["html_url"] = CommentHtmlUrl(repo, item, comment.Id);
        doc["body"] = comment.Body;
        User(JsonTemplate.Obj(doc, "user"), comment.Author);
        doc["created_at"] = Time(comment.CreatedAt);
        doc["updated_at"] = Time(comment.CreatedAt);
        doc["issue_url"] = $"{ApiRepo(repo)}/issues/{item.Number}";
        doc["author_association"] = comment.Author == repo.Owner ? "OWNER" : "COLLABORATOR";
        return doc;
    }

    /// <summary>
    /// A pull request: the full object of <c>GET /pulls/{n}</c> (<c>rest.pull-request.json</c>, has
    /// <c>merged</c>) or a list item (<c>rest.pull-request-simple-items.json</c>, no <c>merged</c>).
    /// </summary>
    public JsonObject PullRequest(SimRepoState repo, SimItemState item, bool listItem)
    {
        var doc = listItem
            ? (JsonObject)((JsonArray)JsonTemplate.Load("rest.pull-request-simple-items.json"))[0]!.DeepClone()
            : (JsonObject)JsonTemplate.Load("rest.pull-request.json");
        Rebase(doc, repo);
        PatchPullRequest(doc, repo, item, reportTestMerge: true);
        return doc;
    }

    /// <summary>A check suite as listed by <c>GET /commits/{sha}/check-suites</c>: the webhook's <c>check_suite</c> plus <c>repository</c>.</summary>
    public JsonObject CheckSuite(SimRepoState repo, SimCiState ci)
    {
        var doc = (JsonObject)JsonTemplate.Load("check_suite.completed.raw-body.json");
        Rebase(doc, repo);
        var suite = JsonTemplate.Obj(doc, "check_suite");
        var repository = JsonTemplate.Obj(doc, "repository");
        doc.Remove("check_suite");
        doc.Remove("repository");
        PatchCheckSuite(suite, repo, ci);
        suite["repository"] = repository;
        return suite;
    }

    /// <summary>A workflow run as listed by <c>GET /actions/runs</c> (<c>rest.workflow-run.json</c>).</summary>
    public JsonObject WorkflowRun(SimRepoState repo, SimCiState ci)
    {
        var doc = (JsonObject)JsonTemplate.Load("rest.workflow-run.json");
        Rebase(doc, repo);
        PatchWorkflowRun(doc, repo, ci);
        return doc;
    }

    // ---------------------------------------------------------------- webhook bodies

    /// <summary>
    /// A <c>pull_request</c> delivery. <paramref name="action"/> <c>opened</c>/<c>edited</c> start from the
    /// captured <c>opened</c> body, <c>closed</c> from the captured merged <c>closed</c> body.
    /// </summary>
    public JsonObject PullRequestEvent(string action, SimRepoState repo, SimItemState item, string? previousBody = null)
    {
        var doc = (JsonObject)JsonTemplate.Load(action == "closed" ? "pull_request.closed.raw-body.json" : "pull_request.opened.raw-body.json");
        Rebase(doc, repo);

        // Just opened, GitHub has not computed the test merge yet and sends merge_commit_sha: null.
        PatchPullRequest(JsonTemplate.Obj(doc, "pull_request"), repo, item, reportTestMerge: action != "opened");
        doc["action"] = action;
        doc["number"] = item.Number;
        User(JsonTemplate.Obj(doc, "sender"), ActorLogin);
        if (action == "edited")
        {
            // The edited payload says what changed: {"changes":{"body":{"from":"…"}}}.
            var ordered = new JsonObject();
            foreach (var (key, value) in doc.ToList())
            {
                doc.Remove(key);
                ordered[key] = value;
                if (key == "number")
                {
                    ordered["changes"] = new JsonObject { ["body"] = new JsonObject { ["from"] = previousBody } };
                }
            }

            return ordered;
        }

        return doc;
    }

    /// <summary>A <c>check_suite</c> <c>completed</c> delivery (captured body).</summary>
    public JsonObject CheckSuiteCompletedEvent(SimRepoState repo, SimCiState ci)
    {
        var doc = (JsonObject)JsonTemplate.Load("check_suite.completed.raw-body.json");
        Rebase(doc, repo);
        doc["action"] = "completed";
        PatchCheckSuite(JsonTemplate.Obj(doc, "check_suite"), repo, ci);
        User(JsonTemplate.Obj(doc, "sender"), ActorLogin);
        return doc;
    }

    /// <summary>A <c>workflow_run</c> <c>completed</c> delivery (octokit/webhooks example).</summary>
    public JsonObject WorkflowRunCompletedEvent(SimRepoState repo, SimCiState ci)
    {
        var doc = (JsonObject)JsonTemplate.Load("workflow_run.completed.payload.json");
        Rebase(doc, repo);
        doc["action"] = "completed";
        PatchWorkflowRun(JsonTemplate.Obj(doc, "workflow_run"), repo, ci);
        if (doc["organization"] is JsonObject organization)
        {
            User(organization, repo.Owner);
        }

        if (doc["workflow"] is JsonObject workflow)
        {
            workflow["name"] = "CI";
            workflow["path"] = ".github/workflows/ci.yml";
        }

        User(JsonTemplate.Obj(doc, "sender"), ActorLogin);
        return doc;
    }

    // ---------------------------------------------------------------- patches

    private void PatchPullRequest(JsonObject pr, SimRepoState repo, SimItemState item, bool reportTestMerge)
    {
        JsonTemplate.ReplaceText(pr, JsonTemplate.Str(JsonTemplate.Obj(pr, "head"), "sha"), item.HeadSha);
        var oldNumber = JsonTemplate.Num(pr, "number");
        foreach (var collection in new[] { "pulls", "pull", "issues" })
        {
            JsonTemplate.ReplaceId(pr, collection, oldNumber, item.Number);
        }

        var api = ApiRepo(repo);
        pr["url"] = $"{api}/pulls/{item.Number}";
        pr["id"] = item.Id;
        pr["node_id"] = NodeId("011", "PullRequest", item.Id);
        pr["html_url"] = IssueHtmlUrl(repo, item);
        pr["diff_url"] = IssueHtmlUrl(repo, item) + ".diff";
        pr["patch_url"] = IssueHtmlUrl(repo, item) + ".patch";
        pr["issue_url"] = $"{api}/issues/{item.Number}";
        pr["statuses_url"] = $"{api}/statuses/{item.HeadSha}";
        pr["number"] = item.Number;
        pr["state"] = item.State;
        pr["locked"] = false;
        pr["title"] = item.Title;
        User(JsonTemplate.Obj(pr, "user"), item.Author);
        pr["body"] = item.Body;
        pr["labels"] = Labels(repo, item);
        pr["milestone"] = null;
        pr["active_lock_reason"] = null;
        pr["created_at"] = Time(item.CreatedAt);
        pr["updated_at"] = Time(item.UpdatedAt);
        pr["closed_at"] = Time(item.ClosedAt);
        pr["merged_at"] = Time(item.MergedAt);
        pr["merge_commit_sha"] = item.Merged || reportTestMerge ? item.CurrentMergeCommitSha : null;
        pr["assignee"] = null;
        pr["assignees"] = new JsonArray();
        JsonTemplate.SetIfPresent(pr, "requested_reviewers", new JsonArray());
        JsonTemplate.SetIfPresent(pr, "requested_teams", new JsonArray());
        PatchBranch(JsonTemplate.Obj(pr, "head"), repo, item.HeadRef, item.HeadSha);
        PatchBranch(JsonTemplate.Obj(pr, "base"), repo, "main", item.BaseSha);
        pr["author_association"] = item.Author == repo.Owner ? "OWNER" : "COLLABORATOR";
        pr["auto_merge"] = null;
        pr["draft"] = false;

        // Only the single-PR object and webhook bodies carry these; list items must not grow them.
        var open = item.State == "open";
        JsonTemplate.SetIfPresent(pr, "merged", item.Merged);
        JsonTemplate.SetIfPresent(pr, "mergeable", open ? true : null);
        JsonTemplate.SetIfPresent(pr, "rebaseable", open ? true : null);
        JsonTemplate.SetIfPresent(pr, "mergeable_state", open ? "clean" : "unknown");
        JsonTemplate.SetIfPresent(pr, "comments", item.Comments.Count);
        JsonTemplate.SetIfPresent(pr, "review_comments", 0);
        if (pr.ContainsKey("merged_by"))
        {
            if (item.Merged)
            {
                pr["merged_by"] = pr["merged_by"] as JsonObject ?? (JsonObject)JsonTemplate.Obj(pr, "user").DeepClone();
                User(JsonTemplate.Obj(pr, "merged_by"), ActorLogin);
            }
            else
            {
                pr["merged_by"] = null;
            }
        }
    }

    private void PatchBranch(JsonObject branch, SimRepoState repo, string reference, string sha)
    {
        branch["label"] = $"{repo.Owner}:{reference}";
        branch["ref"] = reference;
        branch["sha"] = sha;
        User(JsonTemplate.Obj(branch, "user"), repo.Owner);
    }

    private void PatchCheckSuite(JsonObject suite, SimRepoState repo, SimCiState ci)
    {
        var pullRequestTemplate = suite["pull_requests"] is JsonArray { Count: > 0 } existing ? existing[0]!.DeepClone() : null;
        JsonTemplate.ReplaceId(suite, "check-suites", JsonTemplate.Num(suite, "id"), ci.SuiteId);
        suite["id"] = ci.SuiteId;
        suite["node_id"] = NodeId("010", "CheckSuite", ci.SuiteId);
        suite["head_branch"] = HeadBranch(repo, ci.Sha);
        suite["head_sha"] = ci.Sha;
        suite["status"] = ci.Status;
        suite["conclusion"] = ci.Conclusion;
        suite["url"] = $"{ApiRepo(repo)}/check-suites/{ci.SuiteId}";
        suite["before"] = ci.BeforeSha;
        suite["after"] = ci.Sha;
        suite["pull_requests"] = PullRequestRefs(repo, ci.Sha, pullRequestTemplate);
        suite["created_at"] = Time(ci.CreatedAt);
        suite["updated_at"] = Time(ci.UpdatedAt);
        suite["latest_check_runs_count"] = 1;
        suite["check_runs_url"] = $"{ApiRepo(repo)}/check-suites/{ci.SuiteId}/check-runs";
        if (suite["head_commit"] is JsonObject commit)
        {
            PatchHeadCommit(commit, ci);
        }
    }

    private void PatchWorkflowRun(JsonObject run, SimRepoState repo, SimCiState ci)
    {
        JsonTemplate.ReplaceId(run, "actions/runs", JsonTemplate.Num(run, "id"), ci.RunId);
        JsonTemplate.ReplaceId(run, "check-suites", JsonTemplate.Num(run, "check_suite_id"), ci.SuiteId);
        var api = ApiRepo(repo);
        var pullRequests = PullRequestRefs(repo, ci.Sha, PullRequestRefTemplate());
        run["id"] = ci.RunId;
        run["name"] = "CI";
        run["node_id"] = NodeId("011", "WorkflowRun", ci.RunId);
        run["check_suite_id"] = ci.SuiteId;
        run["check_suite_node_id"] = NodeId("010", "CheckSuite", ci.SuiteId);
        run["head_branch"] = HeadBranch(repo, ci.Sha);
        run["head_sha"] = ci.Sha;
        run["path"] = ".github/workflows/ci.yml";
        run["run_number"] = ci.RunNumber;
        run["event"] = ci.Event;
        run["display_title"] = "Simulated commit";
        run["status"] = ci.Status;
        run["conclusion"] = ci.Conclusion;
        run["url"] = $"{api}/actions/runs/{ci.RunId}";
        run["html_url"] = RunHtmlUrl(repo, ci);
        run["pull_requests"] = pullRequests;
        run["created_at"] = Time(ci.CreatedAt);
        run["updated_at"] = Time(ci.UpdatedAt);
        run["run_attempt"] = ci.RunAttempt;
        run["run_started_at"] = Time(ci.CreatedAt);
        run["check_suite_url"] = $"{api}/check-suites/{ci.SuiteId}";
        run["previous_attempt_url"] = ci.RunAttempt > 1 ? $"{api}/actions/runs/{ci.RunId}/attempts/{ci.RunAttempt - 1}" : null;
        JsonTemplate.SetIfPresent(run, "referenced_workflows", new JsonArray());
        foreach (var key in new[] { "actor", "triggering_actor" })
        {
            if (run[key] is JsonObject user)
            {
                User(user, ActorLogin);
            }
        }

        if (run["head_commit"] is JsonObject commit)
        {
            PatchHeadCommit(commit, ci);
        }
    }

    private void PatchHeadCommit(JsonObject commit, SimCiState ci)
    {
        commit["id"] = ci.Sha;
        commit["message"] = "Simulated commit";
        commit["timestamp"] = Time(ci.CreatedAt);
        var person = new JsonObject { ["name"] = ActorLogin, ["email"] = $"{ActorLogin}@users.noreply.{baseUrl().Host}" };
        commit["author"] = person;
        commit["committer"] = person.DeepClone();
    }

    private static string HeadBranch(SimRepoState repo, string sha) =>
        repo.Items.LastOrDefault(i => i.IsPullRequest && string.Equals(i.HeadSha, sha, StringComparison.OrdinalIgnoreCase))?.HeadRef ?? "main";

    private static JsonNode? PullRequestRefTemplate()
    {
        var suite = JsonTemplate.Obj(JsonTemplate.Load("check_suite.completed.raw-body.json"), "check_suite");
        return suite["pull_requests"] is JsonArray { Count: > 0 } prs ? prs[0]!.DeepClone() : null;
    }

    /// <summary>
    /// The <c>pull_requests</c> array of check suites and workflow runs: open PRs whose head is
    /// <paramref name="sha"/>, each <c>{url,id,number,head:{ref,sha,repo:{id,url,name}},base:{…}}</c>.
    /// </summary>
    private JsonArray PullRequestRefs(SimRepoState repo, string sha, JsonNode? template)
    {
        var result = new JsonArray();
        if (template is null)
        {
            return result;
        }

        foreach (var pr in repo.Items.Where(i => i.IsPullRequest && i.State == "open" && string.Equals(i.HeadSha, sha, StringComparison.OrdinalIgnoreCase)))
        {
            var node = (JsonObject)template.DeepClone();
            node["url"] = $"{ApiRepo(repo)}/pulls/{pr.Number}";
            node["id"] = pr.Id;
            node["number"] = pr.Number;
            foreach (var (side, reference, commit) in new[] { ("head", pr.HeadRef, pr.HeadSha), ("base", "main", pr.BaseSha) })
            {
                var branch = JsonTemplate.Obj(node, side);
                branch["ref"] = reference;
                branch["sha"] = commit;
                branch["repo"] = new JsonObject { ["id"] = repo.Id, ["url"] = ApiRepo(repo), ["name"] = repo.Name };
            }

            result.Add(node);
        }

        return result;
    }

    /// <summary>
    /// Moves every URL onto the simulator's host, renames the template's repositories (any object with a
    /// <c>full_name</c>) to <paramref name="repo"/> and patches those repository objects.
    /// </summary>
    private void Rebase(JsonNode doc, SimRepoState repo)
    {
        var root = Base;
        var authority = baseUrl().Authority;
        var host = baseUrl().Host;
        JsonTemplate.RewriteStrings(doc, s =>
        {
            if (!s.Contains("github", StringComparison.Ordinal))
            {
                return s;
            }

            s = ApiHost().Replace(s, root + "api/v3/");
            s = OtherHosts().Replace(s, root);
            s = AvatarHost().Replace(s, root + "avatars/");
            s = WebHost().Replace(s, root);
            s = GitHost().Replace(s, $"git://{authority}/");
            return SshHost().Replace(s, $"git@{host}:");
        });

        // The template's repositories: every full_name, and every owner/name after "/repos/" in a URL
        // (an issue object has no repository object, only repository_url).
        var repositories = JsonTemplate.Objects(doc).Where(o => o["full_name"] is JsonValue v && v.TryGetValue<string>(out _)).ToList();
        var templateNames = new HashSet<string>(repositories.Select(o => (string)o["full_name"]!), StringComparer.Ordinal);
        JsonTemplate.RewriteStrings(doc, s =>
        {
            foreach (Match m in RepoInApiUrl().Matches(s))
            {
                templateNames.Add(m.Groups[1].Value);
            }

            return s;
        });
        templateNames.Remove(repo.FullName);
        foreach (var templateName in templateNames)
        {
            JsonTemplate.ReplaceSegment(doc, templateName, repo.FullName);
        }

        foreach (var repository in repositories)
        {
            repository["id"] = repo.Id;
            repository["node_id"] = NodeId("010", "Repository", repo.Id);
            repository["name"] = repo.Name;
            repository["full_name"] = repo.FullName;
            if (repository["owner"] is JsonObject owner)
            {
                User(owner, repo.Owner);
            }

            repository["html_url"] = $"{root}{repo.FullName}";
            JsonTemplate.SetIfPresent(repository, "url", ApiRepo(repo));
            JsonTemplate.SetIfPresent(repository, "private", false);
            JsonTemplate.SetIfPresent(repository, "default_branch", "main");
            JsonTemplate.SetIfPresent(repository, "description", null);
            JsonTemplate.SetIfPresent(repository, "homepage", null);
            JsonTemplate.SetIfPresent(repository, "topics", new JsonArray());
        }
    }

    /// <summary>Turns a template user (or organisation) into <paramref name="login"/>, URLs included.</summary>
    private void User(JsonObject user, string login)
    {
        var old = JsonTemplate.Str(user, "login");
        JsonTemplate.ReplaceSegment(user, old, login);
        var id = userId(login);
        user["login"] = login;
        user["id"] = id;
        user["node_id"] = NodeId("04", "User", id);
        JsonTemplate.SetIfPresent(user, "avatar_url", $"{Base}avatars/u/{id}?v=4");
    }
}

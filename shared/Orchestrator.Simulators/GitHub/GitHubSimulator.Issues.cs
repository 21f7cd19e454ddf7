using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Orchestrator.Simulators.GitHub;

/// <summary>Single-issue routes: read, update (close with a reason), labels.</summary>
public sealed partial class GitHubSimulator
{
    private static readonly string[] StateReasons = ["completed", "not_planned", "duplicate", "reopened"];

    /// <summary>Colour GitHub gives a label created implicitly by "add labels" (its default grey).</summary>
    private const string ImplicitLabelColor = "ededed";

    /// <summary><c>GET /repos/{o}/{r}/issues/{n}</c> (https://docs.github.com/en/rest/issues/issues#get-an-issue); PRs answer their issue view.</summary>
    private async Task GetIssueAsync(Call call)
    {
        ReadQuery(call, []);
        JsonObject? json;
        lock (_gate)
        {
            var item = call.Repo.Find(RouteNumber(call));
            json = item is null ? null : _payloads.Issue(call.Repo, item);
        }

        if (json is null)
        {
            await ErrorAsync(call.Context, StatusCodes.Status404NotFound, "Not Found", "https://docs.github.com/rest/issues/issues#get-an-issue").ConfigureAwait(false);
            return;
        }

        await WriteAsync(call.Context, StatusCodes.Status200OK, json).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>PATCH /repos/{o}/{r}/issues/{n}</c> with any of <c>title</c>, <c>body</c>, <c>state</c> (<c>open</c>|<c>closed</c>) and
    /// <c>state_reason</c> (<c>completed</c>|<c>not_planned</c>|<c>duplicate</c>|<c>reopened</c>|null)
    /// (https://docs.github.com/en/rest/issues/issues#update-an-issue). Reopening sets <c>state_reason</c> to <c>reopened</c>
    /// unless one is given. Answers 200 with the issue.
    /// </summary>
    private async Task UpdateIssueAsync(Call call)
    {
        var body = await ReadBodyAsync(call, ["title", "body", "state", "state_reason"]).ConfigureAwait(false);
        if (body is null)
        {
            return;
        }

        if (!TryGetString(body, "title", out var title) || !TryGetString(body, "body", out var text)
            || !TryGetString(body, "state", out var state) || !TryGetString(body, "state_reason", out var reason)
            || (state is not null && state is not ("open" or "closed"))
            || (reason is not null && !StateReasons.Contains(reason, StringComparer.Ordinal))
            || (body.ContainsKey("title") && string.IsNullOrEmpty(title)))
        {
            call.Unexpected("invalid title, body, state or state_reason");
            await ValidationFailedAsync(call.Context, "Issue", "state", "invalid").ConfigureAwait(false);
            return;
        }

        JsonObject? json = null;
        lock (_gate)
        {
            var item = call.Repo.Find(RouteNumber(call));
            if (item is not null)
            {
                if (title is not null)
                {
                    item.Title = title;
                }

                if (body.ContainsKey("body"))
                {
                    item.Body = text;
                }

                if (state == "closed" && item.State != "closed")
                {
                    item.State = "closed";
                    item.ClosedAt = _time.GetUtcNow();
                    item.StateReason = reason ?? "completed";
                }
                else if (state == "open" && item.State != "open")
                {
                    item.State = "open";
                    item.ClosedAt = null;
                    item.StateReason = reason ?? "reopened";
                }
                else if (body.ContainsKey("state_reason"))
                {
                    item.StateReason = reason;
                }

                Touch(item);
                json = _payloads.Issue(call.Repo, item);
            }
        }

        if (json is null)
        {
            await ErrorAsync(call.Context, StatusCodes.Status404NotFound, "Not Found", "https://docs.github.com/rest/issues/issues#update-an-issue").ConfigureAwait(false);
            return;
        }

        await WriteAsync(call.Context, StatusCodes.Status200OK, json).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>POST /repos/{o}/{r}/issues/{n}/labels</c> with <c>{"labels":["name",…]}</c> or the bare array <c>["name",…]</c>: creates missing repository labels
    /// (matched case-insensitively, as GitHub does), keeps the issue's other labels, answers 200 with every label on the
    /// issue (https://docs.github.com/en/rest/issues/labels#add-labels-to-an-issue).
    /// </summary>
    private async Task AddLabelsAsync(Call call)
    {
        var body = await ReadBodyAsync(call, ["labels"], bareArrayField: "labels").ConfigureAwait(false);
        if (body is null)
        {
            return;
        }

        var names = body["labels"] is JsonArray array && array.All(n => n is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0)
            ? array.Select(n => n!.GetValue<string>()).ToList()
            : null;
        if (names is null || names.Count == 0)
        {
            call.Unexpected("labels must be a non-empty array of names");
            await ValidationFailedAsync(call.Context, "Label", "labels", "invalid").ConfigureAwait(false);
            return;
        }

        JsonArray? json = null;
        lock (_gate)
        {
            var item = call.Repo.Find(RouteNumber(call));
            if (item is not null)
            {
                foreach (var name in names)
                {
                    if (!call.Repo.Labels.TryGetValue(name, out var label))
                    {
                        label = new SimLabelState(NextId(), name, ImplicitLabelColor, null);
                        call.Repo.Labels[name] = label;
                    }

                    if (!item.Labels.Contains(label))
                    {
                        item.Labels.Add(label);
                    }
                }

                Touch(item);
                json = _payloads.Labels(call.Repo, item);
            }
        }

        if (json is null)
        {
            await ErrorAsync(call.Context, StatusCodes.Status404NotFound, "Not Found", "https://docs.github.com/rest/issues/labels#add-labels-to-an-issue").ConfigureAwait(false);
            return;
        }

        await WriteAsync(call.Context, StatusCodes.Status200OK, json).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>DELETE /repos/{o}/{r}/issues/{n}/labels/{name}</c>: 200 with the remaining labels, or 404
    /// <c>Label does not exist</c> when the issue does not carry it
    /// (https://docs.github.com/en/rest/issues/labels#remove-a-label-from-an-issue). Neither 404 is recorded as unexpected.
    /// </summary>
    private async Task RemoveLabelAsync(Call call)
    {
        ReadQuery(call, []);
        // Routing decodes every escape in a segment except %2F, which it keeps so the path keeps its shape.
        var name = ((string)call.Context.GetRouteValue("name")!).Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
        JsonArray? json = null;
        var issueExists = false;
        lock (_gate)
        {
            var item = call.Repo.Find(RouteNumber(call));
            issueExists = item is not null;
            var index = item?.Labels.FindIndex(l => string.Equals(l.Name, name, StringComparison.OrdinalIgnoreCase)) ?? -1;
            if (index >= 0)
            {
                item!.Labels.RemoveAt(index);
                Touch(item);
                json = _payloads.Labels(call.Repo, item);
            }
        }

        if (json is null)
        {
            await ErrorAsync(call.Context, StatusCodes.Status404NotFound, issueExists ? "Label does not exist" : "Not Found", "https://docs.github.com/rest/issues/labels#remove-a-label-from-an-issue").ConfigureAwait(false);
            return;
        }

        await WriteAsync(call.Context, StatusCodes.Status200OK, json).ConfigureAwait(false);
    }
}

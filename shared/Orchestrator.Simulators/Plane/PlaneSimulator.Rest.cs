using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Orchestrator.Simulators.Plane;

/// <content>The REST side: routes, Plane's checks in Plane's order, serializer shapes and pagination.</content>
public sealed partial class PlaneSimulator
{
    // ---------------------------------------------------------------- REST

    private void Map(IEndpointRouteBuilder endpoints, SimulatorHost host)
    {
        var project = endpoints.MapGroup("/api/v1/workspaces/{slug}/projects/{projectId:guid}");
        project.AddEndpointFilter(GateAsync);
        foreach (var items in new[] { "work-items", "issues" })
        {
            project.MapGet($"/{items}/", (HttpContext context, string projectId) => ListWorkItems(context, projectId));
            project.MapGet($"/{items}/{{workItemId:guid}}/", (HttpContext context, string projectId, string workItemId) =>
                GetWorkItem(context, projectId, workItemId));
            project.MapPatch($"/{items}/{{workItemId:guid}}/", (HttpContext context, string projectId, string workItemId) =>
                PatchWorkItemAsync(context, projectId, workItemId));
            project.MapGet($"/{items}/{{workItemId:guid}}/comments/", (HttpContext context, string projectId, string workItemId) =>
                ListComments(context, projectId, workItemId));
            project.MapGet($"/{items}/{{workItemId:guid}}/comments/{{commentId:guid}}/", (HttpContext context, string projectId, string workItemId, string commentId) =>
                GetComment(context, projectId, workItemId, commentId));
            project.MapPost($"/{items}/{{workItemId:guid}}/comments/", (HttpContext context, string projectId, string workItemId) =>
                CreateCommentAsync(context, projectId, workItemId));
        }

        project.MapGet("/states/", (HttpContext context, string projectId) => ListStates(context, projectId));
        project.MapGet("/labels/", (HttpContext context, string projectId) => ListLabels(context, projectId));
        project.MapPost("/labels/", (HttpContext context, string projectId) => CreateLabelAsync(context, projectId));
        project.MapPost("/work-items/", (HttpContext context, string projectId) => CreateWorkItemRestAsync(context, projectId));
    }

    /// <summary><c>GET …/labels/</c> (paginated; <c>LabelSerializer</c>: id, name, color, sort_order, project, workspace).</summary>
    private PlaneResult ListLabels(HttpContext context, string projectId)
    {
        List<JsonObject> labels;
        lock (_gate)
        {
            labels = [.. Project(projectId).Labels.Select(l => new JsonObject
            {
                ["id"] = l.Id, ["name"] = l.Name, ["color"] = l.Color, ["sort_order"] = l.SortOrder, ["project"] = projectId, ["workspace"] = WorkspaceId,
            })];
        }

        return Paginate(context, labels);
    }

    /// <summary><c>POST …/labels/</c> with <c>{"name"}</c> → 201 (409 <c>{"error", "id"}</c> when the name exists).</summary>
    private async Task<PlaneResult> CreateLabelAsync(HttpContext context, string projectId)
    {
        var body = await ReadObjectAsync(context);
        if (body is null || OptionalString(body, "name") is not { Length: > 0 } name)
        {
            return BadJson(context);
        }

        lock (_gate)
        {
            var project = Project(projectId);
            if (project.Labels.FirstOrDefault(l => l.Name == name) is { } existing)
            {
                return PlaneResult.Json(StatusCodes.Status409Conflict, new JsonObject { ["error"] = "Label with the same name already exists in the project", ["id"] = existing.Id });
            }

            var label = EnsureLabelLocked(project, name);
            return PlaneResult.Json(StatusCodes.Status201Created, new JsonObject
            {
                ["id"] = label.Id, ["name"] = label.Name, ["color"] = label.Color, ["sort_order"] = label.SortOrder, ["project"] = projectId, ["workspace"] = WorkspaceId,
            });
        }
    }

    /// <summary>
    /// <c>POST …/work-items/</c> with <c>name</c>, <c>description_html</c>, <c>labels</c> (UUIDs), <c>state</c>,
    /// <c>external_source</c> / <c>external_id</c> → 201 with the unexpanded work item; 409 <c>{"error", "id"}</c> when an
    /// item with the same external source and id exists in the project (Plane's <c>IssueListCreateAPIEndpoint.post</c>).
    /// With <see cref="EchoApiChangesAsWebhooks"/> an <c>issue</c>/<c>created</c> delivery follows.
    /// </summary>
    private async Task<PlaneResult> CreateWorkItemRestAsync(HttpContext context, string projectId)
    {
        var body = await ReadObjectAsync(context);
        if (body is null || OptionalString(body, "name") is not { Length: > 0 } name)
        {
            return BadJson(context);
        }

        JsonObject? echo = null;
        PlaneResult result;
        lock (_gate)
        {
            foreach (var key in body.Select(p => p.Key).Except(["name", "description_html", "labels", "state", "external_source", "external_id", "priority"]))
            {
                Host.RecordUnexpected($"plane: work item field {key} is not simulated (ignored)");
            }

            var project = Project(projectId);
            var externalSource = OptionalString(body, "external_source");
            var externalId = OptionalString(body, "external_id");
            if (!string.IsNullOrEmpty(externalSource) && !string.IsNullOrEmpty(externalId)
                && _workItems.Values.FirstOrDefault(w => w.ProjectId == projectId && w.ExternalSource == externalSource && w.ExternalId == externalId) is { } existing)
            {
                return PlaneResult.Json(StatusCodes.Status409Conflict, new JsonObject
                {
                    ["error"] = "Issue with the same external id and external source already exists",
                    ["id"] = existing.Id,
                });
            }

            var state = OptionalString(body, "state") is { } stateId ? project.States.FirstOrDefault(st => st.Id == stateId) : project.States.First(st => st.IsDefault);
            if (state is null)
            {
                Host.RecordUnexpected("plane: POST work item with an unknown state → 400");
                return PlaneResult.Json(StatusCodes.Status400BadRequest, new JsonObject { ["state"] = new JsonArray("Invalid state.") });
            }

            var now = Now();
            var item = new WorkItemData(NewId(), projectId, ++project.LastSequenceId, now)
            {
                Name = name,
                DescriptionHtml = OptionalString(body, "description_html") ?? "<p></p>",
                StateId = state.Id,
                UpdatedAt = now,
                CreatedBy = ApiUserId,
                UpdatedBy = ApiUserId,
                ExternalSource = externalSource,
                ExternalId = externalId,
            };
            foreach (var label in (body["labels"] as JsonArray ?? []).Select(l => l?.GetValue<string>()).OfType<string>())
            {
                if (project.Labels.All(l => l.Id != label))
                {
                    Host.RecordUnexpected($"plane: POST work item with unknown label {label} → 400");
                    return PlaneResult.Json(StatusCodes.Status400BadRequest, new JsonObject { ["labels"] = new JsonArray("Invalid pk.") });
                }

                item.LabelIds.Add(label);
            }

            _workItems.Add(item.Id, item);
            result = PlaneResult.Json(StatusCodes.Status201Created, IssueRest(item, []));
            if (EchoApiChangesAsWebhooks)
            {
                echo = IssueEnvelope("issue.created.json", item, null, null, null, ApiActor());
            }
        }

        if (echo is not null)
        {
            Echo("issue", echo);
        }

        return result;
    }

    /// <summary>Django's slash redirect, DRF authentication and the project-member permission, in Plane's order.</summary>
    private async ValueTask<object?> GateAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var request = context.Request;
        var what = $"{request.Method} {request.Path}{request.QueryString}";
        if (request.Path.Value?.EndsWith('/') != true)
        {
            // CommonMiddleware (APPEND_SLASH) redirects; Plane's URLs all end in '/'.
            Host.RecordUnexpected($"plane: {what} lacks the trailing slash Plane's routes require");
            return new PlaneResult(StatusCodes.Status301MovedPermanently, null)
            {
                Location = request.Path + "/" + request.QueryString,
            };
        }

        var key = request.Headers["X-Api-Key"].ToString();
        if (key.Length == 0)
        {
            Host.RecordUnexpected($"plane: {what} without X-Api-Key → 401");
            return PlaneResult.Json(StatusCodes.Status401Unauthorized, new JsonObject { ["detail"] = "Authentication credentials were not provided." });
        }

        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(_apiKey)))
        {
            Host.RecordUnexpected($"plane: {what} with a wrong X-Api-Key → 403");
            return PlaneResult.Json(StatusCodes.Status403Forbidden, new JsonObject { ["detail"] = "Given API token is not valid" });
        }

        var slug = request.RouteValues["slug"] as string;
        var projectId = request.RouteValues["projectId"] as string;
        bool knownProject;
        lock (_gate)
        {
            knownProject = projectId is not null && _projects.ContainsKey(projectId);
        }

        if (slug != WorkspaceSlug || !knownProject)
        {
            Host.RecordUnexpected($"plane: {what} for an unknown workspace or project → 403");
            return PlaneResult.Json(StatusCodes.Status403Forbidden, new JsonObject { ["detail"] = "You do not have permission to perform this action." });
        }

        if (_faults.TryDequeue(out var fault))
        {
            var body = fault.Status == HttpStatusCode.TooManyRequests
                ? new JsonObject { ["error_code"] = 5900, ["error_message"] = "RATE_LIMIT_EXCEEDED" }
                : new JsonObject { ["error"] = "Something went wrong please try again later" };
            return PlaneResult.Json((int)fault.Status, body) with
            {
                RetryAfter = fault.RetryAfter is { } wait ? ((long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture) : null,
            };
        }

        return await next(invocation);
    }

    private PlaneResult GetWorkItem(HttpContext context, string projectId, string workItemId)
    {
        var expand = ParseList(context.Request.Query["expand"]);
        foreach (var unsupported in expand.Except(["labels", "state", "assignees"]))
        {
            Host.RecordUnexpected($"plane: expand={unsupported} is not simulated");
        }

        if (context.Request.Query.ContainsKey("fields"))
        {
            Host.RecordUnexpected("plane: ?fields= is not simulated");
        }

        lock (_gate)
        {
            if (FindLiveWorkItem(projectId, workItemId) is not { } item)
            {
                return NotFound(context);
            }

            return PlaneResult.Json(StatusCodes.Status200OK, IssueRest(item, expand));
        }
    }

    /// <summary>
    /// <c>GET …/work-items/</c>: the project's live work items, <c>order_by</c> one of <c>created_at</c>, <c>updated_at</c>,
    /// <c>sequence_id</c> (a leading <c>-</c> for descending; default <c>-created_at</c>, as Plane's list view), paged like
    /// every list.
    /// </summary>
    private PlaneResult ListWorkItems(HttpContext context, string projectId)
    {
        var query = context.Request.Query;
        var expand = ParseList(query["expand"]);
        foreach (var unsupported in expand.Except(["labels", "state", "assignees"]))
        {
            Host.RecordUnexpected($"plane: expand={unsupported} is not simulated");
        }

        foreach (var key in query.Keys.Except(["expand", "order_by", "per_page", "cursor"]))
        {
            Host.RecordUnexpected($"plane: work item list parameter {key} is not simulated");
        }

        var orderBy = query.TryGetValue("order_by", out var o) ? o.ToString() : "-created_at";
        Func<WorkItemData, IComparable>? sortKey = orderBy.TrimStart('-') switch
        {
            "created_at" => w => w.CreatedAt,
            "updated_at" => w => w.UpdatedAt,
            "sequence_id" => w => w.SequenceId,
            _ => null,
        };
        if (sortKey is null)
        {
            Host.RecordUnexpected($"plane: order_by={orderBy} is not simulated");
            sortKey = w => w.CreatedAt;
        }

        List<JsonObject> items;
        lock (_gate)
        {
            var live = _workItems.Values.Where(w => w.ProjectId == projectId && w.DeletedAt is null);
            var ordered = orderBy.StartsWith('-') ? live.OrderByDescending(sortKey).ThenByDescending(w => w.SequenceId) : live.OrderBy(sortKey).ThenBy(w => w.SequenceId);
            items = [.. ordered.Select(w => IssueRest(w, expand))];
        }

        return Paginate(context, items);
    }

    private async Task<PlaneResult> PatchWorkItemAsync(HttpContext context, string projectId, string workItemId)
    {
        var body = await ReadObjectAsync(context);
        if (body is null)
        {
            return BadJson(context);
        }

        var echoes = new List<JsonObject>();
        PlaneResult result;
        lock (_gate)
        {
            if (FindLiveWorkItem(projectId, workItemId) is not { } item)
            {
                return NotFound(context);
            }

            var project = _projects[projectId];
            var errors = new JsonObject();
            SimState? newState = null;
            foreach (var (key, value) in body)
            {
                switch (key)
                {
                    case "state":
                        var stateId = value is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
                        newState = project.States.FirstOrDefault(x => x.Id == stateId);
                        if (newState is null)
                        {
                            // A UUID of another project's state fails IssueSerializer.validate; anything
                            // else fails the PrimaryKeyRelatedField lookup.
                            if (stateId is not null && _projects.Values.Any(p => p.States.Any(x => x.Id == stateId)))
                            {
                                errors["non_field_errors"] = new JsonArray("State is not valid please pass a valid state_id");
                            }
                            else
                            {
                                errors["state"] = new JsonArray($"Invalid pk \"{stateId ?? value?.ToJsonString()}\" - object does not exist.");
                            }
                        }

                        break;
                    case "name":
                        if (value is not JsonValue nv || !nv.TryGetValue<string>(out var n) || n.Length == 0 || n.Length > 255)
                        {
                            errors["name"] = new JsonArray("This field may not be blank.");
                        }

                        break;
                    case "description_html":
                        if (value is not JsonValue dv || !dv.TryGetValue<string>(out _))
                        {
                            errors["description_html"] = new JsonArray("Not a valid string.");
                        }

                        break;
                    default:
                        Host.RecordUnexpected($"plane: PATCH field {key} is not simulated (ignored)");
                        break;
                }
            }

            if (errors.Count > 0)
            {
                Host.RecordUnexpected($"plane: PATCH {context.Request.Path} rejected: {errors.ToJsonString()}");
                return PlaneResult.Json(StatusCodes.Status400BadRequest, errors);
            }

            // model_activity compares the serialised instance before the change with each sent key.
            var before = IssueRest(item, []);
            if (newState is not null)
            {
                SetState(item, newState);
            }

            if (body["name"] is JsonValue nameValue)
            {
                item.Name = nameValue.GetValue<string>();
            }

            if (body["description_html"] is JsonValue descriptionValue)
            {
                item.DescriptionHtml = descriptionValue.GetValue<string>();
            }

            Touch(item, ApiUserId);
            var after = IssueRest(item, []);
            result = PlaneResult.Json(StatusCodes.Status200OK, after);
            if (EchoApiChangesAsWebhooks)
            {
                foreach (var (key, value) in body)
                {
                    if (before[key] is { } old && !JsonNode.DeepEquals(old, value))
                    {
                        echoes.Add(IssueEnvelope("issue.updated.state_id.json", item, key, value?.DeepClone(), old.DeepClone(), ApiActor()));
                    }
                }
            }
        }

        foreach (var echo in echoes)
        {
            Echo("issue", echo);
        }

        return result;
    }

    private PlaneResult ListStates(HttpContext context, string projectId)
    {
        List<JsonObject> states;
        lock (_gate)
        {
            var project = _projects[projectId];
            states = [.. project.States.OrderBy(s => s.Sequence).Select(s => StateRest(project, s))];
        }

        return Paginate(context, states);
    }

    private PlaneResult ListComments(HttpContext context, string projectId, string workItemId)
    {
        List<JsonObject> comments;
        lock (_gate)
        {
            if (FindLiveWorkItem(projectId, workItemId) is null)
            {
                // Plane just filters by issue_id and answers an empty page; record it anyway.
                Host.RecordUnexpected($"plane: comments of unknown work item {workItemId} (Plane answers an empty page)");
            }

            // order_by("-created_at"); ties broken newest-first by insertion.
            comments =
            [
                .. _comments
                    .Where(c => c.Comment.WorkItemId == workItemId && c.ProjectId == projectId)
                    .OrderByDescending(c => c.Comment.CreatedAt)
                    .ThenByDescending(c => c.Order)
                    .Select(c => CommentRest(c, isMember: true)),
            ];
        }

        return Paginate(context, comments);
    }

    private PlaneResult GetComment(HttpContext context, string projectId, string workItemId, string commentId)
    {
        lock (_gate)
        {
            var comment = _comments.FirstOrDefault(c =>
                c.Comment.Id == commentId && c.Comment.WorkItemId == workItemId && c.ProjectId == projectId);
            return comment is null ? NotFound(context) : PlaneResult.Json(StatusCodes.Status200OK, CommentRest(comment, isMember: true));
        }
    }

    private async Task<PlaneResult> CreateCommentAsync(HttpContext context, string projectId, string workItemId)
    {
        var body = await ReadObjectAsync(context);
        if (body is null)
        {
            return BadJson(context);
        }

        JsonObject? echo = null;
        PlaneResult result;
        lock (_gate)
        {
            foreach (var key in body.Select(p => p.Key).Except(["comment_html", "external_source", "external_id", "access", "comment_json"]))
            {
                Host.RecordUnexpected($"plane: comment field {key} is not simulated (ignored)");
            }

            var externalSource = OptionalString(body, "external_source");
            var externalId = OptionalString(body, "external_id");
            if (!string.IsNullOrEmpty(externalId) && !string.IsNullOrEmpty(externalSource))
            {
                var existing = _comments.FirstOrDefault(c => c.ProjectId == projectId
                    && c.Comment.ExternalSource == externalSource && c.Comment.ExternalId == externalId);
                if (existing is not null)
                {
                    // Not unexpected: this is the idempotency answer clients rely on.
                    return PlaneResult.Json(StatusCodes.Status409Conflict, new JsonObject
                    {
                        ["error"] = "Work item comment with the same external id and external source already exists",
                        ["id"] = existing.Comment.Id,
                    });
                }
            }

            if (FindLiveWorkItem(projectId, workItemId) is not { } item)
            {
                // The insert violates the issue foreign key; Plane maps IntegrityError to this 400.
                Host.RecordUnexpected($"plane: POST comment on unknown work item {workItemId} → 400");
                return PlaneResult.Json(StatusCodes.Status400BadRequest, new JsonObject { ["error"] = "The payload is not valid" });
            }

            var html = OptionalString(body, "comment_html") ?? "<p></p>";
            var comment = AddCommentLocked(item, html, externalSource, externalId, ApiUserId);
            result = PlaneResult.Json(StatusCodes.Status201Created, CommentRest(comment, isMember: null));
            if (EchoApiChangesAsWebhooks)
            {
                echo = CommentEnvelope(comment, item, ApiActor());
            }
        }

        if (echo is not null)
        {
            Echo("issue_comment", echo);
        }

        return result;
    }

    /// <summary><c>BasePaginator.paginate</c> with <c>OffsetPaginator</c> (default and maximum <c>per_page</c> 1000).</summary>
    private PlaneResult Paginate(HttpContext context, IReadOnlyList<JsonObject> all)
    {
        var query = context.Request.Query;
        var perPage = 1000;
        if (query.TryGetValue("per_page", out var perPageText))
        {
            if (!int.TryParse(perPageText.ToString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out perPage))
            {
                return BadPagination(context, "Invalid per_page parameter.");
            }

            if (perPage > 1000)
            {
                return BadPagination(context, "Invalid per_page value. Cannot exceed 1000.");
            }
        }

        var page = 0;
        if (query.TryGetValue("cursor", out var cursorText))
        {
            var bits = cursorText.ToString().Split(':');
            if (bits.Length != 3
                || !double.TryParse(bits[0], NumberStyles.Float, CultureInfo.InvariantCulture, out _)
                || !int.TryParse(bits[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out page)
                || !int.TryParse(bits[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
            {
                return BadPagination(context, "Invalid cursor parameter.");
            }
        }

        var limit = Math.Min(perPage, 1000);
        var offset = page * limit;
        if (offset < 0 || limit <= 0)
        {
            return BadPagination(context, "Error in parsing");
        }

        var results = all.Skip(offset).Take(limit).ToList();
        var hasNext = all.Count > offset + limit;
        var response = new JsonObject
        {
            ["grouped_by"] = null,
            ["sub_grouped_by"] = null,
            ["total_count"] = all.Count,
            ["next_cursor"] = $"{limit}:{page + 1}:0",
            ["prev_cursor"] = $"{limit}:{page - 1}:1",
            ["next_page_results"] = hasNext,
            ["prev_page_results"] = page > 0,
            ["count"] = results.Count,
            ["total_pages"] = (int)Math.Ceiling(all.Count / (double)limit),
            ["total_results"] = all.Count,
            ["extra_stats"] = null,
            ["results"] = new JsonArray([.. results.Select(r => (JsonNode)r)]),
        };
        return PlaneResult.Json(StatusCodes.Status200OK, response);
    }

    private PlaneResult BadPagination(HttpContext context, string detail)
    {
        Host.RecordUnexpected($"plane: {context.Request.Path}{context.Request.QueryString} → 400 {detail}");
        return PlaneResult.Json(StatusCodes.Status400BadRequest, new JsonObject { ["detail"] = detail });
    }

    private PlaneResult NotFound(HttpContext context)
    {
        Host.RecordUnexpected($"plane: {context.Request.Method} {context.Request.Path} → 404 (no such work item or comment)");
        return PlaneResult.Json(StatusCodes.Status404NotFound, new JsonObject { ["error"] = "The requested resource does not exist." });
    }

    private PlaneResult BadJson(HttpContext context)
    {
        Host.RecordUnexpected($"plane: {context.Request.Method} {context.Request.Path} with a body that is not a JSON object → 400");
        return PlaneResult.Json(StatusCodes.Status400BadRequest, new JsonObject { ["detail"] = "JSON parse error - the body must be a JSON object." });
    }

    private static async Task<JsonObject?> ReadObjectAsync(HttpContext context)
    {
        try
        {
            return await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary><c>IssueSerializer</c> (public API): UUIDs unless expanded; field order as DRF builds it.</summary>
    private JsonObject IssueRest(WorkItemData item, IReadOnlyCollection<string> expand)
    {
        var project = _projects[item.ProjectId];
        var state = project.States.First(s => s.Id == item.StateId);
        return new JsonObject
        {
            ["id"] = item.Id,
            ["type_id"] = null,
            ["created_at"] = PlaneWire.Timestamp(item.CreatedAt),
            ["updated_at"] = PlaneWire.Timestamp(item.UpdatedAt),
            ["deleted_at"] = null,
            ["point"] = null,
            ["name"] = item.Name,
            ["description_html"] = item.DescriptionHtml,
            ["description_binary"] = null,
            ["priority"] = item.Priority,
            ["start_date"] = null,
            ["target_date"] = null,
            ["sequence_id"] = item.SequenceId,
            ["sort_order"] = 65535.0,
            ["completed_at"] = item.CompletedAt is { } done ? PlaneWire.Timestamp(done) : null,
            ["archived_at"] = null,
            ["is_draft"] = false,
            ["external_source"] = null,
            ["external_id"] = null,
            ["created_by"] = item.CreatedBy,
            ["updated_by"] = item.UpdatedBy,
            ["project"] = item.ProjectId,
            ["workspace"] = WorkspaceId,
            ["parent"] = null,
            ["state"] = expand.Contains("state") ? StateLite(state) : item.StateId,
            ["estimate_point"] = null,
            ["type"] = null,
            ["assignees"] = new JsonArray(),
            ["labels"] = expand.Contains("labels")
                ? new JsonArray([.. item.LabelIds.Select(id => (JsonNode)LabelRest(project, project.LabelById(id)))])
                : new JsonArray([.. item.LabelIds.Select(id => (JsonNode)JsonValue.Create(id))]),
        };
    }

    /// <summary><c>StateSerializer</c> (<c>fields="__all__"</c>).</summary>
    private JsonObject StateRest(ProjectData project, SimState state) => new()
    {
        ["id"] = state.Id,
        ["created_at"] = PlaneWire.Timestamp(project.CreatedAt),
        ["updated_at"] = PlaneWire.Timestamp(project.CreatedAt),
        ["deleted_at"] = null,
        ["name"] = state.Name,
        ["description"] = "",
        ["color"] = state.Color,
        ["slug"] = PlaneWire.Slugify(state.Name),
        ["sequence"] = state.Sequence,
        ["group"] = state.Group,
        ["is_triage"] = false,
        ["default"] = state.IsDefault,
        ["external_source"] = null,
        ["external_id"] = null,
        ["created_by"] = HumanUserId,
        ["updated_by"] = null,
        ["project"] = project.Project.Id,
        ["workspace"] = WorkspaceId,
    };

    /// <summary><c>LabelSerializer</c> (<c>fields="__all__"</c>), what <c>?expand=labels</c> returns.</summary>
    private JsonObject LabelRest(ProjectData project, LabelData label) => new()
    {
        ["id"] = label.Id,
        ["created_at"] = PlaneWire.Timestamp(label.CreatedAt),
        ["updated_at"] = PlaneWire.Timestamp(label.CreatedAt),
        ["deleted_at"] = null,
        ["name"] = label.Name,
        ["description"] = "",
        ["color"] = label.Color,
        ["sort_order"] = label.SortOrder,
        ["external_source"] = null,
        ["external_id"] = null,
        ["created_by"] = HumanUserId,
        ["updated_by"] = null,
        ["workspace"] = WorkspaceId,
        ["project"] = project.Project.Id,
        ["parent"] = null,
    };

    /// <summary><c>IssueCommentSerializer</c>; <c>is_member</c> only where the queryset annotates it (list, detail).</summary>
    private JsonObject CommentRest(CommentData comment, bool? isMember)
    {
        var json = new JsonObject { ["id"] = comment.Comment.Id };
        if (isMember is { } member)
        {
            json["is_member"] = member;
        }

        json["created_at"] = PlaneWire.Timestamp(comment.Comment.CreatedAt);
        json["updated_at"] = PlaneWire.Timestamp(comment.Comment.CreatedAt);
        json["deleted_at"] = null;
        json["comment_html"] = comment.Comment.CommentHtml;
        json["attachments"] = new JsonArray();
        json["access"] = "INTERNAL";
        json["external_source"] = comment.Comment.ExternalSource;
        json["external_id"] = comment.Comment.ExternalId;
        json["edited_at"] = null;
        json["created_by"] = comment.Comment.ActorId;
        json["updated_by"] = null;
        json["project"] = comment.ProjectId;
        json["workspace"] = WorkspaceId;
        json["description"] = comment.DescriptionId;
        json["issue"] = comment.Comment.WorkItemId;
        json["actor"] = comment.Comment.ActorId;
        json["parent"] = null;
        return json;
    }

    private static JsonObject StateLite(SimState state) => new()
    {
        ["id"] = state.Id,
        ["name"] = state.Name,
        ["color"] = state.Color,
        ["group"] = state.Group,
    };

    private static JsonObject LabelLite(LabelData label) => new()
    {
        ["id"] = label.Id,
        ["name"] = label.Name,
        ["color"] = label.Color,
    };

    /// <summary>A JSON answer written exactly as DRF's <c>JSONRenderer</c> would (compact, UTF-8).</summary>
    private sealed record PlaneResult(int StatusCode, JsonObject? Body) : IResult
    {
        public string? Location { get; init; }

        public string? RetryAfter { get; init; }

        public static PlaneResult Json(int statusCode, JsonObject body) => new(statusCode, body);

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = StatusCode;
            if (Location is not null)
            {
                response.Headers.Location = Location;
            }

            if (RetryAfter is not null)
            {
                response.Headers.RetryAfter = RetryAfter;
            }

            if (Body is not null)
            {
                response.ContentType = "application/json";
                await response.Body.WriteAsync(Encoding.UTF8.GetBytes(PythonJson.DumpsCompact(Body)), httpContext.RequestAborted);
            }
        }
    }
}

using System.Globalization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Net.Http.Headers;
using Microsoft.OpenApi;
using Orchestrator.Shared.Accounts;

namespace Orchestrator.Functions.Functions.V1;

/// <summary>
/// The external API, version 1 (issue #11): <c>/api/v1/…</c>, authenticated like every non-allow-listed route (a project
/// API token — that project only, others are 404 —, a session with the antiforgery header for writes, or
/// <c>ORCH_ADMIN_TOKEN</c>). Errors are RFC 9457 problem details; updates use <c>ETag</c>/<c>If-Match</c> (412 when
/// stale); POST actions honour <c>Idempotency-Key</c>. The OpenAPI 3.1 document is generated from these endpoints at
/// <c>/openapi/v1.json</c> and rendered at <c>/api/docs</c>.
/// </summary>
public static class ApiV1
{
    /// <summary>The OpenAPI document name.</summary>
    public const string DocumentName = "v1";

    /// <summary>Maps <c>/api/v1</c> (called on the <c>/api</c> group).</summary>
    /// <param name="api">The <c>/api</c> group.</param>
    /// <returns>The <c>/api/v1</c> group.</returns>
    public static RouteGroupBuilder MapApiV1(this RouteGroupBuilder api)
    {
        var v1 = api.MapGroup("/v1").WithGroupName(DocumentName).ProducesProblem(StatusCodes.Status401Unauthorized);
        v1.MapProjectsV1();
        v1.MapKnowledgeV1();
        v1.MapTasksV1();
        v1.MapTaskActionsV1();
        v1.MapAnalyticsV1();
        return v1;
    }

    /// <summary>
    /// Registers the OpenAPI document (Microsoft.AspNetCore.OpenApi; OpenAPI 3.1): the title, the two security schemes
    /// (bearer token; session cookie + <c>X-CSRF-TOKEN</c>) and only the <c>/api/v1</c> endpoints.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddApiV1Document(this IServiceCollection services) =>
        services.AddOpenApi(DocumentName, options =>
        {
            options.ShouldInclude = description => description.GroupName == DocumentName;
            options.AddExamples();
            options.AddOperationTransformer((operation, context, _) =>
            {
                // The request headers the endpoint's metadata says it reads (they are not bound parameters, so the generator cannot see them).
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                if (metadata.OfType<IfMatchAttribute>().Any())
                {
                    operation.Parameters ??= [];
                    operation.Parameters.Add(new OpenApiParameter
                    {
                        Name = "If-Match",
                        In = ParameterLocation.Header,
                        Description = "The `ETag` of the resource as read (e.g. `W/\"7\"`); 412 when it changed since. Without it the write is unconditional.",
                        Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                        Example = System.Text.Json.Nodes.JsonValue.Create("W/\"7\""),
                    });
                }

                if (metadata.OfType<IdempotentAttribute>().Any())
                {
                    operation.Parameters ??= [];
                    operation.Parameters.Add(new OpenApiParameter
                    {
                        Name = IdempotencyMiddleware.Header,
                        In = ParameterLocation.Header,
                        Description = "A key you choose (1–255 printable ASCII characters, e.g. a UUID): a retry with the same key and the same request gets the first answer again " +
                            "(`Idempotent-Replayed: true`) for 24 hours, without running again; the same key with another request is 422.",
                        Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 255 },
                        Example = System.Text.Json.Nodes.JsonValue.Create("5f0c3e4a-8b1d-4c2e-9a7f-6d5e4c3b2a10"),
                    });
                }

                return Task.CompletedTask;
            });
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Orchestrator API",
                    Version = "1",
                    Description = "Projects, their knowledge, tasks, task actions and analytics. Authenticate with a project API token " +
                        "(`Authorization: Bearer orch_…`, one project), `ORCH_ADMIN_TOKEN`, or a session cookie plus the `X-CSRF-TOKEN` header for writes. " +
                        "Errors are RFC 9457 problem details. Updates take `If-Match` with the `ETag` read (412 when stale); POST actions take `Idempotency-Key`.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "A project API token (`orch_…`, from the project's API page) or ORCH_ADMIN_TOKEN.",
                };
                document.Security ??= [];
                document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] });
                return Task.CompletedTask;
            });
        });

    /// <summary>An entity tag for a version number: <c>W/"7"</c>.</summary>
    /// <param name="version">The version.</param>
    /// <returns>The tag.</returns>
    public static string ETagOf(long version) => $"W/\"{version.ToString(CultureInfo.InvariantCulture)}\"";

    /// <summary>An entity tag for a row's <c>updated_at</c> (microseconds since the Unix epoch, the precision PostgreSQL keeps).</summary>
    /// <param name="updatedAt">The timestamp.</param>
    /// <returns>The tag.</returns>
    public static string ETagOf(DateTimeOffset updatedAt) => ETagOf((updatedAt - DateTimeOffset.UnixEpoch).Ticks / 10);

    /// <summary>The timestamp an <see cref="ETagOf(DateTimeOffset)"/> tag names.</summary>
    /// <param name="version">The tag's number.</param>
    /// <returns>The timestamp.</returns>
    public static DateTimeOffset TimestampOf(long version) => DateTimeOffset.UnixEpoch.AddTicks(version * 10);

    /// <summary>
    /// The version an <c>If-Match</c> header names: <c>null</c> when absent or <c>*</c> (no check); a 400 answer when it is
    /// not one tag this API issued.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <returns>The version or the refusal.</returns>
    public static (long? Version, IResult? Refusal) IfMatch(HttpRequest request)
    {
        var header = request.Headers.IfMatch.ToString().Trim();
        if (header.Length == 0 || header == "*")
        {
            return (null, null);
        }

        if (EntityTagHeaderValue.TryParse(header, out var tag) && tag.Tag.Length > 2
            && long.TryParse(tag.Tag.AsSpan(1, tag.Tag.Length - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            return (version, null);
        }

        return (null, TypedResults.Problem("If-Match must be one ETag this API returned, e.g. W/\"3\".", statusCode: StatusCodes.Status400BadRequest, title: "Bad If-Match"));
    }

    /// <summary>The 412 answer of a stale <c>If-Match</c>.</summary>
    /// <param name="what">What changed.</param>
    /// <param name="current">The current tag.</param>
    /// <returns>The answer.</returns>
    public static IResult Stale(string what, string current) =>
        TypedResults.Problem($"{what} changed since it was read (its ETag is now {current}): read it again and retry.",
            statusCode: StatusCodes.Status412PreconditionFailed, title: "Precondition failed", extensions: new Dictionary<string, object?> { ["etag"] = current });

    /// <summary>A 404 problem.</summary>
    /// <param name="what">What is missing.</param>
    /// <returns>The answer.</returns>
    public static IResult NotFound(string what) => TypedResults.Problem($"No {what}.", statusCode: StatusCodes.Status404NotFound, title: "Not Found");

    /// <summary>A 400 problem listing field errors.</summary>
    /// <param name="errors">Field → message.</param>
    /// <returns>The answer.</returns>
    public static IResult Invalid(IReadOnlyDictionary<string, string> errors) =>
        TypedResults.Problem(string.Join("; ", errors.Select(e => e.Key.Length == 0 ? e.Value : $"{e.Key}: {e.Value}")),
            statusCode: StatusCodes.Status400BadRequest, title: "The request is invalid",
            extensions: new Dictionary<string, object?> { ["errors"] = errors });

    /// <summary>The project check of a v1 endpoint (see <see cref="ApiAuth.ProjectAsync"/>).</summary>
    /// <param name="http">The request.</param>
    /// <param name="slug">The project.</param>
    /// <param name="needed">Lowest role.</param>
    /// <returns>The access and, when refused, the answer.</returns>
    public static Task<(Web.Auth.AccessResult Access, IResult? Refusal)> ProjectAsync(HttpContext http, string slug, ProjectRole needed) =>
        ApiAuth.ProjectAsync(http, slug, needed);

    /// <summary>Documents an endpoint: summary, description and the problem answers it can give.</summary>
    /// <typeparam name="TBuilder">The builder.</typeparam>
    /// <param name="builder">The endpoint.</param>
    /// <param name="summary">One line.</param>
    /// <param name="description">More, optional.</param>
    /// <param name="problems">Problem statuses besides 401.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static TBuilder Doc<TBuilder>(this TBuilder builder, string summary, string? description = null, params int[] problems)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.WithSummary(summary);
        if (description is not null)
        {
            builder.WithDescription(description);
        }

        foreach (var status in problems)
        {
            builder.WithMetadata(Problem(status));
        }

        return builder;
    }

    /// <summary>
    /// Marks a POST that honours <c>Idempotency-Key</c> (<see cref="IdempotencyMiddleware"/>) and documents its header and the
    /// two answers the key itself can cause: 409 (the first request with the key is still running) and 422 (the key was
    /// used for another request).
    /// </summary>
    /// <typeparam name="TBuilder">The builder.</typeparam>
    /// <param name="builder">The endpoint.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static TBuilder Idempotent<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new IdempotentAttribute())
            .WithMetadata(Problem(StatusCodes.Status409Conflict))
            .WithMetadata(Problem(StatusCodes.Status422UnprocessableEntity));

    /// <summary>Marks an update that takes <c>If-Match</c> (<see cref="IfMatch"/>) and documents its header and the 412 of a stale tag.</summary>
    /// <typeparam name="TBuilder">The builder.</typeparam>
    /// <param name="builder">The endpoint.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static TBuilder TakesIfMatch<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new IfMatchAttribute()).WithMetadata(Problem(StatusCodes.Status412PreconditionFailed));

    /// <summary>Marks a POST that takes no body (an action without input): the OpenAPI document then has no request body for it, by design.</summary>
    /// <typeparam name="TBuilder">The builder.</typeparam>
    /// <param name="builder">The endpoint.</param>
    /// <returns><paramref name="builder"/>.</returns>
    public static TBuilder WithoutBody<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new NoRequestBodyAttribute());

    private static ProducesResponseTypeMetadata Problem(int status) =>
        new(status, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), ["application/problem+json"]);
}

/// <summary>Marks an endpoint that reads <c>If-Match</c> (optimistic concurrency; see <see cref="ApiV1.TakesIfMatch{TBuilder}"/>).</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class IfMatchAttribute : Attribute;

/// <summary>Marks a POST that takes no request body (see <see cref="ApiV1.WithoutBody{TBuilder}"/>).</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class NoRequestBodyAttribute : Attribute;

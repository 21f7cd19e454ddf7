using System.Text.Json.Serialization;
using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Knowledge;

namespace Orchestrator.Functions.Functions.V1;

/// <summary>A link of a project's knowledge.</summary>
/// <param name="Id">Id.</param>
/// <param name="Title">Title (1–200 characters).</param>
/// <param name="Url">http(s) URL without user name or password.</param>
/// <param name="UpdatedAt">Last change (the <c>ETag</c>).</param>
public sealed record LinkResource([property: JsonPropertyName("id")] long Id, [property: JsonPropertyName("title")] string Title, [property: JsonPropertyName("url")] string Url, [property: JsonPropertyName("updated_at")] DateTimeOffset UpdatedAt);

/// <summary>A link to add or replace.</summary>
/// <param name="Title">Title.</param>
/// <param name="Url">URL.</param>
public sealed record LinkWrite([property: JsonPropertyName("title")] string? Title, [property: JsonPropertyName("url")] string? Url);

/// <summary>A contact of a project.</summary>
/// <param name="Id">Id.</param>
/// <param name="Name">Name.</param>
/// <param name="Role">Role (may be empty).</param>
/// <param name="Reach">How to reach them.</param>
/// <param name="UpdatedAt">Last change.</param>
public sealed record ContactResource([property: JsonPropertyName("id")] long Id, [property: JsonPropertyName("name")] string Name, [property: JsonPropertyName("role")] string Role, [property: JsonPropertyName("reach")] string Reach, [property: JsonPropertyName("updated_at")] DateTimeOffset UpdatedAt);

/// <summary>A contact to add or replace.</summary>
/// <param name="Name">Name.</param>
/// <param name="Role">Role.</param>
/// <param name="Reach">How to reach them.</param>
public sealed record ContactWrite([property: JsonPropertyName("name")] string? Name, [property: JsonPropertyName("role")] string? Role, [property: JsonPropertyName("reach")] string? Reach);

/// <summary>A Markdown knowledge note.</summary>
/// <param name="Id">Id.</param>
/// <param name="Title">Title.</param>
/// <param name="Body">Markdown (at most 20,000 characters).</param>
/// <param name="UpdatedAt">Last change.</param>
public sealed record NoteResource([property: JsonPropertyName("id")] long Id, [property: JsonPropertyName("title")] string Title, [property: JsonPropertyName("body")] string Body, [property: JsonPropertyName("updated_at")] DateTimeOffset UpdatedAt);

/// <summary>A note to add or replace.</summary>
/// <param name="Title">Title.</param>
/// <param name="Body">Markdown.</param>
public sealed record NoteWrite([property: JsonPropertyName("title")] string? Title, [property: JsonPropertyName("body")] string? Body);

/// <summary>A list of items.</summary>
/// <typeparam name="T">The item type.</typeparam>
/// <param name="Items">The items, in the order added.</param>
public sealed record ItemList<T>([property: JsonPropertyName("items")] IReadOnlyList<T> Items);

/// <summary>
/// <c>/api/v1/projects/{slug}/links|contacts|notes</c>: the project's knowledge (the "Project context" of every TaskSpec).
/// Viewers read; editors add, replace (with <c>If-Match</c>) and delete.
/// </summary>
public static class KnowledgeV1
{
    /// <summary>Maps the endpoints.</summary>
    /// <param name="v1">The <c>/api/v1</c> group.</param>
    public static void MapKnowledgeV1(this RouteGroupBuilder v1)
    {
        var group = v1.MapGroup("/projects/{slug}").WithTags("Knowledge");
        Map<LinkResource, LinkWrite>(group, "links", "link",
            k => k.Links.Select(l => new LinkResource(l.Id, l.Title, l.Url, l.UpdatedAt)),
            (s, slug, w, ct) => s.AddLinkAsync(slug, w.Title, w.Url, ct),
            (s, slug, id, w, expected, ct) => s.UpdateLinkAsync(slug, id, w.Title, w.Url, ct, expected),
            (s, slug, id, ct) => s.DeleteLinkAsync(slug, id, ct));
        Map<ContactResource, ContactWrite>(group, "contacts", "contact",
            k => k.Contacts.Select(c => new ContactResource(c.Id, c.Name, c.Role, c.Reach, c.UpdatedAt)),
            (s, slug, w, ct) => s.AddContactAsync(slug, w.Name, w.Role, w.Reach, ct),
            (s, slug, id, w, expected, ct) => s.UpdateContactAsync(slug, id, w.Name, w.Role, w.Reach, ct, expected),
            (s, slug, id, ct) => s.DeleteContactAsync(slug, id, ct));
        Map<NoteResource, NoteWrite>(group, "notes", "note",
            k => k.Notes.Select(n => new NoteResource(n.Id, n.Title, n.Body, n.UpdatedAt)),
            (s, slug, w, ct) => s.AddNoteAsync(slug, w.Title, w.Body, ct),
            (s, slug, id, w, expected, ct) => s.UpdateNoteAsync(slug, id, w.Title, w.Body, ct, expected),
            (s, slug, id, ct) => s.DeleteNoteAsync(slug, id, ct));
    }

    private static void Map<TResource, TWrite>(
        RouteGroupBuilder group,
        string path,
        string noun,
        Func<ProjectKnowledge, IEnumerable<TResource>> pick,
        Func<KnowledgeStore, string, TWrite, CancellationToken, Task<long>> add,
        Func<KnowledgeStore, string, long, TWrite, DateTimeOffset?, CancellationToken, Task<bool>> update,
        Func<KnowledgeStore, string, long, CancellationToken, Task<bool>> delete)
        where TWrite : class
    {
        static long IdOf(TResource item) => item switch
        {
            LinkResource l => l.Id,
            ContactResource c => c.Id,
            NoteResource n => n.Id,
            _ => throw new InvalidOperationException(),
        };

        static DateTimeOffset UpdatedOf(TResource item) => item switch
        {
            LinkResource l => l.UpdatedAt,
            ContactResource c => c.UpdatedAt,
            NoteResource n => n.UpdatedAt,
            _ => throw new InvalidOperationException(),
        };

        async Task<TResource?> FindAsync(KnowledgeStore store, string slug, long id, CancellationToken ct) =>
            pick(await store.GetAsync(slug, ct)).FirstOrDefault(i => IdOf(i) == id);

        group.MapGet($"/{path}", async (HttpContext http, KnowledgeStore store, string slug, CancellationToken ct) =>
            (await ApiV1.ProjectAsync(http, slug, ProjectRole.Viewer)).Refusal ?? TypedResults.Ok(new ItemList<TResource>(pick(await store.GetAsync(slug, ct)).ToList())))
            .Doc($"List the project's {path}", null, 404).Produces<ItemList<TResource>>();

        group.MapGet($"/{path}/{{id:long}}", async (HttpContext http, KnowledgeStore store, string slug, long id, CancellationToken ct) =>
        {
            if ((await ApiV1.ProjectAsync(http, slug, ProjectRole.Viewer)).Refusal is { } refusal)
            {
                return refusal;
            }

            if (await FindAsync(store, slug, id, ct) is not { } item)
            {
                return ApiV1.NotFound($"{noun} {id}");
            }

            http.Response.Headers.ETag = ApiV1.ETagOf(UpdatedOf(item));
            return TypedResults.Ok(item);
        }).Doc($"Get one {noun}", "The `ETag` header is the value for `If-Match`.", 404).Produces<TResource>();

        group.MapPost($"/{path}", async (HttpContext http, KnowledgeStore store, string slug, TWrite body, CancellationToken ct) =>
        {
            if ((await ApiV1.ProjectAsync(http, slug, ProjectRole.Editor)).Refusal is { } refusal)
            {
                return refusal;
            }

            try
            {
                var id = await add(store, slug, body, ct);
                var item = (await FindAsync(store, slug, id, ct))!;
                http.Response.Headers.ETag = ApiV1.ETagOf(UpdatedOf(item));
                return TypedResults.Created($"/api/v1/projects/{Uri.EscapeDataString(slug)}/{path}/{id}", item);
            }
            catch (KnowledgeValidationException ex)
            {
                return ApiV1.Invalid(ex.Errors);
            }
        }).Idempotent().Doc($"Add a {noun}", "Editors. Honours `Idempotency-Key`.", 400, 403, 404).Produces<TResource>(StatusCodes.Status201Created);

        group.MapPut($"/{path}/{{id:long}}", async (HttpContext http, KnowledgeStore store, string slug, long id, TWrite body, CancellationToken ct) =>
        {
            if ((await ApiV1.ProjectAsync(http, slug, ProjectRole.Editor)).Refusal is { } refusal)
            {
                return refusal;
            }

            var (expected, badTag) = ApiV1.IfMatch(http.Request);
            if (badTag is not null)
            {
                return badTag;
            }

            try
            {
                if (!await update(store, slug, id, body, expected is { } v ? ApiV1.TimestampOf(v) : null, ct))
                {
                    return await FindAsync(store, slug, id, ct) is { } current
                        ? ApiV1.Stale($"{noun} {id}", ApiV1.ETagOf(UpdatedOf(current)))
                        : ApiV1.NotFound($"{noun} {id}");
                }

                var item = (await FindAsync(store, slug, id, ct))!;
                http.Response.Headers.ETag = ApiV1.ETagOf(UpdatedOf(item));
                return TypedResults.Ok(item);
            }
            catch (KnowledgeValidationException ex)
            {
                return ApiV1.Invalid(ex.Errors);
            }
        }).TakesIfMatch().Doc($"Replace a {noun}", "Editors. `If-Match` with the ETag read; 412 when stale.", 400, 403, 404).Produces<TResource>();

        group.MapDelete($"/{path}/{{id:long}}", async (HttpContext http, KnowledgeStore store, string slug, long id, CancellationToken ct) =>
            (await ApiV1.ProjectAsync(http, slug, ProjectRole.Editor)).Refusal
            ?? (await delete(store, slug, id, ct) ? TypedResults.NoContent() : ApiV1.NotFound($"{noun} {id}")))
            .Doc($"Delete a {noun}", "Editors.", 403, 404).Produces(StatusCodes.Status204NoContent);
    }
}

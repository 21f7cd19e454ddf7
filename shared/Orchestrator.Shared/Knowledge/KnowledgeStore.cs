using Npgsql;
using Orchestrator.Shared.TaskSpecs;

namespace Orchestrator.Shared.Knowledge;

/// <summary>A link of a project (tables of migration 0009).</summary>
/// <param name="Id">Row id.</param>
/// <param name="Title">One line, 1–<see cref="KnowledgeRules.MaxTitle"/> characters.</param>
/// <param name="Url">Absolute http(s) URL without credentials, at most <see cref="KnowledgeRules.MaxUrl"/> characters.</param>
/// <param name="UpdatedAt">Last change.</param>
public sealed record ProjectLink(long Id, string Title, string Url, DateTimeOffset UpdatedAt);

/// <summary>A contact of a project.</summary>
/// <param name="Id">Row id.</param>
/// <param name="Name">One line, 1–<see cref="KnowledgeRules.MaxName"/> characters.</param>
/// <param name="Role">One line, at most <see cref="KnowledgeRules.MaxRole"/> characters, possibly empty.</param>
/// <param name="Reach">How to reach them, one line, 1–<see cref="KnowledgeRules.MaxReach"/> characters.</param>
/// <param name="UpdatedAt">Last change.</param>
public sealed record ProjectContact(long Id, string Name, string Role, string Reach, DateTimeOffset UpdatedAt);

/// <summary>A Markdown note of a project.</summary>
/// <param name="Id">Row id.</param>
/// <param name="Title">One line, 1–<see cref="KnowledgeRules.MaxTitle"/> characters.</param>
/// <param name="Body">Markdown (LF line ends), 1–<see cref="KnowledgeRules.MaxNoteBody"/> characters.</param>
/// <param name="UpdatedAt">Last change.</param>
public sealed record ProjectNote(long Id, string Title, string Body, DateTimeOffset UpdatedAt);

/// <summary>Everything a project knows about itself, each kind in the order it was added.</summary>
/// <param name="Links">Links.</param>
/// <param name="Contacts">Contacts.</param>
/// <param name="Notes">Notes.</param>
public sealed record ProjectKnowledge(IReadOnlyList<ProjectLink> Links, IReadOnlyList<ProjectContact> Contacts, IReadOnlyList<ProjectNote> Notes)
{
    /// <summary>What the TaskSpec carries of it (<see cref="TaskSpecBuilder"/>'s "Project context").</summary>
    /// <returns>The context.</returns>
    public ProjectContext ToTaskSpecContext() => new(
        [.. Links.Select(l => new ContextLink(l.Title, l.Url))],
        [.. Contacts.Select(c => new ContextContact(c.Name, c.Role, c.Reach))],
        [.. Notes.Select(n => new ContextNote(n.Title, n.Body))]);
}

/// <summary>Input the knowledge rules refuse; <see cref="Errors"/> name the field and say what is wrong. Nothing was written.</summary>
public sealed class KnowledgeValidationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errors">Field (<c>title</c>, <c>url</c>, <c>name</c>, <c>role</c>, <c>reach</c>, <c>body</c>, or <c>""</c> for the whole item) → message.</param>
    public KnowledgeValidationException(IReadOnlyDictionary<string, string> errors)
        : base(string.Join("; ", errors.Select(e => e.Key.Length == 0 ? e.Value : $"{e.Key}: {e.Value}")))
    {
        Errors = errors;
    }

    /// <summary>Field → message.</summary>
    public IReadOnlyDictionary<string, string> Errors { get; }
}

/// <summary>
/// What a link, contact or note may hold: sizes are capped (a TaskSpec carries all of it), one-line fields have no line
/// breaks or control characters, URLs are absolute http(s) without a user name or password (they end up in issues).
/// Values are trimmed; note bodies get LF line ends.
/// </summary>
public static class KnowledgeRules
{
    /// <summary>Longest title (links, notes).</summary>
    public const int MaxTitle = 200;

    /// <summary>Longest URL.</summary>
    public const int MaxUrl = 2048;

    /// <summary>Longest contact name.</summary>
    public const int MaxName = 200;

    /// <summary>Longest contact role.</summary>
    public const int MaxRole = 200;

    /// <summary>Longest "how to reach".</summary>
    public const int MaxReach = 500;

    /// <summary>Longest note body.</summary>
    public const int MaxNoteBody = 20_000;

    /// <summary>Most links, contacts or notes a project holds (each kind).</summary>
    public const int MaxPerKind = 100;

    /// <summary>Checks and normalises a link.</summary>
    /// <param name="title">Title.</param>
    /// <param name="url">URL.</param>
    /// <returns>The trimmed values.</returns>
    /// <exception cref="KnowledgeValidationException">Something is wrong; every problem is listed.</exception>
    public static (string Title, string Url) Link(string? title, string? url)
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        var t = Line(errors, "title", title, MaxTitle, required: true);
        var u = Line(errors, "url", url, MaxUrl, required: true);
        if (!errors.ContainsKey("url"))
        {
            if (!Uri.TryCreate(u, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps) || parsed.Host.Length == 0)
            {
                errors["url"] = "Enter an absolute http:// or https:// URL.";
            }
            else if (parsed.UserInfo.Length > 0)
            {
                errors["url"] = "Leave the user name and password out of the URL: it is copied into every TaskSpec.";
            }
        }

        ThrowIfAny(errors);
        return (t, u);
    }

    /// <summary>Checks and normalises a contact.</summary>
    /// <param name="name">Name.</param>
    /// <param name="role">Role (optional).</param>
    /// <param name="reach">How to reach them.</param>
    /// <returns>The trimmed values.</returns>
    /// <exception cref="KnowledgeValidationException">Something is wrong; every problem is listed.</exception>
    public static (string Name, string Role, string Reach) Contact(string? name, string? role, string? reach)
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        var result = (Line(errors, "name", name, MaxName, required: true), Line(errors, "role", role, MaxRole, required: false), Line(errors, "reach", reach, MaxReach, required: true));
        ThrowIfAny(errors);
        return result;
    }

    /// <summary>Checks and normalises a note.</summary>
    /// <param name="title">Title.</param>
    /// <param name="body">Markdown.</param>
    /// <returns>The trimmed title and the body with LF line ends, trailing whitespace trimmed.</returns>
    /// <exception cref="KnowledgeValidationException">Something is wrong; every problem is listed.</exception>
    public static (string Title, string Body) Note(string? title, string? body)
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        var t = Line(errors, "title", title, MaxTitle, required: true);
        var b = (body ?? "").Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').TrimEnd();
        if (b.Trim().Length == 0)
        {
            errors["body"] = "Write the note.";
        }
        else if (b.Length > MaxNoteBody)
        {
            errors["body"] = $"A note holds at most {MaxNoteBody:N0} characters; this one has {b.Length:N0}.";
        }
        else if (b.Any(c => char.IsControl(c) && c is not ('\n' or '\t')))
        {
            errors["body"] = "The note contains control characters; remove them.";
        }

        ThrowIfAny(errors);
        return (t, b);
    }

    private static string Line(Dictionary<string, string> errors, string field, string? value, int max, bool required)
    {
        var v = (value ?? "").Trim();
        if (v.Length == 0)
        {
            if (required)
            {
                errors[field] = "Required.";
            }
        }
        else if (v.Length > max)
        {
            errors[field] = $"At most {max} characters; this has {v.Length}.";
        }
        else if (v.Any(char.IsControl))
        {
            errors[field] = "One line, without line breaks or control characters.";
        }

        return v;
    }

    private static void ThrowIfAny(Dictionary<string, string> errors)
    {
        if (errors.Count > 0)
        {
            throw new KnowledgeValidationException(errors);
        }
    }
}

/// <summary>
/// A project's links, contacts and notes in PostgreSQL (<c>project_links</c>, <c>project_contacts</c>, <c>project_notes</c>;
/// migration 0009). Every write is checked by <see cref="KnowledgeRules"/> first and addresses rows by project and id, so
/// an id of another project is "not found". Rows go with their project.
/// </summary>
public sealed class KnowledgeStore(NpgsqlDataSource db, TimeProvider clock)
{
    /// <summary>The project's knowledge (three small queries in one round trip).</summary>
    /// <param name="projectSlug">Project.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Links, contacts and notes, each in the order added.</returns>
    public async Task<ProjectKnowledge> GetAsync(string projectSlug, CancellationToken cancellationToken = default)
    {
        await using var batch = db.CreateBatch();
        foreach (var sql in new[]
        {
            "SELECT id, title, url, updated_at FROM project_links WHERE project_slug = @slug ORDER BY id",
            "SELECT id, name, role, reach, updated_at FROM project_contacts WHERE project_slug = @slug ORDER BY id",
            "SELECT id, title, body, updated_at FROM project_notes WHERE project_slug = @slug ORDER BY id",
        })
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.AddWithValue("slug", projectSlug);
            batch.BatchCommands.Add(command);
        }

        var links = new List<ProjectLink>();
        var contacts = new List<ProjectContact>();
        var notes = new List<ProjectNote>();
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            links.Add(new ProjectLink(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }

        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            contacts.Add(new ProjectContact(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4)));
        }

        await reader.NextResultAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            notes.Add(new ProjectNote(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }

        return new ProjectKnowledge(links, contacts, notes);
    }

    /// <summary>Adds a link.</summary>
    /// <param name="projectSlug">An existing project.</param>
    /// <param name="title">Title.</param>
    /// <param name="url">http(s) URL.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The new row's id.</returns>
    /// <exception cref="KnowledgeValidationException">Invalid input, or the project holds <see cref="KnowledgeRules.MaxPerKind"/> links already.</exception>
    public Task<long> AddLinkAsync(string projectSlug, string? title, string? url, CancellationToken cancellationToken = default)
    {
        var (t, u) = KnowledgeRules.Link(title, url);
        return InsertAsync("project_links", "links", projectSlug, ["title", "url"], [t, u], cancellationToken);
    }

    /// <summary>Changes a link.</summary>
    /// <param name="projectSlug">Project.</param>
    /// <param name="id">Link id.</param>
    /// <param name="title">Title.</param>
    /// <param name="url">http(s) URL.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>false</c> when the project has no such link.</returns>
    /// <exception cref="KnowledgeValidationException">Invalid input.</exception>
    /// <param name="expectedUpdatedAt">When set, the change applies only while the row's <c>updated_at</c> is still this (optimistic concurrency: <c>If-Match</c>); <c>false</c> otherwise.</param>
    public Task<bool> UpdateLinkAsync(string projectSlug, long id, string? title, string? url, CancellationToken cancellationToken = default, DateTimeOffset? expectedUpdatedAt = null)
    {
        var (t, u) = KnowledgeRules.Link(title, url);
        return UpdateAsync("project_links", projectSlug, id, ["title", "url"], [t, u], cancellationToken, expectedUpdatedAt);
    }

    /// <summary>Adds a contact.</summary>
    /// <param name="projectSlug">An existing project.</param>
    /// <param name="name">Name.</param>
    /// <param name="role">Role (optional).</param>
    /// <param name="reach">How to reach them.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The new row's id.</returns>
    /// <exception cref="KnowledgeValidationException">Invalid input, or the project holds <see cref="KnowledgeRules.MaxPerKind"/> contacts already.</exception>
    public Task<long> AddContactAsync(string projectSlug, string? name, string? role, string? reach, CancellationToken cancellationToken = default)
    {
        var (n, r, h) = KnowledgeRules.Contact(name, role, reach);
        return InsertAsync("project_contacts", "contacts", projectSlug, ["name", "role", "reach"], [n, r, h], cancellationToken);
    }

    /// <summary>Changes a contact.</summary>
    /// <param name="projectSlug">Project.</param>
    /// <param name="id">Contact id.</param>
    /// <param name="name">Name.</param>
    /// <param name="role">Role (optional).</param>
    /// <param name="reach">How to reach them.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>false</c> when the project has no such contact.</returns>
    /// <exception cref="KnowledgeValidationException">Invalid input.</exception>
    /// <param name="expectedUpdatedAt">When set, the change applies only while the row's <c>updated_at</c> is still this (optimistic concurrency: <c>If-Match</c>); <c>false</c> otherwise.</param>
    public Task<bool> UpdateContactAsync(string projectSlug, long id, string? name, string? role, string? reach, CancellationToken cancellationToken = default, DateTimeOffset? expectedUpdatedAt = null)
    {
        var (n, r, h) = KnowledgeRules.Contact(name, role, reach);
        return UpdateAsync("project_contacts", projectSlug, id, ["name", "role", "reach"], [n, r, h], cancellationToken, expectedUpdatedAt);
    }

    /// <summary>Adds a note.</summary>
    /// <param name="projectSlug">An existing project.</param>
    /// <param name="title">Title.</param>
    /// <param name="body">Markdown.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The new row's id.</returns>
    /// <exception cref="KnowledgeValidationException">Invalid input, or the project holds <see cref="KnowledgeRules.MaxPerKind"/> notes already.</exception>
    public Task<long> AddNoteAsync(string projectSlug, string? title, string? body, CancellationToken cancellationToken = default)
    {
        var (t, b) = KnowledgeRules.Note(title, body);
        return InsertAsync("project_notes", "notes", projectSlug, ["title", "body"], [t, b], cancellationToken);
    }

    /// <summary>Changes a note.</summary>
    /// <param name="projectSlug">Project.</param>
    /// <param name="id">Note id.</param>
    /// <param name="title">Title.</param>
    /// <param name="body">Markdown.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>false</c> when the project has no such note.</returns>
    /// <exception cref="KnowledgeValidationException">Invalid input.</exception>
    /// <param name="expectedUpdatedAt">When set, the change applies only while the row's <c>updated_at</c> is still this (optimistic concurrency: <c>If-Match</c>); <c>false</c> otherwise.</param>
    public Task<bool> UpdateNoteAsync(string projectSlug, long id, string? title, string? body, CancellationToken cancellationToken = default, DateTimeOffset? expectedUpdatedAt = null)
    {
        var (t, b) = KnowledgeRules.Note(title, body);
        return UpdateAsync("project_notes", projectSlug, id, ["title", "body"], [t, b], cancellationToken, expectedUpdatedAt);
    }

    /// <summary>Deletes a link.</summary>
    /// <param name="projectSlug">Project.</param>
    /// <param name="id">Link id.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>false</c> when the project has no such link.</returns>
    public Task<bool> DeleteLinkAsync(string projectSlug, long id, CancellationToken cancellationToken = default) => DeleteAsync("project_links", projectSlug, id, cancellationToken);

    /// <summary>Deletes a contact.</summary>
    /// <param name="projectSlug">Project.</param>
    /// <param name="id">Contact id.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>false</c> when the project has no such contact.</returns>
    public Task<bool> DeleteContactAsync(string projectSlug, long id, CancellationToken cancellationToken = default) => DeleteAsync("project_contacts", projectSlug, id, cancellationToken);

    /// <summary>Deletes a note.</summary>
    /// <param name="projectSlug">Project.</param>
    /// <param name="id">Note id.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>false</c> when the project has no such note.</returns>
    public Task<bool> DeleteNoteAsync(string projectSlug, long id, CancellationToken cancellationToken = default) => DeleteAsync("project_notes", projectSlug, id, cancellationToken);

    // Table and column names below are constants of this class, never input.
    private async Task<long> InsertAsync(string table, string kind, string projectSlug, string[] columns, string[] values, CancellationToken cancellationToken)
    {
        var names = string.Join(", ", columns);
        var parameters = string.Join(", ", columns.Select(c => "@" + c));
        await using var command = db.CreateCommand($"""
            INSERT INTO {table} (project_slug, {names}, created_at, updated_at)
            SELECT @slug, {parameters}, @now, @now
            WHERE (SELECT count(*) FROM {table} WHERE project_slug = @slug) < @max
            RETURNING id
            """);
        command.Parameters.AddWithValue("slug", projectSlug);
        for (var i = 0; i < columns.Length; i++)
        {
            command.Parameters.AddWithValue(columns[i], values[i]);
        }

        command.Parameters.AddWithValue("now", clock.GetUtcNow());
        command.Parameters.AddWithValue("max", (long)KnowledgeRules.MaxPerKind);
        return await command.ExecuteScalarAsync(cancellationToken) is long id
            ? id
            : throw new KnowledgeValidationException(new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [""] = $"A project holds at most {KnowledgeRules.MaxPerKind} {kind}; delete one first.",
            });
    }

    private async Task<bool> UpdateAsync(string table, string projectSlug, long id, string[] columns, string[] values, CancellationToken cancellationToken, DateTimeOffset? expectedUpdatedAt = null)
    {
        var sets = string.Join(", ", columns.Select(c => $"{c} = @{c}"));
        await using var command = db.CreateCommand(
            $"UPDATE {table} SET {sets}, updated_at = @now WHERE project_slug = @slug AND id = @id" + (expectedUpdatedAt is null ? "" : " AND updated_at = @expected"));
        if (expectedUpdatedAt is { } expected)
        {
            command.Parameters.AddWithValue("expected", expected);
        }

        for (var i = 0; i < columns.Length; i++)
        {
            command.Parameters.AddWithValue(columns[i], values[i]);
        }

        command.Parameters.AddWithValue("now", clock.GetUtcNow());
        command.Parameters.AddWithValue("slug", projectSlug);
        command.Parameters.AddWithValue("id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private async Task<bool> DeleteAsync(string table, string projectSlug, long id, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand($"DELETE FROM {table} WHERE project_slug = @slug AND id = @id");
        command.Parameters.AddWithValue("slug", projectSlug);
        command.Parameters.AddWithValue("id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }
}

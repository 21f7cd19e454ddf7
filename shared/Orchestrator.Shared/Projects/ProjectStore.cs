using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Orchestrator.Shared.Platform;

namespace Orchestrator.Shared.Projects;

/// <summary>
/// Projects in PostgreSQL (tables <c>projects</c>, <c>asana_webhooks</c>, <c>task_sequences</c>; migration 0005).
/// The definition is stored as JSON (<see cref="ProjectJson"/>); secrets as <c>{name: envelope}</c> encrypted by
/// <see cref="SecretProtector"/> with the context <c>"{slug}/{name}"</c> — never plaintext.
/// <para>
/// Reads by slug, tracker project and repo are cached in memory for <see cref="CacheDuration"/> (the webhook path
/// calls them per delivery); this process's writes clear the cache at once, other hosts' writes show within the
/// cache duration. Writes take a transaction-scoped advisory lock, so they are serialised across hosts.
/// </para>
/// </summary>
public sealed class ProjectStore
{
    private const string AsanaSecretPrefix = "asana_webhook/";

    private readonly NpgsqlDataSource _db;
    private readonly OutboundPolicy? _outbound;
    private readonly SecretProtector _protector;
    private readonly TimeProvider _clock;
    private readonly IReadOnlyCollection<string>? _knownAgents;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, (long ExpiresAt, object? Value)> _cache = new(StringComparer.Ordinal);
    private long _generation;

    /// <summary>Creates the store.</summary>
    /// <param name="db">The orchestrator database (migrated).</param>
    /// <param name="protector">Encrypts and decrypts secrets.</param>
    /// <param name="clock">"Now" for timestamps and handshake windows.</param>
    /// <param name="knownAgents">Agent names of <c>ORCH_AGENTS_JSON</c> for <see cref="ProjectDefinition.Validate"/>; <c>null</c> skips that check.</param>
    /// <param name="logger">Logs changes (slug and version only).</param>
    /// <param name="cacheDuration">How long reads are cached (default 5 s; <see cref="TimeSpan.Zero"/> disables the cache).</param>
    /// <param name="outbound">Checks every URL a project is saved with (<see cref="OutboundPolicy.CheckUrlAsync"/>; refusals are <see cref="ProjectRuleException"/>); <c>null</c> = no check.</param>
    public ProjectStore(
        NpgsqlDataSource db,
        SecretProtector protector,
        TimeProvider clock,
        IReadOnlyCollection<string>? knownAgents = null,
        ILogger<ProjectStore>? logger = null,
        TimeSpan? cacheDuration = null,
        OutboundPolicy? outbound = null)
    {
        _outbound = outbound;
        _db = db;
        _protector = protector;
        _clock = clock;
        _knownAgents = knownAgents;
        _log = logger ?? (ILogger)NullLogger.Instance;
        CacheDuration = cacheDuration ?? TimeSpan.FromSeconds(5);
    }

    /// <summary>How long a read is served from memory.</summary>
    public TimeSpan CacheDuration { get; }

    /// <summary>The project <paramref name="slug"/>, or <c>null</c>.</summary>
    /// <param name="slug">Project slug.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The project with decrypted secrets, or <c>null</c>.</returns>
    /// <exception cref="SecretDecryptionException">A stored secret does not decrypt with this host's master key.</exception>
    public Task<StoredProject?> GetAsync(string slug, CancellationToken cancellationToken = default) =>
        CachedAsync("get:" + slug, async () =>
        {
            await using var command = _db.CreateCommand("SELECT definition::text, secrets::text, version, created_at, updated_at FROM projects WHERE slug = @slug");
            command.Parameters.AddWithValue("slug", slug);
            return (await ReadAllAsync(command, cancellationToken)).SingleOrDefault();
        });

    /// <summary>Every project, by slug.</summary>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The projects (not cached).</returns>
    /// <exception cref="SecretDecryptionException">A stored secret does not decrypt with this host's master key.</exception>
    public async Task<IReadOnlyList<StoredProject>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var command = _db.CreateCommand("SELECT definition::text, secrets::text, version, created_at, updated_at FROM projects ORDER BY slug");
        return await ReadAllAsync(command, cancellationToken);
    }

    /// <summary>
    /// The project whose tracker is <paramref name="trackerKind"/> and lists <paramref name="trackerProjectId"/> in
    /// <c>tracker.project_ids</c> (exact match; a tracker project belongs to at most one project, which writes enforce).
    /// </summary>
    /// <param name="trackerKind"><c>plane</c> or <c>asana</c>.</param>
    /// <param name="trackerProjectId">Plane project UUID or Asana project gid.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The project, or <c>null</c>.</returns>
    public Task<StoredProject?> FindByTrackerProjectAsync(string trackerKind, string trackerProjectId, CancellationToken cancellationToken = default) =>
        CachedAsync($"tracker:{trackerKind}:{trackerProjectId}", async () =>
        {
            // "?" on the indexed expression uses the GIN index projects_tracker_ids.
            await using var command = _db.CreateCommand("""
                SELECT definition::text, secrets::text, version, created_at, updated_at FROM projects
                WHERE definition -> 'tracker' -> 'project_ids' ? @id AND definition -> 'tracker' ->> 'kind' = @kind
                ORDER BY slug LIMIT 1
                """);
            command.Parameters.AddWithValue("id", trackerProjectId);
            command.Parameters.AddWithValue("kind", trackerKind);
            return (await ReadAllAsync(command, cancellationToken)).FirstOrDefault();
        });

    /// <summary>The projects whose forge is <paramref name="forgeKind"/> and lists <paramref name="repo"/> (case-insensitive) in <c>forge.repos</c>.</summary>
    /// <param name="forgeKind"><c>github</c> or <c>gitea</c>.</param>
    /// <param name="repo"><c>owner/name</c>, any case.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Matching projects by slug (several projects may share a repo), possibly empty.</returns>
    public Task<IReadOnlyList<StoredProject>> FindByRepoAsync(string forgeKind, string repo, CancellationToken cancellationToken = default) =>
        CachedAsync<IReadOnlyList<StoredProject>>($"repo:{forgeKind}:{repo.Trim().ToLowerInvariant()}", async () =>
        {
            await using var command = _db.CreateCommand("""
                SELECT definition::text, secrets::text, version, created_at, updated_at FROM projects
                WHERE definition -> 'forge' ->> 'kind' = @kind
                  AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(definition -> 'forge' -> 'repos') r WHERE lower(r) = @repo)
                ORDER BY slug
                """);
            command.Parameters.AddWithValue("kind", forgeKind);
            command.Parameters.AddWithValue("repo", repo.Trim().ToLowerInvariant());
            return await ReadAllAsync(command, cancellationToken);
        });

    /// <summary>Creates a project.</summary>
    /// <param name="definition">The definition (validated).</param>
    /// <param name="secrets">Secrets by <see cref="ProjectSecretNames"/> name; <c>null</c> or <c>""</c> values are skipped.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The stored project (version 1).</returns>
    /// <exception cref="ProjectValidationException">The definition is invalid or a secret name is unknown.</exception>
    /// <exception cref="ProjectConflictException">The slug is taken or a tracker project belongs to another project.</exception>
    /// <exception cref="ProjectRuleException">A URL the outbound policy refuses.</exception>
    public async Task<StoredProject> CreateAsync(ProjectDefinition definition, IReadOnlyDictionary<string, string?> secrets, CancellationToken cancellationToken = default)
    {
        ThrowIfInvalid(definition, secrets);
        await ThrowIfOutboundRefusedAsync(definition, cancellationToken);
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await LockWritesAsync(connection, cancellationToken);
        var created = await InsertAsync(connection, definition, secrets, cancellationToken)
            ?? throw new ProjectConflictException($"A project with slug '{definition.Slug}' already exists.");
        await tx.CommitAsync(cancellationToken);
        Invalidate();
        _log.LogInformation("Project {Slug} created (version {Version})", created.Slug, created.Version);
        return created;
    }

    /// <summary>Replaces a project's definition and changes its secrets.</summary>
    /// <param name="slug">The project (path slug); <paramref name="definition"/>'s slug must be the same.</param>
    /// <param name="definition">The full new definition (validated).</param>
    /// <param name="secretChanges">Name absent = keep, <c>null</c> or <c>""</c> = remove, a value = set; <c>null</c> = keep all.</param>
    /// <param name="expectedVersion">The version the caller read; <c>null</c> = no check.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The stored project (version + 1), or <c>null</c> when there is no project <paramref name="slug"/>.</returns>
    /// <exception cref="ProjectValidationException">Invalid definition, a changed slug or an unknown secret name.</exception>
    /// <exception cref="ProjectConflictException">The version is not <paramref name="expectedVersion"/>, or a tracker project belongs to another project.</exception>
    /// <exception cref="ProjectRuleException">
    /// A URL the outbound policy refuses, or a connection whose platform or URL changed while its stored token was not given
    /// again (<see cref="UnboundSecrets"/>: a token is bound to the URL it was entered for).
    /// </exception>
    public async Task<StoredProject?> UpdateAsync(
        string slug,
        ProjectDefinition definition,
        IReadOnlyDictionary<string, string?>? secretChanges,
        long? expectedVersion,
        CancellationToken cancellationToken = default)
    {
        var errors = new List<string>();
        if (!string.Equals(slug, definition.Slug, StringComparison.Ordinal))
        {
            errors.Add($"slug '{definition.Slug}' does not match the project '{slug}' (a slug cannot change; create a new project instead)");
        }

        errors.AddRange(ValidationErrors(definition, secretChanges));
        if (errors.Count > 0)
        {
            throw new ProjectValidationException(errors);
        }

        await ThrowIfOutboundRefusedAsync(definition, cancellationToken);

        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await LockWritesAsync(connection, cancellationToken);
        var current = await LoadForUpdateAsync(connection, slug, cancellationToken);
        if (current is null)
        {
            return null;
        }

        if (expectedVersion is { } expected && expected != current.Version)
        {
            throw new ProjectConflictException($"Project '{slug}' is at version {current.Version}, not {expected}: it changed since it was read. Read it again and retry.");
        }

        var updated = await WriteUpdateAsync(connection, current, definition, secretChanges, force: true, cancellationToken, refuseUnboundSecrets: true);
        await tx.CommitAsync(cancellationToken);
        Invalidate();
        _log.LogInformation("Project {Slug} updated (version {Version})", slug, updated.Version);
        return updated;
    }

    /// <summary>Deletes a project and its Asana webhook rows (its task sequence numbers stay reserved).</summary>
    /// <param name="slug">Project slug.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>true</c> when it existed.</returns>
    public async Task<bool> DeleteAsync(string slug, CancellationToken cancellationToken = default)
    {
        await using var command = _db.CreateCommand("DELETE FROM projects WHERE slug = @slug");
        command.Parameters.AddWithValue("slug", slug);
        var deleted = await command.ExecuteNonQueryAsync(cancellationToken) == 1;
        Invalidate();
        if (deleted)
        {
            _log.LogInformation("Project {Slug} deleted", slug);
        }

        return deleted;
    }

    /// <summary>
    /// Applies a seed entry (startup bootstrap): creates the project, or — when the entry differs from the one applied
    /// last time — updates it to <paramref name="definition"/> keeping the secrets <paramref name="secrets"/> does not
    /// mention. An entry equal to the last one applied writes nothing, so edits made through the API since then stay
    /// and restarts do not bump the version. The entry's SHA-256 digest (definition and secret values) is kept encrypted
    /// in <c>projects.seed_digest</c>, bound to the project like its secrets.
    /// </summary>
    /// <param name="definition">The definition (validated).</param>
    /// <param name="secrets">Name → value (set) or <c>null</c>/<c>""</c> (remove); others kept.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The stored project and what happened.</returns>
    /// <exception cref="ProjectValidationException">Invalid definition or unknown secret name.</exception>
    /// <exception cref="ProjectConflictException">A tracker project belongs to another project.</exception>
    public async Task<(StoredProject Project, UpsertOutcome Outcome)> UpsertAsync(
        ProjectDefinition definition,
        IReadOnlyDictionary<string, string?> secrets,
        CancellationToken cancellationToken = default)
    {
        ThrowIfInvalid(definition, secrets);
        await ThrowIfOutboundRefusedAsync(definition, cancellationToken);
        var digest = SeedDigest(definition, secrets);
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await LockWritesAsync(connection, cancellationToken);
        var current = await LoadForUpdateAsync(connection, definition.Slug, cancellationToken);
        StoredProject result;
        UpsertOutcome outcome;
        if (current is null)
        {
            result = await InsertAsync(connection, definition, secrets, cancellationToken)
                ?? throw new ProjectConflictException($"A project with slug '{definition.Slug}' already exists.");
            outcome = UpsertOutcome.Created;
        }
        else if (current.SeedDigest is { } applied && _protector.Unprotect(applied, SeedDigestContext(definition.Slug)) == digest)
        {
            // The same entry as last time: whatever the API changed since stays.
            await tx.CommitAsync(cancellationToken);
            return (new StoredProject(ProjectJson.Deserialize(current.DefinitionJson), Decrypt(current.Slug, current.Envelopes), current.Version, current.CreatedAt, current.UpdatedAt), UpsertOutcome.Unchanged);
        }
        else
        {
            result = await WriteUpdateAsync(connection, current, definition, secrets, force: false, cancellationToken);
            outcome = result.Version == current.Version ? UpsertOutcome.Unchanged : UpsertOutcome.Updated;
        }

        await using (var remember = new NpgsqlCommand("UPDATE projects SET seed_digest = @digest WHERE slug = @slug", connection))
        {
            remember.Parameters.AddWithValue("digest", _protector.Protect(digest, SeedDigestContext(definition.Slug)));
            remember.Parameters.AddWithValue("slug", definition.Slug);
            await remember.ExecuteNonQueryAsync(cancellationToken);
        }

        await tx.CommitAsync(cancellationToken);
        Invalidate();
        return (result, outcome);
    }

    /// <summary>The number <see cref="NextSequenceAsync"/> gave the item, without taking one.</summary>
    /// <param name="slug">Project slug.</param>
    /// <param name="workItemId">Tracker item id (Asana task gid).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The number, or <c>null</c> when the item has none yet.</returns>
    public async Task<int?> FindSequenceAsync(string slug, string workItemId, CancellationToken cancellationToken = default)
    {
        await using var existing = _db.CreateCommand("SELECT seq FROM task_sequences WHERE project_slug = @slug AND work_item_id = @id");
        existing.Parameters.AddWithValue("slug", slug);
        existing.Parameters.AddWithValue("id", workItemId);
        return await existing.ExecuteScalarAsync(cancellationToken) as int?;
    }

    /// <summary>
    /// The task number <c>N</c> of <c>PREFIX-N</c> for a tracker item that has none of its own (Asana): 1, 2, 3… per
    /// project in order of first request. The same item always gets the same number; safe under concurrency (a
    /// transaction-scoped advisory lock per project).
    /// </summary>
    /// <param name="slug">Project slug.</param>
    /// <param name="workItemId">Tracker item id (Asana task gid).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The number, ≥ 1.</returns>
    public async Task<int> NextSequenceAsync(string slug, string workItemId, CancellationToken cancellationToken = default)
    {
        if (await FindSequenceAsync(slug, workItemId, cancellationToken) is { } seq)
        {
            return seq;
        }

        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended('orch.task_sequences/' || @slug, 0))", connection, tx))
        {
            lockCommand.Parameters.AddWithValue("slug", slug);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var command = new NpgsqlCommand("""
            WITH existing AS (
                SELECT seq FROM task_sequences WHERE project_slug = @slug AND work_item_id = @id),
            ins AS (
                INSERT INTO task_sequences (project_slug, work_item_id, seq)
                SELECT @slug, @id, COALESCE((SELECT max(seq) FROM task_sequences WHERE project_slug = @slug), 0) + 1
                WHERE NOT EXISTS (SELECT 1 FROM existing)
                RETURNING seq)
            SELECT seq FROM existing UNION ALL SELECT seq FROM ins
            """, connection, tx);
        command.Parameters.AddWithValue("slug", slug);
        command.Parameters.AddWithValue("id", workItemId);
        var result = (int)(await command.ExecuteScalarAsync(cancellationToken))!;
        await tx.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>
    /// Opens the handshake window of an Asana webhook about to be created: upserts the row with no secret and
    /// <c>handshake_until</c> = now + <paramref name="window"/>. Call before asking Asana to create the webhook.
    /// </summary>
    /// <param name="slug">Project slug (must exist).</param>
    /// <param name="resourceGid">The Asana project gid the webhook watches.</param>
    /// <param name="window">How long <see cref="CompleteAsanaHandshakeAsync"/> is accepted (e.g. 2 min).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <exception cref="InvalidOperationException">There is no project <paramref name="slug"/>.</exception>
    public async Task BeginAsanaHandshakeAsync(string slug, string resourceGid, TimeSpan window, CancellationToken cancellationToken = default)
    {
        var now = _clock.GetUtcNow();
        await using var command = _db.CreateCommand("""
            INSERT INTO asana_webhooks (project_slug, resource_gid, secret, handshake_until, created_at)
            VALUES (@slug, @gid, NULL, @until, @now)
            ON CONFLICT (project_slug, resource_gid) DO UPDATE SET secret = NULL, handshake_until = EXCLUDED.handshake_until
            """);
        command.Parameters.AddWithValue("slug", slug);
        command.Parameters.AddWithValue("gid", resourceGid);
        command.Parameters.AddWithValue("until", now + window);
        command.Parameters.AddWithValue("now", now);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            throw new InvalidOperationException($"There is no project '{slug}'.", ex);
        }
    }

    /// <summary>
    /// Stores the handshake secret (<c>X-Hook-Secret</c>) of an Asana webhook, encrypted — only while a window
    /// opened by <see cref="BeginAsanaHandshakeAsync"/> is open; closes the window. Anything later (a replayed or
    /// forged handshake) cannot overwrite the secret.
    /// </summary>
    /// <param name="slug">Project slug.</param>
    /// <param name="resourceGid">The Asana project gid.</param>
    /// <param name="secret">The handshake secret.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>true</c> when stored; <c>false</c> when no window is open (never begun, expired or already completed).</returns>
    public async Task<bool> CompleteAsanaHandshakeAsync(string slug, string resourceGid, string secret, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        await using var command = _db.CreateCommand("""
            UPDATE asana_webhooks SET secret = @secret, handshake_until = NULL
            WHERE project_slug = @slug AND resource_gid = @gid AND handshake_until > @now
            """);
        command.Parameters.AddWithValue("secret", _protector.Protect(secret, AsanaContext(slug, resourceGid)));
        command.Parameters.AddWithValue("slug", slug);
        command.Parameters.AddWithValue("gid", resourceGid);
        command.Parameters.AddWithValue("now", _clock.GetUtcNow());
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Records Asana's webhook gid once the create call returned.</summary>
    /// <param name="slug">Project slug.</param>
    /// <param name="resourceGid">The Asana project gid.</param>
    /// <param name="webhookGid">Asana's webhook gid.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>true</c> when the row exists.</returns>
    public async Task<bool> SetAsanaWebhookGidAsync(string slug, string resourceGid, string webhookGid, CancellationToken cancellationToken = default)
    {
        await using var command = _db.CreateCommand("UPDATE asana_webhooks SET webhook_gid = @hook WHERE project_slug = @slug AND resource_gid = @gid");
        command.Parameters.AddWithValue("hook", webhookGid);
        command.Parameters.AddWithValue("slug", slug);
        command.Parameters.AddWithValue("gid", resourceGid);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>The decrypted handshake secret of an Asana webhook (to verify <c>X-Hook-Signature</c>).</summary>
    /// <param name="slug">Project slug.</param>
    /// <param name="resourceGid">The Asana project gid.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The secret, or <c>null</c> when there is no row or the handshake has not completed.</returns>
    /// <exception cref="SecretDecryptionException">The stored secret does not decrypt with this host's master key.</exception>
    public async Task<string?> GetAsanaWebhookSecretAsync(string slug, string resourceGid, CancellationToken cancellationToken = default)
    {
        await using var command = _db.CreateCommand("SELECT secret FROM asana_webhooks WHERE project_slug = @slug AND resource_gid = @gid");
        command.Parameters.AddWithValue("slug", slug);
        command.Parameters.AddWithValue("gid", resourceGid);
        return await command.ExecuteScalarAsync(cancellationToken) is string envelope
            ? _protector.Unprotect(envelope, AsanaContext(slug, resourceGid))
            : null;
    }

    /// <summary>Records a verified delivery for webhook health: <c>last_heartbeat_at</c> (empty event list) or <c>last_event_at</c> = now.</summary>
    /// <param name="slug">Project slug.</param>
    /// <param name="resourceGid">The Asana project gid.</param>
    /// <param name="heartbeat">Whether the delivery had no events.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public async Task RecordAsanaDeliveryAsync(string slug, string resourceGid, bool heartbeat, CancellationToken cancellationToken = default)
    {
        await using var command = _db.CreateCommand(heartbeat
            ? "UPDATE asana_webhooks SET last_heartbeat_at = @now WHERE project_slug = @slug AND resource_gid = @gid"
            : "UPDATE asana_webhooks SET last_event_at = @now WHERE project_slug = @slug AND resource_gid = @gid");
        command.Parameters.AddWithValue("now", _clock.GetUtcNow());
        command.Parameters.AddWithValue("slug", slug);
        command.Parameters.AddWithValue("gid", resourceGid);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The project's Asana webhooks, without secrets, by resource gid.</summary>
    /// <param name="slug">Project slug.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Rows, possibly empty.</returns>
    public async Task<IReadOnlyList<AsanaWebhookInfo>> ListAsanaWebhooksAsync(string slug, CancellationToken cancellationToken = default)
    {
        await using var command = _db.CreateCommand("""
            SELECT project_slug, resource_gid, webhook_gid, secret IS NOT NULL, handshake_until, created_at, last_event_at, last_heartbeat_at
            FROM asana_webhooks WHERE project_slug = @slug ORDER BY resource_gid
            """);
        command.Parameters.AddWithValue("slug", slug);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<AsanaWebhookInfo>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new AsanaWebhookInfo(
                reader.GetString(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetBoolean(3),
                reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
                reader.GetFieldValue<DateTimeOffset>(5),
                reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
                reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7)));
        }

        return rows;
    }

    /// <summary>Validation errors of a definition plus secret names/values (what create and update check).</summary>
    /// <param name="definition">Definition.</param>
    /// <param name="secrets">Secret changes, or <c>null</c>.</param>
    /// <returns>Every problem, empty when valid.</returns>
    public IReadOnlyList<string> ValidationErrors(ProjectDefinition definition, IReadOnlyDictionary<string, string?>? secrets)
    {
        var errors = new List<string>(definition.Validate(_knownAgents));
        foreach (var name in secrets?.Keys ?? [])
        {
            if (!ProjectSecretNames.All.Contains(name, StringComparer.Ordinal))
            {
                errors.Add($"secrets.{name} is not a known secret; use {string.Join(", ", ProjectSecretNames.All)}");
            }
        }

        return errors;
    }

    /// <summary>
    /// The stored secrets a change would carry to another place: <c>tracker_token</c> when the tracker's kind or
    /// <c>base_url</c> changes; <c>forge_token</c> and <c>github_app_private_key</c> when the forge's kind, <c>base_url</c>
    /// or <c>git_url</c> origin changes — unless <paramref name="changes"/> gives the secret again (or removes it).
    /// Webhook secrets only verify what arrives, so they stay.
    /// </summary>
    /// <param name="before">The stored definition.</param>
    /// <param name="after">The new definition.</param>
    /// <param name="stored">Names of the secrets stored now.</param>
    /// <param name="changes">The secret changes of the request (absent = keep).</param>
    /// <returns>Each secret that would move, with the reason.</returns>
    public static IReadOnlyList<(string Secret, string Reason)> UnboundSecrets(
        ProjectDefinition before, ProjectDefinition after, IEnumerable<string> stored, IReadOnlyDictionary<string, string?>? changes)
    {
        string? TrackerMove() =>
            before.Tracker.Kind != after.Tracker.Kind ? $"the tracker changed from {before.Tracker.Kind} to {after.Tracker.Kind}"
            : !Endpoints.Same(before.Tracker.BaseUrl, after.Tracker.BaseUrl) ? $"tracker.base_url changed to {Describe(after.Tracker.BaseUrl)}"
            : null;
        string? ForgeMove() =>
            before.Forge.Kind != after.Forge.Kind ? $"the forge changed from {before.Forge.Kind} to {after.Forge.Kind}"
            : !Endpoints.Same(before.Forge.BaseUrl, after.Forge.BaseUrl) ? $"forge.base_url changed to {Describe(after.Forge.BaseUrl)}"
            : Endpoints.GitOrigin(before.Forge.GitUrl) != Endpoints.GitOrigin(after.Forge.GitUrl) ? $"forge.git_url now points to {after.Forge.GitUrl ?? "the forge's default"}"
            : null;
        var moves = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            [ProjectSecretNames.TrackerToken] = TrackerMove(),
            [ProjectSecretNames.ForgeToken] = ForgeMove(),
            [ProjectSecretNames.GitHubAppPrivateKey] = ForgeMove(),
        };
        return stored
            .Where(name => moves.GetValueOrDefault(name) is not null && !(changes?.ContainsKey(name) ?? false))
            .OrderBy(name => name, StringComparer.Ordinal)
            .Select(name => (name, moves[name]!))
            .ToList();

        static string Describe(Uri? url) => url?.GetLeftPart(UriPartial.Path) ?? "the host-wide default";
    }

    /// <summary>Every URL of <paramref name="definition"/> the outbound policy refuses, as field-named messages.</summary>
    /// <param name="definition">The definition.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The refusals; empty when allowed (or when the store has no policy).</returns>
    public async Task<IReadOnlyList<string>> OutboundRefusalsAsync(ProjectDefinition definition, CancellationToken cancellationToken = default)
    {
        var refusals = new List<string>();
        if (_outbound is null)
        {
            return refusals;
        }

        foreach (var (field, url) in new[] { ("tracker.base_url", definition.Tracker.BaseUrl), ("forge.base_url", definition.Forge.BaseUrl) })
        {
            if (url is not null && await _outbound.CheckUrlAsync(url, cancellationToken) is { } refusal)
            {
                refusals.Add($"{field}: {refusal}");
            }
        }

        if (definition.Forge.GitUrl is { } template)
        {
            var remote = template.Replace("{repo}", definition.Forge.Repos.FirstOrDefault() ?? "owner/name", StringComparison.Ordinal);
            var parsed = Uri.TryCreate(remote, UriKind.Absolute, out var u) ? u : null;
            var isLocal = remote.StartsWith('/') || parsed is { IsFile: true };
            var refusal = isLocal
                ? _outbound.AllowsLoopback ? null : $"a local path is a loopback remote, which {OutboundPolicy.SettingName}={_outbound.List} does not allow (add 'loopback' to allow it)"
                : parsed is not null && (parsed.Scheme == Uri.UriSchemeHttps || parsed.Scheme == Uri.UriSchemeHttp)
                    ? await _outbound.CheckUrlAsync(parsed, cancellationToken)
                    : "only http(s) git remotes (and, when loopback is allowed, local paths) are supported";
            if (refusal is not null)
            {
                refusals.Add($"forge.git_url: {refusal}");
            }
        }

        return refusals;
    }

    private async Task ThrowIfOutboundRefusedAsync(ProjectDefinition definition, CancellationToken cancellationToken)
    {
        if (await OutboundRefusalsAsync(definition, cancellationToken) is { Count: > 0 } refusals)
        {
            throw new ProjectRuleException(refusals);
        }
    }

    private static string AsanaContext(string slug, string resourceGid) => SecretProtector.ContextFor(slug, AsanaSecretPrefix + resourceGid);

    private void ThrowIfInvalid(ProjectDefinition definition, IReadOnlyDictionary<string, string?>? secrets)
    {
        if (ValidationErrors(definition, secrets) is { Count: > 0 } errors)
        {
            throw new ProjectValidationException(errors);
        }
    }

    private static async Task LockWritesAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        // Serialises project writes across hosts, so the "tracker project used by one project" check holds.
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended('orch.projects', 0))", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task ThrowIfTrackerTakenAsync(NpgsqlConnection connection, ProjectDefinition definition, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT slug, definition -> 'tracker' -> 'project_ids' FROM projects
            WHERE slug <> @slug AND definition -> 'tracker' ->> 'kind' = @kind AND definition -> 'tracker' -> 'project_ids' ?| @ids
            ORDER BY slug LIMIT 1
            """, connection);
        command.Parameters.AddWithValue("slug", definition.Slug);
        command.Parameters.AddWithValue("kind", definition.Tracker.Kind);
        command.Parameters.AddWithValue("ids", definition.Tracker.ProjectIds.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (await reader.ReadAsync(cancellationToken))
        {
            var other = reader.GetString(0);
            var taken = JsonSerializer.Deserialize<string[]>(reader.GetString(1)) ?? [];
            var ids = string.Join(", ", definition.Tracker.ProjectIds.Where(taken.Contains));
            throw new ProjectConflictException($"The {definition.Tracker.Kind} project {ids} already belongs to project '{other}'.");
        }
    }

    private async Task<StoredProject?> InsertAsync(NpgsqlConnection connection, ProjectDefinition definition, IReadOnlyDictionary<string, string?> secrets, CancellationToken cancellationToken)
    {
        await ThrowIfTrackerTakenAsync(connection, definition, cancellationToken);
        var plain = secrets.Where(s => !string.IsNullOrEmpty(s.Value)).ToDictionary(s => s.Key, s => s.Value!, StringComparer.Ordinal);
        var envelopes = plain.ToDictionary(s => s.Key, s => _protector.Protect(s.Value, SecretProtector.ContextFor(definition.Slug, s.Key)), StringComparer.Ordinal);
        var now = _clock.GetUtcNow();
        await using var command = new NpgsqlCommand("""
            INSERT INTO projects (slug, definition, secrets, version, created_at, updated_at)
            VALUES (@slug, @definition, @secrets, 1, @now, @now)
            ON CONFLICT (slug) DO NOTHING
            """, connection);
        command.Parameters.AddWithValue("slug", definition.Slug);
        command.Parameters.AddWithValue("definition", NpgsqlDbType.Jsonb, ProjectJson.Serialize(definition));
        command.Parameters.AddWithValue("secrets", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(envelopes));
        command.Parameters.AddWithValue("now", now);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1
            ? new StoredProject(definition, plain, 1, now, now)
            : null;
    }

    /// <summary>A project's secret envelopes (name → envelope) decrypted, each under its own context.</summary>
    /// <exception cref="SecretDecryptionException">An envelope does not decrypt with this host's master key.</exception>
    private Dictionary<string, string> Decrypt(string slug, IReadOnlyDictionary<string, string> envelopes) =>
        envelopes.ToDictionary(e => e.Key, e => _protector.Unprotect(e.Value, SecretProtector.ContextFor(slug, e.Key)), StringComparer.Ordinal);

    private static string SeedDigestContext(string slug) => SecretProtector.ContextFor(slug, "seed_digest");

    /// <summary>SHA-256 (hex) of a seed entry: its definition as stored, then each secret as name and value, by name.</summary>
    private static string SeedDigest(ProjectDefinition definition, IReadOnlyDictionary<string, string?> secrets)
    {
        var canonical = new JsonObject
        {
            ["definition"] = JsonNode.Parse(ProjectJson.Serialize(definition)),
            ["secrets"] = new JsonArray([.. secrets.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => (JsonNode)new JsonArray(s.Key, s.Value))]),
        };
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(canonical.ToJsonString())));
    }

    private sealed record CurrentRow(string Slug, string DefinitionJson, Dictionary<string, string> Envelopes, long Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string? SeedDigest);

    private static async Task<CurrentRow?> LoadForUpdateAsync(NpgsqlConnection connection, string slug, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT definition::text, secrets::text, version, created_at, updated_at, seed_digest FROM projects WHERE slug = @slug FOR UPDATE", connection);
        command.Parameters.AddWithValue("slug", slug);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new CurrentRow(
            slug,
            reader.GetString(0),
            JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(1)) ?? [],
            reader.GetInt64(2),
            reader.GetFieldValue<DateTimeOffset>(3),
            reader.GetFieldValue<DateTimeOffset>(4),
            reader.IsDBNull(5) ? null : reader.GetString(5));
    }

    private async Task<StoredProject> WriteUpdateAsync(
        NpgsqlConnection connection,
        CurrentRow current,
        ProjectDefinition definition,
        IReadOnlyDictionary<string, string?>? changes,
        bool force,
        CancellationToken cancellationToken,
        bool refuseUnboundSecrets = false)
    {
        await ThrowIfTrackerTakenAsync(connection, definition, cancellationToken);
        var plain = Decrypt(current.Slug, current.Envelopes);
        var envelopes = new Dictionary<string, string>(current.Envelopes, StringComparer.Ordinal);
        var secretsChanged = false;

        // A token is bound to the platform and URL it was entered for: moving the connection without giving it again would
        // send it to the new URL. The API refuses such a change; a seed entry (configuration) drops the stale token instead.
        var unbound = UnboundSecrets(ProjectJson.Deserialize(current.DefinitionJson), definition, plain.Keys, changes);
        if (unbound.Count > 0 && refuseUnboundSecrets)
        {
            throw new ProjectRuleException(unbound.Select(u => $"secrets.{u.Secret}: {u.Reason}; re-enter the token for the new URL (or send null to remove it)").ToList());
        }

        foreach (var (name, reason) in unbound)
        {
            _log.LogWarning("Project {Slug}: stored secret {Secret} removed because {Reason}", current.Slug, name, reason);
            secretsChanged |= plain.Remove(name) | envelopes.Remove(name);
        }

        foreach (var (name, value) in changes ?? new Dictionary<string, string?>())
        {
            if (string.IsNullOrEmpty(value))
            {
                secretsChanged |= plain.Remove(name) | envelopes.Remove(name);
            }
            else if (!plain.TryGetValue(name, out var old) || old != value)
            {
                plain[name] = value;
                envelopes[name] = _protector.Protect(value, SecretProtector.ContextFor(current.Slug, name));
                secretsChanged = true;
            }
        }

        var definitionJson = ProjectJson.Serialize(definition);
        var definitionChanged = !JsonNode.DeepEquals(JsonNode.Parse(definitionJson), JsonNode.Parse(current.DefinitionJson));
        if (!force && !definitionChanged && !secretsChanged)
        {
            return new StoredProject(ProjectJson.Deserialize(current.DefinitionJson), plain, current.Version, current.CreatedAt, current.UpdatedAt);
        }

        var now = _clock.GetUtcNow();
        await using var command = new NpgsqlCommand("""
            UPDATE projects SET definition = @definition, secrets = @secrets, version = version + 1, updated_at = @now
            WHERE slug = @slug RETURNING version
            """, connection);
        command.Parameters.AddWithValue("definition", NpgsqlDbType.Jsonb, definitionJson);
        command.Parameters.AddWithValue("secrets", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(envelopes));
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("slug", current.Slug);
        var version = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        return new StoredProject(definition, plain, version, current.CreatedAt, now);
    }

    private async Task<List<StoredProject>> ReadAllAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<(string Definition, string Secrets, long Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4)));
            }
        }

        return rows.Select(r =>
        {
            var definition = ProjectJson.Deserialize(r.Definition);
            var envelopes = JsonSerializer.Deserialize<Dictionary<string, string>>(r.Secrets) ?? [];
            return new StoredProject(definition, Decrypt(definition.Slug, envelopes), r.Version, r.CreatedAt, r.UpdatedAt);
        }).ToList();
    }

    private async Task<T> CachedAsync<T>(string key, Func<Task<T>> load)
    {
        var now = _clock.GetTimestamp();
        if (CacheDuration > TimeSpan.Zero && _cache.TryGetValue(key, out var hit) && hit.ExpiresAt > now)
        {
            return (T)hit.Value!;
        }

        var generation = Interlocked.Read(ref _generation);
        var value = await load();
        if (CacheDuration > TimeSpan.Zero && Interlocked.Read(ref _generation) == generation)
        {
            _cache[key] = (now + (long)(CacheDuration.TotalSeconds * _clock.TimestampFrequency), value);
            if (Interlocked.Read(ref _generation) != generation)
            {
                _cache.TryRemove(key, out _);
            }
        }

        return value;
    }

    private void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        _cache.Clear();
    }
}

/// <summary>What <see cref="ProjectStore.UpsertAsync"/> did.</summary>
public enum UpsertOutcome
{
    /// <summary>The project did not exist and was created.</summary>
    Created,

    /// <summary>The definition or secrets changed; the version went up.</summary>
    Updated,

    /// <summary>Nothing was written: the entry is the one applied last time (API edits since then are kept), or the project already matched it.</summary>
    Unchanged,
}

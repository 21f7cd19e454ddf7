using System.Security.Cryptography;
using Orchestrator.Shared.Projects;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Tests.Integration.Projects;

public sealed class ProjectStoreTests : IAsyncLifetime
{
    private TestDatabase _db = null!;
    private readonly ManualClock _clock = new();
    private readonly SecretProtector _protector = new(RandomNumberGenerator.GetBytes(32));

    public async Task InitializeAsync() => _db = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private ProjectStore Store(TimeSpan? cache = null) => new(_db.DataSource, _protector, _clock, cacheDuration: cache ?? TimeSpan.Zero);

    internal static ProjectDefinition Definition(string slug = "web", string trackerId = "11111111-2222-3333-4444-555555555555", string repo = "acme/webshop") => new()
    {
        Slug = slug,
        Name = slug.ToUpperInvariant(),
        WorkItemPrefix = "WEB",
        Tracker = new TrackerConfig { Kind = TrackerConfig.Plane, ProjectIds = [trackerId] },
        Forge = new ForgeConfig { Kind = ForgeConfig.GitHub, Repos = [repo] },
    };

    [Fact]
    public async Task Create_get_find_update_delete_and_secrets_at_rest()
    {
        var store = Store();
        var created = await store.CreateAsync(Definition(), new Dictionary<string, string?>
        {
            [ProjectSecretNames.ForgeToken] = "ghp_distinctive_forge_token_1",
            [ProjectSecretNames.TrackerToken] = "plane_distinctive_tracker_2",
            [ProjectSecretNames.TrackerWebhookSecret] = null,
        });
        Assert.Equal(1, created.Version);
        Assert.Equal("ghp_distinctive_forge_token_1", created.Secret(ProjectSecretNames.ForgeToken));
        Assert.Null(created.Secret(ProjectSecretNames.TrackerWebhookSecret));
        Assert.DoesNotContain("distinctive", created.ToString(), StringComparison.Ordinal);

        var raw = await _db.ScalarAsync<string>("SELECT secrets::text FROM projects WHERE slug = 'web'");
        Assert.DoesNotContain("distinctive", raw, StringComparison.Ordinal);
        Assert.Contains("\"forge_token\": \"v1:", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("distinctive", await _db.ScalarAsync<string>("SELECT definition::text FROM projects WHERE slug = 'web'"), StringComparison.Ordinal);

        var got = await store.GetAsync("web");
        Assert.NotNull(got);
        Assert.Equal(ProjectJson.Serialize(created.Definition), ProjectJson.Serialize(got.Definition));
        Assert.Equal("plane_distinctive_tracker_2", got.Secret(ProjectSecretNames.TrackerToken));
        Assert.Equal("web", (await store.FindByTrackerProjectAsync("plane", "11111111-2222-3333-4444-555555555555"))?.Slug);
        Assert.Null(await store.FindByTrackerProjectAsync("asana", "11111111-2222-3333-4444-555555555555"));
        Assert.Null(await store.FindByTrackerProjectAsync("plane", "other"));
        Assert.Equal("web", Assert.Single(await store.FindByRepoAsync("github", "ACME/WebShop")).Slug);
        Assert.Empty(await store.FindByRepoAsync("gitea", "acme/webshop"));

        await Assert.ThrowsAsync<ProjectConflictException>(() => store.CreateAsync(Definition(), new Dictionary<string, string?>()));
        var taken = await Assert.ThrowsAsync<ProjectConflictException>(() => store.CreateAsync(Definition("shop"), new Dictionary<string, string?>()));
        Assert.Contains("already belongs to project 'web'", taken.Message, StringComparison.Ordinal);

        _clock.Advance(TimeSpan.FromMinutes(1));
        var updated = await store.UpdateAsync("web", Definition() with { Name = "Web shop" }, new Dictionary<string, string?>
        {
            [ProjectSecretNames.TrackerToken] = null,
            [ProjectSecretNames.ForgeWebhookSecret] = "forge_hook_distinctive_3",
        }, expectedVersion: 1);
        Assert.NotNull(updated);
        Assert.Equal(2, updated.Version);
        Assert.Equal("ghp_distinctive_forge_token_1", updated.Secret(ProjectSecretNames.ForgeToken));
        Assert.Null(updated.Secret(ProjectSecretNames.TrackerToken));
        Assert.Equal("forge_hook_distinctive_3", (await store.GetAsync("web"))!.Secret(ProjectSecretNames.ForgeWebhookSecret));
        Assert.True(updated.UpdatedAt > updated.CreatedAt);

        await Assert.ThrowsAsync<ProjectConflictException>(() => store.UpdateAsync("web", Definition(), null, expectedVersion: 1));
        var slugChange = await Assert.ThrowsAsync<ProjectValidationException>(() => store.UpdateAsync("web", Definition("shop"), null, null));
        Assert.Contains(slugChange.Errors, e => e.Contains("cannot change", StringComparison.Ordinal));
        var unknown = await Assert.ThrowsAsync<ProjectValidationException>(() => store.UpdateAsync("web", Definition(), new Dictionary<string, string?> { ["password"] = "x" }, null));
        Assert.Contains(unknown.Errors, e => e.StartsWith("secrets.password", StringComparison.Ordinal));
        Assert.Null(await store.UpdateAsync("nope", Definition("nope"), null, null));

        Assert.True(await store.DeleteAsync("web"));
        Assert.False(await store.DeleteAsync("web"));
        Assert.Null(await store.GetAsync("web"));
    }

    [Fact]
    public async Task Invalid_definitions_list_every_error()
    {
        var bad = Definition() with { Slug = "Bad Slug", Mode = "yolo", Forge = new ForgeConfig { Repos = [] } };
        var ex = await Assert.ThrowsAsync<ProjectValidationException>(() => Store().CreateAsync(bad, new Dictionary<string, string?> { ["nope"] = "x" }));
        Assert.Contains(ex.Errors, e => e.StartsWith("slug", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("mode", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("forge.repos", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("secrets.nope", StringComparison.Ordinal));
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM projects"));
    }

    [Fact]
    public async Task Upsert_creates_updates_keeps_unmentioned_secrets_and_skips_no_ops()
    {
        var store = Store();
        var (p, outcome) = await store.UpsertAsync(Definition(), new Dictionary<string, string?> { [ProjectSecretNames.ForgeToken] = "forge-token-value-1" });
        Assert.Equal((UpsertOutcome.Created, 1L), (outcome, p.Version));
        (p, outcome) = await store.UpsertAsync(Definition(), new Dictionary<string, string?> { [ProjectSecretNames.ForgeToken] = "forge-token-value-1" });
        Assert.Equal((UpsertOutcome.Unchanged, 1L), (outcome, p.Version));
        (p, outcome) = await store.UpsertAsync(Definition() with { RequireCi = false }, new Dictionary<string, string?> { [ProjectSecretNames.TrackerToken] = "tracker-token-value-2" });
        Assert.Equal((UpsertOutcome.Updated, 2L), (outcome, p.Version));
        Assert.False(p.Definition.RequireCi);
        Assert.Equal("forge-token-value-1", p.Secret(ProjectSecretNames.ForgeToken));
        Assert.Equal("tracker-token-value-2", (await store.GetAsync("web"))!.Secret(ProjectSecretNames.TrackerToken));
    }

    [Fact]
    public async Task An_unchanged_seed_keeps_API_edits_and_a_changed_seed_is_applied()
    {
        var store = Store();
        var seedSecrets = new Dictionary<string, string?> { [ProjectSecretNames.ForgeToken] = "forge-token-value-1" };
        await store.UpsertAsync(Definition(), seedSecrets);
        var edited = await store.UpdateAsync("web", Definition() with { Name = "Edited", RequireCi = false }, new Dictionary<string, string?> { [ProjectSecretNames.ForgeToken] = "forge-token-from-api" }, expectedVersion: 1);
        Assert.Equal(2L, edited!.Version);

        // The next start brings the same entry: the edit stays, nothing is written.
        var (p, outcome) = await store.UpsertAsync(Definition(), seedSecrets);
        Assert.Equal((UpsertOutcome.Unchanged, 2L), (outcome, p.Version));
        Assert.Equal(("Edited", false, "forge-token-from-api"), (p.Definition.Name, p.Definition.RequireCi, p.Secret(ProjectSecretNames.ForgeToken)));
        Assert.Equal("Edited", (await store.GetAsync("web"))!.Definition.Name);

        // A changed secret value in the entry is a changed entry.
        (p, outcome) = await store.UpsertAsync(Definition(), new Dictionary<string, string?> { [ProjectSecretNames.ForgeToken] = "forge-token-value-2" });
        Assert.Equal((UpsertOutcome.Updated, 3L), (outcome, p.Version));
        Assert.Equal((Definition().Name, true, "forge-token-value-2"), (p.Definition.Name, p.Definition.RequireCi, p.Secret(ProjectSecretNames.ForgeToken)));

        // The digest is stored encrypted: neither it nor the secret shows in the row.
        var row = await _db.ScalarAsync<string>("SELECT seed_digest FROM projects WHERE slug = 'web'");
        Assert.StartsWith(SecretProtector.EnvelopePrefix, row, StringComparison.Ordinal);
        Assert.DoesNotContain("forge-token-value-2", await _db.ScalarAsync<string>("SELECT projects::text FROM projects WHERE slug = 'web'"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Null_trigger_label_survives_the_round_trip()
    {
        var store = Store();
        var asana = Definition("tasks") with
        {
            Tracker = new TrackerConfig
            {
                Kind = TrackerConfig.Asana, Workspace = "123", ProjectIds = ["456"],
                Trigger = new TriggerRule { Label = null, Field = "AutoTask", OnValues = ["On"] },
            },
        };
        await store.CreateAsync(asana, new Dictionary<string, string?>());
        var got = (await store.GetAsync("tasks"))!.Definition;
        Assert.Null(got.Tracker.Trigger.Label);
        Assert.Equal(["On"], got.Tracker.Trigger.OnValues);
        Assert.Equal("tasks", (await store.FindByTrackerProjectAsync("asana", "456"))?.Slug);
    }

    [Fact]
    public async Task Cache_serves_reads_and_is_cleared_by_own_writes()
    {
        var cached = Store(TimeSpan.FromMinutes(5));
        Assert.Null(await cached.GetAsync("web"));
        await cached.CreateAsync(Definition(), new Dictionary<string, string?>());
        Assert.NotNull(await cached.GetAsync("web"));
        Assert.NotNull(await cached.FindByTrackerProjectAsync("plane", "11111111-2222-3333-4444-555555555555"));

        // Another host's delete shows only after the cache duration; our own writes at once.
        await Store().DeleteAsync("web");
        Assert.NotNull(await cached.GetAsync("web"));
        await cached.UpsertAsync(Definition() with { Name = "again" }, new Dictionary<string, string?>());
        Assert.Equal("again", (await cached.GetAsync("web"))!.Definition.Name);
    }

    [Fact]
    public async Task Secrets_do_not_decrypt_under_another_key_or_in_another_row()
    {
        var store = Store();
        await store.CreateAsync(Definition(), new Dictionary<string, string?> { [ProjectSecretNames.ForgeToken] = "forge-token-value-1" });
        var other = new ProjectStore(_db.DataSource, new SecretProtector(RandomNumberGenerator.GetBytes(32)), _clock, cacheDuration: TimeSpan.Zero);
        var ex = await Assert.ThrowsAsync<SecretDecryptionException>(() => other.GetAsync("web"));
        Assert.Equal("web/forge_token", ex.Context);

        // Moving the ciphertext to another secret name (or project) breaks it.
        await _db.ExecuteAsync("UPDATE projects SET secrets = jsonb_build_object('tracker_token', secrets -> 'forge_token') WHERE slug = 'web'");
        ex = await Assert.ThrowsAsync<SecretDecryptionException>(() => store.GetAsync("web"));
        Assert.Equal("web/tracker_token", ex.Context);
    }

    [Fact]
    public async Task Next_sequence_is_idempotent_dense_and_safe_under_concurrency()
    {
        var store = Store();
        var items = Enumerable.Range(0, 40).Select(i => "task-" + i).ToArray();

        // Every item requested several times at once, from parallel callers.
        var calls = items.SelectMany(item => Enumerable.Repeat(item, 3)).OrderBy(_ => Random.Shared.Next()).ToArray();
        var results = await Task.WhenAll(calls.Select(item => Task.Run(async () => (item, await store.NextSequenceAsync("web", item)))));
        var byItem = results.GroupBy(r => r.item).ToDictionary(g => g.Key, g => g.Select(r => r.Item2).Distinct().ToArray());
        Assert.All(byItem.Values, numbers => Assert.Single(numbers));
        Assert.Equal(Enumerable.Range(1, 40), byItem.Values.Select(n => n[0]).Order());

        Assert.Equal(byItem["task-7"][0], await store.NextSequenceAsync("web", "task-7"));
        Assert.Equal(1, await store.NextSequenceAsync("other", "task-7"));
        Assert.Equal(41, await store.NextSequenceAsync("web", "new"));
    }

    [Fact]
    public async Task Asana_handshake_window()
    {
        var store = Store();
        await store.CreateAsync(Definition(), new Dictionary<string, string?>());
        Assert.False(await store.CompleteAsanaHandshakeAsync("web", "999", "secret-without-begin"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.BeginAsanaHandshakeAsync("nope", "999", TimeSpan.FromMinutes(2)));

        await store.BeginAsanaHandshakeAsync("web", "999", TimeSpan.FromMinutes(2));
        Assert.False((await store.ListAsanaWebhooksAsync("web"))[0].HasSecret);
        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.True(await store.CompleteAsanaHandshakeAsync("web", "999", "asana-hook-secret-1"));
        Assert.Equal("asana-hook-secret-1", await store.GetAsanaWebhookSecretAsync("web", "999"));
        Assert.DoesNotContain("asana-hook-secret", await _db.ScalarAsync<string>("SELECT secret FROM asana_webhooks"), StringComparison.Ordinal);

        // A second handshake after success cannot overwrite the secret.
        Assert.False(await store.CompleteAsanaHandshakeAsync("web", "999", "attacker-secret"));
        Assert.Equal("asana-hook-secret-1", await store.GetAsanaWebhookSecretAsync("web", "999"));

        // An expired window neither.
        await store.BeginAsanaHandshakeAsync("web", "888", TimeSpan.FromMinutes(2));
        _clock.Advance(TimeSpan.FromMinutes(3));
        Assert.False(await store.CompleteAsanaHandshakeAsync("web", "888", "late-secret"));
        Assert.Null(await store.GetAsanaWebhookSecretAsync("web", "888"));

        Assert.True(await store.SetAsanaWebhookGidAsync("web", "999", "hook-1"));
        await store.RecordAsanaDeliveryAsync("web", "999", heartbeat: true);
        _clock.Advance(TimeSpan.FromMinutes(1));
        await store.RecordAsanaDeliveryAsync("web", "999", heartbeat: false);
        var rows = await store.ListAsanaWebhooksAsync("web");
        Assert.Equal(["888", "999"], rows.Select(r => r.ResourceGid));
        var row = rows[1];
        Assert.Equal(("hook-1", true, (DateTimeOffset?)null), (row.WebhookGid, row.HasSecret, row.HandshakeUntil));
        Assert.Equal(_clock.GetUtcNow(), row.LastEventAt);
        Assert.Equal(_clock.GetUtcNow().AddMinutes(-1), row.LastHeartbeatAt);
        Assert.NotNull(rows[0].HandshakeUntil);

        // The secret is bound to its row.
        await _db.ExecuteAsync("UPDATE asana_webhooks SET secret = (SELECT secret FROM asana_webhooks WHERE resource_gid = '999') WHERE resource_gid = '888'");
        await Assert.ThrowsAsync<SecretDecryptionException>(() => store.GetAsanaWebhookSecretAsync("web", "888"));

        Assert.True(await store.DeleteAsync("web"));
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM asana_webhooks"));
    }
}

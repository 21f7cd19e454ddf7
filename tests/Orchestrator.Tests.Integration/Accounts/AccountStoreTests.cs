using Orchestrator.Shared.Accounts;
using Orchestrator.Shared.Projects;
using Orchestrator.Tests.Integration.GitHub;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Tests.Integration.Accounts;

/// <summary><see cref="AccountStore"/> on the real PostgreSQL: users, sessions, invites, memberships, API tokens, throttling.</summary>
public sealed class AccountStoreTests : IAsyncLifetime
{
    private const string Password = "correct horse battery";
    private readonly FakeClock _clock = new(new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero));
    private TestDatabase _db = null!;
    private AccountStore _store = null!;

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync();
        _store = new AccountStore(_db.DataSource, _clock, new AccountOptions { PasswordIterations = 210_000 });
        var projects = new ProjectStore(_db.DataSource, new SecretProtector(new byte[32]), _clock, cacheDuration: TimeSpan.Zero);
        foreach (var slug in new[] { "web", "ops" })
        {
            await projects.CreateAsync(
                new ProjectDefinition { Slug = slug, WorkItemPrefix = slug.ToUpperInvariant(), Tracker = new TrackerConfig { ProjectIds = [slug + "-id"] }, Forge = new ForgeConfig { Repos = ["acme/" + slug] } },
                new Dictionary<string, string?>());
        }
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Passwords_are_stored_as_pbkdf2_sha512_hashes_with_at_least_210000_iterations()
    {
        var user = await _store.CreateUserAsync("alice", Password);
        var hash = await _db.ScalarAsync<string>("SELECT password_hash FROM users WHERE id = @id", ("id", user.Id));
        var bytes = Convert.FromBase64String(hash);

        // Identity v3 format: 0x01, PRF (2 = HMAC-SHA512), iterations, salt length, salt, subkey — all big-endian.
        Assert.Equal(0x01, bytes[0]);
        Assert.Equal(2u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(1)));
        Assert.True(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(5)) >= 210_000);
        Assert.DoesNotContain(Password, hash, StringComparison.Ordinal);

        Assert.Equal("ok", (await _store.VerifyPasswordAsync("ALICE", Password)).Reason);
        Assert.Equal("wrong-password", (await _store.VerifyPasswordAsync("alice", Password + "!")).Reason);
        Assert.Equal("unknown-user", (await _store.VerifyPasswordAsync("bob", Password)).Reason);
    }

    [Fact]
    public async Task Passwords_shorter_than_12_characters_and_taken_usernames_are_refused()
    {
        Assert.Contains("password", (await Assert.ThrowsAsync<AccountException>(() => _store.CreateUserAsync("alice", "elevenchars"))).Errors.Keys);
        Assert.Contains("username", (await Assert.ThrowsAsync<AccountException>(() => _store.CreateUserAsync("al ice", Password))).Errors.Keys);
        await _store.CreateUserAsync("alice", Password);
        Assert.Contains("taken", (await Assert.ThrowsAsync<AccountException>(() => _store.CreateUserAsync("Alice", Password))).Errors["username"]);
        Assert.Equal(1L, await _db.ScalarAsync<long>("SELECT count(*) FROM users"));
    }

    [Fact]
    public async Task The_first_admin_is_created_once_even_when_two_init_requests_race()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => _store.CreateFirstAdminAsync("admin" + i, Password)));
        var created = Assert.Single(results, r => r is not null);
        Assert.True(created!.IsHostAdmin);
        Assert.Equal(1L, await _db.ScalarAsync<long>("SELECT count(*) FROM users"));
        Assert.Null(await _store.CreateFirstAdminAsync("late", Password));
    }

    [Fact]
    public async Task Sessions_expire_when_idle_and_at_their_absolute_end_and_die_with_a_password_change()
    {
        var user = await _store.CreateUserAsync("alice", Password);
        var (token, session) = await _store.CreateSessionAsync(user.Id, "Mozilla/5.0 test", "127.0.0.1");
        Assert.DoesNotContain(token, await _db.ScalarAsync<string>("SELECT encode(id_hash, 'base64') FROM sessions"), StringComparison.Ordinal);
        Assert.NotNull(await _store.GetSessionAsync(token));

        // Used every 7 hours: stays alive until the absolute lifetime (7 days) ends it.
        for (var i = 0; i < 23; i++)
        {
            _clock.Advance(TimeSpan.FromHours(7));
            Assert.True(await _store.GetSessionAsync(token) is not null, $"session died after {(i + 1) * 7} h");
        }

        _clock.Advance(TimeSpan.FromHours(7));
        Assert.Null(await _store.GetSessionAsync(token));

        // Idle for 8 hours: gone.
        var (idle, _) = await _store.CreateSessionAsync(user.Id, null, null);
        _clock.Advance(_store.Options.SessionIdleTimeout);
        Assert.Null(await _store.GetSessionAsync(idle));

        // A password change revokes every session.
        var (a, _) = await _store.CreateSessionAsync(user.Id, null, null);
        var (b, _) = await _store.CreateSessionAsync(user.Id, null, null);
        Assert.Equal(2, (await _store.ListSessionsAsync(user.Id)).Count);
        await Assert.ThrowsAsync<AccountException>(() => _store.ChangePasswordAsync(user.Id, "not the password", "a brand new password"));
        Assert.Equal(2, await _store.ChangePasswordAsync(user.Id, Password, "a brand new password"));
        Assert.Null(await _store.GetSessionAsync(a));
        Assert.Null(await _store.GetSessionAsync(b));
        Assert.Equal("ok", (await _store.VerifyPasswordAsync("alice", "a brand new password")).Reason);
        _ = session;
    }

    [Fact]
    public async Task A_session_is_revoked_by_its_short_id_only_by_its_owner()
    {
        var alice = await _store.CreateUserAsync("alice", Password);
        var bob = await _store.CreateUserAsync("bob", Password);
        var (token, session) = await _store.CreateSessionAsync(alice.Id, null, null);
        Assert.False(await _store.RevokeSessionByIdAsync(bob.Id, session.Id));
        Assert.NotNull(await _store.GetSessionAsync(token));
        Assert.True(await _store.RevokeSessionByIdAsync(alice.Id, session.Id));
        Assert.Null(await _store.GetSessionAsync(token));
    }

    [Fact]
    public async Task Disabled_users_lose_their_sessions_and_cannot_sign_in()
    {
        var user = await _store.CreateUserAsync("alice", Password);
        var (token, _) = await _store.CreateSessionAsync(user.Id, null, null);
        await _db.ExecuteAsync($"UPDATE users SET disabled = true WHERE id = {user.Id}");
        Assert.Null(await _store.GetSessionAsync(token));
        Assert.Equal("disabled", (await _store.VerifyPasswordAsync("alice", Password)).Reason);
    }

    [Fact]
    public async Task Failed_sign_ins_are_throttled_per_username_and_per_ip_until_the_window_passes()
    {
        for (var i = 0; i < 5; i++)
        {
            Assert.Null(await _store.ThrottleAsync("alice", "10.0.0.1"));
            await _store.RecordLoginAttemptAsync("alice", "10.0.0." + (i + 1), false, "wrong-password", null);
            _clock.Advance(TimeSpan.FromMinutes(1));
        }

        var wait = await _store.ThrottleAsync("ALICE", "10.9.9.9");
        Assert.NotNull(wait);
        Assert.Equal(TimeSpan.FromMinutes(10), wait); // failures at minutes 0–4, now minute 5: the oldest leaves the 15-minute window in 10 minutes
        Assert.Null(await _store.ThrottleAsync("bob", "10.9.9.9"));

        // Per IP: 20 failures from one address for different names.
        for (var i = 0; i < 20; i++)
        {
            await _store.RecordLoginAttemptAsync("user" + i, "192.0.2.1", false, "unknown-user", null);
        }

        Assert.NotNull(await _store.ThrottleAsync("someone-new", "192.0.2.1"));
        Assert.Null(await _store.ThrottleAsync("someone-new", "192.0.2.2"));

        _clock.Advance(TimeSpan.FromMinutes(16));
        Assert.Null(await _store.ThrottleAsync("alice", "10.0.0.1"));
        Assert.Null(await _store.ThrottleAsync("someone-new", "192.0.2.1"));
        Assert.DoesNotContain(Password, string.Join(",", await _db.ScalarAsync<string>("SELECT string_agg(username || reason, ',') FROM login_attempts")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invites_are_single_use_expire_after_7_days_and_give_the_role_they_name()
    {
        var admin = await _store.CreateUserAsync("admin", Password, isHostAdmin: true);
        var (token, invite) = await _store.CreateInviteAsync("web", ProjectRole.Viewer, admin.Id);
        Assert.Equal(_clock.GetUtcNow().AddDays(7), invite.ExpiresAt);
        Assert.Equal("admin", invite.CreatedBy);

        var (viewer, used) = await _store.AcceptInviteAsync(token, "victor", Password);
        Assert.Equal("victor", used.UsedBy);
        Assert.Equal(ProjectRole.Viewer, await _store.RoleAsync(viewer, "web"));
        Assert.Null(await _store.RoleAsync(viewer, "ops"));
        Assert.Equal(ProjectRole.Admin, await _store.RoleAsync(admin, "ops"));
        Assert.Contains("already been used", (await Assert.ThrowsAsync<AccountException>(() => _store.AcceptInviteAsync(token, "mallory", Password))).Errors["token"]);

        var (late, _) = await _store.CreateInviteAsync("web", ProjectRole.Editor, admin.Id);
        _clock.Advance(TimeSpan.FromDays(7));
        Assert.Contains("expired", (await Assert.ThrowsAsync<AccountException>(() => _store.AcceptInviteAsync(late, "late", Password))).Errors["token"]);
        Assert.Contains("not valid", (await Assert.ThrowsAsync<AccountException>(() => _store.AcceptInviteAsync("nope", "nobody", Password))).Errors["token"]);
        Assert.Equal(2L, await _db.ScalarAsync<long>("SELECT count(*) FROM users"));
    }

    [Fact]
    public async Task Two_simultaneous_uses_of_one_invite_make_one_user()
    {
        var (token, _) = await _store.CreateInviteAsync("web", ProjectRole.Editor, null);
        var attempts = await Task.WhenAll(Enumerable.Range(0, 3).Select(async i =>
        {
            try
            {
                await _store.AcceptInviteAsync(token, "racer" + i, Password);
                return true;
            }
            catch (AccountException)
            {
                return false;
            }
        }));
        Assert.Single(attempts, a => a);
        Assert.Equal(1L, await _db.ScalarAsync<long>("SELECT count(*) FROM users"));
    }

    [Fact]
    public async Task Api_tokens_are_shown_once_stored_hashed_scoped_to_one_project_and_revocable()
    {
        var (token, info) = await _store.CreateApiTokenAsync("web", "CI script", ProjectRole.Editor, null);
        Assert.StartsWith("orch_", token, StringComparison.Ordinal);
        Assert.Equal(45, token.Length);
        Assert.Equal(token[..12], info.Prefix);
        Assert.Equal(0L, await _db.ScalarAsync<long>("SELECT count(*) FROM api_tokens WHERE prefix = @t OR encode(token_hash, 'escape') LIKE '%' || @t || '%'", ("t", token)));

        var authenticated = await _store.AuthenticateApiTokenAsync(token);
        Assert.Equal("web", authenticated?.ProjectSlug);
        Assert.Equal(_clock.GetUtcNow(), authenticated?.LastUsedAt);
        Assert.Null(await _store.AuthenticateApiTokenAsync(token[..^1] + (token[^1] == 'A' ? "B" : "A")));

        Assert.False(await _store.RevokeApiTokenAsync("ops", info.Id));
        Assert.True(await _store.RevokeApiTokenAsync("web", info.Id));
        Assert.Null(await _store.AuthenticateApiTokenAsync(token));
        Assert.NotNull((await _store.ListApiTokensAsync("web")).Single().RevokedAt);
    }

    [Fact]
    public async Task Sign_in_links_work_once_and_expire()
    {
        var user = await _store.CreateUserAsync("alice", Password);
        var link = await _store.CreateSignInLinkAsync(user.Id, TimeSpan.FromMinutes(30));
        Assert.Equal(user.Id, (await _store.RedeemSignInLinkAsync(link))?.Id);
        Assert.Null(await _store.RedeemSignInLinkAsync(link));
        var late = await _store.CreateSignInLinkAsync(user.Id, TimeSpan.FromMinutes(30));
        _clock.Advance(TimeSpan.FromMinutes(31));
        Assert.Null(await _store.RedeemSignInLinkAsync(late));
    }
}

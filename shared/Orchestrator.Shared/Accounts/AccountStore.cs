using System.Text.RegularExpressions;
using Dapper;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Orchestrator.Shared.Accounts;

/// <summary>A request about accounts that is refused; <see cref="Errors"/> name the field and what is wrong.</summary>
public sealed class AccountException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errors">Field → message.</param>
    public AccountException(IReadOnlyDictionary<string, string> errors)
        : base(string.Join("; ", errors.Select(e => $"{e.Key}: {e.Value}")))
    {
        Errors = errors;
    }

    /// <summary>Field → message (<c>username</c>, <c>password</c>, <c>token</c> …).</summary>
    public IReadOnlyDictionary<string, string> Errors { get; }
}

/// <summary>
/// Users, sessions, invites, memberships, project API tokens and sign-in attempts in PostgreSQL (migration 0008).
/// Passwords are hashed by ASP.NET Core Identity's <see cref="PasswordHasher{TUser}"/> (format v3: PBKDF2-HMAC-SHA512,
/// <see cref="AccountOptions.PasswordIterations"/> iterations, 128-bit salt — https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html);
/// session ids, invite tokens, sign-in links and API tokens are stored as SHA-256 hashes only.
/// </summary>
public sealed partial class AccountStore
{
    private static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);

    private readonly NpgsqlDataSource _db;
    private readonly TimeProvider _clock;
    private readonly ILogger _log;
    private readonly PasswordHasher<UserAccount> _hasher;

    static AccountStore() => DapperTypes.Register();

    /// <summary>Creates the store.</summary>
    /// <param name="db">The orchestrator database (migrated).</param>
    /// <param name="clock">"Now".</param>
    /// <param name="options">Lifetimes, password and throttling rules.</param>
    /// <param name="logger">Logs account changes (user names and ids only; never passwords or tokens).</param>
    public AccountStore(NpgsqlDataSource db, TimeProvider clock, AccountOptions? options = null, ILogger<AccountStore>? logger = null)
    {
        _db = db;
        _clock = clock;
        Options = options ?? new AccountOptions();
        _log = logger ?? (ILogger)NullLogger.Instance;
        _hasher = new PasswordHasher<UserAccount>(Microsoft.Extensions.Options.Options.Create(new PasswordHasherOptions
        {
            CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3,
            IterationCount = Options.PasswordIterations,
        }));
    }

    /// <summary>The rules in force.</summary>
    public AccountOptions Options { get; }

    // ---- users ----

    /// <summary>Whether any user exists (<c>/init</c> is open only while none does).</summary>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>true</c> once the first user exists.</returns>
    public async Task<bool> AnyUserAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT EXISTS (SELECT 1 FROM users)", cancellationToken: cancellationToken));
    }

    /// <summary>Problems with a proposed username and password (empty when both are acceptable).</summary>
    /// <param name="username">1–64 characters: letters, digits, <c>.</c>, <c>_</c>, <c>-</c>, <c>@</c>.</param>
    /// <param name="password">At least <see cref="AccountOptions.MinPasswordLength"/> characters, at most 1,024, not the username.</param>
    /// <returns>Field → message.</returns>
    public Dictionary<string, string> Validate(string? username, string? password)
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        if (username is not null && !UsernamePattern().IsMatch(username))
        {
            errors["username"] = "Use 1–64 letters, digits, '.', '_', '-' or '@'.";
        }

        if (password is not null)
        {
            if (password.Length < Options.MinPasswordLength)
            {
                errors["password"] = $"Use at least {Options.MinPasswordLength} characters.";
            }
            else if (password.Length > 1024)
            {
                errors["password"] = "Use at most 1,024 characters.";
            }
            else if (username is not null && string.Equals(password, username, StringComparison.OrdinalIgnoreCase))
            {
                errors["password"] = "The password must not be the username.";
            }
        }

        return errors;
    }

    /// <summary>Creates the host admin — only while no user exists (the check and the insert hold one lock, so two racing <c>/init</c> calls make one admin).</summary>
    /// <param name="username">Name.</param>
    /// <param name="password">Password.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The admin, or <c>null</c> when a user already existed.</returns>
    /// <exception cref="AccountException">Invalid username or password.</exception>
    public async Task<UserAccount?> CreateFirstAdminAsync(string username, string password, CancellationToken cancellationToken = default)
    {
        ThrowIfInvalid(username, password);
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(hashtextextended('orch.users.init', 0))", transaction: tx, cancellationToken: cancellationToken));
        if (await connection.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT EXISTS (SELECT 1 FROM users)", transaction: tx, cancellationToken: cancellationToken)))
        {
            return null;
        }

        var user = await InsertUserAsync(connection, tx, username, password, isHostAdmin: true, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        _log.LogInformation("Host admin {Username} (id {UserId}) created", user.Username, user.Id);
        return user;
    }

    /// <summary>Creates a user (not a host admin).</summary>
    /// <param name="username">Name.</param>
    /// <param name="password">Password.</param>
    /// <param name="isHostAdmin">Whether they administer every project.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The user.</returns>
    /// <exception cref="AccountException">Invalid, or the username is taken.</exception>
    public async Task<UserAccount> CreateUserAsync(string username, string password, bool isHostAdmin = false, CancellationToken cancellationToken = default)
    {
        ThrowIfInvalid(username, password);
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var user = await InsertUserAsync(connection, tx, username, password, isHostAdmin, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return user;
    }

    /// <summary>A user by id.</summary>
    /// <param name="id">Id.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The user, or <c>null</c>.</returns>
    public async Task<UserAccount?> GetUserAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<UserAccount>(new CommandDefinition(UserSelect + " WHERE id = @id", new { id }, cancellationToken: cancellationToken));
    }

    /// <summary>A user by name (case-insensitive).</summary>
    /// <param name="username">Name.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The user, or <c>null</c>.</returns>
    public async Task<UserAccount?> FindUserAsync(string username, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<UserAccount>(new CommandDefinition(UserSelect + " WHERE lower(username) = lower(@username)", new { username }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Checks a username and password. The hash is computed even for an unknown user, so timing does not tell which
    /// names exist; an old-format hash is upgraded on success.
    /// </summary>
    /// <param name="username">Name typed.</param>
    /// <param name="password">Password typed.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The user and <c>ok</c>, or <c>null</c> and <c>unknown-user</c> / <c>wrong-password</c> / <c>disabled</c>.</returns>
    public async Task<(UserAccount? User, string Reason)> VerifyPasswordAsync(string username, string password, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<PasswordRow>(new CommandDefinition(
            "SELECT id AS Id, password_hash AS Hash FROM users WHERE lower(username) = lower(@username)", new { username }, cancellationToken: cancellationToken));
        if (row is null)
        {
            _hasher.VerifyHashedPassword(null!, DummyHash, password);
            return (null, "unknown-user");
        }

        var result = _hasher.VerifyHashedPassword(null!, row.Hash, password);
        if (result == PasswordVerificationResult.Failed)
        {
            return (null, "wrong-password");
        }

        if (result == PasswordVerificationResult.SuccessRehashNeeded)
        {
            await connection.ExecuteAsync(new CommandDefinition("UPDATE users SET password_hash = @hash WHERE id = @id",
                new { hash = _hasher.HashPassword(null!, password), id = row.Id }, cancellationToken: cancellationToken));
        }

        var user = await connection.QuerySingleAsync<UserAccount>(new CommandDefinition(UserSelect + " WHERE id = @id", new { id = row.Id }, cancellationToken: cancellationToken));
        return user.Disabled ? (null, "disabled") : (user, "ok");
    }

    /// <summary>Changes a password after checking the current one, and revokes every session of the user (the caller signs the person in again).</summary>
    /// <param name="userId">The user.</param>
    /// <param name="currentPassword">Their current password.</param>
    /// <param name="newPassword">The new one.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>How many sessions were revoked.</returns>
    /// <exception cref="AccountException">The current password is wrong, or the new one is not acceptable.</exception>
    public async Task<int> ChangePasswordAsync(long userId, string currentPassword, string newPassword, CancellationToken cancellationToken = default)
    {
        var user = await GetUserAsync(userId, cancellationToken) ?? throw new AccountException(new Dictionary<string, string> { ["user"] = "No such user." });
        if ((await VerifyPasswordAsync(user.Username, currentPassword, cancellationToken)).User is null)
        {
            throw new AccountException(new Dictionary<string, string> { ["current_password"] = "The current password is not right." });
        }

        ThrowIfInvalid(user.Username, newPassword);
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("UPDATE users SET password_hash = @hash, password_changed_at = @now WHERE id = @id",
            new { hash = _hasher.HashPassword(user, newPassword), now = _clock.GetUtcNow(), id = userId }, tx, cancellationToken: cancellationToken));
        var revoked = await connection.ExecuteAsync(new CommandDefinition("DELETE FROM sessions WHERE user_id = @id", new { id = userId }, tx, cancellationToken: cancellationToken));
        await tx.CommitAsync(cancellationToken);
        _log.LogInformation("User {UserId} changed their password; {Count} session(s) revoked", userId, revoked);
        return revoked;
    }

    // ---- sign-in attempts and throttling ----

    /// <summary>Records a sign-in attempt (never the password).</summary>
    /// <param name="username">Name typed (capped at 128 characters).</param>
    /// <param name="ip">Client address.</param>
    /// <param name="succeeded">Whether it signed in.</param>
    /// <param name="reason">See <see cref="LoginAttempt.Reason"/>.</param>
    /// <param name="userAgent">The browser's <c>User-Agent</c> (capped).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    public async Task RecordLoginAttemptAsync(string username, string ip, bool succeeded, string reason, string? userAgent, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO login_attempts (username, ip, succeeded, reason, user_agent, at) VALUES (@username, @ip, @succeeded, @reason, @userAgent, @now)",
            new { username = Cap(username, 128), ip = Cap(ip, 64), succeeded, reason, userAgent = Cap(userAgent, 256), now = _clock.GetUtcNow() }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// How long a sign-in for <paramref name="username"/> from <paramref name="ip"/> must wait: <c>null</c> when it may
    /// proceed, else the time until the oldest counted failure leaves <see cref="AccountOptions.ThrottleWindow"/>
    /// (more than <see cref="AccountOptions.MaxFailuresPerUsername"/> failures for the name, or
    /// <see cref="AccountOptions.MaxFailuresPerIp"/> from the address, in the window).
    /// </summary>
    /// <param name="username">Name typed.</param>
    /// <param name="ip">Client address.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The wait, or <c>null</c>.</returns>
    public async Task<TimeSpan?> ThrottleAsync(string username, string ip, CancellationToken cancellationToken = default)
    {
        var now = _clock.GetUtcNow();
        var since = now - Options.ThrottleWindow;
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        async Task<TimeSpan?> WaitFor(string where, object args)
        {
            // The max-th newest failure in the window: once it ages out, one more attempt is allowed.
            var nth = await connection.ExecuteScalarAsync<DateTimeOffset?>(new CommandDefinition(
                $"SELECT at FROM login_attempts WHERE {where} AND NOT succeeded AND reason <> 'throttled' AND at > @since ORDER BY at DESC OFFSET @skip LIMIT 1",
                args, cancellationToken: cancellationToken));
            return nth is { } at ? at + Options.ThrottleWindow - now : null;
        }

        var byName = await WaitFor("lower(username) = lower(@username)", new { username = Cap(username, 128), since, skip = Options.MaxFailuresPerUsername - 1 });
        var byIp = await WaitFor("ip = @ip", new { ip = Cap(ip, 64), since, skip = Options.MaxFailuresPerIp - 1 });
        var wait = new[] { byName, byIp }.Where(w => w is not null).Select(w => w!.Value).DefaultIfEmpty(TimeSpan.Zero).Max();
        return wait > TimeSpan.Zero ? wait : null;
    }

    /// <summary>The newest sign-in attempts for a username (the account page's history).</summary>
    /// <param name="username">Name.</param>
    /// <param name="limit">At most this many.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Newest first.</returns>
    public async Task<IReadOnlyList<LoginAttempt>> RecentLoginAttemptsAsync(string username, int limit, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<LoginAttempt>(new CommandDefinition(
            "SELECT username AS Username, ip AS Ip, succeeded AS Succeeded, reason AS Reason, at AS At FROM login_attempts WHERE lower(username) = lower(@username) ORDER BY at DESC LIMIT @limit",
            new { username, limit }, cancellationToken: cancellationToken))).ToList();
    }

    // ---- sessions ----

    /// <summary>Starts a session.</summary>
    /// <param name="userId">The user.</param>
    /// <param name="userAgent">Their browser's <c>User-Agent</c>.</param>
    /// <param name="ip">Their address.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The secret session id for the cookie, and the session.</returns>
    public async Task<(string Token, SessionInfo Session)> CreateSessionAsync(long userId, string? userAgent, string? ip, CancellationToken cancellationToken = default)
    {
        var token = AccountTokens.NewToken();
        var hash = AccountTokens.Hash(token);
        var now = _clock.GetUtcNow();
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at, user_agent, ip) VALUES (@hash, @userId, @now, @now, @expires, @userAgent, @ip)",
            new { hash, userId, now, expires = now + Options.SessionLifetime, userAgent = Cap(userAgent, 256), ip = Cap(ip, 64) }, cancellationToken: cancellationToken));
        return (token, new SessionInfo(AccountTokens.ShortId(hash), userId, now, now, now + Options.SessionLifetime, Cap(userAgent, 256), Cap(ip, 64)));
    }

    /// <summary>
    /// The session and user of a cookie value: <c>null</c> when unknown, idle for longer than
    /// <see cref="AccountOptions.SessionIdleTimeout"/>, past its absolute expiry, or the user is disabled (expired rows are
    /// deleted). A live session's <c>last_seen_at</c> is moved forward at most once a minute.
    /// </summary>
    /// <param name="token">The cookie value.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The session and user, or <c>null</c>.</returns>
    public async Task<(SessionInfo Session, UserAccount User)?> GetSessionAsync(string token, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 128)
        {
            return null;
        }

        var hash = AccountTokens.Hash(token);
        var now = _clock.GetUtcNow();
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<SessionRow>(new CommandDefinition("""
            SELECT s.user_id AS UserId, s.created_at AS CreatedAt, s.last_seen_at AS LastSeenAt, s.expires_at AS ExpiresAt, s.user_agent AS UserAgent, s.ip AS Ip
            FROM sessions s WHERE s.id_hash = @hash
            """, new { hash }, cancellationToken: cancellationToken));
        if (row is null)
        {
            return null;
        }

        if (now >= row.ExpiresAt || now - row.LastSeenAt >= Options.SessionIdleTimeout)
        {
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM sessions WHERE id_hash = @hash", new { hash }, cancellationToken: cancellationToken));
            return null;
        }

        var user = await connection.QuerySingleOrDefaultAsync<UserAccount>(new CommandDefinition(UserSelect + " WHERE id = @id", new { id = row.UserId }, cancellationToken: cancellationToken));
        if (user is null || user.Disabled)
        {
            return null;
        }

        var lastSeen = row.LastSeenAt;
        if (now - lastSeen >= TouchInterval)
        {
            lastSeen = now;
            await connection.ExecuteAsync(new CommandDefinition("UPDATE sessions SET last_seen_at = @now WHERE id_hash = @hash", new { now, hash }, cancellationToken: cancellationToken));
        }

        return (new SessionInfo(AccountTokens.ShortId(hash), row.UserId, row.CreatedAt, lastSeen, row.ExpiresAt, row.UserAgent, row.Ip), user);
    }

    /// <summary>The live sessions of a user, newest first.</summary>
    /// <param name="userId">The user.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The sessions.</returns>
    public async Task<IReadOnlyList<SessionInfo>> ListSessionsAsync(long userId, CancellationToken cancellationToken = default)
    {
        var now = _clock.GetUtcNow();
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<SessionListRow>(new CommandDefinition(
            "SELECT id_hash AS Hash, created_at AS CreatedAt, last_seen_at AS LastSeenAt, expires_at AS ExpiresAt, user_agent AS UserAgent, ip AS Ip FROM sessions WHERE user_id = @userId AND expires_at > @now AND last_seen_at > @idle ORDER BY created_at DESC",
            new { userId, now, idle = now - Options.SessionIdleTimeout }, cancellationToken: cancellationToken));
        return rows.Select(r => new SessionInfo(AccountTokens.ShortId(r.Hash), userId, r.CreatedAt, r.LastSeenAt, r.ExpiresAt, r.UserAgent, r.Ip)).ToList();
    }

    /// <summary>Ends the session of a cookie value (logout).</summary>
    /// <param name="token">The cookie value.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>true</c> when a session ended.</returns>
    public async Task<bool> RevokeSessionAsync(string token, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition("DELETE FROM sessions WHERE id_hash = @hash", new { hash = AccountTokens.Hash(token) }, cancellationToken: cancellationToken)) == 1;
    }

    /// <summary>Ends one of a user's sessions by its short id (the account page's "revoke").</summary>
    /// <param name="userId">The owner (a user can only end their own sessions).</param>
    /// <param name="sessionId">The <see cref="SessionInfo.Id"/>.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>true</c> when a session ended.</returns>
    public async Task<bool> RevokeSessionByIdAsync(long userId, string sessionId, CancellationToken cancellationToken = default)
    {
        if (!HexId().IsMatch(sessionId))
        {
            return false;
        }

        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM sessions WHERE user_id = @userId AND encode(substring(id_hash from 1 for 8), 'hex') = @sessionId",
            new { userId, sessionId }, cancellationToken: cancellationToken)) == 1;
    }

    // ---- sign-in links ----

    /// <summary>A one-time sign-in link token for a user (the demo prints one).</summary>
    /// <param name="userId">The user.</param>
    /// <param name="lifetime">How long it works.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The secret token for <c>/login/link/{token}</c>.</returns>
    public async Task<string> CreateSignInLinkAsync(long userId, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        var token = AccountTokens.NewToken();
        var now = _clock.GetUtcNow();
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO sign_in_links (token_hash, user_id, created_at, expires_at) VALUES (@hash, @userId, @now, @expires)",
            new { hash = AccountTokens.Hash(token), userId, now, expires = now + lifetime }, cancellationToken: cancellationToken));
        return token;
    }

    /// <summary>Uses a sign-in link: once, before it expires, for a user who is not disabled.</summary>
    /// <param name="token">The token.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The user, or <c>null</c> when the link is unknown, used or expired.</returns>
    public async Task<UserAccount?> RedeemSignInLinkAsync(string token, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 128)
        {
            return null;
        }

        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        var userId = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "UPDATE sign_in_links SET used_at = @now WHERE token_hash = @hash AND used_at IS NULL AND expires_at > @now RETURNING user_id",
            new { hash = AccountTokens.Hash(token), now = _clock.GetUtcNow() }, cancellationToken: cancellationToken));
        return userId is { } id && await GetUserAsync(id, cancellationToken) is { Disabled: false } user ? user : null;
    }

    // ---- memberships ----

    /// <summary>The role of a user in a project: host admins are admins everywhere; others by membership.</summary>
    /// <param name="user">The user.</param>
    /// <param name="projectSlug">The project.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The role, or <c>null</c> when the user is not a member.</returns>
    public async Task<ProjectRole?> RoleAsync(UserAccount user, string projectSlug, CancellationToken cancellationToken = default)
    {
        if (user.IsHostAdmin)
        {
            return ProjectRole.Admin;
        }

        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        var role = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT role FROM project_memberships WHERE user_id = @id AND project_slug = @projectSlug", new { id = user.Id, projectSlug }, cancellationToken: cancellationToken));
        return ProjectRoles.TryParse(role, out var parsed) ? parsed : null;
    }

    /// <summary>The projects a user is a member of, with their role (host admins: see every project instead).</summary>
    /// <param name="userId">The user.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Slug → role.</returns>
    public async Task<IReadOnlyDictionary<string, ProjectRole>> MembershipsOfAsync(long userId, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<MembershipRow>(new CommandDefinition(
            "SELECT project_slug AS Slug, role AS Role FROM project_memberships WHERE user_id = @userId", new { userId }, cancellationToken: cancellationToken));
        return rows.ToDictionary(r => r.Slug, r => ProjectRoles.TryParse(r.Role, out var role) ? role : ProjectRole.Viewer, StringComparer.Ordinal);
    }

    /// <summary>A project's members, by name.</summary>
    /// <param name="projectSlug">The project.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The memberships.</returns>
    public async Task<IReadOnlyList<Membership>> ListMembersAsync(string projectSlug, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<MemberRow>(new CommandDefinition("""
            SELECT m.user_id AS UserId, u.username AS Username, m.role AS Role, m.created_at AS CreatedAt FROM project_memberships m JOIN users u ON u.id = m.user_id
            WHERE m.project_slug = @projectSlug ORDER BY lower(u.username)
            """, new { projectSlug }, cancellationToken: cancellationToken));
        return rows.Select(r => new Membership(r.UserId, r.Username, projectSlug, ProjectRoles.TryParse(r.Role, out var role) ? role : ProjectRole.Viewer, r.CreatedAt)).ToList();
    }

    /// <summary>Adds a member or changes their role.</summary>
    /// <param name="userId">The user.</param>
    /// <param name="projectSlug">The project.</param>
    /// <param name="role">The role.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>A task.</returns>
    public async Task SetMembershipAsync(long userId, string projectSlug, ProjectRole role, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO project_memberships (user_id, project_slug, role, created_at) VALUES (@userId, @projectSlug, @role, @now)
            ON CONFLICT (user_id, project_slug) DO UPDATE SET role = excluded.role
            """, new { userId, projectSlug, role = role.Name(), now = _clock.GetUtcNow() }, cancellationToken: cancellationToken));
    }

    /// <summary>Removes a member.</summary>
    /// <param name="userId">The user.</param>
    /// <param name="projectSlug">The project.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>true</c> when they were a member.</returns>
    public async Task<bool> RemoveMembershipAsync(long userId, string projectSlug, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM project_memberships WHERE user_id = @userId AND project_slug = @projectSlug", new { userId, projectSlug }, cancellationToken: cancellationToken)) == 1;
    }

    /// <summary>
    /// Changes a member's role or removes them (<paramref name="role"/> <c>null</c>), keeping at least one admin membership:
    /// demoting or removing the last admin (of users not disabled) is refused unless <paramref name="mayLeaveNoAdmin"/>.
    /// The project's membership rows are locked for the check and the change, so two admins demoting each other at once
    /// cannot both succeed.
    /// </summary>
    /// <param name="projectSlug">The project.</param>
    /// <param name="userId">The member.</param>
    /// <param name="role">The new role, or <c>null</c> to remove the membership.</param>
    /// <param name="mayLeaveNoAdmin">Allow the project to end without an admin membership (host admins still administer it).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>What happened.</returns>
    public async Task<MembershipChange> ChangeMembershipAsync(string projectSlug, long userId, ProjectRole? role, bool mayLeaveNoAdmin, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<LockedMemberRow>(new CommandDefinition("""
            SELECT m.user_id AS UserId, m.role AS Role, u.disabled AS Disabled FROM project_memberships m JOIN users u ON u.id = m.user_id
            WHERE m.project_slug = @projectSlug ORDER BY m.user_id FOR UPDATE OF m
            """, new { projectSlug }, tx, cancellationToken: cancellationToken))).ToList();
        var target = rows.FirstOrDefault(r => r.UserId == userId);
        if (target is null)
        {
            return MembershipChange.NotMember;
        }

        var losesAdmin = target.Role == ProjectRole.Admin.Name() && role != ProjectRole.Admin;
        if (losesAdmin && !mayLeaveNoAdmin && !rows.Any(r => r.UserId != userId && r.Role == ProjectRole.Admin.Name() && !r.Disabled))
        {
            return MembershipChange.LastAdmin;
        }

        await connection.ExecuteAsync(new CommandDefinition(
            role is not null
                ? "UPDATE project_memberships SET role = @role WHERE user_id = @userId AND project_slug = @projectSlug"
                : "DELETE FROM project_memberships WHERE user_id = @userId AND project_slug = @projectSlug",
            new { userId, projectSlug, role = role?.Name() }, tx, cancellationToken: cancellationToken));
        await tx.CommitAsync(cancellationToken);
        _log.LogInformation("Membership of user {UserId} in project {Project}: {Change}", userId, projectSlug, role is null ? "removed" : "role " + role.Value.Name());
        return MembershipChange.Changed;
    }

    /// <summary>The host admins (admins of every project), by name.</summary>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The users.</returns>
    public async Task<IReadOnlyList<UserAccount>> ListHostAdminsAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<UserAccount>(new CommandDefinition(UserSelect + " WHERE is_host_admin ORDER BY lower(username)", cancellationToken: cancellationToken))).ToList();
    }

    // ---- invites ----

    /// <summary>Creates an invite link for a role in a project (expires after <see cref="AccountOptions.InviteLifetime"/>).</summary>
    /// <param name="projectSlug">The project.</param>
    /// <param name="role">The role the invitee gets.</param>
    /// <param name="createdBy">The inviting user.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The secret token for <c>/invite/{token}</c>, and the invite.</returns>
    public async Task<(string Token, InviteInfo Invite)> CreateInviteAsync(string projectSlug, ProjectRole role, long? createdBy, CancellationToken cancellationToken = default)
    {
        var token = AccountTokens.NewToken();
        var now = _clock.GetUtcNow();
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            INSERT INTO invites (token_hash, project_slug, role, created_by, created_at, expires_at) VALUES (@hash, @projectSlug, @role, @createdBy, @now, @expires)
            RETURNING id
            """, new { hash = AccountTokens.Hash(token), projectSlug, role = role.Name(), createdBy, now, expires = now + Options.InviteLifetime }, cancellationToken: cancellationToken));
        var invite = (await ListInvitesAsync(projectSlug, cancellationToken)).Single(i => i.Id == id);
        _log.LogInformation("Invite {InviteId} to project {Project} as {Role} created by user {UserId}", id, projectSlug, role.Name(), createdBy);
        return (token, invite);
    }

    /// <summary>The invite behind a token (used or expired ones too, so the page can say so).</summary>
    /// <param name="token">The token.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The invite, or <c>null</c> when unknown.</returns>
    public async Task<InviteInfo?> GetInviteAsync(string token, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 128)
        {
            return null;
        }

        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<InviteRow>(new CommandDefinition(InviteSelect + " WHERE i.token_hash = @hash",
            new { hash = AccountTokens.Hash(token) }, cancellationToken: cancellationToken));
        return row?.ToInfo();
    }

    /// <summary>A project's invites, newest first.</summary>
    /// <param name="projectSlug">The project.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The invites.</returns>
    public async Task<IReadOnlyList<InviteInfo>> ListInvitesAsync(string projectSlug, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<InviteRow>(new CommandDefinition(InviteSelect + " WHERE i.project_slug = @projectSlug ORDER BY i.created_at DESC",
            new { projectSlug }, cancellationToken: cancellationToken))).Select(r => r.ToInfo()).ToList();
    }

    /// <summary>Deletes an unused invite.</summary>
    /// <param name="projectSlug">Its project.</param>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>true</c> when it existed.</returns>
    public async Task<bool> DeleteInviteAsync(string projectSlug, long id, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition("DELETE FROM invites WHERE id = @id AND project_slug = @projectSlug AND used_at IS NULL",
            new { id, projectSlug }, cancellationToken: cancellationToken)) == 1;
    }

    /// <summary>
    /// Uses an invite: creates the user and their membership and marks the invite used, in one transaction (the invite
    /// row is locked, so a link works once even when submitted twice at the same moment).
    /// </summary>
    /// <param name="token">The token.</param>
    /// <param name="username">The new user's name.</param>
    /// <param name="password">Their password.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The new user and the invite.</returns>
    /// <exception cref="AccountException">Unknown, used or expired invite (<c>token</c>), or an invalid or taken username/password.</exception>
    public async Task<(UserAccount User, InviteInfo Invite)> AcceptInviteAsync(string token, string username, string password, CancellationToken cancellationToken = default)
    {
        ThrowIfInvalid(username, password);
        var now = _clock.GetUtcNow();
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<InviteRow>(new CommandDefinition(InviteSelect + " WHERE i.token_hash = @hash FOR UPDATE OF i",
            new { hash = AccountTokens.Hash(token) }, tx, cancellationToken: cancellationToken));
        var problem = row is null ? "This invite link is not valid."
            : row.UsedAt is not null ? "This invite link has already been used."
            : row.ExpiresAt <= now ? $"This invite link expired on {row.ExpiresAt:yyyy-MM-dd HH:mm} UTC; ask for a new one."
            : null;
        if (problem is not null)
        {
            throw new AccountException(new Dictionary<string, string> { ["token"] = problem });
        }

        var user = await InsertUserAsync(connection, tx, username, password, isHostAdmin: false, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO project_memberships (user_id, project_slug, role, created_at) VALUES (@userId, @projectSlug, @role, @now)
            """, new { userId = user.Id, projectSlug = row!.ProjectSlug, role = row.Role, now }, tx, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition("UPDATE invites SET used_at = @now, used_by = @userId WHERE id = @id",
            new { now, userId = user.Id, id = row.Id }, tx, cancellationToken: cancellationToken));
        await tx.CommitAsync(cancellationToken);
        _log.LogInformation("Invite {InviteId} used by new user {Username} (id {UserId})", row.Id, user.Username, user.Id);
        return (user, (row with { UsedAt = now, UsedBy = user.Username }).ToInfo());
    }

    // ---- API tokens ----

    /// <summary>Creates a project API token; the token is returned once and only its hash is kept.</summary>
    /// <param name="projectSlug">The project.</param>
    /// <param name="name">What it is for (1–100 characters).</param>
    /// <param name="role">What it may do.</param>
    /// <param name="createdBy">The creating user.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The token and its record.</returns>
    /// <exception cref="AccountException">An empty or too long name.</exception>
    public async Task<(string Token, ApiTokenInfo Info)> CreateApiTokenAsync(string projectSlug, string name, ProjectRole role, long? createdBy, CancellationToken cancellationToken = default)
    {
        name = name?.Trim() ?? "";
        if (name.Length is 0 or > 100)
        {
            throw new AccountException(new Dictionary<string, string> { ["name"] = "Give the token a name of 1–100 characters." });
        }

        var token = AccountTokens.NewApiToken();
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
            INSERT INTO api_tokens (project_slug, name, token_hash, prefix, role, created_by, created_at) VALUES (@projectSlug, @name, @hash, @prefix, @role, @createdBy, @now)
            RETURNING id
            """, new { projectSlug, name, hash = AccountTokens.Hash(token), prefix = token[..12], role = role.Name(), createdBy, now = _clock.GetUtcNow() }, cancellationToken: cancellationToken));
        _log.LogInformation("API token {TokenId} ({Prefix}…) for project {Project} created by user {UserId}", id, token[..12], projectSlug, createdBy);
        return (token, (await ListApiTokensAsync(projectSlug, cancellationToken)).Single(t => t.Id == id));
    }

    /// <summary>A project's API tokens (revoked ones too), newest first.</summary>
    /// <param name="projectSlug">The project.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The tokens.</returns>
    public async Task<IReadOnlyList<ApiTokenInfo>> ListApiTokensAsync(string projectSlug, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<ApiTokenRow>(new CommandDefinition(ApiTokenSelect + " WHERE t.project_slug = @projectSlug ORDER BY t.created_at DESC, t.id DESC",
            new { projectSlug }, cancellationToken: cancellationToken))).Select(r => r.ToInfo()).ToList();
    }

    /// <summary>Revokes a token.</summary>
    /// <param name="projectSlug">Its project.</param>
    /// <param name="id">Its id.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><c>true</c> when a working token was revoked.</returns>
    public async Task<bool> RevokeApiTokenAsync(string projectSlug, long id, CancellationToken cancellationToken = default)
    {
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        var revoked = await connection.ExecuteAsync(new CommandDefinition("UPDATE api_tokens SET revoked_at = @now WHERE id = @id AND project_slug = @projectSlug AND revoked_at IS NULL",
            new { id, projectSlug, now = _clock.GetUtcNow() }, cancellationToken: cancellationToken)) == 1;
        if (revoked)
        {
            _log.LogInformation("API token {TokenId} of project {Project} revoked", id, projectSlug);
        }

        return revoked;
    }

    /// <summary>The working token behind a bearer value; its <c>last_used_at</c> moves forward at most once a minute.</summary>
    /// <param name="token">The bearer value.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The token's record, or <c>null</c> when unknown or revoked (or the project is gone).</returns>
    public async Task<ApiTokenInfo?> AuthenticateApiTokenAsync(string token, CancellationToken cancellationToken = default)
    {
        if (!token.StartsWith(AccountTokens.ApiTokenPrefix, StringComparison.Ordinal) || token.Length > 128)
        {
            return null;
        }

        var hash = AccountTokens.Hash(token);
        await using var connection = await _db.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<ApiTokenRow>(new CommandDefinition(ApiTokenSelect + " WHERE t.token_hash = @hash AND t.revoked_at IS NULL",
            new { hash }, cancellationToken: cancellationToken));
        if (row is null)
        {
            return null;
        }

        var now = _clock.GetUtcNow();
        if (row.LastUsedAt is not { } last || now - last >= TouchInterval)
        {
            await connection.ExecuteAsync(new CommandDefinition("UPDATE api_tokens SET last_used_at = @now WHERE id = @id", new { now, id = row.Id }, cancellationToken: cancellationToken));
            row = row with { LastUsedAt = now };
        }

        return row.ToInfo();
    }

    // ---- helpers ----

    private const string UserSelect =
        "SELECT id AS Id, username AS Username, is_host_admin AS IsHostAdmin, disabled AS Disabled, created_at AS CreatedAt, password_changed_at AS PasswordChangedAt FROM users";

    private const string InviteSelect = """
        SELECT i.id AS Id, i.project_slug AS ProjectSlug, i.role AS Role, c.username AS CreatedBy, i.created_at AS CreatedAt, i.expires_at AS ExpiresAt,
               i.used_at AS UsedAt, u.username AS UsedBy
        FROM invites i LEFT JOIN users c ON c.id = i.created_by LEFT JOIN users u ON u.id = i.used_by
        """;

    private const string ApiTokenSelect = """
        SELECT t.id AS Id, t.project_slug AS ProjectSlug, t.name AS Name, t.prefix AS Prefix, t.role AS Role, c.username AS CreatedBy,
               t.created_at AS CreatedAt, t.last_used_at AS LastUsedAt, t.revoked_at AS RevokedAt
        FROM api_tokens t LEFT JOIN users c ON c.id = t.created_by
        """;

    // A hash of a random password, verified against for unknown users so that sign-in takes as long as for known ones.
    private static readonly string DummyHash = new PasswordHasher<UserAccount>(Microsoft.Extensions.Options.Options.Create(new PasswordHasherOptions { IterationCount = 210_000 }))
        .HashPassword(null!, AccountTokens.NewToken());

    private async Task<UserAccount> InsertUserAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string username, string password, bool isHostAdmin, CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        try
        {
            var id = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
                INSERT INTO users (username, password_hash, is_host_admin, created_at, password_changed_at) VALUES (@username, @hash, @isHostAdmin, @now, @now) RETURNING id
                """, new { username, hash = _hasher.HashPassword(null!, password), isHostAdmin, now }, tx, cancellationToken: cancellationToken));
            return new UserAccount(id, username, isHostAdmin, false, now, now);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new AccountException(new Dictionary<string, string> { ["username"] = $"The username '{username}' is taken." });
        }
    }

    private void ThrowIfInvalid(string username, string password)
    {
        if (Validate(username ?? "", password ?? "") is { Count: > 0 } errors)
        {
            throw new AccountException(errors);
        }
    }

    private static string? Cap(string? value, int max) => value is null ? null : value.Length <= max ? value : value[..max];

    [GeneratedRegex(@"^[A-Za-z0-9._@-]{1,64}$")]
    private static partial Regex UsernamePattern();

    [GeneratedRegex("^[0-9a-f]{16}$")]
    private static partial Regex HexId();

    private sealed record PasswordRow(long Id, string Hash);

    private sealed record SessionListRow(byte[] Hash, DateTimeOffset CreatedAt, DateTimeOffset LastSeenAt, DateTimeOffset ExpiresAt, string? UserAgent, string? Ip);

    private sealed record MembershipRow(string Slug, string Role);

    private sealed record MemberRow(long UserId, string Username, string Role, DateTimeOffset CreatedAt);

    private sealed record LockedMemberRow(long UserId, string Role, bool Disabled);

    private sealed record SessionRow(long UserId, DateTimeOffset CreatedAt, DateTimeOffset LastSeenAt, DateTimeOffset ExpiresAt, string? UserAgent, string? Ip);

    private sealed record InviteRow(long Id, string ProjectSlug, string Role, string? CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? UsedAt, string? UsedBy)
    {
        public InviteInfo ToInfo() => new(Id, ProjectSlug, ProjectRoles.TryParse(Role, out var role) ? role : ProjectRole.Viewer, CreatedBy, CreatedAt, ExpiresAt, UsedAt, UsedBy);
    }

    private sealed record ApiTokenRow(long Id, string ProjectSlug, string Name, string Prefix, string Role, string? CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt)
    {
        public ApiTokenInfo ToInfo() => new(Id, ProjectSlug, Name, Prefix, ProjectRoles.TryParse(Role, out var role) ? role : ProjectRole.Viewer, CreatedBy, CreatedAt, LastUsedAt, RevokedAt);
    }
}

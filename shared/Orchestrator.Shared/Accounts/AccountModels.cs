using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Shared.Accounts;

/// <summary>What a person (or an API token) may do in a project. Higher values include the lower ones.</summary>
public enum ProjectRole
{
    /// <summary>Reads the project, its tasks and settings (secrets masked).</summary>
    Viewer = 1,

    /// <summary>Also acts on tasks: retry, re-sync, link a PR, change repo, add notes, cancel, create tasks.</summary>
    Editor = 2,

    /// <summary>Also changes settings, secrets, API tokens, memberships and invites.</summary>
    Admin = 3,
}

/// <summary>Parsing and printing of <see cref="ProjectRole"/> as the lower-case words stored and shown (<c>admin|editor|viewer</c>).</summary>
public static class ProjectRoles
{
    /// <summary>The stored word of a role.</summary>
    /// <param name="role">The role.</param>
    /// <returns><c>admin</c>, <c>editor</c> or <c>viewer</c>.</returns>
    public static string Name(this ProjectRole role) => role.ToString().ToLowerInvariant();

    /// <summary>Parses a stored or submitted word.</summary>
    /// <param name="value">The word (case-insensitive).</param>
    /// <param name="role">The role.</param>
    /// <returns><c>true</c> when it is one of the three.</returns>
    public static bool TryParse(string? value, out ProjectRole role) =>
        Enum.TryParse(value, ignoreCase: true, out role) && Enum.IsDefined(role) && !int.TryParse(value, out _);
}

/// <summary>A user (table <c>users</c>), without the password hash.</summary>
/// <param name="Id">Id.</param>
/// <param name="Username">Unique (case-insensitively) name.</param>
/// <param name="IsHostAdmin">The first user made through <c>/init</c>: admin of every project, may create projects.</param>
/// <param name="Disabled">A disabled user cannot sign in and their sessions stop working.</param>
/// <param name="CreatedAt">When the account was made.</param>
/// <param name="PasswordChangedAt">When the password was last set.</param>
public sealed record UserAccount(long Id, string Username, bool IsHostAdmin, bool Disabled, DateTimeOffset CreatedAt, DateTimeOffset PasswordChangedAt);

/// <summary>A session (table <c>sessions</c>): who, since when, from where.</summary>
/// <param name="Id">A short, non-secret id for screens and revocation: the first 16 hex digits of the stored hash.</param>
/// <param name="UserId">The user.</param>
/// <param name="CreatedAt">Sign-in time.</param>
/// <param name="LastSeenAt">Last request (updated at most once a minute).</param>
/// <param name="ExpiresAt">Absolute expiry.</param>
/// <param name="UserAgent">The browser's <c>User-Agent</c> at sign-in (capped at 256 characters).</param>
/// <param name="Ip">The client address at sign-in.</param>
public sealed record SessionInfo(string Id, long UserId, DateTimeOffset CreatedAt, DateTimeOffset LastSeenAt, DateTimeOffset ExpiresAt, string? UserAgent, string? Ip);

/// <summary>A project membership.</summary>
/// <param name="UserId">User.</param>
/// <param name="Username">Their name.</param>
/// <param name="ProjectSlug">Project.</param>
/// <param name="Role">Role in it.</param>
/// <param name="CreatedAt">Since when.</param>
public sealed record Membership(long UserId, string Username, string ProjectSlug, ProjectRole Role, DateTimeOffset CreatedAt);

/// <summary>The outcome of <see cref="AccountStore.ChangeMembershipAsync"/>.</summary>
public enum MembershipChange
{
    /// <summary>The role was changed or the membership removed.</summary>
    Changed,

    /// <summary>The user is not a member of the project; nothing changed.</summary>
    NotMember,

    /// <summary>Refused: the member is the project's last admin; nothing changed.</summary>
    LastAdmin,
}

/// <summary>An invite (table <c>invites</c>), without its token.</summary>
/// <param name="Id">Id.</param>
/// <param name="ProjectSlug">Project the invitee joins.</param>
/// <param name="Role">Role they get.</param>
/// <param name="CreatedBy">Who made it (username), if known.</param>
/// <param name="CreatedAt">When.</param>
/// <param name="ExpiresAt">When the link stops working (7 days after creation).</param>
/// <param name="UsedAt">When it was used, or <c>null</c>.</param>
/// <param name="UsedBy">Who used it (username), or <c>null</c>.</param>
public sealed record InviteInfo(long Id, string ProjectSlug, ProjectRole Role, string? CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? UsedAt, string? UsedBy);

/// <summary>A project API token (table <c>api_tokens</c>), without the token.</summary>
/// <param name="Id">Id.</param>
/// <param name="ProjectSlug">The only project it may reach.</param>
/// <param name="Name">What it is for.</param>
/// <param name="Prefix">The first 12 characters, to recognise it (<c>orch_ABCDEFG</c>).</param>
/// <param name="Role">What it may do in the project.</param>
/// <param name="CreatedBy">Who made it (username), if known.</param>
/// <param name="CreatedAt">When.</param>
/// <param name="LastUsedAt">Last request (updated at most once a minute), or <c>null</c>.</param>
/// <param name="RevokedAt">When revoked, or <c>null</c> while it works.</param>
public sealed record ApiTokenInfo(long Id, string ProjectSlug, string Name, string Prefix, ProjectRole Role, string? CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);

/// <summary>One sign-in attempt (table <c>login_attempts</c>; never the password).</summary>
/// <param name="Username">The name typed.</param>
/// <param name="Ip">Client address.</param>
/// <param name="Succeeded">Whether it signed in.</param>
/// <param name="Reason"><c>ok</c>, <c>unknown-user</c>, <c>wrong-password</c>, <c>disabled</c>, <c>throttled</c>.</param>
/// <param name="At">When.</param>
public sealed record LoginAttempt(string Username, string Ip, bool Succeeded, string Reason, DateTimeOffset At);

/// <summary>Tunables of <see cref="AccountStore"/>.</summary>
public sealed record AccountOptions
{
    /// <summary>A session unused for this long stops working (<c>ORCH_SESSION_IDLE_TIMEOUT</c>, default 8 h).</summary>
    public TimeSpan SessionIdleTimeout { get; init; } = TimeSpan.FromHours(8);

    /// <summary>A session stops working this long after sign-in, used or not (<c>ORCH_SESSION_LIFETIME</c>, default 7 days).</summary>
    public TimeSpan SessionLifetime { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Invites expire after this (7 days).</summary>
    public TimeSpan InviteLifetime { get; init; } = TimeSpan.FromDays(7);

    /// <summary>PBKDF2 iterations (OWASP's password storage guidance: ≥ 210,000 for PBKDF2-HMAC-SHA512).</summary>
    public int PasswordIterations { get; init; } = 210_000;

    /// <summary>Shortest accepted password.</summary>
    public int MinPasswordLength { get; init; } = 12;

    /// <summary>Failed sign-ins per username in <see cref="ThrottleWindow"/> before 429.</summary>
    public int MaxFailuresPerUsername { get; init; } = 5;

    /// <summary>Failed sign-ins per client address in <see cref="ThrottleWindow"/> before 429.</summary>
    public int MaxFailuresPerIp { get; init; } = 20;

    /// <summary>The window failures are counted in.</summary>
    public TimeSpan ThrottleWindow { get; init; } = TimeSpan.FromMinutes(15);
}

/// <summary>Random tokens and their stored hashes.</summary>
public static class AccountTokens
{
    /// <summary>Prefix of project API tokens, so secret scanners and people recognise them.</summary>
    public const string ApiTokenPrefix = "orch_";

    private const string Base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    /// <summary>A new 256-bit token, base64url (43 characters).</summary>
    /// <returns>The token.</returns>
    public static string NewToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>A new API token: <see cref="ApiTokenPrefix"/> + 40 base32 characters (200 bits).</summary>
    /// <returns>The token.</returns>
    public static string NewApiToken()
    {
        var bytes = RandomNumberGenerator.GetBytes(40);
        var chars = new char[40];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = Base32[bytes[i] & 31];
        }

        return ApiTokenPrefix + new string(chars);
    }

    /// <summary>SHA-256 of a token's UTF-8 bytes: what is stored and looked up.</summary>
    /// <param name="token">The token.</param>
    /// <returns>32 bytes.</returns>
    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>The non-secret short id of a stored hash (first 16 hex digits).</summary>
    /// <param name="hash">The hash.</param>
    /// <returns>16 lower-case hex digits.</returns>
    public static string ShortId(byte[] hash) => Convert.ToHexStringLower(hash)[..16];
}

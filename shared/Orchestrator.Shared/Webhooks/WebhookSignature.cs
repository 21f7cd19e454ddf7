using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Orchestrator.Shared.Webhooks;

/// <summary>
/// HMAC-SHA256 webhook signatures over the raw request body.
/// </summary>
/// <remarks>
/// <para>
/// Two header shapes are supported:
/// <list type="bullet">
/// <item><description>
/// GitHub's <c>X-Hub-Signature-256</c>: <c>sha256=</c> followed by the 64-character hex HMAC-SHA256 of the
/// raw body keyed with the webhook secret
/// (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
/// </description></item>
/// <item><description>
/// A bare 64-character hex HMAC-SHA256, as Plane sends in <c>X-Plane-Signature</c>
/// (<c>apps/api/plane/bgtasks/webhook_task.py</c> in makeplane/plane) and Gitea in <c>X-Gitea-Signature</c>.
/// </description></item>
/// </list>
/// </para>
/// <para>
/// The signature is always computed over the bytes exactly as received; re-serialising parsed JSON changes
/// them and breaks verification. Verification fails closed: a missing secret, a missing header or a
/// malformed header all answer <see langword="false"/>, never "not checked". Hex digits are accepted in either
/// case; the decoded digests are compared with <see cref="CryptographicOperations.FixedTimeEquals"/> so the
/// time taken does not reveal how many leading bytes matched.
/// </para>
/// </remarks>
public static class WebhookSignature
{
    /// <summary>The prefix GitHub puts before the hex digest in <c>X-Hub-Signature-256</c>.</summary>
    public const string GitHubPrefix = "sha256=";

    private const int DigestBytes = HMACSHA256.HashSizeInBytes;
    private const int DigestHexChars = DigestBytes * 2;

    // Secrets are short in practice; longer ones are rented rather than stack-allocated.
    private const int MaxStackKeyBytes = 256;

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    /// <summary>
    /// Checks GitHub's <c>X-Hub-Signature-256</c> header against the raw body.
    /// </summary>
    /// <param name="rawBody">The request body bytes exactly as received.</param>
    /// <param name="signatureHeader">The header value, e.g. <c>sha256=757107ea…</c>; <see langword="null"/> when absent.</param>
    /// <param name="secret">The webhook secret (UTF-8 encoded for the key); <see langword="null"/> or empty fails closed.</param>
    /// <returns>
    /// <see langword="true"/> only when the secret is set, the header is <c>sha256=</c> (lower case, as GitHub sends it)
    /// followed by exactly 64 hex digits, and those digits equal the HMAC-SHA256 of <paramref name="rawBody"/>.
    /// Never throws for bad input.
    /// </returns>
    public static bool VerifyGitHub(ReadOnlySpan<byte> rawBody, string? signatureHeader, string? secret)
    {
        if (signatureHeader is null || !signatureHeader.StartsWith(GitHubPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        return VerifyCore(rawBody, signatureHeader.AsSpan(GitHubPrefix.Length), secret);
    }

    /// <summary>
    /// Checks a bare hex HMAC-SHA256 signature header (Plane's <c>X-Plane-Signature</c>, Gitea's
    /// <c>X-Gitea-Signature</c>) against the raw body.
    /// </summary>
    /// <param name="rawBody">The request body bytes exactly as received.</param>
    /// <param name="signatureHeader">Exactly 64 hex digits, either case, no prefix; <see langword="null"/> when absent.</param>
    /// <param name="secret">The webhook secret (UTF-8 encoded for the key); <see langword="null"/> or empty fails closed.</param>
    /// <returns><see langword="true"/> only when the signature is well formed and matches. Never throws for bad input.</returns>
    public static bool VerifyHex(ReadOnlySpan<byte> rawBody, string? signatureHeader, string? secret)
    {
        if (signatureHeader is null)
        {
            return false;
        }

        return VerifyCore(rawBody, signatureHeader.AsSpan(), secret);
    }

    /// <summary>
    /// Whether a <c>X-Hub-Signature-256</c> value has GitHub's shape (<c>sha256=</c> + 64 hex digits), without
    /// checking it: a request whose header fails this is refused before its body is read.
    /// </summary>
    /// <param name="signatureHeader">The header value, or <see langword="null"/> when absent.</param>
    /// <returns><see langword="false"/> when <see cref="VerifyGitHub"/> would fail whatever the body.</returns>
    public static bool IsWellFormedGitHub(string? signatureHeader) =>
        signatureHeader is not null && signatureHeader.StartsWith(GitHubPrefix, StringComparison.Ordinal)
        && IsHexDigest(signatureHeader.AsSpan(GitHubPrefix.Length));

    /// <summary>Whether a bare hex signature header (Plane, Gitea, Asana) has the shape of one: 64 hex digits.</summary>
    /// <param name="signatureHeader">The header value, or <see langword="null"/> when absent.</param>
    /// <returns><see langword="false"/> when <see cref="VerifyHex"/> would fail whatever the body.</returns>
    public static bool IsWellFormedHex(string? signatureHeader) => signatureHeader is not null && IsHexDigest(signatureHeader);

    private static bool IsHexDigest(ReadOnlySpan<char> hex) => hex.Length == DigestHexChars && !hex.ContainsAnyExcept(HexDigits);

    /// <summary>
    /// Computes the <c>X-Hub-Signature-256</c> value GitHub would send: <c>sha256=</c> + lower-case hex.
    /// For tests and simulators.
    /// </summary>
    /// <param name="rawBody">The body bytes to sign.</param>
    /// <param name="secret">The webhook secret, UTF-8 encoded as the HMAC key.</param>
    /// <returns>e.g. <c>sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17</c>.</returns>
    /// <exception cref="ArgumentException"><paramref name="secret"/> is null or empty.</exception>
    public static string ComputeGitHubHeader(ReadOnlySpan<byte> rawBody, string secret) =>
        GitHubPrefix + ComputeHex(rawBody, secret);

    /// <summary>
    /// Computes the bare lower-case hex HMAC-SHA256 of the body (the Plane / Gitea header value).
    /// For tests and simulators.
    /// </summary>
    /// <param name="rawBody">The body bytes to sign.</param>
    /// <param name="secret">The webhook secret, UTF-8 encoded as the HMAC key.</param>
    /// <returns>64 lower-case hex digits.</returns>
    /// <exception cref="ArgumentException"><paramref name="secret"/> is null or empty.</exception>
    public static string ComputeHex(ReadOnlySpan<byte> rawBody, string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        Span<byte> digest = stackalloc byte[DigestBytes];
        ComputeDigest(rawBody, secret, digest);
        return Convert.ToHexStringLower(digest);
    }

    private static bool VerifyCore(ReadOnlySpan<byte> rawBody, ReadOnlySpan<char> hex, string? secret)
    {
        if (string.IsNullOrEmpty(secret) || hex.Length != DigestHexChars)
        {
            return false;
        }

        Span<byte> received = stackalloc byte[DigestBytes];
        var status = Convert.FromHexString(hex, received, out var charsConsumed, out var bytesWritten);
        if (status != OperationStatus.Done || charsConsumed != DigestHexChars || bytesWritten != DigestBytes)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[DigestBytes];
        ComputeDigest(rawBody, secret, expected);
        return CryptographicOperations.FixedTimeEquals(expected, received);
    }

    private static void ComputeDigest(ReadOnlySpan<byte> rawBody, string secret, Span<byte> destination)
    {
        var keyLength = Encoding.UTF8.GetByteCount(secret);
        byte[]? rented = null;
        var key = keyLength <= MaxStackKeyBytes
            ? stackalloc byte[MaxStackKeyBytes]
            : (rented = ArrayPool<byte>.Shared.Rent(keyLength));
        key = key[..keyLength];
        try
        {
            Encoding.UTF8.GetBytes(secret, key);
            HMACSHA256.HashData(key, rawBody, destination);
        }
        finally
        {
            // The key is the webhook secret: do not leave it lying in a pooled array or on the stack.
            CryptographicOperations.ZeroMemory(key);
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}

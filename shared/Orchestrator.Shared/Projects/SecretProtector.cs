using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Orchestrator.Shared.Configuration;

namespace Orchestrator.Shared.Projects;

/// <summary>
/// Encrypts project secrets at rest with AES-256-GCM under the host's master key.
/// <para>
/// Envelope: <c>v1:</c> + base64(<c>keyId</c> (4 bytes: the first 4 bytes of SHA-256 of the key) |
/// <c>nonce</c> (12 random bytes) | <c>ciphertext</c> (as long as the UTF-8 plaintext) | <c>tag</c> (16 bytes)).
/// The associated data is the UTF-8 <c>context</c>, by convention <c>"{projectSlug}/{secretName}"</c>
/// (<see cref="ContextFor"/>), so a ciphertext copied to another project or secret does not decrypt.
/// </para>
/// <para>
/// The key comes from <c>ORCH_MASTER_KEY</c> (base64 of 32 bytes) or the key file <c>ORCH_MASTER_KEY_FILE</c>
/// (default <c>&lt;ORCH_DATA_DIR&gt;/master.key</c>; see <see cref="FromSettings"/>). Losing the key loses every
/// stored secret; rotating it means re-entering the secrets.
/// </para>
/// </summary>
public sealed class SecretProtector
{
    /// <summary>Prefix of every envelope this version writes.</summary>
    public const string EnvelopePrefix = "v1:";

    /// <summary>Key length in bytes (AES-256).</summary>
    public const int KeySize = 32;

    /// <summary>What <see cref="Mask"/> shows in place of the hidden part.</summary>
    public const string MaskPrefix = "••••";

    private const int KeyIdSize = 4;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    private readonly byte[] _key;
    private readonly byte[] _keyId;

    /// <summary>Creates a protector over <paramref name="key"/> (copied).</summary>
    /// <param name="key">Exactly 32 bytes.</param>
    /// <exception cref="ArgumentException">The key is not 32 bytes.</exception>
    public SecretProtector(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"The master key must be exactly {KeySize} bytes, got {key.Length}.", nameof(key));
        }

        _key = key.ToArray();
        _keyId = SHA256.HashData(_key)[..KeyIdSize];
    }

    /// <summary>Hex of the first 4 bytes of SHA-256 of the key: identifies the key in envelopes and messages without revealing it.</summary>
    public string KeyId => Convert.ToHexStringLower(_keyId);

    /// <summary>The associated data convention for a project secret: <c>"{projectSlug}/{secretName}"</c>.</summary>
    /// <param name="projectSlug">Project slug.</param>
    /// <param name="secretName">Secret name (<see cref="ProjectSecretNames"/>) or another per-project secret id.</param>
    /// <returns>The context string.</returns>
    public static string ContextFor(string projectSlug, string secretName) => $"{projectSlug}/{secretName}";

    /// <summary>Encrypts <paramref name="plaintext"/> bound to <paramref name="context"/>.</summary>
    /// <param name="plaintext">The secret (any string, UTF-8 encoded).</param>
    /// <param name="context">Associated data, e.g. <c>"web/forge_token"</c>; the same value is needed to decrypt.</param>
    /// <returns>The envelope <c>v1:…</c> (ASCII, safe to store in JSON).</returns>
    public string Protect(string plaintext, string context)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        ArgumentNullException.ThrowIfNull(context);
        var plain = Encoding.UTF8.GetBytes(plaintext);
        var blob = new byte[KeyIdSize + NonceSize + plain.Length + TagSize];
        _keyId.CopyTo(blob, 0);
        var nonce = blob.AsSpan(KeyIdSize, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plain, blob.AsSpan(KeyIdSize + NonceSize, plain.Length), blob.AsSpan(KeyIdSize + NonceSize + plain.Length, TagSize), Encoding.UTF8.GetBytes(context));
        CryptographicOperations.ZeroMemory(plain);
        return EnvelopePrefix + Convert.ToBase64String(blob);
    }

    /// <summary>Decrypts an envelope made by <see cref="Protect"/> with the same key and context.</summary>
    /// <param name="envelope">The <c>v1:…</c> string.</param>
    /// <param name="context">The context it was protected with.</param>
    /// <returns>The plaintext.</returns>
    /// <exception cref="SecretDecryptionException">Malformed envelope, another master key, tampered data or another context; the message names the context, never the value.</exception>
    public string Unprotect(string envelope, string context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (envelope is null || !envelope.StartsWith(EnvelopePrefix, StringComparison.Ordinal))
        {
            throw new SecretDecryptionException(context, "the stored value is not a v1 envelope");
        }

        byte[] blob;
        try
        {
            blob = Convert.FromBase64String(envelope[EnvelopePrefix.Length..]);
        }
        catch (FormatException)
        {
            throw new SecretDecryptionException(context, "the envelope is not valid base64");
        }

        if (blob.Length < KeyIdSize + NonceSize + TagSize)
        {
            throw new SecretDecryptionException(context, "the envelope is truncated");
        }

        if (!blob.AsSpan(0, KeyIdSize).SequenceEqual(_keyId))
        {
            throw new SecretDecryptionException(context,
                $"it was encrypted with another master key (key id {Convert.ToHexStringLower(blob.AsSpan(0, KeyIdSize))}, this host's is {KeyId}); set ORCH_MASTER_KEY / ORCH_MASTER_KEY_FILE to that key or enter the secret again");
        }

        var cipherLength = blob.Length - KeyIdSize - NonceSize - TagSize;
        var plain = new byte[cipherLength];
        try
        {
            using var aes = new AesGcm(_key, TagSize);
            aes.Decrypt(
                blob.AsSpan(KeyIdSize, NonceSize),
                blob.AsSpan(KeyIdSize + NonceSize, cipherLength),
                blob.AsSpan(KeyIdSize + NonceSize + cipherLength, TagSize),
                plain,
                Encoding.UTF8.GetBytes(context));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new SecretDecryptionException(context, "authentication failed (the data was altered or belongs to another project or secret)");
        }

        var text = Encoding.UTF8.GetString(plain);
        CryptographicOperations.ZeroMemory(plain);
        return text;
    }

    /// <summary>
    /// A display form of a secret: <c>••••</c> + its last 4 characters when it has at least
    /// <see cref="MaskRevealMinLength"/>, else <c>••••</c> alone.
    /// </summary>
    /// <param name="secret">The secret, or <c>null</c>.</param>
    /// <returns>The masked form; <c>null</c> for <c>null</c>.</returns>
    [return: NotNullIfNotNull(nameof(secret))]
    public static string? Mask(string? secret) => secret switch
    {
        null => null,
        { Length: >= MaskRevealMinLength } => MaskPrefix + secret[^4..],
        _ => MaskPrefix,
    };

    /// <summary>
    /// The shortest secret whose last 4 characters <see cref="Mask"/> shows. Four of 12 characters left 8 to guess (issue #8
    /// item 9a); from 16 on at least 12 stay hidden, and tokens the platforms issue are longer still.
    /// </summary>
    public const int MaskRevealMinLength = 16;

    /// <summary>
    /// The protector for the configured master key: <see cref="OrchestratorSettings.MasterKey"/> when set, else the
    /// key file <see cref="OrchestratorSettings.MasterKeyFile"/>, else <c>&lt;DataDirectory&gt;/master.key</c>. Only in
    /// the last case a missing file is created: 32 random bytes, mode 0600, with a warning naming the path.
    /// </summary>
    /// <param name="settings">Host settings.</param>
    /// <param name="logger">Receives the "generated a master key" warning (the path only, never the key).</param>
    /// <returns>The protector.</returns>
    /// <exception cref="SettingsException">The key or key file is missing or invalid.</exception>
    public static SecretProtector FromSettings(OrchestratorSettings settings, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.MasterKey is { } base64)
        {
            return new SecretProtector(ParseBase64Key(base64) ?? throw new SettingsException("Invalid configuration:\n  - " + OrchestratorSettings.MasterKeyError));
        }

        if (settings.MasterKeyFile is { } file)
        {
            return new SecretProtector(ReadKeyFile(file) ?? throw new SettingsException(
                $"Invalid configuration:\n  - ORCH_MASTER_KEY_FILE '{file}' does not exist or does not hold a 32-byte key (32 raw bytes or their base64)"));
        }

        var path = Path.Combine(settings.DataDirectory, "master.key");
        if (File.Exists(path))
        {
            return new SecretProtector(ReadKeyFile(path) ?? throw new SettingsException(
                $"Invalid configuration:\n  - the master key file '{path}' does not hold a 32-byte key (32 raw bytes or their base64)"));
        }

        Directory.CreateDirectory(settings.DataDirectory);
        var key = RandomNumberGenerator.GetBytes(KeySize);
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(path, options))
            {
                stream.Write(key);
                stream.Flush(flushToDisk: true);
            }

            logger.LogWarning(
                "Neither ORCH_MASTER_KEY nor ORCH_MASTER_KEY_FILE is set: generated a new master key for project secrets in {Path} (mode 0600). Back it up; without it the stored secrets cannot be decrypted",
                path);
            return new SecretProtector(key);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another host on the same data directory created it first: use theirs.
            return new SecretProtector(ReadKeyFile(path) ?? throw new SettingsException(
                $"Invalid configuration:\n  - the master key file '{path}' does not hold a 32-byte key (32 raw bytes or their base64)"));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Decodes base64 of exactly 32 bytes, or <c>null</c>.</summary>
    /// <param name="base64">Candidate key text.</param>
    /// <returns>The key bytes, or <c>null</c> when not base64 of 32 bytes.</returns>
    internal static byte[]? ParseBase64Key(string base64)
    {
        var buffer = new byte[64];
        return Convert.TryFromBase64String(base64.Trim(), buffer, out var written) && written == KeySize ? buffer[..KeySize] : null;
    }

    private static byte[]? ReadKeyFile(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        if (bytes.Length == KeySize)
        {
            return bytes;
        }

        return bytes.Length < 200 ? ParseBase64Key(Encoding.ASCII.GetString(bytes)) : null;
    }
}

/// <summary>A stored secret could not be decrypted: another master key, altered data, or another context.</summary>
public sealed class SecretDecryptionException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="context">The context (<c>"{projectSlug}/{secretName}"</c>) that was being decrypted.</param>
    /// <param name="reason">Why, without any secret material.</param>
    public SecretDecryptionException(string context, string reason)
        : base($"Cannot decrypt the secret '{context}': {reason}.")
    {
        Context = context;
    }

    /// <summary>The context that failed (<c>"{projectSlug}/{secretName}"</c>).</summary>
    public string Context { get; }
}

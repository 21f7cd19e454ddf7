using Microsoft.Extensions.Configuration;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Shared.Configuration;
using Orchestrator.Shared.Projects;
using Orchestrator.Tests.Integration.Support;

namespace Orchestrator.Tests.Integration.Projects;

public sealed class SecretProtectorTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    [Fact]
    public void Round_trip_and_envelope_shape()
    {
        var protector = new SecretProtector(Key);
        var envelope = protector.Protect("ghp_secret_value_ÄÖ_0123456789", "web/forge_token");
        Assert.StartsWith("v1:", envelope, StringComparison.Ordinal);
        Assert.DoesNotContain("secret_value", envelope, StringComparison.Ordinal);
        var blob = Convert.FromBase64String(envelope[3..]);
        Assert.Equal(4 + 12 + System.Text.Encoding.UTF8.GetByteCount("ghp_secret_value_ÄÖ_0123456789") + 16, blob.Length);
        Assert.Equal(SHA256.HashData(Key)[..4], blob[..4]);
        Assert.Equal("ghp_secret_value_ÄÖ_0123456789", protector.Unprotect(envelope, "web/forge_token"));

        // Random nonce: the same plaintext encrypts differently each time.
        Assert.NotEqual(envelope, protector.Protect("ghp_secret_value_ÄÖ_0123456789", "web/forge_token"));
        Assert.Equal("", protector.Unprotect(protector.Protect("", "web/x"), "web/x"));
    }

    [Fact]
    public void Tamper_wrong_context_and_wrong_key_throw_naming_the_context_only()
    {
        var protector = new SecretProtector(Key);
        var envelope = protector.Protect("super-secret-plaintext", "web/forge_token");

        var blob = Convert.FromBase64String(envelope[3..]);
        blob[20] ^= 1;
        var tampered = "v1:" + Convert.ToBase64String(blob);
        var ex = Assert.Throws<SecretDecryptionException>(() => protector.Unprotect(tampered, "web/forge_token"));
        Assert.Contains("web/forge_token", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("super-secret", ex.Message, StringComparison.Ordinal);

        ex = Assert.Throws<SecretDecryptionException>(() => protector.Unprotect(envelope, "shop/forge_token"));
        Assert.Equal("shop/forge_token", ex.Context);
        Assert.Throws<SecretDecryptionException>(() => protector.Unprotect(envelope, "web/tracker_token"));

        var other = new SecretProtector(RandomNumberGenerator.GetBytes(32));
        ex = Assert.Throws<SecretDecryptionException>(() => other.Unprotect(envelope, "web/forge_token"));
        Assert.Contains("another master key", ex.Message, StringComparison.Ordinal);

        Assert.Throws<SecretDecryptionException>(() => protector.Unprotect("plaintext", "web/forge_token"));
        Assert.Throws<SecretDecryptionException>(() => protector.Unprotect("v1:!!!", "web/forge_token"));
        Assert.Throws<SecretDecryptionException>(() => protector.Unprotect("v1:AAAA", "web/forge_token"));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("", "••••")]
    [InlineData("short", "••••")]
    [InlineData("12345678901", "••••")]
    [InlineData("123456789012", "••••")]
    [InlineData("123456789012345", "••••")]
    [InlineData("1234567890123456", "••••3456")]
    [InlineData("ghp_abcdefghijklmnopqrstuvwxyz", "••••wxyz")]
    public void Mask(string? secret, string? expected) => Assert.Equal(expected, SecretProtector.Mask(secret));

    [Fact]
    public void Issue8_9a_the_mask_shows_no_part_of_a_secret_shorter_than_16_characters()
    {
        // The review's case: 4 of 12 characters were shown, leaving 8 to guess.
        Assert.Equal(SecretProtector.MaskPrefix, SecretProtector.Mask("abcdefgh1234"));
        Assert.Equal(SecretProtector.MaskPrefix, SecretProtector.Mask(new string('s', SecretProtector.MaskRevealMinLength - 1)));
        Assert.Equal(SecretProtector.MaskPrefix + "wxyz", SecretProtector.Mask("0123456789abwxyz"));
        Assert.Equal(16, SecretProtector.MaskRevealMinLength);
    }

    [Fact]
    public void Key_file_is_generated_once_with_mode_0600_and_reused()
    {
        var dir = Path.Combine(Path.GetTempPath(), "orch-key-" + Guid.NewGuid().ToString("N"));
        try
        {
            var settings = Settings(dir);
            var logger = new CapturingLoggerProvider();
            var first = SecretProtector.FromSettings(settings, logger.CreateLogger("test"));
            var path = Path.Combine(dir, "master.key");
            Assert.True(File.Exists(path));
            Assert.Equal(32, new FileInfo(path).Length);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }

            var line = Assert.Single(logger.Lines);
            Assert.Contains(path, line, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToBase64String(File.ReadAllBytes(path)), line, StringComparison.Ordinal);

            var second = SecretProtector.FromSettings(settings, NullLogger.Instance);
            Assert.Equal("x", second.Unprotect(first.Protect("x", "a/b"), "a/b"));

            // An explicit key wins over the file; an explicit file that is missing is an error.
            var explicitKey = SecretProtector.FromSettings(settings with { MasterKey = Convert.ToBase64String(Key) }, NullLogger.Instance);
            Assert.Equal(new SecretProtector(Key).KeyId, explicitKey.KeyId);
            Assert.Throws<SettingsException>(() => SecretProtector.FromSettings(settings with { MasterKeyFile = Path.Combine(dir, "nope.key") }, NullLogger.Instance));
            File.WriteAllText(Path.Combine(dir, "b64.key"), Convert.ToBase64String(Key) + "\n");
            Assert.Equal(explicitKey.KeyId, SecretProtector.FromSettings(settings with { MasterKeyFile = Path.Combine(dir, "b64.key") }, NullLogger.Instance).KeyId);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Settings_validate_the_master_key_and_never_print_secrets()
    {
        var values = BaseValues();
        values["MASTER_KEY"] = "dG9vLXNob3J0";
        var ex = Assert.Throws<SettingsException>(() => OrchestratorSettings.Load(Config(values)));
        Assert.Contains("ORCH_MASTER_KEY must be base64 of exactly 32 bytes", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("dG9vLXNob3J0", ex.Message, StringComparison.Ordinal);

        var key = Convert.ToBase64String(Key);
        values["MASTER_KEY"] = key;
        values["ADMIN_TOKEN"] = "admin-token-value-0123456789";
        var settings = OrchestratorSettings.Load(Config(values));
        Assert.Equal(key, settings.MasterKey);
        Assert.Equal("admin-token-value-0123456789", settings.AdminToken);
        var text = settings.ToString();
        Assert.Contains("MasterKey = (set)", text, StringComparison.Ordinal);
        Assert.Contains("WorkerConcurrency = 8", text, StringComparison.Ordinal);
        foreach (var secret in new[] { key, "admin-token-value-0123456789", "gh-token-abcdef", "plane-token-abcdef", "pw-in-url" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Issue8_9c_webhook_limits_have_per_source_defaults_one_override_and_are_validated()
    {
        var defaults = OrchestratorSettings.Load(Config(BaseValues()));
        Assert.Null(defaults.WebhookMaxBytes);
        Assert.Equal(25 * 1024 * 1024, defaults.WebhookMaxBytesFor("github"));
        Assert.Equal(5 * 1024 * 1024, defaults.WebhookMaxBytesFor("plane"));
        Assert.Equal(5 * 1024 * 1024, defaults.WebhookMaxBytesFor("gitea"));
        Assert.Equal(1024 * 1024, defaults.WebhookMaxBytesFor("asana"));
        Assert.Equal(25 * 1024 * 1024, defaults.WebhookMaxBytesLargest);
        Assert.Equal(16, defaults.WebhookMaxConcurrentBodies);
        Assert.Equal(30, defaults.WebhookRefusedPerMinute);

        var values = BaseValues();
        values["WEBHOOK_MAX_BYTES"] = "2048";
        values["WEBHOOK_MAX_CONCURRENT_BODIES"] = "4";
        values["WEBHOOK_REFUSED_PER_MINUTE"] = "0";
        var set = OrchestratorSettings.Load(Config(values));
        Assert.All(new[] { "github", "plane", "gitea", "asana" }, source => Assert.Equal(2048, set.WebhookMaxBytesFor(source)));
        Assert.Equal(2048, set.WebhookMaxBytesLargest);
        Assert.Equal((4, 0), (set.WebhookMaxConcurrentBodies, set.WebhookRefusedPerMinute));

        values["WEBHOOK_MAX_BYTES"] = "100";
        values["WEBHOOK_MAX_CONCURRENT_BODIES"] = "0";
        values["WEBHOOK_REFUSED_PER_MINUTE"] = "-1";
        var ex = Assert.Throws<SettingsException>(() => OrchestratorSettings.Load(Config(values)));
        Assert.Contains("ORCH_WEBHOOK_MAX_BYTES must be a whole number ≥ 1024", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ORCH_WEBHOOK_MAX_CONCURRENT_BODIES must be a whole number ≥ 1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ORCH_WEBHOOK_REFUSED_PER_MINUTE must be a whole number ≥ 0", ex.Message, StringComparison.Ordinal);
    }

    internal static Dictionary<string, string?> BaseValues() => new()
    {
        ["DATABASE_URL"] = "postgres://orch:pw-in-url@127.0.0.1:5432/orch",
        ["GITHUB_TOKEN"] = "gh-token-abcdef",
        ["PLANE_API_URL"] = "http://127.0.0.1:1",
        ["PLANE_API_TOKEN"] = "plane-token-abcdef",
        ["PLANE_WORKSPACE_SLUG"] = "acme",
        ["PROJECTS_JSON"] = """[{"plane_project_id": "p1", "repo": "acme/web", "work_item_prefix": "WEB"}]""",
    };

    internal static Microsoft.Extensions.Configuration.IConfiguration Config(Dictionary<string, string?> values) =>
        new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(values).Build();

    private static OrchestratorSettings Settings(string dataDir) => new()
    {
        DatabaseUrl = "postgres://x@127.0.0.1/x",
        GitHubToken = "t",
        PlaneApiUrl = new Uri("http://127.0.0.1"),
        PlaneApiToken = "t",
        PlaneWorkspaceSlug = "w",
        Projects = [],
        DataDirectory = dataDir,
    };
}

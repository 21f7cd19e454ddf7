using System.Text;
using System.Text.Json;
using Orchestrator.Shared.Webhooks;

namespace Orchestrator.Tests.Unit.Webhooks;

public sealed class WebhookSignatureTests
{
    // https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation
    private const string DocsSecret = "It's a Secret to Everybody";
    private const string DocsPayload = "Hello, World!";
    private const string DocsDigest = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    // Published by the project the captures come from (Fixtures/PROVENANCE.md).
    private const string CaptureSecret = "402786017574bd28f9d8f7a18648939751c47fe09077d56e10f0444f14fbb73b";

    private static readonly byte[] DocsBody = Encoding.UTF8.GetBytes(DocsPayload);

    private static readonly string[] CaptureNames =
    [
        "check_run.completed",
        "check_run.created",
        "check_suite.completed",
        "check_suite.requested",
        "check_suite.rerequested",
        "pull_request.closed",
        "pull_request.opened",
        "pull_request.synchronize",
        "workflow_run.in_progress",
    ];

    public static TheoryData<string> GitHubCaptures => new(CaptureNames);

    [Fact]
    public void Docs_test_vector_computes_the_documented_digest()
    {
        Assert.Equal(DocsDigest, WebhookSignature.ComputeHex(DocsBody, DocsSecret));
        Assert.Equal("sha256=" + DocsDigest, WebhookSignature.ComputeGitHubHeader(DocsBody, DocsSecret));
    }

    [Fact]
    public void Docs_test_vector_verifies()
    {
        Assert.True(WebhookSignature.VerifyGitHub(DocsBody, "sha256=" + DocsDigest, DocsSecret));
        Assert.True(WebhookSignature.VerifyHex(DocsBody, DocsDigest, DocsSecret));
    }

    [Fact]
    public void Every_capture_is_in_the_theory()
    {
        var onDisk = Directory.GetFiles(FixturePath("github-signed"), "*.raw-body.json")
            .Select(f => Path.GetFileName(f)[..^".raw-body.json".Length])
            .Order(StringComparer.Ordinal)
            .ToArray();
        Assert.Equal(CaptureNames.Order(StringComparer.Ordinal), onDisk);
        Assert.Equal(9, onDisk.Length);
    }

    [Theory]
    [MemberData(nameof(GitHubCaptures))]
    public void Real_GitHub_capture_verifies(string name)
    {
        var (body, header) = LoadGitHubCapture(name);

        Assert.True(WebhookSignature.VerifyGitHub(body, header, CaptureSecret));
        Assert.Equal(header, WebhookSignature.ComputeGitHubHeader(body, CaptureSecret));
    }

    [Theory]
    [MemberData(nameof(GitHubCaptures))]
    public void Real_GitHub_capture_with_one_byte_flipped_fails(string name)
    {
        var (body, header) = LoadGitHubCapture(name);
        foreach (var index in new[] { 0, body.Length / 2, body.Length - 1 })
        {
            var tampered = (byte[])body.Clone();
            tampered[index] ^= 0x01;
            Assert.False(WebhookSignature.VerifyGitHub(tampered, header, CaptureSecret));
        }
    }

    [Theory]
    [MemberData(nameof(GitHubCaptures))]
    public void Real_GitHub_capture_with_wrong_secret_fails(string name)
    {
        var (body, header) = LoadGitHubCapture(name);

        Assert.False(WebhookSignature.VerifyGitHub(body, header, CaptureSecret[..^1] + "c"));
        Assert.False(WebhookSignature.VerifyGitHub(body, header, DocsSecret));
    }

    [Fact]
    public void Plane_signed_vector_verifies()
    {
        var body = File.ReadAllBytes(FixturePath("plane", "issue.created.signed-body.json"));
        using var headers = JsonDocument.Parse(File.ReadAllBytes(FixturePath("plane", "issue.created.signed-headers.json")));
        var signature = headers.RootElement.GetProperty("X-Plane-Signature").GetString();
        var secret = headers.RootElement.GetProperty("_test_secret").GetString();

        Assert.True(WebhookSignature.VerifyHex(body, signature, secret));
        Assert.Equal(signature, WebhookSignature.ComputeHex(body, secret!));

        var tampered = (byte[])body.Clone();
        tampered[^2] ^= 0x20;
        Assert.False(WebhookSignature.VerifyHex(tampered, signature, secret));
        Assert.False(WebhookSignature.VerifyHex(body, signature, "plane_wh_wrong"));

        // A Plane signature is bare hex; the GitHub form must not accept it, nor the other way round.
        Assert.False(WebhookSignature.VerifyGitHub(body, signature, secret));
        Assert.False(WebhookSignature.VerifyHex(body, "sha256=" + signature, secret));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Missing_secret_fails_closed(string? secret)
    {
        Assert.False(WebhookSignature.VerifyGitHub(DocsBody, "sha256=" + DocsDigest, secret));
        Assert.False(WebhookSignature.VerifyHex(DocsBody, DocsDigest, secret));
    }

    [Fact]
    public void Missing_secret_fails_closed_even_when_the_header_is_the_hmac_under_an_empty_key()
    {
        // HMAC with an empty key is well defined; an attacker can compute it. It must still be refused.
        var emptyKeyDigest = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(ReadOnlySpan<byte>.Empty, DocsBody));

        Assert.False(WebhookSignature.VerifyGitHub(DocsBody, "sha256=" + emptyKeyDigest, ""));
        Assert.False(WebhookSignature.VerifyHex(DocsBody, emptyKeyDigest, null));
    }

    [Fact]
    public void Compute_helpers_refuse_an_empty_secret()
    {
        Assert.ThrowsAny<ArgumentException>(() => WebhookSignature.ComputeHex(DocsBody, ""));
        Assert.ThrowsAny<ArgumentException>(() => WebhookSignature.ComputeGitHubHeader(DocsBody, null!));
    }

    [Fact]
    public void Uppercase_hex_is_accepted()
    {
        var upper = DocsDigest.ToUpperInvariant();

        Assert.True(WebhookSignature.VerifyGitHub(DocsBody, "sha256=" + upper, DocsSecret));
        Assert.True(WebhookSignature.VerifyHex(DocsBody, upper, DocsSecret));
    }

    [Theory]
    [InlineData(null)] // header missing
    [InlineData("")]
    [InlineData("sha256=")]
    [InlineData(DocsDigest)] // bare hex without the prefix
    [InlineData("sha1=" + DocsDigest)] // GitHub's legacy header name's prefix
    [InlineData("sha1=cb0dc2c6bd2b5b4a0d3d5bb0c2ae4bc4bdbc6b03")] // a 40-digit SHA-1 value
    [InlineData("SHA256=" + DocsDigest)] // GitHub sends the prefix in lower case
    [InlineData("sha256 =" + DocsDigest)]
    [InlineData(" sha256=" + DocsDigest)]
    [InlineData("sha256=" + DocsDigest + " ")]
    [InlineData("sha256=" + DocsDigest + "00")] // too long
    [InlineData("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1")] // odd length (truncated by one)
    [InlineData("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e")] // truncated by one byte
    [InlineData("sha256=757107ea0eb2509fc211221cce984b8a")] // truncated to half
    [InlineData("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1g")] // non-hex digit
    [InlineData("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18")] // last digit wrong
    [InlineData("sha256=0000000000000000000000000000000000000000000000000000000000000000")]
    public void Malformed_or_wrong_GitHub_header_fails(string? header)
    {
        Assert.False(WebhookSignature.VerifyGitHub(DocsBody, header, DocsSecret));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("sha256=" + DocsDigest)]
    [InlineData("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1")] // odd length
    [InlineData("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e")] // truncated by one byte
    [InlineData(DocsDigest + "00")]
    [InlineData("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1z")]
    [InlineData(" " + DocsDigest)]
    [InlineData("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18")]
    public void Malformed_or_wrong_hex_header_fails(string? header)
    {
        Assert.False(WebhookSignature.VerifyHex(DocsBody, header, DocsSecret));
    }

    [Fact]
    public void Empty_body_is_signed_like_any_other()
    {
        var header = WebhookSignature.ComputeGitHubHeader([], DocsSecret);

        Assert.True(WebhookSignature.VerifyGitHub([], header, DocsSecret));
        Assert.False(WebhookSignature.VerifyGitHub(DocsBody, header, DocsSecret));
    }

    [Fact]
    public void Long_secret_and_non_ascii_secret_are_utf8_keys()
    {
        var longSecret = new string('k', 1000);
        const string unicodeSecret = "s\u00e9cr\u00e8t-\u79d8\u5bc6";

        Assert.Equal(
            Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes(longSecret), DocsBody)),
            WebhookSignature.ComputeHex(DocsBody, longSecret));
        Assert.Equal(
            Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes(unicodeSecret), DocsBody)),
            WebhookSignature.ComputeHex(DocsBody, unicodeSecret));
        Assert.True(WebhookSignature.VerifyHex(DocsBody, WebhookSignature.ComputeHex(DocsBody, longSecret), longSecret));
    }

    private static (byte[] Body, string Header) LoadGitHubCapture(string name)
    {
        var body = File.ReadAllBytes(FixturePath("github-signed", name + ".raw-body.json"));
        using var headers = JsonDocument.Parse(File.ReadAllBytes(FixturePath("github-signed", name + ".headers.json")));
        var header = headers.RootElement.GetProperty("x-hub-signature-256").GetString()!;

        // The capture's own content-length proves the copy is the exact body GitHub sent.
        Assert.Equal(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), headers.RootElement.GetProperty("content-length").GetString());
        return (body, header);
    }

    private static string FixturePath(params string[] parts) =>
        Path.Combine([AppContext.BaseDirectory, "Fixtures", .. parts]);
}

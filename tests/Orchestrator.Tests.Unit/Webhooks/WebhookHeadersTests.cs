using Orchestrator.Shared.Webhooks;

namespace Orchestrator.Tests.Unit.Webhooks;

public sealed class WebhookHeadersTests
{
    [Theory]
    [InlineData(null, "")]
    [InlineData("", "")]
    [InlineData("0b8f9f2e-2f4c-4a51-9d8e-1c2b3a4d5e6f", "0b8f9f2e-2f4c-4a51-9d8e-1c2b3a4d5e6f")]
    [InlineData("\u001b[31mred\u001b[0m", "[31mred[0m")]
    [InlineData("forged\r\nINFO admin logged in", "forgedINFO admin logged in")]
    [InlineData("a\u202Eb\u2066c\u200Bd\u2028e\u2029f\u0085g\u007Fh", "abcdefgh")]
    [InlineData("häßlich ✓ 😀", "häßlich ✓ 😀")]
    public void Sanitize_removes_control_and_format_characters(string? value, string expected) =>
        Assert.Equal(expected, LogSanitizer.Sanitize(value));

    [Fact]
    public void Issue8_7_an_escape_sequence_plus_8_KB_becomes_at_most_128_printable_characters()
    {
        // The review's probe: ESC sequences and 8 KB in a delivery id produced an 8,328-byte log line.
        var hostile = "\u001b]0;pwned\u0007\u001b[2J" + new string('A', 8 * 1024) + "\u001b[0m";

        var logged = LogSanitizer.Sanitize(hostile);

        Assert.Equal(LogSanitizer.MaxLength, logged.Length);
        Assert.EndsWith(LogSanitizer.Ellipsis, logged, StringComparison.Ordinal);
        Assert.DoesNotContain(logged, char.IsControl);
        Assert.StartsWith("]0;pwned[2JAAAA", logged, StringComparison.Ordinal);
    }

    [Fact]
    public void Sanitize_never_splits_a_surrogate_pair_when_cutting()
    {
        var emoji = string.Concat(Enumerable.Repeat("😀", 100)); // 200 UTF-16 code units

        var logged = LogSanitizer.Sanitize("x" + emoji);

        // "x", then as many whole pairs as fit before the ellipsis: 1 + 2 × 63 + 1 = 128.
        Assert.Equal("x" + string.Concat(Enumerable.Repeat("😀", 63)) + LogSanitizer.Ellipsis, logged);
        Assert.DoesNotContain('\uFFFD', logged);
    }

    [Fact]
    public void A_value_of_exactly_128_printable_characters_is_kept_whole()
    {
        var value = new string('d', LogSanitizer.MaxLength);
        Assert.Same(value, LogSanitizer.Sanitize(value));
        Assert.Equal(new string('d', LogSanitizer.MaxLength - 1) + LogSanitizer.Ellipsis, LogSanitizer.Sanitize(value + "d"));
    }

    public static TheoryData<string> RealEventNames => new(
        // GitHub (X-GitHub-Event), Plane (X-Plane-Event), Gitea (X-Gitea-Event / X-Gitea-Event-Type).
        "pull_request", "check_suite", "workflow_run", "ping", "issue_comment", "projects_v2_item",
        "issue", "project", "cycle", "module", "cycle_issue", "module_issue", "intake_issue",
        "status", "pull_request_comment", "pull_request_sync", "pull_request_review_approved", "push");

    [Theory]
    [MemberData(nameof(RealEventNames))]
    public void The_platforms_event_names_are_valid(string name) => Assert.True(WebhookHeaders.IsValidEvent(name));

    [Theory]
    [InlineData("")]
    [InlineData("Pull_Request")]
    [InlineData("pull request")]
    [InlineData("issue:comment")]
    [InlineData("issue\u001b[0m")]
    [InlineData("ünïcode")]
    public void Other_event_names_are_invalid(string name) => Assert.False(WebhookHeaders.IsValidEvent(name));

    [Fact]
    public void Event_names_are_capped_at_64_characters()
    {
        Assert.True(WebhookHeaders.IsValidEvent(new string('a', WebhookHeaders.MaxEventLength)));
        Assert.False(WebhookHeaders.IsValidEvent(new string('a', WebhookHeaders.MaxEventLength + 1)));
        Assert.False(WebhookHeaders.IsValidEvent(new string('a', 10_240)));
    }

    [Theory]
    [InlineData("0b8f9f2e-2f4c-4a51-9d8e-1c2b3a4d5e6f", true)]
    [InlineData("c16510a0-a996-11f0-86fe-90260285066c", true)]
    [InlineData("", false)]
    [InlineData("has space", false)]
    [InlineData("esc\u001b", false)]
    public void Delivery_ids_must_be_printable_ascii(string id, bool usable) => Assert.Equal(usable, WebhookHeaders.IsUsableDeliveryId(id));

    [Fact]
    public void Delivery_ids_are_capped_at_128_characters()
    {
        Assert.True(WebhookHeaders.IsUsableDeliveryId(new string('7', WebhookHeaders.MaxDeliveryIdLength)));
        Assert.False(WebhookHeaders.IsUsableDeliveryId(new string('7', WebhookHeaders.MaxDeliveryIdLength + 1)));
    }
}

using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Shared.Notifications;
using Orchestrator.Shared.Telegram;

namespace Orchestrator.Tests.Unit.Telegram;

/// <summary>Issue #12 §2: what the live message and the alerts say, escaped, with usable links only.</summary>
public sealed class TelegramMessagesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 5, 1, 9, 0, 0, TimeSpan.Zero);

    private static TaskSnapshot Snapshot(string? trackerUrl = "https://plane.example.com/acme/projects/p/issues/1", string status = "PR_CREATED",
        DateTimeOffset? finished = null, string? issueUrl = "https://github.com/acme/web/issues/3") => new(
        "plane-1", "WEB-42", "Add <script>alert(1)</script> & \"more\"", status, "DEVELOPMENT", "Plane", "GitHub", trackerUrl,
        issueUrl is null ? null : new NotificationLink("#3", issueUrl),
        new NotificationLink("#4", "http://127.0.0.1:5000/acme/web/pull/4"),
        null,
        [
            new StageLine("analysis", StageState.Passed, "claude", "anthropic/claude-sonnet-4-5-20250929", 1, TimeSpan.FromSeconds(62), 12_300, 1_200, 0.12m, null),
            new StageLine("development", StageState.Running, "codex", "gpt-5-codex", 2, TimeSpan.FromMinutes(3), 40_000, 9_000, 0.80m, T0.AddMinutes(10)),
            new StageLine("review", StageState.Pending, null, null, 0, null, null, null, null, null),
        ],
        TimeSpan.FromMinutes(3) + TimeSpan.FromSeconds(10), null, null, T0, T0.AddMinutes(1), finished, finished);

    [Fact]
    public void The_live_message_escapes_dynamic_text_and_shows_a_line_per_stage_with_agent_model_time_tokens_and_cost()
    {
        var text = TelegramMessages.LiveMessage(Snapshot());
        Assert.Contains("Add &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;", text, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", text, StringComparison.Ordinal);
        Assert.Contains("<b><a href=\"https://plane.example.com/acme/projects/p/issues/1\">WEB-42</a></b>", text, StringComparison.Ordinal);
        Assert.Contains("✅ analysis · claude · sonnet-4-5 · 1m 2s · 12.3k/1.2k tok · $0.12", text, StringComparison.Ordinal);
        Assert.Contains("🔄 development · codex · gpt-5-codex · 2 runs · 3m 0s · 40k/9k tok · $0.80 · running since 09:10 UTC", text, StringComparison.Ordinal);
        Assert.Contains("▫️ review", text, StringComparison.Ordinal);
        Assert.Contains("👤 approval: 3m 10s", text, StringComparison.Ordinal);
        Assert.Contains("Σ 4m 2s agent time · 52.3k/10.2k tok · $0.92", text, StringComparison.Ordinal);
        Assert.Contains("<a href=\"https://github.com/acme/web/issues/3\">#3</a>", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Links_to_loopback_or_empty_URLs_are_left_out_rather_than_sent_broken()
    {
        var text = TelegramMessages.LiveMessage(Snapshot(trackerUrl: null, issueUrl: ""));
        Assert.DoesNotContain("127.0.0.1", text, StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"\"", text, StringComparison.Ordinal);
        Assert.Contains("<b>WEB-42</b>", text, StringComparison.Ordinal);
        Assert.False(TelegramMessages.Usable("http://localhost:8500/x"));
        Assert.False(TelegramMessages.Usable("http://[::1]/x"));
        Assert.False(TelegramMessages.Usable("javascript:alert(1)"));
        Assert.True(TelegramMessages.Usable("https://gitea.corp.example/acme/web"));
    }

    [Fact]
    public void A_finished_task_gets_the_final_block_with_wall_agent_and_lead_time()
    {
        var text = TelegramMessages.LiveMessage(Snapshot(status: "DEPLOYED", finished: T0.AddHours(2)));
        Assert.Contains("<b>DEPLOYED</b> · wall 1h 59m · agents 4m 2s · lead time 2h 00m", text.Replace("\n", " ", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal(text, TelegramMessages.LiveMessage(Snapshot(status: "DEPLOYED", finished: T0.AddHours(2)))); // same state, same text: no edit
    }

    [Fact]
    public void The_approval_request_links_the_documents_and_after_the_decision_says_who_decided()
    {
        var request = new AlertRequest(NotificationKinds.Approval, "approval:1", "analysis passed", "analysis", null,
            [new ArtifactLink("docs/work-items/WEB-42/01-brd.md", "https://github.com/acme/web/blob/orch/WEB-42/docs/work-items/WEB-42/01-brd.md"),
             new ArtifactLink("docs/work-items/WEB-42/03-acceptance-criteria.md", "http://127.0.0.1:3000/x")], "Approved", "Rejected", 1);
        var pending = TelegramMessages.Approval(request, Snapshot(), new ApprovalView("pending", null, null, null));
        Assert.Contains("<a href=\"https://github.com/acme/web/blob/orch/WEB-42/docs/work-items/WEB-42/01-brd.md\">01-brd.md</a>", pending, StringComparison.Ordinal);
        Assert.DoesNotContain("03-acceptance-criteria.md", pending, StringComparison.Ordinal);
        Assert.Contains("<code>Approved</code> / <code>Rejected</code> in Plane", pending, StringComparison.Ordinal);
        Assert.Equal("ap:17:a", TelegramMessages.ApprovalButtons(17)[0][0].Data);

        var rejected = TelegramMessages.Approval(request, Snapshot(), new ApprovalView("rejected", "telegram", "@alice", "no <b>tests</b>"));
        Assert.Contains("❌ <b>Rejected</b>", rejected, StringComparison.Ordinal);
        Assert.Contains("By @alice in Telegram: no &lt;b&gt;tests&lt;/b&gt;.", rejected, StringComparison.Ordinal);
        Assert.Contains("In Plane", TelegramMessages.Approval(request, Snapshot(), new ApprovalView("approved", "tracker", null, null)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_very_long_task_stays_under_Telegrams_limit()
    {
        var stages = Enumerable.Range(0, 300).Select(i => new StageLine($"stage-{i}-" + new string('x', 40), StageState.Passed, "a", "m", 1, TimeSpan.FromSeconds(1), 1, 1, 0.01m, null)).ToList();
        var text = TelegramMessages.LiveMessage(Snapshot() with { Stages = stages });
        Assert.True(text.Length <= TelegramApi.MaxTextLength, $"{text.Length} characters");
    }

    [Theory]
    [InlineData("claude-opus-4-1-20250805", "opus-4-1")]
    [InlineData("openai/gpt-5-codex", "gpt-5-codex")]
    [InlineData(" ", null)]
    public void Model_names_are_shortened(string model, string? expected) => Assert.Equal(expected, TelegramMessages.ShortModel(model));
}

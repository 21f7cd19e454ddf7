using System.Text.RegularExpressions;
using Orchestrator.Shared.Agents;
using Orchestrator.Shared.Agents.Adapters;
using static Orchestrator.Tests.Unit.Agents.AgentFixtures;

namespace Orchestrator.Tests.Unit.Agents;

public sealed class AgentAdaptersTests
{
    [Theory]
    [InlineData(AgentKind.OpenCode, typeof(OpenCodeAdapter))]
    [InlineData(AgentKind.ClaudeCode, typeof(ClaudeCodeAdapter))]
    [InlineData(AgentKind.Codex, typeof(CodexAdapter))]
    [InlineData(AgentKind.Generic, typeof(GenericCommandAdapter))]
    public void For_returns_the_adapter_of_each_kind(AgentKind kind, Type type)
    {
        var adapter = new AgentAdapters().For(kind);

        Assert.IsType(type, adapter);
        Assert.Equal(kind, adapter.Kind);
        Assert.Equal(["--version"], adapter.VersionArguments);
    }

    [Fact]
    public void Every_kind_is_served()
    {
        Assert.Equal(Enum.GetValues<AgentKind>(), new AgentAdapters().Kinds);
    }

    [Fact]
    public void A_missing_kind_fails_with_a_clear_message()
    {
        var adapters = new AgentAdapters([new CodexAdapter()]);

        var error = Assert.Throws<NotSupportedException>(() => adapters.For(AgentKind.ClaudeCode));
        Assert.Contains("ClaudeCode", error.Message);
    }

    [Fact]
    public void Two_adapters_for_one_kind_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new AgentAdapters([new CodexAdapter(), new CodexAdapter()]));
    }

    // Every option the adapters emit must exist in the --help text of the CLI version we captured.
    public static TheoryData<AgentKind, string> HelpTexts => new()
    {
        { AgentKind.ClaudeCode, "claude-help.txt" },
        { AgentKind.OpenCode, "opencode-run-help.txt" },
        { AgentKind.Codex, "codex-exec-help.txt" },
    };

    [Theory]
    [MemberData(nameof(HelpTexts))]
    public void Every_flag_built_is_in_the_CLIs_help(AgentKind kind, string helpFile)
    {
        var help = Read("help", helpFile);
        var settings = Settings(kind, "a") with { Model = "p/m", Effort = "high" };

        var invocation = new AgentAdapters().For(kind).Build(settings, Request());

        var flags = invocation.Arguments.TakeWhile(a => a != "--").Where(a => a.StartsWith('-')).ToList();
        Assert.NotEmpty(flags);
        Assert.All(flags, flag => Assert.Matches(new Regex($@"(?<![\w-]){Regex.Escape(flag)}(?![\w-])"), help));
    }

    [Fact]
    public void Help_texts_allow_the_values_the_adapters_pass()
    {
        var claude = Read("help", "claude-help.txt");
        var effortHelp = Slice(claude, "--effort <level>", 200);
        Assert.All(ClaudeCodeAdapter.EffortLevels, level => Assert.Contains(level, effortHelp));
        Assert.Contains("\"acceptEdits\"", Slice(claude, "--permission-mode <mode>", 300));
        Assert.Contains("\"json\"", Slice(claude, "--output-format <format>", 300));

        var opencode = Read("help", "opencode-run-help.txt");
        Assert.Contains("\"json\"", Slice(opencode, "--format", 200));
        Assert.Contains("reasoning effort", Slice(opencode, "--variant", 200));

        var codex = Read("help", "codex-exec-help.txt");
        Assert.Contains("workspace-write", Slice(codex, "--sandbox <SANDBOX_MODE>", 300));
        Assert.DoesNotContain("--full-auto", codex);
    }

    private static string Slice(string text, string marker, int length)
    {
        var at = text.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(at >= 0, $"'{marker}' not in the help text");
        return text.Substring(at, Math.Min(length, text.Length - at));
    }
}

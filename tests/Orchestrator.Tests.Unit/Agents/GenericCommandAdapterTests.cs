using Orchestrator.Shared.Agents;
using Orchestrator.Shared.Agents.Adapters;
using static Orchestrator.Tests.Unit.Agents.AgentFixtures;

namespace Orchestrator.Tests.Unit.Agents;

public sealed class GenericCommandAdapterTests
{
    private const string PromptFile = "/home/run/prompt.md";

    private readonly GenericCommandAdapter _adapter = new();

    private static AgentSettings Script => Settings(AgentKind.Generic, "my-script") with { Binary = "/opt/agents/run.sh" };

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Build_without_a_binary_throws_a_clear_configuration_error(string? binary)
    {
        var error = Assert.Throws<ArgumentException>(() => _adapter.Build(Script with { Binary = binary }, Request()));

        Assert.StartsWith("agent 'my-script' (generic) needs a binary", error.Message);
    }

    [Fact]
    public void Build_without_a_template_passes_the_prompt_file()
    {
        var invocation = _adapter.Build(Script, Request("Do the thing"));

        Assert.Equal("/opt/agents/run.sh", invocation.FileName);
        Assert.Equal([PromptFile], invocation.Arguments);
        Assert.Equal(new Dictionary<string, string> { ["prompt.md"] = "Do the thing" }, invocation.Files);
        Assert.Empty(invocation.Environment);
        Assert.Empty(invocation.Warnings);
    }

    [Fact]
    public void Build_without_a_template_by_argument_passes_the_prompt()
    {
        var invocation = _adapter.Build(Script with { PromptDelivery = PromptDelivery.Argument }, Request("Do the thing"));

        Assert.Equal(["Do the thing"], invocation.Arguments);
        Assert.Empty(invocation.Files);
    }

    public static TheoryData<string[], PromptDelivery, string[], bool> Templates => new()
    {
        { ["--input", "{prompt_file}", "--fast"], PromptDelivery.File, ["--input", PromptFile, "--fast"], true },
        { ["--input={prompt_file}"], PromptDelivery.File, ["--input=" + PromptFile], true },
        { ["-m", "{prompt}", "--yes"], PromptDelivery.Argument, ["-m", "Fix {prompt_file} handling", "--yes"], false },
        { ["--msg=<{prompt}>"], PromptDelivery.Argument, ["--msg=<Fix {prompt_file} handling>"], false },
    };

    [Theory]
    [MemberData(nameof(Templates))]
    public void Build_fills_the_template(string[] template, PromptDelivery delivery, string[] expected, bool writesFile)
    {
        var settings = Script with { ArgumentsTemplate = template, PromptDelivery = delivery };

        var invocation = _adapter.Build(settings, Request("Fix {prompt_file} handling"));

        Assert.Equal(expected, invocation.Arguments);
        Assert.Equal(writesFile, invocation.Files.ContainsKey("prompt.md"));
        Assert.Empty(invocation.Warnings);
    }

    [Fact]
    public void Build_appends_the_prompt_file_when_the_template_has_no_placeholder()
    {
        var invocation = _adapter.Build(Script with { ArgumentsTemplate = ["--quiet"] }, Request());

        Assert.Equal(["--quiet", PromptFile], invocation.Arguments);
        Assert.Contains("has no {prompt_file}", Assert.Single(invocation.Warnings));
    }

    [Fact]
    public void Build_warns_when_the_template_does_not_match_the_delivery()
    {
        var invocation = _adapter.Build(Script with { ArgumentsTemplate = ["{prompt}"] }, Request("hi"));

        Assert.Equal(["hi"], invocation.Arguments);
        Assert.Contains("only has {prompt}", Assert.Single(invocation.Warnings));
    }

    [Fact]
    public void Build_appends_extra_args_and_reports_every_ignored_setting()
    {
        var settings = Script with
        {
            ArgumentsTemplate = ["{prompt_file}"],
            ExtraArgs = ["--verbose"],
            Model = "gpt-5",
            Effort = "high",
            ConfigFile = "x = 1",
        };

        var invocation = _adapter.Build(settings, Request());

        Assert.Equal([PromptFile, "--verbose"], invocation.Arguments);
        Assert.Equal(3, invocation.Warnings.Count);
        Assert.Contains(invocation.Warnings, w => w.StartsWith("Model of agent 'my-script'", StringComparison.Ordinal));
        Assert.Contains(invocation.Warnings, w => w.StartsWith("Effort of agent 'my-script'", StringComparison.Ordinal));
        Assert.Contains(invocation.Warnings, w => w.StartsWith("ConfigFile of agent 'my-script'", StringComparison.Ordinal));
    }

    [Fact]
    public void Build_warns_about_a_prompt_too_long_for_one_argument_only_when_it_is_one()
    {
        var huge = new string('x', 140_000);

        var byArgument = _adapter.Build(Script with { PromptDelivery = PromptDelivery.Argument }, Request(huge));
        var byFile = _adapter.Build(Script, Request(huge));

        Assert.Contains("E2BIG", Assert.Single(byArgument.Warnings));
        Assert.Empty(byFile.Warnings);
    }

    [Fact]
    public void Parse_success_takes_the_last_non_empty_line()
    {
        var result = _adapter.Parse(Script, Outcome(0, "working...\n\u001b[32mDone: all good\u001b[0m\r\n\n  \n", "some warning"));

        Assert.False(result.IsError);
        Assert.Equal(AgentFailureKind.None, result.Failure);
        Assert.Equal("Done: all good", result.FinalMessage);
        Assert.Null(result.TokensIn);
        Assert.Null(result.TokensOut);
        Assert.Null(result.CostUsd);
        Assert.Null(result.SessionId);
    }

    [Fact]
    public void Parse_caps_the_final_line_at_2000_characters()
    {
        var result = _adapter.Parse(Script, Outcome(0, "first\n" + new string('y', 5_000)));

        Assert.Equal(2_000, result.FinalMessage!.Length);
        Assert.EndsWith("…", result.FinalMessage);
    }

    [Fact]
    public void Parse_empty_output_has_no_final_message()
    {
        var result = _adapter.Parse(Script, Outcome(0, ""));

        Assert.False(result.IsError);
        Assert.Null(result.FinalMessage);
    }

    [Theory]
    [InlineData(1, "", "Error: 429 Too Many Requests; retry after 20 seconds", AgentFailureKind.Transient, "the model API is rate limiting agent 'my-script' (Error: 429 Too Many Requests; retry after 20 seconds); retry later")]
    [InlineData(127, "", "", AgentFailureKind.Permanent, "the binary '/opt/agents/run.sh' of agent 'my-script' could not be run (exit 127): install it or set Binary to its absolute path")]
    [InlineData(1, "", "/bin/sh: 1: /opt/agents/run.sh: not found", AgentFailureKind.Permanent, "the binary '/opt/agents/run.sh' of agent 'my-script' could not be run (exit 1: /bin/sh: 1: /opt/agents/run.sh: not found): install it or set Binary to its absolute path")]
    [InlineData(1, "step 1\nfatal: something odd", "", AgentFailureKind.Transient, "agent 'my-script' failed with exit code 1: fatal: something odd")]
    [InlineData(3, "", "", AgentFailureKind.Transient, "agent 'my-script' failed with exit code 3 and printed no error")]
    [InlineData(1, "", "Error: 401 Unauthorized", AgentFailureKind.Permanent, "the model API rejected the credentials (Error: 401 Unauthorized): check the credentials in the Environment of agent 'my-script'")]
    public void Parse_failures_by_exit_code_and_text(int exitCode, string stdout, string stderr, AgentFailureKind kind, string reason)
    {
        var result = _adapter.Parse(Script, Outcome(exitCode, stdout, stderr));

        Assert.True(result.IsError);
        Assert.Equal(kind, result.Failure);
        Assert.Equal(reason, result.FailureReason);
    }

    [Fact]
    public void Parse_429_retry_after_text()
    {
        var result = _adapter.Parse(Script, Outcome(1, "", "Error: 429 Too Many Requests; retry after 20 seconds"));

        Assert.Equal(TimeSpan.FromSeconds(20), result.RetryAfter);
    }

    [Fact]
    public void Parse_timeout()
    {
        var result = _adapter.Parse(Script, Outcome(-1, "half way", "", "wall-clock", TimeSpan.FromSeconds(45)));

        Assert.True(result.IsError);
        Assert.Equal(AgentFailureKind.Transient, result.Failure);
        Assert.Equal("killed after 45 s (wall-clock)", result.FailureReason);
        Assert.Equal("half way", result.FinalMessage);
    }
}

using System.Text.Json;

namespace Orchestrator.Shared.Agents.Adapters;

/// <summary>
/// Claude Code in print mode (https://docs.anthropic.com/en/docs/claude-code/cli-reference,
/// https://docs.anthropic.com/en/docs/claude-code/sdk/sdk-headless), checked against the <c>--help</c> of 2.1.197.
/// </summary>
/// <remarks>
/// <para>Command line:
/// <c>claude -p --output-format json --permission-mode acceptEdits [--model M] [--effort E] [ExtraArgs…] -- &lt;prompt&gt;</c>.
/// The prompt goes last after <c>--</c>: without it, a prompt starting with <c>-</c> (a Markdown list) is taken for an
/// option (<c>error: unknown option '- …'</c>, exit 1, verified with 2.1.197).</para>
/// <para>Environment: <c>CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1</c>, <c>DISABLE_AUTOUPDATER=1</c> and
/// <c>CLAUDE_CODE_MAX_RETRIES=0</c> (the orchestrator retries; otherwise a 401 is retried for minutes).
/// <see cref="AgentSettings.ConfigFile"/>, when set, becomes the user settings file <c>~/.claude/settings.json</c>
/// (https://docs.anthropic.com/en/docs/claude-code/settings).</para>
/// <para>Effort: <c>--effort low|medium|high|xhigh|max</c>. Output: one JSON object (<c>type: "result"</c>) with
/// <c>is_error</c>, <c>result</c>, <c>session_id</c>, <c>total_cost_usd</c>, <c>usage</c>, <c>modelUsage</c>,
/// <c>api_error_status</c>; a <c>stream-json</c> transcript (via ExtraArgs) is read the same way from its last
/// <c>result</c> line.</para>
/// </remarks>
public sealed class ClaudeCodeAdapter : IAgentAdapter
{
    /// <summary>Values of <c>--effort</c> per <c>claude --help</c> (2.1.197), lower case.</summary>
    public static IReadOnlyList<string> EffortLevels { get; } = ["low", "medium", "high", "xhigh", "max"];

    /// <inheritdoc />
    public AgentKind Kind => AgentKind.ClaudeCode;

    /// <inheritdoc />
    public IReadOnlyList<string> VersionArguments { get; } = ["--version"];

    /// <summary>Builds the command line (see the class remarks).</summary>
    /// <param name="settings">The agent; <see cref="AgentSettings.Kind"/> should be <see cref="AgentKind.ClaudeCode"/>.</param>
    /// <param name="request">The run; the prompt becomes the last argument.</param>
    /// <returns>The invocation; invalid optional settings are left out with a warning.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public AgentInvocation Build(AgentSettings settings, AgentRunRequest request)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(request);

        var warnings = new List<string>();
        List<string> args = ["-p", "--output-format", "json", "--permission-mode", "acceptEdits"];
        if (AdapterSupport.Trimmed(settings.Model) is { } model)
        {
            args.AddRange(["--model", model]);
        }

        if (AdapterSupport.Effort(settings, EffortLevels, "--effort", warnings) is { } effort)
        {
            args.AddRange(["--effort", effort]);
        }

        args.AddRange(settings.ExtraArgs);
        args.AddRange(["--", request.Prompt]);
        AdapterSupport.WarnIfArgumentTooLong(request.Prompt, "the prompt", warnings);
        AdapterSupport.WarnGenericOnlySettings(settings, warnings);

        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1",
            ["CLAUDE_CODE_MAX_RETRIES"] = "0",
            ["DISABLE_AUTOUPDATER"] = "1",
        };
        AdapterSupport.WarnOverriddenEnvironment(settings, environment, warnings);

        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        if (settings.ConfigFile is not null)
        {
            files[".claude/settings.json"] = settings.ConfigFile;
        }

        return new AgentInvocation(AdapterSupport.BinaryOf(settings), args, environment, files, warnings);
    }

    /// <summary>
    /// Reads the result object. Failed when the exit code is not 0, <c>is_error</c> is true (even with
    /// <c>subtype: "success"</c>) or no result object was printed; a timeout kill is always a transient failure.
    /// Tokens in = <c>input_tokens + cache_creation_input_tokens + cache_read_input_tokens</c>; model = the
    /// <c>modelUsage</c> entry with the most tokens (else the <c>system/init</c> model, else the configured one).
    /// </summary>
    /// <param name="settings">The agent.</param>
    /// <param name="outcome">The process outcome; non-JSON lines in stdout are ignored.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public AgentRunResult Parse(AgentSettings settings, ProcessOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(outcome);

        var output = JsonLines.Parse(outcome.Stdout);
        JsonElement? result = output.Objects.LastOrDefault(o => o.String("type") == "result") is { ValueKind: JsonValueKind.Object } found
            ? found
            : WholeObject(outcome.Stdout);
        var init = output.Objects.FirstOrDefault(o => o.String("type") == "system" && o.String("subtype") == "init");

        var isErrorFlag = result?.Bool("is_error") == true;
        var failed = outcome.ExitCode != 0 || isErrorFlag || result is null;

        var parsed = new AgentRunResult
        {
            ExitCode = outcome.ExitCode,
            IsError = failed,
            TokensIn = result is { } r ? SumTokens(r) : null,
            TokensOut = result?.Int64("usage", "output_tokens"),
            CostUsd = result?.Decimal("total_cost_usd"),
            Model = result is { } m ? BusiestModel(m) ?? InitModel(init) ?? AdapterSupport.Trimmed(settings.Model) : InitModel(init) ?? AdapterSupport.Trimmed(settings.Model),
            SessionId = result?.String("session_id") ?? output.Objects.Select(o => o.String("session_id")).FirstOrDefault(s => s is not null),
            Duration = outcome.Duration,
            FinalMessage = result is { } ok && !isErrorFlag ? ok.String("result") : null,
        };

        var messages = new List<string>();
        if (result is { } failure && isErrorFlag)
        {
            if (failure.String("result") is { } text)
            {
                messages.Add(text);
            }

            if (failure.String("subtype") is { } subtype && subtype != "success")
            {
                messages.Add(subtype);
            }
        }

        var evidence = new AgentFailureEvidence
        {
            ExitCode = outcome.ExitCode,
            StatusCode = result?.Int64("api_error_status") is long status ? (int)status : null,
            Messages = messages,
            Stderr = outcome.Stderr ?? "",
            OtherOutput = output.OtherLines,
        };
        return AdapterSupport.Complete(settings, outcome, parsed, failed, evidence);
    }

    private static JsonElement? WholeObject(string? stdout) =>
        stdout is not null && JsonLines.TryParseObject(stdout.Trim(), out var element) && element.String("type") is null or "result"
            ? element
            : null;

    private static long? SumTokens(JsonElement result)
    {
        var input = result.Int64("usage", "input_tokens");
        if (input is null)
        {
            return null;
        }

        return input
            + (result.Int64("usage", "cache_creation_input_tokens") ?? 0)
            + (result.Int64("usage", "cache_read_input_tokens") ?? 0);
    }

    private static string? BusiestModel(JsonElement result)
    {
        if (result.At("modelUsage") is not { ValueKind: JsonValueKind.Object } usage)
        {
            return null;
        }

        return usage.EnumerateObject()
            .Select(p => (p.Name, Tokens: (p.Value.Int64("inputTokens") ?? 0) + (p.Value.Int64("outputTokens") ?? 0)))
            .OrderByDescending(p => p.Tokens)
            .Select(p => p.Name)
            .FirstOrDefault();
    }

    private static string? InitModel(JsonElement init) =>
        init.ValueKind == JsonValueKind.Object ? init.String("model") : null;
}

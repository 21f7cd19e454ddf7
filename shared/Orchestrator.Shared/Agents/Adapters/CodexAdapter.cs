using System.Text.Json;
using System.Text.RegularExpressions;

namespace Orchestrator.Shared.Agents.Adapters;

/// <summary>
/// Codex CLI's non-interactive <c>exec</c> (https://github.com/openai/codex/blob/main/docs/exec.md), checked against
/// the <c>codex exec --help</c> of 0.169.0.
/// </summary>
/// <remarks>
/// <para>Command line: <c>codex exec --json --skip-git-repo-check [--sandbox workspace-write] --disable plugins
/// --disable remote_plugin --disable apps --disable unbounded_connection_retries [-m M]
/// [-c model_reasoning_effort="E"] [ExtraArgs…] -- &lt;prompt&gt;</c>.</para>
/// <para><c>--disable F</c> is <c>-c features.F=false</c> (exec's help) and wins over the ConfigFile. Verified with
/// 0.169.0 under strace: with <c>plugins</c>, <c>remote_plugin</c> and <c>apps</c> on (the defaults) Codex runs
/// <c>git ls-remote https://github.com/openai/plugins.git</c> and resolves github.com, api.github.com and
/// chatgpt.com at start-up; with them off it connects to nothing but the model provider. With
/// <c>unbounded_connection_retries</c> on (the default) a refused connection is retried forever ("Reconnecting...
/// waiting for network") whatever the provider's retry settings; off, the turn fails at once with
/// "Connection failed: error sending request", which is classified transient — so a model endpoint that is down
/// ends the run in seconds instead of at the wall-clock or stall timeout (which remain the backstop).</para>
/// <para><c>--skip-git-repo-check</c>: the run directory is a git worktree already, and a plain directory must not
/// fail the run. <c>--sandbox workspace-write</c> lets the agent write in its working directory (exec's default
/// sandbox is read-only); it is added only when neither the ConfigFile (<c>sandbox_mode</c>) nor ExtraArgs choose a
/// sandbox. 0.169 has no <c>--full-auto</c>; exec never asks for approval. <c>--</c> keeps a prompt starting with
/// <c>-</c> (or the lone <c>-</c>, "read stdin") from being read as an option.</para>
/// <para>Environment: <c>CODEX_HOME</c> = <c>~/.codex</c>, which must exist ("Error finding codex home", exit 1), so
/// <c>~/.codex/config.toml</c> is always written: the <see cref="AgentSettings.ConfigFile"/>, or a comment-only file
/// (Codex's defaults) (https://github.com/openai/codex/blob/main/docs/config.md).</para>
/// <para>Effort: <c>model_reasoning_effort</c> = minimal|low|medium|high|xhigh (config reference; xhigh only on some
/// models). Output: JSON lines <c>thread.started</c>, <c>turn.started</c>, <c>item.started</c>/<c>item.completed</c>
/// (<c>agent_message</c>, <c>command_execution</c>, <c>error</c>), <c>turn.completed</c> (<c>usage</c>),
/// <c>turn.failed</c>, <c>error</c>. Codex reports no cost.</para>
/// </remarks>
public sealed partial class CodexAdapter : IAgentAdapter
{
    /// <summary>Accepted <c>model_reasoning_effort</c> values (lower case).</summary>
    public static IReadOnlyList<string> EffortLevels { get; } = ["minimal", "low", "medium", "high", "xhigh"];

    /// <summary>Where the config is written, relative to the run's home directory (<c>CODEX_HOME</c> is its folder).</summary>
    public const string ConfigPath = ".codex/config.toml";

    /// <summary>What <see cref="ConfigPath"/> holds when the agent has no ConfigFile: TOML with nothing set.</summary>
    public const string EmptyConfig = "# Written by the orchestrator: the agent has no ConfigFile, so Codex's defaults apply.\n";

    /// <summary>
    /// Features switched off with <c>--disable</c> on every run (see the class remarks): the three that reach
    /// github.com / chatgpt.com at start-up, and the endless retry of a refused connection.
    /// </summary>
    public static IReadOnlyList<string> DisabledFeatures { get; } = ["plugins", "remote_plugin", "apps", "unbounded_connection_retries"];

    /// <inheritdoc />
    public AgentKind Kind => AgentKind.Codex;

    /// <inheritdoc />
    public IReadOnlyList<string> VersionArguments { get; } = ["--version"];

    /// <summary>Builds the command line (see the class remarks).</summary>
    /// <param name="settings">The agent; <see cref="AgentSettings.Kind"/> should be <see cref="AgentKind.Codex"/>.</param>
    /// <param name="request">The run; its home directory holds <c>CODEX_HOME</c>.</param>
    /// <returns>The invocation; an unknown effort is left out with a warning.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public AgentInvocation Build(AgentSettings settings, AgentRunRequest request)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(request);

        var warnings = new List<string>();
        List<string> args = ["exec", "--json", "--skip-git-repo-check"];
        if (!ChoosesSandbox(settings))
        {
            args.AddRange(["--sandbox", "workspace-write"]);
        }

        foreach (var feature in DisabledFeatures)
        {
            args.AddRange(["--disable", feature]);
        }

        if (AdapterSupport.Trimmed(settings.Model) is { } model)
        {
            args.AddRange(["-m", model]);
        }

        if (AdapterSupport.Effort(settings, EffortLevels, "-c model_reasoning_effort", warnings) is { } effort)
        {
            // The value is TOML: a quoted string (argv, so no shell quoting involved).
            args.AddRange(["-c", $"model_reasoning_effort=\"{effort}\""]);
        }

        args.AddRange(settings.ExtraArgs);
        args.AddRange(["--", request.Prompt]);
        AdapterSupport.WarnIfArgumentTooLong(request.Prompt, "the prompt", warnings);
        AdapterSupport.WarnGenericOnlySettings(settings, warnings);

        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["CODEX_HOME"] = Path.GetDirectoryName(AdapterSupport.UnderHome(request, ConfigPath))!,
        };
        AdapterSupport.WarnOverriddenEnvironment(settings, environment, warnings);
        var files = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ConfigPath] = settings.ConfigFile ?? EmptyConfig,
        };

        return new AgentInvocation(AdapterSupport.BinaryOf(settings), args, environment, files, warnings);
    }

    /// <summary>
    /// Reads the JSON lines. Failed when the exit code is not 0, a <c>turn.failed</c> was printed, or <c>error</c>
    /// events were printed and no turn completed (an <c>error</c> followed by <c>turn.completed</c> was retried by
    /// Codex itself); an <c>item.completed</c> of type <c>error</c> (e.g. "Model metadata … not found") is a warning,
    /// not a failure. A timeout kill is always a transient failure. Tokens in = Σ <c>usage.input_tokens</c>, out =
    /// Σ <c>usage.output_tokens</c> over <c>turn.completed</c>: Codex's <c>cached_input_tokens</c> and
    /// <c>reasoning_output_tokens</c> are parts of those (its own <c>non_cached_input()</c> subtracts them), so adding
    /// them would count twice. Session = <c>thread.started.thread_id</c>; final message = the last <c>agent_message</c>.
    /// </summary>
    /// <param name="settings">The agent (its Model, else the ConfigFile's <c>model</c>, is reported: Codex prints none).</param>
    /// <param name="outcome">The process outcome; non-JSON lines in stdout are ignored.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public AgentRunResult Parse(AgentSettings settings, ProcessOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(outcome);

        var output = JsonLines.Parse(outcome.Stdout);
        long? tokensIn = null;
        long? tokensOut = null;
        string? threadId = null;
        string? finalMessage = null;
        string? turnFailure = null;
        var turnFailed = false;
        var turnCompleted = false;
        var errors = new List<string>();

        foreach (var line in output.Objects)
        {
            switch (line.String("type"))
            {
                case "thread.started":
                    threadId ??= line.String("thread_id");
                    break;
                case "item.completed" when line.String("item", "type") == "agent_message":
                    finalMessage = line.String("item", "text") ?? finalMessage;
                    break;
                case "turn.completed":
                    turnCompleted = true;
                    if (line.At("usage") is { ValueKind: JsonValueKind.Object } usage)
                    {
                        tokensIn = (tokensIn ?? 0) + (usage.Int64("input_tokens") ?? 0);
                        tokensOut = (tokensOut ?? 0) + (usage.Int64("output_tokens") ?? 0);
                    }

                    break;
                case "turn.failed":
                    turnFailed = true;
                    turnFailure = line.String("error", "message") ?? turnFailure;
                    break;
                case "error":
                    if (line.String("message") is { } message)
                    {
                        errors.Add(message);
                    }

                    break;
            }
        }

        var failed = outcome.ExitCode != 0 || turnFailed || (errors.Count > 0 && !turnCompleted);
        var parsed = new AgentRunResult
        {
            ExitCode = outcome.ExitCode,
            IsError = failed,
            TokensIn = tokensIn,
            TokensOut = tokensOut,
            CostUsd = null,
            Model = AdapterSupport.Trimmed(settings.Model) ?? ConfigModel(settings.ConfigFile),
            SessionId = threadId,
            Duration = outcome.Duration,
            FinalMessage = finalMessage,
        };

        var messages = new List<string>();
        if (turnFailure is not null)
        {
            messages.Add(turnFailure);
        }

        messages.AddRange(Enumerable.Reverse(errors).Distinct(StringComparer.Ordinal));
        var evidence = new AgentFailureEvidence
        {
            ExitCode = outcome.ExitCode,
            Messages = messages,
            Stderr = outcome.Stderr ?? "",
            OtherOutput = output.OtherLines,
        };
        return AdapterSupport.Complete(settings, outcome, parsed, failed, evidence);
    }

    private static bool ChoosesSandbox(AgentSettings settings)
    {
        if (settings.ConfigFile is { } config && SandboxModeKey().IsMatch(config))
        {
            return true;
        }

        var extra = settings.ExtraArgs;
        for (var i = 0; i < extra.Count; i++)
        {
            var arg = extra[i];
            if (arg is "-s" or "--sandbox" or "--dangerously-bypass-approvals-and-sandbox" or "--full-auto"
                || arg.StartsWith("--sandbox=", StringComparison.Ordinal)
                || (arg.StartsWith("-s", StringComparison.Ordinal) && arg.Length > 2 && arg[2] != '-')
                || ((arg is "-c" or "--config") && i + 1 < extra.Count && extra[i + 1].TrimStart().StartsWith("sandbox_mode", StringComparison.Ordinal))
                || arg.StartsWith("--config=sandbox_mode", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The top-level <c>model = "…"</c> of a config.toml (before the first <c>[table]</c>), or <c>null</c>.</summary>
    private static string? ConfigModel(string? config)
    {
        foreach (var line in (config ?? "").Split('\n'))
        {
            if (line.TrimStart().StartsWith('['))
            {
                return null;
            }

            if (ModelKey().Match(line) is { Success: true } match)
            {
                return match.Groups["model"].Value;
            }
        }

        return null;
    }

    [GeneratedRegex(@"(?m)^\s*sandbox_mode\s*=", RegexOptions.CultureInvariant)]
    private static partial Regex SandboxModeKey();

    [GeneratedRegex(@"^\s*model\s*=\s*[""'](?<model>[^""'\r\n]+)[""']", RegexOptions.CultureInvariant)]
    private static partial Regex ModelKey();
}

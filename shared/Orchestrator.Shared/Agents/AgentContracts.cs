namespace Orchestrator.Shared.Agents;

/// <summary>Which coding-agent CLI an agent configuration drives.</summary>
public enum AgentKind
{
    /// <summary>OpenCode: <c>opencode run --format json</c> (https://opencode.ai/docs/cli/).</summary>
    OpenCode,

    /// <summary>Claude Code: <c>claude -p --output-format json</c> (https://docs.anthropic.com/en/docs/claude-code/cli-reference).</summary>
    ClaudeCode,

    /// <summary>Codex CLI: <c>codex exec --json</c> (https://github.com/openai/codex/blob/main/docs/exec.md).</summary>
    Codex,

    /// <summary>Any executable; the prompt goes in a file or an argument.</summary>
    Generic,
}

/// <summary>How a generic command receives the prompt.</summary>
public enum PromptDelivery
{
    /// <summary>The path of a file holding the prompt replaces <c>{prompt_file}</c> in the arguments.</summary>
    File,

    /// <summary>The prompt text replaces <c>{prompt}</c> in the arguments.</summary>
    Argument,
}

/// <summary>
/// One configured agent (an entry of <c>ORCH_AGENTS_JSON</c>, possibly overridden per project).
/// </summary>
public sealed record AgentSettings
{
    /// <summary>Name used by projects and pipelines, e.g. <c>opencode</c>, <c>claude</c>, <c>codex</c>, <c>my-script</c>.</summary>
    public required string Name { get; init; }

    /// <summary>CLI family.</summary>
    public required AgentKind Kind { get; init; }

    /// <summary>Executable: absolute path or a name looked up on PATH (default: <c>opencode</c>, <c>claude</c>, <c>codex</c>).</summary>
    public string? Binary { get; init; }

    /// <summary>Model id passed to the CLI (<c>--model</c>); <c>null</c> = the CLI's default.</summary>
    public string? Model { get; init; }

    /// <summary>Reasoning effort (<c>low</c> | <c>medium</c> | <c>high</c>, plus <c>minimal</c> for Codex); an invalid value is reported and the flag omitted.</summary>
    public string? Effort { get; init; }

    /// <summary>Extra arguments appended to the CLI's command line.</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];

    /// <summary>
    /// Environment given to the agent on top of the minimal base (PATH, HOME, XDG dirs, LANG, TERM): the
    /// model credentials and endpoints for this agent only (e.g. <c>ANTHROPIC_API_KEY</c>,
    /// <c>ANTHROPIC_BASE_URL</c>). Nothing else from the orchestrator's environment reaches the agent.
    /// </summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// CLI configuration file content written into the agent's private home before the run:
    /// OpenCode's <c>opencode.json</c> (passed with <c>OPENCODE_CONFIG</c>), Codex's <c>config.toml</c>
    /// (in <c>CODEX_HOME</c>). <c>null</c> = none.
    /// </summary>
    public string? ConfigFile { get; init; }

    /// <summary>Generic commands only: argument template with <c>{prompt}</c> or <c>{prompt_file}</c>.</summary>
    public IReadOnlyList<string> ArgumentsTemplate { get; init; } = [];

    /// <summary>Generic commands only: how the prompt is delivered.</summary>
    public PromptDelivery PromptDelivery { get; init; } = PromptDelivery.File;

    /// <summary>Longest a run may take (default 30 min); then the whole process group is killed.</summary>
    public TimeSpan WallClockTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Longest a run may print nothing (default 5 min); then the whole process group is killed.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>What to run.</summary>
/// <param name="Prompt">The full prompt text.</param>
/// <param name="WorkingDirectory">The git worktree the agent works in.</param>
/// <param name="HomeDirectory">A private, empty directory used as HOME and for XDG dirs and CLI config.</param>
/// <param name="LogPath">Where the size-capped run log (stdout + stderr) goes.</param>
public sealed record AgentRunRequest(string Prompt, string WorkingDirectory, string HomeDirectory, string LogPath);

/// <summary>How a failed run should be treated.</summary>
public enum AgentFailureKind
{
    /// <summary>The run succeeded.</summary>
    None,

    /// <summary>Retry later (HTTP 429/529/overloaded, 5xx, connection refused, timeouts).</summary>
    Transient,

    /// <summary>Fix something first (401/403, bad configuration, missing binary).</summary>
    Permanent,
}

/// <summary>A command line to start.</summary>
/// <param name="FileName">Executable.</param>
/// <param name="Arguments">Arguments, unquoted.</param>
/// <param name="Environment">Variables the adapter adds to the base environment (e.g. <c>OPENCODE_CONFIG</c>, <c>CODEX_HOME</c>).</param>
/// <param name="Files">Files to write before the start: path relative to the home directory → content.</param>
/// <param name="Warnings">Configuration problems that were worked around (e.g. an invalid effort value, omitted).</param>
public sealed record AgentInvocation(
    string FileName,
    IReadOnlyList<string> Arguments,
    IReadOnlyDictionary<string, string> Environment,
    IReadOnlyDictionary<string, string> Files,
    IReadOnlyList<string> Warnings);

/// <summary>What the process did (before the CLI's output is interpreted).</summary>
/// <param name="ExitCode">Exit code; -1 when killed.</param>
/// <param name="Stdout">Standard output (capped).</param>
/// <param name="Stderr">Standard error (capped).</param>
/// <param name="Duration">Wall-clock time.</param>
/// <param name="TimedOut"><c>wall-clock</c> or <c>stall</c> when a timeout killed it; else <c>null</c>.</param>
public sealed record ProcessOutcome(int ExitCode, string Stdout, string Stderr, TimeSpan Duration, string? TimedOut);

/// <summary>The interpreted result of one agent run (stored per run in <c>agent_runs</c>).</summary>
public sealed record AgentRunResult
{
    /// <summary>Process exit code (-1 when killed).</summary>
    public required int ExitCode { get; init; }

    /// <summary>Whether the run failed (exit code, the CLI's <c>is_error</c>, an error event, a timeout).</summary>
    public required bool IsError { get; init; }

    /// <summary>Transient / permanent classification when <see cref="IsError"/>.</summary>
    public AgentFailureKind Failure { get; init; }

    /// <summary>Human-readable reason when failed: what happened and what to fix.</summary>
    public string? FailureReason { get; init; }

    /// <summary>Wait requested by the model API (<c>Retry-After</c>), if the output shows one.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Input tokens (all turns, cache reads and writes included when reported).</summary>
    public long? TokensIn { get; init; }

    /// <summary>Output tokens.</summary>
    public long? TokensOut { get; init; }

    /// <summary>Cost in USD as reported by the CLI.</summary>
    public decimal? CostUsd { get; init; }

    /// <summary>Model that answered.</summary>
    public string? Model { get; init; }

    /// <summary>CLI session / thread id.</summary>
    public string? SessionId { get; init; }

    /// <summary>Wall-clock duration.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>The agent's final message, if any.</summary>
    public string? FinalMessage { get; init; }
}

/// <summary>Builds the command line of one CLI family and interprets its output.</summary>
public interface IAgentAdapter
{
    /// <summary>The family served.</summary>
    AgentKind Kind { get; }

    /// <summary>The command line for a run. Never throws for bad optional settings: it reports a warning and leaves the flag out.</summary>
    AgentInvocation Build(AgentSettings settings, AgentRunRequest request);

    /// <summary>Interprets the process outcome (exit code + the CLI's JSON output).</summary>
    AgentRunResult Parse(AgentSettings settings, ProcessOutcome outcome);

    /// <summary>The arguments that print the version (for the preflight), e.g. <c>--version</c>.</summary>
    IReadOnlyList<string> VersionArguments { get; }
}

namespace Orchestrator.Shared.Agents.Adapters;

/// <summary>
/// What a failed run left behind, gathered by an adapter for <see cref="AgentFailureClassifier.Classify"/>.
/// All text is searched case-insensitively for HTTP status codes and known phrases; only the first message
/// (or, without one, the last meaningful stderr/stdout line) is quoted in the reason, after redaction.
/// </summary>
public sealed record AgentFailureEvidence
{
    /// <summary>Process exit code (-1 when killed; 126/127 when the binary could not be executed).</summary>
    public required int ExitCode { get; init; }

    /// <summary>
    /// HTTP status of the model API when the CLI reports it as a field (Claude Code <c>api_error_status</c>,
    /// OpenCode <c>error.data.statusCode</c>); <c>null</c> = look for one in the text.
    /// </summary>
    public int? StatusCode { get; init; }

    /// <summary>
    /// Error messages from the CLI's structured output, most telling first (e.g. Codex <c>turn.failed.error.message</c>,
    /// then its <c>error</c> events; OpenCode <c>error.data.message</c> then <c>responseBody</c>).
    /// </summary>
    public IReadOnlyList<string> Messages { get; init; } = [];

    /// <summary>
    /// Response headers of the failed model call when the CLI reports them (OpenCode <c>error.data.responseHeaders</c>);
    /// read for <c>retry-after</c> (seconds or HTTP date, relative to <c>date</c>) and <c>retry-after-ms</c>. Names are case-insensitive.
    /// </summary>
    public IReadOnlyDictionary<string, string> ResponseHeaders { get; init; } = new Dictionary<string, string>();

    /// <summary>Standard error of the process (ANSI colours and known harmless CLI warnings are ignored).</summary>
    public string Stderr { get; init; } = "";

    /// <summary>Standard-output lines that are not the CLI's JSON (a generic command's whole output, stack traces).</summary>
    public IReadOnlyList<string> OtherOutput { get; init; } = [];
}

/// <summary>The classification of a failed run.</summary>
/// <param name="Kind"><see cref="AgentFailureKind.Transient"/> (retry later) or <see cref="AgentFailureKind.Permanent"/> (fix something first).</param>
/// <param name="Reason">
/// One line for people: what happened and what to do, naming the agent (<see cref="AgentSettings.Name"/>) and, for
/// credential problems, the names of the variables to check — never their values. At most
/// <see cref="AgentFailureClassifier.MaxReasonLength"/> characters.
/// </param>
/// <param name="RetryAfter">The wait the model API asked for (<c>Retry-After</c>), transient failures only; at most one day.</param>
public sealed record AgentFailure(AgentFailureKind Kind, string Reason, TimeSpan? RetryAfter);

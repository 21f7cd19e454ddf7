using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.Shared.Agents.Adapters;

/// <summary>What the four adapters share: defaults, setting checks, text helpers and the failure/timeout epilogue.</summary>
internal static partial class AdapterSupport
{
    /// <summary>
    /// Linux refuses one argument of this many bytes or more (<c>MAX_ARG_STRLEN</c>, 32 pages, NUL included):
    /// <c>execve</c> fails with <c>E2BIG</c> (https://man7.org/linux/man-pages/man2/execve.2.html, "Limits on size of arguments").
    /// </summary>
    public const int MaxArgumentBytes = 128 * 1024;

    /// <summary>Generic commands: the final message is the last stdout line, at most this many characters.</summary>
    public const int MaxFinalLineChars = 2_000;

    /// <summary>The executable a kind runs when <see cref="AgentSettings.Binary"/> is empty (generic: none).</summary>
    public static string? DefaultBinary(AgentKind kind) => kind switch
    {
        AgentKind.OpenCode => "opencode",
        AgentKind.ClaudeCode => "claude",
        AgentKind.Codex => "codex",
        _ => null,
    };

    /// <summary>The configured binary (trimmed) or the kind's default.</summary>
    public static string BinaryOf(AgentSettings settings) =>
        Trimmed(settings.Binary) ?? DefaultBinary(settings.Kind) ?? "";

    /// <summary>Display name of a kind in messages.</summary>
    public static string CliName(AgentKind kind) => kind switch
    {
        AgentKind.OpenCode => "OpenCode",
        AgentKind.ClaudeCode => "Claude Code",
        AgentKind.Codex => "Codex",
        _ => "generic command",
    };

    /// <summary><c>null</c> for null/blank, else the trimmed value.</summary>
    public static string? Trimmed(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>
    /// The effort in lower case when it is one of <paramref name="allowed"/> (compared case-insensitively);
    /// <c>null</c> when unset, or — with a warning — when not allowed.
    /// </summary>
    public static string? Effort(AgentSettings settings, IReadOnlyList<string> allowed, string flag, List<string> warnings)
    {
        var effort = Trimmed(settings.Effort);
        if (effort is null)
        {
            return null;
        }

        var lower = effort.ToLowerInvariant();
        if (allowed.Contains(lower, StringComparer.Ordinal))
        {
            return lower;
        }

        warnings.Add($"effort '{effort}' of agent '{settings.Name}' is not one of {string.Join('|', allowed)} for {CliName(settings.Kind)}; {flag} omitted");
        return null;
    }

    /// <summary>Warns about settings only generic commands use, set on a CLI adapter.</summary>
    public static void WarnGenericOnlySettings(AgentSettings settings, List<string> warnings)
    {
        if (settings.ArgumentsTemplate.Count > 0)
        {
            warnings.Add($"ArgumentsTemplate of agent '{settings.Name}' is only used by generic commands; ignored for {CliName(settings.Kind)}");
        }
    }

    /// <summary>Warns when one argument is too long for <c>execve</c> (see <see cref="MaxArgumentBytes"/>).</summary>
    public static void WarnIfArgumentTooLong(string argument, string what, List<string> warnings)
    {
        var bytes = Encoding.UTF8.GetByteCount(argument);
        if (bytes + 1 > MaxArgumentBytes)
        {
            warnings.Add($"{what} is {bytes} bytes: Linux refuses one argument of 128 KiB or more (E2BIG), so the start will fail; shorten it or deliver it in a file");
        }
    }

    /// <summary>
    /// Warns for every variable the adapter sets that the agent's own <see cref="AgentSettings.Environment"/>
    /// also sets to something else (the runner applies the adapter's last, so the adapter's value wins).
    /// The adapter's values are constants and paths, never credentials.
    /// </summary>
    public static void WarnOverriddenEnvironment(AgentSettings settings, IReadOnlyDictionary<string, string> adapterEnvironment, List<string> warnings)
    {
        foreach (var (name, value) in adapterEnvironment)
        {
            if (settings.Environment.TryGetValue(name, out var own) && own != value)
            {
                warnings.Add($"{name} from the Environment of agent '{settings.Name}' is overridden with '{value}' by the {CliName(settings.Kind)} adapter");
            }
        }
    }

    /// <summary>An absolute path under the run's home directory.</summary>
    public static string UnderHome(AgentRunRequest request, string relativePath) =>
        Path.GetFullPath(Path.Combine(request.HomeDirectory, relativePath));

    /// <summary>Removes ANSI escape sequences (colours) that CLIs print to a terminal or a pipe.</summary>
    public static string StripAnsi(string text) => AnsiEscape().Replace(text, "");

    /// <summary><paramref name="text"/> cut to <paramref name="max"/> characters with an ellipsis.</summary>
    public static string Cap(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max - 1), "…");

    /// <summary>The last non-empty line of <paramref name="text"/> (trimmed), or <c>null</c>.</summary>
    public static string? LastNonEmptyLine(string? text)
    {
        var lines = (text ?? "").Split('\n');
        for (var i = lines.Length - 1; i >= 0; i--)
        {
            var line = lines[i].Trim();
            if (line.Length > 0)
            {
                return line;
            }
        }

        return null;
    }

    /// <summary>"30 min", "7.5 min" or "45 s": a duration for failure reasons.</summary>
    public static string FormatDuration(TimeSpan duration)
    {
        if (duration.TotalMinutes >= 1)
        {
            return Math.Round(duration.TotalMinutes, 1).ToString("0.#", CultureInfo.InvariantCulture) + " min";
        }

        return Math.Round(Math.Max(0, duration.TotalSeconds)).ToString("0", CultureInfo.InvariantCulture) + " s";
    }

    /// <summary>
    /// The common epilogue of <see cref="IAgentAdapter.Parse"/>: a timeout kill overrides everything (transient);
    /// otherwise a failed run is classified by <see cref="AgentFailureClassifier"/>; otherwise it succeeded.
    /// </summary>
    /// <param name="settings">The agent.</param>
    /// <param name="outcome">The process outcome.</param>
    /// <param name="parsed">What the adapter read from the output (tokens, cost, session, …).</param>
    /// <param name="failed">Whether the adapter judged the run failed.</param>
    /// <param name="evidence">Failure evidence for the classifier (used when <paramref name="failed"/>).</param>
    public static AgentRunResult Complete(
        AgentSettings settings, ProcessOutcome outcome, AgentRunResult parsed, bool failed, AgentFailureEvidence evidence)
    {
        if (outcome.TimedOut is not null)
        {
            var killed = AgentFailureClassifier.Killed(settings, outcome, evidence.Messages.FirstOrDefault());
            return parsed with { IsError = true, Failure = killed.Kind, FailureReason = killed.Reason, RetryAfter = null };
        }

        if (!failed)
        {
            return parsed with { IsError = false, Failure = AgentFailureKind.None, FailureReason = null, RetryAfter = null };
        }

        var failure = AgentFailureClassifier.Classify(settings, evidence);
        return parsed with { IsError = true, Failure = failure.Kind, FailureReason = failure.Reason, RetryAfter = failure.RetryAfter };
    }

    [GeneratedRegex(@"\x1B\[[0-9;?]*[ -/]*[@-~]", RegexOptions.CultureInvariant)]
    private static partial Regex AnsiEscape();
}

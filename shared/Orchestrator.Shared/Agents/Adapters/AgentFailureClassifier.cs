using System.Globalization;
using System.Text.RegularExpressions;

namespace Orchestrator.Shared.Agents.Adapters;

/// <summary>
/// Decides whether a failed agent run is worth retrying, from what its CLI printed — one rule set for all
/// adapters, so the same HTTP status or phrase means the same thing whichever CLI reported it.
/// </summary>
/// <remarks>
/// <para>Rules, first match wins:</para>
/// <list type="number">
/// <item>Exit 126/127, or a line naming the binary with "command not found", "No such file or directory",
/// "spawn … ENOENT" or "trying to start process" →
/// <see cref="AgentFailureKind.Permanent"/> (install the CLI or fix <see cref="AgentSettings.Binary"/>).</item>
/// <item>No credit or quota ("insufficient_quota", "credit balance is too low"; OpenAI sends these with 429) → permanent.</item>
/// <item>An HTTP status (a field, else "status 401", "HTTP 429", "API Error: 529", <c>"statusCode":503</c> in the text):
/// 401, 402, 403, 404 and other 4xx → permanent; 408, 409, 425, 429, 5xx (529 = overloaded) → transient.</item>
/// <item>Phrases: "invalid api key", "authentication", "unauthorized", "/login" → permanent (credentials);
/// "forbidden", "permission_error" → permanent (access); model not found, unknown option or argument,
/// invalid configuration → permanent (configuration).</item>
/// <item>Phrases: "overloaded", "rate limit", "too many requests", "ECONNREFUSED", "connection refused",
/// "Unable to connect", "Reconnecting", "network", "timed out", 5xx texts → transient.</item>
/// <item>Anything else → transient, quoting the last meaningful stderr/stdout line.</item>
/// </list>
/// <para>
/// <c>Retry-After</c> comes from OpenCode's <c>responseHeaders</c> (<c>retry-after</c> in seconds or as an HTTP date
/// relative to the response's <c>date</c>; <c>retry-after-ms</c>) or from the text ("retry after 30 seconds",
/// "Retry-After: 30", "try again in 20s"); RFC 9110 §10.2.3 (https://www.rfc-editor.org/rfc/rfc9110#name-retry-after).
/// </para>
/// <para>
/// Reasons name the agent and, for credential problems, the variables to check (secret-looking names in
/// <see cref="AgentSettings.Environment"/>, Codex's <c>env_key</c>) — never their values: quoted CLI text is
/// scrubbed of every configured secret value and of <c>sk-…</c>/<c>Bearer …</c> tokens.
/// </para>
/// </remarks>
public static partial class AgentFailureClassifier
{
    /// <summary>Longest <see cref="AgentFailure.Reason"/>, in characters.</summary>
    public const int MaxReasonLength = 600;

    /// <summary>Longest quoted CLI text inside a reason, in characters.</summary>
    public const int MaxDetailLength = 300;

    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromDays(1);

    /// <summary>Classifies a failed run.</summary>
    /// <param name="settings">The agent (its name, kind, binary, model and secrets shape the reason).</param>
    /// <param name="evidence">What the run printed.</param>
    /// <returns>Never <see cref="AgentFailureKind.None"/>.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static AgentFailure Classify(AgentSettings settings, AgentFailureEvidence evidence)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(evidence);

        var messages = evidence.Messages
            .Where(m => !string.IsNullOrWhiteSpace(m))
            .Select(m => AdapterSupport.StripAnsi(m).Trim())
            .ToList();
        var stderr = MeaningfulLines(evidence.Stderr);
        var other = evidence.OtherOutput
            .Select(l => AdapterSupport.StripAnsi(l).Trim())
            .Where(l => l.Length > 0)
            .ToList();
        var lines = messages.Concat(stderr).Concat(other).ToList();
        var text = string.Join('\n', lines);

        // Quote the CLI's own error message; else the last stderr line that says "error" (usage text and hints
        // follow clap's and commander's error lines); else the last line printed.
        var quoted = messages.FirstOrDefault()
            ?? stderr.LastOrDefault(l => ErrorWord().IsMatch(l))
            ?? stderr.LastOrDefault()
            ?? other.LastOrDefault();
        var detail = quoted is null ? null : AdapterSupport.Cap(SecretRedactor.Redact(settings, quoted), MaxDetailLength);
        var status = evidence.StatusCode is >= 400 and <= 599 ? evidence.StatusCode : FindStatus(text);
        var name = settings.Name;
        var binary = AdapterSupport.BinaryOf(settings);

        if (evidence.ExitCode is 126 or 127 || MentionsMissingBinary(lines, binary))
        {
            return Permanent($"the binary '{binary}' of agent '{name}' could not be run{Paren($"exit {evidence.ExitCode}", detail)}: install it or set Binary to its absolute path");
        }

        if (Billing().IsMatch(text))
        {
            return Permanent($"the model API account of agent '{name}' has no credit or quota left{Paren(Http(status), detail)}: top up the account or change {CredentialHint(settings)}");
        }

        if (status is int code)
        {
            return ByStatus(settings, evidence, code, text, detail);
        }

        if (Credentials().IsMatch(text))
        {
            return CredentialsRejected(settings, null, detail);
        }

        if (Forbidden().IsMatch(text))
        {
            return AccessRefused(settings, null, detail);
        }

        if (ModelNotFound().IsMatch(text))
        {
            return Permanent($"the model of agent '{name}' was not found{Paren(detail)}: check its Model ('{ModelOf(settings)}') and the provider's model list");
        }

        if (BadConfiguration().IsMatch(text))
        {
            return Permanent($"agent '{name}' ({AdapterSupport.CliName(settings.Kind)}) is misconfigured{Paren(detail)}: fix its Model, Effort, ExtraArgs or ConfigFile");
        }

        if (Overloaded().IsMatch(text))
        {
            return Transient($"the model API is overloaded{Paren(detail)}; retry later", evidence, text);
        }

        if (RateLimited().IsMatch(text))
        {
            return Transient($"the model API is rate limiting agent '{name}'{Paren(detail)}; retry later", evidence, text);
        }

        if (Network().IsMatch(text))
        {
            return Transient($"agent '{name}' could not reach the model API{Paren(detail)}: check that its endpoint is up; retry later", evidence, text);
        }

        if (TimedOut().IsMatch(text))
        {
            return Transient($"the model API of agent '{name}' timed out{Paren(detail)}; retry later", evidence, text);
        }

        if (ServerError().IsMatch(text))
        {
            return Transient($"the model API of agent '{name}' failed{Paren(detail)}; retry later", evidence, text);
        }

        var unknown = detail is null
            ? $"agent '{name}' failed with exit code {evidence.ExitCode} and printed no error"
            : $"agent '{name}' failed with exit code {evidence.ExitCode}: {detail}";
        return Transient(unknown, evidence, text);
    }

    /// <summary>
    /// The failure of a run the runner killed: always transient, reason <c>killed after 31 min (wall-clock)</c> or
    /// <c>killed after 12 min (no output for 5 min)</c>, plus <c>; last error: …</c> when the CLI had reported one.
    /// </summary>
    /// <param name="settings">The agent (its <see cref="AgentSettings.StallTimeout"/> is quoted for stalls).</param>
    /// <param name="outcome">The outcome; <see cref="ProcessOutcome.TimedOut"/> is <c>wall-clock</c> or <c>stall</c>.</param>
    /// <param name="lastError">The CLI's last error message, if any (redacted and capped here).</param>
    /// <exception cref="ArgumentNullException"><paramref name="settings"/> or <paramref name="outcome"/> is null.</exception>
    public static AgentFailure Killed(AgentSettings settings, ProcessOutcome outcome, string? lastError = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(outcome);

        var why = outcome.TimedOut switch
        {
            "wall-clock" => "wall-clock",
            "stall" => $"no output for {AdapterSupport.FormatDuration(settings.StallTimeout)}",
            var other => other ?? "killed",
        };
        var reason = $"killed after {AdapterSupport.FormatDuration(outcome.Duration)} ({why})";
        if (!string.IsNullOrWhiteSpace(lastError))
        {
            reason += "; last error: " + AdapterSupport.Cap(SecretRedactor.Redact(settings, AdapterSupport.StripAnsi(lastError).Trim()), MaxDetailLength);
        }

        return new AgentFailure(AgentFailureKind.Transient, AdapterSupport.Cap(reason, MaxReasonLength), null);
    }

    private static AgentFailure ByStatus(AgentSettings settings, AgentFailureEvidence evidence, int code, string text, string? detail)
    {
        var name = settings.Name;
        var http = Http(code);
        return code switch
        {
            401 => CredentialsRejected(settings, code, detail),
            402 => Permanent($"the model API account of agent '{name}' has no credit or quota left{Paren(http, detail)}: top up the account or change {CredentialHint(settings)}"),
            403 => AccessRefused(settings, code, detail),
            404 => Permanent($"the model API of agent '{name}' does not know the model or the endpoint{Paren(http, detail)}: check its Model ('{ModelOf(settings)}') and base URL"),
            408 or 409 or 425 => Transient($"the model API asked agent '{name}' to retry{Paren(http, detail)}; retry later", evidence, text),
            429 => Transient($"the model API is rate limiting agent '{name}'{Paren(http, detail)}; retry later", evidence, text),
            529 => Transient($"the model API is overloaded{Paren(http, detail)}; retry later", evidence, text),
            >= 500 when Overloaded().IsMatch(text) => Transient($"the model API is overloaded{Paren(http, detail)}; retry later", evidence, text),
            >= 500 => Transient($"the model API of agent '{name}' failed{Paren(http, detail)}; retry later", evidence, text),
            _ => Permanent($"the model API rejected the request of agent '{name}'{Paren(http, detail)}: check its Model, ExtraArgs and ConfigFile (or shorten the prompt)"),
        };
    }

    private static AgentFailure CredentialsRejected(AgentSettings settings, int? status, string? detail) =>
        Permanent($"the model API rejected the credentials{Paren(Http(status), detail)}: check {CredentialHint(settings)} of agent '{settings.Name}'");

    private static AgentFailure AccessRefused(AgentSettings settings, int? status, string? detail) =>
        Permanent($"the model API refused access{Paren(Http(status), detail)}: check that {CredentialHint(settings)} of agent '{settings.Name}' may use model '{ModelOf(settings)}'");

    private static AgentFailure Permanent(string reason) =>
        new(AgentFailureKind.Permanent, AdapterSupport.Cap(reason, MaxReasonLength), null);

    private static AgentFailure Transient(string reason, AgentFailureEvidence evidence, string text) =>
        new(AgentFailureKind.Transient, AdapterSupport.Cap(reason, MaxReasonLength), RetryAfter(evidence.ResponseHeaders, text));

    /// <summary>What to check when credentials are refused: variable names, never values.</summary>
    private static string CredentialHint(AgentSettings settings)
    {
        var names = SecretRedactor.CredentialNames(settings);
        if (names.Count > 0)
        {
            return string.Join(" / ", names);
        }

        return settings.Kind switch
        {
            AgentKind.ClaudeCode => "ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN)",
            AgentKind.OpenCode => "the provider's apiKey in its ConfigFile (opencode.json)",
            AgentKind.Codex => "the variable named by env_key in its ConfigFile (config.toml), e.g. OPENAI_API_KEY",
            _ => "the credentials in the Environment",
        };
    }

    private static string ModelOf(AgentSettings settings) => AdapterSupport.Trimmed(settings.Model) ?? "the CLI's default";

    private static string? Http(int? status) => status is int code ? $"HTTP {code.ToString(CultureInfo.InvariantCulture)}" : null;

    private static string Paren(params string?[] parts)
    {
        var present = parts.Where(p => !string.IsNullOrWhiteSpace(p)).ToArray();
        return present.Length == 0 ? "" : $" ({string.Join(": ", present)})";
    }

    /// <summary>Non-empty stderr lines without colours and without warnings every run prints.</summary>
    private static List<string> MeaningfulLines(string? stderr) =>
        (stderr ?? "")
            .Split('\n')
            .Select(l => AdapterSupport.StripAnsi(l).Trim())
            .Where(l => l.Length > 0 && !HarmlessStderr().IsMatch(l))
            .ToList();

    private static bool MentionsMissingBinary(IEnumerable<string> lines, string binary)
    {
        if (binary.Length == 0)
        {
            return false;
        }

        // Shells ("bash: claude: command not found", "sh: 1: claude: not found", "…/claude: No such file or
        // directory", "…: Permission denied"), Node ("spawn claude ENOENT") and .NET's Process.Start
        // ("An error occurred trying to start process 'claude' …"). The binary must be named, so a missing
        // file the agent itself tripped over does not count.
        var names = new[] { binary, Path.GetFileName(binary) }.Where(n => n.Length > 0).Distinct().Select(Regex.Escape);
        var b = "(?:" + string.Join('|', names) + ")";
        var pattern = new Regex(
            $@"{b}['""]?:\s*(?:\d+:\s*)?(?:command not found|not found|No such file or directory|Permission denied|cannot execute)|spawn {b} ENOENT|trying to start process '{b}'",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant,
            TimeSpan.FromSeconds(1));
        return lines.Any(pattern.IsMatch);
    }

    private static int? FindStatus(string text)
    {
        var match = StatusInText().Match(text);
        return match.Success ? int.Parse(match.Groups["code"].ValueSpan, CultureInfo.InvariantCulture) : null;
    }

    /// <summary>The wait the API asked for: response headers first, then phrases in the text.</summary>
    internal static TimeSpan? RetryAfter(IReadOnlyDictionary<string, string> headers, string text)
    {
        var byHeader = RetryAfterFromHeaders(headers);
        if (byHeader is not null)
        {
            return byHeader;
        }

        var match = RetryAfterInText().Match(text);
        if (!match.Success || !double.TryParse(match.Groups["n"].ValueSpan, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount))
        {
            return null;
        }

        var unit = match.Groups["unit"].Value.ToLowerInvariant();
        var wait = unit switch
        {
            "ms" or "millisecond" or "milliseconds" => TimeSpan.FromMilliseconds(amount),
            "m" or "min" or "mins" or "minute" or "minutes" => TimeSpan.FromMinutes(amount),
            _ => TimeSpan.FromSeconds(amount),
        };
        return Bounded(wait);
    }

    private static TimeSpan? RetryAfterFromHeaders(IReadOnlyDictionary<string, string> headers)
    {
        string? Header(string wanted) =>
            headers.FirstOrDefault(h => string.Equals(h.Key, wanted, StringComparison.OrdinalIgnoreCase)).Value?.Trim();

        // retry-after-ms: OpenAI-compatible servers (read by the AI SDK that OpenCode uses).
        if (double.TryParse(Header("retry-after-ms"), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms))
        {
            return Bounded(TimeSpan.FromMilliseconds(ms));
        }

        var value = Header("retry-after");
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            return Bounded(TimeSpan.FromSeconds(seconds));
        }

        // An HTTP date: only meaningful against the response's own Date header (no local clock here).
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var until)
            && DateTimeOffset.TryParse(Header("date"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var sent))
        {
            return Bounded(until - sent);
        }

        return null;
    }

    private static TimeSpan? Bounded(TimeSpan wait) =>
        wait < TimeSpan.Zero ? null : wait > MaxRetryAfter ? MaxRetryAfter : wait;

    [GeneratedRegex(@"(?:\bstatus(?:[ _]?code)?[""']?\s*[:=]?\s*|\bHTTP(?:/\d(?:\.\d)?)?\s*:?\s*|\bAPI Error:\s*|\bapi_error_status[""']?\s*:\s*)(?<code>[45]\d\d)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex StatusInText();

    [GeneratedRegex(@"insufficient_quota|exceeded your (?:current )?quota|credit balance is too low|payment required|billing_error|check your plan and billing", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Billing();

    [GeneratedRegex(@"invalid[ _-]?(?:x-)?api[ _-]?key|incorrect api key|api[ _-]?key (?:is )?(?:missing|invalid|not (?:set|found|provided|valid))|missing api[ _-]?key|no api[ _-]?key|authenticat(?:ion|e)\b|\bunauthori[sz]ed\b|not logged in|/login\b|ProviderAuthError|invalid (?:bearer|auth(?:orization)?) token", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Credentials();

    [GeneratedRegex(@"\bforbidden\b|permission_error|access (?:is )?denied|not allowed to (?:use|access)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Forbidden();

    [GeneratedRegex(@"\bmodel\b[^\n]{0,80}?(?:not found|does not exist|not_found|is not supported|unknown)|unknown model|ProviderModelNotFoundError|ModelNotFoundError|not_found_error", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ModelNotFound();

    [GeneratedRegex(@"unknown option|unexpected argument|unknown argument|unrecognized (?:option|argument)|invalid values?\b|allowed choices are|required arguments? (?:were|was) not provided|invalid config(?:uration)?|configuration error|failed to (?:parse|load|read) (?:the )?config|error loading config|ConfigInvalidError|ConfigJsonError|Error finding codex home", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BadConfiguration();

    [GeneratedRegex(@"overloaded|\b529\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Overloaded();

    [GeneratedRegex(@"rate[ _-]?limit|too many requests|\b429\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex RateLimited();

    [GeneratedRegex(@"ECONNREFUSED|connection refused|ECONNRESET|connection reset|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|socket hang up|unable to connect|cannot connect|reconnecting|\bnetwork\b|error sending request|stream disconnected|connection (?:closed|error|failed)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Network();

    [GeneratedRegex(@"\btimed? ?out\b|\btimeout\b|deadline exceeded", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TimedOut();

    [GeneratedRegex(@"internal server error|bad gateway|service unavailable|gateway timeout|server_error|\bapi_error\b|server error", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ServerError();

    [GeneratedRegex(@"(?:retry[- ]after|(?:try again|retry(?:ing)?) in)[""']?\s*[:=]?\s*[""']?(?<n>\d+(?:\.\d+)?)\s*(?<unit>ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)?\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex RetryAfterInText();

    [GeneratedRegex(@"\berror\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ErrorWord();

    // Printed by Codex 0.169 on every run (fixtures codex/stderr.txt): not about the failure.
    [GeneratedRegex(@"^WARNING: proceeding, even though we could not create PATH aliases|^Reading additional input from stdin", RegexOptions.CultureInvariant)]
    private static partial Regex HarmlessStderr();
}

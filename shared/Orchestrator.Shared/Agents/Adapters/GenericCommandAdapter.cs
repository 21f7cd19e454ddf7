using System.Text.RegularExpressions;

namespace Orchestrator.Shared.Agents.Adapters;

/// <summary>
/// Any executable as an agent: <see cref="AgentSettings.Binary"/> with <see cref="AgentSettings.ArgumentsTemplate"/>,
/// judged by its exit code alone.
/// </summary>
/// <remarks>
/// <para>In each template argument <c>{prompt_file}</c> becomes the absolute path of <c>~/prompt.md</c> (written before
/// the start, UTF-8) and <c>{prompt}</c> the prompt text (one pass, so a prompt containing <c>{prompt_file}</c> stays
/// as it is). Without a template the only argument is the prompt file path (<see cref="PromptDelivery.File"/>) or the
/// prompt (<see cref="PromptDelivery.Argument"/>). A template without the placeholder of the chosen delivery gets it
/// appended, with a warning. ExtraArgs come last.</para>
/// <para>Output: exit 0 = success; the final message is the last non-empty stdout line (at most 2,000 characters).</para>
/// </remarks>
public sealed partial class GenericCommandAdapter : IAgentAdapter
{
    /// <summary>Where the prompt file is written, relative to the run's home directory.</summary>
    public const string PromptFilePath = "prompt.md";

    /// <summary>How many of the last stdout lines are searched when classifying a failure.</summary>
    private const int TailLines = 20;

    /// <inheritdoc />
    public AgentKind Kind => AgentKind.Generic;

    /// <inheritdoc />
    public IReadOnlyList<string> VersionArguments { get; } = ["--version"];

    /// <summary>Builds the command line (see the class remarks).</summary>
    /// <param name="settings">The agent; <see cref="AgentSettings.Binary"/> is required.</param>
    /// <param name="request">The run; its home directory receives <c>prompt.md</c>.</param>
    /// <returns>The invocation; Model, Effort and ConfigFile are not used and reported as warnings when set.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The agent has no binary (a permanent configuration error).</exception>
    public AgentInvocation Build(AgentSettings settings, AgentRunRequest request)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(request);
        var binary = AdapterSupport.Trimmed(settings.Binary)
            ?? throw new ArgumentException($"agent '{settings.Name}' (generic) needs a binary: set Binary to an executable's absolute path or a name on PATH", nameof(settings));

        var warnings = new List<string>();
        var promptFile = AdapterSupport.UnderHome(request, PromptFilePath);
        var template = settings.ArgumentsTemplate;
        var usesFile = template.Any(a => a.Contains("{prompt_file}", StringComparison.Ordinal));
        var usesPrompt = template.Any(a => a.Contains("{prompt}", StringComparison.Ordinal));
        var byFile = settings.PromptDelivery == PromptDelivery.File;

        var args = template
            .Select(a => Placeholder().Replace(a, m => m.Value == "{prompt_file}" ? promptFile : request.Prompt))
            .ToList();
        if (template.Count == 0)
        {
            args.Add(byFile ? promptFile : request.Prompt);
        }
        else if (!usesFile && !usesPrompt)
        {
            args.Add(byFile ? promptFile : request.Prompt);
            warnings.Add($"ArgumentsTemplate of agent '{settings.Name}' has no {(byFile ? "{prompt_file}" : "{prompt}")}; the {(byFile ? "prompt file path" : "prompt")} was appended as the last template argument");
        }
        else if (byFile && !usesFile)
        {
            warnings.Add($"agent '{settings.Name}' delivers the prompt by File but its ArgumentsTemplate only has {{prompt}}; the prompt was passed as an argument");
        }
        else if (!byFile && !usesPrompt)
        {
            warnings.Add($"agent '{settings.Name}' delivers the prompt by Argument but its ArgumentsTemplate only has {{prompt_file}}; the prompt was passed in a file");
        }

        args.AddRange(settings.ExtraArgs);

        var passesText = template.Count == 0 ? !byFile : usesPrompt || (!usesFile && !byFile);
        if (passesText)
        {
            AdapterSupport.WarnIfArgumentTooLong(request.Prompt, "the prompt", warnings);
        }

        if (AdapterSupport.Trimmed(settings.Model) is not null)
        {
            warnings.Add($"Model of agent '{settings.Name}' is not used by generic commands; ignored");
        }

        if (AdapterSupport.Trimmed(settings.Effort) is not null)
        {
            warnings.Add($"Effort of agent '{settings.Name}' is not used by generic commands; ignored");
        }

        if (settings.ConfigFile is not null)
        {
            warnings.Add($"ConfigFile of agent '{settings.Name}' is not used by generic commands; ignored");
        }

        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        if (byFile || usesFile)
        {
            files[PromptFilePath] = request.Prompt;
        }

        return new AgentInvocation(binary, args, new Dictionary<string, string>(StringComparer.Ordinal), files, warnings);
    }

    /// <summary>
    /// Exit 0 = success, anything else a failure classified from stderr and the last stdout lines; a timeout kill is
    /// always a transient failure. No tokens, cost, model or session are known.
    /// </summary>
    /// <param name="settings">The agent.</param>
    /// <param name="outcome">The process outcome.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public AgentRunResult Parse(AgentSettings settings, ProcessOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(outcome);

        var stdout = outcome.Stdout ?? "";
        var last = AdapterSupport.LastNonEmptyLine(AdapterSupport.StripAnsi(stdout));
        var failed = outcome.ExitCode != 0;
        var parsed = new AgentRunResult
        {
            ExitCode = outcome.ExitCode,
            IsError = failed,
            Duration = outcome.Duration,
            FinalMessage = last is null ? null : AdapterSupport.Cap(last, AdapterSupport.MaxFinalLineChars),
        };

        var tail = stdout.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).TakeLast(TailLines).ToList();
        var evidence = new AgentFailureEvidence
        {
            ExitCode = outcome.ExitCode,
            Stderr = outcome.Stderr ?? "",
            OtherOutput = tail,
        };
        return AdapterSupport.Complete(settings, outcome, parsed, failed, evidence);
    }

    [GeneratedRegex(@"\{prompt(?:_file)?\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}

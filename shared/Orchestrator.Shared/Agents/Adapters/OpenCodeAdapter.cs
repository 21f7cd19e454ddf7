using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Orchestrator.Shared.Agents.Adapters;

/// <summary>
/// OpenCode's non-interactive <c>run</c> command (https://opencode.ai/docs/cli/#run), checked against the
/// <c>opencode run --help</c> of 1.18.33.
/// </summary>
/// <remarks>
/// <para>Command line:
/// <c>opencode run --pure --format json [--model provider/model] [--variant E] [ExtraArgs…] -- &lt;prompt words…&gt;</c>.</para>
/// <para>The prompt is passed as words: OpenCode joins its message arguments with spaces but first wraps every
/// argument that contains a space in double quotes and backslash-escapes its quotes, so a prompt passed as one
/// argument reaches the model as <c>"…"</c> with <c>\"</c> inside (verified with 1.18.33). The prompt is therefore
/// split at each space (newlines and tabs stay inside words), which OpenCode joins back exactly. A word that
/// yargs would read as a number (<c>1.</c>, <c>42</c>, <c>-5</c>, <c>1e5</c>, <c>0x1F</c>) crashes 1.18.33
/// (<c>G.includes is not a function</c>), so such a word is kept together with a neighbour — only that
/// pair is then quoted. <c>--</c> keeps words starting with <c>-</c> from being read as options.</para>
/// <para>Environment: <c>OPENCODE_DISABLE_MODELS_FETCH=1</c>, <c>OPENCODE_DISABLE_AUTOUPDATE=1</c>, and with a
/// <see cref="AgentSettings.ConfigFile"/> (written to <c>~/.config/opencode/opencode.json</c>) <c>OPENCODE_CONFIG</c>
/// = its absolute path (https://opencode.ai/docs/config/). <c>OPENCODE_DISABLE_LSP_DOWNLOAD=1</c>: no language server
/// is fetched from the internet when the agent edits a file.</para>
/// <para>Offline config directory: at every start OpenCode 1.18 installs <c>@opencode-ai/plugin</c> from
/// registry.npmjs.org into its config directory (<c>$XDG_CONFIG_HOME/opencode</c>), in the background, even with
/// <c>--pure</c>. Its installer skips a directory whose <c>node_modules/</c> exists and whose
/// <c>package-lock.json</c> root lists every dependency of <c>package.json</c> plus <c>@opencode-ai/plugin</c>
/// (checked by name; verified with 1.18.33 under strace: no DNS query, no connection but the model's). So every run
/// gets <see cref="PackageJsonPath"/>, <see cref="PackageLockPath"/> and an empty <c>node_modules/</c> (made by
/// writing <see cref="NodeModulesPlaceholderPath"/>, an empty file). Nothing loads the plugin package unless a
/// plugin or custom tool is configured.</para>
/// <para>Effort maps to <c>--variant</c> ("provider-specific reasoning effort, e.g., high, max, minimal"); the model
/// must look like <c>provider/model</c>. Output: JSON lines <c>step_start</c>, <c>tool_use</c>, <c>text</c>,
/// <c>step_finish</c> (<c>part.tokens</c>, <c>part.cost</c>), <c>error</c>.</para>
/// </remarks>
public sealed partial class OpenCodeAdapter : IAgentAdapter
{
    /// <summary>Accepted <c>--variant</c> values (lower case); which ones a model really has is provider-specific.</summary>
    public static IReadOnlyList<string> EffortLevels { get; } = ["none", "minimal", "low", "medium", "high", "xhigh", "max"];

    /// <summary>Where <see cref="AgentSettings.ConfigFile"/> is written, relative to the run's home directory.</summary>
    public const string ConfigPath = ".config/opencode/opencode.json";

    /// <summary>Pre-written <c>package.json</c> of the config directory, relative to the run's home directory (see the class remarks).</summary>
    public const string PackageJsonPath = ".config/opencode/package.json";

    /// <summary>Pre-written <c>package-lock.json</c> of the config directory, relative to the run's home directory.</summary>
    public const string PackageLockPath = ".config/opencode/package-lock.json";

    /// <summary>An empty file whose writing creates the empty <c>node_modules/</c> of the config directory.</summary>
    public const string NodeModulesPlaceholderPath = ".config/opencode/node_modules/.keep";

    /// <summary>The package OpenCode would otherwise install into its config directory.</summary>
    public const string PluginPackage = "@opencode-ai/plugin";

    /// <summary>The version listed for <see cref="PluginPackage"/>: the OpenCode version this was verified with.</summary>
    public const string PluginPackageVersion = "1.18.33";

    /// <summary>Content of <see cref="PackageJsonPath"/>.</summary>
    public const string PackageJson = "{ \"dependencies\": { \"" + PluginPackage + "\": \"" + PluginPackageVersion + "\" } }\n";

    /// <summary>Content of <see cref="PackageLockPath"/>: its root package lists the same dependency.</summary>
    public const string PackageLock =
        "{ \"lockfileVersion\": 3, \"packages\": { \"\": { \"dependencies\": { \"" + PluginPackage + "\": \"" + PluginPackageVersion + "\" } } } }\n";

    /// <inheritdoc />
    public AgentKind Kind => AgentKind.OpenCode;

    /// <inheritdoc />
    public IReadOnlyList<string> VersionArguments { get; } = ["--version"];

    /// <summary>Builds the command line (see the class remarks).</summary>
    /// <param name="settings">The agent; <see cref="AgentSettings.Kind"/> should be <see cref="AgentKind.OpenCode"/>.</param>
    /// <param name="request">The run; its home directory receives the config file.</param>
    /// <returns>The invocation; a model not shaped <c>provider/model</c> or an unknown effort is left out with a warning.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public AgentInvocation Build(AgentSettings settings, AgentRunRequest request)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(request);

        var warnings = new List<string>();
        List<string> args = ["run", "--pure", "--format", "json"];
        if (AdapterSupport.Trimmed(settings.Model) is { } model)
        {
            if (ProviderSlashModel().IsMatch(model))
            {
                args.AddRange(["--model", model]);
            }
            else
            {
                warnings.Add($"model '{model}' of agent '{settings.Name}' is not in the provider/model form OpenCode needs (e.g. anthropic/claude-sonnet-4-5); --model omitted");
            }
        }

        if (AdapterSupport.Effort(settings, EffortLevels, "--variant", warnings) is { } effort)
        {
            args.AddRange(["--variant", effort]);
        }

        args.AddRange(settings.ExtraArgs);
        args.Add("--");
        args.AddRange(PromptWords(request.Prompt));
        AdapterSupport.WarnGenericOnlySettings(settings, warnings);

        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["OPENCODE_DISABLE_MODELS_FETCH"] = "1",
            ["OPENCODE_DISABLE_AUTOUPDATE"] = "1",
            ["OPENCODE_DISABLE_LSP_DOWNLOAD"] = "1",
        };
        var files = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [PackageJsonPath] = PackageJson,
            [PackageLockPath] = PackageLock,
            [NodeModulesPlaceholderPath] = "",
        };
        if (settings.ConfigFile is not null)
        {
            files[ConfigPath] = settings.ConfigFile;
            environment["OPENCODE_CONFIG"] = AdapterSupport.UnderHome(request, ConfigPath);
        }

        AdapterSupport.WarnOverriddenEnvironment(settings, environment, warnings);
        return new AgentInvocation(AdapterSupport.BinaryOf(settings), args, environment, files, warnings);
    }

    /// <summary>
    /// Reads the JSON lines. Failed when the exit code is not 0 or an <c>error</c> event was printed; a timeout kill
    /// is always a transient failure. Tokens in = Σ <c>part.tokens.input + cache.read + cache.write</c>, out =
    /// Σ <c>output + reasoning</c> (OpenCode reports them as disjoint parts of <c>total</c>), cost = Σ <c>part.cost</c>
    /// (USD), over the <c>step_finish</c> events; final message = the last <c>text</c> part. OpenCode prints no
    /// model: the configured one (or the <c>model</c> of the ConfigFile) is reported.
    /// </summary>
    /// <param name="settings">The agent.</param>
    /// <param name="outcome">The process outcome; non-JSON lines in stdout are ignored.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public AgentRunResult Parse(AgentSettings settings, ProcessOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(outcome);

        var output = JsonLines.Parse(outcome.Stdout);
        long? tokensIn = null;
        long? tokensOut = null;
        decimal? cost = null;
        string? sessionId = null;
        string? finalText = null;
        var errors = new List<JsonElement>();

        foreach (var line in output.Objects)
        {
            sessionId ??= line.String("sessionID") ?? line.String("part", "sessionID");
            switch (line.String("type"))
            {
                case "step_finish":
                    if (line.At("part", "tokens") is { ValueKind: JsonValueKind.Object } tokens)
                    {
                        tokensIn = (tokensIn ?? 0) + (tokens.Int64("input") ?? 0) + (tokens.Int64("cache", "read") ?? 0) + (tokens.Int64("cache", "write") ?? 0);
                        tokensOut = (tokensOut ?? 0) + (tokens.Int64("output") ?? 0) + (tokens.Int64("reasoning") ?? 0);
                    }

                    if (line.Decimal("part", "cost") is { } stepCost)
                    {
                        cost = (cost ?? 0) + stepCost;
                    }

                    break;
                case "text":
                    if (line.String("part", "text") is { } text && !string.IsNullOrWhiteSpace(text))
                    {
                        finalText = text;
                    }

                    break;
                case "error":
                    errors.Add(line.At("error") ?? line);
                    break;
            }
        }

        var failed = outcome.ExitCode != 0 || errors.Count > 0;
        var parsed = new AgentRunResult
        {
            ExitCode = outcome.ExitCode,
            IsError = failed,
            TokensIn = tokensIn,
            TokensOut = tokensOut,
            CostUsd = cost,
            Model = ConfiguredModel(settings),
            SessionId = sessionId,
            Duration = outcome.Duration,
            FinalMessage = finalText,
        };

        // The last error decides: earlier ones may have been retried by OpenCode itself.
        var last = errors.Count > 0 ? errors[^1] : (JsonElement?)null;
        var messages = new List<string>();
        if (last is { } error)
        {
            var name = error.String("name");
            var message = error.String("data", "message") ?? error.String("message");
            messages.Add(name is null ? message ?? "" : message is null ? name : $"{name}: {message}");
            if (error.String("data", "responseBody") is { } body)
            {
                messages.Add(body);
            }
        }

        var evidence = new AgentFailureEvidence
        {
            ExitCode = outcome.ExitCode,
            StatusCode = last?.Int64("data", "statusCode") is long status ? (int)status : null,
            Messages = messages,
            ResponseHeaders = last is { } e ? Headers(e) : new Dictionary<string, string>(),
            Stderr = outcome.Stderr ?? "",
            OtherOutput = output.OtherLines,
        };
        return AdapterSupport.Complete(settings, outcome, parsed, failed, evidence);
    }

    /// <summary>
    /// The prompt as the message arguments of <c>opencode run</c>: split at spaces, with number-like words kept
    /// together with a neighbour (see the class remarks). <c>string.Join(" ", words)</c> is the prompt again.
    /// </summary>
    /// <param name="prompt">The prompt.</param>
    /// <returns>At least one argument.</returns>
    public static IReadOnlyList<string> PromptWords(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var pieces = prompt.Split(' ');
        var words = new List<string>(pieces.Length);
        var glueNext = false;
        foreach (var piece in pieces)
        {
            if (glueNext)
            {
                words[^1] += " " + piece;
                glueNext = LooksLikeNumber(words[^1]);
                continue;
            }

            if (LooksLikeNumber(piece))
            {
                if (words.Count > 0)
                {
                    words[^1] += " " + piece;
                }
                else
                {
                    words.Add(piece);
                    glueNext = true;
                }

                continue;
            }

            words.Add(piece);
        }

        return words;
    }

    /// <summary>
    /// Whether yargs-parser would turn the argument into a number (its <c>isNumber</c>: hex, or a decimal with
    /// optional minus, fraction and exponent, not starting with <c>0</c> followed by a non-dot; numbers too big for
    /// a safe integer, which yargs leaves as text, are counted too).
    /// </summary>
    internal static bool LooksLikeNumber(string word) =>
        HexNumber().IsMatch(word) || (!LeadingZero().IsMatch(word) && DecimalNumber().IsMatch(word));

    private static string? ConfiguredModel(AgentSettings settings)
    {
        if (AdapterSupport.Trimmed(settings.Model) is { } model && ProviderSlashModel().IsMatch(model))
        {
            return model;
        }

        if (settings.ConfigFile is null)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(settings.ConfigFile, new JsonDocumentOptions
            {
                CommentHandling = JsonCommentHandling.Skip,
                AllowTrailingCommas = true,
            });
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.String("model") : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static Dictionary<string, string> Headers(JsonElement error)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (error.At("data", "responseHeaders") is { ValueKind: JsonValueKind.Object } raw)
        {
            foreach (var header in raw.EnumerateObject())
            {
                headers[header.Name] = header.Value.ValueKind switch
                {
                    JsonValueKind.String => header.Value.GetString() ?? "",
                    JsonValueKind.Number => header.Value.GetRawText(),
                    _ => header.Value.ToString(),
                };
            }
        }

        return headers;
    }

    // provider/model; the model part may itself contain slashes (openrouter/anthropic/claude-sonnet-4-5).
    [GeneratedRegex(@"^[^/\s]+/\S+$", RegexOptions.CultureInvariant)]
    private static partial Regex ProviderSlashModel();

    // yargs-parser's isNumber (https://github.com/yargs/yargs-parser/blob/main/lib/yargs-parser.ts), with 'E' too.
    [GeneratedRegex(@"^0x[0-9a-f]+$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex HexNumber();

    [GeneratedRegex(@"^0[^.]", RegexOptions.CultureInvariant)]
    private static partial Regex LeadingZero();

    [GeneratedRegex(@"^-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DecimalNumber();
}

using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Orchestrator.Shared.Configuration;

namespace Orchestrator.Shared.Agents;

/// <summary>
/// One entry of <c>ORCH_AGENTS_JSON</c> or a project's <c>agents</c> overrides, as written:
/// <c>{"name", "kind": "opencode|claude-code|codex|generic", "binary", "model", "effort", "extra_args": [],
/// "env": {"ANTHROPIC_API_KEY": "${ANTHROPIC_API_KEY}"}, "config_file", "arguments": [], "prompt_delivery":
/// "file|argument", "timeout": "30m", "stall_timeout": "5m"}</c>. <c>${VAR}</c> in <c>env</c> and
/// <c>config_file</c> is taken from the orchestrator's environment — the explicit way to hand one
/// credential to one agent.
/// </summary>
public sealed record AgentSpec
{
    /// <summary>Agent name.</summary>
    [JsonPropertyName("name")] public string? Name { get; init; }

    /// <summary>CLI family: <c>opencode</c>, <c>claude-code</c> (or <c>claude</c>), <c>codex</c>, <c>generic</c>.</summary>
    [JsonPropertyName("kind")] public string? Kind { get; init; }

    /// <summary>Executable path or name.</summary>
    [JsonPropertyName("binary")] public string? Binary { get; init; }

    /// <summary>Model.</summary>
    [JsonPropertyName("model")] public string? Model { get; init; }

    /// <summary>Reasoning effort.</summary>
    [JsonPropertyName("effort")] public string? Effort { get; init; }

    /// <summary>Extra CLI arguments.</summary>
    [JsonPropertyName("extra_args")] public IReadOnlyList<string>? ExtraArgs { get; init; }

    /// <summary>Environment handed to the agent (credentials, endpoints).</summary>
    [JsonPropertyName("env")] public IReadOnlyDictionary<string, string>? Env { get; init; }

    /// <summary>CLI config file content (opencode.json / config.toml).</summary>
    [JsonPropertyName("config_file")] public string? ConfigFile { get; init; }

    /// <summary>Generic: argument template.</summary>
    [JsonPropertyName("arguments")] public IReadOnlyList<string>? Arguments { get; init; }

    /// <summary>Generic: <c>file</c> or <c>argument</c>.</summary>
    [JsonPropertyName("prompt_delivery")] public string? PromptDelivery { get; init; }

    /// <summary>Wall-clock limit (duration).</summary>
    [JsonPropertyName("timeout")] public string? Timeout { get; init; }

    /// <summary>Stall limit (duration).</summary>
    [JsonPropertyName("stall_timeout")] public string? StallTimeout { get; init; }
}

/// <summary>
/// The configured agents, resolved per project: project override &gt; agent entry &gt; built-in
/// default. Invalid optional values are reported (<see cref="Resolve"/>'s warnings) and left out.
/// </summary>
public sealed partial class AgentCatalog
{
    private readonly Dictionary<string, AgentSpec> _agents;

    private AgentCatalog(Dictionary<string, AgentSpec> agents) => _agents = agents;

    /// <summary>Agent names.</summary>
    public IReadOnlyCollection<string> Names => _agents.Keys;

    /// <summary>Parses <c>ORCH_AGENTS_JSON</c> (a JSON array of <see cref="AgentSpec"/>); empty or null = no agents.</summary>
    /// <exception cref="SettingsException">Malformed JSON, a nameless or duplicate agent, or an unknown kind.</exception>
    public static AgentCatalog Parse(string? json)
    {
        var agents = new Dictionary<string, AgentSpec>(StringComparer.OrdinalIgnoreCase);
        if (string.IsNullOrWhiteSpace(json))
        {
            return new AgentCatalog(agents);
        }

        List<AgentSpec>? list;
        try
        {
            list = JsonSerializer.Deserialize<List<AgentSpec>>(json, new JsonSerializerOptions { AllowTrailingCommas = true, ReadCommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            throw new SettingsException($"ORCH_AGENTS_JSON is not a JSON array of agents: {ex.Message}");
        }

        var errors = new List<string>();
        foreach (var (spec, i) in (list ?? []).Select((s, i) => (s, i)))
        {
            if (string.IsNullOrWhiteSpace(spec.Name))
            {
                errors.Add($"ORCH_AGENTS_JSON[{i}].name is required");
                continue;
            }

            if (ParseKind(spec.Kind ?? spec.Name) is null)
            {
                errors.Add($"ORCH_AGENTS_JSON[{i}].kind '{spec.Kind}' is not one of opencode, claude-code, codex, generic");
            }

            if (!agents.TryAdd(spec.Name, spec))
            {
                errors.Add($"ORCH_AGENTS_JSON has two agents named '{spec.Name}'");
            }
        }

        if (errors.Count > 0)
        {
            throw new SettingsException("Invalid configuration:\n  - " + string.Join("\n  - ", errors));
        }

        return new AgentCatalog(agents);
    }

    /// <summary>
    /// The settings for <paramref name="name"/> with a project's overrides applied.
    /// </summary>
    /// <param name="name">Agent name.</param>
    /// <param name="projectOverride">The project's override for this agent, or <c>null</c>.</param>
    /// <param name="environment">Where <c>${VAR}</c> references are looked up (the orchestrator's environment).</param>
    /// <param name="warnings">Receives problems that were worked around.</param>
    /// <exception cref="KeyNotFoundException">No agent of that name is configured.</exception>
    public AgentSettings Resolve(string name, AgentSpec? projectOverride, Func<string, string?> environment, ICollection<string> warnings)
    {
        if (!_agents.TryGetValue(name, out var agent))
        {
            throw new KeyNotFoundException($"No agent named '{name}' is configured in ORCH_AGENTS_JSON (known: {string.Join(", ", _agents.Keys)}).");
        }

        var p = projectOverride ?? new AgentSpec();
        var kind = ParseKind(agent.Kind ?? agent.Name)!.Value;
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in (agent.Env ?? new Dictionary<string, string>()).Concat(p.Env ?? new Dictionary<string, string>()))
        {
            env[key] = Expand(value, environment, $"agent '{name}' env {key}", warnings);
        }

        var config = p.ConfigFile ?? agent.ConfigFile;
        return new AgentSettings
        {
            Name = agent.Name!,
            Kind = kind,
            Binary = p.Binary ?? agent.Binary,
            Model = p.Model ?? agent.Model,
            Effort = p.Effort ?? agent.Effort,
            ExtraArgs = [.. agent.ExtraArgs ?? [], .. p.ExtraArgs ?? []],
            Environment = env,
            ConfigFile = config is null ? null : Expand(config, environment, $"agent '{name}' config_file", warnings),
            ArgumentsTemplate = p.Arguments ?? agent.Arguments ?? [],
            PromptDelivery = (p.PromptDelivery ?? agent.PromptDelivery)?.ToLowerInvariant() switch
            {
                null or "file" => PromptDelivery.File,
                "argument" => PromptDelivery.Argument,
                var other => Warn(warnings, $"agent '{name}': prompt_delivery '{other}' is not file or argument; using file", PromptDelivery.File),
            },
            WallClockTimeout = Duration(p.Timeout ?? agent.Timeout, TimeSpan.FromMinutes(30), $"agent '{name}' timeout", warnings),
            StallTimeout = Duration(p.StallTimeout ?? agent.StallTimeout, TimeSpan.FromMinutes(5), $"agent '{name}' stall_timeout", warnings),
        };
    }

    /// <summary>Maps a kind name (or an agent name used as its kind) to <see cref="AgentKind"/>.</summary>
    public static AgentKind? ParseKind(string? kind) => kind?.Trim().ToLowerInvariant() switch
    {
        "opencode" => AgentKind.OpenCode,
        "claude" or "claude-code" or "claudecode" => AgentKind.ClaudeCode,
        "codex" => AgentKind.Codex,
        "generic" or "command" => AgentKind.Generic,
        _ => null,
    };

    private static T Warn<T>(ICollection<string> warnings, string warning, T value)
    {
        warnings.Add(warning);
        return value;
    }

    private static TimeSpan Duration(string? text, TimeSpan fallback, string what, ICollection<string> warnings)
    {
        if (text is null)
        {
            return fallback;
        }

        if (Durations.TryParse(text, out var d) && d > TimeSpan.Zero)
        {
            return d;
        }

        warnings.Add($"{what} '{text}' is not a duration like 30m; using {fallback.TotalMinutes:0}m");
        return fallback;
    }

    private static string Expand(string value, Func<string, string?> environment, string what, ICollection<string> warnings) =>
        Reference().Replace(value, m =>
        {
            var found = environment(m.Groups[1].Value);
            if (found is null)
            {
                warnings.Add($"{what}: ${{{m.Groups[1].Value}}} is not set in the orchestrator's environment");
                return "";
            }

            return found;
        });

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex Reference();
}

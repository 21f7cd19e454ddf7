using System.Text.RegularExpressions;

namespace Orchestrator.Shared.Agents.Adapters;

/// <summary>
/// Keeps credentials out of failure reasons and names the variables that hold them. A secret is the value of an
/// <see cref="AgentSettings.Environment"/> entry whose name looks secret (KEY, TOKEN, SECRET, PASSWORD, CREDENTIAL,
/// AUTH), a quoted <c>apiKey</c>/<c>token</c>/<c>secret</c>/<c>password</c> value in <see cref="AgentSettings.ConfigFile"/>,
/// or anything shaped like <c>sk-…</c> or <c>Bearer …</c>.
/// </summary>
internal static partial class SecretRedactor
{
    private const string Mask = "[redacted]";

    /// <summary><paramref name="text"/> with every secret replaced by <c>[redacted]</c>.</summary>
    public static string Redact(AgentSettings settings, string text)
    {
        var result = text;
        foreach (var secret in SecretValues(settings).OrderByDescending(s => s.Length))
        {
            result = result.Replace(secret, Mask, StringComparison.Ordinal);
        }

        result = SkToken().Replace(result, Mask);
        return BearerToken().Replace(result, "${scheme}" + Mask);
    }

    /// <summary>
    /// Names of the variables that carry the agent's credentials, in a stable order: secret-looking names of its
    /// Environment, then (Codex) the <c>env_key</c> values and (OpenCode) the <c>{env:NAME}</c> references of its ConfigFile.
    /// </summary>
    public static IReadOnlyList<string> CredentialNames(AgentSettings settings)
    {
        var names = settings.Environment.Keys
            .Where(k => SecretName().IsMatch(k))
            .Order(StringComparer.Ordinal)
            .ToList();
        var config = settings.ConfigFile ?? "";
        if (settings.Kind == AgentKind.Codex)
        {
            names.AddRange(CodexEnvKey().Matches(config).Select(m => m.Groups["name"].Value));
        }
        else if (settings.Kind == AgentKind.OpenCode)
        {
            names.AddRange(OpenCodeEnvReference().Matches(config).Select(m => m.Groups["name"].Value));
        }

        return names.Distinct(StringComparer.Ordinal).ToList();
    }

    private static IEnumerable<string> SecretValues(AgentSettings settings)
    {
        foreach (var (name, value) in settings.Environment)
        {
            if (SecretName().IsMatch(name) && value.Length >= 4)
            {
                yield return value;
            }
        }

        foreach (Match match in ConfigSecret().Matches(settings.ConfigFile ?? ""))
        {
            var value = match.Groups["value"].Value;
            if (value.Length >= 4)
            {
                yield return value;
            }
        }
    }

    [GeneratedRegex("KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretName();

    // JSON ("apiKey": "…") and TOML (api_key = "…") string values under secret-looking keys.
    [GeneratedRegex(@"[""']?[A-Za-z_]*(?:api[_-]?key|token|secret|password)[A-Za-z_]*[""']?\s*[:=]\s*[""'](?<value>[^""'\r\n]+)[""']", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ConfigSecret();

    [GeneratedRegex(@"\bsk-[A-Za-z0-9_\-]{4,}", RegexOptions.CultureInvariant)]
    private static partial Regex SkToken();

    [GeneratedRegex(@"(?<scheme>\bBearer\s+)[A-Za-z0-9._~+/=\-]{6,}", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex BearerToken();

    // https://github.com/openai/codex/blob/main/docs/config.md#model_providers
    [GeneratedRegex(@"(?m)^\s*env_key\s*=\s*[""'](?<name>[A-Za-z_][A-Za-z0-9_]*)[""']", RegexOptions.CultureInvariant)]
    private static partial Regex CodexEnvKey();

    // https://opencode.ai/docs/config/#variables
    [GeneratedRegex(@"\{env:(?<name>[A-Za-z_][A-Za-z0-9_]*)\}", RegexOptions.CultureInvariant)]
    private static partial Regex OpenCodeEnvReference();
}

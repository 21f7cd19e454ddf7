namespace Orchestrator.Tests.Integration.Agents;

/// <summary>
/// Where the real CLIs are: <c>ORCH_AGENTS_BIN</c>, else the bin dir <c>.ci/install-agents.sh</c> installs into
/// (<c>${ORCH_AGENTS_DIR:-$HOME/.cache/orchestrator-agents}/node_modules/.bin</c>).
/// </summary>
public static class AgentClis
{
    /// <summary>Environment variable naming the bin dir explicitly.</summary>
    public const string BinVariable = "ORCH_AGENTS_BIN";

    /// <summary>The bin dir the tests use.</summary>
    public static string BinDirectory
    {
        get
        {
            if (Environment.GetEnvironmentVariable(BinVariable) is { Length: > 0 } bin)
            {
                return bin;
            }

            var dir = Environment.GetEnvironmentVariable("ORCH_AGENTS_DIR") is { Length: > 0 } d
                ? d
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "orchestrator-agents");
            return Path.Combine(dir, "node_modules", ".bin");
        }
    }

    /// <summary>The absolute path of <paramref name="name"/>; fails the test (never skips) when it is missing.</summary>
    public static string Require(string name)
    {
        var path = Path.Combine(BinDirectory, name);
        if (!File.Exists(path))
        {
            Assert.Fail(
                $"The real '{name}' CLI is not installed at {path}. Run `bash .ci/install-agents.sh` (it installs the pinned " +
                $"OpenCode, Claude Code and Codex and prints the bin dir), or set {BinVariable} to a dir holding opencode, claude and codex.");
        }

        return path;
    }
}

/// <summary>The command lines, configs and environments that run each real CLI headless against a local model server.</summary>
public sealed partial class CliSandbox
{
    /// <summary>The variable that carries the model API key to OpenCode (<c>{env:…}</c> in its config) and Codex (<c>env_key</c>).</summary>
    public const string ApiKeyVariable = "SCRIPTED_MODEL_API_KEY";

    /// <summary>
    /// Claude Code: <c>claude -p PROMPT --output-format json --permission-mode acceptEdits --model MODEL</c> with
    /// <c>ANTHROPIC_BASE_URL</c> / <c>ANTHROPIC_API_KEY</c> (sent as <c>x-api-key</c>), retries off
    /// (<c>CLAUDE_CODE_MAX_RETRIES=0</c>) and every non-essential call off.
    /// </summary>
    public CliCommand ClaudeCommand(string anthropicBaseUrl, string apiKey, string prompt, string model = "claude-sonnet-4-5")
    {
        var environment = BaseEnvironment(AgentClis.BinDirectory);
        environment["ANTHROPIC_BASE_URL"] = anthropicBaseUrl;
        environment["ANTHROPIC_API_KEY"] = apiKey;
        environment["CLAUDE_CODE_MAX_RETRIES"] = "0";
        // Telemetry, error reporting, auto-update and the other background calls (one switch covers them all;
        // the specific ones are set too so a partial rename upstream still keeps us offline).
        environment["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1";
        environment["DISABLE_AUTOUPDATER"] = "1";
        environment["DISABLE_TELEMETRY"] = "1";
        environment["DISABLE_ERROR_REPORTING"] = "1";
        return new CliCommand(
            AgentClis.Require("claude"),
            ["-p", prompt, "--output-format", "json", "--permission-mode", "acceptEdits", "--model", model],
            environment);
    }

    /// <summary>
    /// OpenCode: <c>opencode run --pure --format json --model scripted/MODEL PROMPT</c> with an
    /// <c>opencode.json</c> (passed by <c>OPENCODE_CONFIG</c>) declaring an <c>@ai-sdk/openai-compatible</c>
    /// provider at <paramref name="openAiBaseUrl"/>; the key comes from <see cref="ApiKeyVariable"/>. The model
    /// declares a price (3 / 15 USD per million input / output tokens) so <c>step_finish.cost</c> is non-zero.
    /// </summary>
    public CliCommand OpenCodeCommand(string openAiBaseUrl, string apiKey, string prompt, string model = "scripted-model")
    {
        var config = $$"""
            {
              "$schema": "https://opencode.ai/config.json",
              "provider": {
                "scripted": {
                  "npm": "@ai-sdk/openai-compatible",
                  "name": "Scripted local model",
                  "options": { "baseURL": "{{openAiBaseUrl}}", "apiKey": "{env:{{ApiKeyVariable}}}" },
                  "models": {
                    "{{model}}": {
                      "name": "Scripted Model",
                      "tool_call": true,
                      "cost": { "input": 3, "output": 15 },
                      "limit": { "context": 200000, "output": 32000 }
                    }
                  }
                }
              },
              "model": "scripted/{{model}}",
              "small_model": "scripted/{{model}}",
              "autoupdate": false,
              "share": "disabled"
            }
            """;
        SeedOpenCodeConfigDirectory();
        var environment = BaseEnvironment(AgentClis.BinDirectory);
        environment["OPENCODE_CONFIG"] = WriteHomeFile("opencode.json", config);
        environment[ApiKeyVariable] = apiKey;
        environment["OPENCODE_DISABLE_AUTOUPDATE"] = "1";
        environment["OPENCODE_DISABLE_MODELS_FETCH"] = "1";
        environment["OPENCODE_DISABLE_LSP_DOWNLOAD"] = "1";
        environment["OPENCODE_DISABLE_SHARE"] = "1";
        return new CliCommand(
            AgentClis.Require("opencode"),
            ["run", "--pure", "--format", "json", "--model", $"scripted/{model}", prompt],
            environment);
    }

    /// <summary>
    /// OpenCode 1.18 installs <c>@opencode-ai/plugin</c> from the npm registry into every config directory
    /// (<c>$XDG_CONFIG_HOME/opencode</c>) at start-up, in the background, even with <c>--pure</c> — network
    /// traffic to registry.npmjs.org and seconds of start-up. Its installer skips a directory whose
    /// <c>node_modules/</c> exists and whose <c>package-lock.json</c> already lists every dependency of
    /// <c>package.json</c> plus the plugin package, so we lay those down (empty <c>node_modules</c>: nothing
    /// loads the plugin package when no plugin or custom tool is configured).
    /// </summary>
    private void SeedOpenCodeConfigDirectory()
    {
        const string dependencies = """{ "@opencode-ai/plugin": "1.18.33" }""";
        WriteHomeFile(Path.Combine(".config", "opencode", "package.json"), $$"""{ "dependencies": {{dependencies}} }""" + "\n");
        WriteHomeFile(
            Path.Combine(".config", "opencode", "package-lock.json"),
            $$"""{ "lockfileVersion": 3, "packages": { "": { "dependencies": {{dependencies}} } } }""" + "\n");
        Directory.CreateDirectory(Path.Combine(HomeDirectory, ".config", "opencode", "node_modules"));
    }

    /// <summary>
    /// Codex: <c>codex exec --json PROMPT</c> with <c>$CODEX_HOME/config.toml</c> selecting a provider at
    /// <paramref name="openAiBaseUrl"/> with <c>wire_api = "responses"</c>, the key in <see cref="ApiKeyVariable"/>,
    /// approvals never, the workspace-write sandbox, retries set to 0, analytics and the update check off, and
    /// the features that reach the internet switched off (<c>plugins</c>: a <c>git ls-remote</c> of
    /// github.com/openai/plugins plus api.github.com / chatgpt.com fallbacks at start-up; <c>remote_plugin</c>;
    /// <c>apps</c>). <paramref name="unboundedConnectionRetries"/> is the <c>unbounded_connection_retries</c>
    /// feature (on by default): on, a refused connection is retried forever whatever the retry settings; off,
    /// the turn fails at once.
    /// </summary>
    public CliCommand CodexCommand(string openAiBaseUrl, string apiKey, string prompt, string model = "scripted-model", bool unboundedConnectionRetries = true)
    {
        var codexHome = Path.Combine(HomeDirectory, ".codex");
        var config = $"""
            model = "{model}"
            model_provider = "scripted"
            approval_policy = "never"
            sandbox_mode = "workspace-write"
            check_for_update_on_startup = false

            [analytics]
            enabled = false

            [features]
            plugins = false
            remote_plugin = false
            apps = false
            unbounded_connection_retries = {(unboundedConnectionRetries ? "true" : "false")}

            [model_providers.scripted]
            name = "Scripted local model"
            base_url = "{openAiBaseUrl}"
            env_key = "{ApiKeyVariable}"
            wire_api = "responses"
            request_max_retries = 0
            stream_max_retries = 0
            """;
        WriteHomeFile(Path.Combine(".codex", "config.toml"), config + "\n");
        var environment = BaseEnvironment(AgentClis.BinDirectory);
        environment["CODEX_HOME"] = codexHome;
        environment[ApiKeyVariable] = apiKey;
        return new CliCommand(AgentClis.Require("codex"), ["exec", "--json", prompt], environment);
    }
}

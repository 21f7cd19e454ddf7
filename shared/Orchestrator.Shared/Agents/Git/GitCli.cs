using System.Diagnostics;
using System.Text;

namespace Orchestrator.Shared.Agents.Git;

/// <summary>A git command that failed (non-zero exit code).</summary>
/// <remarks>The message, <see cref="Stderr"/> and <see cref="Command"/> never hold the token: it is masked as <c>***</c>.</remarks>
public sealed class GitCommandException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="command">The command line, e.g. <c>git fetch --prune origin …</c> (for reading, not for a shell).</param>
    /// <param name="exitCode">git's exit code.</param>
    /// <param name="stderr">git's standard error, trimmed, token masked.</param>
    public GitCommandException(string command, int exitCode, string stderr)
        : base($"{command} failed with exit code {exitCode}: {(stderr.Length == 0 ? "(no output)" : stderr)}")
    {
        Command = command;
        ExitCode = exitCode;
        Stderr = stderr;
    }

    /// <summary>The command line, for reading.</summary>
    public string Command { get; }

    /// <summary>git's exit code.</summary>
    public int ExitCode { get; }

    /// <summary>git's standard error, trimmed, token masked.</summary>
    public string Stderr { get; }
}

/// <summary>What one git command printed.</summary>
/// <param name="ExitCode">Exit code.</param>
/// <param name="Stdout">Standard output (token masked).</param>
/// <param name="Stderr">Standard error, trimmed (token masked).</param>
internal sealed record GitResult(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// Runs the git CLI: an argument list (never a shell), stdin closed, and an environment built from an
/// allow-list so that the orchestrator's secrets do not reach git, its hooks or its helpers.
/// </summary>
internal static class GitCli
{
    /// <summary>Variables passed through from this process: finding git, its global config, proxies, CAs.</summary>
    private static readonly string[] PassThrough =
    [
        "PATH", "HOME",
        "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_SSL_CAINFO", "CURL_CA_BUNDLE",
    ];

    /// <summary>
    /// Configuration given to every call through <c>GIT_CONFIG_COUNT</c>/<c>GIT_CONFIG_KEY_n</c>/<c>GIT_CONFIG_VALUE_n</c>
    /// (https://git-scm.com/docs/git-config#Documentation/git-config.txt-GITCONFIGCOUNT): no hooks and no
    /// fsmonitor, so that files an agent writes into a worktree or the mirror cannot run code in our calls.
    /// </summary>
    private static readonly (string Key, string Value)[] Hardening =
    [
        ("core.hooksPath", "/dev/null"),
        ("core.fsmonitor", "false"),

        // Transports: https/http (checked and pinned by the outbound policy) and local paths (allowed by it only with
        // loopback); never ssh, git:// or ext:: (https://git-scm.com/docs/git-config#Documentation/git-config.txt-protocolallow).
        ("protocol.allow", "never"),
        ("protocol.https.allow", "always"),
        ("protocol.http.allow", "always"),
        ("protocol.file.allow", "always"),

        // The auth header must not follow a redirect to another host, and the checked address is the one git talks to.
        ("http.followRedirects", "false"),
    ];

    /// <summary>Runs <c>git args…</c> in <paramref name="directory"/>.</summary>
    /// <param name="directory">Working directory (<c>null</c>: the current one).</param>
    /// <param name="arguments">Arguments after <c>git</c>.</param>
    /// <param name="token">Token sent as <c>http.extraHeader</c> (Basic, user <c>x-access-token</c>), or <c>null</c>.</param>
    /// <param name="check">Throw <see cref="GitCommandException"/> on a non-zero exit code.</param>
    /// <param name="cancellationToken">Kills git and throws.</param>
    /// <param name="extraConfig">More configuration for this call (e.g. the outbound policy's <c>http.curloptResolve</c> pin).</param>
    public static async Task<GitResult> RunAsync(
        string? directory,
        IReadOnlyList<string> arguments,
        string? token,
        bool check,
        CancellationToken cancellationToken,
        IReadOnlyList<(string Key, string Value)>? extraConfig = null)
    {
        var startInfo = new ProcessStartInfo("git")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (directory is not null)
        {
            startInfo.WorkingDirectory = directory;
        }

        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment.Clear();
        foreach (var (name, value) in Environment(token, extraConfig))
        {
            startInfo.Environment[name] = value;
        }

        using var process = new Process { StartInfo = startInfo };
        process.Start();
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }

            throw;
        }

        var result = new GitResult(
            process.ExitCode,
            Mask(await stdout.ConfigureAwait(false), token),
            Mask(await stderr.ConfigureAwait(false), token).Trim());
        if (check && result.ExitCode != 0)
        {
            throw new GitCommandException(Mask("git " + string.Join(' ', arguments), token), result.ExitCode, result.Stderr);
        }

        return result;
    }

    /// <summary>The environment of one git call: the allow-list, fixed settings, hardening and the optional auth header.</summary>
    internal static Dictionary<string, string> Environment(string? token, IReadOnlyList<(string Key, string Value)>? extraConfig = null)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in PassThrough)
        {
            if (System.Environment.GetEnvironmentVariable(name) is { } value)
            {
                environment[name] = value;
            }
        }

        environment["LC_ALL"] = "C";
        environment["GIT_TERMINAL_PROMPT"] = "0";

        var config = new List<(string Key, string Value)>(Hardening);
        config.AddRange(extraConfig ?? []);
        if (!string.IsNullOrEmpty(token))
        {
            config.Add(("http.extraHeader", "Authorization: Basic " + BasicCredential(token)));
        }

        environment["GIT_CONFIG_COUNT"] = config.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < config.Count; i++)
        {
            environment[$"GIT_CONFIG_KEY_{i}"] = config[i].Key;
            environment[$"GIT_CONFIG_VALUE_{i}"] = config[i].Value;
        }

        return environment;
    }

    /// <summary><c>base64("x-access-token:" + token)</c>, the form GitHub documents for installation tokens over HTTPS.</summary>
    internal static string BasicCredential(string token) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes("x-access-token:" + token));

    /// <summary>Replaces the token and its Basic form with <c>***</c>.</summary>
    internal static string Mask(string text, string? token)
    {
        if (string.IsNullOrEmpty(token) || string.IsNullOrEmpty(text))
        {
            return text;
        }

        return text
            .Replace(BasicCredential(token), "***", StringComparison.Ordinal)
            .Replace(token, "***", StringComparison.Ordinal);
    }
}

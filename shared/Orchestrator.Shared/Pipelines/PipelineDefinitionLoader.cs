using System.Globalization;
using System.Reflection;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Shared.Configuration;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Shared.Pipelines;

/// <summary>The outcome of <see cref="PipelineDefinitionLoader.Load"/>.</summary>
/// <param name="Definition">The definition when valid, else <c>null</c>.</param>
/// <param name="Errors">Every problem found (with its line), in file order; empty when valid.</param>
public sealed record PipelineLoadResult(PipelineDefinition? Definition, IReadOnlyList<string> Errors)
{
    /// <summary>Whether the file was valid.</summary>
    public bool IsValid => Errors.Count == 0 && Definition is not null;

    /// <summary>All errors as one message (one per line), for a task comment or a log.</summary>
    public string Describe() => IsValid
        ? "valid"
        : $"{PipelineDefinitionLoader.RepositoryPath} is invalid:\n" + string.Join("\n", Errors.Select(e => $"- {e}"));
}

/// <summary>
/// Parses a repository's <c>.orchestrator/pipeline.yml</c> into a <see cref="PipelineDefinition"/>,
/// reporting every problem at once.
/// </summary>
/// <remarks>
/// <para>Schema (every key optional; unknown keys are errors; the shipped
/// <c>Pipelines/Defaults/pipeline.yml</c> is the default and documents each key):</para>
/// <code>
/// version: 1                       # only 1
/// default_agent: opencode          # agent of stages without agent: (default opencode)
/// max_developer_rounds: 3          # integer ≥ 1
/// artifacts_root: docs/work-items  # relative folder; artifacts go to &lt;root&gt;/&lt;PREFIX-N&gt;/
/// budget:                          # USD, ≥ 0; absent = unlimited
///   task_usd: 5
///   project_usd: 200
/// approval:                        # absent (or null / false) = no human gate
///   after: analysis                # a listed stage (default analysis)
///   approved_state: Approved       # tracker state names, must differ
///   rejected_state: Rejected
///   poll_interval: 5m              # &gt; 0 (30s, 5m, 1h30m …)
/// ci:
///   poll_interval: 30s             # &gt; 0
///   timeout: 1h                    # &gt; 0
/// stages:                          # absent = all six with defaults; a subsequence of the fixed order
///   - analysis                     # a bare name takes every default
///   - name: development            # analysis | architecture | development | review | testing | deploy (| done, last, no keys)
///     agent: claude                # required unless default_agent is set
///     prompt: .orchestrator/agents/developer.md
///     artifacts: []                # relative to the work-item dir; trailing / = directory (≥ 1 file)
///     requires_ci: true
///     verdict_artifact: 12-review.md   # review/testing/deploy only; one of artifacts
///     opens_pr: true               # ensure the PR after the push; default true for development and later
///                                  # stages, false for analysis/architecture (they push to the branch only)
/// </code>
/// <para>Validation: unknown or duplicate stages, stages out of order, a stage without agent, an agent
/// not in the configured list (when given), <c>max_developer_rounds</c> &lt; 1, a negative budget, bad
/// durations, absolute or <c>..</c> artifact paths, a verdict stage without its verdict artifact, review /
/// testing / deploy without development to roll back to, an approval gate after an unlisted stage,
/// <c>opens_pr: false</c> on a stage after one that opens the PR (the PR is open by then and every push updates it).</para>
/// </remarks>
public static class PipelineDefinitionLoader
{
    /// <summary>Where a repository keeps its pipeline.</summary>
    public const string RepositoryPath = ".orchestrator/pipeline.yml";

    private static readonly string[] TopKeys =
        ["version", "default_agent", "max_developer_rounds", "artifacts_root", "budget", "approval", "ci", "stages"];

    private static readonly string[] StageKeys = ["name", "agent", "prompt", "artifacts", "requires_ci", "verdict_artifact", "opens_pr"];

    /// <summary>The shipped default pipeline file (embedded <c>Pipelines/Defaults/pipeline.yml</c>).</summary>
    public static string DefaultYaml { get; } = ReadResource("Pipelines.Defaults.pipeline.yml");

    /// <summary>
    /// The repository's pipeline, or <see cref="PipelineDefinition.Default"/> when the file is absent
    /// (<c>null</c>) or blank.
    /// </summary>
    /// <param name="yaml">File content, or <c>null</c> when the repository has no such file.</param>
    /// <param name="knownAgents">Configured agent names; when given, other names are errors.</param>
    public static PipelineLoadResult LoadOrDefault(string? yaml, IEnumerable<string>? knownAgents = null) =>
        string.IsNullOrWhiteSpace(yaml) ? new PipelineLoadResult(PipelineDefinition.Default, []) : Load(yaml, knownAgents);

    /// <summary>Parses and validates a pipeline file; a blank file is all defaults.</summary>
    /// <param name="yaml">File content.</param>
    /// <param name="knownAgents">Configured agent names (compared case-sensitively, as configured); when given, other names are errors.</param>
    public static PipelineLoadResult Load(string yaml, IEnumerable<string>? knownAgents = null)
    {
        var errors = new List<(long Line, string Text)>();
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml ?? ""));
        }
        catch (YamlException ex)
        {
            return new PipelineLoadResult(null, [$"line {ex.Start.Line}: invalid YAML: {Sentence(ex)}"]);
        }

        YamlMappingNode root;
        if (stream.Documents.Count == 0 || IsNull(stream.Documents[0].RootNode))
        {
            root = new YamlMappingNode();
        }
        else if (stream.Documents[0].RootNode is YamlMappingNode map)
        {
            root = map;
        }
        else
        {
            return new PipelineLoadResult(null, [$"line {stream.Documents[0].RootNode.Start.Line}: the file must be a mapping of settings (key: value)"]);
        }

        var known = knownAgents?.ToHashSet(StringComparer.Ordinal);
        var p = new Parser(errors);
        p.CheckKeys(root, TopKeys, "top level");

        if (p.Get(root, "version") is { } versionNode && p.Scalar(versionNode, "version") is { } version && version != "1")
        {
            p.Error(versionNode, $"version must be 1 (got '{version}')");
        }

        var defaultAgentNode = p.Get(root, "default_agent");
        var defaultAgent = defaultAgentNode is not null ? p.Scalar(defaultAgentNode, "default_agent") : PipelineDefinition.DefaultAgent;
        if (defaultAgentNode is not null && defaultAgent is not null && known is not null && !known.Contains(defaultAgent))
        {
            p.Error(defaultAgentNode, $"default_agent '{defaultAgent}' is not a configured agent ({Known(known)})");
        }

        var maxRounds = PipelineDefinition.DefaultMaxDeveloperRounds;
        if (p.Get(root, "max_developer_rounds") is { } mr && p.Scalar(mr, "max_developer_rounds") is { } mrText)
        {
            if (!int.TryParse(mrText, NumberStyles.Integer, CultureInfo.InvariantCulture, out maxRounds) || maxRounds < 1)
            {
                p.Error(mr, $"max_developer_rounds must be an integer ≥ 1 (got '{mrText}')");
            }
        }

        var artifactsRoot = PipelineDefinition.DefaultArtifactsRoot;
        if (p.Get(root, "artifacts_root") is { } ar && p.Scalar(ar, "artifacts_root") is { } arText)
        {
            if (p.RelativePath(ar, arText.TrimEnd('/'), "artifacts_root") is { } okRoot)
            {
                artifactsRoot = okRoot;
            }
        }

        decimal? taskBudget = null;
        decimal? projectBudget = null;
        if (p.Get(root, "budget") is { } budgetNode && !IsNull(budgetNode))
        {
            if (p.Mapping(budgetNode, "budget") is { } budget)
            {
                p.CheckKeys(budget, ["task_usd", "project_usd"], "budget");
                taskBudget = p.Money(budget, "task_usd");
                projectBudget = p.Money(budget, "project_usd");
            }
        }

        var ci = PipelineDefinition.DefaultCi;
        if (p.Get(root, "ci") is { } ciNode && !IsNull(ciNode) && p.Mapping(ciNode, "ci") is { } ciMap)
        {
            p.CheckKeys(ciMap, ["poll_interval", "timeout"], "ci");
            ci = new CiPolicy(
                p.Duration(ciMap, "poll_interval", "ci.poll_interval") ?? ci.PollInterval,
                p.Duration(ciMap, "timeout", "ci.timeout") ?? ci.Timeout);
        }

        var explicitStages = p.Get(root, "stages") is { } stagesNode && !IsNull(stagesNode);
        var usesDefaultAgent = !explicitStages;
        var stages = explicitStages
            ? ParseStages(p, p.Get(root, "stages")!, defaultAgent, known, out usesDefaultAgent)
            : defaultAgent is null ? [] : [.. PipelineStages.Ordered.Select(s => StageDefinition.For(s, defaultAgent))];
        if (defaultAgentNode is null && known is not null && !known.Contains(PipelineDefinition.DefaultAgent)
            && usesDefaultAgent)
        {
            // Reported without a line: the built-in default is not written anywhere in the file.
            p.Error(root, $"stages without agent: use the built-in default agent '{PipelineDefinition.DefaultAgent}', which is not a configured agent ({Known(known)}); set default_agent: or agent: on each stage", line: false);
        }

        ApprovalGate? approval = null;
        if (p.Get(root, "approval") is { } approvalNode && !IsNull(approvalNode) && !IsFalse(approvalNode)
            && p.Mapping(approvalNode, "approval") is { } am)
        {
            p.CheckKeys(am, ["after", "approved_state", "rejected_state", "poll_interval"], "approval");
            var after = p.Get(am, "after") is { } an ? p.Scalar(an, "approval.after") : PipelineStages.Analysis;
            var approved = p.Get(am, "approved_state") is { } apn ? p.Scalar(apn, "approval.approved_state") : "Approved";
            var rejected = p.Get(am, "rejected_state") is { } rn ? p.Scalar(rn, "approval.rejected_state") : "Rejected";
            var poll = p.Duration(am, "poll_interval", "approval.poll_interval") ?? TimeSpan.FromMinutes(5);
            if (after is not null && stages.All(s => s.Name != after))
            {
                p.Error(p.Get(am, "after") ?? am, $"approval.after '{after}' is not a stage of this pipeline ({string.Join(", ", stages.Select(s => s.Name))})");
            }

            if (approved is not null && rejected is not null && string.Equals(approved, rejected, StringComparison.OrdinalIgnoreCase))
            {
                p.Error(am, $"approval.approved_state and approval.rejected_state must differ (both '{approved}')");
            }

            if (after is not null && approved is not null && rejected is not null)
            {
                approval = new ApprovalGate(after, approved, rejected, poll);
            }
        }

        if (errors.Count > 0)
        {
            // File order; problems of the whole file (no line) last. OrderBy is stable.
            return new PipelineLoadResult(null, [.. errors.OrderBy(e => e.Line <= 0 ? long.MaxValue : e.Line).Select(e => e.Text)]);
        }

        return new PipelineLoadResult(
            new PipelineDefinition(stages, maxRounds, approval, ci, taskBudget, projectBudget, artifactsRoot),
            []);
    }

    private static List<StageDefinition> ParseStages(Parser p, YamlNode node, string? defaultAgent, HashSet<string>? known, out bool usesDefaultAgent)
    {
        usesDefaultAgent = false;
        var result = new List<StageDefinition>();
        if (node is not YamlSequenceNode seq)
        {
            p.Error(node, "stages must be a list");
            return result;
        }

        if (seq.Children.Count == 0)
        {
            p.Error(node, "stages must list at least one stage");
            return result;
        }

        var lastIndex = -1;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? opener = null;
        for (var i = 0; i < seq.Children.Count; i++)
        {
            var item = seq.Children[i];
            var map = item as YamlMappingNode;
            string? name;
            if (item is YamlScalarNode)
            {
                name = p.Scalar(item, "stage name");
            }
            else if (map is not null)
            {
                p.CheckKeys(map, StageKeys, "stage");
                name = p.Get(map, "name") is { } nn ? p.Scalar(nn, "stage name") : null;
                if (name is null && p.Get(map, "name") is null)
                {
                    p.Error(map, "stage without a name");
                }
            }
            else
            {
                p.Error(item, "a stage must be a name or a mapping with name:");
                continue;
            }

            if (name is null)
            {
                continue;
            }

            if (name == PipelineStages.Done)
            {
                if (i != seq.Children.Count - 1)
                {
                    p.Error(item, "'done' can only be the last entry (it is where the pipeline ends)");
                }
                else if (map is not null && map.Children.Count > 1)
                {
                    p.Error(item, "'done' takes no settings (it runs no agent)");
                }

                continue;
            }

            var index = PipelineStages.IndexOf(name);
            if (index < 0)
            {
                p.Error(item, $"unknown stage '{name}' (known: {string.Join(", ", PipelineStages.Ordered)}, done)");
                continue;
            }

            if (!seen.Add(name))
            {
                p.Error(item, $"stage '{name}' is listed more than once");
                continue;
            }

            if (index < lastIndex)
            {
                p.Error(item, $"stage '{name}' is out of order: stages run as {string.Join(" → ", PipelineStages.Ordered)}");
            }

            lastIndex = Math.Max(lastIndex, index);
            var stage = StageDefinition.For(name, defaultAgent ?? "");
            if (map is not null)
            {
                stage = ParseStage(p, map, stage);
            }

            if (string.IsNullOrWhiteSpace(stage.Agent))
            {
                p.Error(item, $"stage '{name}' has no agent (set agent: on the stage or default_agent:)");
            }
            else if (map is null || p.Get(map, "agent") is null)
            {
                usesDefaultAgent = true;
            }
            else if (known is not null && !known.Contains(stage.Agent))
            {
                p.Error(p.Get(map, "agent")!, $"stage '{name}': agent '{stage.Agent}' is not a configured agent ({Known(known)})");
            }

            if (stage.Gate != GateKind.Artifacts && stage.VerdictArtifact is null)
            {
                p.Error(item, $"stage '{name}' needs a verdict_artifact (the file whose front matter holds its verdict)");
            }

            // Same rule as PipelineDefinition.OpensPr: once a stage opened the PR, later stages keep it.
            if (opener is not null && stage.OpensPr == false)
            {
                p.Error(p.Get(map!, "opens_pr")!, $"stage '{name}': opens_pr: false has no effect after {opener}, which opens the pull request (every later push updates it)");
            }
            else if (opener is null && (stage.OpensPr ?? PipelineStages.DefaultOpensPr(name)))
            {
                opener = name;
            }

            result.Add(stage);
        }

        var names = result.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var rollers = result.Where(s => s.Gate != GateKind.Artifacts).Select(s => s.Name).ToList();
        if (rollers.Count > 0 && !names.Contains(PipelineStages.Development))
        {
            p.Error(node, $"development is missing, but {string.Join(", ", rollers)} roll back to it on a negative verdict");
        }

        return result;
    }

    private static StageDefinition ParseStage(Parser p, YamlMappingNode map, StageDefinition stage)
    {
        var name = stage.Name;
        if (p.Get(map, "agent") is { } an && p.Scalar(an, $"stages.{name}.agent") is { } agent)
        {
            stage = stage with { Agent = agent };
        }

        if (p.Get(map, "prompt") is { } pn && p.Scalar(pn, $"stages.{name}.prompt") is { } prompt
            && p.RelativePath(pn, prompt, $"stages.{name}.prompt") is { } okPrompt)
        {
            stage = stage with { PromptPath = okPrompt };
        }

        if (p.Get(map, "artifacts") is { } artNode)
        {
            if (IsNull(artNode))
            {
                stage = stage with { Artifacts = [] };
            }
            else if (artNode is YamlSequenceNode artSeq)
            {
                var artifacts = new List<string>();
                foreach (var a in artSeq.Children)
                {
                    if (p.Scalar(a, $"stages.{name}.artifacts") is { } path && p.RelativePath(a, path, $"stages.{name}.artifacts") is { } ok)
                    {
                        if (artifacts.Contains(ok))
                        {
                            p.Error(a, $"stages.{name}.artifacts lists '{ok}' twice");
                        }
                        else
                        {
                            artifacts.Add(ok);
                        }
                    }
                }

                stage = stage with { Artifacts = artifacts };
            }
            else
            {
                p.Error(artNode, $"stages.{name}.artifacts must be a list of paths");
            }
        }

        if (p.Get(map, "requires_ci") is { } rc && p.Scalar(rc, $"stages.{name}.requires_ci") is { } rcText)
        {
            if (bool.TryParse(rcText, out var requiresCi))
            {
                stage = stage with { RequiresCi = requiresCi };
            }
            else
            {
                p.Error(rc, $"stages.{name}.requires_ci must be true or false (got '{rcText}')");
            }
        }

        if (p.Get(map, "opens_pr") is { } op && p.Scalar(op, $"stages.{name}.opens_pr") is { } opText)
        {
            if (bool.TryParse(opText, out var opensPr))
            {
                stage = stage with { OpensPr = opensPr };
            }
            else
            {
                p.Error(op, $"stages.{name}.opens_pr must be true or false (got '{opText}')");
            }
        }

        var verdictNode = p.Get(map, "verdict_artifact");
        if (verdictNode is not null && p.Scalar(verdictNode, $"stages.{name}.verdict_artifact") is { } verdict)
        {
            if (stage.Gate == GateKind.Artifacts)
            {
                p.Error(verdictNode, $"stage '{name}' reads no verdict; remove verdict_artifact");
            }
            else
            {
                stage = stage with { VerdictArtifact = verdict };
            }
        }

        if (stage.VerdictArtifact is { } v && !stage.Artifacts.Contains(v))
        {
            if (verdictNode is null && stage.Artifacts.Count > 0)
            {
                // Artifacts were changed but the verdict file was not named: the first artifact holds it.
                stage = stage with { VerdictArtifact = stage.Artifacts[0] };
            }
            else
            {
                p.Error(verdictNode ?? map, $"stage '{name}': verdict_artifact '{v}' must be one of its artifacts");
            }
        }

        return stage;
    }

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: not (ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted) } s
        && (string.IsNullOrWhiteSpace(s.Value) || s.Value is "~" || string.Equals(s.Value, "null", StringComparison.OrdinalIgnoreCase));

    private static bool IsFalse(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain } s && string.Equals(s.Value, "false", StringComparison.OrdinalIgnoreCase);

    private static string Known(HashSet<string> known) =>
        known.Count == 0 ? "none configured" : "configured: " + string.Join(", ", known.Order(StringComparer.Ordinal));

    private static string Sentence(YamlException ex)
    {
        var message = ex.InnerException?.Message ?? ex.Message;
        var cut = message.LastIndexOf("): ", StringComparison.Ordinal);
        return cut >= 0 ? message[(cut + 3)..] : message;
    }

    private static string ReadResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded resource '{name}' is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Node helpers that record errors with line numbers instead of throwing.</summary>
    private sealed class Parser(List<(long Line, string Text)> errors)
    {
        public void Error(YamlNode node, string message, bool line = true) =>
            errors.Add(line && node.Start.Line > 0 ? (node.Start.Line, $"line {node.Start.Line}: {message}") : (0, message));

        public YamlNode? Get(YamlMappingNode map, string key)
        {
            foreach (var (k, v) in map.Children)
            {
                if (k is YamlScalarNode { Value: { } name } && name == key)
                {
                    return v;
                }
            }

            return null;
        }

        public void CheckKeys(YamlMappingNode map, string[] allowed, string where)
        {
            foreach (var (k, _) in map.Children)
            {
                var name = (k as YamlScalarNode)?.Value ?? "?";
                if (!allowed.Contains(name))
                {
                    Error(k, $"unknown key '{name}' in {where} (allowed: {string.Join(", ", allowed)})");
                }
            }
        }

        public string? Scalar(YamlNode node, string what)
        {
            if (node is YamlScalarNode s && !IsNull(s) && !string.IsNullOrWhiteSpace(s.Value))
            {
                return s.Value.Trim();
            }

            Error(node, $"{what} must be a single non-empty value");
            return null;
        }

        public YamlMappingNode? Mapping(YamlNode node, string what)
        {
            if (node is YamlMappingNode m)
            {
                return m;
            }

            Error(node, $"{what} must be a mapping (key: value)");
            return null;
        }

        public decimal? Money(YamlMappingNode map, string key)
        {
            if (Get(map, key) is not { } node || IsNull(node))
            {
                return null;
            }

            var text = Scalar(node, $"budget.{key}");
            if (text is null)
            {
                return null;
            }

            if (!decimal.TryParse(text, NumberStyles.Number, CultureInfo.InvariantCulture, out var value) || value < 0)
            {
                Error(node, $"budget.{key} must be a number ≥ 0 in USD (got '{text}')");
                return null;
            }

            return value;
        }

        public TimeSpan? Duration(YamlMappingNode map, string key, string what)
        {
            if (Get(map, key) is not { } node)
            {
                return null;
            }

            var text = Scalar(node, what);
            if (text is null)
            {
                return null;
            }

            if (!Durations.TryParse(text, out var value) || value <= TimeSpan.Zero)
            {
                Error(node, $"{what} must be a positive duration like 30s, 5m or 1h (got '{text}')");
                return null;
            }

            return value;
        }

        public string? RelativePath(YamlNode node, string path, string what)
        {
            var normalised = path.Replace('\\', '/');
            if (normalised.StartsWith('/') || normalised.Split('/').Any(part => part == "..") || normalised.Contains(':', StringComparison.Ordinal))
            {
                Error(node, $"{what}: '{path}' must be a relative path inside the repository (no leading /, no ..)");
                return null;
            }

            return normalised;
        }
    }
}

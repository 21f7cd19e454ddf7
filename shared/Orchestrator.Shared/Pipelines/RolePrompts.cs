using System.Globalization;
using System.Reflection;
using System.Text;
using Orchestrator.Orchestrations.Pipelines;

namespace Orchestrator.Shared.Pipelines;

/// <summary>
/// The prompts of the role agents: the shipped defaults (embedded
/// <c>Pipelines/Defaults/agents/&lt;role&gt;.md</c>) and the composition of a stage's full prompt.
/// </summary>
public static class RolePrompts
{
    /// <summary>The roles with a shipped default prompt.</summary>
    public static IReadOnlyList<string> Roles { get; } = ["analyst", "architect", "developer", "reviewer", "tester", "deployer"];

    private static readonly Dictionary<string, string> Defaults = Roles.ToDictionary(
        r => r,
        r => ReadResource($"Pipelines.Defaults.agents.{r}.md"),
        StringComparer.Ordinal);

    /// <summary>The shipped prompt of <paramref name="role"/>.</summary>
    /// <exception cref="ArgumentException">No such role.</exception>
    public static string Default(string role) =>
        Defaults.TryGetValue(role, out var text)
            ? text
            : throw new ArgumentException($"No default prompt for role '{role}' (known: {string.Join(", ", Roles)}).", nameof(role));

    /// <summary>
    /// The full prompt of one stage run, in this order: the role prompt (<paramref name="repoRolePrompt"/>
    /// when the repository provides <see cref="RunStageAgentInput.PromptPath"/> with some text, else the
    /// default); the task header (key, title, stage, role, developer round, repository, branch); the
    /// artifacts to write (repository paths; directories and the verdict file called out); the earlier
    /// artifacts to read; for a rejected round the FULL findings text and a short history of earlier
    /// rounds; and the TaskSpec in full. LF line endings; deterministic.
    /// </summary>
    /// <param name="input">What the decider scheduled.</param>
    /// <param name="repoRolePrompt">Content of the repository's role prompt file, or <c>null</c> when it does not exist.</param>
    public static string Compose(RunStageAgentInput input, string? repoRolePrompt = null)
    {
        var role = string.IsNullOrWhiteSpace(repoRolePrompt) ? Default(input.Role) : repoRolePrompt;
        var sb = new StringBuilder();
        sb.Append(Lf(role).Trim()).Append("\n\n---\n\n");

        sb.Append(CultureInfo.InvariantCulture, $"# Task {input.TaskKey}: {input.Title}\n\n");
        sb.Append(CultureInfo.InvariantCulture, $"- Stage: {input.Stage} (role: {input.Role})\n");
        if (input.Round > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"- Developer round: {input.Round} of {input.MaxRounds}\n");
        }

        sb.Append(CultureInfo.InvariantCulture, $"- Repository: {input.Repo}\n");
        sb.Append(CultureInfo.InvariantCulture, $"- Branch: `{input.Branch}` (commit and push your work on this branch)\n");
        sb.Append(CultureInfo.InvariantCulture, $"- Work-item directory: `{input.WorkItemDirectory}/`\n\n");

        sb.Append("## Artifacts to write\n\n");
        if (input.Artifacts.Count == 0)
        {
            sb.Append("This stage writes no artifact files: its result is the change on the branch.\n\n");
        }
        else
        {
            foreach (var path in input.Artifacts)
            {
                sb.Append(CultureInfo.InvariantCulture, $"- `{path}`");
                if (path.EndsWith('/'))
                {
                    sb.Append(" — a directory: write at least one file in it");
                }
                else if (path == input.VerdictArtifact && VerdictTemplate(input.Stage) is { } template)
                {
                    sb.Append(CultureInfo.InvariantCulture, $" — must start with this YAML front matter (one value), then your findings:\n\n  ```\n  ---\n  {template}\n  ---\n  ```");
                }

                sb.Append('\n');
            }

            sb.Append('\n');
        }

        if (input.InputArtifacts.Count > 0)
        {
            sb.Append("## Read first\n\n");
            foreach (var path in input.InputArtifacts)
            {
                sb.Append(CultureInfo.InvariantCulture, $"- `{path}`\n");
            }

            sb.Append('\n');
        }

        if (input.Feedback is { } feedback)
        {
            var verdict = feedback.Verdict is { } v ? $", verdict `{v}`" : "";
            sb.Append("## Findings to address\n\n");
            sb.Append(CultureInfo.InvariantCulture, $"From {feedback.FromStage}{verdict}. This is the full text; address every point:\n\n");
            sb.Append(Lf(feedback.Text).Trim()).Append("\n\n");
            sb.Append("(end of findings)\n\n");
        }

        if (input.History.Count > 0)
        {
            sb.Append("## Earlier rounds\n\n");
            foreach (var round in input.History)
            {
                sb.Append(CultureInfo.InvariantCulture, $"- Round {round.Round}: ");
                sb.Append(string.IsNullOrWhiteSpace(round.Tried) ? "tried: (no summary)" : $"tried: {round.Tried}");
                sb.Append(CultureInfo.InvariantCulture, $"; rejected by {round.RejectedBy}");
                if (round.Verdict is { } rv)
                {
                    sb.Append(CultureInfo.InvariantCulture, $" (`{rv}`)");
                }

                if (!string.IsNullOrWhiteSpace(round.Gist))
                {
                    sb.Append(": ").Append(round.Gist);
                }

                sb.Append('\n');
            }

            sb.Append('\n');
        }

        sb.Append("## TaskSpec\n\n").Append(Lf(input.TaskSpec).Trim()).Append('\n');
        return sb.ToString();
    }

    /// <summary>The front-matter line a verdict stage must write, e.g. <c>verdict: APPROVE | REQUEST_CHANGES</c>; <c>null</c> for other stages.</summary>
    public static string? VerdictTemplate(string stage) => PipelineStages.IndexOf(stage) < 0 ? null : PipelineStages.GateOf(stage) switch
    {
        GateKind.Review => $"{Gates.ReviewField}: APPROVE | REQUEST_CHANGES",
        GateKind.Test => "result: PASS | FAIL",
        GateKind.Deploy => $"{Gates.DeployField}: SUCCESS | FAILED",
        _ => null,
    };

    private static string Lf(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);

    private static string ReadResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Embedded resource '{name}' is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

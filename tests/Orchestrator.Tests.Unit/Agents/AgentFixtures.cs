using Orchestrator.Shared.Agents;

namespace Orchestrator.Tests.Unit.Agents;

/// <summary>Fixture files (Fixtures/agents, see its PROVENANCE.md) and small builders shared by the adapter tests.</summary>
internal static class AgentFixtures
{
    public const string Home = "/home/run";

    public static string Read(params string[] parts) =>
        File.ReadAllText(Path.Combine([AppContext.BaseDirectory, "Fixtures", "agents", .. parts]));

    public static AgentRunRequest Request(string prompt = "Write hello.txt") =>
        new(prompt, "/work/repo", Home, "/logs/run.log");

    public static ProcessOutcome Outcome(int exitCode, string stdout, string stderr = "", string? timedOut = null, TimeSpan? duration = null) =>
        new(exitCode, stdout, stderr, duration ?? TimeSpan.FromSeconds(12), timedOut);

    public static AgentSettings Settings(AgentKind kind, string name) => new() { Name = name, Kind = kind };
}

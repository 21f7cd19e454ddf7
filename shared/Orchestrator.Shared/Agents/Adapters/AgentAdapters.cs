namespace Orchestrator.Shared.Agents.Adapters;

/// <summary>
/// The registry of adapters: one <see cref="IAgentAdapter"/> per <see cref="AgentKind"/>. Adapters are stateless, so
/// one registry (a singleton) serves every run.
/// </summary>
/// <remarks>See <c>README.md</c> beside this file for how Build, the process runner and Parse fit together.</remarks>
public sealed class AgentAdapters
{
    private readonly Dictionary<AgentKind, IAgentAdapter> _byKind;

    /// <summary>The four built-in adapters: OpenCode, Claude Code, Codex and generic commands.</summary>
    public AgentAdapters()
        : this([new OpenCodeAdapter(), new ClaudeCodeAdapter(), new CodexAdapter(), new GenericCommandAdapter()])
    {
    }

    /// <summary>A registry of the given adapters (e.g. a test double replacing one kind).</summary>
    /// <param name="adapters">At most one adapter per kind.</param>
    /// <exception cref="ArgumentNullException"><paramref name="adapters"/> is null or holds null.</exception>
    /// <exception cref="ArgumentException">Two adapters serve the same kind.</exception>
    public AgentAdapters(IEnumerable<IAgentAdapter> adapters)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        _byKind = [];
        foreach (var adapter in adapters)
        {
            ArgumentNullException.ThrowIfNull(adapter, nameof(adapters));
            if (!_byKind.TryAdd(adapter.Kind, adapter))
            {
                throw new ArgumentException($"two adapters serve agent kind {adapter.Kind}", nameof(adapters));
            }
        }
    }

    /// <summary>The kinds served, in enum order.</summary>
    public IReadOnlyList<AgentKind> Kinds => _byKind.Keys.Order().ToList();

    /// <summary>The adapter of <paramref name="kind"/>.</summary>
    /// <param name="kind">The CLI family.</param>
    /// <exception cref="NotSupportedException">No adapter serves <paramref name="kind"/>.</exception>
    public IAgentAdapter For(AgentKind kind) =>
        _byKind.TryGetValue(kind, out var adapter)
            ? adapter
            : throw new NotSupportedException($"no agent adapter serves kind '{kind}'; known kinds: {string.Join(", ", Kinds)}");
}

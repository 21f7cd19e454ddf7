using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orchestrator.Shared.Agents.Adapters;
using Orchestrator.Shared.Agents.Processes;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Shared.Agents;

/// <summary>One agent run to perform.</summary>
/// <param name="InstanceId">The task instance (for accounting), or <c>null</c>.</param>
/// <param name="ProjectKey">Project the run counts against for the per-project cap.</param>
/// <param name="Stage">Pipeline stage, e.g. <c>development</c>.</param>
/// <param name="Round">Developer round (1-based).</param>
/// <param name="Agent">Resolved agent settings.</param>
/// <param name="Prompt">Prompt text.</param>
/// <param name="WorkingDirectory">The worktree.</param>
public sealed record AgentRunSpec(string? InstanceId, string ProjectKey, string Stage, int Round, AgentSettings Agent, string Prompt, string WorkingDirectory);

/// <summary>Runs coding agents: preflight, circuit breaker, concurrency caps, isolated process, parsed result, accounting.</summary>
public interface IAgentRunner
{
    /// <summary>
    /// Runs the agent and returns its interpreted result (a failed run is a result, not an exception).
    /// Throws <see cref="ActivityDeferredException"/> when no slot is free or the agent's breaker is open,
    /// so the calling activity waits durably.
    /// </summary>
    Task<AgentRunResult> RunAsync(AgentRunSpec spec, CancellationToken cancellationToken);
}

/// <summary>Limits for <see cref="AgentRunner"/>.</summary>
/// <param name="DataDirectory">Root for homes and run logs (<c>ORCH_DATA_DIR</c>).</param>
/// <param name="MaxConcurrentRuns">Runs at once across all hosts (<c>ORCH_MAX_AGENT_RUNS</c>).</param>
/// <param name="MaxConcurrentRunsPerProject">Runs at once per project.</param>
/// <param name="BreakerThreshold">Transient failures in a row that pause an agent.</param>
/// <param name="BreakerCooldown">How long the pause lasts.</param>
public sealed record AgentRunnerOptions(string DataDirectory, int MaxConcurrentRuns = 2, int MaxConcurrentRunsPerProject = 1, int BreakerThreshold = 3, TimeSpan? BreakerCooldown = null);

/// <summary>A preflight result.</summary>
/// <param name="Ok">Whether the agent can run.</param>
/// <param name="Version">What <c>--version</c> printed.</param>
/// <param name="Problem">What to fix when not ok.</param>
/// <param name="CheckedAt">When.</param>
public sealed record PreflightResult(bool Ok, string? Version, string? Problem, DateTimeOffset CheckedAt);

/// <summary>
/// The <see cref="IAgentRunner"/>. Slots are claimed in PostgreSQL (an <c>agent_runs</c> row without
/// <c>finished_at</c>, counted under a transaction advisory lock), so the caps hold across every host;
/// a row older than the agent's wall-clock limit plus a margin no longer counts (its host died).
/// </summary>
public sealed class AgentRunner(
    NpgsqlDataSource dataSource,
    AgentAdapters adapters,
    AgentProcessRunner processes,
    AgentRunnerOptions options,
    TimeProvider clock,
    ILogger<AgentRunner> logger) : IAgentRunner
{
    private const long SlotLockKey = 0x4F52434841474E54; // "ORCHAGNT"
    private const int LogTailBytes = 8 * 1024;
    private readonly ConcurrentDictionary<string, CircuitBreaker> _breakers = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, PreflightResult> _preflights = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Breaker of an agent (created on first use).</summary>
    public CircuitBreaker Breaker(string agent) =>
        _breakers.GetOrAdd(agent, _ => new CircuitBreaker(options.BreakerThreshold, options.BreakerCooldown ?? TimeSpan.FromMinutes(5), clock));

    /// <summary>Breaker states by agent name.</summary>
    public IReadOnlyDictionary<string, BreakerSnapshot> Breakers => _breakers.ToDictionary(b => b.Key, b => b.Value.Snapshot());

    /// <summary>Latest preflight results by agent name.</summary>
    public IReadOnlyDictionary<string, PreflightResult> Preflights => _preflights;

    /// <inheritdoc />
    public async Task<AgentRunResult> RunAsync(AgentRunSpec spec, CancellationToken cancellationToken)
    {
        var agent = spec.Agent;
        var preflight = await PreflightAsync(agent, cancellationToken);
        if (!preflight.Ok)
        {
            return new AgentRunResult { ExitCode = -1, IsError = true, Failure = AgentFailureKind.Permanent, FailureReason = preflight.Problem };
        }

        var breaker = Breaker(agent.Name);
        if (!breaker.TryAcquire(out var retryAt))
        {
            var wait = (retryAt ?? clock.GetUtcNow().AddMinutes(1)) - clock.GetUtcNow();
            throw new ActivityDeferredException(wait < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : wait,
                $"agent '{agent.Name}' is paused by its circuit breaker after repeated transient failures");
        }

        long runId;
        try
        {
            runId = await ClaimSlotAsync(spec, cancellationToken)
                ?? throw new ActivityDeferredException(TimeSpan.FromSeconds(15), "every agent slot is taken; waiting for a free one");
        }
        catch
        {
            breaker.Record(AgentFailureKind.None, null); // release a half-open trial we did not use
            throw;
        }

        var home = Path.Combine(options.DataDirectory, "homes", $"run-{runId}");
        var log = Path.Combine(options.DataDirectory, "logs", $"run-{runId}.log");
        Directory.CreateDirectory(home);
        AgentRunResult result;
        try
        {
            var adapter = adapters.For(agent.Kind);
            var request = new AgentRunRequest(spec.Prompt, spec.WorkingDirectory, home, log);
            AgentInvocation invocation;
            try
            {
                invocation = adapter.Build(agent, request);
            }
            catch (ArgumentException ex)
            {
                result = new AgentRunResult { ExitCode = -1, IsError = true, Failure = AgentFailureKind.Permanent, FailureReason = ex.Message };
                await FinishAsync(runId, result, log, cancellationToken);
                return result;
            }

            foreach (var warning in invocation.Warnings)
            {
                logger.LogWarning("Agent {Agent}: {Warning}", agent.Name, warning);
            }

            var outcome = await processes.RunAsync(invocation, request, agent, cancellationToken);
            result = adapter.Parse(agent, outcome);
        }
        catch (OperationCanceledException)
        {
            await FinishAsync(runId, new AgentRunResult { ExitCode = -1, IsError = true, Failure = AgentFailureKind.Transient, FailureReason = "cancelled" }, log, CancellationToken.None);
            throw;
        }
        finally
        {
            TryDelete(home);
        }

        breaker.Record(result.IsError ? result.Failure : AgentFailureKind.None, result.FailureReason);
        await FinishAsync(runId, result, log, cancellationToken);
        logger.LogInformation("Agent {Agent} run {RunId} for {Stage} finished: error={IsError} {Failure} tokens {In}/{Out} cost {Cost}",
            agent.Name, runId, spec.Stage, result.IsError, result.Failure, result.TokensIn, result.TokensOut, result.CostUsd);
        return result;
    }

    /// <summary>
    /// Cheap checks before a claim: the binary resolves, <c>--version</c> answers within 30 s, and a
    /// credential is configured for the CLI. Cached for 10 minutes per agent.
    /// </summary>
    public async Task<PreflightResult> PreflightAsync(AgentSettings agent, CancellationToken cancellationToken)
    {
        if (_preflights.TryGetValue(agent.Name, out var cached) && clock.GetUtcNow() - cached.CheckedAt < TimeSpan.FromMinutes(10))
        {
            return cached;
        }

        var adapter = adapters.For(agent.Kind);
        var home = Path.Combine(options.DataDirectory, "homes", $"preflight-{Guid.NewGuid():N}");
        Directory.CreateDirectory(home);
        PreflightResult result;
        try
        {
            var credential = CredentialProblem(agent);
            var probe = agent with { WallClockTimeout = TimeSpan.FromSeconds(30), StallTimeout = TimeSpan.FromSeconds(30) };
            var binary = agent.Binary ?? adapter.Build(agent, new AgentRunRequest("", home, home, Path.Combine(home, "version.log"))).FileName;
            var invocation = new AgentInvocation(binary, adapter.VersionArguments, new Dictionary<string, string>(), new Dictionary<string, string>(), []);
            var outcome = await processes.RunAsync(invocation, new AgentRunRequest("", home, home, Path.Combine(home, "version.log")), probe, cancellationToken);
            var version = (outcome.Stdout + outcome.Stderr).Trim().Split('\n').FirstOrDefault()?.Trim();
            result = outcome.ExitCode switch
            {
                127 => new PreflightResult(false, null, $"agent '{agent.Name}': executable '{binary}' was not found; install it or set \"binary\" in ORCH_AGENTS_JSON", clock.GetUtcNow()),
                0 when credential is not null => new PreflightResult(false, version, credential, clock.GetUtcNow()),
                0 => new PreflightResult(true, version, null, clock.GetUtcNow()),
                _ => new PreflightResult(false, version, $"agent '{agent.Name}': '{binary} --version' exited with {outcome.ExitCode}", clock.GetUtcNow()),
            };
        }
        catch (ArgumentException ex)
        {
            result = new PreflightResult(false, null, ex.Message, clock.GetUtcNow());
        }
        finally
        {
            TryDelete(home);
        }

        _preflights[agent.Name] = result;
        return result;
    }

    private static string? CredentialProblem(AgentSettings agent)
    {
        bool Has(params string[] names) => names.Any(n => agent.Environment.TryGetValue(n, out var v) && v.Length > 0);
        return agent.Kind switch
        {
            AgentKind.ClaudeCode when !Has("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN") =>
                $"agent '{agent.Name}': no credential configured; set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) in its \"env\"",
            AgentKind.Codex when agent.ConfigFile is null && !Has("OPENAI_API_KEY", "CODEX_API_KEY") && agent.Environment.Count == 0 =>
                $"agent '{agent.Name}': no credential configured; set OPENAI_API_KEY (or the env_key of its config_file) in its \"env\"",
            AgentKind.OpenCode when agent.ConfigFile is null && agent.Environment.Count == 0 =>
                $"agent '{agent.Name}': no credential configured; give it a config_file with a provider or a provider API key in its \"env\"",
            _ => null,
        };
    }

    private async Task<long?> ClaimSlotAsync(AgentRunSpec spec, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@k)", connection, tx))
        {
            lockCommand.Parameters.AddWithValue("k", SlotLockKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        long total;
        long project;
        await using (var count = new NpgsqlCommand("""
            SELECT count(*), count(*) FILTER (WHERE project = @project)
            FROM agent_runs WHERE finished_at IS NULL AND started_at > @alive
            """, connection, tx))
        {
            count.Parameters.AddWithValue("project", spec.ProjectKey);
            count.Parameters.AddWithValue("alive", now - spec.Agent.WallClockTimeout - TimeSpan.FromMinutes(10));
            await using var reader = await count.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            total = reader.GetInt64(0);
            project = reader.GetInt64(1);
        }

        if (total >= options.MaxConcurrentRuns || project >= options.MaxConcurrentRunsPerProject)
        {
            await tx.RollbackAsync(cancellationToken);
            return null;
        }

        long id;
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO agent_runs (instance_id, project, stage, round, agent, kind, model, started_at)
            VALUES (@instance, @project, @stage, @round, @agent, @kind, @model, @now) RETURNING id
            """, connection, tx))
        {
            insert.Parameters.AddWithValue("instance", (object?)spec.InstanceId ?? DBNull.Value);
            insert.Parameters.AddWithValue("project", spec.ProjectKey);
            insert.Parameters.AddWithValue("stage", spec.Stage);
            insert.Parameters.AddWithValue("round", spec.Round);
            insert.Parameters.AddWithValue("agent", spec.Agent.Name);
            insert.Parameters.AddWithValue("kind", spec.Agent.Kind.ToString());
            insert.Parameters.AddWithValue("model", (object?)spec.Agent.Model ?? DBNull.Value);
            insert.Parameters.AddWithValue("now", now);
            id = (long)(await insert.ExecuteScalarAsync(cancellationToken))!;
        }

        await tx.CommitAsync(cancellationToken);
        return id;
    }

    private async Task FinishAsync(long runId, AgentRunResult result, string logPath, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE agent_runs SET finished_at = @now, exit_code = @exit, is_error = @error, failure = @failure, failure_reason = @reason,
                tokens_in = @in, tokens_out = @out, cost_usd = @cost, session_id = @session, duration_ms = @ms,
                model = COALESCE(@model, model), log_path = @log, log_tail = @tail
            WHERE id = @id
            """);
        command.Parameters.AddWithValue("now", clock.GetUtcNow());
        command.Parameters.AddWithValue("exit", result.ExitCode);
        command.Parameters.AddWithValue("error", result.IsError);
        command.Parameters.AddWithValue("failure", result.Failure.ToString());
        command.Parameters.AddWithValue("reason", (object?)result.FailureReason ?? DBNull.Value);
        command.Parameters.AddWithValue("in", (object?)result.TokensIn ?? DBNull.Value);
        command.Parameters.AddWithValue("out", (object?)result.TokensOut ?? DBNull.Value);
        command.Parameters.AddWithValue("cost", (object?)result.CostUsd ?? DBNull.Value);
        command.Parameters.AddWithValue("session", (object?)result.SessionId ?? DBNull.Value);
        command.Parameters.AddWithValue("ms", (long)result.Duration.TotalMilliseconds);
        command.Parameters.AddWithValue("model", (object?)result.Model ?? DBNull.Value);
        command.Parameters.AddWithValue("log", logPath);
        command.Parameters.AddWithValue("tail", Tail(logPath));
        command.Parameters.AddWithValue("id", runId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string Tail(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var start = Math.Max(0, stream.Length - LogTailBytes);
            stream.Seek(start, SeekOrigin.Begin);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return reader.ReadToEnd();
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

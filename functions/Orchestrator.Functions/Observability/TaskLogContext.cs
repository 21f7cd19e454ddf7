using System.Collections.Concurrent;
using Npgsql;
using Orchestrator.Orchestrations.Tasks;

namespace Orchestrator.Functions.Observability;

/// <summary>
/// The task and project of an engine instance for log scopes (<see cref="Shared.Engine.EngineOptions.InstanceContext"/>):
/// a task pipeline instance is its own task, its role pipeline (<c>roles-&lt;task&gt;</c>) belongs to that task; the
/// project is the task row's. Answers from memory after the first lookup of a task (a task never changes project);
/// instances without a task row (a task's first step, the reconciler: a few items an hour) are looked up each time.
/// Never throws: a failed lookup only leaves the task and project out of the scope.
/// </summary>
public sealed class TaskLogContext(NpgsqlDataSource db)
{
    private const int MaxEntries = 10_000;
    private static readonly string RolesPrefix = TaskPipelineOrchestration.RolePipelineIdFor("");
    private readonly ConcurrentDictionary<string, string?> _known = new(StringComparer.Ordinal);

    /// <summary>The task id and project of <paramref name="instanceId"/>.</summary>
    /// <param name="instanceId">Engine instance id.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Task id (the instance's, or its parent task's) and project slug; both <c>null</c> for an instance without a task row (the reconciler, a task before its first step).</returns>
    public async ValueTask<(string? TaskId, string? Project)> ResolveAsync(string instanceId, CancellationToken cancellationToken)
    {
        var taskId = instanceId.StartsWith(RolesPrefix, StringComparison.Ordinal) ? instanceId[RolesPrefix.Length..] : instanceId;
        if (_known.TryGetValue(taskId, out var known))
        {
            return (taskId, known);
        }

        string? project = null;
        var found = false;
        try
        {
            await using var command = db.CreateCommand("SELECT project_slug FROM tasks WHERE id = @id");
            command.Parameters.AddWithValue("id", taskId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                found = true;
                project = reader.IsDBNull(0) ? null : reader.GetString(0);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or InvalidOperationException)
        {
            return (null, null);
        }

        if (!found)
        {
            return (null, null);
        }

        if (_known.Count >= MaxEntries)
        {
            _known.Clear(); // Bounded: a host that saw 10,000 tasks starts over rather than growing.
        }

        _known[taskId] = project;
        return (taskId, project);
    }
}

using System.Text.Json;
using Npgsql;
using Orchestrator.Orchestrations.Pipelines;
using Orchestrator.Orchestrations.ReadModel;
using Orchestrator.Orchestrations.Tasks;
using Orchestrator.Shared.Engine;
using Orchestrator.Shared.ReadModel;

namespace Orchestrator.Shared.Notifications;

/// <summary>
/// Reads what a chat message about a task shows, as it is now: the task's read-model row, the task and role pipeline
/// states (<c>instances</c>) and the model of each stage's latest run (<c>agent_runs</c>).
/// </summary>
/// <param name="db">The orchestrator database.</param>
/// <param name="readModel">Task rows by id or key.</param>
public sealed class TaskSnapshotLoader(NpgsqlDataSource db, ReadModelQueries readModel)
{
    /// <summary>The task's project slug (one indexed read), or <c>null</c> when the task has no row (yet).</summary>
    /// <param name="taskId">Task instance id.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The slug.</returns>
    public async Task<string?> ProjectSlugAsync(string taskId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("SELECT project_slug FROM tasks WHERE id = @id");
        command.Parameters.AddWithValue("id", taskId);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    /// <summary>The task's snapshot and project slug, or <c>null</c> when the task does not exist (yet).</summary>
    /// <param name="idOrKey">Task instance id or <c>PREFIX-N</c>.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The snapshot with its row, or <c>null</c>.</returns>
    public async Task<(TaskSnapshot Snapshot, TaskRow Row)?> LoadAsync(string idOrKey, CancellationToken cancellationToken)
    {
        var row = await readModel.FindAsync(idOrKey, cancellationToken);
        if (row is null)
        {
            return null;
        }

        var rolesId = TaskPipelineOrchestration.RolePipelineIdFor(row.Id);
        TaskState? task = null;
        RolePipelineState? roles = null;
        await using (var command = db.CreateCommand("SELECT id, state::text FROM instances WHERE id = ANY(@ids) AND state IS NOT NULL"))
        {
            command.Parameters.AddWithValue("ids", new[] { row.Id, rolesId });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                if (reader.GetString(0) == row.Id)
                {
                    task = JsonSerializer.Deserialize<TaskState>(reader.GetString(1), EngineJson.Options);
                }
                else
                {
                    roles = JsonSerializer.Deserialize<RolePipelineState>(reader.GetString(1), EngineJson.Options);
                }
            }
        }

        if (task is null)
        {
            return null;
        }

        var models = new Dictionary<string, string>(StringComparer.Ordinal);
        if (roles is not null)
        {
            await using var command = db.CreateCommand("""
                SELECT DISTINCT ON (stage) stage, model FROM agent_runs
                WHERE instance_id = ANY(@ids) AND model IS NOT NULL ORDER BY stage, id DESC
                """);
            command.Parameters.AddWithValue("ids", new[] { row.Id, rolesId });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                models[reader.GetString(0)] = reader.GetString(1);
            }
        }

        return (TaskSnapshot.From(task, row, roles, models), row);
    }
}

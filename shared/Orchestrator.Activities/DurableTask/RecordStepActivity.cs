using Microsoft.DurableTask;
using Npgsql;
using NpgsqlTypes;
using Orchestrator.Orchestrations.DurableTask;

namespace Orchestrator.Functions.DurableTask;

/// <summary>
/// The Durable Task loop's step activity (<see cref="DurableLoopOptions.StepActivity"/>): keeps the PostgreSQL copy of
/// the instance — its <c>instances</c> row (state, statuses, parent) and its <c>instance_keys</c> — that the shared
/// activities (<c>PlatformRegistry.ForInstanceAsync</c>), the delivery router and the reconciliation sweep read. The
/// Durable Task instance stays the source of truth; the copy is written before the step's commands run. One runtime
/// per database: the PostgreSQL engine must not also run these instances.
/// </summary>
/// <param name="dataSource">The orchestrator's database.</param>
public sealed class RecordStepActivity(NpgsqlDataSource dataSource) : TaskActivity<StepRecord, bool>
{
    /// <summary>The activity name the loop is configured with.</summary>
    public const string ActivityName = "RecordStep";

    /// <inheritdoc />
    public override Task<bool> RunAsync(TaskActivityContext context, StepRecord input) => RecordAsync(input);

    /// <summary>Writes the step's copy (what an activity-trigger function delegates to).</summary>
    /// <param name="input">The step.</param>
    /// <returns><c>true</c>.</returns>
    public async Task<bool> RecordAsync(StepRecord input)
    {
        ArgumentNullException.ThrowIfNull(input);
        await using var batch = dataSource.CreateBatch();
        var upsert = new NpgsqlBatchCommand("""
            INSERT INTO instances (id, orchestration, runtime_status, custom_status, state, version, created_at, updated_at, parent_id)
            VALUES (@id, @o, @runtime, @custom, @state::jsonb, 1, @at, @at, @parent)
            ON CONFLICT (id) DO UPDATE
            SET runtime_status = EXCLUDED.runtime_status, custom_status = EXCLUDED.custom_status, state = EXCLUDED.state,
                version = instances.version + 1, updated_at = EXCLUDED.updated_at
            """);
        upsert.Parameters.AddWithValue("id", input.InstanceId);
        upsert.Parameters.AddWithValue("o", input.Orchestration);
        upsert.Parameters.AddWithValue("runtime", input.RuntimeStatus.ToString());
        upsert.Parameters.AddWithValue("custom", input.CustomStatus);
        upsert.Parameters.AddWithValue("state", input.StateJson);
        upsert.Parameters.AddWithValue("at", input.OccurredAt);
        upsert.Parameters.Add(new NpgsqlParameter("parent", NpgsqlDbType.Text) { Value = (object?)input.ParentId ?? DBNull.Value });
        batch.BatchCommands.Add(upsert);
        foreach (var key in input.NewCorrelationKeys)
        {
            var insert = new NpgsqlBatchCommand("INSERT INTO instance_keys (key, instance_id) VALUES (@key, @id) ON CONFLICT DO NOTHING");
            insert.Parameters.AddWithValue("key", key);
            insert.Parameters.AddWithValue("id", input.InstanceId);
            batch.BatchCommands.Add(insert);
        }

        await batch.ExecuteNonQueryAsync();
        return true;
    }
}

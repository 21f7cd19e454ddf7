using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Npgsql;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Orchestrations.DurableTask;
using Orchestrator.Shared.Engine;

namespace Orchestrator.Functions.DurableTask;

/// <summary>
/// <see cref="IOrchestrationClient"/> on a Durable Task <see cref="DurableTaskClient"/> (the Functions app's durable
/// client, or the test host's): starts instances with <see cref="DurableRegistration.StartInput"/>, delivers events as
/// <see cref="EventEnvelope"/>s on <see cref="DurableNames.EventName"/> (the loop drops a repeated key), and finds
/// instances in the PostgreSQL copy that <see cref="RecordStepActivity"/> keeps.
/// </summary>
/// <param name="client">The Durable Task client.</param>
/// <param name="dataSource">The orchestrator's database (correlation keys, instance copies).</param>
public sealed class DurableTaskOrchestrationClient(DurableTaskClient client, NpgsqlDataSource dataSource) : IOrchestrationClient
{
    /// <inheritdoc />
    public async Task<bool> StartAsync(string orchestration, string instanceId, object startEvent, string eventKey, string? parentId, EventOrigin? origin, CancellationToken cancellationToken)
    {
        if (await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken) is null)
        {
            try
            {
                await client.ScheduleNewOrchestrationInstanceAsync(orchestration, DurableRegistration.StartInput(startEvent, eventKey, parentId, origin),
                    new StartOrchestrationOptions(instanceId), cancellationToken);
                return true;
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // Another caller may have created it meanwhile: then deliver the start event to that instance, as the engine does.
                if (await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken) is null)
                {
                    throw;
                }
            }
        }

        await client.RaiseEventAsync(instanceId, DurableNames.EventName, EventEnvelope.For(startEvent, eventKey, origin), cancellationToken);
        return false;
    }

    /// <inheritdoc />
    /// <exception cref="NotSupportedException"><see cref="RaiseOptions.InSameTransaction"/> or a future <see cref="RaiseOptions.DueAt"/> was given: a Durable Task event cannot share a PostgreSQL transaction or wait.</exception>
    public async Task<bool> RaiseEventAsync(string instanceId, object @event, string eventKey, RaiseOptions raise, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(raise);
        if (raise.InSameTransaction is not null || raise.DueAt is not null)
        {
            throw new NotSupportedException("A Durable Task event is raised on its own: no shared PostgreSQL transaction, no delayed delivery.");
        }

        if (await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken) is null)
        {
            return false;
        }

        await client.RaiseEventAsync(instanceId, DurableNames.EventName, EventEnvelope.For(@event, eventKey, raise.Origin), cancellationToken);
        return true;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> FindInstancesAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return [];
        }

        await using var command = dataSource.CreateCommand("SELECT DISTINCT instance_id FROM instance_keys WHERE key = ANY(@keys)");
        command.Parameters.AddWithValue("keys", keys.ToArray());
        return await ReadIdsAsync(command, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> FindInstancesByStatusAsync(string orchestration, IReadOnlyCollection<string> statuses, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        await using var command = dataSource.CreateCommand(
            "SELECT id FROM instances WHERE orchestration = @o AND custom_status = ANY(@statuses) ORDER BY created_at");
        command.Parameters.AddWithValue("o", orchestration);
        command.Parameters.AddWithValue("statuses", statuses.ToArray());
        return await ReadIdsAsync(command, cancellationToken);
    }

    private static async Task<IReadOnlyList<string>> ReadIdsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }
}

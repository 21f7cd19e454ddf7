using System.Text.Json;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Orchestrator.Orchestrations.Abstractions;
using Orchestrator.Shared.Observability;
using Orchestrator.Shared.Platform;

namespace Orchestrator.Shared.Engine;

/// <summary>
/// Durable Functions semantics on PostgreSQL: instances with JSON state and an optimistic version,
/// an append-only history, and one work queue for activities, durable timers and external events.
/// Each step loads an instance, calls its pure decider and commits state, history, new work and
/// correlation keys in one transaction; the queue row that caused the step is completed in that same
/// transaction, fenced by its attempt number. See <c>shared/Orchestrator.Shared/Engine/README.md</c>.
/// </summary>
public sealed class DurableEngine(
    NpgsqlDataSource dataSource,
    OrchestrationRegistry registry,
    TimeProvider clock,
    EngineOptions options,
    WorkSignal signal,
    ILogger<DurableEngine> logger) : IOrchestrationClient
{
    private const int MaxConcurrencyRetries = 10;
    private const string SystemPrefix = "sys";

    /// <summary>Options in force.</summary>
    public EngineOptions Options => options;

    /// <summary>The registry of orchestrations and activities.</summary>
    public OrchestrationRegistry Registry => registry;

    /// <summary>
    /// Creates instance <paramref name="instanceId"/> of <paramref name="orchestration"/> unless it exists,
    /// and delivers <paramref name="startEvent"/> to it. Idempotent per (<paramref name="instanceId"/>, <paramref name="eventKey"/>).
    /// </summary>
    /// <returns><c>true</c> when the instance was created by this call.</returns>
    public Task<bool> StartAsync(string orchestration, string instanceId, object startEvent, string eventKey, CancellationToken cancellationToken) =>
        StartAsync(orchestration, instanceId, startEvent, eventKey, null, cancellationToken);

    /// <summary>
    /// As <see cref="StartAsync(string, string, object, string, CancellationToken)"/>, for a child instance of
    /// <paramref name="parentId"/>: when the child finishes, the parent gets its child-finished event.
    /// </summary>
    public Task<bool> StartAsync(string orchestration, string instanceId, object startEvent, string eventKey, string? parentId, CancellationToken cancellationToken) =>
        StartAsync(orchestration, instanceId, startEvent, eventKey, parentId, null, cancellationToken);

    /// <summary>
    /// As <see cref="StartAsync(string, string, object, string, string?, CancellationToken)"/>, recording who raised the
    /// start event (<paramref name="origin"/>, handed to the step projection; <c>null</c> = the orchestrator itself).
    /// </summary>
    public async Task<bool> StartAsync(string orchestration, string instanceId, object startEvent, string eventKey, string? parentId, EventOrigin? origin, CancellationToken cancellationToken)
    {
        var adapter = registry.Orchestration(orchestration);
        var eventJson = adapter.SerializeEvent(startEvent);
        var now = clock.GetUtcNow();
        await using var batch = dataSource.CreateBatch();
        var create = new NpgsqlBatchCommand("""
            INSERT INTO instances (id, orchestration, runtime_status, custom_status, state, version, created_at, updated_at, parent_id)
            VALUES (@id, @o, 'Pending', '', NULL, 0, @now, @now, @parent) ON CONFLICT (id) DO NOTHING
            """);
        create.Parameters.AddWithValue("id", instanceId);
        create.Parameters.Add(new NpgsqlParameter("parent", NpgsqlDbType.Text) { Value = (object?)parentId ?? DBNull.Value });
        create.Parameters.AddWithValue("o", orchestration);
        create.Parameters.AddWithValue("now", now);
        batch.BatchCommands.Add(create);
        batch.BatchCommands.Add(EventInsert(instanceId, startEvent.GetType().Name, eventJson, eventKey, now, now, origin));
        await batch.ExecuteNonQueryAsync(cancellationToken);
        signal.Notify();
        return create.RecordsAffected == 1;
    }

    /// <summary>
    /// Delivers an external event to an existing instance (queued; applied by a worker). Idempotent per
    /// (<paramref name="instanceId"/>, <paramref name="eventKey"/>); ignored when the instance does not exist.
    /// </summary>
    /// <returns><c>true</c> when a new delivery was queued.</returns>
    public async Task<bool> RaiseEventAsync(string instanceId, object @event, string eventKey, CancellationToken cancellationToken) =>
        await RaiseEventAsync(instanceId, @event, eventKey, clock.GetUtcNow(), cancellationToken);

    /// <summary>As <see cref="RaiseEventAsync(string, object, string, CancellationToken)"/>, delivered at <paramref name="dueAt"/>.</summary>
    public Task<bool> RaiseEventAsync(string instanceId, object @event, string eventKey, DateTimeOffset dueAt, CancellationToken cancellationToken) =>
        RaiseEventAsync(instanceId, @event, eventKey, new RaiseOptions { DueAt = dueAt }, cancellationToken);

    /// <summary>
    /// As <see cref="RaiseEventAsync(string, object, string, CancellationToken)"/>, with who raised it, when to deliver
    /// it and work to commit with it (<see cref="RaiseOptions"/>). With <see cref="RaiseOptions.InSameTransaction"/> the
    /// queue row and that work commit in one transaction; without it this is one autocommit statement, as before.
    /// </summary>
    /// <returns><c>true</c> when a new delivery was queued (and <see cref="RaiseOptions.InSameTransaction"/> ran).</returns>
    public async Task<bool> RaiseEventAsync(string instanceId, object @event, string eventKey, RaiseOptions raise, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(raise);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        string? orchestration;
        await using (var find = new NpgsqlCommand("SELECT orchestration FROM instances WHERE id = @id", connection))
        {
            find.Parameters.AddWithValue("id", instanceId);
            orchestration = await find.ExecuteScalarAsync(cancellationToken) as string;
        }

        if (orchestration is null)
        {
            return false;
        }

        var eventJson = registry.Orchestration(orchestration).SerializeEvent(@event);
        var now = clock.GetUtcNow();
        await using var tx = raise.InSameTransaction is null ? null : await connection.BeginTransactionAsync(cancellationToken);
        var batch = new NpgsqlBatch(connection, tx);
        await using (batch)
        {
            var insert = EventInsert(instanceId, @event.GetType().Name, eventJson, eventKey, raise.DueAt ?? now, now, raise.Origin);
            batch.BatchCommands.Add(insert);
            await batch.ExecuteNonQueryAsync(cancellationToken);
            var queued = insert.RecordsAffected == 1;
            if (tx is not null)
            {
                if (queued)
                {
                    await raise.InSameTransaction!(connection, tx, cancellationToken);
                }

                await tx.CommitAsync(cancellationToken);
            }

            if (queued)
            {
                signal.Notify();
            }

            return queued;
        }
    }

    /// <summary>Instances registered under any of <paramref name="keys"/> (correlation keys), distinct.</summary>
    public async Task<IReadOnlyList<string>> FindInstancesAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        if (keys.Count == 0)
        {
            return [];
        }

        await using var command = dataSource.CreateCommand("SELECT DISTINCT instance_id FROM instance_keys WHERE key = ANY(@keys)");
        command.Parameters.AddWithValue("keys", keys.ToArray());
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <summary>Ids of instances of <paramref name="orchestration"/> whose custom status is one of <paramref name="statuses"/>.</summary>
    public async Task<IReadOnlyList<string>> FindInstancesByStatusAsync(string orchestration, IReadOnlyCollection<string> statuses, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT id FROM instances WHERE orchestration = @o AND custom_status = ANY(@statuses) ORDER BY created_at");
        command.Parameters.AddWithValue("o", orchestration);
        command.Parameters.AddWithValue("statuses", statuses.ToArray());
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <summary>
    /// Queues an activity directly (system work such as sweeps, or work for an instance outside a decision).
    /// Idempotent per (<paramref name="instanceId"/>, <paramref name="key"/>).
    /// </summary>
    /// <returns><c>true</c> when queued, <c>false</c> when the key already existed.</returns>
    public async Task<bool> EnqueueActivityAsync(string? instanceId, string activity, object input, string key, RetryPolicy retry, DateTimeOffset? dueAt, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var batch = dataSource.CreateBatch();
        var insert = WorkInsert(WorkKinds.Activity, instanceId, activity, JsonSerializer.Serialize(input, input.GetType(), EngineJson.Options), key, dueAt ?? now, retry, now);
        batch.BatchCommands.Add(insert);
        await batch.ExecuteNonQueryAsync(cancellationToken);
        if (insert.RecordsAffected == 1)
        {
            signal.Notify();
            return true;
        }

        return false;
    }

    /// <summary>
    /// Claims up to <paramref name="max"/> due rows with <c>FOR UPDATE SKIP LOCKED</c>: each gets
    /// <c>attempt + 1</c>, status <c>running</c> and a lease for <paramref name="owner"/> until now + lease duration.
    /// </summary>
    public async Task<IReadOnlyList<ClaimedWork>> ClaimAsync(string owner, int max, CancellationToken cancellationToken)
    {
        if (max <= 0)
        {
            return [];
        }

        var now = clock.GetUtcNow();
        await using var command = dataSource.CreateCommand("""
            WITH next AS (
                SELECT id FROM work_items
                WHERE status = 'pending' AND due_at <= @now
                ORDER BY due_at, id
                LIMIT @max
                FOR UPDATE SKIP LOCKED)
            UPDATE work_items w
            SET status = 'running', attempt = w.attempt + 1, lease_owner = @owner,
                lease_expires_at = @expires, updated_at = @now
            FROM next WHERE w.id = next.id
            RETURNING w.id, w.kind, w.instance_id, w.name, w.payload::text, w.unique_key, w.attempt,
                      w.max_attempts, w.retry_first_ms, w.retry_coefficient, w.retry_max_ms, w.origin::text
            """);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("max", max);
        command.Parameters.AddWithValue("owner", owner);
        command.Parameters.AddWithValue("expires", now + options.LeaseDuration);
        var claimed = new List<ClaimedWork>(max);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            claimed.Add(new ClaimedWork(
                reader.GetInt64(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetString(3),
                reader.GetString(4),
                KeyOf(reader.GetString(5)),
                reader.GetInt32(6),
                new RetryPolicy(reader.GetInt32(7), TimeSpan.FromMilliseconds(reader.GetInt64(8)), reader.GetDouble(9), TimeSpan.FromMilliseconds(reader.GetInt64(10))),
                owner,
                reader.IsDBNull(11) ? null : JsonSerializer.Deserialize<EventOrigin>(reader.GetString(11), EngineJson.Options)));
        }

        return claimed;
    }

    /// <summary>Claims and processes up to <paramref name="max"/> items concurrently; returns how many were processed.</summary>
    public async Task<int> RunOnceAsync(string owner, int max, CancellationToken cancellationToken)
    {
        var claimed = await ClaimAsync(owner, max, cancellationToken);
        await Task.WhenAll(claimed.Select(w => ProcessAsync(w, cancellationToken)));
        return claimed.Count;
    }

    /// <summary>
    /// Processes one claimed row: runs the activity (heartbeating its lease) or applies the event/timer,
    /// then records the outcome. Never throws for activity or decider failures; those become retries or
    /// <c>ActivityFailed</c>.
    /// </summary>
    public async Task<WorkOutcome> ProcessAsync(ClaimedWork work, CancellationToken cancellationToken)
    {
        using var scope = logger.BeginScope("Instance {InstanceId} {Work} (work item {WorkItemId})", work.InstanceId ?? "-", work.Name, work.Id);
        var (taskId, project, delivery) = await ContextOfAsync(work, cancellationToken);

        // Begun here, not in the helper: a scope begun inside an awaited method would end with it (AsyncLocal).
        using var context = taskId is null && project is null && delivery is null
            ? null
            : logger.BeginScope("Task {TaskId} project {Project} delivery {DeliveryId}", taskId ?? "-", project ?? "-", delivery ?? "-");
        if (work.Kind != WorkKinds.Activity)
        {
            try
            {
                return await CompleteAsync(work, adapter => work.Kind == WorkKinds.Timer
                    ? adapter.TimerFired(work.Name, work.Key)
                    : null, work.Kind == WorkKinds.Event ? work.PayloadJson : null, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                logger.LogError(ex, "Applying {Kind} {Name} failed", work.Kind, work.Name);
                return await FailAsync(work, ex.Message, transient: true, retryAfter: null, deliverFailure: false, cancellationToken);
            }
        }

        var activity = registry.Activity(work.Name);
        if (activity is null)
        {
            return await FailAsync(work, $"Activity '{work.Name}' is not registered in this host.", transient: false, null, deliverFailure: true, cancellationToken);
        }

        // Timed from the run to its recorded outcome: what the activity costs the queue (issue #11 §3).
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var outcome = await RunActivityAsync(work, activity, cancellationToken);
        OrchestratorMeter.ActivityAttempt(work.Name, outcome switch
        {
            WorkOutcome.Completed => ActivityOutcome.Completed,
            WorkOutcome.Retrying => ActivityOutcome.Retrying,
            WorkOutcome.Deferred => ActivityOutcome.Deferred,
            WorkOutcome.Stale => ActivityOutcome.Stale,
            _ => ActivityOutcome.Failed,
        }, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return outcome;
    }

    private async Task<WorkOutcome> RunActivityAsync(ClaimedWork work, IActivity activity, CancellationToken cancellationToken)
    {

        object? result;
        using (var leaseLost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            var heartbeat = HeartbeatLoopAsync(work, leaseLost);
            try
            {
                using var input = JsonDocument.Parse(work.PayloadJson);
                result = await activity.RunAsync(new ActivityContext(work.InstanceId, work.Key, work.Attempt, work.Id), input.RootElement, leaseLost.Token);
            }
            catch (ActivityDeferredException deferred)
            {
                return await DeferAsync(work, deferred.Delay, deferred.Message, cancellationToken);
            }
            catch (OperationCanceledException) when (leaseLost.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning("Lease on {Work} was lost while it ran; its result is discarded", work.Name);
                return WorkOutcome.Stale;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var (transient, retryAfter) = Classify(ex);
                logger.LogWarning("Activity {Activity} attempt {Attempt} failed ({Kind}): {Error}", work.Name, work.Attempt, transient ? "transient" : "permanent", ex.Message);
                return await FailAsync(work, ex.Message, transient, retryAfter, deliverFailure: true, cancellationToken);
            }
            finally
            {
                await leaseLost.CancelAsync();
                await heartbeat;
            }
        }

        return await CompleteAsync(work, _ => result, null, cancellationToken);
    }

    /// <summary>The task, project and delivery of a work item for its log scope (<see cref="EngineOptions.InstanceContext"/>), as far as known.</summary>
    private async ValueTask<(string? TaskId, string? Project, string? Delivery)> ContextOfAsync(ClaimedWork work, CancellationToken cancellationToken)
    {
        var delivery = work.Kind == WorkKinds.Event && work.Origin?.DeliveryId is { } id ? Webhooks.LogSanitizer.Sanitize(id) : null;
        if (work.InstanceId is { } instance && options.InstanceContext is { } resolve)
        {
            var (taskId, project) = await resolve(instance, cancellationToken);
            return (taskId, project, delivery);
        }

        return (null, null, delivery);
    }

    /// <summary>
    /// Returns rows whose lease expired (their worker died or hung) to the queue; rows that used their last
    /// attempt fail and deliver <c>ActivityFailed</c>. Returns how many rows were rescued.
    /// </summary>
    public async Task<int> RescueExpiredLeasesAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        int requeued;
        await using (var command = dataSource.CreateCommand("""
            UPDATE work_items
            SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, due_at = @now, updated_at = @now,
                last_error = 'lease expired: the worker stopped heartbeating'
            WHERE status = 'running' AND lease_expires_at < @now AND attempt < max_attempts
            """))
        {
            command.Parameters.AddWithValue("now", now);
            requeued = await command.ExecuteNonQueryAsync(cancellationToken);
        }

        // Exhausted ones: take them over with a fresh lease (same attempt: the fencing token), then fail them.
        var exhausted = new List<ClaimedWork>();
        var rescuer = options.OwnerId + "/rescuer";
        await using (var take = dataSource.CreateCommand("""
            WITH expired AS (
                SELECT id FROM work_items
                WHERE status = 'running' AND lease_expires_at < @now AND attempt >= max_attempts
                FOR UPDATE SKIP LOCKED)
            UPDATE work_items w SET lease_owner = @owner, lease_expires_at = @expires, updated_at = @now
            FROM expired WHERE w.id = expired.id
            RETURNING w.id, w.kind, w.instance_id, w.name, w.unique_key, w.attempt
            """))
        {
            take.Parameters.AddWithValue("now", now);
            take.Parameters.AddWithValue("owner", rescuer);
            take.Parameters.AddWithValue("expires", now + options.LeaseDuration);
            await using var reader = await take.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                exhausted.Add(new ClaimedWork(reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.GetString(3), "{}", KeyOf(reader.GetString(4)), reader.GetInt32(5), RetryPolicy.None, rescuer));
            }
        }

        foreach (var work in exhausted)
        {
            await FailAsync(work, "lease expired on the last attempt: the worker stopped heartbeating", transient: false, null,
                deliverFailure: work.Kind == WorkKinds.Activity, cancellationToken);
        }

        if (requeued > 0)
        {
            logger.LogWarning("Rescued {Count} work items whose lease expired", requeued);
            signal.Notify();
        }

        return requeued + exhausted.Count;
    }

    /// <summary>Deletes completed and failed queue rows older than the retention period; returns the count.</summary>
    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "DELETE FROM work_items WHERE status IN ('completed', 'failed') AND updated_at < @before");
        command.Parameters.AddWithValue("before", clock.GetUtcNow() - options.Retention);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Extends the lease of a running item; <c>false</c> when it is no longer ours (fenced).</summary>
    public async Task<bool> HeartbeatAsync(ClaimedWork work, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var command = dataSource.CreateCommand("""
            UPDATE work_items SET lease_expires_at = @expires, updated_at = @now
            WHERE id = @id AND attempt = @attempt AND status = 'running' AND lease_owner = @owner
            """);
        command.Parameters.AddWithValue("expires", now + options.LeaseDuration);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("id", work.Id);
        command.Parameters.AddWithValue("attempt", work.Attempt);
        command.Parameters.AddWithValue("owner", work.Owner);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private async Task HeartbeatLoopAsync(ClaimedWork work, CancellationTokenSource leaseLost)
    {
        var period = options.LeaseDuration / 3;
        try
        {
            while (!leaseLost.IsCancellationRequested)
            {
                await Task.Delay(period, clock, leaseLost.Token);
                if (!await HeartbeatAsync(work, leaseLost.Token))
                {
                    await leaseLost.CancelAsync();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            // A missed heartbeat is not fatal: the lease is long enough for a few of them.
            logger.LogWarning(ex, "Heartbeat for {Work} failed", work.Name);
        }
    }

    /// <summary>
    /// Completes a row (fenced) and, for instance work, applies the resulting event in the same
    /// transaction. <paramref name="eventJson"/> is a stored event; otherwise <paramref name="eventFactory"/>
    /// makes one (or returns <c>null</c> for none).
    /// </summary>
    private async Task<WorkOutcome> CompleteAsync(ClaimedWork work, Func<IOrchestrationAdapter, object?> eventFactory, string? eventJson, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
            var now = clock.GetUtcNow();
            if (!await FenceAsync(connection, tx, work, "completed", null, now, cancellationToken))
            {
                await tx.RollbackAsync(cancellationToken);
                logger.LogWarning("Completion of {Work} attempt {Attempt} refused: the lease is no longer ours", work.Name, work.Attempt);
                return WorkOutcome.Stale;
            }

            var applied = work.InstanceId is null
                ? ApplyResult.Applied
                : await ApplyAsync(connection, tx, work.InstanceId, eventFactory, eventJson, OriginOf(work), work.Kind, now, cancellationToken);
            if (applied == ApplyResult.Conflict)
            {
                await tx.RollbackAsync(cancellationToken);
                if (attempt >= MaxConcurrencyRetries)
                {
                    throw new InvalidOperationException($"Instance {work.InstanceId} kept changing under {work.Name}; gave up after {attempt} tries.");
                }

                continue;
            }

            await tx.CommitAsync(cancellationToken);
            if (applied == ApplyResult.AppliedWithWork)
            {
                signal.Notify();
            }

            logger.LogDebug("Completed {Kind} {Work} attempt {Attempt}", work.Kind, work.Name, work.Attempt);
            return WorkOutcome.Completed;
        }
    }

    private async Task<WorkOutcome> DeferAsync(ClaimedWork work, TimeSpan delay, string reason, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var command = dataSource.CreateCommand("""
            UPDATE work_items
            SET status = 'pending', due_at = @due, attempt = attempt - 1, lease_owner = NULL, lease_expires_at = NULL,
                last_error = @reason, updated_at = @now
            WHERE id = @id AND attempt = @attempt AND status = 'running' AND lease_owner = @owner
            """);
        command.Parameters.AddWithValue("due", now + delay);
        command.Parameters.AddWithValue("reason", Truncate(reason));
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("id", work.Id);
        command.Parameters.AddWithValue("attempt", work.Attempt);
        command.Parameters.AddWithValue("owner", work.Owner);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1 ? WorkOutcome.Deferred : WorkOutcome.Stale;
    }

    private async Task<WorkOutcome> FailAsync(ClaimedWork work, string error, bool transient, TimeSpan? retryAfter, bool deliverFailure, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var retryPolicy = work.Kind == WorkKinds.Activity ? work.Retry : options.EventRetry;
        if (transient && work.Attempt < retryPolicy.MaxAttempts)
        {
            var delay = Jitter(retryPolicy.DelayBefore(work.Attempt + 1));
            if (retryAfter is { } wait && wait > delay)
            {
                delay = wait;
            }

            await using var command = dataSource.CreateCommand("""
                UPDATE work_items
                SET status = 'pending', due_at = @due, lease_owner = NULL, lease_expires_at = NULL, last_error = @error, updated_at = @now
                WHERE id = @id AND attempt = @attempt AND status = 'running' AND lease_owner = @owner
                """);
            command.Parameters.AddWithValue("due", now + delay);
            command.Parameters.AddWithValue("error", Truncate(error));
            command.Parameters.AddWithValue("now", now);
            command.Parameters.AddWithValue("id", work.Id);
            command.Parameters.AddWithValue("attempt", work.Attempt);
            command.Parameters.AddWithValue("owner", work.Owner);
            return await command.ExecuteNonQueryAsync(cancellationToken) == 1 ? WorkOutcome.Retrying : WorkOutcome.Stale;
        }

        for (var attempt = 1; ; attempt++)
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
            if (!await FenceAsync(connection, tx, work, "failed", error, now, cancellationToken))
            {
                await tx.RollbackAsync(cancellationToken);
                return WorkOutcome.Stale;
            }

            var applied = deliverFailure && work.InstanceId is { } instanceId
                ? await ApplyAsync(connection, tx, instanceId, a => a.ActivityFailed(work.Name, work.Key, error, work.Attempt), null, EventOrigin.FromSystem, work.Kind, now, cancellationToken)
                : ApplyResult.Applied;
            if (applied == ApplyResult.Conflict)
            {
                await tx.RollbackAsync(cancellationToken);
                if (attempt >= MaxConcurrencyRetries)
                {
                    throw new InvalidOperationException($"Instance {work.InstanceId} kept changing; could not record the failure of {work.Name}.");
                }

                continue;
            }

            await tx.CommitAsync(cancellationToken);
            if (applied == ApplyResult.AppliedWithWork)
            {
                signal.Notify();
            }

            if (!deliverFailure)
            {
                logger.LogError("Work item {Work} ({Kind}) failed for good after {Attempts} attempts: {Error}", work.Name, work.Kind, work.Attempt, error);
            }

            return WorkOutcome.Failed;
        }
    }

    private static async Task<bool> FenceAsync(NpgsqlConnection connection, NpgsqlTransaction tx, ClaimedWork work, string status, string? error, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var fence = new NpgsqlCommand("""
            UPDATE work_items
            SET status = @status, completed_at = @now, updated_at = @now, lease_owner = NULL, lease_expires_at = NULL,
                last_error = COALESCE(@error, last_error)
            WHERE id = @id AND attempt = @attempt AND status = 'running' AND lease_owner = @owner
            """, connection, tx);
        fence.Parameters.AddWithValue("status", status);
        fence.Parameters.AddWithValue("now", now);
        fence.Parameters.Add(new NpgsqlParameter("error", NpgsqlDbType.Text) { Value = error is null ? DBNull.Value : Truncate(error) });
        fence.Parameters.AddWithValue("id", work.Id);
        fence.Parameters.AddWithValue("attempt", work.Attempt);
        fence.Parameters.AddWithValue("owner", work.Owner);
        return await fence.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// Loads the instance, decides, and writes state + history + commands + keys in the caller's
    /// transaction. Returns <c>false</c> on a version conflict (the caller retries the transaction).
    /// </summary>
    private async Task<ApplyResult> ApplyAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction tx,
        string instanceId,
        Func<IOrchestrationAdapter, object?> eventFactory,
        string? eventJson,
        EventOrigin origin,
        string workKind,
        DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        string orchestration;
        string? stateJson;
        long version;
        string runtimeBefore;
        string? parentId;
        await using (var load = new NpgsqlCommand("SELECT orchestration, state::text, version, runtime_status, parent_id FROM instances WHERE id = @id", connection, tx))
        {
            load.Parameters.AddWithValue("id", instanceId);
            await using var reader = await load.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                logger.LogWarning("Event for unknown instance {InstanceId} dropped", instanceId);
                return ApplyResult.Applied;
            }

            orchestration = reader.GetString(0);
            stateJson = reader.IsDBNull(1) ? null : reader.GetString(1);
            version = reader.GetInt64(2);
            runtimeBefore = reader.GetString(3);
            parentId = reader.IsDBNull(4) ? null : reader.GetString(4);
        }

        var adapter = registry.Orchestration(orchestration);
        StoredDecision decision;
        if (eventJson is not null)
        {
            decision = adapter.Apply(stateJson, eventJson, now);
        }
        else if (eventFactory(adapter) is { } @event)
        {
            decision = adapter.Apply(stateJson, @event, now);
        }
        else
        {
            return ApplyResult.Applied;
        }

        if (decision.Commands.Count == 0 && decision.CorrelationKeys.Count == 0 && decision.Summary is null
            && stateJson is not null && JsonEquals(stateJson, decision.StateJson))
        {
            return ApplyResult.Applied; // A no-op (late or duplicate event): nothing to record.
        }

        var batch = new NpgsqlBatch(connection, tx);
        await using (batch)
        {
            var update = new NpgsqlBatchCommand("""
                UPDATE instances
                SET state = @state::jsonb, custom_status = @custom, runtime_status = @runtime, version = version + 1, updated_at = @now
                WHERE id = @id AND version = @version
                """);
            update.Parameters.AddWithValue("state", decision.StateJson);
            update.Parameters.AddWithValue("custom", decision.CustomStatus);
            update.Parameters.AddWithValue("runtime", decision.RuntimeStatus.ToString());
            update.Parameters.AddWithValue("now", now);
            update.Parameters.AddWithValue("id", instanceId);
            update.Parameters.AddWithValue("version", version);
            batch.BatchCommands.Add(update);

            var history = new NpgsqlBatchCommand("""
                INSERT INTO history (instance_id, version, event_type, event, custom_status, summary, occurred_at)
                VALUES (@id, @version, @type, @event::jsonb, @custom, @summary, @now)
                """);
            history.Parameters.AddWithValue("id", instanceId);
            history.Parameters.AddWithValue("version", version + 1);
            history.Parameters.AddWithValue("type", decision.EventType);
            history.Parameters.AddWithValue("event", decision.EventJson);
            history.Parameters.AddWithValue("custom", decision.CustomStatus);
            history.Parameters.Add(new NpgsqlParameter("summary", NpgsqlDbType.Text) { Value = (object?)decision.Summary ?? DBNull.Value });
            history.Parameters.AddWithValue("now", now);
            batch.BatchCommands.Add(history);

            var dueNow = false;
            foreach (var command in decision.Commands)
            {
                switch (command)
                {
                    case ScheduleActivity a:
                        batch.BatchCommands.Add(WorkInsert(WorkKinds.Activity, instanceId, a.Activity,
                            JsonSerializer.Serialize(a.Input, a.Input.GetType(), EngineJson.Options), a.Key, now, a.Retry, now));
                        dueNow = true;
                        break;
                    case StartTimer t:
                        batch.BatchCommands.Add(WorkInsert(WorkKinds.Timer, instanceId, t.Name, "{}", t.Key, t.DueAt, RetryPolicy.None, now));
                        dueNow |= t.DueAt <= now;
                        break;
                    default:
                        throw new NotSupportedException($"Unknown command {command.GetType().Name}.");
                }
            }

            var finished = decision.RuntimeStatus is RuntimeStatus.Completed or RuntimeStatus.Failed;
            if (parentId is not null && finished && runtimeBefore != decision.RuntimeStatus.ToString())
            {
                // Tell the parent, in this transaction, once per transition into a final status.
                var parentAdapter = await ParentAdapterAsync(connection, tx, parentId, cancellationToken);
                if (parentAdapter?.ChildFinished(instanceId, orchestration, decision.CustomStatus, decision.RuntimeStatus, decision.Summary) is { } childEvent)
                {
                    batch.BatchCommands.Add(WorkInsert(WorkKinds.Event, parentId, childEvent.GetType().Name, parentAdapter.SerializeEvent(childEvent),
                        $"child:{instanceId}:{version + 1}", now, options.EventRetry, now));
                    dueNow = true;
                }
            }

            foreach (var key in decision.CorrelationKeys)
            {
                var keyInsert = new NpgsqlBatchCommand("INSERT INTO instance_keys (key, instance_id) VALUES (@key, @id) ON CONFLICT DO NOTHING");
                keyInsert.Parameters.AddWithValue("key", key);
                keyInsert.Parameters.AddWithValue("id", instanceId);
                batch.BatchCommands.Add(keyInsert);
            }

            // The read model (if any) rides in the same batch: it commits with this step or not at all.
            if (registry.Projection(orchestration) is { } projection)
            {
                var step = new StepContext(instanceId, orchestration, parentId, decision.StateBefore, decision.StateAfter!, decision.Event!, decision.EventType,
                    decision.CustomStatus, decision.RuntimeStatus, decision.Summary, origin, workKind, now)
                {
                    Version = version + 1,
                };
                foreach (var command in projection.Project(step))
                {
                    batch.BatchCommands.Add(command);
                }
            }

            try
            {
                await batch.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation && ex.ConstraintName == "history_instance_id_version_key")
            {
                return ApplyResult.Conflict;
            }

            if (update.RecordsAffected != 1)
            {
                return ApplyResult.Conflict;
            }

            return dueNow ? ApplyResult.AppliedWithWork : ApplyResult.Applied;
        }
    }

    private async Task<IOrchestrationAdapter?> ParentAdapterAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string parentId, CancellationToken cancellationToken)
    {
        await using var find = new NpgsqlCommand("SELECT orchestration FROM instances WHERE id = @id", connection, tx);
        find.Parameters.AddWithValue("id", parentId);
        return await find.ExecuteScalarAsync(cancellationToken) is string name ? registry.Orchestration(name) : null;
    }

    private NpgsqlBatchCommand EventInsert(string instanceId, string eventType, string eventJson, string eventKey, DateTimeOffset dueAt, DateTimeOffset now, EventOrigin? origin) =>
        WorkInsert(WorkKinds.Event, instanceId, eventType, eventJson, eventKey, dueAt, options.EventRetry, now, origin);

    private static NpgsqlBatchCommand WorkInsert(string kind, string? instanceId, string name, string payloadJson, string key, DateTimeOffset dueAt, RetryPolicy retry, DateTimeOffset now, EventOrigin? origin = null)
    {
        var insert = new NpgsqlBatchCommand("""
            INSERT INTO work_items (kind, instance_id, name, payload, unique_key, due_at, max_attempts,
                                    retry_first_ms, retry_coefficient, retry_max_ms, created_at, updated_at, origin)
            VALUES (@kind, @instance, @name, @payload::jsonb, @key, @due, @max, @first, @coef, @cap, @now, @now, @origin::jsonb)
            ON CONFLICT (unique_key) DO NOTHING
            """);
        insert.Parameters.AddWithValue("kind", kind);
        insert.Parameters.Add(new NpgsqlParameter("instance", NpgsqlDbType.Text) { Value = (object?)instanceId ?? DBNull.Value });
        insert.Parameters.AddWithValue("name", name);
        insert.Parameters.AddWithValue("payload", payloadJson);
        insert.Parameters.AddWithValue("key", UniqueKey(instanceId, kind, key));
        insert.Parameters.AddWithValue("due", dueAt);
        insert.Parameters.AddWithValue("max", Math.Max(1, retry.MaxAttempts));
        insert.Parameters.AddWithValue("first", (long)retry.FirstRetryInterval.TotalMilliseconds);
        insert.Parameters.AddWithValue("coef", retry.BackoffCoefficient);
        insert.Parameters.AddWithValue("cap", (long)retry.MaxRetryInterval.TotalMilliseconds);
        insert.Parameters.AddWithValue("now", now);
        insert.Parameters.Add(new NpgsqlParameter("origin", NpgsqlDbType.Text)
        {
            Value = origin is null ? DBNull.Value : JsonSerializer.Serialize(origin, EngineJson.Options),
        });
        return insert;
    }

    /// <summary>
    /// The command that queues system activity <paramref name="activity"/> (no instance: its result goes nowhere) unless
    /// <paramref name="key"/> is already queued — for step projections that enqueue side effects in the step's
    /// transaction (<see cref="IStepProjection"/>). Idle workers find it at their next poll.
    /// </summary>
    /// <param name="activity">Registered activity name.</param>
    /// <param name="input">Its input (serialised as JSON).</param>
    /// <param name="key">Idempotency key (unique among system activities).</param>
    /// <param name="retry">Retry policy.</param>
    /// <param name="now">Due time and timestamps.</param>
    /// <returns>The insert command, without a connection.</returns>
    public static NpgsqlBatchCommand SystemActivityInsert(string activity, object input, string key, RetryPolicy retry, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(input);
        return WorkInsert(WorkKinds.Activity, null, activity, JsonSerializer.Serialize(input, input.GetType(), EngineJson.Options), key, now, retry, now);
    }

    /// <summary>Who raised the work: a raised event's stored origin; the orchestrator itself for everything else.</summary>
    private static EventOrigin OriginOf(ClaimedWork work) =>
        work.Kind == WorkKinds.Event && work.Origin is { } origin ? origin : EventOrigin.FromSystem;

    /// <summary>
    /// The queue's unique key: <c>instance|kind|key</c> (<c>sys|kind|key</c> for system work). The kind is
    /// part of it so that an event key can never swallow an activity or timer with the same key.
    /// </summary>
    public static string UniqueKey(string? instanceId, string kind, string key) => $"{instanceId ?? SystemPrefix}|{kind}|{key}";

    private static string KeyOf(string uniqueKey)
    {
        var first = uniqueKey.IndexOf('|', StringComparison.Ordinal);
        var second = first < 0 ? -1 : uniqueKey.IndexOf('|', first + 1);
        return second < 0 ? uniqueKey : uniqueKey[(second + 1)..];
    }

    /// <summary>
    /// Exception → (transient?, Retry-After): how an activity failure is retried, the same on both runtimes (the
    /// Durable Task activity adapter treats a non-transient failure as a permanent outcome).
    /// </summary>
    /// <param name="ex">The activity's exception.</param>
    /// <returns>Whether a retry can help, and the wait the platform asked for.</returns>
    public static (bool Transient, TimeSpan? RetryAfter) Classify(Exception ex) => ex switch
    {
        PermanentActivityException or OutboundRefusedException => (false, null),
        PlatformApiException p => (p.IsTransient, p.RetryAfter),
        RetryableActivityException r => (true, r.RetryAfter),
        JsonException => (false, null),
        HttpRequestException or TimeoutException or IOException or NpgsqlException => (true, null),
        _ => (true, null),
    };

    private static TimeSpan Jitter(TimeSpan delay) =>
        delay <= TimeSpan.Zero ? delay : TimeSpan.FromMilliseconds(delay.TotalMilliseconds * (0.8 + (Random.Shared.NextDouble() * 0.4)));

    private static string Truncate(string error) => error.Length <= 2000 ? error : error[..2000];

    private static bool JsonEquals(string storedJsonb, string newJson)
    {
        // jsonb re-orders keys, so compare parsed documents rather than text.
        using var a = JsonDocument.Parse(storedJsonb);
        using var b = JsonDocument.Parse(newJson);
        return JsonElement.DeepEquals(a.RootElement, b.RootElement);
    }

    private enum ApplyResult
    {
        Conflict,
        Applied,
        AppliedWithWork,
    }
}

using Microsoft.Extensions.Logging;
using Npgsql;

namespace Orchestrator.Shared.Engine;

/// <summary>
/// Wakes workers when new work is due: at once in this process, and in other hosts through a
/// PostgreSQL <c>NOTIFY</c> on <see cref="Channel"/>, coalesced to at most one per
/// <see cref="CoalesceWindow"/> (a NOTIFY per commit would serialise commits on the notify queue lock).
/// Workers also poll, so a lost notification only delays work.
/// </summary>
public sealed class WorkSignal : IAsyncDisposable
{
    private readonly NpgsqlDataSource? _dataSource;
    private readonly ILogger<WorkSignal>? _logger;
    private readonly SemaphoreSlim _local = new(0, 1);
    private readonly SemaphoreSlim _remote = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sender;

    /// <summary>Creates the signal; with a data source it also notifies other hosts.</summary>
    public WorkSignal(NpgsqlDataSource? dataSource, ILogger<WorkSignal>? logger)
    {
        _dataSource = dataSource;
        _logger = logger;
        Channel = dataSource is null ? "orch_work" : ChannelFor(Database.SchemaOf(dataSource.ConnectionString));
        _sender = dataSource is null ? Task.CompletedTask : Task.Run(SendLoopAsync);
    }

    /// <summary>How long NOTIFYs are coalesced (20 ms).</summary>
    public static TimeSpan CoalesceWindow { get; } = TimeSpan.FromMilliseconds(20);

    /// <summary>The LISTEN/NOTIFY channel: <c>orch_work_&lt;schema&gt;</c>.</summary>
    public string Channel { get; }

    /// <summary>Channel name for a schema (identifier-safe, ≤ 63 bytes).</summary>
    public static string ChannelFor(string schema)
    {
        var safe = new string(schema.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '_').ToArray());
        var name = "orch_work_" + safe;
        return name.Length <= 63 ? name : name[..63];
    }

    /// <summary>New work is due: wake local workers now and other hosts shortly.</summary>
    public void Notify()
    {
        WakeLocal();
        if (_remote.CurrentCount == 0)
        {
            try
            {
                _remote.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    /// <summary>Wakes workers in this process only (used by the LISTEN loop).</summary>
    public void WakeLocal()
    {
        if (_local.CurrentCount == 0)
        {
            try
            {
                _local.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    /// <summary>Waits until woken or <paramref name="timeout"/> passes.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _local.WaitAsync(timeout, cancellationToken);

    private async Task SendLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _remote.WaitAsync(_stop.Token);
                await using var command = _dataSource!.CreateCommand($"NOTIFY {Channel}");
                await command.ExecuteNonQueryAsync(_stop.Token);
                await Task.Delay(CoalesceWindow, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex)
            {
                _logger?.LogDebug(ex, "NOTIFY failed; workers fall back to polling");
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sender;
        _stop.Dispose();
        _local.Dispose();
        _remote.Dispose();
    }
}

using System.Data.Common;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Threading.Channels;
using AgentHub.Observability;
using AgentHub.Storage;
using Dapper;
using Microsoft.Extensions.Options;

namespace AgentHub.Audit;

/// <summary>The audit log could not write a record; the request that needed it must fail (fail closed).</summary>
internal sealed class AuditUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Appends records with group commit: concurrent callers' records are committed together in one transaction, and each
/// caller returns only once its record is durable. Sequence numbers and the hash chain are assigned inside the
/// database-wide audit lock, so several instances on one PostgreSQL database still write one linear chain.
/// </summary>
internal sealed partial class AuditLog : IAsyncDisposable
{
    private readonly HubDatabase _database;
    private readonly TimeProvider _time;
    private readonly HubMetrics _metrics;
    private readonly ILogger<AuditLog> _logger;
    private readonly AuditOptions _options;
    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(65_536)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private readonly Lock _startLock = new();
    private Task? _loop;

    // Records of reads made while the disk was full (see Hold), oldest first, written once there is room again.
    private const int MaxHeld = 10_000;
    private static readonly TimeSpan HeldRetry = TimeSpan.FromSeconds(1);
    private readonly System.Collections.Concurrent.ConcurrentQueue<AuditEvent> _held = new();
    private int _heldCount;
    private int _heldWriter;

    public AuditLog(HubDatabase database, TimeProvider time, HubMetrics metrics, IOptions<AuditOptions> options, ILogger<AuditLog> logger)
    {
        _database = database;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _options = options.Value;
    }

    /// <summary>Raised after a batch commits with the new log size; the checkpointer listens.</summary>
    public event Action<long>? Committed;

    /// <summary>Appends one record and returns once it is durable; throws <see cref="AuditUnavailableException"/> otherwise.</summary>
    public Task AppendAsync(AuditEvent auditEvent) => EnqueueAsync(new Pending(auditEvent));

    /// <summary>Appends two records and returns once both are durable (queued together, so usually one commit).</summary>
    public async Task AppendAsync(AuditEvent first, AuditEvent second)
    {
        var a = EnqueueAsync(new Pending(first));
        var b = EnqueueAsync(new Pending(second));
        await a;
        await b;
    }

    /// <summary>
    /// Queues a record for the next batch and returns once it is queued (waiting only while the queue is full), not once
    /// it is durable. Only for a record that nothing waits on: the outcome of a call whose answer has already gone out,
    /// so the caller's connection does not wait for a commit that changes nothing for it. A failed write is logged.
    /// <see cref="FlushAsync"/> waits for it, and so does shutdown.
    /// </summary>
    public async ValueTask QueueAsync(AuditEvent auditEvent)
    {
        EnsureStarted();
        var pending = new Pending(auditEvent, background: true);
        if (!_queue.Writer.TryWrite(pending))
        {
            try
            {
                await _queue.Writer.WriteAsync(pending);
            }
            catch (ChannelClosedException e)
            {
                throw new AuditUnavailableException("The audit log is shut down.", e);
            }
        }
    }

    /// <summary>
    /// Returns once every record queued before the call is written (or has failed): whoever reads the log then sees
    /// the records of every call already answered.
    /// </summary>
    public async Task FlushAsync()
    {
        try
        {
            await EnqueueAsync(new Pending(null));
        }
        catch (AuditUnavailableException)
        {
            // what failed is logged; the reader sees what is there
        }
    }

    /// <summary>
    /// Keeps a record that could not be written because the storage is full, and writes it as soon as there is room
    /// again (its details say when it happened). Only for records of reads, which a full disk must not stop: a change
    /// still fails closed. False when too many records wait already (the caller then fails closed too). Held records
    /// live in memory only: a crash before the disk has room loses them, and the log names each such read.
    /// </summary>
    public bool Hold(AuditEvent auditEvent)
    {
        if (Interlocked.Increment(ref _heldCount) > MaxHeld)
        {
            Interlocked.Decrement(ref _heldCount);
            return false;
        }

        var details = new Dictionary<string, string>(auditEvent.Details ?? new Dictionary<string, string>())
        {
            ["held_since"] = _time.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        };
        _held.Enqueue(auditEvent with { Details = details });
        if (Interlocked.CompareExchange(ref _heldWriter, 1, 0) == 0)
        {
            using (ExecutionContext.SuppressFlow())
            {
                _ = Task.Run(WriteHeldAsync);
            }
        }

        return true;
    }

    /// <summary>How many records wait for room on the disk.</summary>
    public int HeldCount => Volatile.Read(ref _heldCount);

    private async Task WriteHeldAsync()
    {
        while (true)
        {
            await Task.Delay(HeldRetry, _time);
            var written = 0;
            while (_held.TryPeek(out var next))
            {
                try
                {
                    await EnqueueAsync(new Pending(next));
                }
                catch (AuditUnavailableException)
                {
                    break; // still no room: try again later
                }

                _held.TryDequeue(out _);
                Interlocked.Decrement(ref _heldCount);
                written++;
            }

            if (written > 0)
            {
                LogHeldWritten(written);
            }

            if (_held.IsEmpty)
            {
                Volatile.Write(ref _heldWriter, 0);
                // a record held meanwhile found the writer still running; take the turn back if so
                if (_held.IsEmpty || Interlocked.CompareExchange(ref _heldWriter, 1, 0) != 0)
                {
                    return;
                }
            }
        }
    }

    private async Task EnqueueAsync(Pending pending)
    {
        EnsureStarted();
        if (!_queue.Writer.TryWrite(pending))
        {
            try
            {
                await _queue.Writer.WriteAsync(pending);
            }
            catch (ChannelClosedException e)
            {
                throw new AuditUnavailableException("The audit log is shut down.", e);
            }
        }

        await pending.Completion.Task;
    }

    private void EnsureStarted()
    {
        if (_loop is not null)
        {
            return;
        }

        lock (_startLock)
        {
            // The loop must not inherit the first caller's ambient state (e.g. HubDatabase's writer flag).
            using (ExecutionContext.SuppressFlow())
            {
                _loop ??= Task.Run(RunAsync);
            }
        }
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(_options.MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < _options.MaxBatch && _queue.Reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            var started = Stopwatch.GetTimestamp();
            var records = batch.Count(p => p.Event is not null);
            try
            {
                if (records > 0)
                {
                    var size = await WriteBatchAsync(batch, CancellationToken.None);
                    _metrics.AuditAppended(records, Stopwatch.GetElapsedTime(started));
                    Committed?.Invoke(size);
                }

                foreach (var pending in batch)
                {
                    pending.Completion.TrySetResult();
                }
            }
            catch (Exception e)
            {
                // Whatever went wrong, this batch fails (its requests answer 503) and the loop lives on: a dead loop
                // would leave every later request waiting for a record that is never written.
                _metrics.AuditWriteFailed();
                if (StorageFull.Is(e))
                {
                    StorageFull.Log(_logger, e); // once a minute, not once a batch
                }
                else
                {
                    LogWriteFailed(e, records);
                }

                var failure = new AuditUnavailableException("The audit record could not be written.", e);
                var background = 0;
                foreach (var pending in batch)
                {
                    if (pending.Background)
                    {
                        background++;
                        pending.Completion.TrySetResult(); // nobody awaits it: the log line below is its report
                    }
                    else
                    {
                        pending.Completion.TrySetException(failure);
                    }
                }

                if (background > 0)
                {
                    LogOutcomesLost(background);
                }
            }

            batch.Clear();
        }
    }

    private Task<long> WriteBatchAsync(List<Pending> batch, CancellationToken ct) =>
        _database.ExclusiveAsync((connection, transaction) =>
            WriteAsync(connection, transaction, _database.Provider, batch.Where(p => p.Event is not null).Select(p => p.Event!).ToList(), _time.GetUtcNow(), ct),
            ct, HubDatabase.AuditLock);

    /// <summary>
    /// Writes records inside the caller's transaction, so a change and its audit record commit together or not at all.
    /// On PostgreSQL it takes the audit advisory lock (held to commit); SQLite's write transaction already serialises.
    /// Returns the new log size.
    /// </summary>
    public static async Task<long> WriteAsync(DbConnection connection, DbTransaction transaction, DatabaseProvider provider,
        IReadOnlyList<AuditEvent> events, DateTimeOffset now, CancellationToken ct)
    {
        if (provider == DatabaseProvider.Postgres)
        {
            await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_xact_lock(@key)",
                new { key = HubDatabase.AuditLock }, transaction, cancellationToken: ct));
        }

        var last = await connection.QueryFirstOrDefaultAsync<(long Seq, byte[] Hash)?>(new CommandDefinition(
            "SELECT seq, chain_hash FROM audit_records ORDER BY seq DESC LIMIT 1", transaction: transaction, cancellationToken: ct));
        var seq = last?.Seq ?? 0;
        var previous = last?.Hash ?? new byte[32];
        var rows = new List<Row>(events.Count);
        var time = UnixTime.Ms(now);
        foreach (var e in events)
        {
            var record = new AuditRecord(++seq, now, e.Type, e.Actor, e.Target, e.Outcome, e.Details ?? new Dictionary<string, string>());
            var canonical = record.Canonical();
            var chain = ChainHash(previous, canonical);
            rows.Add(new Row(seq, time, e, System.Text.Encoding.UTF8.GetString(canonical), Merkle.LeafHash(canonical), chain));
            previous = chain;
        }

        try
        {
            await InsertAsync(connection, transaction, rows, ct);
        }
        catch (DbException e)
        {
            // The caller's transaction rolls back with it: no change without its record.
            throw new AuditUnavailableException("The audit record could not be written.", e);
        }

        return seq;
    }

    private const string InsertSql = """
        INSERT INTO audit_records (seq, time, type, actor, target, outcome, record, leaf_hash, chain_hash)
        VALUES (@seq, @time, @type, @actor, @target, @outcome, @record, @leaf_hash, @chain_hash)
        """;

    private static readonly string[] InsertParameters = ["seq", "time", "type", "actor", "target", "outcome", "record", "leaf_hash", "chain_hash"];

    // Named as in the SQL, prefix included: Microsoft.Data.Sqlite then finds each on its first try, where a bare name
    // costs it a lookup per prefix (@, $, :) on every row.
    private static readonly string[] SqliteInsertParameters = InsertParameters.Select(name => "@" + name).ToArray();

    private sealed record Row(long Seq, long Time, AuditEvent Event, string Record, byte[] LeafHash, byte[] ChainHash)
    {
        public object?[] Values => [Seq, Time, Event.Type, Event.Actor, (object?)Event.Target ?? DBNull.Value, Event.Outcome, Record, LeafHash, ChainHash];
    }

    /// <summary>
    /// One statement, its parameters bound row by row: PostgreSQL gets the rows in one round trip (a batch); SQLite,
    /// in process, runs its prepared statement once per row.
    /// </summary>
    private static async Task InsertAsync(DbConnection connection, DbTransaction transaction, List<Row> rows, CancellationToken ct)
    {
        if (connection.CanCreateBatch)
        {
            await using var batch = connection.CreateBatch();
            batch.Transaction = transaction;
            foreach (var row in rows)
            {
                var command = batch.CreateBatchCommand();
                command.CommandText = InsertSql;
                var values = row.Values;
                for (var i = 0; i < InsertParameters.Length; i++)
                {
                    var parameter = command.CreateParameter();
                    parameter.ParameterName = InsertParameters[i];
                    parameter.Value = values[i];
                    command.Parameters.Add(parameter);
                }

                batch.BatchCommands.Add(command);
            }

            await batch.ExecuteNonQueryAsync(ct);
            return;
        }

        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = InsertSql;
        var parameters = new DbParameter[InsertParameters.Length];
        for (var i = 0; i < parameters.Length; i++)
        {
            parameters[i] = insert.CreateParameter();
            parameters[i].ParameterName = SqliteInsertParameters[i];
            insert.Parameters.Add(parameters[i]);
        }

        foreach (var row in rows)
        {
            var values = row.Values;
            for (var i = 0; i < parameters.Length; i++)
            {
                parameters[i].Value = values[i];
            }

            await insert.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>chain = SHA-256(previous chain hash ‖ canonical record); the first record's previous hash is 32 zero bytes.</summary>
    public static byte[] ChainHash(byte[] previous, byte[] canonical)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(previous.Length + canonical.Length);
        try
        {
            previous.CopyTo(buffer, 0);
            canonical.CopyTo(buffer, previous.Length);
            return SHA256.HashData(buffer.AsSpan(0, previous.Length + canonical.Length));
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (HeldCount > 0)
        {
            LogHeldLost(HeldCount);
        }

        _queue.Writer.TryComplete();
        if (_loop is not null)
        {
            await _loop;
        }
    }

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "{Count} audit records held while the storage was full are written")]
    private partial void LogHeldWritten(int count);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "{Count} audit records held while the storage was full are lost at shutdown; the log names each read they recorded")]
    private partial void LogHeldLost(int count);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "Audit batch of {Count} records could not be written; the requests fail")]
    private partial void LogWriteFailed(Exception exception, int count);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "The outcome records of {Count} calls could not be written to the audit log; their relay.call records are on record")]
    private partial void LogOutcomesLost(int count);

    /// <summary>A record to write; or, without one, a barrier that completes once everything queued before it is written.</summary>
    private sealed class Pending(AuditEvent? auditEvent, bool background = false)
    {
        public AuditEvent? Event { get; } = auditEvent;

        public bool Background { get; } = background;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

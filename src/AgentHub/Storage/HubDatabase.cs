using System.Data.Common;
using Npgsql;

namespace AgentHub.Storage;

/// <summary>
/// The hub's database: one <see cref="DbDataSource"/> per process, a connection per operation.
/// Stores write portable SQL (named parameters, ON CONFLICT, RETURNING work on both engines);
/// the few engine differences are resolved here.
/// </summary>
internal sealed class HubDatabase : IAsyncDisposable
{
    /// <summary>Advisory lock key (PostgreSQL) for migrations, bootstrap and identity invariants.</summary>
    public const long SchemaLock = 0x4167_656E_7448_7562; // "AgentHub"

    /// <summary>Advisory lock key for appending to the audit log, so its sequence and chain stay linear across instances.</summary>
    public const long AuditLock = 0x4167_656E_7441_7564; // "AgentAud"

    // SQLite has one writer at a time. Writers of this process queue here, asynchronously, instead of meeting in
    // SQLite's busy handler, which blocks a thread and sleeps up to 100 ms per retry: under load that sleep, not the
    // write, was the latency. The flag marks a flow that holds the gate, so a nested write cannot wait on itself.
    private readonly SemaphoreSlim? _sqliteWriter;
    private static readonly AsyncLocal<bool> HoldsWriter = new();

    public HubDatabase(DbDataSource dataSource, DatabaseProvider provider, string description)
    {
        DataSource = dataSource;
        Provider = provider;
        Description = description;
        _sqliteWriter = provider == DatabaseProvider.Sqlite ? new SemaphoreSlim(1, 1) : null;
    }

    public DbDataSource DataSource { get; }

    public DatabaseProvider Provider { get; }

    /// <summary>Where the data lives, without credentials (safe to log).</summary>
    public string Description { get; }

    public ValueTask<DbConnection> OpenAsync(CancellationToken ct) => DataSource.OpenConnectionAsync(ct);

    /// <summary>
    /// Runs <paramref name="work"/> in a transaction that no other hub instance can run at the same time:
    /// SQLite takes the write lock at BEGIN (IMMEDIATE); PostgreSQL takes a transaction-scoped advisory lock.
    /// Used for migrations, first-start bootstrap, check-then-write invariants and the audit log's batches.
    /// </summary>
    public Task<T> ExclusiveAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct, long lockKey = SchemaLock) =>
        WriteAsync(work, ct, lockKey);

    /// <summary>
    /// Runs <paramref name="work"/> in a write transaction and commits it. On SQLite the writers of this process take
    /// turns before BEGIN IMMEDIATE; on PostgreSQL, with <paramref name="lockKey"/>, the transaction first takes that
    /// advisory lock (without one, PostgreSQL's row locks are all the serialisation there is).
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct, long? lockKey = null)
    {
        var gate = _sqliteWriter is not null && !HoldsWriter.Value ? _sqliteWriter : null;
        if (gate is not null)
        {
            await gate.WaitAsync(ct);
        }

        try
        {
            if (gate is not null)
            {
                HoldsWriter.Value = true; // flows into work, and is gone again when this method returns
            }

            await using var connection = await OpenAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            if (Provider == DatabaseProvider.Postgres && lockKey is { } key)
            {
                await using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = "SELECT pg_advisory_xact_lock(@key)";
                var parameter = command.CreateParameter();
                parameter.ParameterName = "key";
                parameter.Value = key;
                command.Parameters.Add(parameter);
                await command.ExecuteNonQueryAsync(ct);
            }

            var result = await work(connection, transaction);
            await transaction.CommitAsync(ct);
            return result;
        }
        finally
        {
            gate?.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        _sqliteWriter?.Dispose();
    }

    /// <summary>
    /// Opens the database named by <paramref name="database"/>: empty means SQLite in <paramref name="dataDir"/>;
    /// otherwise an Npgsql connection string or a postgres:// URL.
    /// </summary>
    public static HubDatabase Open(string? database, string dataDir)
    {
        if (string.IsNullOrWhiteSpace(database))
        {
            // Only SQLite needs the data directory; with PostgreSQL, 'migrate' runs on a read-only file system too.
            var path = Path.GetFullPath(Path.Combine(DataDirectory.Ensure(dataDir), "agenthub.db"));
            DataDirectory.CreatePrivateFile(path); // SQLite gives its -wal and -shm files the same mode
            return new HubDatabase(new SqliteDataSource(path), DatabaseProvider.Sqlite, $"SQLite {path}");
        }

        var builder = new NpgsqlConnectionStringBuilder(PostgresUrl.ToConnectionString(database));
        var dataSource = new NpgsqlDataSourceBuilder(builder.ConnectionString).Build();
        return new HubDatabase(dataSource, DatabaseProvider.Postgres, $"PostgreSQL {builder.Host}:{builder.Port}/{builder.Database}");
    }
}

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

    public HubDatabase(DbDataSource dataSource, DatabaseProvider provider, string description)
    {
        DataSource = dataSource;
        Provider = provider;
        Description = description;
    }

    public DbDataSource DataSource { get; }

    public DatabaseProvider Provider { get; }

    /// <summary>Where the data lives, without credentials (safe to log).</summary>
    public string Description { get; }

    public ValueTask<DbConnection> OpenAsync(CancellationToken ct) => DataSource.OpenConnectionAsync(ct);

    /// <summary>
    /// Runs <paramref name="work"/> in a transaction that no other hub instance can run at the same time:
    /// SQLite takes the write lock at BEGIN (IMMEDIATE); PostgreSQL takes a transaction-scoped advisory lock.
    /// Used for migrations, first-start bootstrap and check-then-write invariants.
    /// </summary>
    public async Task<T> ExclusiveAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct, long lockKey = SchemaLock)
    {
        await using var connection = await OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (Provider == DatabaseProvider.Postgres)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "SELECT pg_advisory_xact_lock(@key)";
            var parameter = command.CreateParameter();
            parameter.ParameterName = "key";
            parameter.Value = lockKey;
            command.Parameters.Add(parameter);
            await command.ExecuteNonQueryAsync(ct);
        }

        var result = await work(connection, transaction);
        await transaction.CommitAsync(ct);
        return result;
    }

    public ValueTask DisposeAsync() => DataSource.DisposeAsync();

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

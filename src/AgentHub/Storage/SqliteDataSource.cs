using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace AgentHub.Storage;

/// <summary>
/// A <see cref="DbDataSource"/> for SQLite, so stores see one abstraction for both engines.
/// Every connection runs with <c>synchronous=FULL</c> (an acknowledged write survives power loss), foreign keys on,
/// and a busy timeout so concurrent writers wait for the lock instead of failing.
/// </summary>
internal sealed class SqliteDataSource : DbDataSource
{
    private static readonly ConditionalWeakTable<SQLitePCL.sqlite3, object> Configured = new();
    private static readonly object Marker = new();
    private readonly string _connectionString;

    public SqliteDataSource(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            ForeignKeys = true,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string Path { get; }

    public override string ConnectionString => _connectionString;

    protected override DbConnection CreateDbConnection() => new SqliteConnection(_connectionString);

    protected override DbConnection OpenDbConnection()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Configure(connection);
        return connection;
    }

    protected override async ValueTask<DbConnection> OpenDbConnectionAsync(CancellationToken cancellationToken = default)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        Configure(connection);
        return connection;
    }

    private static void Configure(SqliteConnection connection)
    {
        // The settings belong to the native connection, which the pool hands out again and again: set them once.
        var handle = connection.Handle;
        if (handle is not null && Configured.TryGetValue(handle, out _))
        {
            return;
        }

        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000;";
        command.ExecuteNonQuery();
        if (handle is not null)
        {
            Configured.AddOrUpdate(handle, Marker);
        }
    }
}

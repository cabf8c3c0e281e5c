using System.Diagnostics.CodeAnalysis;
using AgentHub.Storage;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace AgentHub.Benchmarks.Throughput;

/// <summary>
/// A fresh hub database at the latest schema, opened and migrated by the hub's own code (so SQLite runs with WAL and
/// synchronous=FULL, as the hub does): a SQLite file in a temp dir, or a uniquely named PostgreSQL database. Disposing
/// removes it.
/// </summary>
internal sealed class BenchDatabase : IAsyncDisposable
{
    private readonly DirectoryInfo _dir;
    private readonly string? _server;
    private readonly string? _name;

    private BenchDatabase(HubDatabase hub, DirectoryInfo dir, string? server, string? name)
    {
        Hub = hub;
        _dir = dir;
        _server = server;
        _name = name;
    }

    public HubDatabase Hub { get; }

    public static async Task<BenchDatabase> CreateSqliteAsync()
    {
        var dir = Directory.CreateTempSubdirectory("agenthub-bench-");
        return await MigrateAsync(new BenchDatabase(HubDatabase.Open(null, dir.FullName), dir, null, null));
    }

    public static async Task<BenchDatabase> CreatePostgresAsync(string server)
    {
        var name = "agenthub_bench_" + Guid.NewGuid().ToString("N")[..16];
        await OnServerAsync(server, "CREATE DATABASE", name);
        var connection = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
        var dir = Directory.CreateTempSubdirectory("agenthub-bench-");
        return await MigrateAsync(new BenchDatabase(HubDatabase.Open(connection, dir.FullName), dir, server, name));
    }

    public async Task<long> CountAuditRecordsAsync()
    {
        await using var connection = await Hub.OpenAsync(CancellationToken.None);
        return await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit_records");
    }

    public async ValueTask DisposeAsync()
    {
        await Hub.DisposeAsync();
        if (_server is not null)
        {
            await OnServerAsync(_server, "DROP DATABASE IF EXISTS", _name!, " WITH (FORCE)");
        }

        _dir.Delete(recursive: true);
    }

    private static async Task<BenchDatabase> MigrateAsync(BenchDatabase database)
    {
        try
        {
            await new Migrator(database.Hub, TimeProvider.System, NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);
            return database;
        }
        catch
        {
            await database.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs <c>{statement} {name}{suffix}</c> on the server (database names cannot be bound as parameters).</summary>
    [SuppressMessage("Security", "CA2100", Justification = "Statements and suffixes are literals of this class; the name is generated here from a fixed prefix and a GUID, never taken from input.")]
    private static async Task OnServerAsync(string server, string statement, string name, string suffix = "")
    {
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"{statement} {name}{suffix}", connection);
        await command.ExecuteNonQueryAsync();
    }
}

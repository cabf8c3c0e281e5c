using System.Data.Common;
using AgentHub.Storage;
using Dapper;
using Microsoft.Data.Sqlite;

namespace AgentHub.Tests.Storage;

/// <summary>The settings every SQLite connection of the hub runs with, on a fresh native connection and on a pooled one.</summary>
public sealed class SqliteDataSourceTests : IDisposable
{
    private readonly DirectoryInfo _dir;
    private readonly SqliteDataSource _source;

    public SqliteDataSourceTests()
    {
        _dir = Directory.CreateTempSubdirectory("agenthub-sqlite-");
        _source = new SqliteDataSource(Path.Combine(_dir.FullName, "hub.db"));
    }

    [Fact]
    public async Task Every_connection_is_durable_waits_for_the_lock_and_checkpoints_its_log_every_10000_pages()
    {
        // Two at once (two native connections), then one of them again from the pool.
        await using (var first = await _source.OpenConnectionAsync())
        await using (var second = await _source.OpenConnectionAsync())
        {
            await AssertSettingsAsync(first);
            await AssertSettingsAsync(second);
        }

        await using var pooled = await _source.OpenConnectionAsync();
        await AssertSettingsAsync(pooled);
    }

    private static async Task AssertSettingsAsync(DbConnection connection)
    {
        Assert.Equal(2, await connection.ExecuteScalarAsync<long>("PRAGMA synchronous")); // FULL
        Assert.Equal(30_000, await connection.ExecuteScalarAsync<long>("PRAGMA busy_timeout"));
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("PRAGMA foreign_keys"));
        Assert.Equal(10_000, await connection.ExecuteScalarAsync<long>("PRAGMA wal_autocheckpoint"));
        Assert.Equal(64L * 1024 * 1024, await connection.ExecuteScalarAsync<long>("PRAGMA journal_size_limit"));
    }

    public void Dispose()
    {
        // Only this test's pool: the native connections close, so the directory can go.
        using (var connection = new SqliteConnection(_source.ConnectionString))
        {
            SqliteConnection.ClearPool(connection);
        }

        _source.Dispose();
        _dir.Delete(recursive: true);
    }
}

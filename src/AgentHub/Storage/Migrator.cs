using System.Data.Common;
using Dapper;

namespace AgentHub.Storage;

/// <summary>
/// Applies pending migrations under the database-wide exclusive lock, so several instances starting at once
/// apply each migration exactly once; the others wait, then find nothing to do.
/// </summary>
internal sealed partial class Migrator(HubDatabase database, TimeProvider time, ILogger<Migrator> logger)
{
    private const string CreateHistory = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )
        """;

    /// <summary>Applies what is pending; returns how many migrations ran.</summary>
    public async Task<int> MigrateAsync(CancellationToken ct)
    {
        if (database.Provider == DatabaseProvider.Sqlite)
        {
            // WAL cannot be switched inside a transaction; it is persistent once set.
            await using var connection = await database.OpenAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition("PRAGMA journal_mode=WAL", cancellationToken: ct));
        }

        return await database.ExclusiveAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync(new CommandDefinition(CreateHistory, transaction: transaction, cancellationToken: ct));
            var applied = (await connection.QueryAsync<int>(new CommandDefinition(
                "SELECT version FROM schema_migrations", transaction: transaction, cancellationToken: ct))).ToHashSet();
            if (applied.Count > 0 && applied.Max() > Migrations.Latest)
            {
                throw new InvalidOperationException(
                    $"The database schema is at version {applied.Max()}, newer than this agenthub ({Migrations.Latest}). Upgrade agenthub.");
            }

            var count = 0;
            foreach (var migration in Migrations.All.Where(m => !applied.Contains(m.Version)))
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    migration.SqlFor(database.Provider), transaction: transaction, cancellationToken: ct));
                await connection.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@Version, @Name, @At)",
                    new { migration.Version, migration.Name, At = time.GetUtcNow().ToUnixTimeMilliseconds() },
                    transaction, cancellationToken: ct));
                LogApplied(migration.Version, migration.Name);
                count++;
            }

            return count;
        }, ct);
    }

    /// <summary>The highest applied version, or null when the database has no schema yet.</summary>
    public async Task<int?> CurrentVersionAsync(CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        try
        {
            return await connection.ExecuteScalarAsync<int?>(new CommandDefinition(
                "SELECT MAX(version) FROM schema_migrations", cancellationToken: ct));
        }
        catch (DbException) when (!ct.IsCancellationRequested)
        {
            // No history table yet: nothing has been migrated.
            return null;
        }
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Applied migration {Version}: {Name}")]
    private partial void LogApplied(int version, string name);
}

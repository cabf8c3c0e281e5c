using Npgsql;

namespace AgentHub.Tests.Infrastructure;

/// <summary>
/// The real PostgreSQL server eng/test.sh starts (<c>AGENTHUB_TEST_POSTGRES</c>). Each caller gets a fresh database,
/// so tests never see each other's rows. No server is a failure, never a silent pass.
/// </summary>
public static class Postgres
{
    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable("AGENTHUB_TEST_POSTGRES") is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException(
                "AGENTHUB_TEST_POSTGRES is not set: run the tests through eng/test.sh, which starts a PostgreSQL server, " +
                "or point the variable at one (Host=...;Port=...;Username=...;Database=postgres).");

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var name = "agenthub_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(ServerConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = name }.ConnectionString;
    }
}

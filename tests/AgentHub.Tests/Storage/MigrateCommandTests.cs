using AgentHub.Storage;
using AgentHub.Tests.Infrastructure;
using Npgsql;

namespace AgentHub.Tests.Storage;

/// <summary><c>agenthub migrate</c> as a real process, on a data directory (SQLite) and on PostgreSQL.</summary>
public sealed class MigrateCommandTests
{
    [Fact]
    public async Task Migrate_with_data_dir_creates_the_sqlite_schema_and_reports_it()
    {
        using var data = new TempDirectory();
        var file = Path.Combine(data.Path, "agenthub.db");

        var (exit, stdout, stderr) = await HubProcess.RunAsync(["migrate", "--data", data.Path]);

        Assert.True(exit == 0, stderr);
        Assert.Contains($"SQLite {file}: {Migrations.All.Count} migration(s) applied, schema at version {Migrations.Latest}.", Lines(stdout));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        // migrate prepares the schema only: no master key, no bootstrap admin.
        Assert.False(File.Exists(Path.Combine(data.Path, "master.key")));
        Assert.False(File.Exists(Path.Combine(data.Path, "bootstrap-admin.key")));

        var again = await HubProcess.RunAsync(["migrate", "--data", data.Path]);

        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains($"SQLite {file}: 0 migration(s) applied, schema at version {Migrations.Latest}.", Lines(again.Stdout));
    }

    [Theory]
    [InlineData("connection string")]
    [InlineData("postgres:// URL")]
    public async Task Migrate_with_database_migrates_postgres_and_reports_it(string form)
    {
        var connection = new NpgsqlConnectionStringBuilder(await Postgres.CreateDatabaseAsync());
        var database = form == "connection string"
            ? connection.ConnectionString
            : $"postgres://{Uri.EscapeDataString(connection.Username!)}@{connection.Host}:{connection.Port}/{connection.Database}";
        using var data = new TempDirectory(); // keeps the default ./data out of the test's working directory

        var (exit, stdout, stderr) = await HubProcess.RunAsync(["migrate", "--database", database, "--data", data.Path]);

        Assert.True(exit == 0, stderr);
        var description = $"PostgreSQL {connection.Host}:{connection.Port}/{connection.Database}";
        Assert.Contains($"{description}: {Migrations.All.Count} migration(s) applied, schema at version {Migrations.Latest}.", Lines(stdout));
        Assert.False(File.Exists(Path.Combine(data.Path, "agenthub.db")));

        var again = await HubProcess.RunAsync(["migrate", "--database", database, "--data", data.Path]);

        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains($"{description}: 0 migration(s) applied, schema at version {Migrations.Latest}.", Lines(again.Stdout));
    }

    [Fact]
    public async Task Migrate_with_database_does_not_need_a_data_directory()
    {
        // A migration job (Kubernetes init container, read-only root file system) has PostgreSQL and no writable
        // data directory; migrate never uses it, so it must not fail creating it.
        var database = await Postgres.CreateDatabaseAsync();
        using var scratch = new TempDirectory();
        var notADirectory = Path.Combine(scratch.Path, "file");
        await File.WriteAllTextAsync(notADirectory, "");
        var unusable = Path.Combine(notADirectory, "data");

        var (exit, stdout, stderr) = await HubProcess.RunAsync(["migrate", "--database", database, "--data", unusable]);

        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        Assert.Contains($"{Migrations.All.Count} migration(s) applied", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_refuses_a_schema_newer_than_the_binary_in_one_line()
    {
        await using var store = await StoreDatabase.CreateAsync(Db.Sqlite);
        await store.ExecuteAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (@v, 'from a newer agenthub', 0)",
            new { v = Migrations.Latest + 1 });

        var (exit, stdout, stderr) = await HubProcess.RunAsync(["migrate", "--data", store.DataDir]);

        Assert.Equal(1, exit);
        Assert.Contains(
            $"error: The database schema is at version {Migrations.Latest + 1}, newer than this agenthub ({Migrations.Latest}). Upgrade agenthub.",
            Lines(stderr));
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
    }

    private static string[] Lines(string output) => output.Split('\n', StringSplitOptions.TrimEntries);
}

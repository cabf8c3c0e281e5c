using AgentHub.Storage;
using AgentHub.Tests.Infrastructure;
using Dapper;

namespace AgentHub.Tests.Hosting;

public sealed class ConfigurationTests
{
    [Fact]
    public async Task Sqlite_connections_run_with_synchronous_full_and_wal()
    {
        using var dir = new TempDirectory();
        await using var database = HubDatabase.Open(null, dir.Path);
        await new Migrator(database, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<Migrator>.Instance)
            .MigrateAsync(CancellationToken.None);

        await using var connection = await database.OpenAsync(CancellationToken.None);

        Assert.Equal(2, await connection.ExecuteScalarAsync<int>("PRAGMA synchronous")); // 2 = FULL
        Assert.Equal("wal", await connection.ExecuteScalarAsync<string>("PRAGMA journal_mode"));
    }

    [Fact]
    public async Task Config_file_settings_apply_and_a_bad_one_names_its_key()
    {
        using var dir = new TempDirectory();
        var config = Path.Combine(dir.Path, "agenthub.json");
        await File.WriteAllTextAsync(config, """{ "Limits": { "MaxRequestBodyBytes": 12 } }""");

        var (exit, _, stderr) = await HubProcess.RunAsync(["serve", "--data", Path.Combine(dir.Path, "data"), "--urls", "http://127.0.0.1:0", "--config", config]);

        Assert.Equal(1, exit);
        Assert.Contains("MaxRequestBodyBytes", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Command_line_wins_over_environment_for_the_data_directory()
    {
        using var dir = new TempDirectory();
        var fromEnv = Path.Combine(dir.Path, "env-data");
        var fromCli = Path.Combine(dir.Path, "cli-data");

        var (exit, stdout, _) = await HubProcess.RunAsync(["migrate", "--data", fromCli],
            new Dictionary<string, string?> { ["AGENTHUB_DATA"] = fromEnv });

        Assert.Equal(0, exit);
        Assert.Contains(Path.Combine(fromCli, "agenthub.db"), stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(fromEnv));
    }

    [Fact]
    public async Task Unknown_log_format_is_refused()
    {
        var (exit, _, stderr) = await HubProcess.RunAsync(["serve", "--log-format", "xml"]);

        Assert.Equal(2, exit);
        Assert.Contains("xml", stderr, StringComparison.Ordinal);
    }
}

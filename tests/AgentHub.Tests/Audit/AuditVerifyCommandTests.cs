using System.Net.Http.Headers;
using AgentHub.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace AgentHub.Tests.Audit;

/// <summary><c>agenthub audit verify</c> and <c>audit export</c> on the logs of a real hub process.</summary>
public sealed class AuditVerifyCommandTests
{
    [Fact]
    public async Task Verify_reports_ok_then_names_the_first_bad_sequence_after_an_edit()
    {
        using var dir = new TempDirectory();
        var data = Path.Combine(dir.Path, "data");
        await RunHubAsync(data);

        var (exit, stdout, _) = await HubProcess.RunAsync(["audit", "verify", "--data", data]);
        Assert.Equal(0, exit);
        Assert.Matches(@"^OK: \d+ records, \d+ checkpoints\s*$", stdout);

        await using (var connection = new SqliteConnection($"Data Source={Path.Combine(data, "agenthub.db")};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "UPDATE audit_records SET record = replace(record, '\"outcome\":\"success\"', '\"outcome\":\"failure\"'), outcome = 'failure' WHERE seq = 4";
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        var (badExit, _, stderr) = await HubProcess.RunAsync(["audit", "verify", "--data", data]);
        Assert.Equal(1, badExit);
        Assert.StartsWith("FAILED at sequence 4:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_verifies_against_a_saved_jwks_and_a_truncated_export_fails()
    {
        using var dir = new TempDirectory();
        var data = Path.Combine(dir.Path, "data");
        var export = Path.Combine(dir.Path, "audit.jsonl");
        var jwks = Path.Combine(dir.Path, "jwks.json");
        await RunHubAsync(data, async (hub, key) =>
        {
            using var http = new HttpClient { BaseAddress = hub.Url };
            await File.WriteAllTextAsync(jwks, await http.GetStringAsync("/.well-known/jwks.json"));
            var keyFile = Path.Combine(dir.Path, "admin.key");
            await File.WriteAllTextAsync(keyFile, key);
            var (exit, stdout, stderr) = await HubProcess.RunAsync(["audit", "export", "--out", export, "--hub", hub.Url.ToString(), "--key-file", keyFile]);
            Assert.True(exit == 0, stderr);
            Assert.Contains("Wrote", stdout, StringComparison.Ordinal);
        });

        var (ok, okOut, _) = await HubProcess.RunAsync(["audit", "verify", "--file", export, "--jwks", jwks]);
        Assert.Equal(0, ok);
        Assert.StartsWith("OK: ", okOut, StringComparison.Ordinal);

        // Cut the records back to one fewer than the newest checkpoint in the export covers.
        var lines = (await File.ReadAllLinesAsync(export)).ToList();
        var covered = lines.Where(l => l.Contains("\"kind\":\"checkpoint\"", StringComparison.Ordinal))
            .Select(l => AgentHub.Audit.CheckpointJws.Parse(System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("jws").GetString()!)!.Size)
            .Max();
        Assert.True(covered >= 5, $"expected a checkpoint over the created keys, newest covers {covered}");
        lines.RemoveAll(l => l.Contains("\"kind\":\"record\"", StringComparison.Ordinal) &&
            System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("seq").GetInt64() >= covered);
        await File.WriteAllLinesAsync(export, lines);
        var (bad, _, badErr) = await HubProcess.RunAsync(["audit", "verify", "--file", export, "--jwks", jwks]);
        Assert.Equal(1, bad);
        Assert.Contains("removed from the end", badErr, StringComparison.Ordinal);

        var (usage, _, usageErr) = await HubProcess.RunAsync(["audit", "verify", "--file", export]);
        Assert.Equal(2, usage);
        Assert.Contains("--jwks", usageErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_on_postgres_reads_checkpoints_from_the_data_directory()
    {
        using var dir = new TempDirectory();
        var data = Path.Combine(dir.Path, "data");
        var database = await Postgres.CreateDatabaseAsync();
        await RunHubAsync(data, extraArgs: ["--database", database]);

        var (exit, stdout, stderr) = await HubProcess.RunAsync(["audit", "verify", "--database", database, "--data", data]);

        Assert.True(exit == 0, stderr);
        Assert.Matches(@"^OK: \d+ records, [1-9]\d* checkpoints", stdout);
    }

    [Fact]
    public async Task Verify_without_a_database_says_where_it_looked()
    {
        using var dir = new TempDirectory();
        var (exit, _, stderr) = await HubProcess.RunAsync(["audit", "verify", "--data", dir.Path]);

        Assert.Equal(1, exit);
        Assert.Contains(dir.Path, stderr, StringComparison.Ordinal);
    }

    /// <summary>Runs a hub, makes some audited calls, and stops it cleanly (its last checkpoint covers everything).</summary>
    private static async Task RunHubAsync(string data, Func<HubProcess, string, Task>? more = null, string[]? extraArgs = null)
    {
        var masterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        TestArtifacts.Secret(masterKey);
        await using var hub = await HubProcess.StartAsync(data, extraArgs, new Dictionary<string, string?>
        {
            ["AGENTHUB_MASTER_KEY"] = masterKey,
            ["AGENTHUB_AUDIT__CHECKPOINTEVERYRECORDS"] = "3",
        });
        var key = (await File.ReadAllTextAsync(Path.Combine(data, "bootstrap-admin.key"))).Trim();
        TestArtifacts.Secret(key);
        using var http = new HttpClient { BaseAddress = hub.Url };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        for (var i = 0; i < 5; i++)
        {
            using var created = await http.PostAsync("/api/v1/keys", new StringContent($$"""{"principal":"user:v{{i}}","role":"auditor"}""", System.Text.Encoding.UTF8, "application/json"));
            var body = await created.Content.ReadAsStringAsync();
            TestArtifacts.Secret(System.Text.RegularExpressions.Regex.Match(body, "ahk_[A-Za-z0-9_-]+").Value);
            created.EnsureSuccessStatusCode();
        }

        if (more is not null)
        {
            await more(hub, key);
        }

        Assert.Equal(0, await hub.StopAsync());
    }
}

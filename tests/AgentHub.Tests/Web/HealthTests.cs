using System.Data.Common;
using System.Net;
using AgentHub.Storage;
using AgentHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentHub.Tests.Web;

/// <summary>/healthz: the process answers. /readyz: the database answers with the current schema. Both anonymous and terse.</summary>
public sealed class HealthTests
{
    [Theory]
    [InlineData(Db.Sqlite, "/healthz")]
    [InlineData(Db.Sqlite, "/readyz")]
    [InlineData(Db.Postgres, "/healthz")]
    [InlineData(Db.Postgres, "/readyz")]
    public async Task Health_endpoint_answers_200_healthy_without_credentials(Db db, string path)
    {
        await using var hub = await HubTestHost.StartAsync(db);

        using var response = await hub.Http().GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Readyz_is_503_while_the_schema_is_missing_and_200_after_migrating(Db db)
    {
        await using var hub = await HubTestHost.StartAsync(db);
        var database = hub.Services.GetRequiredService<HubDatabase>();
        if (db == Db.Postgres)
        {
            await ExecuteAsync(database, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
        }
        else
        {
            var tables = await QueryAsync(database, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
            await ExecuteAsync(database, "PRAGMA foreign_keys = OFF; " + string.Concat(tables.Select(t => $"DROP TABLE \"{t}\"; ")));
        }

        await AssertReadyzAsync(hub, HttpStatusCode.ServiceUnavailable, "Unhealthy");
        await AssertHealthzAsync(hub);

        await hub.Services.GetRequiredService<Migrator>().MigrateAsync(CancellationToken.None);

        await AssertReadyzAsync(hub, HttpStatusCode.OK, "Healthy");
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Readyz_is_503_when_the_migration_history_is_empty(Db db)
    {
        await using var hub = await HubTestHost.StartAsync(db);
        var database = hub.Services.GetRequiredService<HubDatabase>();

        await ExecuteAsync(database, "DELETE FROM schema_migrations");

        await AssertReadyzAsync(hub, HttpStatusCode.ServiceUnavailable, "Unhealthy");
        await AssertHealthzAsync(hub);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Readyz_is_503_when_the_schema_is_newer_than_this_hub(Db db)
    {
        await using var hub = await HubTestHost.StartAsync(db);
        var database = hub.Services.GetRequiredService<HubDatabase>();

        await ExecuteAsync(database, $"INSERT INTO schema_migrations (version, name, applied_at) VALUES ({Migrations.Latest + 1}, 'from the future', 0)");

        await AssertReadyzAsync(hub, HttpStatusCode.ServiceUnavailable, "Unhealthy");
    }

    [Fact]
    public async Task Readyz_on_the_real_process_answers_healthy_and_nothing_more()
    {
        using var data = new TempDirectory();
        await using var process = await HubProcess.StartAsync(data.Path);
        TestArtifacts.Secret((await File.ReadAllTextAsync(Path.Combine(data.Path, "bootstrap-admin.key"))).Trim());
        TestArtifacts.Secret((await File.ReadAllTextAsync(Path.Combine(data.Path, "master.key"))).Trim());
        using var http = new HttpClient { BaseAddress = process.Url };

        foreach (var path in new[] { "/healthz", "/readyz" })
        {
            using var response = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
        }
    }

    private static async Task AssertReadyzAsync(HubTestHost hub, HttpStatusCode status, string body)
    {
        using var response = await hub.Http().GetAsync("/readyz");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"/readyz: {(int)response.StatusCode} {text}");
        Assert.Equal(body, text);
        WebAssert.SecurityHeaders(response);
    }

    private static async Task AssertHealthzAsync(HubTestHost hub)
    {
        using var response = await hub.Http().GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    private static async Task ExecuteAsync(HubDatabase database, string sql)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<IReadOnlyList<string>> QueryAsync(HubDatabase database, string sql)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using DbDataReader reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }
}

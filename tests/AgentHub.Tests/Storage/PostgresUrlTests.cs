using AgentHub.Storage;
using AgentHub.Tests.Infrastructure;
using Npgsql;

namespace AgentHub.Tests.Storage;

/// <summary><c>--database postgres://…</c> becomes the Npgsql connection string the hub opens.</summary>
public sealed class PostgresUrlTests
{
    public static TheoryData<string, string, int, string, string?, string?> Urls => new()
    {
        { "postgres://alice:s3cret@db.example.com:6543/hub", "db.example.com", 6543, "hub", "alice", "s3cret" },
        { "postgresql://alice@db.example.com/hub", "db.example.com", 5432, "hub", "alice", null },
        { "POSTGRES://alice@DB.example.com/hub", "db.example.com", 5432, "hub", "alice", null },
        { "postgres://db.example.com", "db.example.com", 5432, "postgres", null, null },
        { "postgres://db.example.com:6000/", "db.example.com", 6000, "postgres", null, null },
        { "postgres://al%40ice:p%40ss%3Aw%2Fd%23x%20y@10.0.0.5/hub", "10.0.0.5", 5432, "hub", "al@ice", "p@ss:w/d#x y" },
        { "postgres://u:pa%2Bss%25@h/my%20db", "h", 5432, "my db", "u", "pa+ss%" },
        { "postgres://u:pa:ss@h/db", "h", 5432, "db", "u", "pa:ss" },
        { "postgres://u:@h/db", "h", 5432, "db", "u", null },
    };

    [Theory]
    [MemberData(nameof(Urls))]
    public void Url_converts_to_an_npgsql_connection_string(string url, string host, int port, string database, string? user, string? password)
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresUrl.ToConnectionString(url));

        Assert.Equal((host, port, database), (builder.Host, builder.Port, builder.Database));
        Assert.Equal(user, builder.Username);
        Assert.Equal(password, string.IsNullOrEmpty(builder.Password) ? null : builder.Password);
    }

    [Theory]
    [InlineData("disable", SslMode.Disable)]
    [InlineData("allow", SslMode.Allow)]
    [InlineData("prefer", SslMode.Prefer)]
    [InlineData("require", SslMode.Require)]
    [InlineData("verify-ca", SslMode.VerifyCA)]
    [InlineData("verify-full", SslMode.VerifyFull)]
    public void Sslmode_takes_every_libpq_value(string sslmode, SslMode expected)
    {
        var builder = new NpgsqlConnectionStringBuilder(
            PostgresUrl.ToConnectionString($"postgres://u:p@db.example.com/hub?sslmode={sslmode}"));

        Assert.Equal(expected, builder.SslMode);
    }

    [Fact]
    public void Url_without_sslmode_keeps_the_npgsql_default()
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresUrl.ToConnectionString("postgres://u@h/db"));

        Assert.Equal(new NpgsqlConnectionStringBuilder().SslMode, builder.SslMode);
    }

    [Theory]
    [InlineData("Host=db.example.com;Port=6543;Username=alice;Database=hub")]
    [InlineData("Host=h;Database=postgres://not-a-url")]
    public void Connection_string_passes_through_unchanged(string value) =>
        Assert.Equal(value, PostgresUrl.ToConnectionString(value));

    [Theory]
    [InlineData("postgres://")]
    [InlineData("postgres:///hub")]
    [InlineData("postgres://alice:topsecret@/hub")]
    public void Url_without_a_host_is_refused_without_echoing_it(string url)
    {
        var error = Assert.Throws<FormatException>(() => PostgresUrl.ToConnectionString(url));

        Assert.Equal("The database URL is not a valid postgres:// URL.", error.Message);
    }

    [Fact]
    public async Task Url_form_opens_the_real_server_and_its_description_carries_no_password()
    {
        var target = new NpgsqlConnectionStringBuilder(await Postgres.CreateDatabaseAsync());
        var url = $"postgres://{Uri.EscapeDataString(target.Username!)}:unused%20pw@{target.Host}:{target.Port}/{target.Database}?sslmode=disable";
        using var dir = new TempDirectory();

        await using var database = HubDatabase.Open(url, dir.Path);
        await using var connection = await database.OpenAsync(default);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT current_database()";

        Assert.Equal(target.Database, await command.ExecuteScalarAsync());
        Assert.Equal(DatabaseProvider.Postgres, database.Provider);
        Assert.Equal($"PostgreSQL {target.Host}:{target.Port}/{target.Database}", database.Description);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path)); // no SQLite file beside it
    }
}

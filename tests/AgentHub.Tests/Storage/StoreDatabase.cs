using System.Security.Cryptography;
using AgentHub.Storage;
using AgentHub.Tests.Infrastructure;
using AgentHub.Vault;
using Dapper;
using Microsoft.Extensions.Logging;

namespace AgentHub.Tests.Storage;

/// <summary>
/// A fresh database on one engine, opened the way the hub opens it (<see cref="HubDatabase.Open"/>), for the store
/// contract tests. <see cref="OpenAnother"/> opens one more instance on the same database, as another hub process
/// would; every instance is disposed with this object.
/// </summary>
internal sealed class StoreDatabase : IAsyncDisposable
{
    /// <summary>A whole-millisecond instant: the stores keep Unix milliseconds.</summary>
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly List<HubDatabase> _opened = [];
    private readonly TempDirectory _dir;

    private StoreDatabase(Db engine, string? connection, TempDirectory dir)
    {
        Engine = engine;
        Connection = connection;
        _dir = dir;
        Database = OpenAnother();
        MasterKey = NewMasterKey();
        Box = new SecretBox(MasterKey);
    }

    public static ILoggerFactory Logs { get; } =
        LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(new CapturingLoggerProvider()));

    public Db Engine { get; }

    /// <summary>The PostgreSQL connection string; null for SQLite, whose file lives in <see cref="DataDir"/>.</summary>
    public string? Connection { get; }

    public string DataDir => _dir.Path;

    public HubDatabase Database { get; }

    public MasterKey MasterKey { get; }

    public SecretBox Box { get; }

    /// <summary>An empty database; with <paramref name="migrate"/>, at the latest schema.</summary>
    public static async Task<StoreDatabase> CreateAsync(Db engine, bool migrate = true)
    {
        // The hub sets this once in AddStorage; the stores' row classes rely on it.
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        var connection = engine == Db.Postgres ? await Postgres.CreateDatabaseAsync() : null;
        var database = new StoreDatabase(engine, connection, new TempDirectory());
        if (migrate)
        {
            await NewMigrator(database.Database).MigrateAsync(CancellationToken.None);
        }

        return database;
    }

    /// <summary>Another <see cref="HubDatabase"/> (its own pool) on the same database.</summary>
    public HubDatabase OpenAnother()
    {
        var database = HubDatabase.Open(Connection, DataDir);
        lock (_opened)
        {
            _opened.Add(database);
        }

        return database;
    }

    public static Migrator NewMigrator(HubDatabase database) =>
        new(database, TimeProvider.System, Logs.CreateLogger<Migrator>());

    /// <summary>A random 32-byte master key, given as configuration (base64), recorded as a secret.</summary>
    public static MasterKey NewMasterKey()
    {
        var encoded = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        TestArtifacts.Secret(encoded);
        return MasterKey.Load(encoded, Path.GetTempPath());
    }

    public async Task<T> ScalarAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        return await connection.ExecuteScalarAsync<T>(sql, parameters) ?? throw new InvalidOperationException($"no value: {sql}");
    }

    public async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, object? parameters = null)
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        return (await connection.QueryAsync<T>(sql, parameters)).ToList();
    }

    public async Task ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = await Database.OpenAsync(CancellationToken.None);
        await connection.ExecuteAsync(sql, parameters);
    }

    public async ValueTask DisposeAsync()
    {
        List<HubDatabase> opened;
        lock (_opened)
        {
            opened = [.. _opened];
        }

        foreach (var database in opened)
        {
            await database.DisposeAsync();
        }

        MasterKey.Dispose();
        _dir.Dispose();
    }
}

using System.Security.Cryptography;
using AgentHub.Identity;
using AgentHub.Tests.Infrastructure;
using AgentHub.Tests.Storage;
using AgentHub.Vault;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Logging;

namespace AgentHub.Tests.Identity;

/// <summary>First start: the master key check, the first signing key and the bootstrap admin, exactly once.</summary>
public sealed class BootstrapTests
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Theory]
    [InlineData(Db.Postgres)]
    [InlineData(Db.Sqlite)]
    public async Task Parallel_first_starts_on_one_empty_database_bootstrap_exactly_once(Db db)
    {
        await using var store = await StoreDatabase.CreateAsync(db, migrate: false);
        var dirs = Enumerable.Range(0, 4).Select(_ => new TempDirectory()).ToList();
        try
        {
            // Four instances, each with its own database instance and data directory, as four processes would be.
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var runs = dirs.Select(dir => Task.Run(async () =>
            {
                var database = store.OpenAnother();
                await gate.Task;
                await StoreDatabase.NewMigrator(database).MigrateAsync(default);
                return await NewBootstrap(database, store.Box).RunAsync(dir.Path, default);
            })).ToList();
            gate.SetResult();
            var results = await Task.WhenAll(runs);

            var winner = Assert.Single(Enumerable.Range(0, dirs.Count), i => results[i] is not null);
            var keyFile = Path.Combine(dirs[winner].Path, Bootstrap.KeyFileName);
            Assert.Equal(keyFile, results[winner]);
            Assert.Equal(Private, File.GetUnixFileMode(keyFile));
            Assert.All(dirs.Where((_, i) => i != winner), d => Assert.Empty(Directory.GetFileSystemEntries(d.Path)));

            Assert.Equal(new[] { ("user:admin", "user", "bootstrap") },
                await store.QueryAsync<(string, string, string)>("SELECT id, kind, created_by FROM principals"));
            Assert.Equal(new[] { ("user:admin", "admin", "bootstrap") },
                await store.QueryAsync<(string, string, string)>("SELECT principal_id, role, name FROM api_keys"));
            Assert.Equal(1, await store.ScalarAsync<long>("SELECT COUNT(*) FROM signing_keys WHERE retired_at IS NULL"));
            Assert.Equal(1, await store.ScalarAsync<long>("SELECT COUNT(*) FROM signing_keys"));
            Assert.Equal(1, await store.ScalarAsync<long>("SELECT COUNT(*) FROM hub_settings"));

            // The key in the file is the one whose hash was stored.
            var key = (await File.ReadAllTextAsync(keyFile)).Trim();
            TestArtifacts.Secret(key);
            Assert.True(ApiKeyFormat.TryParse(key, out var keyId, out var secret));
            var found = await new ApiKeyStore(store.Database).FindForAuthenticationAsync(keyId, default);
            Assert.NotNull(found);
            Assert.True(ApiKeyFormat.Matches(secret, found.Value.SecretHash));
            Assert.Equal(("user:admin", Roles.Admin), (found.Value.Key.PrincipalId, found.Value.Key.Role));
            Assert.True(found.Value.Key.IsActiveAt(DateTimeOffset.UtcNow));
        }
        finally
        {
            dirs.ForEach(d => d.Dispose());
        }
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Bootstrap_of_a_bootstrapped_database_adds_nothing(Db db)
    {
        await using var store = await StoreDatabase.CreateAsync(db);
        using var first = new TempDirectory();
        using var second = new TempDirectory();
        var created = await NewBootstrap(store.Database, store.Box).RunAsync(first.Path, default);
        Assert.NotNull(created);
        TestArtifacts.Secret((await File.ReadAllTextAsync(created)).Trim());

        Assert.Null(await NewBootstrap(store.OpenAnother(), store.Box).RunAsync(second.Path, default));

        Assert.Empty(Directory.GetFileSystemEntries(second.Path));
        Assert.Equal(1, await store.ScalarAsync<long>("SELECT COUNT(*) FROM principals"));
        Assert.Equal(1, await store.ScalarAsync<long>("SELECT COUNT(*) FROM api_keys"));
        Assert.Equal(1, await store.ScalarAsync<long>("SELECT COUNT(*) FROM signing_keys"));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Bootstrap_under_another_master_key_is_refused_and_changes_nothing(Db db)
    {
        await using var store = await StoreDatabase.CreateAsync(db);
        using var dir = new TempDirectory();
        var created = await NewBootstrap(store.Database, store.Box).RunAsync(dir.Path, default);
        TestArtifacts.Secret((await File.ReadAllTextAsync(created!)).Trim());
        using var otherKey = StoreDatabase.NewMasterKey();

        var error = await Assert.ThrowsAsync<StartupException>(() =>
            NewBootstrap(store.OpenAnother(), new SecretBox(otherKey)).RunAsync(dir.Path, default));

        Assert.Contains("master key does not match", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, await store.ScalarAsync<long>("SELECT COUNT(*) FROM signing_keys"));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task First_start_writes_the_master_key_and_admin_key_files_with_mode_0600(Db db)
    {
        using var data = new TempDirectory();
        var settings = await SettingsAsync(db, data.Path, masterKey: null);
        await using var app = Build(settings);

        var keyFile = await HubApp.InitializeAsync(app, default);

        Assert.Equal(Path.Combine(data.Path, Bootstrap.KeyFileName), keyFile);
        Assert.NotNull(keyFile);
        var masterKeyFile = Path.Combine(data.Path, MasterKey.FileName);
        TestArtifacts.Secret((await File.ReadAllTextAsync(masterKeyFile)).Trim());
        TestArtifacts.Secret((await File.ReadAllTextAsync(keyFile)).Trim());
        Assert.Equal(Private, File.GetUnixFileMode(masterKeyFile));
        Assert.Equal(Private, File.GetUnixFileMode(keyFile));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Hub_started_on_an_existing_database_with_another_master_key_stops_with_the_mismatch_message(Db db)
    {
        using var data = new TempDirectory();
        var original = NewMasterKeyText();
        var settings = await SettingsAsync(db, data.Path, original);
        await using (var first = Build(settings))
        {
            var keyFile = await HubApp.InitializeAsync(first, default);
            TestArtifacts.Secret((await File.ReadAllTextAsync(keyFile!)).Trim());
        }

        // PostgreSQL: another machine with its own data directory; SQLite: the same directory.
        using var otherData = new TempDirectory();
        var other = new Dictionary<string, string?>(settings)
        {
            ["MasterKey"] = NewMasterKeyText(),
            ["Data"] = db == Db.Postgres ? otherData.Path : data.Path,
        };
        await using var second = Build(other);

        var error = await Assert.ThrowsAsync<StartupException>(() => HubApp.InitializeAsync(second, default));

        Assert.Equal("The master key does not match the one this database was initialised with. " +
            "Start with the original key (AGENTHUB_MASTER_KEY or DATA/master.key).", error.Message);
        await using var again = Build(settings);
        Assert.Null(await HubApp.InitializeAsync(again, default)); // the original key still opens it
    }

    private static Bootstrap NewBootstrap(AgentHub.Storage.HubDatabase database, SecretBox box) =>
        new(database, box, new SigningKeyStore(database, box, TimeProvider.System), TimeProvider.System,
            StoreDatabase.Logs.CreateLogger<Bootstrap>());

    private static string NewMasterKeyText()
    {
        var text = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        TestArtifacts.Secret(text);
        return text;
    }

    private static async Task<Dictionary<string, string?>> SettingsAsync(Db db, string dataDir, string? masterKey)
    {
        var settings = new Dictionary<string, string?> { ["Data"] = dataDir, ["MasterKey"] = masterKey };
        if (db == Db.Postgres)
        {
            settings["Database"] = await Postgres.CreateDatabaseAsync();
        }

        return settings;
    }

    private static WebApplication Build(Dictionary<string, string?> settings) =>
        HubApp.Build(settings, configure: builder =>
        {
            builder.WebHost.UseTestServer();
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(new CapturingLoggerProvider());
        });
}

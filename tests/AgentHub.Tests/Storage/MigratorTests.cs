using AgentHub.Storage;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Storage;

/// <summary>Migrations on both engines, including several instances starting on one database at the same time.</summary>
public sealed class MigratorTests
{
    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Fresh_database_has_no_schema_version(Db db)
    {
        await using var store = await StoreDatabase.CreateAsync(db, migrate: false);

        Assert.Null(await StoreDatabase.NewMigrator(store.Database).CurrentVersionAsync(default));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Parallel_migrations_from_separate_instances_apply_each_migration_exactly_once(Db db)
    {
        await using var store = await StoreDatabase.CreateAsync(db, migrate: false);
        var migrators = Enumerable.Range(0, 8).Select(_ => StoreDatabase.NewMigrator(store.OpenAnother())).ToList();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = migrators.Select(m => Task.Run(async () =>
        {
            await gate.Task;
            return await m.MigrateAsync(default);
        })).ToList();
        gate.SetResult();

        var applied = await Task.WhenAll(runs);

        // One instance applied everything under the lock; the other seven found nothing to do.
        Assert.Equal(Enumerable.Repeat(0, 7).Append(Migrations.All.Count), applied.Order());
        var history = await store.QueryAsync<(long Version, string Name)>("SELECT CAST(version AS BIGINT), name FROM schema_migrations ORDER BY version");
        Assert.Equal(Migrations.All.Select(m => ((long)m.Version, m.Name)), history);
        Assert.Equal(Migrations.Latest, await StoreDatabase.NewMigrator(store.OpenAnother()).CurrentVersionAsync(default));
        Assert.Equal(0, await StoreDatabase.NewMigrator(store.OpenAnother()).MigrateAsync(default));
        Assert.Equal(Migrations.All.Count, await store.ScalarAsync<long>("SELECT COUNT(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task Parallel_migrations_leave_sqlite_in_wal_mode()
    {
        await using var store = await StoreDatabase.CreateAsync(Db.Sqlite, migrate: false);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = Enumerable.Range(0, 8).Select(_ => StoreDatabase.NewMigrator(store.OpenAnother())).Select(m => Task.Run(async () =>
        {
            await gate.Task;
            return await m.MigrateAsync(default);
        })).ToList();
        gate.SetResult();
        await Task.WhenAll(runs);

        Assert.Equal("wal", await store.ScalarAsync<string>("PRAGMA journal_mode"));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Second_run_applies_nothing(Db db)
    {
        await using var store = await StoreDatabase.CreateAsync(db, migrate: false);
        var migrator = StoreDatabase.NewMigrator(store.Database);

        Assert.Equal(Migrations.All.Count, await migrator.MigrateAsync(default));
        Assert.Equal(0, await migrator.MigrateAsync(default));
        Assert.Equal(Migrations.Latest, await migrator.CurrentVersionAsync(default));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Schema_newer_than_this_binary_is_refused_with_a_clear_message(Db db)
    {
        await using var store = await StoreDatabase.CreateAsync(db);
        var future = Migrations.Latest + 1;
        await store.ExecuteAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (@future, 'from a newer agenthub', 0)", new { future });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            StoreDatabase.NewMigrator(store.OpenAnother()).MigrateAsync(default));

        Assert.Equal($"The database schema is at version {future}, newer than this agenthub ({Migrations.Latest}). Upgrade agenthub.", error.Message);
        Assert.Equal(Migrations.All.Count + 1, await store.ScalarAsync<long>("SELECT COUNT(*) FROM schema_migrations"));
    }

    [Fact]
    public void Migrations_are_numbered_one_up_without_gaps_and_have_sql_for_both_engines()
    {
        Assert.Equal(Enumerable.Range(1, Migrations.All.Count), Migrations.All.Select(m => m.Version));
        Assert.All(Migrations.All, m =>
        {
            Assert.False(string.IsNullOrWhiteSpace(m.Name));
            Assert.False(string.IsNullOrWhiteSpace(m.SqlFor(DatabaseProvider.Sqlite)));
            Assert.False(string.IsNullOrWhiteSpace(m.SqlFor(DatabaseProvider.Postgres)));
        });
    }
}

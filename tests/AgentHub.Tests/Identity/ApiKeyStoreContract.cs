using AgentHub.Identity;
using AgentHub.Tests.Infrastructure;
using AgentHub.Tests.Storage;

namespace AgentHub.Tests.Identity;

/// <summary>What every <see cref="IApiKeyStore"/> must do, on each engine against a fresh, migrated database.</summary>
public abstract class ApiKeyStoreContract(Db engine) : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = StoreDatabase.Start;
    private StoreDatabase _db = null!;
    private ApiKeyStore _store = null!;

    public async Task InitializeAsync()
    {
        _db = await StoreDatabase.CreateAsync(engine);
        _store = new ApiKeyStore(_db.Database);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Create_then_get_returns_every_field()
    {
        var expires = Now.AddDays(30);
        var (key, _) = await CreateAsync("user:alice", Roles.Auditor, name: "ci reader", expiresAt: expires);

        var found = await _store.GetAsync(key.Id, null, default);

        Assert.Equal(new ApiKeyRecord(key.Id, "user:alice", Roles.Auditor, "ci reader", Now, "user:creator", expires, null, null, null), found);
    }

    [Fact]
    public async Task FindForAuthentication_returns_the_hash_that_matches_only_the_issued_secret()
    {
        var (key, text) = await CreateAsync("user:alice");
        Assert.True(ApiKeyFormat.TryParse(text, out var keyId, out var secret));

        var found = await _store.FindForAuthenticationAsync(keyId, default);

        Assert.NotNull(found);
        Assert.Equal(key.Id, found.Value.Key.Id);
        Assert.Equal(key.SecretHash, found.Value.SecretHash);
        Assert.True(ApiKeyFormat.Matches(secret, found.Value.SecretHash));
        var other = secret[..^1] + (secret[^1] == 'A' ? 'B' : 'A');
        Assert.False(ApiKeyFormat.Matches(other, found.Value.SecretHash));
    }

    [Fact]
    public async Task Unknown_id_is_not_found_for_get_find_and_revoke()
    {
        await CreateAsync("user:alice");
        var unknown = ApiKeyFormat.Generate().KeyId;

        Assert.Null(await _store.GetAsync(unknown, null, default));
        Assert.Null(await _store.FindForAuthenticationAsync(unknown, default));
        Assert.Equal(RevokeOutcome.NotFound, await _store.RevokeAsync(unknown, null, "user:admin", Now, default));
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("user:")]
    [InlineData("user:Alice")]
    [InlineData("group:ops")]
    public async Task Create_with_invalid_principal_is_refused_and_stores_nothing(string principal)
    {
        var (id, _, hash) = ApiKeyFormat.Generate();

        await Assert.ThrowsAsync<ArgumentException>(() =>
            _store.CreateAsync(new NewApiKey(id, principal, Roles.Operator, null, hash, Now, "user:creator", null), default));

        Assert.Null(await _store.GetAsync(id, null, default));
        Assert.Empty((await _store.ListAsync(null, null, 10, default)).Items);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(50)]
    public async Task List_pages_by_limit_and_cursor_without_duplicates_or_gaps(int limit)
    {
        var created = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            created.Add((await CreateAsync(i % 2 == 0 ? "user:alice" : "agent:bot-1")).Key.Id);
        }

        var pages = await ListAllAsync(null, limit);

        Assert.All(pages.SkipLast(1), p => Assert.Equal(limit, p.Count));
        Assert.InRange(pages[^1].Count, 1, limit); // no empty trailing page, even when 7 is a multiple of the limit
        var listed = pages.SelectMany(p => p).ToList();
        Assert.Equal(created.Order(StringComparer.Ordinal), listed);
    }

    [Fact]
    public async Task List_with_principal_filter_pages_only_that_principals_keys()
    {
        var alice = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            alice.Add((await CreateAsync("user:alice")).Key.Id);
            await CreateAsync("user:bob");
        }

        var pages = await ListAllAsync("user:alice", 2);

        Assert.Equal(new[] { 2, 2, 1 }, pages.Select(p => p.Count));
        Assert.Equal(alice.Order(StringComparer.Ordinal), pages.SelectMany(p => p));
        Assert.Empty((await _store.ListAsync("user:nobody", null, 10, default)).Items);
    }

    [Fact]
    public async Task Get_with_another_principals_scope_is_not_found()
    {
        var (key, _) = await CreateAsync("user:alice");

        Assert.Null(await _store.GetAsync(key.Id, "user:mallory", default));
        Assert.Equal(key.Id, (await _store.GetAsync(key.Id, "user:alice", default))?.Id);
    }

    [Fact]
    public async Task Revoke_with_another_principals_scope_is_not_found_and_leaves_the_key_active()
    {
        var (key, _) = await CreateAsync("user:alice");

        var outcome = await _store.RevokeAsync(key.Id, "user:mallory", "user:mallory", Now, default);

        Assert.Equal(RevokeOutcome.NotFound, outcome);
        var stored = await _store.GetAsync(key.Id, null, default);
        Assert.Null(stored?.RevokedAt);
        Assert.True(stored?.IsActiveAt(Now));
    }

    [Fact]
    public async Task Revoke_own_key_is_Revoked_then_AlreadyRevoked()
    {
        var (key, _) = await CreateAsync("user:alice");
        var at = Now.AddMinutes(5);

        Assert.Equal(RevokeOutcome.Revoked, await _store.RevokeAsync(key.Id, "user:alice", "user:alice", at, default));
        Assert.Equal(RevokeOutcome.AlreadyRevoked, await _store.RevokeAsync(key.Id, null, "user:admin", at.AddMinutes(1), default));

        var stored = await _store.FindForAuthenticationAsync(key.Id, default);
        Assert.Equal(at, stored?.Key.RevokedAt);
        Assert.Equal("user:alice", stored?.Key.RevokedBy); // the second call changed nothing
        Assert.False(stored?.Key.IsActiveAt(at));
    }

    [Fact]
    public async Task Revoke_last_active_admin_key_is_refused_and_the_key_stays_active()
    {
        var (admin, _) = await CreateAsync("user:root", Roles.Admin);
        await CreateAsync("user:ops", Roles.Operator);

        Assert.Equal(RevokeOutcome.LastAdminKey, await _store.RevokeAsync(admin.Id, null, "user:root", Now, default));

        Assert.Null((await _store.GetAsync(admin.Id, null, default))?.RevokedAt);
        Assert.Equal(1, await _store.CountActiveAdminKeysAsync(Now, default));
    }

    [Fact]
    public async Task Revoke_admin_key_while_another_is_active_succeeds_then_the_last_is_refused()
    {
        var (first, _) = await CreateAsync("user:root", Roles.Admin);
        var (second, _) = await CreateAsync("user:deputy", Roles.Admin);

        Assert.Equal(RevokeOutcome.Revoked, await _store.RevokeAsync(first.Id, null, "user:deputy", Now, default));
        Assert.Equal(RevokeOutcome.LastAdminKey, await _store.RevokeAsync(second.Id, null, "user:deputy", Now, default));
        Assert.Equal(1, await _store.CountActiveAdminKeysAsync(Now, default));
    }

    [Fact]
    public async Task Expired_admin_key_does_not_count_as_active_for_the_last_admin_guard()
    {
        var (active, _) = await CreateAsync("user:root", Roles.Admin);
        var (expiring, _) = await CreateAsync("user:temp", Roles.Admin, expiresAt: Now.AddHours(1));
        var later = Now.AddHours(2);

        Assert.Equal(2, await _store.CountActiveAdminKeysAsync(Now, default));
        Assert.Equal(1, await _store.CountActiveAdminKeysAsync(later, default));
        Assert.Equal(RevokeOutcome.LastAdminKey, await _store.RevokeAsync(active.Id, null, "user:root", later, default));
        // Revoking the expired one locks nobody out.
        Assert.Equal(RevokeOutcome.Revoked, await _store.RevokeAsync(expiring.Id, null, "user:root", later, default));
    }

    [Fact]
    public async Task CountActiveAdminKeys_ignores_other_roles_revoked_and_expired_keys()
    {
        await CreateAsync("user:root", Roles.Admin);
        var (revoked, _) = await CreateAsync("user:old", Roles.Admin);
        await CreateAsync("user:gone", Roles.Admin, expiresAt: Now.AddSeconds(-1));
        await CreateAsync("user:ops", Roles.Operator);
        await CreateAsync("user:audit", Roles.Auditor);
        Assert.Equal(RevokeOutcome.Revoked, await _store.RevokeAsync(revoked.Id, null, "user:root", Now, default));

        Assert.Equal(1, await _store.CountActiveAdminKeysAsync(Now, default));
    }

    [Fact]
    public async Task Concurrent_revokes_of_the_last_two_admin_keys_leave_exactly_one_active()
    {
        // Each round adds one admin key, so two are active, then 8 tasks (each with its own database instance,
        // as separate hub processes would be) race to revoke both.
        var (survivor, _) = await CreateAsync("user:root", Roles.Admin);
        for (var round = 0; round < 10; round++)
        {
            var (added, _) = await CreateAsync($"user:admin-{round}", Roles.Admin);
            var targets = new[] { survivor.Id, added.Id };
            var stores = Enumerable.Range(0, 8).Select(_ => new ApiKeyStore(_db.OpenAnother())).ToList();
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var revokes = stores.Select((store, i) => Task.Run(async () =>
            {
                await gate.Task;
                return (Id: targets[i % 2], Outcome: await store.RevokeAsync(targets[i % 2], null, "user:root", Now, default));
            })).ToList();
            gate.SetResult();
            var outcomes = await Task.WhenAll(revokes);

            Assert.Equal(1, await _store.CountActiveAdminKeysAsync(Now, default));
            var revoked = Assert.Single(outcomes, o => o.Outcome == RevokeOutcome.Revoked);
            Assert.All(outcomes.Where(o => o.Id != revoked.Id), o => Assert.Equal(RevokeOutcome.LastAdminKey, o.Outcome));
            Assert.All(outcomes.Where(o => o.Id == revoked.Id && o != revoked), o => Assert.Equal(RevokeOutcome.AlreadyRevoked, o.Outcome));
            survivor = revoked.Id == survivor.Id ? added : survivor;
            Assert.Null((await _store.GetAsync(survivor.Id, null, default))?.RevokedAt);
        }
    }

    [Fact]
    public async Task Touch_moves_last_used_forward_only()
    {
        var (key, _) = await CreateAsync("user:alice");

        await _store.TouchAsync(key.Id, Now.AddMinutes(10), default);
        Assert.Equal(Now.AddMinutes(10), (await _store.GetAsync(key.Id, null, default))?.LastUsedAt);

        await _store.TouchAsync(key.Id, Now.AddMinutes(5), default); // a slower instance reporting an older use
        Assert.Equal(Now.AddMinutes(10), (await _store.GetAsync(key.Id, null, default))?.LastUsedAt);

        await _store.TouchAsync(key.Id, Now.AddMinutes(20), default);
        Assert.Equal(Now.AddMinutes(20), (await _store.GetAsync(key.Id, null, default))?.LastUsedAt);
    }

    [Fact]
    public async Task Touch_changes_only_the_touched_key()
    {
        var (touched, _) = await CreateAsync("user:alice");
        var (other, _) = await CreateAsync("user:alice");

        await _store.TouchAsync(touched.Id, Now.AddMinutes(1), default);
        await _store.TouchAsync(ApiKeyFormat.Generate().KeyId, Now.AddMinutes(2), default); // unknown: no error

        Assert.Null((await _store.GetAsync(other.Id, null, default))?.LastUsedAt);
        Assert.Equal(Now.AddMinutes(1), (await _store.GetAsync(touched.Id, null, default))?.LastUsedAt);
    }

    private async Task<(NewApiKey Key, string Text)> CreateAsync(string principal, string role = Roles.Operator,
        string? name = null, DateTimeOffset? expiresAt = null)
    {
        var (id, text, hash) = ApiKeyFormat.Generate();
        TestArtifacts.Secret(text);
        var key = new NewApiKey(id, principal, role, name, hash, Now, "user:creator", expiresAt);
        await _store.CreateAsync(key, default);
        return (key, text);
    }

    private async Task<List<List<string>>> ListAllAsync(string? principal, int limit)
    {
        var pages = new List<List<string>>();
        string? after = null;
        do
        {
            var page = await _store.ListAsync(principal, after, limit, default);
            pages.Add(page.Items.Select(k => k.Id).ToList());
            after = page.Next;
            Assert.True(pages.Count <= 100, "paging does not end");
        }
        while (after is not null);

        return pages;
    }
}

public sealed class ApiKeyStoreSqliteTests() : ApiKeyStoreContract(Db.Sqlite);

public sealed class ApiKeyStorePostgresTests() : ApiKeyStoreContract(Db.Postgres);

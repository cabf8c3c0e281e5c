using AgentHub.Identity;
using AgentHub.Tests.Infrastructure;
using AgentHub.Tests.Storage;

namespace AgentHub.Tests.Identity;

/// <summary>What every <see cref="IPrincipalStore"/> must do, on each engine against a fresh, migrated database.</summary>
public abstract class PrincipalStoreContract(Db engine) : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = StoreDatabase.Start;
    private StoreDatabase _db = null!;
    private ApiKeyStore _keys = null!;
    private PrincipalStore _store = null!;

    public async Task InitializeAsync()
    {
        _db = await StoreDatabase.CreateAsync(engine);
        _keys = new ApiKeyStore(_db.Database);
        _store = new PrincipalStore(_db.Database);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task First_key_creates_the_principal_with_its_kind_creator_and_time()
    {
        await CreateKeyAsync("user:alice", createdBy: "user:root", createdAt: Now);
        await CreateKeyAsync("user:alice", createdBy: "user:other", createdAt: Now.AddHours(1)); // does not re-create
        await CreateKeyAsync("agent:weather-1", createdBy: "user:root", createdAt: Now);

        Assert.Equal(new PrincipalRecord("user:alice", "user", Now, "user:root", 2), await _store.GetAsync("user:alice", Now.AddHours(2), default));
        Assert.Equal(new PrincipalRecord("agent:weather-1", "agent", Now, "user:root", 1), await _store.GetAsync("agent:weather-1", Now.AddHours(2), default));
    }

    [Fact]
    public async Task Get_unknown_principal_returns_null()
    {
        await CreateKeyAsync("user:alice");

        Assert.Null(await _store.GetAsync("user:bob", Now, default));
        Assert.Null(await _store.GetAsync("user:ALICE", Now, default));
    }

    [Fact]
    public async Task Active_keys_count_only_keys_neither_revoked_nor_expired()
    {
        await CreateKeyAsync("user:alice");
        await CreateKeyAsync("user:alice", expiresAt: Now.AddDays(1));
        await CreateKeyAsync("user:alice", expiresAt: Now.AddMinutes(-1));
        var revoked = await CreateKeyAsync("user:alice");
        Assert.Equal(RevokeOutcome.Revoked, await _keys.RevokeAsync(revoked, null, "user:root", Now, default));
        await CreateKeyAsync("user:bob"); // another principal's key is not counted

        Assert.Equal(2, (await _store.GetAsync("user:alice", Now, default))?.ActiveKeys);
        Assert.Equal(1, (await _store.GetAsync("user:alice", Now.AddDays(2), default))?.ActiveKeys);
        var listed = (await _store.ListAsync(null, 10, Now, default)).Items;
        Assert.Equal(2, listed.Single(p => p.Id == "user:alice").ActiveKeys);
        Assert.Equal(1, listed.Single(p => p.Id == "user:bob").ActiveKeys);
    }

    [Fact]
    public async Task Principal_whose_keys_are_all_revoked_stays_listed_with_zero_active_keys()
    {
        var key = await CreateKeyAsync("user:leaver");
        Assert.Equal(RevokeOutcome.Revoked, await _keys.RevokeAsync(key, null, "user:root", Now, default));

        var principal = Assert.Single((await _store.ListAsync(null, 10, Now, default)).Items);

        Assert.Equal(("user:leaver", 0), (principal.Id, principal.ActiveKeys));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(50)]
    public async Task List_pages_by_limit_and_cursor_without_duplicates_or_gaps(int limit)
    {
        string[] principals = ["user:a", "user:a-b", "user:a.b", "user:a_b", "user:b", "agent:z", "agent:a9"];
        foreach (var principal in principals)
        {
            await CreateKeyAsync(principal);
            await CreateKeyAsync(principal); // two keys, still one principal row
        }

        var pages = new List<List<string>>();
        string? after = null;
        do
        {
            var page = await _store.ListAsync(after, limit, Now, default);
            pages.Add(page.Items.Select(p => p.Id).ToList());
            after = page.Next;
            Assert.True(pages.Count <= 100, "paging does not end");
        }
        while (after is not null);

        Assert.All(pages.SkipLast(1), p => Assert.Equal(limit, p.Count));
        Assert.InRange(pages[^1].Count, 1, limit);
        Assert.Equal(principals.Order(StringComparer.Ordinal), pages.SelectMany(p => p));
    }

    private async Task<string> CreateKeyAsync(string principal, DateTimeOffset? expiresAt = null,
        string createdBy = "user:root", DateTimeOffset? createdAt = null)
    {
        var (id, text, hash) = ApiKeyFormat.Generate();
        TestArtifacts.Secret(text);
        await _keys.CreateAsync(new NewApiKey(id, principal, Roles.Operator, null, hash, createdAt ?? Now, createdBy, expiresAt), default);
        return id;
    }
}

public sealed class PrincipalStoreSqliteTests() : PrincipalStoreContract(Db.Sqlite);

public sealed class PrincipalStorePostgresTests() : PrincipalStoreContract(Db.Postgres);

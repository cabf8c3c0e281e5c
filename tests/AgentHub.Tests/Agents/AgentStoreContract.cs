using System.Text;
using System.Text.Json;
using AgentHub.Agents;
using AgentHub.Identity;
using AgentHub.Tests.Infrastructure;
using AgentHub.Tests.Storage;

namespace AgentHub.Tests.Agents;

/// <summary>What <see cref="IAgentStore"/> must do, on each engine against a fresh, migrated database.</summary>
public abstract class AgentStoreContract(Db engine) : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = StoreDatabase.Start;
    private StoreDatabase _db = null!;
    private AgentStore _store = null!;
    private ApiKeyStore _keys = null!;

    public async Task InitializeAsync()
    {
        _db = await StoreDatabase.CreateAsync(engine);
        _store = new AgentStore(_db.Database);
        _keys = new ApiKeyStore(_db.Database);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private static NewAgent Agent(string id, string version = "1.0.0", string skill = "echo", string tag = "Demo", DateTimeOffset? at = null)
    {
        var card = Cards.Valid("https://agent.example.com/a2a", name: $"Agent {id}", version: version, skillId: skill, tag: tag);
        var (info, errors) = CardValidator.Validate(JsonDocument.Parse(card).RootElement, upstreamGiven: false);
        Assert.Empty(errors);
        return new NewAgent(id, Encoding.UTF8.GetBytes(card), info!, null, info!.JsonRpcUrl!, at ?? Now, "user:op");
    }

    private static NewApiKey Key(string id, DateTimeOffset? at = null)
    {
        var (keyId, _, hash) = ApiKeyFormat.Generate();
        return new NewApiKey(keyId, AgentStore.PrincipalOf(id), Roles.Agent, null, hash, at ?? Now, "user:op", null);
    }

    [Fact]
    public async Task Register_creates_version_1_and_issues_the_key()
    {
        var agent = Agent("echo");
        var key = Key("echo");

        var result = await _store.RegisterAsync(agent, key, default);

        Assert.True(result.Created);
        Assert.True(result.VersionCreated);
        Assert.True(result.KeyIssued);
        Assert.Equal(new AgentRecord("echo", 1, "Agent echo", "Echoes what it is sent", "1.0.0", agent.Info.Skills, null,
            "https://agent.example.com/a2a", AgentHealth.Unknown, null, Now, "user:op", Now, "user:op"), result.Agent with { Skills = agent.Info.Skills });
        var skill = Assert.Single(result.Agent.Skills);
        Assert.Equal(("echo", "Agent echo skill", "Repeats the message"), (skill.Id, skill.Name, skill.Description));
        Assert.Equal(["Demo", "demo"], skill.Tags);
        Assert.Equal(agent.Card, await _store.GetCardAsync("echo", default));
        var stored = await _keys.GetAsync(key.Id, null, default);
        Assert.Equal(("agent:echo", Roles.Agent), (stored!.PrincipalId, stored.Role));
    }

    [Fact]
    public async Task Same_card_adds_no_version_and_no_key_a_changed_card_adds_a_version()
    {
        await _store.RegisterAsync(Agent("echo"), Key("echo"), default);
        var unusedKey = Key("echo");

        var same = await _store.RegisterAsync(Agent("echo", at: Now.AddMinutes(1)), unusedKey, default);
        var changed = await _store.RegisterAsync(Agent("echo", version: "2.0.0", at: Now.AddMinutes(2)), Key("echo"), default);

        Assert.False(same.Created || same.VersionCreated || same.KeyIssued);
        Assert.Null(await _keys.GetAsync(unusedKey.Id, null, default));
        Assert.True(changed.VersionCreated);
        Assert.False(changed.KeyIssued);
        Assert.Equal(2, changed.Agent.Version);
        Assert.Equal(Now.AddMinutes(2), changed.Agent.UpdatedAt);
        var versions = await _store.ListVersionsAsync("echo", default);
        Assert.Equal([(1L, "1.0.0"), (2L, "2.0.0")], versions!.Select(v => (v.Version, v.CardVersion)));
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(Agent("echo", version: "2.0.0").Card), versions![1].CardSha256);
    }

    [Fact]
    public async Task Signature_verdict_is_kept_per_version_and_a_new_verdict_for_the_same_card_makes_a_version()
    {
        var invalid = new CardSignature(CardSignature.Invalid, "The card carries 1 signature(s) but no cardKeys were given.", null);
        var verified = new CardSignature(CardSignature.Verified, "Verified: signature 0 verified with kid 'k1'.",
            """{"keys":[{"crv":"P-256","kid":"k1","kty":"EC","x":"x","y":"y"}]}""");
        await _store.RegisterAsync(Agent("echo") with { Signature = invalid }, Key("echo"), default);

        var rekeyed = await _store.RegisterAsync(Agent("echo", at: Now.AddMinutes(1)) with { Signature = verified }, Key("echo"), default);
        var same = await _store.RegisterAsync(Agent("echo", at: Now.AddMinutes(2)) with { Signature = verified }, Key("echo"), default);

        Assert.True(rekeyed.VersionCreated);
        Assert.False(same.VersionCreated);
        Assert.Equal((CardSignature.Verified, verified.Detail), (same.Agent.CardSignature, same.Agent.CardSignatureDetail));
        var versions = await _store.ListVersionsAsync("echo", default);
        Assert.Equal([(1L, CardSignature.Invalid, invalid.Detail), (2L, CardSignature.Verified, verified.Detail)],
            versions!.Select(v => (v.Version, v.CardSignature, v.CardSignatureDetail)));
        Assert.Equal(verified.Keys, await _db.ScalarAsync<string>("SELECT card_keys FROM agent_versions WHERE agent_id = 'echo' AND version = 2"));
        var update = JsonDocument.Parse(await _db.ScalarAsync<string>("SELECT record FROM audit_records WHERE type = 'agent.update' AND target = 'echo'"));
        var details = update.RootElement.GetProperty("details");
        Assert.Equal(("verified", "k1"), (details.GetProperty("card_signature").GetString(), details.GetProperty("card_key_ids").GetString()));
    }

    [Fact]
    public async Task Card_stamp_and_card_by_version_name_the_current_card_without_reading_it()
    {
        await _store.RegisterAsync(Agent("echo"), Key("echo"), default);
        await _store.RegisterAsync(Agent("echo", version: "2.0.0"), Key("echo"), default);

        var stamp = await _store.GetCardStampAsync("echo", default);

        Assert.Equal(2, stamp!.Value.Version);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(Agent("echo", version: "2.0.0").Card), stamp.Value.CardSha256);
        Assert.Equal(Agent("echo").Card, await _store.GetCardAsync("echo", 1, default));
        Assert.Null(await _store.GetCardStampAsync("nobody", default));
        Assert.Null(await _store.GetCardAsync("echo", 3, default));
    }

    [Fact]
    public async Task Delete_removes_every_row_and_revokes_the_agents_keys_in_one_go()
    {
        var key = Key("echo");
        await _store.RegisterAsync(Agent("echo"), key, default);
        await _store.RegisterAsync(Agent("other"), Key("other"), default);

        Assert.True(await _store.DeleteAsync("echo", "user:op", Now.AddHours(1), default));

        Assert.Null(await _store.GetAsync("echo", default));
        Assert.Null(await _store.GetCardAsync("echo", default));
        Assert.Null(await _store.ListVersionsAsync("echo", default));
        var revoked = await _keys.GetAsync(key.Id, null, default);
        Assert.Equal(Now.AddHours(1), revoked!.RevokedAt);
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT COUNT(*) FROM agent_skills WHERE agent_id = 'echo'"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT COUNT(*) FROM agent_tags WHERE agent_id = 'echo'"));
        Assert.NotNull(await _store.GetAsync("other", default));
        Assert.False(await _store.DeleteAsync("echo", "user:op", Now.AddHours(2), default));
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT COUNT(*) FROM audit_records WHERE type = 'agent.delete' AND target = 'echo' AND actor = 'user:op'"));
    }

    [Fact]
    public async Task Upstream_is_the_current_versions_url_and_null_for_an_unknown_or_deleted_agent()
    {
        await _store.RegisterAsync(Agent("echo"), Key("echo"), default);
        await _store.RegisterAsync(Agent("other"), Key("other"), default);
        var moved = Agent("echo", version: "2.0.0", at: Now.AddMinutes(1)) with { UpstreamUrl = "https://moved.example.com/a2a" };
        await _store.RegisterAsync(moved, Key("echo"), default);

        Assert.Equal("https://moved.example.com/a2a", await _store.UpstreamAsync("echo", default));
        Assert.Equal("https://agent.example.com/a2a", await _store.UpstreamAsync("other", default));
        Assert.Null(await _store.UpstreamAsync("nobody", default));
        await _store.DeleteAsync("echo", "user:op", Now.AddHours(1), default);
        Assert.Null(await _store.UpstreamAsync("echo", default));
    }

    [Fact]
    public async Task Register_after_delete_starts_again_with_a_new_key()
    {
        await _store.RegisterAsync(Agent("echo"), Key("echo"), default);
        await _store.DeleteAsync("echo", "user:op", Now, default);

        var again = await _store.RegisterAsync(Agent("echo"), Key("echo"), default);

        Assert.True(again.Created && again.KeyIssued);
        Assert.Equal(1, again.Agent.Version);
    }

    [Fact]
    public async Task List_filters_and_pages()
    {
        await _store.RegisterAsync(Agent("a1", skill: "translate", tag: "Lang"), Key("a1"), default);
        await _store.RegisterAsync(Agent("a2", skill: "summarize", tag: "lang"), Key("a2"), default);
        await _store.RegisterAsync(Agent("a3", skill: "search", tag: "web"), Key("a3"), default);

        async Task<string[]> Ids(AgentFilter f, string? after = null, int limit = 50) =>
            (await _store.ListAsync(f, after, limit, default)).Items.Select(a => a.Id).ToArray();

        Assert.Equal(["a1"], await Ids(new AgentFilter("translate", null, null)));
        Assert.Equal(["a1", "a2"], await Ids(new AgentFilter(null, "LANG", null)));
        Assert.Equal(["a3"], await Ids(new AgentFilter(null, null, "AGENT A3")));
        Assert.Empty(await Ids(new AgentFilter(null, null, "a_3")));
        var first = await _store.ListAsync(new AgentFilter(null, null, null), null, 2, default);
        Assert.Equal("a2", first.Next);
        Assert.Equal(["a3"], await Ids(new AgentFilter(null, null, null), first.Next, 2));
    }

    [Fact]
    public async Task Health_is_recorded_and_upstreams_are_listed()
    {
        await _store.RegisterAsync(Agent("echo"), Key("echo"), default);

        await _store.SetHealthAsync("echo", AgentHealth.Down, Now.AddSeconds(30), default);

        var agent = await _store.GetAsync("echo", default);
        Assert.Equal((AgentHealth.Down, Now.AddSeconds(30)), (agent!.Health, agent.LastCheckedAt));
        Assert.Equal([("echo", "https://agent.example.com/a2a")], await _store.ListUpstreamsAsync(default));
    }
}

public sealed class AgentStoreSqliteTests() : AgentStoreContract(Db.Sqlite);

public sealed class AgentStorePostgresTests() : AgentStoreContract(Db.Postgres);

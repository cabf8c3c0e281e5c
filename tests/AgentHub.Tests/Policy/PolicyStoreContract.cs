using System.Text;
using AgentHub.Audit;
using AgentHub.Policy;
using AgentHub.Tests.Infrastructure;
using AgentHub.Tests.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentHub.Tests.Policy;

/// <summary>What <see cref="PolicyStore"/> and the engine's loading must do, on each engine against a fresh, migrated database.</summary>
public abstract class PolicyStoreContract(Db engine) : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = StoreDatabase.Start;
    private StoreDatabase _db = null!;
    private PolicyStore _store = null!;

    public async Task InitializeAsync()
    {
        _db = await StoreDatabase.CreateAsync(engine);
        _store = new PolicyStore(_db.Database);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Create_then_get_returns_every_field()
    {
        var created = await _store.CreateAsync(new NewPolicyRule("agent:planner", "echo", ["GetTask", "SendMessage"], "allow", "planner uses echo", Now, "user:ops"), default);

        var found = await _store.GetAsync(created.Id, default);

        Assert.Matches("^pol_[a-z2-7]{16}$", created.Id);
        Assert.NotNull(found);
        Assert.Equal((created.Id, "agent:planner", "echo", "allow", "planner uses echo", Now, "user:ops"),
            (found.Id, found.Caller, found.Agent, found.Effect, found.Description, found.CreatedAt, found.CreatedBy));
        Assert.Equal(["GetTask", "SendMessage"], found.Methods);
        Assert.Null(await _store.GetAsync("pol_nosuchrule00000", default));
    }

    [Fact]
    public async Task Loaded_rules_share_the_method_and_effect_constants_instead_of_a_copy_each()
    {
        await _store.CreateAsync(new NewPolicyRule("agent:a", "x", ["CancelTask", "SendMessage"], "deny", null, Now, "user:ops"), default);
        await _store.CreateAsync(new NewPolicyRule("agent:b", "y", ["*"], "allow", null, Now, "user:ops"), default);

        var (_, rules) = await _store.LoadAllAsync(default);

        var deny = Assert.Single(rules, r => r.Caller == "agent:a");
        var allow = Assert.Single(rules, r => r.Caller == "agent:b");
        Assert.Same(PolicyEffects.Deny, deny.Effect);
        Assert.Same(PolicyEffects.Allow, allow.Effect);
        Assert.Same(PolicyMethods.All[PolicyMethods.Bit("CancelTask")], deny.Methods[0]);
        Assert.Same(PolicyMethods.All[PolicyMethods.Bit("SendMessage")], deny.Methods[1]);
        Assert.Same(PolicyMethods.Any, allow.Methods[0]);
    }

    [Fact]
    public async Task Each_change_bumps_the_version_once_and_a_missing_delete_changes_nothing()
    {
        Assert.Equal(0, await _store.VersionAsync(default));
        var first = await CreateAsync("agent:a", "x");
        await CreateAsync("agent:b", "y");
        Assert.Equal(2, await _store.VersionAsync(default));

        Assert.True(await _store.DeleteAsync(first.Id, "user:ops", Now, default));
        Assert.Equal(3, await _store.VersionAsync(default));

        Assert.False(await _store.DeleteAsync(first.Id, "user:ops", Now, default));
        Assert.Equal(3, await _store.VersionAsync(default));
        Assert.Null(await _store.GetAsync(first.Id, default));
    }

    [Fact]
    public async Task Create_and_delete_write_audit_records_with_actor_target_and_rule()
    {
        var rule = await _store.CreateAsync(new NewPolicyRule("role:operator", "*", ["*"], "deny", null, Now, "user:ops"), default);
        await _store.DeleteAsync(rule.Id, "user:admin", Now.AddMinutes(1), default);

        var records = await AuditRecordsAsync();

        var created = Assert.Single(records, r => r.Type == AuditTypes.PolicyCreate);
        var deleted = Assert.Single(records, r => r.Type == AuditTypes.PolicyDelete);
        Assert.Equal(("user:ops", rule.Id), (created.Actor, created.Target));
        Assert.Equal(("user:admin", rule.Id), (deleted.Actor, deleted.Target));
        IReadOnlyDictionary<string, string> expected = new Dictionary<string, string> { ["caller"] = "role:operator", ["agent"] = "*", ["methods"] = "*", ["effect"] = "deny" };
        Assert.Equal(expected, created.Details);
        Assert.Equal(expected, deleted.Details);
    }

    [Fact]
    public async Task A_change_whose_audit_record_cannot_be_written_is_not_made()
    {
        var kept = await CreateAsync("agent:a", "x");
        await _db.ExecuteAsync("DROP TABLE audit_records");

        // The audit log fails at its first statement here (no table), so the error may be the database's own.
        await Assert.ThrowsAnyAsync<Exception>(() => CreateAsync("agent:b", "y"));
        await Assert.ThrowsAnyAsync<Exception>(() => _store.DeleteAsync(kept.Id, "user:ops", Now, default));

        Assert.Equal(1, await _store.VersionAsync(default));
        var (_, rules) = await _store.LoadAllAsync(default);
        Assert.Equal([kept.Id], rules.Select(r => r.Id));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(50)]
    public async Task List_filters_by_caller_and_agent_and_pages_without_gaps(int limit)
    {
        var plannerEcho = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            plannerEcho.Add((await CreateAsync("agent:planner", "echo")).Id);
            await CreateAsync("agent:planner", "search");
            await CreateAsync("agent:other", "echo");
        }

        Assert.Equal(plannerEcho.Order(StringComparer.Ordinal), await ListAllAsync("agent:planner", "echo", limit));
        Assert.Equal(8, (await ListAllAsync("agent:planner", null, limit)).Count);
        Assert.Equal(8, (await ListAllAsync(null, "echo", limit)).Count);
        var all = await ListAllAsync(null, null, limit);
        Assert.Equal(12, all.Count);
        Assert.Equal(all.Order(StringComparer.Ordinal), all);
        Assert.Empty(await ListAllAsync("agent:nobody", null, limit));
    }

    [Fact]
    public async Task Engine_loads_every_rule_at_the_current_version()
    {
        await CreateAsync("agent:planner", "echo");
        await _store.CreateAsync(new NewPolicyRule("agent:planner", "echo", ["SendMessage"], "deny", null, Now, "user:ops"), default);
        using var policyEngine = new PolicyEngine(_store, NullLogger<PolicyEngine>.Instance);

        await policyEngine.LoadAsync(default);

        Assert.Equal(2, policyEngine.Current.Version);
        Assert.Equal(2, policyEngine.Current.Count);
        Assert.True(policyEngine.Decide("agent:planner", null, "echo", "GetTask").Allowed);
        Assert.False(policyEngine.Decide("agent:planner", null, "echo", "SendMessage").Allowed);
    }

    [Fact]
    public async Task Engine_refresh_sees_changes_made_through_another_instance_and_only_then_reloads()
    {
        using var here = new PolicyEngine(_store, NullLogger<PolicyEngine>.Instance);
        await here.LoadAsync(default);
        var elsewhere = new PolicyStore(_db.OpenAnother());

        Assert.False(await here.RefreshAsync(default));
        var rule = await elsewhere.CreateAsync(new NewPolicyRule("agent:planner", "echo", ["*"], "allow", null, Now, "user:ops"), default);
        Assert.False(here.Decide("agent:planner", null, "echo", "GetTask").Allowed);

        Assert.True(await here.RefreshAsync(default));
        Assert.True(here.Decide("agent:planner", null, "echo", "GetTask").Allowed);

        await elsewhere.DeleteAsync(rule.Id, "user:ops", Now, default);
        Assert.True(await here.RefreshAsync(default));
        Assert.False(here.Decide("agent:planner", null, "echo", "GetTask").Allowed);
    }

    [Fact]
    public async Task A_failed_refresh_keeps_the_last_compiled_rules()
    {
        await CreateAsync("agent:planner", "echo");
        using var policyEngine = new PolicyEngine(_store, NullLogger<PolicyEngine>.Instance);
        await policyEngine.LoadAsync(default);
        await _db.ExecuteAsync("DROP TABLE policy_version");

        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => policyEngine.RefreshAsync(default));

        Assert.True(policyEngine.Decide("agent:planner", null, "echo", "GetTask").Allowed);
        Assert.Equal(1, policyEngine.Current.Version);
    }

    [Fact]
    public async Task Start_fails_when_the_rules_cannot_be_loaded_and_every_call_stays_denied()
    {
        await using var empty = await StoreDatabase.CreateAsync(engine, migrate: false);
        using var policyEngine = new PolicyEngine(new PolicyStore(empty.Database), NullLogger<PolicyEngine>.Instance);
        using var refresher = new PolicyRefresher(policyEngine, Options.Create(new PolicyOptions()), TimeProvider.System);

        var error = await Assert.ThrowsAsync<StartupException>(() => refresher.StartAsync(default));

        Assert.StartsWith("The policy rules could not be loaded: ", error.Message, StringComparison.Ordinal);
        Assert.False(policyEngine.Decide("agent:planner", null, "echo", "GetTask").Allowed);
    }

    private Task<PolicyRule> CreateAsync(string caller, string agent) =>
        _store.CreateAsync(new NewPolicyRule(caller, agent, ["*"], "allow", null, Now, "user:ops"), default);

    private async Task<List<string>> ListAllAsync(string? caller, string? agent, int limit)
    {
        var ids = new List<string>();
        string? after = null;
        var pages = 0;
        do
        {
            var page = await _store.ListAsync(caller, agent, after, limit, default);
            Assert.True(page.Items.Count <= limit);
            ids.AddRange(page.Items.Select(r => r.Id));
            after = page.Next;
            Assert.True(++pages <= 100, "paging does not end");
        }
        while (after is not null);

        return ids;
    }

    private async Task<List<AuditRecord>> AuditRecordsAsync()
    {
        var records = await _db.QueryAsync<string>("SELECT record FROM audit_records ORDER BY seq");
        return records.Select(r => AuditRecord.Parse(Encoding.UTF8.GetBytes(r))!).ToList();
    }
}

public sealed class PolicyStoreSqliteTests() : PolicyStoreContract(Db.Sqlite);

public sealed class PolicyStorePostgresTests() : PolicyStoreContract(Db.Postgres);

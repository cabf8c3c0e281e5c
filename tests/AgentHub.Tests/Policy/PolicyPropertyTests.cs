using AgentHub.Policy;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AgentHub.Tests.Policy;

/// <summary>
/// The compiled engine against a naive evaluator that scans every rule, over seeded random rule sets and queries
/// (reproducible: a failure names its seed), the same against FsCheck-generated rule sets and queries (shrunk to a
/// smallest counterexample on failure), and the engine's allocation-free decision at 10,000 rules.
/// </summary>
public sealed class PolicyPropertyTests
{
    private static readonly string[] RuleCallers = ["agent:a", "agent:b", "user:u", "role:operator", "role:agent", "*"];
    private static readonly string[] RuleAgents = ["x", "y", "z", "*"];
    private static readonly string[] QueryCallers = ["agent:a", "agent:b", "agent:c", "user:u", "user:v"];
    private static readonly string?[] QueryRoles = [null, "operator", "agent", "auditor"];
    private static readonly string[] QueryAgents = ["x", "y", "z", "w"];
    private static readonly string[] QueryMethods = [.. PolicyMethods.All, "NotAMethod"];

    [Fact]
    public void Compiled_decisions_equal_a_naive_scan_over_random_rule_sets()
    {
        for (var seed = 1; seed <= 200; seed++)
        {
            var random = new Random(seed);
            var rules = RandomRules(random, random.Next(0, 40), RuleCallers, RuleAgents);
            var policy = CompiledPolicy.Compile(seed, rules);
            for (var q = 0; q < 200; q++)
            {
                var caller = QueryCallers[random.Next(QueryCallers.Length)];
                var role = QueryRoles[random.Next(QueryRoles.Length)];
                var agent = QueryAgents[random.Next(QueryAgents.Length)];
                var method = QueryMethods[random.Next(QueryMethods.Length)];

                var actual = policy.Decide(caller, role, agent, method);
                var (allowed, rule) = Reference(rules, caller, role, agent, method);

                if (actual.Allowed != allowed || actual.Rule?.Id != rule?.Id)
                {
                    Assert.Fail($"seed {seed}, query {q}: {caller} (role {role ?? "-"}) -> {agent}.{method}: engine {actual.Effect} by {actual.Rule?.Id ?? "-"}, " +
                        $"reference {(allowed ? "allow" : "deny")} by {rule?.Id ?? "-"}; rules:\n" +
                        string.Join('\n', rules.Select(r => $"{r.Id} {r.Caller} {r.Agent} {string.Join(',', r.Methods)} {r.Effect}")));
                }
            }
        }
    }

    [Property(MaxTest = 500)]
    public Property Compiled_decisions_equal_a_naive_scan_over_generated_rule_sets()
    {
        var methodSets = Gen.OneOf(
            Gen.Constant<IReadOnlyList<string>>(["*"]),
            Gen.NonEmptyListOf(Gen.Elements(PolicyMethods.All.ToArray())).Select(m => (IReadOnlyList<string>)[.. m.Distinct()]));
        var rules = Gen.ListOf(
            from caller in Gen.Elements(RuleCallers)
            from agent in Gen.Elements(RuleAgents)
            from methods in methodSets
            from effect in Gen.Elements("allow", "allow", "deny")
            from id in Gen.Choose(0, 0xffff)
            select (caller, agent, methods, effect, id))
            .Select(list => list.Select((r, i) => PolicyDecisionTests.Rule($"pol_{r.id:x4}{i:x4}", r.caller, r.agent, r.methods, r.effect)).ToList());
        var queries = Gen.NonEmptyListOf(
            from caller in Gen.Elements(QueryCallers)
            from role in Gen.Elements(QueryRoles)
            from agent in Gen.Elements(QueryAgents)
            from method in Gen.Elements(QueryMethods)
            select (caller, role, agent, method));

        return Prop.ForAll(rules.ToArbitrary(), queries.ToArbitrary(), (ruleSet, asked) =>
        {
            var policy = CompiledPolicy.Compile(1, ruleSet);
            foreach (var (caller, role, agent, method) in asked)
            {
                var actual = policy.Decide(caller, role, agent, method);
                var (allowed, rule) = Reference(ruleSet, caller, role, agent, method);
                Assert.True(actual.Allowed == allowed && actual.Rule?.Id == rule?.Id,
                    $"{caller} (role {role ?? "-"}) -> {agent}.{method}: engine {actual.Effect} by {actual.Rule?.Id ?? "-"}, reference {(allowed ? "allow" : "deny")} by {rule?.Id ?? "-"}");
            }
        });
    }

    [Fact]
    public void Decide_allocates_nothing_at_ten_thousand_rules()
    {
        var random = new Random(42);
        var callers = Enumerable.Range(0, 500).Select(i => $"agent:a{i}").Concat(["role:agent", "role:operator", "*"]).ToArray();
        var agents = Enumerable.Range(0, 200).Select(i => $"agent-{i}").Append("*").ToArray();
        var rules = RandomRules(random, 10_000, callers, agents);
        var policy = CompiledPolicy.Compile(1, rules);
        Assert.Equal(10_000, policy.Count);
        var queries = Enumerable.Range(0, 1024).Select(_ => (
            Caller: $"agent:a{random.Next(600)}",
            Role: random.Next(2) == 0 ? "agent" : null,
            Agent: $"agent-{random.Next(250)}",
            Method: PolicyMethods.All[random.Next(PolicyMethods.All.Count)])).ToArray();

        var allowed = 0;
        for (var i = 0; i < 20_000; i++) // warm up: tiered compilation settles
        {
            var q = queries[i & 1023];
            allowed += policy.Decide(q.Caller, q.Role, q.Agent, q.Method).Allowed ? 1 : 0;
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 200_000; i++)
        {
            var q = queries[i & 1023];
            var decision = policy.Decide(q.Caller, q.Role, q.Agent, q.Method);
            allowed += decision.Allowed ? 1 : 0;
            allowed += decision.Rule is null ? 0 : 1;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.InRange(allowed, 1, int.MaxValue); // the queries hit rules: the measured path is not only the empty one
    }

    private static List<PolicyRule> RandomRules(Random random, int count, string[] callers, string[] agents)
    {
        var rules = new List<PolicyRule>(count);
        for (var i = 0; i < count; i++)
        {
            IReadOnlyList<string> methods = random.Next(4) == 0
                ? ["*"]
                : [.. PolicyMethods.All.Where(_ => random.Next(4) == 0).DefaultIfEmpty(PolicyMethods.All[random.Next(PolicyMethods.All.Count)])];
            rules.Add(PolicyDecisionTests.Rule($"pol_{random.Next():x8}{i:x4}", callers[random.Next(callers.Length)], agents[random.Next(agents.Length)],
                methods, random.Next(3) == 0 ? "deny" : "allow"));
        }

        return rules;
    }

    /// <summary>
    /// The specification, read literally: any matching deny denies; otherwise any matching allow allows; otherwise deny.
    /// The reported rule is the most specific match (exact agent before *, then principal, role, *), then the smallest id.
    /// </summary>
    private static (bool Allowed, PolicyRule? Rule) Reference(List<PolicyRule> rules, string caller, string? role, string agent, string method)
    {
        var known = PolicyMethods.All.Contains(method);
        var matching = rules
            .Where(r => known && (r.Methods.Contains("*") || r.Methods.Contains(method)))
            .Where(r => r.Agent == "*" || r.Agent == agent)
            .Where(r => r.Caller == "*" || r.Caller == caller || (role is not null && r.Caller == "role:" + role))
            .OrderBy(r => r.Agent == "*" ? 1 : 0)
            .ThenBy(r => r.Caller == caller ? 0 : r.Caller == "*" ? 2 : 1)
            .ThenBy(r => r.Id, StringComparer.Ordinal)
            .ToList();
        var deny = matching.FirstOrDefault(r => r.Effect == "deny");
        if (deny is not null)
        {
            return (false, deny);
        }

        var allow = matching.FirstOrDefault(r => r.Effect == "allow");
        return (allow is not null, allow);
    }
}

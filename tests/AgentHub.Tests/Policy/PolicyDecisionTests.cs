using AgentHub.Policy;

namespace AgentHub.Tests.Policy;

/// <summary>The compiled decision, rule by rule. Rules are written "caller|agent|methods|effect" and get ids r1, r2, … in order.</summary>
public sealed class PolicyDecisionTests
{
    [Theory]
    // exact
    [InlineData(new[] { "agent:planner|echo|SendMessage|allow" }, "agent:planner", null, "echo", "SendMessage", "allow", "r1")]
    [InlineData(new[] { "agent:planner|echo|SendMessage|allow" }, "agent:planner", null, "echo", "GetTask", "deny", null)]
    [InlineData(new[] { "agent:planner|echo|SendMessage|allow" }, "agent:other", null, "echo", "SendMessage", "deny", null)]
    [InlineData(new[] { "agent:planner|echo|SendMessage|allow" }, "agent:planner", null, "echo2", "SendMessage", "deny", null)]
    [InlineData(new[] { "agent:planner|echo|SendMessage,GetTask|allow" }, "agent:planner", null, "echo", "GetTask", "allow", "r1")]
    [InlineData(new[] { "user:alice|echo|SendMessage|allow" }, "user:alice", "operator", "echo", "SendMessage", "allow", "r1")]
    [InlineData(new[] { "user:alice|echo|SendMessage|allow" }, "agent:alice", null, "echo", "SendMessage", "deny", null)]
    // wildcard caller
    [InlineData(new[] { "*|echo|SendMessage|allow" }, "agent:anyone", null, "echo", "SendMessage", "allow", "r1")]
    [InlineData(new[] { "*|echo|SendMessage|allow" }, "user:bob", "auditor", "echo", "SendMessage", "allow", "r1")]
    [InlineData(new[] { "*|echo|SendMessage|allow" }, "agent:anyone", null, "other", "SendMessage", "deny", null)]
    // role:
    [InlineData(new[] { "role:operator|echo|*|allow" }, "user:alice", "operator", "echo", "CancelTask", "allow", "r1")]
    [InlineData(new[] { "role:operator|echo|*|allow" }, "user:alice", "auditor", "echo", "CancelTask", "deny", null)]
    [InlineData(new[] { "role:operator|echo|*|allow" }, "user:alice", null, "echo", "CancelTask", "deny", null)]
    [InlineData(new[] { "role:agent|*|SendMessage|allow" }, "agent:planner", "agent", "echo", "SendMessage", "allow", "r1")]
    // wildcard agent
    [InlineData(new[] { "agent:planner|*|GetTask|allow" }, "agent:planner", null, "echo", "GetTask", "allow", "r1")]
    [InlineData(new[] { "agent:planner|*|GetTask|allow" }, "agent:planner", null, "search", "GetTask", "allow", "r1")]
    [InlineData(new[] { "agent:planner|*|GetTask|allow" }, "agent:planner", null, "search", "SendMessage", "deny", null)]
    // wildcard methods
    [InlineData(new[] { "agent:planner|echo|*|allow" }, "agent:planner", null, "echo", "GetExtendedAgentCard", "allow", "r1")]
    [InlineData(new[] { "*|*|*|allow" }, "user:x", null, "y", "DeleteTaskPushNotificationConfig", "allow", "r1")]
    [InlineData(new[] { "*|*|*|allow" }, "user:x", null, "y", "NotAMethod", "deny", null)] // unknown methods are never allowed
    // deny beats allow at every specificity
    [InlineData(new[] { "agent:planner|echo|SendMessage|allow", "agent:planner|echo|SendMessage|deny" }, "agent:planner", null, "echo", "SendMessage", "deny", "r2")]
    [InlineData(new[] { "agent:planner|echo|SendMessage|allow", "*|*|*|deny" }, "agent:planner", null, "echo", "SendMessage", "deny", "r2")]
    [InlineData(new[] { "*|*|*|allow", "agent:planner|echo|SendMessage|deny" }, "agent:planner", null, "echo", "SendMessage", "deny", "r2")]
    [InlineData(new[] { "role:agent|echo|*|allow", "agent:planner|echo|*|deny" }, "agent:planner", "agent", "echo", "GetTask", "deny", "r2")]
    [InlineData(new[] { "agent:planner|echo|*|allow", "role:agent|echo|*|deny" }, "agent:planner", "agent", "echo", "GetTask", "deny", "r2")]
    [InlineData(new[] { "agent:planner|echo|*|allow", "*|echo|GetTask|deny" }, "agent:planner", null, "echo", "GetTask", "deny", "r2")]
    [InlineData(new[] { "agent:planner|echo|*|allow", "agent:planner|*|GetTask|deny" }, "agent:planner", null, "echo", "GetTask", "deny", "r2")]
    [InlineData(new[] { "agent:planner|*|*|allow", "agent:planner|echo|*|deny" }, "agent:planner", null, "echo", "ListTasks", "deny", "r2")]
    [InlineData(new[] { "agent:planner|*|*|allow", "agent:planner|echo|*|deny" }, "agent:planner", null, "search", "ListTasks", "allow", "r1")]
    [InlineData(new[] { "agent:planner|echo|*|allow", "agent:planner|echo|CancelTask|deny" }, "agent:planner", null, "echo", "SendMessage", "allow", "r1")]
    [InlineData(new[] { "agent:planner|echo|*|allow", "agent:planner|echo|CancelTask|deny" }, "agent:planner", null, "echo", "CancelTask", "deny", "r2")]
    [InlineData(new[] { "*|*|*|deny", "*|*|*|allow" }, "user:anyone", "admin", "echo", "SendMessage", "deny", "r1")]
    // no rule: deny
    [InlineData(new string[0], "agent:planner", "agent", "echo", "SendMessage", "deny", null)]
    // unrelated rules: deny
    [InlineData(new[] { "agent:other|echo|*|allow", "agent:planner|search|*|allow", "role:operator|echo|*|allow", "agent:planner|echo|GetTask|allow" },
        "agent:planner", "agent", "echo", "SendMessage", "deny", null)]
    // the most specific deciding rule is reported
    [InlineData(new[] { "*|*|*|allow", "role:agent|*|*|allow", "agent:planner|*|*|allow", "*|echo|*|allow" }, "agent:planner", "agent", "echo", "GetTask", "allow", "r4")]
    [InlineData(new[] { "*|*|*|allow", "role:agent|*|*|allow", "agent:planner|*|*|allow" }, "agent:planner", "agent", "echo", "GetTask", "allow", "r3")]
    [InlineData(new[] { "*|*|*|allow", "role:agent|*|*|allow" }, "agent:planner", "agent", "echo", "GetTask", "allow", "r2")]
    public void Decide_follows_the_rule_matrix(string[] rules, string caller, string? role, string agent, string method, string expected, string? expectedRule)
    {
        var policy = CompiledPolicy.Compile(1, Parse(rules));

        var decision = policy.Decide(caller, role, agent, method);

        Assert.Equal(expected, decision.Effect);
        Assert.Equal(expected == "allow", decision.Allowed);
        Assert.Equal(expectedRule, decision.Rule?.Id);
        Assert.Equal(expectedRule switch
        {
            null => $"no rule allows {caller} to call {agent}.{method}",
            _ when expected == "deny" => $"denied by rule {expectedRule}",
            _ => $"allowed by rule {expectedRule}",
        }, decision.Reason);
    }

    [Fact]
    public void Denial_without_a_rule_names_caller_agent_and_method()
    {
        var decision = CompiledPolicy.Empty.Decide("agent:planner", "agent", "echo", "SendMessage");

        Assert.False(decision.Allowed);
        Assert.Equal("no rule allows agent:planner to call echo.SendMessage", decision.Reason);
    }

    [Fact]
    public void Among_equally_specific_rules_the_smallest_id_decides_whatever_the_load_order()
    {
        var later = Rule("pol_b", "agent:planner", "echo", ["*"], "allow");
        var earlier = Rule("pol_a", "agent:planner", "echo", ["SendMessage"], "allow");

        Assert.Equal("pol_a", CompiledPolicy.Compile(1, [later, earlier]).Decide("agent:planner", null, "echo", "SendMessage").Rule?.Id);
        Assert.Equal("pol_a", CompiledPolicy.Compile(1, [earlier, later]).Decide("agent:planner", null, "echo", "SendMessage").Rule?.Id);
        Assert.Equal("pol_b", CompiledPolicy.Compile(1, [earlier, later]).Decide("agent:planner", null, "echo", "GetTask").Rule?.Id);
    }

    internal static IReadOnlyList<PolicyRule> Parse(string[] rules) =>
        rules.Select((text, i) =>
        {
            var parts = text.Split('|');
            return Rule($"r{i + 1}", parts[0], parts[1], parts[2].Split(','), parts[3]);
        }).ToList();

    internal static PolicyRule Rule(string id, string caller, string agent, IReadOnlyList<string> methods, string effect) =>
        new(id, caller, agent, methods, effect, null, DateTimeOffset.UnixEpoch, "user:test");
}

using AgentHub.Policy;
using BenchmarkDotNet.Attributes;

namespace AgentHub.Benchmarks.Micro;

/// <summary>
/// Compiling a rule set and deciding one relay call against it. The allowed call matches an exact caller → agent rule;
/// the denied one is a stranger calling a known agent, so every lookup of both passes runs and misses.
/// </summary>
[BenchmarkCategory("Policy")]
public class PolicyBenchmarks
{
    private IReadOnlyList<PolicyRule> _rules = [];
    private CompiledPolicy _policy = CompiledPolicy.Empty;
    private PolicyRule _allowedBy = null!;

    [Params(10, 1_000, 10_000)]
    public int Rules { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _rules = PolicyRules.Realistic(Rules);
        _policy = CompiledPolicy.Compile(1, _rules);
        _allowedBy = _rules.Last(r => !r.IsDeny && r.Caller.StartsWith("agent:caller-", StringComparison.Ordinal));
        if (!DecideAllowed() || DecideDenied())
        {
            throw new InvalidOperationException("The sample calls do not decide as the benchmark assumes.");
        }
    }

    [Benchmark]
    public object Compile() => CompiledPolicy.Compile(1, _rules);

    [Benchmark]
    public bool DecideAllowed() => _policy.Decide(_allowedBy.Caller, "agent", _allowedBy.Agent, "SendMessage").Allowed;

    [Benchmark]
    public bool DecideDenied() => _policy.Decide("agent:stranger", "agent", _allowedBy.Agent, "SendMessage").Allowed;
}

/// <summary>A rule set as a busy hub might hold: mostly exact caller → agent allows, some role and <c>*</c> rules, a few denies.</summary>
internal static class PolicyRules
{
    private static readonly DateTimeOffset Created = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static IReadOnlyList<PolicyRule> Realistic(int count)
    {
        var agents = Math.Max(2, count / 10);
        var callers = Math.Max(2, count / 4);
        var rules = new List<PolicyRule>(count);
        for (var i = 0; i < count; i++)
        {
            var agent = $"agent-{i % agents:D5}";
            var caller = $"agent:caller-{i % callers:D5}";
            rules.Add((i % 100, i % 1000) switch
            {
                (_, 3) => Rule(i, "role:admin", "*", ["*"]),
                (_, 4) => Rule(i, $"agent:monitor-{i:D5}", "*", ["GetTask", "ListTasks"]),
                (1, _) => Rule(i, "role:operator", agent, ["CancelTask", "GetTask", "ListTasks"]),
                (2, _) => Rule(i, "*", agent, ["GetExtendedAgentCard"]),
                (5, _) => Rule(i, caller, agent, ["CancelTask"], PolicyEffects.Deny),
                (_, _) when i % 3 == 0 => Rule(i, caller, agent, ["*"]),
                _ => Rule(i, caller, agent, ["GetTask", "SendMessage", "SendStreamingMessage"]),
            });
        }

        return rules;
    }

    private static PolicyRule Rule(int i, string caller, string agent, string[] methods, string effect = PolicyEffects.Allow) =>
        new($"pr_{i:D6}", caller, agent, methods, effect, null, Created, "user:admin");
}

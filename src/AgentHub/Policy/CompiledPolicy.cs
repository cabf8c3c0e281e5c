using System.Collections.Frozen;

namespace AgentHub.Policy;

/// <summary>
/// The answer to one policy question. A struct holding references only, so deciding allocates nothing; the
/// human-readable <see cref="Reason"/> is built only when someone asks for it (a denial, an explain).
/// </summary>
internal readonly struct PolicyDecision
{
    private readonly string _caller;
    private readonly string _agent;
    private readonly string _method;

    public PolicyDecision(bool allowed, PolicyRule? rule, string caller, string agent, string method)
    {
        Allowed = allowed;
        Rule = rule;
        _caller = caller;
        _agent = agent;
        _method = method;
    }

    public bool Allowed { get; }

    /// <summary>The rule that decided, or null when no rule matched (default deny).</summary>
    public PolicyRule? Rule { get; }

    public string Effect => Allowed ? PolicyEffects.Allow : PolicyEffects.Deny;

    /// <summary>What the relay puts in its JSON-RPC error and explain returns: names what is missing or who decided.</summary>
    public string Reason => Rule switch
    {
        null => $"no rule allows {_caller} to call {_agent}.{_method}",
        { IsDeny: true } r => $"denied by rule {r.Id}",
        { } r => $"allowed by rule {r.Id}",
    };
}

/// <summary>
/// Every rule, compiled into lookups: agent (exact, then <c>*</c>) → caller (principal, role, <c>*</c>) → per method
/// bit the deciding allow and deny rule. A decision is at most six dictionary lookups and twelve cell reads (each one
/// bit test, then a look through the cell's few entries): no scan of the rules, no LINQ, no allocation. Deny beats
/// allow at every specificity; among several matching rules of the same effect the most specific one is reported
/// (exact agent before <c>*</c>; principal, then role, then <c>*</c>), and within one cell the rule with the smallest id.
/// </summary>
internal sealed class CompiledPolicy
{
    public static readonly CompiledPolicy Empty = Compile(0, []);

    private readonly FrozenDictionary<string, AgentBucket> _agents;
    private readonly AgentBucket? _anyAgent;

    private CompiledPolicy(long version, int count, FrozenDictionary<string, AgentBucket> agents, AgentBucket? anyAgent)
    {
        Version = version;
        Count = count;
        _agents = agents;
        _anyAgent = anyAgent;
    }

    /// <summary>The database's policy version these rules were read at.</summary>
    public long Version { get; }

    public int Count { get; }

    public PolicyDecision Decide(string callerPrincipal, string? callerRole, string agentId, string method)
    {
        callerPrincipal ??= "";
        agentId ??= "";
        method ??= "";
        var bit = PolicyMethods.Bit(method);
        if (bit < 0)
        {
            return new PolicyDecision(false, null, callerPrincipal, agentId, method);
        }

        _agents.TryGetValue(agentId, out var exact);
        var rule = exact?.Find(callerPrincipal, callerRole, bit, deny: true) ?? _anyAgent?.Find(callerPrincipal, callerRole, bit, deny: true);
        if (rule is not null)
        {
            return new PolicyDecision(false, rule, callerPrincipal, agentId, method);
        }

        rule = exact?.Find(callerPrincipal, callerRole, bit, deny: false) ?? _anyAgent?.Find(callerPrincipal, callerRole, bit, deny: false);
        return new PolicyDecision(rule is not null, rule, callerPrincipal, agentId, method);
    }

    public static CompiledPolicy Compile(long version, IReadOnlyList<PolicyRule> rules)
    {
        var agents = new Dictionary<string, BucketBuilder>(StringComparer.Ordinal);
        BucketBuilder? anyAgent = null;
        // Ordered by id, so the first rule placed in a slot is the one with the smallest id.
        foreach (var rule in rules.OrderBy(r => r.Id, StringComparer.Ordinal))
        {
            BucketBuilder bucket;
            if (rule.Agent == "*")
            {
                bucket = anyAgent ??= new BucketBuilder();
            }
            else if (!agents.TryGetValue(rule.Agent, out bucket!))
            {
                bucket = agents[rule.Agent] = new BucketBuilder();
            }

            bucket.Add(rule);
        }

        return new CompiledPolicy(version, rules.Count,
            agents.ToFrozenDictionary(a => a.Key, a => a.Value.Build(), StringComparer.Ordinal), anyAgent?.Build());
    }

    private sealed class AgentBucket(FrozenDictionary<string, Cell> byPrincipal, FrozenDictionary<string, Cell> byRole, Cell? anyCaller)
    {
        public PolicyRule? Find(string principal, string? role, int bit, bool deny)
        {
            if (byPrincipal.TryGetValue(principal, out var cell) && cell.Get(bit, deny) is { } byPrincipalRule)
            {
                return byPrincipalRule;
            }

            if (role is not null && byRole.TryGetValue(role, out cell) && cell.Get(bit, deny) is { } byRoleRule)
            {
                return byRoleRule;
            }

            return anyCaller?.Get(bit, deny);
        }
    }

    /// <summary>
    /// For one (agent, caller) pair: the rules that decide some method, in id order, each with a key holding its
    /// method bits (allow rules in the low half, deny rules in the high half). <see cref="Get"/> returns the first
    /// rule whose key has the bit: the one with the smallest id. A rule whose every bit an earlier rule of the same
    /// effect already decides is not kept, so a cell holds at most one rule per method and effect however many rules
    /// name the pair; most hold one (about 70 bytes, where two arrays with a slot per method took over 250).
    /// </summary>
    private sealed class Cell
    {
        private const int DenyShift = 16; // the 11 A2A methods fit in either half
        private Entry[] _entries = [];
        private int _covered; // bits already decided, in the same layout as the keys

        public PolicyRule? Get(int bit, bool deny)
        {
            var wanted = 1 << (deny ? bit + DenyShift : bit);
            if ((_covered & wanted) == 0)
            {
                return null; // no rule of this effect names the method: the common case of the deny pass, one test
            }

            var entries = _entries;
            for (var i = 0; i < entries.Length; i++)
            {
                if ((entries[i].Key & wanted) != 0)
                {
                    return entries[i].Rule;
                }
            }

            return null;
        }

        /// <summary>Rules must come in id order.</summary>
        public void Add(PolicyRule rule)
        {
            var mask = PolicyMethods.Mask(rule.Methods);
            var key = rule.IsDeny ? mask << DenyShift : mask;
            if ((key & ~_covered) == 0)
            {
                return; // every method this rule names is already decided by a rule of the same effect with a smaller id
            }

            _covered |= key;
            Array.Resize(ref _entries, _entries.Length + 1);
            _entries[^1] = new Entry(key, rule);
        }

        private readonly record struct Entry(int Key, PolicyRule Rule);
    }

    private sealed class BucketBuilder
    {
        private readonly Dictionary<string, Cell> _byPrincipal = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Cell> _byRole = new(StringComparer.Ordinal);
        private Cell? _anyCaller;

        public void Add(PolicyRule rule)
        {
            Cell cell;
            if (rule.Caller == "*")
            {
                cell = _anyCaller ??= new Cell();
            }
            else if (rule.Caller.StartsWith("role:", StringComparison.Ordinal))
            {
                cell = GetOrAdd(_byRole, rule.Caller["role:".Length..]);
            }
            else
            {
                cell = GetOrAdd(_byPrincipal, rule.Caller);
            }

            cell.Add(rule);
        }

        public AgentBucket Build() => new(_byPrincipal.ToFrozenDictionary(StringComparer.Ordinal), _byRole.ToFrozenDictionary(StringComparer.Ordinal), _anyCaller);

        private static Cell GetOrAdd(Dictionary<string, Cell> cells, string key)
        {
            if (!cells.TryGetValue(key, out var cell))
            {
                cell = cells[key] = new Cell();
            }

            return cell;
        }
    }
}

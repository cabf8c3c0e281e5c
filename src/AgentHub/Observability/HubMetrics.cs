using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AgentHub.Observability;

/// <summary>
/// The hub's instruments (meter <c>AgentHub</c>). Label values are bounded: routes are templates, methods and reasons
/// are fixed words, agents are registered ids. <see cref="MetricsCollector"/> aggregates them and <c>/metrics</c>
/// renders them in the Prometheus text format; <see cref="Exported"/> says how each one is named and labelled there.
/// </summary>
internal sealed class HubMetrics
{
    public const string MeterName = "AgentHub";

    /// <summary>Latency buckets in seconds: from half a millisecond (a local call) to ten seconds (a slow upstream).</summary>
    public static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Audit group-commit sizes: powers of two up to 4096 records.</summary>
    public static readonly double[] BatchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

    // Boxed once: a status code tag must not allocate on every request.
    private static readonly object[] StatusCodes = [.. Enumerable.Range(0, 600).Select(s => (object)s)];

    private static readonly HashSet<string> RelayMethods =
    [
        "SendMessage", "SendStreamingMessage", "GetTask", "ListTasks", "CancelTask", "SubscribeToTask",
        "CreateTaskPushNotificationConfig", "GetTaskPushNotificationConfig", "ListTaskPushNotificationConfig",
        "DeleteTaskPushNotificationConfig", "GetExtendedAgentCard",
    ];

    private readonly List<MetricSpec> _exported = [];
    private readonly Counter<long> _httpRequests;
    private readonly Histogram<double> _httpDuration;
    private readonly Counter<long> _authFailures;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _policyDenials;
    private readonly Counter<long> _signatureFailures;
    private readonly Counter<long> _relayCalls;
    private readonly Histogram<double> _relayDuration;
    private readonly Histogram<double> _upstreamDuration;
    private readonly Counter<long> _upstreamErrors;
    private readonly Histogram<double> _auditAppend;
    private readonly Histogram<long> _auditBatch;
    private readonly Counter<long> _auditFailures;

    public HubMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(MeterName);
        _httpRequests = Counter("agenthub.http.requests", "HTTP requests by route template, method and status code.", "route", "method", "status");
        _httpDuration = Histogram<double>("agenthub.http.request.duration", "s", "HTTP request duration by route template, method and status code.",
            SecondsBuckets, "route", "method", "status");
        _authFailures = Counter("agenthub.auth.failures", "Refused credentials by reason.", "reason");
        _rateLimited = Counter("agenthub.ratelimit.refusals", "Requests refused by a rate limit, by scope (address, principal).", "scope");
        _policyDenials = Counter("agenthub.policy.denials", "Calls refused by the policy (default deny), by target agent and method.", "agent", "method");
        _signatureFailures = Counter("agenthub.signature.failures", "Requests whose HTTP message signature or content digest was refused, by reason.", "reason");
        _relayCalls = Counter("agenthub.relay.calls", "Relayed A2A calls by target agent, method and outcome.", "agent", "method", "outcome");
        _relayDuration = Histogram<double>("agenthub.relay.duration", "s", "Relayed A2A call duration at the hub, by target agent and method.",
            SecondsBuckets, "agent", "method");
        _upstreamDuration = Histogram<double>("agenthub.upstream.duration", "s", "Time the upstream agent took to answer, by agent.", SecondsBuckets, "agent");
        _upstreamErrors = Counter("agenthub.upstream.errors", "Upstream calls that failed (connect, timeout, 5xx, bad answer), by agent and reason.", "agent", "reason");
        _auditAppend = Histogram<double>("agenthub.audit.append.duration", "s", "Time to commit one audit batch durably.", SecondsBuckets);
        _auditBatch = Histogram<long>("agenthub.audit.batch.size", null, "Records per audit commit (group commit).", BatchBuckets);
        _auditFailures = Counter("agenthub.audit.write.failures", "Audit batches that could not be written (their requests failed).");
    }

    public Meter Meter { get; }

    /// <summary>Every instrument with its Prometheus name, labels and buckets, in exposition order.</summary>
    public IReadOnlyList<MetricSpec> Exported => _exported;

    public void HttpRequest(string route, string method, int status, TimeSpan duration)
    {
        var tags = new TagList
        {
            { "route", route },
            { "method", HttpMethodLabel(method) },
            { "status", (uint)status < StatusCodes.Length ? StatusCodes[status] : "other" },
        };
        _httpRequests.Add(1, tags);
        _httpDuration.Record(duration.TotalSeconds, tags);
    }

    public void AuthFailure(string reason) => _authFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void RateLimited(string scope) => _rateLimited.Add(1, new KeyValuePair<string, object?>("scope", scope));

    /// <param name="agent">The target agent's registered id.</param>
    /// <param name="method">The A2A method; anything that is not a v1.0 method name is recorded as <c>other</c>.</param>
    public void PolicyDenied(string agent, string method) =>
        _policyDenials.Add(1, new("agent", agent), new("method", RelayMethodLabel(method)));

    /// <param name="reason">A fixed word: <c>missing</c>, <c>malformed</c>, <c>missing_component</c>, <c>missing_parameter</c>, <c>stale</c>, <c>expired</c>, <c>unknown_key</c>, <c>wrong_algorithm</c>, <c>bad_signature</c>, <c>bad_digest</c>, <c>replayed</c>.</param>
    public void SignatureFailure(string reason) => _signatureFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>One relayed call, counted and timed.</summary>
    /// <param name="agent">The target agent's registered id.</param>
    /// <param name="method">The A2A method; anything that is not a v1.0 method name is recorded as <c>other</c>.</param>
    /// <param name="outcome">One of the <see cref="RelayOutcome"/> words.</param>
    /// <param name="duration">From the request's arrival at the hub to the end of the answer.</param>
    public void RelayCall(string agent, string method, string outcome, TimeSpan duration)
    {
        var methodLabel = RelayMethodLabel(method);
        _relayCalls.Add(1, new("agent", agent), new("method", methodLabel), new("outcome", outcome));
        _relayDuration.Record(duration.TotalSeconds, new("agent", agent), new("method", methodLabel));
    }

    /// <summary>Time from sending the request upstream to the end of its answer.</summary>
    public void UpstreamCall(string agent, TimeSpan duration) =>
        _upstreamDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("agent", agent));

    /// <param name="agent">The agent's registered id.</param>
    /// <param name="reason">A fixed word: <c>connect</c>, <c>timeout</c>, <c>status_5xx</c>, <c>protocol</c>.</param>
    public void UpstreamError(string agent, string reason) => _upstreamErrors.Add(1, new("agent", agent), new("reason", reason));

    public void AuditAppended(int records, TimeSpan duration)
    {
        _auditAppend.Record(duration.TotalSeconds);
        _auditBatch.Record(records);
    }

    public void AuditWriteFailed() => _auditFailures.Add(1);

    // A client may send any method token; only the standard ones become label values.
    private static string HttpMethodLabel(string method) => HttpMethods.GetCanonicalizedValue(method) switch
    {
        var m when ReferenceEquals(m, HttpMethods.Get) || ReferenceEquals(m, HttpMethods.Post) || ReferenceEquals(m, HttpMethods.Put) ||
                   ReferenceEquals(m, HttpMethods.Delete) || ReferenceEquals(m, HttpMethods.Patch) || ReferenceEquals(m, HttpMethods.Head) ||
                   ReferenceEquals(m, HttpMethods.Options) => m,
        _ => "other",
    };

    private static string RelayMethodLabel(string method) => RelayMethods.TryGetValue(method, out var known) ? known : "other";

    private Counter<long> Counter(string name, string description, params string[] labels)
    {
        var counter = Meter.CreateCounter<long>(name, description: description);
        _exported.Add(new MetricSpec(counter, MetricSpec.PrometheusName(name, null, MetricKind.Counter), description, MetricKind.Counter, labels, null));
        return counter;
    }

    private Histogram<T> Histogram<T>(string name, string? unit, string description, double[] buckets, params string[] labels)
        where T : struct
    {
        var histogram = Meter.CreateHistogram<T>(name, unit, description);
        _exported.Add(new MetricSpec(histogram, MetricSpec.PrometheusName(name, unit, MetricKind.Histogram), description, MetricKind.Histogram, labels, buckets));
        return histogram;
    }
}

/// <summary>The words a relayed call can end with (label <c>outcome</c> of <c>agenthub_relay_calls_total</c>).</summary>
internal static class RelayOutcome
{
    /// <summary>The upstream answered (even with a JSON-RPC error of its own).</summary>
    public const string Ok = "ok";

    /// <summary>The policy refused the call.</summary>
    public const string Denied = "denied";

    /// <summary>The upstream could not be reached, timed out or answered garbage.</summary>
    public const string UpstreamError = "upstream_error";

    /// <summary>The caller went away before the answer was complete.</summary>
    public const string Canceled = "canceled";

    /// <summary>The hub failed (audit unavailable, internal error).</summary>
    public const string Error = "error";
}

internal enum MetricKind
{
    Counter,
    Histogram,
}

/// <summary>How one instrument appears in the exposition: its family name, HELP text, labels and buckets.</summary>
internal sealed record MetricSpec(Instrument Instrument, string Name, string Help, MetricKind Kind, IReadOnlyList<string> Labels, double[]? Buckets)
{
    public const int MaxLabels = 3;

    /// <summary>
    /// Prometheus naming: dots become underscores, the unit is spelled out as a suffix (<c>s</c> → <c>_seconds</c>,
    /// <c>By</c> → <c>_bytes</c>), counters end in <c>_total</c>.
    /// </summary>
    public static string PrometheusName(string instrument, string? unit, MetricKind kind)
    {
        var name = instrument.Replace('.', '_').Replace('-', '_');
        var suffix = unit switch
        {
            "s" => "_seconds",
            "By" => "_bytes",
            _ => "",
        };
        if (suffix.Length > 0 && !name.EndsWith(suffix, StringComparison.Ordinal))
        {
            name += suffix;
        }

        return kind == MetricKind.Counter ? name + "_total" : name;
    }

    /// <summary>The sample names a scrape shows for this family (a histogram has three).</summary>
    public IEnumerable<string> SampleNames => Kind == MetricKind.Histogram ? [Name + "_bucket", Name + "_sum", Name + "_count"] : [Name];
}

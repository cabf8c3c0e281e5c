using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AgentHub.Observability;

/// <summary>
/// The hub's instruments (meter <c>AgentHub</c>). Label values are bounded: routes are templates, reasons and
/// outcomes are fixed words, agents are registered ids. <c>/metrics</c> renders them in the Prometheus text format.
/// </summary>
internal sealed class HubMetrics
{
    public const string MeterName = "AgentHub";

    private readonly Counter<long> _httpRequests;
    private readonly Histogram<double> _httpDuration;
    private readonly Counter<long> _authFailures;
    private readonly Counter<long> _rateLimited;
    private readonly Histogram<double> _auditAppend;
    private readonly Histogram<long> _auditBatch;
    private readonly Counter<long> _auditFailures;
    private readonly Counter<long> _policyDenials;

    public HubMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _httpRequests = meter.CreateCounter<long>("agenthub.http.requests", description: "HTTP requests by route template, method and status code.");
        _httpDuration = meter.CreateHistogram<double>("agenthub.http.request.duration", unit: "s", description: "HTTP request duration.");
        _authFailures = meter.CreateCounter<long>("agenthub.auth.failures", description: "Refused credentials by reason.");
        _rateLimited = meter.CreateCounter<long>("agenthub.ratelimit.refusals", description: "Requests refused by a rate limit, by scope (address, principal).");
        _auditAppend = meter.CreateHistogram<double>("agenthub.audit.append.duration", unit: "s", description: "Time to commit one audit batch durably.");
        _auditBatch = meter.CreateHistogram<long>("agenthub.audit.batch.size", description: "Records per audit commit (group commit).");
        _auditFailures = meter.CreateCounter<long>("agenthub.audit.write.failures", description: "Audit batches that could not be written (their requests failed).");
        _policyDenials = meter.CreateCounter<long>("agenthub.policy.denials", description: "Relayed calls refused by the policy, by target agent.");
        Meter = meter;
    }

    public Meter Meter { get; }

    public void HttpRequest(string route, string method, int status, TimeSpan duration)
    {
        var tags = new TagList { { "route", route }, { "method", method }, { "status", status } };
        _httpRequests.Add(1, tags);
        _httpDuration.Record(duration.TotalSeconds, tags);
    }

    public void AuthFailure(string reason) => _authFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void RateLimited(string scope) => _rateLimited.Add(1, new KeyValuePair<string, object?>("scope", scope));

    public void AuditAppended(int records, TimeSpan duration)
    {
        _auditAppend.Record(duration.TotalSeconds);
        _auditBatch.Record(records);
    }

    public void AuditWriteFailed() => _auditFailures.Add(1);

    /// <summary>A relayed call to <paramref name="agent"/> (a registered id) was refused by the policy.</summary>
    public void PolicyDenied(string agent) => _policyDenials.Add(1, new KeyValuePair<string, object?>("agent", agent));
}

using AgentHub.Audit;

namespace AgentHub.Identity;

/// <summary>
/// Endpoint metadata: the endpoint writes the caller's <c>auth.success</c> record itself, in the same durable commit
/// as its own first record, before anything of its answer goes out (the relay: one commit per call instead of two).
/// </summary>
internal sealed class DeferAuthAuditMetadata;

/// <summary>The <c>auth.success</c> record the API key handler left for an endpoint with <see cref="DeferAuthAuditMetadata"/>.</summary>
internal sealed class DeferredAuthAudit(AuditEvent record)
{
    private AuditEvent? _record = record;

    /// <summary>The record, once: whoever takes it must make it durable.</summary>
    public static AuditEvent? Take(HttpContext context) =>
        context.Features.Get<DeferredAuthAudit>() is { } deferred ? Interlocked.Exchange(ref deferred._record, null) : null;

    /// <summary>Appends <paramref name="record"/>, preceded by the deferred authentication record when it is still pending.</summary>
    public static Task AppendWithAsync(HttpContext context, AuditLog audit, AuditEvent record) =>
        Take(context) is { } authentication ? audit.AppendAsync(authentication, record) : audit.AppendAsync(record);

    /// <summary>Makes the deferred record durable if nobody has yet (before an answer that wrote no record of its own).</summary>
    public static Task FlushAsync(HttpContext context, AuditLog audit) =>
        Take(context) is { } authentication ? audit.AppendAsync(authentication) : Task.CompletedTask;
}

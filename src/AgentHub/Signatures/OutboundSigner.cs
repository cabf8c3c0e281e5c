using System.Security.Cryptography;
using AgentHub.Client.Signatures;

namespace AgentHub.Signatures;

/// <summary>
/// Signs every forwarded request with the hub's active ES256 key (RFC 9421, label <c>agenthub</c>, <c>keyid</c> = the
/// key's <c>kid</c> in the hub's JWKS) over the request, its digest, the caller-identity header and the hub token,
/// so an agent can check with the JWKS alone that the call came through the hub, from whom, and unchanged.
/// </summary>
internal sealed class OutboundSigner(Relay.HubTokens tokens, TimeProvider time)
{
    public const string CallerHeader = "AgentHub-Caller";
    public const string Label = "agenthub";

    private readonly SignatureOptions _options = new()
    {
        Label = Label,
        ExtraComponents = ["agenthub-caller", "authorization"],
        TimeProvider = time,
        IncludeAlgorithm = true,
    };

    // The signing key for the ECDsa object HubTokens hands out now (it changes when that cache refreshes): checking
    // the curve on every call cost an export of the public key per request. It does not own the key object.
    private CachedKey? _signing;

    private SignatureKey Signing(string kid, ECDsa key)
    {
        if (Volatile.Read(ref _signing) is { } cached && ReferenceEquals(cached.Key, key) && cached.Kid == kid)
        {
            return cached.Signing;
        }

        var signing = SignatureKey.Ecdsa(kid, key);
        Volatile.Write(ref _signing, new CachedKey(key, kid, signing)); // the one it replaces owns nothing: left to the GC, as a concurrent call may still use it
        return signing;
    }

    /// <summary>
    /// Adds <c>Content-Digest</c>, <c>AgentHub-Caller</c>, <c>Signature-Input</c> and <c>Signature</c>; the content is the
    /// body as given, whose SHA-256 the caller has already computed (<paramref name="bodySha256"/>).
    /// </summary>
    public async Task SignAsync(HttpRequestMessage request, byte[] bodySha256, string caller, CancellationToken ct)
    {
        request.Headers.TryAddWithoutValidation(CallerHeader, caller);
        request.Content!.Headers.TryAddWithoutValidation(ContentDigest.FieldName, ContentDigest.FromSha256(bodySha256));
        var (kid, key) = await tokens.SigningKeyAsync(ct);
        var headers = HttpMessageSigner.Sign(SignatureRequest.From(request), Signing(kid, key), _options);
        request.Headers.TryAddWithoutValidation(HttpMessageSigner.SignatureInputField, headers.SignatureInput);
        request.Headers.TryAddWithoutValidation(HttpMessageSigner.SignatureField, headers.Signature);
    }

    private sealed record CachedKey(ECDsa Key, string Kid, SignatureKey Signing);
}

using System.Collections.Concurrent;
using System.Text.Json;
using AgentHub.Client.Signatures;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

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
internal sealed class InboundSignatures(AgentKeyStore keys, ReplayCache replays, TimeProvider time, IOptions<SignaturesOptions> options)
{
    /// <summary>At most this many signatures in one request are looked at (their keys are looked up).</summary>
    public const int MaxSignatures = 4;

    /// <summary>At most this many imported public keys are kept; past it the cache starts again empty.</summary>
    public const int MaxCachedPublicKeys = 10_000;

    // Agents' public keys as imported from their stored JWK, by key id. Importing a P-256 key costs more than the
    // verification it serves (about 90 µs against 55 µs here), and the same few keys sign call after call. The key's
    // row is still read on every call, so a removed key, or one now held by another agent, is never used; an entry
    // serves only while the stored JWK is the same text. Public keys only: HMAC secrets are opened per call and wiped.
    private readonly ConcurrentDictionary<string, (string Jwk, SignatureKey Key)> _publicKeys = new(StringComparer.Ordinal);
    private long _imports;

    /// <summary>How many public keys have been imported from their JWK since start (a cached key is not imported again).</summary>
    internal long PublicKeyImports => Interlocked.Read(ref _imports);

    private SignatureKey PublicKey(string kid, string jwk)
    {
        if (_publicKeys.TryGetValue(kid, out var cached) && string.Equals(cached.Jwk, jwk, StringComparison.Ordinal))
        {
            return cached.Key;
        }

        SignatureKey key;
        using (var document = JsonDocument.Parse(jwk))
        {
            key = SignatureKey.FromJwk(document.RootElement, kid);
        }

        Interlocked.Increment(ref _imports);
        if (_publicKeys.Count >= MaxCachedPublicKeys)
        {
            _publicKeys.Clear();
        }

        // A key this replaces is not disposed: a concurrent call may still be verifying with it. The GC releases it.
        _publicKeys[kid] = (jwk, key);
        return key;
    }

    public async Task<SignatureCheck> CheckAsync(HttpContext context, string caller, byte[] body, CancellationToken ct)
    {
        var headers = context.Request.Headers;
        var input = headers["Signature-Input"];
        var signature = headers["Signature"];
        var agentId = caller.StartsWith("agent:", StringComparison.Ordinal) ? caller["agent:".Length..] : null;
        if (input.Count == 0 && signature.Count == 0)
        {
            return agentId is not null && await keys.RequiresSignatureAsync(agentId, ct)
                ? SignatureCheck.Fail("missing", $"Agent '{agentId}' must sign its calls (RFC 9421): the Signature-Input and Signature headers are missing.")
                : SignatureCheck.NotSigned;
        }

        var inputValue = SignatureMessage.CombineFieldLines(input);
        var signatureValue = SignatureMessage.CombineFieldLines(signature);
        var resolved = new Dictionary<string, SignatureKey>(StringComparer.Ordinal);
        List<SignatureKey>? opened = null; // HMAC keys made for this call only, wiped when it is checked
        try
        {
            // The key ids first: the keys are looked up (asynchronously) before the synchronous verification.
            SfDictionary parsed;
            try
            {
                parsed = StructuredFields.ParseDictionary(inputValue ?? "", "Signature-Input");
            }
            catch (StructuredFieldException e)
            {
                return SignatureCheck.Fail("malformed", e.Message);
            }

            foreach (var (_, member) in parsed.Take(MaxSignatures))
            {
                if (member.Parameters.TryGetValue("keyid", out var keyid) && keyid.Kind == SfBareItemKind.String && keyid.AsString() is var kid &&
                    !resolved.ContainsKey(kid) &&
                    await keys.ResolveAsync(kid, ct) is { } key && key.AgentId == agentId)
                {
                    if (key.Algorithm == SignatureAlgorithms.HmacSha256)
                    {
                        var hmac = SignatureKey.Hmac(kid, key.Secret!);
                        (opened ??= []).Add(hmac);
                        resolved[kid] = hmac;
                    }
                    else
                    {
                        resolved[kid] = PublicKey(kid, key.PublicJwk!);
                    }
                }
            }

            var o = options.Value;
            var request = Describe(context);
            var verified = HttpMessageVerifier.Verify(request, inputValue, signatureValue,
                new VerifyOptions { MaxSkew = o.MaxClockSkew, TimeProvider = time }, kid => resolved.GetValueOrDefault(kid));
            if (!verified.Success)
            {
                var message = verified.Failure == SignatureFailure.UnknownKey
                    ? $"{verified.Message} Key ids name keys registered to the calling agent{(agentId is null ? "; the caller is not an agent" : $" '{agentId}'")}."
                    : verified.Message;
                return SignatureCheck.Fail(Reason(verified.Failure), message, verified.KeyId);
            }

            var digest = ContentDigest.Verify(request.Header("content-digest"), body);
            if (!digest.Success)
            {
                return SignatureCheck.Fail("bad_digest", digest.Message, verified.KeyId);
            }

            var created = verified.Created ?? time.GetUtcNow();
            var until = created + o.MaxClockSkew;
            if (verified.Expires is { } expires && expires < until)
            {
                until = expires;
            }

            if (!await replays.TryAcceptAsync(verified.KeyId!, verified.Nonce!, until, ct))
            {
                return SignatureCheck.Fail("replayed", $"Signature nonce '{verified.Nonce}' of key '{verified.KeyId}' was already used: each signed request is accepted once.", verified.KeyId);
            }

            return new SignatureCheck(true, verified.KeyId, null, null);
        }
        finally
        {
            foreach (var key in opened ?? [])
            {
                key.Dispose();
            }
        }
    }

    /// <summary>The request as received: the raw target (not the decoded path), the Host header, every field by name.</summary>
    public static SignatureRequest Describe(HttpContext context)
    {
        var request = context.Request;
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget is { } raw && raw.StartsWith('/')
            ? raw
            : (request.PathBase + request.Path).ToUriComponent() + request.QueryString.ToUriComponent();
        var q = target.IndexOf('?', StringComparison.Ordinal);
        var headers = request.Headers;
        return new SignatureRequest(request.Method, request.Host.Value ?? "", q < 0 ? target : target[..q], q < 0 ? null : target[q..],
            name => headers.TryGetValue(name, out var values) ? SignatureMessage.CombineFieldLines(values) : null)
        {
            Scheme = request.Scheme,
        };
    }

    private static string Reason(SignatureFailure failure) => failure switch
    {
        SignatureFailure.Missing => "missing",
        SignatureFailure.Malformed => "malformed",
        SignatureFailure.MissingComponent => "missing_component",
        SignatureFailure.MissingParameter => "missing_parameter",
        SignatureFailure.Stale => "stale",
        SignatureFailure.Expired => "expired",
        SignatureFailure.UnknownKey => "unknown_key",
        SignatureFailure.WrongAlgorithm => "wrong_algorithm",
        SignatureFailure.BadDigest => "bad_digest",
        _ => "bad_signature",
    };
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentHub.Client.Signatures;

/// <summary>
/// Agent Card signatures (A2A v1.0 §8.4): a JWS (RFC 7515) per entry of the card's <c>signatures</c>, each
/// <c>{"protected": base64url(header), "signature": base64url(sig)}</c> over the signing input
/// <c>protected + "." + base64url(payload)</c>, where the payload is <see cref="AgentCardPayload"/>. Only ES256
/// (ECDSA P-256 with SHA-256, signature r‖s) is supported. Signatures made here verify with <c>@a2a-js/sdk</c>'s
/// <c>verifyAgentCardSignature</c>, and its <c>generateAgentCardSignature</c> signatures verify here.
/// </summary>
public static class AgentCardSignatures
{
    /// <summary>The one JOSE algorithm supported.</summary>
    public const string Algorithm = "ES256";

    private const int MaxShown = 64;

    /// <summary>
    /// Signs <paramref name="card"/> with <paramref name="key"/> (P-256) and appends the signature to its
    /// <c>signatures</c> (created when missing), as the JS SDK does. The protected header is
    /// <c>{"alg":"ES256","typ":"JOSE","kid":…}</c> plus <c>jku</c> when given. Returns the new entry.
    /// </summary>
    /// <exception cref="JsonCanonicalizationException">The card has no payload (see <see cref="AgentCardPayload.Canonicalize"/>).</exception>
    public static JsonObject Sign(JsonObject card, ECDsa key, string kid, string? jku = null)
    {
        ArgumentNullException.ThrowIfNull(card);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(kid);
        if (key.KeySize != 256)
        {
            throw new ArgumentException("ES256 needs a P-256 key.", nameof(key));
        }

        if (card.TryGetPropertyValue("signatures", out var existing) && existing is not null and not JsonArray)
        {
            throw new ArgumentException("The card's signatures member is not an array.", nameof(card));
        }

        var header = new JsonObject { ["alg"] = Algorithm, ["typ"] = "JOSE", ["kid"] = kid };
        if (jku is not null)
        {
            header["jku"] = jku;
        }

        var encodedHeader = JoseBase64Url.Encode(Encoding.UTF8.GetBytes(header.ToJsonString()));
        var signingInput = Encoding.ASCII.GetBytes(encodedHeader + "." + JoseBase64Url.Encode(AgentCardPayload.Canonicalize(card)));
        var signature = key.SignData(signingInput, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        var entry = new JsonObject { ["protected"] = encodedHeader, ["signature"] = JoseBase64Url.Encode(signature) };
        if (existing is JsonArray signatures)
        {
            signatures.Add(entry);
        }
        else
        {
            card["signatures"] = new JsonArray(entry);
        }

        return entry;
    }

    /// <summary>
    /// Checks every signature of <paramref name="card"/> against <paramref name="keys"/> (null: every signature is by an
    /// unknown key); the status follows the rule of <see cref="VerifyWith"/>.
    /// </summary>
    public static AgentCardVerification Verify(JsonObject card, AgentCardKeys? keys) =>
        VerifyWith(card, (kid, _) => keys is not null && keys.TryGetKey(kid, out var parameters) ? parameters : null);

    /// <summary>
    /// Checks every signature of <paramref name="card"/>; <paramref name="resolveKey"/> gets each signature's
    /// <c>kid</c> and <c>jku</c> and returns the trusted P-256 public key, or null when it knows none. The card's status:
    /// <list type="bullet">
    /// <item><see cref="AgentCardSignatureStatus.Unsigned"/>: no <c>signatures</c>, or an empty list;</item>
    /// <item><see cref="AgentCardSignatureStatus.Verified"/>: at least one signature verifies, and none is bad (fails with
    /// a known key) or malformed. Signatures that cannot be checked (unknown key, algorithm other than ES256) neither
    /// count nor spoil: a card may carry signatures for other verifiers, or by a key being rotated out;</item>
    /// <item><see cref="AgentCardSignatureStatus.Invalid"/>: anything else: a bad or malformed signature, or no signature
    /// that could be checked.</item>
    /// </list>
    /// </summary>
    public static AgentCardVerification VerifyWith(JsonObject card, Func<string, string?, ECParameters?> resolveKey)
    {
        ArgumentNullException.ThrowIfNull(card);
        ArgumentNullException.ThrowIfNull(resolveKey);
        if (!card.TryGetPropertyValue("signatures", out var node) || node is null || node is JsonArray { Count: 0 })
        {
            return new(AgentCardSignatureStatus.Unsigned, [], "The card has no signatures.");
        }

        if (node is not JsonArray entries)
        {
            return new(AgentCardSignatureStatus.Invalid, [], "signatures is not an array.");
        }

        string? encodedPayload = null;
        string? cardProblem = null;
        try
        {
            encodedPayload = JoseBase64Url.Encode(AgentCardPayload.Canonicalize(card));
        }
        catch (JsonCanonicalizationException e)
        {
            cardProblem = $"the card cannot be canonicalized: {e.Message}";
        }

        var checks = entries.Select((entry, i) => Check(i, entry, encodedPayload, cardProblem, resolveKey)).ToList();
        var status = checks.Any(c => c.Result is SignatureCheckResult.BadSignature or SignatureCheckResult.Malformed)
            ? AgentCardSignatureStatus.Invalid
            : checks.Any(c => c.Result == SignatureCheckResult.Verified) ? AgentCardSignatureStatus.Verified : AgentCardSignatureStatus.Invalid;
        return new(status, checks, Describe(status, checks));
    }

    private static AgentCardSignatureCheck Check(int index, JsonNode? entry, string? encodedPayload, string? cardProblem,
        Func<string, string?, ECParameters?> resolveKey)
    {
        AgentCardSignatureCheck Result(SignatureCheckResult result, string reason, string? kid = null, string? alg = null) =>
            new(index, result, kid, alg, reason);

        if (entry is not JsonObject signatureEntry)
        {
            return Result(SignatureCheckResult.Malformed, "the entry is not an object");
        }

        var encodedHeader = Text(signatureEntry, "protected");
        var encodedSignature = Text(signatureEntry, "signature");
        var headerBytes = encodedHeader is null ? null : JoseBase64Url.TryDecode(encodedHeader);
        var signature = encodedSignature is null ? null : JoseBase64Url.TryDecode(encodedSignature);
        if (headerBytes is null || signature is null)
        {
            return Result(SignatureCheckResult.Malformed, "protected and signature must be base64url strings");
        }

        JsonObject header;
        try
        {
            header = JsonNode.Parse(headerBytes) as JsonObject ?? throw new JsonException();
        }
        catch (JsonException)
        {
            return Result(SignatureCheckResult.Malformed, "the protected header is not a JSON object");
        }

        var kid = Text(header, "kid");
        var alg = Text(header, "alg");
        if (string.IsNullOrEmpty(kid) || string.IsNullOrEmpty(alg) || Text(header, "typ") is null)
        {
            return Result(SignatureCheckResult.Malformed, "the protected header needs alg, typ and kid", kid, alg);
        }

        if (signatureEntry.TryGetPropertyValue("header", out var unprotected) && unprotected is not null &&
            (unprotected is not JsonObject u || u.Any(p => header.ContainsKey(p.Key))))
        {
            return Result(SignatureCheckResult.Malformed, "the unprotected header must be an object sharing no name with the protected one", kid, alg);
        }

        if (alg != Algorithm)
        {
            return Result(SignatureCheckResult.Unsupported, $"algorithm {Shown(alg)} is not supported (ES256 only)", kid, alg);
        }

        if (header.ContainsKey("crit") || header.ContainsKey("b64"))
        {
            return Result(SignatureCheckResult.Unsupported, "crit and b64 header parameters are not supported", kid, alg);
        }

        if (encodedPayload is null)
        {
            return Result(SignatureCheckResult.Malformed, cardProblem!, kid, alg);
        }

        if (resolveKey(kid, Text(header, "jku")) is not { } parameters)
        {
            return Result(SignatureCheckResult.UnknownKey, $"no trusted key has kid {Shown(kid)}", kid, alg);
        }

        bool valid;
        try
        {
            using var key = ECDsa.Create(parameters);
            valid = key.KeySize == 256 && signature.Length == 64 && key.VerifyData(
                Encoding.ASCII.GetBytes(encodedHeader + "." + encodedPayload), signature,
                HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            valid = false;
        }

        return valid
            ? Result(SignatureCheckResult.Verified, $"verified with kid {Shown(kid)}", kid, alg)
            : Result(SignatureCheckResult.BadSignature, $"does not verify with kid {Shown(kid)}: the card changed after it was signed, or another key signed it", kid, alg);
    }

    private static string Describe(AgentCardSignatureStatus status, List<AgentCardSignatureCheck> checks)
    {
        var each = string.Join("; ", checks.Select(c => $"signature {c.Index} {c.Reason}"));
        return status switch
        {
            AgentCardSignatureStatus.Verified => $"Verified: {each}.",
            _ when checks.All(c => c.Result is SignatureCheckResult.UnknownKey or SignatureCheckResult.Unsupported) =>
                $"No signature could be checked: {each}.",
            _ => $"Invalid: {each}.",
        };
    }

    private static string? Text(JsonObject obj, string name) =>
        obj.TryGetPropertyValue(name, out var value) && value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static string Shown(string value) => "'" + (value.Length > MaxShown ? value[..MaxShown] + "…" : value) + "'";
}

/// <summary>What a card's signatures say, as a whole (see <see cref="AgentCardSignatures.VerifyWith"/>).</summary>
public enum AgentCardSignatureStatus
{
    /// <summary>The card carries no signature.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "'unsigned' is the status word, not a type.")]
    Unsigned,

    /// <summary>At least one signature verifies with a trusted key and none is bad or malformed.</summary>
    Verified,

    /// <summary>The card carries signatures, but they do not vouch for it.</summary>
    Invalid,
}

/// <summary>The outcome for one entry of <c>signatures</c>.</summary>
public enum SignatureCheckResult
{
    /// <summary>The signature verifies with the trusted key named by its <c>kid</c>.</summary>
    Verified,

    /// <summary>No trusted key has the signature's <c>kid</c>: it cannot be checked.</summary>
    UnknownKey,

    /// <summary>The signature does not verify with the trusted key named by its <c>kid</c>.</summary>
    BadSignature,

    /// <summary>An algorithm other than ES256, or header parameters (<c>crit</c>, <c>b64</c>) this implementation does not process.</summary>
    Unsupported,

    /// <summary>The entry is not a well-formed JWS, its header lacks <c>alg</c>/<c>typ</c>/<c>kid</c>, or the card has no canonical payload.</summary>
    Malformed,
}

/// <summary>One signature's outcome.</summary>
/// <param name="Index">Position in the card's <c>signatures</c>.</param>
/// <param name="Result">What the check found.</param>
/// <param name="Kid">The <c>kid</c> of its protected header, when readable.</param>
/// <param name="Algorithm">The <c>alg</c> of its protected header, when readable.</param>
/// <param name="Reason">A short explanation, e.g. <c>no trusted key has kid 'k1'</c>.</param>
public sealed record AgentCardSignatureCheck(int Index, SignatureCheckResult Result, string? Kid, string? Algorithm, string Reason);

/// <summary>The verdict on a card's signatures.</summary>
/// <param name="Status">The card as a whole.</param>
/// <param name="Signatures">Each signature's outcome, in order.</param>
/// <param name="Detail">One sentence naming each signature's outcome.</param>
public sealed record AgentCardVerification(AgentCardSignatureStatus Status, IReadOnlyList<AgentCardSignatureCheck> Signatures, string Detail);

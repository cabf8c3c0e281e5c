using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AgentHub.Client.Signatures;

/// <summary>
/// Validates the hub's ES256 JWTs (compact JWS, RFC 7515/7519): the token on forwarded calls
/// (<c>Authorization: Bearer</c>) and delegation tokens. The header must say <c>"alg":"ES256"</c> exactly (so
/// <c>none</c> and HMAC algorithms are refused) with a <c>kid</c> the key source knows; the claims must have
/// <c>iss</c>, <c>aud</c> (a string or an array holding the expected audience), <c>sub</c>, <c>iat</c> and
/// <c>exp</c>. An optional RFC 8693 <c>act</c> claim (<c>{"sub":…,"act":{…}}</c>) becomes <see cref="HubTokenValidation.Actors"/>.
/// </summary>
public static class HubTokenValidator
{
    /// <summary>The hub's issuer name.</summary>
    public const string DefaultIssuer = "agenthub";

    private const int MaxTokenLength = 16 * 1024;
    private const int MaxActorDepth = 16;

    /// <summary>Validates <paramref name="jwt"/>; bad tokens give a failure result, never an exception.</summary>
    /// <param name="jwt">The compact JWS.</param>
    /// <param name="key">The P-256 public key for a <c>kid</c>, or null when unknown (not disposed here).</param>
    /// <param name="expectedAudience">The audience that must be in <c>aud</c> (an agent id, or the hub for delegation tokens).</param>
    /// <param name="time">The clock.</param>
    /// <param name="skew">Clock skew allowed for <c>exp</c>, <c>nbf</c> and <c>iat</c>.</param>
    /// <param name="issuer">The issuer that must be in <c>iss</c> (default <c>agenthub</c>).</param>
    public static HubTokenValidation Validate(string? jwt, Func<string, ECDsa?> key, string expectedAudience, TimeProvider time, TimeSpan skew,
        string issuer = DefaultIssuer)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(expectedAudience);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentException.ThrowIfNullOrEmpty(issuer);
        if (string.IsNullOrEmpty(jwt) || jwt.Length > MaxTokenLength)
        {
            return Fail(HubTokenFailure.Malformed, string.IsNullOrEmpty(jwt) ? "The token is empty." : "The token is too long.");
        }

        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            return Fail(HubTokenFailure.Malformed, "The token is not a compact JWS (three base64url parts separated by '.').");
        }

        try
        {
            return ValidateParts(parts, key, expectedAudience, time.GetUtcNow(), (long)skew.TotalSeconds, issuer);
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException)
        {
            return Fail(HubTokenFailure.Malformed, "The token is not valid base64url JSON: " + e.Message);
        }
    }

    private static HubTokenValidation ValidateParts(string[] parts, Func<string, ECDsa?> resolve, string audience, DateTimeOffset now, long skew, string issuer)
    {
        string kid;
        using (var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0])))
        {
            var h = header.RootElement;
            if (h.ValueKind != JsonValueKind.Object)
            {
                return Fail(HubTokenFailure.Malformed, "The token header is not a JSON object.");
            }

            var alg = h.TryGetProperty("alg", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
            if (alg != "ES256")
            {
                return Fail(HubTokenFailure.WrongAlgorithm, $"The token's alg is {(alg is null ? "missing" : $"\"{alg}\"")}; only ES256 is accepted.");
            }

            if (h.TryGetProperty("crit", out _))
            {
                return Fail(HubTokenFailure.Malformed, "The token has a 'crit' header, which is not supported.");
            }

            if (!h.TryGetProperty("kid", out var k) || k.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(k.GetString()))
            {
                return Fail(HubTokenFailure.Malformed, "The token header has no kid.");
            }

            kid = k.GetString()!;
        }

        var key = resolve(kid);
        if (key is null)
        {
            return Fail(HubTokenFailure.UnknownKey, $"The token's kid '{kid}' is not a known hub key.", kid);
        }

        var signature = Base64Url.DecodeFromChars(parts[2]);
        var signingInput = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        if (signature.Length != 64 || !VerifySafely(key, signingInput, signature))
        {
            return Fail(HubTokenFailure.BadSignature, $"The token's signature does not verify with key '{kid}'.", kid);
        }

        using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
        var claims = payload.RootElement;
        if (claims.ValueKind != JsonValueKind.Object)
        {
            return Fail(HubTokenFailure.Malformed, "The token payload is not a JSON object.", kid);
        }

        var iss = String(claims, "iss");
        if (iss != issuer)
        {
            return Fail(HubTokenFailure.WrongIssuer, $"The token was issued by {Quote(iss)}, not \"{issuer}\".", kid);
        }

        if (!HasAudience(claims, audience))
        {
            return Fail(HubTokenFailure.WrongAudience, $"The token is not for \"{audience}\" (aud: {(claims.TryGetProperty("aud", out var aud) ? aud.GetRawText() : "missing")}).", kid);
        }

        var nowSeconds = now.ToUnixTimeSeconds();
        if (NumericDate(claims, "exp") is not { } exp)
        {
            return Fail(HubTokenFailure.MissingClaim, "The token has no numeric 'exp' claim.", kid);
        }

        if (nowSeconds >= exp + skew)
        {
            return Fail(HubTokenFailure.Expired, $"The token expired {nowSeconds - exp} s ago.", kid);
        }

        if (NumericDate(claims, "iat") is not { } iat)
        {
            return Fail(HubTokenFailure.MissingClaim, "The token has no numeric 'iat' claim.", kid);
        }

        if (iat > nowSeconds + skew)
        {
            return Fail(HubTokenFailure.NotYetValid, $"The token was issued {iat - nowSeconds} s in the future; at most {skew} s of clock skew is accepted.", kid);
        }

        if (claims.TryGetProperty("nbf", out _))
        {
            if (NumericDate(claims, "nbf") is not { } nbf)
            {
                return Fail(HubTokenFailure.Malformed, "The token's 'nbf' claim is not a NumericDate.", kid);
            }

            if (nbf > nowSeconds + skew)
            {
                return Fail(HubTokenFailure.NotYetValid, $"The token is not valid for another {nbf - nowSeconds} s (nbf).", kid);
            }
        }

        var sub = String(claims, "sub");
        if (string.IsNullOrEmpty(sub))
        {
            return Fail(HubTokenFailure.MissingClaim, "The token has no 'sub' claim.", kid);
        }

        var actors = new List<string>();
        if (claims.TryGetProperty("act", out var act) && act.ValueKind != JsonValueKind.Null && !TryActors(act, actors, out var actError))
        {
            return Fail(HubTokenFailure.Malformed, actError, kid);
        }

        return new HubTokenValidation
        {
            Message = $"Token for \"{audience}\" from \"{sub}\" verified with key '{kid}'.",
            Subject = sub,
            Actors = actors,
            Kid = kid,
            Audience = audience,
            TokenId = String(claims, "jti"),
            IssuedAt = DateTimeOffset.FromUnixTimeSeconds(iat),
            ExpiresAt = DateTimeOffset.FromUnixTimeSeconds(exp),
        };
    }

    private static bool TryActors(JsonElement act, List<string> actors, out string error)
    {
        while (true)
        {
            if (act.ValueKind != JsonValueKind.Object || String(act, "sub") is not { Length: > 0 } actor)
            {
                error = "The token's 'act' claim must be an object with a 'sub' string (RFC 8693).";
                return false;
            }

            actors.Add(actor);
            if (actors.Count > MaxActorDepth)
            {
                error = $"The token's 'act' chain is deeper than {MaxActorDepth}.";
                return false;
            }

            if (!act.TryGetProperty("act", out act))
            {
                error = "";
                return true;
            }
        }
    }

    private static bool VerifySafely(ECDsa key, byte[] data, byte[] signature)
    {
        try
        {
            return key.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static bool HasAudience(JsonElement claims, string audience)
    {
        if (!claims.TryGetProperty("aud", out var aud))
        {
            return false;
        }

        if (aud.ValueKind == JsonValueKind.String)
        {
            return aud.GetString() == audience;
        }

        return aud.ValueKind == JsonValueKind.Array
               && aud.EnumerateArray().Any(a => a.ValueKind == JsonValueKind.String && a.GetString() == audience);
    }

    private static long? NumericDate(JsonElement claims, string name)
    {
        const double MaxSeconds = 253_402_300_799; // 9999-12-31
        return claims.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
               && value.TryGetDouble(out var seconds) && seconds is >= 0 and <= MaxSeconds
            ? (long)Math.Floor(seconds)
            : null;
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Quote(string? value) => value is null ? "nobody (no 'iss')" : $"\"{value}\"";

    private static HubTokenValidation Fail(HubTokenFailure failure, string message, string? kid = null) =>
        new() { Failure = failure, Message = message, Kid = kid };
}

/// <summary>Why a hub token was refused.</summary>
public enum HubTokenFailure
{
    /// <summary>It was not refused.</summary>
    None,

    /// <summary>Not a compact JWS of JSON objects, or a claim has the wrong shape.</summary>
    Malformed,

    /// <summary>The header's <c>alg</c> is not <c>ES256</c> (e.g. <c>none</c>, <c>HS256</c>).</summary>
    WrongAlgorithm,

    /// <summary>The <c>kid</c> is not a known key.</summary>
    UnknownKey,

    /// <summary>The signature does not verify.</summary>
    BadSignature,

    /// <summary><c>exp</c> has passed.</summary>
    Expired,

    /// <summary><c>iat</c> or <c>nbf</c> is in the future beyond the allowed skew.</summary>
    NotYetValid,

    /// <summary><c>iss</c> is not the hub.</summary>
    WrongIssuer,

    /// <summary><c>aud</c> does not hold the expected audience.</summary>
    WrongAudience,

    /// <summary>A required claim (<c>sub</c>, <c>exp</c>, <c>iat</c>) is missing.</summary>
    MissingClaim,
}

/// <summary>The outcome of <see cref="HubTokenValidator.Validate"/>.</summary>
public sealed record HubTokenValidation
{
    /// <summary>The token is valid.</summary>
    public bool Success => Failure == HubTokenFailure.None;

    /// <summary>Why it was refused, or <see cref="HubTokenFailure.None"/>.</summary>
    public HubTokenFailure Failure { get; init; }

    /// <summary>What was checked or what was wrong.</summary>
    public required string Message { get; init; }

    /// <summary>The <c>sub</c> claim: the principal the hub vouches for (e.g. <c>agent:planner</c>).</summary>
    public string? Subject { get; init; }

    /// <summary>The RFC 8693 actor chain: the <c>act</c> claim's <c>sub</c>, then its nested <c>act</c>'s, and so on (empty when none).</summary>
    public IReadOnlyList<string> Actors { get; init; } = [];

    /// <summary>The key id from the header (also set on most failures).</summary>
    public string? Kid { get; init; }

    /// <summary>The audience that was matched.</summary>
    public string? Audience { get; init; }

    /// <summary>The <c>jti</c> claim, if any.</summary>
    public string? TokenId { get; init; }

    /// <summary>The <c>iat</c> claim.</summary>
    public DateTimeOffset? IssuedAt { get; init; }

    /// <summary>The <c>exp</c> claim.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Failure}: {Message}");
}

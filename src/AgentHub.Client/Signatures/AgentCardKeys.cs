using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentHub.Client.Signatures;

/// <summary>
/// The public keys an Agent Card's signatures are checked against: a JWKS (RFC 7517) of EC P-256 keys. A key is found
/// by its <c>kid</c>; a key without one is known by its RFC 7638 thumbprint. A signature's <c>jku</c> is never
/// followed: only these keys count.
/// </summary>
public sealed class AgentCardKeys
{
    /// <summary>The most keys one set may hold.</summary>
    public const int MaxKeys = 16;

    // Members that only private or symmetric JWKs have (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
    private static readonly string[] PrivateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

    private readonly Dictionary<string, ECParameters> _keys;

    private AgentCardKeys(Dictionary<string, ECParameters> keys) => _keys = keys;

    /// <summary>The key ids, in the order given.</summary>
    public IReadOnlyList<string> KeyIds => [.. _keys.Keys];

    /// <summary>
    /// Reads a JWKS <c>{"keys":[…]}</c> of public EC P-256 keys. Every problem is reported, keyed by its path inside
    /// the JWKS (<c>""</c>, <c>keys</c>, <c>keys[1].crv</c>): not an object, no keys or more than <see cref="MaxKeys"/>,
    /// a key that is not EC P-256, a private key member (<c>d</c>), coordinates that are not 32-byte base64url or not a
    /// point of the curve, <c>use</c> other than <c>sig</c>, <c>alg</c> other than ES256, duplicate <c>kid</c>s.
    /// </summary>
    public static bool TryParse(JsonNode? jwks, [NotNullWhen(true)] out AgentCardKeys? keys, out IReadOnlyDictionary<string, string> errors)
    {
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        var parsed = new Dictionary<string, ECParameters>(StringComparer.Ordinal);
        keys = null;
        errors = problems;
        if (jwks is not JsonObject root || !root.TryGetPropertyValue("keys", out var list) || list is not JsonArray array)
        {
            problems[""] = "Give a JWKS: an object {\"keys\":[…]} of public EC P-256 JWKs.";
            return false;
        }

        if (array.Count == 0 || array.Count > MaxKeys)
        {
            problems["keys"] = $"keys must hold 1 to {MaxKeys} public EC P-256 JWKs.";
            return false;
        }

        for (var i = 0; i < array.Count; i++)
        {
            var path = $"keys[{i}]";
            if (ParseKey(array[i], path, problems) is not { } key)
            {
                continue;
            }

            if (!parsed.TryAdd(key.Kid, key.Parameters))
            {
                problems[$"{path}.kid"] = $"kid '{key.Kid}' appears more than once.";
            }
        }

        if (problems.Count > 0)
        {
            return false;
        }

        keys = new AgentCardKeys(parsed);
        return true;
    }

    /// <summary>A set holding one public key under <paramref name="kid"/> (the public part of <paramref name="key"/>).</summary>
    public static AgentCardKeys FromPublicKey(string kid, ECDsa key)
    {
        ArgumentException.ThrowIfNullOrEmpty(kid);
        ArgumentNullException.ThrowIfNull(key);
        var parameters = key.ExportParameters(includePrivateParameters: false);
        return new AgentCardKeys(new Dictionary<string, ECParameters>(StringComparer.Ordinal) { [kid] = parameters });
    }

    /// <summary>The public key named <paramref name="kid"/>, if the set holds it.</summary>
    public bool TryGetKey(string kid, out ECParameters parameters) => _keys.TryGetValue(kid, out parameters);

    /// <summary>The set as a JWKS of public keys only, each with its <c>kid</c>, in the order given.</summary>
    public JsonObject ToJwks() => new()
    {
        ["keys"] = new JsonArray([.. _keys.Select(k => (JsonNode)new JsonObject
        {
            ["kty"] = "EC",
            ["crv"] = "P-256",
            ["x"] = JoseBase64Url.Encode(k.Value.Q.X!),
            ["y"] = JoseBase64Url.Encode(k.Value.Q.Y!),
            ["kid"] = k.Key,
        })]),
    };

    /// <summary>The RFC 7638 thumbprint of an EC public key: base64url SHA-256 of its required members, sorted.</summary>
    public static string Thumbprint(string x, string y) =>
        JoseBase64Url.Encode(SHA256.HashData(Encoding.UTF8.GetBytes($$"""{"crv":"P-256","kty":"EC","x":"{{x}}","y":"{{y}}"}""")));

    private static (string Kid, ECParameters Parameters)? ParseKey(JsonNode? node, string path, Dictionary<string, string> problems)
    {
        if (node is not JsonObject jwk)
        {
            problems[path] = "A key must be a JWK object.";
            return null;
        }

        var before = problems.Count;
        foreach (var member in PrivateMembers.Where(jwk.ContainsKey))
        {
            problems[$"{path}.{member}"] = $"'{member}' is a private key member: give public keys only (and treat this private key as exposed).";
        }

        var kty = Text(jwk, "kty");
        if (kty != "EC")
        {
            problems[$"{path}.kty"] = $"kty must be EC (P-256 keys for ES256), not {Shown(kty)}.";
        }

        var crv = Text(jwk, "crv");
        if (kty == "EC" && crv != "P-256")
        {
            problems[$"{path}.crv"] = $"crv must be P-256, not {Shown(crv)}.";
        }

        var x = Coordinate(jwk, "x", path, problems);
        var y = Coordinate(jwk, "y", path, problems);
        if (jwk.ContainsKey("use") && Text(jwk, "use") != "sig")
        {
            problems[$"{path}.use"] = "use must be sig when present.";
        }

        if (jwk.ContainsKey("alg") && Text(jwk, "alg") != AgentCardSignatures.Algorithm)
        {
            problems[$"{path}.alg"] = "alg must be ES256 when present.";
        }

        string? kid = null;
        if (jwk.ContainsKey("kid"))
        {
            kid = Text(jwk, "kid");
            if (string.IsNullOrEmpty(kid))
            {
                problems[$"{path}.kid"] = "kid must be a non-empty string when present.";
            }
        }

        if (problems.Count > before || x is null || y is null)
        {
            return null;
        }

        var parameters = new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = x, Y = y } };
        try
        {
            using var key = ECDsa.Create(parameters); // refuses a point that is not on the curve
        }
        catch (CryptographicException)
        {
            problems[path] = "x and y are not a point of the P-256 curve.";
            return null;
        }

        return (kid ?? Thumbprint(Text(jwk, "x")!, Text(jwk, "y")!), parameters);
    }

    private static byte[]? Coordinate(JsonObject jwk, string name, string path, Dictionary<string, string> problems)
    {
        var text = Text(jwk, name);
        var bytes = text is null ? null : JoseBase64Url.TryDecode(text);
        if (bytes is { Length: 32 })
        {
            return bytes;
        }

        problems[$"{path}.{name}"] = $"{name} must be the 32-byte coordinate in base64url without padding.";
        return null;
    }

    private static string? Text(JsonObject jwk, string name) =>
        jwk.TryGetPropertyValue(name, out var value) && value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static string Shown(string? value) => value is null ? "missing" : $"'{(value.Length > 32 ? value[..32] + "…" : value)}'";
}

/// <summary>Base64url without padding (RFC 4648 §5), as JOSE uses it.</summary>
internal static class JoseBase64Url
{
    public static string Encode(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The bytes, or null when <paramref name="text"/> is not unpadded base64url.</summary>
    public static byte[]? TryDecode(string text)
    {
        if (text.Length % 4 == 1 || text.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_')))
        {
            return null;
        }

        var s = text.Replace('-', '+').Replace('_', '/');
        try
        {
            return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

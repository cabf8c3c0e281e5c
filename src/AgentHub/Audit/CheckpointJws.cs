using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentHub.Identity;

namespace AgentHub.Audit;

/// <summary>A signed statement: the log named <see cref="Origin"/> had <see cref="Size"/> records with Merkle root <see cref="Root"/>.</summary>
internal sealed record Checkpoint(string Origin, long Size, byte[] Root, DateTimeOffset Time, string Kid, string Jws);

/// <summary>
/// Checkpoints travel as compact JWS (RFC 7515) signed ES256 by the hub's key, verifiable with the hub's JWKS alone.
/// Payload: <c>{"origin":…,"size":…,"root":base64,"time":…}</c>.
/// </summary>
internal static class CheckpointJws
{
    public static string Sign(ECDsa key, string kid, string origin, long size, byte[] root, DateTimeOffset time)
    {
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
        {
            ["alg"] = "ES256",
            ["kid"] = kid,
            ["typ"] = "agenthub-checkpoint+jws",
        }));
        using var payloadBuffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(payloadBuffer))
        {
            writer.WriteStartObject();
            writer.WriteString("origin", origin);
            writer.WriteNumber("size", size);
            writer.WriteString("root", Convert.ToBase64String(root));
            writer.WriteString("time", AuditRecord.FormatTime(time));
            writer.WriteEndObject();
        }

        var signingInput = header + "." + Base64Url(payloadBuffer.ToArray());
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url(signature);
    }

    /// <summary>Parses a checkpoint without checking its signature; null when it is malformed.</summary>
    public static Checkpoint? Parse(string jws)
    {
        try
        {
            var parts = jws.Trim().Split('.');
            if (parts.Length != 3)
            {
                return null;
            }

            using var header = JsonDocument.Parse(FromBase64Url(parts[0]));
            using var payload = JsonDocument.Parse(FromBase64Url(parts[1]));
            var p = payload.RootElement;
            return new Checkpoint(
                p.GetProperty("origin").GetString()!,
                p.GetProperty("size").GetInt64(),
                Convert.FromBase64String(p.GetProperty("root").GetString()!),
                DateTimeOffset.Parse(p.GetProperty("time").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
                header.RootElement.GetProperty("kid").GetString()!,
                jws.Trim());
        }
        catch (Exception e) when (e is JsonException or FormatException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>True when the signature verifies with the key named by the JWS's kid.</summary>
    public static bool Verify(string jws, IReadOnlyCollection<Jwk> keys)
    {
        var parts = jws.Trim().Split('.');
        if (parts.Length != 3 || Parse(jws) is not { } checkpoint)
        {
            return false;
        }

        var jwk = keys.FirstOrDefault(k => k.Kid == checkpoint.Kid && k.Kty == "EC" && k.Crv == "P-256");
        if (jwk is null)
        {
            return false;
        }

        try
        {
            using var key = ECDsa.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = FromBase64Url(jwk.X), Y = FromBase64Url(jwk.Y) },
            });
            using var header = JsonDocument.Parse(FromBase64Url(parts[0]));
            return header.RootElement.GetProperty("alg").GetString() == "ES256" &&
                key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), FromBase64Url(parts[2]),
                    HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (Exception e) when (e is CryptographicException or FormatException or JsonException or KeyNotFoundException)
        {
            return false;
        }
    }

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] FromBase64Url(string text)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }
}

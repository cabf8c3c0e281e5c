using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentHub.Client.Signatures;

namespace AgentHub.Tests.Signatures;

/// <summary>A hub signing key as the hub keeps it: ES256, kid = RFC 7638 thumbprint, published as a JWK.</summary>
internal sealed class FakeHubKey : IDisposable
{
    public FakeHubKey()
    {
        Ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Kid = SignatureKey.JwkThumbprint(Ecdsa);
        SigningKey = SignatureKey.Ecdsa(Kid, Ecdsa);
    }

    public ECDsa Ecdsa { get; }

    public string Kid { get; }

    public SignatureKey SigningKey { get; }

    public string Jwk
    {
        get
        {
            var q = Ecdsa.ExportParameters(false).Q;
            return JsonSerializer.Serialize(new
            {
                kty = "EC",
                crv = "P-256",
                x = Base64Url.EncodeToString(q.X),
                y = Base64Url.EncodeToString(q.Y),
                kid = Kid,
                use = "sig",
                alg = "ES256",
            });
        }
    }

    /// <summary>A compact JWS over <paramref name="payload"/> with header alg ES256 and this key's kid.</summary>
    public string Token(object payload, object? header = null) =>
        Sign(Ecdsa, header ?? new { alg = "ES256", typ = "JWT", kid = Kid }, payload);

    public static string Sign(ECDsa key, object header, object payload)
    {
        var input = Encode(header) + "." + Encode(payload);
        return input + "." + Base64Url.EncodeToString(key.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256,
            DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    public static string Encode(object value) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(value));

    public void Dispose()
    {
        SigningKey.Dispose();
        Ecdsa.Dispose();
    }
}

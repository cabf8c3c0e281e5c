using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AgentHub.Client.Signatures;

/// <summary>
/// A key for RFC 9421 signatures: an ECDSA P-256 key (<c>ecdsa-p256-sha256</c>; the private part to sign, the public
/// part to verify) or an HMAC shared secret (<c>hmac-sha256</c>). Thread-safe; dispose it when done.
/// </summary>
public sealed class SignatureKey : IDisposable
{
    private const string P256Oid = "1.2.840.10045.3.1.7";
    private const int EcdsaSignatureLength = 64;
    private const int MinHmacSecretLength = 16;

    private readonly ECDsa? _ecdsa;
    private readonly bool _ownsEcdsa;
    private readonly byte[]? _secret;
    private bool _disposed;

    private SignatureKey(string keyId, SignatureAlgorithm algorithm, ECDsa? ecdsa, bool ownsEcdsa, byte[]? secret)
    {
        KeyId = keyId;
        Algorithm = algorithm;
        _ecdsa = ecdsa;
        _ownsEcdsa = ownsEcdsa;
        _secret = secret;
    }

    /// <summary>The key id (the <c>keyid</c> signature parameter).</summary>
    public string KeyId { get; }

    /// <summary>The algorithm this key is for.</summary>
    public SignatureAlgorithm Algorithm { get; }

    /// <summary>The RFC 9421 name of <see cref="Algorithm"/>, e.g. <c>ecdsa-p256-sha256</c>.</summary>
    public string AlgorithmName => SignatureAlgorithms.Name(Algorithm);

    internal ECDsa? EcdsaKey => _ecdsa;

    /// <summary>An <c>ecdsa-p256-sha256</c> key.</summary>
    /// <param name="keyId">The key id.</param>
    /// <param name="key">A P-256 key: with its private part to sign, the public part suffices to verify.</param>
    /// <param name="ownsKey">Dispose <paramref name="key"/> with this object (default: the caller keeps it).</param>
    /// <exception cref="ArgumentException"><paramref name="key"/> is not on the P-256 curve.</exception>
    public static SignatureKey Ecdsa(string keyId, ECDsa key, bool ownsKey = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        ArgumentNullException.ThrowIfNull(key);
        var curve = key.ExportParameters(includePrivateParameters: false).Curve;
        if (key.KeySize != 256 || !curve.IsNamed || (curve.Oid.Value != P256Oid && curve.Oid.FriendlyName is not ("nistP256" or "ECDSA_P256" or "secp256r1")))
        {
            throw new ArgumentException($"Key '{keyId}' is not a P-256 key; ecdsa-p256-sha256 needs the P-256 curve.", nameof(key));
        }

        return new SignatureKey(keyId, SignatureAlgorithm.EcdsaP256Sha256, key, ownsKey, null);
    }

    /// <summary>An <c>hmac-sha256</c> key; <paramref name="secret"/> is copied (at least 16 bytes; 32 or more recommended).</summary>
    public static SignatureKey Hmac(string keyId, byte[] secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        ArgumentNullException.ThrowIfNull(secret);
        if (secret.Length < MinHmacSecretLength)
        {
            throw new ArgumentException($"The HMAC secret of key '{keyId}' has {secret.Length} bytes; use at least {MinHmacSecretLength} (32 recommended).", nameof(secret));
        }

        return new SignatureKey(keyId, SignatureAlgorithm.HmacSha256, null, false, [.. secret]);
    }

    /// <summary>
    /// An <c>ecdsa-p256-sha256</c> verification key from a public EC P-256 JWK (RFC 7517/7518:
    /// <c>{"kty":"EC","crv":"P-256","x":…,"y":…}</c>). A <c>use</c> other than <c>sig</c> or an <c>alg</c> other than
    /// <c>ES256</c> is refused; a private part (<c>d</c>) is ignored.
    /// </summary>
    /// <param name="jwk">The JWK object.</param>
    /// <param name="keyId">The key id; default: the JWK's <c>kid</c>.</param>
    /// <exception cref="ArgumentException">The JWK is not a valid P-256 public key; the message says what is wrong.</exception>
    public static SignatureKey FromJwk(JsonElement jwk, string? keyId = null)
    {
        if (jwk.ValueKind != JsonValueKind.Object)
        {
            throw new ArgumentException($"A JWK is a JSON object, not {jwk.ValueKind}.", nameof(jwk));
        }

        var kid = keyId ?? OptionalString(jwk, "kid");
        if (string.IsNullOrEmpty(kid))
        {
            throw new ArgumentException("The JWK has no 'kid' and no key id was given.", nameof(jwk));
        }

        var kty = OptionalString(jwk, "kty");
        if (kty != "EC")
        {
            throw new ArgumentException($"JWK '{kid}': 'kty' must be \"EC\", not {Quote(kty)}.", nameof(jwk));
        }

        var crv = OptionalString(jwk, "crv");
        if (crv != "P-256")
        {
            throw new ArgumentException($"JWK '{kid}': 'crv' must be \"P-256\", not {Quote(crv)}.", nameof(jwk));
        }

        if (OptionalString(jwk, "use") is { } use && use != "sig")
        {
            throw new ArgumentException($"JWK '{kid}': 'use' is \"{use}\"; a signature key has \"sig\".", nameof(jwk));
        }

        if (OptionalString(jwk, "alg") is { } alg && alg != "ES256")
        {
            throw new ArgumentException($"JWK '{kid}': 'alg' is \"{alg}\"; a P-256 signature key has \"ES256\".", nameof(jwk));
        }

        var x = Coordinate(jwk, "x", kid);
        var y = Coordinate(jwk, "y", kid);
        ECDsa? key = null;
        try
        {
            key = System.Security.Cryptography.ECDsa.Create();
            key.ImportParameters(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = x, Y = y } });
            return new SignatureKey(kid, SignatureAlgorithm.EcdsaP256Sha256, key, true, null);
        }
        catch (CryptographicException e)
        {
            key?.Dispose();
            throw new ArgumentException($"JWK '{kid}': (x, y) is not a point on P-256.", nameof(jwk), e);
        }
    }

    /// <summary>The RFC 7638 JWK thumbprint (SHA-256, base64url) of the public part of a P-256 key.</summary>
    public static string JwkThumbprint(ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var q = key.ExportParameters(includePrivateParameters: false).Q;
        // Required members in lexicographic order, no whitespace (RFC 7638 §3.2).
        var json = $"{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{Base64Url.EncodeToString(q.X)}\",\"y\":\"{Base64Url.EncodeToString(q.Y)}\"}}";
        return Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(json)));
    }

    /// <summary>Signs <paramref name="data"/> (the signature base as ASCII): r‖s for ECDSA, the MAC for HMAC.</summary>
    /// <exception cref="InvalidOperationException">An ECDSA key without its private part.</exception>
    public byte[] Sign(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_secret is not null)
        {
            return HMACSHA256.HashData(_secret, data);
        }

        try
        {
            return _ecdsa!.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (CryptographicException e)
        {
            throw new InvalidOperationException($"Key '{KeyId}' cannot sign (does it hold the private key?).", e);
        }
    }

    /// <summary>Whether <paramref name="signature"/> is this key's signature of <paramref name="data"/> (HMAC compared in fixed time).</summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_secret is not null)
        {
            Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
            HMACSHA256.HashData(_secret, data, mac);
            return CryptographicOperations.FixedTimeEquals(mac, signature);
        }

        return signature.Length == EcdsaSignatureLength
               && _ecdsa!.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    /// <summary>The length of this key's signatures in bytes (64 for ECDSA P-256, 32 for HMAC-SHA256).</summary>
    public int SignatureLength => _secret is not null ? HMACSHA256.HashSizeInBytes : EcdsaSignatureLength;

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_secret is not null)
        {
            CryptographicOperations.ZeroMemory(_secret);
        }

        if (_ownsEcdsa)
        {
            _ecdsa?.Dispose();
        }
    }

    private static string? OptionalString(JsonElement jwk, string name) =>
        jwk.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Quote(string? value) => value is null ? "missing" : $"\"{value}\"";

    private static byte[] Coordinate(JsonElement jwk, string name, string kid)
    {
        var text = OptionalString(jwk, name)
                   ?? throw new ArgumentException($"JWK '{kid}': '{name}' is missing or not a string.", nameof(jwk));
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(text);
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"JWK '{kid}': '{name}' is not base64url.", nameof(jwk), e);
        }

        return bytes.Length == 32
            ? bytes
            : throw new ArgumentException($"JWK '{kid}': '{name}' must be 32 bytes for P-256, not {bytes.Length}.", nameof(jwk));
    }
}

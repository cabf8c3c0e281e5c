namespace AgentHub.Client.Signatures;

/// <summary>The RFC 9421 algorithms supported here (.NET has no Ed25519).</summary>
public enum SignatureAlgorithm
{
    /// <summary><c>ecdsa-p256-sha256</c> (RFC 9421 §3.3.4): ECDSA over P-256 with SHA-256, signature r‖s (64 bytes).</summary>
    EcdsaP256Sha256,

    /// <summary><c>hmac-sha256</c> (RFC 9421 §3.3.3): HMAC with SHA-256 and a shared secret (32 bytes).</summary>
    HmacSha256,
}

/// <summary>The RFC 9421 names of <see cref="SignatureAlgorithm"/>, as used in the <c>alg</c> parameter.</summary>
public static class SignatureAlgorithms
{
    /// <summary><c>ecdsa-p256-sha256</c>.</summary>
    public const string EcdsaP256Sha256 = "ecdsa-p256-sha256";

    /// <summary><c>hmac-sha256</c>.</summary>
    public const string HmacSha256 = "hmac-sha256";

    /// <summary>The RFC 9421 name of <paramref name="algorithm"/>.</summary>
    public static string Name(SignatureAlgorithm algorithm) => algorithm switch
    {
        SignatureAlgorithm.EcdsaP256Sha256 => EcdsaP256Sha256,
        SignatureAlgorithm.HmacSha256 => HmacSha256,
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "Unknown signature algorithm."),
    };

    /// <summary>The algorithm named <paramref name="name"/> (exact, lowercase), if supported.</summary>
    public static bool TryParse(string? name, out SignatureAlgorithm algorithm)
    {
        switch (name)
        {
            case EcdsaP256Sha256:
                algorithm = SignatureAlgorithm.EcdsaP256Sha256;
                return true;
            case HmacSha256:
                algorithm = SignatureAlgorithm.HmacSha256;
                return true;
            default:
                algorithm = default;
                return false;
        }
    }
}

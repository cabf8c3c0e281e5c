using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace AgentHub.Identity;

/// <summary>
/// API keys look like <c>ahk_&lt;keyId&gt;_&lt;secret&gt;</c>: a 16-character public key id (80 random bits, base32)
/// so lookup is one primary-key read, and a 256-bit secret (base64url). Only SHA-256 of the secret is stored; with
/// 256 bits of entropy a slow hash adds nothing, and the comparison is constant-time.
/// </summary>
internal static class ApiKeyFormat
{
    public const string Prefix = "ahk_";
    public const int KeyIdLength = 16;
    private const int SecretBytes = 32;
    private const string Base32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    public static (string KeyId, string Key, byte[] SecretHash) Generate()
    {
        var keyId = Base32(RandomNumberGenerator.GetBytes(10));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(SecretBytes));
        return (keyId, $"{Prefix}{keyId}_{secret}", Hash(secret));
    }

    public static bool TryParse(string value, [NotNullWhen(true)] out string? keyId, [NotNullWhen(true)] out string? secret)
    {
        keyId = null;
        secret = null;
        if (!value.StartsWith(Prefix, StringComparison.Ordinal) || value.Length != Prefix.Length + KeyIdLength + 1 + 43 ||
            value[Prefix.Length + KeyIdLength] != '_')
        {
            return false;
        }

        var id = value.Substring(Prefix.Length, KeyIdLength);
        var s = value[(Prefix.Length + KeyIdLength + 1)..];
        if (!id.All(c => Base32Alphabet.Contains(c, StringComparison.Ordinal)) || !s.All(IsBase64UrlChar))
        {
            return false;
        }

        keyId = id;
        secret = s;
        return true;
    }

    /// <summary>True when the text looks like one of our keys (used to refuse keys sent where they must not be).</summary>
    public static bool LooksLikeKey(string? value) => value?.Contains(Prefix, StringComparison.Ordinal) == true;

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.ASCII.GetBytes(secret));

    public static bool Matches(string secret, byte[] storedHash) =>
        CryptographicOperations.FixedTimeEquals(Hash(secret), storedHash);

    private static bool IsBase64UrlChar(char c) => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_';

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Base32(byte[] bytes)
    {
        var sb = new StringBuilder(bytes.Length * 8 / 5);
        int buffer = 0, bits = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                sb.Append(Base32Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }

        return sb.ToString();
    }
}

using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace AgentHub.Vault;

/// <summary>
/// AES-256-GCM under the master key. The associated data is the name of the record the ciphertext belongs to
/// (for example <c>signing_keys/&lt;kid&gt;</c>), so a ciphertext copied into another record does not decrypt.
/// Layout: version (1 byte) | key term (4 bytes, big endian) | nonce (12) | tag (16) | ciphertext.
/// </summary>
internal sealed class SecretBox(MasterKey masterKey)
{
    private const byte FormatVersion = 1;
    private const uint KeyTerm = 1; // the master key's term; rotation adds terms (vault issue)
    private const int HeaderSize = 1 + 4;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public byte[] Seal(ReadOnlySpan<byte> plaintext, string recordName)
    {
        var output = new byte[HeaderSize + NonceSize + TagSize + plaintext.Length];
        output[0] = FormatVersion;
        BinaryPrimitives.WriteUInt32BigEndian(output.AsSpan(1, 4), KeyTerm);
        var nonce = output.AsSpan(HeaderSize, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(masterKey.Bytes, TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(HeaderSize + NonceSize + TagSize),
            output.AsSpan(HeaderSize + NonceSize, TagSize), Encoding.UTF8.GetBytes(recordName));
        return output;
    }

    /// <summary>
    /// HMAC-SHA256 under a key derived from the master key for <paramref name="purpose"/>: lets a secret-derived value
    /// be recorded and searched (the audit log's credential fingerprints) without storing the secret.
    /// </summary>
    public string Fingerprint(string purpose, string value)
    {
        var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, masterKey.Bytes.ToArray(), 32, info: Encoding.UTF8.GetBytes("agenthub/" + purpose));
        try
        {
            return Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(value)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    public byte[] Open(ReadOnlySpan<byte> sealedData, string recordName)
    {
        if (sealedData.Length < HeaderSize + NonceSize + TagSize || sealedData[0] != FormatVersion)
        {
            throw new VaultException($"The encrypted record '{recordName}' has an unknown format.");
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(sealedData.Slice(1, 4)) != KeyTerm)
        {
            throw new VaultException($"The encrypted record '{recordName}' uses a key term this hub does not hold.");
        }

        var plaintext = new byte[sealedData.Length - HeaderSize - NonceSize - TagSize];
        try
        {
            using var aes = new AesGcm(masterKey.Bytes, TagSize);
            aes.Decrypt(sealedData.Slice(HeaderSize, NonceSize), sealedData[(HeaderSize + NonceSize + TagSize)..],
                sealedData.Slice(HeaderSize + NonceSize, TagSize), plaintext, Encoding.UTF8.GetBytes(recordName));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new VaultException(
                $"The encrypted record '{recordName}' does not decrypt: the master key is not the one it was written with, or the record was altered.");
        }

        return plaintext;
    }
}

internal sealed class VaultException(string message) : Exception(message);

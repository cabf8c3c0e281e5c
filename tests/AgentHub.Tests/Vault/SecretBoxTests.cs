using System.Security.Cryptography;
using System.Text;
using AgentHub.Tests.Storage;
using AgentHub.Vault;

namespace AgentHub.Tests.Vault;

/// <summary>
/// AES-256-GCM envelope for secrets at rest (src/AgentHub/Vault): what goes in comes out only under the same
/// master key and record name, and any change to the ciphertext is detected.
/// </summary>
public sealed class SecretBoxTests : IDisposable
{
    private const string Record = "signing_keys/abc";
    private readonly MasterKey _key = StoreDatabase.NewMasterKey();
    private readonly SecretBox _box;

    public SecretBoxTests()
    {
        _box = new SecretBox(_key);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(32)]
    [InlineData(4096)]
    public void Seal_then_open_returns_the_plaintext(int size)
    {
        var plaintext = RandomNumberGenerator.GetBytes(size);

        var sealedData = _box.Seal(plaintext, Record);

        Assert.Equal(plaintext, _box.Open(sealedData, Record));
        Assert.Equal(1 + 4 + 12 + 16 + size, sealedData.Length);
    }

    [Fact]
    public void Sealed_output_never_contains_the_plaintext_and_differs_each_time()
    {
        var plaintext = Encoding.UTF8.GetBytes("sk-provider-key-that-must-not-leak-0123456789");

        var first = _box.Seal(plaintext, Record);
        var second = _box.Seal(plaintext, Record);

        Assert.Equal(-1, first.AsSpan().IndexOf(plaintext));
        Assert.Equal(-1, Encoding.Latin1.GetString(first).IndexOf("must-not-leak", StringComparison.Ordinal));
        Assert.NotEqual(first, second); // a fresh nonce per seal
        Assert.Equal(plaintext, _box.Open(second, Record));
    }

    [Theory]
    [InlineData("signing_keys/abd")]
    [InlineData("signing_keys/ABC")]
    [InlineData("provider_keys/abc")]
    [InlineData("")]
    public void Open_under_another_record_name_fails(string otherRecord)
    {
        var sealedData = _box.Seal("secret"u8, Record);

        var error = Assert.Throws<VaultException>(() => _box.Open(sealedData, otherRecord));

        Assert.Contains("does not decrypt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Any_flipped_bit_anywhere_fails()
    {
        var sealedData = _box.Seal("a secret worth protecting"u8, Record);

        for (var i = 0; i < sealedData.Length; i++)
        {
            for (var bit = 0; bit < 8; bit++)
            {
                var altered = (byte[])sealedData.Clone();
                altered[i] ^= (byte)(1 << bit);
                Assert.Throws<VaultException>(() => _box.Open(altered, Record));
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(32)]
    public void Truncated_ciphertext_fails(int keep)
    {
        var sealedData = _box.Seal("secret"u8, Record);

        Assert.Throws<VaultException>(() => _box.Open(sealedData.AsSpan(0, keep), Record));
        Assert.Throws<VaultException>(() => _box.Open(sealedData.AsSpan(0, sealedData.Length - 1), Record));
    }

    [Fact]
    public void Open_under_another_master_key_fails_without_revealing_anything()
    {
        var sealedData = _box.Seal("the plaintext"u8, Record);
        using var otherKey = StoreDatabase.NewMasterKey();

        var error = Assert.Throws<VaultException>(() => new SecretBox(otherKey).Open(sealedData, Record));

        Assert.Equal($"The encrypted record '{Record}' does not decrypt: the master key is not the one it was written with, or the record was altered.", error.Message);
    }

    public void Dispose() => _key.Dispose();
}

using AgentHub.Identity;

namespace AgentHub.Tests.Identity;

/// <summary><c>ahk_&lt;16-char base32 id&gt;_&lt;43-char base64url secret&gt;</c>: generation and strict parsing.</summary>
public sealed class ApiKeyFormatTests
{
    private const string Id = "abcdefghijkmnp27";
    // A made-up 43-character base64url secret ("foobar-baz-quux-corge-grault----") for the format tables; not a key.
    private const string Secret = "Zm9vYmFyLWJhei1xdXV4LWNvcmdlLWdyYXVsdC0tLS0";
    private const string Valid = $"ahk_{Id}_{Secret}";

    public static TheoryData<string, string> Malformed => new()
    {
        { "empty", "" },
        { "wrong prefix", $"ahx_{Id}_{Secret}" },
        { "upper-case prefix", $"AHK_{Id}_{Secret}" },
        { "no prefix", $"{Id}_{Secret}" },
        { "other vendor's prefix", $"sk-{Id}_{Secret}" },
        { "id one short", $"ahk_{Id[..15]}_{Secret}" },
        { "id one long", $"ahk_{Id}a_{Secret}" },
        { "id one short, secret one long", $"ahk_{Id[..15]}_{Secret}A" },
        { "id with upper case", $"ahk_{Id.ToUpperInvariant()}_{Secret}" },
        { "id with 0 (not base32)", $"ahk_{Id[..15]}0_{Secret}" },
        { "id with 1 (not base32)", $"ahk_{Id[..15]}1_{Secret}" },
        { "id with 8 (not base32)", $"ahk_{Id[..15]}8_{Secret}" },
        { "id with hyphen", $"ahk_{Id[..15]}-_{Secret}" },
        { "secret with +", $"ahk_{Id}_{Secret[..42]}+" },
        { "secret with /", $"ahk_{Id}_{Secret[..42]}/" },
        { "secret with padding", $"ahk_{Id}_{Secret[..42]}=" },
        { "secret with space", $"ahk_{Id}_{Secret[..20]} {Secret[21..]}" },
        { "secret with non-ASCII letter", $"ahk_{Id}_{Secret[..42]}é" },
        { "separator not underscore", $"ahk_{Id}-{Secret}" },
        { "truncated by one", Valid[..^1] },
        { "truncated to the id", $"ahk_{Id}_" },
        { "prefix only", "ahk_" },
        { "one extra character", Valid + "A" },
        { "trailing newline", Valid + "\n" },
        { "trailing space", Valid + " " },
        { "leading space", " " + Valid },
        { "two keys", Valid + Valid },
    };

    [Fact]
    public void Well_formed_key_parses_into_id_and_secret()
    {
        Assert.True(ApiKeyFormat.TryParse(Valid, out var keyId, out var secret));

        Assert.Equal((Id, Secret), (keyId, secret));
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_key_is_refused(string form, string value)
    {
        Assert.False(ApiKeyFormat.TryParse(value, out var keyId, out var secret), form);
        Assert.Null(keyId);
        Assert.Null(secret);
    }

    [Fact]
    public void Generated_keys_parse_back_to_their_id_and_the_hashed_secret()
    {
        for (var i = 0; i < 200; i++)
        {
            var (keyId, key, hash) = ApiKeyFormat.Generate();

            Assert.True(ApiKeyFormat.TryParse(key, out var parsedId, out var secret), key);
            Assert.Equal(keyId, parsedId);
            Assert.Equal($"ahk_{keyId}_{secret}", key);
            Assert.Equal(ApiKeyFormat.KeyIdLength, keyId.Length);
            Assert.Equal(hash, ApiKeyFormat.Hash(secret));
            Assert.True(ApiKeyFormat.Matches(secret, hash));
            Assert.True(ApiKeyFormat.LooksLikeKey(key));
        }
    }

    [Fact]
    public void Generated_secrets_carry_256_random_bits_and_ids_80()
    {
        // Every bit position takes both values across many keys: no fixed or truncated bits.
        var secretOnes = new int[256];
        var idChars = new HashSet<char>();
        const int Count = 1000;
        for (var i = 0; i < Count; i++)
        {
            var (keyId, key, _) = ApiKeyFormat.Generate();
            Assert.True(ApiKeyFormat.TryParse(key, out _, out var secret));
            var bytes = System.Buffers.Text.Base64Url.DecodeFromChars(secret);
            Assert.Equal(32, bytes.Length);
            for (var bit = 0; bit < 256; bit++)
            {
                secretOnes[bit] += (bytes[bit / 8] >> (bit % 8)) & 1;
            }

            idChars.UnionWith(keyId);
        }

        Assert.All(secretOnes, ones => Assert.InRange(ones, 1, Count - 1));
        Assert.Equal(32, idChars.Count); // the whole base32 alphabet: 16 characters x 5 bits
    }

    [Fact]
    public void Two_generated_keys_are_never_equal()
    {
        var keys = Enumerable.Range(0, 10_000).Select(_ => ApiKeyFormat.Generate()).ToList();

        Assert.Equal(keys.Count, keys.Select(k => k.KeyId).Distinct().Count());
        Assert.Equal(keys.Count, keys.Select(k => k.Key).Distinct().Count());
        Assert.Equal(keys.Count, keys.Select(k => Convert.ToHexString(k.SecretHash)).Distinct().Count());
    }

    [Fact]
    public void Matches_refuses_any_other_secret()
    {
        var (_, key, hash) = ApiKeyFormat.Generate();
        Assert.True(ApiKeyFormat.TryParse(key, out _, out var secret));

        Assert.False(ApiKeyFormat.Matches(secret[..^1] + (secret[^1] == 'A' ? 'B' : 'A'), hash));
        Assert.False(ApiKeyFormat.Matches(new string(secret.Select(c => char.IsLower(c) ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c)).ToArray()), hash));
        Assert.False(ApiKeyFormat.Matches("", hash));
    }

    [Theory]
    [InlineData("ahk_x", true)]
    [InlineData("Bearer ahk_abc", true)]
    [InlineData("sk-abc", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void LooksLikeKey_spots_the_prefix_anywhere(string? value, bool expected) =>
        Assert.Equal(expected, ApiKeyFormat.LooksLikeKey(value));
}

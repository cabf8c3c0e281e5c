using System.Text;
using AgentHub.Client.Signatures;

namespace AgentHub.Tests.Signatures;

/// <summary>RFC 9530 Content-Digest, with the RFC's example values for <c>{"hello": "world"}</c>.</summary>
public sealed class ContentDigestTests
{
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"hello": "world"}""");
    private const string Sha256 = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
    private const string Sha512 = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

    [Fact]
    public void Compute_gives_the_rfc9530_sha256_value()
    {
        Assert.Equal(Sha256, ContentDigest.Compute(Body));
    }

    [Fact]
    public void Compute_gives_the_rfc_sha512_value()
    {
        Assert.Equal(Sha512, ContentDigest.Compute(Body, "sha-512"));
    }

    [Fact]
    public void FromSha256_gives_the_rfc9530_value_for_a_known_digest_and_refuses_another_length()
    {
        Assert.Equal(Sha256, ContentDigest.FromSha256(System.Security.Cryptography.SHA256.HashData(Body)));
        Assert.Throws<ArgumentException>(() => ContentDigest.FromSha256(System.Security.Cryptography.SHA512.HashData(Body)));
    }

    [Fact]
    public void Compute_refuses_an_unknown_algorithm()
    {
        Assert.Throws<ArgumentException>(() => ContentDigest.Compute(Body, "md5"));
    }

    [Theory]
    [InlineData(Sha256)]
    [InlineData(Sha512)]
    [InlineData(Sha256 + ", " + Sha512)]
    [InlineData("unixsum=:AQ==:, " + Sha256)]
    public void Verify_accepts_matching_digests(string header)
    {
        var result = ContentDigest.Verify(header, Body);

        Assert.True(result.Success, result.Message);
    }

    [Fact]
    public void Verify_refuses_an_altered_body_and_names_the_algorithm()
    {
        var result = ContentDigest.Verify(Sha256, Encoding.UTF8.GetBytes("""{"hello": "World"}"""));

        Assert.Equal(ContentDigestFailure.Mismatch, result.Failure);
        Assert.Contains("sha-256", result.Message);
    }

    [Fact]
    public void Verify_refuses_when_one_of_two_recognised_digests_does_not_match()
    {
        var wrong512 = "sha-512=:" + Convert.ToBase64String(new byte[64]) + ":";

        var result = ContentDigest.Verify(Sha256 + ", " + wrong512, Body);

        Assert.Equal(ContentDigestFailure.Mismatch, result.Failure);
        Assert.Contains("sha-512", result.Message);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Verify_refuses_a_missing_header(string? header)
    {
        Assert.Equal(ContentDigestFailure.Missing, ContentDigest.Verify(header, Body).Failure);
    }

    [Fact]
    public void Verify_refuses_unknown_algorithms_only()
    {
        var result = ContentDigest.Verify("md5=:AAAA:, unixsum=:AQ==:", Body);

        Assert.Equal(ContentDigestFailure.NoKnownAlgorithm, result.Failure);
        Assert.Contains("md5, unixsum", result.Message);
    }

    [Theory]
    [InlineData("sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=")]
    [InlineData("sha-256=\"X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\"")]
    [InlineData("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=")]
    public void Verify_refuses_a_malformed_header(string header)
    {
        var result = ContentDigest.Verify(header, Body);

        Assert.Equal(ContentDigestFailure.Malformed, result.Failure);
        Assert.Contains("Content-Digest", result.Message);
    }

    [Fact]
    public void Verify_refuses_a_truncated_digest()
    {
        Assert.Equal(ContentDigestFailure.Mismatch, ContentDigest.Verify("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWx:", Body).Failure);
    }
}

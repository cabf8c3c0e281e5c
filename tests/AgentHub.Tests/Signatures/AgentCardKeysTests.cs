using System.Security.Cryptography;
using System.Text.Json.Nodes;
using AgentHub.Client.Signatures;

namespace AgentHub.Tests.Signatures;

/// <summary>What a JWKS must be to serve as card keys: public EC P-256 only, every problem named by its path.</summary>
public sealed class AgentCardKeysTests
{
    private static readonly (string X, string Y) Point = NewPoint();

    private static (string, string) NewPoint()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p = key.ExportParameters(false);
        return (AgentCardSignaturesTests.B64(p.Q.X!), AgentCardSignaturesTests.B64(p.Q.Y!));
    }

    private static string Jwk(string extra = "", string? x = null, string? crv = "P-256") =>
        $$"""{"kty":"EC","crv":"{{crv}}","x":"{{x ?? Point.X}}","y":"{{Point.Y}}"{{extra}}}""";

    [Fact]
    public void Public_p256_jwks_parses_and_a_key_without_kid_is_known_by_its_thumbprint()
    {
        Assert.True(AgentCardKeys.TryParse(JsonNode.Parse($$"""{"keys":[{{Jwk(",\"kid\":\"k1\",\"use\":\"sig\",\"alg\":\"ES256\"")}},{{Jwk()}}]}"""),
            out var keys, out var errors), string.Join("; ", errors));

        Assert.Equal(["k1", AgentCardKeys.Thumbprint(Point.X, Point.Y)], keys.KeyIds);
        Assert.True(keys.TryGetKey("k1", out _));
        Assert.False(keys.TryGetKey("k2", out _));
    }

    [Theory]
    [InlineData("[]", "")]
    [InlineData("{}", "")]
    [InlineData("""{"keys":{}}""", "")]
    [InlineData("""{"keys":[]}""", "keys")]
    [InlineData("""{"keys":["x"]}""", "keys[0]")]
    [InlineData("""{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}""", "keys[0].kty")]
    public void Not_a_jwks_of_ec_keys_is_refused(string jwks, string path)
    {
        Assert.False(AgentCardKeys.TryParse(JsonNode.Parse(jwks), out _, out var errors));

        Assert.Contains(path, errors.Keys);
    }

    [Theory]
    [InlineData(",\"d\":\"AAAA\"", "keys[0].d", "private key member")]
    [InlineData(",\"use\":\"enc\"", "keys[0].use", "sig")]
    [InlineData(",\"alg\":\"RS256\"", "keys[0].alg", "ES256")]
    [InlineData(",\"kid\":\"\"", "keys[0].kid", "non-empty")]
    public void Key_with_a_bad_member_is_refused_naming_it(string extra, string path, string message)
    {
        Assert.False(AgentCardKeys.TryParse(JsonNode.Parse($$"""{"keys":[{{Jwk(extra)}}]}"""), out _, out var errors));

        Assert.Contains(message, errors[path], StringComparison.Ordinal);
    }

    [Fact]
    public void Other_curves_short_coordinates_points_off_the_curve_and_duplicate_kids_are_refused()
    {
        static IReadOnlyDictionary<string, string> Errors(string jwks)
        {
            Assert.False(AgentCardKeys.TryParse(JsonNode.Parse(jwks), out _, out var errors));
            return errors;
        }

        Assert.Contains("P-256", Errors($$"""{"keys":[{{Jwk(crv: "P-384")}}]}""")["keys[0].crv"], StringComparison.Ordinal);
        Assert.Contains("32-byte", Errors($$"""{"keys":[{{Jwk(x: "AAAA")}}]}""")["keys[0].x"], StringComparison.Ordinal);
        Assert.Contains("32-byte", Errors($$"""{"keys":[{{Jwk(x: Point.X + "=")}}]}""")["keys[0].x"], StringComparison.Ordinal);
        var offCurve = AgentCardSignaturesTests.B64(new byte[32]);
        Assert.Contains("not a point", Errors($$"""{"keys":[{{Jwk(x: offCurve)}}]}""")["keys[0]"], StringComparison.Ordinal);
        Assert.Contains("more than once", Errors($$"""{"keys":[{{Jwk(",\"kid\":\"a\"")}},{{Jwk(",\"kid\":\"a\"")}}]}""")["keys[1].kid"],
            StringComparison.Ordinal);
    }

    [Fact]
    public void More_than_the_maximum_number_of_keys_is_refused()
    {
        var many = string.Join(',', Enumerable.Range(0, AgentCardKeys.MaxKeys + 1).Select(i => Jwk($",\"kid\":\"k{i}\"")));

        Assert.False(AgentCardKeys.TryParse(JsonNode.Parse($$"""{"keys":[{{many}}]}"""), out _, out var errors));
        Assert.Contains("keys", errors.Keys);
    }

    [Fact]
    public void ToJwks_holds_public_members_only()
    {
        Assert.True(AgentCardKeys.TryParse(JsonNode.Parse($$"""{"keys":[{{Jwk(",\"kid\":\"k1\",\"use\":\"sig\"")}}]}"""), out var keys, out _));

        Assert.Equal($$"""{"keys":[{"kty":"EC","crv":"P-256","x":"{{Point.X}}","y":"{{Point.Y}}","kid":"k1"}]}""", keys.ToJwks().ToJsonString());
    }
}

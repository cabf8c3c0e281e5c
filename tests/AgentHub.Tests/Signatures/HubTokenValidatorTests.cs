using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using AgentHub.Client.Signatures;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Signatures;

/// <summary>The hub's ES256 JWTs: accepted only with the hub's key, for the right audience, in time.</summary>
public sealed class HubTokenValidatorTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 5, 6, 7, 8, 9, TimeSpan.Zero);
    private static readonly TimeSpan Skew = TimeSpan.FromSeconds(60);
    private readonly ManualTimeProvider _clock = new(Now);
    private readonly FakeHubKey _hub = new();

    public void Dispose() => _hub.Dispose();

    [Fact]
    public void Validate_accepts_a_hub_token_and_reads_the_actor_chain()
    {
        var token = _hub.Token(Claims(act: new { sub = "user:alice", act = new { sub = "agent:router" } }));

        var result = Validate(token);

        Assert.True(result.Success, result.Message);
        Assert.Equal(("agent:planner", _hub.Kid, "echo", "jti-1"), (result.Subject, result.Kid, result.Audience, result.TokenId));
        Assert.Equal(["user:alice", "agent:router"], result.Actors);
        Assert.Equal(Now.AddSeconds(60).ToUnixTimeSeconds(), result.ExpiresAt!.Value.ToUnixTimeSeconds());
    }

    [Fact]
    public void Validate_accepts_an_audience_array_holding_the_agent()
    {
        var token = _hub.Token(Claims() with { aud = new[] { "other", "echo" } });

        Assert.True(Validate(token).Success);
    }

    [Fact]
    public void Validate_refuses_alg_none()
    {
        var token = FakeHubKey.Encode(new { alg = "none", kid = _hub.Kid }) + "." + FakeHubKey.Encode(Claims()) + ".";

        var result = Validate(token);

        Assert.Equal(HubTokenFailure.WrongAlgorithm, result.Failure);
        Assert.Equal("The token's alg is \"none\"; only ES256 is accepted.", result.Message);
    }

    [Fact]
    public void Validate_refuses_hs256_signed_with_the_public_key()
    {
        // The classic confusion: an HMAC "signature" keyed with the published public key.
        var input = FakeHubKey.Encode(new { alg = "HS256", kid = _hub.Kid }) + "." + FakeHubKey.Encode(Claims());
        var mac = HMACSHA256.HashData(_hub.Ecdsa.ExportSubjectPublicKeyInfo(), Encoding.ASCII.GetBytes(input));

        var result = Validate(input + "." + Base64Url.EncodeToString(mac));

        Assert.Equal(HubTokenFailure.WrongAlgorithm, result.Failure);
        Assert.Contains("\"HS256\"", result.Message);
    }

    [Fact]
    public void Validate_refuses_an_unknown_kid()
    {
        var token = _hub.Token(Claims(), new { alg = "ES256", kid = "retired-long-ago" });

        var result = Validate(token);

        Assert.Equal(HubTokenFailure.UnknownKey, result.Failure);
        Assert.Equal("retired-long-ago", result.Kid);
    }

    [Fact]
    public void Validate_refuses_a_token_without_kid()
    {
        Assert.Equal(HubTokenFailure.Malformed, Validate(_hub.Token(Claims(), new { alg = "ES256" })).Failure);
    }

    [Fact]
    public void Validate_refuses_an_expired_token()
    {
        var token = _hub.Token(Claims());
        _clock.Advance(TimeSpan.FromSeconds(121));

        var result = Validate(token);

        Assert.Equal(HubTokenFailure.Expired, result.Failure);
        Assert.Equal("The token expired 61 s ago.", result.Message);
    }

    [Fact]
    public void Validate_allows_the_skew_after_expiry()
    {
        var token = _hub.Token(Claims());
        _clock.Advance(TimeSpan.FromSeconds(119));

        Assert.True(Validate(token).Success);
    }

    [Fact]
    public void Validate_refuses_a_token_issued_in_the_future()
    {
        var token = _hub.Token(Claims() with { iat = Now.AddSeconds(90).ToUnixTimeSeconds(), exp = Now.AddSeconds(150).ToUnixTimeSeconds() });

        Assert.Equal(HubTokenFailure.NotYetValid, Validate(token).Failure);
    }

    [Fact]
    public void Validate_refuses_the_wrong_audience()
    {
        var result = Validate(_hub.Token(Claims() with { aud = "billing" }));

        Assert.Equal(HubTokenFailure.WrongAudience, result.Failure);
        Assert.Contains("not for \"echo\"", result.Message);
    }

    [Fact]
    public void Validate_refuses_the_wrong_issuer()
    {
        var result = Validate(_hub.Token(Claims() with { iss = "not-the-hub" }));

        Assert.Equal(HubTokenFailure.WrongIssuer, result.Failure);
    }

    [Fact]
    public void Validate_refuses_a_tampered_payload()
    {
        var parts = _hub.Token(Claims()).Split('.');
        var tampered = parts[0] + "." + FakeHubKey.Encode(Claims() with { sub = "user:admin" }) + "." + parts[2];

        var result = Validate(tampered);

        Assert.Equal(HubTokenFailure.BadSignature, result.Failure);
    }

    [Fact]
    public void Validate_refuses_a_token_signed_by_another_key_with_the_hub_kid()
    {
        using var impostor = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var token = FakeHubKey.Sign(impostor, new { alg = "ES256", kid = _hub.Kid }, Claims());

        Assert.Equal(HubTokenFailure.BadSignature, Validate(token).Failure);
    }

    [Fact]
    public void Validate_refuses_a_token_without_subject()
    {
        Assert.Equal(HubTokenFailure.MissingClaim, Validate(_hub.Token(Claims() with { sub = null })).Failure);
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("a.b")]
    [InlineData("a.b.c.d")]
    [InlineData("!!!.###.$$$")]
    [InlineData("e30.e30.")]
    public void Validate_refuses_a_malformed_token(string token)
    {
        var result = Validate(token);

        Assert.False(result.Success);
        Assert.Contains(result.Failure, new[] { HubTokenFailure.Malformed, HubTokenFailure.WrongAlgorithm });
    }

    [Fact]
    public void Validate_refuses_a_malformed_actor_claim()
    {
        Assert.Equal(HubTokenFailure.Malformed, Validate(_hub.Token(Claims(act: new { client = "x" }))).Failure);
    }

    private HubTokenValidation Validate(string token) =>
        HubTokenValidator.Validate(token, kid => kid == _hub.Kid ? _hub.Ecdsa : null, "echo", _clock, Skew);

    private static TokenClaims Claims(object? act = null) => new()
    {
        iss = "agenthub",
        sub = "agent:planner",
        aud = "echo",
        iat = Now.ToUnixTimeSeconds(),
        exp = Now.AddSeconds(60).ToUnixTimeSeconds(),
        jti = "jti-1",
        act = act,
    };

#pragma warning disable IDE1006 // JSON claim names
    private sealed record TokenClaims
    {
        public string? iss { get; init; }

        public string? sub { get; init; }

        public object? aud { get; init; }

        public long iat { get; init; }

        public long exp { get; init; }

        public string? jti { get; init; }

        [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
        public object? act { get; init; }
    }
#pragma warning restore IDE1006
}

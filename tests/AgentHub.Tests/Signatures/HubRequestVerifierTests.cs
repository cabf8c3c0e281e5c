using System.Net;
using System.Security.Cryptography;
using System.Text;
using AgentHub.Client.Signatures;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Signatures;

/// <summary>An agent checking that a call came through the hub: hub JWT, hub signature, Content-Digest, and the JWKS cache.</summary>
public sealed class HubRequestVerifierTests : IDisposable
{
    private const string AgentId = "echo";
    private static readonly DateTimeOffset Start = new(2026, 7, 8, 9, 10, 11, TimeSpan.Zero);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":7,"method":"SendMessage","params":{"message":{}}}""");

    private readonly ManualTimeProvider _clock = new(Start);
    private readonly FakeHubKey _hub = new();
    private readonly JwksHandler _jwksServer = new();
    private readonly HttpClient _http;
    private readonly HubJwks _jwks;
    private readonly HubRequestVerifier _verifier;

    public HubRequestVerifierTests()
    {
        _jwksServer.Keys.Add(_hub.Jwk);
        _http = new HttpClient(_jwksServer);
        _jwks = new HubJwks(_http, new Uri("https://hub.example" + HubJwks.WellKnownPath), _clock);
        _verifier = new HubRequestVerifier(_jwks, AgentId, new HubRequestVerifierOptions { TimeProvider = _clock });
    }

    public void Dispose()
    {
        _jwks.Dispose();
        _http.Dispose();
        _hub.Dispose();
    }

    [Fact]
    public async Task VerifyAsync_accepts_a_request_forwarded_by_the_hub()
    {
        var request = Forwarded(act: new { sub = "user:alice" });

        var result = await _verifier.VerifyAsync(request, Body);

        Assert.True(result.Success, result.Message);
        Assert.Equal(("agent:planner", _hub.Kid), (result.Caller, result.Kid));
        Assert.Equal(["user:alice"], result.Actors);
        Assert.Equal(_hub.Kid, result.Signature!.KeyId);
        Assert.Equal(1, _jwksServer.Fetches);
    }

    [Fact]
    public async Task VerifyAsync_refuses_a_request_without_a_bearer_token()
    {
        var result = await _verifier.VerifyAsync(Forwarded(authorization: null), Body);

        Assert.Equal(HubRequestFailure.MissingToken, result.Failure);
    }

    [Fact]
    public async Task VerifyAsync_refuses_a_token_for_another_agent()
    {
        var result = await _verifier.VerifyAsync(Forwarded(audience: "billing"), Body);

        Assert.Equal(HubRequestFailure.BadToken, result.Failure);
        Assert.Equal(HubTokenFailure.WrongAudience, result.Token!.Failure);
    }

    [Fact]
    public async Task VerifyAsync_refuses_an_expired_token()
    {
        var request = Forwarded();
        _clock.Advance(TimeSpan.FromMinutes(3));

        var result = await _verifier.VerifyAsync(request, Body);

        Assert.Equal(HubRequestFailure.BadToken, result.Failure);
        Assert.Equal(HubTokenFailure.Expired, result.Token!.Failure);
    }

    [Fact]
    public async Task VerifyAsync_refuses_an_unsigned_request()
    {
        var result = await _verifier.VerifyAsync(Forwarded(sign: false), Body);

        Assert.Equal(HubRequestFailure.BadSignature, result.Failure);
        Assert.Equal(SignatureFailure.Missing, result.Signature!.Failure);
    }

    [Fact]
    public async Task VerifyAsync_refuses_a_signature_that_does_not_cover_the_caller()
    {
        var result = await _verifier.VerifyAsync(Forwarded(extraComponents: []), Body);

        Assert.Equal(HubRequestFailure.BadSignature, result.Failure);
        Assert.Equal(SignatureFailure.MissingComponent, result.Signature!.Failure);
        Assert.Contains("\"agenthub-caller\"", result.Message);
    }

    [Fact]
    public async Task VerifyAsync_refuses_an_altered_caller_header()
    {
        var request = Forwarded();
        var altered = request with { Header = name => name == "agenthub-caller" ? "user:admin" : request.Header(name) };

        var result = await _verifier.VerifyAsync(altered, Body);

        Assert.Equal(SignatureFailure.BadSignature, result.Signature!.Failure);
    }

    [Fact]
    public async Task VerifyAsync_refuses_an_altered_body()
    {
        var result = await _verifier.VerifyAsync(Forwarded(), Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":7,"method":"CancelTask"}"""));

        Assert.Equal(HubRequestFailure.BadDigest, result.Failure);
        Assert.Contains("does not match the body", result.Message);
    }

    [Fact]
    public async Task VerifyAsync_refuses_a_signature_by_a_key_the_hub_does_not_publish()
    {
        using var agentEcdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var agentKey = SignatureKey.Ecdsa("agent-own-key", agentEcdsa);

        var result = await _verifier.VerifyAsync(Forwarded(signingKey: agentKey), Body);

        Assert.Equal(HubRequestFailure.BadSignature, result.Failure);
        Assert.Equal(SignatureFailure.UnknownKey, result.Signature!.Failure);
    }

    [Fact]
    public async Task VerifyAsync_finds_a_rotated_in_key_by_fetching_the_jwks_again()
    {
        Assert.True((await _verifier.VerifyAsync(Forwarded(), Body)).Success);
        using var rotated = new FakeHubKey();
        _jwksServer.Keys.Add(rotated.Jwk);
        _clock.Advance(TimeSpan.FromSeconds(31));

        var result = await _verifier.VerifyAsync(Forwarded(tokenKey: rotated, signingKey: rotated.SigningKey), Body);

        Assert.True(result.Success, result.Message);
        Assert.Equal(rotated.Kid, result.Kid);
        Assert.Equal(2, _jwksServer.Fetches);
    }

    [Fact]
    public async Task VerifyAsync_fetches_the_jwks_for_unknown_kids_at_most_once_per_30_seconds()
    {
        using var stranger = new FakeHubKey();
        await _verifier.VerifyAsync(Forwarded(), Body);
        _clock.Advance(TimeSpan.FromSeconds(31));

        var first = await _verifier.VerifyAsync(Forwarded(tokenKey: stranger), Body);
        var second = await _verifier.VerifyAsync(Forwarded(tokenKey: stranger), Body);
        _clock.Advance(TimeSpan.FromSeconds(29));
        var third = await _verifier.VerifyAsync(Forwarded(tokenKey: stranger), Body);
        var fetchesWithin30Seconds = _jwksServer.Fetches;
        _clock.Advance(TimeSpan.FromSeconds(1));
        await _verifier.VerifyAsync(Forwarded(tokenKey: stranger), Body);

        Assert.All([first, second, third], r => Assert.Equal(HubTokenFailure.UnknownKey, r.Token!.Failure));
        Assert.Equal(2, fetchesWithin30Seconds);
        Assert.Equal(3, _jwksServer.Fetches);
    }

    [Fact]
    public async Task VerifyAsync_reports_an_unreachable_jwks()
    {
        _jwksServer.Status = HttpStatusCode.ServiceUnavailable;

        var result = await _verifier.VerifyAsync(Forwarded(), Body);

        Assert.Equal(HubRequestFailure.KeysUnavailable, result.Failure);
    }

    [Fact]
    public async Task Jwks_keeps_its_keys_when_a_refresh_fails_after_max_age()
    {
        Assert.NotNull(await _jwks.GetKeyAsync(_hub.Kid));
        _jwksServer.Status = HttpStatusCode.InternalServerError;
        _clock.Advance(TimeSpan.FromMinutes(11));

        var key = await _jwks.GetKeyAsync(_hub.Kid);

        Assert.NotNull(key);
        Assert.Equal(2, _jwksServer.Fetches);
    }

    [Fact]
    public async Task Jwks_skips_keys_that_are_not_p256_signature_keys()
    {
        _jwksServer.Keys.Add("""{"kty":"RSA","kid":"rsa-1","n":"AQAB","e":"AQAB"}""");
        _jwksServer.Keys.Add(_hub.Jwk.Replace("\"use\":\"sig\"", "\"use\":\"enc\"", StringComparison.Ordinal).Replace(_hub.Kid, "enc-1", StringComparison.Ordinal));
        _jwksServer.Keys.Add("""{"kty":"EC","crv":"P-384","kid":"p384-1","x":"AA","y":"AA"}""");

        await _jwks.RefreshAsync();

        Assert.Equal([_hub.Kid], _jwks.Kids);
    }

    [Fact]
    public void FromJwk_explains_what_is_wrong_with_a_jwk()
    {
        using var document = System.Text.Json.JsonDocument.Parse("""{"kty":"EC","crv":"P-256","kid":"k","x":"qIVYZVLCrPZHGHjP17CTW0_-D9Lfw0EkjqF7xB4FivA","y":"AAAA"}""");

        var error = Assert.Throws<ArgumentException>(() => SignatureKey.FromJwk(document.RootElement));

        Assert.StartsWith("JWK 'k': 'y' must be 32 bytes for P-256, not 3.", error.Message);
    }

    [Fact]
    public void FromJwk_refuses_a_point_not_on_the_curve()
    {
        using var document = System.Text.Json.JsonDocument.Parse(
            """{"kty":"EC","crv":"P-256","kid":"k","x":"qIVYZVLCrPZHGHjP17CTW0_-D9Lfw0EkjqF7xB4FivA","y":"Nc4nN9LTDOBhfoUeg8Ye9WedFRhnZXZJA12Qp0zZ6F0"}""");

        var error = Assert.Throws<ArgumentException>(() => SignatureKey.FromJwk(document.RootElement));

        Assert.Contains("not a point on P-256", error.Message);
    }

    /// <summary>A call as the hub forwards it: hub JWT, caller header, A2A headers, Content-Digest, hub signature.</summary>
    private SignatureRequest Forwarded(object? act = null, string audience = AgentId, string? authorization = "token", bool sign = true,
        FakeHubKey? tokenKey = null, SignatureKey? signingKey = null, IReadOnlyList<string>? extraComponents = null)
    {
        var now = _clock.GetUtcNow();
        var token = (tokenKey ?? _hub).Token(new
        {
            iss = "agenthub",
            sub = "agent:planner",
            aud = audience,
            iat = now.ToUnixTimeSeconds(),
            exp = now.AddSeconds(60).ToUnixTimeSeconds(),
            jti = Guid.NewGuid().ToString("N"),
            act,
        });
        var fields = new List<(string, string)>
        {
            ("Content-Type", "application/json"),
            ("A2A-Version", "1.0"),
            ("AgentHub-Caller", "agent:planner"),
            ("Content-Digest", ContentDigest.Compute(Body)),
        };
        if (authorization is not null)
        {
            fields.Add(("Authorization", "Bearer " + token));
        }

        var request = new SignatureRequest("POST", "echo.internal:8443", "/", null, Rfc9421TestData.Fields(fields));
        if (sign)
        {
            var headers = HttpMessageSigner.Sign(request, signingKey ?? _hub.SigningKey, new SignatureOptions
            {
                TimeProvider = _clock,
                ExtraComponents = extraComponents ?? (authorization is null ? ["agenthub-caller"] : ["agenthub-caller", "authorization"]),
            });
            fields.Add(("Signature-Input", headers.SignatureInput));
            fields.Add(("Signature", headers.Signature));
        }

        return request with { Header = Rfc9421TestData.Fields(fields) };
    }

    private sealed class JwksHandler : HttpMessageHandler
    {
        public List<string> Keys { get; } = [];

        public int Fetches { get; private set; }

        public HttpStatusCode Status { get; set; } = HttpStatusCode.OK;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Fetches++;
            Assert.Equal("https://hub.example/.well-known/jwks.json", request.RequestUri!.ToString());
            return Task.FromResult(new HttpResponseMessage(Status)
            {
                Content = new StringContent($$"""{"keys":[{{string.Join(",", Keys)}}]}""", Encoding.UTF8, "application/json"),
            });
        }
    }
}

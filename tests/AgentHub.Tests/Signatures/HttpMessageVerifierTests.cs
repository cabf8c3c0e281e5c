using System.Security.Cryptography;
using System.Text;
using AgentHub.Client.Signatures;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Signatures;

/// <summary>RFC 9421 verification of A2A requests: each way a signature can be wrong, refused with its own reason.</summary>
public sealed class HttpMessageVerifierTests : IDisposable
{
    private const string KeyId = "agent-key-1";
    private static readonly DateTimeOffset Start = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{}}""");

    private readonly ManualTimeProvider _clock = new(Start);
    private readonly ECDsa _ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly SignatureKey _key;

    public HttpMessageVerifierTests() => _key = SignatureKey.Ecdsa(KeyId, _ecdsa);

    public void Dispose()
    {
        _key.Dispose();
        _ecdsa.Dispose();
    }

    [Fact]
    public void Verify_accepts_a_request_signed_with_the_defaults()
    {
        var request = A2aRequest();
        var headers = Sign(request);

        var result = Verify(request, headers);

        Assert.True(result.Success, result.Message);
        Assert.Equal(("sig1", KeyId, Start.ToUnixTimeSeconds()), (result.Label, result.KeyId, result.Created!.Value.ToUnixTimeSeconds()));
        Assert.Equal(["@method", "@authority", "@path", "content-type", "content-digest", "a2a-version"], result.CoveredComponents);
        Assert.True(ContentDigest.Verify(request.Header("content-digest"), Body).Success);
    }

    [Fact]
    public void Verify_refuses_an_altered_body_through_the_digest()
    {
        var request = A2aRequest();
        var headers = Sign(request);
        var altered = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"CancelTask","params":{}}""");

        var signature = Verify(request, headers);
        var digest = ContentDigest.Verify(request.Header("content-digest"), altered);

        Assert.True(signature.Success, signature.Message);
        Assert.Equal(ContentDigestFailure.Mismatch, digest.Failure);
        Assert.Contains("sha-256 digest does not match", digest.Message);
    }

    [Fact]
    public void Verify_refuses_a_digest_recomputed_for_an_altered_body()
    {
        var request = A2aRequest();
        var headers = Sign(request);
        var altered = A2aRequest(body: Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"CancelTask","params":{}}"""));

        var result = Verify(altered, headers);

        Assert.Equal(SignatureFailure.BadSignature, result.Failure);
    }

    [Fact]
    public void Verify_refuses_an_altered_path()
    {
        var headers = Sign(A2aRequest());

        var result = Verify(A2aRequest(path: "/a2a/admin"), headers);

        Assert.Equal(SignatureFailure.BadSignature, result.Failure);
        Assert.Contains("does not verify", result.Message);
    }

    [Fact]
    public void Verify_refuses_an_altered_covered_header()
    {
        var headers = Sign(A2aRequest());

        var result = Verify(A2aRequest(extra: [("A2A-Version", "0.3")], version: null), headers);

        Assert.Equal(SignatureFailure.BadSignature, result.Failure);
    }

    [Fact]
    public void Verify_refuses_a_covered_component_dropped_from_the_message()
    {
        var headers = Sign(A2aRequest());

        var result = Verify(A2aRequest(version: null), headers);

        Assert.Equal(SignatureFailure.MissingComponent, result.Failure);
        Assert.Contains("'a2a-version' is not in the message", result.Message);
    }

    [Fact]
    public void Verify_refuses_a_signature_that_does_not_cover_a_required_component()
    {
        var request = A2aRequest();
        var headers = Sign(request, new SignatureOptions { TimeProvider = _clock, Components = ["@method", "@authority", "@path", "content-type", "a2a-version"] });

        var result = Verify(request, headers);

        Assert.Equal(SignatureFailure.MissingComponent, result.Failure);
        Assert.Equal("Signature 'sig1' does not cover the required component \"content-digest\".", result.Message);
    }

    [Fact]
    public void Verify_requires_the_query_when_the_request_has_one()
    {
        var signed = Sign(A2aRequest(query: "?tenant=a"), new SignatureOptions { TimeProvider = _clock, Components = ["@method", "@authority", "@path", "content-type", "content-digest", "a2a-version"] });

        var result = Verify(A2aRequest(query: "?tenant=a"), signed);

        Assert.Equal(SignatureFailure.MissingComponent, result.Failure);
        Assert.Contains("\"@query\"", result.Message);
    }

    [Fact]
    public void Verify_refuses_an_altered_query()
    {
        var signed = Sign(A2aRequest(query: "?tenant=a"));

        var result = Verify(A2aRequest(query: "?tenant=b"), signed);

        Assert.Equal(SignatureFailure.BadSignature, result.Failure);
    }

    [Fact]
    public void Verify_refuses_stale_created()
    {
        var request = A2aRequest();
        var headers = Sign(request);
        _clock.Advance(TimeSpan.FromSeconds(61));

        var result = Verify(request, headers);

        Assert.Equal(SignatureFailure.Stale, result.Failure);
        Assert.Equal("Signature 'sig1' was created 61 s ago; at most 60 s is accepted.", result.Message);
    }

    [Fact]
    public void Verify_accepts_created_at_the_edge_of_the_skew()
    {
        var request = A2aRequest();
        var headers = Sign(request);
        _clock.Advance(TimeSpan.FromSeconds(60));

        Assert.True(Verify(request, headers).Success);
    }

    [Fact]
    public void Verify_refuses_created_in_the_future_beyond_the_skew()
    {
        var request = A2aRequest();
        var future = new ManualTimeProvider(Start.AddSeconds(90));
        var headers = Sign(request, new SignatureOptions { TimeProvider = future });

        var result = Verify(request, headers);

        Assert.Equal(SignatureFailure.Stale, result.Failure);
        Assert.Contains("90 s in the future", result.Message);
    }

    [Fact]
    public void Verify_refuses_expired()
    {
        var request = A2aRequest();
        var headers = Sign(request, new SignatureOptions { TimeProvider = _clock, Lifetime = TimeSpan.FromSeconds(10) });
        _clock.Advance(TimeSpan.FromSeconds(12));

        var result = Verify(request, headers);

        Assert.Equal(SignatureFailure.Expired, result.Failure);
        Assert.Equal("Signature 'sig1' expired 2 s ago.", result.Message);
    }

    [Fact]
    public void Verify_reports_expires_of_a_live_signature()
    {
        var request = A2aRequest();
        var headers = Sign(request, new SignatureOptions { TimeProvider = _clock, Lifetime = TimeSpan.FromSeconds(10) });

        var result = Verify(request, headers);

        Assert.True(result.Success, result.Message);
        Assert.Equal(Start.AddSeconds(10).ToUnixTimeSeconds(), result.Expires!.Value.ToUnixTimeSeconds());
    }

    [Fact]
    public void Verify_refuses_an_unknown_keyid()
    {
        var request = A2aRequest();
        var headers = Sign(request, new SignatureOptions { TimeProvider = _clock, KeyId = "someone-else" });

        var result = Verify(request, headers);

        Assert.Equal(SignatureFailure.UnknownKey, result.Failure);
        Assert.Equal("Unknown keyid 'someone-else'.", result.Message);
    }

    [Fact]
    public void Verify_refuses_an_alg_parameter_that_does_not_match_the_key()
    {
        var request = A2aRequest();
        var headers = Sign(request, new SignatureOptions { TimeProvider = _clock, IncludeAlgorithm = true });
        using var hmac = SignatureKey.Hmac(KeyId, RandomNumberGenerator.GetBytes(32));

        var result = Verify(request, headers, resolve: _ => hmac);

        Assert.Equal(SignatureFailure.WrongAlgorithm, result.Failure);
        Assert.Equal($"Signature 'sig1' says alg \"ecdsa-p256-sha256\" but key '{KeyId}' is hmac-sha256.", result.Message);
    }

    [Fact]
    public void Verify_refuses_an_unsupported_alg_parameter()
    {
        var request = A2aRequest();
        var headers = Sign(request);
        var input = headers.SignatureInput + ";alg=\"rsa-pss-sha512\"";

        var result = HttpMessageVerifier.Verify(request, input, headers.Signature, Options(), _ => _key);

        Assert.Equal(SignatureFailure.WrongAlgorithm, result.Failure);
        Assert.Contains("rsa-pss-sha512", result.Message);
    }

    [Fact]
    public void Verify_refuses_an_hmac_key_for_an_ecdsa_signature_when_only_ecdsa_is_accepted()
    {
        var request = A2aRequest();
        var headers = Sign(request);
        using var hmac = SignatureKey.Hmac(KeyId, RandomNumberGenerator.GetBytes(32));

        var result = Verify(request, headers, Options() with { AllowedAlgorithms = [SignatureAlgorithm.EcdsaP256Sha256] }, _ => hmac);

        Assert.Equal(SignatureFailure.WrongAlgorithm, result.Failure);
        Assert.Contains("hmac-sha256, which is not accepted here", result.Message);
    }

    [Fact]
    public void Verify_refuses_an_hmac_key_for_an_ecdsa_signature()
    {
        var request = A2aRequest();
        var headers = Sign(request);
        using var hmac = SignatureKey.Hmac(KeyId, RandomNumberGenerator.GetBytes(32));

        var result = Verify(request, headers, resolve: _ => hmac);

        Assert.Equal(SignatureFailure.BadSignature, result.Failure);
        Assert.Contains("64 bytes; a hmac-sha256 signature is 32", result.Message);
    }

    [Fact]
    public void Verify_refuses_a_signature_made_with_another_key_claiming_the_same_keyid()
    {
        var request = A2aRequest();
        using var otherEcdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var impostor = SignatureKey.Ecdsa(KeyId, otherEcdsa);
        var headers = HttpMessageSigner.Sign(request, impostor, new SignatureOptions { TimeProvider = _clock });

        var result = Verify(request, headers);

        Assert.Equal(SignatureFailure.BadSignature, result.Failure);
    }

    [Theory]
    [InlineData("sig1=(\"@method\" \"@path\"", "Signature-Input: the inner list is not closed with ')' in member 'sig1' at offset")]
    [InlineData("sig1=(\"@method\");created=12345678901234567", "Signature-Input: an Integer has at most 15 digits in member 'sig1' at offset")]
    [InlineData("Sig1=(\"@method\")", "Signature-Input: expected a dictionary key")]
    public void Verify_refuses_a_malformed_structured_field(string signatureInput, string expected)
    {
        var request = A2aRequest();
        var headers = Sign(request);

        var result = HttpMessageVerifier.Verify(request, signatureInput, headers.Signature, Options(), _ => _key);

        Assert.Equal(SignatureFailure.Malformed, result.Failure);
        Assert.StartsWith(expected, result.Message);
    }

    [Fact]
    public void Verify_refuses_a_signature_input_member_that_is_not_an_inner_list()
    {
        var request = A2aRequest();
        var headers = Sign(request);

        var result = HttpMessageVerifier.Verify(request, "sig1=\"@method\"", headers.Signature, Options(), _ => _key);

        Assert.Equal(SignatureFailure.Malformed, result.Failure);
        Assert.StartsWith("Signature-Input: member 'sig1' must be an inner list", result.Message);
    }

    [Fact]
    public void Verify_refuses_a_signature_member_that_is_not_a_byte_sequence()
    {
        var request = A2aRequest();
        var headers = Sign(request);

        var result = HttpMessageVerifier.Verify(request, headers.SignatureInput, "sig1=\"abc\"", Options(), _ => _key);

        Assert.Equal(SignatureFailure.Malformed, result.Failure);
        Assert.Contains("Byte Sequence", result.Message);
    }

    [Fact]
    public void Verify_refuses_a_parameter_of_the_wrong_type()
    {
        var request = A2aRequest();
        var headers = Sign(request);
        var input = headers.SignatureInput.Replace($"keyid=\"{KeyId}\"", "keyid=abc", StringComparison.Ordinal);

        var result = HttpMessageVerifier.Verify(request, input, headers.Signature, Options(), _ => _key);

        Assert.Equal(SignatureFailure.Malformed, result.Failure);
        Assert.Contains("'keyid' must be a String", result.Message);
    }

    [Fact]
    public void Verify_refuses_a_missing_nonce()
    {
        var request = A2aRequest();
        var headers = Sign(request, new SignatureOptions { TimeProvider = _clock, IncludeNonce = false });

        var result = Verify(request, headers);

        Assert.Equal(SignatureFailure.MissingParameter, result.Failure);
        Assert.Equal("Signature-Input 'sig1' lacks the required parameter 'nonce'.", result.Message);
    }

    [Theory]
    [InlineData(null, "sig1=:AAAA:", "no Signature-Input field")]
    [InlineData("sig1=(\"@method\")", null, "no Signature field")]
    [InlineData(null, null, "no Signature-Input and Signature fields")]
    [InlineData("sig1=(\"@method\")", "sig2=:AAAA:", "No label is in both")]
    public void Verify_refuses_an_unsigned_message(string? signatureInput, string? signature, string expected)
    {
        var result = HttpMessageVerifier.Verify(A2aRequest(), signatureInput, signature, Options(), _ => _key);

        Assert.Equal(SignatureFailure.Missing, result.Failure);
        Assert.Contains(expected, result.Message);
    }

    [Fact]
    public void Verify_checks_the_first_label_present_in_both_fields_or_the_one_asked_for()
    {
        var request = A2aRequest();
        var first = Sign(request);
        using var otherEcdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = SignatureKey.Ecdsa("other", otherEcdsa);
        var second = HttpMessageSigner.Sign(request, other, new SignatureOptions { TimeProvider = _clock, Label = "hub" });
        var inputs = $"{second.SignatureInput}, {first.SignatureInput}";
        var signatures = $"{first.Signature}, {second.Signature}";
        SignatureKey? Resolve(string kid) => kid == KeyId ? _key : kid == "other" ? other : null;

        var byDefault = HttpMessageVerifier.Verify(request, inputs, signatures, Options(), Resolve);
        var chosen = HttpMessageVerifier.Verify(request, inputs, signatures, Options() with { Label = "sig1" }, Resolve);
        var absent = HttpMessageVerifier.Verify(request, inputs, signatures, Options() with { Label = "sig9" }, Resolve);

        Assert.Equal(("hub", "other"), (byDefault.Label, byDefault.KeyId));
        Assert.Equal(("sig1", KeyId), (chosen.Label, chosen.KeyId));
        Assert.Equal(SignatureFailure.Missing, absent.Failure);
    }

    [Fact]
    public void Sign_omits_the_query_when_the_request_has_none_and_covers_it_otherwise()
    {
        Assert.DoesNotContain("@query", Sign(A2aRequest()).SignatureInput);
        Assert.Contains("\"@query\"", Sign(A2aRequest(query: "?x=1")).SignatureInput);
    }

    [Fact]
    public void Sign_writes_the_parameters_it_was_asked_for()
    {
        var headers = Sign(A2aRequest(extra: [("AgentHub-Caller", "agent:planner")]), new SignatureOptions
        {
            TimeProvider = _clock,
            Lifetime = TimeSpan.FromSeconds(30),
            Nonce = "n-1",
            IncludeAlgorithm = true,
            Tag = "agenthub",
            ExtraComponents = ["AgentHub-Caller"],
        });

        var created = Start.ToUnixTimeSeconds();
        Assert.Equal(
            $"sig1=(\"@method\" \"@authority\" \"@path\" \"content-type\" \"content-digest\" \"a2a-version\" \"agenthub-caller\");created={created};expires={created + 30};keyid=\"{KeyId}\";nonce=\"n-1\";alg=\"ecdsa-p256-sha256\";tag=\"agenthub\"",
            headers.SignatureInput);
    }

    [Fact]
    public void Sign_uses_a_fresh_random_nonce_each_time()
    {
        var request = A2aRequest();

        var first = Verify(request, Sign(request)).Nonce;
        var second = Verify(request, Sign(request)).Nonce;

        Assert.NotEqual(first, second);
        Assert.Equal(22, first!.Length);
    }

    [Fact]
    public void Sign_refuses_a_message_without_a_covered_field()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Sign(A2aRequest(version: null)));

        Assert.Equal("The covered field 'a2a-version' is not in the message.", error.Message);
    }

    [Fact]
    public void Sign_refuses_an_invalid_label()
    {
        Assert.Throws<ArgumentException>(() => Sign(A2aRequest(), new SignatureOptions { Label = "Sig 1" }));
    }

    private SignatureRequest A2aRequest(string path = "/a2a/echo", string? query = null, byte[]? body = null, string? version = "1.0",
        params (string Name, string Value)[] extra)
    {
        var fields = new List<(string, string)>
        {
            ("Content-Type", "application/json"),
            ("Content-Digest", ContentDigest.Compute(body ?? Body)),
        };
        if (version is not null)
        {
            fields.Add(("A2A-Version", version));
        }

        fields.AddRange(extra);
        return new SignatureRequest("POST", "hub.example:443", path, query, Rfc9421TestData.Fields(fields));
    }

    private SignatureHeaders Sign(SignatureRequest request, SignatureOptions? options = null) =>
        HttpMessageSigner.Sign(request, _key, options ?? new SignatureOptions { TimeProvider = _clock });

    private VerifyOptions Options() => new() { TimeProvider = _clock };

    private SignatureVerification Verify(SignatureRequest request, SignatureHeaders headers, VerifyOptions? options = null,
        Func<string, SignatureKey?>? resolve = null) =>
        HttpMessageVerifier.Verify(request, headers.SignatureInput, headers.Signature, options ?? Options(),
            resolve ?? (kid => kid == KeyId ? _key : null));
}

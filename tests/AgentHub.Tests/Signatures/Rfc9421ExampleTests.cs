using System.Text;
using AgentHub.Client.Signatures;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Signatures;

/// <summary>RFC 9421 Appendix B: the RFC's own signature bases and signatures, byte for byte.</summary>
public sealed class Rfc9421ExampleTests
{
    private const string B24Input = """sig-b24=("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256" """;
    private const string B24Signature = "sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==:";

    private const string B24Base =
        "\"@status\": 200\n" +
        "\"content-type\": application/json\n" +
        "\"content-digest\": sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:\n" +
        "\"content-length\": 23\n" +
        "\"@signature-params\": (\"@status\" \"content-type\" \"content-digest\" \"content-length\");created=1618884473;keyid=\"test-key-ecc-p256\"";

    private const string B25Input = """sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret" """;
    private const string B25Signature = "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:";

    private const string B25Base =
        "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n" +
        "\"@authority\": example.com\n" +
        "\"content-type\": application/json\n" +
        "\"@signature-params\": (\"date\" \"@authority\" \"content-type\");created=1618884473;keyid=\"test-shared-secret\"";

    private static readonly ManualTimeProvider ExampleTime = new(DateTimeOffset.FromUnixTimeSeconds(Rfc9421TestData.Created));

    private static VerifyOptions RfcVectorOptions => new()
    {
        // The RFC's examples carry neither nonce nor the A2A components; only what they sign is required here.
        RequiredComponents = [],
        RequiredParameters = ["created", "keyid"],
        TimeProvider = ExampleTime,
    };

    [Fact]
    public void B25_hmac_sha256_signature_base_matches_the_rfc()
    {
        var signatureBase = SignatureBase.Create(Rfc9421TestData.TestRequest(), InnerList(B25Input));

        Assert.Equal(B25Base, signatureBase);
    }

    [Fact]
    public void B25_hmac_sha256_signer_reproduces_the_rfc_headers_exactly()
    {
        using var key = SignatureKey.Hmac("test-shared-secret", Rfc9421TestData.SharedSecret());

        var headers = HttpMessageSigner.Sign(Rfc9421TestData.TestRequest(), key, new SignatureOptions
        {
            Label = "sig-b25",
            Components = ["date", "@authority", "content-type"],
            IncludeNonce = false,
            TimeProvider = ExampleTime,
        });

        Assert.Equal(B25Base, headers.SignatureBase);
        Assert.Equal(B25Input.TrimEnd(), headers.SignatureInput);
        Assert.Equal(B25Signature, headers.Signature);
    }

    [Fact]
    public void B25_hmac_sha256_rfc_signature_verifies()
    {
        using var key = SignatureKey.Hmac("test-shared-secret", Rfc9421TestData.SharedSecret());

        var result = HttpMessageVerifier.Verify(Rfc9421TestData.TestRequest(), B25Input, B25Signature, RfcVectorOptions with { RequireQueryWhenPresent = false },
            kid => kid == "test-shared-secret" ? key : null);

        Assert.True(result.Success, result.Message);
        Assert.Equal(("sig-b25", "test-shared-secret", SignatureAlgorithm.HmacSha256), (result.Label, result.KeyId, result.Algorithm));
        Assert.Equal(["date", "@authority", "content-type"], result.CoveredComponents);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(Rfc9421TestData.Created), result.Created);
    }

    [Fact]
    public void B24_ecdsa_response_signature_base_matches_the_rfc()
    {
        var signatureBase = SignatureBase.Create(Rfc9421TestData.TestResponse(), InnerList(B24Input));

        Assert.Equal(B24Base, signatureBase);
    }

    [Fact]
    public void B24_ecdsa_rfc_response_signature_verifies_with_the_b13_public_key()
    {
        using var publicKey = Rfc9421TestData.EccP256Public();
        using var key = SignatureKey.Ecdsa("test-key-ecc-p256", publicKey);

        var result = HttpMessageVerifier.Verify(Rfc9421TestData.TestResponse(), B24Input, B24Signature, RfcVectorOptions,
            kid => kid == "test-key-ecc-p256" ? key : null);

        Assert.True(result.Success, result.Message);
        Assert.Equal(["@status", "content-type", "content-digest", "content-length"], result.CoveredComponents);
    }

    [Fact]
    public void B24_ecdsa_rfc_signature_fails_once_the_status_is_changed()
    {
        using var publicKey = Rfc9421TestData.EccP256Public();
        using var key = SignatureKey.Ecdsa("test-key-ecc-p256", publicKey);

        var result = HttpMessageVerifier.Verify(Rfc9421TestData.TestResponse() with { Status = 201 }, B24Input, B24Signature, RfcVectorOptions, _ => key);

        Assert.Equal(SignatureFailure.BadSignature, result.Failure);
    }

    [Fact]
    public void B13_key_signs_and_verifies_a_request_round_trip()
    {
        using var privateKey = Rfc9421TestData.EccP256Private();
        using var publicKey = Rfc9421TestData.EccP256Public();
        using var signer = SignatureKey.Ecdsa("test-key-ecc-p256", privateKey);
        using var verifier = SignatureKey.Ecdsa("test-key-ecc-p256", publicKey);
        var request = Rfc9421TestData.TestRequest(("A2A-Version", "1.0"));

        var headers = HttpMessageSigner.Sign(request, signer, new SignatureOptions { TimeProvider = ExampleTime, IncludeAlgorithm = true });
        var result = HttpMessageVerifier.Verify(request, headers.SignatureInput, headers.Signature, new VerifyOptions { TimeProvider = ExampleTime },
            kid => kid == "test-key-ecc-p256" ? verifier : null);

        Assert.True(result.Success, result.Message);
        Assert.Equal(64, Convert.FromBase64String(headers.Signature["sig1=:".Length..^1]).Length);
        Assert.Equal(["@method", "@authority", "@path", "@query", "content-type", "content-digest", "a2a-version"], result.CoveredComponents);
        Assert.Equal(SignatureAlgorithm.EcdsaP256Sha256, result.Algorithm);
        Assert.False(string.IsNullOrEmpty(result.Nonce));
    }

    [Fact]
    public void B13_public_key_cannot_sign()
    {
        using var publicKey = Rfc9421TestData.EccP256Public();
        using var key = SignatureKey.Ecdsa("test-key-ecc-p256", publicKey);

        var error = Assert.Throws<InvalidOperationException>(() => key.Sign("x"u8));

        Assert.Contains("test-key-ecc-p256", error.Message);
    }

    [Fact]
    public void B13_jwk_thumbprint_is_the_rfc7638_hash_of_the_public_key()
    {
        using var key = Rfc9421TestData.EccP256Public();
        var canonical = """{"crv":"P-256","kty":"EC","x":"qIVYZVLCrPZHGHjP17CTW0_-D9Lfw0EkjqF7xB4FivA","y":"Mc4nN9LTDOBhfoUeg8Ye9WedFRhnZXZJA12Qp0zZ6F0"}""";

        var thumbprint = SignatureKey.JwkThumbprint(key);

        Assert.Equal(System.Buffers.Text.Base64Url.EncodeToString(System.Security.Cryptography.SHA256.HashData(Encoding.ASCII.GetBytes(canonical))), thumbprint);
    }

    public static TheoryData<string, string, string> OtherRfcBases => new()
    {
        {
            "B.2.3 full coverage",
            """("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss" """,
            "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@method\": POST\n\"@path\": /foo\n\"@query\": ?param=Value&Pet=dog\n\"@authority\": example.com\n" +
            "\"content-type\": application/json\n\"content-digest\": " + Rfc9421TestData.RequestDigest + "\n\"content-length\": 18\n" +
            "\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@query\" \"@authority\" \"content-type\" \"content-digest\" \"content-length\");created=1618884473;keyid=\"test-key-rsa-pss\""
        },
        {
            "B.2.6 ed25519 coverage",
            """("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519" """,
            "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@method\": POST\n\"@path\": /foo\n\"@authority\": example.com\n" +
            "\"content-type\": application/json\n\"content-length\": 18\n" +
            "\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\""
        },
    };

    [Theory]
    [MemberData(nameof(OtherRfcBases))]
    public void Other_rfc_signature_bases_match(string example, string signatureParams, string expected)
    {
        var inner = (SfInnerList)StructuredFields.ParseList(signatureParams.TrimEnd())[0];

        Assert.True(expected == SignatureBase.Create(Rfc9421TestData.TestRequest(), inner), example);
    }

    public static TheoryData<string, string> DerivedComponents => new()
    {
        // RFC 9421 §2.2, for POST /path?param=value to www.example.com over https.
        { "@method", "POST" },
        { "@target-uri", "https://www.example.com/path?param=value" },
        { "@authority", "www.example.com" },
        { "@scheme", "https" },
        { "@request-target", "/path?param=value" },
        { "@path", "/path" },
        { "@query", "?param=value" },
    };

    [Theory]
    [MemberData(nameof(DerivedComponents))]
    public void Derived_component_values_match_rfc_section_2_2(string component, string value)
    {
        var request = SignatureRequest.FromUri("POST", new Uri("https://WWW.Example.com:443/path?param=value"), _ => null);
        var inner = new SfInnerList([new SfItem(SfBareItem.String(component))]);

        var signatureBase = SignatureBase.Create(request, inner);

        Assert.Equal($"\"{component}\": {value}\n\"@signature-params\": (\"{component}\")", signatureBase);
    }

    [Fact]
    public void Query_of_a_request_without_one_is_a_lone_question_mark()
    {
        var request = new SignatureRequest("GET", "example.com", "/path", null, _ => null);

        var signatureBase = SignatureBase.Create(request, new SfInnerList([new SfItem(SfBareItem.String("@query"))]));

        Assert.StartsWith("\"@query\": ?\n", signatureBase);
    }

    [Fact]
    public void Authority_keeps_a_non_default_port_and_drops_the_default_one()
    {
        var inner = new SfInnerList([new SfItem(SfBareItem.String("@authority"))]);

        Assert.StartsWith("\"@authority\": example.com:8443\n", SignatureBase.Create(new SignatureRequest("GET", "Example.COM:8443", "/", null, _ => null), inner));
        Assert.StartsWith("\"@authority\": example.com\n", SignatureBase.Create(new SignatureRequest("GET", "example.com:80", "/", null, _ => null) { Scheme = "http" }, inner));
    }

    [Fact]
    public void Request_component_with_req_in_a_response_reads_the_request()
    {
        var response = Rfc9421TestData.TestResponse() with { Request = Rfc9421TestData.TestRequest() };
        var inner = (SfInnerList)StructuredFields.ParseList("""("@status" "@method";req "content-digest";req);created=1""")[0];

        var signatureBase = SignatureBase.Create(response, inner);

        Assert.Equal("\"@status\": 200\n\"@method\";req: POST\n\"content-digest\";req: " + Rfc9421TestData.RequestDigest +
                     "\n\"@signature-params\": (\"@status\" \"@method\";req \"content-digest\";req);created=1", signatureBase);
    }

    [Theory]
    [InlineData("""("content-type";sf)""", "not supported")]
    [InlineData("""("example-dict";key="a")""", "not supported")]
    [InlineData("""("example-header";bs)""", "not supported")]
    [InlineData("""("@query-param";name="a")""", "not supported")]
    [InlineData("""("@signature-params")""", "cannot be a covered component")]
    [InlineData("""("@unknown")""", "not a known derived component")]
    [InlineData("""("@status")""", "responses only")]
    [InlineData("""("Content-Type")""", "not a lowercase field name")]
    [InlineData("""("date" "date")""", "covered twice")]
    [InlineData("""(date)""", "are Strings")]
    public void Unsupported_or_invalid_component_is_refused_with_a_clear_error(string signatureParams, string expected)
    {
        var inner = (SfInnerList)StructuredFields.ParseList(signatureParams)[0];

        var error = Assert.Throws<InvalidOperationException>(() => SignatureBase.Create(Rfc9421TestData.TestRequest(), inner));

        Assert.Contains(expected, error.Message);
    }

    private static SfInnerList InnerList(string signatureInput)
    {
        var dictionary = StructuredFields.ParseDictionary(signatureInput.TrimEnd(), "Signature-Input");
        return (SfInnerList)dictionary[0].Value;
    }
}

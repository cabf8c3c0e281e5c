using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AgentHub.Client.Signatures;

namespace AgentHub.Tests.Signatures;

/// <summary>Agent Card signatures (A2A v1.0 §8.4): the payload the SDKs sign, sign/verify, and what each kind of damage gives.</summary>
public sealed class AgentCardSignaturesTests
{
    internal const string Card = """
        {"name":"Echo","description":"Echoes what it is sent","version":"1.0.0",
         "supportedInterfaces":[{"url":"https://echo.example.com/a2a","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
         "provider":{"url":"https://example.com","organization":"Example"},
         "capabilities":{"streaming":true,"pushNotifications":false,
           "extensions":[{"uri":"urn:example:ext","required":true,"params":{"ratio":2.50,"limit":1E3,"empty":"","none":null}}]},
         "securitySchemes":{"bearer":{"httpAuthSecurityScheme":{"scheme":"Bearer"}}},
         "securityRequirements":[{"schemes":{"bearer":{"list":[]}}}],
         "defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
         "skills":[{"id":"echo","name":"Echo","description":"Repeats the message","tags":["demo","Ünïcode"],"examples":[]}],
         "x-vendor-extension":{"nested":[1,2.50,"\u00e9"]}}
        """;

    /// <summary>Made once with @a2a-js/sdk 1.3.0 (<c>generateAgentCardSignature</c>, a key from <c>jose.generateKeyPair('ES256')</c>).</summary>
    private const string SdkVector = """
        {"jwks":{"keys":[{"kty":"EC","x":"6vbL5RAj-4xjWA0X4aqwXTNwo1yXFGsXA9CDsnMV97s","y":"6Fbdc2gFL9bZIvPd-1eHwAOMGz9tJH56pRkdTVuyeVU","crv":"P-256","kid":"sdk-key-1"}]},
         "card":{"name":"Weather","description":"Forecasts","version":"2.1.0","supportedInterfaces":[{"url":"https://weather.example.com/a2a","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],"provider":{"url":"https://example.com","organization":"Example"},"capabilities":{"streaming":false,"extensions":[{"uri":"urn:x","required":false,"params":{"ratio":0.5,"big":1e+21,"tiny":1e-7,"empty":"","list":[]}}]},"securitySchemes":{"key":{"apiKeySecurityScheme":{"location":"header","name":"X-Key"}}},"securityRequirements":[{"schemes":{"key":{"list":[]}}}],"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain","application/json"],"skills":[{"id":"forecast","name":"Forecast","description":"Weather for a place","tags":["weather","Météo"],"examples":[""]}],"x-vendor":{"note":"not covered"},"signatures":[{"protected":"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpPU0UiLCJraWQiOiJzZGsta2V5LTEifQ","signature":"UeVPBfki5SI_D8Fj65lNumTPoBABsQZPEvfmVDRjiGHmhnlgV6Z-ZlT7heN--Jhc5BdPEqZYy2dGIkMmWoa8qQ"}]},
         "canonical":"{\"capabilities\":{\"extensions\":[{\"params\":{\"big\":1e+21,\"ratio\":0.5,\"tiny\":1e-7},\"uri\":\"urn:x\"}],\"streaming\":false},\"defaultInputModes\":[\"text/plain\"],\"defaultOutputModes\":[\"text/plain\",\"application/json\"],\"description\":\"Forecasts\",\"name\":\"Weather\",\"provider\":{\"organization\":\"Example\",\"url\":\"https://example.com\"},\"securitySchemes\":{\"key\":{\"apiKeySecurityScheme\":{\"location\":\"header\",\"name\":\"X-Key\"}}},\"skills\":[{\"description\":\"Weather for a place\",\"id\":\"forecast\",\"name\":\"Forecast\",\"tags\":[\"weather\",\"Météo\"]}],\"supportedInterfaces\":[{\"protocolBinding\":\"JSONRPC\",\"protocolVersion\":\"1.0\",\"url\":\"https://weather.example.com/a2a\"}],\"version\":\"2.1.0\"}"}
        """;

    private static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();

    private static string Payload(string json) => Encoding.UTF8.GetString(AgentCardPayload.Canonicalize(Parse(json)));

    private static (ECDsa Key, AgentCardKeys Keys) NewKey(string kid)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return (key, AgentCardKeys.FromPublicKey(kid, key));
    }

    [Fact]
    public void Payload_drops_defaults_empties_unknown_members_and_signatures()
    {
        const string expected = """
            {"capabilities":{"extensions":[{"params":{"limit":1000,"ratio":2.5},"required":true,"uri":"urn:example:ext"}],"pushNotifications":false,"streaming":true},
            "defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],"description":"Echoes what it is sent","name":"Echo",
            "provider":{"organization":"Example","url":"https://example.com"},"securitySchemes":{"bearer":{"httpAuthSecurityScheme":{"scheme":"Bearer"}}},
            "skills":[{"description":"Repeats the message","id":"echo","name":"Echo","tags":["demo","Ünïcode"]}],
            "supportedInterfaces":[{"protocolBinding":"JSONRPC","protocolVersion":"1.0","url":"https://echo.example.com/a2a"}],"version":"1.0.0"}
            """;
        Assert.Equal(expected.Replace("\n", "", StringComparison.Ordinal),
            Payload(Card));
    }

    [Fact]
    public void Payload_of_the_spec_example_is_what_the_sdks_sign()
    {
        // A2A §8.4.1's example keeps the empty required description and skills; both official SDKs drop every empty
        // value (clean_empty). Interoperating means signing what they sign: this is @a2a-js/sdk 1.3.0's output.
        const string example = """{"name":"Example Agent","description":"","capabilities":{"streaming":false,"pushNotifications":false,"extensions":[]},"skills":[]}""";

        Assert.Equal("""{"capabilities":{"pushNotifications":false,"streaming":false},"name":"Example Agent"}""", Payload(example));
    }

    [Fact]
    public void Payload_reads_snake_case_names_and_keeps_only_the_first_oneof_member()
    {
        var snake = Payload("""
            {"name":"A","default_input_modes":["text/plain"],"supported_interfaces":[{"url":"u","protocol_binding":"JSONRPC"}],
             "capabilities":{"push_notifications":true,"extended_agent_card":false},
             "security_schemes":{"s":{"api_key_security_scheme":{"name":"k"},"mtlsSecurityScheme":{"description":"dropped"}}}}
            """);

        const string expected = """
            {"capabilities":{"extendedAgentCard":false,"pushNotifications":true},"defaultInputModes":["text/plain"],"name":"A",
            "securitySchemes":{"s":{"apiKeySecurityScheme":{"name":"k"}}},"supportedInterfaces":[{"protocolBinding":"JSONRPC","url":"u"}]}
            """;
        Assert.Equal(expected.Replace("\n", "", StringComparison.Ordinal),
            snake);
    }

    [Theory]
    [InlineData("""{"name":5}""", "card.name must be a string")]
    [InlineData("""{"provider":"acme"}""", "card.provider must be an object")]
    [InlineData("""{"capabilities":{"streaming":"yes"}}""", "card.capabilities.streaming must be true or false")]
    [InlineData("""{"skills":[{"id":"a","tags":"x"}]}""", "card.skills[0].tags must be an array")]
    [InlineData("""{"skills":[null]}""", "card.skills[0] must be an object")]
    [InlineData("""{"securitySchemes":{"s":{"oauth2SecurityScheme":{"flows":{"implicit":{"scopes":{"read":1}}}}}}}""",
        "card.securitySchemes.s.oauth2SecurityScheme.flows.implicit.scopes.read must be a string")]
    [InlineData("""{"capabilities":{"extensions":[{"params":[1]}]}}""", "card.capabilities.extensions[0].params must be an object")]
    [InlineData("""{"capabilities":{"extensions":[{"params":{"n":1e400}}]}}""", "RFC 8785")]
    public void Payload_of_a_card_with_a_wrongly_typed_member_names_it(string card, string problem)
    {
        var e = Assert.Throws<JsonCanonicalizationException>(() => AgentCardPayload.Canonicalize(Parse(card)));

        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sign_then_verify_round_trips_with_an_es256_jose_header()
    {
        var (key, keys) = NewKey("k1");
        using var _ = key;
        var card = Parse(Card);

        var entry = AgentCardSignatures.Sign(card, key, "k1", jku: "https://hub.example.com/.well-known/jwks.json");
        var verdict = AgentCardSignatures.Verify(Parse(card.ToJsonString()), keys);

        Assert.Equal(AgentCardSignatureStatus.Verified, verdict.Status);
        var check = Assert.Single(verdict.Signatures);
        Assert.Equal((SignatureCheckResult.Verified, "k1", "ES256"), (check.Result, check.Kid, check.Algorithm));
        Assert.Same(entry, Assert.Single(card["signatures"]!.AsArray()));
        var header = Encoding.UTF8.GetString(Convert.FromBase64String(Pad(entry["protected"]!.GetValue<string>())));
        Assert.Equal("""{"alg":"ES256","typ":"JOSE","kid":"k1","jku":"https://hub.example.com/.well-known/jwks.json"}""", header);
        Assert.Equal(64, Convert.FromBase64String(Pad(entry["signature"]!.GetValue<string>())).Length);
    }

    [Fact]
    public void Members_outside_the_schema_and_empty_values_are_not_covered()
    {
        var (key, keys) = NewKey("k1");
        using var _ = key;
        var card = Parse(Card);
        AgentCardSignatures.Sign(card, key, "k1");

        card["x-vendor-extension"] = "changed";
        card["documentationUrl"] = "";
        card["skills"]![0]!["examples"] = new JsonArray("");

        Assert.Equal(AgentCardSignatureStatus.Verified, AgentCardSignatures.Verify(card, keys).Status);
    }

    [Theory]
    [InlineData("description", "\"Does something else\"")]
    [InlineData("version", "\"1.0.1\"")]
    [InlineData("capabilities", """{"streaming":false,"pushNotifications":false}""")]
    [InlineData("defaultInputModes", """["text/plain","image/png"]""")]
    [InlineData("supportedInterfaces", """[{"url":"https://evil.example.com/a2a","protocolBinding":"JSONRPC","protocolVersion":"1.0"}]""")]
    [InlineData("iconUrl", "\"https://example.com/icon.png\"")]
    public void Tampered_card_is_invalid_with_a_bad_signature(string member, string value)
    {
        var (key, keys) = NewKey("k1");
        using var _ = key;
        var card = Parse(Card);
        AgentCardSignatures.Sign(card, key, "k1");

        card[member] = JsonNode.Parse(value);
        var verdict = AgentCardSignatures.Verify(card, keys);

        Assert.Equal(AgentCardSignatureStatus.Invalid, verdict.Status);
        Assert.Equal(SignatureCheckResult.BadSignature, Assert.Single(verdict.Signatures).Result);
        Assert.Contains("does not verify with kid 'k1'", verdict.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Card_signed_by_the_js_sdk_verifies_and_its_payload_matches_the_sdks()
    {
        var vector = Parse(SdkVector);
        Assert.True(AgentCardKeys.TryParse(vector["jwks"], out var keys, out _));
        var card = vector["card"]!.AsObject();

        Assert.Equal(vector["canonical"]!.GetValue<string>(), Encoding.UTF8.GetString(AgentCardPayload.Canonicalize(card)));
        Assert.Equal(AgentCardSignatureStatus.Verified, AgentCardSignatures.Verify(card, keys).Status);

        card["skills"]![0]!["tags"]!.AsArray().Add("tampered");
        Assert.Equal(AgentCardSignatureStatus.Invalid, AgentCardSignatures.Verify(card, keys).Status);
    }

    [Fact]
    public void No_or_empty_signatures_is_unsigned()
    {
        var card = Parse(Card);
        Assert.Equal(AgentCardSignatureStatus.Unsigned, AgentCardSignatures.Verify(card, null).Status);

        card["signatures"] = new JsonArray();
        Assert.Equal(AgentCardSignatureStatus.Unsigned, AgentCardSignatures.Verify(card, null).Status);
    }

    [Fact]
    public void Signature_by_an_unknown_key_alone_is_invalid_beside_a_good_one_it_is_ignored()
    {
        var (trusted, keys) = NewKey("trusted");
        var (other, _) = NewKey("other");
        using var a = trusted;
        using var b = other;
        var card = Parse(Card);
        AgentCardSignatures.Sign(card, other, "other");

        var alone = AgentCardSignatures.Verify(card, keys);
        Assert.Equal(AgentCardSignatureStatus.Invalid, alone.Status);
        Assert.Equal(SignatureCheckResult.UnknownKey, Assert.Single(alone.Signatures).Result);
        Assert.StartsWith("No signature could be checked", alone.Detail, StringComparison.Ordinal);

        AgentCardSignatures.Sign(card, trusted, "trusted");
        var both = AgentCardSignatures.Verify(card, keys);
        Assert.Equal(AgentCardSignatureStatus.Verified, both.Status);
        Assert.Equal([SignatureCheckResult.UnknownKey, SignatureCheckResult.Verified], both.Signatures.Select(s => s.Result));
    }

    [Fact]
    public void A_bad_signature_by_a_trusted_key_spoils_a_good_one()
    {
        var (first, _) = NewKey("first");
        var (second, _) = NewKey("second");
        using var a = first;
        using var b = second;
        var card = Parse(Card);
        AgentCardSignatures.Sign(card, first, "first");
        card["version"] = "1.0.1"; // the first signature no longer covers the card
        AgentCardSignatures.Sign(card, second, "second");
        var keys = TwoKeys(("first", first), ("second", second));

        var verdict = AgentCardSignatures.Verify(card, keys);

        Assert.Equal(AgentCardSignatureStatus.Invalid, verdict.Status);
        Assert.Equal([SignatureCheckResult.BadSignature, SignatureCheckResult.Verified], verdict.Signatures.Select(s => s.Result));
    }

    [Theory]
    [InlineData("\"not an object\"", SignatureCheckResult.Malformed)]
    [InlineData("""{"protected":"***","signature":"c2ln"}""", SignatureCheckResult.Malformed)]
    [InlineData("""{"protected":"bm90IGpzb24","signature":"c2ln"}""", SignatureCheckResult.Malformed)] // "not json"
    [InlineData("""{"protected":"eyJhbGciOiJFUzI1NiJ9","signature":"c2ln"}""", SignatureCheckResult.Malformed)] // {"alg":"ES256"}: no kid, no typ
    [InlineData("""{"signature":"c2ln"}""", SignatureCheckResult.Malformed)]
    [InlineData("""{"protected":"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpPU0UiLCJraWQiOiJrMSJ9","signature":"c2ln"}""", SignatureCheckResult.Unsupported)] // RS256
    [InlineData("""{"protected":"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpPU0UiLCJraWQiOiJrMSJ9","signature":"c2ln"}""", SignatureCheckResult.BadSignature)] // ES256, 3 bytes
    [InlineData("""{"protected":"eyJhbGciOiJFUzI1NiIsInR5cCI6IkpPU0UiLCJraWQiOiJrMSJ9","signature":"c2ln","header":{"kid":"k2"}}""", SignatureCheckResult.Malformed)]
    public void Damaged_signature_entry_is_reported_as_such(string entry, SignatureCheckResult expected)
    {
        var (key, keys) = NewKey("k1");
        using var _ = key;
        var card = Parse(Card);
        card["signatures"] = new JsonArray(JsonNode.Parse(entry));

        var verdict = AgentCardSignatures.Verify(card, keys);

        Assert.Equal(expected, Assert.Single(verdict.Signatures).Result);
        Assert.Equal(AgentCardSignatureStatus.Invalid, verdict.Status);
    }

    [Fact]
    public void Signatures_that_are_not_an_array_are_invalid() =>
        Assert.Equal(AgentCardSignatureStatus.Invalid, AgentCardSignatures.Verify(Parse("""{"name":"A","signatures":{"protected":"x"}}"""), null).Status);

    [Fact]
    public void Signed_card_whose_payload_has_no_canonical_form_is_malformed()
    {
        var (key, keys) = NewKey("k1");
        using var _ = key;
        var card = Parse(Card);
        AgentCardSignatures.Sign(card, key, "k1");
        card["name"] = 5;

        var verdict = AgentCardSignatures.Verify(card, keys);

        Assert.Equal(SignatureCheckResult.Malformed, Assert.Single(verdict.Signatures).Result);
        Assert.Contains("card.name must be a string", verdict.Detail, StringComparison.Ordinal);
    }

    private static AgentCardKeys TwoKeys(params (string Kid, ECDsa Key)[] keys)
    {
        var jwks = new JsonObject
        {
            ["keys"] = new JsonArray([.. keys.Select(k =>
            {
                var p = k.Key.ExportParameters(false);
                return (JsonNode)new JsonObject { ["kty"] = "EC", ["crv"] = "P-256", ["x"] = B64(p.Q.X!), ["y"] = B64(p.Q.Y!), ["kid"] = k.Kid };
            })]),
        };
        Assert.True(AgentCardKeys.TryParse(jwks, out var set, out var errors), string.Join("; ", errors));
        return set;
    }

    internal static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Pad(string b64url)
    {
        var s = b64url.Replace('-', '+').Replace('_', '/');
        return s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
    }
}

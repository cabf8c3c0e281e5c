using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentHub.Client.Signatures;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Agents;

/// <summary>
/// Card signatures over HTTP: what registration records for verified, unsigned and invalid cards, and the hub's own
/// signature on the card it serves (checked with the hub's published JWKS only).
/// </summary>
public sealed class CardSignaturesApiTests : IAsyncLifetime, IDisposable
{
    private const string Upstream = "http://127.0.0.1:9/a2a";
    private readonly ECDsa _agentKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ManualTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private HubTestHost _hub = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        _hub = await HubTestHost.StartAsync(settings: new Dictionary<string, string?> { ["Agents:AllowedHosts:0"] = "127.0.0.1" }, time: _clock);
        _admin = _hub.Http(_hub.AdminKey);
    }

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    public void Dispose() => _agentKey.Dispose();

    private string Jwks(string kid = "agent-key-1")
    {
        var p = _agentKey.ExportParameters(false);
        return $$"""{"keys":[{"kty":"EC","crv":"P-256","x":"{{B64(p.Q.X!)}}","y":"{{B64(p.Q.Y!)}}","kid":"{{kid}}","use":"sig"}]}""";
    }

    private string SignedCard(string version = "1.0.0", Action<JsonObject>? afterSigning = null)
    {
        var card = JsonNode.Parse(Cards.Valid(Upstream, version: version))!.AsObject();
        AgentCardSignatures.Sign(card, _agentKey, "agent-key-1");
        afterSigning?.Invoke(card);
        return card.ToJsonString();
    }

    private static string Body(string id, string card, string? cardKeys = null, bool allowInvalid = false) =>
        $$"""{"id":"{{id}}","card":{{card}}{{(cardKeys is null ? "" : $",\"cardKeys\":{cardKeys}")}}{{(allowInvalid ? ",\"allowInvalidSignature\":true" : "")}}}""";

    private async Task<JsonElement> RegisterAsync(string body, HttpStatusCode expected = HttpStatusCode.Created)
    {
        var response = await _admin.PostJsonAsync("/api/v1/agents", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {text}");
        var json = JsonDocument.Parse(text).RootElement.Clone();
        if (json.TryGetProperty("key", out var key))
        {
            TestArtifacts.Secret(key.GetProperty("key").GetString()!);
        }

        return json;
    }

    private async Task<Dictionary<string, string>> LastAuditDetailsAsync(string agent) =>
        JsonDocument.Parse(await _admin.GetStringAsync($"/api/v1/audit?agent={agent}&limit=200")).RootElement.GetProperty("items")
            .EnumerateArray().Last(r => r.GetProperty("type").GetString()!.StartsWith("agent.", StringComparison.Ordinal))
            .GetProperty("details").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);

    [Fact]
    public async Task Register_signed_card_with_its_keys_is_verified_in_the_agent_its_versions_and_the_audit_record()
    {
        var json = await RegisterAsync(Body("signed", SignedCard(), Jwks()));

        var agent = json.GetProperty("agent");
        Assert.Equal("verified", agent.GetProperty("cardSignature").GetString());
        Assert.Contains("verified with kid 'agent-key-1'", agent.GetProperty("cardSignatureDetail").GetString(), StringComparison.Ordinal);
        var version = Assert.Single(JsonDocument.Parse(await _admin.GetStringAsync("/api/v1/agents/signed/versions")).RootElement.EnumerateArray());
        Assert.Equal("verified", version.GetProperty("cardSignature").GetString());
        var details = await LastAuditDetailsAsync("signed");
        Assert.Equal(("verified", "agent-key-1"), (details["card_signature"], details["card_key_ids"]));
        Assert.Equal("verified", (await _hub.AdminClient().GetAgentAsync("signed")).CardSignature);
    }

    [Fact]
    public async Task Register_unsigned_card_without_keys_is_unsigned()
    {
        var json = await RegisterAsync(Body("plain", Cards.Valid(Upstream)));

        Assert.Equal("unsigned", json.GetProperty("agent").GetProperty("cardSignature").GetString());
        Assert.False(json.GetProperty("agent").TryGetProperty("cardSignatureDetail", out _));
        Assert.Equal("unsigned", (await LastAuditDetailsAsync("plain"))["card_signature"]);
    }

    [Fact]
    public async Task Register_signed_card_without_keys_is_refused_saying_keys_are_missing()
    {
        var response = await _admin.PostJsonAsync("/api/v1/agents", Body("nokeys", SignedCard()));

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("Invalid Agent Card signature", problem.Title);
        Assert.Contains("no cardKeys were given", problem.Errors!["card.signatures"][0], StringComparison.Ordinal);
        await HttpAssert.ProblemAsync(await _admin.GetAsync("/api/v1/agents/nokeys"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Register_tampered_card_is_refused_naming_the_bad_signature()
    {
        var tampered = SignedCard(afterSigning: c => c["description"] = "Now does something else");

        var problem = await HttpAssert.ProblemAsync(await _admin.PostJsonAsync("/api/v1/agents", Body("tampered", tampered, Jwks())), HttpStatusCode.BadRequest);

        Assert.Contains("does not verify with kid 'agent-key-1'", problem.Errors!["card.signatures"][0], StringComparison.Ordinal);
        Assert.Contains("allowInvalidSignature", problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_unsigned_card_with_keys_is_invalid_as_its_signature_is_missing()
    {
        var problem = await HttpAssert.ProblemAsync(
            await _admin.PostJsonAsync("/api/v1/agents", Body("stripped", Cards.Valid(Upstream), Jwks())), HttpStatusCode.BadRequest);

        Assert.Contains("carries no signatures", problem.Errors!["card.signatures"][0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_invalid_card_with_allow_invalid_signature_is_recorded_invalid()
    {
        var tampered = SignedCard(afterSigning: c => c["version"] = "6.6.6");

        var json = await RegisterAsync(Body("allowed", tampered, Jwks(), allowInvalid: true));

        var agent = json.GetProperty("agent");
        Assert.Equal("invalid", agent.GetProperty("cardSignature").GetString());
        Assert.Contains("does not verify", agent.GetProperty("cardSignatureDetail").GetString(), StringComparison.Ordinal);
        var details = await LastAuditDetailsAsync("allowed");
        Assert.Equal("invalid", details["card_signature"]);
        Assert.Contains("does not verify", details["card_signature_detail"], StringComparison.Ordinal);
        Assert.Equal(tampered, await _admin.GetStringAsync("/api/v1/agents/allowed/card"));
    }

    [Fact]
    public async Task Same_card_registered_again_with_its_keys_makes_a_new_version_with_the_new_verdict()
    {
        var card = SignedCard();
        await RegisterAsync(Body("rekeyed", card, allowInvalid: true));

        var again = await RegisterAsync(Body("rekeyed", card, Jwks()), HttpStatusCode.OK);
        var same = await RegisterAsync(Body("rekeyed", card, Jwks()), HttpStatusCode.OK);

        Assert.True(again.GetProperty("versionCreated").GetBoolean());
        Assert.False(same.GetProperty("versionCreated").GetBoolean());
        var versions = JsonDocument.Parse(await _admin.GetStringAsync("/api/v1/agents/rekeyed/versions")).RootElement.EnumerateArray()
            .Select(v => (v.GetProperty("version").GetInt64(), v.GetProperty("cardSignature").GetString())).ToList();
        Assert.Equal([(1L, "invalid"), (2L, "verified")], versions);
        Assert.Equal("agent.update", JsonDocument.Parse(await _admin.GetStringAsync("/api/v1/audit?agent=rekeyed&limit=200")).RootElement
            .GetProperty("items").EnumerateArray().Last().GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("[]", "cardKeys")]
    [InlineData("""{"keys":[]}""", "cardKeys.keys")]
    [InlineData("""{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}""", "cardKeys.keys[0].kty")]
    [InlineData("""{"keys":[{"kty":"EC","crv":"P-384","x":"AAAA","y":"AAAA"}]}""", "cardKeys.keys[0].crv")]
    [InlineData("""{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]}""", "cardKeys.keys[0].x")]
    public async Task Bad_card_keys_are_refused_naming_the_field(string cardKeys, string field)
    {
        var problem = await HttpAssert.ProblemAsync(
            await _admin.PostJsonAsync("/api/v1/agents", Body("badkeys", Cards.Valid(Upstream), cardKeys)), HttpStatusCode.BadRequest);

        Assert.Contains(field, problem.Errors!.Keys);
    }

    [Fact]
    public async Task Private_key_in_card_keys_is_refused_and_not_echoed()
    {
        var p = _agentKey.ExportParameters(true);
        var d = B64(p.D!);
        TestArtifacts.Secret(d);
        var jwks = $$"""{"keys":[{"kty":"EC","crv":"P-256","x":"{{B64(p.Q.X!)}}","y":"{{B64(p.Q.Y!)}}","d":"{{d}}"}]}""";

        var response = await _admin.PostJsonAsync("/api/v1/agents", Body("private", SignedCard(), jwks));
        var body = await response.Content.ReadAsStringAsync();

        var problem = JsonSerializer.Deserialize<AgentHub.Client.Problem>(body, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("private key member", problem.Errors!["cardKeys.keys[0].d"][0], StringComparison.Ordinal);
        Assert.DoesNotContain(d, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Served_card_carries_only_the_hub_signature_which_verifies_with_the_hub_jwks()
    {
        var original = SignedCard();
        await RegisterAsync(Body("served", original, Jwks()));

        var served = JsonNode.Parse(await _admin.GetStringAsync("/a2a/served/.well-known/agent-card.json"))!.AsObject();
        var jwks = JsonNode.Parse(await _hub.Http().GetStringAsync("/.well-known/jwks.json"));

        Assert.True(AgentCardKeys.TryParse(jwks, out var hubKeys, out var errors), string.Join("; ", errors));
        var verdict = AgentCardSignatures.Verify(served, hubKeys);
        Assert.Equal(AgentCardSignatureStatus.Verified, verdict.Status);
        var check = Assert.Single(verdict.Signatures); // the agent's own signature is gone: it cannot cover the rewritten card
        var header = JsonNode.Parse(Convert.FromBase64String(Pad(served["signatures"]![0]!["protected"]!.GetValue<string>())))!;
        Assert.Equal(("ES256", "JOSE", "http://localhost/.well-known/jwks.json"),
            (header["alg"]!.GetValue<string>(), header["typ"]!.GetValue<string>(), header["jku"]!.GetValue<string>()));
        var hubKey = jwks!["keys"]!.AsArray().Single(k => k!["kid"]!.GetValue<string>() == check.Kid)!;
        Assert.Equal(check.Kid, AgentCardKeys.Thumbprint(hubKey["x"]!.GetValue<string>(), hubKey["y"]!.GetValue<string>()));
        Assert.Equal("http://localhost/a2a/served", served["supportedInterfaces"]![0]!["url"]!.GetValue<string>());
        Assert.Equal(original, await _admin.GetStringAsync("/api/v1/agents/served/card")); // the original, its signature included

        served["description"] = "tampered";
        Assert.Equal(AgentCardSignatureStatus.Invalid, AgentCardSignatures.Verify(served, hubKeys).Status);
    }

    [Fact]
    public async Task Served_card_is_byte_for_byte_stable_and_is_signed_anew_after_key_rotation()
    {
        await RegisterAsync(Body("stable", Cards.Valid(Upstream)));
        async Task<(byte[] Bytes, EntityTagHeaderValue ETag)> FetchAsync()
        {
            var response = await _admin.GetAsync("/a2a/stable/.well-known/agent-card.json");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadAsByteArrayAsync(), response.Headers.ETag!);
        }

        var first = await FetchAsync();
        var second = await FetchAsync();
        Assert.Equal(first.Bytes, second.Bytes); // ECDSA is randomized: equal bytes mean the signed card was kept
        Assert.Equal(first.ETag, second.ETag);
        var kidBefore = Kid(first.Bytes);

        var rotated = await _hub.AdminClient().RotateSigningKeyAsync();
        _clock.Advance(TimeSpan.FromSeconds(31)); // the active key is re-read at most every 30 s
        var third = await FetchAsync();

        Assert.NotEqual(first.ETag, third.ETag);
        Assert.Equal(rotated.Kid, Kid(third.Bytes));
        Assert.NotEqual(kidBefore, rotated.Kid);
        Assert.True(AgentCardKeys.TryParse(JsonNode.Parse(await _hub.Http().GetStringAsync("/.well-known/jwks.json")), out var hubKeys, out _));
        Assert.Equal(AgentCardSignatureStatus.Verified, AgentCardSignatures.Verify(JsonNode.Parse(third.Bytes)!.AsObject(), hubKeys).Status);
        Assert.Equal(AgentCardSignatureStatus.Verified, AgentCardSignatures.Verify(JsonNode.Parse(first.Bytes)!.AsObject(), hubKeys).Status); // retired key still published
    }

    [Fact]
    public async Task Served_card_of_a_new_version_is_signed_anew()
    {
        await RegisterAsync(Body("versions", Cards.Valid(Upstream)));
        var first = await _admin.GetStringAsync("/a2a/versions/.well-known/agent-card.json");

        await RegisterAsync(Body("versions", Cards.Valid(Upstream, version: "2.0.0")), HttpStatusCode.OK);
        var second = JsonNode.Parse(await _admin.GetStringAsync("/a2a/versions/.well-known/agent-card.json"))!;

        Assert.Equal("1.0.0", JsonNode.Parse(first)!["version"]!.GetValue<string>());
        Assert.Equal("2.0.0", second["version"]!.GetValue<string>());
    }

    private static string Kid(byte[] servedCard)
    {
        var entry = JsonNode.Parse(servedCard)!["signatures"]!.AsArray().Single()!;
        return JsonNode.Parse(Convert.FromBase64String(Pad(entry["protected"]!.GetValue<string>())))!["kid"]!.GetValue<string>();
    }

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Pad(string b64url)
    {
        var s = b64url.Replace('-', '+').Replace('_', '/');
        return s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
    }
}

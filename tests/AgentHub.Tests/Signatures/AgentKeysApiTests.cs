using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentHub.Client;
using AgentHub.Tests.Infrastructure;
using AgentHub.Tests.Relay;

namespace AgentHub.Tests.Signatures;

/// <summary><c>/api/v1/agents/{id}/keys</c> and the key fields of registration, on SQLite and PostgreSQL.</summary>
public sealed class AgentKeysApiTests
{
    internal static JsonElement PublicJwk(ECDsa key, string? kid = null)
    {
        var p = key.ExportParameters(false);
        var kidMember = kid is null ? "" : $",\"kid\":\"{kid}\"";
        return JsonDocument.Parse($"{{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"{Base64Url.EncodeToString(p.Q.X)}\",\"y\":\"{Base64Url.EncodeToString(p.Q.Y)}\"{kidMember}}}").RootElement.Clone();
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Put_keys_stores_a_public_jwk_under_its_thumbprint_and_requires_signatures_by_default(Db db)
    {
        await using var setup = await RelayTests.Setup.StartAsync(db);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var set = await setup.Hub.AdminClient().SetAgentKeysAsync("echo", new SetAgentKeysRequest([PublicJwk(key)]));

        var p = key.ExportParameters(false);
        var thumbprint = Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(
            $"{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{Base64Url.EncodeToString(p.Q.X)}\",\"y\":\"{Base64Url.EncodeToString(p.Q.Y)}\"}}")));
        Assert.True(set.RequireSignature);
        var stored = Assert.Single(set.Keys);
        Assert.Equal(thumbprint, stored.Kid);
        Assert.Equal("ecdsa-p256-sha256", stored.Algorithm);
        Assert.Null(set.HmacSecret);
        var read = await setup.Hub.AdminClient().GetAgentKeysAsync("echo");
        Assert.Equal(thumbprint, Assert.Single(read.Keys).Kid);
        Assert.True(read.RequireSignature);
        var audit = await setup.Admin.GetStringAsync("/api/v1/audit?type=agent.keys&agent=echo");
        Assert.Contains(thumbprint, audit, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Hmac_secret_is_shown_once_and_never_again(Db db)
    {
        await using var setup = await RelayTests.Setup.StartAsync(db);

        var set = await setup.Hub.AdminClient().SetAgentKeysAsync("echo", new SetAgentKeysRequest(HmacSecret: true));

        TestArtifacts.Secret(set.HmacSecret!);
        Assert.Equal(32, Base64Url.DecodeFromChars(set.HmacSecret).Length);
        Assert.StartsWith("echo.hmac.", set.HmacKeyId, StringComparison.Ordinal);
        Assert.Equal("hmac-sha256", Assert.Single(set.Keys).Algorithm);
        var again = await setup.Admin.GetStringAsync("/api/v1/agents/echo/keys");
        Assert.DoesNotContain(set.HmacSecret!, again, StringComparison.Ordinal);
        Assert.DoesNotContain("hmacSecret", again, StringComparison.Ordinal);
        var audit = await setup.Admin.GetStringAsync("/api/v1/audit?type=agent.keys&agent=echo");
        Assert.DoesNotContain(set.HmacSecret!, audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_new_hmac_secret_replaces_the_old_one_and_false_removes_it()
    {
        await using var setup = await RelayTests.Setup.StartAsync(Db.Sqlite);
        var admin = setup.Hub.AdminClient();
        var first = await admin.SetAgentKeysAsync("echo", new SetAgentKeysRequest(HmacSecret: true));
        var second = await admin.SetAgentKeysAsync("echo", new SetAgentKeysRequest(HmacSecret: true));
        TestArtifacts.Secret(first.HmacSecret!);
        TestArtifacts.Secret(second.HmacSecret!);

        Assert.NotEqual(first.HmacKeyId, second.HmacKeyId);
        Assert.Equal(second.HmacKeyId, Assert.Single(second.Keys).Kid);

        var removed = await admin.SetAgentKeysAsync("echo", new SetAgentKeysRequest(HmacSecret: false));
        Assert.Empty(removed.Keys);
        Assert.False(removed.RequireSignature);
    }

    [Theory]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}""", "x and y of 32 bytes")]
    [InlineData("""{"kty":"RSA","n":"AQAB","e":"AQAB"}""", "EC key on P-256")]
    [InlineData("""{"kty":"EC","crv":"P-384","x":"AAAA","y":"AAAA"}""", "EC key on P-256")]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"Zm9v","y":"YmFy","d":"c2VjcmV0"}""", "private key ('d')")]
    [InlineData("""{"kty":"EC","crv":"P-256","x":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA","y":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA"}""", "not a point on P-256")]
    [InlineData("\"a string\"", "must be a JWK object")]
    public async Task Bad_jwk_is_refused_with_400_naming_the_key_and_the_problem(string jwk, string expected)
    {
        await using var setup = await RelayTests.Setup.StartAsync(Db.Sqlite);

        using var response = await setup.Admin.PutAsync("/api/v1/agents/echo/keys",
            new StringContent($"{{\"keys\":[{jwk}]}}", Encoding.UTF8, "application/json"));

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest);
        var message = Assert.Single(problem.Errors!["keys"]);
        Assert.StartsWith("keys[0] ", message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.Empty((await setup.Hub.AdminClient().GetAgentKeysAsync("echo")).Keys);
    }

    [Fact]
    public async Task Require_signature_without_any_key_is_refused_and_nothing_changes()
    {
        await using var setup = await RelayTests.Setup.StartAsync(Db.Sqlite);

        using var response = await setup.Admin.PutAsync("/api/v1/agents/echo/keys",
            new StringContent("""{"requireSignature":true}""", Encoding.UTF8, "application/json"));

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("no key to sign with", problem.Detail, StringComparison.Ordinal);
        Assert.False((await setup.Hub.AdminClient().GetAgentKeysAsync("echo")).RequireSignature);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task A_key_id_held_by_another_agent_is_refused_with_409_and_a_registration_carrying_it_leaves_nothing(Db db)
    {
        await using var setup = await RelayTests.Setup.StartAsync(db);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await setup.Hub.AdminClient().SetAgentKeysAsync("echo", new SetAgentKeysRequest([PublicJwk(key, "shared-kid")]));

        var card = JsonDocument.Parse($$"""
            {"name":"Two","description":"d","version":"1.0.0",
             "supportedInterfaces":[{"url":"{{setup.Upstream.Url}}","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
             "capabilities":{},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],"skills":[]}
            """).RootElement;
        var error = await Assert.ThrowsAsync<AgentHubException>(() => setup.Hub.AdminClient().RegisterAgentAsync(
            new RegisterAgentRequest("two", Card: card, Keys: [PublicJwk(other, "shared-kid")])));

        Assert.Equal(HttpStatusCode.Conflict, error.StatusCode);
        Assert.Contains("'shared-kid' is already registered to another agent", error.Message, StringComparison.Ordinal);
        using var missing = await setup.Admin.GetAsync("/api/v1/agents/two");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Registration_with_keys_stores_them_and_says_so()
    {
        await using var setup = await RelayTests.Setup.StartAsync(Db.Sqlite);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var card = JsonDocument.Parse(await setup.Admin.GetStringAsync("/api/v1/agents/echo/card")).RootElement;

        var registered = await setup.Hub.AdminClient().RegisterAgentAsync(
            new RegisterAgentRequest("echo", Card: card, Keys: [PublicJwk(key, "k1")], HmacSecret: true));

        TestArtifacts.Secret(registered.SignatureKeys!.HmacSecret!);
        Assert.Equal(new[] { "k1", registered.SignatureKeys.HmacKeyId! }.Order(StringComparer.Ordinal), registered.SignatureKeys.Keys.Select(k => k.Kid).Order(StringComparer.Ordinal));
        Assert.True(registered.SignatureKeys.RequireSignature);
        Assert.Contains("must be signed", registered.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_agent_cannot_change_its_own_keys_and_an_auditor_can_only_read_them()
    {
        await using var setup = await RelayTests.Setup.StartAsync(Db.Sqlite);
        var card = JsonDocument.Parse(await setup.Admin.GetStringAsync("/api/v1/agents/echo/card")).RootElement;
        var agentKey = (await setup.Hub.AdminClient().RegisterAgentAsync(new RegisterAgentRequest("self", Card: card))).Key!;
        TestArtifacts.Secret(agentKey.Key);
        var auditorKey = await setup.Hub.CreateKeyAsync(HubTestHost.UniqueUser("aud"), "auditor");
        var body = """{"hmacSecret":true}""";

        using var byAgent = await setup.Hub.Http(agentKey.Key).PutAsync("/api/v1/agents/self/keys", new StringContent(body, Encoding.UTF8, "application/json"));
        using var byAuditor = await setup.Hub.Http(auditorKey.Key).PutAsync("/api/v1/agents/echo/keys", new StringContent(body, Encoding.UTF8, "application/json"));
        using var read = await setup.Hub.Http(auditorKey.Key).GetAsync("/api/v1/agents/echo/keys");

        Assert.Equal(HttpStatusCode.Forbidden, byAgent.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byAuditor.StatusCode);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Empty((await setup.Hub.AdminClient().GetAgentKeysAsync("echo")).Keys);
        Assert.Empty((await setup.Hub.AdminClient().GetAgentKeysAsync("self")).Keys);
    }

    [Fact]
    public async Task Deleting_an_agent_deletes_its_keys_so_the_key_id_is_free_again()
    {
        await using var setup = await RelayTests.Setup.StartAsync(Db.Sqlite);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var admin = setup.Hub.AdminClient();
        await admin.SetAgentKeysAsync("echo", new SetAgentKeysRequest([PublicJwk(key, "reused")]));

        await admin.DeleteAgentAsync("echo");
        await setup.RegisterAsync("echo2", setup.Upstream.Url);
        var set = await admin.SetAgentKeysAsync("echo2", new SetAgentKeysRequest([PublicJwk(key, "reused")]));

        Assert.Equal("reused", Assert.Single(set.Keys).Kid);
        using var gone = await setup.Admin.GetAsync("/api/v1/agents/echo/keys");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }
}

using System.Net;
using System.Text;
using System.Text.Json;
using AgentHub.Client;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Relay;

/// <summary>
/// <c>AgentHub-Delegation</c>: agent A, handling a call from U, calls B through the hub passing on the token it got;
/// the hub records U → A → B in the token it mints for B (RFC 8693 <c>act</c>), in the audit log and in policy.
/// </summary>
public sealed class DelegationTests
{
    private const string Message = """{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"hi"}]}}""";

    private sealed class Network : IAsyncDisposable
    {
        public required RelayTests.Setup Setup { get; init; }

        public required Dictionary<string, string> AgentKeys { get; init; }

        public required (string Key, string Principal) User { get; init; }

        public static async Task<Network> StartAsync(Db db, int agents = 3, Dictionary<string, string?>? settings = null, TimeProvider? time = null)
        {
            var setup = await RelayTests.Setup.StartAsync(db, settings, time);
            var keys = new Dictionary<string, string>();
            foreach (var name in new[] { "a", "b", "c", "d" }.Take(agents))
            {
                keys[name] = await setup.RegisterAsync(name, setup.Upstream.Url);
                await setup.Hub.AdminClient().CreatePolicyAsync(new CreatePolicyRequest($"agent:{name}", "*", ["*"], "allow"));
            }

            return new Network { Setup = setup, AgentKeys = keys, User = await setup.CallerAsync("u", allow: true) };
        }

        /// <summary>Calls <paramref name="agent"/> as <paramref name="key"/>; returns the status, the answer and the token the agent received.</summary>
        public async Task<(HttpStatusCode Status, JsonElement Body, string? Token)> CallAsync(string key, string agent, string? delegation = null)
        {
            var before = Setup.Upstream.Requests.Count;
            using var response = await Setup.SendAsync(key, RelayTests.Rpc("SendMessage", Message), agent: agent,
                prepare: r =>
                {
                    if (delegation is not null)
                    {
                        r.Headers.TryAddWithoutValidation("AgentHub-Delegation", delegation);
                    }
                });
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
            var token = Setup.Upstream.Requests.Count > before ? Setup.Upstream.Requests.Last().Authorization.ToString()["Bearer ".Length..] : null;
            return (response.StatusCode, body, token);
        }

        public ValueTask DisposeAsync() => Setup.DisposeAsync();
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task A_delegated_call_names_the_original_caller_and_the_acting_agent_in_the_token_and_the_audit_record(Db db)
    {
        await using var net = await Network.StartAsync(db);
        var (_, _, tokenForA) = await net.CallAsync(net.User.Key, "a");

        var (status, _, tokenForB) = await net.CallAsync(net.AgentKeys["a"], "b", delegation: tokenForA);

        Assert.Equal(HttpStatusCode.OK, status);
        var claims = await net.Setup.VerifyJwtAsync(tokenForB!);
        Assert.Equal(net.User.Principal, claims.GetProperty("sub").GetString());
        Assert.Equal("b", claims.GetProperty("aud").GetString());
        Assert.Equal("agent:a", claims.GetProperty("act").GetProperty("sub").GetString());
        Assert.False(claims.GetProperty("act").TryGetProperty("act", out _));

        var (status2, _, tokenForC) = await net.CallAsync(net.AgentKeys["b"], "c", delegation: tokenForB);
        Assert.Equal(HttpStatusCode.OK, status2);
        var deeper = await net.Setup.VerifyJwtAsync(tokenForC!);
        Assert.Equal(net.User.Principal, deeper.GetProperty("sub").GetString());
        Assert.Equal("agent:b", deeper.GetProperty("act").GetProperty("sub").GetString());
        Assert.Equal("agent:a", deeper.GetProperty("act").GetProperty("act").GetProperty("sub").GetString());

        var audit = JsonDocument.Parse(await net.Setup.Admin.GetStringAsync("/api/v1/audit?type=relay.call&agent=c")).RootElement;
        var details = audit.GetProperty("items")[0].GetProperty("details");
        Assert.Equal($"{net.User.Principal} > agent:a > agent:b > agent:c", details.GetProperty("chain").GetString());
        Assert.Equal("2", details.GetProperty("delegation_depth").GetString());
    }

    [Fact]
    public async Task A_direct_call_records_a_chain_of_one_hop_and_no_act_claim()
    {
        await using var net = await Network.StartAsync(Db.Sqlite, agents: 1);

        var (_, _, token) = await net.CallAsync(net.User.Key, "a");

        Assert.False((await net.Setup.VerifyJwtAsync(token!)).TryGetProperty("act", out _));
        var audit = JsonDocument.Parse(await net.Setup.Admin.GetStringAsync("/api/v1/audit?type=relay.call&agent=a")).RootElement;
        Assert.Equal($"{net.User.Principal} > agent:a", audit.GetProperty("items")[0].GetProperty("details").GetProperty("chain").GetString());
    }

    [Fact]
    public async Task A_token_presented_by_an_agent_it_was_not_issued_to_is_refused()
    {
        await using var net = await Network.StartAsync(Db.Sqlite);
        var (_, _, tokenForA) = await net.CallAsync(net.User.Key, "a");
        var forwarded = net.Setup.Upstream.Requests.Count;

        var (status, body, _) = await net.CallAsync(net.AgentKeys["b"], "c", delegation: tokenForA);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("DELEGATION_INVALID", body.GetProperty("error").GetProperty("data")[0].GetProperty("reason").GetString());
        Assert.Contains("not issued to the caller agent:b", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(forwarded, net.Setup.Upstream.Requests.Count);
        Assert.Contains("DELEGATION", await net.Setup.Admin.GetStringAsync("/api/v1/audit?type=relay.denied&actor=agent:b"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tampered")]
    [InlineData("foreign-key")]
    [InlineData("garbage")]
    public async Task A_token_the_hub_did_not_sign_as_is_refused(string kind)
    {
        await using var net = await Network.StartAsync(Db.Sqlite);
        var (_, _, tokenForA) = await net.CallAsync(net.User.Key, "a");
        var parts = tokenForA!.Split('.');
        var forged = kind switch
        {
            // Same signature, payload claiming another subject.
            "tampered" => parts[0] + "." + Base64Url(Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(FromBase64Url(parts[1]))
                .Replace(net.User.Principal, "user:root", StringComparison.Ordinal))) + "." + parts[2],
            "foreign-key" => SignWithNewKey(parts[0], parts[1]),
            _ => "not.a.jwt",
        };

        var (status, body, _) = await net.CallAsync(net.AgentKeys["a"], "b", delegation: forged);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("DELEGATION_INVALID", body.GetProperty("error").GetProperty("data")[0].GetProperty("reason").GetString());
    }

    [Fact]
    public async Task An_expired_token_is_refused()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var net = await Network.StartAsync(Db.Sqlite, time: clock);
        var (_, _, tokenForA) = await net.CallAsync(net.User.Key, "a");

        clock.Advance(TimeSpan.FromSeconds(66));
        var (status, body, _) = await net.CallAsync(net.AgentKeys["a"], "b", delegation: tokenForA);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("has expired", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chain_that_comes_back_to_an_agent_already_in_it_is_refused_as_a_cycle()
    {
        await using var net = await Network.StartAsync(Db.Sqlite);
        var (_, _, tokenForA) = await net.CallAsync(net.User.Key, "a");
        var (_, _, tokenForB) = await net.CallAsync(net.AgentKeys["a"], "b", delegation: tokenForA);
        var forwarded = net.Setup.Upstream.Requests.Count;

        var (status, body, _) = await net.CallAsync(net.AgentKeys["b"], "a", delegation: tokenForB);

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("DELEGATION_CYCLE", body.GetProperty("error").GetProperty("data")[0].GetProperty("reason").GetString());
        Assert.Equal(forwarded, net.Setup.Upstream.Requests.Count);
        var denied = await net.Setup.Admin.GetStringAsync("/api/v1/audit?type=relay.denied&actor=agent:b");
        Assert.Contains($"{net.User.Principal} \\u003E agent:a \\u003E agent:b \\u003E agent:a", denied.Replace(">", "\\u003E", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_chain_longer_than_the_configured_depth_is_refused()
    {
        await using var net = await Network.StartAsync(Db.Sqlite, agents: 3, settings: new() { ["Policy:MaxDelegationDepth"] = "1" });
        var (_, _, tokenForA) = await net.CallAsync(net.User.Key, "a");
        var (okStatus, _, tokenForB) = await net.CallAsync(net.AgentKeys["a"], "b", delegation: tokenForA);

        var (status, body, _) = await net.CallAsync(net.AgentKeys["b"], "c", delegation: tokenForB);

        Assert.Equal(HttpStatusCode.OK, okStatus);
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("DELEGATION_TOO_DEEP", body.GetProperty("error").GetProperty("data")[0].GetProperty("reason").GetString());
        Assert.Contains("at most 1", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    private static string SignWithNewKey(string header, string payload)
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var signature = key.SignData(Encoding.ASCII.GetBytes(header + "." + payload), System.Security.Cryptography.HashAlgorithmName.SHA256,
            System.Security.Cryptography.DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return header + "." + payload + "." + Base64Url(signature);
    }

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private static byte[] FromBase64Url(string s) => System.Buffers.Text.Base64Url.DecodeFromChars(s);
}

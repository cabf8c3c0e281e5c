using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentHub.Client;
using AgentHub.Client.Signatures;
using AgentHub.Tests.Infrastructure;
using AgentHub.Tests.Relay;
using Microsoft.Extensions.DependencyInjection;

namespace AgentHub.Tests.Signatures;

/// <summary>
/// RFC 9421 on the relay: an agent that registered a key must sign every call; each check that can fail has its own
/// test and its own reason; the hub signs what it forwards.
/// </summary>
public sealed class RelaySignatureTests
{
    private const string Message = """{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"signed hello"}]}}""";

    /// <summary>A hub with the echo agent and a calling agent "caller" that holds an ECDSA key (and optionally an HMAC secret).</summary>
    private sealed class Signed : IAsyncDisposable
    {
        public required RelayTests.Setup Setup { get; init; }

        public required string CallerKey { get; init; }

        public required ECDsa Key { get; init; }

        public required string Kid { get; init; }

        public string? HmacKid { get; init; }

        public byte[]? HmacSecret { get; init; }

        public static async Task<Signed> StartAsync(Db db = Db.Sqlite, TimeProvider? time = null, bool hmac = false, Dictionary<string, string?>? settings = null)
        {
            var setup = await RelayTests.Setup.StartAsync(db, settings, time);
            var callerKey = await setup.RegisterAsync("caller", setup.Upstream.Url);
            await setup.Hub.AdminClient().CreatePolicyAsync(new CreatePolicyRequest("agent:caller", "*", ["*"], "allow"));
            var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var keys = await setup.Hub.AdminClient().SetAgentKeysAsync("caller",
                new SetAgentKeysRequest([AgentKeysApiTests.PublicJwk(key, "caller-key-1")], HmacSecret: hmac ? true : null));
            if (keys.HmacSecret is { } secret)
            {
                TestArtifacts.Secret(secret);
            }

            return new Signed
            {
                Setup = setup,
                CallerKey = callerKey,
                Key = key,
                Kid = "caller-key-1",
                HmacKid = keys.HmacKeyId,
                HmacSecret = keys.HmacSecret is null ? null : Base64Url.DecodeFromChars(keys.HmacSecret),
            };
        }

        public SignatureKey EcdsaKey() => SignatureKey.Ecdsa(Kid, Key);

        /// <summary>Sends SendMessage to echo as the caller, signed with <paramref name="key"/> unless null; <paramref name="tamper"/> runs after signing.</summary>
        public async Task<(HttpStatusCode Status, JsonElement Body)> CallAsync(SignatureKey? key, SignatureOptions? options = null,
            Action<HttpRequestMessage>? tamper = null, string agent = "echo")
        {
            using var response = await Setup.SendAsync(CallerKey, RelayTests.Rpc("SendMessage", Message), agent: agent, prepare: request =>
            {
                if (key is not null)
                {
                    request.RequestUri = new Uri(new Uri("http://localhost/"), request.RequestUri!);
                    Signature.Apply(request, key, options);
                }

                tamper?.Invoke(request);
            });
            return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
        }

        public ValueTask DisposeAsync()
        {
            Key.Dispose();
            return Setup.DisposeAsync();
        }
    }

    private static void AssertRefused((HttpStatusCode Status, JsonElement Body) answer, string reason, string? messagePart = null)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, answer.Status);
        var error = answer.Body.GetProperty("error");
        Assert.Equal("SIGNATURE_" + reason.ToUpperInvariant(), error.GetProperty("data")[0].GetProperty("reason").GetString());
        if (messagePart is not null)
        {
            Assert.Contains(messagePart, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task A_call_signed_with_the_agents_ecdsa_key_goes_through_and_is_recorded_with_its_key_id(Db db)
    {
        await using var net = await Signed.StartAsync(db);
        using var key = net.EcdsaKey();

        var (status, body) = await net.CallAsync(key);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("signed hello", body.GetProperty("result").GetProperty("task").GetProperty("artifacts")[0].GetProperty("parts")[0].GetProperty("text").GetString());
        var audit = JsonDocument.Parse(await net.Setup.Admin.GetStringAsync("/api/v1/audit?type=relay.call&actor=agent:caller")).RootElement;
        Assert.Equal("caller-key-1", audit.GetProperty("items")[0].GetProperty("details").GetProperty("signature_keyid").GetString());
    }

    [Fact]
    public async Task A_call_signed_with_the_hub_issued_hmac_secret_goes_through()
    {
        await using var net = await Signed.StartAsync(hmac: true);
        using var key = SignatureKey.Hmac(net.HmacKid!, net.HmacSecret!);

        var (status, body) = await net.CallAsync(key);

        Assert.True(status == HttpStatusCode.OK, body.ToString());
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task An_unsigned_call_from_an_agent_that_must_sign_is_refused_audited_and_counted(Db db)
    {
        await using var net = await Signed.StartAsync(db);

        var answer = await net.CallAsync(key: null);

        AssertRefused(answer, "missing", "must sign its calls");
        Assert.Empty(net.Setup.Upstream.Requests);
        var audit = await net.Setup.Admin.GetStringAsync("/api/v1/audit?type=signature.failure&actor=agent:caller");
        Assert.Contains("\"reason\":\"missing\"", audit, StringComparison.Ordinal);
        var metrics = await net.Setup.Admin.GetStringAsync("/metrics");
        Assert.Contains("agenthub_signature_failures_total{reason=\"missing\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_agent_whose_setting_says_no_signature_may_call_unsigned()
    {
        await using var net = await Signed.StartAsync();
        await net.Setup.Hub.AdminClient().SetAgentKeysAsync("caller", new SetAgentKeysRequest(RequireSignature: false));

        var (status, _) = await net.CallAsync(key: null);

        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Altered_body_is_refused_as_a_bad_digest()
    {
        await using var net = await Signed.StartAsync();
        using var key = net.EcdsaKey();

        var answer = await net.CallAsync(key, tamper: r =>
        {
            var digest = r.Content!.Headers.GetValues("Content-Digest").Single();
            r.Content = new StringContent(RelayTests.Rpc("SendMessage", Message.Replace("hello", "HELLO", StringComparison.Ordinal)), Encoding.UTF8, "application/json");
            r.Content.Headers.TryAddWithoutValidation("Content-Digest", digest);
        });

        AssertRefused(answer, "bad_digest");
        Assert.Empty(net.Setup.Upstream.Requests);
    }

    [Fact]
    public async Task Altered_path_is_refused_as_a_bad_signature()
    {
        await using var net = await Signed.StartAsync();
        await net.Setup.RegisterAsync("echo2", net.Setup.Upstream.Url);
        using var key = net.EcdsaKey();

        var answer = await net.CallAsync(key, tamper: r => r.RequestUri = new Uri("http://localhost/a2a/echo2"));

        AssertRefused(answer, "bad_signature");
    }

    [Fact]
    public async Task A_signature_that_does_not_cover_a2a_version_is_refused_naming_the_component()
    {
        await using var net = await Signed.StartAsync();
        using var key = net.EcdsaKey();

        var answer = await net.CallAsync(key, new SignatureOptions { Components = ["@method", "@authority", "@path", "content-type", "content-digest"] });

        AssertRefused(answer, "missing_component", "a2a-version");
    }

    [Fact]
    public async Task A_signature_without_a_nonce_is_refused_naming_the_parameter()
    {
        await using var net = await Signed.StartAsync();
        using var key = net.EcdsaKey();

        var answer = await net.CallAsync(key, new SignatureOptions { IncludeNonce = false });

        AssertRefused(answer, "missing_parameter", "nonce");
    }

    [Fact]
    public async Task A_signature_created_outside_the_clock_window_is_refused_as_stale()
    {
        var hubClock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var net = await Signed.StartAsync(time: hubClock);
        using var key = net.EcdsaKey();
        var signerClock = new ManualTimeProvider(hubClock.GetUtcNow() - TimeSpan.FromSeconds(61));

        var answer = await net.CallAsync(key, new SignatureOptions { TimeProvider = signerClock });

        AssertRefused(answer, "stale");
    }

    [Fact]
    public async Task A_signature_past_its_expires_is_refused_as_expired()
    {
        var hubClock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var net = await Signed.StartAsync(time: hubClock);
        using var key = net.EcdsaKey();
        var signerClock = new ManualTimeProvider(hubClock.GetUtcNow() - TimeSpan.FromSeconds(20));

        var answer = await net.CallAsync(key, new SignatureOptions { TimeProvider = signerClock, Lifetime = TimeSpan.FromSeconds(10) });

        AssertRefused(answer, "expired");
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task The_same_signed_request_sent_twice_is_accepted_once(Db db)
    {
        await using var net = await Signed.StartAsync(db);
        using var key = net.EcdsaKey();
        var options = new SignatureOptions { Nonce = "fixed-nonce-" + Guid.NewGuid().ToString("N") };
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        options = options with { TimeProvider = clock };

        var first = await net.CallAsync(key, options);
        var second = await net.CallAsync(key, options);

        Assert.Equal(HttpStatusCode.OK, first.Status);
        AssertRefused(second, "replayed", "already used");
        Assert.Single(net.Setup.Upstream.Requests);
    }

    [Fact]
    public async Task An_unknown_key_id_is_refused()
    {
        await using var net = await Signed.StartAsync();
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var key = SignatureKey.Ecdsa("nobody-knows-this-kid", stranger);

        AssertRefused(await net.CallAsync(key), "unknown_key");
    }

    [Fact]
    public async Task A_key_of_another_agent_is_refused_as_unknown_for_this_caller()
    {
        await using var net = await Signed.StartAsync();
        await net.Setup.RegisterAsync("other", net.Setup.Upstream.Url);
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await net.Setup.Hub.AdminClient().SetAgentKeysAsync("other", new SetAgentKeysRequest([AgentKeysApiTests.PublicJwk(otherKey, "other-key")]));
        using var key = SignatureKey.Ecdsa("other-key", otherKey);

        AssertRefused(await net.CallAsync(key), "unknown_key", "'caller'");
    }

    [Fact]
    public async Task A_signature_made_with_another_key_under_the_callers_key_id_is_refused_as_bad_signature()
    {
        await using var net = await Signed.StartAsync();
        using var impostor = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var key = SignatureKey.Ecdsa(net.Kid, impostor);

        AssertRefused(await net.CallAsync(key), "bad_signature");
    }

    [Fact]
    public async Task A_callers_public_key_is_imported_once_and_a_new_key_under_the_same_id_takes_over_at_once()
    {
        await using var net = await Signed.StartAsync();
        var inbound = net.Setup.Hub.Services.GetRequiredService<AgentHub.Signatures.InboundSignatures>();
        using var first = net.EcdsaKey();
        var before = inbound.PublicKeyImports;

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await net.CallAsync(first)).Status);
        }

        Assert.Equal(before + 1, inbound.PublicKeyImports);

        // The same key id now names another key: the one kept from the earlier calls must not verify anything.
        using var replacement = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await net.Setup.Hub.AdminClient().SetAgentKeysAsync("caller", new SetAgentKeysRequest([AgentKeysApiTests.PublicJwk(replacement, net.Kid)]));
        using var second = SignatureKey.Ecdsa(net.Kid, replacement);

        AssertRefused(await net.CallAsync(first), "bad_signature");
        Assert.Equal(HttpStatusCode.OK, (await net.CallAsync(second)).Status);
        Assert.Equal(HttpStatusCode.OK, (await net.CallAsync(second)).Status);
        Assert.Equal(before + 2, inbound.PublicKeyImports);

        // Removed: refused although an imported copy is still in memory.
        await net.Setup.Hub.AdminClient().SetAgentKeysAsync("caller", new SetAgentKeysRequest([AgentKeysApiTests.PublicJwk(net.Key, "caller-key-2")]));
        AssertRefused(await net.CallAsync(second), "unknown_key");
    }

    [Fact]
    public async Task An_hmac_signature_under_an_ecdsa_key_id_is_refused_as_the_wrong_algorithm()
    {
        await using var net = await Signed.StartAsync();
        using var key = SignatureKey.Hmac(net.Kid, RandomNumberGenerator.GetBytes(32));

        AssertRefused(await net.CallAsync(key, new SignatureOptions { IncludeAlgorithm = true }), "wrong_algorithm");
    }

    [Theory]
    [InlineData("sig1=(\"@method\"")]
    [InlineData("sig1=\"not an inner list\"")]
    [InlineData("sig1=(\"@method\");created=abc")]
    public async Task A_malformed_signature_input_is_refused_saying_what_is_wrong(string input)
    {
        await using var net = await Signed.StartAsync();
        using var key = net.EcdsaKey();

        var answer = await net.CallAsync(key, tamper: r =>
        {
            r.Headers.Remove("Signature-Input");
            r.Headers.TryAddWithoutValidation("Signature-Input", input);
        });

        AssertRefused(answer, "malformed", "Signature-Input");
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Fifty_parallel_sends_of_one_signed_request_are_accepted_exactly_once(Db db)
    {
        await using var net = await Signed.StartAsync(db);
        using var key = net.EcdsaKey();
        using var template = new HttpRequestMessage(HttpMethod.Post, "http://localhost/a2a/echo")
        {
            Content = new StringContent(RelayTests.Rpc("SendMessage", Message), Encoding.UTF8, "application/json"),
        };
        template.Headers.TryAddWithoutValidation("A2A-Version", "1.0");
        Signature.Apply(template, key);
        var body = await template.Content.ReadAsByteArrayAsync();

        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(async _ =>
        {
            using var copy = Copy(template, body);
            using var response = await net.Setup.Hub.Http(net.CallerKey).SendAsync(copy);
            return response.StatusCode;
        }));

        Assert.Equal(1, answers.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(49, answers.Count(s => s == HttpStatusCode.Unauthorized));
        Assert.Single(net.Setup.Upstream.Requests);
    }

    [Fact]
    public async Task Fifty_parallel_sends_of_one_signed_request_to_two_hubs_on_one_postgres_database_are_accepted_exactly_once()
    {
        var database = await Postgres.CreateDatabaseAsync();
        var shared = new Dictionary<string, string?> { ["Database"] = database, ["MasterKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) };
        await using var net = await Signed.StartAsync(Db.Sqlite, settings: shared);
        await using var second = await HubTestHost.StartAsync(Db.Sqlite, new Dictionary<string, string?>(shared) { ["Agents:AllowedHosts:0"] = "127.0.0.1" });
        using var key = net.EcdsaKey();
        using var template = new HttpRequestMessage(HttpMethod.Post, "http://localhost/a2a/echo")
        {
            Content = new StringContent(RelayTests.Rpc("SendMessage", Message), Encoding.UTF8, "application/json"),
        };
        template.Headers.TryAddWithoutValidation("A2A-Version", "1.0");
        Signature.Apply(template, key);
        var body = await template.Content.ReadAsByteArrayAsync();

        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            using var copy = Copy(template, body);
            var hub = i % 2 == 0 ? net.Setup.Hub : second;
            using var response = await hub.Http(net.CallerKey).SendAsync(copy);
            return response.StatusCode;
        }));

        Assert.Equal(1, answers.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(49, answers.Count(s => s == HttpStatusCode.Unauthorized));
    }

    [Fact]
    public async Task The_forwarded_request_carries_a_hub_signature_that_verifies_with_the_hub_jwks_alone()
    {
        await using var net = await Signed.StartAsync();
        using var key = net.EcdsaKey();
        await net.CallAsync(key);

        var received = Assert.Single(net.Setup.Upstream.Received);
        Assert.Equal("agent:caller", received.Headers["AgentHub-Caller"].ToString());
        var jwks = new HubJwks(net.Setup.Hub.Http(), new Uri("http://localhost/.well-known/jwks.json"));
        var verifier = new HubRequestVerifier(jwks, "echo");
        var q = received.Target.IndexOf('?', StringComparison.Ordinal);
        var request = new SignatureRequest(received.Method, received.Authority, q < 0 ? received.Target : received.Target[..q], q < 0 ? null : received.Target[q..],
            name => received.Headers.TryGetValue(name, out var v) ? v.ToString() : null)
        { Scheme = "http" };

        var verified = await verifier.VerifyAsync(request, received.Body);

        Assert.True(verified.Success, verified.ToString());
        Assert.Equal("agent:caller", verified.Caller);

        // One changed byte of the body and the digest no longer matches.
        var altered = received.Body.ToArray();
        altered[^2] ^= 1;
        Assert.False((await verifier.VerifyAsync(request, altered)).Success);
    }

    private static HttpRequestMessage Copy(HttpRequestMessage template, byte[] body)
    {
        var copy = new HttpRequestMessage(template.Method, template.RequestUri) { Content = new ByteArrayContent(body) };
        foreach (var (name, values) in template.Headers.NonValidated)
        {
            copy.Headers.TryAddWithoutValidation(name, values);
        }

        foreach (var (name, values) in template.Content!.Headers.NonValidated)
        {
            copy.Content.Headers.TryAddWithoutValidation(name, values);
        }

        return copy;
    }
}

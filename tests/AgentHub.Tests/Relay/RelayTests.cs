using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentHub.Client;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Relay;

/// <summary>Calls through <c>POST /a2a/{id}</c> to a real A2A agent on loopback, on SQLite and PostgreSQL.</summary>
public sealed class RelayTests
{
    private const string Agent = "echo";

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Allowed_SendMessage_reaches_the_agent_with_a_hub_jwt_and_without_the_callers_key(Db db)
    {
        await using var setup = await Setup.StartAsync(db);
        var alice = await setup.CallerAsync("alice", allow: true);

        var (status, body) = await setup.CallAsync(alice.Key, "SendMessage", """{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"hello"}]}}""");

        Assert.Equal(HttpStatusCode.OK, status);
        var task = body.RootElement.GetProperty("result").GetProperty("task");
        Assert.Equal("hello", task.GetProperty("artifacts")[0].GetProperty("parts")[0].GetProperty("text").GetString());
        Assert.Equal("7", body.RootElement.GetProperty("id").GetRawText());

        var forwarded = setup.Upstream.Requests.Last();
        Assert.Equal("1.0", forwarded["A2A-Version"].ToString());
        var all = string.Join('\n', forwarded.Select(h => $"{h.Key}: {h.Value}"));
        Assert.DoesNotContain(alice.Key, all, StringComparison.Ordinal);
        var jwt = forwarded.Authorization.ToString()["Bearer ".Length..];
        var claims = await setup.VerifyJwtAsync(jwt);
        Assert.Equal(alice.Principal, claims.GetProperty("sub").GetString());
        Assert.Equal(Agent, claims.GetProperty("aud").GetString());
        Assert.Equal("agenthub", claims.GetProperty("iss").GetString());
        Assert.True(claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64() <= 60);
        Assert.False(string.IsNullOrEmpty(claims.GetProperty("jti").GetString()));
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Call_without_an_allow_rule_is_refused_with_403_naming_what_is_missing_and_audited(Db db)
    {
        await using var setup = await Setup.StartAsync(db);
        var bob = await setup.CallerAsync("bob", allow: false);

        var (status, body) = await setup.CallAsync(bob.Key, "SendMessage", """{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"hi"}]}}""");

        Assert.Equal(HttpStatusCode.Forbidden, status);
        var error = body.RootElement.GetProperty("error");
        Assert.Equal(-32000, error.GetProperty("code").GetInt32());
        Assert.Equal($"no rule allows {bob.Principal} to call echo.SendMessage", error.GetProperty("message").GetString());
        Assert.Empty(setup.Upstream.Requests);
        var denied = await setup.Admin.GetStringAsync($"/api/v1/audit?type=relay.denied&actor={bob.Principal}");
        Assert.Contains("\"outcome\":\"denied\"", denied, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, -32009)]
    [InlineData("0.3", -32009)]
    [InlineData("2.0", -32009)]
    public async Task Missing_or_unsupported_A2A_version_gets_32009_with_the_supported_versions(string? version, int code)
    {
        await using var setup = await Setup.StartAsync(Db.Sqlite);
        var alice = await setup.CallerAsync("alice", allow: true);

        var (status, body) = await setup.CallAsync(alice.Key, "SendMessage", "{}", version: version, omitVersion: version is null);

        Assert.Equal(HttpStatusCode.OK, status);
        var error = body.RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetInt32());
        Assert.Equal("1.0", error.GetProperty("data")[0].GetProperty("metadata").GetProperty("supportedVersions").GetString());
        Assert.Empty(setup.Upstream.Requests);
    }

    [Theory]
    [InlineData("{not json", -32700)]
    [InlineData("""{"jsonrpc":"1.0","id":1,"method":"SendMessage"}""", -32600)]
    [InlineData("""{"jsonrpc":"2.0","method":"SendMessage"}""", -32600)]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"method":"SendMessage"}]""", -32600)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"message/send"}""", -32601)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":[1]}""", -32602)]
    public async Task Malformed_requests_get_the_json_rpc_error_for_what_is_wrong(string raw, int code)
    {
        await using var setup = await Setup.StartAsync(Db.Sqlite);
        var alice = await setup.CallerAsync("alice", allow: true);

        var (status, body) = await setup.PostAsync(alice.Key, raw);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(code, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Empty(setup.Upstream.Requests);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Streaming_events_arrive_in_order_as_server_sent_events(Db db)
    {
        await using var setup = await Setup.StartAsync(db);
        var alice = await setup.CallerAsync("alice", allow: true);

        using var response = await setup.SendAsync(alice.Key, Rpc("SendStreamingMessage", """{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"stream me"}]}}"""));

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement.GetProperty("result")).ToList();
        Assert.Equal(4, events.Count);
        Assert.True(events[0].TryGetProperty("task", out _));
        Assert.Equal("TASK_STATE_WORKING", events[1].GetProperty("statusUpdate").GetProperty("status").GetProperty("state").GetString());
        Assert.True(events[2].TryGetProperty("artifactUpdate", out _));
        Assert.Equal("TASK_STATE_COMPLETED", events[3].GetProperty("statusUpdate").GetProperty("status").GetProperty("state").GetString());
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Another_callers_task_does_not_exist_for_you_and_ListTasks_shows_only_your_own(Db db)
    {
        await using var setup = await Setup.StartAsync(db);
        var alice = await setup.CallerAsync("alice", allow: true);
        var mallory = await setup.CallerAsync("mallory", allow: true);
        var (_, sent) = await setup.CallAsync(alice.Key, "SendMessage", """{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"secret"}]}}""");
        var taskId = sent.RootElement.GetProperty("result").GetProperty("task").GetProperty("id").GetString()!;

        foreach (var method in new[] { "GetTask", "CancelTask", "SubscribeToTask" })
        {
            var (_, other) = await setup.CallAsync(mallory.Key, method, $$"""{"id":"{{taskId}}"}""");
            Assert.Equal(-32001, other.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        }

        var (_, unknown) = await setup.CallAsync(mallory.Key, "GetTask", """{"id":"t-never-seen"}""");
        Assert.Equal(-32001, unknown.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        var (_, mine) = await setup.CallAsync(alice.Key, "GetTask", $$"""{"id":"{{taskId}}"}""");
        Assert.Equal(taskId, mine.RootElement.GetProperty("result").GetProperty("id").GetString());

        var (_, theirList) = await setup.CallAsync(mallory.Key, "ListTasks", "{}");
        Assert.Equal(0, theirList.RootElement.GetProperty("result").GetProperty("tasks").GetArrayLength());
        var (_, myList) = await setup.CallAsync(alice.Key, "ListTasks", "{}");
        Assert.Contains(myList.RootElement.GetProperty("result").GetProperty("tasks").EnumerateArray(), t => t.GetProperty("id").GetString() == taskId);
        Assert.Equal(4, setup.Upstream.Requests.Count); // SendMessage, alice's GetTask and both ListTasks reached the agent; no refusal did
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Unreachable_and_garbling_agents_get_clear_errors(Db db)
    {
        await using var setup = await Setup.StartAsync(db);
        var alice = await setup.CallerAsync("alice", allow: true);

        var (garbledStatus, garbled) = await setup.CallAsync(alice.Key, "SendMessage", """{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"garble"}]}}""");
        Assert.Equal(HttpStatusCode.OK, garbledStatus);
        Assert.Equal(-32006, garbled.RootElement.GetProperty("error").GetProperty("code").GetInt32());

        using var closed = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        await setup.RegisterAsync("gone", new Uri($"http://127.0.0.1:{port}/a2a"));
        var (downStatus, down) = await setup.CallAsync(alice.Key, "SendMessage", """{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"hi"}]}}""", agent: "gone");
        Assert.Equal(HttpStatusCode.BadGateway, downStatus);
        Assert.Contains("could not be reached", down.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Push_webhook_aimed_at_the_metadata_address_is_refused(Db db)
    {
        await using var setup = await Setup.StartAsync(db);
        var alice = await setup.CallerAsync("alice", allow: true);
        var (_, sent) = await setup.CallAsync(alice.Key, "SendMessage", """{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"x"}]}}""");
        var taskId = sent.RootElement.GetProperty("result").GetProperty("task").GetProperty("id").GetString()!;
        var before = setup.Upstream.Requests.Count;

        var (_, refused) = await setup.CallAsync(alice.Key, "CreateTaskPushNotificationConfig",
            "{\"taskId\":\"" + taskId + "\",\"config\":{\"url\":\"http://169.254.169.254/latest/meta-data\"}}");

        Assert.Equal(-32602, refused.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("link-local", refused.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, setup.Upstream.Requests.Count);
    }

    [Theory]
    [InlineData("taskPushNotificationConfig", "http://169.254.169.254/latest/meta-data")]
    [InlineData("taskPushNotificationConfig", "http://[fd00::1]/hook")]
    [InlineData("pushNotificationConfig", "http://10.0.0.1/hook")]
    public async Task Push_webhook_in_a_message_configuration_is_refused_before_forwarding(string member, string url)
    {
        await using var setup = await Setup.StartAsync(Db.Sqlite);
        var alice = await setup.CallerAsync("alice", allow: true);
        var before = setup.Upstream.Requests.Count;

        var (_, refused) = await setup.CallAsync(alice.Key, "SendMessage",
            "{\"message\":{\"messageId\":\"m1\",\"role\":\"ROLE_USER\",\"parts\":[{\"text\":\"x\"}]},\"configuration\":{\"" + member + "\":{\"url\":\"" + url + "\"}}}");

        Assert.Equal(-32602, refused.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("the hub does not reach such addresses", refused.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, setup.Upstream.Requests.Count);
    }

    [Theory]
    [InlineData(10, false)]
    [InlineData(10, true)]
    [InlineData(200_000, false)]
    [InlineData(200_000, true)]
    public async Task A_body_small_or_large_with_or_without_a_length_reaches_the_agent_and_comes_back_unchanged(int textLength, bool chunked)
    {
        // Small bodies of known length are read into an array of exactly that size, larger or chunked ones as they arrive.
        await using var setup = await Setup.StartAsync(Db.Sqlite);
        var alice = await setup.CallerAsync("alice", allow: true);
        var text = string.Concat(Enumerable.Range(0, textLength).Select(i => (char)('a' + (i % 26))));
        var raw = Rpc("SendMessage", $$$"""{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"{{{text}}}"}]}}""");

        using var response = await setup.SendAsync(alice.Key, raw, prepare: request =>
        {
            if (chunked)
            {
                request.Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(raw)));
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                request.Headers.TransferEncodingChunked = true;
            }
        });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(text, body.RootElement.GetProperty("result").GetProperty("task").GetProperty("artifacts")[0].GetProperty("parts")[0].GetProperty("text").GetString());
        Assert.Equal(Encoding.UTF8.GetBytes(raw), setup.Upstream.Received.Last().Body);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Each_call_is_audited_with_a_body_hash_and_never_the_body(Db db)
    {
        await using var setup = await Setup.StartAsync(db);
        var alice = await setup.CallerAsync("alice", allow: true);

        await setup.CallAsync(alice.Key, "SendMessage", """{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"confidential-words"}]}}""");

        var records = await setup.Admin.GetStringAsync($"/api/v1/audit?actor={alice.Principal}&agent=echo");
        Assert.Contains("\"type\":\"relay.call\"", records, StringComparison.Ordinal);
        Assert.Contains("\"type\":\"relay.result\"", records, StringComparison.Ordinal);
        Assert.Contains("request_sha256", records, StringComparison.Ordinal);
        Assert.Contains("response_sha256", records, StringComparison.Ordinal);
        Assert.DoesNotContain("confidential-words", await setup.Admin.GetStringAsync("/api/v1/audit/export"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task The_callers_authentication_is_on_record_before_every_answer_with_the_call_or_alone(Db db)
    {
        await using var setup = await Setup.StartAsync(db);
        var alice = await setup.CallerAsync("alice", allow: true);

        await setup.CallAsync(alice.Key, "SendMessage", """{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"hi"}]}}""");
        var afterCall = await AliceRecordsAsync();
        var authentication = Assert.Single(afterCall, r => r.Type == "auth.success");
        Assert.Equal("/a2a/echo", authentication.Path);
        var call = Assert.Single(afterCall, r => r.Type == "relay.call");
        Assert.True(authentication.Seq < call.Seq, "the authentication is recorded before the call");

        // An answer that writes no record of its own (here -32009) still has the authentication on record.
        var (status, _) = await setup.CallAsync(alice.Key, "SendMessage", "{}", version: "0.3");
        Assert.Equal(HttpStatusCode.OK, status);
        var afterError = await AliceRecordsAsync();
        Assert.Equal(2, afterError.Count(r => r.Type == "auth.success"));
        Assert.Single(afterError, r => r.Type == "relay.call");

        async Task<List<(long Seq, string Type, string? Path)>> AliceRecordsAsync()
        {
            using var page = JsonDocument.Parse(await setup.Admin.GetStringAsync($"/api/v1/audit?actor={alice.Principal}&limit=100"));
            return page.RootElement.GetProperty("items").EnumerateArray()
                .Select(r => (r.GetProperty("seq").GetInt64(), r.GetProperty("type").GetString()!,
                    r.GetProperty("details").TryGetProperty("path", out var path) ? path.GetString() : null))
                .ToList();
        }
    }

    [Theory]
    [InlineData(Db.Sqlite)]
    [InlineData(Db.Postgres)]
    public async Task Deleting_an_agent_stops_its_traffic_at_once(Db db)
    {
        await using var setup = await Setup.StartAsync(db);
        var alice = await setup.CallerAsync("alice", allow: true);
        await setup.Hub.AdminClient().DeleteAgentAsync(Agent);

        var (status, body) = await setup.CallAsync(alice.Key, "SendMessage", """{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"hi"}]}}""");

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("No agent 'echo'", body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(setup.Upstream.Requests);
    }

    [Fact]
    public async Task No_credential_gets_401_with_www_authenticate()
    {
        await using var setup = await Setup.StartAsync(Db.Sqlite);

        using var response = await setup.SendAsync(null, Rpc("SendMessage", "{}"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.StartsWith("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calls_over_the_callers_concurrency_limit_get_429_and_the_slot_frees_when_a_call_ends()
    {
        await using var setup = await Setup.StartAsync(Db.Sqlite, new Dictionary<string, string?> { ["Relay:MaxConcurrentPerCaller"] = "1" });
        var alice = await setup.CallerAsync("alice", allow: true);
        var bob = await setup.CallerAsync("bob", allow: true);

        var held = setup.CallAsync(alice.Key, "SendMessage", """{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"hold"}]}}""");
        await setup.Upstream.Held.Task.WaitAsync(TimeSpan.FromSeconds(30));
        using var refused = await setup.SendAsync(alice.Key, Rpc("SendMessage", """{"message":{"messageId":"m2","role":"ROLE_USER","parts":[{"text":"x"}]}}"""));
        var (bobStatus, _) = await setup.CallAsync(bob.Key, "SendMessage", """{"message":{"messageId":"m3","role":"ROLE_USER","parts":[{"text":"x"}]}}""");
        setup.Upstream.Release.TrySetResult();
        var (heldStatus, _) = await held;
        var (afterStatus, _) = await setup.CallAsync(alice.Key, "SendMessage", """{"message":{"messageId":"m4","role":"ROLE_USER","parts":[{"text":"x"}]}}""");

        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.Equal("1", refused.Headers.RetryAfter?.ToString());
        Assert.Contains("Too many calls in flight for this caller", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, bobStatus);
        Assert.Equal(HttpStatusCode.OK, heldStatus);
        Assert.Equal(HttpStatusCode.OK, afterStatus);
    }

    [Fact]
    public async Task Oversized_request_body_is_refused_before_anything_is_forwarded()
    {
        await using var setup = await Setup.StartAsync(Db.Sqlite, new Dictionary<string, string?> { ["Relay:MaxRequestBytes"] = "2048" });
        var alice = await setup.CallerAsync("alice", allow: true);

        var (status, body) = await setup.CallAsync(alice.Key, "SendMessage", "{\"message\":{\"messageId\":\"m1\",\"role\":\"ROLE_USER\",\"parts\":[{\"text\":\"" + new string('x', 4096) + "\"}]}}");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal(-32600, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Empty(setup.Upstream.Requests);
    }

    [Fact]
    public async Task Huge_and_never_ending_answers_are_bounded()
    {
        await using var setup = await Setup.StartAsync(Db.Sqlite, new Dictionary<string, string?>
        {
            ["Relay:MaxResponseBytes"] = "4096",
            ["Relay:UpstreamTimeout"] = "00:00:01",
        });
        var alice = await setup.CallerAsync("alice", allow: true);

        var (hugeStatus, huge) = await setup.CallAsync(alice.Key, "SendMessage", """{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"huge"}]}}""");
        var (slowStatus, slow) = await setup.CallAsync(alice.Key, "SendMessage", """{"message":{"messageId":"m2","role":"ROLE_USER","parts":[{"text":"hold"}]}}""");

        Assert.Equal(HttpStatusCode.OK, hugeStatus);
        Assert.Equal(-32006, huge.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("exceeds 4096 bytes", huge.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.GatewayTimeout, slowStatus);
        Assert.Contains("did not answer within 1 s", slow.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        await setup.Upstream.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(30)); // and the upstream call was canceled
    }

    [Fact]
    public async Task A_caller_that_goes_away_cancels_the_upstream_call()
    {
        await using var setup = await Setup.StartAsync(Db.Sqlite);
        var alice = await setup.CallerAsync("alice", allow: true);
        using var cts = new CancellationTokenSource();

        var call = setup.Hub.Http(alice.Key).SendAsync(new HttpRequestMessage(HttpMethod.Post, "/a2a/echo")
        {
            Content = new StringContent(Rpc("SendStreamingMessage", """{"message":{"messageId":"m1","role":"ROLE_USER","parts":[{"text":"hold"}]}}"""), Encoding.UTF8, "application/json"),
            Headers = { { "A2A-Version", "1.0" } },
        }, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        await setup.Upstream.Held.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await cts.CancelAsync();

        // What the departed caller's client sees does not matter; what matters is that the agent's call was canceled.
        await setup.Upstream.Aborted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        try
        {
            (await call).Dispose();
        }
        catch (OperationCanceledException)
        {
            // The client side of a canceled call.
        }
    }

    internal static string Rpc(string method, string @params) => "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"" + method + "\",\"params\":" + @params + "}";

    internal sealed class Setup : IAsyncDisposable
    {
        private Setup(HubTestHost hub, EchoAgent upstream)
        {
            Hub = hub;
            Upstream = upstream;
            Admin = hub.Http(hub.AdminKey);
        }

        public HubTestHost Hub { get; }

        public EchoAgent Upstream { get; }

        public HttpClient Admin { get; }

        public static async Task<Setup> StartAsync(Db db, Dictionary<string, string?>? settings = null, TimeProvider? time = null)
        {
            var upstream = await EchoAgent.StartAsync();
            var all = new Dictionary<string, string?>(settings ?? []) { ["Agents:AllowedHosts:0"] = "127.0.0.1" };
            var hub = await HubTestHost.StartAsync(db, all, time);
            var setup = new Setup(hub, upstream);
            await setup.RegisterAsync(Agent, upstream.Url);
            return setup;
        }

        /// <summary>Registers an agent on the echo upstream; returns its API key.</summary>
        public async Task<string> RegisterAsync(string id, Uri upstream)
        {
            var card = JsonDocument.Parse($$"""
                {"name":"Echo","description":"Echoes","version":"1.0.0",
                 "supportedInterfaces":[{"url":"{{upstream}}","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
                 "capabilities":{"streaming":true},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
                 "skills":[{"id":"echo","name":"Echo","description":"Echoes text","tags":["demo"]}]}
                """).RootElement;
            var registered = await Hub.AdminClient().RegisterAgentAsync(new RegisterAgentRequest(id, Card: card));
            TestArtifacts.Secret(registered.Key!.Key);
            return registered.Key.Key;
        }

        public async Task<(string Key, string Principal)> CallerAsync(string name, bool allow)
        {
            var principal = HubTestHost.UniqueUser(name);
            var key = await Hub.CreateKeyAsync(principal, "operator");
            if (allow)
            {
                await Hub.AdminClient().CreatePolicyAsync(new CreatePolicyRequest(principal, "*", ["*"], "allow"));
            }

            return (key.Key, principal);
        }

        public Task<(HttpStatusCode, JsonDocument)> CallAsync(string key, string method, string @params, string? version = "1.0", bool omitVersion = false, string agent = Agent) =>
            PostAsync(key, Rpc(method, @params), version, omitVersion, agent);

        public async Task<(HttpStatusCode, JsonDocument)> PostAsync(string key, string raw, string? version = "1.0", bool omitVersion = false, string agent = Agent)
        {
            using var response = await SendAsync(key, raw, version, omitVersion, agent);
            return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()));
        }

        public Task<HttpResponseMessage> SendAsync(string? key, string raw, string? version = "1.0", bool omitVersion = false, string agent = Agent,
            Action<HttpRequestMessage>? prepare = null)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"/a2a/{agent}") { Content = new StringContent(raw, Encoding.UTF8, "application/json") };
            if (!omitVersion)
            {
                request.Headers.TryAddWithoutValidation("A2A-Version", version);
            }

            prepare?.Invoke(request);

            return Hub.Http(key).SendAsync(request);
        }

        /// <summary>Checks an ES256 JWT against the hub's published JWKS; returns its claims.</summary>
        public async Task<JsonElement> VerifyJwtAsync(string jwt)
        {
            var parts = jwt.Split('.');
            var header = JsonDocument.Parse(FromBase64Url(parts[0])).RootElement;
            Assert.Equal("ES256", header.GetProperty("alg").GetString());
            var jwks = JsonDocument.Parse(await Hub.Http().GetStringAsync("/.well-known/jwks.json")).RootElement.GetProperty("keys");
            var jwk = jwks.EnumerateArray().Single(k => k.GetProperty("kid").GetString() == header.GetProperty("kid").GetString());
            using var key = ECDsa.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = FromBase64Url(jwk.GetProperty("x").GetString()!), Y = FromBase64Url(jwk.GetProperty("y").GetString()!) },
            });
            Assert.True(key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), FromBase64Url(parts[2]),
                HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation), "the hub JWT does not verify with the JWKS");
            return JsonDocument.Parse(FromBase64Url(parts[1])).RootElement;
        }

        private static byte[] FromBase64Url(string s)
        {
            s = s.Replace('-', '+').Replace('_', '/');
            return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
        }

        public async ValueTask DisposeAsync()
        {
            Admin.Dispose();
            await Hub.DisposeAsync();
            await Upstream.DisposeAsync();
        }
    }
}

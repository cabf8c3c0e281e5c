using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentHub.Agents;
using AgentHub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AgentHub.Tests.Agents;

/// <summary>The registry over HTTP: the real hub (keys minted by it) and a real card server on loopback, allow-listed.</summary>
public sealed class AgentsApiTests : IAsyncLifetime
{
    private CardServer _agent = null!;
    private HubTestHost _hub = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        _agent = await CardServer.StartAsync();
        _hub = await HubTestHost.StartAsync(settings: new Dictionary<string, string?> { ["Agents:AllowedHosts:0"] = "127.0.0.1" });
        _admin = _hub.Http(_hub.AdminKey);
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        await _agent.DisposeAsync();
    }

    private string Upstream => $"http://127.0.0.1:{_agent.Port}/a2a";

    private static string Body(string id, string card, string? upstreamUrl = null) =>
        $$"""{"id":"{{id}}","card":{{card}}{{(upstreamUrl is null ? "" : $",\"upstreamUrl\":\"{upstreamUrl}\"")}}}""";

    private async Task<JsonElement> RegisterAsync(string id, string? card = null, HttpStatusCode expected = HttpStatusCode.Created)
    {
        var response = await _admin.PostJsonAsync("/api/v1/agents", Body(id, card ?? Cards.Valid(Upstream)));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {text}");
        var json = JsonDocument.Parse(text).RootElement.Clone();
        if (json.TryGetProperty("key", out var key))
        {
            TestArtifacts.Secret(key.GetProperty("key").GetString()!);
        }

        return json;
    }

    [Fact]
    public async Task Register_by_card_answers_201_with_record_hub_card_url_and_an_agent_key_that_authenticates()
    {
        var json = await RegisterAsync("echo");

        Assert.True(json.GetProperty("created").GetBoolean());
        Assert.True(json.GetProperty("keyIssued").GetBoolean());
        var agent = json.GetProperty("agent");
        Assert.Equal("echo", agent.GetProperty("id").GetString());
        Assert.Equal("Echo", agent.GetProperty("name").GetString());
        Assert.Equal(1, agent.GetProperty("version").GetInt64());
        Assert.Equal("1.0.0", agent.GetProperty("cardVersion").GetString());
        Assert.Equal(Upstream, agent.GetProperty("upstreamUrl").GetString());
        Assert.Equal("unknown", agent.GetProperty("health").GetString());
        Assert.Equal("http://localhost/a2a/echo/.well-known/agent-card.json", agent.GetProperty("hubCardUrl").GetString());
        var key = json.GetProperty("key");
        Assert.Equal("agent:echo", key.GetProperty("principal").GetString());
        Assert.Equal("agent", key.GetProperty("role").GetString());

        var me = JsonDocument.Parse(await _hub.Http(key.GetProperty("key").GetString()).GetStringAsync("/api/v1/me")).RootElement;
        Assert.Equal("agent:echo", me.GetProperty("principal").GetString());
        Assert.Equal("agent", me.GetProperty("role").GetString());
    }

    [Fact]
    public async Task Register_by_card_url_fetches_the_card_keeps_it_byte_for_byte_and_derives_the_upstream()
    {
        _agent.Card = Cards.Valid(Upstream, name: "Fetched");

        var response = await _admin.PostJsonAsync("/api/v1/agents", $$"""{"id":"fetched","cardUrl":"{{_agent.CardUrl}}"}""");
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        TestArtifacts.Secret(json.GetProperty("key").GetProperty("key").GetString()!);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(_agent.CardUrl, json.GetProperty("agent").GetProperty("cardUrl").GetString());
        Assert.Equal(Upstream, json.GetProperty("agent").GetProperty("upstreamUrl").GetString());
        var original = await _admin.GetByteArrayAsync("/api/v1/agents/fetched/card");
        Assert.Equal(Encoding.UTF8.GetBytes(_agent.Card), original);
    }

    [Fact]
    public async Task Inline_card_is_kept_as_sent_including_unknown_members()
    {
        var card = Cards.Valid(Upstream);
        await RegisterAsync("inline", card);

        var original = await _admin.GetStringAsync("/api/v1/agents/inline/card");

        Assert.Equal(card, original);
    }

    [Fact]
    public async Task Validation_names_every_missing_or_malformed_field_in_one_problem()
    {
        const string card = """
            {"name":"", "version": 3,
             "supportedInterfaces":[{"url":"ftp://x/","protocolBinding":"SOAP"},{"url":"/relative","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
             "capabilities":[], "defaultInputModes":"text/plain", "defaultOutputModes":[1],
             "skills":[{"id":"a","name":"A","description":"d","tags":[]},{"id":"a","name":"B","description":"d","tags":[]},{"name":"C","tags":"x"}]}
            """;

        var response = await _admin.PostJsonAsync("/api/v1/agents", Body("bad", card));

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(
            new[]
            {
                "card.capabilities", "card.defaultInputModes", "card.defaultOutputModes", "card.description", "card.name",
                "card.skills[1].id", "card.skills[2].description", "card.skills[2].id", "card.skills[2].tags",
                "card.supportedInterfaces[0].protocolBinding", "card.supportedInterfaces[0].protocolVersion", "card.supportedInterfaces[0].url",
                "card.supportedInterfaces[1].url", "card.version",
            },
            problem.Errors!.Keys.Order(StringComparer.Ordinal));
        Assert.Empty((await _hub.Services.GetRequiredService<IAgentStore>().ListAsync(new AgentFilter(null, null, null), null, 10, default)).Items);
    }

    [Theory]
    [InlineData("""{"id":"Bad_Id","card":{}}""", "id")]
    [InlineData("""{"id":"-x","cardUrl":"http://127.0.0.1/card"}""", "id")]
    [InlineData("""{"id":"x"}""", "card")]
    [InlineData("""{"id":"x","card":{},"cardUrl":"http://127.0.0.1/card"}""", "card")]
    [InlineData("""{"id":"x","cardUrl":"not a url"}""", "cardUrl")]
    [InlineData("""{"id":"x","cardUrl":"http://127.0.0.1/card","upstreamUrl":"gopher://x/"}""", "upstreamUrl")]
    [InlineData("""{"id":"x","card":[]}""", "card")]
    [InlineData("""{"id":"x","card":{"name":"a","provider":{"url":"\ud800"}}}""", "card.provider.url")] // nor unpaired surrogates
    [InlineData("""{"id":"x","card":{"name":"n","description":"d","version":"1","capabilities":{},"defaultInputModes":[],"defaultOutputModes":[],"skills":[]}}""", "card.supportedInterfaces")]
    [InlineData("""{"id":"x","card":{"name":"n","description":"d","version":"1","supportedInterfaces":[],"capabilities":{},"defaultInputModes":[],"defaultOutputModes":[],"skills":[]}}""", "card.supportedInterfaces")]
    [InlineData("""{"id":"x","card":{"name":"n","description":"d","version":"1","supportedInterfaces":[{"url":"http://127.0.0.1/","protocolBinding":"GRPC","protocolVersion":"1.0"}],"capabilities":{},"defaultInputModes":[],"defaultOutputModes":[],"skills":[]}}""", "card.supportedInterfaces")]
    public async Task Bad_request_names_the_field(string body, string field)
    {
        var response = await _admin.PostJsonAsync("/api/v1/agents", body);

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(field, problem.Errors!.Keys);
    }

    [Fact]
    public async Task A_card_with_a_repeated_member_is_refused_naming_it()
    {
        // I-JSON: no duplicate members (the hub and an agent could each read a different one)
        var response = await _admin.PostJsonAsync("/api/v1/agents", """{"id":"x","card":{"name":"a","skills":[],"name":"b"}}""");

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("A property name appears twice (at '$.card')", problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_request_property_is_refused()
    {
        var response = await _admin.PostJsonAsync("/api/v1/agents", $$"""{"id":"x","card":{{Cards.Valid(Upstream)}},"owner":"me"}""");

        await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Card_without_jsonrpc_interface_is_accepted_with_an_upstream_override()
    {
        var card = Cards.Valid(Upstream).Replace("\"JSONRPC\"", "\"HTTP+JSON\"", StringComparison.Ordinal);
        var overrideUrl = $"http://127.0.0.1:{_agent.Port}/rpc";

        var response = await _admin.PostJsonAsync("/api/v1/agents", Body("rest-only", card, overrideUrl));
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        TestArtifacts.Secret(json.GetProperty("key").GetProperty("key").GetString()!);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(overrideUrl, json.GetProperty("agent").GetProperty("upstreamUrl").GetString());
    }

    [Fact]
    public async Task Card_url_answers_that_are_not_a_json_card_are_refused()
    {
        _agent.Card = "<html>";
        _agent.CardContentType = "text/html";
        var html = await HttpAssert.ProblemAsync(await _admin.PostJsonAsync("/api/v1/agents", $$"""{"id":"x","cardUrl":"{{_agent.CardUrl}}"}"""), HttpStatusCode.BadRequest);
        Assert.Contains("content type", html.Errors!["cardUrl"][0], StringComparison.Ordinal);

        _agent.CardContentType = "application/json";
        _agent.Card = "{not json";
        var broken = await HttpAssert.ProblemAsync(await _admin.PostJsonAsync("/api/v1/agents", $$"""{"id":"x","cardUrl":"{{_agent.CardUrl}}"}"""), HttpStatusCode.BadRequest);
        Assert.Contains("card", broken.Errors!.Keys);

        var missing = await HttpAssert.ProblemAsync(await _admin.PostJsonAsync("/api/v1/agents",
            $$"""{"id":"x","cardUrl":"http://127.0.0.1:{{_agent.Port}}/nothing-here-but-200-empty"}"""), HttpStatusCode.BadRequest);
        Assert.Contains("cardUrl", missing.Errors!.Keys);
    }

    [Fact]
    public async Task Card_larger_than_the_cap_is_refused()
    {
        _agent.Card = Cards.Valid(Upstream).Replace("Echoes what it is sent", new string('x', 300 * 1024), StringComparison.Ordinal);

        var problem = await HttpAssert.ProblemAsync(await _admin.PostJsonAsync("/api/v1/agents", $$"""{"id":"big","cardUrl":"{{_agent.CardUrl}}"}"""), HttpStatusCode.BadRequest);

        Assert.Contains("larger than 262144 bytes", problem.Errors!["cardUrl"][0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redirect_is_refused_and_its_target_gets_no_request()
    {
        await using var target = await CardServer.StartAsync();
        _agent.RedirectTo = $"http://localhost:{target.Port}/card";

        var problem = await HttpAssert.ProblemAsync(await _admin.PostJsonAsync("/api/v1/agents", $$"""{"id":"redir","cardUrl":"{{_agent.CardUrl}}"}"""), HttpStatusCode.BadRequest);

        Assert.Contains("redirect (302", problem.Errors!["cardUrl"][0], StringComparison.Ordinal);
        Assert.Equal(1, _agent.Hits);
        Assert.Equal(0, target.Hits);
    }

    [Fact]
    public async Task Reregistering_the_same_card_keeps_the_version_and_mints_no_key_a_changed_card_makes_version_2()
    {
        var first = Cards.Valid(Upstream);
        await RegisterAsync("versioned", first);

        var same = await RegisterAsync("versioned", first, HttpStatusCode.OK);
        Assert.False(same.GetProperty("created").GetBoolean());
        Assert.False(same.GetProperty("versionCreated").GetBoolean());
        Assert.False(same.GetProperty("keyIssued").GetBoolean());
        Assert.False(same.TryGetProperty("key", out _));
        Assert.Contains("already has an active key", same.GetProperty("message").GetString(), StringComparison.Ordinal);

        var second = Cards.Valid(Upstream, version: "2.0.0");
        var changed = await RegisterAsync("versioned", second, HttpStatusCode.OK);
        Assert.True(changed.GetProperty("versionCreated").GetBoolean());
        Assert.Equal(2, changed.GetProperty("agent").GetProperty("version").GetInt64());

        var versions = JsonDocument.Parse(await _admin.GetStringAsync("/api/v1/agents/versioned/versions")).RootElement;
        Assert.Equal(2, versions.GetArrayLength());
        Assert.Equal([1L, 2L], versions.EnumerateArray().Select(v => v.GetProperty("version").GetInt64()));
        Assert.Equal(["1.0.0", "2.0.0"], versions.EnumerateArray().Select(v => v.GetProperty("cardVersion").GetString()));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(second))), versions[1].GetProperty("cardSha256").GetString());
        Assert.Equal("user:admin", versions[1].GetProperty("createdBy").GetString());
        Assert.Equal(second, await _admin.GetStringAsync("/api/v1/agents/versioned/card"));
    }

    [Fact]
    public async Task Reregistering_an_agent_whose_key_was_revoked_issues_a_new_key()
    {
        var first = await RegisterAsync("rekey");
        var keyId = first.GetProperty("key").GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await _admin.DeleteAsync($"/api/v1/keys/{keyId}")).StatusCode);

        var again = await RegisterAsync("rekey", expected: HttpStatusCode.OK);

        Assert.True(again.GetProperty("keyIssued").GetBoolean());
        Assert.NotEqual(keyId, again.GetProperty("key").GetProperty("id").GetString());
    }

    [Fact]
    public async Task List_filters_by_skill_tag_and_text_and_pages_with_a_cursor()
    {
        await RegisterAsync("alpha", Cards.Valid(Upstream, name: "Alpha", skillId: "translate", tag: "Language", skillDescription: "Translates 100% of text"));
        await RegisterAsync("beta", Cards.Valid(Upstream, name: "Beta", skillId: "summarize", tag: "language"));
        await RegisterAsync("gamma", Cards.Valid(Upstream, name: "Gamma", skillId: "search", tag: "web", skillDescription: "Finds PAGES"));

        async Task<string[]> Ids(string query) => JsonDocument.Parse(await _admin.GetStringAsync("/api/v1/agents" + query)).RootElement
            .GetProperty("items").EnumerateArray().Select(a => a.GetProperty("id").GetString()!).ToArray();

        Assert.Equal(["alpha", "beta", "gamma"], await Ids(""));
        Assert.Equal(["alpha"], await Ids("?skill=translate"));
        Assert.Empty(await Ids("?skill=Translate"));
        Assert.Equal(["alpha", "beta"], await Ids("?tag=LANGUAGE"));
        Assert.Equal(["gamma"], await Ids("?q=finds%20pages"));
        Assert.Equal(["beta"], await Ids("?q=BETA"));
        Assert.Equal(["alpha"], await Ids("?q=100%25"));
        Assert.Empty(await Ids("?q=1_0"));
        Assert.Equal(["beta"], await Ids("?tag=language&q=beta%20skill"));
        Assert.Empty(await Ids("?q=summarize")); // skill ids are matched by skill=, not by text

        var page1 = JsonDocument.Parse(await _admin.GetStringAsync("/api/v1/agents?limit=2")).RootElement;
        Assert.Equal(2, page1.GetProperty("items").GetArrayLength());
        var next = page1.GetProperty("next").GetString();
        Assert.Equal("beta", next);
        var page2 = JsonDocument.Parse(await _admin.GetStringAsync($"/api/v1/agents?limit=2&after={next}")).RootElement;
        Assert.Equal(["gamma"], page2.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("id").GetString()));
        Assert.False(page2.TryGetProperty("next", out _));

        await HttpAssert.ProblemAsync(await _admin.GetAsync("/api/v1/agents?limit=0"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Delete_removes_the_agent_and_its_key_is_refused_at_once()
    {
        var json = await RegisterAsync("doomed");
        var agentHttp = _hub.Http(json.GetProperty("key").GetProperty("key").GetString());
        Assert.Equal(HttpStatusCode.OK, (await agentHttp.GetAsync("/api/v1/agents")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await _admin.DeleteAsync("/api/v1/agents/doomed")).StatusCode);

        await HttpAssert.ProblemAsync(await agentHttp.GetAsync("/api/v1/agents"), HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(await _admin.GetAsync("/api/v1/agents/doomed"), HttpStatusCode.NotFound);
        await HttpAssert.ProblemAsync(await _admin.GetAsync("/api/v1/agents/doomed/versions"), HttpStatusCode.NotFound);
        await HttpAssert.ProblemAsync(await _admin.GetAsync("/a2a/doomed/.well-known/agent-card.json"), HttpStatusCode.NotFound);
        await HttpAssert.ProblemAsync(await _admin.DeleteAsync("/api/v1/agents/doomed"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Roles_agent_reads_only_auditor_cannot_write_operator_can()
    {
        var agentKey = (await RegisterAsync("reader")).GetProperty("key").GetProperty("key").GetString()!;
        var agent = _hub.Http(agentKey);
        var auditor = _hub.Http((await _hub.CreateKeyAsync(HubTestHost.UniqueUser(), "auditor")).Key);
        var operatorHttp = _hub.Http((await _hub.CreateKeyAsync(HubTestHost.UniqueUser(), "operator")).Key);
        var body = Body("another", Cards.Valid(Upstream));

        await HttpAssert.ProblemAsync(await agent.PostJsonAsync("/api/v1/agents", body), HttpStatusCode.Forbidden);
        await HttpAssert.ProblemAsync(await agent.DeleteAsync("/api/v1/agents/reader"), HttpStatusCode.Forbidden);
        await HttpAssert.ProblemAsync(await agent.GetAsync("/api/v1/agents/reader/card"), HttpStatusCode.Forbidden);
        await HttpAssert.ProblemAsync(await auditor.PostJsonAsync("/api/v1/agents", body), HttpStatusCode.Forbidden);
        await HttpAssert.ProblemAsync(await auditor.DeleteAsync("/api/v1/agents/reader"), HttpStatusCode.Forbidden);
        await HttpAssert.ProblemAsync(await _hub.Http().GetAsync("/api/v1/agents"), HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(await _hub.Http().GetAsync("/a2a/reader/.well-known/agent-card.json"), HttpStatusCode.Unauthorized);

        var seen = JsonDocument.Parse(await agent.GetStringAsync("/api/v1/agents/reader")).RootElement;
        Assert.False(seen.TryGetProperty("upstreamUrl", out _)); // agents reach each other through the hub only
        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync("/api/v1/agents/reader/versions")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync("/a2a/reader/.well-known/agent-card.json")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await auditor.GetAsync("/api/v1/agents/reader/card")).StatusCode);

        var created = await operatorHttp.PostJsonAsync("/api/v1/agents", body);
        TestArtifacts.Secret(JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("key").GetProperty("key").GetString()!);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await operatorHttp.DeleteAsync("/api/v1/agents/another")).StatusCode);
    }

    [Fact]
    public async Task Hub_card_points_at_the_hub_declares_bearer_auth_and_keeps_everything_else()
    {
        var card = Cards.Valid(Upstream);
        await RegisterAsync("served", card);

        var response = await _admin.GetAsync("/a2a/served/.well-known/agent-card.json");
        var bytes = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl!.Private);
        Assert.Equal(TimeSpan.FromSeconds(60), response.Headers.CacheControl.MaxAge);
        Assert.False(response.Headers.CacheControl.NoStore);
        Assert.False(response.Headers.ETag!.IsWeak);
        Assert.Equal("\"" + Convert.ToBase64String(SHA256.HashData(bytes)).TrimEnd('=').Replace('+', '-').Replace('/', '_') + "\"", response.Headers.ETag.Tag);

        var served = JsonNode.Parse(bytes)!.AsObject();
        var expectedInterfaces = JsonNode.Parse("""[{"url":"http://localhost/a2a/served","protocolBinding":"JSONRPC","protocolVersion":"1.0"}]""");
        Assert.True(JsonNode.DeepEquals(expectedInterfaces, served["supportedInterfaces"]));
        Assert.Equal("Bearer", served["securitySchemes"]!["agenthub"]!["httpAuthSecurityScheme"]!["scheme"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""[{"schemes":{"agenthub":{"list":[]}}}]"""), served["securityRequirements"]));

        var original = JsonNode.Parse(card)!.AsObject();
        foreach (var (name, value) in original)
        {
            if (name != "supportedInterfaces")
            {
                Assert.True(JsonNode.DeepEquals(value, served[name]), $"member {name} changed");
            }
        }

        Assert.Equal(original.Count + 3, served.Count); // securitySchemes, securityRequirements and the hub's signatures
        Assert.Equal(card, await _admin.GetStringAsync("/api/v1/agents/served/card"));
    }

    [Fact]
    public async Task Hub_card_answers_304_to_a_matching_etag_and_changes_etag_with_the_card()
    {
        await RegisterAsync("cached");
        var first = await _admin.GetAsync("/a2a/cached/.well-known/agent-card.json");
        var etag = first.Headers.ETag!;

        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/a2a/cached/.well-known/agent-card.json");
        conditional.Headers.IfNoneMatch.Add(etag);
        var notModified = await _admin.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal(etag, notModified.Headers.ETag);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());

        using var other = new HttpRequestMessage(HttpMethod.Get, "/a2a/cached/.well-known/agent-card.json");
        other.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"something-else\""));
        Assert.Equal(HttpStatusCode.OK, (await _admin.SendAsync(other)).StatusCode);

        await RegisterAsync("cached", Cards.Valid(Upstream, version: "9"), HttpStatusCode.OK);
        using var stale = new HttpRequestMessage(HttpMethod.Get, "/a2a/cached/.well-known/agent-card.json");
        stale.Headers.IfNoneMatch.Add(etag);
        var changed = await _admin.SendAsync(stale);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.NotEqual(etag, changed.Headers.ETag);
    }

    [Fact]
    public async Task Registration_changes_are_audited_with_actor_and_target()
    {
        await RegisterAsync("audited");
        await RegisterAsync("audited", Cards.Valid(Upstream, version: "2"), HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.NoContent, (await _admin.DeleteAsync("/api/v1/agents/audited")).StatusCode);

        var records = JsonDocument.Parse(await _admin.GetStringAsync("/api/v1/audit?agent=audited&limit=200")).RootElement
            .GetProperty("items").EnumerateArray()
            .Select(r => (Type: r.GetProperty("type").GetString(), Actor: r.GetProperty("actor").GetString())).ToList();

        Assert.Equal([("agent.register", "user:admin"), ("agent.update", "user:admin"), ("agent.delete", "user:admin")], records);
    }

    [Fact]
    public async Task Health_probe_marks_answering_upstreams_up_and_silent_ones_down()
    {
        await RegisterAsync("healthy");
        var closedPort = FreePort();
        await RegisterAsync("silent", Cards.Valid($"http://127.0.0.1:{closedPort}/a2a"));
        var hitsBefore = _agent.Hits;

        await _hub.Services.GetRequiredService<AgentHealthProbe>().ProbeOnceAsync(default);

        var listed = JsonDocument.Parse(await _admin.GetStringAsync("/api/v1/agents")).RootElement.GetProperty("items").EnumerateArray()
            .ToDictionary(a => a.GetProperty("id").GetString()!, a => a);
        Assert.Equal("up", listed["healthy"].GetProperty("health").GetString());
        Assert.Equal("down", listed["silent"].GetProperty("health").GetString());
        Assert.True(listed["silent"].TryGetProperty("lastCheckedAt", out _));
        Assert.True(_agent.Hits > hitsBefore);
    }

    [Fact]
    public async Task Public_url_option_sets_the_hub_card_url()
    {
        await using var hub = await HubTestHost.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Agents:AllowedHosts:0"] = "127.0.0.1",
            ["Agents:PublicUrl"] = "https://hub.example.com/",
        });
        var admin = hub.Http(hub.AdminKey);
        var created = await admin.PostJsonAsync("/api/v1/agents", Body("public", Cards.Valid(Upstream)));
        TestArtifacts.Secret(JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("key").GetProperty("key").GetString()!);

        var served = JsonNode.Parse(await admin.GetStringAsync("/a2a/public/.well-known/agent-card.json"))!;

        Assert.Equal("https://hub.example.com/a2a/public", served["supportedInterfaces"]![0]!["url"]!.GetValue<string>());
    }

    internal static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

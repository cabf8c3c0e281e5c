using System.Net;
using System.Text;
using System.Text.Json;
using AgentHub.Client;
using AgentHub.Tests.Infrastructure;
using AgentHub.Tests.Web;

namespace AgentHub.Tests.Relay;

/// <summary>
/// Malformed input the security suite found answered with a 500 or the wrong shape: bytes that are not UTF-8, escaped
/// lone surrogates, broken chunked framing, a body that is not JSON by its Content-Type. Each gets a JSON-RPC error
/// from the relay (ProblemDetails on the admin API) and nothing reaches the agent.
/// </summary>
public sealed class RelayMalformedInputTests
{
    [Theory]
    [InlineData(new byte[] { 0xff, 0xfe })]
    [InlineData(new byte[] { 0xed, 0xa0, 0x80 })] // a surrogate encoded in UTF-8
    [InlineData(new byte[] { 0xc0, 0x80 })]       // an overlong NUL
    public async Task Invalid_utf8_in_a_string_is_a_json_rpc_parse_error(byte[] bad)
    {
        await using var setup = await RelayTests.Setup.StartAsync(Db.Sqlite);
        var (key, _) = await setup.CallerAsync("utf8", allow: true);
        var body = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":{\"message\":{\"taskId\":\"t")
            .Concat(bad).Concat(Encoding.UTF8.GetBytes("\",\"messageId\":\"m\",\"role\":\"ROLE_USER\",\"parts\":[]}}}")).ToArray();

        using var response = await Post(setup, key, new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } });

        var error = await RpcErrorAsync(response, HttpStatusCode.OK);
        Assert.Equal(-32700, error.GetProperty("code").GetInt32());
        Assert.Empty(setup.Upstream.Requests);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"\ud800"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"SendMessage\udfff","params":{}}""")]
    public async Task An_unpaired_surrogate_escape_is_a_json_rpc_parse_error(string body)
    {
        await using var setup = await RelayTests.Setup.StartAsync(Db.Sqlite);
        var (key, _) = await setup.CallerAsync("surrogate", allow: true);

        var (status, answer) = await setup.PostAsync(key, body);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(-32700, answer.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Empty(setup.Upstream.Requests);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"GetTask","method":"SendMessage","params":{"message":{"messageId":"m","role":"ROLE_USER","parts":[]}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"CreateTaskPushNotificationConfig","params":{"taskId":"t","url":"http://169.254.169.254/","url":"https://hooks.example.com/"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"m","messageId":"n","role":"ROLE_USER","parts":[]}}}""")]
    public async Task A_repeated_property_name_is_a_json_rpc_parse_error(string body)
    {
        await using var setup = await RelayTests.Setup.StartAsync(Db.Sqlite);
        var (key, _) = await setup.CallerAsync("dupes", allow: true);

        var (status, answer) = await setup.PostAsync(key, body);

        Assert.Equal(HttpStatusCode.OK, status);
        var error = answer.RootElement.GetProperty("error");
        Assert.Equal(-32700, error.GetProperty("code").GetInt32());
        Assert.Contains("repeats a property name", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(setup.Upstream.Requests);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/json; charset=utf-16")]
    [InlineData(null)]
    public async Task A_body_not_sent_as_json_gets_415_json_rpc_error(string? contentType)
    {
        await using var setup = await RelayTests.Setup.StartAsync(Db.Sqlite);
        var (key, _) = await setup.CallerAsync("media", allow: true);
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(RelayTests.Rpc("SendMessage", """{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"hi"}]}}""")));
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        using var response = await Post(setup, key, content);

        var error = await RpcErrorAsync(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Equal(-32600, error.GetProperty("code").GetInt32());
        Assert.Empty(setup.Upstream.Requests);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("Application/JSON;charset=\"UTF-8\"")]
    [InlineData("application/a2a+json")]
    public async Task Json_content_types_are_relayed(string contentType)
    {
        await using var setup = await RelayTests.Setup.StartAsync(Db.Sqlite);
        var (key, _) = await setup.CallerAsync("json", allow: true);
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(RelayTests.Rpc("SendMessage", """{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"hi"}]}}""")));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        using var response = await Post(setup, key, content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(setup.Upstream.Requests);
    }

    [Theory]
    [InlineData("ffffffffffffffffff")] // a chunk size past any integer
    [InlineData("zz")]                 // not hex
    public async Task Broken_chunked_framing_gets_a_json_rpc_error_not_a_500(string chunkSize)
    {
        await using var upstream = await EchoAgent.StartAsync();
        await using var hub = await HubTestHost.StartAsync(settings: new Dictionary<string, string?> { ["Agents:AllowedHosts:0"] = "127.0.0.1" }, kestrel: true);
        var card = JsonDocument.Parse($$"""
            {"name":"Echo","description":"Echoes","version":"1.0.0",
             "supportedInterfaces":[{"url":"{{upstream.Url}}","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
             "capabilities":{},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
             "skills":[{"id":"echo","name":"Echo","description":"Echoes text","tags":["demo"]}]}
            """).RootElement;
        await hub.AdminClient().RegisterAgentAsync(new RegisterAgentRequest("echo", Card: card));
        var caller = await hub.CreateKeyAsync(HubTestHost.UniqueUser("chunk"), "operator");
        await hub.AdminClient().CreatePolicyAsync(new CreatePolicyRequest(caller.Principal, "echo", ["*"], "allow"));
        var body = RelayTests.Rpc("GetTask", """{"id":"t"}""");

        using var socket = await RawHttp.ConnectAsync(hub.Url);
        await RawHttp.SendAsync(socket, $"POST /a2a/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {caller.Key}\r\nA2A-Version: 1.0\r\n" +
            $"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunkSize}\r\n{body}\r\n0\r\n\r\n");
        var answer = await RawHttp.ReadAsync(socket, TimeSpan.FromSeconds(30), until: null);

        Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
        Assert.Contains("Content-Type: application/json", answer, StringComparison.Ordinal);
        Assert.Contains("\"code\":-32600", answer, StringComparison.Ordinal);
        Assert.Empty(upstream.Requests);
        Assert.DoesNotContain(hub.Logs.Lines, l => l.Contains("Unhandled error", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(new byte[] { 0xff })]
    [InlineData(new byte[] { 0xed, 0xbf, 0xbf })]
    public async Task An_agent_card_with_invalid_utf8_gets_400_problem_details(byte[] bad)
    {
        await using var hub = await HubTestHost.StartAsync();
        var body = Encoding.UTF8.GetBytes("{\"id\":\"bad-card\",\"card\":{\"na").Concat(bad).Concat(Encoding.UTF8.GetBytes("me\":\"x\"}}")).ToArray();

        using var response = await hub.Http(hub.AdminKey).PostAsync("/api/v1/agents", new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } });

        var problem = await WebAssert.CleanProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("not valid UTF-8", problem.Detail, StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> Post(RelayTests.Setup setup, string key, HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/a2a/echo") { Content = content };
        request.Headers.TryAddWithoutValidation("A2A-Version", "1.0");
        return setup.Hub.Http(key).SendAsync(request);
    }

    private static async Task<JsonElement> RpcErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var rpc = JsonDocument.Parse(text).RootElement;
        Assert.Equal("2.0", rpc.GetProperty("jsonrpc").GetString());
        return rpc.GetProperty("error");
    }
}

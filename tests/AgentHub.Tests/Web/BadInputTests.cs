using System.Net;
using System.Net.Http.Json;
using System.Text;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Web;

/// <summary>
/// A caller's mistake on the admin API is a 4xx problem that says what is wrong, in the body's own field names;
/// never a 500, a stack trace or a .NET type name.
/// </summary>
public sealed class BadInputTests(BadInputTests.HubFixture fixture) : IClassFixture<BadInputTests.HubFixture>
{
    private const string Json = "application/json";
    private static readonly string LongName = new('n', 101);

    /// <summary>method, path, content type (null: no body), body, status, what the detail says or which fields <c>errors</c> lists.</summary>
    public static TheoryData<string, string, string?, string, int, string> Cases => new()
    {
        { "POST", "/api/v1/keys", Json, """{"principal":"user:a","role":""", 400, "detail:not valid JSON" },
        { "POST", "/api/v1/keys", Json, """{"principal":"user:a","role":"operator"} trailing""", 400, "detail:not valid JSON" },
        { "POST", "/api/v1/keys", Json, """{"principal":"user:a","role":"operator","isAdmin":true}""", 400, "detail:Unknown property at '$.isAdmin'" },
        { "POST", "/api/v1/keys", Json, """{"principal":42,"role":"operator"}""", 400, "detail:'$.principal' has the wrong type" },
        { "POST", "/api/v1/keys", Json, """{"principal":"user:a","role":["admin"]}""", 400, "detail:'$.role' has the wrong type" },
        { "POST", "/api/v1/keys", Json, """{"principal":"user:a","role":"operator","expiresAt":"tomorrow"}""", 400, "detail:'$.expiresAt' has the wrong type" },
        { "POST", "/api/v1/keys", Json, "[]", 400, "detail:wrong type" },
        { "POST", "/api/v1/keys", Json, """{"principal":"user:a","role":"auditor","role":"admin"}""", 400, "detail:A property name appears twice (at '$.role')" },
        { "POST", "/api/v1/keys", Json, "", 400, "status-only" },
        { "POST", "/api/v1/keys", Json, "null", 400, "status-only" },
        { "POST", "/api/v1/keys", Json, "{}", 400, "errors:principal,role" },
        { "POST", "/api/v1/keys", Json, $$"""{"principal":"User:Bad Name","role":"root","name":"{{LongName}}"}""", 400, "errors:name,principal,role" },
        { "POST", "/api/v1/keys", Json, """{"principal":"user:a","role":"agent"}""", 400, "errors:role" },
        { "POST", "/api/v1/keys", Json, """{"principal":"user:a","role":"Admin"}""", 400, "errors:role" },
        { "POST", "/api/v1/keys", Json, """{"principal":"alice","role":"operator"}""", 400, "errors:principal" },
        { "POST", "/api/v1/keys", Json, """{"principal":"user:Alice","role":"operator"}""", 400, "errors:principal" },
        { "POST", "/api/v1/keys", Json, """{"principal":"user:","role":"operator"}""", 400, "errors:principal" },
        { "POST", "/api/v1/keys", Json, """{"principal":"agent:bot-1","role":"operator"}""", 400, "errors:principal" },
        { "POST", "/api/v1/keys", Json, """{"principal":"user:a","role":"operator","expiresAt":"2000-01-01T00:00:00Z"}""", 400, "errors:expiresAt" },
        { "POST", "/api/v1/keys", Json, $$"""{"principal":"user:a","role":"operator","name":"{{LongName}}"}""", 400, "errors:name" },
        { "POST", "/api/v1/keys", "text/plain", """{"principal":"user:a","role":"operator"}""", 415, "status-only" },
        { "POST", "/api/v1/keys", "application/x-www-form-urlencoded", "principal=user:a&role=operator", 415, "status-only" },
        { "POST", "/api/v1/keys", null, "", 400, "detail:no body" },
        { "GET", "/api/v1/keys?limit=0", null, "", 400, "errors:limit" },
        { "GET", "/api/v1/keys?limit=500", null, "", 400, "errors:limit" },
        { "GET", "/api/v1/keys?limit=201", null, "", 400, "errors:limit" },
        { "GET", "/api/v1/keys?limit=-1", null, "", 400, "errors:limit" },
        { "GET", "/api/v1/keys?limit=ten", null, "", 400, "status-only" },
        { "GET", "/api/v1/principals?limit=0", null, "", 400, "errors:limit" },
        { "GET", "/api/v1/principals?limit=500", null, "", 400, "errors:limit" },
        { "GET", "/api/v1/keys/abcdefghijklmnop", null, "", 404, "detail:No key 'abcdefghijklmnop'" },
        { "DELETE", "/api/v1/keys/abcdefghijklmnop", null, "", 404, "detail:No key 'abcdefghijklmnop'" },
        { "GET", "/api/v1/principals/user:nobody", null, "", 404, "detail:No principal 'user:nobody'" },
        { "GET", "/api/v1/nothing-here", null, "", 404, "status-only" },
        { "GET", "/api/v2/keys", null, "", 404, "status-only" },
        { "PUT", "/api/v1/me", Json, "{}", 405, "status-only" },
        { "DELETE", "/api/v1/keys", null, "", 405, "status-only" },
        { "PATCH", "/api/v1/keys/abc", Json, "{}", 405, "status-only" },
        { "GET", "/api/v1/signing-keys/rotate", null, "", 405, "status-only" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_request_gets_problem_details_with_the_right_status(string method, string path, string? contentType, string body, int status, string expect)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (contentType is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = new(contentType);
        }

        using var response = await fixture.Hub.Http(fixture.Hub.AdminKey).SendAsync(request);

        var problem = await WebAssert.CleanProblemAsync(response, (HttpStatusCode)status);
        var (kind, value) = (expect.Split(':', 2)[0], expect.Split(':', 2).ElementAtOrDefault(1));
        switch (kind)
        {
            case "detail":
                Assert.Contains(value!, problem.Detail ?? "", StringComparison.Ordinal);
                break;
            case "errors":
                Assert.NotNull(problem.Errors);
                Assert.Equal(value!.Split(','), problem.Errors!.Keys.Order(StringComparer.Ordinal));
                Assert.All(problem.Errors.Values, messages => Assert.NotEmpty(messages));
                break;
        }

        if (status == 405)
        {
            Assert.NotEmpty(response.Content.Headers.Allow);
        }
    }

    [Theory]
    [InlineData("text/html")]
    [InlineData("text/*")]
    [InlineData("image/png")]
    public async Task Error_answers_are_problem_details_whatever_the_caller_accepts(string accept)
    {
        // no key: the authentication challenge writes the problem; a malformed body: the exception handler does
        using var anonymous = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
        anonymous.Headers.Accept.ParseAdd(accept);
        using var malformed = new HttpRequestMessage(HttpMethod.Post, "/api/v1/keys") { Content = new StringContent("{", Encoding.UTF8, Json) };
        malformed.Headers.Accept.ParseAdd(accept);

        using var unauthorized = await fixture.Hub.Http().SendAsync(anonymous);
        using var badJson = await fixture.Hub.Http(fixture.Hub.AdminKey).SendAsync(malformed);

        await WebAssert.CleanProblemAsync(unauthorized, HttpStatusCode.Unauthorized);
        var problem = await WebAssert.CleanProblemAsync(badJson, HttpStatusCode.BadRequest);
        Assert.Contains("not valid JSON", problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_invalid_field_is_listed_at_once_under_its_json_name()
    {
        using var response = await fixture.Hub.Http(fixture.Hub.AdminKey).PostJsonAsync("/api/v1/keys",
            $$"""{"principal":"agent:x","role":"superuser","name":"{{LongName}}"}""");

        var problem = await WebAssert.CleanProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(["name", "principal", "role"], problem.Errors!.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("principal must be user:<name>", problem.Errors["principal"][0], StringComparison.Ordinal);
        Assert.Equal("role must be one of admin, operator, auditor.", problem.Errors["role"][0]);
        Assert.Equal("name is at most 100 characters.", problem.Errors["name"][0]);
    }

    [Fact]
    public async Task Bad_requests_are_never_logged_as_unhandled_errors()
    {
        foreach (var (method, path, contentType, body, _, _) in Cases.Select(c => ((string)c[0], (string)c[1], (string?)c[2], (string)c[3], (int)c[4], (string)c[5])))
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (contentType is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8);
                request.Content.Headers.ContentType = new(contentType);
            }

            using var response = await fixture.Hub.Http(fixture.Hub.AdminKey).SendAsync(request);
            Assert.True((int)response.StatusCode is >= 400 and < 500, $"{method} {path}: {(int)response.StatusCode}");
        }

        Assert.DoesNotContain(fixture.Hub.Logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Revoking_the_last_admin_key_gets_409_problem_and_keeps_the_key()
    {
        await using var hub = await HubTestHost.StartAsync();
        var adminKeyId = hub.AdminKey.Substring("ahk_".Length, 16);

        using var response = await hub.Http(hub.AdminKey).DeleteAsync($"/api/v1/keys/{adminKeyId}");

        var problem = await WebAssert.CleanProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Contains("last active admin key", problem.Detail, StringComparison.Ordinal);
        Assert.True((await hub.AdminClient().GetKeyAsync(adminKeyId)).Active);
    }

    [Fact]
    public async Task Valid_body_after_the_bad_ones_is_accepted()
    {
        using var response = await fixture.Hub.Http(fixture.Hub.AdminKey).PostJsonAsync("/api/v1/keys",
            $$"""{"principal":"{{HubTestHost.UniqueUser()}}","role":"operator","name":"{{new string('n', 100)}}","expiresAt":"2999-01-01T00:00:00Z"}""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<AgentHub.Client.CreatedKey>();
        TestArtifacts.Secret(created!.Key);
    }

    [Fact]
    public async Task A_credential_quoted_back_in_a_refusal_is_redacted()
    {
        const string jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyOmEifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg";
        const string providerKey = "sk-proj-Zx8Qm2Lr5Tn7Vb1Kc4Hd6Fg9Js3Wp0Ye";
        // The secret is everything after "ahk_<id>_" (base64url, so it may hold '_' itself).
        var secret = fixture.Hub.AdminKey[(AgentHub.Identity.ApiKeyFormat.Prefix.Length + AgentHub.Identity.ApiKeyFormat.KeyIdLength + 1)..];
        Assert.Equal(43, secret.Length);
        using var http = fixture.Hub.Http(fixture.Hub.AdminKey);

        using var rule = await http.PostJsonAsync("/api/v1/policies",
            $$"""{"caller":"{{fixture.Hub.AdminKey}}","agent":"{{providerKey}}","methods":["{{jwt}}"],"effect":"allow"}""");
        var problem = await WebAssert.CleanProblemAsync(rule, HttpStatusCode.BadRequest);
        Assert.Equal(["agent", "caller", "methods"], problem.Errors!.Keys.Order(StringComparer.Ordinal));
        Assert.Contains($"caller 'ahk_{fixture.Hub.AdminKey.Split('_')[1]}_(redacted", problem.Errors["caller"][0], StringComparison.Ordinal);

        using var relay = new HttpRequestMessage(HttpMethod.Post, "/a2a/nobody")
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"t"}}""", Encoding.UTF8, Json),
        };
        relay.Headers.TryAddWithoutValidation("A2A-Version", jwt);
        using var rpc = await http.SendAsync(relay);

        foreach (var body in new[] { await rule.Content.ReadAsStringAsync(), await rpc.Content.ReadAsStringAsync() })
        {
            Assert.DoesNotContain(secret, body, StringComparison.Ordinal);
            Assert.DoesNotContain(jwt[..20], body, StringComparison.Ordinal);
            Assert.DoesNotContain(providerKey[8..], body, StringComparison.Ordinal);
        }

        Assert.Contains("(redacted: looks like a credential)", await rpc.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    public sealed class HubFixture : IAsyncLifetime
    {
        public HubTestHost Hub { get; private set; } = null!;

        public async Task InitializeAsync() => Hub = await HubTestHost.StartAsync();

        public async Task DisposeAsync() => await Hub.DisposeAsync();
    }
}

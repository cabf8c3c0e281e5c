using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Web;

/// <summary>Bearer API keys: every way a credential can be wrong answers 401 and says which, without leaking more.</summary>
public sealed class AuthenticationTests
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Request_without_authorization_header_gets_401_with_bearer_challenge()
    {
        await using var hub = await HubTestHost.StartAsync();

        using var response = await hub.Http().GetAsync("/api/v1/me");

        var problem = await WebAssert.CleanProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer realm=\"agenthub\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Equal("Send an API key as 'Authorization: Bearer <key>'.", problem.Detail);
    }

    [Fact]
    public async Task The_hub_has_no_data_protection_so_no_key_ring_is_made_or_written()
    {
        // Only API keys authenticate here; Data Protection would build a key ring at start and, unless configured
        // otherwise, write it to ~/.aspnet. Authentication is registered without it.
        await using var hub = await HubTestHost.StartAsync();

        Assert.Null(hub.Services.GetService(typeof(Microsoft.AspNetCore.DataProtection.IDataProtectionProvider)));
        Assert.NotNull(hub.Services.GetService(typeof(Microsoft.AspNetCore.Authentication.IAuthenticationService)));
    }

    [Theory]
    [InlineData("Bearer not-a-key", "The API key is malformed.")]
    [InlineData("Bearer ahk_tooshort_x", "The API key is malformed.")]
    [InlineData("Bearer ahk_ABCDEFGHIJKLMNOP_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG", "The API key is malformed.")] // upper-case id
    [InlineData("Basic dXNlcjpwYXNzd29yZA==", "Use 'Authorization: Bearer <API key>'.")]
    [InlineData("Token abc", "Use 'Authorization: Bearer <API key>'.")]
    public async Task Unusable_authorization_header_gets_401_saying_why(string header, string detail)
    {
        await using var hub = await HubTestHost.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
        request.Headers.TryAddWithoutValidation("Authorization", header);

        using var response = await hub.Http().SendAsync(request);

        var problem = await WebAssert.CleanProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal(detail, problem.Detail);
        Assert.StartsWith("Bearer realm=\"agenthub\", error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_key_id_and_wrong_secret_get_the_same_answer()
    {
        await using var hub = await HubTestHost.StartAsync();
        var real = await hub.CreateKeyAsync(HubTestHost.UniqueUser(), "operator");
        var unknownId = FakeKey("abcdefghijklmnop");
        var wrongSecret = FakeKey(real.Id);

        using var unknown = await hub.Http(unknownId).GetAsync("/api/v1/me");
        using var wrong = await hub.Http(wrongSecret).GetAsync("/api/v1/me");

        var unknownProblem = await WebAssert.CleanProblemAsync(unknown, HttpStatusCode.Unauthorized);
        var wrongProblem = await WebAssert.CleanProblemAsync(wrong, HttpStatusCode.Unauthorized);
        Assert.Equal("The API key is not valid.", unknownProblem.Detail);
        Assert.Equal(unknownProblem.Detail, wrongProblem.Detail);
        Assert.Equal(unknownProblem.Title, wrongProblem.Title);
        Assert.Equal(unknown.Headers.WwwAuthenticate.ToString(), wrong.Headers.WwwAuthenticate.ToString());
        Assert.Equal(HttpStatusCode.OK, (await hub.Http(real.Key).GetAsync("/api/v1/me")).StatusCode);
    }

    [Fact]
    public async Task Revoked_key_gets_401_saying_revoked()
    {
        await using var hub = await HubTestHost.StartAsync();
        var key = await hub.CreateKeyAsync(HubTestHost.UniqueUser(), "auditor");
        Assert.Equal(HttpStatusCode.OK, (await hub.Http(key.Key).GetAsync("/api/v1/me")).StatusCode);
        await hub.AdminClient().RevokeKeyAsync(key.Id);

        using var response = await hub.Http(key.Key).GetAsync("/api/v1/me");

        var problem = await WebAssert.CleanProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("The API key has been revoked.", problem.Detail);
        Assert.Contains("error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_is_accepted_until_its_expiry_and_refused_from_that_instant()
    {
        var clock = new ManualTimeProvider(Start);
        await using var hub = await HubTestHost.StartAsync(time: clock);
        var key = await hub.CreateKeyAsync(HubTestHost.UniqueUser(), "operator", expiresAt: Start.AddHours(1));

        clock.Advance(TimeSpan.FromHours(1) - TimeSpan.FromMilliseconds(1));
        Assert.Equal(HttpStatusCode.OK, (await hub.Http(key.Key).GetAsync("/api/v1/me")).StatusCode);

        clock.Advance(TimeSpan.FromMilliseconds(1));
        using var response = await hub.Http(key.Key).GetAsync("/api/v1/me");

        var problem = await WebAssert.CleanProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("The API key has expired.", problem.Detail);
        Assert.False((await hub.AdminClient().GetKeyAsync(key.Id)).Active);
    }

    [Fact]
    public async Task Last_used_at_is_set_by_use_and_refreshed_at_most_once_a_minute()
    {
        var clock = new ManualTimeProvider(Start);
        await using var hub = await HubTestHost.StartAsync(time: clock);
        var key = await hub.CreateKeyAsync(HubTestHost.UniqueUser(), "auditor");
        var admin = hub.AdminClient();
        Assert.Null((await admin.GetKeyAsync(key.Id)).LastUsedAt);

        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(HttpStatusCode.OK, (await hub.Http(key.Key).GetAsync("/api/v1/me")).StatusCode);
        Assert.Equal(Start.AddSeconds(5), (await admin.GetKeyAsync(key.Id)).LastUsedAt);

        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, (await hub.Http(key.Key).GetAsync("/api/v1/me")).StatusCode);
        Assert.Equal(Start.AddSeconds(5), (await admin.GetKeyAsync(key.Id)).LastUsedAt);

        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(HttpStatusCode.OK, (await hub.Http(key.Key).GetAsync("/api/v1/me")).StatusCode);
        Assert.Equal(Start.AddSeconds(155), (await admin.GetKeyAsync(key.Id)).LastUsedAt);
    }

    [Fact]
    public async Task Failed_authentication_does_not_set_last_used_at()
    {
        await using var hub = await HubTestHost.StartAsync();
        var key = await hub.CreateKeyAsync(HubTestHost.UniqueUser(), "auditor");

        Assert.Equal(HttpStatusCode.Unauthorized, (await hub.Http(FakeKey(key.Id)).GetAsync("/api/v1/me")).StatusCode);

        Assert.Null((await hub.AdminClient().GetKeyAsync(key.Id)).LastUsedAt);
    }

    public static TheoryData<string> CredentialQueries => new()
    {
        "api_key={key}",
        "access_token={key}",
        "API_KEY={key}",
        "apikey=anything",
        "api-key=anything",
        "token=anything",
        "q={key}",
        "note=ahk_",
        "limit=10&x={key}",
        "{key}", // the whole key pasted as the query string: a parameter name, not a value
        "limit=10&{key}=1",
    };

    [Theory]
    [MemberData(nameof(CredentialQueries))]
    public async Task Credential_in_query_string_gets_400_and_never_authenticates(string query)
    {
        await using var hub = await HubTestHost.StartAsync();
        var key = await hub.CreateKeyAsync(HubTestHost.UniqueUser(), "admin");
        var url = "/api/v1/me?" + query.Replace("{key}", key.Key, StringComparison.Ordinal);

        using var withoutHeader = await hub.Http().GetAsync(url);
        using var withHeader = await hub.Http(key.Key).GetAsync(url);
        using var health = await hub.Http().GetAsync("/healthz?" + query.Replace("{key}", key.Key, StringComparison.Ordinal));

        foreach (var response in new[] { withoutHeader, withHeader, health })
        {
            var problem = await WebAssert.CleanProblemAsync(response, HttpStatusCode.BadRequest);
            Assert.Equal("Credential in query string", problem.Title);
            Assert.DoesNotContain(key.Key, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Null((await hub.AdminClient().GetKeyAsync(key.Id)).LastUsedAt);
        Assert.DoesNotContain(hub.Logs.Lines, l => l.Contains(key.Key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Credential_in_query_string_is_recorded_as_an_auth_failure_without_the_credential()
    {
        await using var hub = await HubTestHost.StartAsync();
        var key = await hub.CreateKeyAsync(HubTestHost.UniqueUser(), "admin");

        using var refused = await hub.Http().GetAsync("/api/v1/me?api_key=" + key.Key);
        using var again = await hub.Http().GetAsync("/api/v1/agents?q=" + key.Key);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var audit = await hub.Http(hub.AdminKey).GetStringAsync("/api/v1/audit?type=auth.failure&limit=200");
        Assert.DoesNotContain(key.Key, audit, StringComparison.Ordinal);
        var records = JsonDocument.Parse(audit).RootElement.GetProperty("items").EnumerateArray()
            .Select(r => r.GetProperty("details"))
            .Where(d => d.GetProperty("reason").GetString() == "credential_in_query")
            .ToList();
        Assert.Equal(["/api/v1/me", "/api/v1/agents"], records.Select(d => d.GetProperty("path").GetString()));
        Assert.Single(records.Select(d => d.GetProperty("credential_hmac").GetString()).Distinct()); // the same key, found again
    }

    [Fact]
    public async Task Query_without_credentials_is_not_refused()
    {
        await using var hub = await HubTestHost.StartAsync();

        using var response = await hub.Http(hub.AdminKey).GetAsync("/api/v1/keys?limit=5&principal=user%3Aadmin");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>A well-formed key that the hub never issued (a random secret), for the given key id.</summary>
    private static string FakeKey(string keyId)
    {
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var key = $"ahk_{keyId}_{secret}";
        TestArtifacts.Secret(key);
        return key;
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using AgentHub.Client;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Web;

/// <summary>Every answer, success or refusal, carries the same defensive headers; only the JWKS may be cached.</summary>
public sealed class SecurityHeadersTests(SecurityHeadersTests.HubFixture fixture) : IClassFixture<SecurityHeadersTests.HubFixture>
{
    /// <summary>method, path, who asks (none, admin, auditor), body or null, expected status.</summary>
    public static TheoryData<string, string, string, string?, int> Responses => new()
    {
        { "GET", "/api/v1/me", "admin", null, 200 },
        { "GET", "/api/v1/keys", "admin", null, 200 },
        { "GET", "/api/v1/principals", "admin", null, 200 },
        { "GET", "/api/v1/signing-keys", "admin", null, 200 },
        { "GET", "/api/v1/me", "none", null, 401 },
        { "GET", "/api/v1/principals", "auditor", null, 403 },
        { "GET", "/api/v1/no-such-route", "admin", null, 404 },
        { "GET", "/api/v1/keys/no-such-key", "admin", null, 404 },
        { "PUT", "/api/v1/me", "admin", "{}", 405 },
        { "POST", "/api/v1/keys", "admin", """{"principal":""", 400 },
        { "POST", "/api/v1/keys", "admin", "{}", 400 },
        { "GET", "/api/v1/me?api_key=x", "none", null, 400 },
        { "GET", "/healthz", "none", null, 200 },
        { "GET", "/readyz", "none", null, 200 },
        { "TRACE", "/api/v1/me", "none", null, 405 },
        { "TRACE", "/healthz", "none", null, 405 },
    };

    [Theory]
    [MemberData(nameof(Responses))]
    public async Task Response_carries_security_headers_and_no_store(string method, string path, string caller, string? body, int status)
    {
        var key = caller switch
        {
            "admin" => fixture.Hub.AdminKey,
            "auditor" => (await fixture.Hub.CreateKeyAsync(HubTestHost.UniqueUser(), "auditor")).Key,
            _ => null,
        };
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await fixture.Hub.Http(key).SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        WebAssert.SecurityHeaders(response);
    }

    [Fact]
    public async Task Key_creation_response_carrying_the_secret_is_never_stored()
    {
        using var response = await fixture.Hub.Http(fixture.Hub.AdminKey).PostAsJsonAsync("/api/v1/keys",
            new { principal = HubTestHost.UniqueUser(), role = "operator" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<CreatedKey>();
        TestArtifacts.Secret(created!.Key);
        WebAssert.SecurityHeaders(response);
        Assert.True(response.Headers.CacheControl!.NoStore);
        Assert.False(response.Headers.CacheControl.Public);
        Assert.Null(response.Headers.CacheControl.MaxAge);
    }

    [Fact]
    public async Task Jwks_may_be_cached_publicly_for_a_minute()
    {
        using var response = await fixture.Hub.Http().GetAsync("/.well-known/jwks.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        WebAssert.SecurityHeaders(response, expectedCacheControl: "public, max-age=60");
        Assert.Equal(TimeSpan.FromSeconds(60), response.Headers.CacheControl!.MaxAge);
    }

    [Theory]
    [InlineData("Limits:PrincipalBurst", "Limits:PrincipalRequestsPerSecond", "admin")]
    [InlineData("Limits:AddressBurst", "Limits:AddressRequestsPerSecond", "none")]
    public async Task Rate_limited_response_carries_security_headers(string burstSetting, string rateSetting, string caller)
    {
        await using var hub = await HubTestHost.StartAsync(settings: new Dictionary<string, string?>
        {
            [burstSetting] = "2",
            [rateSetting] = "1",
        });
        using var http = hub.Http(caller == "admin" ? hub.AdminKey : null);

        // The bucket holds 2 and refills 1/s: within a few requests one is refused.
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 50 && refused is null; i++)
        {
            var response = await http.GetAsync("/api/v1/me");
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
            }
            else
            {
                response.Dispose();
            }
        }

        Assert.NotNull(refused);
        using (refused)
        {
            await WebAssert.CleanProblemAsync(refused, HttpStatusCode.TooManyRequests);
            WebAssert.SecurityHeaders(refused);
        }
    }

    [Fact]
    public async Task Real_process_sends_no_server_header_and_no_hsts_over_plain_http()
    {
        using var data = new TempDirectory();
        await using var process = await HubProcess.StartAsync(data.Path);
        var adminKey = (await File.ReadAllTextAsync(Path.Combine(data.Path, "bootstrap-admin.key"))).Trim();
        TestArtifacts.Secret(adminKey);
        TestArtifacts.Secret((await File.ReadAllTextAsync(Path.Combine(data.Path, "master.key"))).Trim());
        using var http = new HttpClient { BaseAddress = process.Url };

        using var ok = await Send(http, HttpMethod.Get, "/api/v1/me", adminKey);
        using var unauthorized = await Send(http, HttpMethod.Get, "/api/v1/me", null);
        using var notFound = await Send(http, HttpMethod.Get, "/nope", adminKey);
        using var health = await Send(http, HttpMethod.Get, "/healthz", null);
        using var trace = await Send(http, HttpMethod.Trace, "/api/v1/me", adminKey);

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        await WebAssert.CleanProblemAsync(trace, HttpStatusCode.MethodNotAllowed);
        Assert.DoesNotContain("TRACE", trace.Content.Headers.Allow);
        foreach (var response in new[] { ok, unauthorized, notFound, health, trace })
        {
            Assert.Empty(response.Headers.Server);
            Assert.False(response.Headers.Contains("Strict-Transport-Security"));
        }
    }

    private static Task<HttpResponseMessage> Send(HttpClient http, HttpMethod method, string path, string? key)
    {
        var request = new HttpRequestMessage(method, path);
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return http.SendAsync(request);
    }

    public sealed class HubFixture : IAsyncLifetime
    {
        public HubTestHost Hub { get; private set; } = null!;

        public async Task InitializeAsync() => Hub = await HubTestHost.StartAsync();

        public async Task DisposeAsync() => await Hub.DisposeAsync();
    }
}

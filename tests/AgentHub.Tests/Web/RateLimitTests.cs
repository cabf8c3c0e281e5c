using System.Diagnostics;
using System.Net;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Web;

/// <summary>
/// Token buckets at their defaults: per principal 100/s with a burst of 200, per client address 200/s with a burst
/// of 400. What a bucket accepts is bounded by its size plus what refills while the requests run.
/// </summary>
[Collection(TimingSensitiveCollection.Name)]
public sealed class RateLimitTests
{
    // The address bucket is not under test on the test server (all its requests share one address).
    private static readonly Dictionary<string, string?> UnlimitedAddresses = new()
    {
        ["Limits:AddressBurst"] = "1000000",
        ["Limits:AddressRequestsPerSecond"] = "1000000",
    };

    [Fact]
    public async Task Principal_over_its_default_burst_gets_429_with_retry_after_and_another_principal_is_unaffected()
    {
        await using var hub = await HubTestHost.StartAsync(settings: UnlimitedAddresses);
        var flooder = await hub.CreateKeyAsync(HubTestHost.UniqueUser("flood"), "operator");
        var bystander = await hub.CreateKeyAsync(HubTestHost.UniqueUser("calm"), "operator");
        using var http = hub.Http(flooder.Key);

        var clock = Stopwatch.StartNew();
        var responses = await Task.WhenAll(Enumerable.Range(0, 400).Select(_ => http.GetAsync("/api/v1/me")));
        var elapsed = clock.Elapsed;
        using var afterwards = await hub.Http(bystander.Key).GetAsync("/api/v1/me");

        var accepted = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(400, accepted + refused.Count);
        var bound = 200 + (100 * (int)Math.Ceiling(elapsed.TotalSeconds));
        Assert.True(accepted >= 200 && accepted <= bound, $"{accepted} accepted in {elapsed.TotalMilliseconds:F0} ms; expected 200..{bound}");
        Assert.NotEmpty(refused);
        foreach (var response in refused)
        {
            Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), $"Retry-After: {response.Headers.RetryAfter}");
            var problem = await WebAssert.CleanProblemAsync(response, HttpStatusCode.TooManyRequests);
            Assert.Equal("This principal exceeded its request rate.", problem.Detail);
        }

        Assert.Equal(HttpStatusCode.OK, afterwards.StatusCode);
    }

    [Fact]
    public async Task Configured_principal_rate_is_honoured()
    {
        var settings = new Dictionary<string, string?>(UnlimitedAddresses)
        {
            ["Limits:PrincipalBurst"] = "5",
            ["Limits:PrincipalRequestsPerSecond"] = "1",
        };
        await using var hub = await HubTestHost.StartAsync(settings: settings);
        var key = await hub.CreateKeyAsync(HubTestHost.UniqueUser(), "auditor");
        using var http = hub.Http(key.Key);

        var clock = Stopwatch.StartNew();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 20; i++)
        {
            using var response = await http.GetAsync("/api/v1/me");
            statuses.Add(response.StatusCode);
        }

        var accepted = statuses.Count(s => s == HttpStatusCode.OK);
        var bound = 5 + (int)Math.Ceiling(clock.Elapsed.TotalSeconds);
        Assert.True(accepted >= 5 && accepted <= bound, $"{accepted} accepted in {clock.ElapsedMilliseconds} ms; expected 5..{bound}");
        Assert.All(statuses.Take(5), s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(20 - accepted, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
    }

    [Fact]
    public async Task Configured_address_rate_limits_before_authentication_but_never_health()
    {
        await using var hub = await HubTestHost.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Limits:AddressBurst"] = "3",
            ["Limits:AddressRequestsPerSecond"] = "1",
        });
        using var anonymous = hub.Http();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            using var response = await anonymous.GetAsync("/api/v1/me");
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, statuses[0]);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        // The address is spent, whoever asks: a valid key does not help (at 1/s, a few quick tries cannot all pass).
        using var admin = hub.Http(hub.AdminKey);
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 5 && refused is null; i++)
        {
            var response = await admin.GetAsync("/api/v1/me");
            refused = response.StatusCode == HttpStatusCode.TooManyRequests ? response : null;
        }

        Assert.NotNull(refused);
        var problem = await WebAssert.CleanProblemAsync(refused, HttpStatusCode.TooManyRequests);
        Assert.Equal("This client address exceeded its request rate.", problem.Detail);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(i % 2 == 0 ? "/healthz" : "/readyz")).StatusCode);
        }
    }

    [Fact]
    public async Task Address_over_its_default_burst_gets_429_on_the_real_process_and_health_is_never_limited()
    {
        using var data = new TempDirectory();
        await using var process = await HubProcess.StartAsync(data.Path);
        TestArtifacts.Secret((await File.ReadAllTextAsync(Path.Combine(data.Path, "bootstrap-admin.key"))).Trim());
        TestArtifacts.Secret((await File.ReadAllTextAsync(Path.Combine(data.Path, "master.key"))).Trim());
        using var http = new HttpClient { BaseAddress = process.Url };

        var clock = Stopwatch.StartNew();
        var unauthorized = 0;
        List<HttpResponseMessage> refused = [];
        for (var batch = 0; batch < 50 && refused.Count == 0; batch++)
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => http.GetAsync("/api/v1/me")));
            unauthorized += responses.Count(r => r.StatusCode == HttpStatusCode.Unauthorized);
            refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
            Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests }));
        }

        var elapsed = clock.Elapsed;
        var health = await Task.WhenAll(Enumerable.Range(0, 300).Select(i => http.GetAsync(i % 2 == 0 ? "/healthz" : "/readyz")));

        Assert.NotEmpty(refused);
        var bound = 400 + (200 * (int)Math.Ceiling(elapsed.TotalSeconds));
        Assert.True(unauthorized >= 400 && unauthorized <= bound, $"{unauthorized} let through in {elapsed.TotalMilliseconds:F0} ms; expected 400..{bound}");
        var first = refused[0];
        Assert.True(first.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), $"Retry-After: {first.Headers.RetryAfter}");
        var problem = await WebAssert.CleanProblemAsync(first, HttpStatusCode.TooManyRequests);
        Assert.Equal("This client address exceeded its request rate.", problem.Detail);
        Assert.All(health, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
    }
}

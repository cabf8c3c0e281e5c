using System.Diagnostics;
using AgentHub.Tests.Infrastructure;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Options;

namespace AgentHub.Tests.Web;

/// <summary>CORS is off unless origins are configured; a configuration that would let any site use credentials does not start.</summary>
public sealed class CorsTests
{
    private const string Allowed = "https://app.example.com";

    [Theory]
    [InlineData("https://app.example.com")]
    [InlineData("http://localhost:3000")]
    [InlineData("null")]
    public async Task Without_configuration_no_origin_is_allowed(string origin)
    {
        await using var hub = await HubTestHost.StartAsync();

        using var preflight = await hub.Http().SendAsync(Preflight(origin));
        using var simple = await hub.Http(hub.AdminKey).SendAsync(Get(origin));

        Assert.Equal(System.Net.HttpStatusCode.OK, simple.StatusCode);
        foreach (var response in new[] { preflight, simple })
        {
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"), $"{response.RequestMessage!.Method}: {response.Headers}");
            Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
        }
    }

    [Fact]
    public async Task Configured_origin_is_allowed_and_another_is_not()
    {
        await using var hub = await HubTestHost.StartAsync(settings: new Dictionary<string, string?> { ["Cors:AllowedOrigins:0"] = Allowed });

        using var allowedPreflight = await hub.Http().SendAsync(Preflight(Allowed));
        using var allowedGet = await hub.Http(hub.AdminKey).SendAsync(Get(Allowed));
        using var otherPreflight = await hub.Http().SendAsync(Preflight("https://evil.example.com"));
        using var otherGet = await hub.Http(hub.AdminKey).SendAsync(Get("https://evil.example.com"));
        using var lookalike = await hub.Http().SendAsync(Preflight("https://app.example.com.evil.example"));

        Assert.True(allowedPreflight.IsSuccessStatusCode, allowedPreflight.ToString());
        Assert.Equal(Allowed, WebAssert.Header(allowedPreflight, "Access-Control-Allow-Origin"));
        Assert.Contains("GET", WebAssert.Header(allowedPreflight, "Access-Control-Allow-Methods") ?? "", StringComparison.Ordinal);
        Assert.Contains("authorization", (WebAssert.Header(allowedPreflight, "Access-Control-Allow-Headers") ?? "").ToLowerInvariant(), StringComparison.Ordinal);
        Assert.False(allowedPreflight.Headers.Contains("Access-Control-Allow-Credentials"));
        Assert.Equal(Allowed, WebAssert.Header(allowedGet, "Access-Control-Allow-Origin"));
        Assert.Equal(System.Net.HttpStatusCode.OK, allowedGet.StatusCode);
        foreach (var response in new[] { otherPreflight, otherGet, lookalike })
        {
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"), response.ToString());
        }
    }

    [Theory]
    [InlineData("Cors:AllowedOrigins:0", "*", "Cors:AllowCredentials", "true", "Cors:AllowCredentials")]
    [InlineData("Cors:AllowedOrigins:0", "https://app.example.com/", "Cors:AllowCredentials", "false", "Cors:AllowedOrigins")]
    [InlineData("Cors:AllowedOrigins:0", "app.example.com", "Cors:AllowCredentials", "false", "Cors:AllowedOrigins")]
    [InlineData("Cors:AllowedOrigins:0", "ftp://app.example.com", "Cors:AllowCredentials", "false", "Cors:AllowedOrigins")]
    public async Task Invalid_cors_configuration_stops_start_naming_the_key(string key1, string value1, string key2, string value2, string named)
    {
        using var data = new TempDirectory();
        var settings = new Dictionary<string, string?> { ["Data"] = data.Path, [key1] = value1, [key2] = value2 };

        var error = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = HubApp.Build(settings, configure: b => b.WebHost.UseTestServer());
            await app.StartAsync();
        });

        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Process_with_wildcard_origin_and_credentials_exits_1_naming_the_key()
    {
        using var data = new TempDirectory();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { HubProcess.ExecutablePath, "serve", "--data", data.Path, "--urls", "http://127.0.0.1:0" })
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var inherited in info.Environment.Keys.Where(k => k.StartsWith("AGENTHUB_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(inherited);
        }

        info.Environment["AGENTHUB_CORS__ALLOWEDORIGINS__0"] = "*";
        info.Environment["AGENTHUB_CORS__ALLOWCREDENTIALS"] = "true";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true); // it started instead of refusing: the assertions below say so
            }
        }

        var output = await stdout + await stderr;
        TestArtifacts.Log(output);
        Assert.Equal(1, process.ExitCode);
        Assert.Contains("Cors:AllowCredentials", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    private static HttpRequestMessage Preflight(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/api/v1/me");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "GET");
        request.Headers.Add("Access-Control-Request-Headers", "authorization");
        return request;
    }

    private static HttpRequestMessage Get(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
        request.Headers.Add("Origin", origin);
        return request;
    }
}

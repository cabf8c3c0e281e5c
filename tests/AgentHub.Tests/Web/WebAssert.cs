using System.Net;
using System.Net.Http.Headers;
using AgentHub.Client;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Web;

/// <summary>Tests that count requests per second or hold thousands of sockets run alone, so other suites cannot skew them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingSensitiveCollection
{
    public const string Name = "Web timing-sensitive";
}

internal static class WebAssert
{
    /// <summary>Problem details that leak nothing internal: no stack trace, no .NET namespace or type name.</summary>
    public static async Task<Problem> CleanProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var problem = await HttpAssert.ProblemAsync(response, status);
        NoInternals(await response.Content.ReadAsStringAsync());
        return problem;
    }

    public static void NoInternals(string body)
    {
        foreach (var leak in new[] { "AgentHub.", "System.", "Microsoft.", "   at ", "Exception" })
        {
            Assert.False(body.Contains(leak, StringComparison.Ordinal), $"response body leaks '{leak}': {body}");
        }
    }

    /// <summary>The headers every answer of the hub carries.</summary>
    public static void SecurityHeaders(HttpResponseMessage response, string expectedCacheControl = "no-store")
    {
        var what = $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} -> {(int)response.StatusCode}";
        Assert.True(Header(response, "X-Content-Type-Options") == "nosniff", $"{what}: X-Content-Type-Options is '{Header(response, "X-Content-Type-Options")}'");
        Assert.True(Header(response, "Referrer-Policy") == "no-referrer", $"{what}: Referrer-Policy is '{Header(response, "Referrer-Policy")}'");
        Assert.True(Header(response, "Content-Security-Policy") == "default-src 'none'; frame-ancestors 'none'",
            $"{what}: Content-Security-Policy is '{Header(response, "Content-Security-Policy")}'");
        Assert.True(Header(response, "X-Frame-Options") == "DENY", $"{what}: X-Frame-Options is '{Header(response, "X-Frame-Options")}'");
        var cacheControl = response.Headers.CacheControl;
        if (expectedCacheControl == "no-store")
        {
            Assert.True(cacheControl?.NoStore == true, $"{what}: Cache-Control is '{cacheControl}'");
        }
        else
        {
            Assert.Equal(CacheControlHeaderValue.Parse(expectedCacheControl), cacheControl);
        }

        Assert.False(response.Headers.Contains("Strict-Transport-Security"), $"{what}: HSTS over plain HTTP");
    }

    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : null;
}

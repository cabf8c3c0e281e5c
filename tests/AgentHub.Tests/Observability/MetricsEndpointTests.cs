using System.Net;
using AgentHub.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentHub.Tests.Observability;

/// <summary><c>/metrics</c> on the main listener (here the in-memory test server, which has no metrics listener).</summary>
public sealed class MetricsEndpointTests
{
    [Fact]
    public async Task Metrics_on_the_main_listener_needs_a_key()
    {
        await using var hub = await HubTestHost.StartAsync();

        var response = await hub.Http().GetAsync("/metrics");

        await HttpAssert.ProblemAsync(response, HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("operator", HttpStatusCode.Forbidden)]
    [InlineData("auditor", HttpStatusCode.OK)]
    [InlineData("admin", HttpStatusCode.OK)]
    public async Task Metrics_on_the_main_listener_is_for_auditors_and_admins(string role, HttpStatusCode expected)
    {
        await using var hub = await HubTestHost.StartAsync();
        var key = await hub.CreateKeyAsync(HubTestHost.UniqueUser(role), role);

        var response = await hub.Http(key.Key).GetAsync("/metrics");

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.OK)
        {
            Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
            Assert.Contains("# TYPE process_cpu_seconds_total counter", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_endpoint_names_the_auditor_policy()
    {
        await using var hub = await HubTestHost.StartAsync();

        var endpoint = hub.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Single(e => e.RoutePattern.RawText == "/metrics");

        Assert.Null(endpoint.Metadata.GetMetadata<IAllowAnonymous>());
        Assert.Equal(["auditor"], endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy));
    }

    [Fact]
    public async Task Requests_are_counted_by_route_template_never_by_raw_path()
    {
        await using var hub = await HubTestHost.StartAsync();
        var admin = hub.Http(hub.AdminKey);
        var created = await hub.CreateKeyAsync(HubTestHost.UniqueUser(), "auditor");
        var unknownPath = "/no-such-" + Guid.NewGuid().ToString("N");

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/v1/keys/{created.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync(unknownPath)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await hub.Http().GetAsync("/healthz")).StatusCode);
        var text = await admin.GetStringAsync("/metrics");

        var samples = Exposition.Samples(text);
        Assert.Equal(1, samples["agenthub_http_requests_total{route=\"/api/v1/keys/{id}\",method=\"GET\",status=\"200\"}"]);
        Assert.Equal(1, samples["agenthub_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}"]);
        Assert.Equal(1, samples["agenthub_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"}"]);
        Assert.Equal(1, samples["agenthub_http_request_duration_seconds_count{route=\"/healthz\",method=\"GET\",status=\"200\"}"]);
        Assert.DoesNotContain(created.Id, text, StringComparison.Ordinal);
        Assert.DoesNotContain(unknownPath, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refused_credentials_are_counted_by_reason_with_the_status_the_caller_saw()
    {
        await using var hub = await HubTestHost.StartAsync();

        for (var i = 0; i < 3; i++)
        {
            await HttpAssert.ProblemAsync(await hub.Http("not-a-key").GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized);
        }

        await HttpAssert.ProblemAsync(await hub.Http("ahk_abcdefghijklmnop_" + new string('x', 43)).GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized);
        var samples = Exposition.Samples(await hub.Http(hub.AdminKey).GetStringAsync("/metrics"));

        Assert.Equal(3, samples["agenthub_auth_failures_total{reason=\"malformed\"}"]);
        Assert.Equal(1, samples["agenthub_auth_failures_total{reason=\"invalid\"}"]);
        Assert.Equal(4, samples["agenthub_http_requests_total{route=\"/api/v1/me\",method=\"GET\",status=\"401\"}"]);
        Assert.True(samples["agenthub_audit_batch_size_count"] >= 1); // the failures were audited
    }
}

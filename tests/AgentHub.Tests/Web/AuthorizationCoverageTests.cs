using AgentHub.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace AgentHub.Tests.Web;

/// <summary>Default deny, checked structurally: every endpoint states who may call it.</summary>
public sealed class AuthorizationCoverageTests
{
    [Fact]
    public async Task Every_endpoint_names_a_policy_or_is_explicitly_anonymous()
    {
        await using var hub = await HubTestHost.StartAsync();
        var endpoints = HubEndpoints.All(hub.Services);

        Assert.NotEmpty(endpoints);
        var offending = HubEndpoints.WithoutAuthorizationDecision(endpoints);
        Assert.True(offending.Count == 0,
            "endpoints with neither an authorization policy nor AllowAnonymous:\n  " + string.Join("\n  ", offending));
    }

    [Fact]
    public async Task Every_policy_an_endpoint_names_is_registered()
    {
        await using var hub = await HubTestHost.StartAsync();
        var provider = hub.Services.GetRequiredService<IAuthorizationPolicyProvider>();

        var unknown = new List<string>();
        foreach (var endpoint in HubEndpoints.All(hub.Services))
        {
            foreach (var policy in endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(d => d.Policy).OfType<string>())
            {
                if (await provider.GetPolicyAsync(policy) is null)
                {
                    unknown.Add($"{HubEndpoints.Describe(endpoint)} names unknown policy '{policy}'");
                }
            }
        }

        Assert.True(unknown.Count == 0, string.Join('\n', unknown));
    }

    [Fact]
    public void Coverage_check_reports_an_endpoint_without_authorization_metadata()
    {
        var bare = Endpoint("/bare", new HttpMethodMetadata(["GET"]));
        var anonymous = Endpoint("/open", new HttpMethodMetadata(["GET"]), new AllowAnonymousAttribute());
        var guarded = Endpoint("/guarded", new HttpMethodMetadata(["POST"]), new AuthorizeAttribute("admin"));

        var offending = HubEndpoints.WithoutAuthorizationDecision([bare, anonymous, guarded]);

        Assert.Equal(["GET /bare"], offending);
    }

    private static RouteEndpoint Endpoint(string pattern, params object[] metadata) =>
        new(_ => Task.CompletedTask, RoutePatternFactory.Parse(pattern), 0, new EndpointMetadataCollection(metadata), pattern);
}

internal static class HubEndpoints
{
    public static IReadOnlyList<RouteEndpoint> All(IServiceProvider services) =>
        services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();

    public static IReadOnlyList<string> WithoutAuthorizationDecision(IEnumerable<RouteEndpoint> endpoints) =>
        endpoints
            .Where(e => e.Metadata.GetMetadata<IAllowAnonymous>() is null && !e.Metadata.GetOrderedMetadata<IAuthorizeData>().Any())
            .Select(Describe)
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>"GET /api/v1/keys/{id}"; "*" when the endpoint accepts any method (health checks).</summary>
    public static string Describe(RouteEndpoint endpoint) => $"{string.Join(',', Methods(endpoint))} {Pattern(endpoint)}";

    public static IReadOnlyList<string> Methods(RouteEndpoint endpoint) =>
        endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods is { Count: > 0 } methods ? [.. methods] : ["*"];

    /// <summary>The route template without a trailing slash ("/api/v1/keys/" from a group is "/api/v1/keys").</summary>
    public static string Pattern(RouteEndpoint endpoint)
    {
        var raw = endpoint.RoutePattern.RawText ?? "";
        var trimmed = raw.Length > 1 ? raw.TrimEnd('/') : raw;
        return trimmed.StartsWith('/') ? trimmed : "/" + trimmed;
    }
}

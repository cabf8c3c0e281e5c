using AgentHub.Agents;
using Microsoft.Extensions.Options;

namespace AgentHub.Relay;

internal static class RelayServiceCollectionExtensions
{
    public static IServiceCollection AddRelay(this IServiceCollection services)
    {
        services.AddOptions<RelayOptions>().BindConfiguration(RelayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<TaskOwners>();
        services.AddSingleton<ConcurrencyGate>();
        services.AddSingleton<HubTokens>();
        // Pooled connections to agents: no redirects, no cookies, no proxy, connect only where the SSRF guard allows.
        services.AddHttpClient(RelayEndpoint.ClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => AgentsServiceCollectionExtensions.Handler(
                sp.GetRequiredService<UrlGuard>(), sp.GetRequiredService<IOptions<RelayOptions>>().Value.ConnectTimeout))
            .RemoveAllLoggers();
        return services;
    }
}

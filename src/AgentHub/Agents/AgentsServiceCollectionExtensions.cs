namespace AgentHub.Agents;

internal static class AgentsServiceCollectionExtensions
{
    public static IServiceCollection AddAgents(this IServiceCollection services)
    {
        services.AddOptions<AgentsOptions>().BindConfiguration(AgentsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<UrlGuard>();
        services.AddSingleton<CardFetcher>();
        services.AddSingleton<IAgentStore, AgentStore>();
        services.AddSingleton<ServedCards>();
        services.AddSingleton<AgentHealthProbe>();
        services.AddHostedService(sp => sp.GetRequiredService<AgentHealthProbe>());

        // Outbound calls to agents: never follow redirects, never a proxy, and connect only to addresses the guard allows.
        services.AddHttpClient(CardFetcher.ClientName, c => c.Timeout = CardFetcher.TotalTimeout)
            .ConfigurePrimaryHttpMessageHandler(sp => Handler(sp.GetRequiredService<UrlGuard>(), CardFetcher.ConnectTimeout))
            .RemoveAllLoggers();
        services.AddHttpClient(AgentHealthProbe.ClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => Handler(sp.GetRequiredService<UrlGuard>(), CardFetcher.ConnectTimeout))
            .RemoveAllLoggers();
        return services;
    }

    internal static SocketsHttpHandler Handler(UrlGuard guard, TimeSpan connectTimeout) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        ConnectTimeout = connectTimeout,
        ConnectCallback = guard.ConnectAsync,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
    };
}

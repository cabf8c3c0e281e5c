namespace AgentHub.Signatures;

internal static class SignaturesServiceCollectionExtensions
{
    public static IServiceCollection AddSignatures(this IServiceCollection services)
    {
        services.AddOptions<SignaturesOptions>().BindConfiguration(SignaturesOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<AgentKeyStore>();
        services.AddSingleton<ReplayCache>();
        services.AddSingleton<InboundSignatures>();
        services.AddSingleton<OutboundSigner>();
        services.AddSingleton<Relay.Delegation>();
        services.AddHostedService<ReplayCachePurger>();
        return services;
    }
}

using AgentHub.Vault;
using Microsoft.Extensions.Options;

namespace AgentHub.Storage;

internal static class StorageServiceCollectionExtensions
{
    public static IServiceCollection AddStorage(this IServiceCollection services)
    {
        Dapper.DefaultTypeMap.MatchNamesWithUnderscores = true;
        services.AddOptions<HubOptions>().BindConfiguration("").ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<HubOptions>>().Value;
            return HubDatabase.Open(options.Database, options.Data);
        });
        services.AddSingleton<Migrator>();
        services.AddSingleton<GroupCommit>();
        return services;
    }

    public static IServiceCollection AddVault(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<HubOptions>>().Value;
            return MasterKey.Load(options.MasterKey, DataDirectory.Ensure(options.Data));
        });
        services.AddSingleton<SecretBox>();
        return services;
    }
}

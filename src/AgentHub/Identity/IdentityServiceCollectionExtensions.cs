using Microsoft.AspNetCore.Authorization;

namespace AgentHub.Identity;

internal static class IdentityServiceCollectionExtensions
{
    public static IServiceCollection AddIdentity(this IServiceCollection services)
    {
        services.AddSingleton<IApiKeyStore, ApiKeyStore>();
        services.AddSingleton<IPrincipalStore, PrincipalStore>();
        services.AddSingleton<SigningKeyStore>();
        services.AddSingleton<Bootstrap>();

        // Authentication core and this one scheme, without AddAuthentication(): that also registers Data Protection,
        // whose start-up service builds a key ring (XML) for cookies this hub never issues. Nothing here encrypts with it.
        services.AddAuthenticationCore(o =>
        {
            o.DefaultScheme = ApiKeyAuthenticationHandler.SchemeName;
            o.AddScheme<ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        });
        // The handler is per request; registered, the container builds it (the authentication provider asks it first)
        // instead of ActivatorUtilities matching the constructor by reflection on every request.
        services.AddTransient<ApiKeyAuthenticationHandler>();
        services.AddWebEncoders();

        // Default deny: an endpoint that names no policy still needs a credential.
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(Policies.Authenticated, p => p.RequireAuthenticatedUser())
            .AddPolicy(Policies.Admin, p => p.RequireRole(Roles.Admin))
            .AddPolicy(Policies.Operator, p => p.RequireRole(Roles.Admin, Roles.Operator))
            .AddPolicy(Policies.Auditor, p => p.RequireRole(Roles.Admin, Roles.Auditor));
        return services;
    }
}

using System.Xml.Linq;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace AgentHub.Identity;

internal static class IdentityServiceCollectionExtensions
{
    public static IServiceCollection AddIdentity(this IServiceCollection services)
    {
        services.AddSingleton<IApiKeyStore, ApiKeyStore>();
        services.AddSingleton<IPrincipalStore, PrincipalStore>();
        services.AddSingleton<SigningKeyStore>();
        services.AddSingleton<Bootstrap>();

        // Nothing here uses Data Protection (no cookies), but authentication registers it: keep its keys in memory
        // so the hub never writes key files to ~/.aspnet.
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        services.Configure<KeyManagementOptions>(o => o.XmlRepository = new InMemoryXmlRepository());
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);

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

internal sealed class InMemoryXmlRepository : IXmlRepository
{
    private readonly List<XElement> _elements = [];
    private readonly Lock _lock = new();

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        lock (_lock)
        {
            return _elements.Select(e => new XElement(e)).ToList();
        }
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        lock (_lock)
        {
            _elements.Add(new XElement(element));
        }
    }
}

using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;

namespace AgentHub.Web;

/// <summary>Cross-cutting HTTP: ProblemDetails, JSON, validation, limits, TLS, CORS, security headers.</summary>
internal static class WebServiceCollectionExtensions
{
    public static IServiceCollection AddWeb(this IServiceCollection services)
    {
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            c.ProblemDetails.Extensions["traceId"] = c.HttpContext.TraceIdentifier;
            c.ProblemDetails.Extensions.Remove("exception");
            c.ProblemDetails.Detail = c.ProblemDetails.Detail is { } detail ? CredentialRedaction.Redact(detail) : null;
            if (c.ProblemDetails is HttpValidationProblemDetails validation)
            {
                // Name fields as they appear in the JSON body, not as C# properties; no credential quoted back.
                var errors = validation.Errors.ToDictionary(
                    e => System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(e.Key),
                    e => Array.ConvertAll(e.Value, CredentialRedaction.Redact));
                validation.Errors.Clear();
                foreach (var (field, messages) in errors)
                {
                    validation.Errors[field] = messages;
                }
            }
        });
        services.AddExceptionHandler<HubExceptionHandler>();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, HubJsonContext.Default);
            o.SerializerOptions.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow;
            o.SerializerOptions.AllowDuplicateProperties = false; // one name, one value: no parser differential
            o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
            o.SerializerOptions.Converters.Add(new UtcTimeConverter());
        });
        // A malformed body throws to the exception handler, which answers ProblemDetails naming what is wrong.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddValidation();

        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<TlsOptions>().BindConfiguration(TlsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<HubCorsOptions>().BindConfiguration(HubCorsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<RateLimits>();

        services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitsOptions>, IOptions<TlsOptions>>((kestrel, limits, tls) =>
        {
            var l = limits.Value;
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = l.MaxRequestBodyBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = l.MaxRequestHeadersTotalBytes;
            kestrel.Limits.MaxRequestHeaderCount = l.MaxRequestHeaderCount;
            kestrel.Limits.MaxConcurrentConnections = l.MaxConcurrentConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = l.MaxConcurrentConnections;
            kestrel.Limits.RequestHeadersTimeout = l.RequestHeadersTimeout;
            if (tls.Value.Enabled)
            {
                var certificate = X509Certificate2.CreateFromPemFile(tls.Value.Cert!, tls.Value.Key);
                kestrel.ConfigureHttpsDefaults(https =>
                {
                    https.ServerCertificate = certificate;
                    https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
                });
            }
        });

        services.AddOptions<SocketTransportOptions>().Configure<IOptions<LimitsOptions>>((sockets, limits) =>
            sockets.Backlog = limits.Value.ListenBacklog);

        services.AddCors();
        services.AddOptions<Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions>().Configure<IOptions<HubCorsOptions>>((cors, hub) =>
        {
            var origins = hub.Value.AllowedOrigins;
            cors.AddDefaultPolicy(policy =>
            {
                if (origins.Contains("*"))
                {
                    policy.AllowAnyOrigin();
                }
                else
                {
                    policy.WithOrigins([.. origins]);
                }

                policy.WithMethods("GET", "POST", "PUT", "DELETE").WithHeaders("Authorization", "Content-Type", "A2A-Version");
                if (hub.Value.AllowCredentials)
                {
                    policy.AllowCredentials();
                }
            });
        });
        return services;
    }

    public static WebApplication UseWeb(this WebApplication app)
    {
        app.UseMiddleware<Observability.HttpMetricsMiddleware>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<SecurityHeadersMiddleware>();
        app.UseMiddleware<QueryCredentialGuardMiddleware>();
        // A connection to the metrics listener gets /metrics or 404 here, before routing, authentication or any endpoint.
        app.UseMiddleware<Observability.MetricsListenerMiddleware>();
        app.UseRouting();
        app.Use(Observability.RouteCapture.Capture);
        if (app.Services.GetRequiredService<IOptions<HubCorsOptions>>().Value.AllowedOrigins.Count > 0)
        {
            app.UseCors();
        }

        app.UseMiddleware<RateLimitMiddleware>(false);
        app.UseAuthentication();
        app.UseMiddleware<RateLimitMiddleware>(true);
        app.UseAuthorization();
        return app;
    }
}

using AgentHub.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AgentHub.Observability;

/// <summary>
/// <c>/healthz</c>: the process answers. <c>/readyz</c>: the database answers and its schema is current.
/// Both are anonymous and say nothing beyond Healthy/Unhealthy.
/// </summary>
internal static class Health
{
    public static IServiceCollection AddHubHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<DatabaseReadyCheck>("database", tags: ["ready"]);
        return services;
    }

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthChecks("/healthz", new() { Predicate = _ => false }).AllowAnonymous().DisableRateLimiting();
        routes.MapHealthChecks("/readyz", new() { Predicate = c => c.Tags.Contains("ready") }).AllowAnonymous().DisableRateLimiting();
        return routes;
    }
}

internal sealed class DatabaseReadyCheck(Migrator migrator) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var version = await migrator.CurrentVersionAsync(cancellationToken);
            return version == Migrations.Latest
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy("schema not current");
        }
        catch (Exception e) when (e is System.Data.Common.DbException or TimeoutException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy("database unreachable");
        }
    }
}

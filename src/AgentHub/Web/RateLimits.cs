using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace AgentHub.Web;

/// <summary>
/// Token buckets per client address (before authentication, so a flood of bad keys never reaches the database)
/// and per principal (after). A refusal is 429 with <c>Retry-After</c>. Buckets are per hub instance.
/// </summary>
internal sealed class RateLimits : IDisposable
{
    private readonly PartitionedRateLimiter<string> _byAddress;
    private readonly PartitionedRateLimiter<string> _byPrincipal;

    public RateLimits(IOptions<LimitsOptions> options)
    {
        var o = options.Value;
        _byAddress = Buckets(o.AddressRequestsPerSecond, o.AddressBurst);
        _byPrincipal = Buckets(o.PrincipalRequestsPerSecond, o.PrincipalBurst);
    }

    public PartitionedRateLimiter<string> ByAddress => _byAddress;

    public PartitionedRateLimiter<string> ByPrincipal => _byPrincipal;

    private static PartitionedRateLimiter<string> Buckets(int perSecond, int burst) =>
        PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ =>
            new TokenBucketRateLimiterOptions
            {
                TokenLimit = burst,
                TokensPerPeriod = perSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));

    public void Dispose()
    {
        _byAddress.Dispose();
        _byPrincipal.Dispose();
    }
}

internal sealed class RateLimitMiddleware(RequestDelegate next, RateLimits limits, bool byPrincipal)
{
    public async Task InvokeAsync(HttpContext context, Observability.HubMetrics metrics)
    {
        string? key;
        PartitionedRateLimiter<string> limiter;
        if (byPrincipal)
        {
            key = context.User.Identity?.IsAuthenticated == true ? context.User.FindFirst(Identity.HubClaims.Principal)?.Value : null;
            limiter = limits.ByPrincipal;
        }
        else
        {
            key = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            limiter = limits.ByAddress;
        }

        if (key is null || context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.RateLimiting.DisableRateLimitingAttribute>() is not null)
        {
            await next(context);
            return;
        }

        using var lease = limiter.AttemptAcquire(key);
        if (!lease.IsAcquired)
        {
            var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 1;
            metrics.RateLimited(byPrincipal ? "principal" : "address");
            context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
            await Problems.WriteAsync(context, StatusCodes.Status429TooManyRequests, "Too many requests",
                byPrincipal ? "This principal exceeded its request rate." : "This client address exceeded its request rate.");
            return;
        }

        await next(context);
    }
}

using System.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;

namespace AgentHub.Observability;

/// <summary>
/// Counts and times every request by route template (never the raw path: ids in paths would make label values
/// unbounded), method and final status. It runs outermost, so it sees the status the exception handler, the
/// authentication challenge or the rate limiter chose.
/// </summary>
internal sealed class HttpMetricsMiddleware(RequestDelegate next, HubMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var route = new RouteCapture();
        context.Features.Set(route);
        var status = StatusCodes.Status500InternalServerError;
        try
        {
            await next(context);
            status = context.Response.StatusCode;
        }
        finally
        {
            metrics.HttpRequest(route.Route ?? RouteCapture.Unmatched, context.Request.Method, status, Stopwatch.GetElapsedTime(started));
        }
    }
}

/// <summary>
/// The route template routing chose, kept aside because the exception handler clears the endpoint before it writes
/// its answer.
/// </summary>
internal sealed class RouteCapture
{
    public const string Unmatched = "unmatched";

    public string? Route { get; set; }

    /// <summary>Runs right after <c>UseRouting</c>.</summary>
    public static Task Capture(HttpContext context, RequestDelegate next)
    {
        if (context.Features.Get<RouteCapture>() is { } capture)
        {
            var endpoint = context.GetEndpoint();
            capture.Route = endpoint?.Metadata.GetMetadata<IRouteDiagnosticsMetadata>()?.Route
                ?? (endpoint as RouteEndpoint)?.RoutePattern.RawText;
        }

        return next(context);
    }
}

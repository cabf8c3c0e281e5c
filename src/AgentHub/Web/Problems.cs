using Microsoft.AspNetCore.Mvc;

namespace AgentHub.Web;

/// <summary>Writes RFC 9457 problem details from places that are not endpoints (middleware, auth handlers).</summary>
internal static class Problems
{
    public static async Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = status;
        await WriteAsync(context, new ProblemDetails { Status = status, Title = title, Detail = detail });
    }

    /// <summary>
    /// Writes the problem through the problem details service, or as <c>application/problem+json</c> when the caller's
    /// <c>Accept</c> names no JSON type (<c>text/html</c>, <c>text/*</c>): the service declines those, and an error
    /// answer must not turn into a 500 because of what the caller would have preferred.
    /// </summary>
    public static async Task WriteAsync(HttpContext context, ProblemDetails problem, Exception? exception = null)
    {
        var service = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        if (!await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception }))
        {
            problem.Extensions["traceId"] = context.TraceIdentifier;
            await context.Response.WriteAsJsonAsync(problem, options: null, contentType: "application/problem+json", context.RequestAborted);
        }
    }
}

namespace AgentHub.Web;

/// <summary>
/// Headers on every response: no sniffing, no referrer, a CSP that forbids everything (an API serves no page),
/// no framing, <c>no-store</c> unless an endpoint chose a cache policy, HSTS over HTTPS. TRACE/TRACK are refused.
/// </summary>
internal sealed class SecurityHeadersMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var response = context.Response;
        var isHttps = context.Request.IsHttps;
        response.OnStarting(() =>
        {
            var headers = response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.ContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'";
            headers.XFrameOptions = "DENY";
            headers["Cross-Origin-Resource-Policy"] = "same-origin";
            if (!headers.ContainsKey("Cache-Control"))
            {
                headers.CacheControl = "no-store";
            }

            if (isHttps)
            {
                headers.StrictTransportSecurity = "max-age=31536000; includeSubDomains";
            }

            return Task.CompletedTask;
        });

        if (HttpMethods.IsTrace(context.Request.Method) ||
            string.Equals(context.Request.Method, "TRACK", StringComparison.OrdinalIgnoreCase))
        {
            context.Response.Headers.Allow = "GET, POST, PUT, DELETE";
            return Problems.WriteAsync(context, StatusCodes.Status405MethodNotAllowed, "Method not allowed", "TRACE is not supported.");
        }

        return next(context);
    }
}

/// <summary>A credential in the URL ends up in logs, proxies and browser history: such a request is refused, never used.</summary>
internal sealed class QueryCredentialGuardMiddleware(RequestDelegate next)
{
    private static readonly string[] CredentialNames = ["api_key", "apikey", "api-key", "access_token", "token"];

    public Task InvokeAsync(HttpContext context)
    {
        foreach (var (name, values) in context.Request.Query)
        {
            if (CredentialNames.Contains(name, StringComparer.OrdinalIgnoreCase) || Identity.ApiKeyFormat.LooksLikeKey(name) ||
                values.Any(Identity.ApiKeyFormat.LooksLikeKey))
            {
                return Problems.WriteAsync(context, StatusCodes.Status400BadRequest, "Credential in query string",
                    "Credentials are accepted only in the Authorization header, never in the URL. Revoke a key that was sent in a URL.");
            }
        }

        return next(context);
    }
}

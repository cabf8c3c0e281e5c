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

/// <summary>
/// A credential in the URL ends up in logs, proxies and browser history: such a request is refused, never used, and
/// recorded like any refused credential (<c>auth.failure</c>, reason <c>credential_in_query</c>, the value only as an
/// HMAC), so a leaked key can be found and revoked.
/// </summary>
internal sealed class QueryCredentialGuardMiddleware(RequestDelegate next)
{
    public const string Reason = "credential_in_query";
    private static readonly string[] CredentialNames = ["api_key", "apikey", "api-key", "access_token", "token"];

    public Task InvokeAsync(HttpContext context, Audit.AuditLog audit, Vault.SecretBox secrets, Observability.HubMetrics metrics)
    {
        foreach (var (name, values) in context.Request.Query)
        {
            if (CredentialNames.Contains(name, StringComparer.OrdinalIgnoreCase) || Identity.ApiKeyFormat.LooksLikeKey(name) ||
                values.Any(Identity.ApiKeyFormat.LooksLikeKey))
            {
                var presented = Identity.ApiKeyFormat.LooksLikeKey(name) ? name : values.FirstOrDefault(Identity.ApiKeyFormat.LooksLikeKey) ?? values.ToString();
                return RefuseAsync(context, audit, secrets, metrics, presented);
            }
        }

        return next(context);
    }

    private static async Task RefuseAsync(HttpContext context, Audit.AuditLog audit, Vault.SecretBox secrets, Observability.HubMetrics metrics, string presented)
    {
        metrics.AuthFailure(Reason);
        var details = new Dictionary<string, string>
        {
            ["reason"] = Reason,
            ["method"] = context.Request.Method,
            ["path"] = context.Request.Path.Value ?? "/",
            ["address"] = context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            ["credential_hmac"] = secrets.Fingerprint("audit/credential", presented),
        };
        await audit.AppendAsync(new Audit.AuditEvent(Audit.AuditTypes.AuthFailure, "anonymous", null, Audit.AuditOutcome.Failure, details));
        await Problems.WriteAsync(context, StatusCodes.Status400BadRequest, "Credential in query string",
            "Credentials are accepted only in the Authorization header, never in the URL. Revoke a key that was sent in a URL.");
    }
}

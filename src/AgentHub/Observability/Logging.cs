namespace AgentHub.Observability;

/// <summary>
/// Console logs, plain (one line per event, UTC timestamps) or JSON (<c>Logging:Format</c> = <c>json</c>,
/// or <c>--log-format json</c>). Event ids are stable; no token, key or body is ever logged.
/// </summary>
internal static class HubLogging
{
    public static ILoggingBuilder AddHubLogging(this ILoggingBuilder logging, IConfiguration configuration)
    {
        logging.ClearProviders();
        var format = configuration["Logging:Format"] ?? "plain";
        if (string.Equals(format, "json", StringComparison.OrdinalIgnoreCase))
        {
            logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }
        else if (string.Equals(format, "plain", StringComparison.OrdinalIgnoreCase))
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            });
        }
        else
        {
            throw new StartupException($"Logging:Format must be 'plain' or 'json', not '{format}'.");
        }

        // ASP.NET Core's request-start lines carry the full URL with its query string, where a caller may have put
        // a credential by mistake (the hub refuses such requests, but the line would already be written). Whatever
        // the configured levels, those lines stay off.
        logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        return logging;
    }
}

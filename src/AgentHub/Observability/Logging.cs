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

        return logging;
    }
}

using System.Net;
using AgentHub.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AgentHub.Observability;

/// <summary>
/// <c>GET /metrics</c> in two places. On the main listener it is an API endpoint like the others: auditors and admins
/// only. On the metrics listener (<c>Metrics:Urls</c>, loopback by default) it needs no credentials, and that
/// listener serves nothing else, so a Prometheus server can scrape it without holding a hub key.
/// </summary>
internal static partial class Metrics
{
    public const string Path = "/metrics";
    public const string UrlsKey = "Metrics:Urls";
    public const string DefaultUrls = "http://127.0.0.1:9464";

    /// <summary>Registers the instruments and the collector, and adds the metrics listener's URLs to Kestrel's.</summary>
    public static WebApplicationBuilder AddHubMetrics(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<HubMetrics>();
        builder.Services.AddSingleton<MetricsCollector>();
        builder.Services.AddSingleton<PrometheusExporter>();

        var metricsUrls = ParseUrls(builder.Configuration[UrlsKey] ?? DefaultUrls);
        if (metricsUrls.Count == 0)
        {
            return builder;
        }

        // With TLS the hub serves HTTPS only; plain HTTP metrics are tolerated where nobody else can listen in.
        if (!string.IsNullOrEmpty(builder.Configuration["Tls:Cert"]) &&
            metricsUrls.FirstOrDefault(u => u.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !IsLoopback(u)) is { } plain)
        {
            throw new StartupException($"{UrlsKey} (--metrics-urls): with TLS, '{plain}' must be https:// or on loopback.");
        }

        // Endpoints from the Kestrel section replace the URLs (ours included) and would shift the count below.
        if (builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            throw new StartupException($"{UrlsKey} (--metrics-urls) works with urls, not with Kestrel:Endpoints: remove Kestrel:Endpoints or set {UrlsKey} to ''.");
        }

        // Kestrel binds the URLs in order and applies the endpoint defaults to each just before binding it: the ones
        // after the main URLs are the metrics listener's, and their connections carry a marker from the first byte.
        var mainUrls = (builder.Configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        builder.WebHost.UseUrls([.. mainUrls, .. metricsUrls]);
        builder.Services.AddOptions<KestrelServerOptions>().Configure(kestrel =>
        {
            var endpoint = 0;
            kestrel.ConfigureEndpointDefaults(listen =>
            {
                if (endpoint++ >= mainUrls.Length)
                {
                    listen.Use(next => connection =>
                    {
                        connection.Features.Set(MetricsConnection.Instance);
                        return next(connection);
                    });
                }
            });
        });
        return builder;
    }

    public static WebApplication MapMetrics(this WebApplication app)
    {
        // Listen from the start, not from the first scrape.
        _ = app.Services.GetRequiredService<MetricsCollector>();
        var metricsUrls = ParseUrls(app.Configuration[UrlsKey] ?? DefaultUrls);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(Metrics).FullName!);
        foreach (var url in metricsUrls.Where(u => !IsLoopback(u)))
        {
            LogReachable(logger, url);
        }

        if (metricsUrls.Count > 0)
        {
            // Bound addresses are in binding order: the metrics listener's come last.
            app.Lifetime.ApplicationStarted.Register(() =>
            {
                var bound = app.Urls;
                if (bound.Count > metricsUrls.Count)
                {
                    var listening = string.Join(", ", bound.Skip(bound.Count - metricsUrls.Count));
                    LogListening(logger, listening);
                }
            });
        }

        app.MapGet(Path, Scrape).RequireAuthorization(Policies.Auditor).WithName("metrics");
        return app;
    }

    private static ContentHttpResult Scrape(PrometheusExporter exporter) => TypedResults.Text(exporter.Render(), PrometheusExporter.ContentType);

    /// <summary>The <c>;</c>-separated listener URLs; empty means no metrics listener.</summary>
    public static IReadOnlyList<string> ParseUrls(string value)
    {
        var urls = value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var url in urls)
        {
            BindingAddress? address = null;
            try
            {
                address = BindingAddress.Parse(url);
            }
            catch (FormatException)
            {
            }

            if (address is null || address.IsUnixPipe || (address.Scheme != "http" && address.Scheme != "https") ||
                !string.IsNullOrEmpty(address.PathBase) || string.IsNullOrEmpty(address.Host))
            {
                throw new StartupException($"{UrlsKey} (--metrics-urls): '{url}' is not a listen URL like {DefaultUrls}; an empty value turns the metrics listener off.");
            }
        }

        return urls;
    }

    private static bool IsLoopback(string url)
    {
        var host = BindingAddress.Parse(url).Host.Trim('[', ']');
        return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }

    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "Metrics listener (GET /metrics, no credentials) on {Urls}")]
    private static partial void LogListening(ILogger logger, string urls);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning,
        Message = "The metrics listener {Url} is not on loopback: anyone who can reach it can read the hub's metrics without credentials")]
    private static partial void LogReachable(ILogger logger, string url);
}

/// <summary>Marks a connection accepted by the metrics listener.</summary>
internal sealed class MetricsConnection
{
    public static readonly MetricsConnection Instance = new();
}

/// <summary>On a metrics-listener connection: <c>GET /metrics</c> without credentials, 404 for anything else.</summary>
internal sealed class MetricsListenerMiddleware(RequestDelegate next, PrometheusExporter exporter)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<MetricsConnection>() is null)
        {
            return next(context);
        }

        var scrape = HttpMethods.IsGet(context.Request.Method) && context.Request.Path.Equals(Metrics.Path, StringComparison.OrdinalIgnoreCase);
        context.Features.Get<RouteCapture>()?.Route = scrape ? Metrics.Path : RouteCapture.Unmatched;
        if (!scrape)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        context.Response.ContentType = PrometheusExporter.ContentType;
        return context.Response.WriteAsync(exporter.Render(), context.RequestAborted);
    }
}

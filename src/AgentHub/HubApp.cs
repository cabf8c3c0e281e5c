using AgentHub.Agents;
using AgentHub.Audit;
using AgentHub.Demo;
using AgentHub.Identity;
using AgentHub.Observability;
using AgentHub.Policy;
using AgentHub.Relay;
using AgentHub.Signatures;
using AgentHub.Storage;
using AgentHub.Vault;
using AgentHub.Web;
using Microsoft.Extensions.Options;

namespace AgentHub;

/// <summary>The hub's table of contents: what it registers, then what it maps.</summary>
internal static partial class HubApp
{
    /// <param name="settings">Configuration from the command line; it wins over AGENTHUB_* variables and the config file.</param>
    /// <param name="configFile">Optional JSON configuration file.</param>
    /// <param name="configure">Lets tests swap the server or the clock; production passes null.</param>
    public static WebApplication Build(IReadOnlyDictionary<string, string?> settings, string? configFile = null,
        Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = [],
            // Not the working directory: a stray appsettings.json there must not reconfigure the hub.
            ContentRootPath = AppContext.BaseDirectory,
            ApplicationName = "agenthub",
        });
        builder.Configuration.AddInMemoryCollection(Defaults);
        if (configFile is not null)
        {
            builder.Configuration.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
        }

        builder.Configuration.AddEnvironmentVariables("AGENTHUB_");
        // With the prefix stripped, AGENTHUB_MASTER_KEY would read as "MASTER_KEY"; it is documented under that name.
        if (Environment.GetEnvironmentVariable("AGENTHUB_MASTER_KEY") is { Length: > 0 } masterKey)
        {
            builder.Configuration.AddInMemoryCollection([new("MasterKey", masterKey)]);
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.AddHubLogging(builder.Configuration);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout =
            builder.Configuration.GetValue("ShutdownTimeout", TimeSpan.FromSeconds(15)));
        builder.Services.AddSingleton(TimeProvider.System);

        builder.Services.AddStorage();
        builder.Services.AddVault();
        builder.AddHubMetrics();
        builder.Services.AddIdentity();
        builder.Services.AddAudit();
        builder.Services.AddAgents();
        builder.Services.AddPolicy();
        builder.Services.AddSignatures();
        builder.Services.AddRelay();
        builder.Services.AddWeb();
        builder.Services.AddHubHealth();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseWeb();
        app.MapHealth();
        app.MapMetrics();
        app.MapSigningKeys();
        app.MapKeys();
        app.MapPrincipals();
        app.MapAudit();
        app.MapAgents();
        app.MapAgentKeys();
        app.MapPolicies();
        app.MapRelay();
        app.MapDemo();
        return app;
    }

    /// <summary>Migrates the schema and bootstraps first-start state; returns the admin key file when it was created now.</summary>
    public static async Task<string?> InitializeAsync(WebApplication app, CancellationToken ct)
    {
        var options = app.Services.GetRequiredService<IOptions<HubOptions>>().Value;
        var dataDir = DataDirectory.Ensure(options.Data);
        _ = app.Services.GetRequiredService<MasterKey>();
        await app.Services.GetRequiredService<Migrator>().MigrateAsync(ct);
        return await app.Services.GetRequiredService<Bootstrap>().RunAsync(dataDir, ct);
    }

    private static readonly Dictionary<string, string?> Defaults = new()
    {
        ["urls"] = "http://127.0.0.1:8080",
        [Metrics.UrlsKey] = Metrics.DefaultUrls,
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
    };
}

using System.CommandLine;
using AgentHub.Storage;
using Microsoft.Extensions.Options;

namespace AgentHub.Cli;

/// <summary><c>serve</c> and <c>migrate</c>: the verbs that work on the hub's own data.</summary>
internal static class ServeCommands
{
    private static readonly Option<string?> Data = new("--data")
    {
        Description = "Data directory: SQLite database, master key, bootstrap admin key [default: ./data; env AGENTHUB_DATA]",
        HelpName = "DIR",
    };

    private static readonly Option<string?> Database = new("--database")
    {
        Description = "PostgreSQL instead of SQLite: an Npgsql connection string or postgres:// URL [env AGENTHUB_DATABASE]",
        HelpName = "CONN",
    };

    private static readonly Option<FileInfo?> Config = new("--config")
    {
        Description = "JSON configuration file (keys as in README's configuration reference)",
        HelpName = "FILE",
    };

    public static Command Serve()
    {
        var urls = new Option<string?>("--urls")
        {
            Description = "Listen URLs, ';'-separated [default: http://127.0.0.1:8080, or https://127.0.0.1:8443 with TLS; env AGENTHUB_URLS]",
            HelpName = "URLS",
        };
        var metricsUrls = new Option<string?>("--metrics-urls")
        {
            Description = "Listen URLs of the metrics listener: GET /metrics without credentials, nothing else; '' turns it off [default: http://127.0.0.1:9464; env AGENTHUB_METRICS__URLS]",
            HelpName = "URLS",
        };
        var tlsCert = new Option<FileInfo?>("--tls-cert") { Description = "PEM certificate: serve HTTPS only (TLS 1.2/1.3)", HelpName = "PEM" };
        var tlsKey = new Option<FileInfo?>("--tls-key") { Description = "PEM private key for --tls-cert", HelpName = "PEM" };
        var demo = new Option<bool>("--demo")
        {
            Description = "Also run a built-in echo agent, registered as 'echo', that the bootstrap admin may call (lets the hub reach 127.0.0.1)",
        };
        var logFormat = new Option<string?>("--log-format") { Description = "Console log format [default: plain]", HelpName = "plain|json" };
        logFormat.AcceptOnlyFromAmong("plain", "json");

        var command = new Command("serve", "Run the hub. First start creates DATA/master.key and DATA/bootstrap-admin.key (mode 0600).")
        {
            Data, Database, urls, metricsUrls, tlsCert, tlsKey, logFormat, Config, demo,
        };
        command.SetAction(async (result, ct) =>
        {
            var settings = Settings(result);
            Put(settings, "Tls:Cert", result.GetValue(tlsCert)?.FullName);
            Put(settings, "Tls:Key", result.GetValue(tlsKey)?.FullName);
            Put(settings, "Logging:Format", result.GetValue(logFormat));
            if (result.GetValue(demo))
            {
                settings["Demo:Enabled"] = "true";
                // The demo agent lives in this process: the hub must be allowed to reach its own loopback address.
                settings["Agents:AllowedHosts:100"] = "127.0.0.1";
                settings["Agents:AllowedHosts:101"] = "localhost";
                settings["Agents:AllowedHosts:102"] = "::1";
            }
            if (result.GetValue(metricsUrls) is { } metrics)
            {
                settings["Metrics:Urls"] = metrics; // may be empty: no metrics listener
            }

            var tls = settings.ContainsKey("Tls:Cert") || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("AGENTHUB_TLS__CERT"));
            Put(settings, "urls", result.GetValue(urls) ?? Environment.GetEnvironmentVariable("AGENTHUB_URLS") ?? (tls ? "https://127.0.0.1:8443" : null));
            if (tls && settings.TryGetValue("urls", out var list) && list!.Split(';').Any(u => !u.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
            {
                await result.InvocationConfiguration.Error.WriteLineAsync("error: with --tls-cert every --urls entry must be https://");
                return HubCli.Usage;
            }

            return await RunAsync(result.InvocationConfiguration.Error, async () =>
            {
                await using var app = HubApp.Build(settings, result.GetValue(Config)?.FullName);
                var keyFile = await HubApp.InitializeAsync(app, ct);
                var options = app.Services.GetRequiredService<IOptions<HubOptions>>().Value;
                var database = app.Services.GetRequiredService<HubDatabase>();
                var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AgentHub");
                var adminKey = keyFile ?? Path.Combine(Path.GetFullPath(options.Data), Identity.Bootstrap.KeyFileName);
                var keyFileState = keyFile is not null ? $"created {adminKey}"
                    : File.Exists(adminKey) ? adminKey : "none here (the hub was bootstrapped elsewhere)";
                app.Lifetime.ApplicationStarted.Register(() =>
                {
                    var listening = string.Join(", ", app.Urls);
                    ServeLog.Started(log, listening, database.Description, keyFileState);
                });
                await app.RunAsync();
                return HubCli.Ok;
            });
        });
        return command;
    }

    public static Command Migrate()
    {
        var command = new Command("migrate", "Apply pending database migrations, then exit (serve also does this at start).")
        {
            Data, Database, Config,
        };
        command.SetAction(async (result, ct) =>
            await RunAsync(result.InvocationConfiguration.Error, async () =>
            {
                await using var app = HubApp.Build(Settings(result), result.GetValue(Config)?.FullName);
                var migrator = app.Services.GetRequiredService<Migrator>();
                var applied = await migrator.MigrateAsync(ct);
                var database = app.Services.GetRequiredService<HubDatabase>();
                await result.InvocationConfiguration.Output.WriteLineAsync(
                    $"{database.Description}: {applied} migration(s) applied, schema at version {Migrations.Latest}.");
                return HubCli.Ok;
            }));
        return command;
    }

    private static Dictionary<string, string?> Settings(ParseResult result)
    {
        var settings = new Dictionary<string, string?>();
        Put(settings, "Data", result.GetValue(Data));
        Put(settings, "Database", result.GetValue(Database));
        return settings;
    }

    private static void Put(Dictionary<string, string?> settings, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            settings[key] = value;
        }
    }

    /// <summary>Start-up problems are the operator's to fix: say what is wrong in one line, no stack trace.</summary>
    private static async Task<int> RunAsync(TextWriter stderr, Func<Task<int>> run)
    {
        try
        {
            return await run();
        }
        catch (Exception e) when (e is StartupException or OptionsValidationException or Vault.VaultException
            or System.Data.Common.DbException or InvalidOperationException or IOException or UnauthorizedAccessException
            or FormatException or ArgumentException or System.Security.Cryptography.CryptographicException)
        {
            var message = e is OptionsValidationException v ? string.Join("; ", v.Failures) : e.Message;
            await stderr.WriteLineAsync($"error: {message}");
            return HubCli.Failure;
        }
    }
}

internal static partial class ServeLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information,
        Message = "AgentHub listening on {Urls} ({Database}); bootstrap admin key file: {KeyFile}")]
    public static partial void Started(ILogger logger, string urls, string database, string keyFile);
}

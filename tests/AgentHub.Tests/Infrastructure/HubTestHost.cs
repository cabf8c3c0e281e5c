using System.Net.Http.Headers;
using System.Net.Http.Json;
using AgentHub.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentHub.Tests.Infrastructure;

public enum Db
{
    Sqlite,
    Postgres,
}

/// <summary>
/// The real hub (the same <c>HubApp.Build</c> that <c>agenthub serve</c> runs) on an in-memory test server, with a
/// fresh data directory and database. Authentication runs for real: clients carry keys the hub minted.
/// </summary>
public sealed class HubTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TempDirectory _data;

    private HubTestHost(WebApplication app, TempDirectory data, CapturingLoggerProvider logs, string adminKey, Db db)
    {
        _app = app;
        _data = data;
        Logs = logs;
        AdminKey = adminKey;
        Db = db;
    }

    public string AdminKey { get; }

    public Db Db { get; }

    public string DataDir => _data.Path;

    public CapturingLoggerProvider Logs { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The loopback address of a hub started with <c>kestrel: true</c>.</summary>
    public Uri Url => new(_app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
        .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First());

    /// <summary>Starts a hub on the in-memory test server, or with <paramref name="kestrel"/> on a real loopback socket (see <see cref="Url"/>).</summary>
    /// <param name="prepareData">Runs on the fresh data directory before the hub starts (e.g. mounts a small file system there).</param>
    public static async Task<HubTestHost> StartAsync(Db db = Db.Sqlite, IDictionary<string, string?>? settings = null, TimeProvider? time = null,
        Action<string>? prepareData = null, bool kestrel = false)
    {
        var data = new TempDirectory();
        prepareData?.Invoke(data.Path);
        var all = new Dictionary<string, string?>
        {
            ["Data"] = data.Path,
            ["Logging:LogLevel:Default"] = "Debug",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Debug",
        };
        if (db == Db.Postgres)
        {
            all["Database"] = await Postgres.CreateDatabaseAsync();
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var logs = new CapturingLoggerProvider();
        var app = HubApp.Build(all, configure: builder =>
        {
            if (kestrel)
            {
                builder.WebHost.UseUrls("http://127.0.0.1:0");
            }
            else
            {
                builder.WebHost.UseTestServer();
            }

            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(logs);
            if (time is not null)
            {
                builder.Services.AddSingleton(time);
            }
        });
        await HubApp.InitializeAsync(app, CancellationToken.None);
        await app.StartAsync();

        // A second instance on a database another instance bootstrapped has no admin key file of its own.
        var adminKeyFile = Path.Combine(data.Path, "bootstrap-admin.key");
        var adminKey = File.Exists(adminKeyFile) ? (await File.ReadAllTextAsync(adminKeyFile)).Trim() : "";
        if (adminKey.Length > 0)
        {
            TestArtifacts.Secret(adminKey);
        }

        var masterKeyFile = Path.Combine(data.Path, "master.key");
        if (File.Exists(masterKeyFile))
        {
            TestArtifacts.Secret((await File.ReadAllTextAsync(masterKeyFile)).Trim());
        }

        return new HubTestHost(app, data, logs, adminKey, db);
    }

    /// <summary>An HTTP client; with a key it sends <c>Authorization: Bearer</c>.</summary>
    public HttpClient Http(string? key = null)
    {
        var client = _app.Services.GetService<Microsoft.AspNetCore.Hosting.Server.IServer>() is TestServer test
            ? test.CreateClient()
            : new HttpClient { BaseAddress = Url };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return client;
    }

    /// <summary>The Client SDK over the test server.</summary>
    public AgentHubClient Client(string key)
    {
        var http = Http(key);
        return new AgentHubClient(http);
    }

    public AgentHubClient AdminClient() => Client(AdminKey);

    /// <summary>Mints a key through the admin API, as an operator would.</summary>
    public async Task<CreatedKey> CreateKeyAsync(string principal, string role, DateTimeOffset? expiresAt = null)
    {
        var created = await AdminClient().CreateKeyAsync(new CreateKeyRequest(principal, role, ExpiresAt: expiresAt));
        TestArtifacts.Secret(created.Key);
        return created;
    }

    public static string UniqueUser(string prefix = "u") => $"user:{prefix}-{Guid.NewGuid():N}"[..30];

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _data.Dispose();
    }
}

public static class HttpAssert
{
    /// <summary>Asserts the status and that the body is RFC 9457 problem details; returns the problem.</summary>
    public static async Task<Problem> ProblemAsync(HttpResponseMessage response, System.Net.HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = System.Text.Json.JsonSerializer.Deserialize<Problem>(body, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web));
        Assert.NotNull(problem);
        Assert.Equal((int)status, problem!.Status);
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal); // no stack trace
        return problem;
    }

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string url, string json) =>
        client.PostAsync(url, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PostAsJsonAsync<T>(this HttpClient client, string url, T value) =>
        HttpClientJsonExtensions.PostAsJsonAsync(client, url, value);
}

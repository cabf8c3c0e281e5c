using System.Net;
using System.Security.Cryptography;
using AgentHub.Client;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Storage;

/// <summary>
/// How the hub scales out: several <c>agenthub serve</c> processes on one PostgreSQL database, each with its own
/// data directory and the same master key (AGENTHUB_MASTER_KEY), behind a load balancer.
/// </summary>
public sealed class SharedPostgresProcessTests
{
    [Fact]
    public async Task Two_hubs_started_together_on_one_database_bootstrap_once_and_share_keys_and_revocations()
    {
        var database = await Postgres.CreateDatabaseAsync();
        var masterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        TestArtifacts.Secret(masterKey);
        var environment = new Dictionary<string, string?> { ["AGENTHUB_MASTER_KEY"] = masterKey };
        using var dataA = new TempDirectory();
        using var dataB = new TempDirectory();

        var starts = new[] { dataA, dataB }
            .Select(d => HubProcess.StartAsync(d.Path, ["--database", database], environment))
            .ToList();
        HubProcess[] hubs;
        try
        {
            hubs = await Task.WhenAll(starts);
        }
        catch
        {
            foreach (var started in starts.Where(s => s.IsCompletedSuccessfully))
            {
                await (await started).DisposeAsync();
            }

            throw;
        }

        await using var a = hubs[0];
        await using var b = hubs[1];
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(a.Url, "/readyz"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(b.Url, "/readyz"))).StatusCode);

        // Exactly one of them bootstrapped; neither wrote a master key file (the key came from the environment).
        var keyFiles = new[] { dataA, dataB }.Select(d => Path.Combine(d.Path, "bootstrap-admin.key")).Where(File.Exists).ToList();
        var keyFile = Assert.Single(keyFiles);
        Assert.All(new[] { dataA, dataB }, d => Assert.False(File.Exists(Path.Combine(d.Path, "master.key"))));
        var adminKey = (await File.ReadAllTextAsync(keyFile)).Trim();
        TestArtifacts.Secret(adminKey);

        // A key minted through A authenticates through B.
        var created = await AgentHubClient.Create(a.Url, adminKey).CreateKeyAsync(new CreateKeyRequest("user:shared-op", "operator"));
        TestArtifacts.Secret(created.Key);
        Assert.Equal(new WhoAmI("user:shared-op", "operator", created.Id), await AgentHubClient.Create(b.Url, created.Key).WhoAmIAsync());
        Assert.Equal("admin", (await AgentHubClient.Create(b.Url, adminKey).WhoAmIAsync()).Role);

        // Revoked through B, refused by A on the very next request.
        await AgentHubClient.Create(b.Url, adminKey).RevokeKeyAsync(created.Id);
        using var asRevoked = new HttpRequestMessage(HttpMethod.Get, new Uri(a.Url, "/api/v1/me"));
        asRevoked.Headers.Authorization = new("Bearer", created.Key);
        var refused = await http.SendAsync(asRevoked);
        var problem = await HttpAssert.ProblemAsync(refused, HttpStatusCode.Unauthorized);
        Assert.Equal("The API key has been revoked.", problem.Detail);

        Assert.Equal(0, await a.StopAsync());
        Assert.Equal(0, await b.StopAsync());
        var output = string.Join('\n', a.Output.Concat(b.Output));
        Assert.DoesNotContain(adminKey, output, StringComparison.Ordinal);
        Assert.DoesNotContain(created.Key, output, StringComparison.Ordinal);
    }
}

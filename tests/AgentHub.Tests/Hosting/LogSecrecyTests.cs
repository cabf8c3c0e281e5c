using System.Net.Http.Headers;
using System.Text.Json;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Hosting;

/// <summary>No API key and no master key reaches the log, on success or on any failure path (canary values).</summary>
public sealed class LogSecrecyTests
{
    [Fact]
    public async Task Canary_keys_never_appear_in_debug_logs_of_success_and_failure_paths()
    {
        var masterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        TestArtifacts.Secret(masterKey);
        await using var hub = await HubTestHost.StartAsync(settings: new Dictionary<string, string?> { ["MasterKey"] = masterKey });
        var canary = await hub.CreateKeyAsync(HubTestHost.UniqueUser("canary"), "operator");
        var wrongSecret = canary.Key[..^4] + (canary.Key.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        TestArtifacts.Secret(wrongSecret);

        var http = hub.Http();
        foreach (var authorization in new[] { $"Bearer {canary.Key}", $"Bearer {wrongSecret}", $"Basic {canary.Key}", $"Bearer {canary.Key}x" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me");
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
            await http.SendAsync(request);
        }

        await http.GetAsync($"/api/v1/keys?api_key={canary.Key}");
        await http.GetAsync($"/api/v1/keys?q={Uri.EscapeDataString(canary.Key)}");
        var operatorClient = hub.Http(canary.Key);
        await operatorClient.PostJsonAsync("/api/v1/keys", $$"""{"principal":"user:x","role":"admin","key":"{{canary.Key}}"}""");
        await hub.Http(hub.AdminKey).PostJsonAsync("/api/v1/keys", $$"""{"principal":"{{canary.Key}}","role":"admin"}""");
        await hub.Http(hub.AdminKey).PostJsonAsync("/api/v1/keys", $$"""{"principal":"user:y","role":"admin","extra":"{{canary.Key}}"}""");
        await hub.AdminClient().RevokeKeyAsync(canary.Id);
        await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/v1/me") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", canary.Key) } });

        var log = string.Join('\n', hub.Logs.Lines);
        Assert.NotEmpty(hub.Logs.Lines);
        Assert.Contains(canary.Id, log, StringComparison.Ordinal); // the key id is logged (refusals), so the check is live
        foreach (var secret in new[] { canary.Key, wrongSecret, hub.AdminKey, masterKey, canary.Key[(4 + 16 + 1)..] })
        {
            Assert.DoesNotContain(secret, log, StringComparison.Ordinal);
            Assert.DoesNotContain(Uri.EscapeDataString(secret), log, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Json_log_format_writes_one_json_object_per_line_with_event_ids()
    {
        using var data = new TempDirectory();
        await using var hub = await HubProcess.StartAsync(data.Path, ["--log-format", "json"]);
        TestArtifacts.Secret((await File.ReadAllTextAsync(Path.Combine(data.Path, "bootstrap-admin.key"))).Trim());
        TestArtifacts.Secret((await File.ReadAllTextAsync(Path.Combine(data.Path, "master.key"))).Trim());
        Assert.Equal(0, await hub.StopAsync());

        var lines = hub.Output.Where(l => l.StartsWith('{')).ToList();
        Assert.NotEmpty(lines);
        var started = lines.Select(l => JsonDocument.Parse(l).RootElement)
            .Single(e => e.GetProperty("EventId").GetInt32() == 1000 && e.GetProperty("Category").GetString() == "AgentHub");
        Assert.Contains("bootstrap admin key file", started.GetProperty("Message").GetString(), StringComparison.Ordinal);
        Assert.All(hub.Output.Where(l => l.Length > 0), l => Assert.StartsWith("{", l, StringComparison.Ordinal));
    }

    [Fact]
    public void Every_log_event_of_the_hub_has_its_own_event_id()
    {
        // Operators alert on event ids (the README and SECURITY.md name some): one id must mean one thing.
        var events = typeof(AgentHub.Relay.RelayEndpoint).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic |
                System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.DeclaredOnly))
            .SelectMany(m => m.GetCustomAttributes(typeof(Microsoft.Extensions.Logging.LoggerMessageAttribute), false)
                .Cast<Microsoft.Extensions.Logging.LoggerMessageAttribute>()
                .Select(a => (a.EventId, Method: $"{m.DeclaringType!.Name}.{m.Name}")))
            .ToList();

        Assert.True(events.Count > 20, $"only {events.Count} log events found");
        var shared = events.GroupBy(e => e.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Method))}").ToList();
        Assert.Empty(shared);
    }
}

using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Relay;

/// <summary><c>serve --demo</c> and <c>agenthub call</c>, as the README's Quick start shows them, on the real executable.</summary>
public sealed class DemoTests
{
    [Fact]
    public async Task Demo_hub_answers_agenthub_call_echo_and_refuses_a_caller_without_a_rule()
    {
        using var dir = new TempDirectory();
        var data = Path.Combine(dir.Path, "data");
        await using var hub = await HubProcess.StartAsync(data, ["--demo"]);
        await hub.WaitForOutputAsync("Demo: agent 'echo' is registered");
        var admin = (await File.ReadAllTextAsync(Path.Combine(data, "bootstrap-admin.key"))).Trim();
        TestArtifacts.Secret(admin);

        var (exit, stdout, stderr) = await HubProcess.RunAsync(["call", "echo", "hello through the hub", "--hub", hub.Url.ToString()],
            new Dictionary<string, string?> { ["AGENTHUB_KEY"] = admin });
        Assert.True(exit == 0, stderr);
        Assert.Equal("hello through the hub", stdout.Trim());

        var (_, bobKey, _) = await HubProcess.RunAsync(["keys", "create", "--principal", "user:bob", "--role", "operator", "--hub", hub.Url.ToString()],
            new Dictionary<string, string?> { ["AGENTHUB_KEY"] = admin });
        TestArtifacts.Secret(bobKey.Trim());
        var (refusedExit, _, refused) = await HubProcess.RunAsync(["call", "echo", "hi", "--hub", hub.Url.ToString()],
            new Dictionary<string, string?> { ["AGENTHUB_KEY"] = bobKey.Trim() });
        Assert.Equal(1, refusedExit);
        Assert.Contains("no rule allows user:bob to call echo.SendMessage", refused, StringComparison.Ordinal);

        // The demo agent trusts the hub, not the network: a direct call without a hub token is refused.
        using var http = new HttpClient { BaseAddress = hub.Url };
        using var direct = await http.PostAsync("/demo/echo", new StringContent("{}"));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, direct.StatusCode);
    }
}

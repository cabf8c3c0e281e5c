using System.Text.Json;
using AgentHub.Cli;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Policy;

/// <summary>The policy verbs against a real hub process, and their exit codes (0 ok, 1 the hub refused, 2 usage).</summary>
public sealed class PolicyCliTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private HubProcess _hub = null!;
    private string _adminKeyFile = null!;

    public async Task InitializeAsync()
    {
        _hub = await HubProcess.StartAsync(Path.Combine(_dir.Path, "data"));
        _adminKeyFile = Path.Combine(_dir.Path, "data", "bootstrap-admin.key");
        TestArtifacts.Secret((await File.ReadAllTextAsync(_adminKeyFile)).Trim());
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Allow_deny_list_explain_delete_round_trip()
    {
        var (exit, stdout, stderr) = await RunAsync("policy", "explain", "--caller", "agent:planner", "--agent", "echo", "--method", "SendMessage");
        Assert.Equal((HubCli.Ok, ""), (exit, stderr));
        Assert.Equal("deny: no rule allows agent:planner to call echo.SendMessage", stdout.Trim());

        (exit, stdout, _) = await RunAsync("policy", "allow", "--caller", "agent:planner", "--agent", "echo", "--methods", "*", "--json");
        Assert.Equal(HubCli.Ok, exit);
        var allowId = JsonDocument.Parse(stdout).RootElement.GetProperty("id").GetString()!;

        (exit, stdout, _) = await RunAsync("policy", "deny", "--caller", "agent:planner", "--agent", "echo", "--methods", "CancelTask, DeleteTaskPushNotificationConfig");
        Assert.Equal(HubCli.Ok, exit);
        Assert.Matches("^Created rule pol_[a-z2-7]{16}: deny agent:planner -> echo \\[CancelTask,DeleteTaskPushNotificationConfig\\]\\.$", stdout.Trim());
        var denyId = stdout.Trim()["Created rule ".Length..].Split(':')[0];

        (exit, stdout, _) = await RunAsync("policy", "explain", "--caller", "agent:planner", "--agent", "echo", "--method", "SendMessage");
        Assert.Equal($"allow: allowed by rule {allowId}", stdout.Trim());
        (exit, stdout, _) = await RunAsync("policy", "explain", "--caller", "agent:planner", "--agent", "echo", "--method", "CancelTask", "--json");
        var json = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(("deny", denyId), (json.GetProperty("decision").GetString(), json.GetProperty("rule").GetProperty("id").GetString()));

        (exit, stdout, _) = await RunAsync("policy", "list", "--agent", "echo");
        var lines = stdout.Trim().Split('\n');
        Assert.StartsWith("ID", lines[0], StringComparison.Ordinal);
        Assert.Equal(3, lines.Length);
        Assert.Contains(lines, l => l.StartsWith(allowId, StringComparison.Ordinal) && l.Contains("allow", StringComparison.Ordinal) && l.Contains(" * ", StringComparison.Ordinal));
        (exit, stdout, _) = await RunAsync("policy", "list", "--caller", "agent:nobody", "--json");
        Assert.Equal((HubCli.Ok, 0), (exit, JsonDocument.Parse(stdout).RootElement.GetArrayLength()));

        (exit, stdout, _) = await RunAsync("policy", "delete", allowId);
        Assert.Equal((HubCli.Ok, $"Deleted rule {allowId}."), (exit, stdout.Trim()));
        (_, stdout, _) = await RunAsync("policy", "explain", "--caller", "agent:planner", "--agent", "echo", "--method", "SendMessage");
        Assert.Equal("deny: no rule allows agent:planner to call echo.SendMessage", stdout.Trim());
    }

    [Theory]
    [InlineData(HubCli.Failure, "methods", "policy", "allow", "--caller", "agent:planner", "--agent", "echo", "--methods", "SendMessage,Bogus")]
    [InlineData(HubCli.Failure, "caller", "policy", "deny", "--caller", "planner", "--agent", "echo", "--methods", "*")]
    [InlineData(HubCli.Failure, "404", "policy", "delete", "pol_nosuchrule0000")]
    [InlineData(HubCli.Failure, "method", "policy", "explain", "--caller", "agent:planner", "--agent", "echo", "--method", "Send")]
    [InlineData(HubCli.Usage, "--caller", "policy", "allow", "--agent", "echo", "--methods", "*")]
    [InlineData(HubCli.Usage, "--methods", "policy", "deny", "--caller", "*", "--agent", "echo")]
    [InlineData(HubCli.Usage, "ID", "policy", "delete")]
    [InlineData(HubCli.Usage, "--method", "policy", "explain", "--caller", "agent:planner", "--agent", "echo")]
    public async Task Exit_codes_follow_the_documented_contract(int expected, string mentioned, params string[] args)
    {
        var (exit, _, stderr) = await RunAsync(args);

        Assert.Equal(expected, exit);
        Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
        Assert.Contains(mentioned, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_every_policy_verb_and_option()
    {
        var (exit, stdout, _) = await HubProcess.RunAsync(["policy", "--help"]);
        Assert.Equal(0, exit);
        foreach (var word in new[] { "allow", "deny", "list", "delete", "explain", "--hub", "--key-file", "--json" })
        {
            Assert.Contains(word, stdout, StringComparison.Ordinal);
        }

        (exit, stdout, _) = await HubProcess.RunAsync(["policy", "allow", "--help"]);
        Assert.Equal(0, exit);
        foreach (var word in new[] { "--caller", "--agent", "--methods", "--description" })
        {
            Assert.Contains(word, stdout, StringComparison.Ordinal);
        }
    }

    private async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await HubCli.RunAsync([.. args, "--hub", _hub.Url.ToString(), "--key-file", _adminKeyFile], stdout, stderr);
        TestArtifacts.Log($"cli {string.Join(' ', args)} -> {exit}\n{stdout}\n{stderr}");
        return (exit, stdout.ToString(), stderr.ToString());
    }
}

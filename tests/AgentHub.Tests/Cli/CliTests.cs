using AgentHub.Cli;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Cli;

/// <summary>The management verbs against a real hub process, and the documented exit codes (0 ok, 1 failure, 2 usage).</summary>
public sealed class CliTests : IAsyncLifetime
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
    public async Task Keys_create_prints_only_the_key_on_stdout_and_it_works()
    {
        var (exit, stdout, stderr) = await RunAsync("keys", "create", "--principal", "user:carol", "--role", "auditor", "--expires", "30d", "--name", "ci");

        Assert.Equal(HubCli.Ok, exit);
        var key = stdout.Trim();
        TestArtifacts.Secret(key);
        Assert.Matches("^ahk_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$", key);
        Assert.Contains("shown only now", stderr, StringComparison.Ordinal);

        var keyFile = Path.Combine(_dir.Path, "carol.key");
        await File.WriteAllTextAsync(keyFile, key);
        var whoami = await HubCli.RunAsync(["whoami", "--hub", _hub.Url.ToString(), "--key-file", keyFile], new StringWriter(), new StringWriter());
        Assert.Equal(HubCli.Ok, whoami);

        var (_, list, _) = await RunAsync("keys", "list");
        var row = list.Split('\n').Single(l => l.Contains("user:carol", StringComparison.Ordinal));
        Assert.Contains("auditor", row, StringComparison.Ordinal);
        Assert.Contains("active", row, StringComparison.Ordinal);
        Assert.DoesNotContain("ahk_", list, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_revoke_then_show_reports_revoked()
    {
        var (_, created, _) = await RunAsync("keys", "create", "--principal", "user:dave", "--role", "operator", "--json");
        var json = System.Text.Json.JsonDocument.Parse(created).RootElement;
        TestArtifacts.Secret(json.GetProperty("key").GetString()!);
        var id = json.GetProperty("id").GetString()!;

        Assert.Equal(HubCli.Ok, (await RunAsync("keys", "revoke", id)).Exit);
        var (exit, show, _) = await RunAsync("keys", "show", id);

        Assert.Equal(HubCli.Ok, exit);
        Assert.Contains("state:      revoked", show, StringComparison.Ordinal);
        Assert.Contains("by user:admin", show, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotate_signing_keeps_the_old_key_in_the_jwks()
    {
        using var http = new HttpClient { BaseAddress = _hub.Url };
        var before = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/.well-known/jwks.json")).RootElement.GetProperty("keys");
        var oldKid = before[0].GetProperty("kid").GetString();

        var (exit, stdout, _) = await RunAsync("keys", "rotate-signing");

        Assert.Equal(HubCli.Ok, exit);
        var after = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/.well-known/jwks.json")).RootElement.GetProperty("keys");
        var kids = after.EnumerateArray().Select(k => k.GetProperty("kid").GetString()).ToList();
        Assert.Contains(oldKid, kids);
        Assert.Equal(before.GetArrayLength() + 1, kids.Count);
        Assert.Contains(kids.Single(k => k != oldKid && !before.EnumerateArray().Any(b => b.GetProperty("kid").GetString() == k))!, stdout, StringComparison.Ordinal);
        var (_, signing, _) = await RunAsync("keys", "signing");
        Assert.Contains("retired", signing, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HubCli.Failure, "keys", "show", "nosuchkeyid00000")] // the hub answers 404
    [InlineData(HubCli.Failure, "keys", "create", "--principal", "agent:echo", "--role", "admin")] // the hub refuses: validation
    [InlineData(HubCli.Usage, "keys", "create", "--principal", "user:x")] // --role missing
    [InlineData(HubCli.Usage, "keys", "create", "--principal", "user:x", "--role", "root")] // not a role
    [InlineData(HubCli.Usage, "keys", "create", "--principal", "user:x", "--role", "admin", "--expires", "soon")]
    [InlineData(HubCli.Usage, "nosuchverb")]
    [InlineData(HubCli.Usage)]
    public async Task Exit_codes_follow_the_documented_contract(int expected, params string[] args)
    {
        var (exit, _, stderr) = await RunAsync(args);

        Assert.Equal(expected, exit);
        Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_hub_is_a_failure_with_a_clear_message()
    {
        var stderr = new StringWriter();
        var exit = await HubCli.RunAsync(["keys", "list", "--hub", "http://127.0.0.1:1", "--key-file", _adminKeyFile], new StringWriter(), stderr);

        Assert.Equal(HubCli.Failure, exit);
        Assert.Contains("cannot reach the hub at http://127.0.0.1:1/", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_key_is_a_usage_error_that_says_where_the_admin_key_is()
    {
        var (exit, _, stderr) = await HubProcess.RunAsync(["keys", "list", "--hub", _hub.Url.ToString()]);

        Assert.Equal(HubCli.Usage, exit);
        Assert.Contains("AGENTHUB_KEY", stderr, StringComparison.Ordinal);
        Assert.Contains("bootstrap-admin.key", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_from_the_environment_is_used_by_the_real_executable()
    {
        var key = (await File.ReadAllTextAsync(_adminKeyFile)).Trim();
        var (exit, stdout, _) = await HubProcess.RunAsync(["whoami", "--hub", _hub.Url.ToString()],
            new Dictionary<string, string?> { ["AGENTHUB_KEY"] = key });

        Assert.Equal(0, exit);
        Assert.StartsWith("user:admin (role admin", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--help" }, new[] { "serve", "migrate", "keys", "principals", "whoami", "Exit codes" })]
    [InlineData(new[] { "serve", "--help" }, new[] { "--data", "--database", "--urls", "--tls-cert", "--tls-key", "--log-format", "--config" })]
    [InlineData(new[] { "keys", "--help" }, new[] { "create", "list", "show", "revoke", "rotate-signing", "signing", "--hub", "--key-file" })]
    [InlineData(new[] { "keys", "create", "--help" }, new[] { "--principal", "--role", "--expires", "--name" })]
    [InlineData(new[] { "migrate", "--help" }, new[] { "--data", "--database" })]
    public async Task Help_lists_every_verb_and_option(string[] args, string[] expected)
    {
        var (exit, stdout, _) = await HubProcess.RunAsync(args);

        Assert.Equal(0, exit);
        foreach (var word in expected)
        {
            Assert.Contains(word, stdout, StringComparison.Ordinal);
        }
    }

    private async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var withHub = args.Length == 0 || args[0] is "nosuchverb"
            ? args
            : [.. args, "--hub", _hub.Url.ToString(), "--key-file", _adminKeyFile];
        var exit = await HubCli.RunAsync(withHub, stdout, stderr);
        // stdout is where 'keys create' deliberately prints a new key; stderr must never hold one.
        TestArtifacts.Log($"cli {string.Join(' ', args)} -> {exit}\n{stderr}");
        return (exit, stdout.ToString(), stderr.ToString());
    }
}

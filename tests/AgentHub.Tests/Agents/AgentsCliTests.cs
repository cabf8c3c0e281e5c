using System.Text.Json;
using AgentHub.Cli;
using AgentHub.Tests.Infrastructure;

namespace AgentHub.Tests.Agents;

/// <summary>The <c>agents</c> verbs against a real hub process that allow-lists loopback, with a real card server.</summary>
public sealed class AgentsCliTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private CardServer _agent = null!;
    private HubProcess _hub = null!;
    private string _adminKeyFile = null!;

    public async Task InitializeAsync()
    {
        _agent = await CardServer.StartAsync();
        _agent.Card = Cards.Valid($"http://127.0.0.1:{_agent.Port}/a2a", name: "Echo", skillId: "echo", tag: "cli");
        _hub = await HubProcess.StartAsync(Path.Combine(_dir.Path, "data"),
            environment: new Dictionary<string, string?> { ["AGENTHUB_Agents__AllowedHosts__0"] = "127.0.0.1" });
        _adminKeyFile = Path.Combine(_dir.Path, "data", "bootstrap-admin.key");
        TestArtifacts.Secret((await File.ReadAllTextAsync(_adminKeyFile)).Trim());
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        await _agent.DisposeAsync();
        _dir.Dispose();
    }

    private async Task<(int Exit, string Stdout, string Stderr)> RunAsync(string keyFile, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await HubCli.RunAsync([.. args, "--hub", _hub.Url.ToString(), "--key-file", keyFile], stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Register_prints_only_the_agent_key_on_stdout_and_the_key_works()
    {
        var (exit, stdout, stderr) = await RunAsync(_adminKeyFile, "agents", "register", "--id", "echo", "--card-url", _agent.CardUrl);

        Assert.True(exit == HubCli.Ok, stderr);
        var key = stdout.Trim();
        TestArtifacts.Secret(key);
        Assert.Matches("^ahk_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$", key);
        Assert.Contains("Registered agent echo", stderr, StringComparison.Ordinal);
        Assert.Contains("/a2a/echo/.well-known/agent-card.json", stderr, StringComparison.Ordinal);

        var agentKeyFile = Path.Combine(_dir.Path, "echo.key");
        await File.WriteAllTextAsync(agentKeyFile, key);
        var (whoExit, who, _) = await RunAsync(agentKeyFile, "whoami");
        Assert.Equal(HubCli.Ok, whoExit);
        Assert.Contains("agent:echo (role agent", who, StringComparison.Ordinal);

        // The agent itself may discover but not register.
        var (refused, _, refusal) = await RunAsync(agentKeyFile, "agents", "register", "--id", "other", "--card-url", _agent.CardUrl);
        Assert.Equal(HubCli.Failure, refused);
        Assert.Contains("403", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_from_a_file_then_list_show_versions_and_delete()
    {
        var cardFile = Path.Combine(_dir.Path, "card.json");
        await File.WriteAllTextAsync(cardFile, _agent.Card);
        var (exit, stdout, stderr) = await RunAsync(_adminKeyFile, "agents", "register", "--id", "filed", "--card-file", cardFile);
        Assert.True(exit == HubCli.Ok, stderr);
        TestArtifacts.Secret(stdout.Trim());

        await File.WriteAllTextAsync(cardFile, Cards.Valid($"http://127.0.0.1:{_agent.Port}/a2a", version: "2.0.0", skillId: "echo", tag: "cli"));
        var (again, againOut, againErr) = await RunAsync(_adminKeyFile, "agents", "register", "--id", "filed", "--card-file", cardFile);
        Assert.Equal(HubCli.Ok, again);
        Assert.Equal("", againOut); // no new key: the agent still holds one
        Assert.Contains("already has an active key", againErr, StringComparison.Ordinal);

        var (_, list, _) = await RunAsync(_adminKeyFile, "agents", "list", "--tag", "CLI");
        Assert.Contains("filed", list, StringComparison.Ordinal);
        var (_, none, _) = await RunAsync(_adminKeyFile, "agents", "list", "--skill", "nope");
        Assert.DoesNotContain("filed", none, StringComparison.Ordinal);

        var (_, show, _) = await RunAsync(_adminKeyFile, "agents", "show", "filed", "--json");
        Assert.Equal(2, JsonDocument.Parse(show).RootElement.GetProperty("version").GetInt64());

        var (_, versions, _) = await RunAsync(_adminKeyFile, "agents", "versions", "filed");
        Assert.Contains("2.0.0", versions, StringComparison.Ordinal);
        Assert.Equal(3, versions.Trim().Split('\n').Length); // header + 2 versions

        Assert.Equal(HubCli.Ok, (await RunAsync(_adminKeyFile, "agents", "delete", "filed")).Exit);
        var (gone, _, goneErr) = await RunAsync(_adminKeyFile, "agents", "show", "filed");
        Assert.Equal(HubCli.Failure, gone);
        Assert.Contains("404", goneErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_with_card_keys_shows_the_verdict_everywhere_and_an_invalid_signature_needs_the_allow_flag()
    {
        using var signer = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var card = System.Text.Json.Nodes.JsonNode.Parse(_agent.Card)!.AsObject();
        AgentHub.Client.Signatures.AgentCardSignatures.Sign(card, signer, "cli-key");
        var cardFile = Path.Combine(_dir.Path, "signed.json");
        var keysFile = Path.Combine(_dir.Path, "keys.json");
        await File.WriteAllTextAsync(cardFile, card.ToJsonString());
        await File.WriteAllTextAsync(keysFile, AgentHub.Client.Signatures.AgentCardKeys.FromPublicKey("cli-key", signer).ToJwks().ToJsonString());

        var (exit, stdout, stderr) = await RunAsync(_adminKeyFile, "agents", "register", "--id", "signed", "--card-file", cardFile, "--card-keys", keysFile);
        Assert.True(exit == HubCli.Ok, stderr);
        TestArtifacts.Secret(stdout.Trim());
        Assert.Contains("Card signature: verified (Verified: signature 0 verified with kid 'cli-key'.)", stderr, StringComparison.Ordinal);
        Assert.Contains("signature:   verified", (await RunAsync(_adminKeyFile, "agents", "show", "signed")).Stdout, StringComparison.Ordinal);
        var list = (await RunAsync(_adminKeyFile, "agents", "list")).Stdout;
        Assert.Contains("SIGNATURE", list, StringComparison.Ordinal);
        Assert.Contains("verified", list, StringComparison.Ordinal);
        Assert.Contains("verified", (await RunAsync(_adminKeyFile, "agents", "versions", "signed")).Stdout, StringComparison.Ordinal);

        card["description"] = "tampered";
        await File.WriteAllTextAsync(cardFile, card.ToJsonString());
        var (refused, _, refusal) = await RunAsync(_adminKeyFile, "agents", "register", "--id", "tampered", "--card-file", cardFile, "--card-keys", keysFile);
        Assert.Equal(HubCli.Failure, refused);
        Assert.Contains("card.signatures", refusal, StringComparison.Ordinal);

        var (allowed, allowedOut, allowedErr) = await RunAsync(_adminKeyFile, "agents", "register", "--id", "tampered", "--card-file", cardFile,
            "--card-keys", keysFile, "--allow-invalid-signature");
        Assert.True(allowed == HubCli.Ok, allowedErr);
        TestArtifacts.Secret(allowedOut.Trim());
        Assert.Contains("Card signature: invalid", allowedErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_with_an_invalid_card_prints_every_bad_field_and_exits_1()
    {
        var cardFile = Path.Combine(_dir.Path, "bad.json");
        await File.WriteAllTextAsync(cardFile, """{"name":"x"}""");

        var (exit, stdout, stderr) = await RunAsync(_adminKeyFile, "agents", "register", "--id", "bad", "--card-file", cardFile);

        Assert.Equal(HubCli.Failure, exit);
        Assert.Equal("", stdout);
        Assert.Contains("card.description", stderr, StringComparison.Ordinal);
        Assert.Contains("card.skills", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_needs_exactly_one_card_source()
    {
        var (exit, _, stderr) = await RunAsync(_adminKeyFile, "agents", "register", "--id", "x");

        Assert.Equal(HubCli.Usage, exit);
        Assert.Contains("exactly one of --card-url or --card-file", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_set_takes_jwk_files_prints_a_new_hmac_secret_alone_and_show_lists_the_keys()
    {
        var (registered, _, registerErr) = await RunAsync(_adminKeyFile, "agents", "register", "--id", "signer", "--card-url", _agent.CardUrl);
        Assert.True(registered == HubCli.Ok, registerErr);
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var jwkFile = Path.Combine(_dir.Path, "signer.jwk");
        await File.WriteAllTextAsync(jwkFile, AgentHub.Tests.Signatures.AgentKeysApiTests.PublicJwk(key, "cli-key").GetRawText());

        var (exit, stdout, stderr) = await RunAsync(_adminKeyFile, "agents", "keys", "set", "signer", "--jwk", jwkFile, "--hmac-secret");

        Assert.True(exit == HubCli.Ok, stderr);
        var secret = stdout.Trim();
        TestArtifacts.Secret(secret);
        Assert.Matches("^[A-Za-z0-9_-]{43}$", secret);
        Assert.Contains("2 key(s); calls must be signed.", stderr, StringComparison.Ordinal);

        var (showExit, shown, _) = await RunAsync(_adminKeyFile, "agents", "keys", "show", "signer");
        Assert.Equal(HubCli.Ok, showExit);
        Assert.Contains("require signature: yes", shown, StringComparison.Ordinal);
        Assert.Contains("cli-key", shown, StringComparison.Ordinal);
        Assert.Contains("ecdsa-p256-sha256", shown, StringComparison.Ordinal);
        Assert.Contains("hmac-sha256", shown, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, shown, StringComparison.Ordinal);

        var (offExit, _, offErr) = await RunAsync(_adminKeyFile, "agents", "keys", "set", "signer", "--remove-hmac", "--require-signature", "false");
        Assert.True(offExit == HubCli.Ok, offErr);
        Assert.Contains("1 key(s); calls need not be signed.", offErr, StringComparison.Ordinal);
    }
}

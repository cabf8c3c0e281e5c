using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AgentHub.Client;

namespace AgentHub.Cli;

/// <summary><c>agents</c>: register, discover, inspect and delete agents over the admin API.</summary>
internal static class AgentsCommands
{
    public static Command Agents()
    {
        var agents = new Command("agents", "Register agents and discover them.");
        HubConnection.AddTo(agents);
        agents.Subcommands.Add(Register());
        agents.Subcommands.Add(List());
        agents.Subcommands.Add(Show());
        agents.Subcommands.Add(Versions());
        agents.Subcommands.Add(Delete());
        agents.Subcommands.Add(AgentKeysCommands.Keys());
        return agents;
    }

    private static Command Register()
    {
        var id = new Option<string>("--id") { Description = "Agent id: a-z, 0-9 and '-'", Required = true, HelpName = "ID" };
        var cardUrl = new Option<string?>("--card-url") { Description = "URL the hub fetches the agent's A2A card from", HelpName = "URL" };
        var cardFile = new Option<FileInfo?>("--card-file") { Description = "A file holding the agent's A2A card (JSON)", HelpName = "FILE" };
        var upstream = new Option<string?>("--upstream-url") { Description = "Where the hub forwards calls [default: the card's first JSONRPC interface]", HelpName = "URL" };
        var (jwk, hmac, require) = AgentKeysCommands.Options();
        var cardKeys = new Option<FileInfo?>("--card-keys")
        {
            Description = "A JWKS file of the public EC P-256 keys the card's signatures must verify with",
            HelpName = "JWKS-FILE",
        };
        var allowInvalid = new Option<bool>("--allow-invalid-signature")
        {
            Description = "Register the card even when its signatures do not verify (recorded as invalid)",
        };
        var register = new Command("register",
            "Register an agent, or record a new card version for an existing one. A new agent key is printed once, alone on stdout " +
            "(with --hmac-secret, the HMAC secret follows on the next line).")
        {
            id, cardUrl, cardFile, upstream, cardKeys, allowInvalid, jwk, hmac, require,
        };
        register.Validators.Add(r =>
        {
            if ((r.GetValue(cardUrl) is null) == (r.GetValue(cardFile) is null))
            {
                r.AddError("Give exactly one of --card-url or --card-file.");
            }
        });
        register.SetAction(async (result, ct) =>
        {
            var (cardOk, card) = await ReadJsonAsync(result, result.GetValue(cardFile), "--card-file", ct);
            var (keysOk, keys) = await ReadJsonAsync(result, result.GetValue(cardKeys), "--card-keys", ct);
            if (!cardOk || !keysOk)
            {
                return HubCli.Failure;
            }

            var jwks = await AgentKeysCommands.ReadJwksAsync(result, jwk, ct);
            if (jwks is null)
            {
                return HubCli.Failure;
            }

            return await HubConnection.RunAsync(result, async (client, output) =>
            {
                var registered = await client.RegisterAgentAsync(
                    new RegisterAgentRequest(result.GetValue(id)!, result.GetValue(cardUrl), card, result.GetValue(upstream),
                        keys, result.GetValue(allowInvalid) ? true : null,
                        jwks.Count > 0 ? jwks : null, result.GetValue(hmac) ? true : null, result.GetValue(require)), ct);
                if (result.GetValue(HubConnection.Json))
                {
                    await output.WriteLineAsync(JsonSerializer.Serialize(registered, CliJson.Pretty));
                    return;
                }

                var stderr = result.InvocationConfiguration.Error;
                await stderr.WriteLineAsync(registered.Message);
                await stderr.WriteLineAsync($"Hub card: {registered.Agent.HubCardUrl}");
                await stderr.WriteLineAsync($"Card signature: {Signature(registered.Agent.CardSignature, registered.Agent.CardSignatureDetail)}");
                if (registered.Key is { } key)
                {
                    await output.WriteLineAsync(key.Key);
                }

                if (registered.SignatureKeys?.HmacSecret is { } secret)
                {
                    await output.WriteLineAsync(secret);
                }
            });
        });
        return register;
    }

    private static Command List()
    {
        var skill = new Option<string?>("--skill") { Description = "Only agents with this skill id", HelpName = "SKILL" };
        var tag = new Option<string?>("--tag") { Description = "Only agents with a skill tagged so", HelpName = "TAG" };
        var query = new Option<string?>("--query") { Description = "Text in the name, description or skills (case-insensitive)", HelpName = "TEXT" };
        var list = new Command("list", "List agents, optionally filtered.") { skill, tag, query };
        list.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            var all = await HubConnection.AllPagesAsync(after => client.ListAgentsAsync(result.GetValue(skill), result.GetValue(tag), result.GetValue(query), after, 200, ct));

            if (result.GetValue(HubConnection.Json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(all, CliJson.Pretty));
                return;
            }

            await Table.WriteAsync(output, ["ID", "NAME", "VERSION", "HEALTH", "SIGNATURE", "SKILLS"],
                all.Select(a => new[] { a.Id, a.Name, $"{a.Version} ({a.CardVersion})", a.Health, a.CardSignature, string.Join(",", a.Skills.Select(s => s.Id)) }));
        }));
        return list;
    }

    private static Command Show()
    {
        var id = new Argument<string>("ID") { Description = "Agent id" };
        var show = new Command("show", "Show one agent.") { id };
        show.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            var a = await client.GetAgentAsync(result.GetValue(id)!, ct);
            await output.WriteLineAsync(result.GetValue(HubConnection.Json)
                ? JsonSerializer.Serialize(a, CliJson.Pretty)
                : $"id:          {a.Id}\nname:        {a.Name}\ndescription: {a.Description}\nversion:     {a.Version} (card {a.CardVersion})\n" +
                  $"health:      {a.Health} (checked {Time(a.LastCheckedAt)})\nhub card:    {a.HubCardUrl}\nupstream:    {a.UpstreamUrl ?? "-"}\n" +
                  $"card url:    {a.CardUrl ?? "-"}\nsignature:   {Signature(a.CardSignature, a.CardSignatureDetail)}\n" +
                  $"registered:  {Time(a.CreatedAt)} by {a.CreatedBy}\nupdated:     {Time(a.UpdatedAt)} by {a.UpdatedBy}\n" +
                  $"skills:      {string.Join(", ", a.Skills.Select(s => $"{s.Id} [{string.Join(",", s.Tags)}]"))}");
        }));
        return show;
    }

    private static Command Versions()
    {
        var id = new Argument<string>("ID") { Description = "Agent id" };
        var versions = new Command("versions", "List the kept versions of an agent's card.") { id };
        versions.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            var all = await client.ListAgentVersionsAsync(result.GetValue(id)!, ct);
            if (result.GetValue(HubConnection.Json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(all, CliJson.Pretty));
                return;
            }

            await Table.WriteAsync(output, ["VERSION", "CARD VERSION", "REGISTERED", "BY", "SIGNATURE", "SHA-256"],
                all.Select(v => new[] { v.Version.ToString(CultureInfo.InvariantCulture), v.CardVersion, Time(v.CreatedAt), v.CreatedBy, v.CardSignature, v.CardSha256 }));
        }));
        return versions;
    }

    private static Command Delete()
    {
        var id = new Argument<string>("ID") { Description = "Agent id" };
        var delete = new Command("delete", "Delete an agent and revoke its keys at once.") { id };
        delete.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            await client.DeleteAgentAsync(result.GetValue(id)!, ct);
            await output.WriteLineAsync($"Deleted agent {result.GetValue(id)}; its keys are revoked.");
        }));
        return delete;
    }

    /// <summary>The JSON in <paramref name="file"/> (none when not given); false after printing why it cannot be read.</summary>
    private static async Task<(bool Ok, JsonElement? Json)> ReadJsonAsync(ParseResult result, FileInfo? file, string option, CancellationToken ct)
    {
        if (file is null)
        {
            return (true, null);
        }

        try
        {
            await using var stream = file.OpenRead();
            using var document = await JsonDocument.ParseAsync(stream, cancellationToken: ct);
            return (true, document.RootElement.Clone());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            await result.InvocationConfiguration.Error.WriteLineAsync($"error: cannot read {option}: {e.Message}");
            return (false, null);
        }
    }

    private static string Signature(string status, string? detail) => detail is null ? status : $"{status} ({detail})";

    private static string Time(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture) ?? "-";
}

[System.Text.Json.Serialization.JsonSerializable(typeof(RegisteredAgent))]
[System.Text.Json.Serialization.JsonSerializable(typeof(AgentInfo))]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<AgentInfo>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<AgentVersionInfo>))]
internal sealed partial class AgentsCliJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

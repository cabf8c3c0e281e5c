using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AgentHub.Client;

namespace AgentHub.Cli;

/// <summary><c>agents keys</c>: an agent's RFC 9421 signature keys (public JWKs, an HMAC secret) and whether it must sign.</summary>
internal static class AgentKeysCommands
{
    public static Command Keys()
    {
        var keys = new Command("keys", "Show or set an agent's signature keys.");
        keys.Subcommands.Add(Show());
        keys.Subcommands.Add(Set());
        return keys;
    }

    /// <summary>The key options shared by <c>agents register</c> and <c>agents keys set</c>.</summary>
    public static (Option<FileInfo[]> Jwk, Option<bool> Hmac, Option<bool?> Require) Options() => (
        new Option<FileInfo[]>("--jwk")
        {
            Description = "A file holding an EC P-256 public JWK (or a JWKS) the agent signs with; repeat for more",
            HelpName = "FILE",
            AllowMultipleArgumentsPerToken = false,
        },
        new Option<bool>("--hmac-secret") { Description = "Have the hub issue an HMAC secret (shown once; replaces an earlier one)" },
        new Option<bool?>("--require-signature")
        {
            Description = "Whether every call the agent makes must be signed [default: true when it has a key]",
            HelpName = "true|false",
        });

    /// <summary>Reads every --jwk file (a JWK, or a JWKS whose keys are all taken); null after printing an error.</summary>
    public static async Task<List<JsonElement>?> ReadJwksAsync(ParseResult result, Option<FileInfo[]> option, CancellationToken ct)
    {
        var keys = new List<JsonElement>();
        foreach (var file in result.GetValue(option) ?? [])
        {
            try
            {
                await using var stream = file.OpenRead();
                using var document = await JsonDocument.ParseAsync(stream, cancellationToken: ct);
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("keys", out var set) && set.ValueKind == JsonValueKind.Array)
                {
                    keys.AddRange(set.EnumerateArray().Select(k => k.Clone()));
                }
                else
                {
                    keys.Add(root.Clone());
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
            {
                await result.InvocationConfiguration.Error.WriteLineAsync($"error: cannot read --jwk {file.Name}: {e.Message}");
                return null;
            }
        }

        return keys;
    }

    private static Command Show()
    {
        var id = new Argument<string>("ID") { Description = "Agent id" };
        var show = new Command("show", "Show an agent's signature keys (never a secret).") { id };
        show.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
            await WriteAsync(result, output, await client.GetAgentKeysAsync(result.GetValue(id)!, ct))));
        return show;
    }

    private static Command Set()
    {
        var id = new Argument<string>("ID") { Description = "Agent id" };
        var (jwk, hmac, require) = Options();
        var removeHmac = new Option<bool>("--remove-hmac") { Description = "Remove the agent's HMAC secret" };
        var set = new Command("set",
            "Set an agent's public keys (the --jwk files replace them all; without --jwk they stay), issue or remove its HMAC secret, and whether it must sign. " +
            "A new HMAC secret is printed once, alone on stdout.")
        {
            id, jwk, hmac, removeHmac, require,
        };
        set.Validators.Add(r =>
        {
            if (r.GetValue(hmac) && r.GetValue(removeHmac))
            {
                r.AddError("Give at most one of --hmac-secret and --remove-hmac.");
            }
        });
        set.SetAction(async (result, ct) =>
        {
            var keys = await ReadJwksAsync(result, jwk, ct);
            if (keys is null)
            {
                return HubCli.Failure;
            }

            bool? hmacChange = result.GetValue(hmac) ? true : result.GetValue(removeHmac) ? false : null;
            return await HubConnection.RunAsync(result, async (client, output) =>
            {
                var changed = await client.SetAgentKeysAsync(result.GetValue(id)!, new SetAgentKeysRequest(keys.Count > 0 ? keys : null, hmacChange, result.GetValue(require)), ct);
                if (result.GetValue(HubConnection.Json))
                {
                    await output.WriteLineAsync(JsonSerializer.Serialize(changed, CliJson.Pretty));
                    return;
                }

                await result.InvocationConfiguration.Error.WriteLineAsync(changed.Message);
                if (changed.HmacSecret is { } secret)
                {
                    await output.WriteLineAsync(secret);
                }
            });
        });
        return set;
    }

    private static async Task WriteAsync(ParseResult result, TextWriter output, AgentKeys keys)
    {
        if (result.GetValue(HubConnection.Json))
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(keys, CliJson.Pretty));
            return;
        }

        await output.WriteLineAsync($"require signature: {(keys.RequireSignature ? "yes" : "no")}");
        await Table.WriteAsync(output, ["KID", "ALGORITHM", "ADDED", "BY"], keys.Keys.Select(k => new[]
        {
            k.Kid, k.Algorithm, k.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture), k.CreatedBy,
        }));
    }
}

using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AgentHub.Client;

namespace AgentHub.Cli;

/// <summary><c>keys</c>, <c>principals</c> and <c>whoami</c>: the identity verbs, over the admin API.</summary>
internal static class KeysCommands
{
    public static Command Keys()
    {
        var keys = new Command("keys", "Manage API keys and the hub's signing keys.");
        HubConnection.AddTo(keys);

        var principal = new Option<string>("--principal") { Description = "Owner of the key: user:<name> (created if new)", Required = true, HelpName = "user:NAME" };
        var role = new Option<string>("--role") { Description = "Role of the key", Required = true, HelpName = "admin|operator|auditor" };
        role.AcceptOnlyFromAmong("admin", "operator", "auditor");
        var name = new Option<string?>("--name") { Description = "A label for the key" };
        var expires = new Option<DateTimeOffset?>("--expires")
        {
            Description = "Expiry: a duration (90m, 12h, 30d, 2w) or a UTC time (2027-01-31T00:00:00Z)",
            HelpName = "WHEN",
            CustomParser = ParseExpiry,
        };
        var create = new Command("create", "Create an API key. The key is printed once, alone on stdout; the hub keeps only its hash.")
        {
            principal, role, name, expires,
        };
        create.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            var created = await client.CreateKeyAsync(new CreateKeyRequest(result.GetValue(principal)!, result.GetValue(role)!,
                result.GetValue(name), result.GetValue(expires)), ct);
            if (result.GetValue(HubConnection.Json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(created, CliJson.Pretty));
                return;
            }

            await result.InvocationConfiguration.Error.WriteLineAsync(
                $"Created key {created.Id} for {created.Principal} (role {created.Role}{(created.ExpiresAt is { } e ? ", expires " + Time(e) : "")}). " +
                "It is shown only now:");
            await output.WriteLineAsync(created.Key);
        }));

        var filter = new Option<string?>("--principal") { Description = "Only this principal's keys (admins)", HelpName = "PRINCIPAL" };
        var list = new Command("list", "List API keys (admins: all keys; others: their own).") { filter };
        list.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            var all = await HubConnection.AllPagesAsync(after => client.ListKeysAsync(result.GetValue(filter), after, 200, ct));

            if (result.GetValue(HubConnection.Json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(all, CliJson.Pretty));
                return;
            }

            await Table.WriteAsync(output, ["ID", "PRINCIPAL", "ROLE", "STATE", "CREATED", "EXPIRES", "LAST USED", "NAME"],
                all.Select(k => new[] { k.Id, k.Principal, k.Role, State(k), Time(k.CreatedAt), Time(k.ExpiresAt), Time(k.LastUsedAt), k.Name ?? "" }));
        }));

        var id = new Argument<string>("ID") { Description = "Key id (the part after ahk_, before the second _)" };
        var show = new Command("show", "Show one API key.") { id };
        show.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            var k = await client.GetKeyAsync(result.GetValue(id)!, ct);
            await output.WriteLineAsync(result.GetValue(HubConnection.Json)
                ? JsonSerializer.Serialize(k, CliJson.Pretty)
                : $"id:         {k.Id}\nprincipal:  {k.Principal}\nrole:       {k.Role}\nstate:      {State(k)}\nname:       {k.Name}\ncreated:    {Time(k.CreatedAt)} by {k.CreatedBy}\nexpires:    {Time(k.ExpiresAt)}\nrevoked:    {Time(k.RevokedAt)}{(k.RevokedBy is null ? "" : " by " + k.RevokedBy)}\nlast used:  {Time(k.LastUsedAt)}");
        }));

        var revokeId = new Argument<string>("ID") { Description = "Key id" };
        var revoke = new Command("revoke", "Revoke an API key at once (the last active admin key cannot be revoked).") { revokeId };
        revoke.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            await client.RevokeKeyAsync(result.GetValue(revokeId)!, ct);
            await output.WriteLineAsync($"Revoked key {result.GetValue(revokeId)}.");
        }));

        var rotate = new Command("rotate-signing", "Add a new ES256 signing key; the old one stays published in the JWKS for verification.");
        rotate.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            var key = await client.RotateSigningKeyAsync(ct);
            await output.WriteLineAsync(result.GetValue(HubConnection.Json)
                ? JsonSerializer.Serialize(key, CliJson.Pretty)
                : $"New signing key {key.Kid} ({key.Algorithm}) is active; earlier keys stay in /.well-known/jwks.json.");
        }));

        var signing = new Command("signing", "List the hub's signing keys (active and retired).");
        signing.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            var all = await client.ListSigningKeysAsync(ct);
            if (result.GetValue(HubConnection.Json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(all, CliJson.Pretty));
                return;
            }

            await Table.WriteAsync(output, ["KID", "ALG", "STATE", "CREATED", "RETIRED"],
                all.Select(k => new[] { k.Kid, k.Algorithm, k.Active ? "active" : "retired", Time(k.CreatedAt), Time(k.RetiredAt) }));
        }));

        keys.Subcommands.Add(create);
        keys.Subcommands.Add(list);
        keys.Subcommands.Add(show);
        keys.Subcommands.Add(revoke);
        keys.Subcommands.Add(rotate);
        keys.Subcommands.Add(signing);
        return keys;
    }

    public static Command Principals()
    {
        var principals = new Command("principals", "List principals (admin).");
        HubConnection.AddTo(principals);
        var list = new Command("list", "List principals and how many active keys each holds.");
        list.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            var all = await HubConnection.AllPagesAsync(after => client.ListPrincipalsAsync(after, 200, ct));

            if (result.GetValue(HubConnection.Json))
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(all, CliJson.Pretty));
                return;
            }

            await Table.WriteAsync(output, ["ID", "KIND", "ACTIVE KEYS", "CREATED", "CREATED BY"],
                all.Select(p => new[] { p.Id, p.Kind, p.ActiveKeys.ToString(CultureInfo.InvariantCulture), Time(p.CreatedAt), p.CreatedBy ?? "" }));
        }));
        principals.Subcommands.Add(list);
        return principals;
    }

    public static Command WhoAmI()
    {
        var command = new Command("whoami", "Show the principal and role of the key in use.");
        HubConnection.AddTo(command);
        command.SetAction((result, ct) => HubConnection.RunAsync(result, async (client, output) =>
        {
            var me = await client.WhoAmIAsync(ct);
            await output.WriteLineAsync(result.GetValue(HubConnection.Json)
                ? JsonSerializer.Serialize(me, CliJson.Pretty)
                : $"{me.Principal} (role {me.Role}, key {me.KeyId})");
        }));
        return command;
    }

    internal static DateTimeOffset? ParseExpiry(System.CommandLine.Parsing.ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (text.Length >= 2 && int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            TimeSpan? span = char.ToLowerInvariant(text[^1]) switch
            {
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                'd' => TimeSpan.FromDays(n),
                'w' => TimeSpan.FromDays(7 * n),
                _ => null,
            };
            if (span is { } s)
            {
                return DateTimeOffset.UtcNow + s;
            }
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            return at;
        }

        result.AddError($"--expires '{text}' is neither a duration like 30d, 12h, 90m, 2w nor a time like 2027-01-31T00:00:00Z.");
        return null;
    }

    private static string State(ApiKeyInfo k) => k.RevokedAt is not null ? "revoked" : k.Active ? "active" : "expired";

    private static string Time(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-dd HH:mm'Z'", CultureInfo.InvariantCulture) ?? "-";
}

[System.Text.Json.Serialization.JsonSerializable(typeof(CreatedKey))]
[System.Text.Json.Serialization.JsonSerializable(typeof(ApiKeyInfo))]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<ApiKeyInfo>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<PrincipalInfo>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<SigningKeyInfo>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(SigningKeyInfo))]
[System.Text.Json.Serialization.JsonSerializable(typeof(WhoAmI))]
internal sealed partial class CliJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

internal static class Table
{
    public static async Task WriteAsync(TextWriter output, string[] headers, IEnumerable<string[]> rows)
    {
        var all = rows.Prepend(headers).ToList();
        var widths = headers.Select((_, i) => all.Max(r => r[i].Length)).ToArray();
        foreach (var row in all)
        {
            await output.WriteLineAsync(string.Join("  ", row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        }
    }
}

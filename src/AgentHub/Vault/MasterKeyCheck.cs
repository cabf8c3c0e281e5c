using System.Data.Common;
using System.Text;
using Dapper;

namespace AgentHub.Vault;

/// <summary>
/// A known value sealed under the master key at first start. Later starts open it, so a hub given the wrong master
/// key stops at once with a clear message instead of failing on the first secret it reads.
/// </summary>
internal static class MasterKeyCheck
{
    private const string Name = "vault.check";
    private const string Expected = "agenthub master key check v1";

    public static async Task EnsureAsync(DbConnection connection, DbTransaction transaction, SecretBox box, long now, CancellationToken ct)
    {
        var stored = await connection.QuerySingleOrDefaultAsync<byte[]>(new CommandDefinition(
            "SELECT value FROM hub_settings WHERE name = @Name", new { Name }, transaction, cancellationToken: ct));
        if (stored is null)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO hub_settings (name, value, updated_at) VALUES (@Name, @Value, @Now)",
                new { Name, Value = box.Seal(Encoding.UTF8.GetBytes(Expected), "hub_settings/" + Name), Now = now },
                transaction, cancellationToken: ct));
            return;
        }

        try
        {
            if (Encoding.UTF8.GetString(box.Open(stored, "hub_settings/" + Name)) == Expected)
            {
                return;
            }
        }
        catch (VaultException)
        {
            // Reported below with the remedy.
        }

        throw new StartupException(
            "The master key does not match the one this database was initialised with. " +
            "Start with the original key (AGENTHUB_MASTER_KEY or DATA/master.key).");
    }
}

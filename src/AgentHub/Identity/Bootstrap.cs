using AgentHub.Audit;
using AgentHub.Storage;
using AgentHub.Vault;
using Dapper;

namespace AgentHub.Identity;

/// <summary>
/// First start: checks (or records) the master key, creates the first signing key and the bootstrap admin, whose
/// key goes to <c>DATA/bootstrap-admin.key</c> (mode 0600), never to the console or the log. Runs under the
/// database-wide lock, so of several instances starting on an empty database exactly one bootstraps.
/// </summary>
internal sealed partial class Bootstrap(HubDatabase database, SecretBox box, SigningKeyStore signingKeys,
    TimeProvider time, ILogger<Bootstrap> logger)
{
    public const string AdminPrincipal = "user:admin";
    public const string KeyFileName = "bootstrap-admin.key";

    /// <summary>Returns the path of the admin key file when this call created the bootstrap admin.</summary>
    public Task<string?> RunAsync(string dataDir, CancellationToken ct) =>
        database.ExclusiveAsync(async (connection, transaction) =>
        {
            var now = time.GetUtcNow();
            await MasterKeyCheck.EnsureAsync(connection, transaction, box, UnixTime.Ms(now), ct);

            if (!await SigningKeyStore.AnyAsync(connection, transaction, ct))
            {
                var key = await signingKeys.AddAsync(connection, transaction, now, ct);
                await AuditLog.WriteAsync(connection, transaction, database.Provider,
                    [new AuditEvent(AuditTypes.SigningKeyCreate, "system", key.Kid, AuditOutcome.Success,
                        new Dictionary<string, string> { ["algorithm"] = SigningKeyStore.Algorithm })], now, ct);
                LogSigningKeyCreated(key.Kid);
            }

            var principals = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM principals", transaction: transaction, cancellationToken: ct));
            if (principals > 0)
            {
                return null;
            }

            var (keyId, apiKey, hash) = ApiKeyFormat.Generate();
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO principals (id, kind, created_at, created_by) VALUES (@AdminPrincipal, 'user', @now, 'bootstrap')",
                new { AdminPrincipal, now = UnixTime.Ms(now) }, transaction, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO api_keys (id, principal_id, role, name, secret_hash, created_at, created_by)
                VALUES (@keyId, @AdminPrincipal, 'admin', 'bootstrap', @hash, @now, 'bootstrap')
                """, new { keyId, AdminPrincipal, hash, now = UnixTime.Ms(now) }, transaction, cancellationToken: ct));

            await AuditLog.WriteAsync(connection, transaction, database.Provider,
                [new AuditEvent(AuditTypes.KeyCreate, "bootstrap", keyId, AuditOutcome.Success,
                    new Dictionary<string, string> { ["principal"] = AdminPrincipal, ["role"] = Roles.Admin })], now, ct);

            // Written before the commit: if the commit fails, the next start bootstraps again and overwrites it.
            var path = Path.Combine(dataDir, KeyFileName);
            DataDirectory.WriteSecretFile(path, apiKey + "\n", overwrite: true);
            return path;
        }, ct);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Created signing key {Kid}")]
    private partial void LogSigningKeyCreated(string kid);
}

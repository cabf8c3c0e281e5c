using AgentHub.Audit;
using AgentHub.Storage;
using Dapper;

namespace AgentHub.Identity;

internal sealed record ApiKeyRecord(
    string Id,
    string PrincipalId,
    string Role,
    string? Name,
    DateTimeOffset CreatedAt,
    string CreatedBy,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt,
    string? RevokedBy,
    DateTimeOffset? LastUsedAt)
{
    public bool IsActiveAt(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is null || ExpiresAt > now);
}

internal sealed record NewApiKey(string Id, string PrincipalId, string Role, string? Name, byte[] SecretHash,
    DateTimeOffset CreatedAt, string CreatedBy, DateTimeOffset? ExpiresAt);

internal enum RevokeOutcome
{
    Revoked,
    AlreadyRevoked,
    NotFound,
    LastAdminKey,
}

/// <summary>API keys and the principals they belong to. <c>ownerScope</c>, when set, limits a read or write to that principal's keys.</summary>
internal interface IApiKeyStore
{
    Task CreateAsync(NewApiKey key, CancellationToken ct);

    /// <summary>The key with its secret hash, for authentication only.</summary>
    Task<(ApiKeyRecord Key, byte[] SecretHash)?> FindForAuthenticationAsync(string id, CancellationToken ct);

    Task<ApiKeyRecord?> GetAsync(string id, string? ownerScope, CancellationToken ct);

    Task<Page<ApiKeyRecord>> ListAsync(string? principalId, string? after, int limit, CancellationToken ct);

    /// <summary>Revokes a key, refusing to revoke the last active admin key (that would lock everyone out).</summary>
    Task<RevokeOutcome> RevokeAsync(string id, string? ownerScope, string revokedBy, DateTimeOffset at, CancellationToken ct);

    Task TouchAsync(string id, DateTimeOffset at, CancellationToken ct);

    Task<int> CountActiveAdminKeysAsync(DateTimeOffset now, CancellationToken ct);
}

internal sealed class ApiKeyStore(HubDatabase database) : IApiKeyStore
{
    private const string Columns = """
        id, principal_id, role, name, created_at, created_by, expires_at, revoked_at, revoked_by, last_used_at
        """;

    public async Task CreateAsync(NewApiKey key, CancellationToken ct)
    {
        if (!PrincipalId.TryParse(key.PrincipalId, out _))
        {
            throw new ArgumentException(PrincipalId.Rule, nameof(key));
        }

        await database.WriteAsync(async (connection, transaction) =>
        {
            await InsertAsync(connection, transaction, database.Provider, key, ct);
            return true;
        }, ct);
    }

    /// <summary>
    /// Inserts a key (and its principal, when new) with its <c>key.create</c> audit record inside the caller's
    /// transaction, so a feature that issues keys (agent registration) commits the key with its own change.
    /// </summary>
    public static async Task InsertAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction,
        DatabaseProvider provider, NewApiKey key, CancellationToken ct)
    {
        if (!PrincipalId.TryParse(key.PrincipalId, out var kind))
        {
            throw new ArgumentException(PrincipalId.Rule, nameof(key));
        }

        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO principals (id, kind, created_at, created_by) VALUES (@PrincipalId, @Kind, @CreatedAt, @CreatedBy)
            ON CONFLICT (id) DO NOTHING
            """, new { key.PrincipalId, Kind = kind, CreatedAt = UnixTime.Ms(key.CreatedAt), key.CreatedBy }, transaction, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO api_keys (id, principal_id, role, name, secret_hash, created_at, created_by, expires_at)
            VALUES (@Id, @PrincipalId, @Role, @Name, @SecretHash, @CreatedAt, @CreatedBy, @ExpiresAt)
            """, new
        {
            key.Id,
            key.PrincipalId,
            key.Role,
            key.Name,
            key.SecretHash,
            CreatedAt = UnixTime.Ms(key.CreatedAt),
            key.CreatedBy,
            ExpiresAt = key.ExpiresAt is { } e ? UnixTime.Ms(e) : (long?)null,
        }, transaction, cancellationToken: ct));
        var details = new Dictionary<string, string> { ["principal"] = key.PrincipalId, ["role"] = key.Role };
        if (key.ExpiresAt is { } expires)
        {
            details["expires_at"] = AuditRecord.FormatTime(expires);
        }

        await AuditLog.WriteAsync(connection, transaction, provider,
            [new AuditEvent(AuditTypes.KeyCreate, key.CreatedBy, key.Id, AuditOutcome.Success, details)], key.CreatedAt, ct);
    }

    public async Task<(ApiKeyRecord Key, byte[] SecretHash)?> FindForAuthenticationAsync(string id, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns}, secret_hash FROM api_keys WHERE id = @id", new { id }, cancellationToken: ct));
        return row is null ? null : (row.ToRecord(), row.SecretHash);
    }

    public async Task<ApiKeyRecord?> GetAsync(string id, string? ownerScope, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM api_keys WHERE id = @id AND (@ownerScope IS NULL OR principal_id = @ownerScope)",
            new { id, ownerScope }, cancellationToken: ct));
        return row?.ToRecord();
    }

    public async Task<Page<ApiKeyRecord>> ListAsync(string? principalId, string? after, int limit, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition($"""
            SELECT {Columns} FROM api_keys
            WHERE (@principalId IS NULL OR principal_id = @principalId) AND (@after IS NULL OR id > @after)
            ORDER BY id
            LIMIT @take
            """, new { principalId, after, take = limit + 1 }, cancellationToken: ct));
        return Page<ApiKeyRecord>.From(rows.Select(r => r.ToRecord()).ToList(), limit, k => k.Id);
    }

    public Task<RevokeOutcome> RevokeAsync(string id, string? ownerScope, string revokedBy, DateTimeOffset at, CancellationToken ct) =>
        // Exclusive, so two admins revoking the last two admin keys at once cannot both succeed.
        database.ExclusiveAsync(async (connection, transaction) =>
        {
            var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
                $"SELECT {Columns} FROM api_keys WHERE id = @id AND (@ownerScope IS NULL OR principal_id = @ownerScope)",
                new { id, ownerScope }, transaction, cancellationToken: ct));
            if (row is null)
            {
                return RevokeOutcome.NotFound;
            }

            var key = row.ToRecord();
            if (key.RevokedAt is not null)
            {
                return RevokeOutcome.AlreadyRevoked;
            }

            var details = new Dictionary<string, string> { ["principal"] = key.PrincipalId, ["role"] = key.Role };
            if (key.Role == Roles.Admin && key.IsActiveAt(at) &&
                await CountActiveAdminKeysAsync(connection, transaction, at, ct) <= 1)
            {
                details["reason"] = "last active admin key";
                await AuditLog.WriteAsync(connection, transaction, database.Provider,
                    [new AuditEvent(AuditTypes.KeyRevoke, revokedBy, id, AuditOutcome.Denied, details)], at, ct);
                return RevokeOutcome.LastAdminKey;
            }

            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE api_keys SET revoked_at = @at, revoked_by = @revokedBy WHERE id = @id",
                new { id, at = UnixTime.Ms(at), revokedBy }, transaction, cancellationToken: ct));
            await AuditLog.WriteAsync(connection, transaction, database.Provider,
                [new AuditEvent(AuditTypes.KeyRevoke, revokedBy, id, AuditOutcome.Success, details)], at, ct);
            return RevokeOutcome.Revoked;
        }, ct);

    public Task TouchAsync(string id, DateTimeOffset at, CancellationToken ct) =>
        database.WriteAsync((connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            "UPDATE api_keys SET last_used_at = @at WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @at)",
            new { id, at = UnixTime.Ms(at) }, transaction, cancellationToken: ct)), ct);

    public async Task<int> CountActiveAdminKeysAsync(DateTimeOffset now, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        return await CountActiveAdminKeysAsync(connection, null, now, ct);
    }

    private static Task<int> CountActiveAdminKeysAsync(System.Data.Common.DbConnection connection,
        System.Data.Common.DbTransaction? transaction, DateTimeOffset now, CancellationToken ct) =>
        connection.ExecuteScalarAsync<int>(new CommandDefinition("""
            SELECT COUNT(*) FROM api_keys
            WHERE role = 'admin' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now)
            """, new { now = UnixTime.Ms(now) }, transaction, cancellationToken: ct));

    private sealed class Row
    {
        public string Id { get; init; } = "";
        public string PrincipalId { get; init; } = "";
        public string Role { get; init; } = "";
        public string? Name { get; init; }
        public long CreatedAt { get; init; }
        public string CreatedBy { get; init; } = "";
        public long? ExpiresAt { get; init; }
        public long? RevokedAt { get; init; }
        public string? RevokedBy { get; init; }
        public long? LastUsedAt { get; init; }
        public byte[] SecretHash { get; init; } = [];

        public ApiKeyRecord ToRecord() => new(Id, PrincipalId, Role, Name, UnixTime.From(CreatedAt), CreatedBy,
            UnixTime.From(ExpiresAt), UnixTime.From(RevokedAt), RevokedBy, UnixTime.From(LastUsedAt));
    }
}
